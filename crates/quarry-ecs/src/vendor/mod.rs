//! Vendor formats other than Windows event logs. Each module maps one
//! vendor's records to ECS the way Elastic's integration pipeline does.
//! Implemented: CrowdStrike Falcon Data Replicator. (M365 Defender,
//! SentinelOne Cloud Funnel, Elastic Defend, Endgame: to come.)

pub mod crowdstrike;

use quarry_event::{Event, Origin};

/// A vendor format recognised from a JSON record's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// CrowdStrike FDR: `event_simpleName` (+ `aid`).
    CrowdStrikeFdr,
}

/// Recognises a vendor record, or `None` when it is not one of these vendors.
pub fn detect(doc: &serde_json::Value) -> Option<Vendor> {
    let m = doc.as_object()?;
    if m.contains_key("event_simpleName") && (m.contains_key("aid") || m.contains_key("timestamp"))
    {
        return Some(Vendor::CrowdStrikeFdr);
    }
    None
}

/// Maps a vendor record to ECS. Problems (unparseable numbers, missing
/// required fields) are pushed to `problems`; the event is kept with what
/// could be mapped.
pub fn normalize(
    vendor: Vendor,
    doc: &serde_json::Value,
    origin: Origin,
    problems: &mut Vec<String>,
) -> Event {
    match vendor {
        Vendor::CrowdStrikeFdr => crowdstrike::normalize(doc, origin, problems),
    }
}
