//! Loads and compiles the whole Elastic detection-rules corpus from the
//! shared reference data and checks what becomes runnable and why the rest
//! is skipped.

use quarry_detect::RuleBook;
use quarry_rules::SkipKind;
use std::path::PathBuf;

fn corpus() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

#[test]
#[ignore = "needs ../shared"]
fn elastic_rules_corpus() {
    let base = corpus().join("rules/elastic");
    let mut book = RuleBook::load(&[base.join("rules"), base.join("rules_building_block")]);
    // the 6 threat_match rules compile; without indicators they are skipped
    let threat_match = book
        .rules
        .iter()
        .filter(|r| r.rule.threat_match.is_some())
        .count();
    assert_eq!(threat_match, 6);
    book.skip_threat_match();
    let summary = book.skipped_summary();
    println!("runnable rules: {}", book.rules.len());
    let mut by_type = std::collections::BTreeMap::new();
    for r in &book.rules {
        *by_type.entry(r.rule.rule_type.as_str()).or_insert(0) += 1;
    }
    println!("runnable by type: {by_type:?}");
    for (reason, n) in &summary {
        println!("skipped {n:5}  {reason}");
    }
    let failed: Vec<String> = book
        .skipped
        .iter()
        .filter(|s| matches!(s.kind, SkipKind::ParseError | SkipKind::ReadError))
        .map(|s| format!("{}: {}", s.path.display(), s.reason))
        .collect();
    assert!(
        failed.is_empty(),
        "files that failed:\n{}",
        failed.join("\n")
    );

    // `grep -rl 'language = "eql"' rules rules_building_block` finds 1081
    // files, 57 of them under rules/_deprecated.
    assert!(book.not_compiled.is_empty(), "{:?}", book.not_compiled);
    // EQL: `grep -rl 'language = "eql"' rules rules_building_block` finds
    // 1081 files, 57 of them under rules/_deprecated; KQL: 454 query, 241
    // new_terms and 28 threshold rules outside _deprecated, of which 8
    // query rules and 1 threshold rule are shipped disabled
    let eql = book.rules.iter().filter(|r| r.rule.is_eql()).count();
    assert_eq!(eql, 1081 - 57);
    assert_eq!(book.rules.len(), 1024 + (454 - 8) + 241 + (28 - 1));
    assert_eq!(book.rules.len() + book.skipped.len(), 2192);
    let expected: Vec<(&str, usize)> = vec![
        ("deprecated", 124),
        ("disabled as shipped (--include-disabled)", 9),
        ("threat_match without indicators (--threat-intel FILE)", 6),
        ("type esql (esql)", 209),
        ("type machine_learning", 106),
    ];
    let observed: Vec<(&str, usize)> = summary.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(observed, expected);
    assert!(book.rules.iter().all(|r| !r.rule.query.is_empty()));
    // every threshold and new_terms rule has its table
    for r in &book.rules {
        match r.rule.rule_type.as_str() {
            "threshold" => assert!(r.rule.threshold.is_some(), "{}", r.rule.name),
            "new_terms" => assert!(r.rule.new_terms.is_some(), "{}", r.rule.name),
            _ => {}
        }
    }

    let r = &book
        .get("8c37dc0e-e3ac-4c97-8aa0-cf6a9122de45")
        .expect("dns.exe rule is runnable")
        .rule;
    assert_eq!(r.index.len(), 9);
    assert_eq!(r.max_signals, 100);
    assert_eq!(r.timestamp_override.as_deref(), Some("event.ingested"));
    assert_eq!(r.threat_value().as_array().map(Vec::len), Some(2));
    assert_eq!(r.threat_value()[0]["technique"][0]["id"], "T1210");
    assert_eq!(r.investigate.len(), 5);
    assert_eq!(r.investigate[0].providers.len(), 2);
    assert_eq!(r.investigate[0].providers[1][0].value, "registry");
    assert_eq!(r.investigate[4].relative_from.as_deref(), Some("now-48h/h"));
    assert!(r.matches_index("logs-windows.sysmon_operational-default"));
    assert!(r.matches_index("winlogbeat-quarry"));
    assert!(!r.matches_index("logs-aws.cloudtrail-default"));

    let rules: Vec<&quarry_rules::Rule> = book.rules.iter().map(|r| &r.rule).collect();
    let mut ids: Vec<&str> = rules.iter().map(|r| r.rule_id.as_str()).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "duplicate rule_id among runnable rules");

    let bb = rules.iter().filter(|r| r.is_building_block()).count();
    println!("building blocks among runnable: {bb}");
    let no_index = rules.iter().filter(|r| r.index.is_empty()).count();
    println!("runnable without index (data view): {no_index}");
    let mut patterns: Vec<&str> = rules
        .iter()
        .flat_map(|r| r.index.iter().map(String::as_str))
        .collect();
    patterns.sort_unstable();
    patterns.dedup();
    println!("distinct index patterns: {}", patterns.len());
    for p in patterns
        .iter()
        .filter(|p| p.starts_with('-') || p.contains(':') || p.contains(',') || p.contains(' '))
    {
        println!("unusual index pattern: {p}");
    }
}
