//! DFIQ Q1018 "What process made the DNS query?"
//!
//! For every DNS query event, the process that made it, tied through the
//! host's process lineage: by entity id (Sysmon ProcessGuid, CrowdStrike
//! ContextProcessId = TargetProcessId, SentinelOne uid) or by pid within the
//! process's lifetime. The coverage says which hosts had DNS telemetry and
//! which had process telemetry but none — those are unresolved, not benign.

use crate::{Answer, Approach, Filter, Needed, Question, Record};
use quarry_event::basename;
use quarry_event::entity_key;
use quarry_event::{Event, Value};
use quarry_lineage::{Lineage, Link, host_key, is_lifecycle};
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// Q1018 in the catalogue ([`crate::QUESTIONS`]).
#[derive(Debug, Clone, Copy)]
pub struct Q1018;

impl Question for Q1018 {
    fn id(&self) -> &'static str {
        "Q1018"
    }

    fn name(&self) -> &'static str {
        "What process made the DNS query?"
    }

    fn approaches(&self) -> &'static [Approach] {
        APPROACHES
    }

    fn fields(&self) -> &'static Needed {
        &NEEDED
    }

    fn wants(&self, ev: &Event) -> bool {
        is_dns(ev) || is_lifecycle(ev)
    }

    fn answer(&self, events: Vec<Event>, filter: &Filter) -> Answer {
        let (rows, mut cov) = answer_filtered(events, filter);
        Answer {
            columns: COLUMNS,
            rows: rows.iter().map(Row::record).collect(),
            coverage: coverage_text(self, &cov, rows.len()),
            hosts: std::mem::take(&mut cov.all_hosts),
            approaches: cov.approaches,
        }
    }
}

const APPROACHES: &[Approach] = &[
    Approach {
        name: "Sysmon 22",
        data: "Sysmon Event 22 (DnsQuery) from EVTX or Windows-event JSON, linked to Sysmon 1 / Security 4688",
    },
    Approach {
        name: "Plaso (Sysmon 22)",
        data: "Plaso windows:evtx:record rows whose xml_string holds a Sysmon 22 record",
    },
    Approach {
        name: "CrowdStrike DnsRequest",
        data: "FDR DnsRequest.ContextProcessId joined to ProcessRollup2.TargetProcessId, per aid",
    },
    Approach {
        name: "SentinelOne DNS",
        data: "Cloud Funnel DNS events, which carry the querying process",
    },
    Approach {
        name: "ECS DNS events",
        data: "any other ECS event with dns.question.name (Elastic Defend, winlogbeat, …)",
    },
];

/// Is this a DNS query event?
pub fn is_dns(ev: &Event) -> bool {
    ev.contains("dns.question.name")
}

/// The fields Q1018 and lineage read; everything else is dropped on read.
static NEEDED: Needed = Needed::new(&[
    "host.",
    "process.",
    "user.",
    "dns.",
    "sysmon.dns.",
    "plaso.",
    "event.category",
    "event.type",
    "event.dataset",
    "@timestamp",
]);

/// What Q1018 needs from the evidence: DNS queries and process starts/ends,
/// slimmed to the fields it reads, so memory stays bounded by what is held
/// for linking.
pub fn wants(ev: Event) -> Option<Event> {
    Q1018.keep(ev)
}

/// One answer row. It serialises as its [`Row::record`]'s fields: the
/// names are ECS's, written once there.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub timestamp: Option<String>,
    pub host_name: Option<String>,
    pub host_id: Option<String>,
    pub query: String,
    /// Sysmon's status name or the source's response code.
    pub status: Option<String>,
    pub resolved_ip: Vec<String>,
    pub pid: Option<i64>,
    /// Normalised (braces stripped, upper-case) so one process reads the
    /// same from every source.
    pub entity_id: Option<String>,
    pub executable: Option<String>,
    pub command_line: Option<String>,
    pub user: Option<String>,
    pub parent_executable: Option<String>,
    pub parent_command_line: Option<String>,
    pub approach: String,
    /// `entity_id`, `pid+lifetime` or `unlinked`.
    pub linked_by: &'static str,
    /// file:line or file#record of the DNS event.
    pub origin: String,
}

