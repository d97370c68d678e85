//! Slimmed events packed into bytes, for the investigation's pool.
//!
//! `quarry hunt` keeps every process, file, registry, network and
//! authentication event of the evidence until it knows which hosts alerted.
//! As [`Event`]s (a value slot per field, ~1.4 KB each) that pool was most of
//! the run's memory; packed — field ids as varints, values tagged, strings
//! as bytes — an event takes ~300 bytes, and only the hosts an alert needs
//! are unpacked, one at a time. Written by hand: the format is private,
//! short-lived and made of quarry's own types, where a serde format would
//! add field names or a schema for nothing.

use quarry_eql::compile::ANY_TEXT;
use quarry_event::{Event, FieldId, Locator, Origin, PathMemo, Value, is_under};
use std::net::IpAddr;
use std::sync::Arc;

/// One packed event: its file (shared between the events of a file) and
/// its bytes.
#[derive(Debug, Clone)]
pub struct Packed {
    file: Arc<str>,
    bytes: Box<[u8]>,
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(0),
        Value::Bool(b) => out.extend([1, *b as u8]),
        Value::Int(i) => {
            out.push(2);
            out.extend(i.to_le_bytes());
        }
        Value::Float(f) => {
            out.push(3);
            out.extend(f.to_le_bytes());
        }
        Value::Str(s) => {
            out.push(4);
            varint(out, s.len() as u64);
            out.extend(s.as_bytes());
        }
        Value::Timestamp(t) => {
            out.push(5);
            out.extend(t.to_le_bytes());
        }
        Value::Ip(IpAddr::V4(ip)) => {
            out.push(6);
            out.extend(ip.octets());
        }
        Value::Ip(IpAddr::V6(ip)) => {
            out.push(7);
            out.extend(ip.octets());
        }
        Value::Array(vs) => {
            out.push(8);
            varint(out, vs.len() as u64);
            for x in vs {
                value(out, x);
            }
        }
    }
}

/// Packs an event: its fields, time and position (not the document it
/// echoes: see [`pack_echoing`]).
pub fn pack(ev: &Event) -> Packed {
    packed(ev, false)
}

/// [`pack`], with the document the event echoes (what a search prints):
/// its [`Event::raw_source`], or its [`Event::source`] as text, a fraction
/// of the tree's size, parsed again when unpacked.
pub fn pack_echoing(ev: &Event) -> Packed {
    packed(ev, true)
}

fn packed(ev: &Event, echo: bool) -> Packed {
    let mut out = Vec::with_capacity(256);
    let (tag, n) = match ev.origin.locator {
        Locator::Unknown => (0u8, 0),
        Locator::Record(n) => (1, n),
        Locator::Line(n) => (2, n),
        Locator::Index(n) => (3, n),
    };
    out.push(tag);
    varint(&mut out, n);
    match ev.timestamp {
        Some(t) => {
            out.push(1);
            out.extend(t.to_le_bytes());
        }
        None => out.push(0),
    }
    // the echoed document: 1 its text as read, 2 its tree as text, 0 none
    let echoed: Option<(u8, std::borrow::Cow<'_, str>)> = match (&ev.raw_source, &ev.source) {
        _ if !echo => None,
        (Some(raw), _) => Some((1, raw.as_ref().into())),
        (None, Some(tree)) => serde_json::to_string(tree).ok().map(|t| (2, t.into())),
        (None, None) => None,
    };
    match echoed {
        Some((kind, text)) => {
            out.push(kind);
            varint(&mut out, text.len() as u64);
            out.extend(text.as_bytes());
        }
        None => out.push(0),
    }
    varint(&mut out, ev.len() as u64);
    for (id, v) in ev.fields_by_id() {
        varint(&mut out, id.index() as u64);
        value(&mut out, v);
    }
    Packed {
        file: ev.origin.file.clone(),
        bytes: out.into_boxed_slice(),
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let x = *self.b.get(self.at)?;
        self.at += 1;
        Some(x)
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    fn value(&mut self, depth: u8) -> Option<Value> {
        Some(match self.byte()? {
            0 => Value::Null,
            1 => Value::Bool(self.byte()? != 0),
            2 => Value::Int(i64::from_le_bytes(self.array()?)),
            3 => Value::Float(f64::from_le_bytes(self.array()?)),
            4 => {
                let n = usize::try_from(self.varint()?).ok()?;
                Value::from(std::str::from_utf8(self.take(n)?).ok()?)
            }
            5 => Value::Timestamp(i64::from_le_bytes(self.array()?)),
            6 => Value::Ip(IpAddr::from(self.array::<4>()?)),
            7 => Value::Ip(IpAddr::from(self.array::<16>()?)),
            8 if depth < 4 => {
                let n = usize::try_from(self.varint()?).ok()?;
                let mut vs = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    vs.push(self.value(depth + 1)?);
                }
                Value::Array(vs)
            }
            _ => return None,
        })
    }
}

