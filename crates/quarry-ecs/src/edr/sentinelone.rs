//! SentinelOne Cloud Funnel → ECS, following the newer mapping of Elastic's
//! `sentinel_one_cloud_funnel` integration: in a Process Creation the
//! created process (`tgt.process.*`) is `process` and its creator
//! (`src.process.*`) is `process.parent`, with `event.type: start` — the
//! older mapping (creator as `process`, type `info`) never let process-start
//! rules fire. In DNS, network, file and registry events the acting process
//! is `src.process.*`, so they carry the querying process themselves.
//!
//! Cloud Funnel keys are flat dotted strings (`"src.process.pid"`); every
//! one is also kept under `sentinel_one.*`.

use crate::common::split_command_line;
use quarry_event::basename;
use quarry_event::{Event, Origin, Value};
use serde_json::Value as J;

fn g<'a>(doc: &'a J, k: &str) -> Option<&'a J> {
    doc.get(k)
        .filter(|v| !v.is_null() && v.as_str() != Some(""))
}

fn text(doc: &J, k: &str) -> Option<String> {
    g(doc, k).map(|v| match v {
        J::String(s) => s.clone(),
        other => other.to_string(),
    })
}

fn ms(doc: &J, k: &str) -> Option<i64> {
    g(doc, k)
        .and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .map(|m| m.saturating_mul(1_000_000))
}

/// An integer field (a JSON number or a numeric string) into `path`; any
/// other value is reported and left out.
fn int(ev: &mut Event, path: &str, doc: &J, k: &str, problems: &mut Vec<String>) {
    let Some(v) = g(doc, k) else { return };
    match v
        .as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
    {
        Some(n) => ev.set(path, n),
        None => problems.push(format!("{k}: {v} is not a number; left out")),
    }
}

/// `process` ← `tgt.process` / `src.process`; `process.parent` ← the next.
fn set_process(ev: &mut Event, to: &str, from: &str, doc: &J, problems: &mut Vec<String>) {
    let f = |k: &str| format!("{from}.{k}");
    let t = |k: &str| format!("{to}.{k}");
    ev.set(&t("entity_id"), text(doc, &f("uid")));
    int(ev, &t("pid"), doc, &f("pid"), problems);
    ev.set(
        &t("name"),
        text(doc, &f("name"))
            .or_else(|| text(doc, &f("image.path")).map(|p| basename(&p).to_string())),
    );
    ev.set(&t("executable"), text(doc, &f("image.path")));
    ev.set(&t("title"), text(doc, &f("displayName")));
    if let Some(cmd) = text(doc, &f("cmdline")).map(unquote) {
        let args = split_command_line(&cmd);
        ev.set(&t("args_count"), args.len() as i64);
        ev.set(&t("args"), args);
        ev.set(&t("command_line"), cmd);
    }
    for algo in ["md5", "sha1", "sha256"] {
        ev.set(
            &t(&format!("hash.{algo}")),
            text(doc, &f(&format!("image.{algo}"))),
        );
    }
    if let Some(start) = ms(doc, &f("startTime")) {
        ev.set(&t("start"), Value::Timestamp(start));
    }
    ev.set(&t("user.name"), text(doc, &f("user")));
    if let Some(signed) = text(doc, &f("signedStatus")) {
        ev.set(&t("code_signature.exists"), signed == "signed");
    }
    ev.set(
        &t("code_signature.subject_name"),
        text(doc, &f("publisher")),
    );
    if let Some(v) = text(doc, &f("verifiedStatus")) {
        ev.set(&t("code_signature.trusted"), v == "verified");
    }
}

pub fn normalize(doc: &J, origin: Origin, problems: &mut Vec<String>) -> Event {
    let mut ev = Event::new(origin);
    if let J::Object(m) = doc {
        for (k, v) in m {
            ev.set(&format!("sentinel_one.{k}"), Value::from_json(v));
        }
    }
    let name = text(doc, "meta.event.name")
        .or_else(|| text(doc, "event.type"))
        .unwrap_or_default();
    let dataset = if name.eq_ignore_ascii_case("DNS") {
        "sentinel_one_cloud_funnel.dns"
    } else {
        "sentinel_one_cloud_funnel.event"
    };
    ev.set("event.kind", "event");
    ev.set("event.module", "sentinel_one_cloud_funnel");
    ev.set("event.dataset", dataset);
    ev.set("data_stream.type", "logs");
    ev.set("data_stream.dataset", dataset);
    ev.set("data_stream.namespace", "default");
    ev.set("event.id", text(doc, "event.id"));
    match ms(doc, "event.time") {
        Some(t) => ev.set_timestamp(t),
        None => match g(doc, "event.time") {
            Some(v) => problems.push(format!("event.time: {v} is not epoch milliseconds")),
            None => problems.push("no event.time (epoch milliseconds)".into()),
        },
    }
    ev.set("host.id", text(doc, "agent.uuid"));
    ev.set("host.hostname", text(doc, "endpoint.name"));
    ev.set("host.name", text(doc, "endpoint.name"));
    ev.set("host.os.name", text(doc, "os.name"));
    ev.set("host.type", text(doc, "endpoint.type"));
    if let Some(os) = text(doc, "endpoint.os") {
        ev.set("host.os.platform", os.as_str());
        ev.set("host.os.type", os.to_ascii_lowercase());
    }
    let upper = name.to_ascii_uppercase().replace(' ', "");
    match upper.as_str() {
        "PROCESSCREATION" => {
            ev.set("event.category", vec!["process"]);
            ev.set("event.type", vec!["start"]);
            set_process(&mut ev, "process", "tgt.process", doc, problems);
            set_process(&mut ev, "process.parent", "src.process", doc, problems);
            if let Some(u) = text(doc, "tgt.process.user") {
                split_user(&mut ev, &u);
            }
        }
        "DNS" => {
            ev.set("event.category", vec!["network"]);
            ev.set("event.type", vec!["info", "protocol"]);
            ev.set("event.action", vec!["lookup_requested"]);
            ev.set("network.protocol", "dns");
            ev.set("dns.question.name", text(doc, "event.dns.request"));
            actor(&mut ev, doc, problems);
        }
        "IPCONNECT" | "IPLISTEN" => {
            ev.set("event.category", vec!["network"]);
            ev.set("event.type", vec!["connection", "start"]);
            ev.set("source.ip", text(doc, "src.ip.address"));
            int(&mut ev, "source.port", doc, "src.port.number", problems);
            ev.set("destination.ip", text(doc, "dst.ip.address"));
            int(
                &mut ev,
                "destination.port",
                doc,
                "dst.port.number",
                problems,
            );
            actor(&mut ev, doc, problems);
        }
        u if u.starts_with("FILE") => {
            ev.set("event.category", vec!["file"]);
            let ty = if u.contains("DELETION") {
                "deletion"
            } else if u.contains("CREATION") {
                "creation"
            } else {
                "change"
            };
            ev.set("event.type", vec![ty]);
            if let Some(p) = text(doc, "tgt.file.path") {
                ev.set("file.name", basename(&p).to_string());
                ev.set("file.path", p);
            }
            actor(&mut ev, doc, problems);
        }
        u if u.starts_with("REGISTRY") => {
            ev.set("event.category", vec!["registry"]);
            ev.set("event.type", vec!["change"]);
            ev.set("registry.path", text(doc, "registry.keyPath"));
            ev.set("registry.value", text(doc, "registry.value"));
            actor(&mut ev, doc, problems);
        }
        // other types: kept as generic events under sentinel_one.*
        _ => {
            ev.set_default("event.action", name.as_str());
            crate::mark_unmapped(&mut ev, "sentinel_one", &name);
        }
    }
    ev
}

