//! `threshold` rules: the events a rule's query selects, grouped by the
//! values of `threshold.field`, raise one alert per group whenever at least
//! `threshold.value` of them (and, for each `cardinality` entry, that many
//! distinct values of its field) fall inside the rule's look-back window.
//!
//! Elastic runs such a rule every `interval` over the last `from` of data
//! and remembers, per group, the last event it alerted on, so a burst
//! alerts once. Offline there are no executions: windows slide over the
//! evidence's own time. A window opens at each event of a group; the first
//! that reaches the threshold raises the alert, which counts every event of
//! the group in the look-back from that window's first event; counting
//! resumes after the alerted window. Events missing a grouping field are
//! not counted (a terms aggregation leaves them out).

use quarry_event::Event;
use quarry_rules::{Rule, Threshold};
use serde_json::{Value as J, json};
use std::collections::{BTreeMap, HashMap};

/// Elastic's default look-back (`from = "now-6m"`).
const DEFAULT_WINDOW: &str = "now-6m";

/// One group that crossed the threshold: its events and Elastic's
/// `kibana.alert.threshold_result`.
pub struct Crossing {
    /// Positions (into the events given) of the window's events, in time order.
    pub events: Vec<usize>,
    pub result: J,
}

/// The look-back of `rule` in nanoseconds.
pub fn window_nanos(rule: &Rule) -> Result<i64, String> {
    let from = rule.from.as_deref().unwrap_or(DEFAULT_WINDOW);
    let start = quarry_alert::pivot::date_math(from, 0, false).map_err(|e| e.to_string())?;
    Ok(start.checked_neg().filter(|w| *w > 0).unwrap_or(0))
}

/// The crossings among `events` (the rule's matches, in time order).
pub fn crossings(spec: &Threshold, window: i64, events: &[Event]) -> Vec<Crossing> {
    // groups in first-seen order, so alerts come out in a stable order
    let mut groups: Vec<(Vec<J>, Vec<usize>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    'events: for (i, ev) in events.iter().enumerate() {
        let mut terms = Vec::with_capacity(spec.field.len());
        for f in &spec.field {
            match ev.get(f).filter(|v| !v.is_null()) {
                Some(v) => terms.push(v.to_json()),
                None => continue 'events,
            }
        }
        let key = J::Array(terms.clone()).to_string();
        let g = *index.entry(key).or_insert_with(|| {
            groups.push((terms, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(i);
    }
    let time = |i: usize| events[i].timestamp.unwrap_or(i64::MIN);
    let mut out = Vec::new();
    for (terms, members) in groups {
        let mut start = 0;
        while start < members.len() {
            let t0 = time(members[start]);
            let end = members[start..]
                .iter()
                .position(|&i| time(i).saturating_sub(t0) > window)
                .map_or(members.len(), |n| start + n);
            let in_window = &members[start..end];
            let cardinality = distinct(spec, events, in_window);
            let crossed = in_window.len() as u64 >= spec.value
                && spec
                    .cardinality
                    .iter()
                    .zip(&cardinality)
                    .all(|(c, n)| *n as u64 >= c.value);
            if !crossed {
                start += 1;
                continue;
            }
            let result = json!({
                "terms": spec.field.iter().zip(&terms)
                    .map(|(f, v)| json!({"field": f, "value": v}))
                    .collect::<Vec<_>>(),
                "count": in_window.len(),
                "from": quarry_event::format_timestamp(t0),
                "cardinality": spec.cardinality.iter().zip(&cardinality)
                    .map(|(c, n)| json!({"field": c.field, "value": n}))
                    .collect::<Vec<_>>(),
            });
            out.push(Crossing {
                events: in_window.to_vec(),
                result,
            });
            start = end;
        }
    }
    out
}

/// Distinct values of each cardinality field among `members`.
fn distinct(spec: &Threshold, events: &[Event], members: &[usize]) -> Vec<usize> {
    spec.cardinality
        .iter()
        .map(|c| {
            let mut seen: BTreeMap<String, ()> = BTreeMap::new();
            for &i in members {
                if let Some(v) = events[i].get(&c.field) {
                    for x in v.iter().filter(|x| !x.is_null()) {
                        seen.insert(x.to_json().to_string(), ());
                    }
                }
            }
            seen.len()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_rules::Cardinality;

    const MIN: i64 = 60_000_000_000;

    fn logon(t_min: i64, ip: &str, user: &str) -> Event {
        let mut ev = Event::default();
        ev.set("source.ip", ip);
        ev.set("user.name", user);
        ev.set_timestamp(t_min * MIN);
        ev
    }

    fn spec(value: u64, cardinality: Vec<Cardinality>) -> Threshold {
        Threshold {
            field: vec!["source.ip".into()],
            value,
            cardinality,
        }
    }

    #[test]
    fn a_burst_crosses_and_a_thin_spread_does_not() {
        let mut events: Vec<Event> = (0..5).map(|i| logon(i, "10.0.0.1", "a")).collect();
        // the same count, one every 10 minutes: never 5 within 9 minutes
        events.extend((0..5).map(|i| logon(100 + 10 * i, "10.0.0.2", "a")));
        // missing the grouping field: not counted
        let mut no_ip = logon(1, "x", "a");
        no_ip.remove("source.ip");
        events.push(no_ip);
        events.sort_by_key(|e| e.timestamp);
        let got = crossings(&spec(5, vec![]), 9 * MIN, &events);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].result["terms"][0]["value"], "10.0.0.1");
        assert_eq!(got[0].result["count"], 5);
        assert_eq!(got[0].events.len(), 5);
    }

    #[test]
    fn a_burst_alerts_once_and_counting_resumes_after_it() {
        let events: Vec<Event> = (0..12).map(|i| logon(i, "10.0.0.1", "a")).collect();
        let got = crossings(&spec(3, vec![]), 5 * MIN, &events);
        // windows [0,5] (6 events) and [6,11] (6 events)
        let counts: Vec<&J> = got.iter().map(|c| &c.result["count"]).collect();
        assert_eq!(counts, [6, 6]);
    }

    #[test]
    fn cardinality_counts_distinct_values() {
        let events: Vec<Event> = (0..6)
            .map(|i| logon(i, "10.0.0.1", if i < 4 { "a" } else { "b" }))
            .collect();
        let two_users = vec![Cardinality {
            field: "user.name".into(),
            value: 2,
        }];
        assert_eq!(crossings(&spec(1, two_users), 10 * MIN, &events).len(), 1);
        let three_users = vec![Cardinality {
            field: "user.name".into(),
            value: 3,
        }];
        assert!(crossings(&spec(1, three_users), 10 * MIN, &events).is_empty());
    }

    #[test]
    fn no_grouping_field_is_one_group() {
        let events: Vec<Event> = (0..3)
            .map(|i| logon(i, &format!("10.0.0.{i}"), "a"))
            .collect();
        let spec = Threshold {
            field: vec![],
            value: 3,
            cardinality: vec![],
        };
        let got = crossings(&spec, 5 * MIN, &events);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].result["terms"], json!([]));
    }
}
