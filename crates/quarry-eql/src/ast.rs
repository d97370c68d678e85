//! The syntax tree of an EQL statement, as parsed (before compilation).

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A field path; `optional` for `?field`.
    Field {
        path: String,
        optional: bool,
        pos: usize,
    },
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    /// `+ - * / %`
    Arith(char, Box<Expr>, Box<Expr>),
    /// `== != < <= > >=`
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// `:`, `like`, `like~`, `regex`, `regex~`, `in`, `in~` with their list.
    Match {
        op: MatchOp,
        lhs: Box<Expr>,
        rhs: Vec<Expr>,
        negated: bool,
        pos: usize,
    },
    Call {
        name: String,
        insensitive: bool,
        args: Vec<Expr>,
        pos: usize,
    },
    /// The values of every field whose dotted name matches `pattern` (`*`
    /// any run), as one multi-valued value: Kibana's wildcard field names
    /// (`file.hash.*: *`) and free text over all fields. No EQL syntax
    /// produces it.
    Fields {
        pattern: String,
        pos: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `:` — case-insensitive wildcard (same as `like~`).
    Colon,
    Like {
        insensitive: bool,
    },
    Regex {
        insensitive: bool,
    },
    In {
        insensitive: bool,
    },
    /// Elasticsearch's `wildcard` term (KQL, Lucene): `*` any run, `\`
    /// escapes, everything else literal (`?` too); case-sensitive unless
    /// `insensitive` (a `lowercase` normalizer). No EQL syntax produces it.
    Wildcard {
        insensitive: bool,
    },
    /// A full-text query on an analysed (`text`) field (KQL, Lucene): the
    /// values and the patterns are split into tokens by `analyzer`. No EQL
    /// syntax produces it.
    Text {
        analyzer: crate::text::Analyzer,
        query: crate::text::TextQuery,
    },
    /// An unanchored regular-expression search in Rust `regex` syntax (a
    /// match anywhere in the value, as PCRE's `search`), with its flags:
    /// what Sigma's `re` modifier means (`|re|i|m|s`). EQL's own `regex` is
    /// Lucene's, anchored at both ends; front-ends whose language searches
    /// lower to this instead. No EQL syntax produces it.
    Search {
        insensitive: bool,
        multi_line: bool,
        dot_all: bool,
    },
}

/// `category where condition`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventQuery {
    /// `None` for `any`.
    pub category: Option<String>,
    pub condition: Expr,
}

/// One bracketed term of a sequence or sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub query: EventQuery,
    pub keys: Vec<Expr>,
    pub runs: usize,
    /// `![…]`: an event that must not occur.
    pub missing: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Event(EventQuery),
    Sequence {
        keys: Vec<Expr>,
        maxspan_ms: Option<i64>,
        terms: Vec<Term>,
        until: Option<Term>,
    },
    Sample {
        keys: Vec<Expr>,
        terms: Vec<Term>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipe {
    Head(usize),
    Tail(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub body: Body,
    pub pipes: Vec<Pipe>,
}
