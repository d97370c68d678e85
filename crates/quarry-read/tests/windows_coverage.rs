//! Every (channel, event id) type that Elastic's ingest pipelines
//! categorise must be categorised by quarry too, on the public attack
//! samples in `../shared/corpus/evtx`.
//!
//! Which types Elastic maps is read from its pipelines in
//! `../shared/reference/elastic-integrations`, not written here: the
//! Security pipeline's (`standard.yml`) and Sysmon's (`default.yml`)
//! categorisation scripts key their `params` by event code, and the
//! PowerShell, PowerShell/Operational, Defender and AppLocker pipelines set
//! `event.category` on every record of their channel. The System and
//! Application pipelines categorise nothing, so their types may stay
//! generic. The pipelines stored there are not all the newest (see its
//! `SOURCES-NOTES.md`), so every (channel, code) to which one of Elastic's
//! expected documents (`*-expected.json`, winlogbeat's `ingest/` golden
//! files) gives an `event.category` or `event.action` counts as mapped too
//! (the AD CS, 4627, 4662, 5136… types of the newer Security pipeline).
//! A record counts as generic when it has neither `event.category` nor
//! `event.action`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn shared() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

fn yaml(rel: &str) -> serde_yaml::Value {
    let p = shared().join("reference/elastic-integrations").join(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The event codes a pipeline's categorisation script keys its `params`
/// by: the first `script` processor whose params hold a code with a
/// `category` (how the Security and Sysmon pipelines set `event.*`).
fn categorised_codes(rel: &str) -> BTreeSet<String> {
    let doc = yaml(rel);
    let processors = doc["processors"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{rel}: no processors"));
    for p in processors {
        let Some(params) = p["script"]["params"].as_mapping() else {
            continue;
        };
        let codes: BTreeSet<String> = params
            .iter()
            .filter(|(_, v)| v.get("category").is_some() || v.get("action").is_some())
            .filter_map(|(k, _)| k.as_str().map(str::to_string))
            .collect();
        if !codes.is_empty() {
            return codes;
        }
    }
    panic!("{rel}: no categorisation script")
}

/// Whether a pipeline sets `event.category` on every record
/// (a `set` processor without an `if`).
fn categorises_all(rel: &str) -> bool {
    let doc = yaml(rel);
    doc["processors"].as_sequence().is_some_and(|ps| {
        ps.iter().any(|p| {
            let set = &p["set"];
            set["field"].as_str() == Some("event.category") && set.get("if").is_none()
        })
    })
}

/// (lower-cased channel, code) of every expected document that Elastic
/// categorises.
fn categorised_in_expected_documents() -> BTreeSet<(String, String)> {
    let root = shared().join("reference");
    let mut out = BTreeSet::new();
    for entry in walkdir::WalkDir::new(&root).into_iter().flatten() {
        let p = entry.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let golden = name.ends_with(".golden.json")
            && p.parent().and_then(|d| d.file_name()) == Some("ingest".as_ref());
        if !(name.ends_with("-expected.json") || golden) {
            continue;
        }
        let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let doc: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let docs = match doc {
            serde_json::Value::Array(a) => a,
            serde_json::Value::Object(mut m) => match m.remove("expected") {
                Some(serde_json::Value::Array(a)) => a,
                _ => vec![serde_json::Value::Object(m)],
            },
            _ => continue,
        };
        for d in docs {
            let event = &d["event"];
            if event.get("category").is_none() && event.get("action").is_none() {
                continue;
            }
            let channel = d["winlog"]["channel"].as_str().unwrap_or("");
            let code = match (&event["code"], &d["winlog"]["event_id"]) {
                (serde_json::Value::String(c), _) | (_, serde_json::Value::String(c)) => c.clone(),
                (c, _) if c.is_number() => c.to_string(),
                (_, c) => c.to_string(),
            };
            if !channel.is_empty() {
                out.insert((channel.to_ascii_lowercase(), code));
            }
        }
    }
    out
}

#[test]
#[ignore = "needs ../shared"]
fn every_type_elastic_categorises_is_categorised_on_the_attack_samples() {
    let security = categorised_codes("system/security/elasticsearch/ingest_pipeline/standard.yml");
    let sysmon =
        categorised_codes("windows/sysmon_operational/elasticsearch/ingest_pipeline/default.yml");
    assert!(
        security.len() > 100 && security.contains("1102"),
        "{security:?}"
    );
    assert!(
        sysmon.contains("10") && sysmon.contains("255"),
        "{sysmon:?}"
    );
    // whole channels, by the pipeline of each (lower-cased channel names, as
    // the forwarded pipeline routes them)
    let whole: Vec<&str> = [
        ("windows powershell", "windows/powershell"),
        (
            "microsoft-windows-powershell/operational",
            "windows/powershell_operational",
        ),
        (
            "microsoft-windows-windows defender/operational",
            "windows/windows_defender",
        ),
        (
            "microsoft-windows-applocker/exe and dll",
            "windows/applocker_exe_and_dll",
        ),
        (
            "microsoft-windows-applocker/msi and script",
            "windows/applocker_msi_and_script",
        ),
        (
            "microsoft-windows-applocker/packaged app-deployment",
            "windows/applocker_packaged_app_deployment",
        ),
        (
            "microsoft-windows-applocker/packaged app-execution",
            "windows/applocker_packaged_app_execution",
        ),
    ]
    .into_iter()
    .filter(|(_, dir)| categorises_all(&format!("{dir}/elasticsearch/ingest_pipeline/default.yml")))
    .map(|(ch, _)| ch)
    .collect();
    assert!(whole.len() >= 4, "{whole:?}");

    let expected = categorised_in_expected_documents();
    assert!(
        expected.contains(&("security".to_string(), "5136".to_string())),
        "{expected:?}"
    );
    let elastic_maps = |channel: &str, provider: &str, code: &str| -> bool {
        let ch = channel.to_ascii_lowercase();
        if expected.contains(&(ch.clone(), code.to_string())) {
            return true;
        }
        match ch.as_str() {
            "security" => {
                [
                    "Microsoft-Windows-Eventlog",
                    "Microsoft-Windows-Security-Auditing",
                ]
                .contains(&provider)
                    && security.contains(code)
            }
            "microsoft-windows-sysmon/operational" => sysmon.contains(code),
            c => whole.contains(&c),
        }
    };

    let corpus = shared().join("corpus/evtx");
    let (types, summary) = quarry_read::scan(&[corpus], |ev| {
        let channel = ev.get_str("winlog.channel")?.to_string();
        let provider = ev.get_str("winlog.provider_name").unwrap_or("").to_string();
        let code = ev.get_str("event.code").unwrap_or("").to_string();
        let generic = ev.get("event.category").is_none() && ev.get("event.action").is_none();
        Some((channel, provider, code, generic))
    });
    assert!(summary.events > 20_000, "{} events", summary.events);

    // (channel, id) → (records, generic records) among the types Elastic maps
    let mut seen: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    // the generic rest, by type, to show what Elastic leaves generic
    let mut rest: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (channel, provider, code, generic) in &types {
        if elastic_maps(channel, provider, code) {
            let e = seen.entry((channel.clone(), code.clone())).or_default();
            e.0 += 1;
            e.1 += u64::from(*generic);
        } else if *generic {
            *rest.entry((channel.clone(), code.clone())).or_default() += 1;
        }
    }
    let generic_elsewhere: u64 = rest.values().sum();
    let mut largest: Vec<_> = rest.iter().collect();
    largest.sort_by(|a, b| b.1.cmp(a.1));
    for ((c, id), n) in largest
        .iter()
        .filter(|((c, _), _)| std::env::var("COVER_ALL").is_ok() || !c.is_empty())
        .take(if std::env::var("COVER_ALL").is_ok() {
            1000
        } else {
            25
        })
    {
        eprintln!("  left generic as Elastic does: {c}/{id}: {n}");
    }
    let left: Vec<String> = seen
        .iter()
        .filter(|(_, (_, g))| *g > 0)
        .map(|((c, id), (n, g))| format!("{c}/{id}: {g} of {n} generic"))
        .collect();
    eprintln!(
        "{} records of {} types Elastic categorises; {} generic records of types it leaves generic",
        seen.values().map(|v| v.0).sum::<u64>(),
        seen.len(),
        generic_elsewhere
    );
    assert!(
        left.is_empty(),
        "types Elastic categorises left generic:\n{}",
        left.join("\n")
    );
}
