//! Security (`Microsoft-Windows-Security-Auditing`) → ECS, as Elastic's
//! `system.security` pipeline maps it.

use super::*;

/// Maps a Security record; false for an event id quarry has no mapping for.
pub(super) fn map(rec: &WinRecord, ev: &mut Event) -> bool {
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
