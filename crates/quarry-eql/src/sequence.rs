//! Sequences.
//!
//! A sequence is matched by Elasticsearch's state machine: per join key,
//! one pending partial match per state (a newer partial overwrites an older
//! one in the same state); an event matching term *i* advances the partial
//! in state *i-1*; `maxspan` bounds the whole match; an `until` event
//! discards the key's partials; missing-event terms `![…]` are checked once
//! the positive terms matched. Samples are in [`crate::sample`]. All state is keyed by join key, so the work
//! partitions by host when the key starts with `host.id`.

use crate::ast::{self, Expr};
use crate::compile::{C, Compiler, FieldKind, FieldRef};
use crate::error::EqlError;
use crate::eval;
use crate::value::V;
use crate::{Filter, Hit};
use quarry_event::Event;
use rustc_hash::FxHashMap;

#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub(crate) expr: C,
    pub(crate) optional: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct TermC {
    pub(crate) filter: Filter,
    pub(crate) keys: Vec<Key>,
    pub(crate) missing: bool,
}

fn compile_keys(cx: &Compiler, common: &[Expr], own: &[Expr]) -> Result<Vec<Key>, EqlError> {
    common
        .iter()
        .chain(own)
        .map(|k| {
            let optional = matches!(k, Expr::Field { optional: true, .. });
            Ok(Key {
                expr: cx.compile(k)?,
                optional,
            })
        })
        .collect()
}

pub(crate) fn compile_terms(
    cx: &Compiler,
    keys: &[Expr],
    terms: &[ast::Term],
    filter: &dyn Fn(&ast::EventQuery) -> Result<Filter, EqlError>,
) -> Result<Vec<TermC>, EqlError> {
    let mut out = Vec::new();
    let mut nkeys = None;
    for t in terms {
        let keys = compile_keys(cx, keys, &t.keys)?;
        if *nkeys.get_or_insert(keys.len()) != keys.len() {
            return Err(EqlError::new(
                "Inconsistent number of join keys specified: expected the same number of keys in every term",
                0,
                cx.src,
            ));
        }
        let term = TermC {
            filter: filter(&t.query)?,
            keys,
            missing: t.missing,
        };
        for _ in 0..t.runs {
            out.push(term.clone());
        }
    }
    Ok(out)
}

/// The join-key values an event yields for a term: one tuple per
/// combination of the values of multi-valued keys; none when a required
/// key is null.
pub(crate) fn key_tuples<'a>(keys: &'a [Key], ev: &'a Event) -> Vec<Vec<V<'a>>> {
    let mut tuples: Vec<Vec<V<'a>>> = vec![Vec::with_capacity(keys.len())];
    for k in keys {
        let v = eval::eval(&k.expr, ev);
        let mut values: Vec<V<'a>> = match v {
            V::Many(vs) => vs.into_iter().filter(|x| !x.is_null()).collect(),
            V::Null => Vec::new(),
            other => vec![other],
        };
        if values.is_empty() {
            // a field with no value (absent, null, or only nulls) is a null
            // key when optional — Elasticsearch's missing bucket — and
            // leaves the event out otherwise
            if !k.optional {
                return Vec::new();
            }
            values.push(V::Null);
        }
        // an ip field's key is the address as Elasticsearch formats it, so
        // spellings of one address join
        if let C::Field(f) = &k.expr
            && f.kind == FieldKind::Ip
        {
            for v in &mut values {
                if let V::Str(s) = v
                    && let Ok(ip) = s.trim().parse::<std::net::IpAddr>()
                {
                    *v = V::Str(ip.to_canonical().to_string().into());
                }
            }
        }
        let mut next = Vec::with_capacity(tuples.len() * values.len());
        for t in &tuples {
            for v in &values {
                let mut t = t.clone();
                t.push(v.clone());
                next.push(t);
            }
        }
        tuples = next;
    }
    tuples
}

/// A hashable form of a key tuple.
pub(crate) fn key_id(t: &[V]) -> String {
    let mut s = String::new();
    key_id_into(t, &mut s);
    s
}

