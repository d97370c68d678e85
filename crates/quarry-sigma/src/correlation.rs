//! Correlation rules (spec 2.x): `event_count`, `value_count`, `temporal`
//! and `temporal_ordered` over the matches of the rules they name, grouped
//! by `group-by` fields within `timespan`.
//!
//! A correlation is not an event query: it runs over what its rules
//! matched ([`Correlation::run`]), each match given with the compiled rule
//! that matched it. Which rules a name or id refers to, across files and
//! through other correlations, is the caller's to resolve
//! ([`refers_to`]): a correlation only knows the members' positions in
//! its `rules:` list. Group-by fields are Sigma names, read from each
//! event through the field table of the target its rule reads it with (an
//! alias gives each rule its own field); an event missing one is not
//! counted, as a SIEM's grouping leaves it out.
//!
//! Windows. With a condition that only grows true (`gt`, `gte`, and the
//! temporal types), a window opens at each event of a group and spans
//! `timespan`; the first that holds fires, and counting resumes after it,
//! so one burst gives one alert. Counts fire with the whole window (its
//! size is the burst's); temporal types with the window up to the event
//! that completes them. A condition with an upper bound (`lt`, `lte`,
//! `eq`, `neq`) can only be judged once a window is over: windows then
//! follow one another from each group's first event, each judged whole.

use crate::error::{ErrorKind, SigmaError};
use crate::rule::{RuleBody, SigmaRule};
use crate::{Compiled, fields};
use quarry_event::Event;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::EventCount => "event_count",
            Kind::ValueCount => "value_count",
            Kind::Temporal => "temporal",
            Kind::TemporalOrdered => "temporal_ordered",
        }
    }
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

/// At most this many of a firing's events are kept (the first ones and
/// the last): a burst of thousands is shown by a sample and its count.
pub const SAMPLE: usize = 10;

/// A compiled correlation: its members (by position in `rules:`), how
/// grouped, the window and the condition.
#[derive(Debug, Clone)]
pub struct Correlation {
    pub kind: Kind,
    /// The rules it names, by id or name, as written.
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    /// Whether the rules it names also alert on their own.
    pub generate: bool,
    /// Per alias: (member position, field) overrides.
    aliases: HashMap<String, Vec<(usize, String)>>,
    pub timespan_ns: i64,
    conds: Vec<(Op, f64)>,
    /// `value_count`'s field(s).
    field: Vec<String>,
}

/// One event a member matched: which member (its position in the
/// correlation's `rules:`), the compiled rule whose fields it is read
/// with, and the event.
#[derive(Debug, Clone, Copy)]
pub struct Match<'a> {
    pub member: usize,
    pub fields: &'a Compiled,
    pub event: &'a Event,
}

/// One firing: the group's (field, value) pairs, how many matches made it
/// (and for `value_count` how many distinct values), and a sample of them
/// (positions into the matches given, in time order; the last is the
/// firing's last event).
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub group: Vec<(String, String)>,
    pub count: usize,
    pub values: Option<usize>,
    pub sample: Vec<usize>,
    /// Times of the firing's first and last events.
    pub first: i64,
    pub last: i64,
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

/// Does `reference` (an entry of a correlation's `rules:`) name `rule`, by
/// its `id` or its `name`?
pub fn refers_to(reference: &str, rule: &SigmaRule) -> bool {
    rule.id.as_deref() == Some(reference) || rule.name.as_deref() == Some(reference)
}

