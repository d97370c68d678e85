//! `[[transform.investigate]]` pivots, evaluated offline.
//!
//! A rule's investigation guide names timeline queries ("file and registry
//! events for the same child process"): groups of providers, AND within a
//! group and OR across groups, whose values may be `{{field}}` templates
//! filled from the alert, over a relative time window. Kibana runs them
//! against Elasticsearch when an analyst clicks; quarry runs them against
//! the evidence it read and puts the answer in the alert.
//!
//! Templates are filled as Kibana's `replaceParamsQuery` does (the first
//! value of the alert's field; a template that cannot be filled leaves the
//! group unrunnable). One deliberate difference: a `host.id` template on an
//! alert from a source without host ids (Sysmon, Security) is answered by the
//! alert's own host partition, and the pivot says so. The window's `now` is
//! the alert's time, not the wall clock: evidence is from the past.

use quarry_event::entity_eq;
use quarry_event::{Event, Value, format_timestamp};
use quarry_event::{FieldId, find_field};
use quarry_rules::{Investigate, Provider};
use serde_json::{Value as J, json};

/// One provider with its template filled.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub field: String,
    pub op: TermOp,
    pub excluded: bool,
    /// The field's id when it was known as the pivot was filled (ids never
    /// change): looked up once, not per event.
    pub id: Option<FieldId>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TermOp {
    /// `phrase`: the field has this value.
    Is(String),
    /// `phrases`: the field has one of these values.
    OneOf(Vec<String>),
    /// `exists`.
    Exists,
    /// `range`: `gte` ≤ value < `lt` (numbers).
    Range(Option<f64>, Option<f64>),
    /// The host partition of the alert (a `host.id` template the alert could
    /// not fill).
    SameHost,
}

/// A pivot ready to run: groups of terms (OR of ANDs) and a window.
#[derive(Debug, Clone)]
pub struct Pivot {
    pub label: String,
    /// The groups that could be filled from the alert.
    pub groups: Vec<Vec<Term>>,
    /// Why groups were left out (a template the alert could not fill, an
    /// unsupported query type).
    pub notes: Vec<String>,
    /// `[from, to]` in nanoseconds, when the alert has a time.
    pub window: Option<(i64, i64)>,
    /// True when every runnable group is confined to the alert's host.
    pub host_scoped: bool,
}

impl Pivot {
    /// Fills an investigate entry from the alert's fields (`field` → values).
    pub fn fill(
        inv: &Investigate,
        alert: &dyn Fn(&str) -> Option<String>,
        time: Option<i64>,
    ) -> Pivot {
        let mut groups = Vec::new();
        let mut notes = Vec::new();
        'groups: for group in &inv.providers {
            let mut terms = Vec::new();
            for p in group {
                match term(p, alert) {
                    Ok(t) => terms.push(t),
                    Err(why) => {
                        if !notes.contains(&why) {
                            notes.push(why);
                        }
                        continue 'groups;
                    }
                }
            }
            groups.push(terms);
        }
        let window = time.and_then(|t| {
            let from = inv.relative_from.as_deref().unwrap_or("now-15m");
            let to = inv.relative_to.as_deref().unwrap_or("now");
            match (date_math(from, t, false), date_math(to, t, true)) {
                (Ok(f), Ok(to)) => Some((f, to)),
                (Err(e), _) | (_, Err(e)) => {
                    notes.push(e.to_string());
                    None
                }
            }
        });
        let host_scoped = !groups.is_empty()
            && groups.iter().all(|g| {
                g.iter().any(|t| {
                    !t.excluded
                        && (matches!(t.op, TermOp::SameHost)
                            || (t.field == "host.id" || t.field == "host.name")
                                && matches!(t.op, TermOp::Is(_)))
                })
            });
        Pivot {
            label: inv.label.clone(),
            groups,
            notes,
            window,
            host_scoped,
        }
    }

    /// Does the event answer the pivot? `same_host` says whether the event
    /// is on the alert's host.
    pub fn matches(&self, ev: &Event, same_host: bool) -> bool {
        self.in_window(ev) == Some(true) && self.matches_terms(ev, same_host)
    }

    /// Whether the event's time is in the window: `None` when it falls
    /// after it (follow-on activity that a live `now` would have reached),
    /// `Some(false)` when before it or timeless.
    pub fn in_window(&self, ev: &Event) -> Option<bool> {
        match (self.window, ev.timestamp) {
            (None, _) => Some(true),
            (Some((from, to)), Some(t)) if t >= from && t <= to => Some(true),
            (Some((_, to)), Some(t)) if t > to => None,
            _ => Some(false),
        }
    }

    /// Does the event answer the pivot's groups, whatever its time?
    pub fn matches_terms(&self, ev: &Event, same_host: bool) -> bool {
        self.groups
            .iter()
            .any(|g| g.iter().all(|t| t.matches(ev, same_host) != t.excluded))
    }

    /// The pivot as KQL, the way the timeline shows it.
    pub fn kql(&self) -> String {
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|g| {
                let terms: Vec<String> = g.iter().map(Term::kql).collect();
                terms.join(" and ")
            })
            .collect();
        if groups.len() > 1 {
            groups
                .iter()
                .map(|g| format!("({g})"))
                .collect::<Vec<_>>()
                .join(" or ")
        } else {
            groups.join("")
        }
    }

    /// The pivot's description in an alert: label, query, window, notes.
    pub fn to_json(&self) -> J {
        let mut m = json!({"label": self.label, "query": self.kql()});
        if let Some((from, to)) = self.window {
            m["from"] = J::String(format_timestamp(from));
            m["to"] = J::String(format_timestamp(to));
        }
        if !self.notes.is_empty() {
            m["notes"] = json!(self.notes);
        }
        if self.groups.is_empty() {
            m["runnable"] = J::Bool(false);
        }
        m
    }
}

