//! Elastic's detection rules: every KQL (`language = "kuery"`) query compiles.

use std::path::{Path, PathBuf};

fn shared() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
}

/// Every KQL rule: (file, rule type, query).
fn kql_rules() -> Vec<(PathBuf, String, String)> {
    let mut files = Vec::new();
    toml_files(&shared().join("rules/elastic/rules"), &mut files);
    toml_files(
        &shared().join("rules/elastic/rules_building_block"),
        &mut files,
    );
    assert!(!files.is_empty(), "no rules under {}", shared().display());
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("reads");
        let doc: toml::Value =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let rule = &doc["rule"];
        if rule.get("language").and_then(|l| l.as_str()) != Some("kuery") {
            continue;
        }
        let kind = rule
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .to_string();
        let query = rule
            .get("query")
            .and_then(|q| q.as_str())
            .unwrap_or_default()
            .to_string();
        out.push((f, kind, query));
    }
    out
}

#[test]
#[ignore = "needs ../shared"]
fn every_elastic_kql_rule_parses() {
    let rules = kql_rules();
    let mut failures = Vec::new();
    for (f, _, q) in &rules {
        if let Err(e) = quarry_kql::parser::parse(q) {
            failures.push(format!("{}: {e}", f.display()));
        }
    }
    println!("{} KQL rules, {} fail", rules.len(), failures.len());
    for f in &failures {
        println!("{f}");
    }
    assert!(failures.is_empty());
}
