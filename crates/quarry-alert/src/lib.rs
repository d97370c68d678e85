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
//!
//! Here the alert document; what is kept in `retention.rs`, the kept
//! evidence and pivot runs over it in `evidence.rs`, pivots parsed in
//! [`pivot`], events packed in `pack.rs`, a run's alerts finished as they
//! are built in `finish.rs`.

mod bounded;
mod evidence;
mod finish;
pub mod investigate;
mod pack;
pub mod pivot;
mod retention;
pub mod triage;
mod zst;

pub use bounded::fit;
pub use evidence::{Investigation, PivotResult, TELEMETRY};
pub use finish::{AlertDoc, AlertSet, Ready};
pub use pack::{Packed, PackedEvents, QueryFields, Unpacking, pack, pack_echoing, put_back_whole};
pub use retention::Retention;

use bounded::bounded;
use evidence::{PivotAcc, TermIndex};
use pivot::{Pivot, TermOp};
use quarry_eql::Hit;
use quarry_event::{Event, format_timestamp};
use quarry_lineage::{HostLineage, Process, host_key};
use quarry_rules::Rule;
use rustc_hash::FxHashMap;
use serde_json::{Map, Value as J, json};
use uuid::Uuid;

/// Event categories an investigation looks at.
pub const CATEGORIES: &[&str] = &["process", "file", "registry", "network", "authentication"];

/// Categories reported as follow-on activity (process starts are reported
/// as descendants instead).
pub(crate) const ACTIVITY: &[&str] = &["file", "registry", "network", "authentication"];

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

/// What an alert lists and how large its document may grow: the
/// `--alert-list` and `--alert-max-bytes` flags of `quarry hunt`.
///
/// Each list — lineage children and descendants, follow-on activity (per
/// category), each pivot's events — keeps its first `listed` entries by
/// time, with the exact total and the count and time range of what was left
/// out; the whole lists are what `quarry investigate` shows. Then [`fit`]
/// keeps the document within `max_bytes` whatever the host looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertLimits {
    pub listed: usize,
    pub max_bytes: usize,
}

/// Entries per list by default.
pub const DEFAULT_LISTED: usize = 20;
/// An alert document's size bound by default (serialized as one NDJSON line).
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024;

