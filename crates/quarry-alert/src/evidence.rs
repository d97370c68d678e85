//! The evidence kept for investigating alerts: lineage, and per host the
//! retained events, packed until an alert needs them; pivots run over it,
//! by lookups in an index of the values their terms ask for.

use crate::pivot::{Pivot, TermOp};
use crate::{ACTIVITY, AlertLimits, CATEGORIES, Packed, PackedEvents, summary};
use quarry_event::Event;
use quarry_lineage::{HostLineage, Lineage};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde_json::{Value as J, json};
use std::borrow::Cow;
use std::sync::{Arc, Mutex, OnceLock};

/// The evidence kept for investigating alerts: lineage, and per host the
/// events of [`CATEGORIES`] — packed ([`Retention::pack`]) until an alert on the host
/// needs them, then unpacked in time order.
#[derive(Debug, Default)]
pub struct Investigation {
    pub lineage: Lineage,
    pub(crate) hosts: FxHashMap<String, HostPool>,
    /// Executables and command lines per host, for triage's scope: built on
    /// first use.
    pub(crate) scope: OnceLock<crate::triage::ScopeIndex>,
    /// How much the alerts built from it list.
    pub limits: AlertLimits,
}

/// The kinds of telemetry a report states per host, in order.
pub const TELEMETRY: &[&str] = &[
    "process",
    "network",
    "dns",
    "file",
    "registry",
    "authentication",
];

#[derive(Debug, Default)]
pub(crate) struct HostPool {
    packed: PackedEvents,
    /// The files the host's kept events were read from, sorted.
    files: Vec<Arc<str>>,
    /// Events per category on this host (and `dns`: events with a query).
    categories: FxHashMap<&'static str, usize>,
    /// The host's name as its events give it.
    name: Option<String>,
    /// The host's events, unpacked on first use ([`Investigation::release`]
    /// packs them away again).
    events: OnceLock<HostEvents>,
}

#[derive(Debug, Default)]
struct HostEvents {
    events: Vec<Event>,
    /// Lineage process index → indexes into `events` of its activity.
    by_process: FxHashMap<usize, Vec<usize>>,
    /// The events by the values pivots ask for.
    index: TermIndex,
}

/// Per field a pivot has asked for, the events holding each of its values
/// (entity ids by [`quarry_event::entity_key`]), in the events' order: built
/// for a field on its first use, so that each later pivot on it is a lookup
/// rather than a scan of the host's events (the process, parent and user
/// terms of Elastic's investigation guides).
#[derive(Debug, Default)]
pub(crate) struct TermIndex(Mutex<FxHashMap<String, Arc<ValueIndex>>>);

/// One field's index: value key → indexes of the events holding it.
type ValueIndex = FxHashMap<String, Vec<u32>>;

/// The key a value is indexed and looked up by: what a pivot's term compares
/// ([`crate::pivot::Term`]: entity ids as one process, other values as text).
fn term_key(text: &str, entity: bool) -> String {
    if entity {
        quarry_event::entity_key(text)
    } else {
        text.to_string()
    }
}

impl TermIndex {
    fn field(&self, field: &str, events: &[Event]) -> Arc<ValueIndex> {
        let mut fields = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ix) = fields.get(field) {
            return ix.clone();
        }
        let entity = field.ends_with("entity_id");
        let id = quarry_event::find_field(field);
        let mut ix = ValueIndex::default();
        for (i, e) in events.iter().enumerate() {
            let v = match id {
                Some(id) => e.get_id(id),
                None => e.get(field),
            };
            for x in v.into_iter().flat_map(|v| v.iter()) {
                if let Some(t) = x.to_text() {
                    let list = ix.entry(term_key(&t, entity)).or_default();
                    // an array holding a value twice names the event once
                    if list.last() != Some(&(i as u32)) {
                        list.push(i as u32);
                    }
                }
            }
        }
        let ix = Arc::new(ix);
        fields.insert(field.to_string(), ix.clone());
        ix
    }

    /// The indexes into `events` of those the pivot can match, in order:
    /// when each of its groups asks a field for given values, the events
    /// holding one of them (of a group's such terms, the one fewest events
    /// hold); `None` (all of them) otherwise.
    pub(crate) fn candidates(&self, pivot: &Pivot, events: &[Event]) -> Option<Vec<usize>> {
        if events.len() < 64 {
            return None;
        }
        let mut found: Vec<usize> = Vec::new();
        for g in &pivot.groups {
            let mut best: Option<Vec<u32>> = None;
            for t in g.iter().filter(|t| !t.excluded) {
                let wants: &[String] = match &t.op {
                    TermOp::Is(w) => std::slice::from_ref(w),
                    TermOp::OneOf(ws) => ws,
                    _ => continue,
                };
                let ix = self.field(&t.field, events);
                let entity = t.field.ends_with("entity_id");
                let mut holding: Vec<u32> = Vec::new();
                for w in wants {
                    if let Some(list) = ix.get(&term_key(w, entity)) {
                        holding.extend(list);
                    }
                }
                if best.as_ref().is_none_or(|b| holding.len() < b.len()) {
                    best = Some(holding);
                }
            }
            found.extend(best?.into_iter().map(|i| i as usize));
        }
        found.sort_unstable();
        found.dedup();
        Some(found)
    }

    /// The events the pivot can match, in order: those
    /// [`TermIndex::candidates`] names, or every one.
    pub(crate) fn events_for<'e>(
        &self,
        pivot: &Pivot,
        events: &'e [Event],
    ) -> impl Iterator<Item = (usize, &'e Event)> {
        let found = self.candidates(pivot, events);
        let all = found.is_none().then_some(events.iter().enumerate());
        let some = found.map(|f| f.into_iter().map(|i| (i, &events[i])));
        all.into_iter().flatten().chain(some.into_iter().flatten())
    }
}