impl Term {
    fn matches(&self, ev: &Event, same_host: bool) -> bool {
        let entity = self.field.ends_with("entity_id");
        let eq = |v: &Value, want: &str| match v {
            // most values are strings: compared without a copy
            Value::Str(s) if entity => entity_eq(s, want),
            Value::Str(s) => s == want,
            _ => v.to_text().is_some_and(|s| {
                if entity {
                    entity_eq(&s, want)
                } else {
                    s == want
                }
            }),
        };
        if matches!(self.op, TermOp::SameHost) {
            return same_host;
        }
        let value = match self.id {
            Some(id) => ev.get_id(id),
            None => ev.get(&self.field),
        };
        match &self.op {
            TermOp::SameHost => same_host,
            TermOp::Exists => value.is_some_and(|v| !v.is_null()),
            TermOp::Is(want) => value.is_some_and(|v| v.iter().any(|x| eq(x, want))),
            TermOp::OneOf(wants) => {
                value.is_some_and(|v| v.iter().any(|x| wants.iter().any(|w| eq(x, w))))
            }
            TermOp::Range(gte, lt) => value.is_some_and(|v| {
                v.iter().any(|x| {
                    x.as_f64()
                        .is_some_and(|n| gte.is_none_or(|g| n >= g) && lt.is_none_or(|l| n < l))
                })
            }),
        }
    }

