//! `quarry partition read|hunt|ask JOB`: what runs on a Spark executor,
//! inside `SELECT TRANSFORM(…) USING …`. Rows arrive on stdin and leave on
//! stdout as Spark's script transformation writes and reads them: one row
//! a line, columns separated by tabs, `\N` for NULL. Not for users (hidden
//! from `--help`); `JOB` is the job file the client shipped beside the
//! binary.
//!
//! - `read`: one row per input file (`{"rank","file","path","content"}`,
//!   the content base64 when Spark read it, absent when the file is on a
//!   filesystem every executor sees). quarry's own reader reads it (any
//!   format: EVTX, zip, gz, JSON lines, arrays, dumps), the command's
//!   filter keeps what it needs (a query's matches, a question's events:
//!   pushed down to where the file is read), and out comes one row per
//!   event — host key, time, file rank, file, position, `e`, the event in
//!   [`wire`] form — and one `s` row with the file's read summary.
//! - `hunt`, `ask`: one row per event of the partition's hosts (`e`, wire),
//!   whole hosts in input order (the plan distributes and sorts them); the
//!   same library code as on one machine runs over them, and out come
//!   alerts (`a`), the hunt's tallies (`h`) and, for the triage's scope,
//!   the hosts' executables and command lines (`p`) and the ones the
//!   alerts look up (`n`); or answer rows (`r`) and coverage (`c`). Read
//!   summaries (`s`) pass through.

use super::{Job, summary_to_json, wire};
use crate::exit;
use quarry_event::Event;
use serde_json::{Value as J, json};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args)]
pub struct PartitionArgs {
    /// read, hunt or ask.
    stage: String,
    /// The job file shipped with the binary (looked up beside it when not found as given).
    job: PathBuf,
}

pub fn run(args: PartitionArgs) -> std::io::Result<u8> {
    let job = match load_job(&args.job) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("quarry partition: job {}: {e}", args.job.display());
            return Ok(exit::USAGE);
        }
    };
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::with_capacity(1 << 18, std::io::stdout().lock());
    let code = match args.stage.as_str() {
        "read" => read(&job, stdin, &mut out)?,
        "hunt" | "ask" => {
            let (events, passed, bytes) = events_in(stdin)?;
            for s in passed {
                writeln!(out, "s\t{s}")?;
            }
            // what the readers piped into this partition
            writeln!(
                out,
                "x\t{}",
                json!({"events": events.len(), "bytes": bytes})
            )?;
            if args.stage == "hunt" {
                hunt(&job, events, &mut out)?
            } else {
                ask(&job, events, &mut out)?
            }
        }
        other => {
            eprintln!("quarry partition: unknown stage {other:?}");
            exit::USAGE
        }
    };
    out.flush()?;
    Ok(code)
}

/// The job file: as given, else beside this binary (where Spark put both).
fn load_job(path: &Path) -> Result<Job, String> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.join(path.file_name()?)));
    let text = std::fs::read_to_string(path)
        .or_else(|e| beside.map_or(Err(e), std::fs::read_to_string))
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// A scratch folder of this process, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> std::io::Result<Scratch> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "quarry-partition-{}-{what}-{n}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One input file as the plan hands it to `read`.
#[derive(serde::Deserialize)]
struct FileRow {
    rank: Option<i64>,
    file: String,
    path: Option<String>,
    content: Option<String>,
}

