//! KQL (`language = "kuery"`), as Kibana evaluates it against
//! Elasticsearch: `query` rules, and the queries of `new_terms`,
//! `threshold` and `threat_match` rules (the rule type's own step runs in
//! the hunt; `threat_match` only with indicator documents), each ANDed
//! with the rule's Kibana `filters`.

use super::{CompileError, Compiled, Frontend};
use quarry_kql::lucene::LuceneError;
use quarry_kql::{KqlOptions, Language};
use quarry_rules::Rule;

pub struct Kql;

/// The rule types whose query is all quarry needs to run them.
pub(super) const TYPES: &[&str] = &["query", "new_terms", "threshold", "threat_match"];

impl Frontend for Kql {
    fn language(&self) -> &'static str {
        "kuery"
    }

    fn runs(&self, rule: &Rule) -> bool {
        rule.language.as_deref() == Some("kuery") && TYPES.contains(&rule.rule_type.as_str())
    }

    fn compile(&self, rule: &Rule) -> Result<Compiled, CompileError> {
        compile(rule, Language::Kuery)
    }
}

/// A KQL or Lucene rule's query with its filters.
pub(super) fn compile(rule: &Rule, language: Language) -> Result<Compiled, CompileError> {
    match quarry_kql::compile_rule(&rule.query, language, &rule.filters, &KqlOptions::default()) {
        Ok(c) => Ok(Compiled::from(c.query)),
        Err(LuceneError::Unsupported(e)) => Err(CompileError::Unsupported(format!(
            "{}: {}",
            match language {
                Language::Kuery => "kuery",
                Language::Lucene => "lucene",
            },
            e.message
        ))),
        Err(LuceneError::Syntax(e)) => Err(CompileError::Invalid(e.to_string())),
    }
}
