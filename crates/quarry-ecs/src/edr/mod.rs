//! EDR products' exports (formats other than Windows event logs). Each
//! module maps one product's records to ECS the way Elastic's integration
//! pipeline does.
//! Implemented: CrowdStrike Falcon Data Replicator, SentinelOne Cloud
//! Funnel, Microsoft 365 Defender, Elastic Defend, Endgame.

pub mod crowdstrike;
pub mod defend;
pub mod endgame;
pub mod m365;
pub mod sentinelone;

use quarry_event::{Event, Origin};

/// A vendor format recognised from a JSON record's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// CrowdStrike FDR: `event_simpleName` (+ `aid`).
    CrowdStrikeFdr,
    /// SentinelOne Cloud Funnel: flat dotted keys (`src.process.uid`, `meta.event.name`).
    SentinelOneCloudFunnel,
    /// Microsoft 365 Defender Advanced Hunting (streaming API or export).
    M365Defender,
    /// Elastic Defend / Endpoint ECS documents (`agent.type: endpoint`).
    ElasticDefend,
    /// Elastic Endgame events (`event_type_full` + `unique_pid`).
    Endgame,
}

/// Recognises a vendor record, or `None` when it is not one of these vendors.
pub fn detect(doc: &serde_json::Value) -> Option<Vendor> {
    let m = doc.as_object()?;
    if m.contains_key("event_simpleName") && (m.contains_key("aid") || m.contains_key("timestamp"))
    {
        return Some(Vendor::CrowdStrikeFdr);
    }
    let is_endpoint = doc
        .get("agent")
        .and_then(|a| a.get("type"))
        .and_then(|t| t.as_str())
        == Some("endpoint")
        || doc
            .get("data_stream")
            .and_then(|d| d.get("dataset"))
            .and_then(|d| d.as_str())
            .is_some_and(|d| d.starts_with("endpoint."));
    if is_endpoint {
        return Some(Vendor::ElasticDefend);
    }
    if m.contains_key("event_type_full") && (m.contains_key("unique_pid") || m.contains_key("pid"))
    {
        return Some(Vendor::Endgame);
    }
    if m.get("category")
        .and_then(|c| c.as_str())
        .is_some_and(|c| c.starts_with("AdvancedHunting-"))
        || (m.contains_key("DeviceId")
            && m.contains_key("ActionType")
            && m.contains_key("Timestamp"))
    {
        return Some(Vendor::M365Defender);
    }
    if m.contains_key("meta.event.name")
        || (m.contains_key("src.process.uid") && m.contains_key("agent.uuid"))
    {
        return Some(Vendor::SentinelOneCloudFunnel);
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
        Vendor::SentinelOneCloudFunnel => sentinelone::normalize(doc, origin, problems),
        Vendor::M365Defender => m365::normalize(doc, origin, problems),
        Vendor::ElasticDefend => defend::normalize(doc, origin, problems),
        Vendor::Endgame => endgame::normalize(doc, origin, problems),
    }
}