/// The terminal table's headers, one per cell of [`Row::record`].
pub const COLUMNS: &[&str] = &[
    "time",
    "host",
    "query",
    "status",
    "pid",
    "process",
    "parent",
    "user",
    "linked by",
    "command line",
];

impl Row {
    /// The row as every output format shows it: the machine formats carry
    /// every field in full, the table names rather than paths.
    pub fn record(&self) -> Record {
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        let base = |o: &Option<String>| basename(o.as_deref().unwrap_or_default()).to_string();
        Record {
            fields: vec![
                ("@timestamp", json!(self.timestamp)),
                ("host.name", json!(self.host_name)),
                ("host.id", json!(self.host_id)),
                ("dns.question.name", json!(self.query)),
                ("dns.status", json!(self.status)),
                ("dns.resolved_ip", json!(self.resolved_ip)),
                ("process.pid", json!(self.pid)),
                ("process.entity_id", json!(self.entity_id)),
                ("process.executable", json!(self.executable)),
                ("process.command_line", json!(self.command_line)),
                ("user.name", json!(self.user)),
                ("process.parent.executable", json!(self.parent_executable)),
                (
                    "process.parent.command_line",
                    json!(self.parent_command_line),
                ),
                ("approach", json!(self.approach)),
                ("linked_by", json!(self.linked_by)),
                ("origin", json!(self.origin)),
            ],
            cells: vec![
                opt(&self.timestamp),
                opt(&self.host_name),
                self.query.clone(),
                opt(&self.status),
                self.pid.map(|p| p.to_string()).unwrap_or_default(),
                base(&self.executable),
                base(&self.parent_executable),
                opt(&self.user),
                self.linked_by.to_string(),
                opt(&self.command_line),
            ],
        }
    }
}

impl Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.record().serialize(s)
    }
}

/// Does the row pass `quarry ask`'s `--domain` and `--host`?
fn keeps(filter: &Filter, r: &Row) -> bool {
    filter.domains.as_ref().is_none_or(|d| d.is_match(&r.query))
        && filter.keeps_host(r.host_name.as_deref(), r.host_id.as_deref())
}

/// The coverage report below `shown` rows, from coverage gathered
/// elsewhere (merged from the partitions of a Spark run).
pub fn coverage_report(cov: &Coverage, shown: usize) -> String {
    coverage_text(&Q1018, cov, shown)
}

/// `n` things, the first few named.
fn some_of(names: &[&str], shown: usize) -> String {
    let mut s = names
        .iter()
        .take(shown)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > shown {
        s += &format!(", … and {} more", names.len() - shown);
    }
    s
}

/// The coverage report below the answer's `shown` rows: every count is of
/// what the filters kept.
fn coverage_text(q: &Q1018, cov: &Coverage, shown: usize) -> String {
    let counts = |m: &BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = format!("\n{} {} — {shown} rows\n", q.id(), q.name());
    let linked = counts(&cov.linked);
    s += &format!(
        "  linked by: {}\n",
        if linked.is_empty() { "-" } else { &linked }
    );
    let appr = counts(&cov.approaches);
    s += &format!(
        "  approaches: {}\n",
        if appr.is_empty() {
            if cov.domains.is_some() {
                "no row matched"
            } else {
                "none had data"
            }
        } else {
            &appr
        }
    );
    for (h, n) in &cov.hosts_with_dns {
        let shown = if h.is_empty() {
            "(a host without a name)"
        } else {
            h
        };
        match cov.dns_queries.get(h).filter(|_| cov.domains.is_some()) {
            Some(all) => s += &format!("  covered: {shown} ({n} of {all} DNS queries match)\n"),
            None => s += &format!("  covered: {shown} ({n} DNS queries)\n"),
        }
    }
    for h in &cov.hosts_without_dns {
        s += &format!(
            "  not covered: no DNS telemetry on {h} (process telemetry only) — unresolved, not benign\n"
        );
    }
    if cov.hosts_with_dns.is_empty() && cov.hosts_without_dns.is_empty() {
        s += "  not covered: the evidence holds no DNS or process telemetry\n";
    }
    if let Some(domains) = &cov.domains {
        s += &domains_text(domains, cov);
    }
    s
}

