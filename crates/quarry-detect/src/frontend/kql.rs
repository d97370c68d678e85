//! KQL (`language = "kuery"`), as Kibana evaluates it against
//! Elasticsearch: `query` rules, and the queries of `new_terms` and
//! `threshold` rules (the rule type's own step runs in the hunt).
//! `threat_match` needs indicator documents and stays skipped.

use super::{CompileError, Compiled, Frontend};
use quarry_kql::KqlOptions;
use quarry_rules::Rule;

pub struct Kql;

/// The rule types whose query is all quarry needs to run them.
const TYPES: &[&str] = &["query", "new_terms", "threshold"];

impl Frontend for Kql {
    fn language(&self) -> &'static str {
        "kuery"
    }

    fn runs(&self, rule: &Rule) -> bool {
        rule.language.as_deref() == Some("kuery") && TYPES.contains(&rule.rule_type.as_str())
    }

    fn compile(&self, rule: &Rule) -> Result<Compiled, CompileError> {
        quarry_kql::compile(&rule.query, &KqlOptions::default())
            .map(Compiled::from)
            .map_err(|e| CompileError::Invalid(e.to_string()))
    }
}
