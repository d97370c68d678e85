//! Windows event records → ECS.
//!
//! Every Windows source (EVTX through the `evtx` crate, winlogbeat, NXLog /
//! OTRF JSON exports, Plaso's `xml_string`) is first reduced to a
//! [`WinRecord`] — the System header plus the EventData name/value pairs —
//! and then mapped here, once, to the fields Elastic's `windows` and `system`
//! integrations (and winlogbeat's processors) produce.
//!
//! This module holds what every record gets (the `winlog.*` header, the raw
//! `winlog.event_data.*`, which Sigma rules read, `event.code`, the data
//! stream of its channel family, a derived `host.id`) and the helpers the
//! families share; each family maps its own ids in its module: `sysmon`,
//! `security`, `system`, `powershell`, `defender`, `applocker`.
//! An id a family's pipeline leaves uncategorised stays generic and is
//! counted as `Channel/id` ([`crate::UNMAPPED_TYPE`]).

mod applocker;
mod defender;
mod dns_status;
mod powershell;
mod security;
mod sysmon;
mod system;

use quarry_event::{Demand, Event, FieldPath, Origin, Str, Value};
use std::sync::Arc;

/// The parts of a Windows event record quarry maps, whatever it was read from.
#[derive(Debug, Clone, Default)]
pub struct WinRecord {
    // text as `Str`: most of it (a provider, a host name, a level) fits
    // inline, with no allocation for each record
    pub provider: Str,
    pub provider_guid: Option<Str>,
    pub channel: Str,
    pub event_id: u32,
    pub version: Option<i64>,
    pub level: Option<Str>,
    pub task: Option<Str>,
    pub opcode: Option<Str>,
    pub keywords: Option<Str>,
    pub computer: Str,
    pub record_id: Option<u64>,
    /// System/TimeCreated, nanoseconds since the epoch.
    pub time_created: Option<i64>,
    /// System/Security/@UserID.
    pub user_sid: Option<Str>,
    /// The account of `user_sid` as the collecting host resolved it
    /// (winlogbeat's `winlog.user.name`); EVTX has only the SID.
    pub user_name: Option<Str>,
    /// System/Execution/@ProcessID and @ThreadID (the logging process).
    pub exec_pid: Option<i64>,
    pub exec_tid: Option<i64>,
    /// EventData (or UserData) name → value, in record order.
    pub data: Vec<(Str, Str)>,
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

    /// The event log family the record belongs to, by provider or channel.
    fn family(&self) -> Family {
        let channel = self.channel.as_str();
        let is = |name: &str| channel.eq_ignore_ascii_case(name);
        if self
            .provider
            .eq_ignore_ascii_case("Microsoft-Windows-Sysmon")
            || is("Microsoft-Windows-Sysmon/Operational")
        {
            Family::Sysmon
        } else if self
            .provider
            .eq_ignore_ascii_case("Microsoft-Windows-Security-Auditing")
            || is("Security")
        {
            Family::Security
        } else if is("System") {
            Family::System
        } else if is("Application") {
            Family::Application
        } else if is("Windows PowerShell") {
            Family::PowerShell
        } else if is("Microsoft-Windows-PowerShell/Operational") || is("PowerShellCore/Operational")
        {
            Family::PowerShellOperational
        } else if is("Microsoft-Windows-Windows Defender/Operational") {
            Family::Defender
        } else if let Some(dataset) = applocker_dataset(channel) {
            Family::AppLocker(dataset)
        } else if is("ForwardedEvents") || channel.is_empty() {
            self.family_by_provider()
        } else {
            Family::Other
        }
    }

