//! Microsoft 365 Defender Advanced Hunting → ECS, as Elastic's
//! `m365_defender.event` pipeline maps it. Records come from the streaming
//! API (`{"category": "AdvancedHunting-DeviceProcessEvents", "properties":
//! {…}}`) or flat from an Advanced Hunting export.
//!
//! The acting process is `InitiatingProcess*`; in DeviceProcessEvents the
//! created process (`FileName`, `FolderPath`, `ProcessId`, …) is `process`
//! and the initiating one `process.parent`. Defender has no process entity
//! id: lineage joins on `DeviceId` + pid + time.
//!
//! File and registry events follow Elastic's `pipeline_device.yml`:
//! DeviceFileEvents are category `file`, type `info` (whatever the
//! ActionType), `file.directory` is `FolderPath` (the file's own path),
//! `file.name`, `file.hash.*`, `file.size`; DeviceRegistryEvents take their
//! type from the ActionType (`RegistryKeyCreated` → creation, `…Deleted` →
//! deletion, `RegistryValueSet` / `RegistryKeyRenamed` → change). quarry adds
//! `file.path` and `registry.path`, which Elastic leaves unset but its rules
//! read, and lists them in `quarry.enriched`. Known difference: Elastic maps
//! DeviceEvents as category `host`, type `info`, with the record's file as
//! `process` and the initiating process as `process.parent`; quarry maps a
//! `DnsQueryResponse` as a DNS event whose querying (initiating) process is
//! `process`, which is what Q1018 joins on, and keeps other DeviceEvents
//! generic.
//!
//! `host.os.type` is not in these records (it lives in DeviceInfo). quarry
//! infers `windows` only from unambiguous evidence — a drive-letter
//! (`C:\`) or `\Device\` path in the record's own paths — and then lists
//! `host.os.type` in `quarry.enriched`, so a responder can tell inferred
//! from reported.

use quarry_event::{Event, Origin, Value, parse_timestamp};
use serde_json::Value as J;

