//! Alerts stay bounded: each list an alert carries keeps its first entries
//! by time, with the count and time range of what was left out, and [`fit`]
//! keeps the whole document under a size whatever the host looks like (a
//! parent of thousands of children, command lines of tens of KB).

use quarry_event::format_timestamp;
use serde_json::{Map, Value as J, json};

/// `{count, first, last}` of the entries left out of a list (times as
/// `@timestamp` is written; absent when none of them had one); `None` when
/// nothing was.
pub(crate) fn omitted(count: usize, (first, last): (Option<i64>, Option<i64>)) -> Option<J> {
    (count > 0).then(|| {
        let mut o = Map::new();
        o.insert("count".into(), json!(count));
        let real = |t: Option<i64>| t.filter(|&t| t != i64::MIN).map(format_timestamp);
        if let Some(f) = real(first) {
            o.insert("first".into(), J::String(f));
        }
        if let Some(l) = real(last) {
            o.insert("last".into(), J::String(l));
        }
        J::Object(o)
    })
}

/// Folds a time into a range.
fn widen(range: &mut (Option<i64>, Option<i64>), t: Option<i64>) {
    if let Some(t) = t {
        range.0 = Some(range.0.map_or(t, |a| a.min(t)));
        range.1 = Some(range.1.map_or(t, |b| b.max(t)));
    }
}

/// The first `max` items by time (stable: of equal times, the first given;
/// untimed ones first), and what was left out.
pub(crate) fn bounded<T>(mut items: Vec<(Option<i64>, T)>, max: usize) -> (Vec<T>, Option<J>) {
    items.sort_by_key(|(t, _)| t.unwrap_or(i64::MIN));
    let mut range = (None, None);
    let left_out = items.len().saturating_sub(max);
    for (t, _) in items.iter().skip(max) {
        widen(&mut range, *t);
    }
    items.truncate(max);
    (
        items.into_iter().map(|(_, x)| x).collect(),
        omitted(left_out, range),
    )
}

/// The items chosen to be listed (`Some`), and what was left out (`None`).
pub(crate) fn partition(
    items: impl Iterator<Item = (Option<i64>, Option<J>)>,
) -> (Vec<J>, Option<J>) {
    let mut listed = Vec::new();
    let mut left_out = 0;
    let mut range = (None, None);
    for (t, x) in items {
        match x {
            Some(x) => listed.push(x),
            None => {
                left_out += 1;
                widen(&mut range, t);
            }
        }
    }
    (listed, omitted(left_out, range))
}

/// The length of `doc`'s JSON, counted as it is written, not kept.
fn size(doc: &J) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    match serde_json::to_writer(&mut n, doc) {
        Ok(()) => n.0,
        Err(_) => usize::MAX,
    }
}

/// Cuts every string under `v` longer than `cap` bytes to `cap` (on a char
/// boundary) and an ellipsis; whether any was.
fn cap_strings(v: &mut J, cap: usize) -> bool {
    match v {
        J::String(s) if s.len() > cap => {
            let mut end = cap;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
            s.push('…');
            true
        }
        J::Array(a) => a.iter_mut().fold(false, |c, x| cap_strings(x, cap) | c),
        J::Object(m) => m.values_mut().fold(false, |c, x| cap_strings(x, cap) | c),
        _ => false,
    }
}

/// Cuts every array under `v` longer than `cap` entries; whether any was.
fn cap_arrays(v: &mut J, cap: usize) -> bool {
    match v {
        J::Array(a) => {
            let cut = a.len() > cap;
            a.truncate(cap);
            a.iter_mut().fold(cut, |c, x| cap_arrays(x, cap) | c)
        }
        J::Object(m) => m.values_mut().fold(false, |c, x| cap_arrays(x, cap) | c),
        _ => false,
    }
}

