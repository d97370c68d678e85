//! Sigma rules (specification 2.x) for quarry: YAML → [`rule::SigmaRule`]
//! → the shared compiled form [`quarry_eql::Query`], through the same
//! [`quarry_eql::compile_statement`] EQL uses, so a Sigma rule gets the
//! same evaluation, literal index, alerts and exceptions.
//!
//! [`rule`] parses the YAML (modifiers checked there), [`condition`] the
//! condition, [`modifiers`] turns values and modifiers into patterns,
//! [`logsource`] maps the log source onto targets (Windows channels and
//! event ids; ECS categories for every other source), [`fields`] maps
//! field names per target, and [`lower`] builds one event query that is
//! the OR of one branch per target.
//!
//! ```
//! let text = r#"
//! title: dns.exe child
//! level: high
//! logsource: {product: windows, category: process_creation}
//! detection:
//!     selection:
//!         ParentImage|endswith: '\dns.exe'
//!     condition: selection
//! "#;
//! let rules = quarry_sigma::load_str(std::path::Path::new("r.yml"), text);
//! let rule = rules.into_iter().next().unwrap().unwrap();
//! let compiled = quarry_sigma::compile(&rule).unwrap();
//! let mut ev = quarry_event::Event::default();
//! ev.set("winlog.channel", "Security");
//! ev.set("winlog.event_id", "4688");
//! ev.set("event.category", vec!["process"]);
//! ev.set("winlog.event_data.ParentProcessName", r"C:\Windows\System32\DNS.EXE");
//! assert!(compiled.query.matches(&ev));
//! assert_eq!(rule.severity(), "high");
//! ```
//!
//! # Semantics
//!
//! - Strings are case-insensitive wildcards (`*`, `?`; `\` escapes them
//!   and itself) unless `cased`; `re` is an unanchored search,
//!   case-sensitive unless `i`; `null` is a missing or empty field;
//!   numbers compare with the log's strings by value (`gt`…).
//! - Keywords (field-less values) are searched for, case-insensitively and
//!   as substrings unless they carry modifiers, in every string value of
//!   the event (the `winlog.*`, `winlog.event_data.*` and ECS fields alike).
//! - One rule is one query: one branch per target of its log source
//!   (see [`logsource`]), each led by its event id and channel test. A
//!   field a target cannot have is false in a positive test (the rule's
//!   other alternatives still decide there); where that would widen the
//!   rule (under `not`, or a test of absence) the target is dropped and
//!   the reason kept in [`Compiled::skipped`].
//! - Deliberate approximations: Sysmon's `User` (`DOMAIN\user`) is
//!   Security 4688's `SubjectUserName` and ECS `user.name` (no domain);
//!   ECS `registry.data.strings` holds the value, where Sysmon's
//!   `Details` writes `DWORD (0x…)`; ECS `Image`/`ParentImage` fall back
//!   to the process name where a source gives no path (an `endswith
//!   '\name'` test only).
//! - Correlations are not event queries: [`correlation::Correlation`]
//!   runs them over the matches of the rules they name.

pub mod condition;
pub mod correlation;
pub mod error;
pub mod fields;
pub mod logsource;
pub mod lower;
pub mod modifiers;
pub mod rule;

pub use error::{ErrorKind, SigmaError};
pub use rule::SigmaRule;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How rules are loaded and compiled.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `expand` placeholders (`%name%` → values); see [`load_placeholders`].
    pub placeholders: HashMap<String, Vec<String>>,
    /// Load `deprecated` and `unsupported` rules too.
    pub include_retired: bool,
}

/// A compiled rule: the query, the targets it reads, and the targets it
/// had to leave out with the reason (`quarry rules list` shows them).
#[derive(Debug, Clone)]
pub struct Compiled {
    pub query: quarry_eql::Query,
    /// `sysmon 1`, `Security 4688`, `ecs process/start`, …
    pub targets: Vec<String>,
    /// (target, reason) for each target left out.
    pub skipped: Vec<(String, String)>,
    /// The targets themselves, for reading a rule's fields back out of a
    /// matching event (correlations' `group-by`).
    pub(crate) target_list: Vec<logsource::Target>,
}

