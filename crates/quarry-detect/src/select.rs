//! Which rules can match an event: those whose `index` patterns cover the
//! index the event would be stored in, and whose query's category is one of
//! the event's (`any where` rules and sequences are filed under the empty
//! category and tried on every event of their indices) — or, for a rule
//! restricted to narrower kinds of event ([`SelectKey`]: a Sigma rule's
//! Windows channels and event ids), one of those. The answer depends only
//! on (index, category, channel, event id), so it is computed once per
//! such key and shared by every core.

use crate::book::CompiledRule;
use crate::frontend::SelectKey;
use quarry_event::Event;
use quarry_rules::index_name;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// (index, category, lower-cased `winlog.channel`, `winlog.event_id`).
type Key = (String, String, Option<String>, Option<String>);
type ByKey = HashMap<Key, Arc<Vec<usize>>>;

/// The rule index of a [`crate::RuleBook`]'s rules.
pub struct Selector<'a> {
    rules: &'a [CompiledRule],
    by_key: RwLock<ByKey>,
}

impl<'a> Selector<'a> {
    pub fn new(rules: &'a [CompiledRule]) -> Self {
        Selector {
            rules,
            by_key: RwLock::new(HashMap::new()),
        }
    }

    /// The positions of the rules `ev` matches, in rule order.
    pub fn matching(&self, ev: &Event) -> Vec<usize> {
        let index = index_name(ev);
        let channel = ev.get_str("winlog.channel").map(str::to_ascii_lowercase);
        let event_id = channel
            .as_ref()
            .and_then(|_| ev.get("winlog.event_id")?.to_text())
            .map(|id| id.into_owned());
        let mut matched: Vec<usize> = Vec::new();
        let categories = ev.get("event.category");
        let categories = categories
            .iter()
            .flat_map(|v| v.iter())
            .filter_map(|c| c.as_str())
            .chain(std::iter::once(""));
        for cat in categories {
            let key = (
                index.clone(),
                cat.to_string(),
                channel.clone(),
                event_id.clone(),
            );
            for &i in self.applicable(key).iter() {
                if !matched.contains(&i) && self.rules[i].query.matches(ev) {
                    matched.push(i);
                }
            }
        }
        matched
    }

    /// The rules that may match events of this key.
    fn applicable(&self, key: Key) -> Arc<Vec<usize>> {
        if let Some(v) = self.by_key.read().ok().and_then(|m| m.get(&key).cloned()) {
            return v;
        }
        let (index, category, channel, event_id) = &key;
        let v: Arc<Vec<usize>> = Arc::new(
            (0..self.rules.len())
                .filter(|&i| {
                    let r = &self.rules[i];
                    r.rule.matches_index(index)
                        && if r.keys.is_empty() {
                            match r.query.category() {
                                Some(c) => c == category,
                                None => category.is_empty(),
                            }
                        } else {
                            r.keys
                                .iter()
                                .any(|k| fits(k, category, channel.as_deref(), event_id.as_deref()))
                        }
                })
                .collect(),
        );
        if let Ok(mut m) = self.by_key.write() {
            m.insert(key, v.clone());
        }
        v
    }
}

/// Whether events of (category, channel, event id) are of the kind `k`:
/// Windows keys are tried in the empty-category pass, category keys in
/// their category's.
fn fits(k: &SelectKey, category: &str, channel: Option<&str>, event_id: Option<&str>) -> bool {
    match k {
        SelectKey::Windows {
            channel: want,
            event_ids,
        } => {
            let Some(ch) = channel.filter(|_| category.is_empty()) else {
                return false;
            };
            let want = want.to_ascii_lowercase();
            let channel_ok = if want.contains('*') {
                quarry_sigma::condition::name_matches(&want, ch)
            } else {
                want == ch
            };
            channel_ok
                && (event_ids.is_empty()
                    || event_id.is_some_and(|id| event_ids.iter().any(|w| w == id)))
        }
        SelectKey::Category(c) => channel.is_none() && c == category,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuleBook;

    fn book(rules: &[(&str, &str, &str)]) -> RuleBook {
        let mut set = quarry_rules::RuleSet::default();
        for (id, index, query) in rules {
            let text = format!(
                "[rule]\nrule_id = \"{id}\"\nname = \"{id}\"\ntype = \"eql\"\nlanguage = \"eql\"\nindex = [\"{index}\"]\nquery = '{query}'\n"
            );
            set.extend(quarry_rules::load_str(&text, format!("{id}.toml").into()));
        }
        RuleBook::compile(set)
    }

    #[test]
    fn a_rule_is_tried_only_on_its_indices_and_categories() {
        let b = book(&[
            (
                "proc",
                "logs-windows.*",
                "process where process.name == \"a.exe\"",
            ),
            ("any", "logs-*", "any where process.name == \"a.exe\""),
            (
                "aws",
                "logs-aws.*",
                "process where process.name == \"a.exe\"",
            ),
            ("net", "logs-*", "network where process.name == \"a.exe\""),
        ]);
        let sel = Selector::new(&b.rules);
        let mut ev = Event::default();
        ev.set("data_stream.type", "logs");
        ev.set("data_stream.dataset", "windows.sysmon_operational");
        ev.set("data_stream.namespace", "default");
        ev.set("event.category", vec!["process"]);
        ev.set("process.name", "a.exe");
        let ids: Vec<&str> = sel
            .matching(&ev)
            .into_iter()
            .map(|i| b.rules[i].rule.rule_id.as_str())
            .collect();
        assert_eq!(ids, ["proc", "any"]);
    }

    #[test]
    fn a_keyed_rule_is_tried_only_on_its_channels_and_ids() {
        let mut b = book(&[("sigma", "*", "any where process.name == \"a.exe\"")]);
        b.rules[0].keys = vec![
            SelectKey::Windows {
                channel: "Microsoft-Windows-Sysmon/Operational".into(),
                event_ids: vec!["1".into()],
            },
            SelectKey::Category("process".into()),
        ];
        let sel = Selector::new(&b.rules);
        let ev = |channel: Option<&str>, id: &str| {
            let mut ev = Event::default();
            if let Some(c) = channel {
                ev.set("winlog.channel", c);
                ev.set("winlog.event_id", id);
            }
            ev.set("event.category", vec!["process"]);
            ev.set("process.name", "a.exe");
            ev
        };
        assert_eq!(
            sel.matching(&ev(Some("microsoft-windows-sysmon/operational"), "1")),
            [0]
        );
        assert!(
            sel.matching(&ev(Some("Microsoft-Windows-Sysmon/Operational"), "5"))
                .is_empty()
        );
        assert!(sel.matching(&ev(Some("Security"), "1")).is_empty());
        // not a Windows record: its category decides
        assert_eq!(sel.matching(&ev(None, "")), [0]);
    }
}
