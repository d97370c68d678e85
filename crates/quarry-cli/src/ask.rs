//! `quarry ask`: answer an investigative question over evidence. The
//! question is looked up in `quarry-questions`' catalogue; this module reads
//! what it wants and prints its answer.

use crate::output::{self, Column, Format, Rows};
use quarry_questions::{Filter, Record};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct AskArgs {
    /// The DFIQ question id (see `quarry questions`).
    pub(crate) question: String,
    /// Evidence: files, folders (recursive) and globs; .evtx, JSON/JSON lines, Plaso json_line, .zip, .gz.
    #[arg(required = true)]
    pub(crate) inputs: Vec<PathBuf>,
    /// Only queries whose name matches this glob (`*`, `?`; case-insensitive), e.g. '*.duckdns.org'.
    #[arg(long)]
    pub(crate) domain: Option<String>,
    /// Only this host (host.name or host.id, case-insensitive).
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
    if let Some(url) = &args.spark {
        let Ok((rows, coverage, summary)) = crate::spark::ask(url, &args) else {
            return Ok(crate::exit::USAGE);
        };
        let code = output::report_problems(&summary);
        print(
            &rows,
            |r| &r.cells,
            quarry_questions::q1018::COLUMNS,
            &coverage,
            args.format,
        )?;
        return Ok(code);
    }
    let (events, summary) = quarry_read::scan(&args.inputs, |ev| question.keep(ev));
    let code = output::report_problems(&summary);
    let filter = Filter {
        host: args.host,
        domain: args.domain,
    };
    let answer = question.answer(events, &filter);
    print(
        &answer.rows,
        |r: &Record| &r.cells,
        answer.columns,
        &answer.coverage,
        args.format,
    )?;
    Ok(code)
}

/// Prints an answer's rows (`cells` gives a row's table cells) and its
/// coverage: below the table, or on stderr with the machine formats.
pub(crate) fn print<T: serde::Serialize>(
    rows: &[T],
    cells: impl Fn(&T) -> &[String],
    headers: &[&str],
    coverage: &str,
    format: Format,
) -> std::io::Result<()> {
    let cells = &cells;
    let columns = headers
        .iter()
        .enumerate()
        .map(|(i, h)| Column::new(h, move |r: &T| cells(r).get(i).cloned().unwrap_or_default()))
        .collect();
    output::print(&Rows::new(rows, columns), format)?;
    // the coverage belongs below the table; with machine formats it must
    // not mix with the records
    if format == Format::Table {
        write!(std::io::stdout().lock(), "{coverage}")?;
    } else {
        eprint!("{coverage}");
    }
    Ok(())
}

/// Answers Q1018 over inputs with no filters (used by the demo).
pub fn run_on(inputs: Vec<PathBuf>, format: Format) -> std::io::Result<u8> {
    run(AskArgs {
        question: "Q1018".into(),
        inputs,
        domain: None,
        host: None,
        format,
        spark: None,
    })
}
