//! Evaluation of a compiled expression over one event, with
//! Elasticsearch's rules: case per operator, any-value matching on
//! multi-valued fields, `!=` / `not :` / `not in` true on a missing field,
//! SQL null propagation through functions and arithmetic.

use crate::ast::CmpOp;
use crate::compile::{C, FieldKind, FieldRef, Func};
use crate::value::V;
use quarry_event::{Event, parse_timestamp};
use std::borrow::Cow;
use std::cmp::Ordering;

pub fn type_name(v: &V) -> &'static str {
    match v {
        V::Null => "null",
        V::Bool(_) => "boolean",
        V::Int(_) | V::Float(_) => "number",
        V::Str(_) => "string",
        V::Date(_) => "date",
        V::Many(_) => "array",
    }
}

/// Is the filter satisfied? Null counts as false.
#[inline]
pub fn truthy(c: &C, ev: &Event) -> bool {
    matches!(eval(c, ev), V::Bool(true))
}

pub fn field<'a>(f: &FieldRef, ev: &'a Event) -> V<'a> {
    if f.kind == FieldKind::AnyText {
        return any_text(ev);
    }
    let v = match ev.get_id(f.id) {
        None => return V::Null,
        Some(quarry_event::Value::Null) => return f.null_value().cloned().unwrap_or(V::Null),
        Some(v) => V::from_event(v),
    };
    if f.kind == FieldKind::Date {
        return as_date(v, f.date_formats());
    }
    v
}

/// Every string value of the event, as one multi-valued field (the
/// pseudo-field [`crate::compile::ANY_TEXT`]).
fn any_text(ev: &Event) -> V<'_> {
    fn push<'a>(v: &'a quarry_event::Value, out: &mut Vec<V<'a>>) {
        match v {
            quarry_event::Value::Str(s) => out.push(V::Str(Cow::Borrowed(s.as_str()))),
            quarry_event::Value::Array(items) => items.iter().for_each(|x| push(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (_, v) in ev.fields_by_id() {
        push(v, &mut out);
    }
    match out.len() {
        0 => V::Null,
        1 => out.pop().unwrap_or(V::Null),
        _ => V::Many(out),
    }
}

fn as_date<'a>(v: V<'a>, formats: &[String]) -> V<'a> {
    match v {
        V::Int(ms) => V::Date(ms.saturating_mul(1_000_000)),
        V::Float(ms) => V::Date((ms * 1e6) as i64),
        // Elasticsearch's default date format: ISO-8601 or epoch millis
        V::Str(s) => match parse_timestamp(&s)
            .or_else(|| {
                s.trim()
                    .parse::<i64>()
                    .ok()
                    .map(|ms| ms.saturating_mul(1_000_000))
            })
            .or_else(|| formats.iter().find_map(|f| parse_with_format(&s, f)))
        {
            Some(t) => V::Date(t),
            None => V::Str(s),
        },
        V::Many(vs) => V::Many(vs.into_iter().map(|x| as_date(x, formats)).collect()),
        other => other,
    }
}

/// Parses a date with a Java-style pattern of `yyyy MM dd HH mm ss SSS`
/// and literal separators (the custom formats index mappings declare).
fn parse_with_format(s: &str, fmt: &str) -> Option<i64> {
    let (mut y, mut mo, mut d, mut h, mut mi, mut se, mut ms) = (1970, 1, 1, 0, 0, 0, 0);
    let (fb, sb) = (fmt.as_bytes(), s.trim().as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < fb.len() {
        let c = fb[i];
        let run = fb[i..].iter().take_while(|&&x| x == c).count();
        if c.is_ascii_alphabetic() {
            let digits = sb.get(j..j + run)?;
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let n: i64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
            match c {
                b'y' => y = n,
                b'M' => mo = n,
                b'd' => d = n,
                b'H' => h = n,
                b'm' => mi = n,
                b's' => se = n,
                b'S' => ms = n,
                _ => return None,
            }
            j += run;
        } else {
            if sb.get(j..j + run)? != &fb[i..i + run] {
                return None;
            }
            j += run;
        }
        i += run;
    }
    if j != sb.len() {
        return None;
    }
    let iso = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}.{ms:03}Z");
    parse_timestamp(&iso)
}

