//! `quarry ask`: answer an investigative question over evidence.

use crate::output::{self, Format};
use quarry_questions::q1018::{self, Coverage, Row};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct AskArgs {
    /// The DFIQ question id (see `quarry questions`).
    question: String,
    /// Evidence: files, folders (recursive) and globs; .evtx, JSON/JSON lines, Plaso json_line, .zip, .gz.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Only queries whose name matches this glob (`*`, `?`; case-insensitive), e.g. '*.duckdns.org'.
    #[arg(long)]
    domain: Option<String>,
    /// Only this host (host.name or host.id, case-insensitive).
    #[arg(long)]
    host: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(args: AskArgs) -> std::io::Result<u8> {
    if quarry_questions::find(&args.question).map(|q| q.id) != Some("Q1018") {
        eprintln!(
            "quarry: unknown question {:?}; `quarry questions` lists the ones quarry answers",
            args.question
        );
        return Ok(crate::exit::USAGE);
    }
    let (events, summary) = quarry_read::scan(&args.inputs, q1018::wants);
    let code = output::report_problems(&summary);
    let (mut rows, cov) = q1018::answer(events);
    rows.retain(|r| {
        args.domain
            .as_deref()
            .is_none_or(|d| q1018::domain_matches(d, &r.query))
            && args.host.as_deref().is_none_or(|h| {
                r.host_name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(h))
                    || r.host_id
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(h))
            })
    });
    print(&rows, &cov, args.format)?;
    Ok(code)
}

/// Answers Q1018 over inputs with no filters (used by the demo).
pub fn run_on(inputs: Vec<PathBuf>, format: Format) -> std::io::Result<u8> {
    run(AskArgs {
        question: "Q1018".into(),
        inputs,
        domain: None,
        host: None,
        format,
    })
}

pub fn print(rows: &[Row], cov: &Coverage, format: Format) -> std::io::Result<()> {
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    // The table is the responder's glance: names, not paths; the machine
    // formats carry every field in full.
    let base = |o: &Option<String>| {
        quarry_ecs::windows::basename(o.as_deref().unwrap_or_default()).to_string()
    };
    let cols: &[output::Column<'_, Row>] = &[
        ("time", &|r| opt(&r.timestamp)),
        ("host", &|r| opt(&r.host_name)),
        ("query", &|r| r.query.clone()),
        ("status", &|r| opt(&r.status)),
        ("pid", &|r| r.pid.map(|p| p.to_string()).unwrap_or_default()),
        ("process", &|r| base(&r.executable)),
        ("parent", &|r| base(&r.parent_executable)),
        ("user", &|r| opt(&r.user)),
        ("linked by", &|r| r.linked_by.to_string()),
        ("command line", &|r| opt(&r.command_line)),
    ];
    output::print_rows(rows, format, cols)?;
    let text = coverage_text(cov, rows.len());
    if format == Format::Table {
        let mut out = std::io::stdout().lock();
        write!(out, "{text}")?;
    } else {
        eprint!("{text}");
    }
    Ok(())
}

fn coverage_text(cov: &Coverage, shown: usize) -> String {
    let mut s = format!("\nQ1018 What process made the DNS query? — {shown} rows\n");
    let linked: Vec<String> = cov
        .linked
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    s += &format!(
        "  linked by: {}\n",
        if linked.is_empty() {
            "-".into()
        } else {
            linked.join(", ")
        }
    );
    let appr: Vec<String> = cov
        .approaches
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    s += &format!(
        "  approaches: {}\n",
        if appr.is_empty() {
            "none had data".into()
        } else {
            appr.join(", ")
        }
    );
    for (h, n) in &cov.hosts_with_dns {
        s += &format!("  covered: {h} ({n} DNS queries)\n");
    }
    for h in &cov.hosts_without_dns {
        s += &format!(
            "  not covered: no DNS telemetry on {h} (process telemetry only) — unresolved, not benign\n"
        );
    }
    if cov.hosts_with_dns.is_empty() && cov.hosts_without_dns.is_empty() {
        s += "  not covered: the evidence holds no DNS or process telemetry\n";
    }
    s
}
