//! Sysmon (`Microsoft-Windows-Sysmon/Operational`) → ECS, as Elastic's
//! `windows.sysmon_operational` pipeline maps it.

use super::*;

/// Maps a Sysmon record; false for an event id quarry has no mapping for.
pub(super) fn map(rec: &WinRecord, ev: &mut Event) -> bool {
    // Elastic's sysmon pipeline takes @timestamp from UtcTime, the sensor's
    // own clock, and keeps TimeCreated as event.created.
    if let Some(t) = rec.get("UtcTime").and_then(parse_timestamp) {
        ev.set_timestamp(t);
    }
    ev.set("user.id", rec.user_sid.as_deref());
    ev.set("process.entity_id", rec.get("ProcessGuid"));
    set_pid(ev, "process.pid", rec.get("ProcessId"));
    set_image(ev, "process", rec.get("Image"));
    set_user(ev, "user", rec.get("User"));
    if let Some(u) = ev.get_str("user.name").map(str::to_string) {
        ev.set("related.user", vec![u]);
    }
    match rec.event_id {
        1 => {
            ev.set("event.action", "Process creation");
            set_array(ev, "event.category", &["process"]);
            set_array(ev, "event.type", &["start"]);
            set_command_line(ev, "process", rec.get("CommandLine"));
            ev.set("process.working_directory", rec.get("CurrentDirectory"));
            ev.set("process.pe.original_file_name", rec.get("OriginalFileName"));
            ev.set("process.pe.company", rec.get("Company"));
            ev.set("process.pe.description", rec.get("Description"));
            ev.set("process.pe.file_version", rec.get("FileVersion"));
            ev.set("process.pe.product", rec.get("Product"));
            ev.set("process.parent.entity_id", rec.get("ParentProcessGuid"));
            set_pid(ev, "process.parent.pid", rec.get("ParentProcessId"));
            set_image(ev, "process.parent", rec.get("ParentImage"));
            set_command_line(ev, "process.parent", rec.get("ParentCommandLine"));
            set_hashes(ev, "process.hash", rec.get("Hashes"));
            ev.set(
                "winlog.event_data.IntegrityLevel",
                rec.get("IntegrityLevel"),
            );
        }
        3 => {
            ev.set("event.action", "Network connection detected");
            set_array(ev, "event.category", &["network"]);
            set_array(ev, "event.type", &["connection", "start", "protocol"]);
            ev.set("network.transport", rec.get("Protocol"));
            let outbound = rec
                .get("Initiated")
                .is_none_or(|i| i.eq_ignore_ascii_case("true"));
            ev.set(
                "network.direction",
                if outbound { "egress" } else { "ingress" },
            );
            set_ip(ev, "source.ip", rec.get("SourceIp"));
            set_pid(ev, "source.port", rec.get("SourcePort"));
            ev.set("source.domain", rec.get("SourceHostname"));
            set_ip(ev, "destination.ip", rec.get("DestinationIp"));
            set_pid(ev, "destination.port", rec.get("DestinationPort"));
            ev.set("destination.domain", rec.get("DestinationHostname"));
        }
        5 => {
            ev.set("event.action", "Process terminated");
            set_array(ev, "event.category", &["process"]);
            set_array(ev, "event.type", &["end"]);
        }
        11 => {
            ev.set("event.action", "File created (rule: FileCreate)");
            set_array(ev, "event.category", &["file"]);
            set_array(ev, "event.type", &["creation"]);
            set_file(ev, rec.get("TargetFilename"));
        }
        12..=14 => {
            let (action, ty) = match rec.event_id {
                12 => ("Registry object added or deleted", "change"),
                13 => ("Registry value set", "change"),
                _ => ("Registry object renamed", "change"),
            };
            ev.set("event.action", action);
            set_array(ev, "event.category", &["registry"]);
            set_array(ev, "event.type", &[ty]);
            set_registry(ev, rec.get("TargetObject"), rec.get("Details"));
        }
        22 => {
            ev.set("event.action", "Dns query");
            set_array(ev, "event.category", &["network"]);
            set_array(ev, "event.type", &["connection", "protocol", "info"]);
            ev.set("network.protocol", "dns");
            if let Some(q) = rec.get("QueryName") {
                ev.set("dns.question.name", q);
                set_domain_parts(ev, q);
            }
            if let Some(status) = rec.get("QueryStatus") {
                ev.set("sysmon.dns.status", dns_status(status));
                ev.set("winlog.event_data.QueryStatus", status);
            }
            set_dns_results(ev, rec.get("QueryResults"));
        }
        _ => return false,
    }
    true
}

