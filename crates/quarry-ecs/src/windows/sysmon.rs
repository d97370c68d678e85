//! Sysmon (`Microsoft-Windows-Sysmon/Operational`) → ECS, as Elastic's
//! `windows.sysmon_operational` pipeline maps it.
//!
//! That pipeline is mostly id-independent: each EventData name goes to one
//! ECS field whatever the event id (`Image`, `SourceImage` and `Destination`
//! all become `process.executable`), and a table gives each id its
//! categorisation. This module follows the same shape: [`categorize`] is
//! the table, [`map`] the renames.

use super::{
    Event, PARENT, PROCESS, USER, Value, WinRecord, basename, set_array, set_command_line,
    set_image, set_ip, set_pid, set_user,
};
use quarry_event::{FieldPath, parse_timestamp};

/// Event id → (event.category, event.type, event.action), as the
/// pipeline's categorisation table has it. Image load (7) is the newer
/// pipeline's (`library`, `dll.*`), which the expected outputs show.
fn categorize(
    id: u32,
) -> Option<(
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
)> {
    Some(match id {
        1 => (&["process"], &["start"], &["Process creation"]),
        2 => (
            &["file"],
            &["change"],
            &["A process changed a file creation time"],
        ),
        3 => (
            &["network"],
            &["start", "connection", "protocol"],
            &["Network connection"],
        ),
        4 => (&["process"], &["change"], &["Sysmon service state changed"]),
        5 => (&["process"], &["end"], &["Process terminated"]),
        6 => (&["driver"], &["start"], &["Driver loaded"]),
        7 => (
            &["process", "library"],
            &["change", "start"],
            &["Image loaded", "load"],
        ),
        8 => (&["process"], &["change"], &["CreateRemoteThread"]),
        9 => (&["process"], &["access"], &["RawAccessRead"]),
        10 => (&["process"], &["access"], &["ProcessAccess"]),
        11 => (&["file"], &["creation"], &["FileCreate"]),
        12 => (
            &["configuration", "registry"],
            &["change"],
            &["RegistryEvent (Object create and delete)"],
        ),
        13 => (
            &["configuration", "registry"],
            &["change"],
            &["RegistryEvent (Value Set)"],
        ),
        14 => (
            &["configuration", "registry"],
            &["change"],
            &["RegistryEvent (Key and Value Rename)"],
        ),
        15 => (&["file"], &["access"], &["FileCreateStreamHash"]),
        16 => (
            &["configuration"],
            &["change"],
            &["ServiceConfigurationChange"],
        ),
        17 => (&["file"], &["creation"], &["PipeEvent (Pipe Created)"]),
        18 => (&["file"], &["access"], &["PipeEvent (Pipe Connected)"]),
        19 => (
            &["process"],
            &["info"],
            &["WmiEvent (WmiEventFilter activity detected)"],
        ),
        20 => (
            &["process"],
            &["change"],
            &["WmiEvent (WmiEventConsumer activity detected)"],
        ),
        21 => (
            &["process"],
            &["access"],
            &["WmiEvent (WmiEventConsumerToFilter activity detected)"],
        ),
        22 => (
            &["network"],
            &["connection", "protocol", "info"],
            &["DNSEvent (DNS query)"],
        ),
        23 => (
            &["file"],
            &["deletion"],
            &["FileDelete (File Delete archived)"],
        ),
        24 => (
            &[],
            &["change"],
            &["ClipboardChange (New content in the clipboard)"],
        ),
        25 => (
            &["process"],
            &["change"],
            &["ProcessTampering (Process image change)"],
        ),
        26 => (
            &["file"],
            &["deletion"],
            &["FileDeleteDetected (File Delete logged)"],
        ),
        27 => (&["file"], &["creation"], &["FileBlockExecutable"]),
        28 => (&["file"], &["deletion"], &["FileBlockShredding"]),
        29 => (&["file"], &["creation"], &["FileExecutableDetected"]),
        255 => (&["process"], &[], &["Error"]),
        _ => return None,
    })
}

