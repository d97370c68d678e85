//! The rule book: every loaded rule compiled by its language's front-end,
//! with what was skipped (and why) and what did not compile.

use crate::correlate::{self, CompiledCorrelation, Member};
use crate::frontend::{CompileError, SelectKey, frontend_for};
use quarry_eql::Query;
use quarry_rules::{Rule, RuleSet, SkipKind, Skipped};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// A rule and its compiled query.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub rule: Rule,
    pub query: Query,
    /// The only kinds of event the query can match, when narrower than its
    /// category (see [`SelectKey`]); empty: its category decides.
    pub keys: Vec<SelectKey>,
}

/// A rule whose query its front-end rejected.
#[derive(Debug, Clone)]
pub struct NotCompiled {
    /// `name (path)`.
    pub rule: String,
    /// The front-end's message (EQL's shows the query with a caret).
    pub error: String,
}

/// Rules ready to run, and every rule that is not, with its reason.
#[derive(Debug, Clone, Default)]
pub struct RuleBook {
    pub rules: Vec<CompiledRule>,
    /// Sigma correlations over [`RuleBook::rules`] (see [`correlate`]), a
    /// correlation after those it names.
    pub correlations: Vec<CompiledCorrelation>,
    /// Files and rules that were not loaded or that no front-end runs.
    pub skipped: Vec<Skipped>,
    pub not_compiled: Vec<NotCompiled>,
    /// The least severity that alerts ([`RuleBook::retain_severity`]).
    min_severity: u8,
}

/// Elastic's severities, ranked (`critical` highest; unknown lowest).
pub fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

impl RuleBook {
    /// Loads rule files and folders (none: the built-in pack) and compiles
    /// every rule.
    pub fn load(paths: &[std::path::PathBuf]) -> RuleBook {
        RuleBook::compile(crate::load(paths))
    }

    /// Compiles each rule with the front-end of its language, once.
    pub fn compile(set: RuleSet) -> RuleBook {
        let mut book = RuleBook {
            skipped: set.skipped,
            ..Default::default()
        };
        let mut pending = Vec::with_capacity(set.rules.len());
        let mut correlations = Vec::new();
        for rule in set.rules {
            // run over other rules' matches: compiled once those are
            if correlate::is_correlation(&rule) {
                correlations.push(rule);
                continue;
            }
            let Some(frontend) = frontend_for(&rule) else {
                let kind = SkipKind::Unsupported {
                    rule_type: rule.rule_type.clone(),
                    language: rule.language.clone(),
                };
                let reason = format!("no front-end runs {}", kind.label());
                book.skipped.push(skipped(rule, kind, reason));
                continue;
            };
            if !frontend.has_query(&rule) {
                let reason = format!("{} rule without a query", frontend.language());
                book.skipped.push(skipped(rule, SkipKind::NoQuery, reason));
                continue;
            }
            pending.push((frontend, rule));
        }
        // compiled on every core (SigmaHQ's 3,000 rules take 0.4 s of CPU)
        let compiled: Vec<_> = pending
            .into_par_iter()
            .map(|(frontend, rule)| {
                let q = frontend.compile(&rule);
                (rule, q)
            })
            .collect();
        // at most one each, reserved at once (not grown by doubling: a rule
        // is a kilobyte)
        book.rules.reserve_exact(compiled.len());
        for (rule, q) in compiled {
            match q {
                Ok(c) => book.rules.push(CompiledRule {
                    rule,
                    query: c.query,
                    keys: c.keys,
                }),
                Err(CompileError::Unsupported(why)) => {
                    let kind = SkipKind::NotRunnable(why.clone());
                    book.skipped.push(skipped(rule, kind, why));
                }
                Err(CompileError::Invalid(error)) => book.not_compiled.push(NotCompiled {
                    rule: format!("{} ({})", rule.name, rule.path.display()),
                    error,
                }),
            }
        }
        correlate::compile(&mut book, correlations);
        // the rules' parsed form (a Sigma rule's detection) was for
        // compiling them and their correlations, done now: SigmaHQ's hold
        // megabytes. The vector is sized to fit.
        for r in &mut book.rules {
            r.rule.parsed = None;
        }
        book.rules.shrink_to_fit();
        // the loader reports files in path order: keep what front-ends
        // skipped in that order too
        book.skipped.sort_by(|a, b| a.path.cmp(&b.path));
        book
    }

    /// Keeps only rules of at least severity `min` (`low` … `critical`),
    /// and the rules the correlations kept name (which then do not alert
    /// on their own).
    pub fn retain_severity(&mut self, min: &str) {
        let min = severity_rank(min);
        self.min_severity = min;
        // a correlation names only earlier ones: from the last, what is kept
        // keeps what it names
        let mut keep_c: Vec<bool> = self
            .correlations
            .iter()
            .map(|c| severity_rank(&c.rule.severity) >= min)
            .collect();
        let mut keep_r: Vec<bool> = self
            .rules
            .iter()
            .map(|r| severity_rank(&r.rule.severity) >= min)
            .collect();
        for i in (0..self.correlations.len()).rev() {
            if !keep_c[i] {
                continue;
            }
            for m in &self.correlations[i].members {
                match m {
                    Member::Rule { index, .. } => keep_r[*index] = true,
                    Member::Correlation(j) => keep_c[*j] = true,
                }
            }
        }
        let renumber = |keep: &[bool]| -> Vec<usize> {
            keep.iter()
                .scan(0, |n, k| {
                    let at = *n;
                    *n += usize::from(*k);
                    Some(at)
                })
                .collect()
        };
        let (new_r, new_c) = (renumber(&keep_r), renumber(&keep_c));
        let mut k = keep_r.iter();
        self.rules.retain(|_| k.next().copied().unwrap_or(false));
        let mut k = keep_c.iter();
        self.correlations
            .retain(|_| k.next().copied().unwrap_or(false));
        for c in &mut self.correlations {
            for m in &mut c.members {
                match m {
                    Member::Rule { index, .. } => *index = new_r[*index],
                    Member::Correlation(j) => *j = new_c[*j],
                }
            }
        }
    }

