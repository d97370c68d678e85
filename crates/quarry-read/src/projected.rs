//! Projected reading of ECS JSON lines: a consumer that reads only a few
//! fields (an EQL query, `quarry search`) does not need every line parsed
//! into a generic JSON tree and flattened into a full event.
//!
//! [`read_line`] walks the document once with serde, descends only into the
//! objects that lead to a wanted path, skips every other value without
//! building it, and materialises only the wanted fields. An event the
//! consumer's pre-check accepts gets the line itself as its
//! [`Event::raw_source`], to be echoed exactly as read.
//!
//! Only documents that [`quarry_ecs::json::normalize_json`] would keep as
//! plain ECS take this path. Any top-level key that makes it treat the
//! document as another format ([`quarry_ecs::format::is_marker_key`]), an Elastic Defend
//! `agent.type`/`data_stream.dataset`, a key repeated where the projection
//! reads (serde_json keeps only the last whole value), a document that is
//! not an object, or anything serde rejects sends the line back to the full
//! reader, which normalises and reports it as before.
//!
//! A projection can also carry the literals its consumer requires (see
//! [`Projection::require_literals`]): a line that provably lacks them is
//! only validated, not walked — the cheap test of most lines in a hunt.

use quarry_ecs::format::{self, is_marker_key};
use quarry_event::{Event, FieldId, Origin, Value, field_id};
use rustc_hash::FxHashMap;
use rustc_hash::{FxHashSet, FxHasher};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::hash::Hasher;
use std::sync::Arc;

/// What a consumer reads of each event.
pub struct Projection {
    /// Paths wanted exactly, with their ids, and every proper dotted prefix
    /// of a wanted path (`process`, `process.parent` for
    /// `process.parent.name`): one probe per key read.
    paths: FxHashMap<Box<str>, PathKind>,
    agent_type: FieldId,
    dataset: FieldId,
    timestamp: FieldId,
    /// Fields an event can have (the capacity a projected event starts with).
    count: usize,
    /// Path prefixes (`endgame.`) under which every field is wanted.
    prefixes: Vec<Box<str>>,
    /// Events that fail this are counted and dropped right after the parse.
    wanted: Box<dyn Fn(&Event) -> bool + Send + Sync>,
    /// Lines lacking a required literal are only validated.
    prefilter: Option<Prefilter>,
    /// `paths` as a tree of key segments, for the fast walk.
    tree: Vec<PathNode>,
}

/// A node of [`Projection::tree`] (the root is node 0): a key segment's
/// node is found by one short comparison per child, not by hashing the
/// whole path.
#[derive(Default)]
struct PathNode {
    children: Vec<(Box<[u8]>, usize)>,
    /// The path is wanted.
    exact: Option<FieldId>,
    /// Every path below is wanted (a prefix such as `endgame.`).
    all_below: bool,
}

/// Required literals ([`Projection::require_literals`]): one automaton per
/// clause, each matching any of its alternatives as written in JSON, in
/// ASCII lower case (searched for in a lower-cased copy of the line: a
/// case-sensitive search of one or a few literals runs on SIMD, where an
/// ASCII-case-insensitive one checks a candidate at every common byte).
struct Prefilter {
    clauses: Vec<aho_corasick::AhoCorasick>,
    /// `\u` and `\/`: when neither occurs the line has no such escape,
    /// without walking its backslashes one by one.
    unicode_escape: memchr::memmem::Finder<'static>,
    slash_escape: memchr::memmem::Finder<'static>,
    /// A projection reading no field and wanting no event: its walk is the
    /// validation a skipped line still gets, with the same tests (serde's
    /// whole-line parse, a format's marker key, Elastic Defend), so a skipped
    /// line is one the full walk reads as plain ECS (or, for a key repeated
    /// on a path only the full walk reads, one the full reader reads as
    /// plain ECS: counted the same, and unmatched, as it lacks the literal).
    shell: Box<Projection>,
}

