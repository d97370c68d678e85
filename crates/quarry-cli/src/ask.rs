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
    question: String,
    /// Evidence: files, folders (recursive), globs, .zip/.tar/.gz archives, or - for standard input.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Only queries of this domain: a name, or a glob (`*`, `?`, `[…]`, `{a,b}`) such as
    /// '*.duckdns.org'; case-insensitive. Repeatable; the summary counts each one's lookups.
    #[arg(long)]
    domain: Vec<String>,
    /// Domains from a file: one name or glob a line (the first word of it), `#` comments and
    /// blank lines skipped, `evil[.]com` read as `evil.com` — a threat report's thousands of
    /// indicators, matched as one set. Repeatable; adds to --domain.
    #[arg(long, value_name = "FILE")]
    domain_file: Vec<PathBuf>,
    /// Only this host: its name (`MKT01.pandalab.com`), short name (`MKT01`) or host.id; case-insensitive.
    #[arg(long)]
    host: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
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
    let bar = crate::progress::Bar::start();
    let (events, summary) = quarry_read::scan(&args.inputs, |ev| question.keep(ev));
    drop(bar);
    let code = output::report_problems(&summary);
    let filter = Filter {
        host: args.host,
        domains,
    };
    let answer = question.answer(events, &filter);
    if let Some(h) = &filter.host
        && !answer
            .hosts
            .iter()
            .any(|n| filter.keeps_host(Some(n), None))
    {
        let mut hosts = answer.hosts.clone();
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
    let columns = answer
        .columns
        .iter()
        .enumerate()
        .map(|(i, h)| {
            Column::new(h, move |r: &Record| {
                r.cells.get(i).cloned().unwrap_or_default()
            })
        })
        .collect();
    // CSV: every field under its ECS name, in the question's order (a
    // header row even when nothing matched)
    let names: Vec<&'static str> = answer
        .rows
        .first()
        .map(|r| r.fields.iter().map(|(k, _)| *k).collect())
        .unwrap_or_default();
    let csv = if names.is_empty() {
        Csv::Fields
    } else {
        Csv::Only(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    Column::new(n, move |r: &Record| {
                        r.fields
                            .get(i)
                            .map(|(_, v)| output::cell(v))
                            .unwrap_or_default()
                    })
                })
                .collect(),
        )
    };
    let rows = Rows {
        rows: &answer.rows,
        columns,
        csv,
    };
    output::print(&rows, args.format)?;
    // the coverage belongs below the table; with machine formats it must
    // not mix with the records
    if args.format == Format::Table {
        write!(std::io::stdout().lock(), "{}", answer.coverage)?;
    } else {
        eprint!("{}", answer.coverage);
    }
    Ok(code)
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
    })
}
