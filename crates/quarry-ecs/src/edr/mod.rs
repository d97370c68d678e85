//! EDR products' exports (formats other than Windows event logs). Each
//! module maps one product's records to ECS the way Elastic's integration
//! pipeline does.
//! Implemented: CrowdStrike Falcon Data Replicator, SentinelOne Cloud
//! Funnel, Microsoft 365 Defender, Elastic Defend, Endgame. Each is
//! recognised in [`crate::format`].

pub mod crowdstrike;
pub mod defend;
pub mod endgame;
pub mod m365;
pub mod sentinelone;

pub use crate::format::Vendor;
use quarry_event::{Event, Origin};

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
        Vendor::SentinelOneCloudFunnel => sentinelone::normalize(doc, origin, problems),
        Vendor::M365Defender => m365::normalize(doc, origin, problems),
        Vendor::ElasticDefend => defend::normalize(doc, origin, problems),
        Vendor::Endgame => endgame::normalize(doc, origin, problems),
    }
}
