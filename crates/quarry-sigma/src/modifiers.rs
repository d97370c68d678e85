//! Values and modifiers: turns a field test's YAML values and its
//! modifier chain into [`Pattern`]s, applying the modifiers left to right
//! as pySigma does (`wide|base64offset|contains` encodes, then expands,
//! then wraps in wildcards). Sigma strings are case-insensitive with `*`
//! and `?` wildcards; `\` escapes a wildcard or a backslash and is
//! literal before anything else.

use crate::rule::RawValue;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Re,
    /// `re` flags: `i` (ignore case), `m` (multi-line), `s` (dot matches
    /// newline).
    ReI,
    ReM,
    ReS,
    Base64,
    Base64Offset,
    Utf16le,
    Utf16be,
    Utf16,
    Wide,
    Windash,
    Cidr,
    Exists,
    FieldRef,
    Gt,
    Gte,
    Lt,
    Lte,
    Cased,
    Expand,
}

impl Modifier {
    pub fn parse(s: &str) -> Option<Modifier> {
        use Modifier::*;
        Some(match s {
            "contains" => Contains,
            "startswith" => StartsWith,
            "endswith" => EndsWith,
            "all" => All,
            "re" => Re,
            "i" | "ignorecase" => ReI,
            "m" | "multiline" => ReM,
            "s" | "dotall" => ReS,
            "base64" => Base64,
            "base64offset" => Base64Offset,
            "utf16le" => Utf16le,
            "utf16be" => Utf16be,
            "utf16" => Utf16,
            "wide" => Wide,
            "windash" => Windash,
            "cidr" => Cidr,
            "exists" => Exists,
            "fieldref" => FieldRef,
            "gt" => Gt,
            "gte" => Gte,
            "lt" => Lt,
            "lte" => Lte,
            "cased" => Cased,
            "expand" => Expand,
            _ => return None,
        })
    }
}

/// One unit of a Sigma string: a character, or a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    Char(char),
    /// `*`: any run of characters.
    Star,
    /// `?`: one character.
    One,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// What one value tests, after its modifiers.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// A wildcard string; case-insensitive unless `cased`.
    Text {
        toks: Vec<Tok>,
        cased: bool,
    },
    /// `re`: an unanchored search.
    Regex {
        pattern: String,
        insensitive: bool,
        multi_line: bool,
        dot_all: bool,
    },
    Cidr(String),
    Compare(Compare, f64),
    /// The field is missing or empty.
    Null,
    Exists(bool),
    /// The field equals another field.
    FieldRef(String),
}

/// The values of one field test: each value's alternatives (an
/// expansion such as `windash` gives several); `all` says every value
/// must match (one of its alternatives each) rather than any.
#[derive(Debug, Clone, PartialEq)]
pub struct Values {
    pub each: Vec<Vec<Pattern>>,
    pub all: bool,
}

/// A value mid-chain: text with wildcards, or bytes from an encoding.
#[derive(Debug, Clone)]
enum Sv {
    Str(Vec<Tok>),
    Bytes(Vec<u8>),
}

/// Parses Sigma's escapes: `\*`, `\?`, `\\` are literal; a lone `\` is a
/// backslash.
pub fn parse_wildcards(s: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    out.push(Tok::Char(n));
                    it.next();
                }
                _ => out.push(Tok::Char('\\')),
            },
            '*' => out.push(Tok::Star),
            '?' => out.push(Tok::One),
            c => out.push(Tok::Char(c)),
        }
    }
    out
}

