//! The JSON source formats: every format a JSON record can be read as, how
//! it is recognised from the record's content, and the name it is counted
//! under. Readers ask this module (never a copy of its tests): the full
//! reader ([`crate::json::normalize_json`]) dispatches on [`detect`], the
//! fast paths (`quarry-read`'s projected reader, CrowdStrike's line reader)
//! send a line elsewhere when [`is_marker_key`] says it may be another
//! format, and summaries count each record under [`Format::name`].
//!
//! Adding a JSON source: a variant here (or in [`Vendor`]), its arms in the
//! `match`es below (the compiler asks for them), its place in [`ORDER`],
//! and its normaliser in [`crate::json::normalize_json`].

use serde_json::Value as J;

/// What a record was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `{"Event": …}`, as the `evtx` crate renders a record.
    EvtxJson,
    /// winlogbeat 7+ / Elastic Agent: a `winlog` object with `event_id`.
    Winlogbeat,
    /// winlogbeat 6.x (before ECS): `log_name`, `event_id` at the top level.
    Winlogbeat6,
    /// NXLog / OTRF / Logstash flat Windows-event JSON.
    WindowsFlat,
    /// A Plaso row holding a Windows EVTX record (told from [`Format::Plaso`]
    /// by its normaliser, which reads the record's XML).
    PlasoEvtx,
    /// Any other Plaso row.
    Plaso,
    Vendor(Vendor),
    /// Anything else: an ECS document, kept as it is.
    Ecs,
}

/// An EDR product's export, recognised from a JSON record's content.
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

/// Every format in the order [`detect`] tries them, cheapest and most
/// specific first; the first that recognises a record wins.
pub const ORDER: [Format; 12] = [
    Format::EvtxJson,
    Format::Winlogbeat,
    Format::Winlogbeat6,
    Format::WindowsFlat,
    Format::Plaso,
    Format::PlasoEvtx,
    Format::Vendor(Vendor::CrowdStrikeFdr),
    Format::Vendor(Vendor::ElasticDefend),
    Format::Vendor(Vendor::Endgame),
    Format::Vendor(Vendor::M365Defender),
    Format::Vendor(Vendor::SentinelOneCloudFunnel),
    Format::Ecs,
];

/// The top-level key of an Elasticsearch `_search` response, whose
/// `hits.hits[]._source` are the documents (readers unwrap it before
/// detection, see [`search_hits`]).
pub const SEARCH_HITS: &str = "hits";

/// The fields [`is_elastic_defend`] reads, for readers that build only
/// some fields.
pub const DEFEND_FIELDS: [&str; 2] = ["agent.type", "data_stream.dataset"];

