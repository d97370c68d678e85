//! EVTX files, through the `evtx` crate.
//!
//! Records are decoded (from their BinXML, [`crate::evtx_binxml`], else
//! through the crate's JSON rendering) and normalised inside the crate's
//! chunk pipeline, so both steps run on the worker threads. A corrupt chunk or
//! record is reported (file, chunk and byte offset, reason) and skipped;
//! every readable record is kept.
//!
//! Damage the crate would pass over in silence is found here:
//! - a file cut inside its last chunk: the crate only reads whole 64 KiB
//!   chunks, so the partial chunk is copied into a full-sized buffer, its
//!   complete records (header magic, size, and the trailing size copy all
//!   inside the bytes present) kept and the rest zeroed, and the cut
//!   reported;
//! - chunks that hold fewer (or more) records than their header says, or
//!   are blank where a chunk should be: each chunk header is read once (512
//!   bytes, no extra pass over the records) and compared with what the
//!   crate yielded from it;
//! - records the crate renders but whose JSON is damaged (a flipped byte in
//!   a shared template): kept with whatever fields can be mapped, and each
//!   one reported.

use crate::projected::RecordProjection;
use crate::{Problem, ReadSummary, Sink, evtx_binxml};
use evtx::err::EvtxError;
use evtx::{EvtxParser, ParserSettings};
use quarry_ecs::evtx_json;
use quarry_ecs::windows::{self, WinRecord};
use quarry_event::{Event, Locator, Origin};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

/// How a file's events meet `keep`: one at a time as they are read while
/// `keep` is cheap (a search's filter, a question's), else in batches on
/// all cores (a hunt's rules), which a large file's reader would otherwise
/// judge alone while the other cores only decode. The first events, judged
/// one by one and timed, tell which: batching costs a cheap `keep` more
/// than it saves (events leave the cache before they are judged).
#[derive(Default)]
struct Judging {
    pending: Vec<Event>,
    probed: u32,
    spent: std::time::Duration,
    batched: bool,
}

/// Events judged one by one and timed before deciding.
const PROBE: u32 = 256;
/// A `keep` costing more than this an event is run in batches.
const EXPENSIVE: std::time::Duration = std::time::Duration::from_micros(5);
/// Events of one file judged together on all cores (see [`Sink::push_all`]).
const KEEP_BATCH: usize = 1024;

impl Judging {
    fn push<T: Send>(&mut self, ev: Event, sink: &mut Sink<'_, T>) {
        if self.batched {
            self.pending.push(ev);
            if self.pending.len() >= KEEP_BATCH {
                let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(KEEP_BATCH));
                sink.push_all(batch);
            }
            return;
        }
        if self.probed >= PROBE {
            return sink.push(ev);
        }
        let start = std::time::Instant::now();
        sink.push(ev);
        self.timed(start.elapsed());
    }

    /// Counts one probed event's time; the last probe decides.
    fn timed(&mut self, spent: std::time::Duration) {
        self.spent += spent;
        self.probed += 1;
        self.batched = self.probed == PROBE && self.spent > EXPENSIVE * PROBE;
    }

    fn finish<T: Send>(&mut self, sink: &mut Sink<'_, T>) {
        if !self.pending.is_empty() {
            sink.push_all(std::mem::take(&mut self.pending));
        }
    }
}

/// The file header block; chunks start after it.
const FILE_HEADER: u64 = 4096;
/// Every chunk is this long.
const CHUNK: u64 = 65536;
/// The chunk header, before the first record.
const CHUNK_HEADER: usize = 512;
const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";
const RECORD_MAGIC: &[u8; 4] = b"\x2a\x2a\x00\x00";
/// Record header (magic, size, id, FILETIME) plus the trailing size copy.
const RECORD_MIN: usize = 24 + 4;

pub(crate) fn read_evtx_path<T: Send>(
    path: &Path,
    name: &str,
    many: bool,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    let opened = File::open(path).and_then(|mut f| {
        let len = f.seek(SeekFrom::End(0))?;
        let chunks = chunk_headers(&mut f, len)?;
        let tail = match partial_tail(len) {
            Some(start) => {
                let mut tail = Vec::new();
                f.seek(SeekFrom::Start(start))?;
                f.by_ref().take(CHUNK).read_to_end(&mut tail)?;
                Some((start, tail))
            }
            None => None,
        };
        Ok((f, len, chunks, tail))
    });
    match opened {
        Ok((f, len, chunks, tail)) => {
            let (reader, cut) = Patched::new(f, len, tail);
            read_patched(reader, cut, chunks, name, many, s, sink);
        }
        Err(e) => s.unreadable(name, format!("not a readable EVTX file: {e}")),
    }
}

