//! Loading Elastic detection-rules TOML into a [`RuleSet`]: every rule that
//! parses and is not deprecated, and for everything else the reason it was
//! skipped. Whether a rule's language and type can run is not decided here
//! but by the detection library's front-ends (`quarry-detect`), which report
//! what they cannot run as [`SkipKind::Unsupported`] or [`SkipKind::NoQuery`].

use crate::rule::{RawFile, Rule};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Rules ready to run, and every file or rule that is not, with its reason.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub skipped: Vec<Skipped>,
    /// Rules Elastic ships with `enabled = false`, each also in `skipped`
    /// ([`SkipKind::Disabled`]) until [`RuleSet::include_disabled`] asks
    /// for them.
    pub disabled: Vec<Rule>,
}

/// A rule file that did not give a runnable rule.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub path: PathBuf,
    pub rule_id: Option<String>,
    pub name: Option<String>,
    pub kind: SkipKind,
    /// Human-readable detail (the parser's message for parse errors).
    pub reason: String,
}

/// Why a rule was skipped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SkipKind {
    /// `maturity = "deprecated"` or under a `_deprecated` folder.
    Deprecated,
    /// `enabled = false`: switched off as Elastic ships it.
    Disabled,
    /// No front-end runs this `type`/`language` (as written in the rule).
    Unsupported {
        rule_type: String,
        language: Option<String>,
    },
    /// A rule of a runnable language without a query.
    NoQuery,
    /// Its front-end cannot run it here, for the reason given (a Sigma log
    /// source quarry reads nothing of, a correlation, a retired rule).
    NotRunnable(String),
    /// The file is not valid TOML or not a rule.
    ParseError,
    /// The file or folder could not be read.
    ReadError,
}

impl SkipKind {
    /// A short label used as the key of [`RuleSet::summary`].
    pub fn label(&self) -> String {
        match self {
            SkipKind::Deprecated => "deprecated".into(),
            SkipKind::Disabled => "disabled as shipped (--include-disabled)".into(),
            SkipKind::Unsupported {
                rule_type,
                language: Some(l),
            } => format!("type {rule_type} ({l})"),
            SkipKind::Unsupported {
                rule_type,
                language: None,
            } => format!("type {rule_type}"),
            SkipKind::NoQuery => "without query".into(),
            SkipKind::NotRunnable(why) => why.clone(),
            SkipKind::ParseError => "parse error".into(),
            SkipKind::ReadError => "read error".into(),
        }
    }
}

impl RuleSet {
    /// Counts of skipped rules per [`SkipKind::label`].
    pub fn summary(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for s in &self.skipped {
            *out.entry(s.kind.label()).or_insert(0) += 1;
        }
        out
    }

    /// The runnable rule with this `rule_id`.
    pub fn get(&self, rule_id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.rule_id == rule_id)
    }

    /// Appends another set (e.g. the built-in pack plus user folders).
    pub fn extend(&mut self, other: RuleSet) {
        self.rules.extend(other.rules);
        self.skipped.extend(other.skipped);
        self.disabled.extend(other.disabled);
    }

    /// Runs the rules Elastic ships switched off (`enabled = false`) too:
    /// they leave `skipped` for `rules`, as a Kibana user enabling them would.
    pub fn include_disabled(&mut self) {
        self.skipped.retain(|s| s.kind != SkipKind::Disabled);
        self.rules.append(&mut self.disabled);
    }
}

/// Parses one rule file's text; `path` is recorded on the rule (and decides
/// `_deprecated`).
pub fn load_str(text: &str, path: PathBuf) -> RuleSet {
    let mut set = RuleSet::default();
    add(&mut set, text, path);
    set
}

