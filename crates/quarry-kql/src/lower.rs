//! Lowering: KQL's tree → quarry-eql's [`Statement`], with the semantics
//! Kibana's KQL has against Elasticsearch, by field type (see
//! [`crate::schema`]):
//!
//! - `keyword` (and unknown fields): `f: v` and `f: "v"` are an exact,
//!   case-sensitive term (`in`); an unquoted value with `*` is a
//!   `query_string` — split on whitespace into terms OR-ed together, each
//!   a wildcard term (`*` only, `?` literal) or an exact one;
//!   `*.caseless` matches the same case-insensitively.
//! - `text`: an unquoted value is a `match` (any of its tokens), a quoted
//!   one a `match_phrase` (its tokens consecutive), a wildcard term is
//!   lowercased and tested against each token (a Lucene regex too, not
//!   lowercased); tokens by the field's analyzer.
//! - a Lucene regex (`/…/`, [`ValueKind::Regex`]): anchored, on the whole
//!   keyword (case-sensitive; `*.caseless` aside).
//! - numbers, booleans: by value; an ip: address or CIDR block; a date: the
//!   range the value (with date math) covers.
//! - `f: *`: exists (any value; for an object, any field below it).
//! - ranges: numeric, date (date math), ip (as CIDR blocks), else string
//!   order — but on a field no schema knows, a numeric bound compares
//!   numerically (the event's value says the type).
//! - every leaf is true or false, never null, so `not` is a `must_not`:
//!   `not f: x` matches events without `f` (ranges and CIDR tests, which
//!   EQL makes null on a missing field, are wrapped as `(…) == true`).
//! - free text (a value without a field): a term on every field of the
//!   event (`multi_match` over `*`, lenient) or a phrase/match on the
//!   schemas' text fields; a lone `*` matches everything.
//! - wildcard field names (`file.hash.*: *`): the values of every field of
//!   the event whose name matches, matched as a keyword.
//! - nested `f: { q }`: `q`'s fields are below `f`. Offline events are
//!   flattened, so the conditions need not hold in the same object of an
//!   array (Elasticsearch's `nested` would ask that).
//!
//! Approximations, besides the analyzers' (see [`quarry_eql::text`]): a
//! date given as a value (`f: 2024-01-01`) is a `>=` and a `<=` that two
//! different values of a multi-valued field may satisfy; ip ranges stay in
//! the bound's address family; dates are UTC; free text reads the
//! event's fields as keywords (exact) plus the schemas' text fields, not
//! each field by its own type.
//!
//! What Elasticsearch rejects at search time (a wildcard on a number
//! field, a word compared with a number field, an ip that is no ip) is a
//! warning and a test that never matches, not an error: one rule's mistake
//! should not stop a hunt.

use crate::ast::*;
use crate::schema::{self, FieldType};
use quarry_eql::ast::{self as eql, CmpOp, Expr, MatchOp};
use quarry_eql::text::{Analyzer, TextQuery};
use rustc_hash::FxHashSet;
use std::fmt;

/// Something that compiles but may not mean what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// `None`: the field is unknown (its message names the nearest known
    /// one, looked up only when asked for: a rule book's load names
    /// hundreds of unknown fields nobody reads the warnings of).
    text: Option<String>,
    /// The field concerned.
    pub field: Option<String>,
    /// Byte offset in the query.
    pub position: usize,
}

impl Warning {
    /// What the warning says.
    pub fn message(&self) -> String {
        match (&self.text, &self.field) {
            (Some(t), _) => t.clone(),
            (None, name) => {
                let name = name.as_deref().unwrap_or_default();
                match self.nearest() {
                    Some(n) => format!(
                        "unknown field `{name}` (not in the ECS or non-ECS schemas; nearest known: `{n}`): matched as a keyword"
                    ),
                    None => format!(
                        "unknown field `{name}` (not in the ECS or non-ECS schemas): matched as a keyword"
                    ),
                }
            }
        }
    }

    /// For an unknown field, the known name nearest to it, if one is near.
    pub fn nearest(&self) -> Option<&'static str> {
        match (&self.text, &self.field) {
            (None, Some(name)) => schema::nearest(name),
            _ => None,
        }
    }

    /// Whether the warning is about a field the schemas do not know.
    pub fn is_unknown_field(&self) -> bool {
        self.text.is_none()
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message(), self.position)
    }
}