pub(crate) fn read_evtx_buffer<T: Send>(
    buf: Vec<u8>,
    name: &str,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    let len = buf.len() as u64;
    let mut cursor = io::Cursor::new(buf);
    let chunks = match chunk_headers(&mut cursor, len) {
        Ok(c) => c,
        Err(e) => {
            s.unreadable(name, format!("not a readable EVTX file: {e}"));
            return;
        }
    };
    let mut buf = cursor.into_inner();
    let tail = partial_tail(len).map(|start| {
        let tail = buf.split_off(start as usize);
        (start, tail)
    });
    let (reader, cut) = Patched::new(io::Cursor::new(buf), len, tail);
    read_patched(reader, cut, chunks, name, true, s, sink);
}

/// Where the partial last chunk starts, if the file does not end on a
/// chunk boundary.
fn partial_tail(len: u64) -> Option<u64> {
    if len <= FILE_HEADER || (len - FILE_HEADER).is_multiple_of(CHUNK) {
        return None;
    }
    Some(len - (len - FILE_HEADER) % CHUNK)
}

/// What one chunk header says, read before the records.
#[derive(Debug)]
struct ChunkInfo {
    number: u64,
    offset: u64,
    /// First and last record id and header CRC; `None` without chunk magic.
    header: Option<(u64, u64, u32)>,
    /// No magic, and every byte of the chunk is zero.
    blank: bool,
}

/// The headers of the whole chunks (512 bytes each: no pass over the
/// records), for the accounting after the read.
fn chunk_headers<R: Read + Seek>(r: &mut R, len: u64) -> io::Result<Vec<ChunkInfo>> {
    let whole = len.saturating_sub(FILE_HEADER) / CHUNK;
    let mut out = Vec::new();
    let mut head = [0u8; CHUNK_HEADER];
    for number in 0..whole {
        let offset = FILE_HEADER + number * CHUNK;
        r.seek(SeekFrom::Start(offset))?;
        r.read_exact(&mut head)?;
        let header = head.starts_with(CHUNK_MAGIC).then(|| {
            (
                le64(&head, 24).unwrap_or(0),
                le64(&head, 32).unwrap_or(0),
                le32(&head, 124).unwrap_or(0),
            )
        });
        // Only a chunk without magic is read whole, to tell blank from
        // damaged: that is rare, and the read stays one pass otherwise.
        let blank = header.is_none() && head.iter().all(|b| *b == 0) && {
            let mut rest = vec![0u8; CHUNK as usize - CHUNK_HEADER];
            r.read_exact(&mut rest)?;
            rest.iter().all(|b| *b == 0)
        };
        out.push(ChunkInfo {
            number,
            offset,
            header,
            blank,
        });
    }
    Ok(out)
}

pub(crate) fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// The cut of a truncated file, once its partial chunk is patched.
struct Cut {
    /// The file's real length.
    len: u64,
    chunk: u64,
    chunk_offset: u64,
    /// Complete records found in the partial chunk.
    complete: usize,
    /// Why nothing (more) could be recovered, when it is not simply the cut.
    note: Option<&'static str>,
}

/// A reader that shows the file up to its last whole chunk, then the
/// patched partial chunk (if any) from memory, so the crate reads it like
/// any other chunk.
struct Patched<R> {
    inner: R,
    /// Where the patched chunk starts (the end of the file when intact).
    start: u64,
    tail: Vec<u8>,
    pos: u64,
}

impl<R> Patched<R> {
    fn new(inner: R, len: u64, tail: Option<(u64, Vec<u8>)>) -> (Self, Option<Cut>) {
        let Some((start, partial)) = tail else {
            return (
                Patched {
                    inner,
                    start: len,
                    tail: Vec::new(),
                    pos: 0,
                },
                None,
            );
        };
        let (tail, complete, note) = patch_partial_chunk(&partial);
        let cut = Cut {
            len,
            chunk: (start - FILE_HEADER) / CHUNK,
            chunk_offset: start,
            complete,
            note,
        };
        let reader = Patched {
            inner,
            start,
            tail,
            pos: 0,
        };
        (reader, Some(cut))
    }