/// Whether the text of any value of `v` (each value of a multi-valued
/// field) satisfies `hit`: what every pattern test (glob, wildcard, regex)
/// asks of its left side.
#[inline]
fn some_text(v: &V, hit: impl Fn(&str) -> bool) -> bool {
    v.each().iter().any(|x| x.text().is_some_and(|s| hit(&s)))
}

pub fn eval<'a>(c: &'a C, ev: &'a Event) -> V<'a> {
    match c {
        C::Const(v) => v.borrowed(),
        C::Field(f) => field(f, ev),
        C::Not(x) => match eval(x, ev) {
            V::Bool(b) => V::Bool(!b),
            _ => V::Null,
        },
        C::And(a, b) => match eval(a, ev) {
            V::Bool(false) => V::Bool(false),
            va => match (va, eval(b, ev)) {
                (_, V::Bool(false)) => V::Bool(false),
                (V::Bool(true), V::Bool(true)) => V::Bool(true),
                _ => V::Null,
            },
        },
        C::Or(a, b) => match eval(a, ev) {
            V::Bool(true) => V::Bool(true),
            va => match (va, eval(b, ev)) {
                (_, V::Bool(true)) => V::Bool(true),
                (V::Bool(false), V::Bool(false)) => V::Bool(false),
                _ => V::Null,
            },
        },
        C::Neg(x) => match eval(x, ev) {
            V::Int(i) => V::Int(i.wrapping_neg()),
            V::Float(f) => V::Float(-f),
            _ => V::Null,
        },
        C::Arith(op, a, b) => arith(*op, &eval(a, ev), &eval(b, ev)),
        C::Cmp {
            op,
            lhs,
            rhs,
            version,
        } => compare(*op, &eval(lhs, ev), &eval(rhs, ev), *version),
        C::Glob { lhs, pats, negated } => {
            let hit = some_text(&eval(lhs, ev), |s| pats.matches(s));
            V::Bool(hit != *negated)
        }
        C::Regex { lhs, set, negated } => {
            let hit = some_text(&eval(lhs, ev), |s| set.iter().any(|r| r.is_match(s)));
            V::Bool(hit != *negated)
        }
        C::In {
            lhs,
            items,
            insensitive,
            negated,
        } => {
            let v = eval(lhs, ev);
            let hit = v
                .each()
                .iter()
                .any(|x| !x.is_null() && items.iter().any(|i| equal(x, i, *insensitive)));
            V::Bool(hit != *negated)
        }
        C::Call {
            func,
            insensitive,
            args,
        } => call(*func, *insensitive, args, ev),
        C::Fields(f) => {
            let (pat, memo) = &**f;
            let mut vals: Vec<V> = Vec::new();
            for (id, v) in ev.fields_by_id() {
                if memo.holds(id, |name| pat.matches(name)) {
                    match V::from_event(v) {
                        V::Null => {}
                        V::Many(vs) => vals.extend(vs),
                        x => vals.push(x),
                    }
                }
            }
            match vals.len() {
                0 => V::Null,
                1 => vals.pop().unwrap_or(V::Null),
                _ => V::Many(vals),
            }
        }
        C::Wild { lhs, pats, negated } => {
            let hit = some_text(&eval(lhs, ev), |s| pats.iter().any(|p| p.matches(s)));
            V::Bool(hit != *negated)
        }
        C::Text {
            lhs,
            analyzer,
            query,
            pats,
            negated,
        } => {
            let v = eval(lhs, ev);
            let hit = v.each().iter().any(|x| {
                x.text().is_some_and(|s| {
                    let toks = analyzer.tokens(&s);
                    pats.iter().any(|p| p.matches(*query, &toks))
                })
            });
            V::Bool(hit != *negated)
        }
    }
}

