//! The dns.exe child rules — Elastic's "Unusual Child Process of dns.exe"
//! and quarry's built-in one — through `quarry hunt`, on real records of
//! every source the rule names. No public corpus holds a real dns.exe
//! child, so each positive is a real record from `../shared/corpus` with
//! its parent set to dns.exe, in the vendor's own format; each negative is
//! the same record with the child or parent the rule excludes.

mod common;
use common::scratch;
use serde_json::{Value as J, json};
use std::path::{Path, PathBuf};
use std::process::Command;

const ELASTIC_RULE: &str = "Unusual Child Process of dns.exe";
const BUILTIN_RULE: &str = "Unexpected Child Process of the Windows DNS Server";

fn corpus() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn elastic_rule() -> PathBuf {
    corpus().join("rules/elastic/rules/windows/lateral_movement_unusual_dns_service_children.toml")
}

/// Runs `quarry hunt --format ndjson` with Elastic's rule (`elastic`) or
/// the built-in pack, and returns the alerts.
fn hunt(elastic: bool, inputs: &[&Path]) -> Vec<J> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quarry"));
    cmd.args(["hunt", "--format", "ndjson"]);
    if elastic {
        cmd.arg("--rules").arg(elastic_rule());
    }
    cmd.args(inputs);
    let out = cmd.output().expect("run quarry");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{err}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Every record of an EVTX file, as `evtx_dump -o jsonl` renders it.
fn evtx_records(path: &Path) -> Vec<J> {
    let mut p = evtx::EvtxParser::from_path(path).expect("open evtx");
    p.records_json_value()
        .filter_map(|r| r.ok())
        .map(|r| r.data)
        .collect()
}

fn event_data(rec: &mut J) -> &mut serde_json::Map<String, J> {
    rec["Event"]["EventData"]
        .as_object_mut()
        .expect("EventData")
}

fn event_id(rec: &J) -> i64 {
    let id = &rec["Event"]["System"]["EventID"];
    id.as_i64()
        .or_else(|| id["#text"].as_i64())
        .unwrap_or_default()
}

fn psexec_evtx() -> PathBuf {
    corpus().join("corpus/evtx/hayabusa-mitre/EVTX_full_APT_attack_steps/ID11,13,17,18-PSexec as system execution.evtx")
}

/// Sysmon 1 of PsExec64.exe (ProcessGuid A57649D1-DB54-61AB-775C-DC0100000000).
fn sysmon1(child: Option<&str>, parent: &str) -> String {
    let mut rec = evtx_records(&psexec_evtx())
        .into_iter()
        .find(|r| event_id(r) == 1 && r["Event"]["EventData"]["Image"] == "C:\\TOOLS\\PsExec64.exe")
        .expect("PsExec64's Sysmon 1");
    let d = event_data(&mut rec);
    d.insert("ParentImage".into(), json!(parent));
    d.insert("ParentCommandLine".into(), json!(parent));
    if let Some(c) = child {
        d.insert("Image".into(), json!(c));
    }
    rec.to_string()
}

/// Security 4688 of setspn.exe started by cmd.exe.
fn sec4688(child: Option<&str>, parent: &str) -> String {
    let path = corpus().join("corpus/evtx/hayabusa-mitre/TA0003-Persistence/T1098.xxx-Account manipulation/ID4688-SPN added to an account.evtx");
    let mut rec = evtx_records(&path)
        .into_iter()
        .find(|r| {
            event_id(r) == 4688
                && r["Event"]["EventData"]["NewProcessName"] == "C:\\Windows\\System32\\setspn.exe"
        })
        .expect("setspn's 4688");
    let d = event_data(&mut rec);
    d.insert("ParentProcessName".into(), json!(parent));
    if let Some(c) = child {
        d.insert("NewProcessName".into(), json!(c));
    }
    rec.to_string()
}

fn first_line(rel: &str) -> J {
    let text = std::fs::read_to_string(corpus().join(rel)).expect("vendor record");
    serde_json::from_str(text.lines().next().expect("a line")).expect("JSON")
}