/// Applies the modifiers to the values. `placeholders` resolve `expand`'s
/// `%name%`; an unknown one is an error. Errors are messages; the caller
/// adds the position.
pub fn apply(
    modifiers: &[Modifier],
    values: &[RawValue],
    placeholders: &HashMap<String, Vec<String>>,
) -> Result<Values, (crate::ErrorKind, String)> {
    use crate::ErrorKind as K;
    use Modifier::*;
    let has = |m: Modifier| modifiers.contains(&m);
    let all = has(All);
    let cased = has(Cased);
    // value-type modifiers: the whole chain is about them
    let typed = [Re, Cidr, Exists, FieldRef, Gt, Gte, Lt, Lte]
        .into_iter()
        .filter(|m| has(*m))
        .collect::<Vec<_>>();
    if typed.len() > 1 {
        return Err((
            K::Modifier,
            format!("modifiers {typed:?} cannot be combined"),
        ));
    }
    for flag in [ReI, ReM, ReS] {
        if has(flag) && !has(Re) {
            return Err((K::Modifier, format!("`{flag:?}` applies only after `re`")));
        }
    }
    if let Some(&t) = typed.first() {
        if let Some(other) = modifiers
            .iter()
            .find(|m| !matches!(m, All | ReI | ReM | ReS) && **m != t)
        {
            return Err((
                K::Modifier,
                format!("modifier {other:?} cannot be combined with {t:?}"),
            ));
        }
        let mut each = Vec::new();
        for v in values {
            let text = match v {
                RawValue::Str(s) => s.clone(),
                RawValue::Int(i) => i.to_string(),
                RawValue::Float(f) => float_text(*f),
                RawValue::Bool(b) => b.to_string(),
                RawValue::Null => return Err((K::Value, format!("null with {t:?}"))),
            };
            let p = match t {
                Re => Pattern::Regex {
                    pattern: text,
                    insensitive: has(ReI),
                    multi_line: has(ReM),
                    dot_all: has(ReS),
                },
                Cidr => {
                    if !valid_cidr(&text) {
                        return Err((K::Value, format!("invalid CIDR `{text}`")));
                    }
                    Pattern::Cidr(text)
                }
                Exists => match v {
                    RawValue::Bool(b) => Pattern::Exists(*b),
                    _ => return Err((K::Value, "`exists` takes true or false".into())),
                },
                FieldRef => Pattern::FieldRef(text),
                _ => {
                    let n = match v {
                        RawValue::Int(i) => *i as f64,
                        RawValue::Float(f) => *f,
                        _ => text.trim().parse::<f64>().map_err(|_| {
                            (K::Value, format!("`{t:?}` needs a number, found `{text}`"))
                        })?,
                    };
                    let op = match t {
                        Gt => Compare::Gt,
                        Gte => Compare::Gte,
                        Lt => Compare::Lt,
                        _ => Compare::Lte,
                    };
                    Pattern::Compare(op, n)
                }
            };
            each.push(vec![p]);
        }
        return Ok(Values { each, all });
    }

    let mut each = Vec::new();
    for v in values {
        let start = match v {
            RawValue::Null => {
                each.push(vec![Pattern::Null]);
                continue;
            }
            RawValue::Str(s) => s.clone(),
            RawValue::Int(i) => i.to_string(),
            RawValue::Float(f) => float_text(*f),
            RawValue::Bool(b) => b.to_string(),
        };
        // `expand` first: placeholders stand for values, before any
        // transformation of them
        let mut alts: Vec<Sv> = if has(Expand) {
            expand(&start, placeholders)?
                .into_iter()
                .map(|s| Sv::Str(parse_wildcards(&s)))
                .collect()
        } else {
            vec![Sv::Str(parse_wildcards(&start))]
        };
        for m in modifiers {
            alts = match m {
                Contains | StartsWith | EndsWith => alts
                    .into_iter()
                    .map(|a| {
                        let mut t = to_toks(a);
                        if matches!(m, Contains | EndsWith) && t.first() != Some(&Tok::Star) {
                            t.insert(0, Tok::Star);
                        }
                        if matches!(m, Contains | StartsWith) && t.last() != Some(&Tok::Star) {
                            t.push(Tok::Star);
                        }
                        Sv::Str(t)
                    })
                    .collect(),
                Base64 => alts
                    .into_iter()
                    .map(|a| Ok(Sv::Str(plain(&base64(&bytes_of(a)?)))))
                    .collect::<Result<_, _>>()?,
                Base64Offset => {
                    let mut out = Vec::new();
                    for a in alts {
                        for s in base64_offsets(&bytes_of(a)?) {
                            out.push(Sv::Str(plain(&s)));
                        }
                    }
                    out
                }
                Utf16le | Wide | Utf16be | Utf16 => alts
                    .into_iter()
                    .map(|a| {
                        let s = text_of(a)?;
                        let mut b = Vec::new();
                        if *m == Utf16 {
                            b.extend([0xFF, 0xFE]);
                        }
                        for u in s.encode_utf16() {
                            if *m == Utf16be {
                                b.extend(u.to_be_bytes());
                            } else {
                                b.extend(u.to_le_bytes());
                            }
                        }
                        Ok(Sv::Bytes(b))
                    })
                    .collect::<Result<_, _>>()?,
                Windash => {
                    let mut out = Vec::new();
                    for a in alts {
                        // five variants per dash, every combination: a value
                        // with many dashes would explode (hostile input)
                        let Some(v) = windash(&to_toks(a)) else {
                            return Err((
                                K::Value,
                                "windash: too many dashes to expand".to_string(),
                            ));
                        };
                        out.extend(v.into_iter().map(Sv::Str));
                        if out.len() > 4096 {
                            return Err((
                                K::Value,
                                "windash: too many variants to expand".to_string(),
                            ));
                        }
                    }
                    out
                }
                All | Cased | Expand => alts,
                _ => alts,
            };
        }
        each.push(
            alts.into_iter()
                .map(|a| Pattern::Text {
                    toks: to_toks(a),
                    cased,
                })
                .collect(),
        );
    }
    Ok(Values { each, all })
}

