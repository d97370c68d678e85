//! quarry's event model: one ECS document per event, shared by every reader,
//! the process lineage, the EQL engine and the questions.
//!
//! An [`Event`] is a flat map from dotted ECS field paths (`process.parent.name`)
//! to typed [`Value`]s. Nested JSON is flattened on the way in
//! ([`Event::from_json`]) and rebuilt on the way out ([`Event::to_json`]).
//! Arrays of objects become multi-valued leaf fields, the way Elasticsearch
//! indexes them.
//!
//! Storage is laid out for the EQL engine, which probes fields millions of
//! times a second: field paths are interned to [`FieldId`]s (`field`), and
//! an event keeps two contiguous arrays — its ids, sorted, and its values in
//! the same order — so a lookup is a binary search over a few cache lines of
//! `u32`s and one indexed load, not a hash probe that chases a heap pointer
//! per key. Short strings are stored inline in the [`Value`] (see
//! `value`), so most values need no further pointer either. Callers that
//! look a field up repeatedly resolve its id once ([`field_id`]) and use
//! [`Event::get_id`].

mod demand;
mod field;
mod path_memo;
mod time;
mod value;

pub use demand::Demand;
pub use field::{FieldId, FieldPath, field_id, field_name, find_field};
pub use path_memo::PathMemo;
pub use time::{civil_from_days, days_from_civil, format_timestamp, parse_timestamp};
pub use value::{Str, Value};

use std::fmt;
use std::sync::Arc;

/// Normalises a ProcessGuid / entity id for joins: braces stripped,
/// upper-case. The `evtx` crate renders GUIDs bare, Windows and Plaso in
/// braces, OTRF in lower case; all must meet. Only GUID-like ids (in braces,
/// or hex digits and dashes) are case-folded: other vendors' ids, such as
/// Elastic Defend's base64 entity ids, are case-sensitive and kept as they
/// are.
pub fn entity_key(id: &str) -> String {
    let t = id.trim();
    let inner = t.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
    match inner {
        Some(g) => g.to_ascii_uppercase(),
        None if t.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') => t.to_ascii_uppercase(),
        None => t.to_string(),
    }
}

/// Whether two entity ids name the same process: `entity_key(a) ==
/// entity_key(b)`, without allocating (pivots compare every kept event).
pub fn entity_eq(a: &str, b: &str) -> bool {
    // (text compared, whether entity_key upper-cases it)
    fn norm(id: &str) -> (&str, bool) {
        let t = id.trim();
        match t.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(g) => (g, true),
            None => (t, t.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')),
        }
    }
    let ((a, ua), (b, ub)) = (norm(a), norm(b));
    let up = |c: u8, u: bool| if u { c.to_ascii_uppercase() } else { c };
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .all(|(x, y)| up(x, ua) == up(y, ub))
}

/// The last component of a Windows or POSIX path: a process's name from
/// its executable, for normalisers and for whatever shows a process.
pub fn basename(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

/// Where an event came from, precise enough for a responder to find it again.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The file (or `archive.zip!member`) the event was read from.
    pub file: Arc<str>,
    pub locator: Locator,
}

/// The position of an event inside its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locator {
    #[default]
    Unknown,
    /// EVTX `EventRecordID`.
    Record(u64),
    /// 1-based line of a JSON-lines file.
    Line(u64),
    /// 0-based index in a JSON array document.
    Index(u64),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.locator {
            Locator::Unknown => write!(f, "{}", self.file),
            Locator::Record(r) => write!(f, "{}#record={r}", self.file),
            Locator::Line(l) => write!(f, "{}:{l}", self.file),
            Locator::Index(i) => write!(f, "{}[{i}]", self.file),
        }
    }
}

/// One normalised event: ECS fields, its time, and its origin.
#[derive(Debug, Clone, Default)]
pub struct Event {
    /// Interned field ids, sorted ascending, no duplicates.
    ids: Vec<FieldId>,
    /// Bit `i` is set when field id `i` (< 128) is present. The common ECS
    /// fields have the smallest ids, so most lookups are answered from this
    /// word, inside the event itself: absent without touching memory
    /// elsewhere, present at index `popcount(bits below i)` of `vals`.
    low: u128,
    /// `vals[i]` is the value of `ids[i]`.
    vals: Vec<Value>,
    /// `@timestamp` in nanoseconds since the Unix epoch, when known.
    pub timestamp: Option<i64>,
    pub origin: Origin,
    /// The document as it was read, for outputs that must echo it verbatim
    /// (EQL search's `_source`). Only kept by readers of JSON documents.
    pub source: Option<Arc<serde_json::Value>>,
    /// The document's bytes exactly as read (one JSON text), kept instead of
    /// [`Event::source`] by readers asked for a projection; echoed as is.
    pub raw_source: Option<Arc<str>>,
    /// Set by [`Event::for_demand`]: fields it does not want are not kept.
    demand: Option<Arc<Demand>>,
}

