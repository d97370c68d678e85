//! The Sigma rule model, parsed from YAML: metadata (title, id, status,
//! level, tags, …), log source, and either a detection (named selections
//! plus a condition) or a correlation (spec 2.x meta rule over other
//! rules). Values keep their YAML type; modifiers are parsed here so an
//! unknown one is reported at load time with its line.

use crate::error::{ErrorKind, SigmaError};
use crate::modifiers::Modifier;
use serde_yaml::Value as Y;
use std::path::{Path, PathBuf};

/// One Sigma rule (one YAML document).
#[derive(Debug, Clone)]
pub struct SigmaRule {
    pub path: PathBuf,
    /// The line (1-based) the rule's YAML document starts on.
    pub line: usize,
    pub title: String,
    pub id: Option<String>,
    /// The rule's `name`, by which correlations may refer to it.
    pub name: Option<String>,
    pub status: Option<String>,
    pub level: Option<String>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub date: Option<String>,
    pub tags: Vec<String>,
    pub falsepositives: Vec<String>,
    pub references: Vec<String>,
    pub logsource: LogSource,
    pub body: RuleBody,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSource {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

#[derive(Debug, Clone)]
pub enum RuleBody {
    Detection(Detection),
    Correlation(Correlation),
    /// A meta filter: its detection narrows the rules it names.
    Filter {
        /// The rules it applies to, by id or name.
        rules: Vec<String>,
        detection: Detection,
    },
}

/// `detection:`: named selections and the condition over them.
#[derive(Debug, Clone)]
pub struct Detection {
    /// In file order.
    pub selections: Vec<(String, Selection)>,
    /// The condition; a list of conditions (Sigma 1) means any of them.
    pub conditions: Vec<String>,
    /// Line of the `condition:` key, and the column (1-based) its text
    /// starts at when it is written on that line (0 otherwise), so a
    /// condition error points at its character.
    pub condition_line: usize,
    pub condition_column: usize,
    pub timeframe: Option<String>,
    /// Meta filters (spec 2.x `filter:` documents) applied to this rule:
    /// the file each came from and its detection, whose condition must
    /// hold as well. Attached by [`crate::apply_filters`].
    pub filters: Vec<(PathBuf, Detection)>,
}

/// A selection: a map is the AND of its field tests; a list is the OR of
/// its items (maps, or plain values: keywords).
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    All(Vec<FieldTest>),
    Any(Vec<Selection>),
}

/// `Field|mod1|mod2: values`; `field` is `None` for keywords (plain
/// values in a list, or a map key that is only modifiers, `'|re'`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldTest {
    pub field: Option<String>,
    pub modifiers: Vec<Modifier>,
    /// More than one: any of them (all, with `|all`).
    pub values: Vec<RawValue>,
    pub line: usize,
}

/// A value as YAML typed it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

/// A correlation rule (spec 2.x), evaluated by
/// [`crate::correlation::Correlation`].
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    /// `event_count`, `value_count`, `temporal`, `temporal_ordered`.
    pub kind: String,
    /// The rules it correlates, by id or name.
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    pub timespan: Option<String>,
    /// `gte: 10`, `field: User` …, as written.
    pub condition: Vec<(String, String)>,
    /// `aliases:`: alias → (rule → field), as written.
    pub aliases: Vec<(String, Vec<(String, String)>)>,
    /// `generate`: whether the rules it names also alert on their own
    /// (default: no, only the correlation does).
    pub generate: bool,
}

impl SigmaRule {
    /// `deprecated` or `unsupported`: skipped unless asked for.
    pub fn is_retired(&self) -> bool {
        matches!(
            self.status.as_deref(),
            Some("deprecated") | Some("unsupported")
        )
    }

    /// The ATT&CK technique ids of the tags (`attack.t1059.001` →
    /// `T1059.001`).
    pub fn attack_techniques(&self) -> Vec<String> {
        self.tags
            .iter()
            .filter_map(|t| t.strip_prefix("attack."))
            .filter(|t| {
                let b = t.as_bytes();
                b.len() >= 5
                    && (b[0] == b't' || b[0] == b'T')
                    && b[1..5].iter().all(u8::is_ascii_digit)
            })
            .map(|t| t.to_ascii_uppercase())
            .collect()
    }

