//! `quarry hunt` and `quarry rules list`: the detection library
//! (`quarry-detect`) runs the rules; this module parses the arguments and
//! prints alerts, shaped as Elastic Security's alert documents, and the
//! summaries.

use crate::output::{self, Column, Csv, Format, Rows};
use quarry_detect::{History, HuntOptions, RuleBook};
use quarry_rules::Exceptions;
use rayon::prelude::*;
use serde_json::Value as J;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct HuntArgs {
    /// Evidence: files, folders (recursive), globs, .zip/.tar/.gz archives, or - for standard input.
    #[arg(required = true)]
    pub(crate) inputs: Vec<PathBuf>,
    /// Rule files or folders, repeatable: Elastic's detection-rules TOML (EQL, KQL) and Sigma YAML,
    /// mixed freely. Default: the paths in QUARRY_RULES, else the configuration file's
    /// `rules = [...]` (~/.config/quarry/config.toml, or $QUARRY_CONFIG), else quarry's built-in rules.
    #[arg(long, env = "QUARRY_RULES", value_delimiter = ':')]
    pub(crate) rules: Vec<PathBuf>,
    /// Only rules of at least this severity.
    #[arg(long, value_parser = ["low", "medium", "high", "critical"])]
    pub(crate) severity: Option<String>,
    /// A TOML file of exceptions that suppress matching alerts.
    #[arg(long)]
    pub(crate) exceptions: Option<PathBuf>,
    /// Print the time each rule took, on stderr.
    #[arg(long)]
    pub(crate) stats: bool,
    /// new_terms rules: `full` alerts only where the evidence holds all the
    /// history the rule asks for (a term unseen in a shorter collection may
    /// just be older than it); `partial` alerts on what the evidence covers,
    /// and says so in each alert (quarry.new_terms.history_complete).
    #[arg(long, value_enum, default_value_t = NewTermsHistory::Full)]
    pub(crate) new_terms_history: NewTermsHistory,
    /// Building-block rules' alerts (kibana.alert.building_block_type): shown,
    /// or left out of the output (they are still counted on stderr).
    #[arg(long, value_enum, default_value_t = BuildingBlocks::Show)]
    pub(crate) building_blocks: BuildingBlocks,
    /// Indicator documents for threat_match (indicator match) rules, repeatable: ECS
    /// threat.indicator.* as Elastic's Threat Intel integrations write them (NDJSON, JSON,
    /// _search dumps). Without it those rules are skipped.
    #[arg(long, value_name = "FILE")]
    pub(crate) threat_intel: Vec<PathBuf>,
    /// Entries an alert lists per list (lineage children and descendants, follow-on events per
    /// category, each pivot's events): the first N by time, with the exact total and the count
    /// and time range of the rest. `quarry investigate` shows them all.
    #[arg(long, value_name = "N", default_value_t = quarry_alert::DEFAULT_LISTED)]
    alert_list: usize,
    /// Size bound of one alert document in bytes (as one NDJSON line): past it, long strings
    /// and then the lists are cut, and what was cut is named in quarry.fitted.
    #[arg(long, value_name = "BYTES", default_value_t = quarry_alert::DEFAULT_MAX_BYTES)]
    alert_max_bytes: usize,
    /// Also run the rules Elastic ships switched off (`enabled = false`: the eight per-type
    /// Elastic Defend alert rules, which duplicate the enabled Endpoint Security rule, and the
    /// onboarding sample "My First Rule"). Without it they are listed as skipped.
    #[arg(long)]
    pub(crate) include_disabled: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Run on Apache Spark through Spark Connect (e.g. sc://spark-host:15002): the evidence is
    /// read on the executors, partitioned by host, and hunted there. Needs python3 with pyspark.
    #[arg(long, value_name = "URL")]
    pub(crate) spark: Option<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NewTermsHistory {
    Full,
    Partial,
}

#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BuildingBlocks {
    Show,
    Hide,
}

#[derive(clap::Subcommand)]
pub enum RulesCommand {
    /// What loaded, what was skipped and why.
    List {
        /// Rule files or folders (TOML, Sigma YAML). Default: the paths in QUARRY_RULES, else
        /// quarry's built-in rules.
        #[arg(long, env = "QUARRY_RULES", value_delimiter = ':')]
        rules: Vec<PathBuf>,
        /// Indicator documents: threat_match rules are listed as runnable with them.
        #[arg(long, value_name = "FILE")]
        threat_intel: Vec<PathBuf>,
        /// List the rules Elastic ships switched off (`enabled = false`) as runnable, as
        /// `quarry hunt --include-disabled` runs them.
        #[arg(long)]
        include_disabled: bool,
    },
}

/// The rule book of `paths` (none: the built-in pack); `None`, after
/// saying why, when a path the user named gave nothing to run (missing,
/// not a regular file, a folder without rules, a file that does not
/// parse): a usage error, not an empty result.
/// Paths come from `--rules`, `QUARRY_RULES` or the configuration file
/// (see [`crate::config`]).
/// With `include_disabled`, the rules Elastic ships switched off run too.
pub(crate) fn load_rules(
    given: &[PathBuf],
    include_disabled: bool,
) -> Option<(RuleBook, Vec<PathBuf>)> {
    let paths = match crate::config::rule_paths(given) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("quarry: configuration file {e}");
            return None;
        }
    };
    let book = rule_book(&paths, include_disabled);
    let unusable = quarry_detect::unusable_paths(&paths, &book.skipped);
    for s in &unusable {
        eprintln!("quarry: --rules {}: {}", s.path.display(), s.reason);
    }
    unusable.is_empty().then_some((book, paths))
}

