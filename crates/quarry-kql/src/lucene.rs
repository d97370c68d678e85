//! Lucene's query-string syntax (`language = "lucene"`), as Elasticsearch's
//! `query_string` query reads it (Kibana sends a Lucene rule's query as
//! one): parsed here into KQL's tree ([`crate::ast`]) and lowered by the
//! same field-type rules ([`crate::lower`]), so a keyword, a text field
//! with its analyzer, an ip or a date means the same in both languages.
//!
//! The grammar is Lucene's classic `QueryParser`, with its clause logic:
//!
//! - clauses are separated by whitespace; each may carry a modifier `+`
//!   (must), `-`, `!` or `NOT` (must not), and be joined by `AND`/`&&` or
//!   `OR`/`||` (upper case only; `and`, `or` are terms). Without operators
//!   clauses are optional (`default_operator: OR`): with a `+` or `AND`
//!   clause present, the optional ones only score (`+a b` is `a`); with
//!   only prohibited clauses the query matches everything else
//!   (Elasticsearch adds a `match_all`). `AND` makes the clause before it
//!   required too, so `a AND b OR c` is `+a +b c`, i.e. `a AND b`, and
//!   `a OR b AND c` is `a +b +c` — Lucene's own reading, kept.
//! - `field:term`, `field:"phrase"`, `field:(a OR b)` (the field applies
//!   inside), `field:/regex/` (anchored, Lucene's syntax), wildcards `*`
//!   and `?` (case-sensitive on keywords, lowercased on text), ranges
//!   `[a TO b]`, `{a TO b}` (mixed brackets, `*` open), `field:>=5`
//!   (`>`, `>=`, `<`, `<=`: Elasticsearch's extension), `field:*` and
//!   `_exists_:field` (exists), a term without field over every field
//!   (`default_field: *`), `\` escaping any character, `^2` boosts
//!   (scoring only: ignored).
//! - fuzzy terms (`term~`) and proximity phrases (`"a b"~3`) are scoring
//!   searches quarry does not run: the query is [`LuceneError::Unsupported`].

use crate::ast::{Field, Query, RangeOp, Value, ValueKind, Values};
use crate::error::KqlError;
use std::fmt;

/// A Lucene query that cannot run: its syntax is wrong, or it uses a
/// feature quarry does not evaluate offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LuceneError {
    Syntax(KqlError),
    Unsupported(KqlError),
}

impl LuceneError {
    pub fn error(&self) -> &KqlError {
        match self {
            LuceneError::Syntax(e) | LuceneError::Unsupported(e) => e,
        }
    }
}

impl fmt::Display for LuceneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.error(), f)
    }
}

impl std::error::Error for LuceneError {}

impl From<KqlError> for LuceneError {
    fn from(e: KqlError) -> Self {
        LuceneError::Syntax(e)
    }
}

/// Parses a query string into KQL's tree.
pub fn parse(src: &str) -> Result<Query, LuceneError> {
    let toks = lex(src)?;
    let mut p = Parser { src, toks, i: 0 };
    if p.peek() == &Tok::Eof {
        return Ok(Query::All);
    }
    let q = p.query(None, 0)?;
    if p.peek() != &Tok::Eof {
        return Err(p.syntax("expected a clause or the end of the query"));
    }
    Ok(q)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Colon,
    Plus,
    Minus,
    Not,
    And,
    Or,
    /// `^2`
    Boost,
    /// `~` or `~2`
    Tilde,
    /// An unquoted term: `raw` as written (escapes kept), `text` with them
    /// resolved.
    Term {
        raw: String,
        text: String,
    },
    Phrase(String),
    Regex(String),
    /// `[lo TO hi]`, `{lo TO hi}`: bounds as written (`None` for `*`).
    Range {
        lo: Option<String>,
        hi: Option<String>,
        lo_inclusive: bool,
        hi_inclusive: bool,
    },
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{3000}')
}

/// Characters that end a term (Lucene's `_TERM_START_CHAR` exclusions,
/// but `*` and `?`, which are wildcards inside a term, and `+`, `-`, which
/// are term characters after the first).
fn ends_term(c: char) -> bool {
    is_space(c)
        || matches!(
            c,
            '(' | ')' | ':' | '^' | '[' | ']' | '"' | '{' | '}' | '~' | '/' | '!'
        )
}

