//! `quarry demo`: writes a small, self-made incident as Windows-event JSON
//! lines (the NXLog/OTRF export shape) and answers Q1018 over it, so a fresh
//! machine can see the main job end to end without any evidence at hand.
//!
//! The incident: on WS01 a phishing document spawns PowerShell, which
//! resolves a DuckDNS command-and-control name; the PowerShell exits and its
//! pid is reused by a benign process that resolves a Windows Update name —
//! the query must not be blamed on the reused pid's earlier owner. DC01 has
//! only Security 4688 process auditing: no DNS telemetry, so its DNS
//! activity is unresolved.

use crate::output::Format;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

fn sysmon(host: &str, id: u32, utc: &str, data: serde_json::Value) -> serde_json::Value {
    let mut v = json!({
        "SourceName": "Microsoft-Windows-Sysmon",
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Hostname": host,
        "EventID": id,
        "TimeCreated": format!("{}Z", utc.replace(' ', "T")),
        "UtcTime": utc,
    });
    if let (Some(m), serde_json::Value::Object(d)) = (v.as_object_mut(), data) {
        m.extend(d);
    }
    v
}

/// The generated evidence: (file name, JSON lines).
pub fn incident() -> Vec<(&'static str, Vec<serde_json::Value>)> {
    let ws = "WS01.corp.example";
    let winword = "{5A1F0C11-0000-0000-0000-000000000101}";
    let ps = "{5A1F0C11-0000-0000-0000-000000000202}";
    let upd = "{5A1F0C11-0000-0000-0000-000000000303}";
    let ws01 = vec![
        sysmon(
            ws,
            1,
            "2026-11-02 09:14:03.120",
            json!({"ProcessGuid": winword, "ProcessId": "4412", "Image": "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE", "CommandLine": "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE\" /n \"C:\\Users\\alice\\Downloads\\invoice-4471.docm\"", "User": "CORP\\alice", "ParentProcessGuid": "{5A1F0C11-0000-0000-0000-000000000001}", "ParentProcessId": "3120", "ParentImage": "C:\\Windows\\explorer.exe", "ParentCommandLine": "C:\\Windows\\Explorer.EXE"}),
        ),
        sysmon(
            ws,
            1,
            "2026-11-02 09:14:09.877",
            json!({"ProcessGuid": ps, "ProcessId": "6060", "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "CommandLine": "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA", "User": "CORP\\alice", "ParentProcessGuid": winword, "ParentProcessId": "4412", "ParentImage": "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE", "ParentCommandLine": "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE\" /n \"C:\\Users\\alice\\Downloads\\invoice-4471.docm\""}),
        ),
        sysmon(
            ws,
            22,
            "2026-11-02 09:14:10.402",
            json!({"ProcessGuid": ps, "ProcessId": "6060", "QueryName": "update-check.duckdns.org", "QueryStatus": "0", "QueryResults": "::ffff:203.0.113.66;", "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "User": "CORP\\alice"}),
        ),
        sysmon(
            ws,
            5,
            "2026-11-02 09:15:40.010",
            json!({"ProcessGuid": ps, "ProcessId": "6060", "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"}),
        ),
        sysmon(
            ws,
            1,
            "2026-11-02 10:02:00.500",
            json!({"ProcessGuid": upd, "ProcessId": "6060", "Image": "C:\\Windows\\System32\\usoclient.exe", "CommandLine": "C:\\Windows\\system32\\usoclient.exe StartScan", "User": "NT AUTHORITY\\SYSTEM", "ParentProcessGuid": "{5A1F0C11-0000-0000-0000-000000000002}", "ParentProcessId": "1204", "ParentImage": "C:\\Windows\\System32\\svchost.exe", "ParentCommandLine": "C:\\Windows\\system32\\svchost.exe -k netsvcs -p"}),
        ),
        sysmon(
            ws,
            22,
            "2026-11-02 10:02:01.250",
            json!({"ProcessGuid": upd, "ProcessId": "6060", "QueryName": "fe3cr.delivery.mp.microsoft.com", "QueryStatus": "0", "QueryResults": "type:  5 fe3cr.delivery.mp.microsoft.com.edgesuite.net;::ffff:192.0.2.10;", "Image": "C:\\Windows\\System32\\usoclient.exe", "User": "NT AUTHORITY\\SYSTEM"}),
        ),
        // A query from a process whose start predates the log: unlinked.
        sysmon(
            ws,
            22,
            "2026-11-02 10:05:12.000",
            json!({"ProcessGuid": "{5A1F0C11-0000-0000-0000-000000000404}", "ProcessId": "988", "QueryName": "wpad.corp.example", "QueryStatus": "9003", "QueryResults": "-", "Image": "C:\\Windows\\System32\\svchost.exe"}),
        ),
    ];
    let dc = "DC01.corp.example";
    let sec = |t: &str, pid: &str, image: &str, cmd: &str, ppid: &str, parent: &str| {
        json!({"SourceName": "Microsoft-Windows-Security-Auditing", "Channel": "Security", "Hostname": dc, "EventID": 4688, "TimeCreated": t,
               "SubjectUserSid": "S-1-5-18", "SubjectUserName": "DC01$", "SubjectDomainName": "CORP", "SubjectLogonId": "0x3e7",
               "NewProcessId": pid, "NewProcessName": image, "CommandLine": cmd, "ProcessId": ppid, "ParentProcessName": parent, "TargetUserSid": "S-1-0-0"})
    };
    let dc01 = vec![
        sec(
            "2026-11-02T09:20:00.000Z",
            "0x1a2c",
            "C:\\Windows\\System32\\cmd.exe",
            "cmd.exe /c whoami /all",
            "0x7d0",
            "C:\\Windows\\System32\\dns.exe",
        ),
        sec(
            "2026-11-02T09:20:01.000Z",
            "0x1a40",
            "C:\\Windows\\System32\\whoami.exe",
            "whoami /all",
            "0x1a2c",
            "C:\\Windows\\System32\\cmd.exe",
        ),
    ];
    vec![("WS01-sysmon.jsonl", ws01), ("DC01-security.jsonl", dc01)]
}

pub fn run(out: Option<PathBuf>, format: Format) -> std::io::Result<u8> {
    let dir = out.unwrap_or_else(|| std::env::temp_dir().join("quarry-demo"));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("quarry: cannot create {}: {e}", dir.display());
        return Ok(crate::exit::USAGE);
    }
    for (name, lines) in incident() {
        let path = dir.join(name);
        let written = std::fs::File::create(&path).and_then(|mut f| {
            for l in &lines {
                writeln!(f, "{l}")?;
            }
            Ok(())
        });
        if let Err(e) = written {
            eprintln!("quarry: cannot write {}: {e}", path.display());
            return Ok(crate::exit::USAGE);
        }
    }
    eprintln!(
        "quarry: demo evidence written to {}; running: quarry ask Q1018 {}",
        dir.display(),
        dir.display()
    );
    crate::ask::run_on(vec![dir], format)
}
