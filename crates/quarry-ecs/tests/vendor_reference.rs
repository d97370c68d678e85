//! Vendor records normalised by quarry compared field by field with
//! Elastic's expected pipeline output in `../shared/corpus/vendor/`.

use quarry_ecs::edr::Vendor;
use quarry_ecs::{Format, normalize_json};
use quarry_event::{Event, Origin};
use serde_json::Value as J;
use std::path::PathBuf;

fn dir() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
        .join("corpus/vendor/elastic-integrations")
}

fn read(rel: &str) -> String {
    let p = dir().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Compared: the fields rules read. Not compared, with the reason:
const SKIP: &[(&str, &str)] = &[
    ("event.ingested", "set at ingest time"),
    ("event.original", "the raw record as shipped"),
    ("event.agent_id_status", "Fleet agent metadata"),
    ("event.timezone", "set by the ingest node"),
    (
        "event.id",
        "the 2023 pipeline (ProcessRollup2 README sample) used `id`, the 2025 one `id|aid|cid`; quarry follows 2025",
    ),
];
const PREFIXES: &[&str] = &[
    "user.",
    "host.hostname",
    "host.os.",
    "host.type",
    "@timestamp",
    "process.",
    "dns.",
    "event.",
    "host.os.type",
    "host.id",
    "user.id",
    "device.id",
    "network.protocol",
    "observer.serial_number",
];

fn compare(expected: &J, got: &Event, skip: &[&str]) -> (usize, Vec<String>) {
    let exp = Event::from_json(expected, Origin::default());
    let mut keys: Vec<&str> = exp.fields().map(|(k, _)| k).collect();
    keys.sort_unstable();
    let mut diffs = Vec::new();
    let mut compared = 0;
    for k in keys {
        if !PREFIXES.iter().any(|p| k.starts_with(p))
            || SKIP.iter().any(|(s, _)| *s == k)
            || skip.contains(&k)
        {
            continue;
        }
        let mut want = exp.get(k).map(|v| v.to_json());
        let mut have = got.get(k).map(|v| v.to_json());
        if k == "@timestamp" || k == "event.created" || k == "process.start" {
            let t = |v: &Option<J>| {
                v.as_ref()
                    .and_then(J::as_str)
                    .and_then(quarry_event::parse_timestamp)
                    .map(J::from)
            };
            (want, have) = (t(&want), t(&have));
        }
        compared += 1;
        if want != have {
            diffs.push(format!("{k}: expected {want:?}, got {have:?}"));
        }
    }
    (compared, diffs)
}

/// FDR's `user.name` and `host.name` come from the aidmaster / userinfo
/// lookup files Elastic joins in, not from the record itself.
const FDR_LOOKUPS: &[&str] = &["user.name", "host.name"];

fn check(raw_rel: &str, line: usize, expected_rel: &str) {
    check_as(
        raw_rel,
        line,
        expected_rel,
        Vendor::CrowdStrikeFdr,
        FDR_LOOKUPS,
    )
}

fn check_as(raw_rel: &str, line: usize, expected_rel: &str, vendor: Vendor, skip: &[&str]) {
    let raw = read(raw_rel);
    let record: J = serde_json::from_str(raw.lines().nth(line).expect("line")).expect("raw JSON");
    let expected: J = serde_json::from_str(&read(expected_rel)).expect("expected JSON");
    let mut problems = Vec::new();
    let n = normalize_json(&record, Origin::default(), &mut problems);
    assert_eq!(n.format, Format::Vendor(vendor));
    let (compared, diffs) = compare(&expected, &n.event, skip);
    assert!(
        diffs.is_empty(),
        "{expected_rel}:\n  {}",
        diffs.join("\n  ")
    );
    assert!(
        compared >= 10,
        "{expected_rel}: only {compared} fields compared"
    );
    println!("{expected_rel}: {compared} fields equal");
}

#[test]
#[ignore = "needs ../shared"]
fn crowdstrike_fdr_process_rollup2() {
    check(
        "crowdstrike_fdr/readme-example-ProcessRollup2V18-win.raw.ndjson",
        0,
        "crowdstrike_fdr/readme-example-ProcessRollup2V18-win.expected-ecs.json",
    );
}

#[test]
#[ignore = "needs ../shared"]
fn crowdstrike_fdr_dns_request_windows() {
    check(
        "crowdstrike_fdr/test-windows.log.selected.ndjson",
        0,
        "crowdstrike_fdr/expected-DnsRequest-win.from-test-windows.log-expected.json",
    );
}

#[test]
#[ignore = "needs ../shared"]
fn crowdstrike_fdr_dns_request_mac() {
    let raw = read("crowdstrike_fdr/test-fdr.log.selected.ndjson");
    let line = raw
        .lines()
        .position(|l| l.contains("\"DnsRequest\""))
        .expect("a DnsRequest line");
    check(
        "crowdstrike_fdr/test-fdr.log.selected.ndjson",
        line,
        "crowdstrike_fdr/expected-DnsRequestMacV1.from-test-fdr.log-expected.json",
    );
}

#[test]
#[ignore = "needs ../shared"]
fn sentinelone_process_creation_newer_mapping() {
    check_as(
        "sentinel_one_cloud_funnel/test-process.log",
        0,
        "sentinel_one_cloud_funnel/test-process.log-expected.ecs-excerpt.json",
        Vendor::SentinelOneCloudFunnel,
        &[],
    );
}

#[test]
#[ignore = "needs ../shared"]
fn sentinelone_dns() {
    check_as(
        "sentinel_one_cloud_funnel/test-dns.log",
        0,
        "sentinel_one_cloud_funnel/test-dns.log-expected.ecs-excerpt.json",
        Vendor::SentinelOneCloudFunnel,
        &[],
    );
}

#[test]
#[ignore = "needs ../shared"]
fn m365_defender_device_process_events() {
    check_as(
        "m365_defender/test-device.log.DeviceProcessEvents.ndjson",
        0,
        "m365_defender/test-device.log-expected.DeviceProcessEvents.ecs-excerpt.json",
        Vendor::M365Defender,
        &[],
    );
}

/// The endpoint package's pipeline test: DNS types from the message.
#[test]
#[ignore = "needs ../shared"]
fn elastic_defend_dns_pipeline_test() {
    let base = dir().join("../elastic-endpoint-package");
    let input: J = serde_json::from_str(
        &std::fs::read_to_string(
            base.join("package_endpoint_data_stream_network__dev_test_pipeline_test-dns.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let expected: J = serde_json::from_str(
        &std::fs::read_to_string(base.join(
            "package_endpoint_data_stream_network__dev_test_pipeline_test-dns.json-expected.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let inputs = input["events"].as_array().unwrap();
    let outputs = expected["expected"].as_array().unwrap();
    assert_eq!(inputs.len(), outputs.len());
    for (i, o) in inputs.iter().zip(outputs) {
        let ev = quarry_ecs::edr::normalize(
            Vendor::ElasticDefend,
            i,
            Origin::default(),
            &mut Vec::new(),
        );
        let (_, diffs) = compare(o, &ev, &[]);
        assert!(diffs.is_empty(), "{}: {diffs:?}", i["message"]);
    }
}

/// Elastic Defend sample documents are recognised and kept as they are.
#[test]
#[ignore = "needs ../shared"]
fn elastic_defend_documents_pass_through() {
    let base = dir().join("../elastic-endpoint-package");
    for f in [
        "package_endpoint_data_stream_process_sample_event.json",
        "package_endpoint_data_stream_network_sample_event.json",
    ] {
        let doc: J = serde_json::from_str(&std::fs::read_to_string(base.join(f)).unwrap()).unwrap();
        let n = normalize_json(&doc, Origin::default(), &mut Vec::new());
        assert_eq!(n.format, Format::Vendor(Vendor::ElasticDefend), "{f}");
        let (compared, diffs) = compare(&doc, &n.event, &[]);
        assert!(diffs.is_empty(), "{f}: {diffs:?}");
        assert!(compared >= 10, "{f}: {compared}");
    }
}
