//! Compilation: AST → an evaluable tree with field paths resolved through
//! the mapping's aliases, wildcard patterns and regexes built, constant
//! sub-expressions folded, and what Elasticsearch rejects rejected
//! (field-to-field comparisons, `~` on functions that have no such form,
//! wrong arity, non-string patterns).

use crate::Mapping;
use crate::ast::{CmpOp, Expr, MatchOp};
use crate::error::EqlError;
use crate::eval::{Glob, eval};
use crate::text::{Analyzer, TextPattern, TextQuery, Wild};
use crate::value::V;
use quarry_event::Event;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Plain,
    Date,
    Version,
    Ip,
    /// The pseudo-field [`ANY_TEXT`]: every string value of the event.
    AnyText,
}

/// The path of a pseudo-field that reads every string value of the event
/// (as one multi-valued field), for front-ends that match field-less
/// keywords against an event's text (Sigma's `keywords`). No EQL field can
/// be named `*`, so it never shadows a real one.
pub const ANY_TEXT: &str = "*";

#[derive(Debug, Clone)]
pub struct FieldRef {
    pub path: Box<str>,
    /// `path` interned, resolved once here so evaluation never looks a
    /// name up.
    pub id: quarry_event::FieldId,
    pub kind: FieldKind,
    /// A mapping's `null_value`: what a JSON null in the field stands for.
    pub null_value: Option<V<'static>>,
    /// Custom date formats from the mapping.
    pub date_formats: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Add,
    Between,
    CidrMatch,
    Concat,
    Divide,
    EndsWith,
    /// `fieldEquals(a, b)`: some value of one field equals some value of
    /// the other (`~`: case-insensitively). Elasticsearch has no
    /// field-to-field comparison, which is why `==` rejects one; front-ends
    /// that have it (Sigma's `fieldref`) lower to this.
    FieldEquals,
    IndexOf,
    Length,
    Modulo,
    Multiply,
    Number,
    StartsWith,
    String,
    StringContains,
    Substring,
    Subtract,
}

#[derive(Debug, Clone)]
pub enum C {
    Const(V<'static>),
    Field(FieldRef),
    Not(Box<C>),
    And(Box<C>, Box<C>),
    Or(Box<C>, Box<C>),
    Neg(Box<C>),
    Arith(char, Box<C>, Box<C>),
    Cmp {
        op: CmpOp,
        lhs: Box<C>,
        rhs: Box<C>,
        version: bool,
    },
    Glob {
        lhs: Box<C>,
        pats: Vec<Glob>,
        negated: bool,
    },
    Regex {
        lhs: Box<C>,
        set: Vec<regex::Regex>,
        negated: bool,
    },
    In {
        lhs: Box<C>,
        items: Vec<V<'static>>,
        insensitive: bool,
        negated: bool,
    },
    Call {
        func: Func,
        insensitive: bool,
        args: Vec<C>,
    },
    /// The values of the fields whose names match (see [`Expr::Fields`]).
    Fields(Wild),
    Wild {
        lhs: Box<C>,
        pats: Vec<Wild>,
        negated: bool,
    },
    Text {
        lhs: Box<C>,
        analyzer: Analyzer,
        query: TextQuery,
        pats: Vec<TextPattern>,
        negated: bool,
    },
}

pub struct Compiler<'a> {
    pub src: &'a str,
    pub mapping: Option<&'a Mapping>,
}