fn compare(op: CmpOp, a: &V, b: &V, version: bool) -> V<'static> {
    match op {
        CmpOp::Eq | CmpOp::Ne => {
            let eq = match (a, b) {
                (V::Null, V::Null) => true,
                (V::Null, _) | (_, V::Null) => false,
                _ => a
                    .each()
                    .iter()
                    .any(|x| b.each().iter().any(|y| equal(x, y, false))),
            };
            V::Bool(eq == (op == CmpOp::Eq))
        }
        _ => {
            if a.is_null() || b.is_null() {
                return V::Null;
            }
            let hit = a.each().iter().any(|x| {
                b.each().iter().any(|y| {
                    let ord = if version {
                        version_cmp(x, y)
                    } else {
                        order(x, y)
                    };
                    ord.is_some_and(|o| match op {
                        CmpOp::Lt => o == Ordering::Less,
                        CmpOp::Le => o != Ordering::Greater,
                        CmpOp::Gt => o == Ordering::Greater,
                        _ => o != Ordering::Less,
                    })
                })
            });
            V::Bool(hit)
        }
    }
}

/// Equality of two scalars; strings compare case-sensitively unless
/// `insensitive`; numbers by value; dates against ISO strings or epoch ms.
pub fn equal(a: &V, b: &V, insensitive: bool) -> bool {
    match (a, b) {
        (V::Str(x), V::Str(y)) => {
            if insensitive {
                x.eq_ignore_ascii_case(y) || (!x.is_ascii() && x.to_lowercase() == y.to_lowercase())
            } else {
                x == y
            }
        }
        (V::Null, V::Null) => true,
        (V::Null, _) | (_, V::Null) => false,
        _ => order(a, b) == Some(Ordering::Equal),
    }
}

/// Order of two scalars, when they are comparable.
pub fn order(a: &V, b: &V) -> Option<Ordering> {
    match (a, b) {
        (V::Int(x), V::Int(y)) => Some(x.cmp(y)),
        (V::Int(_) | V::Float(_), V::Int(_) | V::Float(_)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (V::Str(x), V::Str(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        (V::Date(x), V::Date(y)) => Some(x.cmp(y)),
        (V::Date(x), V::Str(s)) => parse_timestamp(s).map(|y| x.cmp(&y)),
        (V::Str(s), V::Date(y)) => parse_timestamp(s).map(|x| x.cmp(y)),
        (V::Date(x), V::Int(ms)) => Some(x.cmp(&ms.saturating_mul(1_000_000))),
        (V::Int(ms), V::Date(y)) => Some(ms.saturating_mul(1_000_000).cmp(y)),
        // raw JSON has no mapping: "4688" and 4688 are the same event code
        (V::Str(s), V::Int(_) | V::Float(_)) => number_of(s).and_then(|n| order(&n, b)),
        (V::Int(_) | V::Float(_), V::Str(s)) => number_of(s).and_then(|n| order(a, &n)),
        (V::Bool(x), V::Str(s)) | (V::Str(s), V::Bool(x)) => {
            (s.as_ref() == if *x { "true" } else { "false" }).then_some(Ordering::Equal)
        }
        _ => None,
    }
}

fn number_of(s: &str) -> Option<V<'static>> {
    let t = s.trim();
    t.parse::<i64>().map(V::Int).ok().or_else(|| {
        t.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(V::Float)
    })
}

/// `version` fields order by their dotted numeric parts (1.11.3 > 1.5.0).
fn version_cmp(a: &V, b: &V) -> Option<Ordering> {
    let (V::Str(x), V::Str(y)) = (a, b) else {
        return order(a, b);
    };
    // an invalid version (not starting with a number) orders with nothing
    if !x.starts_with(|c: char| c.is_ascii_digit()) || !y.starts_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    let parts = |s: &str| -> Vec<(u64, String)> {
        s.split(['.', '-', '+'])
            .map(|p| {
                let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
                (digits.parse().unwrap_or(0), p[digits.len()..].to_string())
            })
            .collect()
    };
    Some(parts(x).cmp(&parts(y)))
}

fn arith(op: char, a: &V, b: &V) -> V<'static> {
    match (a, b) {
        (V::Int(x), V::Int(y)) => match op {
            '+' => x.checked_add(*y).map_or(V::Null, V::Int),
            '-' => x.checked_sub(*y).map_or(V::Null, V::Int),
            '*' => x.checked_mul(*y).map_or(V::Null, V::Int),
            '/' => x.checked_div(*y).map_or(V::Null, V::Int),
            _ => x.checked_rem(*y).map_or(V::Null, V::Int),
        },
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => {
                let r = match op {
                    '+' => x + y,
                    '-' => x - y,
                    '*' => x * y,
                    '/' if y != 0.0 => x / y,
                    '%' if y != 0.0 => x % y,
                    _ => return V::Null,
                };
                V::Float(r)
            }
            _ => V::Null,
        },
    }
}