fn t(p: &J, k: &str) -> Option<String> {
    match p.get(k)? {
        J::String(s) if !s.is_empty() => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The record's fields: `properties` of a streaming record, or itself.
pub fn fields(doc: &J) -> &J {
    doc.get("properties")
        .filter(|p| p.is_object())
        .unwrap_or(doc)
}

/// Which table a record comes from.
pub fn table(doc: &J) -> String {
    doc.get("category")
        .and_then(J::as_str)
        .map(|c| c.trim_start_matches("AdvancedHunting-").to_string())
        .or_else(|| t(fields(doc), "Table"))
        .unwrap_or_default()
}

fn windows_path(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\')
        || s.starts_with("\\Device\\")
}

/// Defender and winlogbeat's Security processor split command lines on
/// white space, keeping quotes.
fn set_cmd(ev: &mut Event, prefix: &str, cmd: Option<String>) {
    if let Some(cmd) = cmd {
        let args: Vec<&str> = cmd.split_whitespace().collect();
        ev.set(&format!("{prefix}.args_count"), args.len() as i64);
        ev.set(&format!("{prefix}.args"), args);
        ev.set(&format!("{prefix}.command_line"), cmd);
    }
}

fn set_hashes(ev: &mut Event, prefix: &str, p: &J, field_prefix: &str) {
    for (f, algo) in [("MD5", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256")] {
        ev.set(
            &format!("{prefix}.hash.{algo}"),
            t(p, &format!("{field_prefix}{f}")),
        );
    }
}

fn int(ev: &mut Event, path: &str, raw: Option<String>, problems: &mut Vec<String>) {
    if let Some(r) = raw {
        match r.parse::<i64>() {
            Ok(n) => ev.set(path, n),
            Err(_) => problems.push(format!("{path}: {r:?} is not a number; left out")),
        }
    }
}

/// The initiating process as `prefix` (`process` or `process.parent`).
fn initiating(ev: &mut Event, prefix: &str, p: &J, problems: &mut Vec<String>) {
    int(
        ev,
        &format!("{prefix}.pid"),
        t(p, "InitiatingProcessId"),
        problems,
    );
    ev.set(&format!("{prefix}.name"), t(p, "InitiatingProcessFileName"));
    if let Some(folder) = t(p, "InitiatingProcessFolderPath") {
        // the folder path is the image path for the initiating process
        let exe = if folder.to_ascii_lowercase().ends_with(".exe") {
            folder
        } else {
            format!(
                "{}\\{}",
                folder.trim_end_matches('\\'),
                t(p, "InitiatingProcessFileName").unwrap_or_default()
            )
        };
        ev.set(&format!("{prefix}.executable"), exe);
    }
    set_cmd(ev, prefix, t(p, "InitiatingProcessCommandLine"));
    set_hashes(ev, prefix, p, "InitiatingProcess");
}

pub fn normalize(doc: &J, origin: Origin, problems: &mut Vec<String>) -> Event {
    let p = fields(doc);
    let mut ev = Event::new(origin);
    if let J::Object(m) = p {
        for (k, v) in m {
            ev.set(&format!("m365_defender.event.{k}"), Value::from_json(v));
        }
    }
    let table = table(doc);
    // fields quarry adds that Elastic's pipeline does not set
    let mut enriched: Vec<&str> = Vec::new();
    ev.set("event.kind", "event");
    ev.set("event.module", "m365_defender");
    ev.set("event.dataset", "m365_defender.event");
    ev.set("data_stream.type", "logs");
    ev.set("data_stream.dataset", "m365_defender.event");
    ev.set("data_stream.namespace", "default");
    ev.set(
        "event.action",
        t(p, "ActionType").map(|a| a.to_ascii_lowercase()),
    );
    match t(p, "Timestamp").as_deref().and_then(parse_timestamp) {
        // Elastic keeps millisecond precision
        Some(ns) => ev.set_timestamp(ns - ns.rem_euclid(1_000_000)),
        None => problems.push(format!(
            "Timestamp {:?} is not a date",
            t(p, "Timestamp").unwrap_or_default()
        )),
    }
    ev.set("host.id", t(p, "DeviceId"));
    ev.set("host.name", t(p, "DeviceName"));
    match table.as_str() {
        "DeviceProcessEvents" => {
            ev.set("event.category", vec!["process"]);
            ev.set("event.type", vec!["start"]);
            int(&mut ev, "process.pid", t(p, "ProcessId"), problems);
            ev.set("process.name", t(p, "FileName"));
            ev.set("process.executable", t(p, "FolderPath"));
            set_cmd(&mut ev, "process", t(p, "ProcessCommandLine"));
            set_hashes(&mut ev, "process", p, "");
            if let Some(raw) = t(p, "ProcessCreationTime") {
                match parse_timestamp(&raw) {
                    Some(ts) => ev.set(
                        "process.start",
                        Value::Timestamp(ts - ts.rem_euclid(1_000_000)),
                    ),
                    None => problems.push(format!(
                        "ProcessCreationTime {raw:?} is not a date; left out"
                    )),
                }
            }
            ev.set(
                "process.pe.original_file_name",
                t(p, "ProcessVersionInfoOriginalFileName"),
            );
            initiating(&mut ev, "process.parent", p, problems);
            ev.set("user.domain", t(p, "AccountDomain"));
            ev.set("user.name", t(p, "AccountName"));
            ev.set("user.id", t(p, "AccountSid"));
        }
        "DeviceNetworkEvents" => {
            ev.set("event.category", vec!["network"]);
            ev.set("event.type", vec!["connection"]);
            initiating(&mut ev, "process", p, problems);
            ev.set("source.ip", t(p, "LocalIP"));
            int(&mut ev, "source.port", t(p, "LocalPort"), problems);
            ev.set("destination.ip", t(p, "RemoteIP"));
            int(&mut ev, "destination.port", t(p, "RemotePort"), problems);
            ev.set("destination.domain", t(p, "RemoteUrl"));
            ev.set(
                "network.transport",
                t(p, "Protocol").map(|s| s.to_ascii_lowercase()),
            );
        }
        "DeviceFileEvents" => {
            // Elastic: category file, type info whatever the ActionType
            // (FileCreated, FileModified, FileDeleted, FileRenamed)
            ev.set("event.category", vec!["file"]);
            ev.set("event.type", vec!["info"]);
            initiating(&mut ev, "process", p, problems);
            // Elastic copies FolderPath (which holds the file name too) to
            // file.directory, and sets no file.path; quarry adds file.path
            // and says so in quarry.enriched
            ev.set("file.directory", t(p, "FolderPath"));
            ev.set("file.name", t(p, "FileName"));
            set_hashes(&mut ev, "file", p, "");
            int(&mut ev, "file.size", t(p, "FileSize"), problems);
            if let (Some(folder), Some(name)) = (t(p, "FolderPath"), t(p, "FileName")) {
                ev.set(
                    "file.path",
                    if folder.ends_with(&name) {
                        folder.clone()
                    } else {
                        format!("{}\\{name}", folder.trim_end_matches('\\'))
                    },
                );
                enriched.push("file.path");
            }
        }
        "DeviceRegistryEvents" => {
            ev.set("event.category", vec!["registry"]);
            // Elastic's types by ActionType
            let action = t(p, "ActionType").unwrap_or_default().to_ascii_lowercase();
            let ty = if action.contains("registrykeycreated") {
                Some("creation")
            } else if action.contains("registrykeydeleted")
                || action.contains("registryvaluedeleted")
            {
                Some("deletion")
            } else if action.contains("registrykeyrenamed") || action.contains("registryvalueset") {
                Some("change")
            } else {
                None
            };
            ev.set("event.type", ty.map(|t| vec![t]));
            initiating(&mut ev, "process", p, problems);
            ev.set("registry.key", t(p, "RegistryKey"));
            ev.set("registry.value", t(p, "RegistryValueName"));
            ev.set(
                "registry.data.strings",
                t(p, "RegistryValueData").map(|d| vec![d]),
            );
            // not set by Elastic; Elastic's registry rules read it
            if let Some(k) = t(p, "RegistryKey") {
                let path = match t(p, "RegistryValueName") {
                    Some(v) => format!("{k}\\{v}"),
                    None => k,
                };
                ev.set("registry.path", path);
                enriched.push("registry.path");
            }
        }
        "DeviceEvents" => {
            initiating(&mut ev, "process", p, problems);
            let action = t(p, "ActionType").unwrap_or_default();
            if action != "DnsQueryResponse" {
                crate::mark_unmapped(&mut ev, "m365_defender", &format!("DeviceEvents/{action}"));
            } else {
                ev.set("event.category", vec!["network"]);
                ev.set("event.type", vec!["protocol", "info"]);
                ev.set("network.protocol", "dns");
                // AdditionalFields is a JSON object, or a string holding one
                let extra = match p.get("AdditionalFields") {
                    Some(J::String(s)) => serde_json::from_str::<J>(s).ok(),
                    Some(v @ J::Object(_)) => Some(v.clone()),
                    _ => None,
                };
                if let Some(q) = extra.as_ref().and_then(|x| t(x, "DnsQueryString")) {
                    ev.set("dns.question.name", q);
                } else {
                    problems
                        .push("DnsQueryResponse without AdditionalFields.DnsQueryString".into());
                }
            }
        }
        // other tables: kept as generic events under m365_defender.event.*
        other => crate::mark_unmapped(&mut ev, "m365_defender", other),
    }
    // host.os.type: inferred only from the record's own Windows paths
    let paths = [
        "FolderPath",
        "InitiatingProcessFolderPath",
        "ProcessCommandLine",
        "InitiatingProcessCommandLine",
    ];
    if paths
        .iter()
        .filter_map(|k| t(p, k))
        .any(|v| windows_path(v.trim_start_matches('"')))
        || table == "DeviceRegistryEvents"
    {
        ev.set("host.os.type", "windows");
        enriched.push("host.os.type");
    }
    if !enriched.is_empty() {
        ev.set("quarry.enriched", enriched);
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fixtures_of_several_tables() {
        let net = json!({"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"Timestamp":"2024-01-01T10:00:00.1234567Z","DeviceId":"d1","DeviceName":"ws1","ActionType":"ConnectionSuccess","RemoteIP":"203.0.113.9","RemotePort":443,"LocalIP":"10.0.0.5","LocalPort":"51000","Protocol":"Tcp","InitiatingProcessId":4242,"InitiatingProcessFileName":"powershell.exe","InitiatingProcessFolderPath":"c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe"}});
        let mut p = Vec::new();
        let e = normalize(&net, Origin::default(), &mut p);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(e.get_i64("destination.port"), Some(443));
        assert_eq!(e.get_i64("process.pid"), Some(4242));
        assert_eq!(e.get_str("host.os.type"), Some("windows"));
        assert!(e.has_value("quarry.enriched", "host.os.type"));
        assert_eq!(e.timestamp, parse_timestamp("2024-01-01T10:00:00.123Z"));
        let dns = json!({"category":"AdvancedHunting-DeviceEvents","properties":{"Timestamp":"2024-01-01T10:00:01Z","DeviceId":"d1","ActionType":"DnsQueryResponse","AdditionalFields":"{\"DnsQueryString\":\"c2.example\"}","InitiatingProcessId":4242}});
        let e = normalize(&dns, Origin::default(), &mut Vec::new());
        assert_eq!(e.get_str("dns.question.name"), Some("c2.example"));
        assert!(
            !e.contains("host.os.type"),
            "no Windows evidence in this record: not inferred"
        );
        // a Linux device: no drive-letter paths, nothing inferred
        let lin = json!({"Timestamp":"2024-01-01T10:00:02Z","DeviceId":"d2","ActionType":"ProcessCreated","Table":"DeviceProcessEvents","FileName":"curl","FolderPath":"/usr/bin/curl","ProcessId":"77","ProcessCommandLine":"curl http://x"});
        let e = normalize(&lin, Origin::default(), &mut Vec::new());
        assert_eq!(e.get_str("process.executable"), Some("/usr/bin/curl"));
        assert!(!e.contains("host.os.type"));
        // file and registry events as Elastic maps them, quarry's additions listed
        let file = json!({"category":"AdvancedHunting-DeviceFileEvents","properties":{"Timestamp":"2024-01-01T10:00:03Z","DeviceId":"d1","ActionType":"FileCreated","FileName":"evil.dll","FolderPath":"C:\\Users\\eve\\evil.dll","SHA256":"ab12","FileSize":4096,"InitiatingProcessId":4242,"InitiatingProcessFileName":"powershell.exe"}});
        let e = normalize(&file, Origin::default(), &mut Vec::new());
        assert!(e.has_value("event.category", "file") && e.has_value("event.type", "info"));
        assert_eq!(
            e.get_str("file.directory"),
            Some("C:\\Users\\eve\\evil.dll")
        );
        assert_eq!(e.get_str("file.path"), Some("C:\\Users\\eve\\evil.dll"));
        assert_eq!(e.get_str("file.name"), Some("evil.dll"));
        assert_eq!(e.get_str("file.hash.sha256"), Some("ab12"));
        assert_eq!(e.get_i64("file.size"), Some(4096));
        assert_eq!(e.get_str("process.name"), Some("powershell.exe"));
        assert!(
            e.has_value("quarry.enriched", "file.path")
                && e.has_value("quarry.enriched", "host.os.type")
        );
        let reg = |action: &str| json!({"category":"AdvancedHunting-DeviceRegistryEvents","properties":{"Timestamp":"2024-01-01T10:00:04Z","DeviceId":"d1","ActionType":action,"RegistryKey":"HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run","RegistryValueName":"updater","RegistryValueData":"C:\\evil.exe","InitiatingProcessId":4242}});
        for (action, ty) in [
            ("RegistryValueSet", Some("change")),
            ("RegistryKeyCreated", Some("creation")),
            ("RegistryValueDeleted", Some("deletion")),
            ("RegistryKeyRenamed", Some("change")),
            ("Other", None),
        ] {
            let e = normalize(&reg(action), Origin::default(), &mut Vec::new());
            assert!(e.has_value("event.category", "registry"));
            match ty {
                Some(ty) => assert!(e.has_value("event.type", ty), "{action}"),
                None => assert!(!e.contains("event.type"), "{action}"),
            }
            assert_eq!(e.get_str("registry.value"), Some("updater"));
            assert_eq!(
                e.get_str("registry.path"),
                Some(
                    "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\updater"
                )
            );
            assert!(e.has_value("quarry.enriched", "registry.path"));
        }
        let bad = json!({"category":"AdvancedHunting-DeviceProcessEvents","properties":{"Timestamp":"not a date","DeviceId":"d1","ProcessId":"x"}});
        let mut p = Vec::new();
        let e = normalize(&bad, Origin::default(), &mut p);
        assert!(e.has_value("event.type", "start"));
        assert_eq!(p.len(), 2, "{p:?}");
    }
}
