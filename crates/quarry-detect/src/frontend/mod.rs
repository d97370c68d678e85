//! Rule languages. A front-end parses a rule's query in its own language and
//! compiles it into quarry-eql's compiled form ([`quarry_eql::Query`]) —
//! EQL directly, other languages by lowering to [`quarry_eql::ast`] and
//! [`quarry_eql::compile_statement`] — so evaluation, the rule index,
//! exceptions and alerts are shared by all.
//!
//! Adding a language is one module here and one entry in [`FRONTENDS`].

mod eql;
mod kql;

use quarry_eql::Query;
use quarry_rules::Rule;

/// One rule language.
pub trait Frontend: Sync {
    /// The language's name as rule files write it (`eql`, `kuery`, `sigma`).
    fn language(&self) -> &'static str;
    /// Whether this front-end runs `rule` (its `type` and `language`).
    fn runs(&self, rule: &Rule) -> bool;
    /// Compiles the rule's query; the error is shown to the user as is.
    fn compile(&self, rule: &Rule) -> Result<Query, String>;
}

/// Every front-end quarry has, asked in order.
pub static FRONTENDS: &[&dyn Frontend] = &[&eql::Eql, &kql::Kql];

/// The front-end that runs `rule`, if any.
pub fn frontend_for(rule: &Rule) -> Option<&'static dyn Frontend> {
    FRONTENDS.iter().copied().find(|f| f.runs(rule))
}
