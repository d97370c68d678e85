//! quarry's event model: one ECS document per event, shared by every reader,
//! the process lineage, the EQL engine and the questions.
//!
//! An [`Event`] is a flat map from dotted ECS field paths (`process.parent.name`)
//! to typed [`Value`]s. Flat keys make field lookup a single hash probe, which is
//! what the EQL engine does millions of times a second; nested JSON is flattened
//! on the way in ([`Event::from_json`]) and rebuilt on the way out
//! ([`Event::to_json`]). Arrays of objects become multi-valued leaf fields, the
//! way Elasticsearch indexes them.

mod time;
mod value;

pub use time::{format_timestamp, parse_timestamp};
pub use value::Value;

use rustc_hash::FxHashMap;
use std::fmt;
use std::sync::Arc;

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
    fields: FxHashMap<Box<str>, Value>,
    /// `@timestamp` in nanoseconds since the Unix epoch, when known.
    pub timestamp: Option<i64>,
    pub origin: Origin,
    /// The document as it was read, for outputs that must echo it verbatim
    /// (EQL search's `_source`). Only kept by readers of JSON documents.
    pub source: Option<Arc<serde_json::Value>>,
}

impl Event {
    pub fn new(origin: Origin) -> Self {
        Event {
            // a normalised Windows record has ~40 fields: size once, not
            // by repeated rehashing
            fields: FxHashMap::with_capacity_and_hasher(48, Default::default()),
            origin,
            ..Default::default()
        }
    }

    /// An empty event with room for `fields` fields without rehashing.
    pub fn with_capacity(origin: Origin, fields: usize) -> Self {
        Event {
            fields: FxHashMap::with_capacity_and_hasher(fields, Default::default()),
            origin,
            ..Default::default()
        }
    }

    /// Builds an event from a JSON document, flattening nested objects into
    /// dotted paths. `@timestamp`, when present and parseable, sets
    /// [`Event::timestamp`].
    pub fn from_json(doc: &serde_json::Value, origin: Origin) -> Self {
        let mut ev = Event::new(origin);
        if let serde_json::Value::Object(map) = doc {
            let mut prefix = String::new();
            for (k, v) in map {
                flatten_into(&mut ev.fields, &mut prefix, k, v);
            }
        }
        ev.timestamp = ev.get("@timestamp").and_then(Value::as_timestamp);
        ev
    }

    /// The value at a dotted path.
    #[inline]
    pub fn get(&self, path: &str) -> Option<&Value> {
        self.fields.get(path)
    }

    /// The value at a dotted path as a string, if it is a single string.
    pub fn get_str(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(Value::as_str)
    }

    /// The value at a dotted path as an integer (numbers, numeric strings).
    pub fn get_i64(&self, path: &str) -> Option<i64> {
        self.get(path).and_then(Value::as_i64)
    }

    /// Sets a field; `Value::Null` removes it.
    pub fn set(&mut self, path: &str, value: impl Into<Value>) {
        let value = value.into();
        if value.is_null() {
            self.fields.remove(path);
        } else {
            self.fields.insert(path.into(), value);
        }
    }

    /// [`Event::set`] with a key already built: no second allocation.
    pub fn set_owned(&mut self, path: String, value: impl Into<Value>) {
        let value = value.into();
        if value.is_null() {
            self.fields.remove(path.as_str());
        } else {
            self.fields.insert(path.into_boxed_str(), value);
        }
    }

    /// Sets a field only when it is not already set.
    pub fn set_default(&mut self, path: &str, value: impl Into<Value>) {
        if !self.fields.contains_key(path) {
            self.set(path, value);
        }
    }

    pub fn remove(&mut self, path: &str) -> Option<Value> {
        self.fields.remove(path)
    }

    /// Keeps only the fields for which `keep(path)` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.fields.retain(|k, _| keep(k));
        self.fields.shrink_to_fit();
    }

    pub fn contains(&self, path: &str) -> bool {
        self.fields.contains_key(path)
    }

    /// True when the (possibly multi-valued) field has a string value equal
    /// to `want`, ignoring ASCII case. Handy for `event.category` tests.
    pub fn has_value(&self, path: &str, want: &str) -> bool {
        match self.get(path) {
            Some(Value::Array(vs)) => vs
                .iter()
                .any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(want))),
            Some(v) => v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(want)),
            None => false,
        }
    }

    /// Iterates over all `(path, value)` pairs, in no particular order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.fields.iter().map(|(k, v)| (&**k, v))
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Sets `@timestamp` (field and [`Event::timestamp`]) from nanoseconds.
    pub fn set_timestamp(&mut self, nanos: i64) {
        self.timestamp = Some(nanos);
        self.fields
            .insert("@timestamp".into(), Value::Timestamp(nanos));
    }

    /// The event as a nested JSON document (ECS shape), keys sorted.
    pub fn to_json(&self) -> serde_json::Value {
        let mut root = serde_json::Map::new();
        let mut keys: Vec<&str> = self.fields.keys().map(|k| &**k).collect();
        keys.sort_unstable();
        for key in keys {
            let v = self.fields[key].to_json();
            insert_nested(&mut root, key, v);
        }
        serde_json::Value::Object(root)
    }
}

fn flatten_into(
    out: &mut FxHashMap<Box<str>, Value>,
    prefix: &mut String,
    key: &str,
    v: &serde_json::Value,
) {
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
            let mut sub: FxHashMap<Box<str>, Value> = FxHashMap::default();
            for item in items {
                match item {
                    serde_json::Value::Object(map) => {
                        let mut p = String::new();
                        for (k, child) in map {
                            flatten_into(&mut sub, &mut p, k, child);
                        }
                    }
                    other => push_multi(out, prefix, Value::from_json(other)),
                }
                for (k, val) in sub.drain() {
                    let path = format!("{prefix}.{k}");
                    push_multi(out, &path, val);
                }
            }
        }
        other => {
            let val = Value::from_json(other);
            if !val.is_null() || matches!(other, serde_json::Value::Null) {
                // explicit nulls are kept so `field == null` can see them
                out.insert(prefix.as_str().into(), val);
            }
        }
    }
    prefix.truncate(len);
}

fn push_multi(out: &mut FxHashMap<Box<str>, Value>, path: &str, val: Value) {
    match out.get_mut(path) {
        None => {
            out.insert(path.into(), val);
        }
        Some(Value::Array(existing)) => match val {
            Value::Array(more) => existing.extend(more),
            v => existing.push(v),
        },
        Some(existing) => {
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
        if cur.get(part).is_some_and(|e| !e.is_object()) {
            // a leaf and an object share a name (`a` and `a.b`): keep the
            // leaf and store the rest under its full dotted key.
            let rest: Vec<&str> = parts.collect();
            cur.insert(format!("{part}.{}", rest.join(".")), v);
            return;
        }
        let entry = cur
            .entry(part.to_string())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        cur = match entry {
            serde_json::Value::Object(m) => m,
            _ => return,
        };
    }
}

#[cfg(test)]
mod tests {
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
}
