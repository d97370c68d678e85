//! `quarry investigate`: one alert of `quarry hunt`, investigated against
//! the evidence — its process tree, the timeline of the process and its
//! descendants, and the rule's investigation pivots run. `quarry-alert`
//! investigates ([`quarry_alert::investigate`]); this module reads the
//! alerts and the evidence, and prints.

use crate::output::{self, Document, Format, Rows};
use quarry_alert::investigate::{Findings, Role, Target, investigate};
use quarry_alert::{Investigation, Retention};
use serde_json::Value as J;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct InvestigateArgs {
    /// Alerts written by `quarry hunt --format ndjson` (or `--format json`).
    alerts: PathBuf,
    /// Evidence: the files, folders and globs the alerts were found in.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Which alert: its position in the alerts file, from 1.
    #[arg(long, default_value_t = 1)]
    alert: usize,
    /// Rule TOML files or folders the alerts came from, for their pivots. Default: quarry's built-in rules.
    #[arg(long)]
    rules: Vec<PathBuf>,
    /// `table` prints the tree, timeline and pivots; `json`/`ndjson` one object with all three; `csv` the timeline.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Reads an alerts file: a JSON array, or one JSON object per line.
fn read_alerts(path: &Path) -> Result<Vec<J>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if text.trim_start().starts_with('[') {
        return serde_json::from_str::<Vec<J>>(&text)
            .map_err(|e| format!("{}: not a JSON array of alerts: {e}", path.display()));
    }
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<J>(line) {
            Ok(v) if v.is_object() => out.push(v),
            Ok(_) => {
                return Err(format!(
                    "{}:{}: expected a JSON object (an alert)",
                    path.display(),
                    n + 1
                ));
            }
            Err(e) => return Err(format!("{}:{}: {e}", path.display(), n + 1)),
        }
    }
    Ok(out)
}

pub fn run(args: InvestigateArgs) -> std::io::Result<u8> {
    let alerts = match read_alerts(&args.alerts) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("quarry: {e}");
            return Ok(crate::exit::USAGE);
        }
    };
    let Some(doc) = args.alert.checked_sub(1).and_then(|i| alerts.get(i)) else {
        eprintln!(
            "quarry: --alert {}: {} holds {} alerts (numbered from 1)",
            args.alert,
            args.alerts.display(),
            alerts.len()
        );
        return Ok(crate::exit::USAGE);
    };
    let Some(target) = Target::new(doc) else {
        eprintln!(
            "quarry: alert {} names no host (host.id or host.name)",
            args.alert
        );
        return Ok(crate::exit::USAGE);
    };
    let set = quarry_detect::load(&args.rules);
    let rule = set.get(target.rule_id());
    let retention = Retention::for_rules(rule);

    // only the alert's host is read into memory: state is per host
    let (packed, read) = quarry_read::scan(&args.inputs, |ev| {
        retention
            .pack(&ev, false)
            .filter(|(h, _)| h == target.host())
    });
    let code = output::report_problems(&read);
    let inv = Investigation::from_packed(packed);
    let found = investigate(&target, rule, &inv);

    let result = found.to_json(args.alert);
    let text = |out: &mut dyn Write| print_report(out, &result, &found);
    let document = Document {
        doc: &result,
        rows: Rows::new(&found.timeline, Vec::new()),
        text: &text,
    };
    output::print_document(&document, args.format)?;
    if let Some(n) = &found.note {
        eprintln!("quarry: {n}");
    }
    Ok(code)
}

/// A field of the report as the terminal shows it: evidence text escaped
/// ([`output::visible`]).
fn text(v: &J) -> String {
    output::visible(&output::cell(v)).into_owned()
}

fn print_report(out: &mut dyn Write, r: &J, found: &Findings) -> std::io::Result<()> {
    let a = &r["alert"];
    writeln!(
        out,
        "alert {}: {} ({}) on {} at {} — process linked by {}",
        a["number"],
        text(&a["rule"]),
        text(&a["severity"]),
        text(&a["host"]),
        text(&a["time"]),
        text(&a["linked_by"])
    )?;
    writeln!(out, "\nprocess tree")?;
    if found.tree.is_empty() {
        writeln!(
            out,
            "  (the alerting process's start is not in the evidence)"
        )?;
    }
    for l in &found.tree {
        let indent = "   ".repeat(l.depth);
        let branch = if l.depth == 0 { "" } else { "└─ " };
        let mark = if l.role == Role::Alert { "▶ " } else { "" };
        writeln!(out, "  {indent}{branch}{mark}{}", output::visible(&l.text))?;
    }
    writeln!(out, "\ntimeline of the process and its descendants")?;
    let rows = r["timeline"].as_array().cloned().unwrap_or_default();
    if rows.is_empty() {
        writeln!(
            out,
            "  (no process starts or file, registry, network, DNS events)"
        )?;
    }
    for row in &rows {
        writeln!(
            out,
            "  {}  {:>6}  {:<16} {:<16} {:<28} {}",
            text(&row["@timestamp"]),
            text(&row["pid"]),
            text(&row["process"]),
            text(&row["category"]),
            text(&row["action"]),
            text(&row["target"])
        )?;
    }
    if let Some(c) = r["coverage"].as_str() {
        writeln!(out, "  {}", output::visible(c))?;
    }
    writeln!(out, "\npivots (the rule's investigation guide)")?;
    let pivots = r["pivots"].as_array().cloned().unwrap_or_default();
    if pivots.is_empty() {
        writeln!(out, "  (the rule has none)")?;
    }
    for (i, p) in pivots.iter().enumerate() {
        let count = if p["count"].is_null() {
            "not run".to_string()
        } else if let Some(n) = p["after_window"].as_u64() {
            format!(
                "{} events (and {n} more after the window)",
                text(&p["count"])
            )
        } else {
            format!("{} events", text(&p["count"]))
        };
        writeln!(out, "  [{}] {} — {count}", i + 1, text(&p["label"]))?;
        if !text(&p["query"]).is_empty() {
            writeln!(out, "      {}", text(&p["query"]))?;
        }
        if !p["from"].is_null() {
            writeln!(out, "      from {} to {}", text(&p["from"]), text(&p["to"]))?;
        }
        if let Some(notes) = p["notes"].as_array() {
            for n in notes {
                writeln!(out, "      note: {}", text(n))?;
            }
        }
        for e in p["events"].as_array().into_iter().flatten().take(20) {
            let target = [
                "dns.question.name",
                "destination.ip",
                "file.path",
                "registry.path",
                "process.command_line",
            ]
            .iter()
            .find_map(|f| e.get(*f).filter(|v| !v.is_null()))
            .map(text)
            .unwrap_or_default();
            writeln!(
                out,
                "      {}  {}  {}  {}",
                text(&e["@timestamp"]),
                text(&e["event.category"]),
                text(&e["process.name"]),
                target
            )?;
        }
    }
    out.flush()
}