impl Packed {
    /// The file (or `archive.zip!member`) the event was read from.
    pub fn file(&self) -> &Arc<str> {
        &self.file
    }

    /// The event back, as it was packed (`None` only if the bytes were not
    /// written by [`pack`]).
    pub fn unpack(&self) -> Option<Event> {
        unpack(&self.file, &self.bytes)
    }

    /// Bytes held (for accounting).
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// The packed event as one byte string, its file's name included, for
    /// a store of the caller's (a scratch file).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.file.len() + self.bytes.len() + 4);
        varint(&mut out, self.file.len() as u64);
        out.extend(self.file.as_bytes());
        out.extend(&self.bytes[..]);
        out
    }

    /// What [`Packed::to_bytes`] wrote; `None` for other bytes.
    pub fn from_bytes(b: &[u8]) -> Option<Packed> {
        let mut r = Reader { b, at: 0 };
        let n = usize::try_from(r.varint()?).ok()?;
        let file = std::str::from_utf8(r.take(n)?).ok()?.into();
        Some(Packed {
            file,
            bytes: b.get(r.at..)?.into(),
        })
    }
}

/// An event from the bytes [`pack`] wrote.
fn unpack(file: &Arc<str>, bytes: &[u8]) -> Option<Event> {
    let mut r = Reader { b: bytes, at: 0 };
    let tag = r.byte()?;
    let n = r.varint()?;
    let locator = match tag {
        0 => Locator::Unknown,
        1 => Locator::Record(n),
        2 => Locator::Line(n),
        3 => Locator::Index(n),
        _ => return None,
    };
    let timestamp = match r.byte()? {
        0 => None,
        _ => Some(i64::from_le_bytes(r.array()?)),
    };
    let (mut raw_source, mut source) = (None, None);
    match r.byte()? {
        0 => {}
        kind => {
            let n = usize::try_from(r.varint()?).ok()?;
            let text = std::str::from_utf8(r.take(n)?).ok()?;
            if kind == 1 {
                raw_source = Some(Arc::<str>::from(text));
            } else {
                source = Some(Arc::new(serde_json::from_str(text).ok()?));
            }
        }
    }
    let count = usize::try_from(r.varint()?).ok()?;
    // a field takes at least two bytes: bytes not from `pack` must not
    // size the event
    let room = count.min((r.b.len() - r.at) / 2);
    let mut ev = Event::with_capacity(
        Origin {
            file: file.clone(),
            locator,
        },
        room,
    );
    for _ in 0..count {
        let id = FieldId::from_index(usize::try_from(r.varint()?).ok()?)?;
        let v = r.value(0)?;
        ev.insert_id(id, v);
    }
    ev.timestamp = timestamp;
    ev.raw_source = raw_source;
    ev.source = source;
    Some(ev)
}

/// Uncompressed bytes gathered before a block of [`PackedEvents`] is
/// compressed: large enough for zstd to find a host's repeated paths,
/// command lines and ids across events, small enough to be a passing cost
/// to unpack.
const BLOCK: usize = 256 * 1024;

