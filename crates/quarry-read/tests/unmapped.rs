//! Records of types no normaliser maps are kept as generic events and
//! counted per source and type in the read summary; records with values that
//! do not parse (numbers, timestamps) are kept with what could be mapped,
//! and each problem is reported with its file and line.
//!
//! Fixtures (`tests/fixtures/*-mixed.ndjson`) are small hand-written files in
//! each vendor's shape, built from the field names of the real records in
//! `../shared/corpus/vendor`.

use quarry_event::Event;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read(name: &str) -> (Vec<Event>, quarry_read::ReadSummary) {
    quarry_read::scan(&[fixture(name)], Some)
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// The problems as `line N` → how many, checking each names the file.
fn problem_lines(s: &quarry_read::ReadSummary, name: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for p in &s.problems {
        assert!(p.file.ends_with(name), "{p}");
        *out.entry(p.location.clone()).or_default() += 1;
    }
    out
}

fn at_line(evs: &[Event], line: u64) -> &Event {
    evs.iter()
        .find(|e| e.origin.locator == quarry_event::Locator::Line(line))
        .unwrap_or_else(|| panic!("no event from line {line}"))
}

#[test]
fn crowdstrike_fdr_unknown_types_counted_and_bad_values_reported() {
    let (evs, s) = read("fdr-mixed.ndjson");
    assert_eq!(s.events, 6, "every record kept");
    assert_eq!(evs.len(), 6);
    assert_eq!(
        s.unmapped,
        counts(&[
            ("crowdstrike.fdr/UserLogon", 2),
            ("crowdstrike.fdr/SensorHeartbeat", 1)
        ])
    );
    // an unknown type keeps its fields under crowdstrike.* and its type as the action
    let logon = at_line(&evs, 3);
    assert_eq!(logon.get_str("event.action"), Some("UserLogon"));
    assert_eq!(logon.get_str("crowdstrike.LogonType"), Some("10"));
    assert_eq!(
        logon.get_str("host.id"),
        Some("ffffffff655344736aca58d17fb570f0")
    );
    assert!(at_line(&evs, 1).get(quarry_ecs::UNMAPPED_TYPE).is_none());
    // line 5: bad timestamp, pid and start time: three problems, record kept
    assert_eq!(
        problem_lines(&s, "fdr-mixed.ndjson"),
        BTreeMap::from([("line 5".to_string(), 3)])
    );
    let bad = at_line(&evs, 5);
    assert!(bad.has_value("event.type", "start"));
    assert_eq!(bad.get_str("process.name"), Some("whoami.exe"));
    assert_eq!(bad.get_str("process.parent.name"), Some("cmd.exe"));
    assert_eq!(bad.get_str("process.entity_id"), Some("2450046082299"));
    assert!(bad.get("process.pid").is_none() && bad.timestamp.is_none());
}

#[test]
fn sentinelone_unknown_types_counted_and_bad_values_reported() {
    let (evs, s) = read("s1-mixed.ndjson");
    assert_eq!(s.events, 5);
    assert_eq!(
        s.unmapped,
        counts(&[
            ("sentinel_one/Behavioral Indicators", 1),
            ("sentinel_one/Unknown Type", 1)
        ])
    );
    assert_eq!(
        at_line(&evs, 3).get_str("sentinel_one.indicator.name"),
        Some("PreExecutionDetection")
    );
    assert_eq!(
        problem_lines(&s, "s1-mixed.ndjson"),
        BTreeMap::from([("line 4".to_string(), 2)])
    );
    let bad = at_line(&evs, 4);
    assert!(bad.has_value("event.type", "start"));
    assert_eq!(bad.get_str("process.name"), Some("whoami.exe"));
    assert_eq!(bad.get_i64("process.pid"), Some(6000));
    assert_eq!(bad.get_str("process.parent.entity_id"), Some("P2"));
    assert!(bad.get("process.parent.pid").is_none() && bad.timestamp.is_none());
}

#[test]
fn m365_unknown_tables_and_action_types_counted_and_bad_values_reported() {
    let (evs, s) = read("m365-mixed.ndjson");
    assert_eq!(s.events, 5);
    assert_eq!(
        s.unmapped,
        counts(&[
            ("m365_defender/DeviceLogonEvents", 1),
            ("m365_defender/DeviceEvents/AntivirusDetection", 1)
        ])
    );
    assert_eq!(
        at_line(&evs, 4).get_str("dns.question.name"),
        Some("update-check.duckdns.org"),
        "DnsQueryResponse is mapped, not counted"
    );
    assert_eq!(
        problem_lines(&s, "m365-mixed.ndjson"),
        BTreeMap::from([("line 5".to_string(), 3)])
    );
    let bad = at_line(&evs, 5);
    assert!(bad.has_value("event.type", "start"));
    assert_eq!(
        bad.get_str("process.executable"),
        Some("C:\\Windows\\System32\\whoami.exe")
    );
    assert_eq!(bad.get_i64("process.parent.pid"), Some(5150));
    assert!(bad.get("process.pid").is_none() && bad.timestamp.is_none());
}

#[test]
fn windows_event_ids_without_a_mapping_counted_per_channel() {
    let (evs, s) = read("windows-mixed.ndjson");
    assert_eq!(s.events, 4);
    assert!(s.is_clean(), "{:?}", s.problems);
    assert_eq!(
        s.unmapped,
        counts(&[("Security/4656", 2), ("System/7045", 1)])
    );
    let svc = at_line(&evs, 4);
    assert_eq!(svc.get_str("event.code"), Some("7045"));
    assert_eq!(svc.get_str("winlog.event_data.ServiceName"), Some("evil"));
    assert!(at_line(&evs, 1).get(quarry_ecs::UNMAPPED_TYPE).is_none());
}

#[test]
fn counts_add_up_across_files() {
    let (_, s) = quarry_read::scan(
        &[fixture("fdr-mixed.ndjson"), fixture("windows-mixed.ndjson")],
        |_| None::<()>,
    );
    assert_eq!(s.unmapped.values().sum::<u64>(), 6);
    assert_eq!(s.unmapped.get("crowdstrike.fdr/UserLogon"), Some(&2));
    assert_eq!(s.unmapped.get("Security/4656"), Some(&2));
}

/// Values of the wrong shape (a `LogonType` that is no number, a port or
/// process id that is none) keep their records, mapped as far as they go,
/// and are counted per record type and field in the read summary.
#[test]
fn windows_values_of_the_wrong_shape_counted_per_type_and_field() {
    let (evs, s) = read("windows-bad-shapes.ndjson");
    assert_eq!(s.events, 4);
    assert!(s.is_clean(), "{:?}", s.problems);
    assert_eq!(
        s.bad_shapes,
        counts(&[
            ("Security/4624 winlog.logon.type", 1),
            ("Security/4624 source.port", 1),
            ("Microsoft-Windows-Sysmon/Operational/1 process.pid", 1),
        ])
    );
    let first = at_line(&evs, 1);
    assert_eq!(first.get_str("user.name"), Some("alice"));
    assert_eq!(first.get_i64("source.port"), Some(49152));
    assert_eq!(first.get_str("winlog.event_data.LogonType"), Some("three"));
    let sysmon = at_line(&evs, 3);
    assert_eq!(sysmon.get_str("process.name"), Some("cmd.exe"));
    assert_eq!(sysmon.get_str("winlog.event_data.ProcessId"), Some("12a"));
    assert!(at_line(&evs, 4).get(quarry_ecs::BAD_SHAPE).is_none());
}
