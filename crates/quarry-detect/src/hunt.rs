//! One hunt: a pass over the evidence that evaluates every applicable rule
//! on each event and keeps, slimmed and packed, what the alerts'
//! investigation reads; then per rule its hits (sequences, samples and
//! pipes run over the events that matched it), exceptions and
//! `max_signals`, and alerts built host by host with their lineage,
//! follow-on activity and pivots.

use crate::book::{CompiledRule, RuleBook};
use crate::correlate::{self, Member, Standalone};
use crate::new_terms::{self, History};
use crate::select::Selector;
use crate::{suppression, threat_match, threshold};
use quarry_alert::{
    AlertDoc, AlertSet, Investigation, Packed, PackedEvents, QueryFields, Retention, pack,
};
use quarry_eql::Hit;
use quarry_event::{Event, Locator, PathMemo, is_under};
use quarry_read::ReadSummary;
use quarry_rules::{Exceptions, Rule};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How to hunt.
#[derive(Debug, Default)]
pub struct HuntOptions {
    /// Exceptions that suppress matching alerts (counted, per exception).
    pub exceptions: Exceptions,
    /// Time each rule's evaluation ([`HuntReport::rule_stats`]).
    pub stats: bool,
    /// Whether `new_terms` rules alert when the evidence holds less history
    /// than they ask for.
    pub new_terms_history: History,
    /// Indicator documents for `threat_match` rules (`--threat-intel`).
    pub threat_intel: Option<threat_match::Indicators>,
    /// How much an alert lists, and its size bound.
    pub alert_limits: quarry_alert::AlertLimits,
}

/// What a hunt found.
#[derive(Debug, Default)]
pub struct HuntReport {
    /// Alert documents shaped as Elastic Security's, by the time of the
    /// event that raised them (serialized: a tree takes several times the
    /// memory, and most are only written out).
    pub alerts: Vec<AlertDoc>,
    /// Alerts per (severity, rule name).
    pub counts: BTreeMap<(String, String), usize>,
    /// Hits beyond a rule's `max_signals`, not raised.
    pub withheld: usize,
    /// Hits suppressed, per exception name.
    pub suppressed: BTreeMap<String, usize>,
    /// Alerts folded into another by a rule's `alert_suppression`.
    pub folded: usize,
    /// Alerts still over [`quarry_alert::AlertLimits::max_bytes`] after
    /// everything [`quarry_alert::fit`] may cut was cut.
    pub oversized: usize,
    /// Rules whose hits could not be turned into alerts (a bad `from` or
    /// history window), with the reason.
    pub rule_errors: Vec<(String, String)>,
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

/// What the read keeps of an event: the events rules matched, per rule
/// (boxed: they are few), and the packed pool of the investigation.
enum Kept {
    Matched(Box<(PerRule, Option<Pooled>)>),
    Pool(Pooled),
}

/// A matched event as each rule it matched keeps it (rule position, event),
/// packed once for the rules that keep it whole, until [`Batch::of`] adds it
/// to each one's set.
type PerRule = Vec<(usize, Arc<Packed>)>;

/// What a hunt holds of a batch of one file's events
/// ([`quarry_read::scan_batched`]): the events rules matched, and the pool
/// by host, compressed ([`PackedEvents`]) — a whole corpus's pool held as
/// single packed events was most of a run's memory.
#[derive(Default)]
struct Batch {
    /// Per rule (its position) with matches, the events it matched.
    matched: Vec<(usize, PackedEvents)>,
    /// In the order the batch first met each host.
    pool: Vec<(String, PackedEvents)>,
}

/// The set of `key` in `sets`, added at the end when new (`place`: each
/// key's position).
fn set_of<'s, K: Clone + Eq + std::hash::Hash>(
    sets: &'s mut Vec<(K, PackedEvents)>,
    place: &mut FxHashMap<K, usize>,
    key: K,
) -> &'s mut PackedEvents {
    let i = *place.entry(key).or_insert_with_key(|k| {
        sets.push((k.clone(), PackedEvents::default()));
        sets.len() - 1
    });
    &mut sets[i].1
}