fn lex(src: &str) -> Result<Vec<Token>, LuceneError> {
    let err = |m: &str, at: usize| LuceneError::Syntax(KqlError::new(m, at, src));
    let mut out = Vec::new();
    let mut it = src.char_indices().peekable();
    while let Some(&(at, c)) = it.peek() {
        if is_space(c) {
            it.next();
            continue;
        }
        let push = |out: &mut Vec<Token>, tok| out.push(Token { tok, start: at });
        match c {
            '(' | ')' | ':' | '+' | '-' | '!' => {
                it.next();
                let tok = match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    ':' => Tok::Colon,
                    '+' => Tok::Plus,
                    '-' => Tok::Minus,
                    _ => Tok::Not,
                };
                push(&mut out, tok);
            }
            '&' | '|' if src[at..].starts_with("&&") || src[at..].starts_with("||") => {
                it.next();
                it.next();
                push(&mut out, if c == '&' { Tok::And } else { Tok::Or });
            }
            '^' | '~' => {
                it.next();
                // a number may follow (a boost, a fuzziness or slop)
                while it
                    .peek()
                    .is_some_and(|&(_, d)| d.is_ascii_digit() || d == '.')
                {
                    it.next();
                }
                push(&mut out, if c == '^' { Tok::Boost } else { Tok::Tilde });
            }
            '"' => {
                it.next();
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, d)) = it.next() {
                    match d {
                        '\\' => match it.next() {
                            Some((_, e)) => s.push(e),
                            None => s.push('\\'),
                        },
                        '"' => {
                            closed = true;
                            break;
                        }
                        d => s.push(d),
                    }
                }
                if !closed {
                    return Err(err("unterminated quoted phrase", at));
                }
                push(&mut out, Tok::Phrase(s));
            }
            '/' => {
                it.next();
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, d)) = it.next() {
                    match d {
                        // `\/` is a slash; every other escape is the regex's
                        '\\' => match it.next() {
                            Some((_, '/')) => s.push('/'),
                            Some((_, e)) => {
                                s.push('\\');
                                s.push(e);
                            }
                            None => s.push('\\'),
                        },
                        '/' => {
                            closed = true;
                            break;
                        }
                        d => s.push(d),
                    }
                }
                if !closed {
                    return Err(err(
                        "unterminated regular expression (a `/` in a term must be escaped: `\\/`)",
                        at,
                    ));
                }
                push(&mut out, Tok::Regex(s));
            }
            '[' | '{' => {
                it.next();
                let tok = range(src, at, c == '[', &mut it)?;
                push(&mut out, tok);
            }
            ']' | '}' => return Err(err("unbalanced range bracket", at)),
            _ => {
                let mut raw = String::new();
                let mut text = String::new();
                while let Some(&(_, d)) = it.peek() {
                    if d == '\\' {
                        it.next();
                        raw.push('\\');
                        match it.next() {
                            Some((_, e)) => {
                                raw.push(e);
                                text.push(e);
                            }
                            None => return Err(err("a `\\` at the end of the query", at)),
                        }
                        continue;
                    }
                    if ends_term(d) {
                        break;
                    }
                    it.next();
                    raw.push(d);
                    text.push(d);
                }
                let tok = match raw.as_str() {
                    "AND" => Tok::And,
                    "OR" => Tok::Or,
                    "NOT" => Tok::Not,
                    _ => Tok::Term { raw, text },
                };
                push(&mut out, tok);
            }
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        start: src.len(),
    });
    Ok(out)
}

