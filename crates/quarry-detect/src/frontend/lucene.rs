//! Lucene query strings (`language = "lucene"`), as Elasticsearch's
//! `query_string` runs them: the rule types KQL runs, parsed by
//! [`quarry_kql::lucene`] and lowered with KQL's field-type semantics (and
//! the rule's filters). Fuzzy and proximity searches (scoring features)
//! skip the rule with the reason.

use super::{CompileError, Compiled, Frontend};
use quarry_kql::Language;
use quarry_rules::Rule;

pub struct Lucene;

impl Frontend for Lucene {
    fn language(&self) -> &'static str {
        "lucene"
    }

    fn runs(&self, rule: &Rule) -> bool {
        rule.language.as_deref() == Some("lucene")
            && super::kql::TYPES.contains(&rule.rule_type.as_str())
    }

    fn compile(&self, rule: &Rule) -> Result<Compiled, CompileError> {
        super::kql::compile(rule, Language::Lucene)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_event::{Event, Value};

    /// The one Lucene rule of elastic/detection-rules (deprecated there,
    /// so a hunt skips it; its query is a fair test of the syntax).
    const SETGID: &str = r#"
[metadata]
maturity = "production"
[rule]
rule_id = "8a1b0278-0f9a-487d-96bd-d4833298e87a"
name = "Setgid Bit Set via chmod"
description = "d"
severity = "low"
risk_score = 21
type = "query"
language = "lucene"
index = ["logs-*"]
query = '''
event.category:process AND event.type:(start or process_started) AND process.name:chmod AND process.args:(g+s OR /2[0-9]{3}/) AND NOT user.name:root
'''
"#;

    fn ev(args: &[&str], user: &str, ty: &str) -> Event {
        let mut e = Event::default();
        e.set("event.category", "process");
        e.set("event.type", ty);
        e.set("process.name", "chmod");
        e.set(
            "process.args",
            Value::Array(args.iter().map(|s| Value::from(*s)).collect()),
        );
        e.set("user.name", user);
        e
    }

    #[test]
    fn runs_elastics_lucene_rule() {
        let set = quarry_rules::load_str(SETGID, "r.toml".into());
        let rule = &set.rules[0];
        assert!(super::super::frontend_for(rule).is_some_and(|f| f.language() == "lucene"));
        let q = Lucene.compile(rule).expect("compiles").query;
        assert!(q.matches(&ev(&["chmod", "g+s", "/tmp/x"], "alice", "start")));
        assert!(q.matches(&ev(&["chmod", "2755", "/tmp/x"], "alice", "start")));
        // the regex is anchored: 12755 is not 2 and three digits
        assert!(!q.matches(&ev(&["chmod", "12755", "/tmp/x"], "alice", "start")));
        assert!(!q.matches(&ev(&["chmod", "g+s"], "root", "start")));
        // `or` in lower case is a term, and the group's clauses are optional
        assert!(q.matches(&ev(&["chmod", "g+s"], "alice", "or")));
        assert!(!q.matches(&ev(&["chmod", "g+s"], "alice", "end")));
        // keyword terms are case-sensitive
        assert!(!q.matches(&ev(&["chmod", "G+S"], "alice", "start")));
    }

    #[test]
    fn unsupported_and_invalid() {
        let mut rule = quarry_rules::load_str(SETGID, "r.toml".into())
            .rules
            .remove(0);
        rule.query = "process.name:chmd~".into();
        assert!(
            matches!(Lucene.compile(&rule), Err(CompileError::Unsupported(m)) if m.contains("fuzzy"))
        );
        rule.query = "process.name:(chmod".into();
        assert!(matches!(Lucene.compile(&rule), Err(CompileError::Invalid(m)) if m.contains('^')));
    }
}