impl Batch {
    fn of(kept: Vec<Kept>) -> Self {
        let mut b = Batch::default();
        let mut host_place: FxHashMap<String, usize> = FxHashMap::default();
        let mut rule_place: FxHashMap<usize, usize> = FxHashMap::default();
        for k in kept {
            let pooled = match k {
                Kept::Pool(p) => Some(p),
                Kept::Matched(m) => {
                    let (events, p) = *m;
                    for (rule, ev) in events {
                        set_of(&mut b.matched, &mut rule_place, rule).push(&ev);
                    }
                    p
                }
            };
            if let Some((host, p)) = pooled {
                set_of(&mut b.pool, &mut host_place, host).push(&p);
            }
        }
        let pools = b.pool.iter_mut().map(|(_, p)| p);
        for p in pools.chain(b.matched.iter_mut().map(|(_, p)| p)) {
            p.finish();
        }
        b
    }
}

/// Alerts built together on all cores (see the end of [`hunt_with`]).
const ALERT_BATCH: usize = 64;

/// What an aggregating rule's matches keep besides the fields its query,
/// its terms and its thresholds read: what its alert shows.
const AGGREGATE_KEEPS: &[&str] = &[
    "@timestamp",
    "host.",
    "event.",
    "user.",
    "process.",
    "source.",
    "destination.",
    "data_stream.",
    "winlog.channel",
    "winlog.event_id",
    "winlog.computer_name",
];

/// What an indicator match's events keep besides [`AGGREGATE_KEEPS`].
const THREAT_KEEPS: &[&str] = &["file.", "dll.", "registry.", "url.", "dns.", "email."];

/// For each rule, the fields its matched events are slimmed to: `threshold`
/// and `new_terms` rules may match most of the evidence (a count of every
/// event per host), and keep only what they count and show; other rules
/// keep their (few) matches whole.
fn slim_fields(r: &CompiledRule) -> Option<Vec<String>> {
    let spec_fields: Vec<String> = match (&r.rule.threshold, &r.rule.new_terms) {
        (Some(t), _) => t
            .field
            .iter()
            .cloned()
            .chain(t.cardinality.iter().map(|c| c.field.clone()))
            .collect(),
        (None, Some(n)) => n.fields.clone(),
        (None, None) => match &r.rule.threat_match {
            // an indicator rule's query selects most network or file
            // events: kept slim too, with what an indicator may name
            Some(t) => threat_match::event_fields(t)
                .into_iter()
                .chain(THREAT_KEEPS.iter().map(|f| f.to_string()))
                .collect(),
            None => return None,
        },
    };
    let mut fields = r.query.fields();
    if fields.iter().any(|f| f == "*") {
        return None;
    }
    fields.extend(spec_fields);
    fields.extend(AGGREGATE_KEEPS.iter().map(|f| f.to_string()));
    Some(fields)
}

/// An event packed for the investigation, with its host key.
type Pooled = (String, Packed);

/// Runs `book`'s rules over the evidence in `inputs`.
pub fn hunt(book: &RuleBook, inputs: &[PathBuf], opts: &HuntOptions) -> HuntReport {
    hunt_with(book, opts, |keep| {
        quarry_read::scan_batched(inputs, keep, Batch::of)
    })
}

/// [`hunt`] over events already read: one Spark partition's hosts.
pub fn hunt_events(book: &RuleBook, events: Vec<Event>, opts: &HuntOptions) -> HuntReport {
    hunt_with(book, opts, |keep| {
        let (kept, read) = quarry_read::scan_events(events, keep);
        (vec![Batch::of(kept)], read)
    })
}

/// What hands a hunt its evidence: a scan that puts each event through `keep`.
type Keep<'a> = &'a (dyn Fn(Event) -> Option<Kept> + Sync);

