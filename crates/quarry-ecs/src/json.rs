//! Normalises a JSON record by the format [`crate::format::detect`]
//! recognises it as, and adapts the Windows JSON shapes to a [`WinRecord`]:
//! - `evtx_dump` / `evtx` crate JSON: `{"Event": {"System": …, "EventData": …}}`
//! - winlogbeat: a `winlog` object with `event_id` and `channel` (and 6.x's flat shape)
//! - NXLog / OTRF / Logstash flat exports: top-level `EventID` and `Channel`
//! - Plaso `psort -o json_line` rows ([`crate::plaso`])
//! - EDR formats ([`crate::edr`])
//! - anything else: an ECS document, kept as it is.

use crate::edr;
use crate::format::{self, Format};
use crate::plaso;
use crate::windows::{self, WinRecord};
use quarry_event::Str;
use quarry_event::{Event, Origin, parse_timestamp};
use serde_json::Value as J;

/// A normalised record.
#[derive(Debug)]
pub struct Normalized {
    pub event: Event,
    pub format: Format,
    /// For Plaso rows: a key identifying the underlying record, so the
    /// reader can keep one event where Plaso wrote two rows (creation and
    /// modification time) for the same EVTX record.
    pub dedupe_key: Option<String>,
}

/// Recognises and normalises one JSON record. Problems that do not stop the
/// record from being kept are pushed to `problems`.
pub fn normalize_json(doc: &J, origin: Origin, problems: &mut Vec<String>) -> Normalized {
    let map = match doc {
        J::Object(m) => m,
        _ => {
            problems.push("record is not a JSON object; kept as an empty event".into());
            return ecs(doc, origin);
        }
    };
    let format = format::detect(doc);
    let windows = |rec: WinRecord, origin| Normalized {
        event: windows::normalize(&rec, origin),
        format,
        dedupe_key: None,
    };
    match format {
        // (detect read the record's EventID; should the two ever disagree,
        // the record is kept as it is)
        Format::EvtxJson => match map.get("Event").and_then(from_evtx_json) {
            Some(rec) => windows(rec, origin),
            None => ecs(doc, origin),
        },
        Format::Winlogbeat => {
            let w = &doc["winlog"];
            let rec = from_winlogbeat(doc, w);
            // Keep what the beat itself added (agent, host.id, host.os, …) and
            // lay the normalised fields over it.
            let mut ev = Event::from_json(doc, origin.clone());
            let norm = windows::normalize(&rec, origin);
            // the host the beat described (host.name, and host.id when it sent
            // one) is the agent's own: keep it rather than the computer name
            // and the id derived from it, as Elastic's pipelines do
            let beat_host_id = ev.contains("host.id");
            let beat_host_name = ev.contains("host.name");
            for (k, v) in norm.fields() {
                if (beat_host_id && matches!(k, "host.id" | "quarry.enriched"))
                    || (beat_host_name && k == "host.name")
                {
                    continue;
                }
                ev.set(k, v.clone());
            }
            ev.timestamp = norm.timestamp.or(ev.timestamp);
            Normalized {
                event: ev,
                format,
                dedupe_key: None,
            }
        }
        Format::Winlogbeat6 => windows(from_winlogbeat6(map), origin),
        Format::WindowsFlat => windows(from_flat(map), origin),
        Format::Plaso | Format::PlasoEvtx => plaso::normalize(doc, origin, problems),
        Format::Vendor(v) => Normalized {
            event: edr::normalize(v, doc, origin, problems),
            format,
            dedupe_key: None,
        },
        Format::Ecs => ecs(doc, origin),
    }
}

fn ecs(doc: &J, origin: Origin) -> Normalized {
    Normalized {
        event: Event::from_json(doc, origin),
        format: Format::Ecs,
        dedupe_key: None,
    }
}

