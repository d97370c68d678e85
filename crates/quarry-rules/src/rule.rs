//! One detection rule as read from a detection-rules TOML file.

use crate::index::{IndexPattern, patterns_match};
use serde::Deserialize;
use std::path::PathBuf;

/// A detection rule (Elastic detection-rules TOML: `[metadata]`, `[rule]`,
/// `[[transform.investigate]]`). Other rule formats (Sigma) build one from
/// `Default` and [`Rule::set_index`].
/// What nothing reads is not kept: the investigation guide (`note`) and
/// `setup` text, most of an Elastic rule file (9 MB of Elastic's rules),
/// are left in the file.
#[derive(Debug, Clone, Default)]
pub struct Rule {
    pub rule_id: String,
    pub name: String,
    pub description: String,
    pub severity: String,
    pub risk_score: i64,
    /// `type`: `eql`, `query`, `esql`, `threshold`, …
    pub rule_type: String,
    /// `language`: `eql`, `kuery`, `esql`, `lucene`; absent for some types.
    pub language: Option<String>,
    /// Index patterns; empty when the rule relies on a data view.
    pub index: Vec<String>,
    pub query: String,
    /// `[[rule.threat]]` as JSON, for `kibana.alert.rule.threat` (`None`:
    /// null). Kept as its text, keys sorted as a [`serde_json::Value`]
    /// orders them (parsed values of every loaded rule took megabytes); it
    /// serialises as the value it holds (see [`Rule::threat_value`]).
    pub threat: Option<Box<serde_json::value::RawValue>>,
    pub false_positives: Vec<String>,
    pub references: Vec<String>,
    pub max_signals: u64,
    pub tags: Vec<String>,
    pub building_block_type: Option<String>,
    pub timestamp_override: Option<String>,
    pub from: Option<String>,
    pub maturity: Option<String>,
    pub investigate: Vec<Investigate>,
    /// `enabled`: false for the few rules Elastic ships switched off (the
    /// onboarding sample, Defend alerts a broader rule already promotes).
    pub enabled: bool,
    /// `interval`: how often Elastic runs the rule (`5m`).
    pub interval: Option<String>,
    /// `[rule.threshold]` of a `threshold` rule.
    pub threshold: Option<Threshold>,
    /// `[rule.new_terms]` of a `new_terms` rule.
    pub new_terms: Option<NewTerms>,
    /// `[rule.alert_suppression]`.
    pub alert_suppression: Option<AlertSuppression>,
    /// `[[rule.filters]]`: Kibana filters (query DSL under `query`, with
    /// `meta.negate` and `meta.disabled`) ANDed with the query, as JSON.
    pub filters: Vec<serde_json::Value>,
    /// The `threat_*` keys of a `threat_match` rule.
    pub threat_match: Option<ThreatMatch>,
    /// The file the rule was read from (`builtin:…` for the built-in pack).
    pub path: PathBuf,
    /// The rule as its own format's reader parsed it, for its front-end to
    /// compile without parsing again (a Sigma rule's detection); `None` for
    /// TOML rules, whose `query` is all a front-end needs.
    pub parsed: Option<std::sync::Arc<dyn std::any::Any + Send + Sync>>,
    patterns: Vec<IndexPattern>,
}

/// `[rule.threshold]`: alert when the events of one group (the values of
/// `field`, none for one group) reach `value`, and each `cardinality` field
/// has at least that many distinct values among them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Threshold {
    #[serde(default, deserialize_with = "one_or_many")]
    pub field: Vec<String>,
    pub value: u64,
    #[serde(default)]
    pub cardinality: Vec<Cardinality>,
}

/// One `[[rule.threshold.cardinality]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Cardinality {
    pub field: String,
    pub value: u64,
}

/// `[rule.new_terms]`: alert on the first event whose values of `fields`
/// were not seen in the `history_window_start` before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTerms {
    pub fields: Vec<String>,
    /// Date math, `now-7d`.
    pub history_window_start: String,
}

#[derive(Deserialize)]
pub(crate) struct RawNewTerms {
    #[serde(default, deserialize_with = "one_or_many")]
    value: Vec<String>,
    #[serde(default)]
    history_window_start: Vec<RawFieldValue>,
}

