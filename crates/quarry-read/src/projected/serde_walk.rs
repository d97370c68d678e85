//! The projected walk on serde: descends only into the objects that lead
//! to a wanted path and skips every other value without building it.

use super::{NO_ORIGIN, PATH, PathKind, Projected, Projection, finish};
use quarry_ecs::format::is_marker_key;
use quarry_event::{Event, FieldId, Origin, Value};
use rustc_hash::FxHasher;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::hash::Hasher;

/// The walk on serde: every line valid JSON can hold.
pub(super) fn serde_walk(line: &[u8], proj: &Projection) -> Option<Projected> {
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
                && is_marker_key(&path.as_bytes()[base..])
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
