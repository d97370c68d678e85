//! Q1018's CrowdStrike approach: `DnsRequest.ContextProcessId` joined to
//! `ProcessRollup2.TargetProcessId` per `aid`, on FDR lines quarry reads
//! like any other evidence.

use quarry_questions::q1018;
use std::io::Write;

#[test]
fn fdr_dns_requests_link_to_their_process_rollup2_per_host() {
    let lines = [
        // parent and child on host A; the child's DNS request
        r#"{"event_simpleName":"ProcessRollup2","aid":"hostA","cid":"c","id":"1","timestamp":"1700000000000","event_platform":"Win","TargetProcessId":"100","ParentProcessId":"1","RawProcessId":"500","ImageFileName":"\\Device\\HarddiskVolume3\\Windows\\System32\\dns.exe","CommandLine":"C:\\Windows\\system32\\dns.exe","ParentBaseFileName":"services.exe","UserSid":"S-1-5-18"}"#,
        r#"{"event_simpleName":"ProcessRollup2","aid":"hostA","cid":"c","id":"2","timestamp":"1700000001000","event_platform":"Win","TargetProcessId":"200","ParentProcessId":"100","RawProcessId":"600","ImageFileName":"\\Device\\HarddiskVolume3\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c nslookup evil.example","ParentBaseFileName":"dns.exe","UserSid":"S-1-5-18"}"#,
        r#"{"event_simpleName":"DnsRequest","aid":"hostA","cid":"c","id":"3","timestamp":"1700000002000","event_platform":"Win","ContextProcessId":"200","DomainName":"evil.example","RequestType":"1"}"#,
        // the same TargetProcessId on another host is another process
        r#"{"event_simpleName":"ProcessRollup2","aid":"hostB","cid":"c","id":"4","timestamp":"1700000000000","event_platform":"Win","TargetProcessId":"200","ParentProcessId":"9","RawProcessId":"700","ImageFileName":"\\Device\\HarddiskVolume2\\Windows\\explorer.exe","ParentBaseFileName":"userinit.exe"}"#,
        r#"{"event_simpleName":"DnsRequest","aid":"hostB","cid":"c","id":"5","timestamp":"1700000003000","event_platform":"Win","ContextProcessId":"999","DomainName":"unknown.example","RequestType":"1"}"#,
    ];
    let dir = tempfile::Builder::new()
        .prefix("quarry-fdr-")
        .tempdir()
        .unwrap();
    let path = dir.path().join("fdr.json");
    let mut f = std::fs::File::create(&path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    let (events, summary) = quarry_read::scan(&[path], q1018::wants);
    assert!(summary.is_clean(), "{:?}", summary.problems);
    let (rows, cov) = q1018::answer(events);
    assert_eq!(rows.len(), 2);
    let a = rows.iter().find(|r| r.query == "evil.example").unwrap();
    assert_eq!(a.linked_by, "entity_id");
    assert_eq!(a.approach, "CrowdStrike DnsRequest");
    assert_eq!(
        a.executable.as_deref(),
        Some("\\Device\\HarddiskVolume3\\Windows\\System32\\cmd.exe")
    );
    assert_eq!(
        a.command_line.as_deref(),
        Some("cmd.exe /c nslookup evil.example")
    );
    assert_eq!(a.pid, Some(600));
    // FDR has no parent path: lineage finds it from the parent's own ProcessRollup2
    assert_eq!(
        a.parent_executable.as_deref(),
        Some("\\Device\\HarddiskVolume3\\Windows\\System32\\dns.exe")
    );
    let b = rows.iter().find(|r| r.query == "unknown.example").unwrap();
    assert_eq!(b.linked_by, "unlinked");
    assert_eq!(cov.hosts_with_dns.len(), 2);
}

/// SentinelOne DNS events carry the querying process themselves; with the
/// Process Creation of that process in the data they link by its uid.
#[test]
fn sentinelone_dns_answers_with_the_process_it_carries() {
    let lines = [
        r#"{"meta.event.name":"PROCESSCREATION","event.time":1664811149000,"agent.uuid":"s1host","endpoint.name":"WS9","endpoint.os":"windows","tgt.process.uid":"U1","tgt.process.pid":4720,"tgt.process.image.path":"C:\\Tools\\beacon.exe","tgt.process.cmdline":"beacon.exe -c2","tgt.process.user":"CORP\\bob","src.process.uid":"U0","src.process.image.path":"C:\\Windows\\explorer.exe","src.process.cmdline":"C:\\Windows\\Explorer.EXE"}"#,
        r#"{"meta.event.name":"DNS","event.time":1664811150000,"agent.uuid":"s1host","endpoint.name":"WS9","endpoint.os":"windows","event.dns.request":"c2.example.net","src.process.uid":"U1","src.process.pid":4720,"src.process.image.path":"C:\\Tools\\beacon.exe","src.process.cmdline":"beacon.exe -c2","src.process.user":"CORP\\bob","src.process.parent.uid":"U0","src.process.parent.image.path":"C:\\Windows\\explorer.exe"}"#,
    ];
    let dir = tempfile::Builder::new()
        .prefix("quarry-s1-")
        .tempdir()
        .unwrap();
    let path = dir.path().join("s1.json");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let (events, summary) = quarry_read::scan(&[path], q1018::wants);
    assert!(summary.is_clean(), "{:?}", summary.problems);
    let (rows, _) = q1018::answer(events);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.approach, "SentinelOne DNS");
    assert_eq!(r.linked_by, "entity_id");
    assert_eq!(r.executable.as_deref(), Some("C:\\Tools\\beacon.exe"));
    assert_eq!(
        r.parent_executable.as_deref(),
        Some("C:\\Windows\\explorer.exe")
    );
    assert_eq!(r.user.as_deref(), Some("CORP\\bob"));
    assert_eq!(r.host_name.as_deref(), Some("WS9"));
}
