//! System channel → ECS. Elastic's `system.system` pipeline maps no field
//! (its records keep `winlog.*` and reach the rules by data stream alone);
//! what winlogbeat adds is `event.action` from the rendered task name, which
//! an offline reader cannot render from the provider's DLL. The task names
//! the rules compare are listed here.

use super::{Event, WinRecord};

/// (provider, event id) → the task name winlogbeat renders as
/// `event.action`.
const TASK_ACTIONS: &[(&str, u32, &str)] = &[
    // "Windows Event Logs Cleared" compares `event.action: "Log clear"`
    ("Microsoft-Windows-Eventlog", 104, "Log clear"),
];

/// Sets `event.action` for the System events whose task name the rules
/// read; false (kept generic, as Elastic keeps it) for the rest.
pub(super) fn map(rec: &WinRecord, ev: &mut Event) -> bool {
    let action = TASK_ACTIONS.iter().find(|(provider, id, _)| {
        *id == rec.event_id && rec.provider.eq_ignore_ascii_case(provider)
    });
    match action {
        Some((_, _, action)) => {
            ev.set_id(quarry_event::fid!("event.action"), *action);
            true
        }
        None => false,
    }
}
