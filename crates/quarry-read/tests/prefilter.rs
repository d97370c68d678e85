//! The required-literal prefilter of projected reading: a line that lacks a
//! literal the consumer requires is skipped unwalked, yet counted, validated
//! and reported exactly as the full projected walk would.

mod common;
use common::{file, scratch};
use quarry_event::{Event, Value};
use std::path::PathBuf;

const FDR_DNS: &str = r#"{"event_simpleName":"ProcessRollup2","name":"ProcessRollup2V18","aid":"ffffffff655344736aca58d17fb570f0","cid":"ffffffff30a3407dae27d0503611022d","id":"ffffffff-1111-11eb-8462-02ade3b2f949","timestamp":"1601546312519","event_platform":"Win","TargetProcessId":"2450046082233","ParentProcessId":"2439558094566","RawProcessId":"22272","ImageFileName":"\\Device\\HarddiskVolume3\\Windows\\System32\\cmd.exe","ParentBaseFileName":"dns.exe","CommandLine":"cmd.exe /c whoami","ProcessStartTime":"1601546312.400"}"#;

fn dns_parent(ev: &Event) -> bool {
    ev.get("process.parent.name")
        .and_then(Value::as_str)
        .is_some_and(|n| n.eq_ignore_ascii_case("dns.exe"))
}

fn scan(name: &str, lines: &[&str]) -> (Vec<Event>, quarry_read::ReadSummary) {
    let dir = scratch("prefilter");
    let path = file(
        &dir,
        &format!("{name}.ndjson"),
        (lines.join("\n") + "\n").as_bytes(),
    );
    let fields = vec!["process.parent.name".to_string()];
    let proj = quarry_read::Projection::new(&fields, &[], dns_parent)
        .require_literals(&[vec!["dns.exe".to_string()]]);
    quarry_read::scan_projected(&[PathBuf::from(&path)], &proj, |ev| {
        dns_parent(&ev).then_some(ev)
    })
}

#[test]
fn skipped_lines_are_counted_escaped_and_cased_literals_still_match() {
    let (events, s) = scan(
        "counted",
        &[
            r#"{"process":{"parent":{"name":"dns.exe"}}}"#,
            r#"{"process":{"parent":{"name":"cmd.exe"}}}"#,
            r#"{"process":{"parent":{"name":"\u0064ns.exe"}}}"#,
            r#"{"process":{"parent":{"name":"DNS.EXE"}}}"#,
            r#"{"process":{"parent":{"name":"explorer.exe"}},"agent":{"type":"filebeat"}}"#,
        ],
    );
    assert_eq!(events.len(), 3);
    assert_eq!(s.events, 5);
    assert_eq!(s.formats.get("ecs"), Some(&5));
    assert!(s.problems.is_empty(), "{:?}", s.problems);
}

#[test]
fn malformed_lines_lacking_the_literal_are_still_reported() {
    let (events, s) = scan(
        "malformed",
        &[
            r#"{"process":{"parent":{"name":"dns.exe"}}}"#,
            r#"{"process":{"parent":{"name":"cmd.exe"}},"#,
            r#"{"process":{"parent":{"name":"cmd.exe"}}} trailing"#,
            r#"{"process":{"parent":{"name":"cmd.exe"}}}"#,
        ],
    );
    assert_eq!(events.len(), 1);
    let at: Vec<&str> = s.problems.iter().map(|p| p.location.as_str()).collect();
    assert_eq!(at, ["line 2", "line 3"]);
    assert!(
        s.problems
            .iter()
            .all(|p| p.message.contains("malformed JSON"))
    );
}

#[test]
fn other_formats_take_the_full_reader() {
    let fdr_cmd = FDR_DNS.replace(
        r#""ParentBaseFileName":"dns.exe""#,
        r#""ParentBaseFileName":"cmd.exe""#,
    );
    let (events, s) = scan(
        "formats",
        &[
            FDR_DNS,
            &fdr_cmd,
            r#"{"agent":{"type":"endpoint"},"process":{"parent":{"name":"cmd.exe"}},"event":{"category":"process"}}"#,
        ],
    );
    assert_eq!(events.len(), 1, "the FDR record with a dns.exe parent");
    assert_eq!(s.formats.get("crowdstrikefdr"), Some(&2));
    assert_eq!(s.formats.get("elasticdefend"), Some(&1));
    assert_eq!(s.formats.get("ecs"), None);
}

/// A file whose first lines are all Windows-event JSON stops trying the
/// projection; plain ECS lines after them are still read (by the full
/// reader), none lost.
#[test]
fn a_file_of_another_format_is_read_whole_and_its_ecs_lines_kept() {
    let windows = r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\w\\cmd.exe","ParentImage":"C:\\w\\dns.exe"}"#;
    let ecs = r#"{"process":{"parent":{"name":"dns.exe"}}}"#;
    let mut lines = vec![windows; 100];
    lines.extend([ecs; 3]);
    let (events, s) = scan("refused", &lines);
    assert_eq!(s.events, 103);
    assert_eq!(events.len(), 103);
    assert_eq!(s.formats.get("ecs"), Some(&3));
}
