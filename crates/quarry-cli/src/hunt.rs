//! `quarry hunt` and `quarry rules list`: run detection rules (Elastic's
//! TOML, or quarry's built-in pack) over evidence and print alerts shaped
//! as Elastic Security's alert documents, each carrying the lineage its
//! investigation needs.

use crate::output::{self, Format};
use quarry_alert::{Alert, Investigation, Retention};
use quarry_eql::{Hit, Options, Query, compile};
use quarry_event::Event;
use quarry_rules::{Exceptions, Rule, RuleSet, index_name};
use serde_json::Value as J;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

#[derive(clap::Args)]
pub struct HuntArgs {
    /// Evidence: files, folders (recursive) and globs.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Rule TOML files or folders (e.g. a checkout of elastic/detection-rules). Default: quarry's built-in rules.
    #[arg(long)]
    rules: Vec<PathBuf>,
    /// Only rules of at least this severity.
    #[arg(long, value_parser = ["low", "medium", "high", "critical"])]
    severity: Option<String>,
    /// A TOML file of exceptions that suppress matching alerts.
    #[arg(long)]
    exceptions: Option<PathBuf>,
    /// Print the time each rule took, on stderr.
    #[arg(long)]
    stats: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(clap::Subcommand)]
pub enum RulesCommand {
    /// What loaded, what was skipped and why.
    List {
        /// Rule TOML files or folders. Default: quarry's built-in rules.
        #[arg(long)]
        rules: Vec<PathBuf>,
    },
}

/// What the read keeps of an event: the events rules matched, whole (and
/// boxed: they are few), and the packed pool of the investigation.
enum Kept {
    Matched(Box<(Vec<usize>, Event, Option<Pooled>)>),
    Pool(Pooled),
}

/// An event packed for the investigation, with its host key.
type Pooled = (String, quarry_alert::Packed);

fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

pub(crate) fn load_rules(paths: &[PathBuf]) -> RuleSet {
    if paths.is_empty() {
        quarry_rules::builtin()
    } else {
        quarry_rules::load(paths)
    }
}

/// Rules with their compiled queries, and (rule name, why) for those that
/// do not compile.
type Compiled = (Vec<(Rule, Query)>, Vec<(String, String)>);

/// Rules compiled once; those that do not compile are reported.
fn compile_rules(set: &RuleSet) -> Compiled {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for r in &set.rules {
        match compile(&r.query, &Options::default()) {
            Ok(q) => ok.push((r.clone(), q)),
            Err(e) => bad.push((format!("{} ({})", r.name, r.path.display()), e.to_string())),
        }
    }
    (ok, bad)
}

pub fn rules_list(cmd: RulesCommand) -> u8 {
    let RulesCommand::List { rules } = cmd;
    let set = load_rules(&rules);
    let (compiled, bad) = compile_rules(&set);
    for (r, _) in &compiled {
        println!(
            "{:<9} {:>3}  {}  {}",
            r.severity, r.risk_score, r.rule_id, r.name
        );
    }
    for s in &set.skipped {
        println!(
            "skipped  {}: {} — {}",
            s.path.display(),
            s.kind.label(),
            s.name.clone().unwrap_or_default()
        );
    }
    for (name, err) in &bad {
        println!(
            "skipped  {name}: does not compile: {}",
            err.lines().next().unwrap_or_default()
        );
    }
    let summary: Vec<String> = set
        .summary()
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    eprintln!(
        "quarry: {} rules runnable, {} skipped ({}), {} do not compile",
        compiled.len(),
        set.skipped.len(),
        summary.join(", "),
        bad.len()
    );
    crate::exit::OK
}

