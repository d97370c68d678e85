//! Reading evidence: finds the files behind the user's inputs (files,
//! folders, globs; `.zip` and `.gz` containers), recognises each format from
//! its content, streams its records through the normalisers of
//! [`quarry_ecs`], and reports every problem with file and position instead
//! of stopping.
//!
//! Work is spread over the machine's cores: across files, across EVTX chunks
//! (the `evtx` crate's own pipeline), and across blocks of JSON lines.

mod evtx_binxml;
mod evtx_file;
mod input;
mod json_documents;
mod json_stream;
mod limits;
mod plain_json;
pub mod progress;
mod projected;

pub use input::{discover, walk_files};
pub use limits::{Limits, limits, set_limits};
pub use projected::Projection;

use quarry_event::Event;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// One problem met while reading; the rest of the input is still read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    /// The file (or `archive.zip!member`).
    pub file: String,
    /// Where in it: `line 12`, `chunk 9`, `record 1042`, or empty.
    pub location: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.location, self.message)
        }
    }
}

/// What was read, per run (serialised: how a Spark partition reports its
/// read to the client).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ReadSummary {
    pub files: usize,
    /// Inputs named on the command line that do not exist (also listed in
    /// `problems`): a usage error.
    pub missing: usize,
    /// Files (or members) that could not be read at all.
    pub unreadable: usize,
    pub events: u64,
    /// Events per recognised format (`evtx`, `winlogbeat`, `plaso`, …).
    pub formats: BTreeMap<String, u64>,
    /// Records kept as generic events because their normaliser has no
    /// mapping for their type, per source and type
    /// (`crowdstrike.fdr/FooEvent`, `System/7045`): what the
    /// normaliser marked with [`quarry_ecs::UNMAPPED_TYPE`].
    pub unmapped: BTreeMap<String, u64>,
    /// Values that did not have the shape their mapping expects, per record
    /// type and field (`Security/4624 winlog.logon.type`): what the
    /// normaliser noted in [`quarry_ecs::BAD_SHAPE`]. The records are kept.
    pub bad_shapes: BTreeMap<String, u64>,
    /// Plaso rows dropped as the second row of a record already read.
    pub duplicate_rows: u64,
    pub bytes: u64,
    /// Damage met while reading evidence: records or whole inputs lost.
    pub problems: Vec<Problem>,
    /// Inputs that are not evidence (no format recognised, empty, a FIFO):
    /// listed, not counted as damage — a README or a pcap in a triage
    /// collection is normal.
    pub skipped: Vec<Problem>,
}

impl ReadSummary {
    /// The summary of expanding the inputs, before any file is read: what
    /// [`discover`] found wrong with them, as problems (missing inputs
    /// counted) or as skipped inputs (FIFOs, sockets, devices).
    pub fn of_inputs(found: Vec<Problem>) -> ReadSummary {
        let (skipped, problems): (Vec<Problem>, Vec<Problem>) = found
            .into_iter()
            .partition(|p| p.message == input::NOT_REGULAR);
        ReadSummary {
            unreadable: problems.len(),
            missing: problems
                .iter()
                .filter(|p| p.message == input::NO_SUCH_INPUT)
                .count(),
            problems,
            skipped,
            ..Default::default()
        }
    }

    /// Adds another read's counts and problems to this one.
    pub fn merge(&mut self, other: ReadSummary) {
        self.files += other.files;
        self.missing += other.missing;
        self.unreadable += other.unreadable;
        self.events += other.events;
        self.duplicate_rows += other.duplicate_rows;
        self.bytes += other.bytes;
        for (k, v) in other.formats {
            *self.formats.entry(k).or_default() += v;
        }
        for (k, v) in other.unmapped {
            *self.unmapped.entry(k).or_default() += v;
        }
        for (k, v) in other.bad_shapes {
            *self.bad_shapes.entry(k).or_default() += v;
        }
        self.problems.extend(other.problems);
        self.skipped.extend(other.skipped);
    }

    /// Records a problem at a position in a file.
    pub(crate) fn problem(
        &mut self,
        file: &str,
        location: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.problems.push(Problem {
            file: file.into(),
            location: location.into(),
            message: message.into(),
        });
    }

    /// Records an input (file or member) that could not be read at all.
    pub(crate) fn unreadable(&mut self, file: &str, message: impl Into<String>) {
        self.unreadable += 1;
        self.problem(file, "", message);
    }

    /// Records an input that is not evidence of any format quarry reads.
    pub(crate) fn skip(&mut self, file: &str, message: impl Into<String>) {
        self.skipped.push(Problem {
            file: file.into(),
            location: String::new(),
            message: message.into(),
        });
    }