impl Projection {
    /// Reads `fields` (dotted paths) and every field under `prefixes`
    /// (each ending in `.`); only events passing `wanted` are kept
    /// (`wanted` sees the event's fields, not yet its origin).
    pub fn new(
        fields: &[String],
        prefixes: &[&str],
        wanted: impl Fn(&Event) -> bool + Send + Sync + 'static,
    ) -> Projection {
        let mut exact: FxHashSet<Box<str>> = FxHashSet::default();
        let mut inner: FxHashSet<Box<str>> = FxHashSet::default();
        // what the Elastic Defend test below needs
        let defend = format::DEFEND_FIELDS.iter().copied();
        for f in fields.iter().map(String::as_str).chain(defend) {
            exact.insert(f.into());
            for (i, _) in f.match_indices('.') {
                inner.insert(f[..i].into());
            }
        }
        for p in prefixes {
            let p = p.trim_end_matches('.');
            inner.insert(p.into());
            for (i, _) in p.match_indices('.') {
                inner.insert(p[..i].into());
            }
        }
        let mut paths: FxHashMap<Box<str>, PathKind> = FxHashMap::default();
        for p in &inner {
            paths.entry(p.clone()).or_default().inner = true;
        }
        for p in &exact {
            paths.entry(p.clone()).or_default().exact = Some(field_id(p));
        }
        let mut tree = vec![PathNode::default()];
        let node_of = |tree: &mut Vec<PathNode>, path: &str| {
            let mut at = 0;
            for seg in path.split('.') {
                at = match tree[at]
                    .children
                    .iter()
                    .find(|(k, _)| **k == *seg.as_bytes())
                {
                    Some(&(_, child)) => child,
                    None => {
                        tree.push(PathNode::default());
                        let child = tree.len() - 1;
                        tree[at].children.push((seg.as_bytes().into(), child));
                        child
                    }
                };
            }
            at
        };
        for p in &exact {
            let at = node_of(&mut tree, p);
            tree[at].exact = Some(field_id(p));
        }
        for p in prefixes {
            let at = node_of(&mut tree, p.trim_end_matches('.'));
            tree[at].all_below = true;
        }
        Projection {
            tree,
            paths,
            agent_type: field_id(format::DEFEND_FIELDS[0]),
            dataset: field_id(format::DEFEND_FIELDS[1]),
            timestamp: field_id("@timestamp"),
            count: exact.len(),
            prefixes: prefixes.iter().map(|p| (*p).into()).collect(),
            wanted: Box::new(wanted),
            prefilter: None,
        }
    }

    /// Declares literals every wanted event holds, as clauses of
    /// alternatives (`quarry_eql::Query::required_literals`): a wanted
    /// event has, for each clause, one alternative within the text of some
    /// field value, ASCII case aside. A line is then dropped unwalked when
    /// it is ASCII, has no `\u` or `\/` escape (behind which a literal could
    /// hide), lacks every alternative of some clause, and validates as a
    /// plain ECS object; any other line is read as before. Literals must be
    /// ASCII without control characters; otherwise no prefilter is set.
    pub fn require_literals(mut self, clauses: &[Vec<String>]) -> Projection {
        let usable =
            |l: &String| !l.is_empty() && l.bytes().all(|b| b.is_ascii() && !b.is_ascii_control());
        if clauses.is_empty() || !clauses.iter().flatten().all(usable) {
            return self;
        }
        let mut automata = Vec::with_capacity(clauses.len());
        for clause in clauses {
            // as the literal appears inside a JSON string without \u escapes
            let encoded: Vec<String> = clause
                .iter()
                .map(|l| {
                    l.replace('\\', "\\\\")
                        .replace('"', "\\\"")
                        .to_ascii_lowercase()
                })
                .collect();
            match aho_corasick::AhoCorasick::builder().build(&encoded) {
                Ok(ac) if !clause.is_empty() => automata.push(ac),
                _ => return self,
            }
        }
        let mut shell = Projection::new(&[], &[], |_| false);
        // it only ever drops: its events need no room for fields up front
        shell.count = 0;
        self.prefilter = Some(Prefilter {
            clauses: automata,
            unicode_escape: memchr::memmem::Finder::new(b"\\u").into_owned(),
            slash_escape: memchr::memmem::Finder::new(b"\\/").into_owned(),
            shell: Box::new(shell),
        });
        self
    }

    /// [`Projection::kind`] from the tree: `at` is where the object's path
    /// is, `key` the key read (perhaps dotted), `path` the whole path with
    /// it. Gives the key's kind and where its path is.
    fn kind_below(&self, at: Place, key: &[u8], path: &str) -> (PathKind, Place) {
        let mut place = at;
        for seg in key.split(|&b| b == b'.') {
            place = match place {
                Place::Node(n) if self.tree[n].all_below => Place::BelowPrefix,
                Place::Node(n) => self.tree[n]
                    .children
                    .iter()
                    .find(|(k, _)| **k == *seg)
                    .map_or(Place::Nowhere, |&(_, child)| Place::Node(child)),
                other => other,
            };
        }
        let kind = match place {
            Place::Node(n) => PathKind {
                exact: self.tree[n].exact,
                inner: !self.tree[n].children.is_empty() || self.tree[n].all_below,
            },
            Place::BelowPrefix => PathKind {
                exact: Some(field_id(path)),
                inner: false,
            },
            Place::Nowhere => PathKind::default(),
        };
        (kind, place)
    }

    /// Is the path wanted (with its id, when known), does it lead to wanted paths?
    fn kind(&self, path: &str) -> PathKind {
        let mut k = self.paths.get(path).copied().unwrap_or_default();
        if k.exact.is_none() && self.prefixes.iter().any(|p| path.starts_with(&**p)) {
            k.exact = Some(field_id(path));
        }
        k
    }
}

