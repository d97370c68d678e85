//! Rule languages. A front-end parses a rule's query in its own language and
//! compiles it into quarry-eql's compiled form ([`quarry_eql::Query`]) —
//! EQL directly, other languages by lowering to [`quarry_eql::ast`] and
//! [`quarry_eql::compile_statement`] — so evaluation, the rule index,
//! exceptions and alerts are shared by all.
//!
//! Adding a language is one module here and one entry in [`FRONTENDS`].

mod eql;
mod kql;
mod lucene;
pub mod sigma;

use quarry_eql::Query;
use quarry_rules::Rule;

/// One rule language.
pub trait Frontend: Sync {
    /// The language's name as rule files write it (`eql`, `kuery`, `sigma`).
    fn language(&self) -> &'static str;
    /// Whether this front-end runs `rule` (its `type` and `language`).
    fn runs(&self, rule: &Rule) -> bool;
    /// Whether the rule carries something to compile (TOML rules: a
    /// non-empty `query`).
    fn has_query(&self, rule: &Rule) -> bool {
        !rule.query.trim().is_empty()
    }
    /// Compiles the rule's query.
    fn compile(&self, rule: &Rule) -> Result<Compiled, CompileError>;
}

/// A compiled query, and the events it can only match.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub query: Query,
    /// When not empty, the query matches only events fitting one of these
    /// (narrower than its category: a Sigma rule's channels and event ids),
    /// so the rule index tries it on those alone.
    pub keys: Vec<SelectKey>,
}

impl From<Query> for Compiled {
    fn from(query: Query) -> Self {
        Compiled {
            query,
            keys: Vec::new(),
        }
    }
}

/// A kind of event a query is restricted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectKey {
    /// `winlog.channel` (ASCII case-insensitive; `*` a wildcard) and, unless
    /// empty, `winlog.event_id` one of these.
    Windows {
        channel: String,
        event_ids: Vec<String>,
    },
    /// An event without `winlog.channel` whose `event.category` holds this.
    Category(String),
}

/// Why a rule did not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// The rule is fine but cannot run on what quarry reads (a short
    /// reason, counted per reason): it is skipped, not an error.
    Unsupported(String),
    /// The rule is broken: the message is shown to the user as is (EQL's
    /// with the query and a caret).
    Invalid(String),
}

/// Every front-end quarry has, asked in order.
pub static FRONTENDS: &[&dyn Frontend] = &[&eql::Eql, &kql::Kql, &lucene::Lucene, &sigma::Sigma];

/// The front-end that runs `rule`, if any.
pub fn frontend_for(rule: &Rule) -> Option<&'static dyn Frontend> {
    FRONTENDS.iter().copied().find(|f| f.runs(rule))
}