    /// The ATT&CK tactics of the tags, as Sigma writes them
    /// (`attack.defense-evasion` → `defense-evasion`); technique, group
    /// (`g0001`) and software (`s0002`) tags aside.
    pub fn attack_tactics(&self) -> Vec<String> {
        self.tags
            .iter()
            .filter_map(|t| t.strip_prefix("attack."))
            .filter(|t| {
                let b = t.as_bytes();
                !(b.len() >= 2 && matches!(b[0], b't' | b'g' | b's') && b[1].is_ascii_digit())
            })
            .map(str::to_string)
            .collect()
    }

    /// The ATT&CK tactics of the tags with their ids and names, for an
    /// alert's `kibana.alert.rule.threat` (`attack.defense-evasion` →
    /// `("TA0005", "Defense Evasion")`); unknown slugs are left out.
    pub fn attack_tactic_ids(&self) -> Vec<(&'static str, &'static str)> {
        self.attack_tactics()
            .iter()
            .filter_map(|t| tactic(t))
            .collect()
    }

    /// The alert severity of the rule's level: Sigma's `informational`,
    /// `low`, `medium`, `high`, `critical` are kept as they are (quarry
    /// shows `informational` as such); no level reads as `medium`, which
    /// is what pySigma assumes.
    pub fn severity(&self) -> &str {
        match self.level.as_deref() {
            Some(l @ ("informational" | "low" | "medium" | "high" | "critical")) => l,
            _ => "medium",
        }
    }

    /// A risk score in Elastic's scale for the level (21/47/73/99, and 1
    /// for informational).
    pub fn risk_score(&self) -> u8 {
        match self.severity() {
            "informational" => 1,
            "low" => 21,
            "high" => 73,
            "critical" => 99,
            _ => 47,
        }
    }
}

/// The ATT&CK enterprise tactic of a Sigma tag slug: (id, name).
pub fn tactic(slug: &str) -> Option<(&'static str, &'static str)> {
    Some(match slug.replace('_', "-").as_str() {
        "reconnaissance" => ("TA0043", "Reconnaissance"),
        "resource-development" => ("TA0042", "Resource Development"),
        "initial-access" => ("TA0001", "Initial Access"),
        "execution" => ("TA0002", "Execution"),
        "persistence" => ("TA0003", "Persistence"),
        "privilege-escalation" => ("TA0004", "Privilege Escalation"),
        "defense-evasion" => ("TA0005", "Defense Evasion"),
        "credential-access" => ("TA0006", "Credential Access"),
        "discovery" => ("TA0007", "Discovery"),
        "lateral-movement" => ("TA0008", "Lateral Movement"),
        "collection" => ("TA0009", "Collection"),
        "command-and-control" => ("TA0011", "Command and Control"),
        "exfiltration" => ("TA0010", "Exfiltration"),
        "impact" => ("TA0040", "Impact"),
        _ => return None,
    })
}

/// Parses every YAML document of a file into rules. A document that is
/// not a valid rule fails the whole file only when the YAML itself is
/// broken (documents cannot be told apart then); otherwise each bad
/// document is its own error.
pub fn parse_file(path: &Path, text: &str) -> Vec<Result<SigmaRule, SigmaError>> {
    use serde::Deserialize;
    let starts = document_starts(text);
    let mut out = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let start = starts.get(i).copied().unwrap_or(1);
        match Y::deserialize(doc) {
            Ok(Y::Null) => {}
            Ok(v) => out.push(
                Doc { text, start, path }
                    .rule(&v)
                    .map_err(|e| e.at(path, start, 0)),
            ),
            Err(e) => {
                let (line, col) = e
                    .location()
                    .map(|l| (l.line(), l.column()))
                    .unwrap_or((start, 0));
                out.push(Err(
                    SigmaError::new(ErrorKind::Syntax, strip_location(&e)).at(path, line, col)
                ));
                // the stream cannot go on after a syntax error
                break;
            }
        }
    }
    out
}