    /// Counts `n` events of one format, none kept generic.
    pub(crate) fn count_many(&mut self, format: &str, n: u64) {
        self.events += n;
        match self.formats.get_mut(format) {
            Some(c) => *c += n,
            None => {
                self.formats.insert(format.to_string(), n);
            }
        }
    }

    /// Counts one event: its format, and its type when it was kept generic.
    pub(crate) fn count(&mut self, format: &str, unmapped: Option<&str>) {
        self.count_many(format, 1);
        if let Some(u) = unmapped {
            match self.unmapped.get_mut(u) {
                Some(n) => *n += 1,
                None => {
                    self.unmapped.insert(u.to_string(), 1);
                }
            }
        }
    }

    /// Counts the bad shapes an event's normaliser noted.
    pub(crate) fn count_bad_shapes<'a>(&mut self, shapes: impl IntoIterator<Item = &'a str>) {
        for shape in shapes {
            match self.bad_shapes.get_mut(shape) {
                Some(n) => *n += 1,
                None => {
                    self.bad_shapes.insert(shape.to_string(), 1);
                }
            }
        }
    }

    /// True when every input was read without a problem (inputs skipped as
    /// not evidence do not count).
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Where readers put events: `keep` decides (on the worker threads where
/// possible) what of each event to hold on to.
pub(crate) struct Sink<'a, T> {
    pub(crate) keep: &'a (dyn Fn(Event) -> Option<T> + Sync),
    pub(crate) out: Vec<T>,
    /// Set by [`scan_projected`]: ECS JSON lines are read projected.
    pub(crate) projection: Option<&'a Projection>,
    /// Set by [`scan_batched`]: takes `out` whenever it holds [`BATCH`] items.
    pub(crate) flush: Option<&'a mut dyn FnMut(Vec<T>)>,
}

/// Items a file's reader gathers before [`scan_batched`]'s consumer takes them.
const BATCH: usize = 4096;

impl<T> Sink<'_, T> {
    /// Hands one event to `keep`, on this thread.
    pub(crate) fn push(&mut self, ev: Event) {
        if let Some(t) = (self.keep)(ev) {
            self.kept(t);
        }
    }

    /// Takes what `keep` made of an event, in the file's order.
    pub(crate) fn kept(&mut self, t: T) {
        self.out.push(t);
        if self.out.len() >= BATCH
            && let Some(flush) = self.flush.as_mut()
        {
            flush(std::mem::replace(&mut self.out, Vec::with_capacity(BATCH)));
        }
    }
}

impl<T: Send> Sink<'_, T> {
    /// Hands events to `keep` on all cores, keeping what it makes of them
    /// in the file's order: a large file's reader would otherwise judge
    /// every event alone while the other cores only decode. `keep` is
    /// `Fn + Sync` and must not depend on the order it sees events in (a
    /// run over many files, or a Spark partition's events, calls it
    /// concurrently too).
    pub(crate) fn push_all(&mut self, events: Vec<Event>) {
        use rayon::prelude::*;
        let keep = self.keep;
        let kept: Vec<Option<T>> = events.into_par_iter().map(keep).collect();
        for t in kept.into_iter().flatten() {
            self.kept(t);
        }
    }
}

/// Reads every input, normalises each record, and hands each event to
/// `keep`, which returns what to hold on to (or `None`). Runs on all cores;
/// the results come back grouped by file, in input order.
pub fn scan<T, F>(inputs: &[PathBuf], keep: F) -> (Vec<T>, ReadSummary)
where
    T: Send,
    F: Fn(Event) -> Option<T> + Sync,
{
    scan_inner(inputs, None, keep)
}

/// [`scan`] for a consumer that reads only some fields: plain ECS JSON
/// lines are parsed for the projection's fields alone, events failing its
/// pre-check are dropped right away, and the events kept carry their line
/// as [`Event::raw_source`] (not [`Event::source`]). Other formats are
/// read as [`scan`] reads them.
pub fn scan_projected<T, F>(
    inputs: &[PathBuf],
    projection: &Projection,
    keep: F,
) -> (Vec<T>, ReadSummary)
where
    T: Send,
    F: Fn(Event) -> Option<T> + Sync,
{
    scan_inner(inputs, Some(projection), keep)
}

/// [`scan`] for a consumer that holds what it keeps of a whole run: each
/// file's kept items are handed to `batch` a few thousand at a time, in the
/// file's order, and what it makes of them is returned, grouped by file, in
/// input order — so the consumer can fold them into a compact form as they
/// come, rather than hold every item until the last file is read.
pub fn scan_batched<T, U, F, B>(inputs: &[PathBuf], keep: F, batch: B) -> (Vec<U>, ReadSummary)
where
    T: Send,
    U: Send,
    F: Fn(Event) -> Option<T> + Sync,
    B: Fn(Vec<T>) -> U + Sync,
{
    scan_files(inputs, None, keep, &batch, true)
}

