//! Alerts and their investigation.
//!
//! A rule hit becomes an alert document shaped as Elastic Security's
//! (`kibana.alert.*`, `event.kind: signal`, the matched event's ECS fields at
//! the top level) that already carries what its investigation guide asks
//! for, from the evidence quarry read:
//!
//! - `quarry.lineage`: the process, its parent and grandparent, children and
//!   descendants (from [`quarry_lineage`]);
//! - `quarry.activity`: the file, registry, network, DNS and authentication
//!   events of the process and its descendants, and which of those kinds of
//!   telemetry the host has none of ("unresolved, not benign");
//! - `quarry.investigate`: the rule's `[[transform.investigate]]` pivots,
//!   run (see [`pivot`]);
//! - `quarry.triage`: for a process start, the investigation guide's
//!   questions answered and a one-line hint (see [`triage`]).
//! - `quarry.inputs`: the evidence files that hold the alert's host, so
//!   that investigating it later re-reads only those.
//!
//! Each alert is named by `kibana.alert.uuid`, derived from the rule and
//! the events it matched ([`alert_uuid`]): the same evidence gives the same
//! id in every run, and its first 8 hex digits ([`short_id`]) name it in a
//! table.
//!
//! The evidence kept for this is an [`Investigation`]: every process, file,
//! registry, network and authentication event, slimmed by a [`Retention`] to
//! the fields lineage, activity and the loaded rules' pivots read. All of it
//! is kept per host, like the lineage it is built on.
//!
//! [`investigate`] takes one alert further, as `quarry investigate` shows
//! it: the process tree, the timeline, and the rule's pivots run again.

pub mod investigate;
mod pack;
pub mod pivot;
pub mod triage;

pub use pack::{Packed, pack};

use pivot::{Pivot, TermOp};
use quarry_eql::Hit;
use quarry_event::{Event, format_timestamp};
use quarry_lineage::{HostLineage, Lineage, Process, host_key, is_lifecycle};
use quarry_rules::Rule;
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Map, Value as J, json};
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use uuid::Uuid;

/// Event categories an investigation looks at.
pub const CATEGORIES: &[&str] = &["process", "file", "registry", "network", "authentication"];

/// Categories reported as follow-on activity (process starts are reported
/// as descendants instead).
const ACTIVITY: &[&str] = &["file", "registry", "network", "authentication"];

/// Fields kept of each event for lineage, activity and the common pivots.
const BASE_FIELDS: &[&str] = &[
    "@timestamp",
    "event.category",
    "event.type",
    "event.action",
    "event.code",
    "event.kind",
    "event.dataset",
    "event.outcome",
    "host.id",
    "host.name",
    "process.entity_id",
    "process.pid",
    "process.name",
    "process.executable",
    "process.command_line",
    "process.parent.entity_id",
    "process.parent.pid",
    "process.parent.name",
    "process.parent.executable",
    "process.parent.command_line",
    "user.name",
    "user.domain",
    "user.id",
    "file.path",
    "registry.path",
    "registry.data.strings",
    "destination.ip",
    "destination.port",
    "destination.domain",
    "source.ip",
    "source.port",
    "network.protocol",
    "network.direction",
    "dns.question.name",
    "dns.resolved_ip",
    "url.full",
];

/// The fields of an event shown in an alert's activity and pivot results.
const SUMMARY_FIELDS: &[&str] = &[
    "@timestamp",
    "event.category",
    "event.action",
    "event.code",
    "process.pid",
    "process.entity_id",
    "process.name",
    "process.command_line",
    "file.path",
    "registry.path",
    "registry.data.strings",
    "source.ip",
    "destination.ip",
    "destination.port",
    "dns.question.name",
    "dns.resolved_ip",
    "user.name",
];

/// At most this many events are listed per activity or pivot; the count
/// says how many there were.
pub const MAX_LISTED: usize = 100;

/// An alert lists the files holding its host (`quarry.inputs`) only up to
/// this many: past it the list would outweigh the alert, and investigating
/// re-reads every input instead.
pub const MAX_INPUTS: usize = 256;

