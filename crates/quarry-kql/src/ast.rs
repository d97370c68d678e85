//! The syntax tree of a KQL query, as parsed (before lowering).
//!
//! Positions are byte offsets into the query text.

/// A query.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// An empty query: matches every event (Kibana's `match_all`).
    All,
    Or(Vec<Query>),
    And(Vec<Query>),
    Not(Box<Query>),
    /// `field: values`.
    Field {
        field: Field,
        values: Values,
    },
    /// `field < value` (and `<=`, `>`, `>=`).
    Range {
        field: Field,
        op: RangeOp,
        value: Value,
    },
    /// `field: { query }`: the query's fields are below `field`.
    Nested {
        field: Field,
        query: Box<Query>,
    },
    /// A value without a field: free text.
    Text(Value),
}

/// A field name. `*` (unescaped) makes it a pattern over field names.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The name with escapes resolved.
    pub name: String,
    /// Set when the name has an unescaped `*`: `pattern` holds it with
    /// `*` as the wildcard and `\` escaping a literal `*` or `\`.
    pub pattern: Option<String>,
    pub pos: usize,
}

/// The value side of `field: …`: one value or a parenthesised list with
/// its own `or`, `and`, `not`.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    One(Value),
    Or(Vec<Values>),
    And(Vec<Values>),
    Not(Box<Values>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub pos: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// `"…"`: a phrase; `*` is literal.
    Quoted(String),
    /// An unquoted literal, trimmed, escapes resolved. `pattern` is set
    /// when it has an unescaped `*` (then `*` is the wildcard there and
    /// `\` escapes a literal `*` or `\`).
    Unquoted {
        text: String,
        pattern: Option<String>,
    },
    /// Unquoted `true` / `false`.
    Bool(bool),
    /// Unquoted `null`.
    Null,
    /// Lucene and query DSL only (no KQL syntax gives it): a regular
    /// expression in Lucene's syntax, anchored at both ends — `/…/`, or a
    /// wildcard term with `?` rewritten as one (`wildcard`: then a `text`
    /// field's normalizer lowercases it, as Elasticsearch normalises
    /// wildcard terms, where a `/…/` stays as written); `insensitive`: a
    /// DSL query's `case_insensitive`.
    Regex {
        pattern: String,
        wildcard: bool,
        insensitive: bool,
    },
}

impl Value {
    /// The value as text (`true`, `null` for those literals; a pattern's
    /// text with its stars).
    pub fn text(&self) -> String {
        match &self.kind {
            ValueKind::Quoted(s) | ValueKind::Unquoted { text: s, .. } => s.clone(),
            ValueKind::Bool(b) => b.to_string(),
            ValueKind::Null => "null".into(),
            ValueKind::Regex { pattern, .. } => format!("/{pattern}/"),
        }
    }

    /// Is this the lone `*` of an exists query?
    pub fn is_exists(&self) -> bool {
        matches!(&self.kind, ValueKind::Unquoted { pattern: Some(p), .. } if p == "*")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOp {
    Lt,
    Le,
    Gt,
    Ge,
}