#[derive(Deserialize)]
pub(crate) struct RawFieldValue {
    value: String,
}

/// A `threat_match` (indicator match) rule's indicator side: which
/// indicator documents (`threat_query`, `threat_filters`) and how their
/// values meet the events' (`threat_mapping`).
#[derive(Debug, Clone, PartialEq)]
pub struct ThreatMatch {
    pub threat_query: String,
    /// `kuery` (default) or `lucene`.
    pub threat_language: Option<String>,
    pub threat_filters: Vec<serde_json::Value>,
    /// OR across groups, AND within one.
    pub threat_mapping: Vec<ThreatMappingGroup>,
    /// Where the indicator sits in its document (`threat.indicator`).
    pub threat_indicator_path: String,
    pub threat_index: Vec<String>,
}

/// One `[[rule.threat_mapping]]`: every entry must hold.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ThreatMappingGroup {
    #[serde(default)]
    pub entries: Vec<ThreatMappingEntry>,
}

/// An event `field` whose value equals the indicator's `value` field (or,
/// with `negate`, does not).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ThreatMappingEntry {
    pub field: String,
    pub value: String,
    #[serde(rename = "type", default)]
    pub entry_type: String,
    #[serde(default)]
    pub negate: bool,
}

/// `[rule.alert_suppression]`: alerts with the same `group_by` values are
/// folded into the first, within `duration` (or the whole run without one).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AlertSuppression {
    #[serde(default)]
    pub group_by: Vec<String>,
    pub duration: Option<SuppressionDuration>,
    /// `suppress` (default: alerts missing a field form one group) or
    /// `doNotSuppress` (each such alert stands alone).
    #[serde(default)]
    pub missing_fields_strategy: Option<String>,
}

/// `[rule.alert_suppression.duration]`: `value` `unit`s (`s`, `m`, `h`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SuppressionDuration {
    pub value: i64,
    pub unit: String,
}

impl SuppressionDuration {
    /// The duration in nanoseconds (`None` for an unknown unit).
    pub fn nanos(&self) -> Option<i64> {
        const S: i64 = 1_000_000_000;
        let unit = match self.unit.as_str() {
            "s" => S,
            "m" => 60 * S,
            "h" => 3600 * S,
            "d" => 86_400 * S,
            _ => return None,
        };
        self.value.checked_mul(unit)
    }
}

/// A TOML string or array of strings, as a list.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// A `[[transform.investigate]]` pivot: a timeline query built from the alert.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Investigate {
    pub label: String,
    #[serde(default)]
    pub description: String,
    /// OR of ANDs: each inner list is one group of providers that must all hold.
    pub providers: Vec<Vec<Provider>>,
    pub relative_from: Option<String>,
    pub relative_to: Option<String>,
}

/// One term of an investigate pivot; `value` may hold a `{{field}}` template.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    #[serde(default)]
    pub excluded: bool,
    pub field: String,
    pub query_type: String,
    pub value: String,
    pub value_type: String,
}

impl Rule {
    /// [`Rule::threat`] parsed (null without one).
    pub fn threat_value(&self) -> serde_json::Value {
        self.threat
            .as_deref()
            .and_then(|t| serde_json::from_str(t.get()).ok())
            .unwrap_or_default()
    }

    /// Sets [`Rule::threat`].
    pub fn set_threat(&mut self, threat: &serde_json::Value) {
        self.threat = serde_json::value::to_raw_value(threat).ok();
    }

    /// Whether an event stored in `index` is covered by the rule's `index`
    /// patterns (Elasticsearch wildcards, `-` exclusions). A rule without
    /// `index` matches every index.
    pub fn matches_index(&self, index: &str) -> bool {
        patterns_match(&self.patterns, index)
    }

    /// Sets the `index` patterns (and compiles them).
    pub fn set_index(&mut self, index: Vec<String>) {
        self.patterns = index.iter().map(|p| IndexPattern::new(p)).collect();
        self.index = index;
    }

    /// The compiled index patterns.
    pub fn index_patterns(&self) -> &[IndexPattern] {
        &self.patterns
    }

    /// True for EQL rules (`type = "eql"` or `language = "eql"`).
    pub fn is_eql(&self) -> bool {
        self.rule_type == "eql" || self.language.as_deref() == Some("eql")
    }

