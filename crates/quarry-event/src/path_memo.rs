//! What a test of field paths (a wildcard field name, a list of prefixes)
//! says of each field id, worked out once per id and remembered: such a
//! test is asked of every field of every event, and an id's answer never
//! changes.

use crate::{FieldId, field_name};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// Ids per chunk of answers, and chunks: the first 64 Ki ids are
/// remembered (logs name a few hundred fields; a JSON source with more
/// has the rest worked out each time).
const CHUNK: usize = 1 << 10;
const CHUNKS: usize = 64;

/// Answers of one test by field id, shared by every thread. A chunk of
/// answers is allocated when an id in it is first asked about; an answer
/// is one relaxed atomic load once known (two threads asking at once both
/// work it out, and store the same answer).
pub struct PathMemo {
    chunks: [OnceLock<Box<[AtomicU8]>>; CHUNKS],
}

/// An answer not yet worked out, and the two answers.
const UNKNOWN: u8 = 0;
const NO: u8 = 1;
const YES: u8 = 2;

impl PathMemo {
    pub const fn new() -> Self {
        PathMemo {
            chunks: [const { OnceLock::new() }; CHUNKS],
        }
    }

    /// What `test` says of field `id`'s path. `test` must be the same
    /// test at every call on one memo.
    #[inline]
    pub fn holds(&self, id: FieldId, test: impl FnOnce(&str) -> bool) -> bool {
        let i = id.index();
        let Some(chunk) = self.chunks.get(i / CHUNK) else {
            return test(field_name(id));
        };
        let chunk = chunk.get_or_init(|| (0..CHUNK).map(|_| AtomicU8::new(UNKNOWN)).collect());
        let slot = &chunk[i % CHUNK];
        match slot.load(Ordering::Relaxed) {
            NO => false,
            YES => true,
            _ => {
                let holds = test(field_name(id));
                slot.store(if holds { YES } else { NO }, Ordering::Relaxed);
                holds
            }
        }
    }
}

impl Default for PathMemo {
    fn default() -> Self {
        PathMemo::new()
    }
}

/// A copy starts empty: its answers are worked out again.
impl Clone for PathMemo {
    fn clone(&self) -> Self {
        PathMemo::new()
    }
}

impl std::fmt::Debug for PathMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PathMemo")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field_id;
    use std::cell::Cell;

    #[test]
    fn a_path_is_tested_once_and_answered_from_memory_after() {
        let memo = PathMemo::new();
        let asked = Cell::new(0);
        let test = |p: &str| {
            asked.set(asked.get() + 1);
            p.starts_with("file.hash.")
        };
        let (md5, name) = (field_id("file.hash.md5"), field_id("file.name"));
        for _ in 0..3 {
            assert!(memo.holds(md5, test));
            assert!(!memo.holds(name, test));
        }
        assert_eq!(asked.get(), 2);
        // a copy works its answers out again
        let copy = memo.clone();
        assert!(copy.holds(md5, test));
        assert_eq!(asked.get(), 3);
    }
}
