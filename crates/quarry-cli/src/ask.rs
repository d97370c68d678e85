//! `quarry ask`: answer an investigative question over evidence. The
//! question is looked up in `quarry-questions`' catalogue; this module reads
//! what it wants and prints its answer.

use crate::output::{self, Column, Csv, Format, Rows};
use quarry_questions::{Domains, Filter, Record};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct AskArgs {
    /// The DFIQ question id (see `quarry questions`).
    pub(crate) question: String,
    /// Evidence: files, folders (recursive), globs, .zip/.tar/.gz archives, or - for standard input.
    #[arg(required = true)]
    pub(crate) inputs: Vec<PathBuf>,
    /// Only queries of this domain: a name, or a glob (`*`, `?`, `[…]`, `{a,b}`) such as
    /// '*.duckdns.org'; case-insensitive. Repeatable; the summary counts each one's lookups.
    #[arg(long)]
    pub(crate) domain: Vec<String>,
    /// Domains from a file: one name or glob a line (the first word of it), `#` comments and
    /// blank lines skipped, `evil[.]com` read as `evil.com` — a threat report's thousands of
    /// indicators, matched as one set. Repeatable; adds to --domain.
    #[arg(long, value_name = "FILE")]
    pub(crate) domain_file: Vec<PathBuf>,
    /// Only this host: its name (`MKT01.pandalab.com`), short name (`MKT01`) or host.id; case-insensitive.
    #[arg(long)]
    pub(crate) host: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Run on Apache Spark through Spark Connect (e.g. sc://spark-host:15002): the evidence is
    /// read on the executors, partitioned by host, and answered there. Needs python3 with pyspark.
    #[arg(long, value_name = "URL")]
    pub(crate) spark: Option<String>,
}

pub fn run(args: AskArgs) -> std::io::Result<u8> {
    let Some(question) = quarry_questions::find(&args.question) else {
        eprintln!(
            "quarry: unknown question {:?}; `quarry questions` lists the ones quarry answers",
            args.question
        );
        return Ok(crate::exit::USAGE);
    };
    // a bad indicator is a usage error, said before any evidence is read
    let domains = match domains(&args.domain, &args.domain_file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("quarry: {e}");
            return Ok(crate::exit::USAGE);
        }
    };
    let filter = Filter {
        host: args.host.clone(),
        domains,
    };
    if let Some(url) = &args.spark {
        let got = match crate::spark::ask(url, &args, &filter) {
            Ok(got) => got,
            Err(code) => return Ok(code),
        };
        let code = output::report_problems(&got.summary);
        no_such_host(&filter, &got.hosts);
        print(
            &got.rows,
            quarry_questions::q1018::COLUMNS,
            &got.coverage,
            args.format,
        )?;
        return Ok(code);
    }
    let bar = crate::progress::Bar::start();
    let (events, summary) =
        quarry_read::scan_projected(&args.inputs, &projection(question), |ev| question.keep(ev));
    drop(bar);
    let code = output::report_problems(&summary);
    let answer = question.answer(events, &filter);
    no_such_host(&filter, &answer.hosts);
    print(&answer.rows, answer.columns, &answer.coverage, args.format)?;
    Ok(code)
}

/// What a question reads of each event: the readers build only its
/// fields (`host.` is a prefix, `@timestamp` a field), and the events it
/// wants.
fn projection(question: &'static dyn quarry_questions::Question) -> quarry_read::Projection {
    let (prefixes, fields): (Vec<&str>, Vec<&str>) = question
        .fields()
        .prefixes()
        .iter()
        .partition(|p| p.ends_with('.'));
    let fields: Vec<String> = fields.into_iter().map(str::to_string).collect();
    quarry_read::Projection::new(&fields, &prefixes, move |ev| question.wants(ev)).keeps_projected()
}

/// Says so when `--host` keeps none of the evidence's `hosts`, naming them.
fn no_such_host(filter: &Filter, hosts: &[String]) {
    if let Some(h) = &filter.host
        && !hosts.iter().any(|n| filter.keeps_host(Some(n), None))
    {
        let mut hosts = hosts.to_vec();
        hosts.sort_unstable();
        hosts.dedup();
        eprintln!(
            "quarry: --host {h} matches no host in the evidence; it holds: {}",
            if hosts.is_empty() {
                "none".to_string()
            } else {
                hosts.join(", ")
            }
        );
    }
}

/// An answer row as [`print`] shows it: its table cells, and its named
/// values (ECS names, in the question's order) for CSV; serialised, it is
/// the row's document.
pub(crate) trait AnswerRow: serde::Serialize {
    fn cells(&self) -> &[String];
    fn field(&self, i: usize) -> Option<(&str, &serde_json::Value)>;
}

impl AnswerRow for Record {
    fn cells(&self) -> &[String] {
        &self.cells
    }
    fn field(&self, i: usize) -> Option<(&str, &serde_json::Value)> {
        self.fields.get(i).map(|(k, v)| (*k, v))
    }
}

/// Prints an answer's rows and its coverage: below the table, or on stderr
/// with the machine formats.
pub(crate) fn print<T: AnswerRow>(
    rows: &[T],
    headers: &[&str],
    coverage: &str,
    format: Format,
) -> std::io::Result<()> {
    let columns = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            Column::new(h, move |r: &T| {
                r.cells().get(i).cloned().unwrap_or_default()
            })
        })
        .collect();
    // CSV: every field under its ECS name, in the question's order (a
    // header row even when nothing matched)
    let names: Vec<&str> = rows
        .first()
        .map(|r| (0..).map_while(|i| r.field(i).map(|(k, _)| k)).collect())
        .unwrap_or_default();
    let csv = if names.is_empty() {
        Csv::Fields
    } else {
        Csv::Only(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    Column::new(n, move |r: &T| {
                        r.field(i).map(|(_, v)| output::cell(v)).unwrap_or_default()
                    })
                })
                .collect(),
        )
    };
    let rows = Rows { rows, columns, csv };
    output::print(&rows, format)?;
    // the coverage belongs below the table; with machine formats it must
    // not mix with the records
    if format == Format::Table {
        write!(std::io::stdout().lock(), "{coverage}")?;
    } else {
        eprint!("{coverage}");
    }
    Ok(())
}

/// The domain indicators of `--domain` and `--domain-file`, as one set;
/// `None` when there are none (no filter).
fn domains(names: &[String], files: &[PathBuf]) -> Result<Option<Domains>, String> {
    let mut texts = Vec::with_capacity(files.len());
    for f in files {
        let bytes = std::fs::read(f).map_err(|e| format!("--domain-file {}: {e}", f.display()))?;
        texts.push((f, String::from_utf8_lossy(&bytes).into_owned()));
    }
    let given = names.iter().map(|n| (n.as_str(), "--domain".to_string()));
    let listed = texts.iter().flat_map(|(f, text)| {
        quarry_questions::domains::file_lines(text)
            .map(move |(line, word)| (word, format!("{}:{line}", f.display())))
    });
    let set = Domains::new(given.chain(listed))?;
    if set.is_empty() && !files.is_empty() {
        return Err(format!(
            "--domain-file: {} holds no domain names",
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok((!set.is_empty()).then_some(set))
}

/// Answers Q1018 over inputs with no filters (used by the demo).
pub fn run_on(inputs: Vec<PathBuf>, format: Format) -> std::io::Result<u8> {
    run(AskArgs {
        question: "Q1018".into(),
        inputs,
        domain: Vec::new(),
        domain_file: Vec::new(),
        host: None,
        format,
        spark: None,
    })
}