impl Correlation {
    /// Compiles a correlation rule (its members are resolved by the
    /// caller, see [`refers_to`]).
    pub fn compile(rule: &SigmaRule) -> Result<Self, SigmaError> {
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
        if c.rules.is_empty() {
            return Err(err("correlation names no rules".into()));
        }
        let timespan_ns = match &c.timespan {
            Some(t) => parse_timespan(t)
                .filter(|n| *n > 0)
                .ok_or_else(|| err(format!("bad timespan `{t}`")))?,
            None => return Err(err("correlation without `timespan`".into())),
        };
        let mut conds = Vec::new();
        let mut field = Vec::new();
        for (k, v) in &c.condition {
            let op = match k.as_str() {
                "gt" => Op::Gt,
                "gte" => Op::Gte,
                "lt" => Op::Lt,
                "lte" => Op::Lte,
                "eq" => Op::Eq,
                "neq" => Op::Neq,
                "field" => {
                    field = v.split(',').map(str::to_string).collect();
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
            Kind::ValueCount if field.is_empty() => {
                return Err(err("value_count needs `condition: field:`".into()));
            }
            _ => {}
        }
        let mut aliases: HashMap<String, Vec<(usize, String)>> = HashMap::new();
        for (alias, per) in &c.aliases {
            for (rname, f) in per {
                match c.rules.iter().position(|n| n == rname) {
                    Some(pos) => aliases
                        .entry(alias.clone())
                        .or_default()
                        .push((pos, f.clone())),
                    None => {
                        return Err(err(format!(
                            "alias `{alias}` names rule `{rname}`, which the correlation does not"
                        )));
                    }
                }
            }
        }
        Ok(Correlation {
            kind,
            rules: c.rules.clone(),
            group_by: c.group_by.clone(),
            generate: c.generate,
            aliases,
            timespan_ns,
            conds,
            field,
        })
    }

    fn holds(&self, n: usize) -> bool {
        let n = n as f64;
        self.conds.iter().all(|(op, v)| match op {
            Op::Gt => n > *v,
            Op::Gte => n >= *v,
            Op::Lt => n < *v,
            Op::Lte => n <= *v,
            Op::Eq => n == *v,
            Op::Neq => n != *v,
        })
    }

    /// Whether the condition, once true, stays true as a window grows.
    fn grows_true(&self) -> bool {
        self.conds
            .iter()
            .all(|(op, _)| matches!(op, Op::Gt | Op::Gte))
    }

    /// A Sigma field of a match, read through the first of its rule's
    /// targets whose path the event holds.
    fn read(&self, field: &str, m: &Match) -> Option<String> {
        let name = self
            .aliases
            .get(field)
            .and_then(|per| per.iter().find(|(p, _)| *p == m.member))
            .map_or(field, |(_, f)| f.as_str());
        m.fields.target_list.iter().find_map(|t| {
            let path = fields::map(t, name).ok()?;
            m.event
                .get(&path)
                .and_then(|v| v.to_text())
                .map(|s| s.into_owned())
                .filter(|s| !s.is_empty())
        })
    }

    /// Runs over the matches of one scope (a host): groups them, slides
    /// the windows, and returns the firings in time order of their last
    /// event (ties: the group seen first).
    pub fn run(&self, matches: &[Match]) -> Vec<Hit> {
        let time = |i: usize| matches[i].event.timestamp.unwrap_or(i64::MIN);
        let mut order: Vec<usize> = (0..matches.len())
            .filter(|&i| matches[i].member < self.rules.len())
            .collect();
        order.sort_by_key(|&i| (time(i), i));
        // groups in first-seen order, each with its entries in time order
        let mut groups: Vec<(Group, Vec<Entry>)> = Vec::new();
        let mut index: HashMap<Vec<String>, usize> = HashMap::new();
        'matches: for i in order {
            let m = &matches[i];
            let mut key = Vec::with_capacity(self.group_by.len());
            for g in &self.group_by {
                match self.read(g, m) {
                    Some(v) => key.push(v),
                    None => continue 'matches,
                }
            }
            let value = if self.field.is_empty() {
                None
            } else {
                let vals: Option<Vec<String>> =
                    self.field.iter().map(|f| self.read(f, m)).collect();
                // an event without the field has no value to count
                match vals {
                    Some(v) => Some(v.join("\u{1f}")),
                    None => continue 'matches,
                }
            };
            let slot = *index.entry(key.clone()).or_insert_with(|| {
                let named = self.group_by.iter().cloned().zip(key).collect();
                groups.push((named, Vec::new()));
                groups.len() - 1
            });
            groups[slot].1.push(Entry {
                m: i,
                member: m.member,
                t: time(i),
                value,
            });
        }
        let mut hits = Vec::new();
        for (group, entries) in &groups {
            self.windows(entries, |window, values| {
                let count = window.len();
                let mut sample: Vec<usize> = window.iter().take(SAMPLE - 1).map(|x| x.m).collect();
                if count >= SAMPLE {
                    sample.extend(window.last().map(|x| x.m));
                }
                hits.push(Hit {
                    group: group.clone(),
                    count,
                    values,
                    first: window.first().map_or(i64::MIN, |x| x.t),
                    last: window.last().map_or(i64::MIN, |x| x.t),
                    sample,
                });
            });
        }
        // stable: among equal times, groups stay in first-seen order
        hits.sort_by_key(|h| h.last);
        hits
    }

    /// Slides the windows over one group's entries (in time order; see the
    /// module's doc) and calls `fire` with each window that fires and, for
    /// `value_count`, its number of distinct values. Two cursors and a
    /// running state: linear in the entries, however dense a burst.
    fn windows(&self, es: &[Entry], mut fire: impl FnMut(&[Entry], Option<usize>)) {
        let temporal = matches!(self.kind, Kind::Temporal | Kind::TemporalOrdered);
        let grows = self.grows_true();
        let mut st = State::new(self.rules.len());
        let (mut s, mut e) = (0, 0);
        while s < es.len() {
            let mut fired = false;
            while e < es.len() && es[e].t.saturating_sub(es[s].t) <= self.timespan_ns {
                st.add(&es[e], e);
                e += 1;
                // a temporal firing ends at the event that completes it
                if temporal && grows && self.temporal_holds(&st, s) {
                    fire(&es[s..e], None);
                    st = State::new(self.rules.len());
                    s = e;
                    fired = true;
                    break;
                }
            }
            if fired {
                continue;
            }
            let (ok, values) = match self.kind {
                // checked at every event above: it did not hold
                _ if temporal && grows => (false, None),
                Kind::EventCount => (self.holds(st.count), None),
                Kind::ValueCount => (self.holds(st.values.len()), Some(st.values.len())),
                _ => (self.temporal_holds(&st, s), None),
            };
            if ok {
                fire(&es[s..e], values);
            }
            if ok || !grows {
                st = State::new(self.rules.len());
                s = e;
            } else {
                st.remove(&es[s]);
                s += 1;
            }
        }
    }

    /// Whether the temporal condition holds over the window starting at
    /// `s`: without a condition every member must be there (in order, for
    /// `temporal_ordered`); with one, it counts the members there (the
    /// in-order run, for `temporal_ordered`).
    fn temporal_holds(&self, st: &State, s: usize) -> bool {
        let n = match self.kind {
            Kind::TemporalOrdered => st
                .chain
                .iter()
                .take_while(|b| b.is_some_and(|b| b >= s))
                .count(),
            _ => st.per_member.iter().filter(|c| **c > 0).count(),
        };
        if self.conds.is_empty() {
            n == self.rules.len()
        } else {
            self.holds(n)
        }
    }
}

/// A group's (field, value) pairs.
type Group = Vec<(String, String)>;

/// A match in a group: its position in the matches given, its member, its
/// time, and `value_count`'s value.
struct Entry {
    m: usize,
    member: usize,
    t: i64,
    value: Option<String>,
}

/// What a window holds, kept as it slides.
struct State {
    count: usize,
    /// `value_count`'s values and how many times each is in the window.
    values: HashMap<String, usize>,
    per_member: Vec<usize>,
    /// For `temporal_ordered`, per member k: the latest start (entry
    /// position) of an in-order chain of members 0..=k; a chain counts if
    /// it starts inside the window.
    chain: Vec<Option<usize>>,
}

impl State {
    fn new(members: usize) -> Self {
        State {
            count: 0,
            values: HashMap::new(),
            per_member: vec![0; members],
            chain: vec![None; members],
        }
    }

