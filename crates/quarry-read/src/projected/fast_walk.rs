//! The projected walk without serde, for the common line (see
//! [`fast_walk`]); serde's walk decides every line it is unsure of.

use super::{PathKind, Place, Projection};
use quarry_ecs::format::is_marker_key;
use quarry_event::{Event, Value};

/// The walk without serde, for the common line: UTF-8, no `\u` escape,
/// and at the wanted paths only strings, integers, booleans, nulls and
/// arrays of them. It builds exactly what serde's walk builds (a property
/// test compares the two); `None` means "not sure" (also for any line
/// serde's walk would refuse), and serde's walk decides.
pub(super) fn fast_walk<'a>(
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