/// CrowdStrike FDR ProcessRollup2 (backgroundTaskHost.exe, NT device path).
fn fdr(child: Option<&str>, parent_name: &str) -> String {
    let mut r = first_line(
        "corpus/vendor/elastic-integrations/crowdstrike_fdr/readme-example-ProcessRollup2V18-win.raw.ndjson",
    );
    r["ParentBaseFileName"] = json!(parent_name);
    if let Some(c) = child {
        r["ImageFileName"] = json!(c);
    }
    r.to_string()
}

/// Elastic Defend process start (Windows Server 2019).
fn defend(child: Option<&str>, parent: &str) -> String {
    let text = std::fs::read_to_string(
        corpus().join("corpus/vendor/elastic-endpoint-package/package_endpoint_data_stream_process_sample_event.json"),
    )
    .expect("defend sample");
    let mut r: J = serde_json::from_str(&text).expect("JSON");
    r["process"]["parent"]["executable"] = json!(parent);
    r["process"]["parent"]["name"] = json!(parent.rsplit('\\').next());
    if let Some(c) = child {
        r["process"]["executable"] = json!(c);
        r["process"]["name"] = json!(c.rsplit('\\').next());
    }
    r.to_string()
}

/// SentinelOne Cloud Funnel Process Creation (nr-winpkg.exe).
fn sentinelone(child: Option<&str>, parent: &str) -> String {
    let mut r =
        first_line("corpus/vendor/elastic-integrations/sentinel_one_cloud_funnel/test-process.log");
    r["src.process.image.path"] = json!(parent);
    r["src.process.name"] = json!(parent.rsplit('\\').next());
    if let Some(c) = child {
        r["tgt.process.image.path"] = json!(c);
        r["tgt.process.name"] = json!(c.rsplit('\\').next());
    }
    r.to_string()
}

/// Microsoft 365 Defender DeviceProcessEvents (msedgewebview2.exe).
fn m365(child: Option<&str>, parent: &str) -> String {
    let mut r = first_line(
        "corpus/vendor/elastic-integrations/m365_defender/test-device.log.DeviceProcessEvents.ndjson",
    );
    let p = &mut r["properties"];
    p["InitiatingProcessFolderPath"] = json!(parent);
    p["InitiatingProcessFileName"] = json!(parent.rsplit('\\').next());
    if let Some(c) = child {
        p["FolderPath"] = json!(c);
        p["FileName"] = json!(c.rsplit('\\').next());
    }
    r.to_string()
}

type Builder = fn(Option<&str>, &str) -> String;

const DNS: &str = "C:\\Windows\\System32\\dns.exe";
const CONHOST: &str = "C:\\Windows\\System32\\conhost.exe";
const CONHOST_NT: &str = "\\Device\\HarddiskVolume3\\Windows\\System32\\conhost.exe";
const REASONLABS_PARENT: &str = "C:\\Program Files\\ReasonLabs\\DNS\\ui\\DNS.exe";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{text}\n")).expect("write input");
    p
}

fn alerts_of<'a>(alerts: &'a [J], rule: &str) -> Vec<&'a J> {
    alerts
        .iter()
        .filter(|a| a["kibana"]["alert"]["rule"]["name"] == rule)
        .collect()
}