impl Default for AlertLimits {
    fn default() -> Self {
        AlertLimits {
            listed: DEFAULT_LISTED,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// An alert lists the files holding its host (`quarry.inputs`) only up to
/// this many: past it the list would outweigh the alert, and investigating
/// re-reads every input instead.
pub const MAX_INPUTS: usize = 256;

/// The namespace of alert ids (a random v4 UUID, fixed for quarry): ids are
/// name-based (v5) UUIDs of the rule and the matched events in it.
const ALERT_NAMESPACE: Uuid = Uuid::from_u128(0xcd92_90ee_3403_402e_af70_8829_27df_7667);

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
    /// Entries per list ([`AlertLimits::listed`]).
    listed: usize,
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
                .map(|_| PivotAcc::new(a.listed))
                .collect()
        })
        .collect();
    for (key, pool) in &inv.hosts {
        let events = pool.events_now();
        // looked up by the values the pivots ask for, not scanned per pivot
        let index = TermIndex::default();
        for (a, found) in alerts.iter().zip(acc.iter_mut()) {
            let same = a.host.as_deref() == Some(key.as_str());
            for ((_, pivot), found) in a.cross_host_pivots.iter().zip(found.iter_mut()) {
                for (_, e) in index.events_for(pivot, &events) {
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

/// What a [`summary`] is about, for a one-line view: the query, address,
/// file, key or command line, the first of them it has.
pub fn summary_target(summary: &J) -> Option<&J> {
    [
        "dns.question.name",
        "destination.ip",
        "file.path",
        "registry.path",
        "process.command_line",
    ]
    .iter()
    .find_map(|k| summary.get(*k).filter(|v| !v.is_null()))
}

/// The follow-on activity listed (in time order, as `activity` is): an event
/// while one of its categories has fewer than `max` listed; and what was
/// left out.
fn listed_activity(activity: &[&Event], max: usize) -> (J, Option<J>) {
    let mut per_cat = [0usize; ACTIVITY.len()];
    let items = activity.iter().map(|e| {
        let mut keep = false;
        for (c, n) in ACTIVITY.iter().zip(per_cat.iter_mut()) {
            if e.has_value_id(quarry_event::fid!("event.category"), c) && *n < max {
                *n += 1;
                keep = true;
            }
        }
        (e.timestamp, keep.then(|| summary(e)))
    });
    let (listed, omitted) = bounded::partition(items);
    (J::Array(listed), omitted)
}

/// Processes as an alert lists them: the first `max` by start time under
/// `key`, the total under `{key}_count` and what was left out under
/// `{key}_omitted`.
fn listed_processes(out: &mut Map<String, J>, key: &str, procs: Vec<&Process>, max: usize) {
    out.insert(format!("{key}_count"), json!(procs.len()));
    let (listed, omitted) = bounded(procs.into_iter().map(|p| (p.start, p)).collect(), max);
    out.insert(
        key.to_string(),
        J::Array(listed.into_iter().map(process_json).collect()),
    );
    if let Some(o) = omitted {
        out.insert(format!("{key}_omitted"), o);
    }
}

/// The lineage part of an alert, and the process's index on its host.
fn lineage_json(h: &HostLineage, ev: &Event, max: usize) -> (J, Option<usize>) {
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
    let mut out = Map::new();
    out.insert("linked_by".into(), json!(link.as_str()));
    out.insert("process".into(), process_json(p));
    out.insert("parent".into(), json!(ancestors.first()));
    out.insert("grandparent".into(), json!(ancestors.get(1)));
    listed_processes(&mut out, "children", h.children(p), max);
    listed_processes(&mut out, "descendants", h.descendants(p), max);
    (J::Object(out), i)
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
            Some(h) => lineage_json(h, e, inv.limits.listed),
            None => (json!({"linked_by": "unlinked"}), None),
        };
        quarry.insert("lineage".into(), lineage);
        let activity = proc_index.map(|p| inv.activity(hk, p)).unwrap_or_default();
        let mut by_cat: FxHashMap<&str, usize> = FxHashMap::default();
        for ev in &activity {
            for c in ACTIVITY {
                if ev.has_value_id(quarry_event::fid!("event.category"), c) {
                    *by_cat.entry(c).or_default() += 1;
                }
            }
            if ev.get("dns.question.name").is_some() {
                *by_cat.entry("dns").or_default() += 1;
            }
        }
        let missing = inv.missing_telemetry(hk);
        let (events, omitted) = listed_activity(&activity, inv.limits.listed);
        let mut act = json!({
            "count": activity.len(),
            "by_category": by_cat.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
            "events": events,
        });
        if let Some(o) = omitted {
            act["omitted"] = o;
        }
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
        listed: inv.limits.listed,
    }
}

/// Runs the pivots that look for alerts (`event.kind: signal`, e.g. "alerts
/// associated with the host") over the run's own alerts.
pub fn link_alerts(alerts: &mut [Alert]) {
    if alerts.iter().all(|a| a.signal_pivots.is_empty()) {
        return;
    }
    let hosts: Vec<Option<String>> = alerts.iter().map(|a| a.host.clone()).collect();
    let as_events: Vec<Event> = alerts
        .iter()
        .map(|a| Event::from_json(&a.doc, Default::default()))
        .collect();
    link_alerts_to(alerts, &hosts, &as_events);
}

/// [`link_alerts`] over the run's alerts as given (each one's host, and its
/// fields as an event): all of them, of which `alerts` may be a few.
pub(crate) fn link_alerts_to(alerts: &mut [Alert], hosts: &[Option<String>], as_events: &[Event]) {
    use rayon::prelude::*;
    let index = TermIndex::default();
    // on all cores: each alert's pivots are its own
    alerts.par_iter_mut().for_each(|a| {
        for (slot, pivot) in std::mem::take(&mut a.signal_pivots) {
            let found: Vec<&Event> = index
                .events_for(&pivot, as_events)
                .filter(|&(i, e)| {
                    let h = &hosts[i];
                    let same = h.is_some() && *h == a.host;
                    (!pivot.host_scoped || same) && pivot.matches(e, same)
                })
                .map(|(_, e)| e)
                .collect();
            let count = found.len();
            let (list, omitted) = bounded(
                found.into_iter().map(|e| (e.timestamp, e)).collect(),
                a.listed,
            );
            let list: Vec<J> = list
                .into_iter()
                .map(|e| {
                    json!({"@timestamp": e.get("@timestamp").map(|v| v.to_json()),
                           "kibana.alert.rule.name": e.get("kibana.alert.rule.name").map(|v| v.to_json()),
                           "kibana.alert.severity": e.get("kibana.alert.severity").map(|v| v.to_json()),
                           "process.executable": e.get("process.executable").map(|v| v.to_json()),
                           "origin": e.get("quarry.origin").map(|v| v.to_json())})
                })
                .collect();
            if let Some(p) = a.doc["quarry"]["investigate"].get_mut(slot) {
                p["count"] = json!(count);
                p["events"] = J::Array(list);
                if let Some(o) = omitted {
                    p["omitted"] = o;
                }
            }
        }
    });
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

    fn start(pid: i64, ppid: i64, t: i64, cmd: String) -> Event {
        let mut e = Event::new(Origin::default());
        e.set("host.name", "BUSY");
        e.set("event.category", vec!["process"]);
        e.set("event.type", vec!["start"]);
        e.set("process.pid", pid);
        e.set("process.parent.pid", ppid);
        e.set("process.name", "child.exe");
        e.set("process.executable", "C:\\Windows\\child.exe");
        e.set("process.command_line", cmd);
        e.set_timestamp(t);
        e
    }

    #[test]
    fn an_alert_stays_under_64_kb_whatever_the_host_looks_like() {
        // a long-lived parent with thousands of children, each writing a
        // file, and command lines of tens of KB
        let rule_src = RULE.replace(
            r#"query = 'any where event.code == "7045"'"#,
            r#"query = 'process where event.type == "start"'"#,
        );
        let set = quarry_rules::load_str(&rule_src, "t.toml".into());
        let rule = &set.rules[0];
        let retention = Retention::for_rules([rule]);
        let big = |c: char, n: usize| std::iter::repeat_n(c, n).collect::<String>();
        let mut evs = vec![start(
            100,
            4,
            1_000,
            format!("parent.exe {}", big('p', 30_000)),
        )];
        const KIDS: i64 = 3_000;
        for i in 0..KIDS {
            let t = 2_000 + i * 1_000;
            evs.push(start(
                1_000 + i,
                100,
                t,
                format!("child.exe {i} {}", big('c', 2_000)),
            ));
            let mut f = Event::new(Origin::default());
            f.set("host.name", "BUSY");
            f.set("event.category", vec!["file"]);
            f.set("event.type", vec!["creation"]);
            f.set("process.pid", 100i64);
            f.set("file.path", format!("C:\\Temp\\{i}\\{}", big('f', 1_000)));
            f.set_timestamp(t + 1);
            evs.push(f);
        }
        let packed = evs
            .iter()
            .filter_map(|e| retention.pack(e, false))
            .collect();
        let mut inv = Investigation::from_packed(packed);
        inv.limits = AlertLimits::default();
        let mut alerts = vec![alert(rule, &Hit::Event(evs[0].clone()), &inv)];
        run_cross_host(&inv, &mut alerts);
        link_alerts(&mut alerts);
        let doc = &mut alerts[0].doc;
        let lin = &doc["quarry"]["lineage"];
        assert_eq!(lin["children_count"], KIDS, "exact total");
        assert_eq!(lin["descendants_count"], KIDS);
        assert_eq!(lin["children"].as_array().unwrap().len(), DEFAULT_LISTED);
        assert_eq!(
            lin["children_omitted"]["count"],
            KIDS as usize - DEFAULT_LISTED
        );
        assert_eq!(
            lin["children_omitted"]["first"],
            format_timestamp(2_000 + DEFAULT_LISTED as i64 * 1_000),
            "the first by time are listed, the rest's range is given"
        );
        assert_eq!(
            lin["children_omitted"]["last"],
            format_timestamp(2_000 + (KIDS - 1) * 1_000)
        );
        let act = &doc["quarry"]["activity"];
        assert_eq!(act["count"], KIDS);
        assert_eq!(act["omitted"]["count"], KIDS as usize - DEFAULT_LISTED);
        assert!(fit(doc, DEFAULT_MAX_BYTES));
        let size = serde_json::to_vec(&*doc).unwrap().len();
        assert!(size < 64 * 1024, "{size} bytes");
        // cut, but the totals stay exact
        let lin = &doc["quarry"]["lineage"];
        assert_eq!(lin["children_count"], KIDS);
        let listed = lin["children"].as_array().unwrap().len() as u64;
        assert_eq!(
            listed + lin["children_omitted"]["count"].as_u64().unwrap(),
            KIDS as u64
        );
        assert!(doc["quarry"]["fitted"].is_array(), "says what was cut");
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