/// Tabs and newlines would split Spark's text rows: a column that is only
/// grouped or sorted on has them replaced.
fn column(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

fn read(job: &Job, stdin: impl BufRead, out: &mut impl Write) -> std::io::Result<u8> {
    use base64::Engine as _;
    let filter = match Filter::of(job) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("quarry partition: {e}");
            return Ok(exit::USAGE);
        }
    };
    for line in stdin.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let row: FileRow = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("quarry partition: a bad input row: {e}");
                return Ok(exit::USAGE);
            }
        };
        let scratch;
        let path = match (&row.content, &row.path) {
            (Some(b64), _) => {
                scratch = Scratch::new("read")?;
                let name = Path::new(&row.file)
                    .file_name()
                    .map_or_else(|| "input".into(), |n| n.to_os_string());
                let p = scratch.0.join(name);
                // a file Spark read whole; quarry reads it from local disk
                match base64::engine::general_purpose::STANDARD.decode(b64) {
                    Ok(bytes) => std::fs::write(&p, bytes)?,
                    Err(e) => {
                        eprintln!("quarry partition: {}: bad content: {e}", row.file);
                        return Ok(exit::USAGE);
                    }
                }
                p
            }
            (None, Some(p)) => PathBuf::from(p),
            (None, None) => PathBuf::from(&row.file),
        };
        let read_as = path.display().to_string();
        let (events, mut summary) = filter.scan(&path);
        // the file as the user named it, not where this executor found it
        let rename = |f: &str| match f.strip_prefix(read_as.as_str()) {
            Some(rest) => format!("{}{rest}", row.file),
            None => f.to_string(),
        };
        for p in &mut summary.problems {
            p.file = rename(&p.file);
        }
        let rank = row
            .rank
            .map_or_else(|| "\\N".to_string(), |r| r.to_string());
        let file = column(&row.file);
        let mut last: Option<(Arc<str>, Arc<str>)> = None;
        for (seq, mut ev) in events.into_iter().enumerate() {
            let renamed = match &last {
                Some((from, to)) if Arc::ptr_eq(from, &ev.origin.file) => to.clone(),
                _ => {
                    let to: Arc<str> = Arc::from(rename(&ev.origin.file));
                    last = Some((ev.origin.file.clone(), to.clone()));
                    to
                }
            };
            ev.origin.file = renamed;
            let key = quarry_lineage::host_key(&ev).map_or_else(|| "\\N".into(), |k| column(&k));
            let ts = ev.timestamp.map_or_else(|| "\\N".into(), |t| t.to_string());
            writeln!(
                out,
                "{key}\t{ts}\t{rank}\t{file}\t{seq}\te\t{}",
                wire::encode(&ev)
            )?;
        }
        let s = json!({"rank": row.rank, "file": row.file, "summary": summary_to_json(&summary)});
        writeln!(out, "\\N\t\\N\t{rank}\t{file}\t\\N\ts\t{s}")?;
    }
    Ok(exit::OK)
}

/// What `read` keeps of a file's events: the command's filter, pushed down.
enum Filter {
    All,
    Question(&'static dyn quarry_questions::Question),
    Search(Box<crate::search::Pushdown>),
}

impl Filter {
    fn of(job: &Job) -> Result<Filter, String> {
        if let Some(s) = &job.search {
            return Ok(Filter::Search(Box::new(crate::search::Pushdown::new(s)?)));
        }
        if let Some(a) = &job.ask {
            return quarry_questions::find(&a.question)
                .map(Filter::Question)
                .ok_or_else(|| format!("unknown question {:?}", a.question));
        }
        Ok(Filter::All)
    }

    fn scan(&self, path: &Path) -> (Vec<Event>, quarry_read::ReadSummary) {
        let inputs = [path.to_path_buf()];
        match self {
            Filter::All => quarry_read::scan(&inputs, Some),
            Filter::Question(q) => quarry_read::scan(&inputs, |ev| q.keep(ev)),
            Filter::Search(p) => p.scan(&inputs),
        }
    }
}

/// The partition's events (`e` rows), the rows passed through (`s`), and
/// the bytes of the events' rows.
fn events_in(stdin: impl BufRead) -> std::io::Result<(Vec<Event>, Vec<String>, usize)> {
    let mut events = Vec::new();
    let mut passed = Vec::new();
    let mut bytes = 0;
    for line in stdin.lines() {
        let line = line?;
        bytes += line.len() + 1;
        let Some((kind, payload)) = line.split_once('\t') else {
            continue;
        };
        match kind {
            "e" => match wire::decode(payload) {
                Ok(ev) => events.push(ev),
                Err(e) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("quarry partition: {e}"),
                    ));
                }
            },
            _ => passed.push(payload.to_string()),
        }
    }
    Ok((events, passed, bytes))
}

