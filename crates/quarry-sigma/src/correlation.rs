//! Correlation rules (spec 2.x): `event_count`, `value_count`, `temporal`
//! and `temporal_ordered` over the matches of the rules they name, grouped
//! by `group-by` fields within `timespan`.
//!
//! A correlation is not an event query: it runs over the events its base
//! rules matched, in time order ([`Correlation::run`]). Group-by fields
//! are Sigma names, read from each event through the field table of the
//! target the base rule reads it with (an alias gives each rule its own
//! field). A group fires once its condition holds within the timespan;
//! its window then starts afresh, so one burst gives one alert.

use crate::error::{ErrorKind, SigmaError};
use crate::rule::{RuleBody, SigmaRule};
use crate::{Compiled, fields};
use quarry_event::Event;
use std::collections::{HashMap, VecDeque};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

/// A compiled correlation: which base rules, how grouped, the window and
/// the condition.
#[derive(Debug, Clone)]
pub struct Correlation {
    pub kind: Kind,
    /// Indices into the base rules given to [`Correlation::compile`], in
    /// the order the correlation names them.
    pub members: Vec<usize>,
    group_by: Vec<String>,
    /// Per alias: (member position, field) overrides.
    aliases: HashMap<String, Vec<(usize, String)>>,
    timespan_ns: i64,
    conds: Vec<(Op, f64)>,
    field: Option<String>,
}

/// A match in a group's window: time, member position, the
/// `value_count` field's value, event index.
type Entry = (i64, usize, Option<String>, usize);

/// One firing: the group's values and the events (indices into the input)
/// that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub group: Vec<Option<String>>,
    pub events: Vec<usize>,
}

/// `30s`, `5m`, `1h`, `2d` → nanoseconds.
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 7 * 86400,
        _ => return None,
    };
    n.checked_mul(secs)?.checked_mul(1_000_000_000)
}

impl Correlation {
    /// Compiles a correlation rule against the base rules (by `id` or
    /// `name`), given with their compiled forms.
    pub fn compile(rule: &SigmaRule, base: &[(&SigmaRule, &Compiled)]) -> Result<Self, SigmaError> {
        let err =
            |m: String| SigmaError::new(ErrorKind::Correlation, m).at(&rule.path, rule.line, 0);
        let RuleBody::Correlation(c) = &rule.body else {
            return Err(err("not a correlation rule".into()));
        };
        let kind = match c.kind.as_str() {
            "event_count" => Kind::EventCount,
            "value_count" => Kind::ValueCount,
            "temporal" => Kind::Temporal,
            _ => Kind::TemporalOrdered,
        };
        let mut members = Vec::new();
        for name in &c.rules {
            let i = base
                .iter()
                .position(|(r, _)| r.id.as_ref() == Some(name) || r.name.as_ref() == Some(name))
                .ok_or_else(|| {
                    err(format!(
                        "correlation names rule `{name}`, which did not compile or load"
                    ))
                })?;
            members.push(i);
        }
        if members.is_empty() {
            return Err(err("correlation names no rules".into()));
        }
        let timespan_ns = match &c.timespan {
            Some(t) => parse_timespan(t).ok_or_else(|| err(format!("bad timespan `{t}`")))?,
            None => return Err(err("correlation without `timespan`".into())),
        };
        let mut conds = Vec::new();
        let mut field = None;
        for (k, v) in &c.condition {
            let op = match k.as_str() {
                "gt" => Op::Gt,
                "gte" => Op::Gte,
                "lt" => Op::Lt,
                "lte" => Op::Lte,
                "eq" => Op::Eq,
                "neq" => Op::Neq,
                "field" => {
                    field = Some(v.clone());
                    continue;
                }
                other => return Err(err(format!("unknown correlation condition `{other}`"))),
            };
            let n: f64 = v
                .parse()
                .map_err(|_| err(format!("condition `{k}` needs a number, found `{v}`")))?;
            conds.push((op, n));
        }
        match kind {
            Kind::EventCount | Kind::ValueCount if conds.is_empty() => {
                return Err(err(format!("{} needs a condition", c.kind)));
            }
            Kind::ValueCount if field.is_none() => {
                return Err(err("value_count needs `condition: field:`".into()));
            }
            _ => {}
        }
        let mut aliases: HashMap<String, Vec<(usize, String)>> = HashMap::new();
        for (alias, per) in &c.aliases {
            for (rname, f) in per {
                if let Some(pos) = c.rules.iter().position(|n| n == rname) {
                    aliases
                        .entry(alias.clone())
                        .or_default()
                        .push((pos, f.clone()));
                }
            }
        }
        Ok(Correlation {
            kind,
            members,
            group_by: c.group_by.clone(),
            aliases,
            timespan_ns,
            conds,
            field,
        })
    }