impl HostPool {
    /// The host's events: as unpacked already, or unpacked for this use only.
    pub(crate) fn events_now(&self) -> Cow<'_, [Event]> {
        match self.events.get() {
            Some(h) => Cow::Borrowed(&h.events),
            None => Cow::Owned(self.packed.unpack_all()),
        }
    }

    fn unpacked(&self, lin: Option<&HostLineage>) -> &HostEvents {
        self.events.get_or_init(|| {
            let mut events: Vec<Event> = self.packed.unpack_all();
            events.sort_by_key(|e| e.timestamp.unwrap_or(i64::MIN));
            let mut by_process: FxHashMap<usize, Vec<usize>> = FxHashMap::default();
            for (i, ev) in events.iter().enumerate() {
                if !ACTIVITY
                    .iter()
                    .any(|c| ev.has_value_id(quarry_event::fid!("event.category"), c))
                {
                    continue;
                }
                if let Some(p) = lin.and_then(|l| l.resolve_index(ev).0) {
                    by_process.entry(p).or_default().push(i);
                }
            }
            HostEvents {
                events,
                by_process,
                index: TermIndex::default(),
            }
        })
    }
}

impl Investigation {
    /// Builds the investigation from events packed where they were read
    /// ([`Retention::pack`]), each with its host key: lineage is built by
    /// unpacking each event once, the pools stay packed.
    pub fn from_packed(packed: Vec<(String, Packed)>) -> Self {
        let mut hosts: FxHashMap<String, PackedEvents> = FxHashMap::default();
        for (h, p) in packed {
            hosts.entry(h).or_default().push(&p);
        }
        Self::from_pools(hosts)
    }

    /// [`Investigation::from_packed`] from events packed in sets by host
    /// ([`PackedEvents`]); a host's sets are joined in the order given.
    pub fn from_pools(pools: impl IntoIterator<Item = (String, PackedEvents)>) -> Self {
        let mut hosts: FxHashMap<String, HostPool> = FxHashMap::default();
        for (h, p) in pools {
            hosts.entry(h).or_default().packed.append(p);
        }
        // host by host on all cores: a host's lineage is its own
        let built: Vec<(String, HostLineage)> = hosts
            .par_iter_mut()
            .map(|(key, pool)| {
                let mut lin = HostLineage::default();
                pool.packed.finish();
                pool.packed.for_each(|ev| {
                    for &c in CATEGORIES {
                        if ev.has_value_id(quarry_event::fid!("event.category"), c) {
                            *pool.categories.entry(c).or_default() += 1;
                        }
                    }
                    if ev.get("dns.question.name").is_some() {
                        *pool.categories.entry("dns").or_default() += 1;
                    }
                    if pool.name.is_none() {
                        pool.name = ev.get_str("host.name").map(str::to_string);
                    }
                    lin.observe(&ev);
                });
                lin.build();
                pool.files = pool.packed.files();
                (key.clone(), lin)
            })
            .collect();
        let mut lineage = Lineage::default();
        lineage.hosts.extend(built);
        Investigation {
            lineage,
            hosts,
            scope: OnceLock::new(),
            limits: AlertLimits::default(),
        }
    }