    /// Whether a rule of this severity alerts ([`RuleBook::retain_severity`]).
    pub fn meets_severity(&self, severity: &str) -> bool {
        severity_rank(severity) >= self.min_severity
    }

    /// Rules that run: event rules and correlations.
    pub fn runnable(&self) -> usize {
        self.rules.len() + self.correlations.len()
    }

    /// Counts of skipped rules per [`SkipKind::label`].
    pub fn skipped_summary(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for s in &self.skipped {
            *out.entry(s.kind.label()).or_insert(0) += 1;
        }
        out
    }

    /// The runnable rule with this `rule_id`.
    pub fn get(&self, rule_id: &str) -> Option<&CompiledRule> {
        self.rules.iter().find(|r| r.rule.rule_id == rule_id)
    }
}

fn skipped(rule: Rule, kind: SkipKind, reason: String) -> Skipped {
    Skipped {
        path: rule.path,
        rule_id: Some(rule.rule_id),
        name: Some(rule.name),
        kind,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = r#"
[rule]
rule_id = "r1"
name = "Test rule"
severity = "medium"
risk_score = 47
type = "eql"
language = "eql"
query = 'process where process.name : "a.exe"'
"#;

    #[test]
    fn compiles_runnable_rules_and_says_why_others_are_not() {
        let mut set = quarry_rules::load_str(RULE, "a.toml".into());
        let esql = RULE
            .replace("type = \"eql\"", "type = \"esql\"")
            .replace("language = \"eql\"", "language = \"esql\"");
        set.extend(quarry_rules::load_str(&esql, "b.toml".into()));
        set.extend(quarry_rules::load_str(
            &RULE.replace("process.name : ", "process.name : : "),
            "c.toml".into(),
        ));
        set.extend(quarry_rules::load_str(
            &RULE.replace("'process where process.name : \"a.exe\"'", "''"),
            "d.toml".into(),
        ));
        let mut book = RuleBook::compile(set);
        assert_eq!(book.rules.len(), 1);
        assert_eq!(book.rules[0].rule.rule_id, "r1");
        let labels: Vec<String> = book.skipped.iter().map(|s| s.kind.label()).collect();
        assert_eq!(labels, ["type esql (esql)", "without query"]);
        assert_eq!(book.not_compiled.len(), 1);
        assert!(book.not_compiled[0].rule.contains("c.toml"));
        assert!(book.get("r1").is_some());
        book.retain_severity("high");
        assert!(book.rules.is_empty());
    }
}

/// One row of [`RuleBook::by_type`]: a rule type and language, how many of
/// its rules run, and how many were skipped for each kind of reason (the
/// reason's text before any `:`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeRow {
    pub runnable: usize,
    pub skipped: BTreeMap<String, usize>,
}

/// A rule's type and language as `rules list` names them: `eql`,
/// `query (kuery)`, `threshold (lucene)`, `machine_learning`, `sigma`.
fn type_label(rule_type: &str, language: Option<&str>) -> String {
    match language {
        Some("sigma") => "sigma".into(),
        Some(l) if l != rule_type => format!("{rule_type} ({l})"),
        _ => rule_type.to_string(),
    }
}

impl RuleBook {
    /// Runnable and skipped rules per type and language. A skipped rule's
    /// type is read back from its file (a deprecated or disabled rule is
    /// skipped before any front-end sees it); a file that gave no rule is
    /// counted under `unreadable`.
    pub fn by_type(&self) -> BTreeMap<String, TypeRow> {
        let mut out: BTreeMap<String, TypeRow> = BTreeMap::new();
        for r in &self.rules {
            let r = &r.rule;
            out.entry(type_label(&r.rule_type, r.language.as_deref()))
                .or_default()
                .runnable += 1;
        }
        for s in &self.skipped {
            let label = match &s.kind {
                SkipKind::Unsupported {
                    rule_type,
                    language,
                } => type_label(rule_type, language.as_deref()),
                SkipKind::ParseError | SkipKind::ReadError => "unreadable".into(),
                _ => skipped_type(&s.path),
            };
            // a reason's kind (`sigma logsource`, not each log source):
            // the rule lines say the rest
            let why = s.kind.label();
            let why = why.split(':').next().unwrap_or_default().trim().to_string();
            *out.entry(label)
                .or_default()
                .skipped
                .entry(why)
                .or_default() += 1;
        }
        if !self.not_compiled.is_empty() {
            out.entry("does not compile".into())
                .or_default()
                .skipped
                .insert("does not compile".into(), self.not_compiled.len());
        }
        out
    }
}

/// The type and language of the rule in a file, read again.
fn skipped_type(path: &std::path::Path) -> String {
    let sigma = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
    if sigma {
        return "sigma".into();
    }
    let found = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| toml::from_str::<toml::Value>(&text).ok())
        .and_then(|v| {
            let rule = v.get("rule")?;
            Some((
                rule.get("type")?.as_str()?.to_string(),
                rule.get("language")
                    .and_then(|l| l.as_str())
                    .map(str::to_string),
            ))
        });
    match found {
        Some((t, l)) => type_label(&t, l.as_deref()),
        None => "unknown".into(),
    }
}