/// The acting process of DNS, network, file and registry events.
fn actor(ev: &mut Event, doc: &J, problems: &mut Vec<String>) {
    set_process(ev, "process", "src.process", doc, problems);
    set_process(ev, "process.parent", "src.process.parent", doc, problems);
    if let Some(u) = text(doc, "src.process.user") {
        split_user(ev, &u);
    }
}

/// A command line that is one quoted path (`"C:\x.exe"`) loses its
/// quotes, as Elastic's pipeline writes it.
fn unquote(cmd: String) -> String {
    match cmd.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
        Some(inner) if !inner.contains('"') => inner.to_string(),
        _ => cmd,
    }
}

fn split_user(ev: &mut Event, u: &str) {
    match u.split_once('\\') {
        Some((d, n)) => {
            ev.set("user.domain", d);
            ev.set("user.name", n);
        }
        None => ev.set("user.name", u),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fixtures_of_several_types() {
        let base = |name: &str| {
            json!({"meta.event.name": name, "event.time": 1700000000000i64, "agent.uuid": "a1", "endpoint.name": "ws1", "endpoint.os": "windows",
                   "src.process.uid": "P1", "src.process.pid": 10, "src.process.image.path": "C:\\Windows\\System32\\cmd.exe", "src.process.cmdline": "cmd.exe",
                   "src.process.user": "CORP\\eve", "src.process.parent.uid": "P0", "src.process.parent.image.path": "C:\\Windows\\explorer.exe"})
        };
        let mut ip = base("IP Connect");
        ip["dst.ip.address"] = json!("203.0.113.7");
        ip["dst.port.number"] = json!(443);
        let e = normalize(&ip, Origin::default(), &mut Vec::new());
        assert!(e.has_value("event.category", "network"));
        assert_eq!(e.get_i64("destination.port"), Some(443));
        assert_eq!(e.get_str("process.entity_id"), Some("P1"));
        assert_eq!(e.get_str("process.parent.entity_id"), Some("P0"));
        let mut file = base("File Creation");
        file["tgt.file.path"] = json!("C:\\Users\\eve\\evil.dll");
        let e = normalize(&file, Origin::default(), &mut Vec::new());
        assert!(e.has_value("event.type", "creation"));
        assert_eq!(e.get_str("file.name"), Some("evil.dll"));
        let mut reg = base("Registry Value Modified");
        reg["registry.keyPath"] =
            json!("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\x");
        let e = normalize(&reg, Origin::default(), &mut Vec::new());
        assert!(e.has_value("event.category", "registry"));
        // a Linux agent: no Windows assumptions
        let mut lin = base("Process Creation");
        lin["endpoint.os"] = json!("linux");
        lin["tgt.process.image.path"] = json!("/usr/bin/curl");
        lin["tgt.process.uid"] = json!("P2");
        let e = normalize(&lin, Origin::default(), &mut Vec::new());
        assert_eq!(e.get_str("host.os.type"), Some("linux"));
        assert_eq!(e.get_str("process.name"), Some("curl"));
        assert!(e.has_value("event.type", "start"));
        // an unknown type is kept, under its own name; a missing time is reported
        let mut odd = base("Behavioral Indicators");
        odd.as_object_mut().unwrap().remove("event.time");
        let mut p = Vec::new();
        let e = normalize(&odd, Origin::default(), &mut p);
        assert_eq!(e.get_str("event.action"), Some("Behavioral Indicators"));
        assert_eq!(
            e.get_str(crate::UNMAPPED_TYPE),
            Some("sentinel_one/Behavioral Indicators")
        );
        assert_eq!(p.len(), 1);
    }
}