fn add(set: &mut RuleSet, text: &str, path: PathBuf) {
    let raw: RawFile = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            set.skipped.push(Skipped {
                path,
                rule_id: None,
                name: None,
                kind: SkipKind::ParseError,
                reason: e.to_string(),
            });
            return;
        }
    };
    let rule = raw.into_rule(path);
    let deprecated = rule.maturity.as_deref() == Some("deprecated")
        || rule
            .path
            .components()
            .any(|c| c.as_os_str() == "_deprecated");
    let skip = if deprecated {
        Some((SkipKind::Deprecated, "deprecated rule".to_string()))
    } else if !rule.enabled {
        Some((
            SkipKind::Disabled,
            "enabled = false (--include-disabled runs it)".to_string(),
        ))
    } else {
        None
    };
    match skip {
        Some((kind, reason)) => {
            set.skipped.push(Skipped {
                path: rule.path.clone(),
                rule_id: Some(rule.rule_id.clone()),
                name: Some(rule.name.clone()),
                kind: kind.clone(),
                reason,
            });
            if kind == SkipKind::Disabled {
                set.disabled.push(rule);
            }
        }
        None => set.rules.push(rule),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
[metadata]
maturity = "production"

[rule]
rule_id = "00000000-0000-0000-0000-000000000001"
name = "Test rule"
description = "A test."
severity = "low"
risk_score = 21
type = "eql"
language = "eql"
index = ["logs-*", "-logs-aws.*"]
query = '''
process where process.name : "a.exe"
'''

[[transform.investigate]]
label = "Same process"
providers = [[
  { field = "process.entity_id", excluded = false, queryType = "phrase", value = "{{process.entity_id}}", valueType = "string" },
]]

[[rule.threat]]
framework = "MITRE ATT&CK"
[rule.threat.tactic]
id = "TA0002"
name = "Execution"
reference = "https://attack.mitre.org/tactics/TA0002/"
"#;

    #[test]
    fn parses_a_small_rule() {
        let set = load_str(SMALL, "t.toml".into());
        assert!(set.skipped.is_empty(), "{:?}", set.skipped);
        let r = &set.rules[0];
        assert_eq!(r.rule_id, "00000000-0000-0000-0000-000000000001");
        assert_eq!(r.max_signals, 100);
        assert_eq!(r.risk_score, 21);
        assert!(r.query.contains("a.exe"));
        assert_eq!(r.threat_value()[0]["tactic"]["id"], "TA0002");
        assert_eq!(r.investigate[0].providers[0][0].field, "process.entity_id");
        assert_eq!(r.investigate[0].description, "");
        assert!(r.investigate[0].relative_from.is_none());
        assert!(r.matches_index("logs-windows.forwarded-default"));
        assert!(!r.matches_index("logs-aws.cloudtrail-default"));
        assert!(!r.is_building_block());
    }

    #[test]
    fn disabled_rules_skipped_unless_included() {
        let off = SMALL.replace("[rule]\n", "[rule]\nenabled = false\n");
        let mut set = load_str(&off, "rules/off.toml".into());
        assert!(set.rules.is_empty());
        assert_eq!(set.skipped.len(), 1);
        assert_eq!(set.skipped[0].kind, SkipKind::Disabled);
        assert!(set.skipped[0].reason.contains("--include-disabled"));
        set.include_disabled();
        assert!(set.skipped.is_empty() && set.disabled.is_empty());
        assert_eq!(set.rules.len(), 1);
        assert!(!set.rules[0].enabled);
        // a deprecated rule stays skipped, switched off or not
        let mut set = load_str(&off, "rules/_deprecated/off.toml".into());
        set.include_disabled();
        assert!(set.rules.is_empty());
        assert_eq!(set.skipped[0].kind, SkipKind::Deprecated);
    }

    #[test]
    fn skips_with_reasons() {
        let set = load_str(SMALL, "rules/_deprecated/d.toml".into());
        assert_eq!(set.skipped[0].kind, SkipKind::Deprecated);
        let set = load_str("[rule]\nname = ", "bad.toml".into());
        assert_eq!(set.skipped[0].kind, SkipKind::ParseError);
        assert!(
            set.skipped[0].reason.contains("line"),
            "{}",
            set.skipped[0].reason
        );
    }
}