#[test]
#[ignore = "needs ../shared"]
fn a_dns_exe_child_alerts_on_every_source() {
    let (_scratch, dir) = scratch("hunt-pos");
    // (source, builder, the parent as the source names it, the child path quarry reports)
    let cases: &[(&str, Builder, &str, &str)] = &[
        ("sysmon", sysmon1, DNS, "C:\\TOOLS\\PsExec64.exe"),
        (
            "security-4688",
            sec4688,
            DNS,
            "C:\\Windows\\System32\\setspn.exe",
        ),
        (
            "crowdstrike-fdr",
            fdr,
            "dns.exe",
            "\\Device\\HarddiskVolume3\\Windows\\System32\\backgroundTaskHost.exe",
        ),
        ("elastic-defend", defend, DNS, ""),
        (
            "sentinelone",
            sentinelone,
            DNS,
            "C:\\ProgramFiles\\NewRelic\\newrelic-infra\\newrelic-integrations\\nr-winpkg.exe",
        ),
        (
            "m365-defender",
            m365,
            DNS,
            "C:\\Program Files (x86)\\Microsoft\\EdgeWebView\\Application\\114.0.1823.79\\msedgewebview2.exe",
        ),
    ];
    for (source, build, parent, child) in cases {
        let input = write(&dir, &format!("{source}.json"), &build(None, parent));
        for (elastic, rule) in [(true, ELASTIC_RULE), (false, BUILTIN_RULE)] {
            let alerts = hunt(elastic, &[&input]);
            let hits = alerts_of(&alerts, rule);
            assert_eq!(hits.len(), 1, "{source}, {rule}: {alerts:#?}");
            let a = hits[0];
            if !child.is_empty() {
                assert_eq!(a["process"]["executable"], *child, "{source}");
            }
            assert_eq!(a["event"]["kind"], "signal");
            assert_eq!(a["kibana"]["alert"]["severity"], "high");
            assert!(
                a["kibana"]["alert"]["original_time"].is_string(),
                "{source}"
            );
            assert!(a["quarry"]["lineage"].is_object(), "{source}");
        }
    }
    // all six in one folder, one run: each source normalised as itself and
    // selected by the rule's index patterns
    for (elastic, rule) in [(true, ELASTIC_RULE), (false, BUILTIN_RULE)] {
        let alerts = hunt(elastic, &[&dir]);
        let hits = alerts_of(&alerts, rule);
        assert_eq!(hits.len(), cases.len(), "{rule}: {alerts:#?}");
        let mut datasets: Vec<&str> = hits
            .iter()
            .filter_map(|a| a["kibana"]["alert"]["original_event"]["dataset"].as_str())
            .collect();
        datasets.sort_unstable();
        assert_eq!(
            datasets,
            [
                "crowdstrike.fdr",
                "endpoint.events.process",
                "m365_defender.event",
                "sentinel_one_cloud_funnel.event",
                "system.security",
                "windows.sysmon_operational",
            ],
            "{rule}"
        );
    }
}

#[test]
#[ignore = "needs ../shared"]
fn excluded_children_and_parents_do_not_alert() {
    let (_scratch, dir) = scratch("hunt-neg");
    let cases: &[(&str, Builder, Option<&str>, &str)] = &[
        ("sysmon-conhost", sysmon1, Some(CONHOST), DNS),
        ("sysmon-dns-itself", sysmon1, Some(DNS), DNS),
        ("sysmon-reasonlabs", sysmon1, None, REASONLABS_PARENT),
        ("4688-conhost", sec4688, Some(CONHOST), DNS),
        ("fdr-conhost-nt-path", fdr, Some(CONHOST_NT), "dns.exe"),
        (
            "fdr-dns-nt-path",
            fdr,
            Some("\\Device\\HarddiskVolume2\\Windows\\System32\\dns.exe"),
            "dns.exe",
        ),
        (
            "fdr-reasonlabs",
            fdr,
            Some("\\Device\\HarddiskVolume3\\Program Files\\ReasonLabs\\DNS\\rsDNSSvc.exe"),
            "dns.exe",
        ),
        ("defend-conhost", defend, Some(CONHOST), DNS),
        ("sentinelone-conhost", sentinelone, Some(CONHOST), DNS),
        ("m365-conhost", m365, Some(CONHOST), DNS),
        // the real records as they are: their parents are not dns.exe
        (
            "sysmon-real",
            sysmon1,
            None,
            "C:\\Windows\\System32\\cmd.exe",
        ),
        ("fdr-real", fdr, None, "svchost.exe"),
    ];
    for (name, build, child, parent) in cases {
        let input = write(&dir, &format!("{name}.json"), &build(*child, parent));
        for elastic in [true, false] {
            let alerts = hunt(elastic, &[&input]);
            assert!(
                alerts.is_empty(),
                "{name} (elastic rule: {elastic}): {alerts:#?}"
            );
        }
    }
}