fn hunt_with(
    book: &RuleBook,
    opts: &HuntOptions,
    scan: impl FnOnce(Keep<'_>) -> (Vec<Batch>, ReadSummary),
) -> HuntReport {
    let rules = &book.rules;
    let selector = Selector::new(rules);
    let retention = Retention::for_rules(rules.iter().map(|r| &r.rule));
    // where each host's evidence begins: the history `new_terms` rules can
    // rely on for an event of that host
    let wants_start = rules.iter().any(|r| r.rule.new_terms.is_some());
    let evidence_from = EvidenceStart::default();
    // with what each field id comes to, worked out once
    let slim: Vec<Option<(Vec<String>, PathMemo)>> = rules
        .iter()
        .map(|r| slim_fields(r).map(|f| (f, PathMemo::new())))
        .collect();
    let (batches, read) = scan(&|ev| {
        if wants_start {
            evidence_from.see(&ev);
        }
        let matched = selector.matching(&ev);
        // kept for the investigation (lineage, follow-on activity, pivots):
        // slimmed to the fields those read, and packed
        let packed = retention.pack(&ev, !matched.is_empty());
        if matched.is_empty() {
            return packed.map(Kept::Pool);
        }
        let mut per_rule: PerRule = Vec::with_capacity(matched.len());
        let mut whole: Vec<usize> = Vec::new();
        for i in matched {
            match &slim[i] {
                Some((fields, memo)) => {
                    let under = |id| memo.holds(id, |path| is_under(path, fields));
                    per_rule.push((i, Arc::new(pack(&ev.projected(under)))));
                }
                None => whole.push(i),
            }
        }
        if !whole.is_empty() {
            let ev = Arc::new(pack(&ev));
            per_rule.extend(whole.into_iter().map(|i| (i, ev.clone())));
        }
        Some(Kept::Matched(Box::new((per_rule, packed))))
    });
    let mut report = HuntReport {
        read,
        ..Default::default()
    };
    let mut per_rule: Vec<PackedEvents> =
        (0..rules.len()).map(|_| PackedEvents::default()).collect();
    let mut pools = Vec::new();
    for b in batches {
        for (i, events) in b.matched {
            per_rule[i].append(events);
        }
        pools.extend(b.pool);
    }
    let mut investigation = Investigation::from_pools(pools);
    investigation.limits = opts.alert_limits;
    // hits are turned into alerts host by host: a host's pool is unpacked
    // for its alerts, then packed away again
    let evidence_from = evidence_from.into_map();
    let mut hits_by_host: BTreeMap<Option<String>, HostHits> = BTreeMap::new();
    // the events each correlation member matched, for the correlations;
    // members alert on their own only when a correlation says so
    let standalone = Standalone::of(book);
    let mut member = vec![false; rules.len()];
    for c in &book.correlations {
        for m in &c.members {
            if let Member::Rule { index, .. } = m {
                member[*index] = true;
            }
        }
    }
    let mut matched: Vec<Vec<Event>> = vec![Vec::new(); rules.len()];
    // each rule's hits judged on all cores, a few rules at a time (their
    // hits are held until taken), then taken in rule order
    let held: Vec<(usize, PackedEvents)> = per_rule
        .into_iter()
        .enumerate()
        .filter(|(_, h)| !h.is_empty())
        .collect();
    let mut held = held.into_iter();
    loop {
        let chunk: Vec<(usize, PackedEvents)> = held.by_ref().take(RULE_BATCH).collect();
        if chunk.is_empty() {
            break;
        }
        let judged: Vec<Judged> = chunk
            .into_par_iter()
            .map(|(i, held)| {
                let role = (member[i], standalone.rules[i]);
                judge(&rules[i], i, held, role, &evidence_from, opts)
            })
            .collect();
        for j in judged {
            let r = &rules[j.rule];
            for x in j.excepted {
                *report
                    .suppressed
                    .entry(opts.exceptions.exceptions[x].name.clone())
                    .or_default() += 1;
            }
            if let Some(m) = j.matched {
                matched[j.rule] = m;
            }
            report.folded += j.folded;
            let alerts = match j.alerts {
                // a correlation's member that does not alert on its own
                None => continue,
                Some(Ok(a)) => a,
                Some(Err(e)) => {
                    report.rule_errors.push((r.rule.name.clone(), e));
                    continue;
                }
            };
            let mut n = 0usize;
            for (h, extra) in alerts {
                if n as u64 >= r.rule.max_signals {
                    report.withheld += 1;
                    continue;
                }
                n += 1;
                let host = quarry_alert::hit_events(&h)
                    .last()
                    .copied()
                    .and_then(quarry_lineage::host_key);
                hits_by_host
                    .entry(host)
                    .or_default()
                    .push(&r.rule, &h, extra);
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
                    hits: j.total,
                    elapsed: j.elapsed,
                });
            }
        }
    }
    // correlations, over what their members matched
    for f in correlate::run(book, &matched, &standalone) {
        let rule = &book.correlations[f.correlation].rule;
        let last = f.events.last();
        if let Some(x) = last.and_then(|e| opts.exceptions.suppresses(&rule.rule_id, e)) {
            *report
                .suppressed
                .entry(opts.exceptions.exceptions[x].name.clone())
                .or_default() += 1;
            continue;
        }
        *report
            .counts
            .entry((rule.severity.clone(), rule.name.clone()))
            .or_default() += 1;
        let host = last.and_then(quarry_lineage::host_key);
        let hit = Hit::Sample {
            join_keys: f.group,
            events: f.events,
        };
        hits_by_host
            .entry(host)
            .or_default()
            .push(rule, &hit, f.extra);
    }
    let mut alerts = AlertSet::new(
        rules
            .iter()
            .map(|r| &r.rule)
            .chain(book.correlations.iter().map(|c| &c.rule)),
        opts.alert_limits.max_bytes,
    );
    for (host, hits) in hits_by_host {
        let mut events = hits.events.iter();
        let mut shaped = hits.hits.into_iter();
        // built on all cores a batch at a time, pushed in order: a host's
        // alerts are held whole only a batch at a time
        loop {
            let batch: Vec<(&Rule, Hit, J)> = shaped
                .by_ref()
                .take(ALERT_BATCH)
                .map(|(rule, shape, extra)| (rule, shape.hit(&mut events), extra))
                .collect();
            if batch.is_empty() {
                break;
            }
            // and finished there too (fitted, serialized, compressed)
            let built: Vec<quarry_alert::Ready> = batch
                .into_par_iter()
                .map(|(rule, h, extra)| {
                    let mut a = quarry_alert::alert(rule, &h, &investigation);
                    a.distinguish(&extra);
                    merge(&mut a.doc, extra);
                    alerts.ready(a)
                })
                .collect();
            for a in built {
                alerts.push_ready(a);
            }
        }
        if let Some(host) = host {
            investigation.release(&host);
        }
    }
    (report.alerts, report.oversized) = alerts.finish(&investigation);
    report
}