/// A YAML float as the rule wrote it (`1.0` stays `1.0`, as pySigma
/// keeps it).
fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

fn plain(s: &str) -> Vec<Tok> {
    s.chars().map(Tok::Char).collect()
}

/// Bytes become text one character per byte (an encoded value that is
/// not then base64'd is compared as such).
fn to_toks(v: Sv) -> Vec<Tok> {
    match v {
        Sv::Str(t) => t,
        Sv::Bytes(b) => b.into_iter().map(|x| Tok::Char(x as char)).collect(),
    }
}

fn text_of(v: Sv) -> Result<String, (crate::ErrorKind, String)> {
    match v {
        Sv::Str(t) => t
            .into_iter()
            .map(|x| match x {
                Tok::Char(c) => Ok(c),
                _ => Err((
                    crate::ErrorKind::Value,
                    "a value with wildcards cannot be encoded".to_string(),
                )),
            })
            .collect(),
        Sv::Bytes(b) => Ok(b.into_iter().map(|x| x as char).collect()),
    }
}

fn bytes_of(v: Sv) -> Result<Vec<u8>, (crate::ErrorKind, String)> {
    match v {
        Sv::Bytes(b) => Ok(b),
        s => Ok(text_of(s)?.into_bytes()),
    }
}

/// `%name%` placeholders replaced by each of their values (a value with
/// two placeholders gives every combination).
fn expand(
    s: &str,
    placeholders: &HashMap<String, Vec<String>>,
) -> Result<Vec<String>, (crate::ErrorKind, String)> {
    let mut out = vec![String::new()];
    let mut rest = s;
    while let Some(a) = rest.find('%') {
        let Some(len) = rest[a + 1..].find('%') else {
            break;
        };
        let name = &rest[a + 1..a + 1 + len];
        let lit = &rest[..a];
        let vals = placeholders.get(name).ok_or_else(|| {
            (
                crate::ErrorKind::Placeholder,
                format!("unknown placeholder %{name}%"),
            )
        })?;
        out = out
            .iter()
            .flat_map(|p| vals.iter().map(move |v| format!("{p}{lit}{v}")))
            .collect();
        rest = &rest[a + 2 + len..];
    }
    Ok(out.into_iter().map(|p| p + rest).collect())
}