/// The rest of a range after its opening bracket.
fn range(
    src: &str,
    at: usize,
    lo_inclusive: bool,
    it: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
) -> Result<Tok, LuceneError> {
    let err = |m: &str| LuceneError::Syntax(KqlError::new(m, at, src));
    // the bounds and `TO`: quoted strings or runs of non-space characters
    let mut words: Vec<(String, bool)> = Vec::new();
    let hi_inclusive = loop {
        while it.peek().is_some_and(|&(_, c)| is_space(c)) {
            it.next();
        }
        match it.peek().copied() {
            None => return Err(err("unterminated range: expected `]` or `}`")),
            Some((_, c @ (']' | '}'))) => {
                it.next();
                break c == ']';
            }
            Some((_, '"')) => {
                it.next();
                let mut s = String::new();
                loop {
                    match it.next() {
                        Some((_, '\\')) => {
                            if let Some((_, e)) = it.next() {
                                s.push(e);
                            }
                        }
                        Some((_, '"')) => break,
                        Some((_, c)) => s.push(c),
                        None => return Err(err("unterminated quoted range bound")),
                    }
                }
                words.push((s, true));
            }
            Some(_) => {
                let mut s = String::new();
                while let Some(&(_, c)) = it.peek() {
                    if is_space(c) || c == ']' || c == '}' {
                        break;
                    }
                    it.next();
                    if c == '\\' {
                        if let Some((_, e)) = it.next() {
                            s.push(e);
                        }
                    } else {
                        s.push(c);
                    }
                }
                words.push((s, false));
            }
        }
    };
    match words.as_slice() {
        [(lo, lq), (to, false), (hi, hq)] if to == "TO" => {
            let bound = |s: &str, quoted: bool| (quoted || s != "*").then(|| s.to_string());
            Ok(Tok::Range {
                lo: bound(lo, *lq),
                hi: bound(hi, *hq),
                lo_inclusive,
                hi_inclusive,
            })
        }
        _ => Err(err("a range is `[from TO to]` or `{from TO to}`")),
    }
}

/// Lucene's clause occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Occur {
    Must,
    Should,
    MustNot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conj {
    None,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mod {
    None,
    Req,
    Not,
}

/// Nesting deeper than this is refused (a stack guard).
const MAX_DEPTH: usize = 200;

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.i.min(self.toks.len() - 1)].tok
    }
    fn pos(&self) -> usize {
        self.toks[self.i.min(self.toks.len() - 1)].start
    }
    fn bump(&mut self) -> Token {
        let t = self.toks[self.i.min(self.toks.len() - 1)].clone();
        self.i += 1;
        t
    }
    fn syntax(&self, m: &str) -> LuceneError {
        LuceneError::Syntax(KqlError::new(m, self.pos(), self.src))
    }
    fn unsupported(&self, m: &str, at: usize) -> LuceneError {
        LuceneError::Unsupported(KqlError::new(m, at, self.src))
    }

    /// `Query(field)`: clauses up to `)` or the end, combined by Lucene's
    /// `addClause`.
    fn query(&mut self, field: Option<&Field>, depth: usize) -> Result<Query, LuceneError> {
        if depth > MAX_DEPTH {
            return Err(self.syntax("query nested too deeply"));
        }
        let mut clauses: Vec<(Occur, Query)> = Vec::new();
        let mut conj = Conj::None;
        loop {
            let m = match self.peek() {
                Tok::Plus => Mod::Req,
                Tok::Minus | Tok::Not => Mod::Not,
                _ => Mod::None,
            };
            if m != Mod::None {
                self.i += 1;
            }
            let q = self.clause(field, depth)?;
            add_clause(&mut clauses, conj, m, q);
            conj = match self.peek() {
                Tok::And => Conj::And,
                Tok::Or => Conj::Or,
                _ => Conj::None,
            };
            if conj != Conj::None {
                self.i += 1;
            }
            if matches!(self.peek(), Tok::Eof | Tok::RParen) {
                if conj != Conj::None {
                    return Err(self.syntax("expected a clause after the operator"));
                }
                break;
            }
        }
        Ok(combine(clauses))
    }

    /// `Clause(field)`: `[field:] (term | "(" query ")")`.
    fn clause(&mut self, field: Option<&Field>, depth: usize) -> Result<Query, LuceneError> {
        let mut own = None;
        if let Tok::Term { raw, text } = self.peek().clone()
            && self.toks.get(self.i + 1).map(|t| &t.tok) == Some(&Tok::Colon)
        {
            let at = self.pos();
            self.i += 2;
            own = Some(field_named(&raw, text, at));
        }
        let field = own.as_ref().or(field);
        if self.peek() == &Tok::LParen {
            self.i += 1;
            let q = self.query(field, depth + 1)?;
            if self.peek() != &Tok::RParen {
                return Err(self.syntax("expected `)`"));
            }
            self.i += 1;
            self.boost();
            return Ok(q);
        }
        let t = self.bump();
        let q = match t.tok {
            Tok::Term { raw, text } => {
                if self.peek() == &Tok::Tilde {
                    return Err(self.unsupported(
                        "a fuzzy term (`~`) is a scoring search quarry does not run",
                        t.start,
                    ));
                }
                term(field, &raw, text, t.start)
            }
            Tok::Phrase(s) => {
                if self.peek() == &Tok::Tilde {
                    return Err(self.unsupported(
                        "a proximity phrase (`\"…\"~n`) is a scoring search quarry does not run",
                        t.start,
                    ));
                }
                let v = value(ValueKind::Quoted(s), t.start);
                match field {
                    Some(f) => field_query(f, v),
                    None => Query::Text(v),
                }
            }
            Tok::Regex(s) => {
                let v = value(
                    ValueKind::Regex {
                        pattern: s,
                        wildcard: false,
                        insensitive: false,
                    },
                    t.start,
                );
                match field {
                    Some(f) => field_query(f, v),
                    None => Query::Text(v),
                }
            }
            Tok::Range {
                lo,
                hi,
                lo_inclusive,
                hi_inclusive,
            } => {
                let Some(f) = field else {
                    return Err(self.unsupported("a range without a field", t.start));
                };
                let mut parts = Vec::new();
                let bound = |op, s: String| Query::Range {
                    field: f.clone(),
                    op,
                    value: value(
                        ValueKind::Unquoted {
                            text: s,
                            pattern: None,
                        },
                        t.start,
                    ),
                };
                if let Some(lo) = lo {
                    parts.push(bound(
                        if lo_inclusive {
                            RangeOp::Ge
                        } else {
                            RangeOp::Gt
                        },
                        lo,
                    ));
                }
                if let Some(hi) = hi {
                    parts.push(bound(
                        if hi_inclusive {
                            RangeOp::Le
                        } else {
                            RangeOp::Lt
                        },
                        hi,
                    ));
                }
                match parts.len() {
                    // `[* TO *]`: any value
                    0 => field_query(f, exists(t.start)),
                    1 => parts.pop().unwrap_or(Query::All),
                    _ => Query::And(parts),
                }
            }
            _ => {
                self.i -= 1;
                return Err(self.syntax("expected a term, a phrase, a range, `(` or a field"));
            }
        };
        self.boost();
        Ok(q)
    }

    fn boost(&mut self) {
        if self.peek() == &Tok::Boost {
            self.i += 1;
        }
    }
}