/// [`scan_batched`] through a projection, as [`scan_projected`] reads.
pub fn scan_projected_batched<T, U, F, B>(
    inputs: &[PathBuf],
    projection: &Projection,
    keep: F,
    batch: B,
) -> (Vec<U>, ReadSummary)
where
    T: Send,
    U: Send,
    F: Fn(Event) -> Option<T> + Sync,
    B: Fn(Vec<T>) -> U + Sync,
{
    scan_files(inputs, Some(projection), keep, &batch, true)
}

/// [`scan`] over events already read (by another process, say: a Spark
/// partition's events arrive on stdin): each goes through `keep` on all
/// cores, in order. The summary counts only events; what was read, and
/// every problem met reading it, is the reader's to report.
pub fn scan_events<T, F>(events: Vec<Event>, keep: F) -> (Vec<T>, ReadSummary)
where
    T: Send,
    F: Fn(Event) -> Option<T> + Sync,
{
    use rayon::prelude::*;
    let summary = ReadSummary {
        events: events.len() as u64,
        ..Default::default()
    };
    let kept = events.into_par_iter().filter_map(&keep).collect();
    (kept, summary)
}

fn scan_inner<T, F>(
    inputs: &[PathBuf],
    projection: Option<&Projection>,
    keep: F,
) -> (Vec<T>, ReadSummary)
where
    T: Send,
    F: Fn(Event) -> Option<T> + Sync,
{
    let (per_file, summary) = scan_files(inputs, projection, keep, &|items: Vec<T>| items, false);
    let mut all = Vec::new();
    for items in per_file {
        // the first file's events are taken as they are, not copied
        if all.is_empty() {
            all = items;
        } else {
            all.extend(items);
        }
    }
    (all, summary)
}