/// Rules whose hits are judged together on all cores (see [`hunt_with`]).
const RULE_BATCH: usize = 8;

/// What a rule's matched events came to ([`judge`]).
struct Judged {
    rule: usize,
    /// Its hits, before exceptions.
    total: usize,
    /// The exception (by index) that suppressed each suppressed hit.
    excepted: Vec<usize>,
    /// For a correlation's member: the events it matched.
    matched: Option<Vec<Event>>,
    /// Its alerts, before `max_signals`, or why its hits could not be
    /// judged; `None` when it only feeds correlations.
    alerts: Option<Result<Vec<(Hit, J)>, String>>,
    /// Alerts folded by its `alert_suppression`.
    folded: usize,
    elapsed: std::time::Duration,
}

/// Runs rule `r` (the `i`th) over the events it matched, and turns its hits
/// into alerts: what can be done for one rule without the others. `role`:
/// whether it is a correlation's member, and whether it alerts on its own.
fn judge(
    r: &CompiledRule,
    i: usize,
    held: PackedEvents,
    (member, standalone): (bool, bool),
    evidence_from: &HashMap<String, i64>,
    opts: &HuntOptions,
) -> Judged {
    let t = std::time::Instant::now();
    let hits = run_rule(r, held);
    let total = hits.len();
    // an excepted event is not counted towards a threshold or a term
    let exceptions = &opts.exceptions;
    let mut excepted = Vec::new();
    let mut unexcepted = Vec::with_capacity(hits.len());
    for h in hits {
        let last = quarry_alert::hit_events(&h).last().copied();
        match last.and_then(|e| exceptions.suppresses(&r.rule.rule_id, e)) {
            Some(x) => excepted.push(x),
            None => unexcepted.push(h),
        }
    }
    let mut judged = Judged {
        rule: i,
        total,
        excepted,
        matched: None,
        alerts: None,
        folded: 0,
        elapsed: std::time::Duration::ZERO,
    };
    if member {
        judged.matched = Some(
            unexcepted
                .iter()
                .filter_map(|h| match h {
                    Hit::Event(e) => Some(e.clone()),
                    _ => None,
                })
                .collect(),
        );
        if !standalone {
            judged.elapsed = t.elapsed();
            return judged;
        }
    }
    let alerts = alerts_of(r, unexcepted, evidence_from, opts).map(|alerts| {
        let Some(spec) = &r.rule.alert_suppression else {
            return alerts;
        };
        let last: Vec<&Event> = alerts
            .iter()
            .filter_map(|(h, _)| quarry_alert::hit_events(h).last().copied())
            .collect();
        if last.len() != alerts.len() {
            return alerts;
        }
        let (kept, folded) = suppression::suppress(spec, &last);
        judged.folded = folded;
        let mut alerts: Vec<Option<(Hit, J)>> = alerts.into_iter().map(Some).collect();
        kept.into_iter()
            .filter_map(|k| {
                let (h, mut extra) = alerts[k.index].take()?;
                merge(&mut extra, k.extra);
                Some((h, extra))
            })
            .collect()
    });
    judged.alerts = Some(alerts);
    judged.elapsed = t.elapsed();
    judged
}

