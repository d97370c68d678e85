//! `quarry`: the command line. Thin by design: it parses arguments, calls
//! the pipeline crates (read → normalise → lineage → questions / EQL), and
//! prints. Results go to stdout, diagnostics to stderr.

mod ask;
mod config;
mod demo;
mod dfiq;
mod hunt;
mod investigate;
mod limits;
mod output;
mod progress;
mod report;
mod search;
mod spark;

use clap::{Parser, Subcommand};

// Normalisation allocates many small strings on every core; glibc's
// allocator spent ~40% of the time in malloc/free and lock contention.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes, as documented in `--help` and the README.
pub mod exit {
    /// Everything was read and answered.
    pub const OK: u8 = 0;
    /// The answer is printed, but some evidence was damaged (every problem
    /// is listed on stderr). Files that are not evidence — a README in a
    /// triage folder — are listed as skipped and do not count.
    pub const PARTIAL: u8 = 1;
    /// Usage error (bad arguments, an input that does not exist, unknown
    /// question, malformed query), or the results could not be written (a
    /// full disk): the message says.
    pub const USAGE: u8 = 2;
}

#[derive(Parser)]
#[command(
    name = "quarry",
    version,
    about = "Answer investigative questions and run detections over endpoint telemetry, offline.",
    long_about = "quarry reads Windows event logs (EVTX), Windows-event JSON (winlogbeat, NXLog, OTRF), Plaso \
timelines, CrowdStrike FDR, SentinelOne Cloud Funnel, Microsoft 365 Defender, Elastic Defend, Endgame and ECS \
documents, normalises them to Elastic Common Schema the way Elastic's integrations do, rebuilds process lineage \
per host, answers investigative questions (DFIQ), and runs Elastic's EQL queries and detection rules over them.\n\n\
Inputs are files, folders (read recursively) and globs; .zip, .gz and .tar are opened; formats are \
recognised from content, not names.",
    after_help = "EXIT CODES:\n  0  success (files that are not evidence, such as a README, are listed as skipped)\n  1  results printed, but some evidence was damaged (problems on stderr; all of them with --problems FILE)\n  2  usage error (an input that does not exist, a bad query), or the results could not be written\n\n\
EXAMPLES:\n  quarry demo\n  quarry ask Q1018 evidence/\n  quarry search 'process where process.parent.name : \"dns.exe\"' evidence/\n  quarry hunt --rules detection-rules/rules evidence/\n  quarry investigate alerts.ndjson --alert 1 evidence/\n  quarry ask Q1018 --domain '*.duckdns.org' --format csv evidence/\n  quarry questions --dfiq ../shared/dfiq/data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Write every read problem and skipped input to FILE, one JSON object a line (stderr shows the first 50).
    #[arg(long, global = true, value_name = "FILE")]
    problems: Option<PathBuf>,
    #[command(flatten)]
    limits: limits::LimitArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Answer an investigative question, e.g. Q1018 "What process made the DNS query?"
    #[command(
        after_help = "For every DNS query: the process that made it (image, pid, command line, parent, user), \
how it was linked (entity_id, pid+lifetime or unlinked), and below the answer the coverage: which hosts had DNS \
telemetry, and which had process telemetry but none (unresolved, not benign).\n\nEXAMPLES:\n  quarry ask Q1018 evidence/\n  \
quarry ask Q1018 --domain '*.duckdns.org' evidence/ --format csv\n  quarry ask Q1018 --host WIN10-01 --format ndjson evidence/Sysmon.evtx"
    )]
    Ask(ask::AskArgs),
    /// Run an EQL query (Elasticsearch's syntax and semantics) over evidence.
    #[command(
        after_help = "Event queries print the matching events in time order; sequences and samples print one \
match per join key group. In ndjson each line is shaped as Elasticsearch's EQL search API: \
{\"_id\",\"_index\",\"_source\"} per event, {\"join_keys\",\"events\"} per sequence or sample.\n\nEXAMPLES:\n  \
quarry search 'process where process.parent.name : \"dns.exe\"' evidence/\n  \
quarry search --format ndjson \\\n      'sequence by host.id with maxspan=1m\n         [process where process.name : \"cmd.exe\"]\n         [network where true]' events.ndjson\n  \
quarry search --mapping index-mapping.json --tiebreaker serial_event_id \\\n      --format ndjson 'file where file_name : \"*.exe\"' export.json\n  \
quarry search --check 'process where ...'"
    )]
    Search(search::SearchArgs),
    /// Run detection rules (Elastic's EQL rules, or quarry's built-in pack) over evidence.
    #[command(
        after_help = "Alerts are shaped as Elastic Security's alert documents (kibana.alert.*), with the \
process's lineage (parent, grandparent, children, descendants) under quarry.lineage, the follow-on file, \
registry, network and DNS events of the process and its descendants under quarry.activity, and the rule's \
investigation pivots, run against the evidence, under quarry.investigate. `quarry investigate` shows one alert \
as a process tree and a timeline.\n\nEXAMPLES:\n  \
quarry hunt evidence/\n  quarry hunt --rules ../shared/rules/elastic/rules evidence/\n  \
quarry hunt --rules my-rules/ --severity high --format ndjson evidence/ > alerts.ndjson\n  \
quarry hunt --exceptions exceptions.toml evidence/"
    )]
    Hunt(hunt::HuntArgs),
    /// Investigate one alert of `quarry hunt`: process tree, timeline, the rule's pivots.
    #[command(
        after_help = "Reads the alerts `quarry hunt --format ndjson` wrote and the evidence they came from, and \
prints for one alert: the process tree (ancestors, the alerting process, its descendants), the timeline of the \
process and its descendants (process starts, file, registry, network and DNS events), and the rule's \
[[transform.investigate]] pivots run against the evidence, with the time window taken from the alert's time.\n\n\
EXAMPLES:\n  quarry hunt --format ndjson evidence/ > alerts.ndjson\n  \
quarry investigate alerts.ndjson --alert 3 evidence/\n  \
quarry investigate --rules ../shared/rules/elastic/rules --format json alerts.ndjson evidence/"
    )]
    Investigate(investigate::InvestigateArgs),
    /// Write the case as one self-contained HTML file: overview, alerts triaged, Q1018.
    #[command(
        after_help = "One file, opened offline in any browser: what was read and which telemetry each host has, \
the alerts (from a hunt with --rules, or an alerts file with --alerts) each with its triage, process tree, timeline \
and pivots, and Q1018's DNS answers with their coverage.\n\nEXAMPLES:\n  \
quarry report --rules ../shared/rules/elastic/rules evidence/ -o case.html\n  \
quarry report --alerts alerts.ndjson evidence/ -o case.html"
    )]
    Report(report::ReportArgs),
    /// Detection rules: what loads, what is skipped and why.
    #[command(subcommand)]
    Rules(hunt::RulesCommand),
    /// List the questions quarry answers and the approaches it implements.
    Questions {
        /// A DFIQ catalogue folder (scenarios/, facets/, questions/): place each question in it.
        #[arg(long)]
        dfiq: Option<PathBuf>,
        /// Evidence to check: show which approaches have data to run on.
        inputs: Vec<PathBuf>,
    },
    /// What runs on a Spark executor for `--spark` (rows on stdin and stdout).
    #[command(hide = true)]
    Partition(spark::partition::PartitionArgs),
    /// Generate a small incident and answer Q1018 over it: the main job, end to end.
    Demo {
        /// Where to write the generated evidence (default: a folder under the system temp dir).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = output::Format::Table)]
        format: output::Format,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if let Some(p) = cli.problems {
        output::diagnostics::set_problems_file(p);
    }
    quarry_read::set_limits(cli.limits.into());
    let result = match cli.command {
        Command::Ask(args) => ask::run(args),
        Command::Search(args) => search::run(args),
        Command::Hunt(args) => hunt::run(args),
        Command::Investigate(args) => investigate::run(args),
        Command::Report(args) => report::run(args),
        Command::Rules(cmd) => hunt::rules_list(cmd),
        Command::Questions { dfiq, inputs } => dfiq::run(dfiq, inputs),
        Command::Demo { out, format } => demo::run(out, format),
        Command::Partition(args) => spark::partition::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // stdout closed early (`quarry … | head`): the reader has what it
        // wanted; not an error, as ripgrep treats it
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("quarry: cannot write the results: {e}");
            ExitCode::from(exit::USAGE)
        }
    }
}
