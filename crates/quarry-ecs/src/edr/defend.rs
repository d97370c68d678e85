//! Elastic Defend (Endpoint) documents are ECS already; quarry keeps them
//! as they are and adds what the `endpoint` package's ingest pipeline adds:
//! `dns.question.type` from the DNS event message ("… type 28" → AAAA), and
//! `event.dataset` / `data_stream.*` (`endpoint.events.<category>`) where a
//! raw export lacks them.

use quarry_event::{Event, Origin};
use serde_json::Value as J;

pub fn normalize(doc: &J, origin: Origin, _problems: &mut Vec<String>) -> Event {
    let mut ev = Event::from_json(doc, origin);
    if ev.get_str("network.protocol") == Some("dns") && !ev.contains("dns.question.type") {
        let ty = ev
            .get_str("message")
            .and_then(|m| m.rsplit_once(" type "))
            .map(|(_, code)| code.trim().to_string())
            .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()));
        if let Some(code) = ty {
            ev.set(
                "dns.question.type",
                crate::common::dns_type(&code).to_string(),
            );
        }
    }
    if !ev.contains("data_stream.dataset") {
        let category = ev
            .get("event.category")
            .and_then(|v| v.iter().find_map(|x| x.as_str().map(str::to_string)));
        if let Some(c) = category {
            let ds = format!("endpoint.events.{c}");
            ev.set("data_stream.type", "logs");
            ev.set("data_stream.dataset", ds.as_str());
            ev.set("data_stream.namespace", "default");
            ev.set_default("event.dataset", ds);
        }
    }
    ev.set_default("event.module", "endpoint");
    ev
}