    fn add(&mut self, x: &Entry, pos: usize) {
        self.count += 1;
        if let Some(v) = &x.value {
            *self.values.entry(v.clone()).or_default() += 1;
        }
        self.per_member[x.member] += 1;
        let start = if x.member == 0 {
            Some(pos)
        } else {
            self.chain[x.member - 1]
        };
        self.chain[x.member] = self.chain[x.member].max(start);
    }

    fn remove(&mut self, x: &Entry) {
        self.count -= 1;
        if let Some(v) = &x.value
            && let Some(n) = self.values.get_mut(v)
        {
            *n -= 1;
            if *n == 0 {
                self.values.remove(v);
            }
        }
        self.per_member[x.member] -= 1;
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

    fn logon(id: &str, ts_s: i64, user: &str, ip: &str) -> Event {
        let mut e = Event::default();
        e.set("winlog.channel", "Security");
        e.set("winlog.event_id", id);
        e.set("winlog.event_data.TargetUserName", user);
        e.set("winlog.event_data.IpAddress", ip);
        e.set_timestamp(ts_s * 1_000_000_000);
        e
    }

    fn failed(ts_s: i64, user: &str, ip: &str) -> Event {
        logon("4625", ts_s, user, ip)
    }

    const BASE: &str = "title: failed logon\nname: failed_logon\nlogsource: {product: windows, service: security}\ndetection:\n    sel:\n        EventID: 4625\n    condition: sel\n";
    const OK: &str = "title: logon\nname: ok_logon\nlogsource: {product: windows, service: security}\ndetection:\n    sel:\n        EventID: 4624\n    condition: sel\n";

    /// Compiles `corr` over the base rules, feeds it each event as a
    /// match of the member whose rule matches it.
    fn run(corr: &str, events: &[Event]) -> Vec<Hit> {
        let rules = load(&format!("{BASE}---\n{OK}---\n{corr}"));
        let compiled: Vec<Compiled> = rules[..2]
            .iter()
            .map(|r| crate::compile(r).expect("base compiles"))
            .collect();
        let c = Correlation::compile(&rules[2]).expect("correlation compiles");
        let mut matches = Vec::new();
        for ev in events {
            for (pos, name) in c.rules.iter().enumerate() {
                let b = rules[..2]
                    .iter()
                    .position(|r| refers_to(name, r))
                    .expect("named rule");
                if compiled[b].query.matches(ev) {
                    matches.push(Match {
                        member: pos,
                        fields: &compiled[b],
                        event: ev,
                    });
                }
            }
        }
        c.run(&matches)
    }

    fn groups(hits: &[Hit]) -> Vec<String> {
        hits.iter()
            .map(|h| {
                let g: Vec<&str> = h.group.iter().map(|(_, v)| v.as_str()).collect();
                format!("{}x{}", g.join("/"), h.count)
            })
            .collect()
    }

    #[test]
    fn event_count_per_group_within_timespan_inclusive() {
        let corr = "title: many\ncorrelation:\n    type: event_count\n    rules: [failed_logon]\n    group-by: [TargetUserName]\n    timespan: 1m\n    condition:\n        gte: 3\n";
        let evs = vec![
            failed(0, "bob", "1.1.1.1"),
            failed(10, "alice", "1.1.1.1"),
            failed(20, "bob", "1.1.1.1"),
            // 61 s after the first: outside its minute
            failed(61, "bob", "1.1.1.1"),
            failed(100, "alice", "1.1.1.1"),
            // exactly a minute after alice's second: inside
            failed(160, "alice", "1.1.1.1"),
            failed(160, "alice", "1.1.1.1"),
        ];
        let hits = run(corr, &evs);
        // bob: 20 and 61 with 0 out of reach; alice: 100, 160, 160
        assert_eq!(groups(&hits), ["alicex3"]);
        assert_eq!(hits[0].sample, [4, 5, 6]);
        assert_eq!(
            (hits[0].first, hits[0].last),
            (100_000_000_000, 160_000_000_000)
        );
        // an event without the group-by field is not counted
        let mut no_user = failed(30, "x", "1.1.1.1");
        no_user.remove("winlog.event_data.TargetUserName");
        let evs = vec![failed(0, "bob", "a"), no_user, failed(40, "bob", "a")];
        assert!(run(corr, &evs).is_empty());
    }

    #[test]
    fn a_burst_fires_once_with_a_bounded_sample_then_counting_resumes() {
        let corr = "title: many\ncorrelation:\n    type: event_count\n    rules: [failed_logon]\n    group-by: [TargetUserName]\n    timespan: 5m\n    condition:\n        gt: 2\n";
        // 200 failures in 200 s, then 3 more an hour later
        let mut evs: Vec<Event> = (0..200).map(|i| failed(i, "bob", "a")).collect();
        evs.extend((0..3).map(|i| failed(3600 + i, "bob", "a")));
        let hits = run(corr, &evs);
        assert_eq!(groups(&hits), ["bobx200", "bobx3"]);
        assert_eq!(hits[0].sample.len(), SAMPLE);
        assert_eq!(hits[0].sample[..3], [0, 1, 2]);
        assert_eq!(hits[0].sample.last(), Some(&199));
    }

    #[test]
    fn upper_bounds_judge_whole_windows() {
        // fewer than 3 in a window: the quiet user fires, the burst does not
        // fire on its tail
        let corr = "title: few\ncorrelation:\n    type: event_count\n    rules: [failed_logon]\n    group-by: [TargetUserName]\n    timespan: 1m\n    condition:\n        lt: 3\n";
        let mut evs: Vec<Event> = (0..5).map(|i| failed(i * 10, "burst", "a")).collect();
        evs.push(failed(0, "quiet", "a"));
        evs.push(failed(30, "quiet", "a"));
        let hits = run(corr, &evs);
        assert_eq!(groups(&hits), ["quietx2"]);
    }

    #[test]
    fn value_count_counts_distinct_values() {
        let corr = "title: spray\ncorrelation:\n    type: value_count\n    rules: [failed_logon]\n    group-by: [IpAddress]\n    timespan: 5m\n    condition:\n        field: TargetUserName\n        gte: 3\n";
        let evs = vec![
            failed(0, "a", "9.9.9.9"),
            failed(1, "a", "9.9.9.9"),
            failed(2, "b", "9.9.9.9"),
            failed(3, "a", "8.8.8.8"),
            failed(4, "b", "8.8.8.8"),
            failed(5, "c", "9.9.9.9"),
        ];
        let hits = run(corr, &evs);
        assert_eq!(groups(&hits), ["9.9.9.9x4"]);
        assert_eq!(hits[0].values, Some(3));
        // the same users again and again are not a spray
        let evs: Vec<Event> = (0..50).map(|i| failed(i, "a", "9.9.9.9")).collect();
        assert!(run(corr, &evs).is_empty());
    }

    #[test]
    fn temporal_in_any_order_and_ordered() {
        let any = "title: both\ncorrelation:\n    type: temporal\n    rules: [failed_logon, ok_logon]\n    group-by: [TargetUserName]\n    timespan: 10m\n";
        let ordered = any.replace("type: temporal", "type: temporal_ordered");
        let ok = |t, u| logon("4624", t, u, "x");
        // eve: success then failure; bob: failure then success; carol: too far apart
        let evs = vec![
            ok(5, "eve"),
            failed(10, "eve", "x"),
            failed(20, "bob", "x"),
            failed(30, "bob", "x"),
            ok(50, "bob"),
            failed(100, "carol", "x"),
            ok(100 + 601, "carol"),
        ];
        let hits = run(any, &evs);
        assert_eq!(groups(&hits), ["evex2", "bobx3"]);
        let hits = run(&ordered, &evs);
        assert_eq!(groups(&hits), ["bobx3"]);
        // the firing ends at the event that completes it
        assert_eq!(hits[0].sample, [2, 3, 4]);
        // a condition counts the rules seen
        let one = any.replace(
            "timespan: 10m\n",
            "timespan: 10m\n    condition:\n        gte: 1\n",
        );
        assert_eq!(run(&one, &evs[..1]).len(), 1);
    }

    #[test]
    fn aliases_give_each_rule_its_field() {
        let corr = "title: same ip\ncorrelation:\n    type: temporal_ordered\n    rules: [failed_logon, ok_logon]\n    group-by: [who]\n    timespan: 1h\n    aliases:\n        who:\n            failed_logon: IpAddress\n            ok_logon: TargetUserName\n";
        let evs = vec![
            failed(0, "u", "10.0.0.5"),
            logon("4624", 10, "10.0.0.5", "y"),
        ];
        assert_eq!(groups(&run(corr, &evs)), ["10.0.0.5x2"]);
    }

    #[test]
    fn malformed_correlations_say_why() {
        let bad = |c: &str| {
            let rules = load(&format!("title: c\ncorrelation:\n{c}"));
            Correlation::compile(&rules[0])
                .expect_err("rejected")
                .to_string()
        };
        let e = bad(
            "    type: event_count\n    rules: [a]\n    timespan: 5x\n    condition: {gte: 1}\n",
        );
        assert!(e.contains("bad timespan") && e.contains("c.yml"), "{e}");
        let e = bad(
            "    type: value_count\n    rules: [a]\n    timespan: 5m\n    condition: {gte: 1}\n",
        );
        assert!(e.contains("field"), "{e}");
        let e = bad("    type: event_count\n    rules: [a]\n    timespan: 5m\n");
        assert!(e.contains("needs a condition"), "{e}");
        let e =
            bad("    type: temporal\n    rules: [a]\n    timespan: 5m\n    aliases: {x: {b: F}}\n");
        assert!(e.contains("alias"), "{e}");
        assert_eq!(parse_timespan("90s"), Some(90_000_000_000));
        assert_eq!(parse_timespan("5x"), None);
    }

    #[test]
    fn generate_is_read_beside_or_inside_the_correlation() {
        let base = "title: c\ncorrelation:\n    type: temporal\n    rules: [a]\n    timespan: 5m\n";
        let generates = |text: &str| {
            Correlation::compile(&load(text)[0])
                .expect("compiles")
                .generate
        };
        assert!(!generates(base));
        assert!(generates(&format!("{base}generate: true\n")));
        assert!(generates(&format!("{base}    generate: true\n")));
    }
}