/// The per-indicator part of the coverage: the indicators looked up, with
/// their counts and hosts; those never looked up where there was DNS
/// telemetry (a finding too); and on which hosts none can be judged.
fn domains_text(d: &[DomainCount], cov: &Coverage) -> String {
    let mut s = String::new();
    let mut seen: Vec<&DomainCount> = d.iter().filter(|c| c.queries > 0).collect();
    seen.sort_by_key(|c| std::cmp::Reverse(c.queries));
    let unseen: Vec<&str> = d
        .iter()
        .filter(|c| c.queries == 0)
        .map(|c| c.indicator.as_str())
        .collect();
    s += &format!(
        "  domains: {} indicators: {} looked up, {} not\n",
        d.len(),
        seen.len(),
        unseen.len()
    );
    let width = seen
        .iter()
        .map(|c| c.indicator.chars().count())
        .max()
        .unwrap_or(0);
    for c in &seen {
        let hosts: Vec<&str> = c.hosts.iter().map(String::as_str).collect();
        s += &format!(
            "    {:<width$}  {} queries on {}\n",
            c.indicator,
            c.queries,
            some_of(&hosts, 3)
        );
    }
    let with: Vec<&str> = cov.hosts_with_dns.keys().map(String::as_str).collect();
    let without: Vec<&str> = cov.hosts_without_dns.iter().map(String::as_str).collect();
    if !unseen.is_empty() && !with.is_empty() {
        s += &format!(
            "  never looked up on {} (which had DNS telemetry): {}\n",
            some_of(&with, 3),
            some_of(&unseen, 10)
        );
    }
    if !without.is_empty() {
        s += &format!(
            "  cannot be judged on {} (no DNS telemetry): any of the {} indicators — unresolved, not benign\n",
            some_of(&without, 3),
            d.len()
        );
    } else if with.is_empty() {
        s += "  cannot be judged: no host has DNS telemetry\n";
    }
    s
}

/// What the evidence covers, of what the filters kept.
#[derive(Debug, Default, Clone, Serialize, serde::Deserialize)]
pub struct Coverage {
    /// Every host the evidence holds, before `--host` (named when the
    /// filter keeps none).
    #[serde(skip)]
    pub all_hosts: Vec<String>,
    /// Host → number of DNS queries the filters kept.
    pub hosts_with_dns: BTreeMap<String, u64>,
    /// Host → number of DNS queries in the evidence (the filtered count's
    /// "of how many").
    pub dns_queries: BTreeMap<String, u64>,
    /// Hosts with process telemetry but no DNS telemetry.
    pub hosts_without_dns: Vec<String>,
    /// Rows per link method.
    pub linked: BTreeMap<String, u64>,
    /// Rows per approach.
    pub approaches: BTreeMap<String, u64>,
    /// With domain indicators: each one's count, in the order given.
    pub domains: Option<Vec<DomainCount>>,
}

/// How often one domain indicator was looked up, and on which hosts.
#[derive(Debug, Default, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct DomainCount {
    /// As written.
    pub indicator: String,
    /// DNS queries matching it.
    pub queries: u64,
    /// The hosts that made them.
    pub hosts: BTreeSet<String>,
}

/// Answers Q1018 from the events [`wants`] kept. Rows are in time order.
pub fn answer(events: Vec<Event>) -> (Vec<Row>, Coverage) {
    answer_filtered(events, &Filter::default())
}

