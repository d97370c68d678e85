//! `quarry investigate`: one alert of `quarry hunt`, investigated against
//! the evidence — its process tree, the timeline of the process and its
//! descendants, and the rule's investigation pivots run.

use crate::output::{self, Format};
use quarry_alert::{Investigation, Retention, pivot::Pivot, summary};
use quarry_event::{Event, Origin, format_timestamp};
use quarry_lineage::{HostLineage, Process, host_key};
use serde_json::{Value as J, json};
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

/// A line of the process tree: depth, whether it is the alert's process,
/// its role (ancestor, parent, alert, descendant), its text and its JSON.
type TreeLine = (usize, bool, &'static str, String, J);

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

fn name_of(p: &Process) -> String {
    p.name
        .clone()
        .or_else(|| {
            p.executable
                .as_deref()
                .map(|e| e.rsplit(['\\', '/']).next().unwrap_or(e).to_string())
        })
        .unwrap_or_else(|| "?".into())
}

fn process_line(p: &Process) -> String {
    let mut s = name_of(p);
    if let Some(pid) = p.pid {
        s.push_str(&format!("  pid {pid}"));
    }
    if let Some(t) = p.start {
        s.push_str(&format!("  {}", format_timestamp(t)));
    }
    if let Some(u) = &p.user {
        s.push_str(&format!("  [{u}]"));
    }
    if let Some(c) = &p.command_line {
        s.push_str(&format!("  {c}"));
    }
    s
}

/// The tree: ancestors from the root down, the alert's process, and its
/// descendants as a tree; each line with its depth.
fn tree(h: &HostLineage, p: &Process) -> Vec<TreeLine> {
    let mut out = Vec::new();
    let mut ancestors = h.ancestors(p);
    ancestors.reverse();
    if ancestors.is_empty()
        && let Some(parent) = p.parent_executable.as_ref().or(p.parent_name.as_ref())
    {
        let line = format!(
            "{}  pid {}  (its start is not in the evidence)",
            parent,
            p.parent_pid
                .map(|x| x.to_string())
                .unwrap_or_else(|| "?".into())
        );
        out.push((
            0,
            false,
            "parent",
            line,
            json!({"executable": parent, "pid": p.parent_pid}),
        ));
    }
    for a in &ancestors {
        let d = out.len();
        out.push((
            d,
            false,
            "ancestor",
            process_line(a),
            quarry_alert::process_json(a),
        ));
    }
    let base = out.len();
    out.push((
        base,
        true,
        "alert",
        process_line(p),
        quarry_alert::process_json(p),
    ));
    fn walk<'a>(
        h: &'a HostLineage,
        p: &'a Process,
        depth: usize,
        seen: &mut Vec<*const Process>,
        out: &mut Vec<TreeLine>,
    ) {
        let mut kids = h.children(p);
        kids.sort_by_key(|k| k.start.unwrap_or(i64::MIN));
        for k in kids {
            if seen.contains(&(k as *const _)) || seen.len() > 10_000 {
                continue;
            }
            seen.push(k);
            out.push((
                depth,
                false,
                "descendant",
                process_line(k),
                quarry_alert::process_json(k),
            ));
            walk(h, k, depth + 1, seen, out);
        }
    }
    let mut seen = vec![p as *const Process];
    walk(h, p, base + 1, &mut seen, &mut out);
    out
}