    /// The family of a record whose channel names no log of its own (a
    /// collector that wrote `ForwardedEvents`, an export without channels):
    /// by its provider, so that it maps as the original log would.
    fn family_by_provider(&self) -> Family {
        let provider = self.provider.as_str();
        let is = |name: &str| provider.eq_ignore_ascii_case(name);
        if is("PowerShell") {
            Family::PowerShell
        } else if is("Microsoft-Windows-PowerShell") || is("PowerShellCore") {
            Family::PowerShellOperational
        } else if is("Microsoft-Windows-Windows Defender") {
            Family::Defender
        } else if is("Microsoft-Windows-Eventlog") {
            // the event log service writes 1100–1108 to Security, 104 to
            // System
            if (1100..=1108).contains(&self.event_id) {
                Family::Security
            } else {
                Family::System
            }
        } else if is("Service Control Manager") || is("Microsoft-Windows-Kernel-General") {
            Family::System
        } else {
            Family::Other
        }
    }
}

/// The channel families Elastic's integrations give a data stream of their
/// own; each maps through its own module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Sysmon,
    Security,
    System,
    Application,
    PowerShell,
    PowerShellOperational,
    Defender,
    /// One of the four AppLocker logs, with its data stream.
    AppLocker(&'static str),
    Other,
}

/// The data stream of an AppLocker log, by channel.
fn applocker_dataset(channel: &str) -> Option<&'static str> {
    const LOGS: &[(&str, &str)] = &[
        ("EXE and DLL", "windows.applocker_exe_and_dll"),
        ("MSI and Script", "windows.applocker_msi_and_script"),
        (
            "Packaged app-Deployment",
            "windows.applocker_packaged_app_deployment",
        ),
        (
            "Packaged app-Execution",
            "windows.applocker_packaged_app_execution",
        ),
    ];
    const PREFIX: &str = "Microsoft-Windows-AppLocker/";
    let log = channel
        .get(..PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(PREFIX))
        .and_then(|_| channel.get(PREFIX.len()..))?;
    LOGS.iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(log))
        .map(|(_, dataset)| *dataset)
}

impl Family {
    /// `event.module` and the data stream (`event.dataset`), as Elastic's
    /// integrations name them; the rules' `index` patterns
    /// (`logs-system.system*`, …) select on the latter.
    fn module_dataset(self) -> (&'static str, &'static str) {
        match self {
            Family::Sysmon => ("sysmon", "windows.sysmon_operational"),
            Family::Security => ("security", "system.security"),
            Family::System => ("system", "system.system"),
            Family::Application => ("system", "system.application"),
            Family::PowerShell => ("powershell", "windows.powershell"),
            Family::PowerShellOperational => ("powershell", "windows.powershell_operational"),
            Family::Defender => ("windows", "windows.windows_defender"),
            Family::AppLocker(dataset) => ("windows", dataset),
            Family::Other => ("windows", "windows.eventlog"),
        }
    }

    /// The channel's name as Windows spells it, for the families whose ids
    /// may stay generic.
    fn channel(self) -> Option<&'static str> {
        match self {
            Family::Sysmon => Some("Microsoft-Windows-Sysmon/Operational"),
            Family::Security => Some("Security"),
            Family::System => Some("System"),
            Family::Application => Some("Application"),
            _ => None,
        }
    }

    /// Maps the family's fields; false where Elastic's pipeline leaves the
    /// event id generic.
    fn map(self, rec: &WinRecord, ev: &mut Event) -> bool {
        match self {
            Family::Sysmon => sysmon::map(rec, ev),
            Family::Security => security::map(rec, ev),
            Family::System => system::map(rec, ev),
            Family::PowerShell | Family::PowerShellOperational => powershell::map(rec, ev),
            Family::Defender => defender::map(rec, ev),
            Family::AppLocker(_) => applocker::map(rec, ev),
            Family::Application | Family::Other => false,
        }
    }
}

/// Entity ids are normalised for joins by [`quarry_event::entity_key`]
/// (identity is the event model's concern: lineage, questions and pivots
/// join on it without depending on the normalisers).
pub use quarry_event::entity_key;

pub(crate) use crate::common::{set_domain_parts, split_command_line};
pub(crate) use quarry_event::basename;

thread_local! {
    /// The id of `winlog.event_data.<name>` by name: the same names come
    /// on every event of a kind, and the path need not be built each time.
    static EVENT_DATA_IDS: std::cell::RefCell<rustc_hash::FxHashMap<Box<str>, quarry_event::FieldId>> =
        std::cell::RefCell::default();
}