/// [`answer`] under `quarry ask`'s filters: the rows they keep, and the
/// coverage of those rows (the hosts `--host` names; with `--domain`, how
/// many of each host's queries matched and how often each indicator was
/// looked up).
pub fn answer_filtered(events: Vec<Event>, filter: &Filter) -> (Vec<Row>, Coverage) {
    // Partition by host: lineage and joins never cross hosts.
    let mut by_host: FxHashMap<String, Vec<Event>> = FxHashMap::default();
    for ev in events {
        let h = host_key(&ev).unwrap_or_default();
        by_host.entry(h).or_default().push(ev);
    }
    let mut rows = Vec::new();
    let mut cov = Coverage::default();
    let mut counts: Option<Vec<DomainCount>> = filter.domains.as_ref().map(|d| {
        d.indicators
            .iter()
            .map(|i| DomainCount {
                indicator: i.clone(),
                ..Default::default()
            })
            .collect()
    });
    let mut matched = Vec::new();
    let mut hosts: Vec<_> = by_host.into_iter().collect();
    hosts.sort_by(|a, b| a.0.cmp(&b.0));
    for (host, events) in hosts {
        let name = events.iter().find_map(|e| text(e, "host.name"));
        let id = events.iter().find_map(|e| text(e, "host.id"));
        cov.all_hosts
            .push(name.clone().unwrap_or_else(|| host.clone()));
        if !filter.keeps_host(name.as_deref(), id.as_deref()) {
            continue;
        }
        let (mut host_rows, dns, has_process) = answer_host(events);
        let label = host_rows
            .first()
            .and_then(|r: &Row| r.host_name.clone())
            .unwrap_or_else(|| host.clone());
        host_rows.retain(|r| keeps(filter, r));
        if dns > 0 {
            cov.hosts_with_dns
                .insert(label.clone(), host_rows.len() as u64);
            cov.dns_queries.insert(label.clone(), dns);
        } else if has_process {
            cov.hosts_without_dns.push(label.clone());
        }
        if let (Some(d), Some(counts)) = (&filter.domains, counts.as_mut()) {
            for r in &host_rows {
                d.matches_into(&r.query, &mut matched);
                for &i in &matched {
                    if let Some(c) = counts.get_mut(i) {
                        c.queries += 1;
                        c.hosts.insert(label.clone());
                    }
                }
            }
        }
        rows.extend(host_rows);
    }
    rows.sort_by(|a, b| {
        a.timestamp
            .cmp(&b.timestamp)
            .then_with(|| a.origin.cmp(&b.origin))
    });
    for r in &rows {
        *cov.linked.entry(r.linked_by.to_string()).or_default() += 1;
        *cov.approaches.entry(r.approach.clone()).or_default() += 1;
    }
    cov.domains = counts;
    (rows, cov)
}

/// One host's rows, its DNS count, and whether it had process telemetry.
fn answer_host(events: Vec<Event>) -> (Vec<Row>, u64, bool) {
    let lineage = Lineage::from_events(&events);
    let host = lineage.hosts.values().next();
    let has_process = host.is_some_and(|h| !h.is_empty()) || events.iter().any(is_lifecycle);
    let mut rows = Vec::new();
    for mut ev in events.into_iter().filter(is_dns) {
        let link = match host {
            Some(h) => h.enrich(&mut ev),
            None => Link::Unlinked,
        };
        rows.push(row(&ev, link));
    }
    let n = rows.len() as u64;
    (rows, n, has_process)
}

fn text(ev: &Event, path: &str) -> Option<String> {
    ev.get(path)
        .and_then(Value::to_text)
        .map(|c| c.into_owned())
}

fn approach(ev: &Event) -> String {
    if ev.contains("plaso.display_name") {
        return "Plaso (Sysmon 22)".into();
    }
    match ev.get_str("event.dataset").unwrap_or_default() {
        "windows.sysmon_operational" => "Sysmon 22".into(),
        "crowdstrike.fdr" => "CrowdStrike DnsRequest".into(),
        d if d.starts_with("sentinel_one") => "SentinelOne DNS".into(),
        _ => "ECS DNS events".into(),
    }
}