/// The namespace of alert ids (a random v4 UUID, fixed for quarry): ids are
/// name-based (v5) UUIDs of the rule and the matched events in it.
const ALERT_NAMESPACE: Uuid = Uuid::from_u128(0xcd92_90ee_3403_402e_af70_8829_27df_7667);

/// Which events an investigation keeps, and which of their fields.
#[derive(Debug, Clone)]
pub struct Retention {
    ids: FxHashSet<quarry_event::FieldId>,
    categories: FxHashSet<Box<str>>,
    codes: FxHashSet<Box<str>>,
}

impl Retention {
    /// Keeps the base fields (`BASE_FIELDS`) and every field the rules' pivots read; keeps
    /// the events of [`CATEGORIES`] and those of any category or event code
    /// a pivot asks for by value (service installs by `event.code: 7045`, …).
    pub fn for_rules<'a>(rules: impl IntoIterator<Item = &'a Rule>) -> Self {
        let mut fields: FxHashSet<Box<str>> = BASE_FIELDS.iter().map(|&f| f.into()).collect();
        let mut categories: FxHashSet<Box<str>> = CATEGORIES.iter().map(|&c| c.into()).collect();
        let mut codes: FxHashSet<Box<str>> = FxHashSet::default();
        for r in rules {
            for inv in &r.investigate {
                for p in inv.providers.iter().flatten() {
                    fields.insert(p.field.as_str().into());
                    if p.excluded || p.value.contains("{{") {
                        continue;
                    }
                    match p.field.as_str() {
                        "event.category" => {
                            categories.insert(p.value.to_ascii_lowercase().into());
                        }
                        "event.code" => {
                            codes.insert(p.value.as_str().into());
                        }
                        _ => {}
                    }
                }
            }
        }
        let ids = fields.iter().map(|f| quarry_event::field_id(f)).collect();
        Retention {
            ids,
            categories,
            codes,
        }
    }

    /// Whether an investigation needs this event: it is on a known host and
    /// of a kept category or event code. Of the `process` category only
    /// starts and ends are kept: Sysmon's process access, image load,
    /// remote thread and tampering events are `process` too, and far more
    /// numerous than what lineage and the pivots read.
    pub fn wants(&self, ev: &Event) -> bool {
        let lifecycle = is_lifecycle(ev);
        let kept = |path: &str, set: &FxHashSet<Box<str>>| {
            ev.get(path).is_some_and(|v| {
                v.iter().any(|x| {
                    // ECS categories are lower-case; codes are digits
                    x.to_text()
                        .is_some_and(|t| set.contains(t.as_ref()) && (t != "process" || lifecycle))
                })
            })
        };
        host_key(ev).is_some()
            && (kept("event.category", &self.categories)
                || (!self.codes.is_empty() && kept("event.code", &self.codes)))
    }

    /// The event slimmed and packed for the pool, with its host key; `None`
    /// when the investigation does not want it — unless `always` (an event a
    /// rule matched: pivots look for the alert's own kind of event).
    pub fn pack(&self, ev: &Event, always: bool) -> Option<(String, Packed)> {
        if !always && !self.wants(ev) {
            return None;
        }
        let host = host_key(ev)?;
        let mut slim = Event::with_capacity(ev.origin.clone(), 24);
        slim.timestamp = ev.timestamp;
        for (id, v) in ev.fields_by_id() {
            if self.ids.contains(&id) {
                slim.insert_id(id, v.clone());
            }
        }
        Some((host, pack(&slim)))
    }
}

/// The evidence kept for investigating alerts: lineage, and per host the
/// events of [`CATEGORIES`] — packed ([`Retention::pack`]) until an alert on the host
/// needs them, then unpacked in time order.
#[derive(Debug, Default)]
pub struct Investigation {
    pub lineage: Lineage,
    hosts: FxHashMap<String, HostPool>,
    /// Executables and command lines per host, for triage's scope: built on
    /// first use.
    scope: OnceLock<triage::ScopeIndex>,
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
struct HostPool {
    packed: Vec<Packed>,
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
}

impl HostPool {
    /// The host's events: as unpacked already, or unpacked for this use only.
    fn events_now(&self) -> Cow<'_, [Event]> {
        match self.events.get() {
            Some(h) => Cow::Borrowed(&h.events),
            None => Cow::Owned(self.packed.iter().filter_map(Packed::unpack).collect()),
        }
    }