/// The alerts a rule's hits raise, by the rule's type: each hit for event
/// queries, sequences and samples; the groups that cross it for
/// `threshold`; the first sightings for `new_terms`. Each comes with what
/// its alert document carries beyond the hit.
fn alerts_of(
    r: &CompiledRule,
    hits: Vec<Hit>,
    evidence_from: &HashMap<String, i64>,
    opts: &HuntOptions,
) -> Result<Vec<(Hit, J)>, String> {
    // the rule's matched events, moved out of their hits (an aggregating
    // rule's query is an event query)
    let events = |hits: Vec<Hit>| -> Vec<Event> {
        hits.into_iter()
            .filter_map(|h| match h {
                Hit::Event(e) => Some(e),
                _ => None,
            })
            .collect()
    };
    if let Some(spec) = &r.rule.threshold {
        let events = events(hits);
        let window = threshold::window_nanos(&r.rule)?;
        return Ok(threshold::crossings(spec, window, &events)
            .into_iter()
            .filter_map(|c| {
                // the alert stands on the window's last event
                let last = *c.events.last()?;
                let extra =
                    serde_json::json!({"kibana": {"alert": {"threshold_result": c.result}}});
                Some((Hit::Event(events[last].clone()), extra))
            })
            .collect());
    }
    if let Some(spec) = &r.rule.new_terms {
        let events = events(hits);
        let start =
            |ev: &Event| quarry_lineage::host_key(ev).and_then(|h| evidence_from.get(&h).copied());
        let found = new_terms::new_terms(spec, &events, start, opts.new_terms_history)?;
        return Ok(found
            .into_iter()
            .map(|n| (Hit::Event(events[n.event].clone()), n.extra))
            .collect());
    }
    if let Some(spec) = &r.rule.threat_match {
        let events = events(hits);
        let intel = opts
            .threat_intel
            .as_ref()
            .ok_or("threat_match rule without indicators (--threat-intel)")?;
        return Ok(threat_match::matches(spec, &events, intel)?
            .into_iter()
            .map(|(i, extra)| (Hit::Event(events[i].clone()), extra))
            .collect());
    }
    Ok(hits.into_iter().map(|h| (h, J::Null)).collect())
}

/// The hits of a rule over the events it matched (unpacked for it alone).
/// A sequence or sample first runs over its events slimmed to the fields
/// its query reads, each marked with its position: most of what such a
/// rule matches (every shell started, for a sequence ending in a scheduled
/// task) is in no hit, and whole events of a busy host took tens of MB at
/// once. The events of its hits are then put back whole.
fn run_rule(r: &CompiledRule, held: PackedEvents) -> Vec<Hit> {
    let fields = QueryFields::of(&r.query);
    if r.query.is_event_query() || fields.reads_every_field() {
        return r.query.run(held.unpack_all());
    }
    let mut slim = Vec::with_capacity(held.len());
    for (at, ev) in held.iter().enumerate() {
        if let Some(mut ev) = ev {
            fields.slim(&mut ev);
            ev.origin.locator = Locator::Index(at as u64);
            slim.push(ev);
        }
    }
    let mut hits = r.query.run(slim);
    quarry_alert::put_back_whole(&mut hits, &held);
    hits
}

/// A host's hits until its alerts are built: each hit's rule, shape and
/// what its aggregation adds, and the hits' events, in order, compressed
/// together (a run's hits held as single events were a large part of its
/// memory).
#[derive(Default)]
struct HostHits<'r> {
    hits: Vec<(&'r Rule, HitShape, J)>,
    events: PackedEvents,
}

/// A hit without its events, which [`HostHits::events`] holds in order.
enum HitShape {
    Event,
    /// Which of the sequence's places an event fills.
    Sequence {
        join_keys: Vec<J>,
        filled: Vec<bool>,
    },
    Sample {
        join_keys: Vec<J>,
        events: usize,
    },
}

impl<'r> HostHits<'r> {
    fn push(&mut self, rule: &'r Rule, hit: &Hit, extra: J) {
        let shape = match hit {
            Hit::Event(e) => {
                self.events.push(&pack(e));
                HitShape::Event
            }
            Hit::Sequence { join_keys, events } => {
                for e in events.iter().flatten() {
                    self.events.push(&pack(e));
                }
                HitShape::Sequence {
                    join_keys: join_keys.clone(),
                    filled: events.iter().map(Option::is_some).collect(),
                }
            }
            Hit::Sample { join_keys, events } => {
                for e in events {
                    self.events.push(&pack(e));
                }
                HitShape::Sample {
                    join_keys: join_keys.clone(),
                    events: events.len(),
                }
            }
        };
        self.hits.push((rule, shape, extra));
    }
}

