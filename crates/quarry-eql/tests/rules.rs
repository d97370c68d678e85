//! Elastic's detection rules: every EQL rule compiles, and the dns.exe
//! rule behaves on hand-made ECS events for each of its branches.

use quarry_eql::{Options, compile};
use quarry_event::Event;
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

#[test]
#[ignore = "needs ../shared"]
fn every_elastic_eql_rule_compiles() {
    let mut files = Vec::new();
    toml_files(&shared().join("rules/elastic/rules"), &mut files);
    toml_files(
        &shared().join("rules/elastic/rules_building_block"),
        &mut files,
    );
    let (mut eql, mut deprecated, mut failures) = (0, 0, Vec::new());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let doc: toml::Value = match toml::from_str(&text) {
            Ok(d) => d,
            Err(e) => panic!("{}: {e}", f.display()),
        };
        let rule = &doc["rule"];
        if rule.get("language").and_then(|l| l.as_str()) != Some("eql") {
            continue;
        }
        eql += 1;
        if f.components().any(|c| c.as_os_str() == "_deprecated") {
            deprecated += 1;
        }
        let query = rule
            .get("query")
            .and_then(|q| q.as_str())
            .unwrap_or_default();
        match compile(query, &Options::default()) {
            // and evaluates (on a typical Windows process start) without panicking
            Ok(q) => {
                let ev = child(r"C:\Windows\System32\cmd.exe", Some(r"C:\x\dns.exe"));
                let _ = q.matches(&ev);
                let _ = q.run(vec![ev.clone(), ev]);
            }
            Err(e) => failures.push(format!("{}:\n{e}", f.display())),
        }
    }
    println!(
        "{eql} EQL rules ({deprecated} of them under _deprecated), {} do not compile",
        failures.len()
    );
    assert!(eql > 1000, "{eql}");
    assert!(
        failures.is_empty(),
        "{} of {eql} rules do not compile:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const DNS_RULE: &str = r#"process where host.os.type == "windows" and event.type == "start" and
  process.parent.name : "dns.exe" and
  not process.executable : (
    "?:\\Windows\\System32\\conhost.exe",
    "?:\\Windows\\System32\\dns.exe",

    /* Crowdstrike specific exclusion as it uses NT Object paths */
    "\\Device\\HarddiskVolume*\\Windows\\System32\\conhost.exe",
    "\\Device\\HarddiskVolume*\\Windows\\System32\\dns.exe",
    "\\Device\\HarddiskVolume*\\Program Files\\ReasonLabs\\*"
  ) and
  not ?process.parent.executable : "?:\\Program Files\\ReasonLabs\\DNS\\ui\\DNS.exe""#;

fn child(exe: &str, parent_exe: Option<&str>) -> Event {
    let mut e = Event::default();
    e.set("event.category", vec!["process"]);
    e.set("event.type", vec!["start"]);
    e.set("host.os.type", "windows");
    e.set("process.executable", exe);
    e.set("process.name", exe.rsplit('\\').next().unwrap_or(exe));
    e.set("process.parent.name", "dns.exe");
    e.set("process.parent.executable", parent_exe);
    e
}

#[test]
fn dns_exe_rule_branches() {
    let q = compile(DNS_RULE, &Options::default()).unwrap();
    let dns = Some(r"C:\Windows\System32\dns.exe");
    assert!(
        q.matches(&child(r"C:\Windows\System32\cmd.exe", dns)),
        "a cmd.exe child alerts"
    );
    assert!(
        !q.matches(&child(r"C:\Windows\System32\conhost.exe", dns)),
        "conhost.exe does not"
    );
    assert!(
        !q.matches(&child(r"c:\windows\system32\CONHOST.EXE", dns)),
        "`:` is case-insensitive"
    );
    assert!(
        !q.matches(&child(
            r"\Device\HarddiskVolume3\Windows\System32\conhost.exe",
            None
        )),
        "NT path conhost.exe does not"
    );
    assert!(
        q.matches(&child(
            r"\Device\HarddiskVolume3\Windows\System32\cmd.exe",
            None
        )),
        "a missing parent executable does not block the match"
    );
    assert!(
        !q.matches(&child(
            r"C:\Program Files\ReasonLabs\DNS\x.exe",
            Some(r"C:\Program Files\ReasonLabs\DNS\ui\DNS.exe")
        )),
        "ReasonLabs parent excluded"
    );
    assert!(
        !q.matches(&child(
            r"\Device\HarddiskVolume2\Program Files\ReasonLabs\DNS\x.exe",
            None
        )),
        "ReasonLabs NT path excluded"
    );
    // event.type as an array matches == "start"
    let mut e = child(r"C:\Windows\System32\cmd.exe", dns);
    e.set("event.type", vec!["start", "process_started"]);
    assert!(q.matches(&e));
    // not a start, not windows, other category, other parent
    let mut e = child(r"C:\Windows\System32\cmd.exe", dns);
    e.set("event.type", vec!["end"]);
    assert!(!q.matches(&e));
    let mut e = child(r"C:\Windows\System32\cmd.exe", dns);
    e.remove("host.os.type");
    assert!(!q.matches(&e), "host.os.type == windows is required");
    let mut e = child(r"C:\Windows\System32\cmd.exe", dns);
    e.set("event.category", vec!["file"]);
    assert!(!q.matches(&e));
    let mut e = child(r"C:\Windows\System32\cmd.exe", dns);
    e.set("process.parent.name", "services.exe");
    assert!(!q.matches(&e));
    // a missing process.executable passes `not … : (…)`, as in Elasticsearch
    let mut e = child(r"C:\x.exe", dns);
    e.remove("process.executable");
    assert!(q.matches(&e));
}

#[test]
fn malformed_queries_point_at_the_problem() {
    for (q, needle) in [
        (
            "process where process.name == process.parent.name",
            "between fields",
        ),
        ("process where startsWith~(a)", "takes 2 arguments"),
        ("process where length~(a) == 1", "no case-insensitive"),
        ("process where a : 1", "expected a string pattern"),
        ("process where a == 1 | unique a", "not supported"),
        ("process where nosuch(a)", "unknown function"),
        ("sequence [a where true]", "at least two"),
        ("process where a regex \"(\"", "invalid regular expression"),
    ] {
        let e = compile(q, &Options::default()).expect_err(q);
        let shown = e.to_string();
        assert!(shown.contains(needle), "{q}: {shown}");
        assert!(shown.contains('^'), "{shown}");
    }
}
