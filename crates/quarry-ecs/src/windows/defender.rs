//! Microsoft Defender Antivirus (`Microsoft-Windows-Windows Defender/
//! Operational`) → ECS, as Elastic's `windows.windows_defender` pipeline maps
//! it: every event id alike — a process start, the user from `User` (or the
//! record's security identifier, and the account name the collector
//! resolved for it), the file from `FullFilePath`/`FileHash`.
//! The detection fields themselves (`Threat Name`, `Path`, …) stay in
//! `winlog.event_data`, where the rules read them.

use super::{Event, USER, WinRecord, basename, set_array, set_user};

/// Maps a Defender record (every id: the pipeline does not tell them apart).
pub(super) fn map(rec: &WinRecord, ev: &mut Event) -> bool {
    set_array(ev, "event.category", &["process"]);
    set_array(ev, "event.type", &["start"]);
    ev.set_id(quarry_event::fid!("user.id"), rec.user_sid.as_deref());
    set_user(ev, &USER, rec.get("User"));
    // else the account of the record's SID, where the collector resolved it
    if ev.get_id(USER.name.id()).is_none() {
        ev.set_id(USER.name.id(), rec.user_name.as_deref());
    }
    if let Some(path) = rec.get("FullFilePath") {
        ev.set_id(quarry_event::fid!("file.name"), basename(path));
    }
    ev.set_id(quarry_event::fid!("file.hash.sha256"), rec.get("FileHash"));
    true
}