impl Format {
    /// The name the format is counted under in a read summary.
    pub fn name(self) -> &'static str {
        match self {
            Format::EvtxJson => "evtx-json",
            Format::Winlogbeat | Format::Winlogbeat6 => "winlogbeat",
            Format::WindowsFlat => "windows-json",
            Format::PlasoEvtx => "plaso-evtx",
            Format::Plaso => "plaso",
            Format::Vendor(Vendor::CrowdStrikeFdr) => "crowdstrikefdr",
            Format::Vendor(Vendor::SentinelOneCloudFunnel) => "sentinelonecloudfunnel",
            Format::Vendor(Vendor::M365Defender) => "m365defender",
            Format::Vendor(Vendor::ElasticDefend) => "elasticdefend",
            Format::Vendor(Vendor::Endgame) => "endgame",
            Format::Ecs => "ecs",
        }
    }

    /// Top-level keys at least one of which every record of this format
    /// holds: a record with none of them is not of this format. Empty for
    /// the formats that are ECS already (told by value, see
    /// [`is_elastic_defend`]). A key too many only costs a fast path a line.
    pub fn marker_keys(self) -> &'static [&'static str] {
        match self {
            Format::EvtxJson => &["Event"],
            Format::Winlogbeat => &["winlog"],
            Format::Winlogbeat6 => &["log_name"],
            Format::WindowsFlat => &["EventID"],
            Format::Plaso | Format::PlasoEvtx => {
                &["__container_type__", "data_type", "timestamp_desc"]
            }
            Format::Vendor(Vendor::CrowdStrikeFdr) => &["event_simpleName"],
            Format::Vendor(Vendor::SentinelOneCloudFunnel) => {
                &["meta.event.name", "src.process.uid"]
            }
            Format::Vendor(Vendor::M365Defender) => &["category", "DeviceId"],
            Format::Vendor(Vendor::ElasticDefend) | Format::Ecs => &[],
            Format::Vendor(Vendor::Endgame) => &["event_type_full"],
        }
    }

    /// Is the record (an object's map) of this format? Formats earlier in
    /// [`ORDER`] have been ruled out.
    fn recognises(self, doc: &J, m: &serde_json::Map<String, J>) -> bool {
        match self {
            Format::EvtxJson => m
                .get("Event")
                .and_then(|e| e.get("System"))
                .is_some_and(|sys| crate::json::evtx_event_id(sys).is_some()),
            Format::Winlogbeat => m.get("winlog").is_some_and(|w| w.get("event_id").is_some()),
            Format::Winlogbeat6 => m.contains_key("log_name") && m.contains_key("event_id"),
            Format::WindowsFlat => {
                m.contains_key("EventID")
                    && (m.contains_key("Channel") || m.contains_key("SourceName"))
            }
            Format::Plaso => {
                m.contains_key("__container_type__")
                    || (m.contains_key("data_type") && m.contains_key("timestamp_desc"))
            }
            // a Plaso row; its normaliser tells whether it holds a record
            Format::PlasoEvtx => false,
            Format::Vendor(Vendor::CrowdStrikeFdr) => {
                m.contains_key("event_simpleName")
                    && (m.contains_key("aid") || m.contains_key("timestamp"))
            }
            Format::Vendor(Vendor::ElasticDefend) => is_elastic_defend(
                doc.get("agent")
                    .and_then(|a| a.get("type"))
                    .and_then(J::as_str),
                doc.get("data_stream")
                    .and_then(|d| d.get("dataset"))
                    .and_then(J::as_str),
            ),
            Format::Vendor(Vendor::Endgame) => {
                m.contains_key("event_type_full")
                    && (m.contains_key("unique_pid") || m.contains_key("pid"))
            }
            Format::Vendor(Vendor::M365Defender) => {
                m.get("category")
                    .and_then(J::as_str)
                    .is_some_and(|c| c.starts_with("AdvancedHunting-"))
                    || (m.contains_key("DeviceId")
                        && m.contains_key("ActionType")
                        && m.contains_key("Timestamp"))
            }
            Format::Vendor(Vendor::SentinelOneCloudFunnel) => {
                m.contains_key("meta.event.name")
                    || (m.contains_key("src.process.uid") && m.contains_key("agent.uuid"))
            }
            Format::Ecs => true,
        }
    }

    /// Is a record of this format ECS already, so that the document read
    /// stands for itself (echoed as read) rather than its normalised form?
    pub fn is_ecs(self) -> bool {
        matches!(self, Format::Ecs | Format::Vendor(Vendor::ElasticDefend))
    }
}

/// What a JSON record is; anything not an object is [`Format::Ecs`].
pub fn detect(doc: &J) -> Format {
    let Some(m) = doc.as_object() else {
        return Format::Ecs;
    };
    ORDER
        .into_iter()
        .find(|f| f.recognises(doc, m))
        .unwrap_or(Format::Ecs)
}

/// Is a document with this `agent.type` and `data_stream.dataset` an
/// Elastic Defend (Endpoint) document?
pub fn is_elastic_defend(agent_type: Option<&str>, dataset: Option<&str>) -> bool {
    agent_type == Some("endpoint") || dataset.is_some_and(|d| d.starts_with("endpoint."))
}

/// Could a document with this top-level key be read as something other
/// than plain ECS: a marker key of some format, or [`SEARCH_HITS`]? (A
/// `match`, which compiles to a length switch and word compares: fast
/// paths run it for every top-level key; a test keeps it equal to the
/// formats' [`Format::marker_keys`].)
pub fn is_marker_key(key: &[u8]) -> bool {
    matches!(
        key,
        b"Event"
            | b"winlog"
            | b"log_name"
            | b"EventID"
            | b"__container_type__"
            | b"data_type"
            | b"timestamp_desc"
            | b"event_simpleName"
            | b"event_type_full"
            | b"category"
            | b"DeviceId"
            | b"meta.event.name"
            | b"src.process.uid"
            | b"hits"
    )
}

/// Does `key` mark a format [`detect`] tries before `format` (or a search
/// dump)? A fast path for one format declines records holding such a key.
pub fn marks_earlier_format(key: &str, format: Format) -> bool {
    key == SEARCH_HITS
        || ORDER
            .iter()
            .take_while(|f| **f != format)
            .any(|f| f.marker_keys().contains(&key))
}

