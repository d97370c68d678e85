//! Sigma (specification 2.x, as SigmaHQ writes it): `.yml` files read into
//! [`Rule`]s carrying the parsed [`SigmaRule`], and compiled by
//! `quarry-sigma` into one query per rule — the rule's Windows channels
//! and event ids with the log's own field names, and its generic category
//! over every other source's ECS.
//!
//! Meta filters (Sigma's `filter` documents) narrow the rules they name,
//! wherever in the loaded files those are: [`finish`] attaches them once
//! every file is read. Correlation rules are read here and run by
//! [`crate::correlate`] over the matches of the rules they name.

use super::{CompileError, Compiled, Frontend, SelectKey};
use quarry_rules::{Rule, RuleSet, SkipKind, Skipped};
use quarry_sigma::rule::RuleBody;
use quarry_sigma::{ErrorKind, IndexKey, SigmaRule};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

pub struct Sigma;

/// `type` of a Sigma detection rule, and of a correlation (run by
/// [`crate::correlate`]) and a meta filter (attached by [`finish`]).
const DETECTION: &str = "sigma";
const CORRELATION: &str = crate::correlate::RULE_TYPE;
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
    if !set.rules.iter().any(|r| r.rule_type == FILTER) {
        return;
    }
    // every Sigma rule goes back to quarry-sigma, which attaches the
    // filters to the rules they name, and comes back rebuilt
    let mut parsed = Vec::new();
    set.rules.retain(|r| match self::parsed(r) {
        Some(s) => {
            parsed.push(s.clone());
            false
        }
        None => true,
    });
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
    rule.set_threat(&json!(threat));
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

#[cfg(test)]
mod tests {
    use crate::RuleBook;
    use quarry_rules::SkipKind;

    const RULE: &str = "title: dns.exe child
id: 11111111-1111-1111-1111-111111111111
level: high
tags: [attack.lateral-movement, attack.t1210]
logsource: {product: windows, category: process_creation}
detection:
    selection:
        ParentImage|endswith: '\\dns.exe'
    condition: selection
";

    fn write(dir: &std::path::Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).expect("write");
    }

    #[test]
    fn sigma_files_load_beside_toml_with_every_skip_explained() {
        let scratch = tempfile::Builder::new()
            .prefix("quarry-detect-sigma-")
            .tempdir()
            .unwrap();
        let dir = scratch.path().to_path_buf();
        write(&dir, "a.yml", RULE);
        write(
            &dir,
            "b.yml",
            &RULE
                .replace("title: dns.exe child", "title: retired\nstatus: deprecated")
                .replace("1111-111111111111", "1111-222222222222"),
        );
        write(
            &dir,
            "c.yml",
            "title: burst\nname: burst\ncorrelation:\n    type: event_count\n    rules: [x]\n    timespan: 5m\n    condition: {gte: 3}\n",
        );
        write(&dir, "d.yml", "title: broken\ndetection: [");
        write(
            &dir,
            "e.yml",
            &RULE
                .replace(
                    "{product: windows, category: process_creation}",
                    "{category: proxy}",
                )
                .replace("1111-111111111111", "1111-333333333333"),
        );
        // a meta filter in another file narrows the rule it names
        write(
            &dir,
            "f.yml",
            "title: not conhost\nfilter:\n    rules: [11111111-1111-1111-1111-111111111111]\n    selection:\n        Image|endswith: '\\conhost.exe'\n    condition: not selection\nlogsource: {product: windows, category: process_creation}\n",
        );
        let book = RuleBook::load(std::slice::from_ref(&dir));
        assert_eq!(book.rules.len(), 1, "{:?}", book.skipped);
        let r = &book.rules[0].rule;
        assert_eq!((r.severity.as_str(), r.risk_score), ("high", 73));
        assert_eq!(r.threat_value()[0]["tactic"]["id"], "TA0008");
        assert_eq!(r.threat_value()[0]["technique"][0]["id"], "T1210");
        assert!(!book.rules[0].keys.is_empty());
        let kinds: Vec<String> = book.skipped.iter().map(|s| s.kind.label()).collect();
        assert!(kinds.contains(&"deprecated".to_string()), "{kinds:?}");
        assert!(
            kinds.contains(&"sigma correlation over a rule not loaded or not runnable".to_string()),
            "{kinds:?}"
        );
        assert!(
            kinds.iter().any(|k| k.starts_with("sigma logsource")),
            "{kinds:?}"
        );
        assert!(
            book.skipped
                .iter()
                .any(|s| s.kind == SkipKind::ParseError && s.path.ends_with("d.yml")),
            "{:?}",
            book.skipped
        );
        // the filter applies: a dns.exe child that is conhost does not match
        let child = |image: &str| {
            let mut ev = quarry_event::Event::default();
            ev.set("winlog.channel", "Microsoft-Windows-Sysmon/Operational");
            ev.set("winlog.event_id", "1");
            ev.set("event.category", vec!["process"]);
            ev.set(
                "winlog.event_data.ParentImage",
                r"C:\Windows\System32\dns.exe",
            );
            ev.set("winlog.event_data.Image", image);
            ev
        };
        let q = &book.rules[0].query;
        assert!(q.matches(&child(r"C:\Windows\System32\cmd.exe")));
        assert!(!q.matches(&child(r"C:\Windows\System32\conhost.exe")));
    }
}
