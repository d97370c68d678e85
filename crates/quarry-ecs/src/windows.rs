//! Windows event records → ECS.
//!
//! Every Windows source (EVTX through the `evtx` crate, winlogbeat, NXLog /
//! OTRF JSON exports, Plaso's `xml_string`) is first reduced to a
//! [`WinRecord`] — the System header plus the EventData name/value pairs —
//! and then mapped here, once, to the fields Elastic's `windows` and `system`
//! integrations (and winlogbeat's processors) produce.

use quarry_event::{Event, Origin, Value, parse_timestamp};

/// The parts of a Windows event record quarry maps, whatever it was read from.
#[derive(Debug, Clone, Default)]
pub struct WinRecord {
    pub provider: String,
    pub provider_guid: Option<String>,
    pub channel: String,
    pub event_id: u32,
    pub version: Option<i64>,
    pub level: Option<String>,
    pub task: Option<String>,
    pub opcode: Option<String>,
    pub keywords: Option<String>,
    pub computer: String,
    pub record_id: Option<u64>,
    /// System/TimeCreated, nanoseconds since the epoch.
    pub time_created: Option<i64>,
    /// System/Security/@UserID.
    pub user_sid: Option<String>,
    /// System/Execution/@ProcessID and @ThreadID (the logging process).
    pub exec_pid: Option<i64>,
    pub exec_tid: Option<i64>,
    /// EventData (or UserData) name → value, in record order.
    pub data: Vec<(String, String)>,
    /// Collected by Windows Event Forwarding: the record keeps its own
    /// channel (`Security`, `Microsoft-Windows-Sysmon/Operational`) but was
    /// read from the ForwardedEvents log. Set by the readers from where the
    /// record was read: a file named `ForwardedEvents.evtx` (also as Plaso's
    /// source file), a winlogbeat `forwarded` tag or `windows.forwarded`
    /// data stream. A record whose channel is `ForwardedEvents` counts too.
    /// (`RenderingInfo`, which WEF's RenderedText format adds, is not used:
    /// some local logs in the corpus carry it too.)
    pub forwarded: bool,
}

/// Whether a path names the ForwardedEvents log (`ForwardedEvents.evtx`,
/// any case, in any folder or archive).
pub fn is_forwarded_events_file(path: &str) -> bool {
    let name = path.rsplit(['/', '\\', '!']).next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    stem.eq_ignore_ascii_case("ForwardedEvents")
}

impl WinRecord {
    /// The EventData value of `name`, if present and not the `-` placeholder.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty() && *v != "-")
    }

    fn is_sysmon(&self) -> bool {
        self.provider
            .eq_ignore_ascii_case("Microsoft-Windows-Sysmon")
            || self
                .channel
                .eq_ignore_ascii_case("Microsoft-Windows-Sysmon/Operational")
    }

    fn is_security(&self) -> bool {
        self.provider
            .eq_ignore_ascii_case("Microsoft-Windows-Security-Auditing")
            || self.channel.eq_ignore_ascii_case("Security")
    }
}

/// Normalises a ProcessGuid / entity id for joins: braces stripped,
/// upper-case. The `evtx` crate renders GUIDs bare, Windows and Plaso in
/// braces, OTRF in lower case; all must meet. Only GUID-like ids (in braces,
/// or hex digits and dashes) are case-folded: other vendors' ids, such as
/// Elastic Defend's base64 entity ids, are case-sensitive and kept as they
/// are.
pub fn entity_key(id: &str) -> String {
    let t = id.trim();
    let inner = t.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
    match inner {
        Some(g) => g.to_ascii_uppercase(),
        None if t.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') => t.to_ascii_uppercase(),
        None => t.to_string(),
    }
}