    /// The hosts kept, by key, with the name their events give.
    pub fn hosts(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.hosts
            .iter()
            .map(|(k, p)| (k.as_str(), p.name.as_deref()))
    }

    /// The events of each kind of [`TELEMETRY`] kept for a host (process:
    /// starts and ends), zero for kinds it has none of.
    pub fn telemetry(&self, host: &str) -> Vec<(&'static str, usize)> {
        let h = self.hosts.get(host);
        TELEMETRY
            .iter()
            .map(|&c| (c, h.and_then(|h| h.categories.get(c).copied()).unwrap_or(0)))
            .collect()
    }

    fn unpacked(&self, host: &str) -> Option<&HostEvents> {
        self.hosts
            .get(host)
            .map(|p| p.unpacked(self.lineage.host(host)))
    }

    /// Packs a host's events away again once its alerts are built.
    pub fn release(&mut self, host: &str) {
        if let Some(p) = self.hosts.get_mut(host) {
            p.events = OnceLock::new();
        }
    }

    /// The files (or `archive.zip!member`s) a host's kept events were read
    /// from, sorted: what investigating one of its alerts must re-read.
    pub fn host_inputs(&self, host: &str) -> &[Arc<str>] {
        self.hosts.get(host).map(|p| &p.files[..]).unwrap_or(&[])
    }

    /// The kept events of a host, in time order.
    pub fn host_events(&self, host: &str) -> &[Event] {
        self.unpacked(host).map(|h| &h.events[..]).unwrap_or(&[])
    }

    /// Follow-on activity of a process and its descendants: their file,
    /// registry, network and authentication events, in time order.
    pub fn activity(&self, host: &str, process: usize) -> Vec<&Event> {
        let (Some(h), Some(lin)) = (self.unpacked(host), self.lineage.host(host)) else {
            return Vec::new();
        };
        let mut procs = vec![process];
        if let Some(p) = lin.process(process) {
            procs.extend(
                lin.descendants(p)
                    .into_iter()
                    .filter_map(|d| lin.index_of(d)),
            );
        }
        let mut idx: Vec<usize> = procs
            .iter()
            .filter_map(|p| h.by_process.get(p))
            .flatten()
            .copied()
            .collect();
        idx.sort_unstable();
        idx.dedup();
        idx.into_iter().map(|i| &h.events[i]).collect()
    }

    /// Activity categories the host has no events of at all.
    pub fn missing_telemetry(&self, host: &str) -> Vec<&'static str> {
        let h = self.hosts.get(host);
        ["file", "registry", "network"]
            .into_iter()
            .filter(|c| h.is_none_or(|h| !h.categories.contains_key(c)))
            .collect()
    }

    /// Runs a pivot over the kept events — the alert's host only when the
    /// pivot is confined to it; other hosts are unpacked one at a time and
    /// not kept.
    pub fn run_pivot(&self, pivot: &Pivot, host: Option<&str>) -> PivotResult {
        let mut acc = PivotAcc::new(self.limits.listed);
        if pivot.groups.is_empty() {
            return acc.finish();
        }
        for (key, pool) in &self.hosts {
            let same = host == Some(key.as_str());
            if pivot.host_scoped && !same {
                continue;
            }
            if same && let Some(h) = self.unpacked(key) {
                for (_, e) in h.index.events_for(pivot, &h.events) {
                    acc.observe(pivot, e, same);
                }
                continue;
            }
            for e in pool.events_now().iter() {
                acc.observe(pivot, e, same);
            }
        }
        acc.finish()
    }
}

/// A pivot's findings while hosts are scanned: the count, the earliest
/// `max` matches (kept bounded as they come), the times of the matches left
/// out, and the matches after the window.
pub(crate) struct PivotAcc {
    max: usize,
    count: usize,
    listed: Vec<(i64, J)>,
    /// Earliest and latest time of the matches dropped from `listed`.
    dropped: Option<(i64, i64)>,
    after_window: usize,
}

impl PivotAcc {
    pub(crate) fn new(max: usize) -> Self {
        PivotAcc {
            max,
            count: 0,
            listed: Vec::new(),
            dropped: None,
            after_window: 0,
        }
    }

    pub(crate) fn observe(&mut self, pivot: &Pivot, e: &Event, same_host: bool) {
        match pivot.in_window(e) {
            Some(true) if pivot.matches_terms(e, same_host) => {
                self.count += 1;
                self.listed
                    .push((e.timestamp.unwrap_or(i64::MIN), summary(e)));
                if self.listed.len() >= 2 * self.max.max(1) {
                    self.cut();
                }
            }
            None if pivot.matches_terms(e, same_host) => self.after_window += 1,
            _ => {}
        }
    }

