//! Investigative questions in the DFIQ sense: each question names the
//! events it needs ([`Question::wants`], [`Question::fields`]) and answers
//! from them with rows that say how they were obtained and a coverage report
//! that says what the evidence could not answer ([`Answer`]).
//!
//! Adding a question is one module here that implements [`Question`] (see
//! [`q1018`]) plus one entry in [`QUESTIONS`]: `quarry ask` and
//! `quarry questions` find it in the catalogue. [`dfiq`] reads a DFIQ
//! catalogue to place the questions in.

pub mod dfiq;
pub mod domains;
pub mod q1018;

pub use domains::Domains;

use quarry_event::{Event, PathMemo};
use serde::Serialize;
use serde::ser::SerializeMap;
use std::collections::BTreeMap;

/// A DFIQ approach quarry implements for a question.
#[derive(Debug, Clone, Copy)]
pub struct Approach {
    pub name: &'static str,
    /// What the approach reads.
    pub data: &'static str,
}

/// A question quarry can answer.
pub trait Question: Sync {
    /// The DFIQ id, e.g. `Q1018`.
    fn id(&self) -> &'static str;
    /// The question as DFIQ words it.
    fn name(&self) -> &'static str;
    /// The approaches quarry implements, in the order they are listed.
    fn approaches(&self) -> &'static [Approach];
    /// The fields the answer reads: everything else is dropped on read,
    /// so memory stays bounded by what is held for answering.
    fn fields(&self) -> &'static Needed;
    /// Does the answer need this event? Asked of every event read.
    fn wants(&self, ev: &Event) -> bool;
    /// Answers from the events [`Question::keep`] kept, with the filters
    /// that apply to this question.
    fn answer(&self, events: Vec<Event>, filter: &Filter) -> Answer;

    /// The event slimmed to [`Question::fields`] when the question
    /// [`Question::wants`] it: what a read keeps.
    fn keep(&self, mut ev: Event) -> Option<Event> {
        if !self.wants(&ev) {
            return None;
        }
        ev.source = None;
        ev.raw_source = None;
        self.fields().keep(&mut ev);
        Some(ev)
    }
}

/// The fields a question's answer reads, as prefixes of field paths
/// (`host.` keeps every host field), with what each field id comes to
/// remembered: not worked out again for every field of every event.
pub struct Needed {
    prefixes: &'static [&'static str],
    memo: PathMemo,
}

impl Needed {
    pub const fn new(prefixes: &'static [&'static str]) -> Self {
        Needed {
            prefixes,
            memo: PathMemo::new(),
        }
    }

    /// The prefixes: a reader builds the fields they begin.
    pub fn prefixes(&self) -> &'static [&'static str] {
        self.prefixes
    }

    /// Keeps the fields of `ev` whose path begins with one of the prefixes.
    pub fn keep(&self, ev: &mut Event) {
        let prefixes = self.prefixes;
        ev.retain_ids(|id| {
            self.memo
                .holds(id, |path| prefixes.iter().any(|p| path.starts_with(p)))
        });
    }
}

/// What `quarry ask` narrows an answer to; a question applies those that
/// mean something for it.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this host (host.name, its first label, or host.id;
    /// case-insensitive): see [`Filter::keeps_host`].
    pub host: Option<String>,
    /// Only DNS names among these indicators (names and globs, matched
    /// as one set, case-insensitively): DFIQ's *Bulk Domains*.
    pub domains: Option<Domains>,
}

impl Filter {
    /// Does `--host` keep a host of this name and id? Case-insensitive, on
    /// the full name, its first label (`MKT01` for `MKT01.pandalab.com`, as
    /// responders name machines) or the id; no `--host` keeps every host.
    pub fn keeps_host(&self, name: Option<&str>, id: Option<&str>) -> bool {
        let Some(want) = self.host.as_deref() else {
            return true;
        };
        let short = |n: &str| n.split('.').next().unwrap_or(n).to_string();
        name.is_some_and(|n| n.eq_ignore_ascii_case(want) || short(n).eq_ignore_ascii_case(want))
            || id.is_some_and(|i| i.eq_ignore_ascii_case(want))
    }
}

/// A question's answer, as every output format needs it.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// The headers of the terminal table, one per [`Record::cells`] entry.
    pub columns: &'static [&'static str],
    /// The rows, in the order they are shown.
    pub rows: Vec<Record>,
    /// Rows per approach, of the rows the filter kept (with no filter:
    /// which approaches had data).
    pub approaches: BTreeMap<String, u64>,
    /// What the evidence covered and what it could not answer, as lines for
    /// below the rows.
    pub coverage: String,
    /// Every host the evidence holds, before `--host`: named when the
    /// filter keeps none.
    pub hosts: Vec<String>,
}