impl Compiler<'_> {
    pub fn field(&self, path: &str) -> FieldRef {
        if path == ANY_TEXT {
            return FieldRef {
                id: quarry_event::field_id(path),
                path: path.into(),
                kind: FieldKind::AnyText,
                null_value: None,
                date_formats: Vec::new(),
            };
        }
        let formats = self
            .mapping
            .and_then(|m| m.date_formats.get(m.resolve(path)).cloned())
            .unwrap_or_default();
        let (path, kind, null_value) = match self.mapping {
            Some(m) => {
                let resolved = m.resolve(path);
                let kind = match m.types.get(resolved).map(String::as_str) {
                    Some("date" | "date_nanos") => FieldKind::Date,
                    Some("version") => FieldKind::Version,
                    Some("ip") => FieldKind::Ip,
                    _ => FieldKind::Plain,
                };
                let nv = m
                    .null_values
                    .get(resolved)
                    .map(|v| V::from_event(v).into_owned());
                (resolved.to_string(), kind, nv)
            }
            None => (path.to_string(), FieldKind::Plain, None),
        };
        let kind = if kind == FieldKind::Plain && path == "@timestamp" {
            FieldKind::Date
        } else {
            kind
        };
        FieldRef {
            id: quarry_event::field_id(&path),
            path: path.into(),
            kind,
            null_value,
            date_formats: formats,
        }
    }

    pub fn compile(&self, e: &Expr) -> Result<C, EqlError> {
        let c = self.compile_inner(e)?;
        Ok(fold(c))
    }

    fn err(&self, msg: impl Into<String>, pos: usize) -> EqlError {
        EqlError::new(msg, pos, self.src)
    }

    fn compile_inner(&self, e: &Expr) -> Result<C, EqlError> {
        Ok(match e {
            Expr::Null => C::Const(V::Null),
            Expr::Bool(b) => C::Const(V::Bool(*b)),
            Expr::Int(i) => C::Const(V::Int(*i)),
            Expr::Float(f) => C::Const(V::Float(*f)),
            Expr::Str(s) => C::Const(V::Str(s.clone().into())),
            // `?field` needs no special case offline: a field absent from an
            // event is null, which is what Elasticsearch substitutes for an
            // optional field no index maps.
            Expr::Field { path, .. } => C::Field(self.field(path)),
            Expr::Fields { pattern, .. } => C::Fields(Wild::new(pattern, false)),
            Expr::Not(x) => C::Not(Box::new(self.compile_inner(x)?)),
            Expr::And(a, b) => C::And(
                Box::new(self.compile_inner(a)?),
                Box::new(self.compile_inner(b)?),
            ),
            Expr::Or(a, b) => C::Or(
                Box::new(self.compile_inner(a)?),
                Box::new(self.compile_inner(b)?),
            ),
            Expr::Neg(x) => C::Neg(Box::new(self.compile_inner(x)?)),
            Expr::Arith(op, a, b) => C::Arith(
                *op,
                Box::new(self.compile_inner(a)?),
                Box::new(self.compile_inner(b)?),
            ),
            Expr::Cmp(op, a, b) => {
                if has_field(a) && has_field(b) {
                    return Err(self.err("comparisons between fields are not supported: expected a field compared with a constant", first_pos(b).unwrap_or(0)));
                }
                let lhs = self.compile_inner(a)?;
                let rhs = self.compile_inner(b)?;
                let version = is_version(&lhs) || is_version(&rhs);
                C::Cmp {
                    op: *op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                    version,
                }
            }
            Expr::Match {
                op,
                lhs,
                rhs,
                negated,
                pos,
            } => {
                let l = self.compile_inner(lhs)?;
                let mut consts = Vec::new();
                for item in rhs {
                    if has_field(item) {
                        return Err(self.err(
                            "expected constants on the right of the operator, not fields",
                            first_pos(item).unwrap_or(*pos),
                        ));
                    }
                    match fold(self.compile_inner(item)?) {
                        C::Const(v) => consts.push(v),
                        _ => return Err(self.err("expected a constant", *pos)),
                    }
                }
                let need_str = |consts: &[V<'static>]| -> Result<Vec<String>, EqlError> {
                    consts
                        .iter()
                        .map(|v| match v {
                            V::Str(s) => Ok(s.to_string()),
                            other => Err(self.err(
                                format!(
                                    "expected a string pattern, found {}",
                                    crate::eval::type_name(other)
                                ),
                                *pos,
                            )),
                        })
                        .collect()
                };
                // the patterns' regexes, each built by `build`; a bad one is
                // an error at the operator
                let regex_set = |build: &dyn Fn(&str) -> Result<regex::Regex, regex::Error>| {
                    need_str(&consts)?
                        .iter()
                        .map(|p| {
                            build(p).map_err(|e| {
                                self.err(format!("invalid regular expression {p:?}: {e}"), *pos)
                            })
                        })
                        .collect::<Result<Vec<_>, EqlError>>()
                };
                match op {
                    MatchOp::Colon => C::Glob {
                        lhs: Box::new(l),
                        pats: need_str(&consts)?
                            .iter()
                            .map(|p| Glob::new(p, true))
                            .collect(),
                        negated: *negated,
                    },
                    MatchOp::Like { insensitive } => C::Glob {
                        lhs: Box::new(l),
                        pats: need_str(&consts)?
                            .iter()
                            .map(|p| Glob::new(p, *insensitive))
                            .collect(),
                        negated: *negated,
                    },
                    MatchOp::Regex { insensitive } => C::Regex {
                        lhs: Box::new(l),
                        set: regex_set(&|p: &str| {
                            regex::RegexBuilder::new(&format!("^(?:{})$", lucene_to_rust(p)))
                                .case_insensitive(*insensitive)
                                .dot_matches_new_line(true)
                                .build()
                        })?,
                        negated: *negated,
                    },
                    MatchOp::Search {
                        insensitive,
                        multi_line,
                        dot_all,
                    } => C::Regex {
                        lhs: Box::new(l),
                        set: regex_set(&|p: &str| {
                            search_regex(p, *insensitive, *multi_line, *dot_all)
                        })?,
                        negated: *negated,
                    },
                    MatchOp::In { insensitive } => C::In {
                        lhs: Box::new(l),
                        items: consts,
                        insensitive: *insensitive,
                        negated: *negated,
                    },
                    MatchOp::Wildcard { insensitive } => C::Wild {
                        lhs: Box::new(l),
                        pats: need_str(&consts)?
                            .iter()
                            .map(|p| Wild::new(p, *insensitive))
                            .collect(),
                        negated: *negated,
                    },
                    MatchOp::Text {
                        analyzer,
                        query: TextQuery::Regex,
                    } => C::Text {
                        lhs: Box::new(l),
                        analyzer: *analyzer,
                        query: TextQuery::Regex,
                        pats: regex_set(&lucene_regex)?
                            .into_iter()
                            .map(TextPattern::Regex)
                            .collect(),
                        negated: *negated,
                    },
                    MatchOp::Text { analyzer, query } => C::Text {
                        lhs: Box::new(l),
                        analyzer: *analyzer,
                        query: *query,
                        pats: need_str(&consts)?
                            .iter()
                            .map(|p| TextPattern::new(*analyzer, *query, p))
                            .collect(),
                        negated: *negated,
                    },
                }
            }
            Expr::Call {
                name,
                insensitive,
                args,
                pos,
            } => {
                let (func, min, max, tilde) = match name.to_ascii_lowercase().as_str() {
                    "add" => (Func::Add, 2, 2, false),
                    "between" => (Func::Between, 3, 4, true),
                    "cidrmatch" => (Func::CidrMatch, 2, usize::MAX, false),
                    "concat" => (Func::Concat, 1, usize::MAX, false),
                    "divide" => (Func::Divide, 2, 2, false),
                    "endswith" => (Func::EndsWith, 2, 2, true),
                    "fieldequals" => (Func::FieldEquals, 2, 2, true),
                    "indexof" => (Func::IndexOf, 2, 3, true),
                    "length" => (Func::Length, 1, 1, false),
                    "modulo" => (Func::Modulo, 2, 2, false),
                    "multiply" => (Func::Multiply, 2, 2, false),
                    "number" => (Func::Number, 1, 2, false),
                    "startswith" => (Func::StartsWith, 2, 2, true),
                    "string" => (Func::String, 1, 1, false),
                    "stringcontains" => (Func::StringContains, 2, 2, true),
                    "substring" => (Func::Substring, 2, 3, false),
                    "subtract" => (Func::Subtract, 2, 2, false),
                    _ => return Err(self.err(format!("unknown function `{name}`: expected one of add, between, cidrMatch, concat, divide, endsWith, fieldEquals, indexOf, length, modulo, multiply, number, startsWith, string, stringContains, substring, subtract"), *pos)),
                };
                if *insensitive && !tilde {
                    return Err(self.err(
                        format!("function `{name}` has no case-insensitive `~` form"),
                        *pos,
                    ));
                }
                if args.len() < min || args.len() > max {
                    let want = if min == max {
                        format!("{min}")
                    } else if max == usize::MAX {
                        format!("at least {min}")
                    } else {
                        format!("{min} to {max}")
                    };
                    return Err(self.err(
                        format!("`{name}` takes {want} arguments, found {}", args.len()),
                        *pos,
                    ));
                }
                let args = args
                    .iter()
                    .map(|a| self.compile_inner(a))
                    .collect::<Result<Vec<_>, _>>()?;
                if func == Func::CidrMatch
                    && args[1..]
                        .iter()
                        .any(|a| !matches!(fold(a.clone()), C::Const(_)))
                {
                    return Err(self.err("cidrMatch takes constant CIDR blocks", *pos));
                }
                C::Call {
                    func,
                    insensitive: *insensitive,
                    args,
                }
            }
        })
    }
}