pub fn run(args: HuntArgs) -> u8 {
    let set = load_rules(&args.rules);
    let (mut compiled, bad) = compile_rules(&set);
    if let Some(min) = &args.severity {
        compiled.retain(|(r, _)| severity_rank(&r.severity) >= severity_rank(min));
    }
    let exceptions = match &args.exceptions {
        Some(p) => match Exceptions::load(p) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("quarry: {e}");
                return crate::exit::USAGE;
            }
        },
        None => Exceptions::default(),
    };
    eprintln!(
        "quarry: {} rules loaded, {} skipped, {} do not compile",
        compiled.len(),
        set.skipped.len(),
        bad.len()
    );
    // Rules indexed by (index, event category): computed once per pair, so
    // a rule that cannot match an event costs nothing for it.
    type ByKey = HashMap<(String, String), Arc<Vec<usize>>>;
    let by_key: RwLock<ByKey> = RwLock::new(HashMap::new());
    let applicable = |index: String, category: String| -> Arc<Vec<usize>> {
        let key = (index, category);
        if let Some(v) = by_key.read().ok().and_then(|m| m.get(&key).cloned()) {
            return v;
        }
        let v: Arc<Vec<usize>> = Arc::new(
            (0..compiled.len())
                .filter(|&i| {
                    compiled[i].0.matches_index(&key.0)
                        && match compiled[i].1.category() {
                            Some(c) => c == key.1,
                            None => key.1.is_empty(),
                        }
                })
                .collect(),
        );
        if let Ok(mut m) = by_key.write() {
            m.insert(key, v.clone());
        }
        v
    };
    let retention = Retention::for_rules(compiled.iter().map(|(r, _)| r));
    let (kept, summary) = quarry_read::scan(&args.inputs, |ev| {
        let index = index_name(&ev);
        let categories: Vec<String> = match ev.get("event.category") {
            Some(v) => v
                .iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect(),
            None => Vec::new(),
        };
        let mut matched: Vec<usize> = Vec::new();
        // `any where` rules and sequences are filed under the empty category
        for cat in categories
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(""))
        {
            for &i in applicable(index.clone(), cat.to_string()).iter() {
                if !matched.contains(&i) && compiled[i].1.matches(&ev) {
                    matched.push(i);
                }
            }
        }
        // kept for the investigation (lineage, follow-on activity, pivots):
        // slimmed to the fields those read, and packed
        let packed = retention.pack(&ev, !matched.is_empty());
        match (matched.is_empty(), packed) {
            (true, None) => None,
            (true, Some(p)) => Some(Kept::Pool(p)),
            (false, p) => Some(Kept::Matched(Box::new((matched, ev, p)))),
        }
    });
    let mut code = output::report_problems(&summary);
    let mut per_rule: Vec<Vec<Event>> = vec![Vec::new(); compiled.len()];
    let mut pool = Vec::with_capacity(kept.len());
    for k in kept {
        match k {
            Kept::Pool(p) => pool.push(p),
            Kept::Matched(m) => {
                let (matched, ev, p) = *m;
                // copied for every rule it matched but the last, which takes it
                if let Some((&last, rest)) = matched.split_last() {
                    for &i in rest {
                        per_rule[i].push(ev.clone());
                    }
                    per_rule[last].push(ev);
                }
                pool.extend(p);
            }
        }
    }
    let mut investigation = Investigation::from_packed(pool);
    // hits are turned into alerts host by host: a host's pool is unpacked
    // for its alerts, then packed away again
    let mut hits_by_host: BTreeMap<Option<String>, Vec<(usize, Hit)>> = BTreeMap::new();
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut withheld = 0usize;
    let mut suppressed: BTreeMap<String, usize> = BTreeMap::new();
    for (i, events) in per_rule.into_iter().enumerate() {
        if events.is_empty() {
            continue;
        }
        let (rule, query) = &compiled[i];
        let t = std::time::Instant::now();
        let hits = query.run(events);
        let total = hits.len();
        let mut n = 0usize;
        for h in hits {
            let last = quarry_alert::hit_events(&h).last().copied();
            let host = last.and_then(quarry_lineage::host_key);
            if let Some(x) = last.and_then(|e| exceptions.suppresses(&rule.rule_id, e)) {
                *suppressed
                    .entry(exceptions.exceptions[x].name.clone())
                    .or_default() += 1;
                continue;
            }
            if n as u64 >= rule.max_signals {
                withheld += 1;
                continue;
            }
            n += 1;
            hits_by_host.entry(host).or_default().push((i, h));
        }
        if n > 0 {
            *counts
                .entry((rule.severity.clone(), rule.name.clone()))
                .or_default() += n;
        }
        if args.stats {
            eprintln!(
                "quarry: rule {:?}: {} hits in {:?}",
                rule.name,
                total,
                t.elapsed()
            );
        }
    }
    let mut alerts: Vec<Alert> = Vec::new();
    for (host, hits) in hits_by_host {
        for (i, h) in &hits {
            alerts.push(quarry_alert::alert(&compiled[*i].0, h, &investigation));
        }
        if let Some(host) = host {
            investigation.release(&host);
        }
    }
    quarry_alert::run_cross_host(&investigation, &mut alerts);
    quarry_alert::link_alerts(&mut alerts);
    let mut alerts: Vec<J> = alerts.into_iter().map(|a| a.doc).collect();
    alerts.sort_by(|a, b| {
        a["kibana"]["alert"]["original_time"]
            .as_str()
            .cmp(&b["kibana"]["alert"]["original_time"].as_str())
    });
    if print(&alerts, args.format).is_err() {
        return code;
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "quarry: {} alerts", alerts.len());
    for ((sev, name), n) in &counts {
        let _ = writeln!(err, "  {n:>5}  {sev:<8} {name}");
    }
    if withheld > 0 {
        let _ = writeln!(err, "  {withheld} alerts withheld by max_signals");
    }
    for (name, n) in &suppressed {
        let _ = writeln!(err, "  {n} suppressed by exception {name:?}");
    }
    if !bad.is_empty() {
        code = code.max(crate::exit::PARTIAL);
        for (name, e) in &bad {
            let _ = writeln!(
                err,
                "quarry: rule {name} does not compile: {}",
                e.lines().next().unwrap_or_default()
            );
        }
    }
    code
}