    fn kql(&self) -> String {
        let not = if self.excluded { "not " } else { "" };
        match &self.op {
            TermOp::Is(v) => format!("{not}{}: {}", self.field, quote(v)),
            TermOp::OneOf(vs) => format!(
                "{not}{}: ({})",
                self.field,
                vs.iter().map(|v| quote(v)).collect::<Vec<_>>().join(" or ")
            ),
            TermOp::Exists => format!("{not}{}: *", self.field),
            TermOp::Range(g, l) => {
                let mut parts = Vec::new();
                if let Some(g) = g {
                    parts.push(format!("{} >= {g}", self.field));
                }
                if let Some(l) = l {
                    parts.push(format!("{} < {l}", self.field));
                }
                format!("{not}({})", parts.join(" and "))
            }
            TermOp::SameHost => format!("{not}host.id: <the alert's host>"),
        }
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Fills `{{field}}` templates in a provider's value.
fn fill(value: &str, alert: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let field = rest[start + 2..start + 2 + len].trim();
        out.push_str(&rest[..start]);
        match alert(field) {
            Some(v) => out.push_str(&v),
            None => return Err(field.to_string()),
        }
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn term(p: &Provider, alert: &dyn Fn(&str) -> Option<String>) -> Result<Term, String> {
    let value = match fill(&p.value, alert) {
        Ok(v) => v,
        Err(field) if p.field == "host.id" && field == "host.id" => {
            return Ok(Term {
                field: p.field.clone(),
                op: TermOp::SameHost,
                excluded: p.excluded,
                id: None,
            });
        }
        Err(field) => return Err(format!("the alert has no {field}")),
    };
    let op = match p.query_type.as_str() {
        "phrase" => TermOp::Is(value),
        "phrases" => match serde_json::from_str::<Vec<J>>(&value) {
            Ok(vs) => TermOp::OneOf(
                vs.iter()
                    .map(|v| match v {
                        J::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect(),
            ),
            Err(_) => return Err(format!("{}: phrases value is not a JSON list", p.field)),
        },
        "exists" => TermOp::Exists,
        "range" => match serde_json::from_str::<J>(&value) {
            Ok(r) => TermOp::Range(r["gte"].as_f64(), r["lt"].as_f64()),
            Err(_) => return Err(format!("{}: range value is not JSON", p.field)),
        },
        other => {
            return Err(format!(
                "{}: query type {other:?} is not supported",
                p.field
            ));
        }
    };
    Ok(Term {
        field: p.field.clone(),
        op,
        excluded: p.excluded,
        id: find_field(&p.field),
    })
}

/// A time that is not the Kibana date math quarry evaluates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time {0:?}: expected now, now-<n><s|m|h|d|w>, optionally /<unit>")]
pub struct DateMathError(pub String);

/// Evaluates Kibana date math (`now`, `now-1h`, `now-48h/h`, `now-7d/d`)
/// with `now` at `anchor` (nanoseconds). `round_up` rounds to the end of the
/// unit, as Kibana does for the end of a range.
pub fn date_math(expr: &str, anchor: i64, round_up: bool) -> Result<i64, DateMathError> {
    let bad = || DateMathError(expr.to_string());
    let rest = expr.trim().strip_prefix("now").ok_or_else(bad)?;
    let (offset, round) = match rest.split_once('/') {
        Some((o, r)) => (o, Some(r)),
        None => (rest, None),
    };
    let mut t = anchor;
    if !offset.is_empty() {
        let (sign, body) = match offset.as_bytes()[0] {
            b'-' => (-1i64, &offset[1..]),
            b'+' => (1, &offset[1..]),
            _ => return Err(bad()),
        };
        let split = body.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let n: i64 = body[..split].parse().map_err(|_| bad())?;
        let unit = unit_nanos(&body[split..]).ok_or_else(bad)?;
        t = n
            .checked_mul(unit)
            .and_then(|d| t.checked_add(sign * d))
            .ok_or_else(bad)?;
    }
    if let Some(r) = round {
        let unit = unit_nanos(r).ok_or_else(bad)?;
        let down = t.div_euclid(unit) * unit;
        t = if round_up { down + unit - 1 } else { down };
    }
    Ok(t)
}

fn unit_nanos(u: &str) -> Option<i64> {
    const S: i64 = 1_000_000_000;
    Some(match u {
        "s" => S,
        "m" => 60 * S,
        "h" | "H" => 3600 * S,
        "d" => 86_400 * S,
        "w" => 7 * 86_400 * S,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_event::{Origin, parse_timestamp};

    fn prov(field: &str, value: &str) -> Provider {
        Provider {
            excluded: false,
            field: field.into(),
            query_type: "phrase".into(),
            value: value.into(),
            value_type: "string".into(),
        }
    }

    fn inv(providers: Vec<Vec<Provider>>, from: &str) -> Investigate {
        Investigate {
            label: "l".into(),
            description: String::new(),
            providers,
            relative_from: Some(from.into()),
            relative_to: Some("now".into()),
        }
    }

    fn ts(s: &str) -> i64 {
        parse_timestamp(s).unwrap()
    }

    #[test]
    fn date_math_anchors_at_the_alert() {
        let t = ts("2026-11-02T09:20:30.500Z");
        assert_eq!(date_math("now", t, false), Ok(t));
        assert_eq!(
            date_math("now-1h", t, false),
            Ok(ts("2026-11-02T08:20:30.500Z"))
        );
        assert_eq!(
            date_math("now-48h/h", t, false),
            Ok(ts("2026-10-31T09:00:00Z"))
        );
        assert_eq!(
            date_math("now-7d/d", t, false),
            Ok(ts("2026-10-26T00:00:00Z"))
        );
        assert_eq!(
            date_math("now/d", t, true),
            Ok(ts("2026-11-03T00:00:00Z") - 1)
        );
        assert!(date_math("yesterday", t, false).is_err());
        assert!(date_math("now-1M", t, false).is_err());
        assert!(date_math("now-", t, false).is_err());
        assert!(date_math("now-99999999999999d", t, false).is_err());
    }

    #[test]
    fn templates_fill_from_the_alert_and_groups_or() {
        let alert = |f: &str| match f {
            "host.id" => Some("H1".to_string()),
            "process.entity_id" => Some("{ABC}".to_string()),
            _ => None,
        };
        let t = ts("2026-11-02T09:20:00Z");
        let p = Pivot::fill(
            &inv(
                vec![
                    vec![
                        prov("event.category", "file"),
                        prov("host.id", "{{host.id}}"),
                        prov("process.entity_id", "{{process.entity_id}}"),
                    ],
                    vec![
                        prov("event.category", "registry"),
                        prov("host.id", "{{host.id}}"),
                        prov("process.entity_id", "{{process.entity_id}}"),
                    ],
                    vec![prov(
                        "process.parent.entity_id",
                        "{{process.parent.entity_id}}",
                    )],
                ],
                "now-1h",
            ),
            &alert,
            Some(t),
        );
        assert_eq!(p.groups.len(), 2, "the third group cannot be filled");
        assert_eq!(p.notes, vec!["the alert has no process.parent.entity_id"]);
        assert!(p.host_scoped);
        assert_eq!(
            p.kql(),
            r#"(event.category: "file" and host.id: "H1" and process.entity_id: "{ABC}") or (event.category: "registry" and host.id: "H1" and process.entity_id: "{ABC}")"#
        );
        let mut ev = Event::new(Origin::default());
        ev.set("event.category", vec!["registry"]);
        ev.set("host.id", "H1");
        ev.set("process.entity_id", "abc"); // another rendering of the same GUID
        ev.set_timestamp(t - 60_000_000_000);
        assert!(p.matches(&ev, true));
        ev.set_timestamp(t + 1);
        assert!(!p.matches(&ev, true), "after the window");
        ev.set_timestamp(t - 2 * 3_600_000_000_000);
        assert!(!p.matches(&ev, true), "before the window");
        ev.set_timestamp(t);
        ev.set("event.category", vec!["network"]);
        assert!(!p.matches(&ev, true));
    }

    #[test]
    fn missing_host_id_scopes_to_the_alerts_host() {
        let alert = |f: &str| (f == "process.entity_id").then(|| "X".to_string());
        let p = Pivot::fill(
            &inv(
                vec![vec![
                    prov("host.id", "{{host.id}}"),
                    prov("process.entity_id", "{{process.entity_id}}"),
                ]],
                "now-1h",
            ),
            &alert,
            Some(0),
        );
        assert!(p.notes.is_empty());
        assert!(p.host_scoped);
        let mut ev = Event::new(Origin::default());
        ev.set("process.entity_id", "X");
        ev.set_timestamp(0);
        assert!(p.matches(&ev, true));
        assert!(!p.matches(&ev, false));
    }

    #[test]
    fn excluded_phrases_exists_and_unsupported_types() {
        let alert = |_: &str| None;
        let mut not_signal = prov("event.kind", "signal");
        not_signal.excluded = true;
        let mut phrases = prov("event.code", r#"["4624","4625"]"#);
        phrases.query_type = "phrases".into();
        let mut exists = prov("user.id", "");
        exists.query_type = "exists".into();
        let mut odd = prov("x", "y");
        odd.query_type = "wildcard".into();
        let p = Pivot::fill(
            &inv(vec![vec![not_signal, phrases, exists], vec![odd]], "now-1h"),
            &alert,
            None,
        );
        assert_eq!(p.groups.len(), 1);
        assert_eq!(
            p.notes,
            vec![r#"x: query type "wildcard" is not supported"#]
        );
        assert!(!p.host_scoped);
        let mut ev = Event::new(Origin::default());
        ev.set("event.code", 4625);
        ev.set("user.id", "S-1-5-18");
        assert!(p.matches(&ev, false), "no window without an alert time");
        ev.set("event.kind", "signal");
        assert!(!p.matches(&ev, false));
        assert_eq!(
            p.kql(),
            r#"not event.kind: "signal" and event.code: ("4624" or "4625") and user.id: *"#
        );
    }
}