/// [`key_id`] into a reused buffer.
pub(crate) fn key_id_into(t: &[V], s: &mut String) {
    s.clear();
    for v in t {
        match v {
            V::Str(x) => {
                s.push('s');
                s.push_str(x);
            }
            V::Null => s.push('n'),
            other => {
                s.push('v');
                s.push_str(&other.to_json().to_string());
            }
        }
        s.push('\u{0}');
    }
}

#[derive(Debug, Clone)]
pub struct Sequence {
    terms: Vec<TermC>,
    until: Option<TermC>,
    maxspan_ns: Option<i64>,
}

#[derive(Debug, Clone)]
struct Partial {
    /// Event indexes of the positive terms matched so far.
    events: Vec<usize>,
    first_ts: i64,
}

impl Sequence {
    pub(crate) fn compile(
        cx: &Compiler,
        keys: &[Expr],
        maxspan_ms: Option<i64>,
        terms: &[ast::Term],
        until: Option<&ast::Term>,
        filter: &dyn Fn(&ast::EventQuery) -> Result<Filter, EqlError>,
    ) -> Result<Self, EqlError> {
        let terms = compile_terms(cx, keys, terms, filter)?;
        let until = match until {
            Some(u) => {
                let t = compile_terms(cx, keys, std::slice::from_ref(u), filter)?.remove(0);
                if t.keys.len() != terms[0].keys.len() {
                    return Err(EqlError::new(
                        "Inconsistent number of join keys specified in `until`",
                        0,
                        cx.src,
                    ));
                }
                Some(t)
            }
            None => None,
        };
        Ok(Sequence {
            terms,
            until,
            maxspan_ns: maxspan_ms.map(|m| m.saturating_mul(1_000_000)),
        })
    }

    pub(crate) fn filters(&self) -> impl Iterator<Item = &Filter> {
        self.terms
            .iter()
            .map(|t| &t.filter)
            .chain(self.until.iter().map(|t| &t.filter))
    }

    pub(crate) fn key_fields(&self, out: &mut Vec<String>) {
        for t in &self.terms {
            for k in &t.keys {
                crate::compile::fields(&k.expr, out);
            }
        }
    }