/// Maps a Sysmon record; false for an event id the pipeline has no entry for.
pub(super) fn map(rec: &WinRecord, ev: &mut Event) -> bool {
    let id = rec.event_id;
    let Some((category, ty, action)) = categorize(id) else {
        return false;
    };
    if !category.is_empty() {
        set_array(ev, "event.category", category);
    }
    if !ty.is_empty() {
        set_array(ev, "event.type", ty);
    }
    match action {
        [one] => ev.set_id(quarry_event::fid!("event.action"), *one),
        many => set_array(ev, "event.action", many),
    }
    if matches!(id, 27 | 255) {
        ev.set_id(quarry_event::fid!("event.outcome"), "failure");
    }
    // The pipeline takes @timestamp from UtcTime, the sensor's own clock,
    // and keeps TimeCreated as event.created.
    if let Some(t) = rec.get("UtcTime").and_then(parse_timestamp) {
        ev.set_timestamp(t);
    }
    if id == 255 {
        ev.set_id(quarry_event::fid!("error.code"), rec.get("ID"));
    }
    ev.set_id(quarry_event::fid!("rule.name"), rec.get("RuleName"));
    if id == 25 {
        ev.set_id(quarry_event::fid!("message"), rec.get("Type"));
    }

    // the process: the one acting (ProcessAccess and CreateRemoteThread
    // name it Source*, PipeEvent and WMI Image, ProcessTampering Image)
    ev.set_id(quarry_event::fid!("user.id"), rec.user_sid.as_deref());
    let entity = rec
        .get("ProcessGuid")
        .or_else(|| rec.get("SourceProcessGuid"))
        .or_else(|| rec.get("SourceProcessGUID"));
    ev.set_id(quarry_event::fid!("process.entity_id"), entity);
    set_pid(
        ev,
        "process.pid",
        rec.get("ProcessId").or_else(|| rec.get("SourceProcessId")),
    );
    set_pid(ev, "process.thread.id", rec.get("SourceThreadId"));
    set_image(
        ev,
        &PROCESS,
        rec.get("Image")
            .or_else(|| rec.get("SourceImage"))
            .or_else(|| rec.get("Destination")),
    );
    set_command_line(ev, &PROCESS, rec.get("CommandLine"));
    ev.set_id(
        quarry_event::fid!("process.working_directory"),
        rec.get("CurrentDirectory"),
    );
    ev.set_id(
        quarry_event::fid!("process.parent.entity_id"),
        rec.get("ParentProcessGuid"),
    );
    set_pid(ev, "process.parent.pid", rec.get("ParentProcessId"));
    set_image(ev, &PARENT, rec.get("ParentImage"));
    set_command_line(ev, &PARENT, rec.get("ParentCommandLine"));
    set_user(ev, &USER, rec.get("User"));

    // PE metadata describes the process, or for an image load the module
    let pe = if id == 7 { &FILE_IMAGE } else { &PROCESS_IMAGE };
    for (name, path) in &pe.pe {
        ev.set_id(path.id(), rec.get(name));
    }
    let hashes = rec.get("Hashes").or_else(|| rec.get("Hash"));
    match id {
        1 | 23 | 24 | 25 => set_hashes(ev, Some(&PROCESS_IMAGE), hashes),
        6 | 7 | 15 | 26 | 29 => set_hashes(ev, Some(&FILE_IMAGE), hashes),
        _ => set_hashes(ev, None, hashes),
    }

    // the file: created, deleted, loaded, or the pipe
    let file = rec
        .get("TargetFilename")
        .or_else(|| rec.get("Device"))
        .or_else(|| rec.get("ImageLoaded"));
    set_file(ev, file);
    if let Some(pipe) = rec.get("PipeName") {
        ev.set_id(quarry_event::fid!("file.name"), pipe);
    }
    ev.set_id(
        quarry_event::fid!("file.code_signature.subject_name"),
        rec.get("Signature"),
    );
    ev.set_id(
        quarry_event::fid!("file.code_signature.status"),
        rec.get("SignatureStatus"),
    );
    match rec.get("Signed").map(parse_bool) {
        Some(Some(signed)) => ev.set_id(quarry_event::fid!("file.code_signature.signed"), signed),
        // not a boolean: the verification failed, and Signed says why
        Some(None) => ev.set_id(quarry_event::fid!("file.code_signature.trusted"), false),
        None => {}
    }
    if rec.get("SignatureStatus") == Some("Valid") {
        ev.set_id(quarry_event::fid!("file.code_signature.valid"), true);
    }
    if id == 7 {
        set_dll(ev, rec);
    }
    if let Some(v) = rec.get("Archived").and_then(parse_bool) {
        ev.set_id(quarry_event::fid!("sysmon.file.archived"), v);
    }
    if let Some(v) = rec.get("IsExecutable").and_then(parse_bool) {
        ev.set_id(quarry_event::fid!("sysmon.file.is_executable"), v);
    }

    // the network
    ev.set_id(quarry_event::fid!("network.transport"), rec.get("Protocol"));
    if id == 22 {
        ev.set_id(quarry_event::fid!("network.protocol"), "dns");
    } else {
        ev.set(
            "network.protocol",
            rec.get("SourcePortName")
                .or_else(|| rec.get("DestinationPortName")),
        );
    }
    set_ip(ev, "source.ip", rec.get("SourceIp"));
    ev.set_id(
        quarry_event::fid!("source.domain"),
        rec.get("SourceHostname"),
    );
    set_pid(ev, "source.port", rec.get("SourcePort"));
    set_ip(ev, "destination.ip", rec.get("DestinationIp"));
    ev.set_id(
        quarry_event::fid!("destination.domain"),
        rec.get("DestinationHostname"),
    );
    set_pid(ev, "destination.port", rec.get("DestinationPort"));
    if id == 3 {
        set_community_id(ev);
    }
    match rec.get("Initiated") {
        Some("true") => ev.set_id(quarry_event::fid!("network.direction"), "egress"),
        Some("false") => ev.set_id(quarry_event::fid!("network.direction"), "ingress"),
        _ => {}
    }
    match rec.get("SourceIsIpv6") {
        Some("true") => ev.set_id(quarry_event::fid!("network.type"), "ipv6"),
        Some("false") => ev.set_id(quarry_event::fid!("network.type"), "ipv4"),
        _ => {}
    }
    if let Some(q) = rec.get("QueryName") {
        ev.set_id(quarry_event::fid!("dns.question.name"), q);
        super::set_domain_parts(ev, q);
    }
    set_dns_results(ev, rec.get("QueryResults"));
    if let Some(status) = rec.get("QueryStatus") {
        ev.set_id(
            quarry_event::fid!("sysmon.dns.status"),
            super::dns_status::name(status),
        );
    }

    if matches!(id, 12..=14) {
        set_registry(ev, rec.get("TargetObject"), rec.get("Details"));
    }
    set_related(ev);
    true
}

