//! Alert suppression (`[rule.alert_suppression]`), as Elastic applies it:
//! alerts of a rule with the same values of `group_by` are folded into the
//! first of them — within `duration` of it, or over the whole run without
//! one — and the kept alert says how many it stands for
//! (`kibana.alert.suppression.docs_count`) and over what time. A missing
//! field is a value of its own under `missing_fields_strategy = "suppress"`
//! (the default); under `doNotSuppress` such an alert stands alone.

use quarry_event::{Event, format_timestamp};
use quarry_rules::AlertSuppression;
use serde_json::{Value as J, json};
use std::collections::HashMap;

/// One kept alert: the position of its event, and what the alert carries.
pub struct Kept {
    pub index: usize,
    pub extra: J,
}

/// Folds `events` (one per alert, in time order); returns the alerts kept
/// and how many were suppressed.
pub fn suppress(spec: &AlertSuppression, events: &[&Event]) -> (Vec<Kept>, usize) {
    let window = spec.duration.as_ref().and_then(|d| d.nanos());
    let do_not_suppress_missing = spec.missing_fields_strategy.as_deref() == Some("doNotSuppress");
    // per group: the kept alert's position in `kept`, and its start time
    let mut open: HashMap<String, (usize, i64)> = HashMap::new();
    let mut kept: Vec<(Kept, Vec<J>, i64, i64, usize)> = Vec::new();
    let mut suppressed = 0;
    for (i, ev) in events.iter().enumerate() {
        let t = ev.timestamp.unwrap_or(0);
        let terms: Vec<J> = spec
            .group_by
            .iter()
            .map(|f| ev.get(f).map_or(J::Null, |v| v.to_json()))
            .collect();
        let missing = terms.iter().any(J::is_null);
        if !(missing && do_not_suppress_missing) {
            let key = J::Array(terms.clone()).to_string();
            if let Some(&(k, start)) = open.get(&key)
                && window.is_none_or(|w| t.saturating_sub(start) <= w)
            {
                let entry = &mut kept[k];
                entry.3 = entry.3.max(t);
                entry.4 += 1;
                suppressed += 1;
                continue;
            }
            open.insert(key, (kept.len(), t));
        }
        kept.push((
            Kept {
                index: i,
                extra: J::Null,
            },
            terms,
            t,
            t,
            1,
        ));
    }
    let out = kept
        .into_iter()
        .map(|(mut k, terms, start, end, count)| {
            k.extra = json!({"kibana": {"alert": {"suppression": {
                "terms": spec.group_by.iter().zip(terms)
                    .map(|(f, v)| json!({"field": f, "value": v}))
                    .collect::<Vec<_>>(),
                "start": format_timestamp(start),
                "end": format_timestamp(end),
                "docs_count": count - 1,
            }}}});
            k
        })
        .collect();
    (out, suppressed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_rules::SuppressionDuration;

    const MIN: i64 = 60_000_000_000;

    fn ev(t_min: i64, host: Option<&str>) -> Event {
        let mut e = Event::default();
        if let Some(h) = host {
            e.set("host.name", h);
        }
        e.set_timestamp(t_min * MIN);
        e
    }

    fn spec(duration_min: Option<i64>, missing: Option<&str>) -> AlertSuppression {
        AlertSuppression {
            group_by: vec!["host.name".into()],
            duration: duration_min.map(|v| SuppressionDuration {
                value: v,
                unit: "m".into(),
            }),
            missing_fields_strategy: missing.map(str::to_string),
        }
    }

    #[test]
    fn same_group_folds_within_the_duration() {
        let events = [
            ev(0, Some("a")),
            ev(1, Some("a")),
            ev(2, Some("b")),
            ev(20, Some("a")),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        let (kept, n) = suppress(&spec(Some(10), None), &refs);
        assert_eq!(n, 1);
        let idx: Vec<usize> = kept.iter().map(|k| k.index).collect();
        assert_eq!(idx, [0, 2, 3]);
        let s = &kept[0].extra["kibana"]["alert"]["suppression"];
        assert_eq!(s["docs_count"], 1);
        assert_eq!(s["end"], format_timestamp(MIN));
        // without a duration the whole run is one window
        let (kept, n) = suppress(&spec(None, None), &refs);
        assert_eq!((kept.len(), n), (2, 2));
    }

    #[test]
    fn missing_fields_follow_the_strategy() {
        let events = [ev(0, None), ev(1, None)];
        let refs: Vec<&Event> = events.iter().collect();
        assert_eq!(suppress(&spec(None, Some("suppress")), &refs).0.len(), 1);
        assert_eq!(
            suppress(&spec(None, Some("doNotSuppress")), &refs).0.len(),
            2
        );
    }
}