/// A timeline row: what happened, by which process, to what.
fn timeline_row(ev: &Event, is_start: bool) -> J {
    let s = summary(ev);
    let target = if is_start {
        ev.get_str("process.command_line")
            .or(ev.get_str("process.executable"))
            .map(str::to_string)
    } else if let Some(q) = ev.get_str("dns.question.name") {
        Some(q.to_string())
    } else if let Some(ip) = ev.get("destination.ip").and_then(|v| v.to_text()) {
        Some(match ev.get("destination.port").and_then(|v| v.to_text()) {
            Some(p) => format!("{ip}:{p}"),
            None => ip.into_owned(),
        })
    } else {
        ev.get_str("file.path")
            .or(ev.get_str("registry.path"))
            .map(str::to_string)
    };
    let category = ev
        .get("event.category")
        .map(|v| {
            v.iter()
                .filter_map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "@timestamp": s.get("@timestamp"),
        "pid": ev.get_i64("process.pid"),
        "process": ev.get_str("process.name").or(ev.get_str("process.executable")),
        "category": category,
        "action": ev.get_str("event.action").or(ev.get_str("event.code")),
        "target": target,
        "origin": ev.origin.to_string(),
    })
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
    let alert_ev = Event::from_json(doc, Origin::default());
    let Some(host) = host_key(&alert_ev) else {
        eprintln!(
            "quarry: alert {} names no host (host.id or host.name)",
            args.alert
        );
        return Ok(crate::exit::USAGE);
    };
    let rule_id = alert_ev
        .get_str("kibana.alert.rule.rule_id")
        .unwrap_or_default()
        .to_string();
    let set = quarry_detect::load(&args.rules);
    let rule = set.get(&rule_id);
    let retention = Retention::for_rules(rule);

    // only the alert's host is read into memory: state is per host
    let (packed, read) = quarry_read::scan(&args.inputs, |ev| {
        retention.pack(&ev, false).filter(|(h, _)| *h == host)
    });
    let code = output::report_problems(&read);
    let inv = Investigation::from_packed(packed);

    let lin = inv.lineage.host(&host);
    let (proc_index, link) = match lin {
        Some(h) => h.resolve_index(&alert_ev),
        None => (None, quarry_lineage::Link::Unlinked),
    };
    let process = proc_index.and_then(|i| lin.and_then(|h| h.process(i)));
    let tree_lines = match (lin, process) {
        (Some(h), Some(p)) => tree(h, p),
        _ => Vec::new(),
    };
    // the timeline: descendants' starts and the activity of the process tree
    let mut timeline: Vec<(i64, J)> = Vec::new();
    if let (Some(h), Some(p), Some(i)) = (lin, process, proc_index) {
        let mut procs: Vec<&Process> = vec![p];
        procs.extend(h.descendants(p));
        for ev in inv.host_events(&host) {
            let is_start =
                ev.has_value("event.category", "process") && ev.has_value("event.type", "start");
            if is_start
                && let (Some(pi), _) = h.resolve_index(ev)
                && h.process(pi)
                    .is_some_and(|q| procs.iter().any(|x| std::ptr::eq(*x, q)))
            {
                timeline.push((ev.timestamp.unwrap_or(i64::MIN), timeline_row(ev, true)));
            }
        }
        for ev in inv.activity(&host, i) {
            timeline.push((ev.timestamp.unwrap_or(i64::MIN), timeline_row(ev, false)));
        }
    }
    timeline.sort_by_key(|a| a.0);
    let timeline: Vec<J> = timeline.into_iter().map(|(_, r)| r).collect();

    // pivots: re-run from the rule when it is loaded, else as the alert has them
    let lookup = |f: &str| {
        alert_ev.get(f).and_then(|v| {
            v.iter()
                .next()
                .and_then(|x| x.to_text())
                .map(|s| s.into_owned())
        })
    };
    let mut pivots: Vec<J> = Vec::new();
    let mut note = None;
    match rule {
        Some(r) => {
            for def in &r.investigate {
                let p = Pivot::fill(def, &lookup, alert_ev.timestamp);
                let mut pj = p.to_json();
                if p.groups.iter().flatten().any(|t| t.field == "event.kind") {
                    // pivots over alerts: as hunt found them, in the alert
                    pj["count"] = doc["quarry"]["investigate"]
                        .as_array()
                        .and_then(|a| a.iter().find(|x| x["label"] == pj["label"]))
                        .map(|x| x["count"].clone())
                        .unwrap_or(J::Null);
                    let mut notes = pj["notes"].as_array().cloned().unwrap_or_default();
                    notes.push(json!(
                        "alerts are found by quarry hunt: this is the count it gave"
                    ));
                    pj["notes"] = J::Array(notes);
                } else if !p.groups.is_empty() {
                    inv.run_pivot(&p, Some(&host)).fill(&mut pj);
                }
                pivots.push(pj);
            }
        }
        None => {
            note = Some(format!(
                "rule {rule_id:?} is not among the loaded rules (pass the --rules the alert came from): its pivots are shown as hunt ran them"
            ));
            if let Some(a) = doc["quarry"]["investigate"].as_array() {
                pivots = a.clone();
            }
        }
    }

    let rule_name = alert_ev
        .get_str("kibana.alert.rule.name")
        .unwrap_or("?")
        .to_string();
    let time = alert_ev.timestamp.map(format_timestamp).unwrap_or_default();
    let host_name = alert_ev.get_str("host.name").unwrap_or(&host).to_string();
    let missing = inv.missing_telemetry(&host);
    let coverage = (!missing.is_empty()).then(|| {
        format!(
            "no {} telemetry on {host_name}: unresolved, not benign",
            missing.join(", ")
        )
    });
    let result = json!({
        "alert": {"number": args.alert, "rule": rule_name, "rule_id": rule_id, "time": time,
                   "host": host_name, "linked_by": link.as_str(),
                   "severity": alert_ev.get_str("kibana.alert.severity")},
        "tree": tree_lines.iter().map(|(d, me, role, _, p)| json!({"depth": d, "role": role, "alert": me, "process": p})).collect::<Vec<_>>(),
        "timeline": timeline,
        "pivots": pivots,
        "coverage": coverage,
        "note": note,
    });

    let printed = match args.format {
        Format::Json | Format::Ndjson => {
            let mut out = std::io::stdout().lock();
            let r = if args.format == Format::Json {
                serde_json::to_writer_pretty(&mut out, &result)
            } else {
                serde_json::to_writer(&mut out, &result)
            };
            r.map_err(std::io::Error::other).and_then(|_| writeln!(out))
        }
        Format::Csv => output::print_rows(
            &result["timeline"].as_array().cloned().unwrap_or_default(),
            Format::Csv,
            &[],
        ),
        Format::Table => print_report(&result, &tree_lines),
    };
    printed?;
    if let Some(n) = &result["note"].as_str() {
        eprintln!("quarry: {n}");
    }
    Ok(code)
}

