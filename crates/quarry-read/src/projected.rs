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
//! document as another format (see [`NOT_PLAIN_ECS`]), an Elastic Defend
//! `agent.type`/`data_stream.dataset`, a key repeated where the projection
//! reads (serde_json keeps only the last whole value), a document that is
//! not an object, or anything serde rejects sends the line back to the full
//! reader, which normalises and reports it as before.
//!
//! A projection can also carry the literals its consumer requires (see
//! [`Projection::require_literals`]): a line that provably lacks them is
//! only validated, not walked — the cheap test of most lines in a hunt.

use quarry_event::{Event, FieldId, Origin, Value, field_id};
use rustc_hash::FxHashMap;
use rustc_hash::{FxHashSet, FxHasher};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::hash::Hasher;
use std::sync::Arc;

/// Top-level keys under which `normalize_json` (and `normalize`'s search-dump
/// unwrapping) reads a document as something other than plain ECS. A line
/// with any of them takes the full reader. Keep in step with
/// `quarry_ecs::json::normalize_json` and `quarry_ecs::vendor::detect`.
const NOT_PLAIN_ECS: &[&str] = &[
    "Event",
    "winlog",
    "log_name",
    "EventID",
    "__container_type__",
    "data_type",
    "timestamp_desc",
    "event_simpleName",
    "event_type_full",
    "category",
    "DeviceId",
    "meta.event.name",
    "src.process.uid",
    "hits",
];

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
    /// `endpoint`: a line without it cannot be an Elastic Defend document.
    endpoint: memchr::memmem::Finder<'static>,
    /// A projection reading no field and wanting no event: its walk is the
    /// validation a skipped line still gets, with the same tests (serde's
    /// whole-line parse, [`NOT_PLAIN_ECS`], Elastic Defend), so a skipped
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
        let defend = ["agent.type".to_string(), "data_stream.dataset".to_string()];
        for f in fields.iter().chain(&defend) {
            exact.insert(f.as_str().into());
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
        Projection {
            paths,
            agent_type: field_id("agent.type"),
            dataset: field_id("data_stream.dataset"),
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
            endpoint: memchr::memmem::Finder::new(b"endpoint").into_owned(),
            shell: Box::new(shell),
        });
        self
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
        if crate::plain_json::is_plain_ecs_object(line, NOT_PLAIN_ECS, &pre.endpoint) {
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

/// The projected walk proper (see [`read_line`]).
fn walk_line(line: &[u8], proj: &Projection) -> Option<Projected> {
    let mut ev = Event::with_capacity(NO_ORIGIN.with(Origin::clone), proj.count);
    let mut de = serde_json::Deserializer::from_slice(line);
    let mut top = TopKeys::default();
    PATH.with(|path| {
        // a walk never reads another line, so the buffer is free here
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
    // Elastic Defend documents are read by their own normaliser
    if ev.get_id(proj.agent_type).and_then(Value::as_str) == Some("endpoint")
        || ev
            .get_id(proj.dataset)
            .and_then(Value::as_str)
            .is_some_and(|d| d.starts_with("endpoint."))
    {
        return None;
    }
    ev.timestamp = ev.get_id(proj.timestamp).and_then(Value::as_timestamp);
    if !(proj.wanted)(&ev) {
        return Some(Projected::Dropped);
    }
    let text = std::str::from_utf8(line).ok()?;
    ev.raw_source = Some(Arc::from(text));
    ev.shrink_to_fit();
    Some(Projected::Kept(ev))
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
                && NOT_PLAIN_ECS.contains(&&path[base..])
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
            if crate::plain_json::is_plain_ecs_object(l.as_bytes(), NOT_PLAIN_ECS, &pre.endpoint) {
                proptest::prop_assert!(
                    matches!(walk_line(l.as_bytes(), &pre.shell), Some(Projected::Dropped)),
                    "{}", l
                );
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