fn text<'b>(v: &'b V) -> Option<Cow<'b, str>> {
    match v {
        V::Many(vs) => vs.first().and_then(|x| x.text()),
        other => other.text(),
    }
}

fn int(v: &V) -> Option<i64> {
    match v {
        V::Int(i) => Some(*i),
        V::Float(f) if f.fract() == 0.0 => Some(*f as i64),
        _ => None,
    }
}

fn lower(s: &str, insensitive: bool) -> Cow<'_, str> {
    if insensitive {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

fn call<'a>(func: Func, ci: bool, args: &'a [C], ev: &'a Event) -> V<'a> {
    let vals: Vec<V> = args.iter().map(|a| eval(a, ev)).collect();
    let arg = |i: usize| vals.get(i).unwrap_or(&V::Null);
    if matches!(
        func,
        Func::Add | Func::Subtract | Func::Multiply | Func::Divide | Func::Modulo
    ) {
        let op = match func {
            Func::Add => '+',
            Func::Subtract => '-',
            Func::Multiply => '*',
            Func::Divide => '/',
            _ => '%',
        };
        return arith(op, arg(0), arg(1));
    }
    match func {
        Func::Concat => {
            let mut out = String::new();
            for v in &vals {
                match text(v) {
                    Some(t) => out.push_str(&t),
                    None => return V::Null,
                }
            }
            V::Str(out.into())
        }
        Func::Length => text(arg(0)).map_or(V::Null, |s| V::Int(s.chars().count() as i64)),
        Func::String => text(arg(0)).map_or(V::Null, |s| V::Str(s.into_owned().into())),
        Func::Number => {
            let Some(s) = text(arg(0)) else {
                return V::Null;
            };
            let base = match arg(1) {
                V::Null => None,
                b => match int(b) {
                    Some(b) if (2..=36).contains(&b) => Some(b as u32),
                    _ => return V::Null,
                },
            };
            let t = s.trim();
            let (neg, body) = match t.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, t.strip_prefix('+').unwrap_or(t)),
            };
            let (base, body) = match (
                base,
                body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")),
            ) {
                (None | Some(16), Some(hex)) => (Some(16), hex),
                (b, _) => (b, body),
            };
            match base {
                Some(b) => i64::from_str_radix(body, b)
                    .ok()
                    .and_then(|n| if neg { n.checked_neg() } else { Some(n) })
                    .map_or(V::Null, V::Int),
                None => match number_of(t) {
                    Some(n) => n,
                    None => V::Null,
                },
            }
        }
        Func::StartsWith | Func::EndsWith | Func::StringContains => {
            let (Some(s), Some(sub)) = (text(arg(0)), text(arg(1))) else {
                return V::Null;
            };
            let (s, sub) = (lower(&s, ci), lower(&sub, ci));
            V::Bool(match func {
                Func::StartsWith => s.starts_with(sub.as_ref()),
                Func::EndsWith => s.ends_with(sub.as_ref()),
                _ => !s.is_empty() && !sub.is_empty() && s.contains(sub.as_ref()),
            })
        }
        Func::FieldEquals => {
            let (a, b) = (arg(0), arg(1));
            if a.is_null() || b.is_null() {
                return V::Null;
            }
            V::Bool(
                a.each()
                    .iter()
                    .any(|x| b.each().iter().any(|y| equal(x, y, ci))),
            )
        }
        Func::IndexOf => {
            let (Some(s), Some(sub)) = (text(arg(0)), text(arg(1))) else {
                return V::Null;
            };
            let start = match arg(2) {
                V::Null => 0,
                v => match int(v) {
                    Some(n) => n.max(0) as usize,
                    None => return V::Null,
                },
            };
            let (s, sub) = (lower(&s, ci), lower(&sub, ci));
            let chars: Vec<char> = s.chars().collect();
            if start > chars.len() {
                return V::Null;
            }
            let hay: String = chars[start..].iter().collect();
            match hay.find(sub.as_ref()) {
                Some(byte) => V::Int((start + hay[..byte].chars().count()) as i64),
                None => V::Null,
            }
        }
        Func::Substring => {
            let Some(s) = text(arg(0)) else {
                return V::Null;
            };
            let chars: Vec<char> = s.chars().collect();
            let n = chars.len() as i64;
            let norm = |i: i64| if i < 0 { (n + i).max(0) } else { i.min(n) };
            let Some(start) = int(arg(1)).map(norm) else {
                return V::Null;
            };
            let end = match arg(2) {
                V::Null => n,
                v => match int(v) {
                    Some(e) => norm(e),
                    None => return V::Null,
                },
            };
            if start >= end {
                return V::Str("".into());
            }
            V::Str(
                chars[start as usize..end as usize]
                    .iter()
                    .collect::<String>()
                    .into(),
            )
        }
        Func::Between => {
            let (Some(s), Some(l), Some(r)) = (text(arg(0)), text(arg(1)), text(arg(2))) else {
                return V::Null;
            };
            let greedy = match arg(3) {
                V::Null => false,
                V::Bool(b) => *b,
                _ => return V::Null,
            };
            if s.is_empty() || l.is_empty() || r.is_empty() {
                return V::Str(s.into_owned().into());
            }
            let (hs, hl, hr) = (lower(&s, ci), lower(&l, ci), lower(&r, ci));
            let Some(a) = hs.find(hl.as_ref()) else {
                return V::Str("".into());
            };
            let from = a + hl.len();
            let rest = &hs[from..];
            let b = if greedy {
                rest.rfind(hr.as_ref())
            } else {
                rest.find(hr.as_ref())
            };
            match b {
                // byte offsets of the lower-cased text match the original
                // for ASCII; fall back to the lower-cased text otherwise
                Some(b) if hs.len() == s.len() => V::Str(s[from..from + b].to_string().into()),
                Some(b) => V::Str(rest[..b].to_string().into()),
                None => V::Str("".into()),
            }
        }
        Func::CidrMatch => {
            let ipv = arg(0);
            if ipv.is_null() {
                return V::Null;
            }
            let blocks: Vec<(std::net::IpAddr, u8)> = vals[1..]
                .iter()
                .filter_map(|b| text(b).and_then(|t| parse_cidr(&t)))
                .collect();
            let hit = ipv.each().iter().any(|x| {
                text(x)
                    .and_then(|t| t.parse::<std::net::IpAddr>().ok())
                    .is_some_and(|ip| blocks.iter().any(|(net, len)| in_cidr(ip, *net, *len)))
            });
            V::Bool(hit)
        }
        _ => V::Null,
    }
}

fn parse_cidr(s: &str) -> Option<(std::net::IpAddr, u8)> {
    let (ip, len) = match s.split_once('/') {
        Some((ip, len)) => (ip.parse().ok()?, len.parse().ok()?),
        None => {
            let ip: std::net::IpAddr = s.parse().ok()?;
            (ip, if ip.is_ipv4() { 32 } else { 128 })
        }
    };
    Some((ip, len))
}

fn in_cidr(ip: std::net::IpAddr, net: std::net::IpAddr, len: u8) -> bool {
    use std::net::IpAddr::*;
    match (ip, net) {
        (V4(a), V4(b)) if len <= 32 => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (V6(a), V6(b)) if len <= 128 => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr() {
        assert!(in_cidr(
            "10.1.2.3".parse().unwrap(),
            "10.0.0.0".parse().unwrap(),
            8
        ));
        assert!(!in_cidr(
            "11.1.2.3".parse().unwrap(),
            "10.0.0.0".parse().unwrap(),
            8
        ));
    }
}
