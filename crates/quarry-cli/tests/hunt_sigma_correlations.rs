//! Sigma correlation rules (spec 2.x) in `quarry hunt` on real samples:
//! the credential-access correlations of `tests/sigma/` (SigmaHQ ships
//! none at the commit in `../shared`) with SigmaHQ's `rules` folder, over
//! the brute-force EVTX samples of `../shared/corpus/evtx`. Each
//! correlation type fires where the samples hold what it counts, with the
//! correlation's own title, id and level and a sample of its events; the
//! rules it names (one of them SigmaHQ's, named by id from another file)
//! raise no alert of their own; `quarry rules list` counts them runnable.

use serde_json::Value as J;
use std::path::PathBuf;
use std::process::Command;

fn corpus() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

fn correlations() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sigma"))
}

#[test]
#[ignore = "needs ../shared"]
fn correlations_fire_on_brute_force_samples() {
    let shared = corpus();
    let evtx = shared.join("corpus/evtx");
    let out =
        Command::new(env!("CARGO_BIN_EXE_quarry"))
            .args(["hunt", "--format", "ndjson", "--rules"])
            .arg(shared.join("rules/sigma/rules"))
            .arg("--rules")
            .arg(correlations())
            .arg(evtx.join("hayabusa-mitre/TA0006-Credential Access/T1110.xxx-Brut force"))
            .arg(evtx.join(
                "sbousseaden/Credential Access/MSSQL_multiple_failed_logon_EventID_18456.evtx",
            ))
            .output()
            .expect("run quarry");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("0 do not compile"), "{err}");
    let alerts: Vec<J> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("alert JSON"))
        .collect();
    // (rule, severity, host, group) of each correlation alert, and its count
    let mut got: Vec<(String, String, String, String, u64)> = Vec::new();
    for a in &alerts {
        let k = &a["kibana"]["alert"];
        let name = k["rule"]["name"].as_str().unwrap_or_default();
        // the base rules (ours and SigmaHQ's MSSQL Server Failed Logon)
        // are the correlations' members: no alert of their own
        assert!(
            !matches!(
                name,
                "Failed Windows Logon"
                    | "MSSQL Server Failed Logon"
                    | "Kerberos TGT Request For An Unknown Principal"
                    | "Kerberos Pre-Authentication Failed"
                    | "Kerberos User Enumeration"
            ),
            "{name} alerted on its own"
        );
        if k["rule"]["type"] != "sigma_correlation" {
            continue;
        }
        let c = &a["quarry"]["correlation"];
        let group: Vec<String> = c["group_by"]
            .as_object()
            .expect("group_by")
            .iter()
            .map(|(f, v)| format!("{f}={}", v.as_str().unwrap_or_default()))
            .collect();
        // a bounded sample of the events, the last the alert's own
        let shown = a["kibana.alert.group.events"]
            .as_array()
            .map_or(1, Vec::len);
        assert!(shown <= 10 && shown as u64 <= c["count"].as_u64().unwrap_or(0));
        assert_eq!(c["events_shown"].as_u64(), Some(shown as u64));
        got.push((
            name.to_string(),
            k["severity"].as_str().unwrap_or_default().to_string(),
            a["host"]["name"].as_str().unwrap_or_default().to_string(),
            group.join(","),
            c["count"].as_u64().unwrap_or(0),
        ));
    }
    got.sort();
    let want = [
        (
            "Kerberos Password Guessing",
            "high",
            "rootdc1.offsec.lan",
            "TargetUserName=admin-hacker",
            54,
        ),
        (
            "Kerberos User Enumeration Followed By Password Guessing",
            "high",
            "rootdc1.offsec.lan",
            "IpAddress=::ffff:10.23.123.11",
            4,
        ),
        (
            "MSSQL Server Logon Brute Force",
            "high",
            "MSEDGEWIN10",
            "Computer=MSEDGEWIN10",
            10,
        ),
        (
            "MSSQL Server Logon Brute Force",
            "high",
            "mssql01.offsec.lan",
            "Computer=mssql01.offsec.lan",
            6,
        ),
        (
            "Windows Logon Brute Force",
            "medium",
            "WIN",
            "TargetUserName=Admin",
            8,
        ),
        (
            "Windows Logon Brute Force",
            "medium",
            "WIN",
            "TargetUserName=Administrator",
            8,
        ),
        (
            "Windows Logon Brute Force",
            "medium",
            "fs01.offsec.lan",
            "TargetUserName=NOUSER",
            5,
        ),
        (
            "Windows Logon Brute Force",
            "medium",
            "fs01.offsec.lan",
            "TargetUserName=admmig@offsec.lan",
            5,
        ),
    ];
    let want: Vec<(String, String, String, String, u64)> = want
        .iter()
        .map(|(a, b, c, d, n)| {
            (
                a.to_string(),
                b.to_string(),
                c.to_string(),
                d.to_string(),
                *n,
            )
        })
        .collect();
    assert_eq!(got, want);

    // the correlations count as runnable rules
    let out = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["rules", "list", "--rules"])
        .arg(correlations())
        .output()
        .expect("run quarry");
    let err = String::from_utf8_lossy(&out.stderr);
    // the MSSQL one names a SigmaHQ rule not loaded here: skipped, saying so
    assert!(
        err.contains("7 rules runnable (sigma (sigma): 3, sigma_correlation (sigma): 4), 1 skipped (sigma correlation over a rule not loaded or not runnable: 1)"),
        "{err}"
    );
}
