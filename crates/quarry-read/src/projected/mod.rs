//! Projected reading of ECS JSON lines: a consumer that reads only a few
//! fields (an EQL query, `quarry search`) does not need every line parsed
//! into a generic JSON tree and flattened into a full event.
//!
//! [`read_line`] walks the document once with serde, descends only into the
//! objects that lead to a wanted path, skips every other value without
//! building it, and materialises only the wanted fields. An event the
//! consumer's pre-check accepts gets the line itself as its
//! [`Event::raw_source`], to be echoed exactly as read.
//!
//! Only documents that [`quarry_ecs::json::normalize_json`] would keep as
//! plain ECS take this path. Any top-level key that makes it treat the
//! document as another format ([`quarry_ecs::format::is_marker_key`]), an Elastic Defend
//! `agent.type`/`data_stream.dataset`, a key repeated where the projection
//! reads (serde_json keeps only the last whole value), a document that is
//! not an object, or anything serde rejects sends the line back to the full
//! reader, which normalises and reports it as before.
//!
//! A projection can also carry the literals its consumer requires (see
//! [`Projection::require_literals`]): a line that provably lacks them is
//! only validated, not walked — the cheap test of most lines in a hunt.
//!
//! Readers of whole records (EVTX) apply a projection too: a record is
//! normalised with the fields the consumer's test reads alone
//! ([`Projection::tested_on`]; `quarry_ecs::windows::normalize_for`), and
//! built whole, or with the projection's fields
//! ([`Projection::keeps_projected`]), only when the test takes it.
//!
//! Here: the projection (its path tree) and the read of one line; in
//! [`fast_walk`] the walk without serde, in [`serde_walk`] the walk on
//! serde, in [`prefilter`] the literal prefilter.

use quarry_ecs::format::{self, is_marker_key};
use quarry_event::{Demand, Event, FieldId, Origin, Value, field_id};
use rustc_hash::FxHashMap;
use rustc_hash::FxHashSet;
use std::sync::Arc;

mod fast_walk;
mod prefilter;
mod serde_walk;
#[cfg(test)]
mod tests;

use fast_walk::fast_walk;
use prefilter::{Prefilter, spelled_plainly};
use serde_walk::serde_walk;

/// What a consumer reads of each event.
pub struct Projection {
    /// Paths wanted exactly, with their ids, and every proper dotted prefix
    /// of a wanted path (`process`, `process.parent` for
    /// `process.parent.name`): one probe per key read.
    paths: FxHashMap<Box<str>, PathKind>,
    agent_type: FieldId,
    dataset: FieldId,
    timestamp: FieldId,
    /// Fields an event can have (the capacity a projected event starts with).
    count: usize,
    /// Path prefixes (`endgame.`) under which every field is wanted.
    prefixes: Vec<Box<str>>,
    /// Events that fail this are counted and dropped right after the parse.
    wanted: Arc<dyn Fn(&Event) -> bool + Send + Sync>,
    /// The projection's fields, as a demand on readers of whole records.
    own: Arc<Demand>,
    /// Events of whole records (EVTX) are built with these fields alone
    /// for `wanted` ([`Projection::tested_on`]), else whole.
    tested: Option<Arc<Demand>>,
    /// What an event kept carries: every field, unless
    /// [`Projection::keeps_projected`].
    kept: Option<Arc<Demand>>,
    /// Lines lacking a required literal are only validated.
    prefilter: Option<Prefilter>,
    /// `paths` as a tree of key segments, for the fast walk.
    tree: Vec<PathNode>,
}

/// A node of [`Projection::tree`] (the root is node 0): a key segment's
/// node is found by one short comparison per child, not by hashing the
/// whole path.
#[derive(Default)]
struct PathNode {
    children: Vec<(Box<[u8]>, usize)>,
    /// The path is wanted.
    exact: Option<FieldId>,
    /// Every path below is wanted (a prefix such as `endgame.`).
    all_below: bool,
}