/// Maps a Windows record to ECS.
pub fn normalize(rec: &WinRecord, origin: Origin) -> Event {
    map_into(rec, Event::new(origin))
}

/// [`normalize`] building only the fields `demand` wants (made by
/// [`demand`], which adds what the mappings derive other fields from).
pub fn normalize_for(rec: &WinRecord, origin: Origin, demand: &Arc<Demand>) -> Event {
    let mut ev = map_into(rec, Event::for_demand(origin, demand.clone()));
    ev.make_whole();
    ev
}

/// Fields the mappings read back to derive others (`related.ip` from
/// `source.ip`, `dll.*` from the `file.*` of an image load, the community
/// id from the addresses and ports): built whatever the demand, so what
/// is derived from them is the same as in the whole event. A path ending
/// in `.` covers the fields below it.
const READ_BACK: &[&str] = &[
    "user.name",
    "user.target.name",
    "destination.user.name",
    "source.ip",
    "source.port",
    "destination.ip",
    "destination.port",
    "network.transport",
    "network.community_id",
    "dns.question.name",
    "dns.resolved_ip",
    "dns.answers.type",
    "related.",
    "file.",
];

/// The demand of a consumer reading the fields `test` accepts, for
/// [`normalize_for`].
pub fn demand(test: impl Fn(&str) -> bool + Send + Sync + 'static) -> Arc<Demand> {
    Arc::new(Demand::new(move |path| {
        test(path)
            || READ_BACK.iter().any(|r| match r.strip_suffix('.') {
                Some(prefix) => path
                    .strip_prefix(prefix)
                    .is_some_and(|s| s.starts_with('.')),
                None => path == *r,
            })
    }))
}

