//! Samples: unordered groups of events sharing join-key values, one event
//! per term, at most `max_samples_per_key` samples per key, ordered by key —
//! chosen as Elasticsearch's `SampleIterator` chooses them: per key and term
//! the first `terms + max_samples_per_key - 1` matching events, then the
//! first combinations of distinct events in depth-first order (an event can
//! serve several samples of its key). Like sequences, all state is keyed by
//! join key.

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

    /// Per join key, the first `n + per_key - 1` events matching each of
    /// the `n` terms (in the order given), as Elasticsearch's final stage
    /// fetches them; then [`match_samples`] picks up to `per_key` samples
    /// of one distinct event per term. Samples come ordered by their join
    /// keys.
    pub(crate) fn run(&self, events: &[&Event], cat: &FieldRef, per_key: usize) -> Vec<Hit> {
        let n = self.terms.len();
        let wanted = n + per_key.max(1) - 1;
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
                    if g.1[ti].len() < wanted {
                        g.1[ti].push(ei);
                    }
                }
            }
        }
        let mut hits: Vec<(Vec<V<'static>>, Hit)> = Vec::new();
        for id in order {
            let Some((keys, lists)) = groups.get(&id) else {
                continue;
            };
            for picked in match_samples(lists, per_key) {
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

/// Elasticsearch's `SampleIterator.matchSamples`: the first `max`
/// combinations of one event per list, in depth-first order over the lists
/// as given, no event twice in one combination (an event may serve
/// several samples of a key).
fn match_samples(lists: &[Vec<usize>], max: usize) -> Vec<Vec<usize>> {
    fn dfs(
        lists: &[Vec<usize>],
        at: usize,
        cur: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
        max: usize,
    ) {
        for &e in &lists[at] {
            if out.len() >= max {
                return;
            }
            if cur.contains(&e) {
                continue;
            }
            cur.push(e);
            if at + 1 == lists.len() {
                out.push(cur.clone());
            } else {
                dfs(lists, at + 1, cur, out, max);
            }
            cur.pop();
        }
    }
    let mut out = Vec::new();
    if lists.is_empty() || lists.iter().any(Vec::is_empty) {
        return out;
    }
    dfs(
        lists,
        0,
        &mut Vec::with_capacity(lists.len()),
        &mut out,
        max,
    );
    out
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

    /// Elasticsearch's `SampleIteratorTests.testMatchSamples`, case by case
    /// (its lists may repeat a document; ours hold each event once per
    /// term, which the cases with repeats still exercise).
    #[test]
    fn match_samples_as_elasticsearch() {
        use super::match_samples;
        assert_eq!(
            match_samples(&[vec![1, 1, 2], vec![1, 1, 1], vec![1, 1, 3]], 1),
            vec![vec![2, 1, 3]]
        );
        assert_eq!(
            match_samples(&[vec![1, 2, 3], vec![4, 5], vec![4, 5, 3]], 1),
            vec![vec![1, 4, 5]]
        );
        assert_eq!(
            match_samples(&[vec![1], vec![2], vec![3]], 1),
            vec![vec![1, 2, 3]]
        );
        for none in [
            vec![vec![3], vec![3], vec![3]],
            vec![vec![1], vec![1], vec![3]],
            vec![vec![1], vec![3], vec![3]],
            vec![vec![1, 1, 1], vec![1, 1, 1], vec![1, 1, 3]],
        ] {
            assert!(match_samples(&none, 1).is_empty(), "{none:?}");
        }
        // multiple samples per key: depth-first, events reused across samples
        let all = vec![
            vec![1, 3, 4],
            vec![1, 4, 3],
            vec![2, 1, 3],
            vec![2, 1, 4],
            vec![2, 3, 1],
            vec![2, 3, 4],
            vec![2, 4, 1],
            vec![2, 4, 3],
            vec![3, 1, 4],
            vec![3, 4, 1],
        ];
        let lists = [vec![1, 2, 3], vec![1, 3, 4], vec![1, 3, 4]];
        for i in 1..=all.len() {
            assert_eq!(match_samples(&lists, i), all[..i].to_vec());
        }
        assert_eq!(match_samples(&lists, all.len() + 1), all);
    }

    #[test]
    fn max_samples_per_key_reuses_events_across_samples() {
        let events = vec![
            ev(1, "process", "a"),
            ev(2, "process", "a"),
            ev(3, "process", "a"),
            ev(4, "process", "a"),
        ];
        let q = "sample by host.id [process where true] [process where true]";
        // each term's first n + k - 1 = 2 + 3 - 1 = 4 events, then
        // depth-first combinations
        let got = samples(q, 3, events.clone());
        assert_eq!(
            got.iter().map(|s| s.1.clone()).collect::<Vec<_>>(),
            vec![vec![1, 2], vec![1, 3], vec![1, 4]]
        );
        // one sample per key: the first events that differ
        let got = samples(q, 1, events);
        assert_eq!(
            got.iter().map(|s| s.1.clone()).collect::<Vec<_>>(),
            vec![vec![1, 2]]
        );
    }

    /// A greedy pick (the first free event per term) misses the sample
    /// that backtracking finds.
    #[test]
    fn backtracks_to_find_distinct_events() {
        let mut e1 = ev(1, "process", "a");
        e1.set("event.category", vec!["process", "network"]);
        let e2 = ev(2, "process", "a");
        let got = samples(
            "sample by host.id [process where true] [network where true]",
            1,
            vec![e1, e2],
        );
        assert_eq!(got, vec![(vec![serde_json::json!("a")], vec![2, 1])]);
    }

    /// Join keys on ip fields meet by address, as Elasticsearch's composite
    /// keys do (one address in two spellings), and come back formatted as
    /// Elasticsearch formats ips.
    #[test]
    fn ip_keys_join_by_address() {
        let mapping = crate::Mapping::from_json(&serde_json::json!({"properties": {
            "src": {"type": "ip"}, "dst": {"type": "ip"}}}));
        let opts = Options {
            mapping: Some(mapping),
            ..Options::default()
        };
        let mut a = ev(1, "network", "h");
        a.set("src", "2001:DB8:0:0:0:0:0:1");
        let mut b = ev(2, "process", "h");
        b.set("dst", "2001:db8::1");
        let mut c = ev(3, "process", "h");
        c.set("dst", "::ffff:10.0.0.1");
        let mut d = ev(4, "network", "h");
        d.set("src", "10.0.0.1");
        let q = compile(
            "sample [network where true] by src [process where true] by dst",
            &opts,
        )
        .expect("compiles");
        let got: Vec<(Vec<serde_json::Value>, usize)> = q
            .run(vec![a, b, c, d])
            .into_iter()
            .filter_map(|h| match h {
                Hit::Sample { join_keys, events } => Some((join_keys, events.len())),
                _ => None,
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (vec![serde_json::json!("10.0.0.1")], 2),
                (vec![serde_json::json!("2001:db8::1")], 2)
            ]
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
        // an empty array or an array of nulls is no value: a null key too
        let mut e3 = ev(3, "process", "a");
        e3.set("host.id", quarry_event::Value::Array(vec![]));
        let mut e4 = ev(4, "network", "a");
        e4.set(
            "host.id",
            quarry_event::Value::Array(vec![quarry_event::Value::Null]),
        );
        let got = samples(
            "sample by ?host.id [process where true] [network where true]",
            1,
            vec![e3.clone(), e4.clone()],
        );
        assert_eq!(got, vec![(vec![serde_json::Value::Null], vec![3, 4])]);
        let got = samples(
            "sample by host.id [process where true] [network where true]",
            1,
            vec![e3, e4],
        );
        assert!(got.is_empty());
    }
}