/// On OTRF's domain controllers dns.exe runs and acts (network, files,
/// registry) but starts nothing: no alert.
#[test]
#[ignore = "needs ../shared"]
fn dns_exe_acting_on_domain_controllers_does_not_alert() {
    let otrf = corpus().join("corpus/otrf");
    let out = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args([
            "search",
            "--format",
            "ndjson",
            r#"any where process.name : "dns.exe""#,
        ])
        .arg(&otrf)
        .output()
        .expect("run quarry");
    let acting = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(acting > 0, "the OTRF data has dns.exe as an acting process");
    for elastic in [true, false] {
        let alerts = hunt(elastic, &[&otrf]);
        assert!(alerts.is_empty(), "{alerts:#?}");
    }
}

/// PsExec64.exe's real Sysmon log (process start, DNS query, registry and
/// file events, and the cmd.exe PSEXESVC starts), with PsExec64's parent set
/// to dns.exe and cmd.exe re-parented under PsExec64: the alert carries the
/// child's descendant and its DNS, registry and file events.
#[test]
#[ignore = "needs ../shared"]
fn alerts_carry_descendants_and_follow_on_activity() {
    const PSEXEC: &str = "{a57649d1-db54-61ab-775c-dc0100000000}";
    let (_scratch, dir) = scratch("hunt-follow");
    let mut lines = Vec::new();
    for mut rec in evtx_records(&psexec_evtx()) {
        if event_id(&rec) == 1 {
            let d = event_data(&mut rec);
            if d.get("Image") == Some(&json!("C:\\TOOLS\\PsExec64.exe")) {
                d.insert("ParentImage".into(), json!(DNS));
            } else if d.get("Image") == Some(&json!("C:\\Windows\\System32\\cmd.exe")) {
                d.insert("ParentImage".into(), json!("C:\\TOOLS\\PsExec64.exe"));
                d.insert("ParentProcessGuid".into(), json!(PSEXEC));
                d.insert("ParentProcessId".into(), json!(2124));
            }
        }
        lines.push(rec.to_string());
    }
    let input = write(&dir, "sysmon.jsonl", &lines.join("\n"));
    for (elastic, rule) in [(true, ELASTIC_RULE), (false, BUILTIN_RULE)] {
        let alerts = hunt(elastic, &[&input]);
        let hits = alerts_of(&alerts, rule);
        assert_eq!(hits.len(), 1, "{rule}: {alerts:#?}");
        let q = &hits[0]["quarry"];
        assert_eq!(q["lineage"]["linked_by"], "entity_id");
        let desc: Vec<&J> = q["lineage"]["descendants"]
            .as_array()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(desc.len(), 1, "{desc:#?}");
        assert_eq!(desc[0]["executable"], "C:\\Windows\\System32\\cmd.exe");
        let act = &q["activity"];
        let events = act["events"].as_array().unwrap();
        let has = |f: &str, v: &str| events.iter().any(|e| e[f] == v);
        assert!(has("dns.question.name", "fs03vuln"), "{act:#}");
        assert!(has("file.path", "C:\\Windows\\PSEXESVC.exe"), "{act:#}");
        assert!(
            has(
                "registry.path",
                "HKU\\S-1-5-21-4230534742-2542757381-3142984815-1111\\Software\\Sysinternals\\PsExec\\EulaAccepted"
            ),
            "{act:#}"
        );
        assert!(act["by_category"]["network"].as_u64() >= Some(1), "{act:#}");
        assert_eq!(act["by_category"]["dns"], 1, "{act:#}");
        // services.exe's registry writes are another process's
        assert!(!events.iter().any(|e| e["process.name"] == "services.exe"));
        assert!(
            act["no_telemetry"].is_null(),
            "file, registry and network all seen"
        );
        // the rule's own pivots ran, templates filled from the alert
        let pivots = q["investigate"].as_array().expect("pivots");
        assert!(!pivots.is_empty());
        for p in pivots {
            assert!(
                p["count"].is_u64() || p["runnable"] == false,
                "every pivot ran or says why not: {p:#}"
            );
        }
        if elastic {
            let net = pivots
                .iter()
                .find(|p| p["label"] == "Network events for the same child process")
                .expect("Elastic's network pivot");
            // the DNS query is 6 s before the alert's process start record: in the window
            assert_eq!(net["count"], 1, "{net:#}");
            assert!(net["query"].as_str().unwrap().contains(PSEXEC));
            let files = pivots
                .iter()
                .find(|p| p["label"] == "File and registry events for the same child process")
                .expect("Elastic's file pivot");
            // they follow the alert: after the window's `now`, counted, not
            // listed — the EulaAccepted value, PSEXESVC.exe, and PsExec's
            // three stdin/stdout/stderr pipe connections (Sysmon 18, which
            // Elastic categorises `file`)
            assert_eq!(files["count"], 0, "{files:#}");
            assert_eq!(files["after_window"], 5, "{files:#}");
        } else {
            let own = pivots
                .iter()
                .find(|p| p["label"] == "Events of the child process")
                .expect("the built-in pivot");
            assert!(own["count"].as_u64() >= Some(3), "{own:#}");
        }
    }

    // and `quarry investigate` shows the tree and the timeline
    let alerts_file = dir.join("alerts.ndjson");
    let out = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["hunt", "--format", "ndjson"])
        .arg(&input)
        .output()
        .expect("hunt");
    std::fs::write(&alerts_file, &out.stdout).expect("alerts");
    let out = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .arg("investigate")
        .arg(&alerts_file)
        .arg(&input)
        .output()
        .expect("investigate");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("▶ PsExec64.exe  pid 2124"), "{text}");
    assert!(text.contains("└─ cmd.exe  pid 540"), "{text}");
    assert!(text.contains("fs03vuln"), "{text}");
    assert!(text.contains("C:\\Windows\\PSEXESVC.exe"), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["investigate", "--format", "json", "--alert", "1"])
        .arg(&alerts_file)
        .arg(&input)
        .output()
        .expect("investigate json");
    let r: J = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let roles: Vec<&str> = r["tree"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["role"].as_str())
        .collect();
    // dns.exe is named by the record but its own start is not in the evidence
    assert_eq!(roles, ["parent", "alert", "descendant"], "{r:#}");
    assert!(r["timeline"].as_array().unwrap().len() >= 5, "{r:#}");
}