/// serde_yaml's message without its own " at line X column Y" (the error
/// carries the position).
fn strip_location(e: &serde_yaml::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The 1-based line each YAML document starts on (after a `---`).
fn document_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![1];
    for (i, l) in text.lines().enumerate() {
        if l.starts_with("---") && (l.len() == 3 || l[3..].starts_with([' ', '\t'])) {
            if i == 0 {
                starts[0] = 2;
            } else {
                starts.push(i + 2);
            }
        }
    }
    starts
}

struct Doc<'a> {
    text: &'a str,
    start: usize,
    #[allow(dead_code)]
    path: &'a Path,
}

fn err(kind: ErrorKind, msg: impl Into<String>) -> SigmaError {
    SigmaError::new(kind, msg)
}

fn as_str(v: &Y) -> Option<String> {
    match v {
        Y::String(s) => Some(s.clone()),
        Y::Number(n) => Some(n.to_string()),
        Y::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn get<'v>(m: &'v serde_yaml::Mapping, key: &str) -> Option<&'v Y> {
    m.get(key)
}

fn str_list(v: Option<&Y>) -> Vec<String> {
    match v {
        Some(Y::Sequence(items)) => items.iter().filter_map(as_str).collect(),
        Some(v) => as_str(v).into_iter().collect(),
        None => Vec::new(),
    }
}

