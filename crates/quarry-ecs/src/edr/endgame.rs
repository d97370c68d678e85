//! Elastic Endgame events → ECS. Endgame's own fields (`process_name`,
//! `unique_pid`, `event_subtype_full`, …) are kept as they are — EQL written
//! for Endgame reads them — and the ECS fields Elastic's rules read for the
//! `endgame-*` indices are added beside them: `unique_pid` is the
//! process's entity id, `unique_ppid` its parent's.

use quarry_event::{Event, Origin, Value};
use serde_json::Value as J;

/// FILETIME (100 ns since 1601) → nanoseconds since 1970.
fn filetime(ft: i64) -> Option<i64> {
    ft.checked_sub(116_444_736_000_000_000)?.checked_mul(100)
}

fn windows_path(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\'
}

pub fn normalize(doc: &J, origin: Origin, problems: &mut Vec<String>) -> Event {
    let mut ev = Event::from_json(doc, origin);
    let copy = |ev: &mut Event, to: &str, from: &str| {
        if let Some(v) = ev.get(from).cloned() {
            ev.set(to, v);
        }
    };
    ev.set("event.module", "endgame");
    ev.set("event.dataset", "endgame");
    ev.set("event.kind", "event");
    if ev.timestamp.is_none() {
        match ev.get_i64("timestamp").and_then(filetime) {
            Some(t) => ev.set_timestamp(t),
            None => problems.push("no usable timestamp (FILETIME)".into()),
        }
    }
    let ty = ev.get_str("event_type").unwrap_or_default().to_string();
    let sub = ev
        .get_str("event_subtype_full")
        .unwrap_or_default()
        .to_string();
    let category = match ty.as_str() {
        "dns" => "network",
        "process" | "file" | "registry" | "network" | "authentication" | "library" => ty.as_str(),
        _ => "",
    };
    if !category.is_empty() {
        ev.set("event.category", vec![category]);
    }
    let types: &[&str] = match sub.as_str() {
        "creation_event" => &["start"],
        "already_running" => &["info"],
        "termination_event" => &["end"],
        "file_create_event" => &["creation"],
        "file_delete_event" => &["deletion"],
        "file_modify_event" | "registry_modify_event" => &["change"],
        "ipv4_connection_attempt_event" | "ipv6_connection_attempt_event" => {
            &["connection", "start"]
        }
        "ipv4_connection_accept_event" | "ipv6_connection_accept_event" => &["connection", "start"],
        "request_event" => &["protocol", "info"],
        _ => &[],
    };
    if !types.is_empty() {
        ev.set("event.type", types.to_vec());
    }
    ev.set("event.action", (!sub.is_empty()).then_some(sub.as_str()));
    for (to, from) in [
        ("process.name", "process_name"),
        ("process.pid", "pid"),
        ("process.entity_id", "unique_pid"),
        ("process.executable", "process_path"),
        ("process.command_line", "command_line"),
        ("process.parent.pid", "ppid"),
        ("process.parent.entity_id", "unique_ppid"),
        ("process.parent.name", "parent_process_name"),
        ("process.parent.executable", "parent_process_path"),
        ("process.hash.md5", "md5"),
        ("process.exit_code", "exit_code"),
        ("process.pe.original_file_name", "original_file_name"),
        ("user.name", "user_name"),
        ("user.domain", "user_domain"),
        ("file.path", "file_path"),
        ("file.name", "file_name"),
        ("registry.path", "registry_path"),
        ("registry.key", "registry_key"),
        ("registry.value", "registry_value"),
        ("source.ip", "source_address"),
        ("source.port", "source_port"),
        ("destination.ip", "destination_address"),
        ("destination.port", "destination_port"),
        ("network.transport", "protocol"),
        ("dns.question.name", "query_name"),
    ] {
        copy(&mut ev, to, from);
    }
    // entity ids are strings in ECS
    for f in ["process.entity_id", "process.parent.entity_id"] {
        if let Some(v) = ev.get(f).and_then(Value::to_text).map(|c| c.into_owned()) {
            ev.set(f, v);
        }
    }
    let windows = ["process_path", "file_path", "parent_process_path"]
        .iter()
        .any(|k| ev.get_str(k).is_some_and(windows_path));
    if windows {
        ev.set("host.os.type", "windows");
        ev.set("quarry.enriched", vec!["host.os.type"]);
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn process_and_network_events() {
        let p = json!({"event_type":"process","event_subtype_full":"creation_event","event_type_full":"process_event","pid":2256,"ppid":1,"unique_pid":54,"unique_ppid":7,"process_name":"cmd.exe","process_path":"C:\\\\Windows\\\\System32\\\\cmd.exe","parent_process_name":"dns.exe","command_line":"cmd.exe /c whoami","timestamp":131509374295457140i64,"serial_event_id":55});
        let e = normalize(&p, Origin::default(), &mut Vec::new());
        assert!(e.has_value("event.type", "start"));
        assert_eq!(e.get_str("process.entity_id"), Some("54"));
        assert_eq!(e.get_str("process.parent.name"), Some("dns.exe"));
        assert_eq!(e.get_str("host.os.type"), Some("windows"));
        assert_eq!(
            e.get_i64("serial_event_id"),
            Some(55),
            "Endgame's own fields stay"
        );
        assert_eq!(
            quarry_event::format_timestamp(e.timestamp.unwrap()),
            "2017-09-26T22:10:29.545714Z"
        );
        let n = json!({"event_type":"network","event_subtype_full":"ipv4_connection_attempt_event","event_type_full":"network_event","pid":860,"unique_pid":75273,"destination_address":"10.6.48.157","destination_port":8000,"protocol":"tcp","timestamp":131762381493039760i64});
        let e = normalize(&n, Origin::default(), &mut Vec::new());
        assert!(e.has_value("event.category", "network"));
        assert_eq!(e.get_i64("destination.port"), Some(8000));
        let mut p = Vec::new();
        let e = normalize(
            &json!({"event_type":"file","event_type_full":"file_event","unique_pid":1,"timestamp":"x"}),
            Origin::default(),
            &mut p,
        );
        assert!(e.has_value("event.category", "file"));
        assert_eq!(p.len(), 1);
    }
}
