//! Normalisation: every source format quarry reads becomes an ECS
//! [`quarry_event::Event`] shaped the way Elastic's own integration would
//! have indexed it, so Elastic's rules and quarry's questions run unchanged.
//!
//! - [`windows`]: Windows event records (EVTX, winlogbeat / NXLog / OTRF JSON,
//!   Plaso `xml_string`) → ECS, Sysmon and Security mappings.
//! - [`vendor`]: CrowdStrike FDR, Elastic Defend, M365 Defender, SentinelOne,
//!   Endgame.
//! - [`json`]: recognises what a JSON record is and dispatches it.

pub mod evtx_json;
pub mod json;
pub mod plaso;
pub mod vendor;
pub mod windows;

pub use json::{Normalized, normalize_json};