    fn holds(&self, n: f64) -> bool {
        self.conds.iter().all(|(op, v)| match op {
            Op::Gt => n > *v,
            Op::Gte => n >= *v,
            Op::Lt => n < *v,
            Op::Lte => n <= *v,
            Op::Eq => n == *v,
            Op::Neq => n != *v,
        })
    }

    /// A Sigma field of an event matched by member `pos`, read through the
    /// first of the rule's targets whose path the event holds.
    fn read(&self, field: &str, pos: usize, compiled: &Compiled, ev: &Event) -> Option<String> {
        let name = self
            .aliases
            .get(field)
            .and_then(|per| per.iter().find(|(p, _)| *p == pos))
            .map_or(field, |(_, f)| f.as_str());
        compiled.target_list.iter().find_map(|t| {
            let path = fields::map(t, name).ok()?;
            ev.get(&path)
                .and_then(|v| v.to_text())
                .map(|s| s.into_owned())
        })
    }

    /// Runs over events (any order; they are ordered by timestamp here):
    /// each is tested against the member rules, and groups fire as their
    /// condition holds. `base` is the slice given to
    /// [`Correlation::compile`].
    pub fn run(&self, base: &[(&SigmaRule, &Compiled)], events: &[Event]) -> Vec<Hit> {
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by_key(|&i| events[i].timestamp.unwrap_or(i64::MIN));
        // per group: the matches in the window, as (time, member position, value, event)
        let mut windows: HashMap<Vec<Option<String>>, VecDeque<Entry>> = HashMap::new();
        let mut hits = Vec::new();
        for i in order {
            let ev = &events[i];
            let ts = ev.timestamp.unwrap_or(i64::MIN);
            for (pos, &m) in self.members.iter().enumerate() {
                let compiled = base[m].1;
                if !compiled.query.matches(ev) {
                    continue;
                }
                let group: Vec<Option<String>> = self
                    .group_by
                    .iter()
                    .map(|g| self.read(g, pos, compiled, ev))
                    .collect();
                let value = self
                    .field
                    .as_deref()
                    .and_then(|f| self.read(f, pos, compiled, ev));
                let w = windows.entry(group.clone()).or_default();
                w.push_back((ts, pos, value, i));
                while w
                    .front()
                    .is_some_and(|(t, ..)| ts.saturating_sub(*t) > self.timespan_ns)
                {
                    w.pop_front();
                }
                if let Some(evs) = self.fires(w) {
                    hits.push(Hit { group, events: evs });
                    w.clear();
                }
            }
        }
        hits
    }