    fn len(&self) -> u64 {
        self.start + self.tail.len() as u64
    }
}

impl<R: Read + Seek> Read for Patched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.start {
            let room = (self.start - self.pos).min(buf.len() as u64) as usize;
            self.inner.seek(SeekFrom::Start(self.pos))?;
            let n = self.inner.read(&mut buf[..room])?;
            self.pos += n as u64;
            return Ok(n);
        }
        let at = (self.pos - self.start) as usize;
        let rest = self.tail.get(at..).unwrap_or(&[]);
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for Patched<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let pos = pos.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad seek"))?;
        self.pos = pos;
        Ok(pos)
    }
}

/// A full-sized copy of a partial chunk holding only its complete
/// records: each record's magic, size and trailing size copy must lie in
/// the bytes present; the first one that does not ends the walk. Past it
/// everything is zeroed and the header's free space offset points there,
/// so the crate stops where the bytes stop. String and template offsets
/// past the cut are cleared: they would name bytes that are gone.
/// Returns an empty buffer when not even the chunk header is present.
fn patch_partial_chunk(partial: &[u8]) -> (Vec<u8>, usize, Option<&'static str>) {
    if partial.len() < CHUNK_HEADER {
        return (Vec::new(), 0, Some("the chunk header is cut"));
    }
    if !partial.starts_with(CHUNK_MAGIC) {
        return (Vec::new(), 0, Some("the chunk has no chunk header magic"));
    }
    let mut off = CHUNK_HEADER;
    let mut complete = 0;
    while partial.get(off..off + 4) == Some(RECORD_MAGIC) {
        let Some(size) = le32(partial, off + 4).map(|s| s as usize) else {
            break;
        };
        let Some(end) = off.checked_add(size) else {
            break;
        };
        if size < RECORD_MIN || end > partial.len() || le32(partial, end - 4) != Some(size as u32) {
            break;
        }
        complete += 1;
        off = end;
    }
    let mut chunk = vec![0u8; CHUNK as usize];
    chunk[..off].copy_from_slice(&partial[..off]);
    let free = le32(&chunk, 48).unwrap_or(0).min(off as u32);
    chunk[48..52].copy_from_slice(&free.to_le_bytes());
    for slot in (128..CHUNK_HEADER).step_by(4) {
        if le32(&chunk, slot).is_some_and(|o| o as usize >= off) {
            chunk[slot..slot + 4].copy_from_slice(&[0; 4]);
        }
    }
    (chunk, complete, None)
}

/// One record as yielded by the pipeline: the chunk it came from (by its
/// header), and the event or why it could not be made.
type Keyed = ((u64, u64, u32), u64, Made);

/// A record's event, what damage it was read with, and whether the
/// projection's test took it (an event not taken carries only the tested
/// fields, for the summary's counts).
struct Made {
    event: Event,
    damage: Option<String>,
    wanted: bool,
}

