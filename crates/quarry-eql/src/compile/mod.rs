//! Compilation: AST → an evaluable tree with field paths resolved through
//! the mapping's aliases, wildcard patterns and regexes built, constant
//! sub-expressions folded, and what Elasticsearch rejects rejected
//! (field-to-field comparisons, `~` on functions that have no such form,
//! wrong arity, non-string patterns). Here the compiled tree and the
//! compiler; in [`optimise`] folding and conjunct ordering, in [`literals`]
//! what a condition requires of an event (literals, fields read).

use crate::Mapping;
use crate::ast::{CmpOp, Expr, MatchOp};
use crate::error::EqlError;
use crate::glob::{Glob, GlobSet};
use crate::text::{Analyzer, TextPattern, TextQuery, Wild};
use crate::value::V;
use quarry_event::PathMemo;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

mod literals;
mod optimise;
#[cfg(test)]
mod tests;

pub use literals::{Holds, Need, Pick, fields, required_literals, required_needs_by};
pub use optimise::{KIND_FIELDS, fold, leads_with_specific_test, reorder};

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

/// A field the condition reads. Loaded rules hold hundreds of thousands of
/// these (one per test): the path is not kept beside its interned id, and
/// what a mapping adds, rarely anything, is boxed.
#[derive(Debug, Clone)]
pub struct FieldRef {
    /// The path interned (see [`FieldRef::path`]), resolved once here so
    /// evaluation never looks a name up.
    pub id: quarry_event::FieldId,
    pub kind: FieldKind,
    mapped: Option<Box<Mapped>>,
}

/// What a mapping says of a field besides its type.
#[derive(Debug, Clone)]
struct Mapped {
    /// A mapping's `null_value`: what a JSON null in the field stands for.
    null_value: Option<V<'static>>,
    /// Custom date formats from the mapping.
    date_formats: Box<[String]>,
}

impl FieldRef {
    /// The field's path (as the mapping resolves it).
    pub fn path(&self) -> &'static str {
        quarry_event::field_name(self.id)
    }

    /// A mapping's `null_value`: what a JSON null in the field stands for.
    pub fn null_value(&self) -> Option<&V<'static>> {
        self.mapped.as_ref()?.null_value.as_ref()
    }

    /// Custom date formats from the mapping.
    pub fn date_formats(&self) -> &[String] {
        self.mapped.as_ref().map_or(&[], |m| &m.date_formats)
    }
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

/// A compiled expression.
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
        /// Shared by the tests of one statement that list the same
        /// patterns (a Sigma rule has its lists once per log it reads).
        pats: Arc<GlobSet>,
        negated: bool,
    },
    Regex {
        lhs: Box<C>,
        set: Box<[regex::Regex]>,
        negated: bool,
    },
    In {
        lhs: Box<C>,
        items: Box<[V<'static>]>,
        insensitive: bool,
        negated: bool,
    },
    Call {
        func: Func,
        insensitive: bool,
        args: Box<[C]>,
    },
    /// The values of the fields whose names match (see [`Expr::Fields`]),
    /// and what the pattern says of each field id, remembered.
    Fields(Box<(Wild, PathMemo)>),
    Wild {
        lhs: Box<C>,
        pats: Box<[Wild]>,
        negated: bool,
    },
    Text {
        lhs: Box<C>,
        analyzer: Analyzer,
        query: TextQuery,
        pats: Box<[TextPattern]>,
        negated: bool,
    },
}

// Loaded rules hold hundreds of thousands of nodes: the payloads of the
// rarer, larger variants are boxed so that every node stays this small.
const _: () = assert!(std::mem::size_of::<C>() <= 40);

pub struct Compiler<'a> {
    pub src: &'a str,
    pub mapping: Option<&'a Mapping>,
    /// The pattern sets compiled so far, by their patterns and case.
    globs: RefCell<HashMap<GlobKey, Arc<GlobSet>>>,
}

/// A `:` / `like` test's patterns, and whether it ignores case.
type GlobKey = (Vec<String>, bool);

impl<'a> Compiler<'a> {
    pub fn new(src: &'a str, mapping: Option<&'a Mapping>) -> Self {
        Compiler {
            src,
            mapping,
            globs: RefCell::default(),
        }
    }

    /// The set of these patterns, compiled once per statement.
    fn glob_set(&self, pats: Vec<String>, insensitive: bool) -> Arc<GlobSet> {
        let key = (pats, insensitive);
        if let Some(set) = self.globs.borrow().get(&key) {
            return set.clone();
        }
        let set = Arc::new(GlobSet::new(
            key.0.iter().map(|p| Glob::new(p, insensitive)).collect(),
        ));
        self.globs.borrow_mut().insert(key, set.clone());
        set
    }

    pub fn field(&self, path: &str) -> FieldRef {
        if path == ANY_TEXT {
            return FieldRef {
                id: quarry_event::field_id(path),
                kind: FieldKind::AnyText,
                mapped: None,
            };
        }
        let (path, kind, mapped) = match self.mapping {
            Some(m) => {
                let resolved = m.resolve(path);
                let kind = match m.types.get(resolved).map(String::as_str) {
                    Some("date" | "date_nanos") => FieldKind::Date,
                    Some("version") => FieldKind::Version,
                    Some("ip") => FieldKind::Ip,
                    _ => FieldKind::Plain,
                };
                let null_value = m
                    .null_values
                    .get(resolved)
                    .map(|v| V::from_event(v).into_owned());
                let date_formats: Box<[String]> = m
                    .date_formats
                    .get(resolved)
                    .map(|f| f.clone().into_boxed_slice())
                    .unwrap_or_default();
                let mapped = (null_value.is_some() || !date_formats.is_empty()).then(|| {
                    Box::new(Mapped {
                        null_value,
                        date_formats,
                    })
                });
                (resolved, kind, mapped)
            }
            None => (path, FieldKind::Plain, None),
        };
        let kind = if kind == FieldKind::Plain && path == "@timestamp" {
            FieldKind::Date
        } else {
            kind
        };
        FieldRef {
            id: quarry_event::field_id(path),
            kind,
            mapped,
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
            Expr::Fields { pattern, .. } => {
                C::Fields(Box::new((Wild::new(pattern, false), PathMemo::new())))
            }
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
                        pats: self.glob_set(need_str(&consts)?, true),
                        negated: *negated,
                    },
                    MatchOp::Like { insensitive } => C::Glob {
                        lhs: Box::new(l),
                        pats: self.glob_set(need_str(&consts)?, *insensitive),
                        negated: *negated,
                    },
                    MatchOp::Regex { insensitive } => C::Regex {
                        lhs: Box::new(l),
                        set: regex_set(&|p: &str| {
                            regex::RegexBuilder::new(&format!("^(?:{})$", lucene_to_rust(p)))
                                .case_insensitive(*insensitive)
                                .dot_matches_new_line(true)
                                .build()
                        })?
                        .into(),
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
                        })?
                        .into(),
                        negated: *negated,
                    },
                    MatchOp::In { insensitive } => C::In {
                        lhs: Box::new(l),
                        items: consts.into(),
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
                    args: args.into(),
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