/// Packed events, in order, compressed in blocks of [`BLOCK`] bytes (zstd's
/// fastest level). A host's events repeat its executables, command lines,
/// users and ids, which no single event's packing can share: compressed
/// together they take ~1/6 of their packed size, and the pool of a busy
/// host is held this way until an alert on it needs its events.
#[derive(Debug, Default)]
pub struct PackedEvents {
    blocks: Vec<Block>,
    /// The block being filled: per event, its file's index in `files`, its
    /// length and its bytes.
    open: Vec<u8>,
    /// The files the open block's events were read from.
    files: Vec<Arc<str>>,
    len: usize,
}

#[derive(Debug)]
struct Block {
    /// The files its events were read from (an event names one by index):
    /// its own, so that blocks move between sets as they are.
    files: Box<[Arc<str>]>,
    raw_len: usize,
    /// Compressed, or (when zstd failed) the bytes themselves.
    bytes: Box<[u8]>,
    compressed: bool,
}

impl Block {
    fn of(raw: &[u8], files: Box<[Arc<str>]>) -> Self {
        let (bytes, compressed) = match crate::zst::compress(raw, 1, None) {
            Some(c) => (c.into_boxed_slice(), true),
            None => (raw.into(), false),
        };
        Block {
            files,
            raw_len: raw.len(),
            bytes,
            compressed,
        }
    }

    fn raw(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        if self.compressed {
            crate::zst::decompress(&self.bytes, self.raw_len, None).map(std::borrow::Cow::Owned)
        } else {
            Some(std::borrow::Cow::Borrowed(&self.bytes))
        }
    }
}

impl PackedEvents {
    /// Appends an event.
    pub fn push(&mut self, p: &Packed) {
        // events of a file come together: the last file is the usual one
        let file = match self.files.iter().rposition(|f| Arc::ptr_eq(f, &p.file)) {
            Some(i) => i,
            None => {
                self.files.push(p.file.clone());
                self.files.len() - 1
            }
        };
        varint(&mut self.open, file as u64);
        varint(&mut self.open, p.bytes.len() as u64);
        self.open.extend_from_slice(&p.bytes);
        self.len += 1;
        if self.open.len() >= BLOCK {
            self.seal();
        }
    }

    /// Compresses what the open block holds.
    fn seal(&mut self) {
        if !self.open.is_empty() {
            let files = std::mem::take(&mut self.files).into_boxed_slice();
            self.blocks.push(Block::of(&self.open, files));
            self.open.clear();
        }
    }

    /// Done appending: the last block compressed, spare room freed.
    pub fn finish(&mut self) {
        self.seal();
        self.open = Vec::new();
        self.blocks.shrink_to_fit();
    }

    /// Appends `other`'s events after this set's, its blocks moved as they
    /// are.
    pub fn append(&mut self, mut other: PackedEvents) {
        self.seal();
        other.seal();
        self.blocks.append(&mut other.blocks);
        self.len += other.len;
    }

    /// Events held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The files the events were read from, sorted.
    pub fn files(&self) -> Vec<Arc<str>> {
        let mut files: Vec<Arc<str>> = self
            .blocks
            .iter()
            .flat_map(|b| b.files.iter())
            .chain(&self.files)
            .cloned()
            .collect();
        files.sort_unstable();
        files.dedup();
        files
    }

    /// Calls `f` with each event unpacked, in the order pushed (an event
    /// whose bytes do not unpack is skipped: only [`pack`] writes them).
    pub fn for_each(&self, mut f: impl FnMut(Event)) {
        for ev in self.iter().flatten() {
            f(ev);
        }
    }

    /// The events in the order pushed, one block decompressed at a time:
    /// each `None` when its bytes do not unpack (only [`pack`] writes
    /// them), so that positions are kept.
    pub fn iter(&self) -> Unpacking<'_> {
        Unpacking {
            set: self,
            next_block: 0,
            raw: std::borrow::Cow::Borrowed(&[]),
            files: &[],
            at: 0,
            open_read: false,
        }
    }

    /// Every event unpacked, in the order pushed.
    pub fn unpack_all(&self) -> Vec<Event> {
        let mut out = Vec::with_capacity(self.len);
        self.for_each(|e| out.push(e));
        out
    }
}

