//! Index patterns: which Elasticsearch index an event would have been stored
//! in, and whether a rule's `index` patterns cover it.

use quarry_eql::glob::Glob;
use quarry_event::Event;

/// One compiled entry of a rule's `index` list, with Elasticsearch semantics:
/// `*` matches any run of characters, everything else is exact, and a leading
/// `-` makes it an exclusion.
#[derive(Debug, Clone)]
pub struct IndexPattern {
    pub text: String,
    pub exclude: bool,
    glob: Glob,
}

/// Patterns are equal when written alike (the rest is compiled from `text`).
impl PartialEq for IndexPattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for IndexPattern {}

impl IndexPattern {
    pub fn new(text: &str) -> Self {
        let (exclude, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        IndexPattern {
            text: text.to_string(),
            exclude,
            glob: Glob::star_only(body),
        }
    }

    /// Whether the pattern (ignoring its `-`) matches `index`.
    pub fn matches(&self, index: &str) -> bool {
        self.glob.matches(index)
    }
}

/// True when some including pattern matches and no excluding one does. An
/// empty list (a rule using a data view) matches every index.
pub(crate) fn patterns_match(patterns: &[IndexPattern], index: &str) -> bool {
    if patterns.is_empty() {
        return true;
    }
    let mut included = false;
    for p in patterns {
        if p.matches(index) {
            if p.exclude {
                return false;
            }
            included = true;
        }
    }
    included
}

/// The Elasticsearch index the event would have had if it had been shipped
/// by the agent that its shape suggests:
///
/// - Endgame (`event.dataset`/`data_stream.dataset` starting with `endgame`,
///   `agent.type == "endgame"`, or, without a data stream, any `endgame.*`
///   field): `endgame-quarry`;
/// - a data stream (`data_stream.dataset`): `<type>-<dataset>-<namespace>`,
///   type defaulting to `logs` and namespace to `default`;
/// - Winlogbeat (`agent.type == "winlogbeat"`, or `winlog.*` fields without a
///   data stream): `winlogbeat-quarry`;
/// - otherwise `quarry-<event.dataset>` (`quarry-unknown` without one).
///
/// Fields are only scanned for events without a data stream; data-stream
/// events cost a few lookups.
pub fn index_name(ev: &Event) -> String {
    let ds = ev.get_str("data_stream.dataset").filter(|s| !s.is_empty());
    let event_ds = ev.get_str("event.dataset").filter(|s| !s.is_empty());
    let agent = ev.get_str("agent.type").unwrap_or("");
    if ds.is_some_and(|d| d.starts_with("endgame"))
        || event_ds.is_some_and(|d| d.starts_with("endgame"))
        || agent.eq_ignore_ascii_case("endgame")
    {
        return "endgame-quarry".to_string();
    }
    if let Some(ds) = ds {
        let ty = ev
            .get_str("data_stream.type")
            .filter(|s| !s.is_empty())
            .unwrap_or("logs");
        let ns = ev
            .get_str("data_stream.namespace")
            .filter(|s| !s.is_empty())
            .unwrap_or("default");
        return format!("{ty}-{ds}-{ns}");
    }
    let mut winlogbeat = agent.eq_ignore_ascii_case("winlogbeat");
    for (k, _) in ev.fields() {
        if k.starts_with("endgame.") {
            return "endgame-quarry".to_string();
        }
        winlogbeat |= k.starts_with("winlog.");
    }
    if winlogbeat {
        return "winlogbeat-quarry".to_string();
    }
    format!("quarry-{}", event_ds.unwrap_or("unknown"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_event::Origin;

    fn pats(list: &[&str]) -> Vec<IndexPattern> {
        list.iter().map(|p| IndexPattern::new(p)).collect()
    }

    #[test]
    fn elasticsearch_wildcards() {
        let p = pats(&[
            "logs-crowdstrike.fdr*",
            "winlogbeat-*",
            "logs-system.security*",
        ]);
        assert!(patterns_match(&p, "logs-crowdstrike.fdr-default"));
        assert!(patterns_match(&p, "winlogbeat-quarry"));
        assert!(patterns_match(&p, "logs-system.security-default"));
        assert!(!patterns_match(&p, "logs-system.system-default"));
        // exact otherwise, and case matters as in index names
        assert!(!patterns_match(&pats(&["logs-x"]), "logs-x-default"));
        assert!(!patterns_match(&pats(&["Logs-*"]), "logs-x"));
        // `?` is literal in index patterns
        assert!(!patterns_match(&pats(&["logs-?"]), "logs-a"));
        // exclusions
        let p = pats(&["logs-*", "-logs-aws.*"]);
        assert!(patterns_match(&p, "logs-windows.forwarded-default"));
        assert!(!patterns_match(&p, "logs-aws.cloudtrail-default"));
        assert!(!patterns_match(&pats(&["-logs-aws.*"]), "logs-x"));
        assert!(patterns_match(&[], "anything"));
    }

    fn ev(fields: &[(&str, &str)]) -> Event {
        let mut e = Event::new(Origin::default());
        for (k, v) in fields {
            e.set(k, *v);
        }
        e
    }

    #[test]
    fn index_names() {
        assert_eq!(
            index_name(&ev(&[(
                "data_stream.dataset",
                "windows.sysmon_operational"
            )])),
            "logs-windows.sysmon_operational-default"
        );
        assert_eq!(
            index_name(&ev(&[
                ("data_stream.dataset", "crowdstrike.fdr"),
                ("data_stream.namespace", "lab"),
                ("data_stream.type", "logs"),
            ])),
            "logs-crowdstrike.fdr-lab"
        );
        assert_eq!(
            index_name(&ev(&[
                ("agent.type", "winlogbeat"),
                ("winlog.channel", "Security")
            ])),
            "winlogbeat-quarry"
        );
        assert_eq!(
            index_name(&ev(&[("winlog.event_id", "1")])),
            "winlogbeat-quarry"
        );
        assert_eq!(
            index_name(&ev(&[("event.dataset", "endgame.process")])),
            "endgame-quarry"
        );
        assert_eq!(
            index_name(&ev(&[("endgame.pid", "4"), ("event.dataset", "x")])),
            "endgame-quarry"
        );
        assert_eq!(
            index_name(&ev(&[("event.dataset", "zeek.dns")])),
            "quarry-zeek.dns"
        );
        assert_eq!(index_name(&ev(&[])), "quarry-unknown");
    }
}