impl Event {
    pub fn new(origin: Origin) -> Self {
        Event {
            // a normalised Windows record has ~40 fields: size once, not
            // by repeated growth
            ids: Vec::with_capacity(40),
            vals: Vec::with_capacity(40),
            origin,
            ..Default::default()
        }
    }

    /// An empty event with room for `fields` fields (a projection reads a
    /// handful, a normalised record ~40).
    pub fn with_capacity(origin: Origin, fields: usize) -> Self {
        Event {
            ids: Vec::with_capacity(fields),
            vals: Vec::with_capacity(fields),
            origin,
            ..Default::default()
        }
    }

    /// An empty event that keeps only the fields `demand` wants, until
    /// [`Event::make_whole`]: what a reader builds for a consumer that
    /// reads a few fields.
    pub fn for_demand(origin: Origin, demand: Arc<Demand>) -> Self {
        Event {
            // room for a whole record's fields, as `new`: started smaller,
            // a kept event grows, then its consumer shrinks it, and the
            // peak memory was higher (ask Q1018 on the varied file: 145 MB
            // from 16 fields, 138 from 40)
            ids: Vec::with_capacity(40),
            vals: Vec::with_capacity(40),
            origin,
            demand: Some(demand),
            ..Default::default()
        }
    }

    /// Would this event keep field `id`? (A mapping asks before working
    /// out a costly value.)
    #[inline]
    pub fn wants(&self, id: FieldId) -> bool {
        self.demand.as_ref().is_none_or(|d| d.wants(id))
    }

    /// Keeps every field set from now on.
    pub fn make_whole(&mut self) {
        self.demand = None;
    }

    /// Builds an event from a JSON document, flattening nested objects into
    /// dotted paths. `@timestamp`, when present and parseable, sets
    /// [`Event::timestamp`].
    pub fn from_json(doc: &serde_json::Value, origin: Origin) -> Self {
        let mut ev = Event::new(origin);
        if let serde_json::Value::Object(map) = doc {
            let mut prefix = String::new();
            for (k, v) in map {
                flatten_into(&mut ev, &mut prefix, k, v);
            }
        }
        ev.timestamp = ev.get("@timestamp").and_then(Value::as_timestamp);
        ev
    }

    /// [`Event::from_json`] kept to [`Event::retain_under`]`(fields)`, without
    /// flattening the parts of the document no field named lies in (an
    /// alert's lineage and activity, when a few of its fields are wanted).
    /// [`Event::timestamp`] is still that of `@timestamp`.
    pub fn from_json_under(doc: &serde_json::Value, fields: &[String], origin: Origin) -> Self {
        let mut ev = Event::new(origin);
        if let serde_json::Value::Object(map) = doc {
            let mut prefix = String::new();
            for (k, v) in map {
                if k == "@timestamp" {
                    flatten_into(&mut ev, &mut prefix, k, v);
                } else {
                    flatten_under(&mut ev, &mut prefix, k, v, fields);
                }
            }
        }
        ev.timestamp = ev.get("@timestamp").and_then(Value::as_timestamp);
        ev.retain_under(fields);
        ev
    }

    #[inline]
    fn slot(&self, id: FieldId) -> Result<usize, usize> {
        self.ids.binary_search(&id)
    }

    /// The value of a field by its interned id (see [`field_id`]).
    #[inline]
    pub fn get_id(&self, id: FieldId) -> Option<&Value> {
        let i = id.index();
        if i < LOW_IDS {
            let bit = 1u128 << i;
            if self.low & bit == 0 {
                return None;
            }
            return self.vals.get((self.low & (bit - 1)).count_ones() as usize);
        }
        match self.slot(id) {
            Ok(i) => self.vals.get(i),
            Err(_) => None,
        }
    }