/// [`PackedEvents::iter`].
pub struct Unpacking<'a> {
    set: &'a PackedEvents,
    next_block: usize,
    /// The block being read, decompressed, and its files.
    raw: std::borrow::Cow<'a, [u8]>,
    files: &'a [Arc<str>],
    at: usize,
    open_read: bool,
}

impl Iterator for Unpacking<'_> {
    type Item = Option<Event>;

    fn next(&mut self) -> Option<Option<Event>> {
        loop {
            if self.at < self.raw.len() {
                let mut r = Reader {
                    b: &self.raw,
                    at: self.at,
                };
                let record = (|| {
                    let file = usize::try_from(r.varint()?).ok()?;
                    let n = usize::try_from(r.varint()?).ok()?;
                    let start = r.at;
                    r.take(n)?;
                    Some((file, start, r.at))
                })();
                let Some((file, start, end)) = record else {
                    // bytes this type wrote always parse: skip the rest
                    self.at = self.raw.len();
                    continue;
                };
                self.at = end;
                let ev = self
                    .files
                    .get(file)
                    .and_then(|f| unpack(f, &self.raw[start..end]));
                return Some(ev);
            }
            if let Some(b) = self.set.blocks.get(self.next_block) {
                self.next_block += 1;
                self.raw = b.raw().unwrap_or_default();
                self.files = &b.files;
            } else if !self.open_read {
                self.open_read = true;
                self.raw = std::borrow::Cow::Borrowed(&self.set.open);
                self.files = &self.set.files;
            } else {
                return None;
            }
            self.at = 0;
        }
    }
}

/// What of an event a query is run over in its place: the fields the query
/// reads (remembered per field id), without the document the event echoes.
/// A sequence is found over these few fields, and [`put_back_whole`] brings
/// back the whole events of its hits. A query that reads every string of an
/// event (Sigma's keywords, [`ANY_TEXT`]) keeps every field.
pub struct QueryFields {
    fields: Vec<String>,
    every: bool,
    memo: PathMemo,
}

impl QueryFields {
    pub fn of(query: &quarry_eql::Query) -> QueryFields {
        let fields = query.fields();
        QueryFields {
            every: fields.iter().any(|f| f == ANY_TEXT),
            fields,
            memo: PathMemo::new(),
        }
    }

    /// Whether the query reads every field: slimming keeps the whole event.
    pub fn reads_every_field(&self) -> bool {
        self.every
    }

    /// Slims `ev` to what the query reads, its spare room released.
    pub fn slim(&self, ev: &mut Event) {
        if !self.every {
            let (memo, fields) = (&self.memo, &self.fields);
            ev.retain_ids(|id| memo.holds(id, |path| is_under(path, fields)));
        }
        ev.raw_source = None;
        ev.source = None;
        ev.shrink_to_fit();
    }
}

