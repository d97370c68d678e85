//! `quarry hunt` with Elastic's aggregating and enriching rule types, end
//! to end on small fixtures (`tests/fixtures/`, records shaped as real
//! ones) and on real events of `../shared`: `threat_match` with
//! `--threat-intel`, `threshold`, `new_terms`, and `quarry rules list`'s
//! per-type table.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn quarry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(args)
        .env_remove("QUARRY_RULES")
        .output()
        .expect("run quarry")
}

fn shared() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn alerts(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("an alert per line"))
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// Elastic's "Threat Intel IP Address Indicator Match" over the real
/// Sysmon sample in which mshta.exe connects to 108.179.232.58 and
/// 105.73.6.112/105: the indicator file (AbuseCH-shaped documents) names
/// the first (fresh), the second (more than 30 days older than the newest
/// indicator, so `threat_query`'s `now-30d/d` leaves it out) and the third
/// (a document that is no enrichment, which `threat_filters` leave out).
#[test]
#[ignore = "needs ../shared"]
fn threat_match_enriches_the_alert_with_the_indicator() {
    let rule =
        shared().join("rules/elastic/rules/threat_intel/threat_intel_indicator_match_address.toml");
    let evtx = shared().join(
        "corpus/evtx/sbousseaden/Execution/exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx",
    );
    let intel = fixture("threat-intel.ndjson");
    // without indicators the rule is skipped, and says why
    let out = quarry(&["rules", "list", "--rules", s(&rule)]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("threat_match without indicators (--threat-intel FILE)"),
        "{listed}"
    );
    let out = quarry(&["hunt", "--rules", s(&rule), "--format", "ndjson", s(&evtx)]);
    assert!(alerts(&out).is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 rules loaded, 1 skipped"));
    let out = quarry(&[
        "hunt",
        "--rules",
        s(&rule),
        "--threat-intel",
        s(&intel),
        "--format",
        "ndjson",
        s(&evtx),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("4 indicator documents read"), "{err}");
    let a = alerts(&out);
    assert_eq!(a.len(), 1, "{err}");
    assert_eq!(a[0]["destination"]["ip"], "108.179.232.58");
    assert_eq!(a[0]["process"]["name"], "mshta.exe");
    let e = &a[0]["threat"]["enrichments"];
    assert_eq!(e.as_array().map(Vec::len), Some(1), "{e}");
    assert_eq!(e[0]["matched"]["field"], "destination.ip");
    assert_eq!(e[0]["matched"]["atomic"], "108.179.232.58");
    assert_eq!(e[0]["matched"]["type"], "indicator_match_rule");
    assert_eq!(e[0]["matched"]["index"], "ti_abusech.url");
    assert!(
        e[0]["matched"]["id"]
            .as_str()
            .is_some_and(|i| i.ends_with("threat-intel.ndjson:1"))
    );
    assert_eq!(e[0]["indicator"]["ip"], "108.179.232.58");
    assert_eq!(e[0]["indicator"]["confidence"], "High");
    assert_eq!(e[0]["feed"]["name"], "AbuseCH URL");
    // an indicator file that does not exist is a usage error
    let out = quarry(&[
        "hunt",
        "--rules",
        s(&rule),
        "--threat-intel",
        "/nonexistent/intel.ndjson",
        s(&evtx),
    ]);
    assert_eq!(out.status.code(), Some(2));
}