/// Where a path is in [`Projection::tree`].
#[derive(Debug, Clone, Copy)]
enum Place {
    Node(usize),
    /// Below a prefix every path under which is wanted.
    BelowPrefix,
    /// Nothing at or below it is wanted.
    Nowhere,
}

#[derive(Debug, Clone, Copy, Default)]
struct PathKind {
    exact: Option<FieldId>,
    inner: bool,
}

/// The outcome of a projected read.
pub(crate) enum Projected {
    /// Plain ECS, not wanted by the consumer.
    Dropped,
    /// Plain ECS, wanted: the projected event, with its line as raw source.
    Kept(Event),
}

/// Reads one JSON line with a projection; `None` sends the line to the
/// full reader. `origin` is only called for an event kept: the events of
/// dropped lines (and the one `wanted` sees) have an empty origin, which
/// spares every line a reference count on the shared file name.
pub(crate) fn read_line(
    line: &[u8],
    proj: &Projection,
    origin: impl FnOnce() -> Origin,
) -> Option<Projected> {
    if let Some(pre) = &proj.prefilter
        && pre.lacks_a_clause(line)
    {
        // the common case, in one pass: a plain ASCII object without the
        // escapes a literal could hide behind
        if crate::plain_json::is_plain_ecs_object(line, is_marker_key) {
            return Some(Projected::Dropped);
        }
        // the walk of a projection that wants nothing: `Dropped` for a
        // well-formed plain ECS object, `None` for what the full reader
        // must see, exactly as the full walk would decide
        if spelled_plainly(line, pre)
            && let Some(dropped) = walk_line(line, &pre.shell)
        {
            return Some(dropped);
        }
    }
    match walk_line(line, proj)? {
        Projected::Kept(mut ev) => {
            ev.origin = origin();
            Some(Projected::Kept(ev))
        }
        dropped => Some(dropped),
    }
}

impl Prefilter {
    /// Does the line lack every alternative of some clause (ASCII case
    /// aside)?
    fn lacks_a_clause(&self, line: &[u8]) -> bool {
        LOWER.with(|lower| {
            let Ok(mut lower) = lower.try_borrow_mut() else {
                return false;
            };
            lower.clear();
            lower.extend_from_slice(line);
            lower.make_ascii_lowercase();
            self.clauses.iter().any(|ac| !ac.is_match(lower.as_slice()))
        })
    }
}

