//! One alert of a hunt, investigated against the evidence: the process
//! tree (ancestors, the alerting process, its descendants), the timeline of
//! the process and its descendants, and the rule's investigation pivots run
//! again — as data ([`Findings`]), for `quarry investigate` to print.

use crate::pivot::Pivot;
use crate::{Investigation, process_json, summary};
use quarry_event::basename;
use quarry_event::{Event, Origin, format_timestamp};
use quarry_lineage::{HostLineage, Link, Process, host_key};
use quarry_rules::Rule;
use serde_json::{Value as J, json};

/// An alert document to investigate, read as an event.
#[derive(Debug)]
pub struct Target<'a> {
    doc: &'a J,
    ev: Event,
    host: String,
}

impl<'a> Target<'a> {
    /// `None` when the alert names no host (`host.id` or `host.name`):
    /// everything investigated is per host.
    pub fn new(doc: &'a J) -> Option<Self> {
        let ev = Event::from_json(doc, Origin::default());
        let host = host_key(&ev)?;
        Some(Target { doc, ev, host })
    }

    /// The host key the alert's evidence is kept under.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The id of the rule that raised the alert (empty when it has none).
    pub fn rule_id(&self) -> &str {
        self.ev
            .get_str("kibana.alert.rule.rule_id")
            .unwrap_or_default()
    }
}

/// The role of a process in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The parent named by the alert, whose own start is not in the
    /// evidence.
    Parent,
    Ancestor,
    /// The alerting process.
    Alert,
    Descendant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Parent => "parent",
            Role::Ancestor => "ancestor",
            Role::Alert => "alert",
            Role::Descendant => "descendant",
        }
    }
}

/// A line of the process tree.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeLine {
    pub depth: usize,
    pub role: Role,
    /// Name, pid, start, user and command line, for reading.
    pub text: String,
    /// The process as alerts show it ([`process_json`]).
    pub process: J,
}

/// What the investigation of one alert found.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// The alert's `kibana.alert.uuid` (`None` for alerts of a quarry
    /// that did not name them).
    pub id: Option<String>,
    pub rule: String,
    pub rule_id: String,
    pub severity: Option<String>,
    /// The alert's time.
    pub time: String,
    /// The host's name, or its key when the alert names none.
    pub host: String,
    /// How the alert was tied to its process: `entity_id`, `pid+lifetime`
    /// or `unlinked`.
    pub linked_by: &'static str,
    /// Empty when the alerting process's start is not in the evidence.
    pub tree: Vec<TreeLine>,
    /// Descendants' starts and the activity of the process and its
    /// descendants, in time order, one JSON object each.
    pub timeline: Vec<J>,
    /// The rule's pivots, each with what it found.
    pub pivots: Vec<J>,
    /// The kinds of telemetry the host has none of, said as a gap.
    pub coverage: Option<String>,
    /// Why the pivots were not run again.
    pub note: Option<String>,
}

impl Findings {
    /// The findings as one JSON document; `number` is the alert's position
    /// in its file, from 1.
    pub fn to_json(&self, number: usize) -> J {
        json!({
            "alert": {"number": number, "uuid": self.id, "rule": self.rule, "rule_id": self.rule_id, "time": self.time,
                      "host": self.host, "linked_by": self.linked_by, "severity": self.severity},
            "tree": self.tree.iter().map(|l| json!({"depth": l.depth, "role": l.role.as_str(),
                      "alert": l.role == Role::Alert, "process": l.process})).collect::<Vec<_>>(),
            "timeline": self.timeline,
            "pivots": self.pivots,
            "coverage": self.coverage,
            "note": self.note,
        })
    }
}

