//! Sigma correlation rules (spec 2.x) in a hunt: compiled once every rule
//! is ([`compile`]), their members resolved by `id` or `name` across the
//! loaded files and through other correlations; run after the rules'
//! hits, over what their members matched ([`run`]).
//!
//! The members are ordinary rules of the book: the one pass over the
//! evidence evaluates them with the others. A member does not alert on
//! its own unless a correlation naming it says `generate: true` (the
//! spec's default is only the correlation's query); the same goes for a
//! correlation named by another. A correlation's state is kept per host
//! and, within it, per `group-by` values (as EQL sequences are keyed): a
//! group of events from one machine, never joined with another's.
//! Correlations run in dependency order; a chained correlation sees each
//! firing of the one it names as that firing's last event.

use crate::book::RuleBook;
use quarry_event::Event;
use quarry_rules::{Rule, SkipKind, Skipped};
use quarry_sigma::SigmaRule;
use quarry_sigma::correlation::{Correlation, Match, refers_to};
use serde_json::{Value as J, json};
use std::collections::BTreeMap;

/// `type` of a Sigma correlation rule as quarry's rule.
pub const RULE_TYPE: &str = "sigma_correlation";

/// A correlation ready to run.
#[derive(Debug, Clone)]
pub struct CompiledCorrelation {
    /// Its metadata (title, id, level…) as quarry's rule: its alerts'.
    pub rule: Rule,
    pub correlation: Correlation,
    /// What each entry of its `rules:` is.
    pub members: Vec<Member>,
}

#[derive(Debug, Clone)]
pub enum Member {
    /// A rule of the book (its position in [`RuleBook::rules`]), with the
    /// field tables its matches are read with.
    Rule {
        index: usize,
        fields: Box<quarry_sigma::Compiled>,
    },
    /// An earlier correlation of [`RuleBook::correlations`].
    Correlation(usize),
}

pub fn is_correlation(rule: &Rule) -> bool {
    rule.rule_type == RULE_TYPE
}

fn sigma(rule: &Rule) -> Option<&SigmaRule> {
    rule.parsed.as_ref()?.downcast_ref::<SigmaRule>()
}

/// A correlation that cannot run because a rule it names is not
/// runnable (or not loaded): the label `quarry rules list` counts.
const NOT_RUNNABLE: &str = "sigma correlation over a rule not loaded or not runnable";

/// Compiles the correlation rules into `book` (whose rules are compiled):
/// each runnable one into [`RuleBook::correlations`], in dependency order;
/// the others skipped or reported as not compiling, with the reason.
pub fn compile(book: &mut RuleBook, rules: Vec<Rule>) {
    let mut pending: Vec<(Rule, Correlation)> = Vec::new();
    for rule in rules {
        let compiled = sigma(&rule)
            .ok_or_else(|| "not a Sigma rule".to_string())
            .and_then(|s| Correlation::compile(s).map_err(|e| e.to_string()));
        match compiled {
            Ok(c) => pending.push((rule, c)),
            Err(error) => book.not_compiled.push(crate::NotCompiled {
                rule: format!("{} ({})", rule.name, rule.path.display()),
                error,
            }),
        }
    }
    // resolve in rounds: a correlation is placed once all it names are
    // (rules of the book, or correlations already placed)
    let mut placed: Vec<usize> = Vec::new();
    let mut done = vec![false; pending.len()];
    loop {
        let mut progress = false;
        for p in 0..pending.len() {
            if done[p] {
                continue;
            }
            let (rule, corr) = &pending[p];
            let mut members = Vec::new();
            let mut why = None;
            for name in &corr.rules {
                if let Some(index) = book
                    .rules
                    .iter()
                    .position(|r| sigma(&r.rule).is_some_and(|s| refers_to(name, s)))
                {
                    // the rule compiled once already: this is its field table
                    match sigma(&book.rules[index].rule).map(quarry_sigma::compile) {
                        Some(Ok(fields)) => members.push(Member::Rule {
                            index,
                            fields: Box::new(fields),
                        }),
                        _ => why = Some(format!("rule `{name}` is not runnable")),
                    }
                } else if let Some(q) = pending
                    .iter()
                    .position(|(r, _)| sigma(r).is_some_and(|s| refers_to(name, s)))
                {
                    match placed.iter().position(|&x| x == q) {
                        Some(at) => members.push(Member::Correlation(at)),
                        // named correlation not placed yet: a later round
                        None if !done[q] => {
                            why = Some(String::new());
                            break;
                        }
                        None => why = Some(format!("correlation `{name}` cannot run")),
                    }
                } else {
                    why = Some(format!("rule `{name}` is not loaded or not runnable"));
                }
            }
            match why {
                Some(w) if w.is_empty() => continue,
                Some(w) => {
                    book.skipped.push(Skipped {
                        path: rule.path.clone(),
                        rule_id: Some(rule.rule_id.clone()),
                        name: Some(rule.name.clone()),
                        kind: SkipKind::NotRunnable(NOT_RUNNABLE.into()),
                        reason: w,
                    });
                }
                None => {
                    book.correlations.push(CompiledCorrelation {
                        rule: rule.clone(),
                        correlation: corr.clone(),
                        members,
                    });
                    placed.push(p);
                }
            }
            done[p] = true;
            progress = true;
        }
        if !progress {
            break;
        }
    }
    for (p, (rule, _)) in pending.iter().enumerate() {
        if !done[p] {
            book.not_compiled.push(crate::NotCompiled {
                rule: format!("{} ({})", rule.name, rule.path.display()),
                error: "correlations that name each other in a loop".into(),
            });
        }
    }
}