    /// A sequence with missing-event terms is discarded when the full
    /// sequence — every `![…]` term filled by a real event of the same
    /// key, in order — exists within `maxspan`; that is how Elasticsearch
    /// checks them. Each missing term takes the event nearest its positive
    /// neighbours, which keeps the span as small as possible.
    fn missing_events_occurred(
        &self,
        p: &Partial,
        id: &str,
        times: &[i64],
        missing: &[FxHashMap<String, Vec<usize>>],
    ) -> bool {
        if !self.terms.iter().any(|t| t.missing) {
            return false;
        }
        // positions (event ordinals) of every term, positives known
        let mut pos: Vec<Option<usize>> = Vec::with_capacity(self.terms.len());
        let mut next_pos = 0;
        for t in &self.terms {
            if t.missing {
                pos.push(None);
            } else {
                pos.push(Some(p.events[next_pos]));
                next_pos += 1;
            }
        }
        let first_positive = self.terms.iter().position(|t| !t.missing).unwrap_or(0);
        let last_positive = self.terms.iter().rposition(|t| !t.missing).unwrap_or(0);
        // a middle term is checked on its own: any event of it between its
        // positive neighbours discards the sequence
        for ti in first_positive + 1..last_positive {
            if self.terms[ti].missing {
                let after = pos[..ti]
                    .iter()
                    .rev()
                    .flatten()
                    .next()
                    .copied()
                    .unwrap_or(0);
                let before = pos[ti + 1..]
                    .iter()
                    .flatten()
                    .next()
                    .copied()
                    .unwrap_or(usize::MAX);
                if missing[ti]
                    .get(id)
                    .is_some_and(|v| v.iter().any(|&e| e > after && e < before))
                {
                    return true;
                }
            }
        }
        if first_positive == 0 && last_positive + 1 == self.terms.len() {
            return false;
        }
        // leading terms, right to left: the latest event before the next slot
        for ti in (0..first_positive).rev() {
            let bound = pos[ti + 1].unwrap_or(0);
            let cand = missing[ti]
                .get(id)
                .and_then(|v| v.iter().rev().find(|&&e| e < bound).copied());
            match cand {
                Some(e) => pos[ti] = Some(e),
                None => return false,
            }
        }
        // leading and trailing terms together: the full sequence must fit
        // in maxspan; trailing terms take the earliest events after the last
        for ti in last_positive + 1..self.terms.len() {
            let after = pos[ti - 1].unwrap_or(0);
            let cand = missing[ti]
                .get(id)
                .and_then(|v| v.iter().find(|&&e| e > after).copied());
            match cand {
                Some(e) => pos[ti] = Some(e),
                None => return false,
            }
        }
        let slots: Vec<usize> = pos
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < first_positive || *i >= last_positive || !self.terms[*i].missing)
            .filter_map(|(_, p)| *p)
            .collect();
        let (lo, hi) = (
            slots.iter().map(|&e| times[e]).min(),
            slots.iter().map(|&e| times[e]).max(),
        );
        match (lo, hi, self.maxspan_ns) {
            (Some(lo), Some(hi), Some(m)) => hi - lo <= m,
            _ => true,
        }
    }

    pub(crate) fn run(&self, events: &[&Event], times: &[i64], cat: &FieldRef) -> Vec<Hit> {
        let positives: Vec<usize> = (0..self.terms.len())
            .filter(|&i| !self.terms[i].missing)
            .collect();
        let n = positives.len();
        // Missing-event terms: per term, per key, the times they occurred.
        let mut missing_times: Vec<FxHashMap<String, Vec<usize>>> =
            vec![FxHashMap::default(); self.terms.len()];
        for (ti, t) in self.terms.iter().enumerate().filter(|(_, t)| t.missing) {
            for (ei, ev) in events.iter().enumerate() {
                if t.filter.matches(ev, cat) {
                    for k in key_tuples(&t.keys, ev) {
                        missing_times[ti].entry(key_id(&k)).or_default().push(ei);
                    }
                }
            }
        }
        let mut states: FxHashMap<String, (Vec<V<'static>>, Vec<Option<Partial>>)> =
            FxHashMap::default();
        let mut done: Vec<(Vec<V<'static>>, Partial)> = Vec::new();
        let mut idbuf = String::new();
        for (ei, ev) in events.iter().enumerate() {
            let t = times[ei];
            let categories = eval::field(cat, ev);
            // last state first, so one event does not advance a partial it
            // has just created
            for pi in (0..n).rev() {
                let term = &self.terms[positives[pi]];
                if !term.filter.matches_in(ev, &categories) {
                    continue;
                }
                for k in key_tuples(&term.keys, ev) {
                    key_id_into(&k, &mut idbuf);
                    // allocate the key only for a new join-key value; a
                    // later term has nothing to advance for an unseen key
                    if !states.contains_key(idbuf.as_str()) {
                        if pi > 0 {
                            continue;
                        }
                        let owned = k.iter().cloned().map(V::into_owned).collect();
                        states.insert(idbuf.clone(), (owned, vec![None; n]));
                    }
                    let Some(entry) = states.get_mut(idbuf.as_str()) else {
                        continue;
                    };
                    let st = &mut entry.1;
                    let next = if pi == 0 {
                        Some(Partial {
                            events: vec![ei],
                            first_ts: t,
                        })
                    } else {
                        match st[pi - 1].take() {
                            Some(p) if self.maxspan_ns.is_none_or(|m| t - p.first_ts <= m) => {
                                let mut p = p;
                                p.events.push(ei);
                                Some(p)
                            }
                            _ => None,
                        }
                    };
                    if let Some(p) = next {
                        if pi + 1 == n {
                            done.push((entry.0.clone(), p));
                        } else {
                            st[pi] = Some(p);
                        }
                    }
                }
            }
            // an event that is both a term and the `until` completes first
            if let Some(u) = &self.until
                && u.filter.matches_in(ev, &categories)
            {
                for k in key_tuples(&u.keys, ev) {
                    key_id_into(&k, &mut idbuf);
                    if let Some((_, st)) = states.get_mut(idbuf.as_str()) {
                        st.iter_mut().for_each(|s| *s = None);
                    }
                }
            }
        }
        let mut hits = Vec::new();
        for (keys, p) in done {
            let id = key_id(&keys);
            if self.missing_events_occurred(&p, &id, times, &missing_times) {
                continue;
            }
            let mut slots: Vec<Option<Event>> = Vec::with_capacity(self.terms.len());
            let mut next_pos = 0;
            for term in &self.terms {
                if term.missing {
                    slots.push(None);
                } else {
                    slots.push(Some((*events[p.events[next_pos]]).clone()));
                    next_pos += 1;
                }
            }
            hits.push(Hit::Sequence {
                join_keys: keys.iter().map(V::to_json).collect(),
                events: slots,
            });
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use crate::{Hit, Options, compile};
    use quarry_event::Event;

    fn ev(id: i64, ts: i64, cat: &str, host: &str) -> Event {
        let mut e = Event::default();
        e.set("id", id);
        e.set("@timestamp", ts); // epoch ms, as Elasticsearch reads a number
        e.set("event.category", vec![cat]);
        e.set("host.id", host);
        e
    }

    fn ids(hits: &[Hit]) -> Vec<Vec<i64>> {
        hits.iter()
            .map(|h| match h {
                Hit::Sequence { events, .. } => events
                    .iter()
                    .map(|e| e.as_ref().and_then(|e| e.get_i64("id")).unwrap_or(-1))
                    .collect(),
                _ => vec![],
            })
            .collect()
    }

    fn run(q: &str, events: Vec<Event>) -> Vec<Vec<i64>> {
        let q = compile(q, &Options::default()).expect("compiles");
        ids(&q.run(events))
    }

    #[test]
    fn one_pending_match_per_state_newer_overwrites() {
        let events = vec![
            ev(1, 1, "process", "a"),
            ev(2, 2, "process", "a"),
            ev(3, 3, "network", "a"),
        ];
        // Both process events match term 1; the newer one (2) replaces 1.
        let got = run(
            "sequence by host.id [process where true] [network where true]",
            events,
        );
        assert_eq!(got, vec![vec![2, 3]]);
    }

    #[test]
    fn join_keys_separate_hosts_and_maxspan_is_inclusive() {
        let events = vec![
            ev(1, 0, "process", "a"),
            ev(2, 500, "process", "b"),
            ev(3, 1000, "network", "a"),
            ev(4, 1501, "network", "b"),
        ];
        let got = run(
            "sequence by host.id with maxspan=1s [process where true] [network where true]",
            events,
        );
        assert_eq!(got, vec![vec![1, 3]]);
    }

    #[test]
    fn until_between_kills_the_partial() {
        let events = vec![
            ev(1, 1, "process", "a"),
            ev(2, 2, "file", "a"),
            ev(3, 3, "network", "a"),
        ];
        let q =
            "sequence by host.id [process where true] [network where true] until [file where true]";
        assert!(run(q, events.clone()).is_empty());
        let q = "sequence by host.id [process where true] [network where true]";
        assert_eq!(run(q, events), vec![vec![1, 3]]);
    }

    #[test]
    fn runs_repeats_the_term_and_missing_terms_need_maxspan() {
        let events = vec![ev(1, 1, "process", "a"), ev(2, 2, "process", "a")];
        assert_eq!(
            run("sequence [process where true] with runs=2", events),
            vec![vec![1, 2]]
        );
        let opts = Options::default();
        assert!(compile("sequence [process where true] ![file where true]", &opts).is_err());
        assert!(
            compile(
                "sequence with maxspan=1 [a where true] [b where true]",
                &opts
            )
            .is_err()
        );
        assert!(compile("sequence [a where true] by x [b where true]", &opts).is_err());
    }

    #[test]
    fn trailing_missing_event_gives_a_placeholder() {
        let events = vec![ev(1, 1, "process", "a"), ev(2, 5000, "file", "a")];
        let q = "sequence by host.id with maxspan=1s [process where true] ![file where true]";
        assert_eq!(run(q, events), vec![vec![1, -1]]);
    }
}