/// JSON scalar → text (numbers and booleans as written, strings as-is).
fn text(v: &J) -> Option<Str> {
    match v {
        J::String(s) => Some(s.as_str().into()),
        J::Number(n) => Some(n.to_string().into()),
        J::Bool(b) => Some(if *b { "true" } else { "false" }.into()),
        J::Null => None,
        // `{"#text": …}` wrappers of the evtx crate, arrays of strings
        J::Object(m) => m.get("#text").and_then(text),
        J::Array(items) => {
            let parts: Vec<Str> = items.iter().filter_map(text).collect();
            Some(parts.join(" ").into())
        }
    }
}

fn attr<'a>(v: &'a J, name: &str) -> Option<&'a J> {
    v.get("#attributes").and_then(|a| a.get(name))
}

/// The event id in the `System` object of the evtx crate's JSON (a number,
/// or `{"#text": …}` when it has qualifiers).
pub(crate) fn evtx_event_id(sys: &J) -> Option<u32> {
    text(sys.get("EventID")?)?.trim().parse().ok()
}

/// Builds a [`WinRecord`] from the `Event` object of the evtx crate's JSON.
pub fn from_evtx_json(event: &J) -> Option<WinRecord> {
    let sys = event.get("System")?;
    let event_id = evtx_event_id(sys)?;
    let provider = sys.get("Provider");
    let mut rec = WinRecord {
        provider: provider
            .and_then(|p| attr(p, "Name"))
            .and_then(text)
            .unwrap_or_default(),
        provider_guid: provider
            .and_then(|p| attr(p, "Guid"))
            .and_then(text)
            .map(|g| brace(&g).into()),
        channel: sys.get("Channel").and_then(text).unwrap_or_default(),
        event_id,
        version: sys
            .get("Version")
            .and_then(text)
            .and_then(|s| s.parse().ok()),
        level: sys.get("Level").and_then(text),
        task: sys.get("Task").and_then(text),
        opcode: sys.get("Opcode").and_then(text),
        keywords: sys.get("Keywords").and_then(text),
        computer: sys.get("Computer").and_then(text).unwrap_or_default(),
        record_id: sys
            .get("EventRecordID")
            .and_then(text)
            .and_then(|s| s.parse().ok()),
        time_created: sys
            .get("TimeCreated")
            .and_then(|t| attr(t, "SystemTime"))
            .and_then(text)
            .and_then(|s| parse_timestamp(&s)),
        user_sid: sys
            .get("Security")
            .and_then(|s| attr(s, "UserID"))
            .and_then(text),
        exec_pid: sys
            .get("Execution")
            .and_then(|e| attr(e, "ProcessID"))
            .and_then(text)
            .and_then(|s| s.parse().ok()),
        exec_tid: sys
            .get("Execution")
            .and_then(|e| attr(e, "ThreadID"))
            .and_then(text)
            .and_then(|s| s.parse().ok()),
        data: Vec::new(),
        user_name: None,
        forwarded: false,
    };
    if let Some(J::Object(data)) = event.get("EventData") {
        for (k, v) in data {
            if k == "#attributes" {
                continue;
            }
            if k == "Data" {
                // unnamed <Data> elements: positional
                if let Some(t) = text(v) {
                    rec.data.push((Str::from("Data"), Str::from(t)));
                }
                continue;
            }
            if let Some(t) = text(v) {
                rec.data.push((Str::from(k.as_str()), guid_braces(k, t)));
            }
        }
    } else if let Some(J::Object(user)) = event.get("UserData") {
        // UserData wraps its fields in one provider-specific element
        for (_, inner) in user {
            if let J::Object(fields) = inner {
                for (k, v) in fields {
                    if k != "#attributes"
                        && let Some(t) = text(v)
                    {
                        rec.data.push((Str::from(k.as_str()), Str::from(t)));
                    }
                }
            }
        }
    }
    Some(rec)
}

