//! Gathering a case: one read of the evidence for the investigation pool
//! (lineage, activity), Q1018's DNS events and each host's time span, then
//! per alert its process tree and timeline ([`quarry_alert::investigate`])
//! and its triage — the alert's own `quarry.triage` when hunt wrote it,
//! computed here for alerts that lack it.

use quarry_alert::investigate::{Target, investigate};
use quarry_alert::{Investigation, Packed, Retention, triage};
use quarry_event::{Event, Origin, format_timestamp};
use quarry_lineage::host_key;
use quarry_questions::{Answer, Filter};
use quarry_read::ReadSummary;
use rustc_hash::FxHashMap;
use serde_json::Value as J;
use std::path::PathBuf;
use std::sync::Mutex;

/// How much of a case the report lists: a case of 100,000 events stays a
/// file a browser opens at once; what is left out is counted.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Alerts shown with their triage, tree, timeline and pivots (the most
    /// severe first); the rest are rows of the alert table only.
    pub detailed_alerts: usize,
    /// Lines of one process tree.
    pub tree_lines: usize,
    /// Rows of one alert's timeline.
    pub timeline_rows: usize,
    /// Events listed per pivot.
    pub pivot_events: usize,
    /// Q1018 rows.
    pub dns_rows: usize,
    /// Read problems listed.
    pub problems: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            detailed_alerts: 500,
            tree_lines: 200,
            timeline_rows: 200,
            pivot_events: 10,
            dns_rows: 5000,
            problems: 100,
        }
    }
}

/// One host of the case.
#[derive(Debug, Clone)]
pub struct HostView {
    pub key: String,
    pub name: String,
    pub events: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    /// Events per kind of telemetry ([`quarry_alert::TELEMETRY`]), zero where
    /// the host has none.
    pub telemetry: Vec<(&'static str, usize)>,
}

impl HostView {
    /// The kinds of telemetry this host has none of.
    pub fn gaps(&self) -> Vec<&'static str> {
        self.telemetry
            .iter()
            .filter(|(_, n)| *n == 0)
            .map(|(k, _)| *k)
            .collect()
    }
}

/// One alert as the report shows it.
#[derive(Debug, Clone)]
pub struct AlertView {
    /// The alert document as hunt wrote it.
    pub doc: J,
    /// `quarry.triage`: the alert's own, or computed from the evidence.
    pub triage: Option<J>,
    /// The investigation ([`quarry_alert::investigate::Findings::to_json`]):
    /// tree and timeline; `None` beyond [`Limits::detailed_alerts`].
    pub findings: Option<J>,
}

/// Everything the report shows.
#[derive(Debug, Default)]
pub struct Case {
    /// The evidence as the user named it.
    pub inputs: Vec<String>,
    /// Where the alerts came from: the rules run, or the alerts file read.
    pub source: String,
    pub read: ReadSummary,
    pub hosts: Vec<HostView>,
    /// Most severe first, then by time.
    pub alerts: Vec<AlertView>,
    /// Q1018 over the same evidence.
    pub dns: Answer,
    pub limits: Limits,
}

/// What the read keeps of one event.
struct Kept {
    pool: Option<(String, Packed)>,
    dns: Option<Event>,
}

/// Reads `inputs` once and builds the case around `alerts`; `source` says
/// where the alerts came from. Bad input is reported in the read summary,
/// never fatal.
pub fn gather(inputs: &[PathBuf], alerts: Vec<J>, source: String, limits: Limits) -> Case {
    let q1018 = quarry_questions::find("Q1018");
    let retention = Retention::for_rules([]);
    let spans: Mutex<FxHashMap<String, (u64, i64, i64)>> = Mutex::new(FxHashMap::default());
    let (kept, read) = quarry_read::scan(inputs, |ev| {
        if let Some(h) = host_key(&ev)
            && let Ok(mut m) = spans.lock()
        {
            let t = ev.timestamp;
            let e = m.entry(h).or_insert((0, i64::MAX, i64::MIN));
            e.0 += 1;
            if let Some(t) = t {
                e.1 = e.1.min(t);
                e.2 = e.2.max(t);
            }
        }
        let pool = retention.pack(&ev, false);
        let dns = q1018.and_then(|q| q.keep(ev));
        (pool.is_some() || dns.is_some()).then_some(Kept { pool, dns })
    });
    let mut pool = Vec::new();
    let mut dns_events = Vec::new();
    for k in kept {
        pool.extend(k.pool);
        dns_events.extend(k.dns);
    }
    let dns = q1018
        .map(|q| q.answer(dns_events, &Filter::default()))
        .unwrap_or_default();
    let mut inv = Investigation::from_packed(pool);

    let names: FxHashMap<String, String> = inv
        .hosts()
        .filter_map(|(k, n)| n.map(|n| (k.to_string(), n.to_string())))
        .collect();
    let spans = spans.into_inner().unwrap_or_default();
    let mut hosts: Vec<HostView> = spans
        .into_iter()
        .map(|(key, (events, first, last))| HostView {
            name: names.get(&key).cloned().unwrap_or_else(|| key.clone()),
            events,
            first: (first != i64::MAX).then(|| format_timestamp(first)),
            last: (last != i64::MIN).then(|| format_timestamp(last)),
            telemetry: inv.telemetry(&key),
            key,
        })
        .collect();
    hosts.sort_by(|a, b| {
        a.name
            .to_ascii_lowercase()
            .cmp(&b.name.to_ascii_lowercase())
    });

    let mut alerts: Vec<AlertView> = alerts
        .into_iter()
        .map(|doc| AlertView {
            triage: doc["quarry"]["triage"]
                .is_object()
                .then(|| doc["quarry"]["triage"].clone()),
            doc,
            findings: None,
        })
        .collect();
    alerts.sort_by(|a, b| {
        severity_rank(&b.doc)
            .cmp(&severity_rank(&a.doc))
            .then_with(|| time(&a.doc).cmp(time(&b.doc)))
    });
    // investigated host by host: a host's events are unpacked for its
    // alerts, then packed away again
    let mut by_host: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    for (i, a) in alerts.iter().enumerate().take(limits.detailed_alerts) {
        let ev = Event::from_json(&a.doc, Origin::default());
        if let Some(h) = host_key(&ev) {
            by_host.entry(h).or_default().push(i);
        }
    }
    for (host, idx) in by_host {
        for i in idx {
            let a = &mut alerts[i];
            if let Some(target) = Target::new(&a.doc) {
                let mut f = investigate(&target, None, &inv).to_json(i + 1);
                bound(&mut f["tree"], limits.tree_lines);
                bound(&mut f["timeline"], limits.timeline_rows);
                a.findings = Some(f);
            }
            if a.triage.is_none() {
                let ev = Event::from_json(&a.doc, Origin::default());
                a.triage = triage::triage(&ev, &host, &inv);
            }
        }
        inv.release(&host);
    }
    Case {
        inputs: inputs.iter().map(|p| p.display().to_string()).collect(),
        source,
        read,
        hosts,
        alerts,
        dns,
        limits,
    }
}

/// Cuts a JSON array to `n` entries.
fn bound(v: &mut J, n: usize) {
    if let J::Array(a) = v {
        a.truncate(n);
    }
}

pub(crate) fn severity_rank(doc: &J) -> u8 {
    match doc["kibana"]["alert"]["severity"]
        .as_str()
        .unwrap_or_default()
    {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

fn time(doc: &J) -> &str {
    doc["kibana"]["alert"]["original_time"]
        .as_str()
        .or(doc["@timestamp"].as_str())
        .unwrap_or_default()
}
