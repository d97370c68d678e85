//! Typed field values.
//!
//! Strings are [`Str`], `compact_str`'s `CompactString`: 24 bytes, the same
//! footprint as a `String`, holding up to 24 bytes of UTF-8 inline — and most
//! ECS values are short (`process`, `start`, `windows`, `cmd.exe`, host
//! names, pids as text). A value read during rule evaluation then sits in the
//! event's value array itself instead of behind one more heap pointer (one
//! cache miss per field on events that do not fit in cache). Chosen over
//! `smol_str` (immutable, and its heap form is an `Arc`, an atomic count per
//! clone) and over an own small-string type (`compact_str` is mature, fuzzed,
//! and `Deref<Target = str>`, so code that used the old `Box<str>` as `&str`
//! keeps compiling).

use crate::time::{format_timestamp, parse_timestamp};
use std::borrow::Cow;
use std::net::IpAddr;

/// A string value: inline up to 24 bytes, on the heap beyond.
pub type Str = compact_str::CompactString;

/// A field value. Multi-valued fields are [`Value::Array`]s of scalars.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Str),
    /// Nanoseconds since the Unix epoch; rendered as ISO-8601 UTC.
    Timestamp(i64),
    Ip(IpAddr),
    Array(Vec<Value>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// A textual rendering of a scalar (strings as-is, numbers, timestamps
    /// as ISO-8601, ips); `None` for null and arrays.
    pub fn to_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Str(s) => Some(Cow::Borrowed(s.as_str())),
            Value::Int(i) => Some(Cow::Owned(i.to_string())),
            Value::Float(f) => Some(Cow::Owned(f.to_string())),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Value::Timestamp(t) => Some(Cow::Owned(format_timestamp(*t))),
            Value::Ip(ip) => Some(Cow::Owned(ip.to_string())),
            Value::Null | Value::Array(_) => None,
        }
    }

    /// An integer from a number or a decimal/`0x` hex string.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.is_finite() => Some(*f as i64),
            Value::Str(s) => parse_int(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Nanoseconds since the epoch from a timestamp, an ISO-8601 string or
    /// epoch milliseconds.
    pub fn as_timestamp(&self) -> Option<i64> {
        match self {
            Value::Timestamp(t) => Some(*t),
            Value::Int(ms) => ms.checked_mul(1_000_000),
            Value::Float(ms) => Some((*ms * 1e6) as i64),
            Value::Str(s) => parse_timestamp(s),
            _ => None,
        }
    }

    /// The scalar values: the elements of an array, or the value itself.
    pub fn iter(&self) -> std::slice::Iter<'_, Value> {
        match self {
            Value::Array(vs) => vs.iter(),
            other => std::slice::from_ref(other).iter(),
        }
    }

    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => match n.as_u64() {
                    Some(u) => Value::Float(u as f64),
                    None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
                },
            },
            serde_json::Value::String(s) => Value::Str(Str::from(s.as_str())),
            serde_json::Value::Array(items) => {
                Value::Array(items.iter().map(Value::from_json).collect())
            }
            // Objects inside arrays are flattened by Event::from_json; a
            // stray one here is kept as its JSON text rather than dropped.
            serde_json::Value::Object(_) => Value::Str(Str::from(v.to_string())),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::Timestamp(t) => serde_json::Value::String(format_timestamp(*t)),
            Value::Ip(ip) => serde_json::Value::String(ip.to_string()),
            Value::Array(vs) => serde_json::Value::Array(vs.iter().map(Value::to_json).collect()),
        }
    }
}

/// Parses a decimal or `0x`-prefixed hexadecimal integer.
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()
    } else {
        s.parse().ok()
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(Str::from(s))
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<IpAddr> for Value {
    fn from(ip: IpAddr) -> Self {
        Value::Ip(ip)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(vs: Vec<T>) -> Self {
        Value::Array(vs.into_iter().map(Into::into).collect())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_from_hex_and_decimal_strings() {
        assert_eq!(Value::from("0x52c").as_i64(), Some(0x52c));
        assert_eq!(Value::from(" 42 ").as_i64(), Some(42));
        assert_eq!(Value::from("x").as_i64(), None);
    }
}
