//! Diagnostics on stderr: what was read, what could not be, and the exit
//! code that implies. Written whatever the output format.

use quarry_read::ReadSummary;
use std::io::Write;

/// Reports read problems on stderr and returns the exit code they imply.
pub fn report_problems(summary: &ReadSummary) -> u8 {
    let mut err = std::io::stderr().lock();
    const SHOWN: usize = 50;
    for p in summary.problems.iter().take(SHOWN) {
        // file names and messages can carry evidence text
        let _ = writeln!(err, "quarry: {}", super::visible(&p.to_string()));
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
