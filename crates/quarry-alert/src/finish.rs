//! The alerts of a run, finished as they are built.
//!
//! A hunt raising tens of thousands of alerts held them as JSON trees until
//! the end (a tree takes several times its text), and then one flattened
//! copy of each for the pivots that look for alerts: most of the run's
//! memory. Here an alert is fitted, serialized and compressed (zstd: alerts
//! of one run repeat their rules, hosts and processes; ~1/6 of the text) as
//! soon as nothing can change it any more — it has no pivot over every host
//! or over the run's alerts left to run — and only the few that wait for
//! those stay trees. Of every alert only the fields those pivots read are
//! kept to match them against, and only when a loaded rule has such a pivot.
//!
//! A rule's alerts repeat its name, description, investigation guide,
//! references and threat mapping, most of an alert's text, which no alert
//! compressed alone can share: the first alert of each rule is kept as the
//! dictionary its later alerts are compressed with (zstd's raw-content
//! dictionaries; on the varied 128 MB Sysmon log, 49 → 8 MB for 20,809
//! alerts of 115 rules).

use crate::{Alert, Investigation, fit, link_alerts_to, run_cross_host, zst};
use quarry_event::Event;
use quarry_rules::Rule;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::Value as J;
use std::sync::Arc;

/// zstd's level for alert documents: its fastest regular level already
/// takes them to ~1/6.
const LEVEL: i32 = 1;

/// One finished alert document, as compressed compact JSON text, with what
/// orders and filters it.
#[derive(Debug, Clone)]
pub struct AlertDoc {
    time: Option<Box<str>>,
    building_block: bool,
    /// The text's length, and the text compressed; or the text itself when
    /// it could not be compressed.
    len: usize,
    bytes: Box<[u8]>,
    compressed: bool,
    /// The text of its rule's first alert, when compressed with it as the
    /// dictionary.
    dict: Option<Arc<[u8]>>,
}

impl AlertDoc {
    /// The document serialized and compressed.
    pub fn new(doc: &J) -> Self {
        Self::with(doc, compact(doc), |text| zst::compress(text, LEVEL, None))
    }

    /// `doc`, whose compact JSON is `text`.
    fn with(doc: &J, text: Vec<u8>, compress: impl FnOnce(&[u8]) -> Option<Vec<u8>>) -> Self {
        let alert = &doc["kibana"]["alert"];
        let (bytes, compressed) = match compress(&text) {
            Some(c) => (c.into_boxed_slice(), true),
            None => (text.clone().into_boxed_slice(), false),
        };
        AlertDoc {
            time: alert["original_time"].as_str().map(Into::into),
            building_block: !alert["building_block_type"].is_null(),
            len: text.len(),
            bytes,
            compressed,
            dict: None,
        }
    }

    /// `kibana.alert.original_time`.
    pub fn original_time(&self) -> Option<&str> {
        self.time.as_deref()
    }

    /// Whether a building-block rule raised it.
    pub fn is_building_block(&self) -> bool {
        self.building_block
    }

    /// The document as compact JSON, exactly as an NDJSON line holds it.
    pub fn text(&self) -> String {
        if !self.compressed {
            return String::from_utf8(self.bytes.to_vec()).unwrap_or_default();
        }
        // bytes this type compressed always decompress to `len`
        let bytes =
            zst::decompress(&self.bytes, self.len, self.dict.as_deref()).unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    /// The document as a tree.
    pub fn json(&self) -> J {
        serde_json::from_str(&self.text()).unwrap_or(J::Null)
    }
}

/// `doc` as compact JSON text.
fn compact(doc: &J) -> Vec<u8> {
    // a `Value` always serializes
    serde_json::to_vec(doc).unwrap_or_else(|_| b"null".to_vec())
}

impl From<J> for AlertDoc {
    fn from(doc: J) -> Self {
        AlertDoc::new(&doc)
    }
}

/// Serialized as the tree it holds, so that a pretty printer indents it as
/// any other value (write [`AlertDoc::text`] where compact text will do).
impl Serialize for AlertDoc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json().serialize(s)
    }
}

/// The fields of an alert a pivot that looks for alerts lists.
const SIGNAL_LISTED: &[&str] = &[
    "@timestamp",
    "kibana.alert.rule.name",
    "kibana.alert.severity",
    "process.executable",
    "quarry.origin",
];

/// The alerts of a run as they are built, each finished as soon as it can
/// be.
pub struct AlertSet {
    /// In the order built; `None` while the alert there is pending.
    docs: Vec<Option<AlertDoc>>,
    /// Alerts with pivots to run once every alert is built, and their place.
    pending: Vec<(usize, Alert)>,
    /// Every alert, as the pivots that look for alerts see it: its host and
    /// the fields they read. Empty when no loaded rule has such a pivot.
    hosts: Vec<Option<String>>,
    views: Vec<Event>,
    /// The fields `views` keep; empty when none are kept.
    view_fields: Vec<String>,
    max_bytes: usize,
    oversized: usize,
    /// Per rule (`kibana.alert.rule.rule_id`), its first alert's text: the
    /// dictionary of its later alerts.
    dicts: FxHashMap<Box<str>, Arc<[u8]>>,
}