/// The ECS fields of an executable file's PE metadata and hashes, under
/// `process` (the process's image) or `file` (a file, or the module an
/// image load (7) loads), spelled out once per prefix and set by id.
struct ImageFields {
    prefix: &'static str,
    /// EventData names of PE metadata → their fields.
    pe: [(&'static str, FieldPath); 5],
    md5: FieldPath,
    sha1: FieldPath,
    sha256: FieldPath,
    imphash: FieldPath,
}

macro_rules! image_fields {
    ($($name:ident = $prefix:literal),* $(,)?) => {
        $(static $name: ImageFields = ImageFields {
            prefix: $prefix,
            pe: [
                ("OriginalFileName", FieldPath::new(concat!($prefix, ".pe.original_file_name"))),
                ("Company", FieldPath::new(concat!($prefix, ".pe.company"))),
                ("Description", FieldPath::new(concat!($prefix, ".pe.description"))),
                ("FileVersion", FieldPath::new(concat!($prefix, ".pe.file_version"))),
                ("Product", FieldPath::new(concat!($prefix, ".pe.product"))),
            ],
            md5: FieldPath::new(concat!($prefix, ".hash.md5")),
            sha1: FieldPath::new(concat!($prefix, ".hash.sha1")),
            sha256: FieldPath::new(concat!($prefix, ".hash.sha256")),
            imphash: FieldPath::new(concat!($prefix, ".pe.imphash")),
        };)*
    };
}

image_fields!(PROCESS_IMAGE = "process", FILE_IMAGE = "file");

/// The `file.*` of an image load again as `dll.*`, which Elastic's newer
/// pipeline adds and the library rules read.
fn set_dll(ev: &mut Event, rec: &WinRecord) {
    static COPIED: [(FieldPath, FieldPath); 10] = [
        (FieldPath::new("file.path"), FieldPath::new("dll.path")),
        (FieldPath::new("file.name"), FieldPath::new("dll.name")),
        (
            FieldPath::new("file.hash.md5"),
            FieldPath::new("dll.hash.md5"),
        ),
        (
            FieldPath::new("file.hash.sha1"),
            FieldPath::new("dll.hash.sha1"),
        ),
        (
            FieldPath::new("file.hash.sha256"),
            FieldPath::new("dll.hash.sha256"),
        ),
        (
            FieldPath::new("file.pe.imphash"),
            FieldPath::new("dll.pe.imphash"),
        ),
        (
            FieldPath::new("file.pe.original_file_name"),
            FieldPath::new("dll.pe.original_file_name"),
        ),
        (
            FieldPath::new("file.code_signature.subject_name"),
            FieldPath::new("dll.code_signature.subject_name"),
        ),
        (
            FieldPath::new("file.code_signature.signed"),
            FieldPath::new("dll.code_signature.signed"),
        ),
        (
            FieldPath::new("file.code_signature.valid"),
            FieldPath::new("dll.code_signature.valid"),
        ),
    ];
    for (from, to) in &COPIED {
        if let Some(v) = ev.get_id(from.id()).cloned() {
            ev.set_id(to.id(), v);
        }
    }
    if let Some(s) = rec.get("Signed").filter(|s| parse_bool(s).is_none()) {
        ev.set_id(quarry_event::fid!("dll.code_signature.status"), s);
    } else {
        ev.set_id(
            quarry_event::fid!("dll.code_signature.status"),
            rec.get("SignatureStatus"),
        );
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// `file.path` and what the pipeline derives from it: name, directory and
/// extension (as written, not case-folded).
fn set_file(ev: &mut Event, path: Option<&str>) {
    let Some(path) = path else { return };
    ev.set_id(quarry_event::fid!("file.path"), path);
    if let Some((dir, name)) = path.rsplit_once('\\') {
        ev.set_id(quarry_event::fid!("file.name"), name);
        ev.set_id(quarry_event::fid!("file.directory"), dir);
        if let Some((_, ext)) = name.rsplit_once('.') {
            ev.set_id(quarry_event::fid!("file.extension"), ext);
        }
    }
}

/// `related.user` from `user.name`, `related.ip` from the source and
/// destination addresses (after the DNS answers the query already added).
fn set_related(ev: &mut Event) {
    if let Some(u) = ev.get_str("user.name").map(Value::from) {
        ev.set_id(quarry_event::fid!("related.user"), Value::Array(vec![u]));
    }
    crate::common::add_related(ev, "related.ip", &["source.ip", "destination.ip"]);
}

/// Registry path and value as the pipeline splits them: the hive
/// abbreviated, `registry.key` everything after the hive (the value name
/// included, as Elastic writes it), `registry.value` the last component;
/// `Details` decoded — `DWORD (0x00000001)` → `1`, `QWORD (0x…-0x…)` → the
/// pipeline's `(high << 8) + low` (sic: Elastic's arithmetic, kept so values
/// compare equal with what the rules were written against), `Binary Data`
/// as REG_BINARY, anything else REG_SZ.
fn set_registry(ev: &mut Event, target: Option<&str>, details: Option<&str>) {
    let Some(target) = target else { return };
    ev.set_id(quarry_event::fid!("registry.path"), target);
    let (first, rest) = target.split_once('\\').unwrap_or((target, ""));
    let hive = match first.to_ascii_uppercase().as_str() {
        "HKEY_CLASSES_ROOT" | "HKCR" => Some("HKCR"),
        "HKEY_CURRENT_CONFIG" | "HKCC" => Some("HKCC"),
        "HKEY_CURRENT_USER" | "HKCU" => Some("HKCU"),
        "HKEY_DYN_DATA" | "HKDD" => Some("HKDD"),
        "HKEY_LOCAL_MACHINE" | "HKLM" => Some("HKLM"),
        "HKEY_PERFORMANCE_DATA" | "HKPD" => Some("HKPD"),
        "HKEY_USERS" | "HKU" => Some("HKU"),
        _ => None,
    };
    if let Some(hive) = hive {
        ev.set_id(quarry_event::fid!("registry.hive"), hive);
        if !rest.is_empty() {
            ev.set_id(quarry_event::fid!("registry.key"), rest);
        }
    }
    ev.set_id(quarry_event::fid!("registry.value"), basename(target));
    let Some(data) = details else { return };
    let (strings, ty) = if let Some(n) = parse_dword(data) {
        (Value::from(n.to_string()), "SZ_DWORD")
    } else if let Some(n) = parse_qword(data) {
        (Value::from(n.to_string()), "SZ_QWORD")
    } else if data == "Binary Data" {
        (Value::from(data), "REG_BINARY")
    } else {
        (Value::from(data), "REG_SZ")
    };
    ev.set_id(
        quarry_event::fid!("registry.data.strings"),
        Value::Array(vec![strings]),
    );
    ev.set_id(quarry_event::fid!("registry.data.type"), ty);
}

/// `0x` and exactly eight hex digits, as the pipeline's pattern requires.
fn hex8(s: &str) -> Option<i64> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if digits.len() != 8 {
        return None;
    }
    i64::from_str_radix(digits, 16).ok()
}

fn parse_dword(data: &str) -> Option<i64> {
    let inner = data
        .get(..7)?
        .eq_ignore_ascii_case("DWORD (")
        .then(|| &data[7..])?;
    hex8(inner.strip_suffix(')')?)
}

fn parse_qword(data: &str) -> Option<i64> {
    let inner = data
        .get(..7)?
        .eq_ignore_ascii_case("QWORD (")
        .then(|| &data[7..])?;
    let (high, low) = inner.strip_suffix(')')?.split_once('-')?;
    Some((hex8(high)? << 8).wrapping_add(hex8(low)?))
}

/// `SHA1=…,MD5=…,IMPHASH=…` → `<prefix>.hash.*` (imphash as
/// `<prefix>.pe.imphash`) for the ids whose hashes describe a process or a
/// file, and `related.hash` for all; all-zero hashes (Sysmon's "not
/// computed") are skipped.
fn set_hashes(ev: &mut Event, to: Option<&ImageFields>, hashes: Option<&str>) {
    let Some(hashes) = hashes else { return };
    let mut related = Vec::new();
    for part in hashes.split(',') {
        let Some((algo, hash)) = part.split_once('=') else {
            continue;
        };
        let hash = hash.trim();
        if hash.bytes().all(|b| b == b'0') {
            continue;
        }
        let hash = hash.to_ascii_lowercase();
        if let Some(to) = to {
            let algo = algo.trim().to_ascii_lowercase();
            // Sysmon's four by id; another (none so far) by its path
            let field = match algo.as_str() {
                "md5" => Some(&to.md5),
                "sha1" => Some(&to.sha1),
                "sha256" => Some(&to.sha256),
                "imphash" => Some(&to.imphash),
                _ => None,
            };
            match field {
                Some(f) => ev.set_id(f.id(), hash.as_str()),
                None => ev.set(&format!("{}.hash.{algo}", to.prefix), hash.as_str()),
            }
        }
        related.push(Value::from(hash));
    }
    if !related.is_empty() {
        ev.set_id(quarry_event::fid!("related.hash"), Value::Array(related));
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
            if data.trim().is_empty() {
                // `type:  33 ;`: a record type without data is no answer
                continue;
            }
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
        ev.set_id(quarry_event::fid!("related.hosts"), Value::Array(hosts));
    }
    if !answer_data.is_empty() {
        ev.set_id(
            quarry_event::fid!("dns.answers.data"),
            Value::Array(answer_data),
        );
        ev.set_id(
            quarry_event::fid!("dns.answers.type"),
            Value::Array(answer_type),
        );
    }
    if !ips.is_empty() {
        ev.set_id(quarry_event::fid!("related.ip"), Value::Array(ips.clone()));
        ev.set_id(quarry_event::fid!("dns.resolved_ip"), Value::Array(ips));
    }
}

/// `network.community_id`, the Community ID flow hash (seed 0) of the
/// connection's addresses, ports and transport, as Elastic's pipeline
/// computes it with its `community_id` processor; a flow with an address
/// or port missing or not of the right shape, or a transport other than
/// TCP or UDP (Sysmon logs only these), gets none.
fn set_community_id(ev: &mut Event) {
    let ip = |path: &str| match ev.get(path) {
        Some(Value::Ip(ip)) => Some(*ip),
        _ => None,
    };
    let port = |path: &str| ev.get_i64(path).and_then(|p| u16::try_from(p).ok());
    let protocol = match ev.get_str("network.transport") {
        Some(t) if t.eq_ignore_ascii_case("tcp") => 6,
        Some(t) if t.eq_ignore_ascii_case("udp") => 17,
        _ => return,
    };
    let (Some(src), Some(dst), Some(sport), Some(dport)) = (
        ip("source.ip"),
        ip("destination.ip"),
        port("source.port"),
        port("destination.port"),
    ) else {
        return;
    };
    if let Ok(id) = community_id::calculate_community_id(
        0,
        src,
        dst,
        Some(sport),
        Some(dport),
        protocol,
        Default::default(),
    ) {
        ev.set_id(quarry_event::fid!("network.community_id"), id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Community ID of a connection, either way round, by the
    /// specification's examples (corelight/community-id-spec, and the
    /// Rust implementations' own tests).
    #[test]
    fn community_id_of_connections() {
        let id = |transport: &str, src: &str, sport: &str, dst: &str, dport: &str| {
            let mut ev = Event::default();
            ev.set_id(quarry_event::fid!("network.transport"), transport);
            set_ip(&mut ev, "source.ip", Some(src));
            set_pid(&mut ev, "source.port", Some(sport));
            set_ip(&mut ev, "destination.ip", Some(dst));
            set_pid(&mut ev, "destination.port", Some(dport));
            set_community_id(&mut ev);
            ev.get_str("network.community_id").map(str::to_string)
        };
        let want = Some("1:LQU9qZlK+B5F3KDmev6m5PMibrg=".to_string());
        assert_eq!(
            id("tcp", "128.232.110.120", "34855", "66.35.250.204", "80"),
            want
        );
        assert_eq!(
            id("tcp", "66.35.250.204", "80", "128.232.110.120", "34855"),
            want
        );
        assert_eq!(
            id("tcp", "1.2.3.4", "1122", "5.6.7.8", "3344").as_deref(),
            Some("1:wCb3OG7yAFWelaUydu0D+125CLM=")
        );
        assert_eq!(
            id("udp", "192.168.1.42", "4242", "8.8.8.8", "53").as_deref(),
            Some("1:vTdrngJjlP5eZ9mw9JtnKyn99KM=")
        );
        // no flow: an address that is none, a port out of range, an unknown transport
        assert_eq!(id("tcp", "not-an-ip", "1", "5.6.7.8", "2"), None);
        assert_eq!(id("tcp", "1.2.3.4", "70000", "5.6.7.8", "2"), None);
        assert_eq!(id("icmp", "1.2.3.4", "1", "5.6.7.8", "2"), None);
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
