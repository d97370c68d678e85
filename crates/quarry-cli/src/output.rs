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

/// Prints serialisable rows in `format`. `columns` are (header, getter) for
/// the table view, which shows fewer columns than the machine formats.
pub fn print_rows<T: Serialize>(
    rows: &[T],
    format: Format,
    columns: &[(&str, &dyn Fn(&T) -> String)],
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
        "quarry: read {} files ({:.1} MB), {} events [{}]{}; {} problems, {} inputs unreadable",
        summary.files,
        summary.bytes as f64 / 1e6,
        summary.events,
        formats.join(", "),
        if summary.duplicate_rows > 0 {
            format!(", {} duplicate Plaso rows merged", summary.duplicate_rows)
        } else {
            String::new()
        },
        summary.problems.len(),
        summary.unreadable
    );
    if summary.is_clean() {
        crate::exit::OK
    } else {
        crate::exit::PARTIAL
    }
}