#[test]
fn investigate_rejects_a_missing_alert_with_usage_exit() {
    let (_scratch, dir) = scratch("hunt-inv-usage");
    let alerts = write(
        &dir,
        "alerts.ndjson",
        r#"{"host":{"name":"h"},"kibana":{"alert":{"rule":{"rule_id":"x"}}}}"#,
    );
    let out = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["investigate", "--alert", "2"])
        .arg(&alerts)
        .arg(&dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("holds 1 alerts"), "{err}");
    let bad = write(&dir, "bad.ndjson", "{not json");
    let out = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .arg("investigate")
        .arg(&bad)
        .arg(&dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.ndjson:1"));
}

/// Sets the child's command line in a record built by one of the builders
/// above, where its source keeps it, and its PE original file name where
/// the source records one (else the record's own binary's name stays, and
/// triage rightly reads the child as renamed).
fn with_command_line(source: &str, record: &str, cmd: &str, original: &str) -> String {
    let mut r: J = serde_json::from_str(record).expect("a built record");
    match source {
        "sysmon" | "security-4688" => {
            let d = &mut r["Event"]["EventData"];
            d["CommandLine"] = json!(cmd);
            if !d["OriginalFileName"].is_null() {
                d["OriginalFileName"] = json!(original);
            }
        }
        "crowdstrike-fdr" => r["CommandLine"] = json!(cmd),
        "elastic-defend" => {
            r["process"]["command_line"] = json!(cmd);
            if !r["process"]["pe"]["original_file_name"].is_null() {
                r["process"]["pe"]["original_file_name"] = json!(original);
            }
        }
        "sentinelone" => r["tgt.process.cmdline"] = json!(cmd),
        "m365-defender" => {
            let p = &mut r["properties"];
            p["ProcessCommandLine"] = json!(cmd);
            if !p["ProcessVersionInfoOriginalFileName"].is_null() {
                p["ProcessVersionInfoOriginalFileName"] = json!(original);
            }
        }
        other => panic!("no command line field known for {other}"),
    }
    r.to_string()
}