/// Keeps the first `n` entries of the list `obj[key]`, folding the rest
/// into `obj[omitted_key]` (count and time range, the times compared as the
/// fixed-width strings `@timestamp` is written as).
fn cut_list(obj: &mut J, key: &str, omitted_key: &str, n: usize) -> bool {
    let Some(J::Array(list)) = obj.get_mut(key) else {
        return false;
    };
    if list.len() <= n {
        return false;
    }
    let cut: Vec<J> = list.drain(n..).collect();
    let time = |e: &J| {
        ["@timestamp", "start"]
            .iter()
            .find_map(|k| e.get(k).and_then(J::as_str).map(str::to_string))
    };
    let mut o = match obj.get(omitted_key) {
        Some(J::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let before = o.get("count").and_then(J::as_u64).unwrap_or(0);
    o.insert("count".into(), json!(before + cut.len() as u64));
    for t in cut.iter().filter_map(time) {
        if o.get("first")
            .and_then(J::as_str)
            .is_none_or(|f| t.as_str() < f)
        {
            o.insert("first".into(), J::String(t.clone()));
        }
        if o.get("last")
            .and_then(J::as_str)
            .is_none_or(|l| t.as_str() > l)
        {
            o.insert("last".into(), J::String(t));
        }
    }
    obj[omitted_key] = J::Object(o);
    true
}

/// Cuts each list the `quarry` part of an alert carries to `n` entries.
fn cut_lists(doc: &mut J, n: usize) -> bool {
    let q = &mut doc["quarry"];
    let mut cut = false;
    if q["lineage"].is_object() {
        cut |= cut_list(&mut q["lineage"], "children", "children_omitted", n);
        cut |= cut_list(&mut q["lineage"], "descendants", "descendants_omitted", n);
    }
    if q["activity"].is_object() {
        cut |= cut_list(&mut q["activity"], "events", "omitted", n);
    }
    if let Some(J::Array(pivots)) = q.get_mut("investigate") {
        for p in pivots {
            cut |= cut_list(p, "events", "omitted", n);
        }
    }
    if let Some(J::Object(t)) = q.get_mut("triage") {
        for a in t.values_mut() {
            cut |= cut_list(a, "events", "omitted", n);
        }
    }
    cut
}

/// Keeps an alert document under `max_bytes` serialized (as one NDJSON
/// line), doing the least that is enough, step by step: long strings in
/// quarry's own parts (lineage, activity, pivots, triage) cut to 1 KB; the
/// lists there cut to 5 entries, then none (their counts and `omitted`
/// stay exact); strings anywhere cut to 1 KB, then 256 bytes, and arrays
/// to 64 entries; last, the pivots, triage and a sequence's events left
/// out. The steps taken are named in `quarry.fitted`. Whether it fits.
pub fn fit(doc: &mut J, max_bytes: usize) -> bool {
    let fits = size(doc) <= max_bytes;
    if fits || !doc.is_object() {
        return fits;
    }
    type Step = (&'static str, fn(&mut J) -> bool);
    let steps: &[Step] = &[
        ("strings in quarry.* cut to 1 KB", |d| {
            cap_strings(&mut d["quarry"], 1024)
        }),
        ("lists cut to 5 entries", |d| cut_lists(d, 5)),
        ("lists cut to none", |d| cut_lists(d, 0)),
        ("strings cut to 1 KB", |d| cap_strings(d, 1024)),
        ("strings cut to 256 bytes", |d| cap_strings(d, 256)),
        ("arrays cut to 64 entries", |d| cap_arrays(d, 64)),
        ("pivots, triage and sequence events left out", |d| {
            let mut gone = false;
            if let J::Object(q) = &mut d["quarry"] {
                gone |= q.remove("investigate").is_some();
                gone |= q.remove("triage").is_some();
            }
            if let J::Object(m) = d {
                gone |= m.remove("kibana.alert.group.events").is_some();
            }
            gone
        }),
        ("strings cut to 64 bytes", |d| cap_strings(d, 64)),
    ];
    let mut taken: Vec<J> = Vec::new();
    for (name, step) in steps {
        if step(doc) {
            taken.push(J::String((*name).into()));
            doc["quarry"]["fitted"] = J::Array(taken.clone());
            if size(doc) <= max_bytes {
                return true;
            }
        }
    }
    size(doc) <= max_bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_keeps_the_first_by_time_and_says_what_was_left_out() {
        let items = vec![
            (Some(30), "c"),
            (Some(10), "a"),
            (None, "x"),
            (Some(20), "b"),
        ];
        let (kept, left) = bounded(items, 2);
        assert_eq!(kept, ["x", "a"]);
        let left = left.unwrap();
        assert_eq!(left["count"], 2);
        assert_eq!(left["first"], format_timestamp(20));
        assert_eq!(left["last"], format_timestamp(30));
        let (kept, left) = bounded(vec![(Some(1), 1)], 5);
        assert_eq!((kept, left), (vec![1], None));
    }

    #[test]
    fn fit_cuts_what_it_must_and_keeps_counts_exact() {
        let kid =
            |i: i64| json!({"start": format_timestamp(i), "command_line": "x".repeat(40_000)});
        let mut doc = json!({
            "process": {"command_line": "y".repeat(40_000)},
            "quarry": {"lineage": {"children": (0..10).map(kid).collect::<Vec<_>>(),
                                   "children_count": 12,
                                   "children_omitted": {"count": 2, "first": format_timestamp(50), "last": format_timestamp(60)}}},
        });
        assert!(fit(&mut doc, 64 * 1024));
        assert!(size(&doc) <= 64 * 1024);
        let lin = &doc["quarry"]["lineage"];
        assert_eq!(lin["children_count"], 12);
        let listed = lin["children"].as_array().unwrap().len() as u64;
        assert_eq!(
            listed + lin["children_omitted"]["count"].as_u64().unwrap(),
            12
        );
        assert_eq!(lin["children_omitted"]["last"], format_timestamp(60));
        assert!(
            doc["quarry"]["fitted"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
        );
        // a document that fits is left alone
        let mut small = json!({"a": "b", "quarry": {}});
        let before = small.clone();
        assert!(fit(&mut small, 1024));
        assert_eq!(small, before);
    }
}