fn map_into(rec: &WinRecord, mut ev: Event) -> Event {
    // Elastic's `windows.forwarded` data stream runs the Sysmon, Security and
    // PowerShell pipelines on forwarded records by their own channel, so
    // they map as the originals do; only the dataset (and index) differ.
    let forwarded = rec.forwarded || rec.channel.eq_ignore_ascii_case("ForwardedEvents");
    let family = rec.family();
    let (module, dataset) = if forwarded {
        ("windows", "windows.forwarded")
    } else {
        family.module_dataset()
    };
    ev.set_id(quarry_event::fid!("event.kind"), "event");
    ev.set_id(quarry_event::fid!("event.module"), module);
    ev.set_id(quarry_event::fid!("event.dataset"), dataset);
    ev.set_id(quarry_event::fid!("data_stream.type"), "logs");
    ev.set_id(quarry_event::fid!("data_stream.dataset"), dataset);
    ev.set_id(quarry_event::fid!("data_stream.namespace"), "default");
    ev.set_id(quarry_event::fid!("event.code"), rec.event_id.to_string());
    ev.set_id(quarry_event::fid!("event.provider"), rec.provider.as_str());
    ev.set_id(quarry_event::fid!("host.os.type"), "windows");
    ev.set_id(quarry_event::fid!("host.os.family"), "windows");
    if !rec.computer.is_empty() {
        ev.set_id(quarry_event::fid!("host.name"), rec.computer.as_str());
        ev.set_id(
            quarry_event::fid!("winlog.computer_name"),
            rec.computer.as_str(),
        );
        ev.set_id(
            quarry_event::fid!("host.id"),
            derived_host_id(&rec.computer),
        );
        // the only field enriched: one value (to queries, a list of one)
        // rather than a list allocated per event
        ev.set_id(quarry_event::fid!("quarry.enriched"), "host.id");
    }
    // every record was read through the event log API's rendering, as
    // winlogbeat's `wineventlog` (some rules select on it)
    ev.set_id(quarry_event::fid!("winlog.api"), "wineventlog");
    ev.set_id(quarry_event::fid!("winlog.channel"), rec.channel.as_str());
    ev.set_id(
        quarry_event::fid!("winlog.provider_name"),
        rec.provider.as_str(),
    );
    ev.set_id(
        quarry_event::fid!("winlog.provider_guid"),
        rec.provider_guid.as_deref(),
    );
    ev.set_id(
        quarry_event::fid!("winlog.event_id"),
        rec.event_id.to_string(),
    );
    ev.set_id(
        quarry_event::fid!("winlog.record_id"),
        rec.record_id.map(|r| r.to_string()),
    );
    ev.set_id(quarry_event::fid!("winlog.version"), rec.version);
    ev.set_id(quarry_event::fid!("winlog.task"), rec.task.as_deref());
    ev.set_id(quarry_event::fid!("winlog.opcode"), rec.opcode.as_deref());
    ev.set_id(
        quarry_event::fid!("winlog.user.identifier"),
        rec.user_sid.as_deref(),
    );
    ev.set_id(quarry_event::fid!("winlog.process.pid"), rec.exec_pid);
    ev.set_id(quarry_event::fid!("winlog.process.thread.id"), rec.exec_tid);
    ev.set_id(
        quarry_event::fid!("log.level"),
        rec.level.as_deref().map(level_name),
    );
    EVENT_DATA_IDS.with(|ids| {
        let mut ids = ids.borrow_mut();
        for (k, v) in &rec.data {
            let id = match ids.get(k.as_str()) {
                Some(id) => *id,
                None => {
                    let id = quarry_event::field_id(&format!("winlog.event_data.{k}"));
                    ids.insert(k.as_str().into(), id);
                    id
                }
            };
            if ev.wants(id) {
                ev.set_id(id, v.as_str());
            }
        }
    });
    if let Some(t) = rec.time_created {
        ev.set_id(quarry_event::fid!("event.created"), Value::Timestamp(t));
        ev.set_timestamp(t);
    }
    let mapped = family.map(rec, &mut ev);
    // a record's type: its channel, or provider when it has none, and id
    // (a known channel by its own spelling, whatever case an export used)
    let source = || match family.channel() {
        Some(name) => name,
        None if rec.channel.is_empty() => rec.provider.as_str(),
        None => rec.channel.as_str(),
    };
    if !mapped {
        // kept generic (event.code, winlog.*): counted per channel and id
        crate::mark_unmapped(&mut ev, source(), &rec.event_id.to_string());
    }
    if ev.contains(crate::BAD_SHAPE) {
        crate::qualify_bad_shapes(&mut ev, source(), &rec.event_id.to_string());
    }
    ev
}

/// A stable `host.id` for a Windows record, which carries only its computer
/// name (Elastic's agent adds the id at collection; offline there is none,
/// and the rules written `sequence by host.id` join only on a non-null id):
/// the name-based (v5, DNS namespace) UUID of the lower-cased computer name,
/// so every record of a host, from any file or format, gets the same id,
/// and anyone can recompute it. Listed in `quarry.enriched`.
///
/// Records of one file share their computer, so the last id is kept per
/// thread: the hash runs once per host change, not per event.
pub fn derived_host_id(computer: &str) -> Value {
    with_derived_host_id(computer, Value::clone)
}

/// Whether `id` is the `host.id` quarry derives from `computer`: such an id
/// says no more than the name (host keys and reports use the name).
pub fn is_derived_host_id(id: &str, computer: &str) -> bool {
    with_derived_host_id(computer, |derived| derived.as_str() == Some(id))
}

fn with_derived_host_id<T>(computer: &str, f: impl FnOnce(&Value) -> T) -> T {
    thread_local! {
        static LAST: std::cell::RefCell<(String, Value)> =
            const { std::cell::RefCell::new((String::new(), Value::Null)) };
    }
    LAST.with_borrow_mut(|(name, id)| {
        if name != computer || id.is_null() {
            let lower = computer.to_lowercase();
            let uuid = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_DNS, lower.as_bytes());
            *id = Value::from(uuid.hyphenated().to_string());
            computer.clone_into(name);
        }
        f(id)
    })
}

