//! The Elasticsearch index an event would have been written to, so a
//! detection rule's `index` patterns (`logs-windows.sysmon_operational-*`,
//! `winlogbeat-*`, `endgame-*`, …) select exactly the sources they name.

use quarry_event::Event;

/// `logs-<dataset>-<namespace>` for data-stream events, `winlogbeat-quarry`
/// for winlogbeat documents, `endgame-quarry` for Endgame events, and
/// `quarry-<dataset>` for anything else.
pub fn index_name(ev: &Event) -> String {
    if ev.get_str("agent.type") == Some("winlogbeat") && !ev.contains("data_stream.dataset") {
        return "winlogbeat-quarry".into();
    }
    let dataset = ev
        .get_str("data_stream.dataset")
        .or_else(|| ev.get_str("event.dataset"));
    if dataset.is_some_and(|d| d.starts_with("endgame"))
        || ev.get_str("agent.type") == Some("endgame")
    {
        return "endgame-quarry".into();
    }
    match (ev.get_str("data_stream.dataset"), dataset) {
        (Some(ds), _) => {
            let ty = ev.get_str("data_stream.type").unwrap_or("logs");
            let ns = ev.get_str("data_stream.namespace").unwrap_or("default");
            format!("{ty}-{ds}-{ns}")
        }
        (None, Some(d)) => format!("quarry-{d}"),
        (None, None) => "quarry-unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let mut e = Event::default();
        e.set("data_stream.dataset", "windows.sysmon_operational");
        assert_eq!(index_name(&e), "logs-windows.sysmon_operational-default");
        let mut w = Event::default();
        w.set("agent.type", "winlogbeat");
        assert_eq!(index_name(&w), "winlogbeat-quarry");
        assert_eq!(index_name(&Event::default()), "quarry-unknown");
    }
}