    /// True for building-block rules (their alerts are hidden by default).
    pub fn is_building_block(&self) -> bool {
        self.building_block_type.is_some()
    }
}

#[derive(Deserialize)]
pub(crate) struct RawFile {
    #[serde(default)]
    pub metadata: RawMetadata,
    pub rule: RawRule,
    #[serde(default)]
    pub transform: RawTransform,
}

#[derive(Deserialize, Default)]
pub(crate) struct RawMetadata {
    pub maturity: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct RawTransform {
    #[serde(default)]
    pub investigate: Vec<Investigate>,
}

fn default_max_signals() -> u64 {
    100
}

fn default_enabled() -> bool {
    true
}

#[derive(Deserialize)]
pub(crate) struct RawRule {
    pub rule_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub risk_score: i64,
    #[serde(rename = "type")]
    pub rule_type: String,
    pub language: Option<String>,
    #[serde(default)]
    pub index: Vec<String>,
    pub query: Option<String>,
    #[serde(default)]
    pub threat: Vec<toml::Value>,
    #[serde(default)]
    pub false_positives: Vec<String>,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default = "default_max_signals")]
    pub max_signals: u64,
    #[serde(default)]
    pub tags: Vec<String>,
    pub building_block_type: Option<String>,
    pub timestamp_override: Option<String>,
    pub from: Option<String>,
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    pub interval: Option<String>,
    pub threshold: Option<Threshold>,
    pub new_terms: Option<RawNewTerms>,
    pub alert_suppression: Option<AlertSuppression>,
    #[serde(default)]
    pub filters: Vec<toml::Value>,
    pub threat_query: Option<String>,
    pub threat_language: Option<String>,
    #[serde(default)]
    pub threat_filters: Vec<toml::Value>,
    #[serde(default)]
    pub threat_mapping: Vec<ThreatMappingGroup>,
    pub threat_indicator_path: Option<String>,
    #[serde(default)]
    pub threat_index: Vec<String>,
}

fn to_json(v: &[toml::Value]) -> Vec<serde_json::Value> {
    v.iter()
        .filter_map(|x| serde_json::to_value(x).ok())
        .collect()
}

impl RawFile {
    pub(crate) fn into_rule(self, path: PathBuf) -> Rule {
        let r = self.rule;
        // through a value, whose keys are sorted
        let threat = serde_json::to_value(&r.threat)
            .ok()
            .and_then(|t| serde_json::value::to_raw_value(&t).ok());
        let patterns = r.index.iter().map(|p| IndexPattern::new(p)).collect();
        let is_threat_match = r.rule_type == "threat_match";
        Rule {
            rule_id: r.rule_id,
            name: r.name,
            description: r.description,
            severity: r.severity,
            risk_score: r.risk_score,
            rule_type: r.rule_type,
            language: r.language,
            index: r.index,
            query: r.query.unwrap_or_default(),
            threat,
            false_positives: r.false_positives,
            references: r.references,
            max_signals: r.max_signals,
            tags: r.tags,
            building_block_type: r.building_block_type,
            timestamp_override: r.timestamp_override,
            from: r.from,
            maturity: self.metadata.maturity,
            investigate: self.transform.investigate,
            enabled: r.enabled,
            interval: r.interval,
            threshold: r.threshold,
            new_terms: r.new_terms.map(|n| NewTerms {
                fields: n.value,
                history_window_start: n
                    .history_window_start
                    .into_iter()
                    .next()
                    .map_or_else(|| "now-7d".into(), |h| h.value),
            }),
            alert_suppression: r.alert_suppression,
            filters: to_json(&r.filters),
            threat_match: is_threat_match.then(|| ThreatMatch {
                threat_query: r.threat_query.unwrap_or_default(),
                threat_language: r.threat_language,
                threat_filters: to_json(&r.threat_filters),
                threat_mapping: r.threat_mapping,
                threat_indicator_path: r
                    .threat_indicator_path
                    .unwrap_or_else(|| "threat.indicator".into()),
                threat_index: r.threat_index,
            }),
            path,
            parsed: None,
            patterns,
        }
    }
}