/// Puts back the whole events of `hits`, found by a query run over slim
/// copies of `held`'s events ([`QueryFields::slim`]) whose
/// [`Locator::Index`] is their place in `held`: only the events of its hits
/// are unpacked whole (`held` is walked once, as far as the last of them).
pub fn put_back_whole(hits: &mut [quarry_eql::Hit], held: &PackedEvents) {
    let at = |e: &Event| match e.origin.locator {
        Locator::Index(i) => usize::try_from(i).ok(),
        _ => None,
    };
    let mut wanted: Vec<usize> = hits
        .iter()
        .flat_map(crate::hit_events)
        .filter_map(at)
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut whole: rustc_hash::FxHashMap<usize, Event> = Default::default();
    let through = wanted.last().map_or(0, |&last| last + 1);
    for (i, ev) in held.iter().enumerate().take(through) {
        if wanted.binary_search(&i).is_ok()
            && let Some(ev) = ev
        {
            whole.insert(i, ev);
        }
    }
    let mut put_back = |e: &mut Event| {
        if let Some(w) = at(e).and_then(|i| whole.get(&i)) {
            *e = w.clone();
        }
    };
    for h in hits {
        match h {
            quarry_eql::Hit::Event(e) => put_back(e),
            quarry_eql::Hit::Sequence { events, .. } => {
                events.iter_mut().flatten().for_each(&mut put_back)
            }
            quarry_eql::Hit::Sample { events, .. } => events.iter_mut().for_each(&mut put_back),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind_of_value() {
        let mut ev = Event::new(Origin {
            file: "a.evtx".into(),
            locator: Locator::Record(42),
        });
        ev.set_timestamp(1_638_652_750_604_000_000);
        ev.set(
            "process.executable",
            "C:\\Windows\\System32\\a-rather-long-path\\cmd.exe",
        );
        ev.set("process.name", "cmd.exe");
        ev.set("process.pid", 4242i64);
        ev.set("event.category", vec!["process", "network"]);
        ev.set("x.bool", true);
        ev.set("x.float", 1.5f64);
        ev.set("x.null", Value::Null);
        ev.set("destination.ip", "10.1.2.3".parse::<IpAddr>().unwrap());
        ev.set("source.ip", "fe80::1".parse::<IpAddr>().unwrap());
        ev.set("user.name", "ñandú — ü");
        let p = pack(&ev);
        let back = p.unpack().expect("unpacks");
        assert_eq!(back.timestamp, ev.timestamp);
        assert_eq!(back.origin, ev.origin);
        let mut a: Vec<_> = ev
            .fields()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let mut b: Vec<_> = back
            .fields()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        a.sort_by(|x, y| x.0.cmp(&y.0));
        b.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(a, b);
        assert!(p.size() < 200, "{}", p.size());
        assert_eq!((back.raw_source, back.source), (None, None));
        // the document it echoes, only when asked: as a tree, and as text
        let doc =
            serde_json::json!({"process": {"name": "cmd.exe", "pid": 7.5e300}, "x": [1, null]});
        ev.source = Some(Arc::new(doc.clone()));
        assert_eq!(pack(&ev).size(), p.size());
        let back = pack_echoing(&ev).unpack().expect("unpacks");
        assert_eq!(back.source.as_deref(), Some(&doc));
        assert_eq!(back.raw_source, None);
        ev.raw_source = Some(r#"{"process":{"name":"cmd.exe"}}"#.into());
        let back = pack_echoing(&ev).unpack().expect("unpacks");
        assert_eq!(back.raw_source, ev.raw_source);
        // as one byte string, its file included
        let bytes = pack_echoing(&ev).to_bytes();
        let again = Packed::from_bytes(&bytes).and_then(|p| p.unpack());
        assert_eq!(
            again.map(|e| (e.origin, e.raw_source)),
            Some((ev.origin.clone(), ev.raw_source.clone()))
        );
        assert!(Packed::from_bytes(&bytes[..3]).is_none_or(|p| p.unpack().is_none()));
        assert_eq!(pack(&ev).unpack().and_then(|e| e.raw_source), None);
    }

    fn scalar() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<f64>()
                .prop_filter("NaN never equals itself", |f| !f.is_nan())
                .prop_map(Value::Float),
            ".{0,80}".prop_map(|s: String| Value::from(s.as_str())),
            any::<i64>().prop_map(Value::Timestamp),
            any::<[u8; 4]>().prop_map(|b| Value::Ip(IpAddr::from(b))),
            any::<[u8; 16]>().prop_map(|b| Value::Ip(IpAddr::from(b))),
        ]
    }

    proptest::proptest! {
        /// Any event packs and unpacks to itself.
        #[test]
        fn packs_any_event(
            fields in proptest::collection::vec(("[a-z]{1,8}(\\.[a-z]{1,8}){0,3}", scalar(), proptest::bool::ANY), 0..30),
            ts in proptest::option::of(proptest::prelude::any::<i64>()),
            line in proptest::prelude::any::<u64>(),
        ) {
            let mut ev = Event::new(Origin { file: "f.jsonl".into(), locator: Locator::Line(line) });
            for (k, v, multi) in fields {
                let v = if multi { Value::Array(vec![v.clone(), v]) } else { v };
                ev.set(&format!("t.{k}"), v);
            }
            ev.timestamp = ts;
            let back = pack(&ev).unpack().expect("unpacks");
            let mut a: Vec<_> = ev.fields().map(|(k, v)| (k.to_string(), v.clone())).collect();
            let mut b: Vec<_> = back.fields().map(|(k, v)| (k.to_string(), v.clone())).collect();
            a.sort_by(|x, y| x.0.cmp(&y.0));
            b.sort_by(|x, y| x.0.cmp(&y.0));
            proptest::prop_assert_eq!(a, b);
            proptest::prop_assert_eq!(back.timestamp, ev.timestamp);
            proptest::prop_assert_eq!(back.origin, ev.origin);
        }

        /// Bytes that were never packed do not panic the unpacker.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = Packed { file: "x".into(), bytes: bytes.into() }.unpack();
        }
    }

    #[test]
    fn truncated_or_foreign_bytes_do_not_panic() {
        let mut ev = Event::new(Origin::default());
        ev.set("process.name", "cmd.exe");
        ev.set("event.category", vec!["process"]);
        let p = pack(&ev);
        for cut in 0..p.bytes.len() {
            let q = Packed {
                file: p.file.clone(),
                bytes: p.bytes[..cut].into(),
            };
            assert!(q.unpack().is_none(), "cut at {cut}");
        }
        let junk = Packed {
            file: "x".into(),
            bytes: vec![
                9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ]
            .into(),
        };
        assert!(junk.unpack().is_none());
    }

    #[test]
    fn packed_events_come_back_in_order_across_blocks_and_files() {
        let files: Vec<Arc<str>> = vec!["a.evtx".into(), "b.evtx".into()];
        let mut all = PackedEvents::default();
        let mut want = Vec::new();
        // enough events for several blocks, from two files taking turns
        for i in 0..20_000u64 {
            let mut ev = Event::new(Origin {
                file: files[(i / 1000 % 2) as usize].clone(),
                locator: Locator::Record(i),
            });
            ev.set_timestamp(1_638_652_750_604_000_000 + i as i64);
            ev.set(
                "process.command_line",
                format!("cmd.exe /c ping -n {i} 127.0.0.1"),
            );
            ev.set("process.pid", i as i64);
            all.push(&pack(&ev));
            want.push(ev);
        }
        // half sealed, half still open: both are read
        assert!(all.blocks.len() > 1, "{} blocks", all.blocks.len());
        assert_eq!(all.len(), want.len());
        let check = |got: Vec<Event>| {
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.origin, w.origin);
                assert!(Arc::ptr_eq(&g.origin.file, &w.origin.file));
                assert_eq!(g.timestamp, w.timestamp);
                assert_eq!(g.to_json(), w.to_json());
            }
        };
        check(all.unpack_all());
        all.finish();
        assert!(all.open.is_empty());
        assert_eq!(all.files(), files);
        let packed: usize = want.iter().map(|e| pack(e).size()).sum();
        let held: usize = all.blocks.iter().map(|b| b.bytes.len()).sum();
        assert!(held * 3 < packed, "compressed {held} of {packed} bytes");
        check(all.unpack_all());
        // appended as they are, after what is there, each block keeping its
        // own files
        let mut more = PackedEvents::default();
        more.push(&pack(&want[0]));
        more.append(all);
        let got = more.unpack_all();
        assert_eq!(got.len(), want.len() + 1);
        assert_eq!(more.len(), want.len() + 1);
        assert_eq!(got[0].to_json(), want[0].to_json());
        check(got[1..].to_vec());
    }
}
