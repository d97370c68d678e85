//! Sigma (specification 2.x, as SigmaHQ writes it): `.yml` files read into
//! [`Rule`]s carrying the parsed [`SigmaRule`], and compiled by
//! `quarry-sigma` into one query per rule — the rule's Windows channels
//! and event ids with the log's own field names, and its generic category
//! over every other source's ECS.
//!
//! Meta filters (Sigma's `filter` documents) narrow the rules they name,
//! wherever in the loaded files those are: [`finish`] attaches them once
//! every file is read. Correlation rules are read and skipped with their
//! reason: the hunt does not evaluate them yet.

use super::{CompileError, Compiled, Frontend, SelectKey};
use quarry_rules::{Rule, RuleSet, SkipKind, Skipped};
use quarry_sigma::rule::RuleBody;
use quarry_sigma::{ErrorKind, IndexKey, SigmaRule};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

pub struct Sigma;

/// `type` of a Sigma detection rule, and of a correlation (not run yet)
/// and a meta filter (attached by [`finish`]).
const DETECTION: &str = "sigma";
const CORRELATION: &str = "sigma_correlation";
const FILTER: &str = "sigma_filter";

impl Frontend for Sigma {
    fn language(&self) -> &'static str {
        "sigma"
    }

    fn runs(&self, rule: &Rule) -> bool {
        rule.language.as_deref() == Some("sigma") && rule.rule_type == DETECTION
    }

    fn has_query(&self, rule: &Rule) -> bool {
        parsed(rule).is_some()
    }

    fn compile(&self, rule: &Rule) -> Result<Compiled, CompileError> {
        let sigma = parsed(rule).ok_or_else(|| CompileError::Invalid("not a Sigma rule".into()))?;
        match quarry_sigma::compile(sigma) {
            Ok(c) => Ok(Compiled {
                keys: c
                    .index_keys()
                    .into_iter()
                    .map(|k| match k {
                        IndexKey::Windows { channel, event_ids } => {
                            SelectKey::Windows { channel, event_ids }
                        }
                        IndexKey::Ecs { category } => SelectKey::Category(category),
                    })
                    .collect(),
                query: c.query,
            }),
            Err(e) => Err(match e.kind {
                // fine rules quarry has nothing to run them on
                ErrorKind::Logsource | ErrorKind::Field | ErrorKind::Placeholder => {
                    CompileError::Unsupported(format!("sigma {}", e.reason()))
                }
                _ => CompileError::Invalid(e.to_string()),
            }),
        }
    }
}

fn parsed(rule: &Rule) -> Option<&SigmaRule> {
    rule.parsed.as_ref()?.downcast_ref::<SigmaRule>()
}

/// Reads one Sigma file (each YAML document a rule).
pub fn read(text: &str, path: PathBuf) -> RuleSet {
    let mut set = RuleSet::default();
    for r in quarry_sigma::load_str(&path, text) {
        match r {
            Ok(r) if r.is_retired() => set.skipped.push(Skipped {
                path: r.path.clone(),
                rule_id: r.id.clone(),
                name: Some(r.title.clone()),
                kind: SkipKind::Deprecated,
                reason: format!("status {}", r.status.as_deref().unwrap_or_default()),
            }),
            Ok(r) => set.rules.push(to_rule(r)),
            Err(e) => set.skipped.push(Skipped {
                path: e.path.clone(),
                rule_id: None,
                name: None,
                kind: SkipKind::ParseError,
                reason: e.to_string(),
            }),
        }
    }
    set
}

/// Attaches the meta filters among the loaded rules to the rules they name
/// (a filter naming no loaded rule is reported).
pub fn finish(set: &mut RuleSet) {
    let is_sigma = |r: &Rule| r.language.as_deref() == Some("sigma");
    if !set.rules.iter().any(|r| r.rule_type == FILTER) {
        return;
    }
    let (sigma, others): (Vec<Rule>, Vec<Rule>) = std::mem::take(&mut set.rules)
        .into_iter()
        .partition(|r| is_sigma(r));
    set.rules = others;
    let (parsed, kept): (Vec<SigmaRule>, Vec<Rule>) = {
        let mut parsed = Vec::new();
        let mut kept = Vec::new();
        for r in sigma {
            match parsed_owned(&r) {
                Some(s) => parsed.push(s),
                None => kept.push(r),
            }
        }
        (parsed, kept)
    };
    set.rules.extend(kept);
    let (rules, errors) = quarry_sigma::apply_filters(parsed);
    set.rules.extend(rules.into_iter().map(to_rule));
    set.skipped.extend(errors.into_iter().map(|e| Skipped {
        path: e.path.clone(),
        rule_id: None,
        name: None,
        kind: SkipKind::ParseError,
        reason: e.to_string(),
    }));
}

fn parsed_owned(rule: &Rule) -> Option<SigmaRule> {
    parsed(rule).cloned()
}

/// A Sigma rule as quarry's rule: its metadata in Elastic's terms (level →
/// severity and risk score, ATT&CK tags → `threat`), no index (it selects
/// its events itself), no `max_signals` cap (as Sigma tools show every hit).
fn to_rule(s: SigmaRule) -> Rule {
    let rule_type = match s.body {
        RuleBody::Detection(_) => DETECTION,
        RuleBody::Correlation(_) => CORRELATION,
        RuleBody::Filter { .. } => FILTER,
    };
    let techniques = s.attack_techniques();
    let threat: Vec<_> = s
        .attack_tactic_ids()
        .into_iter()
        .map(|(id, name)| {
            json!({
                "framework": "MITRE ATT&CK",
                "tactic": {"id": id, "name": name,
                    "reference": format!("https://attack.mitre.org/tactics/{id}/")},
                "technique": techniques.iter().map(|t| json!({
                    "id": t,
                    "reference": format!("https://attack.mitre.org/techniques/{}/", t.replace('.', "/")),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut rule = Rule::default();
    rule.rule_id =
        s.id.clone()
            .unwrap_or_else(|| format!("sigma:{}", s.path.display()));
    rule.name = s.title.clone();
    rule.description = s.description.clone().unwrap_or_default();
    rule.severity = s.severity().to_string();
    rule.risk_score = i64::from(s.risk_score());
    rule.rule_type = rule_type.into();
    rule.language = Some("sigma".into());
    rule.threat = json!(threat);
    rule.false_positives = s.falsepositives.clone();
    rule.references = s.references.clone();
    rule.max_signals = u64::MAX;
    rule.tags = s.tags.clone();
    rule.maturity = s.status.clone();
    rule.enabled = true;
    rule.path = s.path.clone();
    rule.parsed = Some(Arc::new(s));
    rule
}