/// The level's name: EVTX gives its number, winlogbeat the name rendered
/// on the collecting host, which Elastic's pipelines copy as it is.
fn level_name(l: &str) -> &str {
    match l {
        "0" | "4" => "information",
        "1" => "critical",
        "2" => "error",
        "3" => "warning",
        "5" => "verbose",
        other => other,
    }
}

pub(super) fn set_array(ev: &mut Event, path: &str, items: &[&str]) {
    ev.set(
        path,
        Value::Array(items.iter().map(|s| Value::from(*s)).collect()),
    );
}

/// Sets `<prefix>.executable/name` from an image path.
pub(super) fn set_image(ev: &mut Event, to: &ProcessFields, image: Option<&str>) {
    if let Some(image) = image {
        ev.set_id(to.executable.id(), image);
        ev.set_id(to.name.id(), basename(image));
    }
}

/// The ECS paths of a process (the event's or its parent), spelled out
/// once and set by id.
pub(super) struct ProcessFields {
    executable: FieldPath,
    name: FieldPath,
    command_line: FieldPath,
    args: FieldPath,
    args_count: FieldPath,
}

pub(super) static PROCESS: ProcessFields = ProcessFields {
    executable: FieldPath::new("process.executable"),
    name: FieldPath::new("process.name"),
    command_line: FieldPath::new("process.command_line"),
    args: FieldPath::new("process.args"),
    args_count: FieldPath::new("process.args_count"),
};

pub(super) static PARENT: ProcessFields = ProcessFields {
    executable: FieldPath::new("process.parent.executable"),
    name: FieldPath::new("process.parent.name"),
    command_line: FieldPath::new("process.parent.command_line"),
    args: FieldPath::new("process.parent.args"),
    args_count: FieldPath::new("process.parent.args_count"),
};

/// The ECS paths of an account (`user`, `user.target`, …), as
/// [`ProcessFields`].
pub(super) struct AccountFields {
    pub(super) id: FieldPath,
    pub(super) name: FieldPath,
    pub(super) domain: FieldPath,
}

macro_rules! account_fields {
    ($($name:ident = $prefix:literal),* $(,)?) => {
        $(pub(super) static $name: AccountFields = AccountFields {
            id: FieldPath::new(concat!($prefix, ".id")),
            name: FieldPath::new(concat!($prefix, ".name")),
            domain: FieldPath::new(concat!($prefix, ".domain")),
        };)*
    };
}

account_fields!(
    USER = "user",
    USER_TARGET = "user.target",
    USER_EFFECTIVE = "user.effective",
    SOURCE_USER = "source.user",
    DESTINATION_USER = "destination.user",
);

/// Sets a number (a process id, a port, a count); a value that is not one
/// is noted as a bad shape ([`crate::mark_bad_shape`]) and left out.
pub(super) fn set_pid(ev: &mut Event, path: &str, raw: Option<&str>) {
    let Some(raw) = raw else {
        return;
    };
    match Value::from(raw).as_i64() {
        Some(n) => ev.set(path, n),
        None => crate::mark_bad_shape(ev, path),
    }
}

pub(super) fn set_command_line(ev: &mut Event, to: &ProcessFields, cmd: Option<&str>) {
    if let Some(cmd) = cmd {
        ev.set_id(to.command_line.id(), cmd);
        if !ev.wants(to.args.id()) && !ev.wants(to.args_count.id()) {
            return;
        }
        let args = split_command_line(cmd);
        if !args.is_empty() {
            ev.set_id(to.args_count.id(), args.len() as i64);
            ev.set_id(to.args.id(), args);
        }
    }
}

/// `DOMAIN\user` → `<prefix>.domain` / `<prefix>.name`. Anything else (a
/// bare SID where a name should be) sets nothing, as the pipelines' split
/// into exactly two parts; the raw value stays in `winlog.event_data`.
pub(super) fn set_user(ev: &mut Event, to: &AccountFields, user: Option<&str>) {
    if let Some((domain, name)) = user.and_then(|u| u.split_once('\\'))
        && !name.contains('\\')
    {
        ev.set_id(to.domain.id(), domain);
        ev.set_id(to.name.id(), name);
    }
}

