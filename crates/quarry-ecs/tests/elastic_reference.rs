//! Every Windows pipeline test of Elastic's `system` and `windows`
//! integrations, and every winlogbeat golden pair of its Sysmon, Security
//! and PowerShell modules, fed through quarry's JSON normalisation and
//! compared field by field with Elastic's expected documents.
//!
//! Each expected document is flattened to dotted paths; every path is
//! compared unless [`KNOWN`] lists it (with the reason an offline tool
//! cannot or should not produce it). Fields quarry adds beyond the expected
//! ones (the raw `winlog.event_data.*`, which Sigma rules read, a derived
//! `host.id`) are not differences. The test prints, per data stream, the
//! documents, the fields matched out of those compared, and each differing
//! field with how often it differs and one example; it fails when the
//! share matched falls below [`MIN_MATCHED`], which is ratcheted up as
//! mappings are added.

use quarry_ecs::normalize_json;
use quarry_event::{Event, Origin, Value};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Share of compared fields that must match, over all data streams.
const MIN_MATCHED: f64 = 0.991;

/// Fields left out of the comparison, by exact path or `prefix.`, each with
/// why. Nothing else is excused.
const KNOWN: &[(&str, &str)] = &[
    ("event.ingested", "set by Elasticsearch at ingest time"),
    (
        "ecs.",
        "the ECS version of the pipeline release, not of the record",
    ),
    (
        "agent.",
        "the collecting agent's identity, copied from the input",
    ),
    ("elastic_agent.", "the collecting agent's identity"),
    ("input.", "the agent's input type"),
    (
        "data_stream.",
        "set by the data stream the test ran in, not the pipeline",
    ),
    ("tags", "pipeline bookkeeping (preserve_original_event, …)"),
    (
        "message",
        "text rendered from the provider's message DLL, which an offline reader does not have",
    ),
    (
        "event.original",
        "the raw XML as shipped; quarry keeps the record's origin instead",
    ),
    (
        "winlog.time_created",
        "removed or kept depending on the pipeline version; quarry keeps event.created",
    ),
    (
        "error.",
        "pipeline failure bookkeeping of the test run (e.g. a malformed task XML)",
    ),
    (
        "source.geo.",
        "GeoIP lookups need MaxMind databases, which a DFIR engine does not ship",
    ),
    ("source.as.", "GeoIP (ASN) lookups, as source.geo"),
];

fn reference_dir() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
        .join("reference")
}

