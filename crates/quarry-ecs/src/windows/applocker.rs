//! AppLocker (`Microsoft-Windows-AppLocker/*`: EXE and DLL, MSI and Script,
//! Packaged app-Deployment, Packaged app-Execution) → ECS, as Elastic's four
//! `windows.applocker_*` pipelines map them. They share the Defender
//! pipeline's base (a process start, the user, `file.name` and
//! `file.hash.sha256`) and add the process and user the rule applied to,
//! and the publisher's signature from `Fqbn`.

use super::{Event, WinRecord, defender, set_pid};

/// Maps an AppLocker record (every id, as the pipelines do).
pub(super) fn map(rec: &WinRecord, ev: &mut Event) -> bool {
    defender::map(rec, ev);
    set_pid(ev, "process.pid", rec.get("TargetProcessId"));
    if let Some(sid) = rec.get("TargetUser") {
        ev.set_id(quarry_event::fid!("user.id"), sid);
    }
    if let Some(fqbn) = rec.get("Fqbn") {
        set_fqbn(ev, fqbn);
    }
    true
}

/// `Fqbn`, the fully qualified binary name
/// `CN=…, O=…, L=…, S=…, C=…\PRODUCT\ORIGINAL NAME\VERSION`: the
/// publisher's subject to `file.x509.subject.*`, the rest to `file.pe.*`.
fn set_fqbn(ev: &mut Event, fqbn: &str) {
    let mut parts = fqbn.splitn(4, '\\');
    let subject = parts.next().unwrap_or_default();
    for item in subject.split(", ") {
        let field = match item.split_once('=') {
            Some(("CN", v)) => Some(("file.x509.subject.common_name", v)),
            Some(("O", v)) => Some(("file.x509.subject.organization", v)),
            Some(("L", v)) => Some(("file.x509.subject.locality", v)),
            Some(("S", v)) => Some(("file.x509.subject.state_or_province", v)),
            Some(("C", v)) => Some(("file.x509.subject.country", v)),
            _ => None,
        };
        if let Some((path, v)) = field {
            ev.set(path, v);
        }
    }
    for path in [
        "file.pe.product",
        "file.pe.original_file_name",
        "file.pe.file_version",
    ] {
        match parts.next() {
            Some(v) => ev.set(path, v),
            None => break,
        }
    }
}