fn read_patched<R: Read + Seek + Send + 'static, T: Send>(
    reader: Patched<R>,
    cut: Option<Cut>,
    chunks: Vec<ChunkInfo>,
    name: &str,
    many: bool,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    let parser = match EvtxParser::from_read_seek(reader) {
        Ok(p) => p,
        Err(e) => {
            s.unreadable(name, format!("not a readable EVTX file: {}", causes(&e)));
            return;
        }
    };
    // A file cut exactly on a chunk boundary leaves no partial chunk: only
    // the file header's chunk count tells that chunks are missing.
    let said = u64::from(parser.header().chunk_count);
    let whole = chunks.len() as u64;
    if cut.is_none() && said > whole {
        let end = FILE_HEADER + whole * CHUNK;
        s.problems.push(Problem {
            file: name.to_string(),
            location: format!("offset {end}"),
            message: format!(
                "file truncated at offset {end}: its header says {said} chunks, it holds {whole}"
            ),
        });
    }
    // One file among many: the files are already spread over the cores.
    let threads = if many { 1 } else { 0 };
    let settings = ParserSettings::new()
        .num_threads(threads)
        .separate_json_attributes(false);
    let mut parser = parser.with_configuration(settings);
    let file: Arc<str> = name.into();
    let f2 = file.clone();
    // A file named ForwardedEvents.evtx is the WEF collector's log, whose
    // records keep their own channel names.
    let forwarded = windows::is_forwarded_events_file(name);
    let wanted = sink.projection.map(crate::projected::Projection::records);
    let records = parser.serialized_records(move |r| -> evtx::err::Result<Keyed> {
        let r = r?;
        let h = r.chunk.header;
        let key = (
            h.first_event_record_id,
            h.last_event_record_id,
            h.header_chunk_checksum,
        );
        let (rid, ts) = (r.event_record_id, r.timestamp);
        // straight from the BinXML when the record's shape allows, else
        // through the crate's JSON
        if let Some(rec) = evtx_binxml::decode(&r) {
            return Ok((
                key,
                rid,
                built(rec, &f2, rid, forwarded, wanted.as_ref(), None),
            ));
        }
        let r = r.into_json_bytes()?;
        let (rec, damage) = to_record(&r.data, rid, ts);
        Ok((
            key,
            rid,
            built(rec, &f2, rid, forwarded, wanted.as_ref(), damage),
        ))
    });
    let mut judging = Judging::default();
    let mut read: HashMap<(u64, u64, u32), u64> = HashMap::new();
    // chunks the crate reported as unreadable
    let mut failed: HashSet<u64> = HashSet::new();
    let problem = |location: String, message: String| Problem {
        file: file.to_string(),
        location,
        message,
    };
    for r in records {
        match r {
            Ok((key, rid, made)) => {
                *read.entry(key).or_default() += 1;
                if let Some(d) = made.damage {
                    s.problems.push(problem(format!("record {rid}"), d));
                }
                let ev = made.event;
                s.count("evtx", ev.get_str(quarry_ecs::UNMAPPED_TYPE));
                if let Some(shapes) = ev.get(quarry_ecs::BAD_SHAPE) {
                    s.count_bad_shapes(shapes.iter().filter_map(|v| v.as_str()));
                }
                if made.wanted {
                    judging.push(ev, sink);
                }
            }
            Err(e) => {
                if let EvtxError::FailedToParseChunk { chunk_id, .. } = &e {
                    failed.insert(*chunk_id);
                }
                let (location, message) = locate(&e);
                s.problems.push(problem(location, message));
            }
        }
    }
    judging.finish(sink);
    account(
        &chunks,
        &read,
        &failed,
        said,
        cut.as_ref().map(|c| c.chunk),
        &mut |l, m| s.problems.push(problem(l, m)),
    );
    if let Some(c) = cut {
        let mut m = format!(
            "file truncated at offset {} inside chunk {} (chunk at offset {}): {} records recovered",
            c.len, c.chunk, c.chunk_offset, c.complete
        );
        if let Some(note) = c.note {
            m.push_str(&format!(" ({note})"));
        }
        s.problems.push(problem(format!("offset {}", c.len), m));
    }
}

/// Compares each whole chunk's header with the records read from it.
fn account(
    chunks: &[ChunkInfo],
    read: &HashMap<(u64, u64, u32), u64>,
    failed: &HashSet<u64>,
    in_use: u64,
    patched: Option<u64>,
    report: &mut dyn FnMut(String, String),
) {
    // Blank chunks after the last used one (and past the count of chunks
    // in use the file header gives) are room the log had not yet written;
    // blank ones before are lost chunks.
    let last_used = chunks
        .iter()
        .rposition(|c| !c.blank)
        .map(|u| chunks[u].number)
        .max(in_use.checked_sub(1));
    for c in chunks {
        if Some(c.number) == patched {
            continue;
        }
        let loc = format!("chunk {} at offset {}", c.number, c.offset);
        let Some((first, last, crc)) = c.header else {
            if c.blank && last_used.is_some_and(|u| c.number <= u) {
                report(
                    loc.clone(),
                    "the chunk is all zeros, whatever it held is lost".to_string(),
                );
            }
            // Damaged magic: the crate reports some such chunks and passes
            // over others (a chunk count taken from a damaged header) in
            // silence.
            if !c.blank && !failed.contains(&c.number) {
                report(
                    loc.clone(),
                    "the chunk has no chunk header magic: its records are lost".to_string(),
                );
            }
            continue;
        };
        let got = read.get(&(first, last, crc)).copied().unwrap_or(0);
        let said = if first <= last {
            (last - first).checked_add(1)
        } else {
            None
        };
        if said != Some(got) {
            report(
                loc.clone(),
                format!("header says records {first}–{last}, read {got}"),
            );
        }
    }
}