/// Investigates the alert over the evidence kept for its host. With its
/// rule, the pivots are run again; without, they are shown as the hunt ran
/// them, and [`Findings::note`] says why.
pub fn investigate(target: &Target<'_>, rule: Option<&Rule>, inv: &Investigation) -> Findings {
    let host = target.host();
    let alert_ev = &target.ev;
    let lin = inv.lineage.host(host);
    let (proc_index, link) = match lin {
        Some(h) => h.resolve_index(alert_ev),
        None => (None, Link::Unlinked),
    };
    let process = proc_index.and_then(|i| lin.and_then(|h| h.process(i)));
    let (tree, timeline) = match (lin, process, proc_index) {
        (Some(h), Some(p), Some(i)) => (tree(h, p), timeline(inv, host, h, p, i)),
        _ => (Vec::new(), Vec::new()),
    };
    let (pivots, note) = pivots(target, rule, inv);
    let host_name = alert_ev.get_str("host.name").unwrap_or(host).to_string();
    let missing = inv.missing_telemetry(host);
    let coverage = (!missing.is_empty()).then(|| {
        format!(
            "no {} telemetry on {host_name}: unresolved, not benign",
            missing.join(", ")
        )
    });
    Findings {
        id: alert_ev.get_str("kibana.alert.uuid").map(str::to_string),
        rule: alert_ev
            .get_str("kibana.alert.rule.name")
            .unwrap_or("?")
            .to_string(),
        rule_id: target.rule_id().to_string(),
        severity: alert_ev
            .get_str("kibana.alert.severity")
            .map(str::to_string),
        time: alert_ev.timestamp.map(format_timestamp).unwrap_or_default(),
        host: host_name,
        linked_by: link.as_str(),
        tree,
        timeline,
        pivots,
        coverage,
        note,
    }
}

fn name_of(p: &Process) -> String {
    p.name
        .clone()
        .or_else(|| p.executable.as_deref().map(|e| basename(e).to_string()))
        .unwrap_or_else(|| "?".into())
}

fn process_line(p: &Process) -> String {
    let mut s = name_of(p);
    if let Some(pid) = p.pid {
        s.push_str(&format!("  pid {pid}"));
    }
    if let Some(t) = p.start {
        s.push_str(&format!("  {}", format_timestamp(t)));
    }
    if let Some(u) = &p.user {
        s.push_str(&format!("  [{u}]"));
    }
    if let Some(c) = &p.command_line {
        s.push_str(&format!("  {c}"));
    }
    s
}

fn line(depth: usize, role: Role, p: &Process) -> TreeLine {
    TreeLine {
        depth,
        role,
        text: process_line(p),
        process: process_json(p),
    }
}

/// The tree: ancestors from the root down, the alert's process, and its
/// descendants as a tree; each line with its depth.
fn tree(h: &HostLineage, p: &Process) -> Vec<TreeLine> {
    let mut out = Vec::new();
    let mut ancestors = h.ancestors(p);
    ancestors.reverse();
    if ancestors.is_empty()
        && let Some(parent) = p.parent_executable.as_ref().or(p.parent_name.as_ref())
    {
        let pid = p
            .parent_pid
            .map(|x| x.to_string())
            .unwrap_or_else(|| "?".into());
        out.push(TreeLine {
            depth: 0,
            role: Role::Parent,
            text: format!("{parent}  pid {pid}  (its start is not in the evidence)"),
            process: json!({"executable": parent, "pid": p.parent_pid}),
        });
    }
    for a in &ancestors {
        out.push(line(out.len(), Role::Ancestor, a));
    }
    let base = out.len();
    out.push(line(base, Role::Alert, p));
    fn walk<'a>(
        h: &'a HostLineage,
        p: &'a Process,
        depth: usize,
        seen: &mut Vec<*const Process>,
        out: &mut Vec<TreeLine>,
    ) {
        let mut kids = h.children(p);
        kids.sort_by_key(|k| k.start.unwrap_or(i64::MIN));
        for k in kids {
            // lineage from damaged evidence may loop; a tree must not
            if seen.contains(&(k as *const _)) || seen.len() > 10_000 {
                continue;
            }
            seen.push(k);
            out.push(line(depth, Role::Descendant, k));
            walk(h, k, depth + 1, seen, out);
        }
    }
    let mut seen = vec![p as *const Process];
    walk(h, p, base + 1, &mut seen, &mut out);
    out
}