/// A lowered query: the EQL statement, the field types EQL's compiler
/// needs (dates), and the warnings.
#[derive(Debug, Clone)]
pub struct Lowered {
    pub statement: eql::Statement,
    pub mapping: quarry_eql::Mapping,
    pub warnings: Vec<Warning>,
}

/// Lowers a parsed query; `now` (nanoseconds since the epoch) anchors date
/// math.
pub fn lower(q: &Query, now: i64) -> Lowered {
    lower_with(q, now, None)
}

/// [`lower`] with an index mapping: its field types (and aliases) come
/// before the schemas'.
pub fn lower_with(q: &Query, now: i64, given: Option<&quarry_eql::Mapping>) -> Lowered {
    let mut l = Lowerer {
        given,
        now,
        warnings: Vec::new(),
        warned: FxHashSet::default(),
        mapping: quarry_eql::Mapping::default(),
    };
    let condition = l.query(q, "");
    Lowered {
        statement: eql::Statement {
            body: eql::Body::Event(eql::EventQuery {
                category: None,
                condition,
            }),
            pipes: Vec::new(),
        },
        mapping: l.mapping,
        warnings: l.warnings,
    }
}

struct Lowerer<'a> {
    given: Option<&'a quarry_eql::Mapping>,
    now: i64,
    warnings: Vec<Warning>,
    warned: FxHashSet<String>,
    mapping: quarry_eql::Mapping,
}

/// What a field name stands for.
enum Target {
    Field {
        path: String,
        ty: FieldType,
        known: bool,
        pos: usize,
    },
    /// Every field whose name matches (`*` any run, `\` escapes).
    Pattern { pattern: String, pos: usize },
}

fn field(path: &str, pos: usize) -> Expr {
    Expr::Field {
        path: path.to_string(),
        optional: false,
        pos,
    }
}

fn matcher(op: MatchOp, lhs: Expr, rhs: Vec<Expr>, pos: usize) -> Expr {
    Expr::Match {
        op,
        lhs: Box::new(lhs),
        rhs,
        negated: false,
        pos,
    }
}

/// `e == true`: true or false, never null (EQL's `==` is null-safe).
fn is_true(e: Expr) -> Expr {
    Expr::Cmp(CmpOp::Eq, Box::new(e), Box::new(Expr::Bool(true)))
}

/// `a or b or …` / `a and b and …` as a balanced tree, in order (a flat
/// chain of thousands of terms cannot overflow the stack).
fn fold(mut items: Vec<Expr>, or: bool) -> Expr {
    match items.len() {
        0 => Expr::Bool(!or),
        1 => items.pop().unwrap_or(Expr::Bool(!or)),
        n => {
            let right = items.split_off(n / 2);
            let (a, b) = (Box::new(fold(items, or)), Box::new(fold(right, or)));
            if or { Expr::Or(a, b) } else { Expr::And(a, b) }
        }
    }
}

/// An OR of leaves, the leaves with the same operator on the same field
/// merged into one (one read of the field: `f: (a or b or c)` is one `in`).
fn any_of(items: Vec<Expr>) -> Expr {
    fn flatten(e: Expr, out: &mut Vec<Expr>) {
        match e {
            Expr::Or(a, b) => {
                flatten(*a, out);
                flatten(*b, out);
            }
            other => out.push(other),
        }
    }
    let mut flat = Vec::with_capacity(items.len());
    for e in items {
        flatten(e, &mut flat);
    }
    let mut out: Vec<Expr> = Vec::new();
    for e in flat {
        if let Expr::Match {
            op,
            lhs,
            rhs,
            negated: false,
            ..
        } = &e
            && let Some(Expr::Match { rhs: into, .. }) = out.iter_mut().find(|o| {
                matches!(o, Expr::Match { op: o_op, lhs: o_lhs, negated: false, .. }
                    if o_op == op && same_field(o_lhs, lhs))
            })
        {
            into.extend(rhs.iter().cloned());
            continue;
        }
        out.push(e);
    }
    fold(out, true)
}

/// The same field (or field pattern), wherever the query names it.
fn same_field(a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (Expr::Field { path: x, .. }, Expr::Field { path: y, .. }) => x == y,
        (Expr::Fields { pattern: x, .. }, Expr::Fields { pattern: y, .. }) => x == y,
        _ => false,
    }
}

/// Does a pattern (`\` escapes) have an unescaped `*`?
fn has_star(p: &str) -> bool {
    let mut esc = false;
    for c in p.chars() {
        match (esc, c) {
            (true, _) => esc = false,
            (false, '\\') => esc = true,
            (false, '*') => return true,
            _ => {}
        }
    }
    false
}