/// Location and message for an error of the crate: chunk errors name the
/// chunk's byte offset, record errors the record's, and every cause in
/// the chain is kept (the crate's top message alone says only "Failed to
/// parse chunk number 9").
fn locate(e: &EvtxError) -> (String, String) {
    let location = match e {
        EvtxError::FailedToParseChunk { chunk_id, .. } => {
            let off = chunk_id.saturating_mul(CHUNK).saturating_add(FILE_HEADER);
            format!("chunk {chunk_id} at offset {off}")
        }
        EvtxError::FailedToReadRecordAt {
            chunk: Some(chunk),
            offset,
            ..
        } => {
            let off = chunk
                .saturating_mul(CHUNK)
                .saturating_add(FILE_HEADER)
                .saturating_add(*offset);
            format!("chunk {chunk}, offset {off}")
        }
        EvtxError::FailedToParseRecord { record_id, .. } => format!("record {record_id}"),
        _ => String::new(),
    };
    (location, causes(e))
}

/// The error and its causes, on one line.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![one_line(&e.to_string())];
    let mut next = e.source();
    while let Some(c) = next {
        let line = one_line(&c.to_string());
        if parts.last() != Some(&line) {
            parts.push(line);
        }
        next = c.source();
    }
    parts.join(": ")
}

/// Reads one rendered record. A record whose JSON is damaged is kept
/// with what can be mapped (at least its id and time from the record
/// header), and the damage returned for the report.
fn to_record(bytes: &[u8], rid: u64, ts: evtx::Timestamp) -> (WinRecord, Option<String>) {
    match evtx_json::parse(bytes) {
        Ok(rec) => (rec, None),
        Err(e) => (
            salvage(bytes, rid, ts),
            Some(format!(
                "damaged record kept with the fields that could be read: {e}"
            )),
        ),
    }
}

/// The ECS event of a record read from `file`. With a projection, the
/// fields its test reads are built first, and the event kept only when
/// the test takes it: a search for one process name does not build the
/// forty fields of every record it passes over.
fn built(
    mut rec: WinRecord,
    file: &Arc<str>,
    rid: u64,
    forwarded: bool,
    projection: Option<&RecordProjection>,
    damage: Option<String>,
) -> Made {
    rec.forwarded |= forwarded;
    let origin = Origin {
        file: file.clone(),
        locator: Locator::Record(rec.record_id.unwrap_or(rid)),
    };
    let Some(p) = projection else {
        let event = windows::normalize(&rec, origin);
        return Made {
            event,
            damage,
            wanted: true,
        };
    };
    let build = |demand: Option<&Arc<_>>, origin| match demand {
        Some(d) => windows::normalize_for(&rec, origin, d),
        None => windows::normalize(&rec, origin),
    };
    let tested = build(p.tested.as_ref(), origin.clone());
    let wanted = (p.wanted)(&tested);
    let event = match (&p.tested, &p.kept) {
        _ if !wanted => tested,
        (None, _) => tested,
        (Some(t), Some(k)) if Arc::ptr_eq(t, k) => tested,
        (Some(_), kept) => build(kept.as_ref(), origin),
    };
    Made {
        event,
        damage,
        wanted,
    }
}

/// What can be read of a record whose rendering the fast path rejects:
/// the JSON with its damaged strings repaired, parsed without requiring
/// an event ID, else just what the record header says (id, time).
fn salvage(bytes: &[u8], rid: u64, ts: evtx::Timestamp) -> WinRecord {
    let repaired = repair_json(bytes);
    let mut rec = evtx_json::parse_lenient(&repaired).unwrap_or_default();
    rec.record_id.get_or_insert(rid);
    if rec.time_created.is_none() {
        rec.time_created = i64::try_from(ts.as_nanosecond()).ok();
    }
    rec
}