/// Builds a [`MatchOp::Search`] regex. Front-ends repeat a pattern (a
/// Sigma rule has it once per log it reads; rules share patterns), and a
/// Unicode regex such as `\w{1,64}` takes milliseconds to build: built
/// ones are kept per thread (cloning one shares it) and reused.
fn search_regex(
    p: &str,
    insensitive: bool,
    multi_line: bool,
    dot_all: bool,
) -> Result<regex::Regex, regex::Error> {
    use std::cell::RefCell;
    type Key = (String, bool, bool, bool);
    thread_local! {
        static BUILT: RefCell<rustc_hash::FxHashMap<Key, regex::Regex>> =
            RefCell::new(Default::default());
    }
    let key = (p.to_string(), insensitive, multi_line, dot_all);
    if let Some(re) = BUILT.with(|b| b.borrow().get(&key).cloned()) {
        return Ok(re);
    }
    let re = regex::RegexBuilder::new(p)
        .case_insensitive(insensitive)
        .multi_line(multi_line)
        .dot_matches_new_line(dot_all)
        .build()?;
    BUILT.with(|b| {
        let mut b = b.borrow_mut();
        // bounded: a long-lived process compiling endless distinct
        // patterns must not grow without limit
        if b.len() >= 4096 {
            b.clear();
        }
        b.insert(key, re.clone());
    });
    Ok(re)
}

/// Does the expression read a field (other than an optional one, which
/// may stand for null)?
fn has_field(e: &Expr) -> bool {
    match e {
        Expr::Field { optional, .. } => !optional,
        Expr::Fields { .. } => true,
        Expr::Not(x) | Expr::Neg(x) => has_field(x),
        Expr::And(a, b) | Expr::Or(a, b) | Expr::Arith(_, a, b) | Expr::Cmp(_, a, b) => {
            has_field(a) || has_field(b)
        }
        Expr::Match { lhs, rhs, .. } => has_field(lhs) || rhs.iter().any(has_field),
        Expr::Call { args, .. } => args.iter().any(has_field),
        _ => false,
    }
}

fn first_pos(e: &Expr) -> Option<usize> {
    match e {
        Expr::Field { pos, .. } | Expr::Fields { pos, .. } => Some(*pos),
        Expr::Not(x) | Expr::Neg(x) => first_pos(x),
        Expr::And(a, b) | Expr::Or(a, b) | Expr::Arith(_, a, b) | Expr::Cmp(_, a, b) => {
            first_pos(a).or_else(|| first_pos(b))
        }
        Expr::Match { lhs, rhs, .. } => first_pos(lhs).or_else(|| rhs.iter().find_map(first_pos)),
        Expr::Call { args, .. } => args.iter().find_map(first_pos),
        _ => None,
    }
}