thread_local! {
    /// The line in lower case, for [`Prefilter::lacks_a_clause`].
    static LOWER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The placeholder origin of projected events, per thread (an `Arc`
    /// shared by all threads would bounce its count between cores).
    static NO_ORIGIN: Origin = Origin::default();
    /// The path buffer of the walk, reused line after line.
    static PATH: std::cell::RefCell<String> = std::cell::RefCell::new(String::with_capacity(64));
}

/// Does the line provably lack every alternative of some required clause?
#[cfg(test)]
fn lacks_literal(line: &[u8], pre: &Prefilter) -> bool {
    spelled_plainly(line, pre) && pre.lacks_a_clause(line)
}

/// Can the automata tell? Only in an ASCII line without `\u` and `\/`
/// escapes: in any other, a literal may be spelled differently from its
/// plain JSON encoding.
fn spelled_plainly(line: &[u8], pre: &Prefilter) -> bool {
    if !line.is_ascii() {
        return false;
    }
    if pre.unicode_escape.find(line).is_none() && pre.slash_escape.find(line).is_none() {
        return true;
    }
    // walk the escapes pairwise so that an escaped backslash before a `u`
    // (`C:\\users`) is not taken for a `\u`
    let mut at = 0;
    while let Some(i) = memchr::memchr(b'\\', &line[at..]) {
        match line.get(at + i + 1) {
            Some(b'u' | b'/') | None => return false,
            _ => at += i + 2,
        }
    }
    true
}

/// The projected walk proper (see [`read_line`]): [`fast_walk`] where it
/// can tell, serde's walk where it cannot.
fn walk_line(line: &[u8], proj: &Projection) -> Option<Projected> {
    let fast = PATH.with(|path| {
        // a walk never reads another line, so the buffer is free here
        let mut path = path.try_borrow_mut().ok()?;
        path.clear();
        let mut ev = Event::with_capacity(NO_ORIGIN.with(Origin::clone), proj.count);
        fast_walk(line, proj, &mut ev, &mut path).map(|text| (ev, text))
    });
    match fast {
        Some((ev, text)) => finish(ev, Some(text), line, proj),
        None => serde_walk(line, proj),
    }
}

/// The walk on serde: every line valid JSON can hold.
fn serde_walk(line: &[u8], proj: &Projection) -> Option<Projected> {
    let mut ev = Event::with_capacity(NO_ORIGIN.with(Origin::clone), proj.count);
    let mut de = serde_json::Deserializer::from_slice(line);
    let mut top = TopKeys::default();
    PATH.with(|path| {
        let mut path = path.try_borrow_mut().ok()?;
        path.clear();
        Walk {
            proj,
            ev: &mut ev,
            path: &mut path,
            top: Some(&mut top),
        }
        .deserialize(&mut de)
        .ok()
    })?;
    de.end().ok()?;
    if top.not_plain_ecs {
        return None;
    }
    finish(ev, None, line, proj)
}

/// A walked event: the Elastic Defend test, its time, the consumer's test.
/// `text` is the line when already checked to be UTF-8.
fn finish(mut ev: Event, text: Option<&str>, line: &[u8], proj: &Projection) -> Option<Projected> {
    // Elastic Defend documents are read by their own normaliser
    if format::is_elastic_defend(
        ev.get_id(proj.agent_type).and_then(Value::as_str),
        ev.get_id(proj.dataset).and_then(Value::as_str),
    ) {
        return None;
    }
    ev.timestamp = ev.get_id(proj.timestamp).and_then(Value::as_timestamp);
    if !(proj.wanted)(&ev) {
        return Some(Projected::Dropped);
    }
    let text = match text {
        Some(text) => text,
        None => std::str::from_utf8(line).ok()?,
    };
    ev.raw_source = Some(Arc::from(text));
    // (not shrunk: sized for the projection, it has little room to spare)
    Some(Projected::Kept(ev))
}

/// The walk without serde, for the common line: UTF-8, no `\u` escape,
/// and at the wanted paths only strings, integers, booleans, nulls and
/// arrays of them. It builds exactly what serde's walk builds (a property
/// test compares the two); `None` means "not sure" (also for any line
/// serde's walk would refuse), and serde's walk decides.
fn fast_walk<'a>(
    line: &'a [u8],
    proj: &Projection,
    ev: &mut Event,
    path: &mut String,
) -> Option<&'a str> {
    // checked once: keys and strings are then cut from it on char
    // boundaries (their quotes are ASCII), in constant time
    let text = std::str::from_utf8(line).ok()?;
    let mut s = crate::plain_json::Scanner::new(line, true);
    s.ws();
    if s.peek()? != b'{' {
        return None;
    }
    fast_object(&mut s, text, proj, ev, path, Place::Node(0), 1)?;
    s.ws();
    (s.i == line.len()).then_some(text)
}

/// Deeper documents are left to serde.
const FAST_MAX_DEPTH: usize = 64;

/// An object at `s.i` whose path so far is `path`, at `place` in the
/// projection's tree (see [`Walk`]).
fn fast_object(
    s: &mut crate::plain_json::Scanner<'_>,
    text: &str,
    proj: &Projection,
    ev: &mut Event,
    path: &mut String,
    place: Place,
    depth: usize,
) -> Option<()> {
    if depth > FAST_MAX_DEPTH {
        return None;
    }
    if s.open(b'}')? {
        return Some(());
    }
    let top = depth == 1;
    let base = path.len();
    // the keys read here that the projection wants or walks into: one
    // repeated means serde_json's last-value-wins, which the walk refuses
    let mut seen: [&[u8]; 8] = [&[]; 8];
    let mut n_seen = 0;
    loop {
        if s.peek()? != b'"' {
            return None;
        }
        let start = s.i + 1;
        let end = s.string()?;
        // escaped keys, and the empty key (whose object's keys the walk
        // joins without a dot), are left to serde
        if s.escaped || start == end {
            return None;
        }
        let key = text.get(start..end)?;
        if base > 0 {
            path.push('.');
        }
        path.push_str(key);
        let key = key.as_bytes();
        if top && is_marker_key(key) {
            return None;
        }
        let (PathKind { exact, inner }, below) = proj.kind_below(place, key, path);
        if exact.is_some() || inner {
            if seen[..n_seen].contains(&key) || n_seen == seen.len() {
                return None;
            }
            seen[n_seen] = key;
            n_seen += 1;
        }
        s.colon()?;
        match (s.peek()?, exact) {
            (b'{', _) if inner => fast_object(s, text, proj, ev, path, below, depth + 1)?,
            // an object or array a wanted path flattens: serde's walk
            (b'{', Some(_)) => return None,
            (b'[', None) if inner => return None,
            (_, Some(id)) => ev.insert_id(id, fast_value(s, text, 0)?),
            _ => s.value(depth)?,
        }
        path.truncate(base);
        if !s.next_item(b'}')? {
            return Some(());
        }
    }
}