fn print(alerts: &[J], format: Format) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        Format::Ndjson => {
            for a in alerts {
                serde_json::to_writer(&mut out, a)?;
                writeln!(out)?;
            }
            out.flush()
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, alerts)?;
            writeln!(out)?;
            out.flush()
        }
        Format::Table | Format::Csv => {
            drop(out);
            let s = |a: &J, p: &[&str]| {
                let mut cur = a;
                for k in p {
                    cur = &cur[*k];
                }
                output::cell(cur)
            };
            let cols: &[output::Column<'_, J>] = &[
                ("time", &|a| s(a, &["kibana", "alert", "original_time"])),
                ("severity", &|a| s(a, &["kibana", "alert", "severity"])),
                ("rule", &|a| s(a, &["kibana", "alert", "rule", "name"])),
                ("host", &|a| s(a, &["host", "name"])),
                ("process", &|a| s(a, &["process", "executable"])),
                ("parent", &|a| s(a, &["process", "parent", "executable"])),
                ("command line", &|a| s(a, &["process", "command_line"])),
                ("follow-on", &|a| {
                    let act = &a["quarry"]["activity"];
                    match act["by_category"].as_object() {
                        Some(m) if !m.is_empty() => m
                            .iter()
                            .map(|(k, v)| format!("{k} {v}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        _ if act["no_telemetry"].is_array() => "unknown (telemetry gaps)".into(),
                        _ if act.is_object() => "none".into(),
                        _ => String::new(),
                    }
                }),
                ("descendants", &|a| {
                    a["quarry"]["lineage"]["descendants"]
                        .as_array()
                        .map(|d| {
                            d.iter()
                                .filter_map(|p| p["name"].as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default()
                }),
            ];
            if format == Format::Table {
                return output::print_rows(alerts, format, cols);
            }
            // CSV: the table's columns and the identifiers a case file needs
            let more: &[(&str, &[&str])] = &[
                ("rule_id", &["kibana", "alert", "rule", "rule_id"]),
                ("risk_score", &["kibana", "alert", "risk_score"]),
                ("host.id", &["host", "id"]),
                ("user.name", &["user", "name"]),
                ("process.pid", &["process", "pid"]),
                ("process.entity_id", &["process", "entity_id"]),
                (
                    "process.parent.command_line",
                    &["process", "parent", "command_line"],
                ),
                ("activity.count", &["quarry", "activity", "count"]),
                ("coverage", &["quarry", "activity", "coverage"]),
                ("origin", &["quarry", "origin"]),
            ];
            let mut w = csv::Writer::from_writer(std::io::stdout().lock());
            let header: Vec<&str> = cols
                .iter()
                .map(|(h, _)| *h)
                .chain(more.iter().map(|(h, _)| *h))
                .collect();
            w.write_record(&header)?;
            for a in alerts {
                let row: Vec<String> = cols
                    .iter()
                    .map(|(_, f)| f(a))
                    .chain(more.iter().map(|(_, p)| s(a, p)))
                    .collect();
                w.write_record(&row)?;
            }
            w.flush()
        }
    }
}