impl Doc<'_> {
    /// The line of the first `key:` (as a YAML key, quoted or not) at or
    /// after line `from` of this document: serde_yaml's values carry no
    /// positions, and an error must say where it is.
    fn line_of(&self, key: &str, from: usize) -> usize {
        let from = from.max(self.start);
        for (i, l) in self.text.lines().enumerate().skip(from - 1) {
            let t = l.trim_start().trim_start_matches("- ");
            for q in ["", "'", "\""] {
                if let Some(rest) = t.strip_prefix(q).and_then(|r| r.strip_prefix(key))
                    && rest.strip_prefix(q).is_some_and(|r| r.starts_with(':'))
                {
                    return i + 1;
                }
            }
        }
        from
    }

    /// The 1-based column where the scalar after `key` starts on `line`
    /// (past spaces and an opening quote); 0 when it is not there.
    fn value_column(&self, line: usize, key: &str) -> usize {
        let Some(l) = self.text.lines().nth(line.saturating_sub(1)) else {
            return 0;
        };
        let Some(k) = l.find(key) else { return 0 };
        let mut i = k + key.len();
        let b = l.as_bytes();
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i < b.len() && (b[i] == b'\'' || b[i] == b'"') {
            i += 1;
        }
        if i >= b.len() || b[i] == b'#' {
            0
        } else {
            i + 1
        }
    }

    fn rule(&self, v: &Y) -> Result<SigmaRule, SigmaError> {
        let Y::Mapping(m) = v else {
            return Err(err(ErrorKind::Syntax, "a rule must be a YAML map"));
        };
        let title = get(m, "title")
            .and_then(as_str)
            .ok_or_else(|| err(ErrorKind::Syntax, "missing `title`"))?;
        let ls = match get(m, "logsource") {
            Some(Y::Mapping(l)) => LogSource {
                product: get(l, "product").and_then(as_str).map(|s| s.to_lowercase()),
                category: get(l, "category")
                    .and_then(as_str)
                    .map(|s| s.to_lowercase()),
                service: get(l, "service").and_then(as_str).map(|s| s.to_lowercase()),
            },
            Some(_) => return Err(err(ErrorKind::Syntax, "`logsource` must be a map")),
            None => LogSource::default(),
        };
        let body = if let Some(c) = get(m, "correlation") {
            let mut c = self.correlation(c)?;
            // the schema puts `generate` beside `correlation`; pySigma reads
            // it inside: either says yes
            c.generate |= matches!(get(m, "generate"), Some(Y::Bool(true)));
            RuleBody::Correlation(c)
        } else if let Some(f) = get(m, "filter") {
            let Y::Mapping(fm) = f else {
                return Err(err(ErrorKind::Syntax, "`filter` must be a map"));
            };
            let rules = str_list(get(fm, "rules"));
            let mut rest = fm.clone();
            rest.remove("rules");
            RuleBody::Filter {
                rules,
                detection: self.detection_in(&rest, "filter")?,
            }
        } else {
            match get(m, "detection") {
                Some(Y::Mapping(d)) => RuleBody::Detection(self.detection(d)?),
                Some(_) => return Err(err(ErrorKind::Syntax, "`detection` must be a map")),
                None => {
                    return Err(err(
                        ErrorKind::Syntax,
                        "missing `detection` (or `correlation`)",
                    ));
                }
            }
        };
        Ok(SigmaRule {
            path: self.path.to_path_buf(),
            line: self.start,
            title,
            id: get(m, "id").and_then(as_str),
            name: get(m, "name").and_then(as_str),
            status: get(m, "status").and_then(as_str).map(|s| s.to_lowercase()),
            level: get(m, "level").and_then(as_str).map(|s| s.to_lowercase()),
            description: get(m, "description").and_then(as_str),
            author: get(m, "author").and_then(as_str),
            date: get(m, "date").and_then(as_str),
            tags: str_list(get(m, "tags")),
            falsepositives: str_list(get(m, "falsepositives")),
            references: str_list(get(m, "references")),
            logsource: ls,
            body,
        })
    }

    fn detection(&self, d: &serde_yaml::Mapping) -> Result<Detection, SigmaError> {
        self.detection_in(d, "detection")
    }

    /// A detection map under `key` (`detection`, or a filter's `filter`).
    fn detection_in(&self, d: &serde_yaml::Mapping, key: &str) -> Result<Detection, SigmaError> {
        let det_line = self.line_of(key, self.start);
        let mut selections = Vec::new();
        let mut conditions = Vec::new();
        let mut timeframe = None;
        let mut condition_line = det_line;
        let mut condition_column = 0;
        for (k, v) in d {
            let Some(name) = as_str(k) else {
                return Err(err(ErrorKind::Syntax, "a selection name must be a string"));
            };
            match name.as_str() {
                "condition" => {
                    condition_line = self.line_of("condition", det_line);
                    condition_column = self.value_column(condition_line, "condition:");
                    conditions = match v {
                        Y::Sequence(items) => items.iter().filter_map(as_str).collect(),
                        other => as_str(other).into_iter().collect(),
                    };
                    if conditions.is_empty() {
                        return Err(err(ErrorKind::Condition, "empty `condition`").at(
                            self.path,
                            condition_line,
                            0,
                        ));
                    }
                }
                "timeframe" => timeframe = as_str(v),
                _ => {
                    let line = self.line_of(&name, det_line);
                    let sel = self.selection(v, line)?;
                    selections.push((name, sel));
                }
            }
        }
        if conditions.is_empty() {
            return Err(err(ErrorKind::Condition, "missing `condition`").at(self.path, det_line, 0));
        }
        Ok(Detection {
            selections,
            conditions,
            condition_line,
            condition_column,
            timeframe,
            filters: Vec::new(),
        })
    }

    fn selection(&self, v: &Y, line: usize) -> Result<Selection, SigmaError> {
        match v {
            Y::Mapping(m) => {
                let mut tests = Vec::new();
                for (k, val) in m {
                    let Some(key) = as_str(k) else {
                        return Err(err(ErrorKind::Syntax, "a field name must be a string")
                            .at(self.path, line, 0));
                    };
                    let kline = self.line_of(&key, line);
                    tests.push(self.field_test(&key, val, kline)?);
                }
                Ok(Selection::All(tests))
            }
            Y::Sequence(items) => {
                let mut alts = Vec::new();
                let mut keywords = Vec::new();
                for item in items {
                    match item {
                        Y::Mapping(_) => alts.push(self.selection(item, line)?),
                        Y::Sequence(_) => {
                            return Err(err(ErrorKind::Syntax, "nested lists in a selection")
                                .at(self.path, line, 0));
                        }
                        scalar => keywords.push(
                            raw(scalar)
                                .map_err(|m| err(ErrorKind::Syntax, m).at(self.path, line, 0))?,
                        ),
                    }
                }
                if !keywords.is_empty() {
                    alts.push(Selection::All(vec![FieldTest {
                        field: None,
                        modifiers: Vec::new(),
                        values: keywords,
                        line,
                    }]));
                }
                Ok(match alts.len() {
                    1 => alts.pop().unwrap_or(Selection::Any(Vec::new())),
                    _ => Selection::Any(alts),
                })
            }
            scalar => Ok(Selection::All(vec![FieldTest {
                field: None,
                modifiers: Vec::new(),
                values: vec![
                    raw(scalar).map_err(|m| err(ErrorKind::Syntax, m).at(self.path, line, 0))?,
                ],
                line,
            }])),
        }
    }

    fn field_test(&self, key: &str, v: &Y, line: usize) -> Result<FieldTest, SigmaError> {
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or_default();
        let mut modifiers = Vec::new();
        for p in parts {
            match Modifier::parse(p) {
                Some(m) => modifiers.push(m),
                None => {
                    let col = self
                        .text
                        .lines()
                        .nth(line.saturating_sub(1))
                        .and_then(|l| l.find(&format!("|{p}")))
                        .map_or(0, |c| c + 2);
                    return Err(err(
                        ErrorKind::Modifier,
                        format!("unknown modifier `{p}` in `{key}`"),
                    )
                    .at(self.path, line, col));
                }
            }
        }
        let values = match v {
            Y::Sequence(items) => items
                .iter()
                .map(raw)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|m| err(ErrorKind::Syntax, m).at(self.path, line, 0))?,
            scalar => {
                vec![raw(scalar).map_err(|m| err(ErrorKind::Syntax, m).at(self.path, line, 0))?]
            }
        };
        Ok(FieldTest {
            field: (!field.is_empty()).then(|| field.to_string()),
            modifiers,
            values,
            line,
        })
    }

    fn correlation(&self, c: &Y) -> Result<Correlation, SigmaError> {
        let line = self.line_of("correlation", self.start);
        let Y::Mapping(m) = c else {
            return Err(
                err(ErrorKind::Syntax, "`correlation` must be a map").at(self.path, line, 0)
            );
        };
        let kind = get(m, "type").and_then(as_str).ok_or_else(|| {
            err(ErrorKind::Syntax, "correlation without `type`").at(self.path, line, 0)
        })?;
        if !matches!(
            kind.as_str(),
            "event_count" | "value_count" | "temporal" | "temporal_ordered"
        ) {
            return Err(err(
                ErrorKind::Syntax,
                format!("unknown correlation type `{kind}`"),
            )
            .at(self.path, self.line_of("type", line), 0));
        }
        // `field` may list several fields (their values counted together)
        let condition = match get(m, "condition") {
            Some(Y::Mapping(cm)) => cm
                .iter()
                .filter_map(|(k, v)| {
                    let v = match v {
                        Y::Sequence(_) => str_list(Some(v)).join(","),
                        v => as_str(v)?,
                    };
                    Some((as_str(k)?, v))
                })
                .collect(),
            _ => Vec::new(),
        };
        let aliases = match get(m, "aliases") {
            Some(Y::Mapping(am)) => am
                .iter()
                .filter_map(|(k, v)| {
                    let Y::Mapping(per) = v else { return None };
                    Some((
                        as_str(k)?,
                        per.iter()
                            .filter_map(|(r, f)| Some((as_str(r)?, as_str(f)?)))
                            .collect(),
                    ))
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(Correlation {
            kind,
            rules: str_list(get(m, "rules")),
            group_by: str_list(get(m, "group-by")),
            timespan: get(m, "timespan").and_then(as_str),
            condition,
            aliases,
            generate: matches!(get(m, "generate"), Some(Y::Bool(true))),
        })
    }
}

fn raw(v: &Y) -> Result<RawValue, String> {
    Ok(match v {
        Y::String(s) => RawValue::Str(s.clone()),
        Y::Number(n) => match n.as_i64() {
            Some(i) => RawValue::Int(i),
            None => RawValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Y::Bool(b) => RawValue::Bool(*b),
        Y::Null => RawValue::Null,
        Y::Tagged(t) => return raw(&t.value),
        Y::Mapping(_) | Y::Sequence(_) => {
            return Err("expected a plain value, found a map or list".into());
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<SigmaRule, SigmaError> {
        parse_file(Path::new("t.yml"), text)
            .pop()
            .expect("one document")
    }

    #[test]
    fn parses_metadata_and_detection() {
        let r = one(r#"
title: Test
id: 0e9a3b9f-1111-2222-3333-444455556666
status: test
level: high
tags:
    - attack.execution
    - attack.t1059.001
    - attack.g0032
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\cmd.exe'
        CommandLine|contains|all:
            - 'a'
            - 'b'
    keywords:
        - 'evil'
        - 42
    condition: selection and not keywords
falsepositives:
    - Admins
"#)
        .expect("parses");
        assert_eq!(r.title, "Test");
        assert_eq!(r.severity(), "high");
        assert_eq!(r.attack_techniques(), ["T1059.001"]);
        assert_eq!(r.attack_tactics(), ["execution"]);
        assert_eq!(r.attack_tactic_ids(), [("TA0002", "Execution")]);
        assert_eq!(r.risk_score(), 73);
        assert_eq!(r.logsource.category.as_deref(), Some("process_creation"));
        let RuleBody::Detection(d) = &r.body else {
            panic!("detection")
        };
        assert_eq!(d.selections.len(), 2);
        assert_eq!(d.conditions, ["selection and not keywords"]);
        let Selection::All(tests) = &d.selections[0].1 else {
            panic!("map")
        };
        assert_eq!(tests[1].modifiers, [Modifier::Contains, Modifier::All]);
        assert_eq!(tests[1].line, 16);
        let Selection::All(kw) = &d.selections[1].1 else {
            panic!("keywords")
        };
        assert_eq!(kw[0].field, None);
        assert_eq!(kw[0].values[1], RawValue::Int(42));
    }

    #[test]
    fn errors_name_the_position() {
        let e = one("title: x\ndetection:\n    sel:\n        A|containz: b\n    condition: sel\n")
            .expect_err("unknown modifier");
        assert_eq!((e.kind, e.line, e.column), (ErrorKind::Modifier, 4, 11));
        assert!(
            e.to_string().starts_with("t.yml:4:11: modifier error"),
            "{e}"
        );
        let e = one("title: x\ndetection:\n    sel: [a\n").expect_err("bad yaml");
        assert_eq!(e.kind, ErrorKind::Syntax);
        assert!(e.line >= 3, "{e}");
        let e = one("title: x\ndetection:\n    sel: a\n").expect_err("no condition");
        assert_eq!((e.kind, e.line), (ErrorKind::Condition, 2));
    }

    #[test]
    fn several_documents_and_correlations() {
        let text = "title: a\nname: base\ndetection:\n    s: x\n    condition: s\n---\ntitle: c\ncorrelation:\n    type: event_count\n    rules: [base]\n    group-by: [User]\n    timespan: 5m\n    condition:\n        gte: 10\n";
        let rules = parse_file(Path::new("t.yml"), text);
        assert_eq!(rules.len(), 2);
        let c = rules[1].as_ref().expect("correlation");
        assert_eq!(c.line, 7);
        let RuleBody::Correlation(c) = &c.body else {
            panic!("correlation")
        };
        assert_eq!(c.kind, "event_count");
        assert_eq!(c.rules, ["base"]);
        assert_eq!(c.group_by, ["User"]);
        assert_eq!(c.condition, [("gte".to_string(), "10".to_string())]);
    }
}
