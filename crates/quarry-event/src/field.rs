//! Field names interned to small integer ids.
//!
//! Every dotted field path an [`crate::Event`] holds is registered once, for
//! the life of the process, in a global interner and named by a [`FieldId`]
//! from then on. Events store ids, not names, so a field lookup compares
//! four-byte integers in one contiguous array instead of hashing and
//! comparing heap-allocated strings, and a compiled query resolves its field
//! paths to ids once, at compile time ([`field_id`]).
//!
//! The common ECS field names are registered first, so they have the
//! smallest ids (and sort first in an event). Reader threads intern
//! hundreds of thousands of keys a second: each thread keeps its own copy of
//! the names it has seen (a thread-local map, no lock, no atomic), and only
//! a name the thread has not seen yet takes the global lock — a read lock
//! when another thread registered it already.
//!
//! Names are never freed: the interner grows with the number of *distinct*
//! field paths in the input (hundreds for ECS and the Windows channels), not
//! with the number of events.

use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, RwLock};

/// An interned field path. Ids are dense and start at 0; the order of ids
/// is registration order, not alphabetical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldId(u32);

impl FieldId {
    /// The id as an index (ids are dense from 0).
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The id at an index, if a field of that index was ever registered:
    /// for packed forms of events that store ids as numbers.
    pub fn from_index(i: usize) -> Option<FieldId> {
        // an index this thread has named is registered; else ask the count
        // (not the lock: an unpacked value would take it, both cores
        // contending for its cache line)
        let named = LOCAL.with(|l| i < l.borrow().names.len());
        let registered = || {
            LazyLock::force(&GLOBAL);
            i < REGISTERED.load(Ordering::Acquire)
        };
        (named || registered()).then_some(FieldId(i as u32))
    }
}

/// The fields of ECS events quarry reads and writes most, registered first.
const COMMON: &[&str] = &[
    "@timestamp",
    "event.category",
    "event.type",
    "event.action",
    "event.code",
    "event.kind",
    "event.module",
    "event.dataset",
    "event.provider",
    "event.outcome",
    "event.created",
    "event.ingested",
    "event.id",
    "event.sequence",
    "host.id",
    "host.name",
    "host.hostname",
    "host.os.type",
    "host.os.family",
    "host.os.name",
    "host.os.platform",
    "host.os.version",
    "host.ip",
    "agent.type",
    "agent.id",
    "agent.name",
    "agent.version",
    "data_stream.dataset",
    "data_stream.namespace",
    "data_stream.type",
    "process.name",
    "process.executable",
    "process.command_line",
    "process.args",
    "process.args_count",
    "process.pid",
    "process.entity_id",
    "process.working_directory",
    "process.hash.md5",
    "process.hash.sha1",
    "process.hash.sha256",
    "process.pe.original_file_name",
    "process.code_signature.subject_name",
    "process.code_signature.trusted",
    "process.parent.name",
    "process.parent.executable",
    "process.parent.command_line",
    "process.parent.args",
    "process.parent.pid",
    "process.parent.entity_id",
    "user.name",
    "user.id",
    "user.domain",
    "file.path",
    "file.name",
    "file.extension",
    "file.directory",
    "registry.path",
    "registry.key",
    "registry.value",
    "registry.data.strings",
    "network.protocol",
    "network.direction",
    "network.transport",
    "source.ip",
    "source.port",
    "destination.ip",
    "destination.port",
    "dns.question.name",
    "dns.question.type",
    "dns.resolved_ip",
    "dns.status",
    "url.original",
    "url.domain",
    "winlog.channel",
    "winlog.event_id",
    "winlog.provider_name",
    "winlog.record_id",
    "winlog.computer_name",
    "message",
    "log.level",
];

struct Global {
    ids: FxHashMap<&'static str, u32>,
    names: Vec<&'static str>,
}

impl Global {
    fn register(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        // leaked on purpose: an interned name lives as long as the process
        let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
        self.ids.insert(name, id);
        self.names.push(name);
        REGISTERED.store(self.names.len(), Ordering::Release);
        id
    }
}

