//! `quarry report`: the case as one self-contained HTML file. The alerts
//! come from a hunt run here (`--rules`) or from an alerts file
//! (`--alerts`); `quarry-report` gathers the rest from the evidence and
//! renders it. This module parses the arguments and writes the file.

use quarry_detect::HuntOptions;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// Evidence: files, folders (recursive) and globs.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Rule files or folders to hunt with (as `quarry hunt --rules`). Default: the paths in
    /// QUARRY_RULES, else quarry's built-in rules.
    #[arg(
        long,
        env = "QUARRY_RULES",
        value_delimiter = ':',
        conflicts_with = "alerts"
    )]
    rules: Vec<PathBuf>,
    /// Alerts written by `quarry hunt --format ndjson` (or json): report them instead of hunting.
    #[arg(long)]
    alerts: Option<PathBuf>,
    /// The HTML file to write.
    #[arg(short, long, default_value = "case.html")]
    output: PathBuf,
}

pub fn run(args: ReportArgs) -> std::io::Result<u8> {
    let mut code = crate::exit::OK;
    let (alerts, source) = match &args.alerts {
        Some(path) => match crate::investigate::read_alerts(path) {
            Ok(a) => (a, format!("the alerts file {}", path.display())),
            Err(e) => {
                eprintln!("quarry: {e}");
                return Ok(crate::exit::USAGE);
            }
        },
        None => {
            let Some((book, _)) = crate::hunt::load_rules(&args.rules, false) else {
                return Ok(crate::exit::USAGE);
            };
            eprintln!(
                "quarry: {} rules loaded, {} skipped, {} do not compile",
                book.rules.len(),
                book.skipped.len(),
                book.not_compiled.len()
            );
            let report = quarry_detect::hunt(&book, &args.inputs, &HuntOptions::default());
            let rules = if args.rules.is_empty() {
                "quarry's built-in rules".to_string()
            } else {
                args.rules
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let source = format!(
                "quarry hunt: {} rules ({}), {} alerts",
                book.rules.len(),
                rules,
                report.alerts.len()
            );
            (report.alerts.iter().map(|a| a.json()).collect(), source)
        }
    };
    let case = quarry_report::gather(&args.inputs, alerts, source, Default::default());
    code = code.max(crate::output::report_problems(&case.read));
    let html = quarry_report::render(&case);
    if let Err(e) = std::fs::write(&args.output, html.as_bytes()) {
        eprintln!("quarry: cannot write {}: {e}", args.output.display());
        return Ok(crate::exit::USAGE);
    }
    eprintln!(
        "quarry: wrote {} ({:.1} MB): {} alerts, {} hosts, {} DNS answers",
        args.output.display(),
        html.len() as f64 / 1e6,
        case.alerts.len(),
        case.hosts.len(),
        case.dns.rows.len()
    );
    Ok(code)
}