fn read_json(p: &Path) -> J {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn docs(v: J, key: &str) -> Vec<J> {
    match v {
        J::Array(a) => a,
        J::Object(mut m) => match m.remove(key) {
            Some(J::Array(a)) => a,
            _ => vec![J::Object(m)],
        },
        other => vec![other],
    }
}

fn known(path: &str) -> bool {
    KNOWN.iter().any(|(k, _)| {
        path == *k
            || (k.ends_with('.') && path.starts_with(k))
            || path.starts_with(&format!("{k}."))
    })
}

/// A scalar as text (numbers as written, timestamps as instants to the
/// millisecond, the precision of Elasticsearch's `date`; quarry keeps
/// the record's nanoseconds).
fn scalar(v: &Value) -> Option<String> {
    let millis = |t: i64| t.div_euclid(1_000_000).to_string();
    match v {
        Value::Timestamp(t) => Some(millis(*t)),
        // GUIDs in braces compare without case: winlogbeat's raw and
        // ingested golden captures differ in it, and quarry joins them
        // case-insensitively (`entity_key`)
        Value::Str(s) if s.len() == 38 && s.starts_with('{') && s.ends_with('}') => {
            Some(s.as_str().to_ascii_uppercase())
        }
        Value::Str(s) => Some(
            quarry_event::parse_timestamp(s)
                .filter(|_| s.len() >= 19 && s.as_bytes().get(4) == Some(&b'-'))
                .map(millis)
                .unwrap_or_else(|| s.to_string()),
        ),
        other => other.to_text().map(|c| c.into_owned()),
    }
}

/// Values as a sorted list of texts: Elasticsearch treats a one-element
/// array as its element and arrays as sets of values.
fn values(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = match v {
        Value::Array(a) => a.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    };
    out.sort();
    out
}

#[derive(Default)]
struct Stream {
    docs: usize,
    matched: usize,
    total: usize,
    /// field → (count, one example)
    diffs: BTreeMap<String, (usize, String)>,
}

impl Stream {
    fn compare(&mut self, expected: &J, got: &Event) {
        self.docs += 1;
        let exp = Event::from_json(expected, Origin::default());
        for (path, want) in exp.fields() {
            if known(path) || want.is_null() {
                continue;
            }
            self.total += 1;
            let want = values(want);
            let have = got.get(path).map(values).unwrap_or_default();
            if want == have {
                self.matched += 1;
            } else {
                let e = self.diffs.entry(path.to_string()).or_default();
                e.0 += 1;
                if e.1.is_empty() {
                    let code = exp.get_text("event.code").unwrap_or_default();
                    e.1 = format!("(event {code}) expected {want:?}, got {have:?}");
                }
            }
        }
    }
}

fn normalize(input: &J) -> Event {
    normalize_json(input, Origin::default(), &mut Vec::new()).event
}

/// `{system,windows}/<stream>/_dev/test/pipeline/<test>.json` with its
/// `-expected.json`.
fn integration_streams(out: &mut BTreeMap<String, Stream>) {
    let root = reference_dir().join("elastic-integrations");
    for package in ["system", "windows"] {
        let Ok(dirs) = std::fs::read_dir(root.join(package)) else {
            panic!("{}: missing", root.join(package).display())
        };
        let mut dirs: Vec<_> = dirs.flatten().map(|d| d.path()).collect();
        dirs.sort();
        for dir in dirs {
            let tests = dir.join("_dev/test/pipeline");
            let Ok(files) = std::fs::read_dir(&tests) else {
                continue;
            };
            let mut files: Vec<_> = files.flatten().map(|d| d.path()).collect();
            files.sort();
            let name = format!(
                "{package}.{}",
                dir.file_name().unwrap_or_default().to_string_lossy()
            );
            for input in files {
                let expected = PathBuf::from(format!("{}-expected.json", input.display()));
                if input.to_string_lossy().ends_with("-expected.json") || !expected.exists() {
                    continue;
                }
                let inputs = docs(read_json(&input), "events");
                let wants = docs(read_json(&expected), "expected");
                let stream = out.entry(name.clone()).or_default();
                // (an expected file with more documents than its input, as
                // system/security test-4674, compares what pairs up)
                for (i, want) in inputs.iter().zip(&wants) {
                    stream.compare(want, &normalize(i));
                }
            }
        }
    }
}

/// winlogbeat's `collection/X.evtx.golden.json` (what it read) with
/// `ingest/X.golden.json` (what its ingest pipeline made of it).
fn winlogbeat_streams(out: &mut BTreeMap<String, Stream>) {
    let root = reference_dir().join("elastic-beats/winlogbeat");
    for module in ["sysmon", "security", "powershell"] {
        let data = root.join(module).join("test/testdata");
        let Ok(files) = std::fs::read_dir(data.join("ingest")) else {
            panic!("{}: missing", data.display())
        };
        let mut files: Vec<_> = files.flatten().map(|d| d.path()).collect();
        files.sort();
        let stream = out.entry(format!("winlogbeat.{module}")).or_default();
        for expected in files {
            let name = expected.file_name().unwrap_or_default().to_string_lossy();
            let Some(stem) = name.strip_suffix(".golden.json") else {
                continue;
            };
            let input = data
                .join("collection")
                .join(format!("{stem}.evtx.golden.json"));
            let inputs = docs(read_json(&input), "events");
            let wants = docs(read_json(&expected), "expected");
            for (i, want) in inputs.iter().zip(&wants) {
                stream.compare(want, &normalize(i));
            }
        }
    }
}

#[test]
#[ignore = "needs ../shared"]
fn every_elastic_windows_reference_document() {
    let mut streams = BTreeMap::new();
    integration_streams(&mut streams);
    winlogbeat_streams(&mut streams);
    let (mut matched, mut total) = (0, 0);
    for (name, s) in &streams {
        println!(
            "{name}: {} documents, {}/{} fields match",
            s.docs, s.matched, s.total
        );
        for (field, (n, example)) in &s.diffs {
            println!("    {field} ×{n}: {example}");
        }
        matched += s.matched;
        total += s.total;
    }
    let share = matched as f64 / total.max(1) as f64;
    println!(
        "all: {matched}/{total} fields match ({:.1}%)",
        share * 100.0
    );
    assert!(total > 0, "no reference documents found");
    assert!(
        share >= MIN_MATCHED,
        "{matched}/{total} fields match, below {MIN_MATCHED}"
    );
}