/// The evtx crate renders GUID-typed values bare; Windows (and so Elastic)
/// shows them in braces. Put the braces back so ECS values look as Elastic's
/// do (joins use [`windows::entity_key`] and ignore them anyway).
pub(crate) fn guid_braces(name: &str, value: Str) -> Str {
    if is_guid_name(name) {
        brace(&value).into()
    } else {
        value
    }
}

/// Whether an EventData name holds a GUID (`ProcessGuid`, `LogonGUID`).
pub(crate) fn is_guid_name(name: &str) -> bool {
    name.ends_with("Guid") || name.ends_with("GUID")
}

pub(crate) fn brace(g: &str) -> String {
    if g.len() == 36 && !g.starts_with('{') && g.as_bytes().get(8) == Some(&b'-') {
        format!("{{{g}}}")
    } else {
        g.to_string()
    }
}

fn from_winlogbeat(doc: &J, w: &J) -> WinRecord {
    let s = |path: &str| -> Option<Str> {
        let mut cur = w;
        for part in path.split('.') {
            cur = cur.get(part)?;
        }
        text(cur)
    };
    let mut rec = WinRecord {
        provider: s("provider_name").unwrap_or_default(),
        provider_guid: s("provider_guid"),
        channel: s("channel").unwrap_or_default(),
        event_id: s("event_id")
            .and_then(|e| e.trim().parse().ok())
            .unwrap_or_default(),
        version: s("version").and_then(|v| v.parse().ok()),
        level: doc
            .get("log")
            .and_then(|l| l.get("level"))
            .and_then(text)
            .or_else(|| s("level")),
        task: s("task"),
        opcode: s("opcode"),
        keywords: s("keywords"),
        computer: s("computer_name").unwrap_or_default(),
        record_id: s("record_id").and_then(|r| r.parse().ok()),
        time_created: s("time_created")
            .or_else(|| doc.get("@timestamp").and_then(text))
            .and_then(|t| parse_timestamp(&t)),
        user_sid: s("user.identifier"),
        user_name: s("user.name"),
        exec_pid: s("process.pid").and_then(|p| p.parse().ok()),
        exec_tid: s("process.thread.id").and_then(|p| p.parse().ok()),
        data: Vec::new(),
        forwarded: winlogbeat_forwarded(doc),
    };
    for key in ["event_data", "user_data"] {
        if let Some(J::Object(data)) = w.get(key) {
            for (k, v) in data {
                if let Some(t) = text(v) {
                    rec.data.push((Str::from(k.as_str()), Str::from(t)));
                }
            }
        }
    }
    rec
}

/// Whether a winlogbeat / Elastic Agent document came from the
/// ForwardedEvents log: winlogbeat tags such records `forwarded`, the agent
/// ships them to the `windows.forwarded` data stream.
fn winlogbeat_forwarded(doc: &J) -> bool {
    let ds = |k: &str| {
        doc.get(k)
            .and_then(|d| d.get("dataset"))
            .and_then(J::as_str)
    };
    ds("data_stream") == Some("windows.forwarded")
        || ds("event") == Some("windows.forwarded")
        || doc
            .get("tags")
            .and_then(J::as_array)
            .is_some_and(|t| t.iter().any(|t| t.as_str() == Some("forwarded")))
}

