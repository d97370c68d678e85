//! Printing results: terminal tables, CSV, JSON and NDJSON, and the
//! diagnostics that go to stderr.

use quarry_read::ReadSummary;
use serde::Serialize;
use std::io::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for the terminal, with the summary below it.
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated values with a header row.
    Csv,
}

/// A column of the table view: its header, and how a row fills it.
pub type Column<'a, T> = (&'a str, &'a dyn Fn(&T) -> String);

/// Prints serialisable rows in `format`. `columns` are (header, getter) for
/// the table view, which shows fewer columns than the machine formats.
pub fn print_rows<T: Serialize>(
    rows: &[T],
    format: Format,
    columns: &[Column<'_, T>],
) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, rows)?;
            writeln!(out)?;
        }
        Format::Ndjson => {
            for r in rows {
                serde_json::to_writer(&mut out, r)?;
                writeln!(out)?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            // Flatten each row to its JSON object so arrays become `a;b`.
            let mut header_done = false;
            for r in rows {
                let v = serde_json::to_value(r).map_err(std::io::Error::other)?;
                if let serde_json::Value::Object(m) = v {
                    if !header_done {
                        w.write_record(m.keys())?;
                        header_done = true;
                    }
                    w.write_record(m.values().map(cell))?;
                }
            }
            w.flush()?;
        }
        Format::Table => {
            let mut t = comfy_table::Table::new();
            t.load_style(comfy_table::presets::UTF8_BORDERS_ONLY);
            t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
            if !t.is_tty() {
                // piped or redirected: one line per row, nothing wrapped
                t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
            }
            t.set_header(columns.iter().map(|(h, _)| *h));
            for r in rows {
                t.add_row(columns.iter().map(|(_, f)| f(r)));
            }
            writeln!(out, "{t}")?;
        }
    }
    out.flush()
}

pub fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

/// Reports read problems on stderr and returns the exit code they imply.
pub fn report_problems(summary: &ReadSummary) -> u8 {
    let mut err = std::io::stderr().lock();
    const SHOWN: usize = 50;
    for p in summary.problems.iter().take(SHOWN) {
        let _ = writeln!(err, "quarry: {p}");
    }
    if summary.problems.len() > SHOWN {
        let _ = writeln!(
            err,
            "quarry: … and {} more problems",
            summary.problems.len() - SHOWN
        );
    }
    let formats: Vec<String> = summary
        .formats
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(
        err,
        "quarry: read {} files ({:.1} MB), {} events [{}]{}{}; {} problems, {} inputs unreadable",
        summary.files,
        summary.bytes as f64 / 1e6,
        summary.events,
        formats.join(", "),
        if summary.duplicate_rows > 0 {
            format!(", {} duplicate Plaso rows merged", summary.duplicate_rows)
        } else {
            String::new()
        },
        unmapped_text(summary),
        summary.problems.len(),
        summary.unreadable
    );
    if summary.is_clean() {
        crate::exit::OK
    } else {
        crate::exit::PARTIAL
    }
}

/// `; unmapped: crowdstrike.fdr/FooEvent: 12, System/7009: 250`:
/// the records kept as generic events, per source and type, most frequent
/// first (the first ten, then how many more types and records).
pub fn unmapped_text(summary: &ReadSummary) -> String {
    const SHOWN: usize = 10;
    if summary.unmapped.is_empty() {
        return String::new();
    }
    let mut types: Vec<(&String, &u64)> = summary.unmapped.iter().collect();
    types.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let mut parts: Vec<String> = types
        .iter()
        .take(SHOWN)
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    if types.len() > SHOWN {
        let rest: u64 = types[SHOWN..].iter().map(|(_, v)| **v).sum();
        parts.push(format!(
            "… {} more types ({rest} records)",
            types.len() - SHOWN
        ));
    }
    format!("; unmapped: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmapped_types_most_frequent_first_and_capped() {
        let mut s = ReadSummary::default();
        assert_eq!(unmapped_text(&s), "");
        s.unmapped.insert("sentinel_one/Unknown Type".into(), 1);
        s.unmapped.insert("crowdstrike.fdr/FooEvent".into(), 12);
        assert_eq!(
            unmapped_text(&s),
            "; unmapped: crowdstrike.fdr/FooEvent: 12, sentinel_one/Unknown Type: 1"
        );
        for i in 0..12 {
            s.unmapped.insert(format!("System/{i}"), 2);
        }
        let t = unmapped_text(&s);
        assert!(
            t.starts_with("; unmapped: crowdstrike.fdr/FooEvent: 12, System/0: 2"),
            "{t}"
        );
        assert!(t.ends_with("… 4 more types (7 records)"), "{t}");
    }
}