/// Which rules and correlations raise alerts of their own: not those a
/// correlation names without `generate: true`, nor those below the
/// book's severity that are kept only because a correlation names them.
pub struct Standalone {
    pub rules: Vec<bool>,
    pub correlations: Vec<bool>,
}

impl Standalone {
    pub fn of(book: &RuleBook) -> Self {
        let mut rules: Vec<Option<bool>> = vec![None; book.rules.len()];
        let mut correlations: Vec<Option<bool>> = vec![None; book.correlations.len()];
        for c in &book.correlations {
            let generate = c.correlation.generate;
            for m in &c.members {
                let slot = match m {
                    Member::Rule { index, .. } => &mut rules[*index],
                    Member::Correlation(j) => &mut correlations[*j],
                };
                *slot = Some(slot.unwrap_or(false) || generate);
            }
        }
        let severe = |r: &Rule| book.meets_severity(&r.severity);
        Standalone {
            rules: rules
                .into_iter()
                .zip(&book.rules)
                .map(|(s, r)| s.unwrap_or(true) && severe(&r.rule))
                .collect(),
            correlations: correlations
                .into_iter()
                .zip(&book.correlations)
                .map(|(s, c)| s.unwrap_or(true) && severe(&c.rule))
                .collect(),
        }
    }
}

/// One correlation firing: its correlation (position in
/// [`RuleBook::correlations`]), the sample of events it carries (the last
/// is the one the alert stands on) and what the alert says of it.
pub struct Firing {
    pub correlation: usize,
    /// The `group-by` values.
    pub group: Vec<J>,
    pub events: Vec<Event>,
    pub extra: J,
}