/// `quarry.triage` on every source the dns.exe rule names: a `WerFault.exe
/// -u -p <dns.exe's pid>` child is read as a crash handler for its parent,
/// but each of these single records is all its host has — process
/// telemetry, no network — so the hint is "unresolved", naming the gap.
#[test]
#[ignore = "needs ../shared"]
fn triage_reads_a_werfault_child_on_every_source_and_names_the_missing_telemetry() {
    const WERFAULT: &str = "C:\\Windows\\System32\\WerFault.exe";
    let (_scratch, dir) = scratch("hunt-triage-sources");
    let cases: &[(&str, Builder, &str)] = &[
        ("sysmon", sysmon1, DNS),
        ("security-4688", sec4688, DNS),
        ("crowdstrike-fdr", fdr, "dns.exe"),
        ("elastic-defend", defend, DNS),
        ("sentinelone", sentinelone, DNS),
        ("m365-defender", m365, DNS),
    ];
    for (source, build, parent) in cases {
        // the parent's pid as quarry reads it from this source
        let first = write(&dir, &format!("{source}-0.json"), &build(None, parent));
        let alerts = hunt(true, &[&first]);
        let ppid = alerts_of(&alerts, ELASTIC_RULE)
            .first()
            .and_then(|a| a["process"]["parent"]["pid"].as_i64());
        let cmd = format!(
            "C:\\Windows\\system32\\WerFault.exe -u -p {} -s 412",
            ppid.unwrap_or(9999)
        );
        let rec = with_command_line(source, &build(Some(WERFAULT), parent), &cmd, "WerFault.exe");
        let input = write(&dir, &format!("{source}.json"), &rec);
        let alerts = hunt(true, &[&input]);
        let hits = alerts_of(&alerts, ELASTIC_RULE);
        assert_eq!(hits.len(), 1, "{source}: {alerts:#?}");
        let t = &hits[0]["quarry"]["triage"];
        assert_eq!(t["what"]["kind"], "crash handler", "{source}: {t:#}");
        assert_eq!(t["what"]["command_line"], cmd.as_str(), "{source}: {t:#}");
        if ppid.is_some() {
            assert_eq!(t["what"]["crash_of_parent"], true, "{source}: {t:#}");
        }
        assert_eq!(t["verdict"], "unresolved", "{source}: {t:#}");
        let hint = t["hint"].as_str().unwrap_or_default();
        assert!(
            hint.contains("network") && hint.contains("telemetry"),
            "{source}: {hint}"
        );
        for q in [
            "what",
            "identity",
            "intent",
            "lineage",
            "follow_on",
            "scope",
        ] {
            assert!(t[q]["answer"].is_string(), "{source}: {q}: {t:#}");
        }
    }
}