    /// The value at a dotted path.
    #[inline]
    pub fn get(&self, path: &str) -> Option<&Value> {
        self.get_id(find_field(path)?)
    }

    /// The value at a dotted path as a string, if it is a single string.
    pub fn get_str(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(Value::as_str)
    }

    /// The value at a dotted path as an integer (numbers, numeric strings).
    pub fn get_i64(&self, path: &str) -> Option<i64> {
        self.get(path).and_then(Value::as_i64)
    }

    /// The first value at a dotted path (the value itself when it is not
    /// an array) as text: what a `{{field}}` template or a lookup by field
    /// name reads.
    pub fn get_text(&self, path: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.get(path)?.iter().next()?.to_text()
    }

    /// Sets a field; `Value::Null` removes it.
    pub fn set(&mut self, path: &str, value: impl Into<Value>) {
        let value = value.into();
        if value.is_null() {
            self.remove(path);
        } else {
            self.insert_id(field_id(path), value);
        }
    }

    /// Flattens a JSON value found at `path` into fields, as
    /// [`Event::from_json`] does for the values of a document.
    pub fn flatten_json_at(&mut self, path: &str, v: &serde_json::Value) {
        let mut prefix = String::new();
        flatten_into(self, &mut prefix, path, v);
    }

    /// Sets a field by id, `Value::Null` included (JSON's explicit null).
    pub fn insert_id(&mut self, id: FieldId, value: Value) {
        if !self.wants(id) {
            return;
        }
        match self.slot(id) {
            Ok(i) => self.vals[i] = value,
            Err(i) => {
                if self.ids.len() == self.ids.capacity() {
                    // grow both arrays together, so the allocator places
                    // them side by side: a lookup's id and value then share
                    // a page and usually a prefetched cache-line pair
                    let more = self.ids.len().max(12);
                    self.ids.reserve_exact(more);
                    self.vals.reserve_exact(more);
                }
                self.ids.insert(i, id);
                self.vals.insert(i, value);
                if id.index() < LOW_IDS {
                    self.low |= 1u128 << id.index();
                }
            }
        }
    }

    fn get_mut_id(&mut self, id: FieldId) -> Option<&mut Value> {
        match self.slot(id) {
            Ok(i) => self.vals.get_mut(i),
            Err(_) => None,
        }
    }

    /// [`Event::set`] with a key already built: no second allocation.
    /// (Field names are interned: the key is looked up, not kept.)
    pub fn set_owned(&mut self, path: String, value: impl Into<Value>) {
        self.set(&path, value);
    }

    /// Sets a field only when it is not already set.
    pub fn set_default(&mut self, path: &str, value: impl Into<Value>) {
        if !self.contains(path) {
            self.set(path, value);
        }
    }

    pub fn remove(&mut self, path: &str) -> Option<Value> {
        self.remove_id(find_field(path)?)
    }

    /// [`Event::set`] by id (see [`fid!`]): a null value removes the field.
    pub fn set_id(&mut self, id: FieldId, value: impl Into<Value>) {
        // a field the demand leaves out is never held: nothing to convert
        // (most values are text copied out of the record) or remove
        if !self.wants(id) {
            return;
        }
        let value = value.into();
        if value.is_null() {
            self.remove_id(id);
        } else {
            self.insert_id(id, value);
        }
    }

    /// [`Event::remove`] by id.
    pub fn remove_id(&mut self, id: FieldId) -> Option<Value> {
        let i = self.slot(id).ok()?;
        if id.index() < LOW_IDS {
            self.low &= !(1u128 << id.index());
        }
        self.ids.remove(i);
        Some(self.vals.remove(i))
    }