/// Runs every correlation over its members' matches (`matched[i]`: rule
/// `i`'s matched events, empty for rules no correlation names), host by
/// host; returns the firings of the correlations that alert on their own.
pub fn run(book: &RuleBook, matched: &[Vec<Event>], standalone: &Standalone) -> Vec<Firing> {
    // per correlation, its firings' last events, for the correlations that
    // name it: (the events, the member's field table each is read with)
    let mut chained: Vec<Vec<(Event, usize, usize)>> = vec![Vec::new(); book.correlations.len()];
    let mut out = Vec::new();
    for (ci, c) in book.correlations.iter().enumerate() {
        // every match: (member position, field table (rule, member) of
        // this correlation or a chained one, event)
        let fields_of = |ci: usize, pos: usize| -> Option<&quarry_sigma::Compiled> {
            match book.correlations.get(ci)?.members.get(pos)? {
                Member::Rule { fields, .. } => Some(fields),
                Member::Correlation(_) => None,
            }
        };
        // the matches borrow the chained firings: owned firings come out
        let firings = {
            let mut by_host: BTreeMap<Option<String>, Vec<Match>> = BTreeMap::new();
            for (pos, m) in c.members.iter().enumerate() {
                let events: Vec<(&Event, &quarry_sigma::Compiled)> = match m {
                    Member::Rule { index, fields } => matched
                        .get(*index)
                        .into_iter()
                        .flatten()
                        .map(|e| (e, fields.as_ref()))
                        .collect(),
                    Member::Correlation(j) => chained[*j]
                        .iter()
                        .filter_map(|(e, cj, p)| Some((e, fields_of(*cj, *p)?)))
                        .collect(),
                };
                for (event, fields) in events {
                    by_host
                        .entry(quarry_lineage::host_key(event))
                        .or_default()
                        .push(Match {
                            member: pos,
                            fields,
                            event,
                        });
                }
            }
            let mut firings = Vec::new();
            for matches in by_host.values() {
                for hit in c.correlation.run(matches) {
                    let events: Vec<Event> = hit
                        .sample
                        .iter()
                        .map(|&i| matches[i].event.clone())
                        .collect();
                    // a chained correlation reads the last event with the field
                    // table of the rule that matched it
                    let last = hit.sample.last().map(|&i| &matches[i]);
                    let origin = last.and_then(|m| {
                        let pos = m.member;
                        match &c.members[pos] {
                            Member::Rule { .. } => Some((ci, pos)),
                            Member::Correlation(j) => chained[*j]
                                .iter()
                                .find(|(e, ..)| std::ptr::eq(e, m.event))
                                .map(|(_, cj, p)| (*cj, *p)),
                        }
                    });
                    firings.push((hit, events, origin));
                }
            }
            firings
        };
        let mut next = Vec::new();
        for (hit, events, origin) in firings {
            if let (Some(last), Some((cj, p))) = (events.last(), origin) {
                next.push((last.clone(), cj, p));
            }
            if standalone.correlations[ci] {
                out.push(Firing {
                    correlation: ci,
                    group: hit
                        .group
                        .iter()
                        .map(|(_, v)| J::String(v.clone()))
                        .collect(),
                    extra: extra(book, c, &hit),
                    events,
                });
            }
        }
        chained[ci] = next;
    }
    out
}

