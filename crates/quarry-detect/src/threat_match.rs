//! `threat_match` (indicator match) rules: the events a rule's query
//! selects are matched against indicator documents — ECS
//! `threat.indicator.*`, as Elastic's Threat Intel integrations write them
//! — given with `--threat-intel`. Without them the rules are skipped with
//! that reason ([`RuleBook::skip_threat_match`]).
//!
//! As Elastic's indicator match: the indicators are those the rule's
//! `threat_query` (and `threat_filters`) select; an event matches an
//! indicator when, for one `threat_mapping` group (OR across groups), every
//! entry holds (AND within it): some value of the event's `field` equals
//! some value of the indicator's `value` field (`negate`: none does). Each
//! alert carries `threat.enrichments`: per matched indicator and entry,
//! the indicator (the object at `threat_indicator_path`), `matched`
//! (`atomic`, `field`, `id`, `index`, `type: indicator_match_rule`) and
//! `feed.name`.
//!
//! Offline there is no `now` for the threat query's date math
//! (`@timestamp >= "now-30d/d"`): it is the newest indicator's time (the rule runs when
//! the feed was last updated, so indicators gone stale before then are left
//! out, as Elastic leaves them), or without timed indicators the newest
//! matched event's. Evidence spanning years is matched against the same
//! indicators throughout.

use crate::book::RuleBook;
use quarry_event::{Event, Value};
use quarry_kql::{KqlOptions, Language};
use quarry_rules::{SkipKind, ThreatMatch};
use serde_json::{Value as J, json};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

/// Indicator documents, as read from `--threat-intel` files.
#[derive(Debug, Default)]
pub struct Indicators {
    pub docs: Vec<Event>,
}

impl Indicators {
    /// Reads indicator documents (NDJSON, JSON arrays, `_search` dumps, any
    /// format quarry reads); problems are in the summary.
    pub fn read(paths: &[PathBuf]) -> (Indicators, quarry_read::ReadSummary) {
        let (docs, summary) = quarry_read::scan(paths, Some);
        (Indicators { docs }, summary)
    }
}

impl RuleBook {
    /// Moves the `threat_match` rules to the skipped ones: without
    /// indicator documents they cannot run.
    pub fn skip_threat_match(&mut self) {
        // taken out in place: a partition into two new vectors would grow
        // one to twice the rules' size
        let tm: Vec<_> = self
            .rules
            .extract_if(.., |r| r.rule.threat_match.is_some())
            .collect();
        self.rules.shrink_to_fit();
        for r in tm {
            let why = "threat_match without indicators (--threat-intel FILE)".to_string();
            self.skipped.push(quarry_rules::Skipped {
                path: r.rule.path,
                rule_id: Some(r.rule.rule_id),
                name: Some(r.rule.name),
                kind: SkipKind::NotRunnable(why.clone()),
                reason: why,
            });
        }
        self.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    }
}

/// The fields a match reads of the rule's events (kept when its matches
/// are slimmed).
pub fn event_fields(spec: &ThreatMatch) -> Vec<String> {
    spec.threat_mapping
        .iter()
        .flat_map(|g| g.entries.iter().map(|e| e.field.clone()))
        .collect()
}

/// A value as the key it is compared by: its text, an ip in its canonical
/// form (so `::ffff:1.2.3.4`-style spellings of one address meet).
fn key(v: &Value) -> Option<String> {
    match v {
        Value::Ip(ip) => Some(ip.to_string()),
        Value::Str(s) => Some(match s.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => s.to_string(),
        }),
        Value::Null | Value::Array(_) => None,
        v => v.to_text().map(|t| t.into_owned()),
    }
}

/// The keys of every value of `field` in `ev`.
fn keys(ev: &Event, field: &str) -> Vec<String> {
    ev.get(field)
        .map(|v| v.iter().filter_map(key).collect())
        .unwrap_or_default()
}

/// Most tuples one event or indicator contributes to a group's index (a
/// product of multi-valued fields could otherwise explode).
const MAX_TUPLES: usize = 1024;

/// Every tuple of one key per list, up to [`MAX_TUPLES`].
fn tuples(lists: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for l in lists {
        let mut next = Vec::new();
        for t in &out {
            for k in l {
                if next.len() >= MAX_TUPLES {
                    break;
                }
                let mut t = t.clone();
                t.push(k.clone());
                next.push(t);
            }
        }
        out = next;
    }
    out
}