/// Maps a Windows record to ECS.
pub fn normalize(rec: &WinRecord, origin: Origin) -> Event {
    let mut ev = Event::new(origin);
    // Elastic's `windows.forwarded` data stream runs the Sysmon, Security and
    // PowerShell pipelines on forwarded records by their own channel, so
    // they map as the originals do; only the dataset (and index) differ.
    let forwarded = rec.forwarded || rec.channel.eq_ignore_ascii_case("ForwardedEvents");
    let (module, dataset) = if forwarded {
        ("windows", "windows.forwarded")
    } else if rec.is_sysmon() {
        ("sysmon", "windows.sysmon_operational")
    } else if rec.is_security() {
        ("security", "system.security")
    } else if rec.channel.to_ascii_lowercase().contains("powershell") {
        ("powershell", "windows.powershell_operational")
    } else {
        ("windows", "windows.eventlog")
    };
    ev.set("event.kind", "event");
    ev.set("event.module", module);
    ev.set("event.dataset", dataset);
    ev.set("data_stream.type", "logs");
    ev.set("data_stream.dataset", dataset);
    ev.set("data_stream.namespace", "default");
    ev.set("event.code", rec.event_id.to_string());
    ev.set("event.provider", rec.provider.as_str());
    ev.set("host.os.type", "windows");
    ev.set("host.os.family", "windows");
    if !rec.computer.is_empty() {
        ev.set("host.name", rec.computer.as_str());
        ev.set("winlog.computer_name", rec.computer.as_str());
    }
    ev.set("winlog.channel", rec.channel.as_str());
    ev.set("winlog.provider_name", rec.provider.as_str());
    ev.set("winlog.provider_guid", rec.provider_guid.as_deref());
    ev.set("winlog.event_id", rec.event_id.to_string());
    ev.set("winlog.record_id", rec.record_id.map(|r| r.to_string()));
    ev.set("winlog.version", rec.version);
    ev.set("winlog.task", rec.task.as_deref());
    ev.set("winlog.opcode", rec.opcode.as_deref());
    ev.set("winlog.user.identifier", rec.user_sid.as_deref());
    ev.set("winlog.process.pid", rec.exec_pid);
    ev.set("winlog.process.thread.id", rec.exec_tid);
    ev.set("log.level", rec.level.as_deref().map(level_name));
    let mut key = String::with_capacity(64);
    for (k, v) in &rec.data {
        key.clear();
        key.push_str("winlog.event_data.");
        key.push_str(k);
        ev.set(&key, v.as_str());
    }
    if let Some(t) = rec.time_created {
        ev.set("event.created", Value::Timestamp(t));
        ev.set_timestamp(t);
    }
    let mapped = if rec.is_sysmon() {
        sysmon(rec, &mut ev)
    } else if rec.is_security() {
        security(rec, &mut ev)
    } else {
        false
    };
    if !mapped {
        // kept generic (event.code, winlog.*): counted per channel and id
        crate::mark_unmapped(
            &mut ev,
            "windows",
            &format!(
                "{} {}",
                if rec.channel.is_empty() {
                    rec.provider.as_str()
                } else {
                    rec.channel.as_str()
                },
                rec.event_id
            ),
        );
    }
    ev
}

fn level_name(l: &str) -> String {
    match l {
        "0" | "4" => "information".into(),
        "1" => "critical".into(),
        "2" => "error".into(),
        "3" => "warning".into(),
        "5" => "verbose".into(),
        other => other.to_ascii_lowercase(),
    }
}

fn set_array(ev: &mut Event, path: &str, items: &[&str]) {
    ev.set(
        path,
        Value::Array(items.iter().map(|s| Value::from(*s)).collect()),
    );
}

/// Sets `<prefix>.executable/name` from an image path.
fn set_image(ev: &mut Event, prefix: &str, image: Option<&str>) {
    if let Some(image) = image {
        ev.set(&format!("{prefix}.executable"), image);
        ev.set(&format!("{prefix}.name"), basename(image));
    }
}