    /// Keeps only the fields for which `keep(path)` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.retain_ids(|id| keep(field_name(id)));
    }

    /// [`Event::retain`] by field id.
    pub fn retain_ids(&mut self, mut keep: impl FnMut(FieldId) -> bool) {
        let mut w = 0;
        for r in 0..self.ids.len() {
            if keep(self.ids[r]) {
                self.ids.swap(w, r);
                self.vals.swap(w, r);
                w += 1;
            }
        }
        self.ids.truncate(w);
        self.vals.truncate(w);
        self.low = self
            .ids
            .iter()
            .filter(|id| id.index() < LOW_IDS)
            .fold(0, |m, id| m | 1u128 << id.index());
        self.ids.shrink_to_fit();
        self.vals.shrink_to_fit();
    }

    /// Keeps only the fields that are one of `fields` or lie under one
    /// (`process` keeps `process.name`; a name ending in `.` keeps every
    /// path it begins).
    pub fn retain_under(&mut self, fields: &[String]) {
        self.retain(|path| is_under(path, fields));
    }

    /// A copy of the event with only the fields `keep` accepts (its time,
    /// origin and source as they are): [`Clone`] then [`Event::retain_ids`],
    /// without copying what is dropped.
    pub fn projected(&self, mut keep: impl FnMut(FieldId) -> bool) -> Event {
        let mut ids = Vec::new();
        let mut vals = Vec::new();
        let mut low = 0u128;
        for (&id, v) in self.ids.iter().zip(&self.vals) {
            if keep(id) {
                ids.push(id);
                vals.push(v.clone());
                if id.index() < LOW_IDS {
                    low |= 1u128 << id.index();
                }
            }
        }
        Event {
            ids,
            low,
            vals,
            timestamp: self.timestamp,
            origin: self.origin.clone(),
            source: self.source.clone(),
            raw_source: self.raw_source.clone(),
            demand: None,
        }
    }

    pub fn contains(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// True when the (possibly multi-valued) field has a string value equal
    /// to `want`, ignoring ASCII case. Handy for `event.category` tests.
    pub fn has_value(&self, path: &str, want: &str) -> bool {
        find_field(path).is_some_and(|id| self.has_value_id(id, want))
    }

    /// [`Event::has_value`] by id (with [`fid!`] where it is called often).
    pub fn has_value_id(&self, id: FieldId, want: &str) -> bool {
        self.get_id(id).is_some_and(|v| {
            v.iter()
                .any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(want)))
        })
    }

    /// Iterates over all `(path, value)` pairs, in no particular order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.ids
            .iter()
            .zip(&self.vals)
            .map(|(&id, v)| (field_name(id), v))
    }

    /// Iterates over all `(id, value)` pairs, ids ascending.
    pub fn fields_by_id(&self) -> impl Iterator<Item = (FieldId, &Value)> {
        self.ids.iter().copied().zip(&self.vals)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Releases spare capacity (events held for later, such as matches).
    pub fn shrink_to_fit(&mut self) {
        self.ids.shrink_to_fit();
        self.vals.shrink_to_fit();
    }

    /// Sets `@timestamp` (field and [`Event::timestamp`]) from nanoseconds.
    pub fn set_timestamp(&mut self, nanos: i64) {
        self.timestamp = Some(nanos);
        self.insert_id(field_id("@timestamp"), Value::Timestamp(nanos));
    }

    /// The event as a nested JSON document (ECS shape), keys sorted.
    pub fn to_json(&self) -> serde_json::Value {
        let mut root = serde_json::Map::new();
        let mut fields: Vec<(&str, &Value)> = self.fields().collect();
        fields.sort_unstable_by_key(|(k, _)| *k);
        for (key, v) in fields {
            insert_nested(&mut root, key, v.to_json());
        }
        serde_json::Value::Object(root)
    }
}

/// Ids below this are tracked in [`Event`]'s presence bitmap.
const LOW_IDS: usize = 128;

/// Flattened fields collected before they go into an event (the elements
/// of an array of objects).
type Flat = Vec<(FieldId, Value)>;

/// Where [`flatten_into`] puts leaves.
trait Leaves {
    fn put(&mut self, id: FieldId, v: Value);
    fn put_multi(&mut self, id: FieldId, v: Value);
}

impl Leaves for Event {
    fn put(&mut self, id: FieldId, v: Value) {
        self.insert_id(id, v);
    }
    fn put_multi(&mut self, id: FieldId, v: Value) {
        match self.get_mut_id(id) {
            None => self.insert_id(id, v),
            Some(existing) => merge_multi(existing, v),
        }
    }
}

impl Leaves for Flat {
    fn put(&mut self, id: FieldId, v: Value) {
        match self.iter_mut().find(|(k, _)| *k == id) {
            Some(slot) => slot.1 = v,
            None => self.push((id, v)),
        }
    }
    fn put_multi(&mut self, id: FieldId, v: Value) {
        match self.iter_mut().find(|(k, _)| *k == id) {
            Some(slot) => merge_multi(&mut slot.1, v),
            None => self.push((id, v)),
        }
    }
}

