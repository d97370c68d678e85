//! One hunt: a pass over the evidence that evaluates every applicable rule
//! on each event and keeps, slimmed and packed, what the alerts'
//! investigation reads; then per rule its hits (sequences, samples and
//! pipes run over the events that matched it), exceptions and
//! `max_signals`, and alerts built host by host with their lineage,
//! follow-on activity and pivots.

use crate::book::RuleBook;
use crate::select::Selector;
use quarry_alert::{Alert, Investigation, Packed, Retention};
use quarry_eql::Hit;
use quarry_event::Event;
use quarry_read::ReadSummary;
use quarry_rules::Exceptions;
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// How to hunt.
#[derive(Debug, Default)]
pub struct HuntOptions {
    /// Exceptions that suppress matching alerts (counted, per exception).
    pub exceptions: Exceptions,
    /// Time each rule's evaluation ([`HuntReport::rule_stats`]).
    pub stats: bool,
}

/// What a hunt found.
#[derive(Debug, Default)]
pub struct HuntReport {
    /// Alert documents shaped as Elastic Security's, by the time of the
    /// event that raised them.
    pub alerts: Vec<J>,
    /// Alerts per (severity, rule name).
    pub counts: BTreeMap<(String, String), usize>,
    /// Hits beyond a rule's `max_signals`, not raised.
    pub withheld: usize,
    /// Hits suppressed, per exception name.
    pub suppressed: BTreeMap<String, usize>,
    /// Per rule with hits, when [`HuntOptions::stats`] asks.
    pub rule_stats: Vec<RuleStat>,
    /// What was read, and every problem met.
    pub read: ReadSummary,
}

/// The time one rule took to turn its matched events into hits.
#[derive(Debug, Clone)]
pub struct RuleStat {
    pub rule: String,
    pub hits: usize,
    pub elapsed: Duration,
}

/// What the read keeps of an event: the events rules matched, whole (and
/// boxed: they are few), and the packed pool of the investigation.
enum Kept {
    Matched(Box<(Vec<usize>, Event, Option<Pooled>)>),
    Pool(Pooled),
}

/// An event packed for the investigation, with its host key.
type Pooled = (String, Packed);

/// Runs `book`'s rules over the evidence in `inputs`.
pub fn hunt(book: &RuleBook, inputs: &[PathBuf], opts: &HuntOptions) -> HuntReport {
    let rules = &book.rules;
    let selector = Selector::new(rules);
    let retention = Retention::for_rules(rules.iter().map(|r| &r.rule));
    let (kept, read) = quarry_read::scan(inputs, |ev| {
        let matched = selector.matching(&ev);
        // kept for the investigation (lineage, follow-on activity, pivots):
        // slimmed to the fields those read, and packed
        let packed = retention.pack(&ev, !matched.is_empty());
        match (matched.is_empty(), packed) {
            (true, None) => None,
            (true, Some(p)) => Some(Kept::Pool(p)),
            (false, p) => Some(Kept::Matched(Box::new((matched, ev, p)))),
        }
    });
    let mut report = HuntReport {
        read,
        ..Default::default()
    };
    let mut per_rule: Vec<Vec<Event>> = vec![Vec::new(); rules.len()];
    let mut pool = Vec::with_capacity(kept.len());
    for k in kept {
        match k {
            Kept::Pool(p) => pool.push(p),
            Kept::Matched(m) => {
                let (matched, ev, p) = *m;
                // copied for every rule it matched but the last, which takes it
                if let Some((&last, rest)) = matched.split_last() {
                    for &i in rest {
                        per_rule[i].push(ev.clone());
                    }
                    per_rule[last].push(ev);
                }
                pool.extend(p);
            }
        }
    }
    let mut investigation = Investigation::from_packed(pool);
    // hits are turned into alerts host by host: a host's pool is unpacked
    // for its alerts, then packed away again
    let mut hits_by_host: BTreeMap<Option<String>, Vec<(usize, Hit)>> = BTreeMap::new();
    for (i, events) in per_rule.into_iter().enumerate() {
        if events.is_empty() {
            continue;
        }
        let r = &rules[i];
        let t = std::time::Instant::now();
        let hits = r.query.run(events);
        let total = hits.len();
        let mut n = 0usize;
        for h in hits {
            let last = quarry_alert::hit_events(&h).last().copied();
            let host = last.and_then(quarry_lineage::host_key);
            let exceptions = &opts.exceptions;
            if let Some(x) = last.and_then(|e| exceptions.suppresses(&r.rule.rule_id, e)) {
                *report
                    .suppressed
                    .entry(exceptions.exceptions[x].name.clone())
                    .or_default() += 1;
                continue;
            }
            if n as u64 >= r.rule.max_signals {
                report.withheld += 1;
                continue;
            }
            n += 1;
            hits_by_host.entry(host).or_default().push((i, h));
        }
        if n > 0 {
            *report
                .counts
                .entry((r.rule.severity.clone(), r.rule.name.clone()))
                .or_default() += n;
        }
        if opts.stats {
            report.rule_stats.push(RuleStat {
                rule: r.rule.name.clone(),
                hits: total,
                elapsed: t.elapsed(),
            });
        }
    }
    let mut alerts: Vec<Alert> = Vec::new();
    for (host, hits) in hits_by_host {
        for (i, h) in &hits {
            alerts.push(quarry_alert::alert(&rules[*i].rule, h, &investigation));
        }
        if let Some(host) = host {
            investigation.release(&host);
        }
    }
    quarry_alert::run_cross_host(&investigation, &mut alerts);
    quarry_alert::link_alerts(&mut alerts);
    let mut alerts: Vec<J> = alerts.into_iter().map(|a| a.doc).collect();
    alerts.sort_by(|a, b| {
        a["kibana"]["alert"]["original_time"]
            .as_str()
            .cmp(&b["kibana"]["alert"]["original_time"].as_str())
    });
    report.alerts = alerts;
    report
}
