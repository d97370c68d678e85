//! KQL, the Kibana Query Language, as Kibana evaluates it against
//! Elasticsearch: a second front-end into quarry-eql's compiled form; and
//! Lucene's query-string syntax ([`lucene`]), parsed into KQL's tree and
//! lowered by the same field-type rules.
//!
//! [`lexer`] → [`parser`] → [`ast`] → [`lower`] (with field types from
//! [`schema`]) → [`quarry_eql::compile_statement`]: a KQL query becomes an
//! EQL event query (`any where …`), evaluated, indexed and alerted on by
//! the same code as EQL rules.
//!
//! ```
//! use quarry_kql::{KqlOptions, compile};
//! let q = compile(r#"event.code: 1102 and not user.name: (SYSTEM or "LOCAL SERVICE")"#, &KqlOptions::default()).unwrap();
//! let mut ev = quarry_event::Event::default();
//! ev.set("event.code", "1102");
//! assert!(q.matches(&ev));
//! ev.set("user.name", "SYSTEM");
//! assert!(!q.matches(&ev));
//! ```

pub mod ast;
mod date;
pub mod dsl;
pub mod error;
pub mod lexer;
pub mod lower;
pub mod lucene;
pub mod parser;
pub mod schema;
mod schema_table;

pub use error::KqlError;
pub use lower::Warning;

/// How a KQL query reads events.
#[derive(Debug, Clone, Default)]
pub struct KqlOptions {
    /// What `now` is in date math (`@timestamp >= now-1d`), in nanoseconds
    /// since the epoch; default: the clock when the query compiles. A hunt
    /// over old evidence may set it to the evidence's end.
    pub now: Option<i64>,
    /// Timestamp, tiebreaker, size and mapping, as for EQL. A mapping's
    /// field types come before the schemas' (a `text` field keeps the
    /// schemas' analyzer, the mapping does not name one).
    pub eql: quarry_eql::Options,
}

/// A compiled query with what the compiler noticed.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub query: quarry_eql::Query,
    /// Unknown fields (with the nearest known name), values
    /// Elasticsearch would reject: the query compiles regardless.
    pub warnings: Vec<Warning>,
}

/// Parses and compiles a KQL query. Errors show the query with a caret.
pub fn compile(query: &str, opts: &KqlOptions) -> Result<quarry_eql::Query, KqlError> {
    compile_with_warnings(query, opts).map(|c| c.query)
}

/// [`compile`], keeping the warnings.
pub fn compile_with_warnings(query: &str, opts: &KqlOptions) -> Result<Compiled, KqlError> {
    let parsed = parser::parse(query)?;
    compile_parsed(&parsed, query, opts)
}

/// Parses and compiles a Lucene query string (`language = "lucene"`; see
/// [`lucene`]) with KQL's field-type semantics.
pub fn compile_lucene(query: &str, opts: &KqlOptions) -> Result<Compiled, lucene::LuceneError> {
    let parsed = lucene::parse(query)?;
    Ok(compile_parsed(&parsed, query, opts)?)
}

/// A rule's query language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Kuery,
    Lucene,
}

/// Compiles a rule's query in its language ANDed with its Kibana
/// `filters` ([`dsl`]). A filter quarry cannot read makes the rule
/// [`lucene::LuceneError::Unsupported`] (dropping it would match more
/// than Elastic does).
pub fn compile_rule(
    query: &str,
    language: Language,
    filters: &[serde_json::Value],
    opts: &KqlOptions,
) -> Result<Compiled, lucene::LuceneError> {
    let parsed = match language {
        Language::Kuery => parser::parse(query)?,
        Language::Lucene => lucene::parse(query)?,
    };
    let filter = dsl::filters(filters).map_err(|e| {
        lucene::LuceneError::Unsupported(KqlError::new(format!("filters: {e}"), 0, query))
    })?;
    let whole = match filter {
        ast::Query::All => parsed,
        f => ast::Query::And(vec![parsed, f]),
    };
    Ok(compile_parsed(&whole, query, opts)?)
}

fn compile_parsed(
    parsed: &ast::Query,
    query: &str,
    opts: &KqlOptions,
) -> Result<Compiled, KqlError> {
    let now = opts.now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64)
    });
    let lowered = lower::lower_with(parsed, now, opts.eql.mapping.as_ref());
    let mut eql_opts = opts.eql.clone();
    if !lowered.mapping.types.is_empty() {
        let mut m = eql_opts.mapping.take().unwrap_or_default();
        for (k, v) in lowered.mapping.types {
            m.types.entry(k).or_insert(v);
        }
        eql_opts.mapping = Some(m);
    }
    let q = quarry_eql::compile_statement(&lowered.statement, query, &eql_opts)?;
    Ok(Compiled {
        query: q,
        warnings: lowered.warnings,
    })
}