/// An event's enrichments, and the (indicator, field, value) each stands
/// for (one enrichment per match).
type Enrichments = (BTreeSet<(usize, String, String)>, Vec<J>);

/// The alerts of a `threat_match` rule: for each matched event (positions
/// into `events`) its `threat.enrichments`.
pub fn matches(
    spec: &ThreatMatch,
    events: &[Event],
    intel: &Indicators,
) -> Result<Vec<(usize, J)>, String> {
    let latest = |evs: &mut dyn Iterator<Item = &Event>| evs.filter_map(|e| e.timestamp).max();
    let now = latest(&mut intel.docs.iter()).or_else(|| latest(&mut events.iter()));
    let language = match spec.threat_language.as_deref() {
        Some("lucene") => Language::Lucene,
        _ => Language::Kuery,
    };
    let opts = KqlOptions {
        now,
        ..KqlOptions::default()
    };
    let threat_query = if spec.threat_query.trim().is_empty() {
        "*"
    } else {
        spec.threat_query.as_str()
    };
    let selector = quarry_kql::compile_rule(threat_query, language, &spec.threat_filters, &opts)
        .map_err(|e| format!("threat_query: {e}"))?
        .query;
    let selected: Vec<&Event> = intel.docs.iter().filter(|d| selector.matches(d)).collect();
    let mut out: Vec<(usize, J)> = Vec::new();
    let mut per_event: HashMap<usize, Enrichments> = HashMap::new();
    for group in &spec.threat_mapping {
        let (pos, neg): (Vec<_>, Vec<_>) = group.entries.iter().partition(|e| !e.negate);
        if pos.is_empty() {
            // a group of only negated entries would match nearly every
            // pair; Kibana requires a positive entry too
            continue;
        }
        // the indicators by the tuple of their values for the positive entries
        let mut index: HashMap<Vec<String>, Vec<usize>> = HashMap::new();
        for (n, d) in selected.iter().enumerate() {
            let lists: Vec<Vec<String>> = pos.iter().map(|e| keys(d, &e.value)).collect();
            for t in tuples(&lists) {
                index.entry(t).or_default().push(n);
            }
        }
        if index.is_empty() {
            continue;
        }
        for (i, ev) in events.iter().enumerate() {
            let lists: Vec<Vec<String>> = pos.iter().map(|e| keys(ev, &e.field)).collect();
            for t in tuples(&lists) {
                let Some(hits) = index.get(&t) else { continue };
                for &n in hits {
                    let d = selected[n];
                    let negated_hold = neg.iter().all(|e| {
                        let theirs = keys(d, &e.value);
                        !keys(ev, &e.field).iter().any(|k| theirs.contains(k))
                    });
                    if !negated_hold {
                        continue;
                    }
                    let entry = per_event.entry(i).or_default();
                    for (e, atomic) in pos.iter().zip(&t) {
                        if entry.0.insert((n, e.field.clone(), atomic.clone())) {
                            entry.1.push(enrichment(spec, d, &e.field, atomic));
                        }
                    }
                }
            }
        }
    }
    let mut found: Vec<_> = per_event.into_iter().collect();
    found.sort_by_key(|(i, _)| *i);
    for (i, (_, enrichments)) in found {
        out.push((i, json!({"threat": {"enrichments": enrichments}})));
    }
    Ok(out)
}

