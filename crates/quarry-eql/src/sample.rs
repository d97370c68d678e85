//! Samples: unordered groups of events sharing join-key values, one event
//! per term, at most `max_samples_per_key` samples per key, ordered by key.
//! Like sequences, all state is keyed by join key.

use crate::ast::{self, Expr};
use crate::compile::{Compiler, FieldRef};
use crate::error::EqlError;
use crate::eval;
use crate::sequence::{TermC, compile_terms, key_id, key_tuples};
use crate::value::V;
use crate::{Filter, Hit};
use quarry_event::Event;
use rustc_hash::FxHashMap;

#[derive(Debug, Clone)]
pub struct Sample {
    terms: Vec<TermC>,
}

impl Sample {
    pub(crate) fn compile(
        cx: &Compiler,
        keys: &[Expr],
        terms: &[ast::Term],
        filter: &dyn Fn(&ast::EventQuery) -> Result<Filter, EqlError>,
    ) -> Result<Self, EqlError> {
        Ok(Sample {
            terms: compile_terms(cx, keys, terms, filter)?,
        })
    }

    pub(crate) fn filters(&self) -> impl Iterator<Item = &Filter> {
        self.terms.iter().map(|t| &t.filter)
    }

    pub(crate) fn key_fields(&self, out: &mut Vec<String>) {
        for t in &self.terms {
            for k in &t.keys {
                crate::compile::fields(&k.expr, out);
            }
        }
    }

    /// Per join key, the events matching each term (in time order); a
    /// sample takes one distinct event per term, in term order. Samples
    /// come ordered by their join keys.
    pub(crate) fn run(&self, events: &[&Event], cat: &FieldRef, per_key: usize) -> Vec<Hit> {
        let n = self.terms.len();
        let mut order: Vec<String> = Vec::new();
        let mut groups: FxHashMap<String, (Vec<V<'static>>, Vec<Vec<usize>>)> =
            FxHashMap::default();
        for (ei, ev) in events.iter().enumerate() {
            for (ti, t) in self.terms.iter().enumerate() {
                if !t.filter.matches(ev, cat) {
                    continue;
                }
                for k in key_tuples(&t.keys, ev) {
                    let id = key_id(&k);
                    let g = groups.entry(id.clone()).or_insert_with(|| {
                        order.push(id.clone());
                        (
                            k.iter().cloned().map(V::into_owned).collect(),
                            vec![Vec::new(); n],
                        )
                    });
                    g.1[ti].push(ei);
                }
            }
        }
        let mut hits: Vec<(Vec<V<'static>>, Hit)> = Vec::new();
        for id in order {
            let Some((keys, lists)) = groups.get(&id) else {
                continue;
            };
            let mut used = rustc_hash::FxHashSet::default();
            let mut cursor = vec![0usize; n];
            'samples: for _ in 0..per_key {
                let mut picked = Vec::with_capacity(n);
                for ti in 0..n {
                    loop {
                        let Some(&e) = lists[ti].get(cursor[ti]) else {
                            break 'samples;
                        };
                        cursor[ti] += 1;
                        if !used.contains(&e) && !picked.contains(&e) {
                            picked.push(e);
                            break;
                        }
                    }
                }
                used.extend(picked.iter().copied());
                hits.push((
                    keys.clone(),
                    Hit::Sample {
                        join_keys: keys.iter().map(V::to_json).collect(),
                        events: picked.iter().map(|&e| (*events[e]).clone()).collect(),
                    },
                ));
            }
        }
        hits.sort_by(|(a, _), (b, _)| {
            a.iter()
                .zip(b)
                .map(|(x, y)| match (x, y) {
                    (V::Null, V::Null) => std::cmp::Ordering::Equal,
                    (V::Null, _) => std::cmp::Ordering::Less,
                    (_, V::Null) => std::cmp::Ordering::Greater,
                    _ => eval::order(x, y).unwrap_or(std::cmp::Ordering::Equal),
                })
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        hits.into_iter().map(|(_, h)| h).collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::{Hit, Options, compile};
    use quarry_event::Event;

    fn ev(id: i64, cat: &str, host: &str) -> Event {
        let mut e = Event::default();
        e.set("id", id);
        e.set("event.category", vec![cat]);
        e.set("host.id", host);
        e
    }

    fn samples(
        q: &str,
        per_key: usize,
        events: Vec<Event>,
    ) -> Vec<(Vec<serde_json::Value>, Vec<i64>)> {
        let opts = Options {
            max_samples_per_key: per_key,
            ..Options::default()
        };
        let q = compile(q, &opts).expect("compiles");
        q.run(events)
            .into_iter()
            .filter_map(|h| match h {
                Hit::Sample { join_keys, events } => Some((
                    join_keys,
                    events.iter().filter_map(|e| e.get_i64("id")).collect(),
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn unordered_one_event_per_term_per_key() {
        // The network event comes first: samples ignore time order.
        let events = vec![
            ev(1, "network", "b"),
            ev(2, "process", "b"),
            ev(3, "process", "a"),
        ];
        let got = samples(
            "sample by host.id [process where true] [network where true]",
            1,
            events,
        );
        assert_eq!(got, vec![(vec![serde_json::json!("b")], vec![2, 1])]);
    }

    #[test]
    fn max_samples_per_key_and_distinct_events() {
        let events = vec![
            ev(1, "process", "a"),
            ev(2, "process", "a"),
            ev(3, "process", "a"),
            ev(4, "process", "a"),
        ];
        let q = "sample by host.id [process where true] [process where true]";
        let got = samples(q, 5, events);
        assert_eq!(
            got.iter().map(|s| s.1.clone()).collect::<Vec<_>>(),
            vec![vec![1, 2], vec![3, 4]]
        );
    }

    #[test]
    fn null_key_only_when_optional() {
        let mut e1 = ev(1, "process", "a");
        e1.remove("host.id");
        let mut e2 = ev(2, "network", "a");
        e2.remove("host.id");
        let got = samples(
            "sample by host.id [process where true] [network where true]",
            1,
            vec![e1.clone(), e2.clone()],
        );
        assert!(got.is_empty());
        let got = samples(
            "sample by ?host.id [process where true] [network where true]",
            1,
            vec![e1, e2],
        );
        assert_eq!(got, vec![(vec![serde_json::Value::Null], vec![1, 2])]);
    }
}