/// The rules of these files and folders, compiled; with
/// `include_disabled` the ones Elastic ships switched off too.
pub(crate) fn rule_book(paths: &[PathBuf], include_disabled: bool) -> RuleBook {
    let mut set = quarry_detect::load(paths);
    if include_disabled {
        set.include_disabled();
    }
    RuleBook::compile(set)
}

pub fn rules_list(cmd: RulesCommand) -> std::io::Result<u8> {
    let RulesCommand::List {
        rules,
        threat_intel,
        include_disabled,
    } = cmd;
    let Some((mut book, _)) = load_rules(&rules, include_disabled) else {
        return Ok(crate::exit::USAGE);
    };
    if threat_intel.is_empty() {
        book.skip_threat_match();
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let runnable = book
        .rules
        .iter()
        .map(|r| &r.rule)
        .chain(book.correlations.iter().map(|c| &c.rule));
    for r in runnable.clone() {
        writeln!(
            out,
            "{:<9} {:>3}  {}  {}",
            r.severity, r.risk_score, r.rule_id, r.name
        )?;
    }
    for s in &book.skipped {
        writeln!(
            out,
            "skipped  {}: {} — {}",
            s.path.display(),
            s.kind.label(),
            // a file that did not parse has no rule name: its error says
            // where it went wrong
            s.name.clone().unwrap_or_else(|| s.reason.clone())
        )?;
    }
    for bad in &book.not_compiled {
        writeln!(
            out,
            "skipped  {}: does not compile: {}",
            bad.rule,
            bad.error.lines().next().unwrap_or_default()
        )?;
    }
    // per type: what runs and why the rest does not
    let table = book.by_type();
    let width = table.keys().map(|k| k.len()).max().unwrap_or(4).max(4);
    writeln!(out)?;
    writeln!(
        out,
        "{:<width$}  {:>8}  {:>7}  why skipped",
        "type", "runnable", "skipped"
    )?;
    let (mut all_runnable, mut all_skipped) = (0, 0);
    for (ty, row) in &table {
        let n: usize = row.skipped.values().sum();
        all_runnable += row.runnable;
        all_skipped += n;
        let why: Vec<String> = row
            .skipped
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        writeln!(
            out,
            "{ty:<width$}  {:>8}  {n:>7}  {}",
            row.runnable,
            why.join(", ")
        )?;
    }
    writeln!(
        out,
        "{:<width$}  {all_runnable:>8}  {all_skipped:>7}",
        "total"
    )?;
    out.flush()?;
    let summary: Vec<String> = book
        .skipped_summary()
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let mut by_type: std::collections::BTreeMap<String, usize> = Default::default();
    for r in runnable {
        let language = r.language.as_deref().unwrap_or(&r.rule_type);
        *by_type
            .entry(format!("{} ({language})", r.rule_type))
            .or_default() += 1;
    }
    let by_type: Vec<String> = by_type.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    eprintln!(
        "quarry: {} rules runnable ({}), {} skipped ({}), {} do not compile",
        book.runnable(),
        by_type.join(", "),
        book.skipped.len(),
        summary.join(", "),
        book.not_compiled.len()
    );
    Ok(crate::exit::OK)
}

pub fn run(args: HuntArgs) -> std::io::Result<u8> {
    let Some((mut book, rule_paths)) = load_rules(&args.rules, args.include_disabled) else {
        return Ok(crate::exit::USAGE);
    };
    if let Some(min) = &args.severity {
        book.retain_severity(min);
    }
    let threat_intel = if args.threat_intel.is_empty() {
        book.skip_threat_match();
        None
    } else {
        let (intel, read) = quarry_detect::threat_match::Indicators::read(&args.threat_intel);
        for p in &read.problems {
            eprintln!("quarry: --threat-intel: {p}");
        }
        if intel.docs.is_empty() {
            eprintln!("quarry: --threat-intel: no indicator documents read");
            return Ok(crate::exit::USAGE);
        }
        eprintln!(
            "quarry: {} indicator documents read for threat_match rules",
            intel.docs.len()
        );
        Some(intel)
    };
    let exceptions = match &args.exceptions {
        Some(p) => match Exceptions::load(p) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("quarry: {e}");
                return Ok(crate::exit::USAGE);
            }
        },
        None => Exceptions::default(),
    };
    eprintln!(
        "quarry: {} rules loaded, {} skipped, {} do not compile",
        book.runnable(),
        book.skipped.len(),
        book.not_compiled.len()
    );
    let opts = HuntOptions {
        exceptions,
        stats: args.stats,
        new_terms_history: match args.new_terms_history {
            NewTermsHistory::Full => History::Full,
            NewTermsHistory::Partial => History::Partial,
        },
        threat_intel,
        alert_limits: quarry_alert::AlertLimits {
            listed: args.alert_list,
            max_bytes: args.alert_max_bytes,
        },
    };
    let mut report = match &args.spark {
        Some(url) => match crate::spark::hunt(url, &args, &book, &rule_paths, &opts) {
            Ok(r) => r,
            Err(code) => return Ok(code),
        },
        None => {
            let bar = crate::progress::Bar::start();
            let report = quarry_detect::hunt(&book, &args.inputs, &opts);
            drop(bar);
            report
        }
    };
    let total = report.alerts.len();
    if args.building_blocks == BuildingBlocks::Hide {
        report.alerts.retain(|a| !a.is_building_block());
    }
    let mut code = output::report_problems(&report.read);
    for s in &report.rule_stats {
        eprintln!(
            "quarry: rule {:?}: {} hits in {:?}",
            s.rule, s.hits, s.elapsed
        );
    }
    print(&report.alerts, args.format)?;
    let mut err = std::io::stderr().lock();
    let hidden = total - report.alerts.len();
    if hidden > 0 {
        let _ = writeln!(
            err,
            "quarry: {total} alerts ({hidden} of building-block rules not shown)"
        );
    } else {
        let _ = writeln!(err, "quarry: {total} alerts");
    }
    // most severe first, then by rule name
    let mut counts: Vec<(&(String, String), &usize)> = report.counts.iter().collect();
    counts.sort_by(|a, b| {
        quarry_detect::severity_rank(&b.0.0)
            .cmp(&quarry_detect::severity_rank(&a.0.0))
            .then_with(|| a.0.1.cmp(&b.0.1))
    });
    for ((sev, name), n) in counts {
        let _ = writeln!(err, "  {n:>5}  {sev:<8} {name}");
    }
    if rule_paths.is_empty() {
        let config = crate::config::path()
            .map(|p| format!(", or list them in {} as rules = [\"…\"]", p.display()))
            .unwrap_or_default();
        let _ = writeln!(
            err,
            "quarry: only quarry's built-in rule ran; for Elastic's and SigmaHQ's, pass --rules \
             (repeatable) or set QUARRY_RULES=path:path{config}, e.g. a checkout of \
             elastic/detection-rules/rules and SigmaHQ/sigma/rules"
        );
    }
    if report.withheld > 0 {
        let _ = writeln!(err, "  {} alerts withheld by max_signals", report.withheld);
    }
    for (name, n) in &report.suppressed {
        let _ = writeln!(err, "  {n} suppressed by exception {name:?}");
    }
    if report.folded > 0 {
        let _ = writeln!(
            err,
            "  {} alerts folded into others by their rule's alert_suppression",
            report.folded
        );
    }
    if report.oversized > 0 {
        let _ = writeln!(
            err,
            "  {} alerts over --alert-max-bytes {} even after cutting their lists and strings",
            report.oversized, args.alert_max_bytes
        );
    }
    for (rule, e) in &report.rule_errors {
        code = code.max(crate::exit::PARTIAL);
        let _ = writeln!(err, "quarry: rule {rule}: {e}");
    }
    if !book.not_compiled.is_empty() {
        code = code.max(crate::exit::PARTIAL);
        for bad in &book.not_compiled {
            let _ = writeln!(
                err,
                "quarry: rule {} does not compile: {}",
                bad.rule,
                bad.error.lines().next().unwrap_or_default()
            );
        }
    }
    // thousands of compiled rules and the alerts: the process's exit frees
    // them at once, where dropping them takes a tenth of a second
    std::mem::forget((book, report));
    Ok(code)
}