/// One `threat.enrichments` entry, as Elastic's indicator match writes it.
fn enrichment(spec: &ThreatMatch, indicator: &Event, field: &str, atomic: &str) -> J {
    let doc = indicator.to_json();
    let at = spec
        .threat_indicator_path
        .split('.')
        .fold(&doc, |cur, k| &cur[k]);
    let id = doc["_id"]
        .as_str()
        .map_or_else(|| indicator.origin.to_string(), str::to_string);
    let index = doc["_index"]
        .as_str()
        .or_else(|| indicator.get("data_stream.dataset").and_then(Value::as_str))
        .unwrap_or("threat-intel")
        .to_string();
    let mut e = json!({
        "indicator": at,
        "matched": {
            "atomic": atomic,
            "field": field,
            "id": id,
            "index": index,
            "type": "indicator_match_rule",
        },
    });
    if let Some(feed) = indicator.get("threat.feed.name").and_then(Value::as_str) {
        e["feed"] = json!({"name": feed});
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_rules::{ThreatMappingEntry, ThreatMappingGroup};

    fn spec(groups: &[&[(&str, &str, bool)]]) -> ThreatMatch {
        ThreatMatch {
            threat_query: "threat.indicator.type:*".into(),
            threat_language: Some("kuery".into()),
            threat_filters: vec![
                json!({"meta": {}, "query": {"match_phrase": {"event.kind": "enrichment"}}}),
            ],
            threat_mapping: groups
                .iter()
                .map(|g| ThreatMappingGroup {
                    entries: g
                        .iter()
                        .map(|(f, v, neg)| ThreatMappingEntry {
                            field: f.to_string(),
                            value: v.to_string(),
                            entry_type: "mapping".into(),
                            negate: *neg,
                        })
                        .collect(),
                })
                .collect(),
            threat_indicator_path: "threat.indicator".into(),
            threat_index: vec![],
        }
    }

    fn indicator(ip: &str, port: Option<i64>) -> Event {
        let mut d = Event::default();
        d.set("event.kind", "enrichment");
        d.set("threat.indicator.type", "ipv4-addr");
        d.set("threat.indicator.ip", ip);
        if let Some(p) = port {
            d.set("threat.indicator.port", p);
        }
        d.set("threat.feed.name", "AbuseCH Feodo");
        d
    }

    fn event(src: &str, dst: &str, port: i64) -> Event {
        let mut e = Event::default();
        e.set("source.ip", src);
        e.set("destination.ip", dst);
        e.set("destination.port", port);
        e
    }

    #[test]
    fn or_across_groups_and_within() {
        let intel = Indicators {
            docs: vec![indicator("203.0.113.9", Some(443)), {
                // not an indicator document: the filter leaves it out
                let mut d = indicator("198.51.100.7", None);
                d.set("event.kind", "event");
                d
            }],
        };
        let events = vec![
            event("10.0.0.5", "203.0.113.9", 443),
            event("203.0.113.9", "10.0.0.5", 51000),
            event("10.0.0.5", "198.51.100.7", 443),
            event("10.0.0.5", "203.0.113.10", 443),
        ];
        let s = spec(&[
            &[("source.ip", "threat.indicator.ip", false)],
            &[("destination.ip", "threat.indicator.ip", false)],
        ]);
        let m = matches(&s, &events, &intel).expect("runs");
        assert_eq!(m.iter().map(|x| x.0).collect::<Vec<_>>(), [0, 1]);
        let e = &m[0].1["threat"]["enrichments"][0];
        assert_eq!(e["matched"]["field"], "destination.ip");
        assert_eq!(e["matched"]["atomic"], "203.0.113.9");
        assert_eq!(e["matched"]["type"], "indicator_match_rule");
        assert_eq!(e["indicator"]["ip"], "203.0.113.9");
        assert_eq!(e["feed"]["name"], "AbuseCH Feodo");
        // AND within a group: the port must match too
        let both = spec(&[&[
            ("destination.ip", "threat.indicator.ip", false),
            ("destination.port", "threat.indicator.port", false),
        ]]);
        let m = matches(&both, &events, &intel).expect("runs");
        assert_eq!(m.iter().map(|x| x.0).collect::<Vec<_>>(), [0]);
        assert_eq!(
            m[0].1["threat"]["enrichments"].as_array().map(Vec::len),
            Some(2)
        );
        // a negated entry: the port must differ
        let neg = spec(&[&[
            ("destination.ip", "threat.indicator.ip", false),
            ("destination.port", "threat.indicator.port", true),
        ]]);
        assert!(matches(&neg, &events, &intel).expect("runs").is_empty());
    }

    #[test]
    fn threat_query_date_math_is_anchored_on_the_newest_indicator() {
        let mut old = indicator("203.0.113.9", None);
        old.set_timestamp(quarry_event::parse_timestamp("2024-01-01T00:00:00Z").expect("date"));
        let mut new = indicator("203.0.113.10", None);
        new.set_timestamp(quarry_event::parse_timestamp("2024-03-01T00:00:00Z").expect("date"));
        let intel = Indicators {
            docs: vec![old, new],
        };
        let mut s = spec(&[&[("destination.ip", "threat.indicator.ip", false)]]);
        s.threat_query = r#"@timestamp >= "now-30d/d" and threat.indicator.ip:*"#.into();
        let events = vec![
            event("10.0.0.5", "203.0.113.9", 443),
            event("10.0.0.5", "203.0.113.10", 443),
        ];
        let m = matches(&s, &events, &intel).expect("runs");
        assert_eq!(m.iter().map(|x| x.0).collect::<Vec<_>>(), [1]);
    }
}
