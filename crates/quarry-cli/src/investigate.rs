//! `quarry investigate`: one alert of `quarry hunt`, investigated against
//! the evidence — its process tree, the timeline of the process and its
//! descendants, and the rule's investigation pivots run. `quarry-alert`
//! investigates ([`quarry_alert::investigate`]); this module reads the
//! alerts and the evidence, and prints.

use crate::output::{self, Document, Format, Rows};
use quarry_alert::investigate::{Findings, Role, Target, investigate};
use quarry_alert::{Investigation, Retention};
use serde_json::Value as J;
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct InvestigateArgs {
    /// Alerts written by `quarry hunt --format ndjson` (or `--format json`).
    alerts: PathBuf,
    /// Evidence: the files, folders and globs the alerts were found in.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Which alert: its id as the hunt table shows it (the first 8 hex digits of
    /// kibana.alert.uuid, or more of it), the whole kibana.alert.uuid, or its position
    /// in the alerts file, from 1.
    #[arg(long, default_value = "1")]
    alert: String,
    /// Rule TOML files or folders the alerts came from, for their pivots. Default: quarry's built-in rules.
    #[arg(long)]
    rules: Vec<PathBuf>,
    /// `table` prints the tree, timeline and pivots; `json`/`ndjson` one object with all three; `csv` the timeline.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Reads an alerts file: a JSON array, or one JSON object per line.
pub(crate) fn read_alerts(path: &Path) -> Result<Vec<J>, String> {
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
    let (number, doc) = match select(&alerts, &args.alert) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("quarry: --alert {}: {e}", args.alert);
            return Ok(crate::exit::USAGE);
        }
    };
    let Some(target) = Target::new(doc) else {
        eprintln!(
            "quarry: alert {} names no host (host.id or host.name)",
            args.alert
        );
        return Ok(crate::exit::USAGE);
    };
    let rule_paths = match crate::config::rule_paths(&args.rules) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("quarry: configuration file {e}");
            return Ok(crate::exit::USAGE);
        }
    };
    let mut set = quarry_detect::load(&rule_paths);
    // the alert's rule ran: it may be one Elastic ships switched off
    // (`hunt --include-disabled`)
    set.include_disabled();
    let rule = set.get(target.rule_id());
    let retention = Retention::for_rules(rule);

    // only the files that hold the alert's host are read, and of them only
    // that host's events: state is per host
    let inputs = host_inputs(doc, &args.inputs);
    let bar = crate::progress::Bar::start();
    let (packed, read) = quarry_read::scan(&inputs, |ev| {
        retention
            .pack(&ev, false)
            .filter(|(h, _)| h == target.host())
    });
    drop(bar);
    let code = output::report_problems(&read);
    let inv = Investigation::from_packed(packed);
    let found = investigate(&target, rule, &inv);

    let result = found.to_json(number);
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

