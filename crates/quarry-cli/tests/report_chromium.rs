//! `quarry report` in a real browser: the report of `quarry demo`'s
//! evidence and of a hunt over sbousseaden's EVTX samples, loaded in
//! headless Chromium (Debian's `chromium`, installed by `.ci/run`), and the
//! DOM asserted on after the page's script ran (`data-ready` on `<body>`):
//! the alert count, the process tree of a known alert, the Q1018 rows, the
//! telemetry gaps — and that hostile evidence text stays text.
//!
//! These tests need Chromium, so they are `#[ignore]`d; `.ci/run` installs
//! it and runs them with `--include-ignored`.

mod common;
use common::scratch;
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn quarry(args: &[&str], paths: &[&Path]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(args)
        .args(paths)
        .output()
        .expect("run quarry");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "quarry {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The DOM of `html` after Chromium ran its scripts.
fn dom(html: &Path, scratch: &Path) -> String {
    let profile = scratch.join("chromium-profile");
    let url = format!(
        "file://{}",
        html.canonicalize().expect("report written").display()
    );
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", &url])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "chromium is needed for this test ({e}): apt-get install chromium (.ci/run does)"
            )
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        dom.contains(r#"data-ready="1""#),
        "the report's script did not run"
    );
    dom
}

/// The text of the element with this id, up to its first child tag.
fn text_of<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &dom[at..];
    let start = rest.find('>').map(|i| i + 1).unwrap_or(0);
    let end = rest[start..]
        .find('<')
        .map(|i| start + i)
        .unwrap_or(rest.len());
    &rest[start..end]
}

/// The markup of the element with this id, up to the first `close` after it.
fn element<'a>(dom: &'a str, id: &str, close: &str) -> &'a str {
    let at = dom
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no #{id}"));
    let end = dom[at..].find(close).map(|i| at + i).unwrap_or(dom.len());
    &dom[at..end]
}

/// Body rows of a table.
fn rows(table: &str) -> usize {
    table
        .split("<tbody>")
        .nth(1)
        .map(|b| b.matches("<tr").count())
        .unwrap_or(0)
}

/// The detailed alert (`<details class="alert" …>`) whose markup holds every
/// one of `needles`.
fn detail_with<'a>(dom: &'a str, needles: &[&str]) -> Option<&'a str> {
    dom.split(r#"<details class="alert""#)
        .skip(1)
        .find(|d| needles.iter().all(|n| d.contains(n)))
}

