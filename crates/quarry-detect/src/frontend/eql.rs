//! EQL, with Elasticsearch's semantics: `type = "eql"` or `language = "eql"`.

use super::{CompileError, Compiled, Frontend};
use quarry_eql::Options;
use quarry_rules::Rule;

pub struct Eql;

impl Frontend for Eql {
    fn language(&self) -> &'static str {
        "eql"
    }

    fn runs(&self, rule: &Rule) -> bool {
        rule.is_eql()
    }

    fn compile(&self, rule: &Rule) -> Result<Compiled, CompileError> {
        quarry_eql::compile(&rule.query, &Options::default())
            .map(Compiled::from)
            .map_err(|e| CompileError::Invalid(e.to_string()))
    }
}
