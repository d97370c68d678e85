//! Windows records normalised by quarry compared field by field with
//! Elastic's own output: winlogbeat's golden files (Sysmon 1, Security 4688)
//! and the windows integration's Sysmon 22 pipeline test.
//!
//! Winlogbeat's golden files hold the raw record as `winlog.*` beside the ECS
//! fields it derived; quarry gets only the `winlog.*` part (what winlogbeat
//! read from the event log) and must derive the same ECS fields.

use quarry_ecs::{Format, normalize_json};
use quarry_event::{Event, Origin};
use serde_json::Value as J;
use std::path::PathBuf;

fn vendor_dir() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
        .join("corpus/vendor")
}

fn load(rel: &str) -> J {
    let p = vendor_dir().join(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// ECS fields compared; ingest-time fields are not the record's.
const PREFIXES: &[&str] = &[
    "process.",
    "user.",
    "host.",
    "dns.",
    "event.",
    "related.",
    "network.",
    "sysmon.",
    "log.level",
    "@timestamp",
    "winlog.logon",
];
const SKIP: &[(&str, &str)] = &[
    ("event.ingested", "set by Elasticsearch at ingest time"),
    (
        "event.original",
        "the raw XML as shipped; quarry keeps the origin instead",
    ),
];

fn compare(expected: &J, got: &Event) -> Vec<String> {
    let exp = Event::from_json(expected, Origin::default());
    let mut diffs = Vec::new();
    let mut keys: Vec<&str> = exp.fields().map(|(k, _)| k).collect();
    keys.sort_unstable();
    for k in keys {
        if !PREFIXES.iter().any(|p| k.starts_with(p)) || SKIP.iter().any(|(s, _)| *s == k) {
            continue;
        }
        let mut want = exp.get(k).map(|v| v.to_json());
        let mut have = got.get(k).map(|v| v.to_json());
        if k == "@timestamp" || k == "event.created" {
            // same instant, whatever the number of fraction digits
            let t = |v: &Option<J>| {
                v.as_ref()
                    .and_then(J::as_str)
                    .and_then(quarry_event::parse_timestamp)
                    .map(J::from)
            };
            (want, have) = (t(&want), t(&have));
        }
        let norm = |v: Option<J>| match v {
            Some(J::Array(a)) if a.len() == 1 && !matches!(k, "event.category" | "event.type") => {
                a.into_iter().next()
            }
            other => other,
        };
        if norm(want.clone()) != norm(have.clone()) {
            diffs.push(format!("{k}: expected {want:?}, got {have:?}"));
        }
    }
    diffs
}

/// What winlogbeat read, rebuilt from a golden document: its `winlog.*`,
/// plus the EventData fields winlogbeat's processors moved out of
/// `winlog.event_data` into ECS (the golden files keep only the rest), put
/// back under their Windows names. quarry must then derive every ECS field —
/// names, args, hashes, users, related.*, hex pids — as winlogbeat did.
fn raw_winlogbeat(golden: &J) -> J {
    let mut raw = serde_json::Map::new();
    for key in ["winlog", "log"] {
        if let Some(v) = golden.get(key) {
            raw.insert(key.into(), v.clone());
        }
    }
    let g = Event::from_json(golden, Origin::default());
    let text = |k: &str| g.get(k).and_then(|v| v.to_text()).map(|c| c.into_owned());
    let mut moved = serde_json::Map::new();
    let mut put = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            moved.insert(name.into(), J::String(v));
        }
    };
    match text("winlog.event_id").as_deref() {
        Some("1") => {
            let ts = text("@timestamp").unwrap_or_default();
            put(
                "UtcTime",
                Some(ts.trim_end_matches('Z').replacen('T', " ", 1)),
            );
            put("ProcessGuid", text("process.entity_id"));
            put("ProcessId", text("process.pid"));
            put("Image", text("process.executable"));
            put("CommandLine", text("process.command_line"));
            put("CurrentDirectory", text("process.working_directory"));
            put(
                "User",
                text("user.domain")
                    .zip(text("user.name"))
                    .map(|(d, n)| format!("{d}\\{n}")),
            );
            put(
                "Hashes",
                text("process.hash.sha1").map(|h| format!("SHA1={}", h.to_uppercase())),
            );
            put("OriginalFileName", text("process.pe.original_file_name"));
            put("ParentProcessGuid", text("process.parent.entity_id"));
            put("ParentProcessId", text("process.parent.pid"));
            put("ParentImage", text("process.parent.executable"));
            put("ParentCommandLine", text("process.parent.command_line"));
        }
        Some("4688") => {
            put(
                "NewProcessId",
                g.get_i64("process.pid").map(|p| format!("0x{p:x}")),
            );
            put("NewProcessName", text("process.executable"));
            put("ParentProcessName", text("process.parent.executable"));
            raw.insert("@timestamp".into(), golden["@timestamp"].clone());
        }
        _ => {}
    }
    if let Some(J::Object(w)) = raw.get_mut("winlog")
        && let Some(J::Object(ed)) = w.get_mut("event_data")
    {
        ed.extend(moved);
    }
    J::Object(raw)
}