/// pySigma's `windash`: every `-` or `/` that starts a word (no word
/// character before it, one after) may be any of `-`, `/`, en dash, em
/// dash, horizontal bar; all combinations.
fn windash(t: &[Tok]) -> Option<Vec<Vec<Tok>>> {
    const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
    let word =
        |x: Option<&Tok>| matches!(x, Some(Tok::Char(c)) if c.is_alphanumeric() || *c == '_');
    let spots: Vec<usize> = (0..t.len())
        .filter(|&i| {
            matches!(t[i], Tok::Char('-' | '/'))
                && !word(i.checked_sub(1).and_then(|j| t.get(j)))
                && word(t.get(i + 1))
        })
        .collect();
    if spots.len() > 5 {
        return None;
    }
    let mut out = vec![t.to_vec()];
    for &i in &spots {
        out = out
            .into_iter()
            .flat_map(|v| {
                DASHES.iter().map(move |&d| {
                    let mut w = v.clone();
                    w[i] = Tok::Char(d);
                    w
                })
            })
            .collect();
    }
    Some(out)
}

pub fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = chunk.len();
        let v = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= n {
                out.push(A[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// pySigma's `base64offset`: the value base64'd at each of the three
/// alignments it can have inside a longer encoded text (prefixed with 0,
/// 1, 2 bytes), trimmed to the characters that do not depend on the
/// neighbouring bytes.
pub fn base64_offsets(b: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2]; // characters dropped at the end; 0: none
    (0..3)
        .map(|i| {
            let mut padded = vec![b' '; i];
            padded.extend_from_slice(b);
            let enc = base64(&padded);
            let end = END[(b.len() + i) % 3];
            let stop = enc.len().saturating_sub(end);
            enc.get(START[i]..stop).unwrap_or("").to_string()
        })
        .collect()
}

fn valid_cidr(s: &str) -> bool {
    let (ip, len) = match s.split_once('/') {
        Some((ip, len)) => (ip, Some(len)),
        None => (s, None),
    };
    let Ok(addr) = ip.parse::<std::net::IpAddr>() else {
        return false;
    };
    match len {
        None => true,
        Some(l) => l
            .parse::<u8>()
            .is_ok_and(|n| n <= if addr.is_ipv4() { 32 } else { 128 }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Modifier::*;

    fn texts(mods: &[Modifier], v: &str) -> Vec<String> {
        let vals = apply(mods, &[RawValue::Str(v.into())], &HashMap::new()).expect("applies");
        vals.each[0]
            .iter()
            .map(|p| match p {
                Pattern::Text { toks, .. } => toks
                    .iter()
                    .map(|t| match t {
                        Tok::Char(c) => c.to_string(),
                        Tok::Star => "<*>".into(),
                        Tok::One => "<?>".into(),
                    })
                    .collect(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn wildcards_and_escapes() {
        assert_eq!(
            parse_wildcards(r"a*b?c\*d\?e\\f\g"),
            vec![
                Tok::Char('a'),
                Tok::Star,
                Tok::Char('b'),
                Tok::One,
                Tok::Char('c'),
                Tok::Char('*'),
                Tok::Char('d'),
                Tok::Char('?'),
                Tok::Char('e'),
                Tok::Char('\\'),
                Tok::Char('f'),
                Tok::Char('\\'),
                Tok::Char('g'),
            ]
        );
        // a trailing backslash (a folder) is literal; `\\*` is a backslash then a wildcard
        assert_eq!(texts(&[], r"C:\Windows\"), [r"C:\Windows\"]);
        assert_eq!(texts(&[], r"C:\\*"), [r"C:\<*>"]);
    }

    #[test]
    fn contains_startswith_endswith() {
        assert_eq!(texts(&[Contains], "x"), ["<*>x<*>"]);
        assert_eq!(texts(&[StartsWith], "x"), ["x<*>"]);
        assert_eq!(texts(&[EndsWith], "x"), ["<*>x"]);
        assert_eq!(texts(&[Contains], "*x*"), ["<*>x<*>"]);
    }

    #[test]
    fn base64_and_offsets_are_byte_exact() {
        assert_eq!(base64(b"Hello"), "SGVsbG8=");
        assert_eq!(base64(b""), "");
        assert_eq!(texts(&[Base64], "/bin/sh"), ["L2Jpbi9zaA=="]);
        // pySigma: base64offset of "/bin/sh"
        assert_eq!(
            texts(&[Base64Offset], "/bin/sh"),
            ["L2Jpbi9za", "9iaW4vc2", "vYmluL3No"]
        );
        assert_eq!(
            texts(&[Base64Offset, Contains], "ab"),
            ["<*>YW<*>", "<*>Fi<*>", "<*>hY<*>"]
        );
        // utf16le, then base64offset: the PowerShell -EncodedCommand case
        assert_eq!(
            texts(&[Wide, Base64Offset, Contains], "ping"),
            ["<*>cABpAG4AZw<*>", "<*>AAaQBuAGcA<*>", "<*>wAGkAbgBnA<*>"]
        );
    }

    #[test]
    fn utf16_encodings() {
        assert_eq!(texts(&[Utf16le, Base64], "a"), ["YQA="]);
        assert_eq!(texts(&[Utf16be, Base64], "a"), ["AGE="]);
        assert_eq!(texts(&[Utf16, Base64], "a"), ["//5hAA=="]);
        assert_eq!(texts(&[Wide], "ab"), ["a\0b\0"]);
        assert!(apply(&[Wide], &[RawValue::Str("a*".into())], &HashMap::new()).is_err());
    }

    #[test]
    fn windash_expands_word_starting_dashes() {
        let got = texts(&[Contains, Windash], " -enc ");
        assert_eq!(got.len(), 5);
        assert!(got.contains(&"<*> /enc <*>".to_string()));
        assert!(got.contains(&"<*> \u{2015}enc <*>".to_string()));
        // not inside a word, not before a non-word character
        assert_eq!(texts(&[Windash], "a-b - c").len(), 1);
        assert_eq!(texts(&[Windash], "-a /b").len(), 25);
        let many = RawValue::Str("-a -b -c -d -e -f".into());
        assert!(apply(&[Windash], &[many], &HashMap::new()).is_err());
    }

    #[test]
    fn typed_values() {
        let one = |mods: &[Modifier], v: RawValue| {
            apply(mods, &[v], &HashMap::new()).map(|v| v.each[0][0].clone())
        };
        assert_eq!(
            one(&[Gte], RawValue::Int(5)),
            Ok(Pattern::Compare(Compare::Gte, 5.0))
        );
        assert_eq!(
            one(&[Cidr], RawValue::Str("10.0.0.0/8".into())),
            Ok(Pattern::Cidr("10.0.0.0/8".into()))
        );
        assert!(one(&[Cidr], RawValue::Str("10.0.0.0/33".into())).is_err());
        assert_eq!(one(&[], RawValue::Null), Ok(Pattern::Null));
        assert_eq!(
            one(&[Exists], RawValue::Bool(false)),
            Ok(Pattern::Exists(false))
        );
        assert_eq!(
            one(&[Re, ReI, ReS], RawValue::Str("a.b".into())),
            Ok(Pattern::Regex {
                pattern: "a.b".into(),
                insensitive: true,
                multi_line: false,
                dot_all: true
            })
        );
        assert!(one(&[ReI], RawValue::Str("x".into())).is_err());
        assert!(one(&[Re, Contains], RawValue::Str("x".into())).is_err());
        assert_eq!(
            one(&[FieldRef], RawValue::Str("ParentImage".into())),
            Ok(Pattern::FieldRef("ParentImage".into()))
        );
        let cased = apply(&[Cased], &[RawValue::Str("A".into())], &HashMap::new()).expect("ok");
        assert!(matches!(
            &cased.each[0][0],
            Pattern::Text { cased: true, .. }
        ));
    }

    #[test]
    fn expand_placeholders() {
        let mut ph = HashMap::new();
        ph.insert("dc".to_string(), vec!["DC1".to_string(), "DC2".to_string()]);
        let v =
            apply(&[Contains, Expand], &[RawValue::Str("x%dc%y".into())], &ph).expect("expands");
        assert_eq!(v.each[0].len(), 2);
        let e = apply(&[Expand], &[RawValue::Str("%nope%".into())], &ph).expect_err("unknown");
        assert_eq!(e.0, crate::ErrorKind::Placeholder);
    }
}