#[test]
#[ignore = "needs chromium (installed by .ci/run)"]
fn the_demo_report_renders_in_chromium() {
    let (_scratch, dir) = scratch("report-demo");
    let evidence = dir.join("evidence");
    quarry(&["demo", "--out"], &[&evidence]);
    let html = dir.join("case.html");
    quarry(&["report", "-o"], &[&html, &evidence]);
    let d = dom(&html, &dir);

    assert_eq!(text_of(&d, "alert-count"), "1");
    assert_eq!(rows(element(&d, "alert-table", "</table>")), 1);
    // the tree of the dns.exe child: dns.exe (its start not in the
    // evidence) → ▶ cmd.exe → whoami.exe
    let alert = detail_with(&d, &["Unexpected Child Process of the Windows DNS Server"])
        .expect("the alert, detailed");
    let roles: Vec<&str> = alert
        .match_indices(r#"data-role=""#)
        .map(|(i, _)| {
            let s = &alert[i..];
            &s[..s.find('>').unwrap_or(s.len())]
        })
        .collect();
    assert_eq!(
        roles,
        [
            r#"data-role="parent" data-name="dns.exe""#,
            r#"data-role="alert" data-name="cmd.exe""#,
            r#"data-role="descendant" data-name="whoami.exe""#,
        ]
    );
    assert!(alert.contains(r#"data-verdict="escalate""#), "{alert}");
    assert!(alert.contains("<svg"), "the timeline is drawn");
    // Q1018: three queries, the DuckDNS one by PowerShell
    let dns = element(&d, "dns-table", "</table>");
    assert_eq!(rows(dns), 3, "{dns}");
    assert!(dns.contains("update-check.duckdns.org"));
    assert!(text_of(&d, "dns-coverage").contains("no DNS telemetry on dc01.corp.example"));
    // the gaps, up front
    let gaps = element(&d, "gaps", "</ul>");
    assert!(
        gaps.contains(
            "no network, dns, file, registry, authentication telemetry on DC01.corp.example"
        ),
        "{gaps}"
    );
    assert!(
        gaps.contains("no file, registry, authentication telemetry on WS01.corp.example"),
        "{gaps}"
    );

    // from an alerts file, the same report
    let alerts = dir.join("alerts.ndjson");
    let out = quarry(&["hunt", "--format", "ndjson"], &[&evidence]);
    std::fs::write(&alerts, &out.stdout).expect("alerts");
    let html2 = dir.join("case2.html");
    quarry(
        &["report", "--alerts"],
        &[&alerts, Path::new("-o"), &html2, &evidence],
    );
    let d2 = dom(&html2, &dir);
    assert_eq!(text_of(&d2, "alert-count"), "1");
    assert!(d2.contains(r#"data-role="alert" data-name="cmd.exe""#));
}

/// A command line written to break out of the page is shown as text: no
/// element, attribute or script of it reaches the DOM.
#[test]
#[ignore = "needs chromium (installed by .ci/run)"]
fn hostile_command_lines_stay_text_in_the_browser() {
    let (_scratch, dir) = scratch("report-hostile");
    let evil = r#"cmd.exe /c "</td></tr></table><img id=pwned src=x onerror=document.body.setAttribute('data-pwned',1)><script>document.body.setAttribute('data-pwned',2)</script>""#;
    let rec = serde_json::json!({
        "SourceName": "Microsoft-Windows-Security-Auditing", "Channel": "Security",
        "Hostname": "DC9.corp.example", "EventID": 4688, "TimeCreated": "2026-11-02T09:20:00.000Z",
        "SubjectUserSid": "S-1-5-18", "SubjectUserName": "DC9$", "SubjectDomainName": "CORP",
        "SubjectLogonId": "0x3e7", "NewProcessId": "0x1a2c",
        "NewProcessName": "C:\\Windows\\System32\\cmd.exe", "CommandLine": evil,
        "ProcessId": "0x7d0", "ParentProcessName": "C:\\Windows\\System32\\dns.exe",
        "TargetUserSid": "S-1-0-0"
    });
    let evidence = dir.join("evidence");
    std::fs::create_dir_all(&evidence).expect("dir");
    std::fs::write(evidence.join("sec.jsonl"), format!("{rec}\n")).expect("write");
    let html = dir.join("case.html");
    quarry(&["report", "-o"], &[&html, &evidence]);
    let d = dom(&html, &dir);
    assert_eq!(text_of(&d, "alert-count"), "1");
    assert!(!d.contains(r#"data-pwned=""#), "evidence ran as script");
    assert!(!d.contains(r#"id="pwned""#), "evidence became an element");
    assert!(d.contains("&lt;img id=pwned"), "shown as text");
}

#[test]
#[ignore = "needs ../shared and chromium"]
fn the_report_of_a_hunt_over_sbousseaden_renders_in_chromium() {
    let (_scratch, dir) = scratch("report-sbousseaden");
    let evidence = corpus().join("corpus/evtx/sbousseaden");
    let rules = corpus().join("rules/elastic/rules");
    let bb = corpus().join("rules/elastic/rules_building_block");
    let html = dir.join("case.html");
    quarry(
        &["report"],
        &[
            Path::new("--rules"),
            &rules,
            Path::new("--rules"),
            &bb,
            Path::new("-o"),
            &html,
            &evidence,
        ],
    );
    let d = dom(&html, &dir);

    // as many alerts as quarry hunt raises
    let out = quarry(
        &["hunt", "--format", "ndjson"],
        &[
            Path::new("--rules"),
            &rules,
            Path::new("--rules"),
            &bb,
            &evidence,
        ],
    );
    let hunted = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(hunted > 100, "{hunted}");
    assert_eq!(text_of(&d, "alert-count"), hunted.to_string());
    assert_eq!(rows(element(&d, "alert-table", "</table>")), hunted);

    // the README's alert: cmd.exe (pid 1532) → rundll32 → mshta → schtasks
    let alert = detail_with(
        &d,
        &[
            "Suspicious Windows Command Shell Arguments",
            r#"data-role="alert" data-name="cmd.exe""#,
            "pid 1532",
        ],
    )
    .expect("the cmd.exe → rundll32 → mshta alert, detailed");
    for child in ["rundll32.exe", "mshta.exe", "schtasks.exe"] {
        assert!(
            alert.contains(&format!(r#"data-role="descendant" data-name="{child}""#)),
            "{child}"
        );
    }
    assert!(alert.contains("hotelesms.com"), "the timeline's targets");

    // Q1018: the rows `quarry ask Q1018` gives
    let out = quarry(&["ask", "Q1018", "--format", "ndjson"], &[&evidence]);
    let asked = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(asked > 0);
    assert_eq!(text_of(&d, "dns-count"), asked.to_string());
    assert_eq!(rows(element(&d, "dns-table", "</table>")), asked.min(5000));

    // every host with an absent kind of telemetry is named in the gaps
    let hosts = element(&d, "hosts", "</table>");
    let with_gaps = hosts
        .split("<tr data-host=")
        .skip(1)
        .filter(|r| r.contains(r#"class="absent""#))
        .count();
    assert!(
        with_gaps > 0,
        "sbousseaden's samples are Sysmon or Security logs, never all kinds"
    );
    let gaps = element(&d, "gaps", "</ul>");
    assert_eq!(gaps.matches("<li").count(), with_gaps, "{gaps}");
}