fn print_report(r: &J, tree: &[TreeLine]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let a = &r["alert"];
    writeln!(
        out,
        "alert {}: {} ({}) on {} at {} — process linked by {}",
        a["number"],
        output::cell(&a["rule"]),
        output::cell(&a["severity"]),
        output::cell(&a["host"]),
        output::cell(&a["time"]),
        output::cell(&a["linked_by"])
    )?;
    writeln!(out, "\nprocess tree")?;
    if tree.is_empty() {
        writeln!(
            out,
            "  (the alerting process's start is not in the evidence)"
        )?;
    }
    for (depth, me, _, line, _) in tree {
        let indent = "   ".repeat(*depth);
        let branch = if *depth == 0 { "" } else { "└─ " };
        let mark = if *me { "▶ " } else { "" };
        writeln!(out, "  {indent}{branch}{mark}{line}")?;
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
            output::cell(&row["@timestamp"]),
            output::cell(&row["pid"]),
            output::cell(&row["process"]),
            output::cell(&row["category"]),
            output::cell(&row["action"]),
            output::cell(&row["target"])
        )?;
    }
    if let Some(c) = r["coverage"].as_str() {
        writeln!(out, "  {c}")?;
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
                output::cell(&p["count"])
            )
        } else {
            format!("{} events", output::cell(&p["count"]))
        };
        writeln!(out, "  [{}] {} — {count}", i + 1, output::cell(&p["label"]))?;
        if !output::cell(&p["query"]).is_empty() {
            writeln!(out, "      {}", output::cell(&p["query"]))?;
        }
        if !p["from"].is_null() {
            writeln!(
                out,
                "      from {} to {}",
                output::cell(&p["from"]),
                output::cell(&p["to"])
            )?;
        }
        if let Some(notes) = p["notes"].as_array() {
            for n in notes {
                writeln!(out, "      note: {}", output::cell(n))?;
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
            .map(output::cell)
            .unwrap_or_default();
            writeln!(
                out,
                "      {}  {}  {}  {}",
                output::cell(&e["@timestamp"]),
                output::cell(&e["event.category"]),
                output::cell(&e["process.name"]),
                target
            )?;
        }
    }
    out.flush()
}
