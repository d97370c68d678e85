//! Normalisation: every source format quarry reads becomes an ECS
//! [`quarry_event::Event`] shaped the way Elastic's own integration would
//! have indexed it, so Elastic's rules and quarry's questions run unchanged.
//!
//! - [`windows`]: Windows event records (EVTX, winlogbeat / NXLog / OTRF JSON,
//!   Plaso `xml_string`) → ECS: Sysmon, Security, System, PowerShell,
//!   Defender, each in the data stream Elastic gives it.
//! - [`edr`]: the EDR products' exports — CrowdStrike FDR, Elastic Defend,
//!   M365 Defender, SentinelOne, Endgame — one module each.
//! - [`json`]: recognises what a JSON record is and dispatches it.
//!
//! A record of a type a normaliser has no mapping for (an unknown FDR
//! `event_simpleName`, SentinelOne event type, M365 table or `ActionType`,
//! Windows event id) is still kept, as a generic event with the vendor's
//! fields, and marked with [`UNMAPPED_TYPE`] so the reader can count what
//! was kept generic per source and type.

pub mod edr;
pub mod evtx_json;
pub mod json;
pub mod plaso;
pub mod windows;

pub use json::{Normalized, normalize_json};

/// The field a normaliser sets on a record it kept generic: the source and
/// the record's type, `crowdstrike.fdr/FooEvent`, `sentinel_one/Unknown Type`,
/// `m365_defender/DeviceLogonEvents`, and for Windows records channel and id, `System/7009`. Readers count it
/// per value (`quarry_read::ReadSummary::unmapped`); it stays on the event,
/// so `any where quarry.unmapped_type != null` finds such records.
pub const UNMAPPED_TYPE: &str = "quarry.unmapped_type";

/// The field a normaliser sets on a record one of whose values did not
/// have the shape its mapping expects (a `LogonType` that is no number, a
/// process id that is not one, a task definition that is not XML): the
/// record's type and the ECS field left unset (or set raw), one value per
/// field, `Security/4624 winlog.logon.type`. The raw value stays in the
/// record (`winlog.event_data`); readers count each value
/// (`quarry_read::ReadSummary::bad_shapes`), and the read summary shows
/// them, so nothing is dropped silently.
pub const BAD_SHAPE: &str = "quarry.bad_shape";

/// Notes on `ev` that the value for `field` did not have the expected
/// shape; [`qualify_bad_shapes`] later prefixes the record's type.
pub fn mark_bad_shape(ev: &mut quarry_event::Event, field: &str) {
    match ev.get(BAD_SHAPE) {
        None => ev.set(BAD_SHAPE, field),
        Some(v) if v.iter().any(|f| f.as_str() == Some(field)) => {}
        Some(v) => {
            let mut all: Vec<quarry_event::Value> = v.iter().cloned().collect();
            all.push(field.into());
            ev.set(BAD_SHAPE, quarry_event::Value::Array(all));
        }
    }
}

/// Prefixes the fields [`mark_bad_shape`] noted with the record's source
/// and type (`Security/4624 winlog.logon.type`), the key they are counted
/// under.
pub fn qualify_bad_shapes(ev: &mut quarry_event::Event, source: &str, ty: &str) {
    let Some(v) = ev.get(BAD_SHAPE) else {
        return;
    };
    let all: Vec<quarry_event::Value> = v
        .iter()
        .filter_map(|f| f.as_str().map(|f| format!("{source}/{ty} {f}").into()))
        .collect();
    ev.set(BAD_SHAPE, quarry_event::Value::Array(all));
}

/// Marks `ev` as kept generic, with its source and type.
pub fn mark_unmapped(ev: &mut quarry_event::Event, source: &str, ty: &str) {
    let ty = if ty.trim().is_empty() {
        "(no type)"
    } else {
        ty
    };
    ev.set(UNMAPPED_TYPE, format!("{source}/{ty}"));
}
