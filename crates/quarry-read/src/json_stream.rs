//! JSON inputs: JSON lines (NDJSON), JSON arrays of documents, and streams
//! of whole documents (pretty-printed, or an Elasticsearch `_search` dump
//! whose `hits.hits[]._source` are the events).
//!
//! JSON lines are read in blocks and normalised on all cores; a malformed
//! line is reported with its number and skipped.

use crate::limits::{max_document_bytes, show_bytes};
use crate::{Problem, ReadSummary, Sink};
use quarry_ecs::format::{self, Format};
use quarry_ecs::json::normalize_json;
use quarry_event::{Event, Locator, Origin};
use rayon::prelude::*;
use rustc_hash::FxHashSet;
use std::io::{BufRead, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

const BLOCK_BYTES: usize = 1 << 20;
/// Bytes asked of the reader at a time.
const READ_BYTES: usize = 1 << 20;

/// Reads JSON from `reader`; `whole` is the same input as one slice when
/// it is a memory-mapped file, whose lines are then cut and read on the
/// workers (no copy, no reader thread).
pub(crate) fn read_json<R: BufRead, T: Send>(
    name: &str,
    mut reader: R,
    whole: Option<&[u8]>,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    let file: Arc<str> = name.into();
    let mut ctx = Ctx {
        file,
        s,
        sink,
        seen: FxHashSet::default(),
        plain_ecs: 0,
    };
    // Peek the first non-blank line to choose the mode.
    let mut first = Vec::new();
    let mut lineno = 0u64;
    loop {
        first.clear();
        match reader.read_until(b'\n', &mut first) {
            Ok(0) => return,
            Ok(_) => lineno += 1,
            Err(e) => {
                return ctx.problem(format!("line {}", lineno + 1), format!("read error: {e}"));
            }
        }
        if !trim(&first).is_empty() {
            break;
        }
    }
    let t = trim(&first);
    if t.first() == Some(&b'[') {
        let rest = std::io::Cursor::new(first.clone()).chain(reader);
        return read_documents(&mut ctx, rest, lineno);
    }
    let is_document = |t: &[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(t).is_ok();
    if t.first() == Some(&b'{') && !is_document(t) {
        // a document spread over lines, or JSON lines whose first line is
        // damaged: the next non-blank line tells (a document by itself,
        // then lines, the first reported as malformed)
        let mut peeked = first.clone();
        let mut next = Vec::new();
        loop {
            next.clear();
            match reader.read_until(b'\n', &mut next) {
                Ok(0) => break,
                Ok(_) => peeked.extend_from_slice(&next),
                Err(e) => {
                    ctx.problem(format!("after line {lineno}"), format!("read error: {e}"));
                    break;
                }
            }
            if !trim(&next).is_empty() {
                break;
            }
        }
        let next = trim(&next);
        if !(next.first() == Some(&b'{') && is_document(next)) {
            // stream whole documents
            let rest = std::io::Cursor::new(peeked).chain(reader);
            return read_documents(&mut ctx, rest, lineno);
        }
        first = peeked;
    }
    match whole {
        Some(bytes) => read_lines_mapped(&mut ctx, bytes),
        None => read_lines(&mut ctx, reader, first, lineno),
    }
}

struct Ctx<'a, 's, T> {
    file: Arc<str>,
    s: &'a mut ReadSummary,
    sink: &'a mut Sink<'s, T>,
    /// Plaso rows already seen (two rows per EVTX record).
    seen: FxHashSet<String>,
    /// Plain ECS lines read, counted into the summary at the end (not by a
    /// map lookup per line).
    plain_ecs: u64,
}

impl<T> Drop for Ctx<'_, '_, T> {
    fn drop(&mut self) {
        if self.plain_ecs > 0 {
            self.s.count_many(Format::Ecs.name(), self.plain_ecs);
        }
    }
}

impl<T: Send> Ctx<'_, '_, T> {
    fn problem(&mut self, location: String, message: String) {
        self.s.problems.push(Problem {
            file: self.file.to_string(),
            location,
            message,
        });
    }

    fn emit(&mut self, doc: serde_json::Value, locator: Locator) {
        let mut problems = Vec::new();
        let n = normalize(
            doc,
            Origin {
                file: self.file.clone(),
                locator,
            },
            &mut problems,
        );
        self.accept(n, problems);
    }

    fn accept(
        &mut self,
        n: Vec<(quarry_ecs::Normalized, Option<Arc<serde_json::Value>>)>,
        problems: Vec<String>,
    ) {
        for p in problems {
            let loc = locator_text(None);
            self.problem(loc, p);
        }
        let keep = self.sink.keep;
        let prepared: Vec<_> = n.into_iter().map(|n| prepare(n, keep)).collect();
        self.accept_prepared(prepared);
    }

    /// Takes what the workers made of line `ln`.
    fn accept_line(&mut self, ln: u64, r: LineOut<T>) {
        match r {
            LineOut::Blank => {}
            LineOut::Dropped => self.plain_ecs += 1,
            LineOut::Kept(t) => {
                self.plain_ecs += 1;
                self.sink.kept(t);
            }
            LineOut::Read(read) => {
                let (items, problems) = *read;
                for p in problems {
                    self.problem(format!("line {ln}"), p);
                }
                self.accept_prepared(items);
            }
            LineOut::Failed(e) => self.problem(format!("line {ln}"), e.into()),
        }
    }

    /// Counts prepared records, drops Plaso's second rows, keeps the rest.
    fn accept_prepared(&mut self, items: impl IntoIterator<Item = Prepared<T>>) {
        for Prepared {
            key,
            format,
            unmapped,
            bad_shapes,
            kept,
        } in items
        {
            if let Some(key) = key
                && !self.seen.insert(key)
            {
                self.s.duplicate_rows += 1;
                continue;
            }
            self.s.count(format.name(), unmapped.as_deref());
            self.s
                .count_bad_shapes(bad_shapes.iter().map(String::as_str));
            if let Some(t) = kept {
                self.sink.kept(t);
            }
        }
    }
}

/// A normalised record after the consumer's `keep`.
struct Prepared<T> {
    /// Plaso's dedupe key.
    key: Option<String>,
    format: Format,
    /// The source/type it was kept generic as ([`quarry_ecs::UNMAPPED_TYPE`]).
    unmapped: Option<String>,
    /// The bad shapes its normaliser noted ([`quarry_ecs::BAD_SHAPE`]).
    bad_shapes: Vec<String>,
    /// What `keep` made of it.
    kept: Option<T>,
}

/// Runs on the worker threads: echo-source, dedupe key, `keep`. Events
/// the consumer does not want are dropped where they were built.
fn prepare<T>(
    (mut n, src): (quarry_ecs::Normalized, Option<Arc<serde_json::Value>>),
    keep: &(dyn Fn(Event) -> Option<T> + Sync),
) -> Prepared<T> {
    // the original document stands for itself only when it already was
    // ECS; every other format is echoed as its ECS form
    if n.format.is_ecs() {
        n.event.source = src;
    }
    let unmapped = n
        .event
        .get_str(quarry_ecs::UNMAPPED_TYPE)
        .map(str::to_string);
    let bad_shapes = n
        .event
        .get(quarry_ecs::BAD_SHAPE)
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Prepared {
        key: n.dedupe_key.take(),
        format: n.format,
        unmapped,
        bad_shapes,
        kept: keep(n.event),
    }
}

fn locator_text(l: Option<Locator>) -> String {
    match l {
        Some(Locator::Line(n)) => format!("line {n}"),
        Some(Locator::Index(i)) => format!("document {i}"),
        _ => String::new(),
    }
}

/// Normalises a document, unwrapping Elasticsearch search dumps into their
/// hits. Returns each event with the document to echo as its `_source`.
fn normalize(
    doc: serde_json::Value,
    origin: Origin,
    problems: &mut Vec<String>,
) -> Vec<(quarry_ecs::Normalized, Option<Arc<serde_json::Value>>)> {
    if let Some(hits) = format::search_hits(&doc) {
        return hits
            .map(|src| {
                let n = normalize_json(src, origin.clone(), problems);
                (n, Some(Arc::new(src.clone())))
            })
            .collect();
    }
    let n = normalize_json(&doc, origin, problems);
    vec![(n, Some(Arc::new(doc)))]
}

fn trim(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

/// Parses one line (or one document's bytes) into its documents: one, or
/// several written back to back without a newline. What serde_json
/// rejects by default but is still a record is read, and said: invalid
/// UTF-8 (replaced by U+FFFD) and numbers beyond `f64` (kept as text).
/// `Err` when no document could be read; damage after a document read is
/// one of the notes.
pub(crate) fn parse_documents(
    line: &[u8],
) -> Result<(Vec<serde_json::Value>, Vec<String>), String> {
    if let Ok(v) = serde_json::from_slice(line) {
        return Ok((vec![v], Vec::new()));
    }
    let mut notes = Vec::new();
    let mut text = std::borrow::Cow::Borrowed(line);
    if std::str::from_utf8(line).is_err() {
        text = String::from_utf8_lossy(line)
            .into_owned()
            .into_bytes()
            .into();
        notes.push("invalid UTF-8 replaced by U+FFFD".to_string());
    }
    let mut widened = false;
    loop {
        let mut docs = Vec::new();
        let mut error = None;
        for doc in serde_json::Deserializer::from_slice(&text).into_iter::<serde_json::Value>() {
            match doc {
                Ok(d) => docs.push(d),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = &error
            && !widened
            && e.to_string().starts_with("number out of range")
            && let Some(w) = widen_numbers(&text)
        {
            text = w.into();
            widened = true;
            notes.push("a number beyond the range of f64 kept as text".into());
            continue;
        }
        if docs.len() > 1 {
            notes.push(format!(
                "{} documents on one line (a newline is missing): each read",
                docs.len()
            ));
        }
        return match error {
            None => Ok((docs, notes)),
            Some(e) if docs.is_empty() => Err(format!("malformed JSON: {e}")),
            Some(e) => {
                notes.push(format!(
                    "malformed JSON after document {}: {e}; the rest of the line skipped",
                    docs.len()
                ));
                Ok((docs, notes))
            }
        };
    }
}

/// The text with every number too large for `f64` (`1e400`) turned into
/// a string; `None` when there is none.
fn widen_numbers(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() + 8);
    let (mut in_str, mut esc, mut changed) = (false, false, false);
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if in_str {
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
        } else if b == b'"' {
            in_str = true;
        } else if b == b'-' || b.is_ascii_digit() {
            let end = text[i..]
                .iter()
                .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .map_or(text.len(), |n| i + n);
            let token = &text[i..end];
            let huge = std::str::from_utf8(token)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .is_some_and(|f| f.is_infinite());
            if huge {
                out.push(b'"');
                out.extend_from_slice(token);
                out.push(b'"');
                changed = true;
            } else {
                out.extend_from_slice(token);
            }
            i = end;
            continue;
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
}

/// A block of whole lines: the bytes, and each line's span and number.
#[derive(Default)]
struct Block {
    /// Filled up to `len`; the rest was zeroed once and is reused, so a
    /// read does not zero its room first.
    buf: Vec<u8>,
    len: usize,
    spans: Vec<(usize, usize, u64)>,
}

/// What the workers made of one line. Small but for what the consumer
/// keeps: most lines of a hunt are plain ECS lines the consumer drops,
/// which need only counting, and a block's results are written by the
/// workers and read back here.
enum LineOut<T> {
    Blank,
    /// A plain ECS line the consumer did not keep.
    Dropped,
    /// A plain ECS line the consumer kept.
    Kept(T),
    /// Any other line: its records, and the problems they raised.
    Read(Box<(Vec<Prepared<T>>, Vec<String>)>),
    /// Why the line could not be parsed.
    Failed(Box<str>),
}

/// Reads JSON lines in blocks of about [`BLOCK_BYTES`] and normalises each
/// block on all cores while this thread reads the next one (the reader may
/// not leave this thread: a tar or zip member borrows its archive).
fn read_lines<R: BufRead, T: Send>(
    ctx: &mut Ctx<'_, '_, T>,
    mut reader: R,
    first: Vec<u8>,
    first_lineno: u64,
) {
    let file = ctx.file.clone();
    let keep = ctx.sink.keep;
    let projection = ctx.sink.projection.map(Trial::new);
    let projection = projection.as_ref();
    // `first` is line `first_lineno`, whole (read up to its newline)
    let mut carry = first;
    let mut lineno = first_lineno - 1;
    let mut errors = Vec::new();
    let mut pending: Option<Block> = None;
    // the block before last (its buffer and spans), reused: fresh memory
    // costs page faults and zeroing
    let mut spare = Block::default();
    // one block's results, reused: filled in place by index, so neither the
    // workers' partial vectors nor a fresh result vector per block are made
    let mut results: Vec<LineOut<T>> = Vec::new();
    loop {
        let next = rayon::in_place_scope(|scope| {
            if let Some(block) = pending.as_ref() {
                let (file, results) = (&file, &mut results);
                scope.spawn(move |_| normalize_block(block, file, keep, projection, results));
            }
            read_block(
                &mut reader,
                &mut carry,
                &mut spare,
                &mut lineno,
                &mut errors,
            )
        });
        for (location, message) in errors.drain(..) {
            ctx.problem(location, message);
        }
        if let Some(done) = pending.take() {
            for (&(_, _, ln), r) in done.spans.iter().zip(results.drain(..)) {
                ctx.accept_line(ln, r);
            }
            spare = done;
        }
        match next {
            Some(block) => pending = Some(block),
            None if pending.is_none() => return,
            None => {}
        }
    }
}

/// Reads the next block of whole lines (`None` at the end of the input):
/// `carry` holds the start of a line the last read cut, `lineno` the number
/// of the last line handed out. A read error ends the input, reported.
fn read_block<R: BufRead>(
    reader: &mut R,
    carry: &mut Vec<u8>,
    spare: &mut Block,
    lineno: &mut u64,
    errors: &mut Vec<(String, String)>,
) -> Option<Block> {
    let mut block = std::mem::take(spare);
    block.spans.clear();
    let buf = &mut block.buf;
    let mut len = carry.len();
    if buf.len() < len {
        buf.resize(len, 0);
    }
    buf[..len].copy_from_slice(carry);
    carry.clear();
    let mut eof = false;
    // bytes already searched for a newline
    let mut scanned = 0;
    loop {
        // a block's worth, or another chunk of a line longer than a block
        let target = (len + READ_BYTES).max(BLOCK_BYTES);
        // room for the last read past the target too
        if buf.len() < target + READ_BYTES {
            buf.resize(target + READ_BYTES, 0);
        }
        while len < target {
            match reader.read(&mut buf[len..len + READ_BYTES]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    errors.push((
                        format!("line {}", *lineno + 1),
                        format!("read error: {e}; rest of the file skipped"),
                    ));
                    eof = true;
                    break;
                }
            }
        }
        if eof || memchr::memchr(b'\n', &buf[scanned..len]).is_some() {
            break;
        }
        scanned = len;
        if len > max_document_bytes() {
            // one line, too long to hold: dropped up to its end, unread
            *lineno += 1;
            errors.push((format!("line {}", *lineno), too_long(len) + " (at least)"));
            len = skip_line(reader, buf, &mut eof);
            scanned = 0;
        }
    }
    // whole lines only: the tail after the last newline waits for the next
    // read, unless the input ended
    if !eof && let Some(i) = memchr::memrchr(b'\n', &buf[..len]) {
        carry.extend_from_slice(&buf[i + 1..len]);
        len = i + 1;
    }
    if len == 0 {
        *spare = block;
        return None;
    }
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', &buf[..len]) {
        *lineno += 1;
        block.spans.push((start, nl + 1, *lineno));
        start = nl + 1;
    }
    if start < len {
        *lineno += 1;
        block.spans.push((start, len, *lineno));
    }
    block.len = len;
    Some(block)
}

/// Reads and drops the rest of a line; returns how many bytes of the next
/// line `buf` now starts with.
fn skip_line<R: BufRead>(reader: &mut R, buf: &mut [u8], eof: &mut bool) -> usize {
    loop {
        match reader.read(&mut buf[..READ_BYTES]) {
            Ok(0) => {
                *eof = true;
                return 0;
            }
            Ok(n) => {
                if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
                    buf.copy_within(i + 1..n, 0);
                    return n - i - 1;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => {
                *eof = true;
                return 0;
            }
        }
    }
}

/// Parses and normalises a block's lines on all cores, into `out` (one
/// entry per line).
fn normalize_block<T: Send>(
    block: &Block,
    file: &Arc<str>,
    keep: &(dyn Fn(Event) -> Option<T> + Sync),
    projection: Option<&Trial<'_>>,
    out: &mut Vec<LineOut<T>>,
) {
    let buf = &block.buf[..block.len];
    block
        .spans
        .par_iter()
        .map(|&(a, b, ln)| normalize_line(&buf[a..b], ln, file, keep, projection))
        .collect_into_vec(out);
}

/// Bytes of a mapped file one worker takes at a time.
const MAPPED_BLOCK: usize = 1 << 20;
/// Blocks read between two hand-overs of results to this thread.
const MAPPED_WINDOW: usize = 8;

/// [`read_lines`] for a file mapped in memory: blocks of whole lines are
/// cut from the map and read on the workers, a window of blocks at a time,
/// while this thread takes the results of the window before.
fn read_lines_mapped<T: Send>(ctx: &mut Ctx<'_, '_, T>, bytes: &[u8]) {
    let file = ctx.file.clone();
    let keep = ctx.sink.keep;
    let projection = ctx.sink.projection.map(Trial::new);
    let projection = projection.as_ref();
    // (start, end) of each block
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let cut = (start + MAPPED_BLOCK).min(bytes.len());
        let end = memchr::memchr(b'\n', &bytes[cut..]).map_or(bytes.len(), |i| cut + i + 1);
        blocks.push((start, end));
        start = end;
    }
    let mut windows = blocks.chunks(MAPPED_WINDOW);
    let mut running = windows.next();
    // the window whose results are in `done`, and its first line's number
    let mut taken: Option<u64> = None;
    let mut first_line = 1u64;
    // two windows' work, reused in turn (results are freed on this thread:
    // fresh vectors would be fresh pages)
    let mut done = WindowWork::<T>::default();
    let mut next = WindowWork::<T>::default();
    while running.is_some() || taken.is_some() {
        rayon::in_place_scope(|scope| {
            if let Some(window) = running {
                let (file, next) = (&file, &mut next);
                scope.spawn(move |_| {
                    let WindowWork { ends, lines, out } = next;
                    // the window's lines, cut on all cores a block each
                    ends.resize_with(window.len(), Vec::new);
                    window
                        .par_iter()
                        .zip(ends.par_iter_mut())
                        .for_each(|(&(a, b), ends)| {
                            ends.clear();
                            ends.extend(
                                memchr::memchr_iter(b'\n', &bytes[a..b]).map(|i| a + i + 1),
                            );
                            if ends.last().copied().unwrap_or(a) < b {
                                ends.push(b);
                            }
                        });
                    lines.clear();
                    for (&(a, _), ends) in window.iter().zip(ends.iter()) {
                        let mut start = a;
                        for &end in ends {
                            lines.push((start, end));
                            start = end;
                        }
                    }
                    // then read line by line on all cores: no core waits
                    // for another's last block
                    lines
                        .par_iter()
                        .enumerate()
                        .map(|(i, &(a, b))| {
                            normalize_line(
                                &bytes[a..b],
                                first_line + i as u64,
                                file,
                                keep,
                                projection,
                            )
                        })
                        .collect_into_vec(out);
                });
            }
            if let Some(first) = taken {
                for (ln, r) in (first..).zip(done.out.drain(..)) {
                    ctx.accept_line(ln, r);
                }
            }
        });
        std::mem::swap(&mut done, &mut next);
        taken = running.map(|_| first_line);
        first_line += done.lines.len() as u64;
        running = windows.next();
    }
}

/// A window of a mapped file on its way through the workers.
struct WindowWork<T> {
    /// Where each line of each block ends (past its newline), in the file.
    ends: Vec<Vec<usize>>,
    /// Each line's start and end.
    lines: Vec<(usize, usize)>,
    /// One result per line.
    out: Vec<LineOut<T>>,
}

impl<T> Default for WindowWork<T> {
    fn default() -> Self {
        WindowWork {
            ends: Vec::new(),
            lines: Vec::new(),
            out: Vec::new(),
        }
    }
}

/// A file's lines tried on a projection: a file whose first lines are all
/// of another format than plain ECS (Windows-event JSON, winlogbeat,
/// FDR) goes straight to the full reader, without walking each line
/// first only to be refused.
struct Trial<'p> {
    projection: &'p crate::Projection,
    /// Some line was taken: every line is tried.
    taken: AtomicBool,
    /// Lines refused, counted up to [`TRIALS`].
    refused: AtomicU32,
}

/// Lines refused, none taken, before a file's lines are no longer tried.
const TRIALS: u32 = 64;

impl<'p> Trial<'p> {
    fn new(projection: &'p crate::Projection) -> Self {
        Trial {
            projection,
            taken: AtomicBool::new(false),
            refused: AtomicU32::new(0),
        }
    }

    fn worth_it(&self) -> bool {
        self.taken.load(Ordering::Relaxed) || self.refused.load(Ordering::Relaxed) < TRIALS
    }

    /// Notes what the projection made of a line. Written only until the
    /// file is settled: the workers of every line would otherwise contend
    /// for the counters' cache line.
    fn note(&self, taken: bool) {
        if taken {
            if !self.taken.load(Ordering::Relaxed) {
                self.taken.store(true, Ordering::Relaxed);
            }
        } else if self.refused.load(Ordering::Relaxed) < TRIALS {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What the workers make of one line (`ln` is its number).
fn normalize_line<T>(
    line: &[u8],
    ln: u64,
    file: &Arc<str>,
    keep: &(dyn Fn(Event) -> Option<T> + Sync),
    projection: Option<&Trial<'_>>,
) -> LineOut<T> {
    let line = trim(line);
    if line.is_empty() {
        return LineOut::Blank;
    }
    // the bound holds whichever reader takes the line
    if line.len() > max_document_bytes() {
        return LineOut::Failed(too_long(line.len()).into());
    }
    let origin = || Origin {
        file: file.clone(),
        locator: Locator::Line(ln),
    };
    // plain ECS lines: only the consumer's fields are built
    if let Some(t) = projection.filter(|t| t.worth_it()) {
        match crate::projected::read_line(line, t.projection, origin) {
            Some(crate::projected::Projected::Kept(ev)) => {
                t.note(true);
                return keep(ev).map_or(LineOut::Dropped, LineOut::Kept);
            }
            Some(crate::projected::Projected::Dropped) => {
                t.note(true);
                return LineOut::Dropped;
            }
            None => t.note(false),
        }
    }
    let origin = origin();
    // CrowdStrike FDR lines skip the generic JSON tree
    if format::may_be_fdr_line(line) {
        let mut problems = Vec::new();
        if let Some(n) =
            quarry_ecs::edr::crowdstrike::normalize_line(line, origin.clone(), &mut problems)
        {
            return LineOut::Read(Box::new((vec![prepare((n, None), keep)], problems)));
        }
    }
    match parse_documents(line) {
        Ok((docs, mut problems)) => {
            let mut items = Vec::new();
            for doc in docs {
                let n = normalize(doc, origin.clone(), &mut problems);
                items.extend(n.into_iter().map(|n| prepare(n, keep)));
            }
            LineOut::Read(Box::new((items, problems)))
        }
        Err(e) => LineOut::Failed(e.into()),
    }
}

/// Why a line is skipped for its length.
fn too_long(n: usize) -> String {
    format!(
        "line of {}, longer than the {} a record may take (--max-document-size): skipped",
        show_bytes(n as u64),
        show_bytes(max_document_bytes() as u64)
    )
}

/// Reads a top-level array's elements, or documents one after another;
/// `reader`'s first byte is on line `first_line`.
fn read_documents<R: Read, T: Send>(ctx: &mut Ctx<'_, '_, T>, reader: R, first_line: u64) {
    let mut index = 0u64;
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut parse = |bytes: &[u8], _line: u64| -> Result<(), String> {
        let (docs, notes) = parse_documents(bytes)?;
        for note in notes {
            problems.push((format!("document {index}"), note));
        }
        for doc in docs {
            ctx.emit(doc, Locator::Index(index));
            index += 1;
        }
        Ok(())
    };
    let mut damage = Vec::new();
    crate::json_documents::Cutter::new(first_line)
        .run(reader, &mut parse, &mut |at, why| damage.push((at, why)));
    for (at, why) in problems.into_iter().chain(damage) {
        ctx.problem(at, why);
    }
}