/// The position (from 1) of the alert `which` names: a position in the
/// file (a number of fewer than 8 digits), or an id — the hunt table's
/// short id or any longer start of `kibana.alert.uuid`, dashes and case
/// aside.
fn select<'a>(alerts: &'a [J], which: &str) -> Result<(usize, &'a J), String> {
    let which = which.trim();
    if which.len() < 8
        && let Ok(n) = which.parse::<usize>()
    {
        return match n.checked_sub(1).and_then(|i| alerts.get(i)) {
            Some(a) => Ok((n, a)),
            None => Err(format!(
                "the file holds {} alerts (numbered from 1)",
                alerts.len()
            )),
        };
    }
    let plain = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let want = plain(which);
    if want.len() < 4 || !want.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(
            "expected an alert id (at least 4 hex digits, as the hunt table's id column shows) \
             or a position in the file, from 1"
                .into(),
        );
    }
    let found: Vec<(usize, &J)> = alerts
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            a["kibana"]["alert"]["uuid"]
                .as_str()
                .is_some_and(|u| plain(u).starts_with(&want))
        })
        .map(|(i, a)| (i + 1, a))
        .collect();
    match found[..] {
        [one] => Ok(one),
        [] if alerts.iter().all(|a| a["kibana"]["alert"]["uuid"].is_null()) => Err(
            "the alerts carry no kibana.alert.uuid (written by an older quarry): name the alert \
             by its position in the file, from 1"
                .into(),
        ),
        [] => Err("no alert has this id".into()),
        _ => Err(format!(
            "{} alerts have an id starting so (at positions {}): give more of it",
            found.len(),
            found
                .iter()
                .map(|(n, _)| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The evidence to read for an alert: of the files behind `inputs`, those
/// the alert lists as holding its host (`quarry.inputs`, as hunt read
/// them: a file, or an `archive!member` of one). All of `inputs` when the
/// alert has no such list, or none of its files is among them (the
/// evidence was moved, or named from another folder).
fn host_inputs(doc: &J, inputs: &[PathBuf]) -> Vec<PathBuf> {
    let Some(listed) = doc["quarry"]["inputs"].as_array() else {
        return inputs.to_vec();
    };
    // each listed entry as the names of the file read for it: itself, or
    // for a member (`archive!member`) its archive; and the same names
    // resolved, for inputs given by another path (`./x`, an absolute one)
    let listed: Vec<Vec<String>> = listed
        .iter()
        .filter_map(J::as_str)
        .map(|f| {
            let mut names = vec![f.to_string()];
            names.extend(f.match_indices('!').map(|(i, _)| f[..i].to_string()));
            let resolved: Vec<String> = names
                .iter()
                .filter_map(|n| std::fs::canonicalize(n).ok())
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            names.extend(resolved);
            names
        })
        .collect();
    let wanted: HashSet<&str> = listed.iter().flatten().map(String::as_str).collect();
    let (files, _) = quarry_read::discover(inputs);
    let total = files.len();
    let mut found: HashSet<String> = HashSet::new();
    let mut kept = Vec::new();
    for f in files {
        let names = [
            Some(f.to_string_lossy().into_owned()),
            std::fs::canonicalize(&f)
                .ok()
                .map(|c| c.to_string_lossy().into_owned()),
        ];
        let hits: Vec<String> = names
            .into_iter()
            .flatten()
            .filter(|n| wanted.contains(n.as_str()))
            .collect();
        if !hits.is_empty() {
            found.extend(hits);
            kept.push(f);
        }
    }
    if kept.is_empty() {
        eprintln!(
            "quarry: none of the {} files the alert lists as holding its host is among the inputs: \
             reading them all",
            listed.len()
        );
        return inputs.to_vec();
    }
    let missing = listed
        .iter()
        .filter(|names| !names.iter().any(|n| found.contains(n)))
        .count();
    if missing > 0 {
        eprintln!(
            "quarry: {missing} of the {} files the alert lists as holding its host are not among the inputs",
            listed.len()
        );
    }
    eprintln!(
        "quarry: reading the {} of {total} files that hold the alert's host (quarry.inputs)",
        kept.len()
    );
    kept
}

/// A field of the report as the terminal shows it: evidence text escaped
/// ([`output::visible`]).
fn text(v: &J) -> String {
    output::visible(&output::cell(v)).into_owned()
}

fn print_report(out: &mut dyn Write, r: &J, found: &Findings) -> std::io::Result<()> {
    let a = &r["alert"];
    // named as the hunt table names it, and by its place in the file
    let name = match a["uuid"].as_str() {
        Some(u) => format!("{} (#{})", quarry_alert::short_id(u), a["number"]),
        None => a["number"].to_string(),
    };
    // "unlinked" reads as a state, not as a way of linking
    let link = match output::cell(&a["linked_by"]).as_str() {
        "" => String::new(),
        "unlinked" => " — the process could not be linked to its start".to_string(),
        how => format!(" — process linked by {how}"),
    };
    writeln!(
        out,
        "alert {name}: {} ({}) on {} at {}{link}",
        text(&a["rule"]),
        text(&a["severity"]),
        text(&a["host"]),
        text(&a["time"]),
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
            let target = quarry_alert::summary_target(e)
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