fn is_version(c: &C) -> bool {
    matches!(c, C::Field(f) if f.kind == FieldKind::Version)
}

fn is_const(c: &C) -> bool {
    match c {
        C::Const(_) => true,
        C::Field(_) | C::Fields(_) => false,
        C::Not(x) | C::Neg(x) => is_const(x),
        C::And(a, b) | C::Or(a, b) | C::Arith(_, a, b) => is_const(a) && is_const(b),
        C::Cmp { lhs, rhs, .. } => is_const(lhs) && is_const(rhs),
        C::Glob { lhs, .. }
        | C::Regex { lhs, .. }
        | C::In { lhs, .. }
        | C::Wild { lhs, .. }
        | C::Text { lhs, .. } => is_const(lhs),
        C::Call { args, .. } => args.iter().all(is_const),
    }
}

/// Folds constant sub-expressions (errors such as a division by zero are
/// left to evaluation, where they yield null).
pub fn fold(c: C) -> C {
    if !matches!(c, C::Const(_)) && is_const(&c) {
        let ev = Event::default();
        return C::Const(eval(&c, &ev).into_owned());
    }
    match c {
        C::Not(x) => C::Not(Box::new(fold(*x))),
        C::And(a, b) => C::And(Box::new(fold(*a)), Box::new(fold(*b))),
        C::Or(a, b) => C::Or(Box::new(fold(*a)), Box::new(fold(*b))),
        C::Cmp {
            op,
            lhs,
            rhs,
            version,
        } => C::Cmp {
            op,
            lhs: Box::new(fold(*lhs)),
            rhs: Box::new(fold(*rhs)),
            version,
        },
        C::Call {
            func,
            insensitive,
            args,
        } => C::Call {
            func,
            insensitive,
            args: args.into_iter().map(fold).collect(),
        },
        other => other,
    }
}

/// ECS fields whose values are shared by most events (`windows`, `start`,
/// …): a test on them rarely rejects an event, so it goes after the tests
/// on specific fields.
const COMMON_FIELDS: &[&str] = &[
    "agent.type",
    "data_stream.dataset",
    "event.action",
    "event.category",
    "event.dataset",
    "event.kind",
    "event.module",
    "event.outcome",
    "event.provider",
    "event.type",
    "host.os.family",
    "host.os.name",
    "host.os.platform",
    "host.os.type",
];

/// How likely a conjunct is to reject an event, cheapest first: positive
/// tests on specific fields (0), on common fields or alternatives (1),
/// negations, which exclusions nearly always pass (2).
fn rejection_rank(c: &C) -> u8 {
    let common = |lhs: &C| matches!(lhs, C::Field(f) if COMMON_FIELDS.contains(&&*f.path));
    match c {
        C::Not(_) => 2,
        C::Glob { negated: true, .. }
        | C::Regex { negated: true, .. }
        | C::In { negated: true, .. }
        | C::Wild { negated: true, .. }
        | C::Text { negated: true, .. }
        | C::Cmp { op: CmpOp::Ne, .. } => 2,
        C::Glob { lhs, .. }
        | C::Regex { lhs, .. }
        | C::In { lhs, .. }
        | C::Wild { lhs, .. }
        | C::Text { lhs, .. }
        | C::Cmp { lhs, .. }
            if common(lhs) =>
        {
            1
        }
        C::Or(..) => 1,
        _ => 0,
    }
}

/// Does the (reordered) condition start with a positive test on a specific
/// field (rank 0 of `rejection_rank`), not a constant?
pub fn leads_with_specific_test(c: &C) -> bool {
    let mut first = c;
    while let C::And(a, _) = first {
        first = a;
    }
    !matches!(first, C::Const(_)) && rejection_rank(first) == 0
}

/// Orders the conjuncts of every `and` chain so that the ones most likely
/// to reject an event run first (see `rejection_rank`); the order within
/// a rank is kept. Sound because `and` is symmetric in three-valued logic
/// (false wins, then null) and evaluation has no side effects.
pub fn reorder(c: C) -> C {
    fn flatten(c: C, out: &mut Vec<C>) {
        match c {
            C::And(a, b) => {
                flatten(*a, out);
                flatten(*b, out);
            }
            other => out.push(reorder(other)),
        }
    }
    match c {
        C::And(..) => {
            let mut parts = Vec::new();
            flatten(c, &mut parts);
            parts.sort_by_key(rejection_rank);
            // balanced, not a left-deep chain: evaluation still runs the
            // conjuncts left to right, and a chain of thousands of them
            // (generated queries) cannot overflow the stack
            balanced_and(parts)
        }
        C::Or(a, b) => C::Or(Box::new(reorder(*a)), Box::new(reorder(*b))),
        C::Not(x) => C::Not(Box::new(reorder(*x))),
        other => other,
    }
}

/// `a and b and …` as a balanced tree of the conjuncts, in order.
fn balanced_and(mut parts: Vec<C>) -> C {
    match parts.len() {
        0 => C::Const(V::Bool(true)),
        1 => parts.pop().unwrap_or(C::Const(V::Bool(true))),
        n => {
            let right = parts.split_off(n / 2);
            C::And(Box::new(balanced_and(parts)), Box::new(balanced_and(right)))
        }
    }
}