    fn unpacked(&self, lin: Option<&HostLineage>) -> &HostEvents {
        self.events.get_or_init(|| {
            let mut events: Vec<Event> = self.packed.iter().filter_map(Packed::unpack).collect();
            events.sort_by_key(|e| e.timestamp.unwrap_or(i64::MIN));
            let mut by_process: FxHashMap<usize, Vec<usize>> = FxHashMap::default();
            for (i, ev) in events.iter().enumerate() {
                if !ACTIVITY.iter().any(|c| ev.has_value("event.category", c)) {
                    continue;
                }
                if let Some(p) = lin.and_then(|l| l.resolve_index(ev).0) {
                    by_process.entry(p).or_default().push(i);
                }
            }
            HostEvents { events, by_process }
        })
    }
}

impl Investigation {
    /// Builds the investigation from events packed where they were read
    /// ([`Retention::pack`]), each with its host key: lineage is built by
    /// unpacking each event once, the pools stay packed.
    pub fn from_packed(packed: Vec<(String, Packed)>) -> Self {
        let mut hosts: FxHashMap<String, HostPool> = FxHashMap::default();
        for (h, p) in packed {
            hosts.entry(h).or_default().packed.push(p);
        }
        let mut lineage = Lineage::default();
        for (key, pool) in hosts.iter_mut() {
            let mut lin = HostLineage::default();
            for ev in pool.packed.iter().filter_map(Packed::unpack) {
                for &c in CATEGORIES {
                    if ev.has_value("event.category", c) {
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
            }
            lin.build();
            pool.packed.shrink_to_fit();
            // events of a file come together: compare neighbours first
            let mut files: Vec<Arc<str>> = Vec::new();
            for p in &pool.packed {
                if files.last().is_none_or(|f| !Arc::ptr_eq(f, p.file())) {
                    files.push(p.file().clone());
                }
            }
            files.sort_unstable();
            files.dedup();
            pool.files = files;
            lineage.hosts.insert(key.clone(), lin);
        }
        Investigation {
            lineage,
            hosts,
            scope: OnceLock::new(),
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
        let mut acc = PivotAcc::default();
        if pivot.groups.is_empty() {
            return acc.finish();
        }
        for (key, pool) in &self.hosts {
            let same = host == Some(key.as_str());
            if pivot.host_scoped && !same {
                continue;
            }
            let events = if same {
                Cow::Borrowed(self.host_events(key))
            } else {
                pool.events_now()
            };
            for e in events.iter() {
                acc.observe(pivot, e, same);
            }
        }
        acc.finish()
    }
}

/// A pivot's findings while hosts are scanned: the count, the earliest
/// [`MAX_LISTED`] matches (kept bounded as they come), and the matches after
/// the window.
#[derive(Default)]
struct PivotAcc {
    count: usize,
    listed: Vec<(i64, J)>,
    after_window: usize,
}

impl PivotAcc {
    fn observe(&mut self, pivot: &Pivot, e: &Event, same_host: bool) {
        match pivot.in_window(e) {
            Some(true) if pivot.matches_terms(e, same_host) => {
                self.count += 1;
                self.listed
                    .push((e.timestamp.unwrap_or(i64::MIN), summary(e)));
                if self.listed.len() >= 2 * MAX_LISTED {
                    // stable: of equal times, the first seen stay
                    self.listed.sort_by_key(|(t, _)| *t);
                    self.listed.truncate(MAX_LISTED);
                }
            }
            None if pivot.matches_terms(e, same_host) => self.after_window += 1,
            _ => {}
        }
    }

    fn finish(mut self) -> PivotResult {
        self.listed.sort_by_key(|(t, _)| *t);
        PivotResult {
            count: self.count,
            events: self
                .listed
                .into_iter()
                .take(MAX_LISTED)
                .map(|(_, j)| j)
                .collect(),
            after_window: self.after_window,
        }
    }
}

/// What a pivot found.
#[derive(Debug, Default)]
pub struct PivotResult {
    /// How many events in the window match.
    pub count: usize,
    /// The first [`MAX_LISTED`] of them, in time order, as [`summary`]s.
    pub events: Vec<J>,
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
        if self.after_window > 0 {
            pj["after_window"] = json!(self.after_window);
        }
    }
}

/// One alert: its document and what is needed to finish it once every
/// alert of the run is known.
#[derive(Debug, Clone)]
pub struct Alert {
    pub doc: J,
    host: Option<String>,
    /// Pivots that look for alerts (`event.kind: signal`), by their index in
    /// `quarry.investigate`: run by [`link_alerts`].
    signal_pivots: Vec<(usize, Pivot)>,
    /// Pivots not confined to the alert's host: run by [`run_cross_host`].
    cross_host_pivots: Vec<(usize, Pivot)>,
}

impl Alert {
    /// Makes what a rule's aggregation adds to an alert part of its id
    /// (`kibana.alert.*` of `extra`: a threshold's group and count, a
    /// new_terms rule's terms): two groups that end on the same event are
    /// two alerts.
    pub fn distinguish(&mut self, extra: &J) {
        let part = &extra["kibana"]["alert"];
        if part.is_null() {
            return;
        }
        let Some(id) = self.doc["kibana"]["alert"]["uuid"]
            .as_str()
            .and_then(|u| Uuid::parse_str(u).ok())
        else {
            return;
        };
        let id = Uuid::new_v5(&id, part.to_string().as_bytes());
        self.doc["kibana"]["alert"]["uuid"] = J::String(id.hyphenated().to_string());
    }
}

/// The id of the alert a rule raises on these events: a name-based UUID of
/// the rule id and, per event, its host and where it was read — the file's
/// name (not its folder, so a moved copy of the evidence gives the same ids)
/// and the record or line in it; an event read from nowhere in particular
/// is named by its `event.id`, entity id and time instead.
pub fn alert_uuid(rule_id: &str, events: &[&Event]) -> Uuid {
    use quarry_event::Locator;
    let mut name = format!("{rule_id}\n");
    for e in events {
        let file = e.origin.file.rsplit(['/', '\\']).next().unwrap_or_default();
        name.push_str(&host_key(e).unwrap_or_default());
        name.push('\t');
        name.push_str(file);
        name.push('\t');
        match e.origin.locator {
            Locator::Unknown => {
                for f in ["event.id", "process.entity_id"] {
                    name.push_str(&e.get_text(f).unwrap_or_default());
                    name.push('\t');
                }
                name.push_str(&e.timestamp.unwrap_or_default().to_string());
            }
            Locator::Record(r) => name.push_str(&format!("record={r}")),
            Locator::Line(l) => name.push_str(&format!("line={l}")),
            Locator::Index(i) => name.push_str(&format!("index={i}")),
        }
        name.push('\n');
    }
    Uuid::new_v5(&ALERT_NAMESPACE, name.as_bytes())
}

/// The short form of an alert id a table shows: its first 8 hex digits.
pub fn short_id(uuid: &str) -> &str {
    uuid.get(..8).unwrap_or(uuid)
}

/// Runs the pivots that search every host (no `host.id` term) for all
/// alerts at once: each host's pool is unpacked once for all of them, not
/// once per alert.
pub fn run_cross_host(inv: &Investigation, alerts: &mut [Alert]) {
    if alerts.iter().all(|a| a.cross_host_pivots.is_empty()) {
        return;
    }
    // (alert, pivot) → what it found so far
    let mut acc: Vec<Vec<PivotAcc>> = alerts
        .iter()
        .map(|a| {
            a.cross_host_pivots
                .iter()
                .map(|_| PivotAcc::default())
                .collect()
        })
        .collect();
    for (key, pool) in &inv.hosts {
        let events = pool.events_now();
        for (a, found) in alerts.iter().zip(acc.iter_mut()) {
            let same = a.host.as_deref() == Some(key.as_str());
            for ((_, pivot), found) in a.cross_host_pivots.iter().zip(found.iter_mut()) {
                for e in events.iter() {
                    found.observe(pivot, e, same);
                }
            }
        }
    }
    for (a, found) in alerts.iter_mut().zip(acc) {
        for ((slot, _), found) in std::mem::take(&mut a.cross_host_pivots)
            .into_iter()
            .zip(found)
        {
            if let Some(p) = a.doc["quarry"]["investigate"].get_mut(slot) {
                found.finish().fill(p);
            }
        }
    }
}

/// A process as an alert shows it.
pub fn process_json(p: &Process) -> J {
    json!({"entity_id": p.entity_id, "pid": p.pid, "executable": p.executable, "name": p.name,
           "command_line": p.command_line, "start": p.start.map(format_timestamp),
           "end": p.end.map(format_timestamp), "user": p.user})
}

/// An event as an alert lists it: its time, category, action, process and
/// target fields, and where it was read.
pub fn summary(ev: &Event) -> J {
    let mut m = Map::new();
    for &f in SUMMARY_FIELDS {
        if let Some(v) = ev.get(f)
            && !v.is_null()
        {
            m.insert(f.to_string(), v.to_json());
        }
    }
    m.insert("origin".into(), J::String(ev.origin.to_string()));
    J::Object(m)
}

fn listed(events: &[&Event]) -> J {
    J::Array(events.iter().take(MAX_LISTED).map(|e| summary(e)).collect())
}

/// The lineage part of an alert, and the process's index on its host.
fn lineage_json(h: &HostLineage, ev: &Event) -> (J, Option<usize>) {
    let (i, link) = h.resolve_index(ev);
    let Some(p) = i.and_then(|i| h.process(i)) else {
        return (json!({"linked_by": link.as_str()}), None);
    };
    let ancestors: Vec<J> = h
        .ancestors(p)
        .into_iter()
        .take(2)
        .map(process_json)
        .collect();
    let children: Vec<J> = h.children(p).into_iter().map(process_json).collect();
    let descendants: Vec<J> = h.descendants(p).into_iter().map(process_json).collect();
    (
        json!({"linked_by": link.as_str(), "process": process_json(p), "parent": ancestors.first(),
               "grandparent": ancestors.get(1), "children": children, "descendants": descendants}),
        i,
    )
}

/// The events of a hit, in order (a sequence's missing terms left out); the
/// last is the one an alert is about.
pub fn hit_events(hit: &Hit) -> Vec<&Event> {
    match hit {
        Hit::Event(e) => vec![e],
        Hit::Sequence { events, .. } => events.iter().flatten().collect(),
        Hit::Sample { events, .. } => events.iter().collect(),
    }
}

/// Builds the alert for one hit of a rule.
pub fn alert(rule: &Rule, hit: &Hit, inv: &Investigation) -> Alert {
    let events = hit_events(hit);
    let last = events.last().copied();
    let host = last.and_then(host_key);
    let time = last.and_then(|e| e.timestamp);
    let mut doc = last.map(|e| e.to_json()).unwrap_or_else(|| json!({}));
    let original_event = doc.get("event").cloned();

    let mut quarry = Map::new();
    if let (Some(e), Some(hk)) = (last, host.as_deref()) {
        let lin = inv.lineage.host(hk);
        let (lineage, proc_index) = match lin {
            Some(h) => lineage_json(h, e),
            None => (json!({"linked_by": "unlinked"}), None),
        };
        quarry.insert("lineage".into(), lineage);
        let activity = proc_index.map(|p| inv.activity(hk, p)).unwrap_or_default();
        let mut by_cat: FxHashMap<&str, usize> = FxHashMap::default();
        for ev in &activity {
            for c in ACTIVITY {
                if ev.has_value("event.category", c) {
                    *by_cat.entry(c).or_default() += 1;
                }
            }
            if ev.get("dns.question.name").is_some() {
                *by_cat.entry("dns").or_default() += 1;
            }
        }
        let missing = inv.missing_telemetry(hk);
        let mut act = json!({
            "count": activity.len(),
            "by_category": by_cat.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
            "events": listed(&activity),
        });
        if proc_index.is_none() {
            act["note"] = J::String("the alerting process's start is not in the evidence: its activity cannot be attributed".into());
        }
        if !missing.is_empty() {
            act["no_telemetry"] = json!(missing);
            act["coverage"] = J::String(format!(
                "no {} telemetry on {}: unresolved, not benign",
                missing.join(", "),
                e.get_str("host.name").unwrap_or(hk)
            ));
        }
        quarry.insert("activity".into(), act);
        if let Some(t) = triage::triage(e, hk, inv) {
            quarry.insert("triage".into(), t);
        }
    }

    // pivots
    // an empty value fills no template
    let lookup = |f: &str| {
        last.and_then(|e| e.get_text(f))
            .filter(|s| !s.is_empty())
            .map(|s| s.into_owned())
    };
    let mut pivots_json = Vec::new();
    let mut signal_pivots = Vec::new();
    let mut cross_host_pivots = Vec::new();
    for inv_def in &rule.investigate {
        let pivot = Pivot::fill(inv_def, &lookup, time);
        let mut pj = pivot.to_json();
        let wants_signals = pivot.groups.iter().any(|g| {
            g.iter().any(|t| {
                t.field == "event.kind" && !t.excluded && t.op == TermOp::Is("signal".into())
            })
        });
        if wants_signals {
            signal_pivots.push((pivots_json.len(), pivot));
        } else if !pivot.groups.is_empty() && !pivot.host_scoped {
            // over every host: run for all alerts at once, a host at a time
            cross_host_pivots.push((pivots_json.len(), pivot));
        } else if !pivot.groups.is_empty() {
            inv.run_pivot(&pivot, host.as_deref()).fill(&mut pj);
        }
        pivots_json.push(pj);
    }
    if !pivots_json.is_empty() {
        quarry.insert("investigate".into(), J::Array(pivots_json));
    }
    quarry.insert("origin".into(), json!(last.map(|e| e.origin.to_string())));
    if let Some(hk) = host.as_deref() {
        let files = inv.host_inputs(hk);
        if !files.is_empty() && files.len() <= MAX_INPUTS {
            quarry.insert(
                "inputs".into(),
                J::Array(files.iter().map(|f| J::String(f.to_string())).collect()),
            );
        }
    }

    if let J::Object(m) = &mut doc {
        if let Some(J::Object(ev)) = m.get_mut("event") {
            ev.insert("kind".into(), J::String("signal".into()));
        } else {
            m.insert("event".into(), json!({"kind": "signal"}));
        }
        let mut k = json!({
            "rule": {"name": rule.name, "rule_id": rule.rule_id, "description": rule.description,
                     "threat": rule.threat, "type": rule.rule_type, "references": rule.references,
                     "severity": rule.severity, "risk_score": rule.risk_score, "tags": rule.tags},
            "severity": rule.severity, "risk_score": rule.risk_score,
            "uuid": alert_uuid(&rule.rule_id, &events).hyphenated().to_string(),
            "original_time": time.map(format_timestamp),
            "workflow_status": "open",
            "reason": format!("{} on {}", rule.name,
                last.and_then(|e| e.get_str("host.name")).unwrap_or("an unknown host")),
        });
        if let Some(o) = original_event {
            k["original_event"] = o;
        }
        if rule.is_building_block() {
            k["building_block_type"] = json!(rule.building_block_type);
        }
        m.insert("kibana".into(), json!({"alert": k}));
        m.insert("quarry".into(), J::Object(quarry));
        if events.len() > 1 {
            m.insert(
                "kibana.alert.group.events".into(),
                J::Array(events.iter().map(|e| e.to_json()).collect()),
            );
        }
    }
    Alert {
        doc,
        host,
        signal_pivots,
        cross_host_pivots,
    }
}

/// Runs the pivots that look for alerts (`event.kind: signal`, e.g. "alerts
/// associated with the host") over the run's own alerts.
pub fn link_alerts(alerts: &mut [Alert]) {
    if alerts.iter().all(|a| a.signal_pivots.is_empty()) {
        return;
    }
    let as_events: Vec<(Option<String>, Event)> = alerts
        .iter()
        .map(|a| {
            let ev = Event::from_json(&a.doc, Default::default());
            (a.host.clone(), ev)
        })
        .collect();
    for a in alerts.iter_mut() {
        for (slot, pivot) in std::mem::take(&mut a.signal_pivots) {
            let found: Vec<&Event> = as_events
                .iter()
                .filter(|(h, e)| {
                    let same = h.is_some() && *h == a.host;
                    (!pivot.host_scoped || same) && pivot.matches(e, same)
                })
                .map(|(_, e)| e)
                .collect();
            let list: Vec<J> = found
                .iter()
                .take(MAX_LISTED)
                .map(|e| {
                    json!({"@timestamp": e.get("@timestamp").map(|v| v.to_json()),
                           "kibana.alert.rule.name": e.get("kibana.alert.rule.name").map(|v| v.to_json()),
                           "kibana.alert.severity": e.get("kibana.alert.severity").map(|v| v.to_json()),
                           "process.executable": e.get("process.executable").map(|v| v.to_json()),
                           "origin": e.get("quarry.origin").map(|v| v.to_json())})
                })
                .collect();
            if let Some(p) = a.doc["quarry"]["investigate"].get_mut(slot) {
                p["count"] = json!(found.len());
                p["events"] = J::Array(list);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_event::Origin;

    const RULE: &str = r#"
[rule]
rule_id = "t-1"
name = "Service installed"
type = "eql"
language = "eql"
severity = "high"
risk_score = 73
query = 'any where event.code == "7045"'

[[transform.investigate]]
label = "Same service on this host"
providers = [[
  { excluded = false, field = "event.code", queryType = "phrase", value = "7045", valueType = "string" },
  { excluded = false, field = "host.id", queryType = "phrase", value = "{{host.id}}", valueType = "string" },
]]
relativeFrom = "now-1h"
relativeTo = "now"

[[transform.investigate]]
label = "Same service name across hosts"
providers = [[
  { excluded = false, field = "winlog.event_data.ServiceName", queryType = "phrase", value = "{{winlog.event_data.ServiceName}}", valueType = "string" },
  { excluded = false, field = "event.code", queryType = "phrase", value = "7045", valueType = "string" },
]]
relativeFrom = "now-48h/h"
relativeTo = "now"
"#;

    fn service(host: &str, name: &str, t: i64) -> Event {
        let mut e = Event::new(Origin::default());
        e.set("host.name", host);
        e.set("event.code", "7045");
        e.set("event.category", vec!["configuration"]);
        e.set("winlog.event_data.ServiceName", name);
        e.set("winlog.event_data.ImagePath", "C:\\x.exe");
        e.set_timestamp(t);
        e
    }

    #[test]
    fn pivots_find_what_they_ask_for_on_the_host_and_across_hosts() {
        let set = quarry_rules::load_str(RULE, "t.toml".into());
        let rule = &set.rules[0];
        let retention = Retention::for_rules([rule]);
        const H: i64 = 3_600_000_000_000;
        let evs = [
            service("A", "evil", 10 * H),
            service("B", "evil", 9 * H),
            service("B", "fine", 9 * H),
        ];
        // wanted by event code, though "configuration" is no category an
        // investigation keeps by itself; slimmed to the pivot's fields
        let packed: Vec<(String, Packed)> = evs
            .iter()
            .filter_map(|e| retention.pack(e, false))
            .collect();
        assert_eq!(packed.len(), 3);
        let back = packed[0].1.unpack().unwrap();
        assert_eq!(back.get_str("winlog.event_data.ServiceName"), Some("evil"));
        assert!(
            back.get("winlog.event_data.ImagePath").is_none(),
            "not read by lineage, activity or pivots"
        );
        let mut inv = Investigation::from_packed(packed);
        let hit = Hit::Event(evs[0].clone());
        let mut alerts = vec![alert(rule, &hit, &inv)];
        inv.release("a");
        run_cross_host(&inv, &mut alerts);
        let pivots = &alerts[0].doc["quarry"]["investigate"];
        assert_eq!(
            pivots[0]["count"], 1,
            "host-scoped: A's own install: {pivots:#}"
        );
        assert_eq!(
            pivots[1]["count"], 2,
            "across hosts: A's and B's 'evil': {pivots:#}"
        );
        assert_eq!(alerts[0].doc["event"]["kind"], "signal");
        assert_eq!(
            alerts[0].doc["kibana"]["alert"]["original_event"]["code"],
            "7045"
        );
        // no process, file, registry or network telemetry on A
        assert_eq!(
            alerts[0].doc["quarry"]["activity"]["no_telemetry"],
            json!(["file", "registry", "network"])
        );
    }

    fn read_from(file: &str, locator: quarry_event::Locator) -> Event {
        let mut e = Event::new(Origin {
            file: file.into(),
            locator,
        });
        e.set("host.name", "WS1");
        e.set("event.category", vec!["process"]);
        e.set("event.type", vec!["start"]);
        e.set("process.pid", 4i64);
        e.set_timestamp(1_000);
        e
    }

    #[test]
    fn alert_ids_name_the_rule_and_the_evidence() {
        use quarry_event::Locator::{Line, Record, Unknown};
        let a = read_from("cases/1/Sysmon.evtx", Record(7));
        let id = |rule: &str, evs: &[&Event]| alert_uuid(rule, evs).to_string();
        assert_eq!(id("r", &[&a]), id("r", &[&a.clone()]), "same evidence");
        assert_eq!(
            id("r", &[&a]),
            id("r", &[&read_from("/mnt/copy/Sysmon.evtx", Record(7))]),
            "the same file elsewhere"
        );
        assert_ne!(id("r", &[&a]), id("s", &[&a]), "another rule");
        for other in [
            read_from("cases/1/Sysmon.evtx", Record(8)),
            read_from("cases/1/Security.evtx", Record(7)),
            read_from("cases/1/Sysmon.evtx", Line(7)),
        ] {
            assert_ne!(id("r", &[&a]), id("r", &[&other]), "{}", other.origin);
        }
        let b = read_from("cases/1/Sysmon.evtx", Record(9));
        assert_ne!(id("r", &[&a, &b]), id("r", &[&b, &a]), "a sequence's order");
        assert_ne!(id("r", &[&a, &b]), id("r", &[&b]));
        // without a position, the event's own id tells events apart
        let mut u1 = read_from("stdin", Unknown);
        u1.set("event.id", "e-1");
        let mut u2 = u1.clone();
        u2.set("event.id", "e-2");
        assert_ne!(id("r", &[&u1]), id("r", &[&u2]));
        assert_eq!(short_id("0e2ef0ee-e465-53d6-92b2-f8af4611bb2e"), "0e2ef0ee");
        assert_eq!(short_id("abc"), "abc");
    }

    #[test]
    fn alerts_carry_their_id_and_the_files_of_their_host() {
        use quarry_event::Locator::Record;
        let set = quarry_rules::load_str(RULE, "t.toml".into());
        let rule = &set.rules[0];
        let retention = Retention::for_rules([rule]);
        let evs = [
            read_from("x/Sysmon.evtx", Record(1)),
            read_from("x/Security.evtx", Record(2)),
            read_from("x/Sysmon.evtx", Record(3)),
        ];
        let mut other_host = read_from("y/Sysmon.evtx", Record(1));
        other_host.set("host.name", "WS2");
        let packed = evs
            .iter()
            .chain([&other_host])
            .filter_map(|e| retention.pack(e, false))
            .collect();
        let inv = Investigation::from_packed(packed);
        let hit = Hit::Event(evs[2].clone());
        let mut a = alert(rule, &hit, &inv);
        assert_eq!(
            a.doc["quarry"]["inputs"],
            json!(["x/Security.evtx", "x/Sysmon.evtx"]),
            "WS1's files, not WS2's"
        );
        let id = a.doc["kibana"]["alert"]["uuid"].clone();
        assert_eq!(id, json!(alert_uuid("t-1", &[&evs[2]]).to_string()));
        assert_eq!(alert(rule, &hit, &inv).doc["kibana"]["alert"]["uuid"], id);
        // a threshold's group is part of the id; other additions are not
        a.distinguish(&json!({"quarry": {"new_terms": {"history_complete": true}}}));
        assert_eq!(a.doc["kibana"]["alert"]["uuid"], id);
        a.distinguish(&json!({"kibana": {"alert": {"threshold_result": {"count": 5}}}}));
        let grouped = a.doc["kibana"]["alert"]["uuid"].clone();
        assert_ne!(grouped, id);
        let mut b = alert(rule, &hit, &inv);
        b.distinguish(&json!({"kibana": {"alert": {"threshold_result": {"count": 6}}}}));
        assert_ne!(b.doc["kibana"]["alert"]["uuid"], grouped);
    }
}