impl HitShape {
    /// The hit back, its events taken from `events` (bytes written by
    /// [`pack`] always unpack).
    fn hit(self, events: &mut quarry_alert::Unpacking<'_>) -> Hit {
        let mut one = || {
            events
                .next()
                .flatten()
                .unwrap_or_else(|| Event::new(Default::default()))
        };
        match self {
            HitShape::Event => Hit::Event(one()),
            HitShape::Sequence { join_keys, filled } => Hit::Sequence {
                join_keys,
                events: filled.into_iter().map(|f| f.then(&mut one)).collect(),
            },
            HitShape::Sample { join_keys, events } => Hit::Sample {
                join_keys,
                events: (0..events).map(|_| one()).collect(),
            },
        }
    }
}

/// Merges `extra` into `doc`, object by object (`extra` wins elsewhere).
fn merge(doc: &mut J, extra: J) {
    match (doc, extra) {
        (_, J::Null) => {}
        (J::Object(d), J::Object(x)) => {
            for (k, v) in x {
                merge(d.entry(k).or_insert(J::Null), v);
            }
        }
        (d, x) => *d = x,
    }
}

/// The earliest time of each host's evidence, seen from every core. Most
/// events are later than their host's start, which a shared read lock
/// answers; the write lock is taken only for an earlier one.
#[derive(Default)]
struct EvidenceStart(RwLock<HashMap<String, i64>>);

impl EvidenceStart {
    fn see(&self, ev: &Event) {
        let (Some(t), Some(host)) = (ev.timestamp, quarry_lineage::host_key(ev)) else {
            return;
        };
        let known = self.0.read().ok().and_then(|m| m.get(&host).copied());
        if known.is_some_and(|k| k <= t) {
            return;
        }
        if let Ok(mut m) = self.0.write() {
            let e = m.entry(host).or_insert(t);
            *e = (*e).min(t);
        }
    }

    fn into_map(self) -> HashMap<String, i64> {
        self.0.into_inner().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuleBook;
    use quarry_event::Origin;

    #[test]
    fn a_sequence_runs_over_slim_events_and_its_hits_come_back_whole() {
        let text = "[rule]\nrule_id = \"seq\"\nname = \"seq\"\ntype = \"eql\"\nlanguage = \"eql\"\n\
                    index = [\"logs-*\"]\nquery = '''sequence by process.entity_id \
                    [process where process.name == \"cmd.exe\"] [network where destination.port == 443]'''\n";
        let mut set = quarry_rules::RuleSet::default();
        set.extend(quarry_rules::load_str(text, "seq.toml".into()));
        let book = RuleBook::compile(set);
        let rule = &book.rules[0];
        let event = |i: u64, category: &str, id: &str| {
            let mut ev = Event::new(Origin {
                file: "a.evtx".into(),
                locator: Locator::Record(100 + i),
            });
            ev.set_timestamp(1_700_000_000_000_000_000 + i as i64 * 1_000_000_000);
            ev.set("event.category", vec![category]);
            ev.set("process.entity_id", id);
            ev.set("process.name", "cmd.exe");
            ev.set("destination.port", 443i64);
            // read by no filter: dropped for the run, back in the hits
            ev.set("process.command_line", format!("cmd.exe /c event {i}"));
            ev.set("user.name", "alice");
            ev
        };
        let events = vec![
            event(0, "process", "A"),
            event(1, "process", "B"),
            event(2, "network", "B"),
            event(3, "network", "C"),
        ];
        let mut held = PackedEvents::default();
        for e in &events {
            held.push(&pack(e));
        }
        let hits = run_rule(rule, held);
        assert_eq!(hits.len(), 1);
        let got: Vec<J> = quarry_alert::hit_events(&hits[0])
            .into_iter()
            .map(|e| {
                assert!(e.get("process.command_line").is_some());
                e.to_json()
            })
            .collect();
        let want: Vec<J> = [&events[1], &events[2]]
            .iter()
            .map(|e| e.to_json())
            .collect();
        assert_eq!(got, want);
        let origins: Vec<&Origin> = quarry_alert::hit_events(&hits[0])
            .into_iter()
            .map(|e| &e.origin)
            .collect();
        assert_eq!(origins, vec![&events[1].origin, &events[2].origin]);
    }
}
