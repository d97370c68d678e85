//! `new_terms` rules: among the events a rule's query selects, alert on an
//! event whose values of `new_terms_fields` (a tuple, when several) were
//! not seen in the `history_window_start` before it (`now-7d`).
//!
//! Elastic decides "new" at each execution against the history window
//! before `now`; offline, `now` is each event's own time, so an event is
//! new when its tuple was last seen before `time - history` or never. The
//! history must be in the evidence: when the evidence starts later than
//! `time - history`, a tuple not seen may simply predate the collection, so
//! the event does not alert unless the user accepts partial history
//! ([`History::Partial`]). The evidence's start is its host's (state per
//! host, as lineage keeps it). Every alert says from when history was
//! available (`quarry.new_terms.history_from`). A multi-valued field gives
//! one tuple per combination of values, as Elastic's composite
//! aggregation does (at most [`MAX_TUPLES`] per event).

use quarry_event::{Event, format_timestamp};
use quarry_rules::NewTerms;
use serde_json::{Value as J, json};
use std::collections::HashMap;

/// Combinations of a multi-valued event's values considered, at most.
pub const MAX_TUPLES: usize = 64;

/// What to do when the evidence covers less history than a rule asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum History {
    /// Do not alert (a term may be old but older than the evidence).
    #[default]
    Full,
    /// Alert on what the evidence covers, and say so in the alert.
    Partial,
}

/// An event with a new tuple: its position and what the alert carries.
pub struct NewTerm {
    pub event: usize,
    pub extra: J,
}

/// The new terms among `events` (the rule's matches, in time order);
/// `evidence_from` says where the evidence of an event's host begins
/// (nanoseconds).
pub fn new_terms(
    spec: &NewTerms,
    events: &[Event],
    evidence_from: impl Fn(&Event) -> Option<i64>,
    history: History,
) -> Result<Vec<NewTerm>, String> {
    let mut last_seen: HashMap<String, i64> = HashMap::new();
    let mut out = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        let Some(t) = ev.timestamp else { continue };
        let history_start = quarry_alert::pivot::date_math(&spec.history_window_start, t, false)
            .map_err(|e| e.to_string())?;
        let evidence_from = evidence_from(ev);
        let covered = evidence_from.is_some_and(|from| from <= history_start);
        let mut new_tuple: Option<Vec<J>> = None;
        for tuple in tuples(ev, &spec.fields) {
            let key = J::Array(tuple.clone()).to_string();
            let seen = last_seen.insert(key, t);
            if seen.is_none_or(|s| s < history_start) && new_tuple.is_none() {
                new_tuple = Some(tuple);
            }
        }
        let Some(tuple) = new_tuple else { continue };
        if !covered && history == History::Full {
            continue;
        }
        let from = evidence_from.map_or(history_start, |f| f.max(history_start));
        out.push(NewTerm {
            event: i,
            extra: json!({
                "kibana": {"alert": {"new_terms": tuple}},
                "quarry": {"new_terms": {
                    "fields": spec.fields,
                    "history_window_start": spec.history_window_start,
                    "history_from": format_timestamp(from),
                    "history_complete": covered,
                }},
            }),
        });
    }
    Ok(out)
}

/// Every combination of the event's values of `fields` (none when a field
/// is missing), at most [`MAX_TUPLES`].
fn tuples(ev: &Event, fields: &[String]) -> Vec<Vec<J>> {
    let mut out: Vec<Vec<J>> = vec![Vec::new()];
    for f in fields {
        let values: Vec<J> = match ev.get(f) {
            Some(v) => v
                .iter()
                .filter(|x| !x.is_null())
                .map(|x| x.to_json())
                .collect(),
            None => Vec::new(),
        };
        if values.is_empty() {
            return Vec::new();
        }
        let mut next = Vec::with_capacity(out.len() * values.len());
        'combos: for prefix in &out {
            for v in &values {
                if next.len() == MAX_TUPLES {
                    break 'combos;
                }
                let mut t = prefix.clone();
                t.push(v.clone());
                next.push(t);
            }
        }
        out = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000_000;

    fn service(t_days: i64, name: &str) -> Event {
        let mut ev = Event::default();
        ev.set("host.id", "h1");
        ev.set("service.name", name);
        ev.set_timestamp(t_days * DAY);
        ev
    }

    fn spec() -> NewTerms {
        NewTerms {
            fields: vec!["host.id".into(), "service.name".into()],
            history_window_start: "now-7d".into(),
        }
    }

    #[test]
    fn the_first_sighting_after_a_full_history_alerts_once() {
        let events = vec![
            service(0, "spooler"),
            service(5, "spooler"),
            service(9, "evil"),
            service(10, "evil"),
            // last seen 12 days before: new again
            service(22, "evil"),
        ];
        let got = new_terms(&spec(), &events, |_| Some(0), History::Full).unwrap();
        let alerted: Vec<usize> = got.iter().map(|n| n.event).collect();
        // day 0: history would start at day -7, before the evidence
        assert_eq!(alerted, [2, 4]);
        assert_eq!(
            got[0].extra["kibana"]["alert"]["new_terms"],
            json!(["h1", "evil"])
        );
        assert_eq!(
            got[0].extra["quarry"]["new_terms"]["history_complete"],
            true
        );
    }

    #[test]
    fn short_evidence_alerts_only_when_partial_history_is_accepted() {
        let events = vec![service(0, "spooler"), service(1, "evil")];
        assert!(
            new_terms(&spec(), &events, |_| Some(0), History::Full)
                .unwrap()
                .is_empty()
        );
        let got = new_terms(&spec(), &events, |_| Some(0), History::Partial).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[1].extra["quarry"]["new_terms"]["history_complete"],
            false
        );
        assert_eq!(
            got[1].extra["quarry"]["new_terms"]["history_from"],
            format_timestamp(0)
        );
    }

    #[test]
    fn multi_valued_fields_give_each_combination() {
        let mut ev = service(9, "x");
        ev.set("service.name", vec!["a", "b"]);
        assert_eq!(tuples(&ev, &spec().fields).len(), 2);
        ev.remove("host.id");
        assert!(tuples(&ev, &spec().fields).is_empty());
    }
}
