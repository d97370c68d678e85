//! EQL, with Elasticsearch's semantics: `type = "eql"` or `language = "eql"`.

use super::Frontend;
use quarry_eql::{Options, Query};
use quarry_rules::Rule;

pub struct Eql;

impl Frontend for Eql {
    fn language(&self) -> &'static str {
        "eql"
    }

    fn runs(&self, rule: &Rule) -> bool {
        rule.is_eql()
    }

    fn compile(&self, rule: &Rule) -> Result<Query, String> {
        quarry_eql::compile(&rule.query, &Options::default()).map_err(|e| e.to_string())
    }
}
