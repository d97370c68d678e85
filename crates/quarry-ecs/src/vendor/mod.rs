//! Vendor formats other than Windows event logs: CrowdStrike FDR, Elastic
//! Defend / Agent ECS, Microsoft 365 Defender, SentinelOne Cloud Funnel,
//! Elastic Endgame. Each module maps one vendor's records to ECS the way
//! Elastic's integration pipeline does.

use quarry_event::{Event, Origin};

/// A vendor format recognised from a JSON record's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {}

/// Recognises a vendor record, or `None` when it is not one of these vendors.
pub fn detect(_doc: &serde_json::Value) -> Option<Vendor> {
    None
}

/// Maps a vendor record to ECS. Problems (unparseable numbers, missing
/// required fields, unknown record types) are pushed to `problems`; the
/// event is kept with what could be mapped.
pub fn normalize(
    vendor: Vendor,
    _doc: &serde_json::Value,
    _origin: Origin,
    _problems: &mut Vec<String>,
) -> Event {
    match vendor {}
}