/// One answer row: named values in the order the machine formats print
/// them (serialised as one JSON object), and the cells of the table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    pub fields: Vec<(&'static str, serde_json::Value)>,
    /// The terminal table's view: names, not paths, for a glance.
    pub cells: Vec<String>,
}

/// A record is one ECS document, nested as `quarry hunt`'s alerts are
/// (`{"process":{"pid":…}}`, not `{"process.pid":…}`), so every command's
/// NDJSON has one shape; fields keep the order the question gave them.
impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut root = Node::Branch(Vec::new());
        for (k, v) in &self.fields {
            root.insert(k, v);
        }
        root.serialize(s)
    }
}

/// An ordered JSON object tree built from dotted names.
enum Node<'a> {
    Leaf(&'a serde_json::Value),
    Branch(Vec<(&'a str, Node<'a>)>),
}

impl<'a> Node<'a> {
    /// Puts `value` at the dotted `path` (`@timestamp` stays one key).
    fn insert(&mut self, path: &'a str, value: &'a serde_json::Value) {
        let Node::Branch(children) = self else {
            *self = Node::Branch(Vec::new());
            return self.insert(path, value);
        };
        let (head, rest) = match path.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (path, None),
        };
        let at = match children.iter().position(|(k, _)| *k == head) {
            Some(i) => i,
            None => {
                children.push((head, Node::Branch(Vec::new())));
                children.len() - 1
            }
        };
        match rest {
            None => children[at].1 = Node::Leaf(value),
            Some(r) => children[at].1.insert(r, value),
        }
    }
}

impl Serialize for Node<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Leaf(v) => v.serialize(s),
            Node::Branch(children) => {
                let mut m = s.serialize_map(Some(children.len()))?;
                for (k, v) in children {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

/// Every question quarry answers.
pub const QUESTIONS: &[&dyn Question] = &[&q1018::Q1018];

/// The question with this id (case-insensitive).
pub fn find(id: &str) -> Option<&'static dyn Question> {
    QUESTIONS
        .iter()
        .copied()
        .find(|q| q.id().eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needed_fields_keep_the_paths_a_list_begins() {
        static WIDE: Needed = Needed::new(&["process.", "host.name"]);
        static NARROW: Needed = Needed::new(&["process."]);
        let event = || {
            let mut ev = Event::default();
            for f in [
                "process.pid",
                "process.name",
                "host.name",
                "host.id",
                "user.name",
            ] {
                ev.set(f, "x");
            }
            ev
        };
        let kept = |needed: &Needed| {
            let mut ev = event();
            needed.keep(&mut ev);
            let mut names: Vec<String> = ev.fields().map(|(f, _)| f.to_string()).collect();
            names.sort_unstable();
            names
        };
        // twice each, the second from memory, each list its own
        for _ in 0..2 {
            assert_eq!(kept(&WIDE), ["host.name", "process.name", "process.pid"]);
            assert_eq!(kept(&NARROW), ["process.name", "process.pid"]);
        }
    }

    #[test]
    fn records_serialise_nested_as_ecs_documents() {
        let r = Record {
            fields: vec![
                ("@timestamp", serde_json::json!("t")),
                ("process.pid", serde_json::json!(4)),
                ("process.parent.executable", serde_json::json!("p")),
                ("approach", serde_json::json!("a")),
            ],
            cells: vec![],
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"@timestamp":"t","process":{"pid":4,"parent":{"executable":"p"}},"approach":"a"}"#
        );
    }

    #[test]
    fn host_filter_takes_the_short_name_the_full_name_or_the_id() {
        let f = Filter {
            host: Some("mkt01".into()),
            ..Default::default()
        };
        assert!(f.keeps_host(Some("MKT01.pandalab.com"), None));
        assert!(f.keeps_host(Some("MKT01"), None));
        assert!(!f.keeps_host(Some("MKT012.pandalab.com"), None));
        assert!(!f.keeps_host(None, Some("abc")));
        let full = Filter {
            host: Some("mkt01.PANDALAB.com".into()),
            ..Default::default()
        };
        assert!(full.keeps_host(Some("MKT01.pandalab.com"), None));
        assert!(Filter::default().keeps_host(None, None));
    }
}