fn check_golden(rel: &str) {
    let golden = load(rel);
    let docs = golden
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![golden.clone()]);
    assert!(!docs.is_empty());
    for doc in docs {
        let n = normalize_json(&raw_winlogbeat(&doc), Origin::default(), &mut Vec::new());
        assert_eq!(n.format, Format::Winlogbeat);
        let diffs = compare(&doc, &n.event);
        assert!(diffs.is_empty(), "{rel}:\n  {}", diffs.join("\n  "));
    }
}

#[test]
#[ignore = "needs ../shared"]
fn winlogbeat_sysmon_1_golden() {
    check_golden("elastic-beats/sysmon-12-processcreate.golden.json");
}

#[test]
#[ignore = "needs ../shared"]
fn winlogbeat_security_4688_golden() {
    check_golden("elastic-beats/security-windows2019_4688_Process_Created.golden.json");
}

#[test]
#[ignore = "needs ../shared"]
fn windows_integration_sysmon_22() {
    let input = load(
        "elastic-integrations/windows_sysmon_operational/test-events.json.event0-sysmon22.input.json",
    );
    let expected = load(
        "elastic-integrations/windows_sysmon_operational/test-events.json-expected.doc0-sysmon22.json",
    );
    let n = normalize_json(&input, Origin::default(), &mut Vec::new());
    let diffs = compare(&expected, &n.event);
    assert!(diffs.is_empty(), "\n  {}", diffs.join("\n  "));
}

/// The same golden records read from the ForwardedEvents log: Elastic's
/// `windows.forwarded` data stream runs the Sysmon and Security pipelines on
/// them by their own channel, so every ECS field is the original's; only
/// `event.module` (`windows`) and the dataset (`windows.forwarded`, a
/// constant of that data stream) differ. Two shapes: a winlogbeat document
/// tagged `forwarded` with the record's own channel (what winlogbeat writes
/// for the ForwardedEvents log), and one whose channel is `ForwardedEvents`.
fn check_golden_forwarded(rel: &str) {
    let golden = load(rel);
    let docs = golden
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![golden.clone()]);
    for doc in docs {
        let mut expected = doc.clone();
        expected["event"]["module"] = "windows".into();
        expected["event"]["dataset"] = "windows.forwarded".into();
        let tagged = {
            let mut raw = raw_winlogbeat(&doc);
            raw["tags"] = serde_json::json!(["forwarded"]);
            raw
        };
        let renamed = {
            let mut raw = raw_winlogbeat(&doc);
            raw["winlog"]["channel"] = "ForwardedEvents".into();
            raw
        };
        for (shape, raw) in [("tagged", tagged), ("channel", renamed)] {
            let ev = normalize_json(&raw, Origin::default(), &mut Vec::new()).event;
            let diffs = compare(&expected, &ev);
            assert!(
                diffs.is_empty(),
                "{rel} ({shape}):\n  {}",
                diffs.join("\n  ")
            );
            assert_eq!(ev.get_str("data_stream.dataset"), Some("windows.forwarded"));
            assert!(ev.has_value("event.type", "start"), "{rel} ({shape})");
            assert!(!ev.contains(quarry_ecs::UNMAPPED_TYPE), "{rel} ({shape})");
        }
    }
}

#[test]
#[ignore = "needs ../shared"]
fn forwarded_sysmon_1_maps_as_the_original() {
    check_golden_forwarded("elastic-beats/sysmon-12-processcreate.golden.json");
}

#[test]
#[ignore = "needs ../shared"]
fn forwarded_security_4688_maps_as_the_original() {
    check_golden_forwarded("elastic-beats/security-windows2019_4688_Process_Created.golden.json");
}