/// Lucene's `QueryParserBase.addClause` with `default_operator: OR`: an
/// `AND` makes the clause before it required (unless prohibited) and this
/// one too; `+` requires, `-`/`NOT` prohibits, else optional.
fn add_clause(clauses: &mut Vec<(Occur, Query)>, conj: Conj, m: Mod, q: Query) {
    if conj == Conj::And
        && let Some(last) = clauses.last_mut()
        && last.0 != Occur::MustNot
    {
        last.0 = Occur::Must;
    }
    let occur = match m {
        Mod::Not => Occur::MustNot,
        Mod::Req => Occur::Must,
        Mod::None if conj == Conj::And => Occur::Must,
        Mod::None => Occur::Should,
    };
    clauses.push((occur, q));
}

/// The boolean query of the clauses, as Elasticsearch evaluates it.
fn combine(clauses: Vec<(Occur, Query)>) -> Query {
    if clauses.len() == 1 && clauses[0].0 != Occur::MustNot {
        return clauses.into_iter().next().map_or(Query::All, |c| c.1);
    }
    let (mut must, mut should, mut not) = (Vec::new(), Vec::new(), Vec::new());
    for (o, q) in clauses {
        match o {
            Occur::Must => must.push(q),
            Occur::Should => should.push(q),
            Occur::MustNot => not.push(Query::Not(Box::new(q))),
        }
    }
    // with a required clause the optional ones only score
    if must.is_empty() && !should.is_empty() {
        must.push(if should.len() == 1 {
            should.pop().unwrap_or(Query::All)
        } else {
            Query::Or(should)
        });
    }
    must.extend(not);
    if must.len() == 1 {
        must.pop().unwrap_or(Query::All)
    } else {
        Query::And(must)
    }
}

fn value(kind: ValueKind, pos: usize) -> Value {
    Value { kind, pos }
}