/// Where a compiled rule can match, for a hunt's rule index: an event can
/// only match the rule if it fits one of its keys. Finer than the EQL
/// category: a Windows event needs only the rules of its channel and
/// event id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexKey {
    /// `winlog.channel` equal to `channel` (ASCII case-insensitively; a
    /// `*` in it is a wildcard) and, when given, `winlog.event_id` one of
    /// `event_ids` (empty: any id).
    Windows {
        channel: String,
        event_ids: Vec<String>,
    },
    /// No `winlog.channel`, and `event.category` holding `category`.
    Ecs { category: String },
}

impl IndexKey {
    /// Does the event fit the key (the test a hunt's index stands for)?
    pub fn fits(&self, ev: &quarry_event::Event) -> bool {
        let channel = ev.get_str("winlog.channel");
        match self {
            IndexKey::Windows {
                channel: want,
                event_ids,
            } => {
                let Some(ch) = channel else { return false };
                let ch_ok = if want.contains('*') {
                    condition::name_matches(&want.to_ascii_lowercase(), &ch.to_ascii_lowercase())
                } else {
                    ch.eq_ignore_ascii_case(want)
                };
                let id = ev.get("winlog.event_id").and_then(|v| v.to_text());
                ch_ok
                    && (event_ids.is_empty()
                        || id.is_some_and(|id| event_ids.iter().any(|w| *w == *id)))
            }
            IndexKey::Ecs { category } => {
                channel.is_none()
                    && ev
                        .get("event.category")
                        .is_some_and(|v| v.iter().any(|c| c.as_str() == Some(category)))
            }
        }
    }
}

impl Compiled {
    /// The rule's [`IndexKey`]s, one per channel of each Windows target and
    /// one per ECS target.
    pub fn index_keys(&self) -> Vec<IndexKey> {
        let mut out = Vec::new();
        for t in &self.target_list {
            match t {
                logsource::Target::Windows(w) => {
                    for ch in &w.channels {
                        out.push(IndexKey::Windows {
                            channel: ch.to_string(),
                            event_ids: w.event_ids.iter().map(|i| i.to_string()).collect(),
                        });
                    }
                }
                logsource::Target::Ecs(e) => out.push(IndexKey::Ecs {
                    category: e.category.to_string(),
                }),
            }
        }
        out
    }
}

/// Parses the rules of one file (each YAML document one rule; an error per
/// document that is not a valid rule).
pub fn load_str(path: &Path, text: &str) -> Vec<Result<SigmaRule, SigmaError>> {
    rule::parse_file(path, text)
}

/// Reads a file of rules (see [`load_str`]).
pub fn load_file(path: &Path) -> Vec<Result<SigmaRule, SigmaError>> {
    match std::fs::read_to_string(path) {
        Ok(t) => load_str(path, &t),
        Err(e) => vec![Err(SigmaError::new(
            ErrorKind::Syntax,
            format!("cannot read: {e}"),
        )
        .at(path, 0, 0))],
    }
}

/// Loads the rule files `files` (as a caller's folder walk finds them:
/// `quarry_read::walk_files`, the one walk of quarry). Retired rules
/// (`deprecated`, `unsupported`) are left out as [`ErrorKind::Status`]
/// errors unless `cfg` includes them. Rules that fail are reported and the
/// others loaded.
pub fn load_files(files: &[PathBuf], cfg: &Config) -> (Vec<SigmaRule>, Vec<SigmaError>) {
    let mut errors = Vec::new();
    // YAML parsing is most of the time: files are parsed on every core,
    // results kept in file order
    let parsed = parallel_map(files, |f| load_file(f));
    let mut rules = Vec::new();
    for (path, results) in files.iter().zip(parsed) {
        for r in results {
            match r {
                Ok(r) if r.is_retired() && !cfg.include_retired => errors.push(
                    SigmaError::new(
                        ErrorKind::Status,
                        format!(
                            "status {}: skipped by default",
                            r.status.as_deref().unwrap_or_default()
                        ),
                    )
                    .at(path, r.line, 0),
                ),
                Ok(r) => rules.push(r),
                Err(e) => errors.push(e),
            }
        }
    }
    let (rules, ferrs) = apply_filters(rules);
    errors.extend(ferrs);
    (rules, errors)
}