/// A wanted value as `Value::from_json` makes it: a string, an integer, a
/// boolean, null, or an array of those (`depth` 1 inside one); anything
/// else is left to serde.
fn fast_value(s: &mut crate::plain_json::Scanner<'_>, text: &str, depth: usize) -> Option<Value> {
    match s.peek()? {
        b'"' => {
            let start = s.i + 1;
            let end = s.string()?;
            let raw = text.get(start..end)?;
            let value = if s.escaped {
                quarry_event::Str::from(crate::plain_json::unescape(raw)?)
            } else {
                quarry_event::Str::from(raw)
            };
            Some(Value::Str(value))
        }
        b'-' | b'0'..=b'9' => {
            let start = s.i;
            s.number()?;
            let number = text.get(start..s.i)?;
            // serde_json reads `-0` as a float, a fraction by its own
            // algorithm: both left to it
            if number.starts_with("-0") || number.contains('.') {
                return None;
            }
            match number.parse::<i64>() {
                Ok(i) => Some(Value::Int(i)),
                // as `Value::from_json` keeps a u64 beyond i64
                Err(_) => number.parse::<u64>().ok().map(|u| Value::Float(u as f64)),
            }
        }
        b't' => s.literal(b"true").map(|()| Value::Bool(true)),
        b'f' => s.literal(b"false").map(|()| Value::Bool(false)),
        b'n' => s.literal(b"null").map(|()| Value::Null),
        b'[' if depth == 0 => {
            let mut items = Vec::new();
            if !s.open(b']')? {
                loop {
                    items.push(fast_value(s, text, 1)?);
                    if !s.next_item(b']')? {
                        break;
                    }
                }
            }
            Some(Value::Array(items))
        }
        _ => None,
    }
}

#[derive(Default)]
struct TopKeys {
    not_plain_ecs: bool,
}

/// Walks an object whose path so far is `path`.
struct Walk<'a> {
    proj: &'a Projection,
    ev: &'a mut Event,
    path: &'a mut String,
    /// Set at the top level only: records keys that mean another format.
    top: Option<&'a mut TopKeys>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Walk {
            proj,
            ev,
            path,
            mut top,
        } = self;
        let base = path.len();
        // hashes of the keys read here: a repeated one means serde_json's
        // last-value-wins, which a walk that merges cannot reproduce
        let mut seen: Vec<u64> = Vec::new();
        while map
            .next_key_seed(Key {
                path: &mut *path,
                base,
            })?
            .is_some()
        {
            if let Some(t) = top.as_deref_mut()
                && is_marker_key(path[base..].as_bytes())
            {
                t.not_plain_ecs = true;
            }
            let PathKind { exact, inner } = proj.kind(path);
            if exact.is_some() || inner {
                let mut h = FxHasher::default();
                h.write(&path.as_bytes()[base..]);
                let h = h.finish();
                if seen.contains(&h) {
                    return Err(serde::de::Error::custom("repeated key"));
                }
                seen.push(h);
            }
            if inner {
                map.next_value_seed(Node {
                    proj,
                    ev: &mut *ev,
                    path: &mut *path,
                    exact,
                })?;
            } else if let Some(id) = exact {
                let v: serde_json::Value = map.next_value()?;
                put(ev, path, id, &v);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
            path.truncate(base);
        }
        Ok(())
    }
}

/// Puts a value at `path` the way `Event::from_json` flattens it.
fn put(ev: &mut Event, path: &str, id: FieldId, v: &serde_json::Value) {
    match v {
        serde_json::Value::Object(_) => ev.flatten_json_at(path, v),
        serde_json::Value::Array(items) if items.iter().any(|i| i.is_object()) => {
            ev.flatten_json_at(path, v)
        }
        other => ev.insert_id(id, Value::from_json(other)),
    }
}

/// Appends an object key to the path.
struct Key<'a> {
    path: &'a mut String,
    base: usize,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: serde::de::Error>(self, k: &str) -> Result<(), E> {
        if self.base > 0 {
            self.path.push('.');
        }
        self.path.push_str(k);
        Ok(())
    }
}

