//! Normalisation: every source format quarry reads becomes an ECS
//! [`quarry_event::Event`] shaped the way Elastic's own integration would
//! have indexed it, so Elastic's rules and quarry's questions run unchanged.
//!
//! - [`windows`]: Windows event records (EVTX, winlogbeat / NXLog / OTRF JSON,
//!   Plaso `xml_string`) → ECS: Sysmon, Security, System, PowerShell,
//!   Defender, each in the data stream Elastic gives it.
//! - [`edr`]: the EDR products' exports — CrowdStrike FDR, Elastic Defend,
//!   M365 Defender, SentinelOne, Endgame — one module each.
//! - [`common`]: ECS helpers every normaliser shares.
//! - [`format`]: every JSON source format, how it is recognised and named.
//! - [`json`]: normalises a JSON record by its format.
//!
//! A record of a type a normaliser has no mapping for (an unknown FDR
//! `event_simpleName`, SentinelOne event type, M365 table or `ActionType`,
//! Windows event id) is still kept, as a generic event with the vendor's
//! fields, and marked with [`UNMAPPED_TYPE`] so the reader can count what
//! was kept generic per source and type.

pub mod common;
pub mod edr;
pub mod evtx_json;
pub mod format;
pub mod json;
pub mod plaso;
pub mod windows;

pub use format::Format;
pub use json::{Normalized, normalize_json};

/// The field a normaliser sets on a record it kept generic: the source and
/// the record's type, `crowdstrike.fdr/FooEvent`, `sentinel_one/Unknown Type`,
/// `m365_defender/DeviceLogonEvents`, and for Windows records channel and id, `System/7009`. Readers count it
/// per value (`quarry_read::ReadSummary::unmapped`); it stays on the event,
/// so `any where quarry.unmapped_type != null` finds such records.
pub const UNMAPPED_TYPE: &str = "quarry.unmapped_type";

/// Marks `ev` as kept generic, with its source and type.
pub fn mark_unmapped(ev: &mut quarry_event::Event, source: &str, ty: &str) {
    let ty = if ty.trim().is_empty() {
        "(no type)"
    } else {
        ty
    };
    ev.set(UNMAPPED_TYPE, format!("{source}/{ty}"));
}