fn merge_multi(existing: &mut Value, val: Value) {
    match existing {
        Value::Array(vs) => match val {
            Value::Array(more) => vs.extend(more),
            v => vs.push(v),
        },
        existing => {
            let first = std::mem::replace(existing, Value::Null);
            let mut vs = vec![first];
            match val {
                Value::Array(more) => vs.extend(more),
                v => vs.push(v),
            }
            *existing = Value::Array(vs);
        }
    }
}

/// Whether `path` is one of `fields` or lies under one ([`Event::retain_under`]).
pub fn is_under(path: &str, fields: &[String]) -> bool {
    fields.iter().any(|f| {
        path.strip_prefix(f.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || f.ends_with('.'))
    })
}

fn flatten_into<L: Leaves>(out: &mut L, prefix: &mut String, key: &str, v: &serde_json::Value) {
    let len = prefix.len();
    if !prefix.is_empty() {
        prefix.push('.');
    }
    prefix.push_str(key);
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map {
                flatten_into(out, prefix, k, child);
            }
        }
        serde_json::Value::Array(items) if items.iter().any(|i| i.is_object()) => {
            // Arrays of objects: each leaf path collects the values of every
            // element, as Elasticsearch's object (non-nested) mapping does.
            let mut sub: Flat = Vec::new();
            for item in items {
                match item {
                    serde_json::Value::Object(map) => {
                        let mut p = String::new();
                        for (k, child) in map {
                            flatten_into(&mut sub, &mut p, k, child);
                        }
                    }
                    other => out.put_multi(field_id(prefix), Value::from_json(other)),
                }
                for (k, val) in sub.drain(..) {
                    let path = format!("{prefix}.{}", field_name(k));
                    out.put_multi(field_id(&path), val);
                }
            }
        }
        other => {
            let val = Value::from_json(other);
            if !val.is_null() || matches!(other, serde_json::Value::Null) {
                // explicit nulls are kept so `field == null` can see them
                out.put(field_id(prefix), val);
            }
        }
    }
    prefix.truncate(len);
}

/// [`flatten_into`] of only what may lie under one of `fields` (by the
/// text of its path: a superset of what [`Event::retain_under`] keeps).
fn flatten_under(
    ev: &mut Event,
    prefix: &mut String,
    key: &str,
    v: &serde_json::Value,
    fields: &[String],
) {
    let len = prefix.len();
    if !prefix.is_empty() {
        prefix.push('.');
    }
    prefix.push_str(key);
    let under = fields.iter().any(|f| prefix.starts_with(f.as_str()));
    let towards = fields.iter().any(|f| f.starts_with(prefix.as_str()));
    match v {
        serde_json::Value::Object(map) if towards && !under => {
            for (k, child) in map {
                flatten_under(ev, prefix, k, child, fields);
            }
            prefix.truncate(len);
        }
        _ if under || towards => {
            prefix.truncate(len);
            flatten_into(ev, prefix, key, v);
        }
        _ => prefix.truncate(len),
    }
}

