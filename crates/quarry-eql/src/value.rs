//! Values during evaluation: borrowed from the event where possible, with
//! SQL-style null and multi-valued fields.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq)]
pub enum V<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    /// Nanoseconds since the epoch (date fields, `@timestamp`).
    Date(i64),
    /// A multi-valued field: a predicate holds when any value satisfies it.
    Many(Vec<V<'a>>),
}

impl<'a> V<'a> {
    pub fn is_null(&self) -> bool {
        matches!(self, V::Null)
    }

    pub fn from_event(v: &'a quarry_event::Value) -> V<'a> {
        use quarry_event::Value as E;
        match v {
            E::Null => V::Null,
            E::Bool(b) => V::Bool(*b),
            E::Int(i) => V::Int(*i),
            E::Float(f) => V::Float(*f),
            E::Str(s) => V::Str(Cow::Borrowed(s.as_str())),
            E::Timestamp(t) => V::Date(*t),
            E::Ip(ip) => V::Str(Cow::Owned(ip.to_string())),
            E::Array(items) => match items.len() {
                0 => V::Null,
                1 => V::from_event(&items[0]),
                _ => V::Many(items.iter().map(V::from_event).collect()),
            },
        }
    }

    /// A copy that borrows this value's strings (no allocation for scalars).
    pub fn borrowed(&self) -> V<'_> {
        match self {
            V::Str(s) => V::Str(Cow::Borrowed(s)),
            V::Many(vs) => V::Many(vs.iter().map(V::borrowed).collect()),
            V::Null => V::Null,
            V::Bool(b) => V::Bool(*b),
            V::Int(i) => V::Int(*i),
            V::Float(f) => V::Float(*f),
            V::Date(d) => V::Date(*d),
        }
    }

    pub fn into_owned(self) -> V<'static> {
        match self {
            V::Null => V::Null,
            V::Bool(b) => V::Bool(b),
            V::Int(i) => V::Int(i),
            V::Float(f) => V::Float(f),
            V::Str(s) => V::Str(Cow::Owned(s.into_owned())),
            V::Date(d) => V::Date(d),
            V::Many(vs) => V::Many(vs.into_iter().map(V::into_owned).collect()),
        }
    }

    /// The text of a scalar, as `string()` renders it.
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            V::Str(s) => Some(Cow::Borrowed(s)),
            V::Int(i) => Some(Cow::Owned(i.to_string())),
            V::Float(f) => Some(Cow::Owned(fmt_float(*f))),
            V::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            V::Date(d) => Some(Cow::Owned(quarry_event::format_timestamp(*d))),
            V::Null | V::Many(_) => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            V::Int(i) => Some(*i as f64),
            V::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The values to test: the elements of a multi-valued field, or itself.
    pub fn each(&self) -> &[V<'a>] {
        match self {
            V::Many(vs) => vs,
            other => std::slice::from_ref(other),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            V::Null => serde_json::Value::Null,
            V::Bool(b) => (*b).into(),
            V::Int(i) => (*i).into(),
            V::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or_default(),
            V::Str(s) => serde_json::Value::String(s.to_string()),
            V::Date(d) => serde_json::Value::String(quarry_event::format_timestamp(*d)),
            V::Many(vs) => serde_json::Value::Array(vs.iter().map(V::to_json).collect()),
        }
    }
}

fn fmt_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::V;
    use quarry_event::Value;

    #[test]
    fn from_event_values() {
        assert!(V::from_event(&Value::Null).is_null());
        let one = Value::Array(vec![Value::Str("a".into())]);
        assert!(matches!(V::from_event(&one), V::Str(s) if s == "a"));
    }
}