fn unescape(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut it = p.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            out.push(it.next().unwrap_or('\\'));
        } else {
            out.push(c);
        }
    }
    out
}

fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c == '*' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A number as Elasticsearch reads one for a numeric field.
fn number(s: &str) -> Option<Expr> {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(Expr::Int(i));
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Expr::Float)
}

fn parse_cidr(s: &str) -> Option<(std::net::IpAddr, u8)> {
    let (ip, len) = match s.split_once('/') {
        Some((ip, len)) => {
            let ip: std::net::IpAddr = ip.trim().parse().ok()?;
            let len: u8 = len.trim().parse().ok()?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            if len > max {
                return None;
            }
            (ip, len)
        }
        None => {
            let ip: std::net::IpAddr = s.trim().parse().ok()?;
            (ip, if ip.is_ipv4() { 32 } else { 128 })
        }
    };
    Some((ip, len))
}

/// The CIDR blocks covering `[lo, hi]` in an address space of `bits` bits.
fn cidr_blocks(mut lo: u128, hi: u128, bits: u32) -> Vec<(u128, u32)> {
    let mut out = Vec::new();
    while lo <= hi {
        let mut size = if lo == 0 {
            bits
        } else {
            lo.trailing_zeros().min(bits)
        };
        // the largest aligned block from `lo` that ends at or before `hi`
        while size > 0 {
            let last = if size >= 128 {
                u128::MAX
            } else {
                lo.saturating_add((1u128 << size) - 1)
            };
            if last <= hi {
                break;
            }
            size -= 1;
        }
        out.push((lo, bits - size));
        if size >= 128 {
            break;
        }
        match lo.checked_add(1u128 << size) {
            Some(n) => lo = n,
            None => break,
        }
    }
    out
}