/// Makes damaged JSON text parse: raw control characters become spaces
/// and a backslash that starts no valid escape is escaped itself.
fn repair_json(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 16);
    let mut in_string = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if !in_string {
            if b == b'"' {
                in_string = true;
            }
            out.push(if b < 0x20 { b' ' } else { b });
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = false;
                out.push(b);
            }
            b'\\' => {
                let next = bytes.get(i + 1).copied();
                let ok = match next {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => true,
                    Some(b'u') => bytes
                        .get(i + 2..i + 6)
                        .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
                    _ => false,
                };
                if ok {
                    out.extend_from_slice(&bytes[i..i + 2]);
                    i += 2;
                    continue;
                }
                out.extend_from_slice(b"\\\\");
            }
            c if c < 0x20 => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_json_is_repaired() {
        let bad = b"{\"a\":\"x\x01y\\qz\\u12\",\"b\":\"\\n\\u0041\"}";
        let fixed = repair_json(bad);
        let v: serde_json::Value = serde_json::from_slice(&fixed).expect("repaired");
        assert_eq!(v["a"], "x y\\qz\\u12");
        assert_eq!(v["b"], "\nA");
    }

    #[test]
    fn a_record_without_event_id_or_event_is_kept() {
        let ts = evtx::Timestamp::UNIX_EPOCH;
        let no_id = br#"{"Event":{"System":{"Channel":"Security","Computer":"h","EventID":"x"}}}"#;
        let rec = salvage(no_id, 7, ts);
        assert_eq!((rec.event_id, rec.channel.as_str()), (0, "Security"));
        assert_eq!((rec.record_id, rec.time_created), (Some(7), Some(0)));
        let no_event = br#"{"Evnt":{}}"#;
        let rec = salvage(no_event, 8, ts);
        assert_eq!(rec.record_id, Some(8));
        let file: Arc<str> = "f.evtx".into();
        let (rec, damage) = to_record(no_event, 8, ts);
        let made = built(rec, &file, 8, false, None, damage);
        assert_eq!(made.event.origin.locator, Locator::Record(8));
        assert!(
            made.damage
                .is_some_and(|d| d.contains("missing field `Event`"))
        );
    }

    #[test]
    fn a_partial_chunk_keeps_only_complete_records() {
        let mut c = vec![0u8; 512];
        c[..8].copy_from_slice(CHUNK_MAGIC);
        c[48..52].copy_from_slice(&60000u32.to_le_bytes());
        // a string offset past the cut is cleared
        c[128..132].copy_from_slice(&5000u32.to_le_bytes());
        for size in [40u32, 40] {
            let mut r = vec![0u8; size as usize];
            r[..4].copy_from_slice(RECORD_MAGIC);
            r[4..8].copy_from_slice(&size.to_le_bytes());
            r[size as usize - 4..].copy_from_slice(&size.to_le_bytes());
            c.extend_from_slice(&r);
        }
        let (full, n, note) = patch_partial_chunk(&c[..c.len() - 1]);
        assert_eq!((full.len(), n, note), (CHUNK as usize, 1, None));
        assert_eq!(le32(&full, 48), Some(552));
        assert_eq!(le32(&full, 128), Some(0));
        assert!(full[552..].iter().all(|b| *b == 0));
        assert_eq!(patch_partial_chunk(&c[..100]).1, 0);
    }

    /// The probe batches a costly `keep` and not a cheap one (times given,
    /// not measured: a loaded machine must not flip the test), and either
    /// way events are kept in the file's order.
    #[test]
    fn a_costly_keep_is_batched_a_cheap_one_is_not() {
        let probe = |each: u64| {
            let mut j = Judging::default();
            for _ in 0..PROBE {
                j.timed(std::time::Duration::from_micros(each));
            }
            j.batched
        };
        assert!(!probe(1));
        assert!(probe(20));
        for batched in [false, true] {
            let keep = |ev: Event| ev.get("n")?.as_i64();
            let mut sink = Sink {
                keep: &keep,
                out: Vec::new(),
                projection: None,
                flush: None,
            };
            let mut judging = Judging {
                batched,
                ..Judging::default()
            };
            let n = 2500;
            for i in 0..n {
                let mut ev = Event::default();
                ev.set("n", i);
                judging.push(ev, &mut sink);
            }
            judging.finish(&mut sink);
            assert_eq!(sink.out, (0..n).collect::<Vec<_>>());
        }
    }
}