/// PsExec's real Sysmon log (process starts, DNS, network, file and
/// registry events) with its Sysmon 1 rewritten into a dns.exe child: as a
/// `cmd.exe` that keeps PsExec's descendant and activity, the triage says
/// escalate; as a `WerFault.exe -u -p <dns.exe's pid>` with a process id of
/// its own (no descendants, no activity) on the same fully-instrumented
/// host, it says consistent with crash handling.
#[test]
#[ignore = "needs ../shared"]
fn triage_escalates_a_shell_with_follow_on_and_reads_a_bare_crash_handler_as_crash_handling() {
    const PSEXEC: &str = "{a57649d1-db54-61ab-775c-dc0100000000}";
    let (_scratch, dir) = scratch("hunt-triage-sysmon");
    let rewrite = |as_shell: bool| -> PathBuf {
        let mut lines = Vec::new();
        for mut rec in evtx_records(&psexec_evtx()) {
            if event_id(&rec) == 1 {
                let d = event_data(&mut rec);
                if d.get("Image") == Some(&json!("C:\\TOOLS\\PsExec64.exe")) {
                    d.insert("ParentImage".into(), json!(DNS));
                    if as_shell {
                        d.insert("Image".into(), json!("C:\\Windows\\System32\\cmd.exe"));
                        d.insert(
                            "CommandLine".into(),
                            json!("cmd.exe /c C:\\TOOLS\\PsExec64.exe -i -s cmd"),
                        );
                        d.insert("OriginalFileName".into(), json!("Cmd.Exe"));
                    } else {
                        let ppid = d.get("ParentProcessId").cloned().unwrap_or(json!(0));
                        let ppid = ppid
                            .as_i64()
                            .or_else(|| ppid.as_str().and_then(|s| s.parse().ok()))
                            .unwrap_or_default();
                        d.insert("Image".into(), json!("C:\\Windows\\System32\\WerFault.exe"));
                        d.insert(
                            "CommandLine".into(),
                            json!(format!(
                                "C:\\Windows\\system32\\WerFault.exe -u -p {ppid} -s 412"
                            )),
                        );
                        d.insert(
                            "ProcessGuid".into(),
                            json!("{a57649d1-db54-61ab-775c-dc01000000ff}"),
                        );
                        d.insert("ProcessId".into(), json!(7777));
                        d.insert("OriginalFileName".into(), json!("WerFault.exe"));
                    }
                } else if as_shell
                    && d.get("Image") == Some(&json!("C:\\Windows\\System32\\cmd.exe"))
                {
                    d.insert(
                        "ParentImage".into(),
                        json!("C:\\Windows\\System32\\cmd.exe"),
                    );
                    d.insert("ParentProcessGuid".into(), json!(PSEXEC));
                    d.insert("ParentProcessId".into(), json!(2124));
                }
            }
            lines.push(rec.to_string());
        }
        write(
            &dir,
            if as_shell {
                "shell.jsonl"
            } else {
                "werfault.jsonl"
            },
            &lines.join("\n"),
        )
    };

    let alerts = hunt(true, &[&rewrite(true)]);
    let hits = alerts_of(&alerts, ELASTIC_RULE);
    assert_eq!(hits.len(), 1, "{alerts:#?}");
    let t = &hits[0]["quarry"]["triage"];
    assert_eq!(t["verdict"], "escalate", "{t:#}");
    assert_eq!(t["what"]["kind"], "shell", "{t:#}");
    assert_eq!(t["follow_on"]["descendants"], 1, "{t:#}");
    assert!(
        t["follow_on"]["by_category"]["network"].as_u64() >= Some(1),
        "{t:#}"
    );
    assert_eq!(t["follow_on"]["by_category"]["dns"], 1, "{t:#}");
    let drivers = t["drivers"].to_string();
    assert!(
        drivers.contains("what") && drivers.contains("follow_on"),
        "{t:#}"
    );
    assert!(
        t["hint"]
            .as_str()
            .is_some_and(|h| h.starts_with("escalate — what: shell (cmd.exe)")),
        "{t:#}"
    );

    let alerts = hunt(true, &[&rewrite(false)]);
    let hits = alerts_of(&alerts, ELASTIC_RULE);
    assert_eq!(hits.len(), 1, "{alerts:#?}");
    let t = &hits[0]["quarry"]["triage"];
    assert_eq!(t["verdict"], "consistent with crash handling", "{t:#}");
    assert_eq!(t["what"]["crash_of_parent"], true, "{t:#}");
    assert_eq!(t["follow_on"]["descendants"], 0, "{t:#}");
    assert_eq!(t["follow_on"]["no_telemetry"], json!([]), "{t:#}");
    assert_eq!(t["drivers"], json!(["what", "follow_on"]), "{t:#}");
}