    /// Does the window satisfy the correlation? The events that do.
    fn fires(&self, w: &VecDeque<Entry>) -> Option<Vec<usize>> {
        let all: Vec<usize> = w.iter().map(|x| x.3).collect();
        match self.kind {
            Kind::EventCount => self.holds(w.len() as f64).then_some(all),
            Kind::ValueCount => {
                let mut vals: Vec<&str> = w.iter().filter_map(|x| x.2.as_deref()).collect();
                vals.sort_unstable();
                vals.dedup();
                self.holds(vals.len() as f64).then_some(all)
            }
            Kind::Temporal => {
                let mut seen = vec![false; self.members.len()];
                for x in w {
                    seen[x.1] = true;
                }
                let n = seen.iter().filter(|s| **s).count();
                let ok = if self.conds.is_empty() {
                    n == self.members.len()
                } else {
                    self.holds(n as f64)
                };
                ok.then_some(all)
            }
            Kind::TemporalOrdered => {
                // the members in the order named, each after the previous
                let mut next = 0;
                let mut evs = Vec::new();
                for x in w {
                    if x.1 == next {
                        evs.push(x.3);
                        next += 1;
                        if next == self.members.len() {
                            return Some(evs);
                        }
                    }
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn load(text: &str) -> Vec<SigmaRule> {
        crate::load_str(Path::new("c.yml"), text)
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("loads")
    }

    fn logon(ts_s: i64, user: &str, ip: &str) -> Event {
        let mut e = Event::default();
        e.set("winlog.channel", "Security");
        e.set("winlog.event_id", "4625");
        e.set("winlog.event_data.TargetUserName", user);
        e.set("winlog.event_data.IpAddress", ip);
        e.set_timestamp(ts_s * 1_000_000_000);
        e
    }

    const BASE: &str = "title: failed logon\nname: failed_logon\nlogsource: {product: windows, service: security}\ndetection:\n    sel:\n        EventID: 4625\n    condition: sel\n";

    fn run(corr: &str, events: &[Event]) -> Vec<Hit> {
        let rules = load(&format!("{BASE}---\n{corr}"));
        let compiled = crate::compile(&rules[0]).expect("base compiles");
        let base = [(&rules[0], &compiled)];
        let c = Correlation::compile(&rules[1], &base).expect("correlation compiles");
        c.run(&base, events)
    }

    #[test]
    fn event_count_per_group_within_timespan() {
        let corr = "title: many\ncorrelation:\n    type: event_count\n    rules: [failed_logon]\n    group-by: [TargetUserName]\n    timespan: 1m\n    condition:\n        gte: 3\n";
        let evs = vec![
            logon(0, "bob", "1.1.1.1"),
            logon(10, "alice", "1.1.1.1"),
            logon(20, "bob", "1.1.1.1"),
            logon(100, "bob", "1.1.1.1"),
            logon(110, "bob", "1.1.1.1"),
            logon(120, "bob", "1.1.1.1"),
        ];
        let hits = run(corr, &evs);
        // 0, 20 and 100 are not within one minute; 100, 110, 120 are
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].group, [Some("bob".to_string())]);
        assert_eq!(hits[0].events, [3, 4, 5]);
    }

    #[test]
    fn value_count_and_temporal_ordered() {
        let corr = "title: spray\ncorrelation:\n    type: value_count\n    rules: [failed_logon]\n    group-by: [IpAddress]\n    timespan: 5m\n    condition:\n        field: TargetUserName\n        gte: 3\n";
        let evs = vec![
            logon(0, "a", "9.9.9.9"),
            logon(1, "a", "9.9.9.9"),
            logon(2, "b", "9.9.9.9"),
            logon(3, "c", "9.9.9.9"),
        ];
        let hits = run(corr, &evs);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].group, [Some("9.9.9.9".to_string())]);

        let text = format!(
            "{BASE}---\ntitle: ok logon\nname: ok_logon\nlogsource: {{product: windows, service: security}}\ndetection:\n    sel:\n        EventID: 4624\n    condition: sel\n---\ntitle: brute then success\ncorrelation:\n    type: temporal_ordered\n    rules: [failed_logon, ok_logon]\n    group-by: [TargetUserName]\n    timespan: 10m\n"
        );
        let rules = load(&text);
        let c0 = crate::compile(&rules[0]).expect("compiles");
        let c1 = crate::compile(&rules[1]).expect("compiles");
        let base = [(&rules[0], &c0), (&rules[1], &c1)];
        let corr = Correlation::compile(&rules[2], &base).expect("compiles");
        let mut ok = logon(50, "bob", "x");
        ok.set("winlog.event_id", "4624");
        let mut early_ok = logon(5, "eve", "x");
        early_ok.set("winlog.event_id", "4624");
        let evs = vec![early_ok, logon(10, "eve", "x"), logon(20, "bob", "x"), ok];
        let hits = corr.run(&base, &evs);
        // eve's success came before her failure: only bob's fires
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].group, [Some("bob".to_string())]);
        assert_eq!(hits[0].events, [2, 3]);
        assert_eq!(parse_timespan("90s"), Some(90_000_000_000));
        assert_eq!(parse_timespan("5x"), None);
    }
}