/// A Lucene regular expression as a Rust one: anchored, `.` matching a
/// newline too.
fn lucene_regex(p: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{})$", lucene_to_rust(p)))
        .dot_matches_new_line(true)
        .build()
}

/// Lucene regular expressions are anchored and have no `\d`/`\s`/`\w`
/// classes; their syntax is otherwise close to Rust's for what rules use.
/// `@` (any string) and `#` (empty language) are Lucene operators outside a
/// character class; inside one they, `<` and `>` are literal (Rust reads
/// `\<` `\>` as word boundaries, and `[` in a class opens a nested one).
fn lucene_to_rust(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut chars = p.chars().peekable();
    // inside `[…]`, and whether the class has no member yet (a `]` there
    // is literal)
    let mut class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let first = std::mem::take(&mut class_start);
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    if n.is_ascii_alphanumeric() {
                        out.push_str(&regex::escape(&n.to_string()));
                    } else if n == '<' || n == '>' {
                        if class {
                            out.push(n);
                        } else {
                            out.push('[');
                            out.push(n);
                            out.push(']');
                        }
                    } else {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' if !class => {
                class = true;
                class_start = true;
                out.push(c);
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
            }
            '[' => out.push_str("\\["),
            ']' if class && first => out.push_str("\\]"),
            ']' if class => {
                class = false;
                out.push(c);
            }
            '&' | '~' if class => {
                out.push('\\');
                out.push(c);
            }
            '@' if !class => out.push_str("(?:.*)"),
            '#' if !class => out.push_str("(?:[^\\s\\S])"),
            '"' if !class => out.push_str("\\\""),
            '<' | '>' if !class => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

/// The literals a condition requires, in conjunctive normal form: for every
/// clause, an event it matches has one of the clause's alternatives as a
/// substring (ASCII case aside) of the text of some field value as written
/// in its JSON source. A reader can then skip a line that lacks every
/// alternative of some clause without parsing it (ripgrep's required
/// literals). Missing clauses only cost speed, a wrong one loses events, so
/// anything uncertain gives none: negations, functions, regexes,
/// comparisons other than `==`, non-string constants, fields whose value is
/// not the JSON text (dates, IPs, versions, a mapping's `null_value`).
pub fn required_literals(c: &C) -> Vec<Vec<String>> {
    bounded(literals(c, None))
}

/// A literal's first [`LITERAL_BYTES`] bytes are as required as the whole,
/// and the automata searching for them are built in time that grows faster
/// than their length: longer literals are cut.
const LITERAL_BYTES: usize = 64;

fn bounded(mut clauses: Vec<Vec<String>>) -> Vec<Vec<String>> {
    for l in clauses.iter_mut().flatten() {
        if l.len() > LITERAL_BYTES {
            let mut end = LITERAL_BYTES;
            while !l.is_char_boundary(end) {
                end -= 1;
            }
            l.truncate(end);
        }
    }
    for clause in &mut clauses {
        clause.sort();
        clause.dedup();
    }
    clauses
}

/// Picks one clause of a side of an `or` (see [`required_literals_by`]).
pub type Pick<'a> = &'a dyn Fn(&[Vec<String>]) -> Option<usize>;

/// [`required_literals`], with `or`s of sides of several clauses too: for
/// `a or b`, the clause `pick` chooses of `a`'s, united with the one it
/// chooses of `b`'s, is required (a match of either side holds an
/// alternative of its chosen clause). Sigma rules are `or`s of one
/// conjunction per log source; the choice (which clause is selective) is
/// the caller's.
pub fn required_literals_by(c: &C, pick: Pick) -> Vec<Vec<String>> {
    bounded(literals(c, Some(pick)))
}

fn literals(c: &C, pick: Option<Pick>) -> Vec<Vec<String>> {
    match c {
        C::And(a, b) => {
            let mut out = literals(a, pick);
            out.extend(literals(b, pick));
            out
        }
        C::Or(a, b) => {
            let (x, y) = (literals(a, pick), literals(b, pick));
            let chosen = match (x.len(), y.len(), pick) {
                (1, 1, _) => Some((0, 0)),
                (0, _, _) | (_, 0, _) | (_, _, None) => None,
                (_, _, Some(p)) => p(&x).zip(p(&y)),
            };
            let Some((i, j)) = chosen else {
                return Vec::new();
            };
            let (Some(mut clause), Some(other)) = (x.into_iter().nth(i), y.into_iter().nth(j))
            else {
                return Vec::new();
            };
            for alt in other {
                if !clause.contains(&alt) {
                    clause.push(alt);
                }
            }
            vec![clause]
        }
        C::Glob {
            lhs,
            pats,
            negated: false,
        } if text_field(lhs) => one_clause(
            pats.iter()
                .map(|p| p.required_literal().filter(|l| usable(l))),
        ),
        C::In {
            lhs,
            items,
            negated: false,
            ..
        } if text_field(lhs) => one_clause(items.iter().map(string_literal)),
        C::Wild {
            lhs,
            pats,
            negated: false,
        } if text_field(lhs) => one_clause(pats.iter().map(|p| {
            p.required_literal()
                .filter(|l| usable(l))
                .map(str::to_string)
        })),
        C::Text {
            lhs,
            query,
            pats,
            negated: false,
            ..
        } if text_field(lhs) => {
            // alternatives of every pattern, each usable
            let mut alts = Vec::new();
            for p in pats {
                match p.required_literal(*query) {
                    Some(ls) if ls.iter().all(|l| usable(l)) => {
                        alts.extend(ls.into_iter().map(Some))
                    }
                    _ => return Vec::new(),
                }
            }
            one_clause(alts.into_iter())
        }
        C::Cmp {
            op: CmpOp::Eq,
            lhs,
            rhs,
            ..
        } => match (&**lhs, &**rhs) {
            (f, C::Const(v)) | (C::Const(v), f) if text_field(f) => {
                one_clause(std::iter::once(string_literal(v)))
            }
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// A clause of these alternatives, or none when one of them is unusable.
fn one_clause(alts: impl Iterator<Item = Option<String>>) -> Vec<Vec<String>> {
    let mut clause: Vec<String> = Vec::new();
    for a in alts {
        let Some(a) = a else { return Vec::new() };
        if !clause.contains(&a) {
            clause.push(a);
        }
    }
    if clause.is_empty() {
        Vec::new()
    } else {
        vec![clause]
    }
}

/// A field whose values are tested as the text the source holds.
fn text_field(c: &C) -> bool {
    matches!(c, C::Field(f) if f.kind == FieldKind::Plain && f.null_value.is_none())
}

/// A string constant that must appear as itself: not one that equals a
/// number written differently (`"4688"` == `4688.0`).
fn string_literal(v: &V<'static>) -> Option<String> {
    match v {
        V::Str(s) if usable(s) => Some(s.to_string()),
        _ => None,
    }
}

/// ASCII without control characters (those only appear escaped), and not
/// text a number's formatting could write another way.
fn usable(l: &str) -> bool {
    !l.is_empty()
        && l.bytes().all(|b| b.is_ascii() && !b.is_ascii_control())
        && !l
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
}

/// Collects the field paths an expression reads.
pub fn fields(c: &C, out: &mut Vec<String>) {
    match c {
        C::Field(f) => out.push(f.path.to_string()),
        // a pattern, not a path: a projection must keep every field
        C::Fields(_) => out.push("*".to_string()),
        C::Const(_) => {}
        C::Not(x) | C::Neg(x) => fields(x, out),
        C::And(a, b) | C::Or(a, b) | C::Arith(_, a, b) => {
            fields(a, out);
            fields(b, out)
        }
        C::Cmp { lhs, rhs, .. } => {
            fields(lhs, out);
            fields(rhs, out)
        }
        C::Glob { lhs, .. }
        | C::Regex { lhs, .. }
        | C::In { lhs, .. }
        | C::Wild { lhs, .. }
        | C::Text { lhs, .. } => fields(lhs, out),
        C::Call { args, .. } => args.iter().for_each(|a| fields(a, out)),
    }
}

#[cfg(test)]
mod tests {
    use crate::{Options, compile};
    use quarry_event::Event;

    #[test]
    fn lucene_regexes_read_as_lucene_does() {
        let m = |p: &str, s: &str| super::lucene_regex(p).expect(p).is_match(s);
        // `<` `>` are literal, not Rust's word boundaries
        assert!(m("a<b>", "a<b>"));
        assert!(m(r"a\<b", "a<b"));
        assert!(m("[<>]x", ">x"));
        // `@` any string and `#` nothing outside a class, literal in one
        assert!(m("ab@", "abzz"));
        assert!(m("[@#]", "#"));
        assert!(!m("a#", "a"));
        // `]` first in a class, `[` and `&&` inside one are literal
        assert!(m("[]a]+", "]a]"));
        assert!(m("[a[]", "["));
        assert!(m("[&]", "&"));
        // anchored at both ends
        assert!(!m("2[0-9]{3}", "12000"));
        assert!(m("2[0-9]{3}", "2755"));
    }

    fn lits(q: &str) -> Vec<Vec<String>> {
        compile(q, &Options::default())
            .expect("compiles")
            .required_literals()
    }

    fn owned(c: &[&[&str]]) -> Vec<Vec<String>> {
        c.iter()
            .map(|a| a.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    #[test]
    fn required_literals_of_positive_string_tests() {
        // the dns.exe rule: the exclusions give nothing
        let rule = r#"process where host.os.type == "windows" and event.type == "start" and
  process.parent.name : "dns.exe" and
  not process.executable : ("?:\\Windows\\System32\\conhost.exe", "?:\\Windows\\System32\\dns.exe") and
  not ?process.parent.executable : "?:\\Program Files\\ReasonLabs\\DNS\\ui\\DNS.exe""#;
        let mut got = lits(rule);
        got.sort();
        assert_eq!(got, owned(&[&["dns.exe"], &["start"], &["windows"]]));
        // wildcards: the longest literal run of each alternative
        assert_eq!(
            lits(r#"any where a : ("*\\cmd.exe", "C:\\*\\powershell?.exe")"#),
            owned(&[&["\\cmd.exe", "\\powershell"]])
        );
        assert_eq!(lits(r#"any where a : "AbC*""#), owned(&[&["abc"]]));
        assert_eq!(lits(r#"any where a like "AbC*""#), owned(&[&["AbC"]]));
        assert_eq!(lits(r#"any where a like~ "AbC*""#), owned(&[&["abc"]]));
        assert_eq!(
            lits(r#"any where a in ("x1", "y2")"#),
            owned(&[&["x1", "y2"]])
        );
        assert_eq!(lits(r#"any where a in~ ("X1")"#), owned(&[&["X1"]]));
        assert_eq!(lits(r#"any where "x1" == a"#), owned(&[&["x1"]]));
        // or: one clause a side, merged
        assert_eq!(
            lits(r#"any where a == "x1" or b : "y2*""#),
            owned(&[&["x1", "y2"]])
        );
    }

    #[test]
    fn required_literals_by_narrows_ors_of_conjunctions() {
        let q = compile(
            r#"any where (a == "x1" and b == "longer1") or (c == "y1" and d : "*longer2*")"#,
            &Options::default(),
        )
        .expect("compiles");
        assert!(q.required_literals().is_empty());
        // the longest shortest alternative of each side
        let longest = |cs: &[Vec<String>]| {
            (0..cs.len()).max_by_key(|&i| cs[i].iter().map(String::len).min().unwrap_or(0))
        };
        assert_eq!(
            q.required_literals_by(&longest),
            owned(&[&["longer1", "longer2"]])
        );
        // a side with nothing certain still gives nothing
        let q = compile(
            r#"any where (a == "x1" and b == "y1") or not c == "z1""#,
            &Options::default(),
        )
        .expect("compiles");
        assert!(q.required_literals_by(&longest).is_empty());
    }

    #[test]
    fn run_matching_orders_as_run() {
        let opts = Options {
            tiebreaker: Some("n".into()),
            ..Options::default()
        };
        let q = compile(r#"any where a == "x""#, &opts).expect("compiles");
        let mut events = Vec::new();
        for (i, (ts, n, a)) in [
            (3, 1, "x"),
            (1, 2, "x"),
            (3, 0, "x"),
            (2, 5, "y"),
            (1, 2, "x"),
            (1, 1, "x"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut ev = Event::default();
            ev.set("@timestamp", ts as i64);
            ev.set("n", n as i64);
            ev.set("a", a);
            ev.set("i", i as i64);
            events.push(ev);
        }
        let order = |hits: Vec<crate::Hit>| -> Vec<i64> {
            hits.iter()
                .filter_map(|h| match h {
                    crate::Hit::Event(e) => e.get("i").and_then(|v| v.as_i64()),
                    _ => None,
                })
                .collect()
        };
        let all = order(q.run(events.clone()));
        let matching: Vec<Event> = events.into_iter().filter(|e| q.matches(e)).collect();
        assert_eq!(order(q.run_matching(matching)), all);
        assert_eq!(all, [5, 1, 4, 2, 0]);
    }

    #[test]
    fn no_literals_where_a_match_need_not_show_one() {
        for q in [
            r#"any where not a == "x1""#,
            r#"any where a != "x1""#,
            r#"any where a : "*""#,
            r#"any where a : ("x1*", "*")"#,
            r#"any where a : "?""#,
            r#"any where a == 1"#,
            r#"any where a == "4688""#,
            r#"any where a in ("x1", 2)"#,
            r#"any where a > "x1""#,
            r#"any where a regex "x1.*""#,
            r#"any where startsWith(a, "x1")"#,
            r#"any where a : "é*""#,
            r#"any where a == "x\ty""#,
            r#"any where @timestamp == "2021-01-01""#,
            r#"any where a == "x1" or (b == "y1" and c == "z1")"#,
            r#"any where a == "x1" or b != "y1""#,
        ] {
            assert_eq!(lits(q), Vec::<Vec<String>>::new(), "{q}");
        }
        let seq = compile(
            r#"sequence [any where a == "x1"] [any where b == "y1"]"#,
            &Options::default(),
        )
        .expect("compiles");
        assert!(seq.required_literals().is_empty());
        // and keeps the clauses it can
        assert_eq!(
            lits(r#"any where a == "x1" and not b == "y1" and c > 2"#),
            owned(&[&["x1"]])
        );
    }

    fn rejects(q: &str, needle: &str) {
        match compile(q, &Options::default()) {
            Ok(_) => panic!("{q} compiled"),
            Err(e) => {
                let shown = e.to_string();
                assert!(
                    shown.contains(needle) && shown.contains('^'),
                    "{q}: {shown}"
                );
            }
        }
    }

    #[test]
    fn rejects_what_elasticsearch_rejects() {
        rejects("any where a == b", "between fields");
        rejects("any where length(a) == length(b)", "between fields");
        rejects("any where a == 1 | count", "not supported");
        rejects("any where concat~(a, b) == \"x\"", "no case-insensitive");
        rejects("any where a : 1", "expected a string pattern");
    }

    #[test]
    fn constants_fold_and_fields_are_listed() {
        let q = compile(
            "process where length(\"abc\") + 1 == 4 and process.name : \"A*\"",
            &Options::default(),
        )
        .expect("compiles");
        assert!(q.fields().contains(&"process.name".to_string()));
        let mut e = Event::default();
        e.set("event.category", vec!["process"]);
        e.set("process.name", "abc.exe");
        assert!(q.matches(&e));
    }

    #[test]
    fn conjuncts_most_likely_to_reject_run_first() {
        let cx = super::Compiler {
            src: "",
            mapping: None,
        };
        let q = crate::parser::parse(
            "any where host.os.type == \"windows\" and not a : \"x\" and process.parent.name : \"dns.exe\"",
        )
        .expect("parses");
        let crate::ast::Body::Event(e) = &q.body else {
            panic!("event query")
        };
        let c = super::reorder(cx.compile(&e.condition).expect("compiles"));
        let mut order = Vec::new();
        super::fields(&c, &mut order);
        assert_eq!(order, ["process.parent.name", "host.os.type", "a"]);
        assert!(super::leads_with_specific_test(&c));
        let only_common =
            crate::parser::parse("any where host.os.type == \"windows\"").expect("parses");
        let crate::ast::Body::Event(e) = &only_common.body else {
            panic!("event query")
        };
        assert!(!super::leads_with_specific_test(
            &cx.compile(&e.condition).expect("compiles")
        ));
    }

    /// The constructs other front-ends lower to (Sigma's `re`, keywords and
    /// `fieldref`), built as they build them: no EQL text reaches them.
    #[test]
    fn search_any_text_and_field_equals() {
        use crate::ast::{Body, EventQuery, Expr, MatchOp, Statement};
        let field = |p: &str| Expr::Field {
            path: p.into(),
            optional: false,
            pos: 0,
        };
        let run = |cond: Expr, e: &Event| {
            let st = Statement {
                body: Body::Event(EventQuery {
                    category: None,
                    condition: cond,
                }),
                pipes: Vec::new(),
            };
            crate::compile_statement(&st, "", &Options::default())
                .expect("compiles")
                .matches(e)
        };
        let search = |lhs: &str, pat: &str, insensitive, multi_line, dot_all| Expr::Match {
            op: MatchOp::Search {
                insensitive,
                multi_line,
                dot_all,
            },
            lhs: Box::new(field(lhs)),
            rhs: vec![Expr::Str(pat.into())],
            negated: false,
            pos: 0,
        };
        let mut e = Event::default();
        e.set("a", "xx Foo\nbar yy");
        e.set("b", "FOO");
        e.set("c", "foo");
        e.set("n", 4_i64);
        e.set("m", vec!["one", "needle here"]);
        // unanchored, case-sensitive unless `i`
        assert!(run(search("a", "Foo", false, false, false), &e));
        assert!(!run(search("a", "^Foo", false, false, false), &e));
        assert!(!run(search("a", "foo", false, false, false), &e));
        assert!(run(search("a", "foo", true, false, false), &e));
        let mut nl = Event::default();
        nl.set("a", "one\ntwo");
        assert!(!run(search("a", "^two", false, false, false), &nl));
        assert!(run(search("a", "^two", false, true, false), &nl));
        assert!(!run(search("a", "one.two", false, false, false), &nl));
        assert!(run(search("a", "one.two", false, false, true), &nl));
        // every string value, numbers aside, arrays included
        assert!(run(
            search(crate::compile::ANY_TEXT, "needle", false, false, false),
            &e
        ));
        assert!(!run(
            search(crate::compile::ANY_TEXT, "^4$", false, false, false),
            &e
        ));
        assert!(!run(
            search(crate::compile::ANY_TEXT, "x", false, false, false),
            &Event::default()
        ));
        // field against field
        let feq = |a: &str, b: &str, insensitive| Expr::Call {
            name: "fieldEquals".into(),
            insensitive,
            args: vec![field(a), field(b)],
            pos: 0,
        };
        assert!(!run(feq("b", "c", false), &e));
        assert!(run(feq("b", "c", true), &e));
        assert!(run(feq("c", "c", false), &e));
        assert!(!run(feq("c", "missing", true), &e));
        assert!(!run(Expr::Not(Box::new(feq("c", "missing", true))), &e));
    }

    #[test]
    fn long_conjunctions_are_balanced() {
        fn depth(c: &super::C) -> usize {
            match c {
                super::C::And(a, b) | super::C::Or(a, b) => 1 + depth(a).max(depth(b)),
                _ => 1,
            }
        }
        let q = (0..256)
            .map(|i| format!("a{i} == \"x\""))
            .collect::<Vec<_>>()
            .join(" and ");
        let st = crate::parser::parse(&format!("any where {q}")).expect("parses");
        let crate::ast::Body::Event(e) = &st.body else {
            panic!("event query")
        };
        let cx = super::Compiler {
            src: "",
            mapping: None,
        };
        let c = super::reorder(cx.compile(&e.condition).expect("compiles"));
        assert_eq!(depth(&c), 9);
        // the conjuncts keep their order
        let mut order = Vec::new();
        super::fields(&c, &mut order);
        assert_eq!(order[0], "a0");
        assert_eq!(order[255], "a255");
    }

    #[test]
    fn missing_field_rules() {
        let mut e = Event::default();
        e.set("event.category", vec!["process"]);
        let m = |q: &str| {
            compile(q, &Options::default())
                .expect("compiles")
                .matches(&e)
        };
        assert!(m("process where a != \"x\""));
        assert!(m("process where not a : \"x\""));
        assert!(m("process where a not in (\"x\", \"y\")"));
        assert!(m("process where a == null"));
        assert!(!m("process where a == \"x\""));
        assert!(!m("process where a : \"*\""));
        assert!(!m("process where a > 1"));
    }
}