/// An alert made ready to be taken by an [`AlertSet`] ([`AlertSet::ready`],
/// on any thread): finished, or waiting for its pivots.
pub struct Ready {
    /// Its host and what the pivots that look for alerts read of it.
    view: Option<(Option<String>, Event)>,
    finished: Result<Finished, Alert>,
}

/// A finished document, whether it had to be cut beyond its bound, and,
/// when it is its rule's first alert seen, its rule and its text: the
/// dictionary of the rule's later alerts.
struct Finished {
    doc: AlertDoc,
    oversized: bool,
    first: Option<(Box<str>, Vec<u8>)>,
}

impl AlertSet {
    /// For the alerts of `rules`, each kept within `max_bytes`
    /// ([`AlertLimits::max_bytes`](crate::AlertLimits)).
    pub fn new<'a>(rules: impl IntoIterator<Item = &'a Rule>, max_bytes: usize) -> Self {
        let mut view_fields: Vec<String> = Vec::new();
        for r in rules {
            for inv in &r.investigate {
                let providers = || inv.providers.iter().flatten();
                // a pivot looks for alerts by a term on `event.kind`
                if providers().any(|p| p.field == "event.kind" && !p.excluded) {
                    view_fields.extend(providers().map(|p| p.field.clone()));
                }
            }
        }
        if !view_fields.is_empty() {
            view_fields.extend(SIGNAL_LISTED.iter().map(|f| f.to_string()));
            view_fields.sort_unstable();
            view_fields.dedup();
        }
        AlertSet {
            docs: Vec::new(),
            pending: Vec::new(),
            hosts: Vec::new(),
            views: Vec::new(),
            view_fields,
            max_bytes,
            oversized: 0,
            dicts: FxHashMap::default(),
        }
    }

    /// Takes an alert: finished now unless it has pivots over every host or
    /// over the run's alerts to run.
    pub fn push(&mut self, a: Alert) {
        let r = self.ready(a);
        self.push_ready(r);
    }

    /// What [`AlertSet::push`] does to an alert before it is taken: the
    /// costly part (fitted, serialized, compressed), on any thread, so that
    /// alerts built together are finished together on every core.
    pub fn ready(&self, mut a: Alert) -> Ready {
        let view = (!self.view_fields.is_empty()).then(|| {
            let mut ev = Event::from_json_under(&a.doc, &self.view_fields, Default::default());
            ev.shrink_to_fit();
            (a.host.clone(), ev)
        });
        let finished = if a.signal_pivots.is_empty() && a.cross_host_pivots.is_empty() {
            Ok(self.finished(&mut a.doc))
        } else {
            Err(a)
        };
        Ready { view, finished }
    }

    /// Takes an alert made [`AlertSet::ready`], in the order alerts are
    /// pushed.
    pub fn push_ready(&mut self, r: Ready) {
        if let Some((host, view)) = r.view {
            self.hosts.push(host);
            self.views.push(view);
        }
        match r.finished {
            Ok(f) => {
                let doc = self.take(f);
                self.docs.push(Some(doc));
            }
            Err(a) => {
                self.pending.push((self.docs.len(), a));
                self.docs.push(None);
            }
        }
    }

    fn finished(&self, doc: &mut J) -> Finished {
        // serialized once when it fits (most do), again once fitted
        let mut text = compact(doc);
        let mut oversized = false;
        if text.len() > self.max_bytes {
            oversized = !fit(doc, self.max_bytes);
            text = compact(doc);
        }
        let rule = doc["kibana"]["alert"]["rule"]["rule_id"]
            .as_str()
            .map(Box::<str>::from);
        let dict = rule.as_ref().and_then(|r| self.dicts.get(r)).cloned();
        let mut first: Option<Vec<u8>> = None;
        let mut a = AlertDoc::with(doc, text, |text| {
            if dict.is_none() {
                first = Some(text.to_vec());
            }
            zst::compress(text, LEVEL, dict.as_deref())
        });
        if a.compressed {
            a.dict = dict;
        }
        Finished {
            doc: a,
            oversized,
            first: rule.zip(first),
        }
    }

    /// Counts a finished document, and keeps the first text of its rule
    /// as the rule's dictionary (of alerts made ready together, the first
    /// taken: the others were compressed alone).
    fn take(&mut self, f: Finished) -> AlertDoc {
        if f.oversized {
            self.oversized += 1;
        }
        if let Some((rule, text)) = f.first {
            self.dicts.entry(rule).or_insert_with(|| text.into());
        }
        f.doc
    }

    /// Runs the pending pivots and returns every alert by the time of the
    /// event that raised it (of equal times, in the order pushed), and how
    /// many are still over the size bound after [`fit`].
    pub fn finish(mut self, inv: &Investigation) -> (Vec<AlertDoc>, usize) {
        let (places, mut alerts): (Vec<usize>, Vec<Alert>) =
            std::mem::take(&mut self.pending).into_iter().unzip();
        run_cross_host(inv, &mut alerts);
        link_alerts_to(&mut alerts, &self.hosts, &self.views);
        // finished on all cores (fitted, serialized, compressed), then
        // taken in order
        let finished: Vec<Finished> = alerts
            .par_iter_mut()
            .map(|a| self.finished(&mut a.doc))
            .collect();
        for (place, f) in places.into_iter().zip(finished) {
            self.docs[place] = Some(self.take(f));
        }
        let mut docs: Vec<AlertDoc> = self.docs.into_iter().flatten().collect();
        docs.sort_by(|a, b| a.original_time().cmp(&b.original_time()));
        (docs, self.oversized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_comes_back_as_it_went_in() {
        let doc = json!({"kibana": {"alert": {"original_time": "2026-11-30T06:00:00.000Z",
                         "building_block_type": "default"}},
                         "process": {"command_line": "x".repeat(10_000)}, "n": [1, 2.5, null]});
        let a = AlertDoc::new(&doc);
        assert!(a.bytes.len() < 1_000, "compressed: {}", a.bytes.len());
        assert_eq!(a.text(), serde_json::to_string(&doc).unwrap());
        assert_eq!(a.json(), doc);
        assert_eq!(a.original_time(), Some("2026-11-30T06:00:00.000Z"));
        assert!(a.is_building_block());
        // pretty-printed as the tree it holds
        assert_eq!(
            serde_json::to_string_pretty(&a).unwrap(),
            serde_json::to_string_pretty(&doc).unwrap()
        );
        let plain = AlertDoc::new(&json!({"a": 1}));
        assert_eq!(plain.original_time(), None);
        assert!(!plain.is_building_block());
    }

    #[test]
    fn a_rules_later_alerts_are_compressed_with_its_first() {
        let guide = "Triage: review the parent process, its command line and user; \
                     check for follow-on network connections. "
            .repeat(40);
        let alert = |rule: &str, pid: u64| {
            json!({"kibana": {"alert": {"original_time": format!("2026-11-30T06:00:{:02}.000Z", pid % 60),
                   "rule": {"rule_id": rule, "name": format!("rule {rule}"), "note": guide}}},
                   "process": {"pid": pid, "command_line": format!("cmd.exe /c whoami {pid}")}})
        };
        let mut set = AlertSet::new(std::iter::empty(), 64 * 1024);
        let mut docs = Vec::new();
        let mut made = Vec::new();
        for (rule, pid) in [("a", 1), ("a", 2), ("b", 3), ("a", 4), ("b", 5)] {
            let mut doc = alert(rule, pid);
            let f = set.finished(&mut doc);
            made.push(set.take(f));
            docs.push(doc);
        }
        // a rule's first alert compressed alone, its later ones with it
        let with_dict: Vec<bool> = made.iter().map(|a| a.dict.is_some()).collect();
        assert_eq!(with_dict, [false, true, false, true, true]);
        assert!(
            made[1].bytes.len() * 4 < made[0].bytes.len(),
            "{} vs {}",
            made[1].bytes.len(),
            made[0].bytes.len()
        );
        // each comes back as it went in, on any thread
        std::thread::scope(|s| {
            s.spawn(|| {
                for (a, doc) in made.iter().zip(&docs) {
                    assert_eq!(a.text(), serde_json::to_string(doc).unwrap());
                }
            });
        });
        for (a, doc) in made.iter().zip(&docs) {
            assert_eq!(a.json(), *doc);
        }
    }

    #[test]
    fn alerts_made_ready_on_other_threads_are_taken_in_push_order() {
        let alert = |rule: &str, n: u64| crate::Alert {
            doc: json!({"kibana": {"alert": {"original_time": format!("2026-11-30T06:00:{n:02}.000Z"),
                        "rule": {"rule_id": rule, "note": "a guide ".repeat(50)}}}, "n": n}),
            host: None,
            signal_pivots: Vec::new(),
            cross_host_pivots: Vec::new(),
            listed: 0,
        };
        let mut set = AlertSet::new(std::iter::empty(), 64 * 1024);
        // a batch made ready together: none of them has a dictionary yet
        let batch: Vec<Ready> = std::thread::scope(|s| {
            let hs: Vec<_> = [("a", 3), ("a", 1), ("b", 2)]
                .into_iter()
                .map(|(r, n)| {
                    let set = &set;
                    s.spawn(move || set.ready(alert(r, n)))
                })
                .collect();
            hs.into_iter().map(|h| h.join().expect("ready")).collect()
        });
        for r in batch {
            set.push_ready(r);
        }
        // the next one of rule `a` is compressed with the first taken
        set.push(alert("a", 4));
        assert!(set.docs[3].as_ref().is_some_and(|d| d.dict.is_some()));
        let (docs, oversized) = set.finish(&Investigation::from_pools(Vec::new()));
        assert_eq!(oversized, 0);
        let ns: Vec<u64> = docs
            .iter()
            .map(|d| d.json()["n"].as_u64().unwrap_or(0))
            .collect();
        // by time, each whole
        assert_eq!(ns, [1, 2, 3, 4]);
    }
}
