//! `quarry hunt` with Elastic's rules (EQL and KQL) and SigmaHQ's, as a
//! responder runs them, over the public attack samples in
//! `../shared/corpus/evtx`: the files that raise a medium-or-higher alert,
//! per folder, must be at least as many as Hayabusa 4.0 alerts on with its
//! own rules (sbousseaden 205, hayabusa-mitre 150), and a Sigma rule's alert
//! must carry the same investigation as an Elastic one.

use serde_json::Value as J;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

fn corpus() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

#[test]
#[ignore = "needs ../shared"]
fn elastic_and_sigma_rules_alert_on_as_many_attack_samples_as_hayabusa() {
    let shared = corpus();
    let rules = shared.join("rules");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quarry"));
    cmd.args(["hunt", "--format", "ndjson"]);
    for r in [
        "elastic/rules",
        "elastic/rules_building_block",
        "sigma/rules",
        "sigma/rules-threat-hunting",
        "sigma/rules-emerging-threats",
    ] {
        cmd.arg("--rules").arg(rules.join(r));
    }
    let samples = shared.join("corpus/evtx");
    cmd.arg(samples.join("sbousseaden"))
        .arg(samples.join("hayabusa-mitre"));
    let out = cmd.output().expect("run quarry");
    let err = String::from_utf8_lossy(&out.stderr);
    // README and licence files beside the samples are listed as skipped,
    // not counted as damage: exit 0
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("0 do not compile"), "{err}");
    let alerts: Vec<J> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("alert JSON"))
        .collect();
    let mut files: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut languages: BTreeSet<String> = BTreeSet::new();
    for a in &alerts {
        let k = &a["kibana"]["alert"];
        languages.insert(k["rule"]["type"].as_str().unwrap_or_default().to_string());
        if !matches!(k["severity"].as_str(), Some("medium" | "high" | "critical")) {
            continue;
        }
        let origin = a["quarry"]["origin"].as_str().unwrap_or_default();
        let file = origin
            .split("#record=")
            .next()
            .unwrap_or_default()
            .to_string();
        for folder in ["sbousseaden", "hayabusa-mitre"] {
            if file.contains(&format!("/{folder}/")) {
                files.entry(folder).or_default().insert(file.clone());
            }
        }
    }
    let count = |f: &str| files.get(f).map_or(0, BTreeSet::len);
    println!(
        "files with a medium+ alert: sbousseaden {}, hayabusa-mitre {}; rule types {languages:?}",
        count("sbousseaden"),
        count("hayabusa-mitre")
    );
    assert!(count("sbousseaden") >= 205, "{}", count("sbousseaden"));
    assert!(
        count("hayabusa-mitre") >= 150,
        "{}",
        count("hayabusa-mitre")
    );
    for t in ["eql", "query", "sigma"] {
        assert!(languages.contains(t), "no {t} alert: {languages:?}");
    }
    // a Sigma alert is an Elastic-shaped alert with its investigation
    let sigma = alerts
        .iter()
        .find(|a| {
            a["kibana"]["alert"]["rule"]["type"] == "sigma"
                && a["quarry"]["lineage"]["process"].is_object()
        })
        .expect("a Sigma alert on a process");
    assert_eq!(sigma["event"]["kind"], "signal");
    assert!(sigma["kibana"]["alert"]["rule"]["threat"].is_array());
    assert!(sigma["quarry"]["activity"].is_object());
}