pub(super) fn set_ip(ev: &mut Event, path: &str, raw: Option<&str>) {
    if let Some(raw) = raw {
        match raw.parse::<std::net::IpAddr>() {
            Ok(ip) => ev.set(path, ip),
            // kept as text (rules may still match it), and noted
            Err(_) => {
                ev.set(path, raw);
                crate::mark_bad_shape(ev, path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // an id Elastic's pipeline does not categorise stays generic,
        // counted as channel/id
        let unknown = WinRecord {
            event_id: 5058,
            ..rec
        };
        assert_eq!(
            normalize(&unknown, Origin::default()).get_str(crate::UNMAPPED_TYPE),
            Some("Security/5058")
        );
    }

    /// Records a collector filed under the ForwardedEvents channel map by
    /// their provider, as their own log would.
    #[test]
    fn forwarded_events_channel_maps_by_provider() {
        /// provider, id, event data, a field its mapping sets, its value
        type Case<'a> = (&'a str, u32, &'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: &[Case] = &[
            (
                "Microsoft-Windows-PowerShell",
                4104,
                &[("ScriptBlockText", "Get-Process"), ("ScriptBlockId", "x")],
                "powershell.file.script_block_text",
                "Get-Process",
            ),
            (
                "Microsoft-Windows-Eventlog",
                104,
                &[("Channel", "System")],
                "event.action",
                "Log clear",
            ),
            (
                "Microsoft-Windows-Eventlog",
                1102,
                &[("SubjectUserName", "bob")],
                "event.action",
                "audit-log-cleared",
            ),
            (
                "Microsoft-Windows-Security-Auditing",
                4688,
                &[("NewProcessName", "C:\\x\\cmd.exe")],
                "process.name",
                "cmd.exe",
            ),
        ];
        for (provider, id, data, field, want) in cases {
            let ev = normalize(
                &record(provider, "ForwardedEvents", *id, data),
                Origin::default(),
            );
            assert_eq!(ev.get_str(field), Some(*want), "{provider}/{id}");
            assert_eq!(ev.get_str("event.dataset"), Some("windows.forwarded"));
            assert!(!ev.contains(crate::UNMAPPED_TYPE), "{provider}/{id}");
        }
        // a provider no family owns stays generic, counted by its channel
        let other = normalize(
            &record("Acme", "ForwardedEvents", 7, &[]),
            Origin::default(),
        );
        assert_eq!(
            other.get_str(crate::UNMAPPED_TYPE),
            Some("ForwardedEvents/7")
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

    fn record(provider: &str, channel: &str, event_id: u32, data: &[(&str, &str)]) -> WinRecord {
        WinRecord {
            provider: provider.into(),
            channel: channel.into(),
            event_id,
            computer: "WS1.corp.example".into(),
            data: data
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            ..Default::default()
        }
    }

    /// Fields of the wrong shape: the record is kept, mapped as far as it
    /// can be, and its raw values stay in winlog.event_data.
    #[test]
    fn bad_shapes_keep_the_record() {
        const SECURITY: (&str, &str) = ("Microsoft-Windows-Security-Auditing", "Security");
        // LogonType not a number, a port that is no number, an IP that is no IP
        let logon = record(
            SECURITY.0,
            SECURITY.1,
            4624,
            &[
                ("LogonType", "three"),
                ("TargetUserName", "alice"),
                ("IpAddress", "not-an-ip"),
                ("IpPort", "-1x"),
                ("ProcessId", "0xZZ"),
            ],
        );
        let ev = normalize(&logon, Origin::default());
        assert_eq!(ev.get_str("event.action"), Some("logged-in"));
        assert_eq!(ev.get_str("user.name"), Some("alice"));
        assert!(!ev.contains("winlog.logon.type"));
        assert!(!ev.contains("source.port") && !ev.contains("process.pid"));
        assert_eq!(ev.get_str("source.ip"), Some("not-an-ip"));
        assert_eq!(ev.get_str("winlog.event_data.LogonType"), Some("three"));
        // each bad shape noted with the record's type, for the read summary
        for field in [
            "winlog.logon.type",
            "source.ip",
            "source.port",
            "process.pid",
        ] {
            let key = format!("Security/4624 {field}");
            assert!(ev.has_value(crate::BAD_SHAPE, &key), "{key}: {ev:?}");
        }

        // a SID where DOMAIN\user should be: no user.name from it
        let sysmon = record(
            "Microsoft-Windows-Sysmon",
            "Microsoft-Windows-Sysmon/Operational",
            13,
            &[
                ("User", "S-1-5-18"),
                ("TargetObject", "HKLM"),
                ("Details", "DWORD (0x0001"),
                ("Hashes", "SHA1"),
                ("ProcessId", "12a"),
            ],
        );
        let ev = normalize(&sysmon, Origin::default());
        assert!(ev.has_value("event.category", "registry"));
        assert!(!ev.contains("user.name") && !ev.contains("process.pid"));
        assert!(ev.has_value(
            crate::BAD_SHAPE,
            "Microsoft-Windows-Sysmon/Operational/13 process.pid"
        ));
        assert_eq!(ev.get_str("registry.data.type"), Some("REG_SZ"));
        assert_eq!(ev.get_str("registry.hive"), Some("HKLM"));

        // a truncated script block and packed text cut mid-line
        let ps = record(
            "Microsoft-Windows-PowerShell",
            "Microsoft-Windows-PowerShell/Operational",
            4104,
            &[
                ("ScriptBlockText", "IEX (New-Object Net.WebCl"),
                ("MessageNumber", "1 of"),
            ],
        );
        let ev = normalize(&ps, Origin::default());
        assert_eq!(
            ev.get_str("powershell.file.script_block_text"),
            Some("IEX (New-Object Net.WebCl")
        );
        assert!(!ev.contains("powershell.sequence"));
        let classic = record(
            "PowerShell",
            "Windows PowerShell",
            400,
            &[("param3", "\tHostApplication=\n=\tno key\n\tEngine")],
        );
        let ev = normalize(&classic, Origin::default());
        assert!(ev.has_value("event.type", "start"));
        assert!(ev.contains("winlog.event_data.param3"));

        // group member name with no CN, AppLocker Fqbn with no parts
        let group = record(
            SECURITY.0,
            SECURITY.1,
            4732,
            &[("MemberName", "-"), ("TargetUserName", "Administrators")],
        );
        let ev = normalize(&group, Origin::default());
        assert_eq!(ev.get_str("group.name"), Some("Administrators"));
        let applocker = record(
            "Microsoft-Windows-AppLocker",
            "Microsoft-Windows-AppLocker/EXE and DLL",
            8003,
            &[("Fqbn", "garbage"), ("TargetProcessId", "")],
        );
        let ev = normalize(&applocker, Origin::default());
        assert_eq!(
            ev.get_str("data_stream.dataset"),
            Some("windows.applocker_exe_and_dll")
        );
        assert!(!ev.contains("file.pe.product"));
    }

    #[test]
    fn host_id_derived_from_the_computer_name() {
        let a = record("P", "System", 7045, &[]);
        let mut b = a.clone();
        b.computer = "ws1.CORP.example".into();
        let (ea, eb) = (
            normalize(&a, Origin::default()),
            normalize(&b, Origin::default()),
        );
        // the v5 UUID (DNS namespace) of "ws1.corp.example"
        let want = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_DNS, b"ws1.corp.example").to_string();
        assert_eq!(ea.get_str("host.id"), Some(want.as_str()));
        assert_eq!(eb.get_str("host.id"), Some(want.as_str()));
        assert!(ea.has_value("quarry.enriched", "host.id"));
        assert_eq!(ea.get_str("data_stream.dataset"), Some("system.system"));
        assert_eq!(ea.get_str(crate::UNMAPPED_TYPE), Some("System/7045"));
        let other = WinRecord {
            computer: "dc01".into(),
            ..a
        };
        assert_ne!(
            normalize(&other, Origin::default()).get_str("host.id"),
            Some(want.as_str())
        );
    }
}