/// A value at a path that leads to wanted fields: an object is walked, an
/// array is flattened as `Event::from_json` does, a scalar is kept only
/// when its own path is wanted.
struct Node<'a> {
    proj: &'a Projection,
    ev: &'a mut Event,
    path: &'a mut String,
    exact: Option<FieldId>,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Node<'_> {
    fn scalar(self, v: serde_json::Value) {
        if let Some(id) = self.exact {
            put(self.ev, self.path, id, &v);
        }
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        Walk {
            proj: self.proj,
            ev: self.ev,
            path: self.path,
            top: None,
        }
        .visit_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<serde_json::Value>()? {
            items.push(v);
        }
        let v = serde_json::Value::Array(items);
        // an array of objects yields fields below this path; one of scalars
        // is this path's value
        if let Some(id) = self.exact {
            put(self.ev, self.path, id, &v);
        } else if v
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i.is_object()))
        {
            self.ev.flatten_json_at(self.path, &v);
        }
        Ok(())
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<(), E> {
        self.scalar(serde_json::Value::String(s.to_string()));
        Ok(())
    }
    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<(), E> {
        self.scalar(serde_json::Value::Bool(b));
        Ok(())
    }
    fn visit_i64<E: serde::de::Error>(self, i: i64) -> Result<(), E> {
        self.scalar(i.into());
        Ok(())
    }
    fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<(), E> {
        self.scalar(u.into());
        Ok(())
    }
    fn visit_f64<E: serde::de::Error>(self, f: f64) -> Result<(), E> {
        self.scalar(
            serde_json::Number::from_f64(f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
        );
        Ok(())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.scalar(serde_json::Value::Null);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_event::Origin;

    fn proj(fields: &[&str]) -> Projection {
        let f: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        Projection::new(&f, &["endgame."], |_| true)
    }

    fn same_as_full(line: &str, fields: &[&str]) {
        let p = proj(fields);
        let Some(Projected::Kept(ev)) = read_line(line.as_bytes(), &p, Origin::default) else {
            panic!("{line} not read projected");
        };
        let doc: serde_json::Value = serde_json::from_str(line).expect("json");
        let full = Event::from_json(&doc, Origin::default());
        for f in fields {
            assert_eq!(ev.get(f), full.get(f), "{f} of {line}");
        }
        assert_eq!(ev.timestamp, full.timestamp);
        assert_eq!(ev.raw_source.as_deref(), Some(line));
    }

    #[test]
    fn projected_fields_equal_the_full_flattening() {
        let fields = &[
            "@timestamp",
            "process.name",
            "process.parent.name",
            "dns.answers.data",
            "a.b",
            "n",
            "endgame.pid",
            "missing.field",
        ];
        same_as_full(
            r#"{"@timestamp":"2021-12-04T21:19:10.604Z","process":{"name":"a.exe","pid":4,"parent":{"name":"DNS.EXE"}},"x":[1,{"y":2}],"n":null}"#,
            fields,
        );
        same_as_full(
            r#"{"dns":{"answers":[{"data":"1.2.3.4"},{"data":"5.6.7.8"}]},"a.b":"dotted","a":{"c":1},"endgame":{"pid":7},"n":[1,2.5,"x"]}"#,
            fields,
        );
        same_as_full(
            r#"{"process":{"name":"\u0061.exe"},"a":{"b":{"c":1}}}"#,
            fields,
        );
    }

    #[test]
    fn other_formats_and_oddities_take_the_full_reader() {
        let p = proj(&["process.name"]);
        let full = |l: &str| read_line(l.as_bytes(), &p, Origin::default).is_none();
        assert!(full(r#"{"winlog":{"event_id":1},"process":{"name":"a"}}"#));
        assert!(full(r#"{"EventID":1,"Channel":"x"}"#));
        assert!(full(r#"{"\u0045ventID":1,"Channel":"x"}"#));
        assert!(full(r#"{"agent":{"type":"endpoint"}}"#));
        assert!(full(
            r#"{"data_stream":{"dataset":"endpoint.events.process"}}"#
        ));
        assert!(full(r#"{"hits":{"hits":[]}}"#));
        assert!(full(r#"{"process":{"name":"a"},"process":{"pid":1}}"#));
        assert!(full(r#"[1,2]"#));
        assert!(full(r#"{"process":"#));
        assert!(full("{\"process\":{\"name\":\"a\"}} x"));
        assert!(!full(
            r#"{"agent":{"type":"filebeat"},"process":{"name":"a"}}"#
        ));
    }

    fn dns_rule() -> Projection {
        let f: Vec<String> = ["process.parent.name", "event.type"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        Projection::new(&f, &["endgame."], |ev| {
            ev.get("process.parent.name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case("dns.exe"))
        })
        .require_literals(&[vec!["dns.exe".to_string()], vec!["start".to_string()]])
    }

    fn outcome(line: &str, p: &Projection) -> &'static str {
        match read_line(line.as_bytes(), p, Origin::default) {
            Some(Projected::Kept(_)) => "kept",
            Some(Projected::Dropped) => "dropped",
            None => "full",
        }
    }

    #[test]
    fn lines_lacking_a_required_literal_are_dropped_unwalked() {
        let p = dns_rule();
        assert!(lacks_literal(
            br#"{"process":{"parent":{"name":"cmd.exe"}},"event":{"type":"start"}}"#,
            p.prefilter.as_ref().expect("set")
        ));
        assert_eq!(
            outcome(
                r#"{"process":{"parent":{"name":"cmd.exe"}},"event":{"type":"start"}}"#,
                &p
            ),
            "dropped"
        );
        assert_eq!(
            outcome(
                r#"{"process":{"parent":{"name":"dns.exe"}},"event":{"type":"start"}}"#,
                &p
            ),
            "kept"
        );
        // another case, or behind an escape: walked, still matched
        assert_eq!(
            outcome(
                r#"{"process":{"parent":{"name":"DNS.Exe"}},"event":{"type":"START"}}"#,
                &p
            ),
            "kept"
        );
        assert_eq!(
            outcome(
                r#"{"process":{"parent":{"name":"\u0064ns.exe"}},"event":{"type":"start"}}"#,
                &p
            ),
            "kept"
        );
        assert_eq!(
            outcome(
                r#"{"process":{"parent":{"name":"dns\u002eexe"}},"event":{"type":"start"}}"#,
                &p
            ),
            "kept"
        );
        // an escaped backslash before a `u` is no escape: still prefiltered
        assert!(lacks_literal(
            br#"{"a":"C:\\users","event":{"type":"start"}}"#,
            p.prefilter.as_ref().expect("set")
        ));
        assert!(!lacks_literal(
            br#"{"a":"C:\users","event":{"type":"start"}}"#,
            p.prefilter.as_ref().expect("set")
        ));
        assert!(!lacks_literal(
            r#"{"a":"é","event":{"type":"start"}}"#.as_bytes(),
            p.prefilter.as_ref().expect("set")
        ));
        // other formats and oddities still go to the full reader
        for l in [
            r#"{"event_simpleName":"ProcessRollup2","ParentBaseFileName":"cmd.exe"}"#,
            r#"{"agent":{"type":"endpoint"},"process":{"name":"a"}}"#,
            r#"{"data_stream":{"dataset":"endpoint.events.process"}}"#,
            r#"{"process":{"name":"a"}"#,
            r#"{"process":{"name":"a"}} x"#,
            r#"[1,2]"#,
        ] {
            assert_eq!(outcome(l, &p), "full", "{l}");
        }
        assert_eq!(
            outcome(
                r#"{"agent":{"type":"filebeat"},"process":{"name":"a"}}"#,
                &p
            ),
            "dropped"
        );
        // literals with JSON's escaped characters are searched as encoded
        let q = Projection::new(&["a".to_string()], &[], |_| true)
            .require_literals(&[vec![r#"C:\x"y"#.to_string()]]);
        assert_eq!(outcome(r#"{"a":"C:\\X\"Y"}"#, &q), "kept");
        assert_eq!(outcome(r#"{"a":"C:\\X Y"}"#, &q), "dropped");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// The one-pass check promises what the validating walk decides:
        /// a line it passes, the walk of a projection wanting nothing drops
        /// as plain ECS (and so would not send to the full reader).
        #[test]
        fn the_fast_check_agrees_with_the_walk(l in crate::plain_json::tests::line()) {
            let p = dns_rule();
            let pre = p.prefilter.as_ref().expect("set");
            if crate::plain_json::is_plain_ecs_object(l.as_bytes(), is_marker_key) {
                proptest::prop_assert!(
                    matches!(walk_line(l.as_bytes(), &pre.shell), Some(Projected::Dropped)),
                    "{}", l
                );
            }
        }
    }

    /// ECS-like lines: the paths the projections below read, escapes,
    /// arrays, numbers of every kind, non-ASCII text; then cut or patched.
    fn ecs_line() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let key = prop::sample::select(vec![
            "process",
            "name",
            "parent",
            "executable",
            "event",
            "type",
            "category",
            "process.name",
            "event.type",
            "agent",
            "agent.type",
            "data_stream",
            "dataset",
            "@timestamp",
            "host",
            "winlog",
            "x",
            "",
        ]);
        let odd = prop_oneof![
            Just("-0".to_string()),
            Just("1.5".to_string()),
            Just("1e3".to_string()),
            Just("18446744073709551615".to_string()),
            Just("18446744073709551616".to_string()),
            Just("-9223372036854775809".to_string()),
            Just("\"\\u0041\"".to_string()),
            Just("\"endpoint\"".to_string()),
            Just("\"endpoint.events\"".to_string()),
            Just("{}".to_string()),
            Just("[{\"a\":1}]".to_string()),
        ];
        let leaf = prop_oneof![
            1 => Just("null".to_string()),
            1 => Just("true".to_string()),
            2 => Just("\"C:\\\\Windows\\\\cmd.exe\"".to_string()),
            2 => Just("\"a\\\"b\\/c\\n\\t\"".to_string()),
            2 => Just("\"2024-01-02T03:04:05Z\"".to_string()),
            2 => Just("[\"start\", 1, null, \"é\"]".to_string()),
            3 => any::<i64>().prop_map(|n| n.to_string()),
            4 => "\\PC{0,6}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
            2 => odd,
        ];
        let structured = (
            prop::option::of(leaf.clone()),
            prop::option::of(leaf.clone()),
            prop::option::of(leaf.clone()),
            prop::option::of(leaf.clone()),
            prop::option::of(leaf.clone()),
            prop::option::of(leaf.clone()),
        )
            .prop_map(|(ts, ty, name, exe, dotted, agent)| {
                let mut kv = Vec::new();
                let mut push = |k: &str, v: Option<String>| {
                    if let Some(v) = v {
                        kv.push(format!("{k:?}: {v}"));
                    }
                };
                push("@timestamp", ts);
                push(
                    "event",
                    ty.map(|t| format!("{{\"type\": {t}, \"kind\": \"event\"}}")),
                );
                let parent = exe.map(|e| format!("{{\"executable\": {e}}}"));
                push(
                    "process",
                    Some(format!(
                        "{{\"pid\": 4, \"name\": {}{}}}",
                        name.unwrap_or_else(|| "\"cmd.exe\"".to_string()),
                        parent
                            .map(|p| format!(", \"parent\": {p}"))
                            .unwrap_or_default()
                    )),
                );
                push("process.name", dotted);
                push("agent", agent.map(|a| format!("{{\"type\": {a}}}")));
                format!("{{{}}}", kv.join(", "))
            });
        let value = leaf.prop_recursive(3, 16, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((key.clone(), inner), 0..4).prop_map(|kv| {
                    let kv: Vec<String> =
                        kv.into_iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                    format!("{{{}}}", kv.join(","))
                }),
            ]
        });
        let top = prop::sample::select(vec![
            "process",
            "event",
            "agent",
            "@timestamp",
            "host",
            "process.name",
            "event.type",
            "agent.type",
            "data_stream",
            "winlog",
            "x",
            "",
        ]);
        let random = prop::collection::vec((top, value), 0..6).prop_map(|kv| {
            let kv: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k:?}: {v}")).collect();
            format!("{{{}}}", kv.join(", "))
        });
        (
            prop_oneof![random, structured],
            any::<usize>(),
            0u8..6,
            any::<u8>(),
        )
            .prop_map(|(doc, at, how, byte)| {
                let mut b = doc.into_bytes();
                let at = if b.is_empty() { 0 } else { at % b.len() };
                match how {
                    0 => b.truncate(at),
                    1 => b.insert(at, byte),
                    _ => {}
                }
                // (how 2..6: the document as generated)
                String::from_utf8_lossy(&b).into_owned()
            })
    }

    fn fields_of(ev: &Event) -> Vec<(String, Value)> {
        ev.fields()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20000))]
        /// The walk without serde builds what serde's walk builds, whenever
        /// it answers at all.
        #[test]
        fn the_fast_walk_builds_what_serde_builds(
            l in proptest::prop_oneof![ecs_line(), crate::plain_json::tests::line()],
            which in 0usize..4,
        ) {
            let fields: &[&[&str]] = &[
                &["process.name", "process.parent.executable", "event.type", "@timestamp"],
                &["event", "process.parent", "x"],
                &["host", "process"],
                &["process.name", "agent.type"],
            ];
            let p = if which == 3 {
                // every field below a prefix, one of them also named
                let f: Vec<String> = fields[3].iter().map(|s| s.to_string()).collect();
                Projection::new(&f, &["process.", "event.type."], |_| true)
            } else {
                proj(fields[which])
            };
            let mut ev = Event::with_capacity(Origin::default(), 4);
            let mut path = String::new();
            if let Some(text) = fast_walk(l.as_bytes(), &p, &mut ev, &mut path) {
                let slow = serde_walk(l.as_bytes(), &p);
                let fast = finish(ev, Some(text), l.as_bytes(), &p);
                match (fast, slow) {
                    (Some(Projected::Kept(a)), Some(Projected::Kept(b))) => {
                        proptest::prop_assert_eq!(fields_of(&a), fields_of(&b), "{}", l);
                        proptest::prop_assert_eq!(a.timestamp, b.timestamp);
                    }
                    (Some(Projected::Dropped), Some(Projected::Dropped)) | (None, None) => {}
                    (a, b) => proptest::prop_assert!(false, "{}: fast {} slow {}", l,
                        a.is_some(), b.is_some()),
                }
            }
        }
    }

    #[test]
    fn unusable_literals_set_no_prefilter() {
        let p = Projection::new(&[], &[], |_| true);
        assert!(
            p.require_literals(&[vec!["é".to_string()]])
                .prefilter
                .is_none()
        );
        let p = Projection::new(&[], &[], |_| true);
        assert!(p.require_literals(&[vec![]]).prefilter.is_none());
        let p = Projection::new(&[], &[], |_| true);
        assert!(p.require_literals(&[]).prefilter.is_none());
    }
}