fn set_registry(ev: &mut Event, target: Option<&str>, details: Option<&str>) {
    let Some(target) = target else { return };
    ev.set("registry.path", target);
    let (hive, rest) = target.split_once('\\').unwrap_or((target, ""));
    let hive = match hive.to_ascii_uppercase().as_str() {
        "HKLM" | "HKEY_LOCAL_MACHINE" => "HKLM",
        "HKU" | "HKEY_USERS" => "HKU",
        "HKCU" | "HKEY_CURRENT_USER" => "HKCU",
        "HKCR" | "HKEY_CLASSES_ROOT" => "HKCR",
        _ => "",
    };
    if !hive.is_empty() {
        ev.set("registry.hive", hive);
        let (key, value) = rest.rsplit_once('\\').unwrap_or((rest, ""));
        ev.set("registry.key", key);
        if !value.is_empty() {
            ev.set("registry.value", value);
        }
    }
    if let Some(d) = details {
        ev.set("registry.data.strings", vec![d]);
    }
}

fn set_hashes(ev: &mut Event, prefix: &str, hashes: Option<&str>) {
    let Some(hashes) = hashes else { return };
    let mut related = Vec::new();
    for part in hashes.split(',') {
        if let Some((algo, hash)) = part.split_once('=') {
            let hash = hash.trim().to_ascii_lowercase();
            let algo = algo.trim().to_ascii_lowercase();
            if algo == "imphash" {
                ev.set("process.pe.imphash", hash.as_str());
            } else {
                ev.set(&format!("{prefix}.{algo}"), hash.as_str());
            }
            related.push(hash);
        }
    }
    if !related.is_empty() {
        ev.set("related.hash", related);
    }
}

/// Sysmon 22 `QueryResults`: `type:  5 cname.example;::ffff:1.2.3.4;` →
/// `dns.answers` and `dns.resolved_ip`, as Elastic's pipeline parses it.
fn set_dns_results(ev: &mut Event, results: Option<&str>) {
    let Some(results) = results else { return };
    let mut answer_data = Vec::new();
    let mut answer_type = Vec::new();
    let mut ips = Vec::new();
    for item in results.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        if let Some(rest) = item.strip_prefix("type:") {
            let rest = rest.trim_start();
            let (code, data) = rest.split_once(' ').unwrap_or((rest, ""));
            let ty = match code {
                "5" => "CNAME",
                "1" => "A",
                "28" => "AAAA",
                "12" => "PTR",
                "15" => "MX",
                "16" => "TXT",
                "33" => "SRV",
                other => other,
            };
            answer_type.push(Value::from(ty));
            answer_data.push(Value::from(data.trim()));
        } else {
            let ip = item.strip_prefix("::ffff:").unwrap_or(item);
            if let Ok(addr) = ip.parse::<std::net::IpAddr>() {
                let ty = if addr.is_ipv4() { "A" } else { "AAAA" };
                answer_type.push(Value::from(ty));
                answer_data.push(Value::from(addr.to_string()));
                ips.push(Value::Ip(addr));
            }
        }
    }
    let mut hosts: Vec<Value> = answer_data
        .iter()
        .zip(&answer_type)
        .filter(|(_, t)| t.as_str() == Some("CNAME"))
        .map(|(d, _)| d.clone())
        .collect();
    if let Some(q) = ev.get("dns.question.name").cloned() {
        hosts.push(q);
    }
    if !hosts.is_empty() {
        ev.set("related.hosts", Value::Array(hosts));
    }
    if !answer_data.is_empty() {
        ev.set("dns.answers.data", Value::Array(answer_data));
        ev.set("dns.answers.type", Value::Array(answer_type));
    }
    if !ips.is_empty() {
        ev.set("related.ip", Value::Array(ips.clone()));
        ev.set("dns.resolved_ip", Value::Array(ips));
    }
}

fn dns_status(code: &str) -> String {
    match code {
        "0" => "SUCCESS".into(),
        "9003" => "DNS_ERROR_RCODE_NAME_ERROR".into(),
        "9501" => "DNS_INFO_NO_RECORDS".into(),
        "9502" => "DNS_ERROR_BAD_PACKET".into(),
        "9701" => "DNS_ERROR_RECORD_DOES_NOT_EXIST".into(),
        "1460" => "ERROR_TIMEOUT".into(),
        "87" => "ERROR_INVALID_PARAMETER".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_results_parse() {
        let mut ev = Event::default();
        set_dns_results(
            &mut ev,
            Some(
                "type:  5 go.microsoft.com.edgekey.net;type:  5 e11290.dspg.akamaiedge.net;::ffff:89.160.20.156;",
            ),
        );
        assert_eq!(
            ev.get("dns.resolved_ip"),
            Some(&Value::Array(vec![Value::Ip(
                "89.160.20.156".parse().unwrap()
            )]))
        );
        assert_eq!(
            ev.get("dns.answers.type"),
            Some(&Value::Array(vec![
                "CNAME".into(),
                "CNAME".into(),
                "A".into()
            ]))
        );
    }
}