/// How many names [`GLOBAL`] holds, read without its lock.
static REGISTERED: AtomicUsize = AtomicUsize::new(0);

static GLOBAL: LazyLock<RwLock<Global>> = LazyLock::new(|| {
    let mut g = Global {
        ids: FxHashMap::default(),
        names: Vec::new(),
    };
    for name in COMMON {
        g.register(name);
    }
    RwLock::new(g)
});

/// A thread's copy of the names it has met (and their ids).
#[derive(Default)]
struct Local {
    ids: FxHashMap<&'static str, u32>,
    names: Vec<&'static str>,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local::default());
}

/// The id of a field path, registering the path if it is new.
pub fn field_id(name: &str) -> FieldId {
    if let Some(id) = find_field(name) {
        return id;
    }
    let (id, stored) = {
        let mut g = GLOBAL.write().unwrap_or_else(|e| e.into_inner());
        // `register` finds a name another thread registered meanwhile
        let id = g.register(name);
        (id, g.names[id as usize])
    };
    LOCAL.with(|l| l.borrow_mut().ids.insert(stored, id));
    FieldId(id)
}

/// The id of a field path if any event (or query) ever used it; a path
/// never registered cannot be in an event.
pub fn find_field(name: &str) -> Option<FieldId> {
    if let Some(id) = lookup_local(name) {
        return Some(id);
    }
    let found = GLOBAL
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .ids
        .get_key_value(name)
        .map(|(k, v)| (*v, *k));
    let (id, stored) = found?;
    LOCAL.with(|l| l.borrow_mut().ids.insert(stored, id));
    Some(FieldId(id))
}

#[inline]
fn lookup_local(name: &str) -> Option<FieldId> {
    LOCAL.with(|l| l.borrow().ids.get(name).copied().map(FieldId))
}

/// The id of a field path written in the code, looked up once per call
/// site and kept (ids live as long as the process): for the normalisers,
/// which set the same few dozen fields on every event.
#[macro_export]
macro_rules! fid {
    ($path:literal) => {{
        static ID: ::std::sync::OnceLock<$crate::FieldId> = ::std::sync::OnceLock::new();
        *ID.get_or_init(|| $crate::field_id($path))
    }};
}

/// A field path a mapping's table names, its id looked up on first use
/// and kept: a table of paths set for every record sets them by id, as
/// [`fid!`] does for a path written in place.
pub struct FieldPath {
    path: &'static str,
    id: std::sync::OnceLock<FieldId>,
}

impl FieldPath {
    pub const fn new(path: &'static str) -> Self {
        FieldPath {
            path,
            id: std::sync::OnceLock::new(),
        }
    }

    pub fn id(&self) -> FieldId {
        *self.id.get_or_init(|| field_id(self.path))
    }
}

/// The path an id stands for.
pub fn field_name(id: FieldId) -> &'static str {
    LOCAL.with(|l| {
        if let Some(n) = l.borrow().names.get(id.index()) {
            return *n;
        }
        // an id this thread has not named yet: copy the names registered
        // since its last copy
        let g = GLOBAL.read().unwrap_or_else(|e| e.into_inner());
        let mut l = l.borrow_mut();
        let have = l.names.len();
        l.names.extend_from_slice(&g.names[have..]);
        l.names.get(id.index()).copied().unwrap_or("")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_site_id_is_the_interned_one() {
        let at = |_| crate::fid!("test.fid.path");
        assert_eq!(at(0), field_id("test.fid.path"));
        assert_eq!(at(1), at(0));
        assert_eq!(field_name(at(2)), "test.fid.path");
    }

    #[test]
    fn ids_are_stable_and_shared_across_threads() {
        let a = field_id("quarry.test.field");
        assert_eq!(field_id("quarry.test.field"), a);
        assert_eq!(field_name(a), "quarry.test.field");
        let from_thread = std::thread::spawn(|| {
            (
                field_id("quarry.test.field"),
                find_field("quarry.test.other"),
            )
        })
        .join()
        .expect("thread");
        assert_eq!(from_thread, (a, None));
        assert_eq!(field_id("@timestamp"), FieldId(0));
        assert_eq!(field_name(FieldId(1)), "event.category");
    }
}