/// The documents of an Elasticsearch `_search` response
/// (`hits.hits[]._source`), or `None` when `doc` is not one.
pub fn search_hits(doc: &J) -> Option<impl Iterator<Item = &J>> {
    let hits = doc.get(SEARCH_HITS)?.get("hits")?.as_array()?;
    Some(hits.iter().filter_map(|h| h.get("_source")))
}

/// Could this JSON line be a CrowdStrike FDR record? A byte search that
/// sends most other lines past the FDR line reader.
pub fn may_be_fdr_line(line: &[u8]) -> bool {
    memchr::memmem::find(line, b"\"event_simpleName\"").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A record of each format, as the format's own exporter writes it.
    fn sample(f: Format) -> J {
        match f {
            Format::EvtxJson => {
                json!({"Event":{"System":{"EventID":4688,"Channel":"Security"},"EventData":{}}})
            }
            Format::Winlogbeat => json!({"winlog":{"event_id":"1","channel":"x"}}),
            Format::Winlogbeat6 => json!({"log_name":"Security","event_id":4688}),
            Format::WindowsFlat => json!({"EventID":1,"Channel":"x"}),
            Format::Plaso => json!({"data_type":"fs:stat","timestamp_desc":"Creation Time"}),
            Format::PlasoEvtx => {
                json!({"__container_type__":"event","data_type":"windows:evtx:record"})
            }
            Format::Vendor(Vendor::CrowdStrikeFdr) => {
                json!({"event_simpleName":"ProcessRollup2","aid":"a"})
            }
            Format::Vendor(Vendor::SentinelOneCloudFunnel) => {
                json!({"meta.event.name":"PROCESSCREATION"})
            }
            Format::Vendor(Vendor::M365Defender) => {
                json!({"category":"AdvancedHunting-DeviceProcessEvents","properties":{}})
            }
            Format::Vendor(Vendor::ElasticDefend) => json!({"agent":{"type":"endpoint"}}),
            Format::Vendor(Vendor::Endgame) => json!({"event_type_full":"process_event","pid":4}),
            Format::Ecs => json!({"process":{"name":"x"}}),
        }
    }

    #[test]
    fn each_format_is_recognised_by_its_markers() {
        for f in ORDER {
            let doc = sample(f);
            // Plaso rows are told apart by their normaliser
            let want = if f == Format::PlasoEvtx {
                Format::Plaso
            } else {
                f
            };
            assert_eq!(detect(&doc), want, "{doc}");
            let keys = doc.as_object().unwrap();
            if !f.marker_keys().is_empty() {
                assert!(
                    keys.keys().any(|k| f.marker_keys().contains(&k.as_str())),
                    "{doc}"
                );
            }
        }
        assert_eq!(detect(&json!([1])), Format::Ecs);
        assert_eq!(
            detect(&json!({"Event":{"System":{"EventID":"x"}}})),
            Format::Ecs
        );
    }

    #[test]
    fn the_marker_match_is_the_formats_keys() {
        let mut keys: Vec<&str> = ORDER
            .iter()
            .flat_map(|f| f.marker_keys())
            .copied()
            .collect();
        keys.push(SEARCH_HITS);
        for k in &keys {
            assert!(is_marker_key(k.as_bytes()), "{k}");
        }
        let listed = [
            "Event",
            "winlog",
            "log_name",
            "EventID",
            "__container_type__",
            "data_type",
            "timestamp_desc",
            "event_simpleName",
            "event_type_full",
            "category",
            "DeviceId",
            "meta.event.name",
            "src.process.uid",
            "hits",
        ];
        for k in listed {
            assert!(keys.contains(&k), "{k} matched but no format's marker");
        }
        for k in ["event", "Events", "winlog.channel", "", "hit"] {
            assert!(!is_marker_key(k.as_bytes()), "{k}");
        }
    }

    #[test]
    fn earlier_formats_markers() {
        let fdr = Format::Vendor(Vendor::CrowdStrikeFdr);
        for k in [
            "Event",
            "winlog",
            "log_name",
            "EventID",
            "data_type",
            "hits",
        ] {
            assert!(marks_earlier_format(k, fdr), "{k}");
        }
        for k in ["event_simpleName", "category", "aid"] {
            assert!(!marks_earlier_format(k, fdr), "{k}");
        }
    }
}