fn exists(pos: usize) -> Value {
    value(
        ValueKind::Unquoted {
            text: "*".into(),
            pattern: Some("*".into()),
        },
        pos,
    )
}

fn field_query(f: &Field, v: Value) -> Query {
    Query::Field {
        field: f.clone(),
        values: Values::One(v),
    }
}

/// A field name as written before `:`; one with a `*` (escaped, as Lucene
/// asks) names every field it matches.
fn field_named(_raw: &str, text: String, pos: usize) -> Field {
    let pattern = text.contains('*').then(|| text.replace('\\', "\\\\"));
    Field {
        name: text,
        pattern,
        pos,
    }
}

/// An unquoted term: exists, a range (`>=5`), a wildcard or a plain term.
fn term(field: Option<&Field>, raw: &str, text: String, pos: usize) -> Query {
    // `_exists_:name`
    if let Some(f) = field
        && f.name == "_exists_"
    {
        let target = field_named(raw, text, pos);
        return field_query(&target, exists(pos));
    }
    let (has_star, has_q) = wildcards(raw);
    if raw == "*" {
        return match field {
            // `*:*` or a lone `*`: every document
            None => Query::All,
            Some(f) if f.name == "*" => Query::All,
            Some(f) => field_query(f, exists(pos)),
        };
    }
    let Some(f) = field else {
        return Query::Text(plain_or_wild(raw, text, has_star, has_q, pos));
    };
    // Elasticsearch's `field:>=x` (its query_string parser reads a term
    // starting with a comparison as a one-sided range)
    if !has_star && !has_q {
        for (prefix, op) in [
            (">=", RangeOp::Ge),
            ("<=", RangeOp::Le),
            (">", RangeOp::Gt),
            ("<", RangeOp::Lt),
        ] {
            if let Some(rest) = raw.strip_prefix(prefix) {
                let bound = unescape(rest);
                return Query::Range {
                    field: f.clone(),
                    op,
                    value: value(
                        ValueKind::Unquoted {
                            text: bound,
                            pattern: None,
                        },
                        pos,
                    ),
                };
            }
        }
    }
    field_query(f, plain_or_wild(raw, text, has_star, has_q, pos))
}

/// The value of a term: plain, a `*` wildcard (KQL's pattern form), or,
/// with `?` or an escaped space, a regex.
fn plain_or_wild(raw: &str, text: String, has_star: bool, has_q: bool, pos: usize) -> Value {
    if has_q || (has_star && text.contains(char::is_whitespace)) {
        return value(
            ValueKind::Regex {
                pattern: wildcard_regex(raw),
                wildcard: true,
                insensitive: false,
            },
            pos,
        );
    }
    if has_star {
        return value(
            ValueKind::Unquoted {
                text,
                pattern: Some(star_pattern(raw)),
            },
            pos,
        );
    }
    value(
        ValueKind::Unquoted {
            text,
            pattern: None,
        },
        pos,
    )
}

/// Unescaped `*` and `?` in a raw term.
fn wildcards(raw: &str) -> (bool, bool) {
    let (mut star, mut q, mut esc) = (false, false, false);
    for c in raw.chars() {
        match (esc, c) {
            (true, _) => esc = false,
            (false, '\\') => esc = true,
            (false, '*') => star = true,
            (false, '?') => q = true,
            _ => {}
        }
    }
    (star, q)
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut it = raw.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            if let Some(n) = it.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A raw term as KQL's pattern: `*` the wildcard, `\*` and `\\` literal,
/// every other escape resolved.
fn star_pattern(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut it = raw.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(n @ ('*' | '\\')) => {
                    out.push('\\');
                    out.push(n);
                }
                Some(n) => out.push(n),
                None => {}
            },
            c => out.push(c),
        }
    }
    out
}