/// Descendants' starts and the activity of the process tree, in time order.
fn timeline(inv: &Investigation, host: &str, h: &HostLineage, p: &Process, index: usize) -> Vec<J> {
    let mut rows: Vec<(i64, J)> = Vec::new();
    let mut procs: Vec<&Process> = vec![p];
    procs.extend(h.descendants(p));
    for ev in inv.host_events(host) {
        let is_start = ev.has_value_id(quarry_event::fid!("event.category"), "process")
            && ev.has_value_id(quarry_event::fid!("event.type"), "start");
        if is_start
            && let (Some(pi), _) = h.resolve_index(ev)
            && h.process(pi)
                .is_some_and(|q| procs.iter().any(|x| std::ptr::eq(*x, q)))
        {
            rows.push((ev.timestamp.unwrap_or(i64::MIN), timeline_row(ev, true)));
        }
    }
    for ev in inv.activity(host, index) {
        rows.push((ev.timestamp.unwrap_or(i64::MIN), timeline_row(ev, false)));
    }
    rows.sort_by_key(|a| a.0);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// A timeline row: what happened, by which process, to what.
fn timeline_row(ev: &Event, is_start: bool) -> J {
    let s = summary(ev);
    let target = if is_start {
        ev.get_str("process.command_line")
            .or(ev.get_str("process.executable"))
            .map(str::to_string)
    } else if let Some(q) = ev.get_str("dns.question.name") {
        Some(q.to_string())
    } else if let Some(ip) = ev.get("destination.ip").and_then(|v| v.to_text()) {
        Some(match ev.get("destination.port").and_then(|v| v.to_text()) {
            Some(p) => format!("{ip}:{p}"),
            None => ip.into_owned(),
        })
    } else {
        ev.get_str("file.path")
            .or(ev.get_str("registry.path"))
            .map(str::to_string)
    };
    let category = ev
        .get("event.category")
        .map(|v| {
            v.iter()
                .filter_map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "@timestamp": s.get("@timestamp"),
        "pid": ev.get_i64("process.pid"),
        "process": ev.get_str("process.name").or(ev.get_str("process.executable")),
        "category": category,
        "action": ev.get_str("event.action").or(ev.get_str("event.code")),
        "target": target,
        "origin": ev.origin.to_string(),
    })
}

/// The rule's pivots: run again when the rule is loaded, else as the alert
/// has them (with a note saying so).
fn pivots(
    target: &Target<'_>,
    rule: Option<&Rule>,
    inv: &Investigation,
) -> (Vec<J>, Option<String>) {
    let doc = target.doc;
    let Some(rule) = rule else {
        let note = format!(
            "rule {:?} is not among the loaded rules (pass the --rules the alert came from): its pivots are shown as hunt ran them",
            target.rule_id()
        );
        let pivots = doc["quarry"]["investigate"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        return (pivots, Some(note));
    };
    // templates are filled with the first value of the alert's field
    let lookup = |f: &str| target.ev.get_text(f).map(|s| s.into_owned());
    let mut pivots = Vec::new();
    for def in &rule.investigate {
        let p = Pivot::fill(def, &lookup, target.ev.timestamp);
        let mut pj = p.to_json();
        if p.groups.iter().flatten().any(|t| t.field == "event.kind") {
            // pivots over alerts: as hunt found them, in the alert
            pj["count"] = doc["quarry"]["investigate"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["label"] == pj["label"]))
                .map(|x| x["count"].clone())
                .unwrap_or(J::Null);
            let mut notes = pj["notes"].as_array().cloned().unwrap_or_default();
            notes.push(json!(
                "alerts are found by quarry hunt: this is the count it gave"
            ));
            pj["notes"] = J::Array(notes);
        } else if !p.groups.is_empty() {
            inv.run_pivot(&p, Some(target.host())).fill(&mut pj);
        }
        pivots.push(pj);
    }
    (pivots, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Packed, Retention};

    const S: i64 = 1_000_000_000;

    fn ev(fields: &[(&str, &str)], t: i64) -> Event {
        let mut e = Event::new(Origin::default());
        e.set("host.name", "WS1");
        for (k, v) in fields {
            e.set(k, *v);
        }
        e.set_timestamp(t * S);
        e
    }

    fn start(guid: &str, pid: &str, exe: &str, parent: &str, t: i64) -> Event {
        let mut e = ev(
            &[
                ("process.entity_id", guid),
                ("process.executable", exe),
                ("process.parent.entity_id", parent),
            ],
            t,
        );
        e.set("event.category", vec!["process"]);
        e.set("event.type", vec!["start"]);
        e.set("process.pid", pid.parse::<i64>().unwrap_or_default());
        e
    }

    fn evidence(rules: &[&Rule]) -> Investigation {
        let mut file = ev(
            &[
                ("process.entity_id", "C"),
                ("file.path", "C:\\drop.exe"),
                ("event.action", "creation"),
            ],
            30,
        );
        file.set("event.category", vec!["file"]);
        let evs = [
            start("P", "10", "C:\\Windows\\explorer.exe", "", 1),
            start("A", "20", "C:\\Office\\WINWORD.EXE", "P", 10),
            start("C", "30", "C:\\Windows\\cmd.exe", "A", 20),
            start("D", "40", "C:\\Windows\\whoami.exe", "C", 25),
            file,
        ];
        let retention = Retention::for_rules(rules.iter().copied());
        let packed: Vec<(String, Packed)> = evs
            .iter()
            .filter_map(|e| retention.pack(e, false))
            .collect();
        Investigation::from_packed(packed)
    }

    fn alert_doc(rule_id: &str) -> J {
        json!({
            "@timestamp": "1970-01-01T00:00:20Z",
            "host": {"name": "WS1"},
            "process": {"entity_id": "C", "pid": 30, "executable": "C:\\Windows\\cmd.exe"},
            "kibana": {"alert": {"rule": {"rule_id": rule_id, "name": "Office child"}, "severity": "high"}},
            "quarry": {"investigate": [{"label": "as hunt ran it", "count": 4}]},
        })
    }

    #[test]
    fn tree_timeline_and_coverage_of_the_alerting_process() {
        let inv = evidence(&[]);
        let doc = alert_doc("r-1");
        let target = Target::new(&doc).expect("names a host");
        assert_eq!(target.rule_id(), "r-1");
        let f = investigate(&target, None, &inv);
        assert_eq!(f.linked_by, "entity_id");
        let tree: Vec<_> = f
            .tree
            .iter()
            .map(|l| {
                (
                    l.depth,
                    l.role,
                    l.text.split("  ").next().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            tree,
            vec![
                (0, Role::Ancestor, "explorer.exe"),
                (1, Role::Ancestor, "WINWORD.EXE"),
                (2, Role::Alert, "cmd.exe"),
                (3, Role::Descendant, "whoami.exe"),
            ]
        );
        // the process's own start, its child's, and its file event, in time
        let targets: Vec<_> = f.timeline.iter().map(|r| r["target"].clone()).collect();
        assert_eq!(
            targets,
            vec![
                json!("C:\\Windows\\cmd.exe"),
                json!("C:\\Windows\\whoami.exe"),
                json!("C:\\drop.exe")
            ]
        );
        assert_eq!(
            f.coverage.as_deref(),
            Some("no registry, network telemetry on WS1: unresolved, not benign")
        );
        // without its rule, the pivots are the alert's, and a note says why
        assert_eq!(
            f.pivots,
            vec![json!({"label": "as hunt ran it", "count": 4})]
        );
        assert!(f.note.as_deref().is_some_and(|n| n.contains("\"r-1\"")));
        let j = f.to_json(3);
        assert_eq!(j["alert"]["number"], 3);
        assert_eq!(
            j["tree"][2],
            json!({"depth": 2, "role": "alert", "alert": true,
            "process": process_json_of(&inv, "C")})
        );
    }

    fn process_json_of(inv: &Investigation, guid: &str) -> J {
        let h = inv.lineage.host("ws1").expect("host");
        let mut e = Event::new(Origin::default());
        e.set("process.entity_id", guid);
        let p = h.resolve_index(&e).0.and_then(|i| h.process(i));
        p.map(process_json).unwrap_or(J::Null)
    }

    #[test]
    fn pivots_are_run_again_with_the_rule() {
        let set = quarry_rules::load_str(
            r#"
[rule]
rule_id = "r-1"
name = "Office child"
type = "eql"
language = "eql"
severity = "high"
risk_score = 73
query = 'process where true'

[[transform.investigate]]
label = "Files of the process"
providers = [[
  { excluded = false, field = "process.entity_id", queryType = "phrase", value = "{{process.entity_id}}", valueType = "string" },
  { excluded = false, field = "event.category", queryType = "phrase", value = "file", valueType = "string" },
]]
relativeFrom = "now-1h"
relativeTo = "now"
"#,
            "r.toml".into(),
        );
        let rule = &set.rules[0];
        let inv = evidence(&[rule]);
        let doc = alert_doc("r-1");
        let target = Target::new(&doc).expect("names a host");
        let f = investigate(&target, Some(rule), &inv);
        assert!(f.note.is_none());
        assert_eq!(f.pivots.len(), 1);
        assert_eq!(f.pivots[0]["label"], "Files of the process");
        // the file event is after the alert's time: outside the window
        assert_eq!(f.pivots[0]["count"], 0, "{:#}", f.pivots[0]);
        assert_eq!(f.pivots[0]["after_window"], 1, "{:#}", f.pivots[0]);
    }

    #[test]
    fn an_alert_without_a_host_cannot_be_investigated() {
        assert!(Target::new(&json!({"kibana": {"alert": {}}})).is_none());
    }
}
