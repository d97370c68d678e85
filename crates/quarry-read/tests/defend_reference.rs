//! Elastic Defend documents are ECS already: read through quarry's reader,
//! each of the endpoint package's reference documents must keep every field
//! as it was (field by field, not a sample of fields) and gain only the data
//! stream Elastic's endpoint package would have given it.

use quarry_event::{Event, Origin};
use serde_json::Value as J;
use std::path::PathBuf;

fn endpoint_dir() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
        .join("corpus/vendor/elastic-endpoint-package")
}

/// Reads `file` with quarry's reader and checks every field of the document
/// is on the one event read, unchanged; returns the event.
fn read_keeps_every_field(file: &str) -> Event {
    let path = endpoint_dir().join(file);
    let doc: J = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let (evs, s) = quarry_read::scan(&[path], Some);
    assert!(s.is_clean(), "{file}: {:?}", s.problems);
    assert_eq!(
        s.formats.get("elasticdefend"),
        Some(&1),
        "{file}: {:?}",
        s.formats
    );
    assert!(s.unmapped.is_empty(), "{file}: {:?}", s.unmapped);
    assert_eq!(evs.len(), 1, "{file}");
    let ev = evs.into_iter().next().unwrap();
    let want = Event::from_json(&doc, Origin::default());
    let mut compared = 0;
    for (k, v) in want.fields() {
        assert_eq!(ev.get(k), Some(v), "{file}: {k}");
        compared += 1;
    }
    assert!(compared >= 30, "{file}: only {compared} fields");
    assert_eq!(ev.timestamp, want.timestamp, "{file}: @timestamp");
    // what quarry added: only the data stream and event.dataset where the
    // document had none
    let added: Vec<&str> = ev
        .fields()
        .map(|(k, _)| k)
        .filter(|k| !want.contains(k))
        .collect();
    for k in &added {
        assert!(
            k.starts_with("data_stream.") || *k == "event.dataset",
            "{file}: added {k}"
        );
    }
    // the original document is what search echoes as _source
    assert_eq!(ev.source.as_deref(), Some(&doc), "{file}");
    println!("{file}: {compared} fields kept, added {added:?}");
    ev
}

#[test]
#[ignore = "needs ../shared"]
fn schema_example_dns_request_windows() {
    let ev = read_keeps_every_field("schemas_examples_v1_dns_request_windows.json");
    assert_eq!(
        ev.get_str("data_stream.dataset"),
        Some("endpoint.events.network")
    );
    assert_eq!(ev.get_str("event.dataset"), Some("endpoint.events.network"));
    assert_eq!(ev.get_str("dns.question.name"), Some("www.google.com"));
    // the querying process is on the DNS event itself
    assert_eq!(ev.get_str("process.name"), Some("eclipse.exe"));
    assert_eq!(ev.get_i64("process.pid"), Some(5));
}

#[test]
#[ignore = "needs ../shared"]
fn schema_example_process_created_windows() {
    let ev = read_keeps_every_field("schemas_examples_v1_process_created_windows.json");
    assert_eq!(
        ev.get_str("data_stream.dataset"),
        Some("endpoint.events.process")
    );
    assert!(ev.has_value("event.type", "start"));
}

#[test]
#[ignore = "needs ../shared"]
fn package_sample_events() {
    let ev = read_keeps_every_field("package_endpoint_data_stream_process_sample_event.json");
    assert_eq!(
        ev.get_str("data_stream.dataset"),
        Some("endpoint.events.process")
    );
    let ev = read_keeps_every_field("package_endpoint_data_stream_network_sample_event.json");
    assert_eq!(
        ev.get_str("data_stream.dataset"),
        Some("endpoint.events.network")
    );
}