impl Projection {
    /// Reads `fields` (dotted paths) and every field under `prefixes`
    /// (each ending in `.`); only events passing `wanted` are kept
    /// (`wanted` sees the event's fields, not yet its origin).
    pub fn new(
        fields: &[String],
        prefixes: &[&str],
        wanted: impl Fn(&Event) -> bool + Send + Sync + 'static,
    ) -> Projection {
        let mut exact: FxHashSet<Box<str>> = FxHashSet::default();
        let mut inner: FxHashSet<Box<str>> = FxHashSet::default();
        // what the Elastic Defend test below needs
        let defend = format::DEFEND_FIELDS.iter().copied();
        for f in fields.iter().map(String::as_str).chain(defend) {
            exact.insert(f.into());
            for (i, _) in f.match_indices('.') {
                inner.insert(f[..i].into());
            }
        }
        for p in prefixes {
            let p = p.trim_end_matches('.');
            inner.insert(p.into());
            for (i, _) in p.match_indices('.') {
                inner.insert(p[..i].into());
            }
        }
        let mut paths: FxHashMap<Box<str>, PathKind> = FxHashMap::default();
        for p in &inner {
            paths.entry(p.clone()).or_default().inner = true;
        }
        for p in &exact {
            paths.entry(p.clone()).or_default().exact = Some(field_id(p));
        }
        let mut tree = vec![PathNode::default()];
        let node_of = |tree: &mut Vec<PathNode>, path: &str| {
            let mut at = 0;
            for seg in path.split('.') {
                at = match tree[at]
                    .children
                    .iter()
                    .find(|(k, _)| **k == *seg.as_bytes())
                {
                    Some(&(_, child)) => child,
                    None => {
                        tree.push(PathNode::default());
                        let child = tree.len() - 1;
                        tree[at].children.push((seg.as_bytes().into(), child));
                        child
                    }
                };
            }
            at
        };
        for p in &exact {
            let at = node_of(&mut tree, p);
            tree[at].exact = Some(field_id(p));
        }
        for p in prefixes {
            let at = node_of(&mut tree, p.trim_end_matches('.'));
            tree[at].all_below = true;
        }
        Projection {
            tree,
            paths,
            agent_type: field_id(format::DEFEND_FIELDS[0]),
            dataset: field_id(format::DEFEND_FIELDS[1]),
            timestamp: field_id("@timestamp"),
            count: exact.len(),
            prefixes: prefixes.iter().map(|p| (*p).into()).collect(),
            wanted: Arc::new(wanted),
            own: demand_of(exact, prefixes),
            tested: None,
            kept: None,
            prefilter: None,
        }
    }

    /// `wanted` reads only `fields`: a reader that normalises whole
    /// records builds these alone to test a record, and the whole event
    /// only for those kept.
    pub fn tested_on(mut self, fields: &[String]) -> Projection {
        let exact = fields.iter().map(|f| f.as_str().into()).collect();
        self.tested = Some(demand_of(exact, &[]));
        self
    }

    /// The consumer reads only the projection's fields, of the events it
    /// tests and of those it keeps: a reader that normalises whole records
    /// builds no others.
    pub fn keeps_projected(mut self) -> Projection {
        self.tested = Some(self.own.clone());
        self.kept = Some(self.own.clone());
        self
    }

    /// What a reader of whole records needs to build events for this
    /// projection, to take to its worker threads.
    pub(crate) fn records(&self) -> RecordProjection {
        RecordProjection {
            wanted: self.wanted.clone(),
            tested: self.tested.clone(),
            kept: self.kept.clone(),
        }
    }
}

/// [`Projection`] as readers of whole records (EVTX) apply it: build the
/// `tested` fields (`None`: the whole event), test, build what is kept.
#[derive(Clone)]
pub(crate) struct RecordProjection {
    pub(crate) wanted: Arc<dyn Fn(&Event) -> bool + Send + Sync>,
    pub(crate) tested: Option<Arc<Demand>>,
    pub(crate) kept: Option<Arc<Demand>>,
}

/// The Windows mappings' demand for paths in `exact` or under `prefixes`.
fn demand_of(exact: FxHashSet<Box<str>>, prefixes: &[&str]) -> Arc<Demand> {
    let prefixes: Vec<Box<str>> = prefixes.iter().map(|p| (*p).into()).collect();
    quarry_ecs::windows::demand(move |path| {
        exact.contains(path) || prefixes.iter().any(|p| path.starts_with(&**p))
    })
}

impl Projection {
    /// [`Projection::kind`] from the tree: `at` is where the object's path
    /// is, `key` the key read (perhaps dotted), `path` the whole path with
    /// it. Gives the key's kind and where its path is.
    fn kind_below(&self, at: Place, key: &[u8], path: &str) -> (PathKind, Place) {
        let mut place = at;
        for seg in key.split(|&b| b == b'.') {
            place = match place {
                Place::Node(n) if self.tree[n].all_below => Place::BelowPrefix,
                Place::Node(n) => self.tree[n]
                    .children
                    .iter()
                    .find(|(k, _)| **k == *seg)
                    .map_or(Place::Nowhere, |&(_, child)| Place::Node(child)),
                other => other,
            };
        }
        let kind = match place {
            Place::Node(n) => PathKind {
                exact: self.tree[n].exact,
                inner: !self.tree[n].children.is_empty() || self.tree[n].all_below,
            },
            Place::BelowPrefix => PathKind {
                exact: Some(field_id(path)),
                inner: false,
            },
            Place::Nowhere => PathKind::default(),
        };
        (kind, place)
    }