/// Attaches every meta filter (a `filter:` document) to the rules it
/// names, by id or name, and returns the rules without the filters; a
/// filter naming no loaded rule is an error (it would silently do
/// nothing).
pub fn apply_filters(all: Vec<SigmaRule>) -> (Vec<SigmaRule>, Vec<SigmaError>) {
    let (filters, mut rules): (Vec<SigmaRule>, Vec<SigmaRule>) = all
        .into_iter()
        .partition(|r| matches!(r.body, rule::RuleBody::Filter { .. }));
    let mut errors = Vec::new();
    for f in filters {
        let rule::RuleBody::Filter {
            rules: names,
            detection,
        } = &f.body
        else {
            continue;
        };
        let mut used = false;
        for r in rules.iter_mut() {
            let named = names
                .iter()
                .any(|n| Some(n) == r.id.as_ref() || Some(n) == r.name.as_ref());
            if let (true, rule::RuleBody::Detection(d)) = (named, &mut r.body) {
                d.filters.push((f.path.clone(), detection.clone()));
                used = true;
            }
        }
        if !used {
            errors.push(
                SigmaError::new(
                    ErrorKind::Filter,
                    format!(
                        "filter `{}` names no loaded rule ({})",
                        f.title,
                        names.join(", ")
                    ),
                )
                .at(&f.path, f.line, 0),
            );
        }
    }
    (rules, errors)
}

/// Maps `f` over `items` on every available core, in order.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len().max(1));
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Compiles rules on every core (see [`compile_with`]), in order.
pub fn compile_all(rules: &[SigmaRule], cfg: &Config) -> Vec<Result<Compiled, SigmaError>> {
    parallel_map(rules, |r| compile_with(r, cfg))
}

/// Compiles a rule with the default [`Config`].
pub fn compile(rule: &SigmaRule) -> Result<Compiled, SigmaError> {
    compile_with(rule, &Config::default())
}

pub fn compile_with(rule: &SigmaRule, cfg: &Config) -> Result<Compiled, SigmaError> {
    let det = match &rule.body {
        rule::RuleBody::Detection(d) => d,
        rule::RuleBody::Filter { rules, .. } => {
            return Err(SigmaError::new(
                ErrorKind::Filter,
                format!(
                    "a filter (of {}) is not a rule: it applies to the rules it names",
                    rules.join(", ")
                ),
            )
            .at(&rule.path, rule.line, 0));
        }
        rule::RuleBody::Correlation(c) => {
            return Err(SigmaError::new(
                ErrorKind::Correlation,
                format!(
                    "correlation ({} over {}): not an event query; compile it with correlation::Correlation::compile and run it over the matches of the rules it names",
                    c.kind,
                    c.rules.join(", ")
                ),
            )
            .at(&rule.path, rule.line, 0));
        }
    };
    let targets = logsource::targets(&rule.logsource)
        .map_err(|m| SigmaError::new(ErrorKind::Logsource, m).at(&rule.path, rule.line, 0))?;
    let lowered = lower::lower(rule, det, &targets, cfg)?;
    let target_list = targets
        .into_iter()
        .filter(|t| lowered.targets.contains(&t.describe()))
        .collect();
    let st = quarry_eql::ast::Statement {
        body: quarry_eql::ast::Body::Event(quarry_eql::ast::EventQuery {
            category: lowered.category,
            condition: lowered.condition,
        }),
        pipes: Vec::new(),
    };
    let query =
        quarry_eql::compile_statement(&st, "", &quarry_eql::Options::default()).map_err(|e| {
            SigmaError::new(ErrorKind::Compile, e.to_string()).at(&rule.path, rule.line, 0)
        })?;
    Ok(Compiled {
        query,
        targets: lowered.targets,
        skipped: lowered.skipped,
        target_list,
    })
}