/// The text at a path of an alert document.
fn at(a: &J, path: &[&str]) -> String {
    output::cell(path.iter().fold(a, |cur, k| &cur[*k]))
}

fn print(alerts: &[quarry_alert::AlertDoc], format: Format) -> std::io::Result<()> {
    match format {
        // written as held, one at a time, not parsed again
        Format::Ndjson => {
            // decompressed on all cores, a few hundred at a time
            let mut out = std::io::BufWriter::with_capacity(1 << 18, std::io::stdout().lock());
            for chunk in alerts.chunks(256) {
                let texts: Vec<String> = chunk.par_iter().map(|a| a.text()).collect();
                for t in texts {
                    out.write_all(t.as_bytes())?;
                    out.write_all(b"\n")?;
                }
            }
            return out.flush();
        }
        Format::Json => return output::print(&Rows::new(alerts, Vec::new()), format),
        Format::Table | Format::Csv => {}
    }
    let alerts: Vec<J> = alerts.iter().map(|a| a.json()).collect();
    let alerts = &alerts[..];
    let path = |p: &'static [&'static str]| move |a: &J| at(a, p);
    let columns = vec![
        // the name `quarry investigate --alert` takes
        Column::new("id", |a: &J| {
            quarry_alert::short_id(&at(a, &["kibana", "alert", "uuid"])).to_string()
        }),
        Column::new("time", path(&["kibana", "alert", "original_time"])),
        Column::new("severity", path(&["kibana", "alert", "severity"])),
        Column::new("rule", path(&["kibana", "alert", "rule", "name"])),
        Column::new("host", path(&["host", "name"])),
        Column::new("process", path(&["process", "executable"])),
        Column::new("parent", path(&["process", "parent", "executable"])),
        Column::new("command line", path(&["process", "command_line"])),
        Column::new("follow-on", |a: &J| {
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
        Column::new("descendants", |a: &J| {
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
    // CSV: the table's columns and the identifiers a case file needs
    let more: &[(&str, &'static [&'static str])] = &[
        ("kibana.alert.uuid", &["kibana", "alert", "uuid"]),
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
    let rows = Rows {
        rows: alerts,
        columns,
        csv: Csv::Columns(more.iter().map(|(h, p)| Column::new(h, path(p))).collect()),
    };
    output::print(&rows, format)
}