/// winlogbeat 6.x (before ECS): `log_name`, `source_name`, `event_id`,
/// `computer_name`, `event_data` at the top level.
fn from_winlogbeat6(map: &serde_json::Map<String, J>) -> WinRecord {
    let s = |k: &str| map.get(k).and_then(text).filter(|v| !v.is_empty());
    let mut rec = WinRecord {
        provider: s("source_name").unwrap_or_default(),
        provider_guid: s("provider_guid"),
        channel: s("log_name").unwrap_or_default(),
        event_id: s("event_id")
            .and_then(|e| e.trim().parse().ok())
            .unwrap_or_default(),
        version: s("version").and_then(|v| v.parse().ok()),
        level: s("level"),
        task: s("task"),
        opcode: s("opcode"),
        keywords: s("keywords"),
        computer: s("computer_name")
            .or_else(|| map.get("host").and_then(|h| h.get("name")).and_then(text))
            .unwrap_or_default(),
        record_id: s("record_number").and_then(|r| r.parse().ok()),
        time_created: s("@timestamp").and_then(|t| parse_timestamp(&t)),
        user_sid: map
            .get("user")
            .and_then(|u| u.get("identifier"))
            .and_then(text),
        exec_pid: s("process_id").and_then(|p| p.parse().ok()),
        exec_tid: s("thread_id").and_then(|p| p.parse().ok()),
        data: Vec::new(),
        user_name: None,
        forwarded: false,
    };
    for key in ["event_data", "user_data"] {
        if let Some(J::Object(data)) = map.get(key) {
            for (k, v) in data {
                if let Some(t) = text(v) {
                    rec.data.push((Str::from(k.as_str()), Str::from(t)));
                }
            }
        }
    }
    rec
}

/// Keys NXLog / Logstash add around the EventData of a flat export.
const FLAT_META: &[&str] = &[
    "EventID",
    "Channel",
    "SourceName",
    "ProviderName",
    "ProviderGuid",
    "Hostname",
    "host",
    "Computer",
    "TimeCreated",
    "@timestamp",
    "EventTime",
    "EventReceivedTime",
    "RecordNumber",
    "EventRecordID",
    "Version",
    "Level",
    "Task",
    "Opcode",
    "OpcodeValue",
    "Keywords",
    "ExecutionProcessID",
    "ThreadID",
    "UserID",
    "AccountName",
    "AccountType",
    "Domain",
    "Message",
    "Category",
    "Severity",
    "SeverityValue",
    "SourceModuleName",
    "SourceModuleType",
    "@version",
    "port",
    "tags",
    "EventTypeOrignal",
];