fn row(ev: &Event, link: Link) -> Row {
    let user = text(ev, "user.name").map(|n| match ev.get_str("user.domain") {
        Some(d) => format!("{d}\\{n}"),
        None => n,
    });
    Row {
        timestamp: ev.timestamp.map(quarry_event::format_timestamp),
        host_name: text(ev, "host.name"),
        host_id: text(ev, "host.id"),
        query: text(ev, "dns.question.name").unwrap_or_default(),
        status: text(ev, "sysmon.dns.status").or_else(|| text(ev, "dns.response_code")),
        resolved_ip: ev
            .get("dns.resolved_ip")
            .map(|v| {
                v.iter()
                    .filter_map(Value::to_text)
                    .map(|c| c.into_owned())
                    .collect()
            })
            .unwrap_or_default(),
        pid: ev.get_i64("process.pid"),
        entity_id: ev.get_str("process.entity_id").map(entity_key),
        executable: text(ev, "process.executable"),
        command_line: text(ev, "process.command_line"),
        user,
        parent_executable: text(ev, "process.parent.executable"),
        parent_command_line: text(ev, "process.parent.command_line"),
        approach: approach(ev),
        linked_by: link.as_str(),
        origin: ev.origin.to_string(),
    }
}

/// Host names present (for `--host` filtering and the coverage).
pub fn host_names(rows: &[Row]) -> BTreeSet<String> {
    rows.iter().filter_map(|r| r.host_name.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(fields: &[(&str, Value)], t: i64) -> Event {
        let mut e = Event::default();
        for (k, v) in fields {
            e.set(k, v.clone());
        }
        e.set_timestamp(t);
        e
    }

    fn start(pid: i64, exe: &str, t: i64) -> Event {
        ev(
            &[
                ("host.name", "WS1".into()),
                ("event.category", vec!["process"].into()),
                ("event.type", vec!["start"].into()),
                ("process.pid", pid.into()),
                ("process.executable", exe.into()),
            ],
            t,
        )
    }

    fn dns(host: &str, pid: i64, name: &str, t: i64) -> Event {
        ev(
            &[
                ("host.name", host.into()),
                ("dns.question.name", name.into()),
                ("process.pid", pid.into()),
                ("event.dataset", "windows.sysmon_operational".into()),
            ],
            t,
        )
    }

    #[test]
    fn pid_reuse_and_coverage() {
        let evs = vec![
            start(7, "C:\\first.exe", 10),
            start(7, "C:\\second.exe", 50),
            dns("WS1", 7, "a.example", 20),
            dns("WS1", 7, "b.example", 60),
            dns("WS1", 9, "c.example", 60),
            ev(
                &[
                    ("host.name", "DC1".into()),
                    ("event.category", vec!["process"].into()),
                    ("event.type", vec!["start"].into()),
                    ("process.pid", 1i64.into()),
                ],
                5,
            ),
        ];
        let (rows, cov) = answer(evs);
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.query.as_str(), r.executable.as_deref(), r.linked_by))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a.example", Some("C:\\first.exe"), "pid+lifetime"),
                ("b.example", Some("C:\\second.exe"), "pid+lifetime"),
                ("c.example", None, "unlinked")
            ]
        );
        assert_eq!(cov.hosts_without_dns, vec!["dc1".to_string()]);
        assert_eq!(cov.hosts_with_dns.get("WS1"), Some(&3));
    }

    fn domains(list: &[&str]) -> crate::Domains {
        crate::Domains::new(list.iter().map(|d| (*d, "--domain".to_string()))).expect("valid")
    }

    #[test]
    fn summaries_count_what_the_filter_kept() {
        let evs = || {
            vec![
                start(7, "C:\\x\\first.exe", 10),
                dns("WS1", 7, "a.duckdns.org", 20),
                dns("WS1", 7, "b.DuckDNS.org", 21),
                dns("WS1", 8, "c.example", 22),
                dns("WS2", 7, "b.example", 30),
                ev(
                    &[
                        ("host.name", "DC1".into()),
                        ("event.category", vec!["process"].into()),
                        ("event.type", vec!["start"].into()),
                        ("process.pid", 1i64.into()),
                    ],
                    5,
                ),
            ]
        };
        let filter = Filter {
            host: None,
            domains: Some(domains(&[
                "*.duckdns.org",
                "a.duckdns.org",
                "never.example",
            ])),
        };
        let (rows, cov) = answer_filtered(evs(), &filter);
        assert_eq!(rows.len(), 2);
        assert_eq!(cov.linked.get("pid+lifetime"), Some(&2), "{cov:?}");
        assert_eq!(cov.linked.get("unlinked"), None, "c.example is not kept");
        assert_eq!(cov.approaches.get("Sysmon 22"), Some(&2));
        assert_eq!(cov.hosts_with_dns.get("WS1"), Some(&2));
        assert_eq!(cov.dns_queries.get("WS1"), Some(&3));
        assert_eq!(cov.hosts_with_dns.get("WS2"), Some(&0), "a negative");
        let counts: Vec<(&str, u64)> = cov
            .domains
            .iter()
            .flatten()
            .map(|c| (c.indicator.as_str(), c.queries))
            .collect();
        assert_eq!(
            counts,
            [
                ("*.duckdns.org", 2),
                ("a.duckdns.org", 1),
                ("never.example", 0)
            ]
        );
        let text = coverage_text(&Q1018, &cov, rows.len());
        for line in [
            "  linked by: pid+lifetime: 2\n",
            "  approaches: Sysmon 22: 2\n",
            "  covered: WS1 (2 of 3 DNS queries match)\n",
            "  covered: WS2 (0 of 1 DNS queries match)\n",
            "  domains: 3 indicators: 2 looked up, 1 not\n",
            "    *.duckdns.org  2 queries on WS1\n",
            "    a.duckdns.org  1 queries on WS1\n",
            "  never looked up on WS1, WS2 (which had DNS telemetry): never.example\n",
            "  cannot be judged on dc1 (no DNS telemetry): any of the 3 indicators",
        ] {
            assert!(text.contains(line), "{line:?} in\n{text}");
        }
        // without a filter, the counts are of everything
        let (rows, cov) = answer(evs());
        assert_eq!(rows.len(), 4);
        assert_eq!(cov.hosts_with_dns.get("WS1"), Some(&3));
        assert!(!coverage_text(&Q1018, &cov, 4).contains(" of "));
    }

    #[test]
    fn through_the_catalogue_with_filters() {
        let q = crate::find("q1018").expect("in the catalogue");
        assert!(q.keep(start(7, "C:\\a.exe", 1)).is_some());
        assert!(q.keep(Event::default()).is_none());
        let evs = || {
            vec![
                start(7, "C:\\x\\first.exe", 10),
                dns("WS1", 7, "a.duckdns.org", 20),
                dns("WS2", 7, "b.example", 30),
            ]
        };
        let all = q.answer(evs(), &Filter::default());
        assert_eq!(all.rows.len(), 2);
        let first = &all.rows[0];
        assert_eq!(first.fields[0].0, "@timestamp");
        assert_eq!(first.cells.len(), all.columns.len());
        assert_eq!(first.cells[5], "first.exe", "the table shows names");
        let filter = Filter {
            host: Some("ws2".into()),
            domains: None,
        };
        let ws2 = q.answer(evs(), &filter);
        assert_eq!(ws2.rows.len(), 1);
        assert!(
            ws2.coverage
                .starts_with("\nQ1018 What process made the DNS query? — 1 rows\n")
        );
        assert_eq!(
            ws2.approaches.get("Sysmon 22"),
            Some(&1),
            "what the filter kept"
        );
        assert!(!ws2.coverage.contains("WS1"), "{}", ws2.coverage);
        let filter = Filter {
            host: None,
            domains: Some(domains(&["*.DUCKDNS.org"])),
        };
        assert_eq!(q.answer(evs(), &filter).rows.len(), 1);
        // a row serialises as its record: ECS names, in order
        let row = serde_json::to_string(&answer(evs()).0[0]).expect("json");
        assert!(row.starts_with("{\"@timestamp\":"), "{row}");
        assert!(
            row.contains("\"approach\":\"Sysmon 22\",\"linked_by\":\"pid+lifetime\",\"origin\":"),
            "{row}"
        );
    }
}