/// A raw wildcard term (`*`, `?`) as a Lucene regex over the whole value.
pub(crate) fn wildcard_regex(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() * 2);
    let lit = |out: &mut String, c: char| {
        if c.is_alphanumeric() {
            out.push(c);
        } else {
            // a class holds any character literally in Lucene's syntax
            // and in Rust's, but `]`, `\`, `^` need an escape there
            out.push('[');
            if matches!(c, ']' | '\\' | '^' | '[' | '&' | '~') {
                out.push('\\');
            }
            out.push(c);
            out.push(']');
        }
    };
    let mut it = raw.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                if let Some(n) = it.next() {
                    lit(&mut out, n);
                }
            }
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            c => lit(&mut out, c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(q: &str) -> String {
        let parsed = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        let s = format!("{parsed:?}");
        // positions zeroed
        let mut out = String::new();
        let mut rest = s.as_str();
        while let Some(i) = rest.find("pos: ") {
            out.push_str(&rest[..i + 5]);
            rest = &rest[i + 5..];
            let n = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            out.push('0');
            rest = &rest[n..];
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn classic_clause_logic() {
        // `a AND b OR c` is `+a +b c`: the optional `c` only scores
        assert_eq!(shape("a AND b OR c"), shape("+a +b"));
        // `a OR b AND c` is `a +b +c`
        assert_eq!(shape("a OR b AND c"), shape("+b +c"));
        // without operators every clause is optional: one is enough
        assert_eq!(shape("a b"), shape("a OR b"));
        assert_eq!(shape("a && b"), shape("a AND b"));
        assert_eq!(shape("a || b"), shape("a OR b"));
        assert!(shape("a -b").starts_with("And([Text"), "{}", shape("a -b"));
        assert!(shape("NOT a").starts_with("Not("));
        assert_eq!(shape("!a"), shape("NOT a"));
        // lower-case `and`/`or` are terms
        assert_eq!(shape("a and b"), shape("a OR and OR b"));
    }

    #[test]
    fn leaves() {
        assert!(shape("f:*").contains(r#"pattern: Some("*")"#));
        assert_eq!(shape("_exists_:f"), shape("f:*"));
        assert_eq!(shape("*:*"), "All");
        assert_eq!(shape("*"), "All");
        assert!(shape("f:[1 TO 5}").contains("op: Ge") && shape("f:[1 TO 5}").contains("op: Lt"));
        assert!(shape("f:{* TO 5]").starts_with("Range") && shape("f:{* TO 5]").contains("op: Le"));
        assert_eq!(shape("f:[* TO *]"), shape("f:*"));
        assert!(shape("f:>=5").contains("op: Ge"));
        assert!(shape("f:<5").contains("op: Lt"));
        assert!(
            shape("f:a?c")
                .contains(r#"Regex { pattern: "a.c", wildcard: true, insensitive: false }"#)
        );
        assert!(shape(r"f:a\?c*").contains(r#"pattern: Some("a?c*")"#));
        assert!(
            shape(r"f:/2[0-9]{3}/")
                .contains(r#"Regex { pattern: "2[0-9]{3}", wildcard: false, insensitive: false }"#)
        );
        assert!(shape(r"f:a\ b").contains(r#"text: "a b""#));
        assert!(shape(r"f:C\:\\Windows\\*").contains(r#"pattern: Some("C:\\\\Windows\\\\*")"#));
        assert_eq!(shape("f:a^2"), shape("f:a"));
        // the field applies inside a group
        assert_eq!(shape("f:(a OR b)"), shape("f:a OR f:b"));
        assert_eq!(shape("f:(a g:b)"), shape("f:a OR g:b"));
        // a term's inner `-` and `+` are its own
        assert!(shape("f:g+s").contains(r#"text: "g+s""#));
        assert!(shape("f:a-b").contains(r#"text: "a-b""#));
        assert!(shape(r"file.hash.\*:x").contains(r#"pattern: Some("file.hash.*")"#));
    }

    #[test]
    fn errors() {
        for (q, at) in [
            ("f:(a", 4),
            ("f:\"a", 2),
            ("f:[1 TO", 2),
            ("f:[1 5]", 2),
            ("a AND", 5),
            ("f:/a", 2),
            ("a)", 1),
        ] {
            let e = parse(q).expect_err(q);
            assert!(matches!(e, LuceneError::Syntax(_)), "{q}: {e:?}");
            assert_eq!(e.error().position, at, "{q}: {e}");
        }
        assert!(matches!(parse("f:abc~"), Err(LuceneError::Unsupported(_))));
        assert!(matches!(
            parse("f:\"a b\"~2"),
            Err(LuceneError::Unsupported(_))
        ));
        assert!(matches!(
            parse("[1 TO 2]"),
            Err(LuceneError::Unsupported(_))
        ));
    }
}