fn hunt(job: &Job, events: Vec<Event>, out: &mut impl Write) -> std::io::Result<u8> {
    let Some(h) = &job.hunt else {
        eprintln!("quarry partition: the job has no hunt");
        return Ok(exit::USAGE);
    };
    let scratch = Scratch::new("rules")?;
    let (book, opts) = match h.unpack(&scratch.0) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("quarry partition: {e}");
            return Ok(exit::USAGE);
        }
    };
    // max_signals holds per partition too: a rule's first max_signals
    // alerts over all hosts are among the first of their partition (the
    // client keeps them; the rest are counted as withheld)
    // triage's scope looks at every host: the partition gives its hosts'
    // executables and command lines (`p`) and what its alerts look up
    // (`n`); the plan joins them over all partitions
    let mut pairs: std::collections::BTreeSet<(String, &str)> = Default::default();
    let lineage = quarry_lineage::Lineage::from_events(&events);
    for (host, lin) in &lineage.hosts {
        for p in (0..lin.len()).filter_map(|i| lin.process(i)) {
            if let Some(e) = &p.executable {
                pairs.insert((scope_key('e', e), host));
            }
            if let Some(c) = &p.command_line {
                pairs.insert((scope_key('c', c), host));
            }
        }
    }
    for (k, h) in &pairs {
        writeln!(out, "p\t{}", json!({"k": k, "h": h}))?;
    }
    drop(pairs);
    drop(lineage);
    let report = quarry_detect::hunt_events(&book, events, &opts);
    let mut wanted = std::collections::BTreeSet::new();
    for a in &report.alerts {
        let text = a.text();
        writeln!(out, "a\t{text}")?;
        wanted.extend(scope_lookups(
            &serde_json::from_str(&text).unwrap_or_default(),
        ));
    }
    for k in wanted {
        writeln!(out, "n\t{}", json!({ "k": k }))?;
    }
    let counts: Vec<J> = report
        .counts
        .iter()
        .map(|((sev, name), n)| json!([sev, name, n]))
        .collect();
    let tallies = json!({
        "counts": counts,
        "withheld": report.withheld,
        "suppressed": report.suppressed,
        "folded": report.folded,
        "rule_errors": report.rule_errors,
    });
    writeln!(out, "h\t{tallies}")?;
    Ok(exit::OK)
}

/// How triage's scope looks an executable (`e`) or a command line (`c`)
/// up: lower-case, a command line trimmed.
pub(crate) fn scope_key(kind: char, s: &str) -> String {
    let s = if kind == 'c' { s.trim() } else { s };
    format!("{kind}:{}", s.to_ascii_lowercase())
}

/// The scope keys an alert's triage looks up: its process's executable and
/// (when there is one) command line.
pub(crate) fn scope_lookups(alert: &J) -> Vec<String> {
    let what = &alert["quarry"]["triage"]["what"];
    let mut keys = Vec::new();
    if alert["quarry"]["triage"]["scope"].is_null() {
        return keys;
    }
    if let Some(e) = what["executable"].as_str() {
        keys.push(scope_key('e', e));
    }
    if let Some(c) = what["command_line"].as_str().filter(|c| !c.is_empty()) {
        keys.push(scope_key('c', c));
    }
    keys
}

fn ask(job: &Job, events: Vec<Event>, out: &mut impl Write) -> std::io::Result<u8> {
    let Some(a) = &job.ask else {
        eprintln!("quarry partition: the job has no question");
        return Ok(exit::USAGE);
    };
    if !a.question.eq_ignore_ascii_case("Q1018") {
        eprintln!("quarry partition: {} is not answered on Spark", a.question);
        return Ok(exit::USAGE);
    }
    let filter = match a.filter() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("quarry partition: {e}");
            return Ok(exit::USAGE);
        }
    };
    let (rows, mut cov) = quarry_questions::q1018::answer_filtered(events, &filter);
    for r in &rows {
        let rec = r.record();
        let fields: Vec<J> = rec.fields.iter().map(|(k, v)| json!([k, v])).collect();
        let doc = serde_json::to_string(&rec).map_err(std::io::Error::other)?;
        let row = json!({"ts": r.timestamp, "origin": r.origin, "doc": doc, "fields": fields, "cells": rec.cells});
        writeln!(out, "r\t{row}")?;
    }
    // every host, before --host: the client names them when it keeps none
    let hosts = std::mem::take(&mut cov.all_hosts);
    writeln!(out, "c\t{}", json!({"coverage": cov, "hosts": hosts}))?;
    Ok(exit::OK)
}