/// Reads `expand` placeholders from a YAML map of name → value or list of
/// values (pySigma's placeholder file shape):
///
/// ```yaml
/// Workstations: [WS1, WS2]
/// known_cdcs:
///   - DC1
/// ```
pub fn load_placeholders(path: &Path) -> Result<HashMap<String, Vec<String>>, SigmaError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        SigmaError::new(ErrorKind::Syntax, format!("cannot read: {e}")).at(path, 0, 0)
    })?;
    let v: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| {
        let (l, c) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        SigmaError::new(ErrorKind::Syntax, e.to_string()).at(path, l, c)
    })?;
    let serde_yaml::Value::Mapping(m) = v else {
        return Err(
            SigmaError::new(ErrorKind::Syntax, "placeholders must be a map").at(path, 1, 1),
        );
    };
    let scalar = |v: &serde_yaml::Value| match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut out = HashMap::new();
    for (k, v) in &m {
        let Some(k) = scalar(k) else { continue };
        let vals = match v {
            serde_yaml::Value::Sequence(items) => items.iter().filter_map(scalar).collect(),
            other => scalar(other).into_iter().collect(),
        };
        out.insert(k, vals);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_rule_is_reported_and_the_others_load() {
        let scratch = tempfile::Builder::new()
            .prefix("quarry-sigma-load-")
            .tempdir()
            .expect("scratch");
        let dir = scratch.path();
        std::fs::create_dir_all(dir.join("sub")).expect("scratch");
        let good = "title: ok\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel:\n        Image|endswith: '\\\\x.exe'\n    condition: sel\n";
        std::fs::write(dir.join("a.yml"), good).expect("write");
        std::fs::write(
            dir.join("sub/b.yaml"),
            "title: bad\ndetection:\n    sel:\n        A|nope: x\n    condition: sel\n",
        )
        .expect("write");
        std::fs::write(dir.join("c.yml"), "title: [unclosed\n").expect("write");
        std::fs::write(dir.join("d.yml"), format!("{good}status: deprecated\n")).expect("write");
        // (the folder walk is quarry_read::walk_files, tested there)
        let files: Vec<PathBuf> = ["a.yml", "sub/b.yaml", "c.yml", "d.yml"]
            .iter()
            .map(|f| dir.join(f))
            .collect();
        let (rules, errors) = load_files(&files, &Config::default());
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].title, "ok");
        let mut kinds: Vec<(ErrorKind, String, usize)> = errors
            .iter()
            .map(|e| {
                let f = e
                    .path
                    .file_name()
                    .and_then(|f| f.to_str())
                    .unwrap_or("")
                    .to_string();
                (e.kind, f, e.line)
            })
            .collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                (ErrorKind::Syntax, "c.yml".to_string(), 2),
                (ErrorKind::Modifier, "b.yaml".to_string(), 4),
                (ErrorKind::Status, "d.yml".to_string(), 1),
            ]
        );
        // the retired one loads when asked for
        let cfg = Config {
            include_retired: true,
            ..Config::default()
        };
        assert_eq!(load_files(&files, &cfg).0.len(), 2);
    }

    #[test]
    fn index_keys_per_target() {
        let text = "title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel:\n        CommandLine|contains: 'x'\n    condition: sel\n";
        let rule = load_str(Path::new("t.yml"), text)
            .pop()
            .expect("doc")
            .expect("loads");
        let keys = compile(&rule).expect("compiles").index_keys();
        assert_eq!(
            keys,
            [
                IndexKey::Windows {
                    channel: logsource::SYSMON.into(),
                    event_ids: vec!["1".into()]
                },
                IndexKey::Windows {
                    channel: "Security".into(),
                    event_ids: vec!["4688".into()]
                },
                IndexKey::Ecs {
                    category: "process".into()
                },
            ]
        );
    }

    #[test]
    fn placeholders_from_a_file() {
        let file = tempfile::Builder::new()
            .prefix("quarry-sigma-ph-")
            .suffix(".yml")
            .tempfile()
            .expect("scratch");
        std::fs::write(file.path(), "Workstations: [WS1, WS2]\nsingle: DC1\n").expect("write");
        let ph = load_placeholders(file.path()).expect("loads");
        assert_eq!(ph["Workstations"], ["WS1", "WS2"]);
        assert_eq!(ph["single"], ["DC1"]);
        let text = "title: t\nlogsource: {product: windows, service: security}\ndetection:\n    sel:\n        WorkstationName|expand: '%Workstations%'\n    condition: sel\n";
        let rule = load_str(Path::new("t.yml"), text)
            .pop()
            .expect("doc")
            .expect("loads");
        let e = compile(&rule).expect_err("no placeholders given");
        assert_eq!((e.kind, e.line), (ErrorKind::Placeholder, 5));
        let cfg = Config {
            placeholders: ph,
            ..Config::default()
        };
        let q = compile_with(&rule, &cfg).expect("compiles").query;
        let mut ev = quarry_event::Event::default();
        ev.set("winlog.channel", "Security");
        ev.set("winlog.event_data.WorkstationName", "ws2");
        assert!(q.matches(&ev));
    }
}
