//! Elastic's KQL rules on real telemetry: the PowerShell script-block
//! samples and log-cleared samples of `../shared/corpus/evtx`.

use quarry_event::Event;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn shared() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

fn evtx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            evtx_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "evtx") {
            out.push(p);
        }
    }
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for p in rd.flatten().map(|e| e.path()) {
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
}

/// Elastic's `query`-type KQL rules (not deprecated): (name, query).
fn query_rules() -> Vec<(String, quarry_eql::Query)> {
    let mut files = Vec::new();
    toml_files(&shared().join("rules/elastic/rules"), &mut files);
    toml_files(
        &shared().join("rules/elastic/rules_building_block"),
        &mut files,
    );
    files.sort();
    let mut out = Vec::new();
    for f in files {
        if f.components().any(|c| c.as_os_str() == "_deprecated") {
            continue;
        }
        let doc: toml::Value =
            toml::from_str(&std::fs::read_to_string(&f).expect("reads")).expect("TOML");
        let rule = &doc["rule"];
        let s = |k: &str| {
            rule.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        if s("language") != "kuery" || s("type") != "query" {
            continue;
        }
        let q =
            quarry_kql::compile(&s("query"), &quarry_kql::KqlOptions::default()).expect("compiles");
        out.push((s("name"), q));
    }
    out
}

/// What the Windows integration sets on the records the Windows-events
/// issue is to map (quarry leaves them unmapped today): a stand-in so the
/// rules can be tried on the real records now.
fn integration_stand_in(ev: &mut Event) {
    let text = |ev: &Event, f: &str| ev.get(f).and_then(|v| v.to_text()).map(|t| t.to_string());
    match text(ev, "event.code").as_deref() {
        Some("4104") => {
            if let Some(sb) = text(ev, "winlog.event_data.ScriptBlockText") {
                ev.set("powershell.file.script_block_text", sb);
            }
            if let Some(id) = text(ev, "winlog.event_data.ScriptBlockId") {
                ev.set("powershell.file.script_block_id", id);
            }
            if let Some(uid) = text(ev, "winlog.user.identifier") {
                ev.set_default("user.id", uid);
            }
            ev.set("event.category", vec!["process"]);
            ev.set("event.type", vec!["info"]);
        }
        Some("1102") => ev.set("event.action", "audit-log-cleared"),
        Some("104") if text(ev, "winlog.channel").as_deref() == Some("System") => {
            ev.set("event.action", "Log clear")
        }
        _ => {}
    }
}

#[test]
#[ignore = "needs ../shared"]
fn elastic_kql_rules_on_the_evtx_samples() {
    let mut files = Vec::new();
    evtx_files(&shared().join("corpus/evtx"), &mut files);
    let rules = query_rules();
    // per event: its file, whether it is a log clearing or a script
    // block, and the rules that fire
    let (per_event, _) = quarry_read::scan(&files, |mut ev: Event| {
        integration_stand_in(&mut ev);
        let hits: Vec<usize> = rules
            .iter()
            .enumerate()
            .filter(|(_, (_, q))| q.matches(&ev))
            .map(|(i, _)| i)
            .collect();
        let kind = if ev.contains("powershell.file.script_block_text") {
            "script"
        } else if matches!(
            ev.get_str("event.action"),
            Some("audit-log-cleared" | "Log clear")
        ) {
            "cleared"
        } else {
            ""
        };
        Some((ev.origin.file.to_string(), kind, hits))
    });
    let mut by_rule = vec![0usize; rules.len()];
    let mut script_files: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut cleared, mut cleared_alerts) = (0, 0);
    let cleared_rule = rules
        .iter()
        .position(|(n, _)| n == "Windows Event Logs Cleared")
        .expect("the log-cleared rule is a KQL query");
    for (file, kind, hits) in &per_event {
        for &h in hits {
            by_rule[h] += 1;
        }
        match *kind {
            "cleared" => {
                cleared += 1;
                cleared_alerts += usize::from(hits.contains(&cleared_rule));
            }
            "script" => *script_files.entry(file).or_default() += hits.len(),
            _ => {}
        }
    }
    println!(
        "{} events of {} files, {} KQL query rules; rules that fire:",
        per_event.len(),
        files.len(),
        rules.len()
    );
    for (i, n) in by_rule.iter().enumerate().filter(|(_, n)| **n > 0) {
        println!("{n:6}  {}", rules[i].0);
    }
    let script_alerting = script_files.values().filter(|n| **n > 0).count();
    println!(
        "log clearings (Security 1102, System 104): {cleared}, {cleared_alerts} raise `Windows Event Logs Cleared`"
    );
    println!(
        "files with script blocks: {}, {script_alerting} raise a KQL alert; without one:",
        script_files.len()
    );
    for (f, _) in script_files.iter().filter(|(_, n)| **n == 0) {
        println!("  {f}");
    }
    assert!(cleared > 0 && cleared_alerts == cleared);
    assert!(
        script_alerting >= 5,
        "script-block rules fire on the samples"
    );
}