impl Lowerer<'_> {
    /// A field's type: the given mapping's, else the schemas'.
    fn resolve(&self, name: &str) -> schema::Resolved {
        let from_schemas = schema::resolve(name);
        if let Some(m) = self.given {
            let path = m.resolve(name);
            if let Some(t) = m.types.get(path) {
                let ty = match (schema::from_es_type(t), from_schemas.ty) {
                    // the mapping does not say which analyzer
                    (FieldType::Text(_), FieldType::Text(a)) => FieldType::Text(a),
                    (ty, _) => ty,
                };
                return schema::Resolved {
                    path: path.to_string(),
                    ty,
                    known: true,
                };
            }
            if path != name {
                // an alias of a field the schemas may type
                let target = schema::resolve(path);
                return schema::Resolved {
                    known: true,
                    ..target
                };
            }
        }
        from_schemas
    }

    fn warn(&mut self, message: String, field: Option<&str>, position: usize) {
        self.warnings.push(Warning {
            text: Some(message),
            field: field.map(str::to_string),
            position,
        });
    }

    fn query(&mut self, q: &Query, prefix: &str) -> Expr {
        match q {
            Query::All => Expr::Bool(true),
            Query::Or(items) => {
                let xs = items.iter().map(|x| self.query(x, prefix)).collect();
                any_of(xs)
            }
            Query::And(items) => {
                let xs = items.iter().map(|x| self.query(x, prefix)).collect();
                fold(xs, false)
            }
            Query::Not(x) => Expr::Not(Box::new(self.query(x, prefix))),
            Query::Field { field, values } => {
                let t = self.target(field, prefix);
                self.values(&t, values)
            }
            Query::Range { field, op, value } => {
                let t = self.target(field, prefix);
                self.range(&t, *op, value)
            }
            Query::Nested { field, query } => {
                let inner = format!("{prefix}{}.", field.name);
                self.query(query, &inner)
            }
            Query::Text(v) => self.free_text(v, prefix),
        }
    }

    fn target(&mut self, f: &Field, prefix: &str) -> Target {
        if let Some(p) = &f.pattern {
            let pattern = format!("{}{p}", escape(prefix));
            let wild = quarry_eql::text::Wild::new(&pattern, false);
            if schema::matching(&wild).is_empty() && !self.warned.contains(&pattern) {
                self.warned.insert(pattern.clone());
                self.warn(
                    format!("no field the schemas know matches `{pattern}`"),
                    Some(&pattern),
                    f.pos,
                );
            }
            return Target::Pattern {
                pattern,
                pos: f.pos,
            };
        }
        let name = format!("{prefix}{}", f.name);
        let r = self.resolve(&name);
        if !r.known && self.warned.insert(name.clone()) {
            self.warnings.push(Warning {
                text: None,
                field: Some(name.clone()),
                position: f.pos,
            });
        }
        if r.ty == FieldType::Date {
            self.mapping.types.insert(r.path.clone(), "date".into());
        }
        Target::Field {
            path: r.path,
            ty: r.ty,
            known: r.known,
            pos: f.pos,
        }
    }

    fn values(&mut self, t: &Target, v: &Values) -> Expr {
        match v {
            Values::One(value) => self.leaf(t, value),
            Values::Or(items) => {
                let xs = items.iter().map(|x| self.values(t, x)).collect();
                any_of(xs)
            }
            Values::And(items) => {
                let xs = items.iter().map(|x| self.values(t, x)).collect();
                fold(xs, false)
            }
            Values::Not(x) => Expr::Not(Box::new(self.values(t, x))),
        }
    }

    /// Pitfalls of KQL that rules fall into: the query means what
    /// Elasticsearch makes of it, and a warning says so.
    fn pitfalls(&mut self, v: &Value) {
        match &v.kind {
            ValueKind::Quoted(s) if s.contains('*') => self.warn(
                format!("`*` in the quoted value `\"{s}\"` is literal, not a wildcard"),
                None,
                v.pos,
            ),
            ValueKind::Unquoted {
                text,
                pattern: Some(p),
            } if p != "*" && p.contains(char::is_whitespace) => self.warn(
                format!(
                    "the wildcard value `{text}` has whitespace: Elasticsearch's query_string matches each of its words on its own (OR), not the whole"
                ),
                None,
                v.pos,
            ),
            _ => {}
        }
    }

    fn leaf(&mut self, t: &Target, v: &Value) -> Expr {
        self.pitfalls(v);
        let (path, ty, fpos) = match t {
            Target::Pattern { pattern, pos } => {
                let lhs = Expr::Fields {
                    pattern: pattern.clone(),
                    pos: *pos,
                };
                return keyword(lhs, v, false);
            }
            Target::Field { path, ty, pos, .. } => (path.as_str(), *ty, *pos),
        };
        let lhs = field(path, fpos);
        if v.is_exists() {
            if ty == FieldType::Object {
                let below = Expr::Fields {
                    pattern: format!("{}.*", escape(path)),
                    pos: fpos,
                };
                return matcher(
                    MatchOp::Wildcard { insensitive: false },
                    below,
                    vec![Expr::Str("*".into())],
                    v.pos,
                );
            }
            return matcher(
                MatchOp::Wildcard { insensitive: false },
                lhs,
                vec![Expr::Str("*".into())],
                v.pos,
            );
        }
        let wildcard = matches!(
            &v.kind,
            ValueKind::Unquoted {
                pattern: Some(_),
                ..
            } | ValueKind::Regex { .. }
        );
        let text = v.text();
        let rejected = |l: &mut Self, what: &str| {
            l.warn(
                format!("`{path}` is {what}: Elasticsearch rejects `{text}` there; never matches"),
                Some(path),
                v.pos,
            );
            Expr::Bool(false)
        };
        match ty {
            FieldType::Keyword | FieldType::Other | FieldType::Object => keyword(lhs, v, false),
            FieldType::Caseless => keyword(lhs, v, true),
            FieldType::Text(a) => text_leaf(lhs, a, v),
            _ if wildcard => {
                self.warn(
                    format!("`{path}` is not a string field: Elasticsearch rejects a wildcard there; matched as text"),
                    Some(path),
                    v.pos,
                );
                keyword(lhs, v, false)
            }
            FieldType::Number => match number(&text) {
                Some(n) => matcher(MatchOp::In { insensitive: false }, lhs, vec![n], v.pos),
                None => rejected(self, "a number"),
            },
            FieldType::Boolean => match text.as_str() {
                "true" | "false" => matcher(
                    MatchOp::In { insensitive: false },
                    lhs,
                    vec![Expr::Bool(text == "true")],
                    v.pos,
                ),
                _ => rejected(self, "a boolean"),
            },
            FieldType::Ip => match parse_cidr(&text) {
                Some(_) => is_true(Expr::Call {
                    name: "cidrMatch".into(),
                    insensitive: false,
                    args: vec![lhs, Expr::Str(text.trim().to_string())],
                    pos: v.pos,
                }),
                None => rejected(self, "an ip"),
            },
            FieldType::Date => {
                let lo = crate::date::resolve(&text, self.now, false);
                let hi = crate::date::resolve(&text, self.now, true);
                match (lo, hi) {
                    (Some(lo), Some(hi)) => {
                        let at = |t: i64| Box::new(Expr::Str(quarry_event::format_timestamp(t)));
                        is_true(Expr::And(
                            Box::new(Expr::Cmp(CmpOp::Ge, Box::new(lhs.clone()), at(lo))),
                            Box::new(Expr::Cmp(CmpOp::Le, Box::new(lhs), at(hi))),
                        ))
                    }
                    _ => rejected(self, "a date"),
                }
            }
        }
    }

    fn range(&mut self, t: &Target, op: RangeOp, v: &Value) -> Expr {
        let cmp = match op {
            RangeOp::Lt => CmpOp::Lt,
            RangeOp::Le => CmpOp::Le,
            RangeOp::Gt => CmpOp::Gt,
            RangeOp::Ge => CmpOp::Ge,
        };
        let text = v.text();
        let (lhs, ty, known) = match t {
            Target::Pattern { pattern, pos } => (
                Expr::Fields {
                    pattern: pattern.clone(),
                    pos: *pos,
                },
                FieldType::Keyword,
                false,
            ),
            Target::Field {
                path,
                ty,
                known,
                pos,
            } => (field(path, *pos), *ty, *known),
        };
        let path = match t {
            Target::Field { path, .. } => path.clone(),
            Target::Pattern { pattern, .. } => pattern.clone(),
        };
        let compare = |rhs: Expr| is_true(Expr::Cmp(cmp, Box::new(lhs.clone()), Box::new(rhs)));
        match ty {
            FieldType::Number => match number(&text) {
                Some(n) => compare(n),
                None => {
                    self.warn(
                        format!("`{path}` is a number: Elasticsearch rejects the bound `{text}`; never matches"),
                        Some(&path),
                        v.pos,
                    );
                    Expr::Bool(false)
                }
            },
            FieldType::Date => {
                let up = matches!(op, RangeOp::Gt | RangeOp::Le);
                match crate::date::resolve(&text, self.now, up) {
                    Some(t) => compare(Expr::Str(quarry_event::format_timestamp(t))),
                    None => {
                        self.warn(
                            format!("`{path}` is a date: `{text}` is no date or date math; never matches"),
                            Some(&path),
                            v.pos,
                        );
                        Expr::Bool(false)
                    }
                }
            }
            FieldType::Ip => match text.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => {
                    let (x, bits) = match ip {
                        std::net::IpAddr::V4(a) => (u32::from(a) as u128, 32),
                        std::net::IpAddr::V6(a) => (u128::from(a), 128),
                    };
                    let max = if bits == 32 {
                        u32::MAX as u128
                    } else {
                        u128::MAX
                    };
                    let span = match op {
                        RangeOp::Ge => Some((x, max)),
                        RangeOp::Gt => x.checked_add(1).filter(|&l| l <= max).map(|l| (l, max)),
                        RangeOp::Le => Some((0, x)),
                        RangeOp::Lt => x.checked_sub(1).map(|h| (0, h)),
                    };
                    let Some((lo, hi)) = span else {
                        return Expr::Bool(false);
                    };
                    let mut args = vec![lhs.clone()];
                    for (net, len) in cidr_blocks(lo, hi, bits) {
                        let addr = if bits == 32 {
                            std::net::Ipv4Addr::from(net as u32).to_string()
                        } else {
                            std::net::Ipv6Addr::from(net).to_string()
                        };
                        args.push(Expr::Str(format!("{addr}/{len}")));
                    }
                    is_true(Expr::Call {
                        name: "cidrMatch".into(),
                        insensitive: false,
                        args,
                        pos: v.pos,
                    })
                }
                Err(_) => {
                    self.warn(
                        format!("`{path}` is an ip: `{text}` is no ip; never matches"),
                        Some(&path),
                        v.pos,
                    );
                    Expr::Bool(false)
                }
            },
            FieldType::Boolean => match text.as_str() {
                "true" | "false" => compare(Expr::Bool(text == "true")),
                _ => Expr::Bool(false),
            },
            _ => match number(&text) {
                Some(n) if !known => compare(n),
                _ => compare(Expr::Str(text)),
            },
        }
    }

    fn free_text(&mut self, v: &Value, prefix: &str) -> Expr {
        self.pitfalls(v);
        if v.is_exists() && prefix.is_empty() {
            return Expr::Bool(true);
        }
        let all = Expr::Fields {
            pattern: format!("{}*", escape(prefix)),
            pos: v.pos,
        };
        if v.is_exists() {
            return matcher(
                MatchOp::Wildcard { insensitive: false },
                all,
                vec![Expr::Str("*".into())],
                v.pos,
            );
        }
        let mut alts = vec![keyword(all, v, false)];
        for (f, a) in schema::text_fields() {
            if f.starts_with(prefix) {
                alts.push(text_leaf(field(f, v.pos), a, v));
            }
        }
        any_of(alts)
    }
}

