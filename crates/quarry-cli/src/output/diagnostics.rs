//! Diagnostics on stderr: what was read, what could not be, and the exit
//! code that implies. Written whatever the output format.

use quarry_read::{Problem, ReadSummary};
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

/// `--problems FILE`: where every problem goes, as NDJSON, beside the
/// first ones shown on stderr.
static PROBLEMS_FILE: OnceLock<PathBuf> = OnceLock::new();

/// Sets the `--problems` file (once, from `main`).
pub fn set_problems_file(path: PathBuf) {
    let _ = PROBLEMS_FILE.set(path);
}

/// How many problems stderr shows before pointing at `--problems`.
pub const SHOWN: usize = 50;
/// How many skipped inputs stderr names.
const SKIPPED_SHOWN: usize = 5;

/// Reports read problems on stderr (and in the `--problems` file) and
/// returns the exit code they imply: 2 when a named input does not exist,
/// 1 when evidence was damaged, 0 otherwise — inputs that are not evidence
/// (a README in a triage folder) are listed, not counted.
pub fn report_problems(summary: &ReadSummary) -> u8 {
    let mut err = std::io::stderr().lock();
    // those the progress bar printed as they happened are not printed again
    let live = crate::progress::shown_live();
    let unshown = summary.problems.iter().filter(|p| !live.contains(p));
    for p in unshown.take(SHOWN.saturating_sub(live.len())) {
        // file names and messages can carry evidence text
        let _ = writeln!(err, "quarry: {}", super::visible(&p.to_string()));
    }
    let mut code = if summary.is_clean() {
        crate::exit::OK
    } else {
        crate::exit::PARTIAL
    };
    if summary.missing > 0 {
        code = crate::exit::USAGE;
    }
    let saved = match PROBLEMS_FILE.get() {
        Some(path) => match write_problems_file(path, summary) {
            Ok(()) => Some(path),
            Err(e) => {
                let _ = writeln!(err, "quarry: cannot write {}: {e}", path.display());
                code = crate::exit::USAGE;
                None
            }
        },
        None => None,
    };
    if summary.problems.len() > SHOWN {
        let more = summary.problems.len() - SHOWN;
        let _ = match saved {
            Some(p) => writeln!(
                err,
                "quarry: … and {more} more problems, all in {}",
                p.display()
            ),
            None => writeln!(
                err,
                "quarry: … and {more} more problems (all of them: --problems FILE)"
            ),
        };
    }
    if !summary.skipped.is_empty() {
        let names: Vec<&str> = summary
            .skipped
            .iter()
            .take(SKIPPED_SHOWN)
            .map(|p| p.file.as_str())
            .collect();
        let more = summary.skipped.len().saturating_sub(SKIPPED_SHOWN);
        let _ = writeln!(
            err,
            "quarry: skipped {} inputs that are not evidence: {}{}",
            summary.skipped.len(),
            names.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
    let formats: Vec<String> = summary
        .formats
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(
        err,
        "quarry: read {} files ({:.1} MB), {} events [{}]{}{}{}; {} problems, {} inputs unreadable",
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
        bad_shapes_text(summary),
        summary.problems.len(),
        summary.unreadable
    );
    code
}

/// Every problem and skipped input as one JSON object a line:
/// `{"file","location","message","kind":"damaged"|"skipped"}`.
fn write_problems_file(path: &std::path::Path, summary: &ReadSummary) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let rows = summary
        .problems
        .iter()
        .map(|p| (p, "damaged"))
        .chain(summary.skipped.iter().map(|p| (p, "skipped")));
    for (p, kind) in rows {
        serde_json::to_writer(&mut out, &problem_json(p, kind))?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn problem_json(p: &Problem, kind: &str) -> serde_json::Value {
    serde_json::json!({
        "file": p.file,
        "location": p.location,
        "message": p.message,
        "kind": kind,
    })
}

/// `; unmapped: crowdstrike.fdr/FooEvent: 12, System/7009: 250`:
/// the records kept as generic events, per source and type, most frequent
/// first (the first ten, then how many more types and records).
pub fn unmapped_text(summary: &ReadSummary) -> String {
    counted_text("unmapped", &summary.unmapped, "types", "records")
}

/// `; bad field shapes: Security/4624 winlog.logon.type: 2`: the values
/// whose shape their mapping did not expect, per record type and field
/// (the records are kept, the raw values with them), as
/// [`unmapped_text`] lists types.
pub fn bad_shapes_text(summary: &ReadSummary) -> String {
    counted_text("bad field shapes", &summary.bad_shapes, "fields", "values")
}

fn counted_text(
    label: &str,
    counts: &std::collections::BTreeMap<String, u64>,
    kinds: &str,
    units: &str,
) -> String {
    const SHOWN: usize = 10;
    if counts.is_empty() {
        return String::new();
    }
    let mut types: Vec<(&String, &u64)> = counts.iter().collect();
    types.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let mut parts: Vec<String> = types
        .iter()
        .take(SHOWN)
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    if types.len() > SHOWN {
        let rest: u64 = types[SHOWN..].iter().map(|(_, v)| **v).sum();
        parts.push(format!(
            "… {} more {kinds} ({rest} {units})",
            types.len() - SHOWN
        ));
    }
    format!("; {label}: {}", parts.join(", "))
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

    #[test]
    fn bad_shapes_listed_like_unmapped_types() {
        let mut s = ReadSummary::default();
        assert_eq!(bad_shapes_text(&s), "");
        s.bad_shapes
            .insert("Security/4624 winlog.logon.type".into(), 2);
        assert_eq!(
            bad_shapes_text(&s),
            "; bad field shapes: Security/4624 winlog.logon.type: 2"
        );
    }
}