/// The last component of a Windows or POSIX path.
pub fn basename(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

fn set_pid(ev: &mut Event, path: &str, raw: Option<&str>) {
    if let Some(pid) = raw.and_then(|s| Value::from(s).as_i64()) {
        ev.set(path, pid);
    }
}

fn set_command_line(ev: &mut Event, prefix: &str, cmd: Option<&str>) {
    if let Some(cmd) = cmd {
        ev.set(&format!("{prefix}.command_line"), cmd);
        let args = split_command_line(cmd);
        if !args.is_empty() {
            ev.set(&format!("{prefix}.args_count"), args.len() as i64);
            ev.set(&format!("{prefix}.args"), args);
        }
    }
}

/// `DOMAIN\user` → user.domain / user.name.
fn set_user(ev: &mut Event, prefix: &str, user: Option<&str>) {
    if let Some(user) = user {
        match user.split_once('\\') {
            Some((domain, name)) => {
                ev.set(&format!("{prefix}.domain"), domain);
                ev.set(&format!("{prefix}.name"), name);
            }
            None => ev.set(&format!("{prefix}.name"), user),
        }
    }
}

/// Maps a Sysmon record; false for an event id quarry has no mapping for.
fn sysmon(rec: &WinRecord, ev: &mut Event) -> bool {
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

fn set_ip(ev: &mut Event, path: &str, raw: Option<&str>) {
    if let Some(raw) = raw {
        match raw.parse::<std::net::IpAddr>() {
            Ok(ip) => ev.set(path, ip),
            Err(_) => ev.set(path, raw),
        }
    }
}

fn set_file(ev: &mut Event, path: Option<&str>) {
    if let Some(path) = path {
        ev.set("file.path", path);
        let name = basename(path);
        ev.set("file.name", name);
        if let Some(dir) = path.len().checked_sub(name.len() + 1).map(|n| &path[..n]) {
            ev.set("file.directory", dir);
        }
        if let Some((_, ext)) = name.rsplit_once('.') {
            ev.set("file.extension", ext.to_ascii_lowercase());
        }
    }
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

/// `dns.question.registered_domain`, `.subdomain`, `.top_level_domain`
/// from the public suffix list, as Elastic's `registered_domain` processor.
pub(crate) fn set_domain_parts(ev: &mut Event, name: &str) {
    let name = name.trim_end_matches('.');
    let Some(domain) = psl::domain(name.as_bytes()) else {
        return;
    };
    let (Ok(registered), Ok(suffix)) = (
        std::str::from_utf8(domain.as_bytes()),
        std::str::from_utf8(domain.suffix().as_bytes()),
    ) else {
        return;
    };
    if !domain.suffix().is_known() {
        return;
    }
    ev.set("dns.question.registered_domain", registered);
    ev.set("dns.question.top_level_domain", suffix);
    if let Some(sub) = name
        .strip_suffix(registered)
        .and_then(|s| s.strip_suffix('.'))
        && !sub.is_empty()
    {
        ev.set("dns.question.subdomain", sub);
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

/// Maps a Security record; false for an event id quarry has no mapping for.
fn security(rec: &WinRecord, ev: &mut Event) -> bool {
    match rec.event_id {
        4688 => {
            ev.set("event.action", "created-process");
            ev.set("event.outcome", "success");
            set_array(ev, "event.category", &["process"]);
            set_array(ev, "event.type", &["start"]);
            set_pid(ev, "process.pid", rec.get("NewProcessId"));
            set_image(ev, "process", rec.get("NewProcessName"));
            if let Some(cmd) = rec.get("CommandLine") {
                // winlogbeat's security processor splits on white space and
                // keeps quotes (unlike its Sysmon processor).
                ev.set("process.command_line", cmd);
                ev.set("process.args", cmd.split_whitespace().collect::<Vec<_>>());
            }
            set_pid(ev, "process.parent.pid", rec.get("ProcessId"));
            set_image(ev, "process.parent", rec.get("ParentProcessName"));
            ev.set("user.id", rec.get("SubjectUserSid"));
            ev.set("user.name", rec.get("SubjectUserName"));
            ev.set("user.domain", rec.get("SubjectDomainName"));
            ev.set("user.effective.id", rec.get("TargetUserSid"));
            ev.set("winlog.logon.id", rec.get("SubjectLogonId"));
            if let Some(u) = rec.get("SubjectUserName") {
                ev.set("related.user", vec![u]);
            }
        }
        4689 => {
            ev.set("event.action", "exited-process");
            ev.set("event.outcome", "success");
            set_array(ev, "event.category", &["process"]);
            set_array(ev, "event.type", &["end"]);
            set_pid(ev, "process.pid", rec.get("ProcessId"));
            set_image(ev, "process", rec.get("ProcessName"));
            ev.set("user.id", rec.get("SubjectUserSid"));
            ev.set("user.name", rec.get("SubjectUserName"));
            ev.set("user.domain", rec.get("SubjectDomainName"));
        }
        _ => return false,
    }
    true
}

/// Splits a Windows command line into arguments the way
/// `CommandLineToArgvW` does (quotes group, `\"` escapes a quote), which is
/// how winlogbeat fills `process.args`.
pub fn split_command_line(cmd: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut have = false;
    let mut chars = cmd.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let mut n = 1;
                while chars.peek() == Some(&'\\') {
                    chars.next();
                    n += 1;
                }
                if chars.peek() == Some(&'"') {
                    cur.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        chars.next();
                        cur.push('"');
                    }
                } else {
                    cur.extend(std::iter::repeat_n('\\', n));
                }
                have = true;
            }
            '"' => {
                in_quotes = !in_quotes;
                have = true;
            }
            ' ' | '\t' if !in_quotes => {
                if have {
                    args.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            c => {
                cur.push(c);
                have = true;
            }
        }
    }
    if have {
        args.push(cur);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_like_windows() {
        assert_eq!(
            split_command_line(r#""C:\Windows\system32\notepad.exe" "#),
            vec![r"C:\Windows\system32\notepad.exe"]
        );
        assert_eq!(
            split_command_line(r#"a "b c" d\"e"#),
            vec!["a", "b c", "d\"e"]
        );
        assert!(split_command_line("   ").is_empty());
    }

    #[test]
    fn forwarded_events_files() {
        for yes in [
            "ForwardedEvents.evtx",
            "/cases/wec01/forwardedevents.EVTX",
            "C:\\Windows\\System32\\winevt\\Logs\\ForwardedEvents.evtx",
            "triage.zip!Logs/ForwardedEvents.evtx.gz",
        ] {
            assert!(is_forwarded_events_file(yes), "{yes}");
        }
        for no in [
            "Security.evtx",
            "ForwardedEvents-old/Security.evtx",
            "NotForwardedEvents.evtx",
            "",
        ] {
            assert!(!is_forwarded_events_file(no), "{no}");
        }
    }

    #[test]
    fn forwarded_records_map_as_their_own_channel() {
        let rec = WinRecord {
            provider: "Microsoft-Windows-Security-Auditing".into(),
            channel: "Security".into(),
            event_id: 4688,
            forwarded: true,
            data: vec![
                (
                    "NewProcessName".into(),
                    "C:\\Windows\\System32\\cmd.exe".into(),
                ),
                (
                    "ParentProcessName".into(),
                    "C:\\Windows\\System32\\dns.exe".into(),
                ),
                ("NewProcessId".into(), "0x1f".into()),
            ],
            ..Default::default()
        };
        let ev = normalize(&rec, Origin::default());
        assert_eq!(ev.get_str("event.dataset"), Some("windows.forwarded"));
        assert_eq!(ev.get_str("data_stream.dataset"), Some("windows.forwarded"));
        assert_eq!(ev.get_str("event.module"), Some("windows"));
        assert_eq!(ev.get_str("winlog.channel"), Some("Security"));
        assert_eq!(ev.get_str("process.parent.name"), Some("dns.exe"));
        assert_eq!(ev.get_i64("process.pid"), Some(31));
        assert!(ev.has_value("event.type", "start"));
        assert!(!ev.contains(crate::UNMAPPED_TYPE));
        let unknown = WinRecord {
            event_id: 4624,
            ..rec
        };
        assert_eq!(
            normalize(&unknown, Origin::default()).get_str(crate::UNMAPPED_TYPE),
            Some("windows/Security 4624")
        );
    }

    #[test]
    fn entity_keys_meet_across_renderings() {
        assert_eq!(
            entity_key("{a57649d1-db54-61ab-775c-dc0100000000}"),
            entity_key("A57649D1-DB54-61AB-775C-DC0100000000")
        );
        assert_eq!(
            entity_key("a57649d1-db54-61ab-775c-dc0100000000"),
            "A57649D1-DB54-61AB-775C-DC0100000000"
        );
        // Elastic Defend's base64 ids are case-sensitive
        let defend =
            "ODM2OTc3YmYtOTEwNS00NjY3LTkxNTctYmQ2OThlOTZjNDVkLTQtMTMyMjczOTE3OTIuOTcyMDYzMDA=";
        assert_eq!(entity_key(defend), defend);
        assert_eq!(entity_key("2450046082233"), "2450046082233");
    }

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