/// A keyword leaf: exact term, or a `query_string` of terms and wildcard
/// terms split on whitespace.
fn keyword(lhs: Expr, v: &Value, insensitive: bool) -> Expr {
    let exact = |s: String| {
        matcher(
            MatchOp::In { insensitive },
            lhs.clone(),
            vec![Expr::Str(s)],
            v.pos,
        )
    };
    match &v.kind {
        ValueKind::Unquoted {
            pattern: Some(p), ..
        } => {
            let pieces = p
                .split(char::is_whitespace)
                .filter(|s| !s.is_empty())
                .map(|piece| {
                    if has_star(piece) {
                        matcher(
                            MatchOp::Wildcard { insensitive },
                            lhs.clone(),
                            vec![Expr::Str(piece.to_string())],
                            v.pos,
                        )
                    } else {
                        exact(unescape(piece))
                    }
                })
                .collect();
            any_of(pieces)
        }
        ValueKind::Regex {
            pattern,
            insensitive: ci,
            ..
        } => matcher(
            MatchOp::Regex {
                insensitive: insensitive || *ci,
            },
            lhs.clone(),
            vec![Expr::Str(pattern.clone())],
            v.pos,
        ),
        _ => exact(v.text()),
    }
}

/// A leaf on analysed text.
fn text_leaf(lhs: Expr, analyzer: Analyzer, v: &Value) -> Expr {
    let text = |query: TextQuery, s: String| {
        matcher(
            MatchOp::Text { analyzer, query },
            lhs.clone(),
            vec![Expr::Str(s)],
            v.pos,
        )
    };
    match &v.kind {
        ValueKind::Quoted(s) => text(TextQuery::Phrase, s.clone()),
        ValueKind::Unquoted {
            pattern: Some(p), ..
        } => {
            let pieces = p
                .split(char::is_whitespace)
                .filter(|s| !s.is_empty())
                .map(|piece| {
                    if has_star(piece) {
                        text(TextQuery::Wildcard, piece.to_string())
                    } else {
                        text(TextQuery::AnyToken, unescape(piece))
                    }
                })
                .collect();
            any_of(pieces)
        }
        // a regex is tested against each token (Elasticsearch's `regexp`
        // on a text field reads its terms)
        ValueKind::Regex {
            pattern, wildcard, ..
        } => text(
            TextQuery::Regex,
            if *wildcard {
                pattern.to_lowercase()
            } else {
                pattern.clone()
            },
        ),
        _ => text(TextQuery::AnyToken, v.text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks_cover_ranges() {
        let b = cidr_blocks(10, 20, 32);
        assert_eq!(b, [(10, 31), (12, 30), (16, 30), (20, 32)]);
        assert_eq!(cidr_blocks(0, u32::MAX as u128, 32), [(0, 0)]);
        assert_eq!(cidr_blocks(0, u128::MAX, 128), [(0, 0)]);
        let top = cidr_blocks(u32::MAX as u128 - 1, u32::MAX as u128, 32);
        assert_eq!(top, [(u32::MAX as u128 - 1, 31)]);
    }

    #[test]
    fn leaves_on_one_field_merge() {
        let q = crate::parser::parse(
            "process.name:a or process.name:(b or c*) or user.name:a or process.name:d",
        )
        .expect("parses");
        let l = lower(&q, 0);
        let eql::Body::Event(e) = &l.statement.body else {
            panic!("an event query")
        };
        let s = format!("{:?}", e.condition);
        // one `in` for a, b, d; one wildcard; one `in` on user.name
        assert_eq!(s.matches("In {").count(), 2, "{s}");
        assert_eq!(s.matches("Wildcard {").count(), 1, "{s}");
    }

    #[test]
    fn stars_and_escapes() {
        assert!(has_star("a*"));
        assert!(!has_star(r"a\*"));
        assert!(has_star(r"a\\*"));
        assert_eq!(unescape(r"a\*b\\c"), r"a*b\c");
        assert_eq!(escape(r"a*b\c"), r"a\*b\\c");
    }
}