    /// Keeps the first `max` by time (stable: of equal times, the first
    /// seen stay), noting the times of the others.
    fn cut(&mut self) {
        self.listed.sort_by_key(|(t, _)| *t);
        for (t, _) in self.listed.drain(self.max.min(self.listed.len())..) {
            self.dropped = Some(match self.dropped {
                Some((a, b)) => (a.min(t), b.max(t)),
                None => (t, t),
            });
        }
    }

    pub(crate) fn finish(mut self) -> PivotResult {
        self.cut();
        let left_out = self.count - self.listed.len();
        PivotResult {
            count: self.count,
            events: self.listed.into_iter().map(|(_, j)| j).collect(),
            omitted: crate::bounded::omitted(
                left_out,
                self.dropped
                    .map(|(a, b)| (Some(a), Some(b)))
                    .unwrap_or_default(),
            ),
            after_window: self.after_window,
        }
    }
}

/// What a pivot found.
#[derive(Debug, Default)]
pub struct PivotResult {
    /// How many events in the window match.
    pub count: usize,
    /// The first [`AlertLimits::listed`] of them, in time order, as [`summary`]s.
    pub events: Vec<J>,
    /// How many were left out of `events` and their time range.
    pub omitted: Option<J>,
    /// Matching events after the window's end: the window's `now` is the
    /// alert's time, and what the process did next is worth knowing of.
    pub after_window: usize,
}

impl PivotResult {
    /// `count`, `events` and (when not zero) `after_window`, into a pivot's
    /// JSON.
    pub fn fill(&self, pj: &mut J) {
        pj["count"] = json!(self.count);
        pj["events"] = J::Array(self.events.clone());
        if let Some(o) = &self.omitted {
            pj["omitted"] = o.clone();
        }
        if self.after_window > 0 {
            pj["after_window"] = json!(self.after_window);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pivot::Term;
    use quarry_event::Origin;

    fn term(field: &str, op: TermOp) -> Term {
        Term {
            field: field.into(),
            op,
            excluded: false,
            id: quarry_event::find_field(field),
        }
    }

    #[test]
    fn lookups_find_what_a_scan_finds() {
        // entity ids in other renderings, pids as numbers and text, arrays
        let events: Vec<Event> = (0..500)
            .map(|i| {
                let mut e = Event::new(Origin::default());
                let guid = format!("{{ab{:02x}-0000}}", i % 7);
                let guid = if i % 2 == 0 {
                    guid.to_uppercase()
                } else {
                    guid
                };
                e.set("process.entity_id", guid);
                if i % 3 == 0 {
                    e.set("process.pid", (i % 11) as i64);
                } else {
                    e.set("process.pid", format!("{}", i % 11));
                }
                e.set(
                    "event.category",
                    vec!["file", if i % 5 == 0 { "network" } else { "file" }],
                );
                e.set_timestamp(i as i64);
                e
            })
            .collect();
        let pivot = |groups: Vec<Vec<Term>>| Pivot {
            label: String::new(),
            groups,
            notes: Vec::new(),
            window: None,
            host_scoped: true,
        };
        let pivots = [
            pivot(vec![vec![term(
                "process.entity_id",
                TermOp::Is("AB03-0000".into()),
            )]]),
            pivot(vec![
                vec![
                    term("event.category", TermOp::Is("network".into())),
                    term("process.pid", TermOp::Is("4".into())),
                ],
                vec![term(
                    "process.entity_id",
                    TermOp::OneOf(vec!["{ab01-0000}".into(), "x".into()]),
                )],
            ]),
            pivot(vec![vec![term("process.pid", TermOp::Exists)]]),
        ];
        let index = TermIndex::default();
        for (n, p) in pivots.iter().enumerate() {
            let scan: Vec<usize> = (0..events.len())
                .filter(|&i| p.matches(&events[i], true))
                .collect();
            let looked_up: Vec<usize> = match index.candidates(p, &events) {
                Some(c) => c
                    .into_iter()
                    .filter(|&i| p.matches(&events[i], true))
                    .collect(),
                None => {
                    assert_eq!(n, 2, "only a pivot without a value to look up scans");
                    scan.clone()
                }
            };
            assert!(!scan.is_empty(), "pivot {n} finds something");
            assert_eq!(looked_up, scan, "pivot {n}");
        }
    }
}
