//! Which rules can match an event: those whose `index` patterns cover the
//! index the event would be stored in, and whose query's category is one of
//! the event's (`any where` rules and sequences are filed under the empty
//! category and tried on every event of their indices). The answer depends
//! only on (index, category), so it is computed once per pair and shared
//! by every core.

use crate::book::CompiledRule;
use quarry_event::Event;
use quarry_rules::index_name;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

type ByKey = HashMap<(String, String), Arc<Vec<usize>>>;

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
        let mut matched: Vec<usize> = Vec::new();
        let categories = ev.get("event.category");
        let categories = categories
            .iter()
            .flat_map(|v| v.iter())
            .filter_map(|c| c.as_str())
            .chain(std::iter::once(""));
        for cat in categories {
            for &i in self.applicable(&index, cat).iter() {
                if !matched.contains(&i) && self.rules[i].query.matches(ev) {
                    matched.push(i);
                }
            }
        }
        matched
    }

    /// The rules that may match events of `index` and `category`.
    fn applicable(&self, index: &str, category: &str) -> Arc<Vec<usize>> {
        let key = (index.to_string(), category.to_string());
        if let Some(v) = self.by_key.read().ok().and_then(|m| m.get(&key).cloned()) {
            return v;
        }
        let v: Arc<Vec<usize>> = Arc::new(
            (0..self.rules.len())
                .filter(|&i| {
                    let r = &self.rules[i];
                    r.rule.matches_index(index)
                        && match r.query.category() {
                            Some(c) => c == category,
                            None => category.is_empty(),
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
}
