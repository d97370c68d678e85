//! `quarry ask Q1018` with domain indicators — `--domain` repeated and
//! `--domain-file` (DFIQ's *Bulk Domains*) — and summaries that count what
//! the filters kept.

mod common;
use common::scratch;
use serde_json::Value as J;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn quarry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(args)
        .output()
        .expect("run quarry")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Answered: the campaigns' folders also hold pcap and Zeek archives,
/// which are not evidence quarry reads (exit 1 or 0, as those are counted).
fn answered(o: &Output) -> bool {
    matches!(o.status.code(), Some(0 | 1))
}

fn ndjson(o: &Output) -> Vec<J> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn repeated_domains_and_a_domain_file_on_the_demo() {
    let (_scratch, dir) = scratch("domains-demo");
    let evidence = dir.join("evidence");
    let out = quarry(&[
        "demo",
        "--out",
        evidence.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ev = evidence.to_str().unwrap();
    let out = quarry(&[
        "ask",
        "Q1018",
        "--domain",
        "*.DUCKDNS.org",
        "--domain",
        "WPAD.corp.example.",
        "--domain",
        "never.example",
        ev,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "— 2 rows\n",
        "  covered: WS01.corp.example (2 of 3 DNS queries match)\n",
        "  domains: 3 indicators: 2 looked up, 1 not\n",
        "    *.DUCKDNS.org       1 queries on WS01.corp.example\n",
        "    WPAD.corp.example.  1 queries on WS01.corp.example\n",
        "  never looked up on WS01.corp.example (which had DNS telemetry): never.example\n",
        "  cannot be judged on dc01.corp.example (no DNS telemetry): any of the 3 indicators",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    // a file adds to --domain: comments, blank lines, notes after the name
    let file = dir.join("iocs.txt");
    std::fs::write(
        &file,
        "# from a report\n\nupdate-check.duckdns[.]org  C2, first seen 2026-10\n",
    )
    .unwrap();
    let out = quarry(&[
        "ask",
        "Q1018",
        "--format",
        "ndjson",
        "--domain-file",
        file.to_str().unwrap(),
        "--domain",
        "fe3cr.delivery.mp.microsoft.com",
        ev,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut queries: Vec<String> = ndjson(&out)
        .iter()
        .map(|r| {
            r.pointer("/dns/question/name")
                .unwrap_or(&J::Null)
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    queries.sort();
    assert_eq!(
        queries,
        [
            "fe3cr.delivery.mp.microsoft.com",
            "update-check.duckdns.org"
        ]
    );
    // the summary is on stderr in machine formats
    assert!(stderr(&out).contains("domains: 2 indicators: 2 looked up, 0 not"));
    // bad indicators and missing files are usage errors, named
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "ok.example\nhxxp://evil.example/payload\n").unwrap();
    for (args, says) in [
        (vec!["--domain-file", bad.to_str().unwrap()], "bad.txt:2: "),
        (
            vec!["--domain-file", "/nonexistent/iocs.txt"],
            "--domain-file /nonexistent/iocs.txt",
        ),
        (vec!["--domain", "*.[x"], "--domain: "),
    ] {
        let mut all = vec!["ask", "Q1018"];
        all.extend(args);
        all.push(ev);
        let out = quarry(&all);
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        assert!(stderr(&out).contains(says), "{all:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
}

fn corpus() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
        .join("corpus")
}

/// OTRF's four LSASS campaigns: 267 DNS queries on four hosts, 14 of them
/// of Skype's names.
fn campaigns() -> PathBuf {
    corpus().join("otrf/compound")
}

/// Every row of the campaigns, unfiltered: what the filtered runs are
/// checked against.
fn all_rows() -> Vec<J> {
    let out = quarry(&[
        "ask",
        "Q1018",
        "--format",
        "ndjson",
        campaigns().to_str().unwrap(),
    ]);
    assert!(answered(&out), "{}", stderr(&out));
    ndjson(&out)
}

fn query(r: &J) -> String {
    r.pointer("/dns/question/name")
        .unwrap_or(&J::Null)
        .as_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Item 10 of issue 16: under `--domain '*.skype.com'` the answer is 14
/// rows, and "linked by", "approaches" and "covered" count those 14, not
/// all 267 queries.
#[test]
#[ignore = "needs ../shared"]
fn summaries_under_a_filter_count_the_rows_it_kept() {
    let all = all_rows();
    let skype: Vec<&J> = all
        .iter()
        .filter(|r| query(r).ends_with(".skype.com"))
        .collect();
    assert_eq!((all.len(), skype.len()), (267, 14));
    let out = quarry(&[
        "ask",
        "Q1018",
        "--domain",
        "*.skype.com",
        campaigns().to_str().unwrap(),
    ]);
    assert!(answered(&out), "{}", stderr(&out));
    let text = stdout(&out);
    let count = |rows: &[&J], f: &str, v: &str| rows.iter().filter(|r| r[f] == v).count();
    let entity = count(&skype, "linked_by", "entity_id");
    assert!(text.contains("— 14 rows\n"), "{text}");
    let linked = match skype.len() - entity {
        0 => format!("  linked by: entity_id: {entity}\n"),
        n => format!("  linked by: entity_id: {entity}, unlinked: {n}\n"),
    };
    assert!(text.contains(&linked), "{linked:?} in\n{text}");
    assert!(text.contains("  approaches: Sysmon 22: 14\n"), "{text}");
    // per host: the matching queries of all of that host's
    let mut hosts: Vec<&str> = all
        .iter()
        .filter_map(|r| r.pointer("/host/name").unwrap_or(&J::Null).as_str())
        .collect();
    hosts.sort();
    hosts.dedup();
    assert_eq!(hosts.len(), 4);
    for h in hosts {
        let of = all
            .iter()
            .filter(|r| r.pointer("/host/name").unwrap_or(&J::Null) == h)
            .count();
        let kept = skype
            .iter()
            .filter(|r| r.pointer("/host/name").unwrap_or(&J::Null) == h)
            .count();
        let line = format!("  covered: {h} ({kept} of {of} DNS queries match)\n");
        assert!(text.contains(&line), "{line:?} in\n{text}");
    }
    assert!(!text.contains("267"), "{text}");
    // --host narrows the summary to that host
    let out = quarry(&[
        "ask",
        "Q1018",
        "--domain",
        "*.skype.com",
        "--host",
        "it01.pandalab.com",
        campaigns().to_str().unwrap(),
    ]);
    let text = stdout(&out);
    let it01 = skype
        .iter()
        .filter(|r| r.pointer("/host/name").unwrap_or(&J::Null) == "IT01.pandalab.com")
        .count();
    assert!(text.contains(&format!("— {it01} rows\n")), "{text}");
    assert_eq!(text.matches("  covered: ").count(), 1, "{text}");
    assert!(
        text.contains(&format!("  approaches: Sysmon 22: {it01}\n")),
        "{text}"
    );
}

/// Item 9: thousands of indicators from a file, a few of them real names
/// of the campaigns, matched as one set; the summary counts each, says
/// which were never looked up on the hosts with DNS telemetry, and that
/// none can be judged on a host without it.
#[test]
#[ignore = "needs ../shared"]
fn bulk_domains_from_a_file_of_thousands_of_indicators() {
    let (_scratch, dir) = scratch("domains-bulk");
    let all = all_rows();
    let mut text = String::from("# indicators, as a threat report lists them\n\n");
    for i in 0..5000 {
        text.push_str(&format!("c2-{i}.bad-{}.example\n", i % 97));
    }
    for i in 0..300 {
        text.push_str(&format!("*.dyn-{i}.example   # dynamic DNS\n"));
    }
    // real: an exact name in another case, a defanged one, a suffix glob
    text.push_str("WWW.BING.COM\nntp[.]msn[.]com\n*.skype.com\n");
    let file = dir.join("iocs.txt");
    std::fs::write(&file, &text).unwrap();
    // a Security-only capture of workstation5: no DNS telemetry
    let no_dns = corpus()
        .join("otrf/atomic/windows/credential_access/host/cmd_lsass_memory_dumpert_syscalls.zip");
    let t = std::time::Instant::now();
    let out = quarry(&[
        "ask",
        "Q1018",
        "--domain-file",
        file.to_str().unwrap(),
        "--format",
        "ndjson",
        campaigns().to_str().unwrap(),
        no_dns.to_str().unwrap(),
    ]);
    let took = t.elapsed();
    assert!(answered(&out), "{}", stderr(&out));
    let rows = ndjson(&out);
    let is = |q: &str, want: &str| q == want;
    let bing = all.iter().filter(|r| is(&query(r), "www.bing.com")).count();
    let msn = all.iter().filter(|r| is(&query(r), "ntp.msn.com")).count();
    let skype = all
        .iter()
        .filter(|r| query(r).ends_with(".skype.com"))
        .count();
    assert!(bing > 0 && msn > 0 && skype > 0);
    assert_eq!(rows.len(), bing + msn + skype);
    let summary = stderr(&out);
    // each indicator looked up: its count, as written
    let looked_up = |indicator: &str| -> Option<usize> {
        let line = summary
            .lines()
            .find(|l| l.starts_with(&format!("    {indicator} ")))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    assert_eq!(looked_up("*.skype.com"), Some(skype), "{summary}");
    assert_eq!(looked_up("WWW.BING.COM"), Some(bing), "{summary}");
    assert_eq!(looked_up("ntp[.]msn[.]com"), Some(msn), "{summary}");
    for line in [
        "  domains: 5303 indicators: 3 looked up, 5300 not\n",
        "  never looked up on ACCT01.pandalab.com, IT01.pandalab.com, MKT01.pandalab.com, … and 1 more (which had DNS telemetry): c2-0.bad-0.example, c2-1.bad-1.example,",
        ", … and 5290 more\n",
        "  cannot be judged on workstation5 (no DNS telemetry): any of the 5303 indicators — unresolved, not benign\n",
    ] {
        assert!(summary.contains(line), "{line:?} in\n{summary}");
    }
    // matched as one set: thousands of indicators cost little beside the read
    assert!(took.as_secs() < 120, "{took:?}");
}