fn from_flat(map: &serde_json::Map<String, J>) -> WinRecord {
    let s = |k: &str| map.get(k).and_then(text).filter(|v| !v.is_empty());
    let nxlog = map.contains_key("SourceModuleType");
    let time = s("TimeCreated")
        .or_else(|| s("@timestamp"))
        .and_then(|t| parse_timestamp(&t));
    let mut rec = WinRecord {
        provider: s("SourceName")
            .or_else(|| s("ProviderName"))
            .unwrap_or_default(),
        provider_guid: s("ProviderGuid"),
        channel: s("Channel").unwrap_or_default(),
        event_id: s("EventID")
            .and_then(|e| e.trim().parse().ok())
            .unwrap_or_default(),
        version: s("Version").and_then(|v| v.parse().ok()),
        level: s("Level"),
        task: s("Task"),
        opcode: s("Opcode"),
        keywords: s("Keywords"),
        computer: s("Hostname")
            .or_else(|| s("Computer"))
            .or_else(|| s("host"))
            .unwrap_or_default(),
        record_id: s("RecordNumber")
            .or_else(|| s("EventRecordID"))
            .and_then(|r| r.parse().ok()),
        time_created: time,
        user_sid: s("UserID"),
        exec_pid: s("ExecutionProcessID").and_then(|p| p.parse().ok()),
        exec_tid: s("ThreadID").and_then(|p| p.parse().ok()),
        data: Vec::new(),
        user_name: None,
        forwarded: false,
    };
    for (k, v) in map {
        if FLAT_META.contains(&k.as_str()) {
            continue;
        }
        // NXLog's own "EventType" (INFO, AUDIT_SUCCESS) shadows Sysmon's; NXLog
        // keeps the original as "EventTypeOrignal" (sic).
        if nxlog && k == "EventType" {
            if let Some(orig) = map.get("EventTypeOrignal").and_then(text) {
                rec.data.push((Str::from("EventType"), Str::from(orig)));
            }
            continue;
        }
        if let Some(t) = text(v) {
            rec.data.push((Str::from(k.as_str()), Str::from(t)));
        }
    }
    rec
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flat_otrf_sysmon22_normalises() {
        let doc = json!({"SourceName":"Microsoft-Windows-Sysmon","Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"MKT01.pandalab.com","TimeCreated":"2023-08-15T09:54:09.814Z","EventID":22,"UtcTime":"2023-08-10 14:39:32.363","ProcessGuid":"{81056205-5668-64dc-2b04-000000000800}","ProcessId":"3656","QueryName":"DC01.pandalab.com","QueryStatus":"0","QueryResults":"::ffff:192.168.1.4;","Image":"C:\\Windows\\system32\\BackgroundTaskHost.exe","User":"PANDALAB\\stevie.marie"});
        let n = normalize_json(&doc, Origin::default(), &mut Vec::new());
        assert_eq!(n.format, Format::WindowsFlat);
        let ev = n.event;
        assert_eq!(ev.get_str("dns.question.name"), Some("DC01.pandalab.com"));
        assert_eq!(ev.get_i64("process.pid"), Some(3656));
        assert_eq!(ev.get_str("process.name"), Some("BackgroundTaskHost.exe"));
        assert_eq!(ev.get_str("user.name"), Some("stevie.marie"));
        assert_eq!(ev.get_str("host.name"), Some("MKT01.pandalab.com"));
        assert!(ev.has_value("event.category", "network"));
    }

    #[test]
    fn evtx_json_with_qualified_event_id() {
        let doc = json!({"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}},"EventID":{"#attributes":{"Qualifiers":0},"#text":4688},"Channel":"Security","Computer":"WS1","EventRecordID":7,"TimeCreated":{"#attributes":{"SystemTime":"2019-11-14T17:10:15.151551Z"}}},"EventData":{"NewProcessId":"0x11cc","NewProcessName":"C:\\Windows\\System32\\wevtutil.exe","ProcessId":"0x122c","ParentProcessName":"C:\\Windows\\System32\\dns.exe","CommandLine":"wevtutil cl Security"}}});
        let ev = normalize_json(&doc, Origin::default(), &mut Vec::new()).event;
        assert_eq!(ev.get_i64("process.pid"), Some(0x11cc));
        assert_eq!(ev.get_i64("process.parent.pid"), Some(0x122c));
        assert_eq!(ev.get_str("process.parent.name"), Some("dns.exe"));
        assert_eq!(ev.get_str("event.dataset"), Some("system.security"));
    }

    #[test]
    fn winlogbeat6_shape() {
        let doc = json!({"@timestamp":"2019-05-18T20:36:46.254Z","log_name":"Microsoft-Windows-Sysmon/Operational","source_name":"Microsoft-Windows-Sysmon","event_id":22,"computer_name":"HFDC01.shire.com","record_number":"5402080","event_data":{"ProcessGuid":"{905CC552-2045-5CC5-0000-00105B2A0100}","ProcessId":"292","QueryName":"x.example","Image":"C:\\Windows\\System32\\svchost.exe","UtcTime":"2019-05-18 20:35:52.569"}});
        let n = normalize_json(&doc, Origin::default(), &mut Vec::new());
        assert_eq!(n.format, Format::Winlogbeat6);
        assert_eq!(n.event.get_str("dns.question.name"), Some("x.example"));
        assert_eq!(n.event.get_str("host.name"), Some("HFDC01.shire.com"));
        assert_eq!(n.event.get_str("process.name"), Some("svchost.exe"));
    }

    #[test]
    fn non_objects_and_unknown_shapes_are_kept() {
        let mut p = Vec::new();
        let n = normalize_json(&json!([1, 2]), Origin::default(), &mut p);
        assert_eq!(n.format, Format::Ecs);
        assert_eq!(p.len(), 1);
        let n = normalize_json(&json!({"process":{"name":"x"}}), Origin::default(), &mut p);
        assert_eq!(n.event.get_str("process.name"), Some("x"));
    }
}