/// What a correlation alert says beyond its events
/// (`quarry.correlation`).
fn extra(book: &RuleBook, c: &CompiledCorrelation, hit: &quarry_sigma::correlation::Hit) -> J {
    let names: Vec<&str> = c
        .members
        .iter()
        .map(|m| match m {
            Member::Rule { index, .. } => book.rules[*index].rule.name.as_str(),
            Member::Correlation(j) => book.correlations[*j].rule.name.as_str(),
        })
        .collect();
    let mut corr = json!({
        "type": c.correlation.kind.as_str(),
        "rules": names,
        "group_by": hit.group.iter().map(|(f, v)| (f.clone(), J::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
        "timespan_seconds": c.correlation.timespan_ns / 1_000_000_000,
        "count": hit.count,
        "from": quarry_event::format_timestamp(hit.first),
        "to": quarry_event::format_timestamp(hit.last),
        "events_shown": hit.sample.len(),
    });
    if let Some(v) = hit.values {
        corr["distinct_values"] = json!(v);
    }
    json!({"quarry": {"correlation": corr}})
}

#[cfg(test)]
mod tests {
    use crate::{HuntOptions, RuleBook, hunt};
    use serde_json::{Value as J, json};
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    const BASE: &str = "title: Failed logon
name: failed_login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
level: low
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: [529, 4625]
    condition: selection
---
title: Successful logon
name: successful_login
level: low
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: [528, 4624]
    condition: selection
";

    /// The spec's brute-force example (a chain), and a spray over the same
    /// base rule, referenced by id: one base rule, two correlations.
    const CORRELATIONS: &str = "title: Multiple failed logons
name: multiple_failed_login
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [TargetUserName]
    timespan: 10m
    condition:
        gte: 3
---
title: Failed logons followed by a successful one
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
level: high
correlation:
    type: temporal_ordered
    rules: [multiple_failed_login, successful_login]
    group-by: [TargetUserName]
    timespan: 10m
---
title: Password spray
level: medium
correlation:
    type: value_count
    rules: [53ba33fd-3a50-4468-a5ef-c583635cfa92]
    group-by: [IpAddress]
    timespan: 1h
    condition:
        field: TargetUserName
        gte: 3
";

    fn logon(host: &str, id: u32, secs: u32, user: &str, ip: &str) -> String {
        json!({"Event": {"System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
            "EventID": id,
            "TimeCreated": {"#attributes": {"SystemTime": format!("2024-05-01T10:{:02}:{:02}Z", secs / 60, secs % 60)}},
            "EventRecordID": secs,
            "Channel": "Security",
            "Computer": host},
            "EventData": {"TargetUserName": user, "IpAddress": ip, "LogonType": 3}}})
        .to_string()
    }

    /// A scratch folder and its path; the folder is removed when the guard
    /// drops.
    fn scratch(name: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::Builder::new()
            .prefix(&format!("quarry-correlate-{name}-"))
            .tempdir()
            .expect("scratch");
        let p = d.path().to_path_buf();
        (d, p)
    }

    /// Hunts `events` with the base rules and `correlations` (two files):
    /// alerts per rule name, and the alerts.
    fn run(name: &str, correlations: &str, events: &[String]) -> (BTreeMap<String, usize>, Vec<J>) {
        let (_scratch, dir) = scratch(name);
        let rules = dir.join("rules");
        std::fs::create_dir_all(&rules).expect("rules dir");
        std::fs::write(rules.join("a_base.yml"), BASE).expect("write");
        std::fs::write(rules.join("b_correlations.yml"), correlations).expect("write");
        let evidence = dir.join("security.jsonl");
        std::fs::write(&evidence, events.join("\n")).expect("write");
        let book = RuleBook::load(&[rules]);
        assert!(book.not_compiled.is_empty(), "{:?}", book.not_compiled);
        assert_eq!(book.correlations.len(), 3, "{:?}", book.skipped);
        let report = hunt(&book, &[evidence], &HuntOptions::default());
        let alerts: Vec<serde_json::Value> = report.alerts.iter().map(|a| a.json()).collect();
        let mut per = BTreeMap::new();
        for a in &alerts {
            let n = a["kibana"]["alert"]["rule"]["name"]
                .as_str()
                .unwrap_or_default();
            *per.entry(n.to_string()).or_default() += 1;
        }
        (per, alerts)
    }

    fn evidence() -> Vec<String> {
        vec![
            // host A: bob fails three times then gets in; alice and carol
            // fail from the same address
            logon("a.corp", 4625, 0, "bob", "10.0.0.5"),
            logon("a.corp", 4625, 10, "bob", "10.0.0.5"),
            logon("a.corp", 4625, 20, "bob", "10.0.0.5"),
            logon("a.corp", 4625, 25, "alice", "10.0.0.5"),
            logon("a.corp", 4625, 26, "carol", "10.0.0.5"),
            logon("a.corp", 4624, 60, "bob", "10.0.0.5"),
            // host B: bob fails twice and gets in — three failures only
            // counting host A's
            logon("b.corp", 4625, 5, "bob", "10.0.0.9"),
            logon("b.corp", 4625, 15, "bob", "10.0.0.9"),
            logon("b.corp", 4624, 30, "bob", "10.0.0.9"),
        ]
    }

    #[test]
    fn chained_and_shared_base_rules_per_host_without_their_own_alerts() {
        let (per, alerts) = run("chain", CORRELATIONS, &evidence());
        // the members (base rules and the inner correlation) do not alert
        assert_eq!(
            per,
            BTreeMap::from([
                ("Failed logons followed by a successful one".to_string(), 1),
                ("Password spray".to_string(), 1),
            ])
        );
        let brute = alerts
            .iter()
            .find(|a| {
                a["kibana"]["alert"]["rule"]["name"] == "Failed logons followed by a successful one"
            })
            .expect("brute force alert");
        assert_eq!(brute["kibana"]["alert"]["severity"], "high");
        assert_eq!(
            brute["kibana"]["alert"]["rule"]["rule_id"],
            "b180ead8-d58f-40b2-ae54-c8940995b9b6"
        );
        // it stands on host A's successful logon
        assert_eq!(brute["host"]["name"], "a.corp");
        assert_eq!(brute["winlog"]["event_id"], "4624");
        let c = &brute["quarry"]["correlation"];
        assert_eq!(c["type"], "temporal_ordered");
        assert_eq!(c["group_by"]["TargetUserName"], "bob");
        assert_eq!(
            c["rules"],
            json!(["Multiple failed logons", "Successful logon"])
        );
        let spray = alerts
            .iter()
            .find(|a| a["kibana"]["alert"]["rule"]["name"] == "Password spray")
            .expect("spray alert");
        let c = &spray["quarry"]["correlation"];
        assert_eq!(
            (c["count"].as_u64(), c["distinct_values"].as_u64()),
            (Some(5), Some(3))
        );
        assert_eq!(c["group_by"]["IpAddress"], "10.0.0.5");
        // its contributing events, in time order
        let evs = spray["kibana.alert.group.events"]
            .as_array()
            .expect("events");
        let users: Vec<&J> = evs
            .iter()
            .map(|e| &e["winlog"]["event_data"]["TargetUserName"])
            .collect();
        assert_eq!(users, ["bob", "bob", "bob", "alice", "carol"]);
    }

    #[test]
    fn generate_lets_the_base_rule_alert_too_and_severity_keeps_members() {
        let generating = CORRELATIONS.replace(
            "        field: TargetUserName\n        gte: 3\n",
            "        field: TargetUserName\n        gte: 3\n    generate: true\n",
        );
        let (per, _) = run("generate", &generating, &evidence());
        // the spray generates failed_login: its seven events alert
        assert_eq!(per.get("Failed logon"), Some(&7));
        assert_eq!(per.get("Successful logon"), None);
        assert_eq!(per.len(), 3, "{per:?}");

        // --severity high keeps the brute force, the rules it needs (low,
        // and the inner correlation), and nothing else alerts
        let (_scratch, dir) = scratch("severity");
        std::fs::write(dir.join("a.yml"), BASE).expect("write");
        std::fs::write(dir.join("b.yml"), &generating).expect("write");
        let evidence_file = dir.join("e.jsonl");
        std::fs::write(&evidence_file, evidence().join("\n")).expect("write");
        let mut book = RuleBook::load(std::slice::from_ref(&dir));
        book.retain_severity("high");
        assert_eq!((book.rules.len(), book.correlations.len()), (2, 2));
        let report = hunt(&book, &[evidence_file], &HuntOptions::default());
        let alerts: Vec<serde_json::Value> = report.alerts.iter().map(|a| a.json()).collect();
        let names: Vec<&str> = alerts
            .iter()
            .filter_map(|a| a["kibana"]["alert"]["rule"]["name"].as_str())
            .collect();
        assert_eq!(names, ["Failed logons followed by a successful one"]);
    }

    #[test]
    fn correlations_that_cannot_run_say_why() {
        let broken = "title: names nothing loaded
correlation:
    type: event_count
    rules: [no_such_rule]
    group-by: [User]
    timespan: 5m
    condition: {gte: 2}
---
title: loop a
name: loop_a
correlation: {type: temporal, rules: [loop_b], group-by: [User], timespan: 5m}
---
title: loop b
name: loop_b
correlation: {type: temporal, rules: [loop_a], group-by: [User], timespan: 5m}
---
title: bad span
correlation: {type: temporal, rules: [failed_login], group-by: [User], timespan: soon}
";
        let (_scratch, dir) = scratch("broken");
        std::fs::write(dir.join("a.yml"), BASE).expect("write");
        std::fs::write(dir.join("b.yml"), broken).expect("write");
        let book = RuleBook::load(std::slice::from_ref(&dir));
        assert!(book.correlations.is_empty());
        let skipped: Vec<&str> = book.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert!(
            skipped.iter().any(|r| r.contains("no_such_rule")),
            "{skipped:?}"
        );
        let errors: Vec<&str> = book.not_compiled.iter().map(|n| n.error.as_str()).collect();
        assert_eq!(
            errors.iter().filter(|e| e.contains("loop")).count(),
            2,
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("bad timespan `soon`") && e.contains("b.yml")),
            "{errors:?}"
        );
        // the base rules still run
        assert_eq!(book.rules.len(), 2);
    }
}
