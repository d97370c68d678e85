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
//! [`pivot`], events packed in `pack.rs`.

mod evidence;
pub mod investigate;
mod pack;
pub mod pivot;
mod retention;
pub mod triage;

pub use evidence::{Investigation, PivotResult, TELEMETRY};
pub use pack::{Packed, pack};
pub use retention::Retention;

use evidence::PivotAcc;
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