    /// Is the path wanted (with its id, when known), does it lead to wanted paths?
    fn kind(&self, path: &str) -> PathKind {
        let mut k = self.paths.get(path).copied().unwrap_or_default();
        if k.exact.is_none() && self.prefixes.iter().any(|p| path.starts_with(&**p)) {
            k.exact = Some(field_id(path));
        }
        k
    }
}

/// Where a path is in [`Projection::tree`].
#[derive(Debug, Clone, Copy)]
enum Place {
    Node(usize),
    /// Below a prefix every path under which is wanted.
    BelowPrefix,
    /// Nothing at or below it is wanted.
    Nowhere,
}

#[derive(Debug, Clone, Copy, Default)]
struct PathKind {
    exact: Option<FieldId>,
    inner: bool,
}

/// The outcome of a projected read.
pub(crate) enum Projected {
    /// Plain ECS, not wanted by the consumer.
    Dropped,
    /// Plain ECS, wanted: the projected event, with its line as raw source.
    Kept(Event),
}

/// Reads one JSON line with a projection; `None` sends the line to the
/// full reader. `origin` is only called for an event kept: the events of
/// dropped lines (and the one `wanted` sees) have an empty origin, which
/// spares every line a reference count on the shared file name.
pub(crate) fn read_line(
    line: &[u8],
    proj: &Projection,
    origin: impl FnOnce() -> Origin,
) -> Option<Projected> {
    if let Some(pre) = &proj.prefilter
        && pre.lacks_a_clause(line)
    {
        // the common case, in one pass: a plain ASCII object without the
        // escapes a literal could hide behind
        if crate::plain_json::is_plain_ecs_object(line, is_marker_key) {
            return Some(Projected::Dropped);
        }
        // the walk of a projection that wants nothing: `Dropped` for a
        // well-formed plain ECS object, `None` for what the full reader
        // must see, exactly as the full walk would decide
        if spelled_plainly(line, pre)
            && let Some(dropped) = walk_line(line, &pre.shell)
        {
            return Some(dropped);
        }
    }
    match walk_line(line, proj)? {
        Projected::Kept(mut ev) => {
            ev.origin = origin();
            Some(Projected::Kept(ev))
        }
        dropped => Some(dropped),
    }
}

thread_local! {
    /// The placeholder origin of projected events, per thread (an `Arc`
    /// shared by all threads would bounce its count between cores).
    static NO_ORIGIN: Origin = Origin::default();
    /// The path buffer of the walk, reused line after line.
    static PATH: std::cell::RefCell<String> = std::cell::RefCell::new(String::with_capacity(64));
}

/// The projected walk proper (see [`read_line`]): [`fast_walk`] where it
/// can tell, serde's walk where it cannot.
fn walk_line(line: &[u8], proj: &Projection) -> Option<Projected> {
    let fast = PATH.with(|path| {
        // a walk never reads another line, so the buffer is free here
        let mut path = path.try_borrow_mut().ok()?;
        path.clear();
        let mut ev = Event::with_capacity(NO_ORIGIN.with(Origin::clone), proj.count);
        fast_walk(line, proj, &mut ev, &mut path).map(|text| (ev, text))
    });
    match fast {
        Some((ev, text)) => finish(ev, Some(text), line, proj),
        None => serde_walk(line, proj),
    }
}

/// A walked event: the Elastic Defend test, its time, the consumer's test.
/// `text` is the line when already checked to be UTF-8.
fn finish(mut ev: Event, text: Option<&str>, line: &[u8], proj: &Projection) -> Option<Projected> {
    // Elastic Defend documents are read by their own normaliser
    if format::is_elastic_defend(
        ev.get_id(proj.agent_type).and_then(Value::as_str),
        ev.get_id(proj.dataset).and_then(Value::as_str),
    ) {
        return None;
    }
    ev.timestamp = ev.get_id(proj.timestamp).and_then(Value::as_timestamp);
    if !(proj.wanted)(&ev) {
        return Some(Projected::Dropped);
    }
    let text = match text {
        Some(text) => text,
        None => std::str::from_utf8(line).ok()?,
    };
    ev.raw_source = Some(Arc::from(text));
    // (not shrunk: sized for the projection, it has little room to spare)
    Some(Projected::Kept(ev))
}