fn insert_nested(
    root: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    v: serde_json::Value,
) {
    let mut parts = key.split('.').peekable();
    let mut cur = root;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(part.to_string(), v);
            return;
        }
        match cur.get(part) {
            Some(e) if !e.is_object() => {
                // a leaf and an object share a name (`a` and `a.b`): keep the
                // leaf and store the rest under its full dotted key.
                let rest: Vec<&str> = parts.collect();
                cur.insert(format!("{part}.{}", rest.join(".")), v);
                return;
            }
            // the key is made only for a new object (most fields go into
            // one made already: `process` for every `process.*`)
            None => {
                cur.insert(
                    part.to_string(),
                    serde_json::Value::Object(Default::default()),
                );
            }
            Some(_) => {}
        }
        cur = match cur.get_mut(part) {
            Some(serde_json::Value::Object(m)) => m,
            _ => return,
        };
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn from_json_under_is_from_json_retained() {
        let doc = serde_json::json!({
            "@timestamp": "2026-11-30T06:00:00Z",
            "process": {"name": "a.exe", "parent": {"name": "b.exe"}, "args": ["x", "y"]},
            "processor": {"id": 1},
            "kibana.alert.rule.name": "dotted",
            "kibana": {"alert": {"severity": "high", "rule": {"tags": ["t"]}}},
            "quarry": {"lineage": {"children": [{"name": "c"}, {"name": "d"}]}, "origin": "f:1"},
            "host": {"name": "h", "os": {"type": "windows"}},
            "user": {"name": "u"}
        });
        for fields in [
            vec![
                "process".to_string(),
                "quarry.origin".into(),
                "host.".into(),
            ],
            vec![
                "kibana.alert.rule.name".into(),
                "quarry.lineage.children".into(),
            ],
            vec![
                "process.parent.name".into(),
                "kibana.alert".into(),
                "nothing".into(),
            ],
            vec![],
        ] {
            let mut whole = super::Event::from_json(&doc, Default::default());
            whole.retain_under(&fields);
            let under = super::Event::from_json_under(&doc, &fields, Default::default());
            let names = |e: &super::Event| {
                e.fields()
                    .map(|(f, v)| format!("{f}={v:?}"))
                    .collect::<Vec<_>>()
            };
            assert_eq!(names(&under), names(&whole), "{fields:?}");
            assert_eq!(under.timestamp, whole.timestamp);
        }
    }

    #[test]
    fn retain_under_keeps_the_fields_named_and_what_lies_under_them() {
        let mut ev = super::Event::default();
        for f in [
            "process",
            "process.name",
            "process.parent.name",
            "processor.id",
            "user.name",
            "user.domain",
            "host.os.type",
            "hostname",
        ] {
            ev.set(f, "x");
        }
        ev.retain_under(&["process".into(), "user.name".into(), "host.".into()]);
        let mut kept: Vec<&str> = ev.fields().map(|(f, _)| f).collect();
        kept.sort_unstable();
        assert_eq!(
            kept,
            [
                "host.os.type",
                "process",
                "process.name",
                "process.parent.name",
                "user.name"
            ]
        );
    }

    #[test]
    fn entity_eq_agrees_with_entity_key() {
        let ids = [
            "{a1b2-C3}",
            "A1B2-c3",
            " a1b2-c3 ",
            "{a1b2-c3",
            "{xyz-Q}",
            "XYZ-Q",
            "xyz-q",
            "proc-1",
            "PROC-1",
            "",
            "{}",
            "{ab}",
            "AB",
            "ab",
            "é{}",
            "{é}",
            "É",
        ];
        for a in ids {
            for b in ids {
                assert_eq!(
                    entity_eq(a, b),
                    entity_key(a) == entity_key(b),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_and_rebuilds() {
        let doc = json!({"@timestamp":"2021-12-04T21:19:10.604Z","process":{"name":"a.exe","pid":4,"args":["a","b"]},"event":{"category":["process"]}});
        let ev = Event::from_json(&doc, Origin::default());
        assert_eq!(ev.get_str("process.name"), Some("a.exe"));
        assert_eq!(ev.get_i64("process.pid"), Some(4));
        assert!(ev.has_value("event.category", "process"));
        assert_eq!(ev.timestamp, Some(1_638_652_750_604_000_000));
        assert_eq!(ev.to_json()["process"]["args"], json!(["a", "b"]));
    }

    #[test]
    fn arrays_of_objects_become_multi_valued() {
        let doc = json!({"dns":{"answers":[{"data":"1.2.3.4","type":"A"},{"data":"5.6.7.8","type":"A"}]}});
        let ev = Event::from_json(&doc, Origin::default());
        assert_eq!(
            ev.get("dns.answers.data"),
            Some(&Value::Array(vec!["1.2.3.4".into(), "5.6.7.8".into()]))
        );
    }

    #[test]
    fn explicit_null_is_kept_missing_is_absent() {
        let ev = Event::from_json(&json!({"a":null}), Origin::default());
        assert_eq!(ev.get("a"), Some(&Value::Null));
        assert_eq!(ev.get("b"), None);
    }

    #[test]
    fn text_is_the_first_value() {
        let ev = Event::from_json(
            &json!({"a": ["x", "y"], "n": 7, "e": [], "z": null}),
            Origin::default(),
        );
        assert_eq!(ev.get_text("a").as_deref(), Some("x"));
        assert_eq!(ev.get_text("n").as_deref(), Some("7"));
        assert_eq!(ev.get_text("e"), None);
        assert_eq!(ev.get_text("z"), None);
        assert_eq!(ev.get_text("missing"), None);
    }
}