/// Reads every file on all cores; per file, what `keep` kept goes through
/// `batch`: [`BATCH`] items at a time when `batched`, else once, whole.
fn scan_files<T, U, F, B>(
    inputs: &[PathBuf],
    projection: Option<&Projection>,
    keep: F,
    batch: &B,
    batched: bool,
) -> (Vec<U>, ReadSummary)
where
    T: Send,
    U: Send,
    F: Fn(Event) -> Option<T> + Sync,
    B: Fn(Vec<T>) -> U + Sync,
{
    use rayon::prelude::*;
    let (files, found) = discover(inputs);
    let mut summary = ReadSummary::of_inputs(found);
    progress::found(&files);
    let many = files.len() > 1;
    let results: Vec<(Vec<U>, ReadSummary)> = files
        .par_iter()
        .map(|f| {
            let mut s = ReadSummary::default();
            let mut done: Vec<U> = Vec::new();
            let mut flush = |items: Vec<T>| done.push(batch(items));
            let mut sink = Sink {
                keep: &keep,
                out: Vec::new(),
                projection,
                flush: batched.then_some(&mut flush as &mut dyn FnMut(Vec<T>)),
            };
            // A parser bug on hostile input (ours or a dependency's) must cost
            // one file, not the run: keep what was read and report the rest.
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| input::read_path(f, many, &mut s, &mut sink)));
            if let Err(panic) = read {
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                s.problems.push(input::problem(f, "", &format!("reader failed on this file ({why}); events read before the failure are kept")));
            }
            progress::file_done(s.bytes, s.events, &s.problems);
            let rest = std::mem::take(&mut sink.out);
            drop(sink);
            if !batched || !rest.is_empty() {
                done.push(batch(rest));
            }
            (done, s)
        })
        .collect();
    let mut all = Vec::new();
    for (items, s) in results {
        all.extend(items);
        summary.merge(s);
    }
    (all, summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Judged on all cores, events are still kept in the file's order, and
    /// handed on in batches as they fill.
    #[test]
    fn push_all_keeps_the_file_order() {
        let keep = |ev: Event| {
            let n = ev.get("n")?.as_i64()?;
            (n % 3 != 0).then_some(n)
        };
        let mut batches: Vec<Vec<i64>> = Vec::new();
        let mut flush = |items: Vec<i64>| batches.push(items);
        let mut sink = Sink {
            keep: &keep,
            out: Vec::new(),
            projection: None,
            flush: Some(&mut flush),
        };
        let events = |range: std::ops::Range<i64>| {
            range
                .map(|n| {
                    let mut ev = Event::default();
                    ev.set("n", n);
                    ev
                })
                .collect::<Vec<_>>()
        };
        sink.push_all(events(0..5000));
        sink.push_all(events(5000..9000));
        let rest = std::mem::take(&mut sink.out);
        drop(sink);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].len(), BATCH);
        let all: Vec<i64> = batches.into_iter().flatten().chain(rest).collect();
        let want: Vec<i64> = (0..9000).filter(|n| n % 3 != 0).collect();
        assert_eq!(all, want);
    }

    /// A scratch folder, removed when dropped.
    fn scratch() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("quarry-read-test-")
            .tempdir()
            .expect("scratch dir")
    }

    fn tmp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::File::create(&p)
            .and_then(|mut f| f.write_all(bytes))
            .ok();
        p
    }

    #[test]
    fn batches_come_in_order_and_whole() {
        let dir = scratch();
        let lines: String = (0..10_000).map(|i| format!("{{\"a\":{i}}}\n")).collect();
        let a = tmp(&dir, "batched-a.jsonl", lines.as_bytes());
        let b = tmp(&dir, "batched-b.jsonl", b"{\"a\":-1}\n");
        let (batches, s) = scan_batched(&[a, b], |e| e.get_i64("a"), |v: Vec<i64>| v);
        assert_eq!(s.events, 10_001);
        // batches of one file at most BATCH long, never empty, a file's
        // batches before the next file's
        assert!(batches.len() >= 3, "{} batches", batches.len());
        assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= BATCH));
        let all: Vec<i64> = batches.into_iter().flatten().collect();
        let want: Vec<i64> = (0..10_000).chain([-1]).collect();
        assert_eq!(all, want);
    }

    #[test]
    fn malformed_json_lines_are_reported_and_skipped() {
        let dir = scratch();
        let p = tmp(
            &dir,
            "bad.jsonl",
            b"{\"a\":1}\n{\"a\":\n\n{\"a\":3}\n[1,\n\xff\xfe garbage\n{\"a\":4}",
        );
        let (evs, s) = scan(&[p], |e| e.get_i64("a"));
        assert_eq!(evs, vec![1, 3, 4]);
        let lines: Vec<&str> = s.problems.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(lines, vec!["line 2", "line 5", "line 6"]);
    }

    #[test]
    fn json_arrays_and_search_dumps_are_read() {
        let dir = scratch();
        let p = tmp(&dir, "arr.json", br#"[{"a":1},{"a":2}]"#);
        let q = tmp(
            &dir,
            "dump.json",
            br#"{"hits":{"hits":[{"_id":"x","_source":{"a":5}}]}}"#,
        );
        let (evs, s) = scan(&[p, q], |e| e.get_i64("a"));
        assert_eq!(evs, vec![1, 2, 5]);
        assert!(s.is_clean(), "{:?}", s.problems);
    }

    #[test]
    fn gzip_and_unknown_formats() {
        use flate2::write::GzEncoder;
        let dir = scratch();
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"a\":7}\n").ok();
        let p = tmp(&dir, "x.json.gz", &gz.finish().unwrap_or_default());
        let q = tmp(&dir, "x.bin", b"\x00\x01\x02binary");
        let (evs, s) = scan(&[p, q], |e| e.get_i64("a"));
        assert_eq!(evs, vec![7]);
        // not evidence: listed as skipped, not damage
        assert!(s.is_clean(), "{:?}", s.problems);
        assert!(
            s.skipped[0].message.contains("not a format quarry reads"),
            "{:?}",
            s.skipped
        );
    }

    #[test]
    fn tar_gz_members_are_read_and_macos_forks_skipped() {
        use flate2::write::GzEncoder;
        let dir = scratch();
        let mut tarball = tar::Builder::new(Vec::new());
        for (name, body) in [
            ("logs/a.json", &b"{\"a\":1}\n{\"a\":2}\n"[..]),
            ("__MACOSX/logs/._a.json", &b"\x00\x05\x16\x07"[..]),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tarball.append_data(&mut h, name, body).unwrap();
        }
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tarball.into_inner().unwrap()).unwrap();
        let p = tmp(&dir, "logs.tar.gz", &gz.finish().unwrap());
        let (evs, s) = scan(&[p], |e| e.get_i64("a"));
        assert_eq!(evs, vec![1, 2]);
        assert!(s.is_clean(), "{:?}", s.problems);
    }

    #[test]
    fn missing_inputs_are_problems_not_panics() {
        let (evs, s) = scan(&[PathBuf::from("/nonexistent/quarry")], Some);
        assert!(evs.is_empty());
        assert_eq!(s.unreadable, 1);
        assert_eq!(s.missing, 1);
    }
}
