//! The bounds that keep hostile input from costing more than a damaged
//! part: how deep containers are opened, how much one input may
//! decompress to, how large a member held in memory and a JSON document
//! may be. Past a bound the input is reported and the rest read.
//!
//! They are process-wide, set once by the command line before reading
//! (as rayon's pool is): every reader consults them, and threading them
//! through each `scan` call would change every caller for a setting that
//! does not vary within a run. Atomics, because the document bound is
//! looked at per line.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

/// The bounds in force; [`Limits::default`] is what quarry documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Containers (zip, gzip, tar) opened inside one another at most:
    /// deeper nesting is a decompression bomb's, not a collection's.
    pub max_archive_depth: u32,
    /// What one input may decompress to, as a multiple of its size on
    /// disk …
    pub max_expansion: u64,
    /// … or this many bytes, whichever is more.
    pub expansion_floor: u64,
    /// A member that must be held in memory to be read (an EVTX file or a
    /// zip inside a container) may take this many bytes.
    pub max_member_size: u64,
    /// A JSON line or document (array element) larger than this is skipped
    /// and reported: its parse would hold many times its size.
    pub max_document_size: u64,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        max_archive_depth: 8,
        max_expansion: 100,
        expansion_floor: 1 << 30,
        max_member_size: 2 << 30,
        max_document_size: 256 << 20,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

static ARCHIVE_DEPTH: AtomicU32 = AtomicU32::new(Limits::DEFAULT.max_archive_depth);
static EXPANSION: AtomicU64 = AtomicU64::new(Limits::DEFAULT.max_expansion);
static EXPANSION_FLOOR: AtomicU64 = AtomicU64::new(Limits::DEFAULT.expansion_floor);
static MEMBER_SIZE: AtomicU64 = AtomicU64::new(Limits::DEFAULT.max_member_size);
static DOCUMENT_SIZE: AtomicU64 = AtomicU64::new(Limits::DEFAULT.max_document_size);

/// Sets the bounds for every read that follows.
pub fn set_limits(l: Limits) {
    ARCHIVE_DEPTH.store(l.max_archive_depth, Relaxed);
    EXPANSION.store(l.max_expansion, Relaxed);
    EXPANSION_FLOOR.store(l.expansion_floor, Relaxed);
    MEMBER_SIZE.store(l.max_member_size, Relaxed);
    DOCUMENT_SIZE.store(l.max_document_size, Relaxed);
}

/// The bounds in force.
pub fn limits() -> Limits {
    Limits {
        max_archive_depth: ARCHIVE_DEPTH.load(Relaxed),
        max_expansion: EXPANSION.load(Relaxed),
        expansion_floor: EXPANSION_FLOOR.load(Relaxed),
        max_member_size: MEMBER_SIZE.load(Relaxed),
        max_document_size: DOCUMENT_SIZE.load(Relaxed),
    }
}

/// The document bound as a length in memory.
pub(crate) fn max_document_bytes() -> usize {
    usize::try_from(DOCUMENT_SIZE.load(Relaxed)).unwrap_or(usize::MAX)
}

/// A byte count for messages: `256 MiB`, `4 KiB`, `100 bytes`.
pub(crate) fn show_bytes(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) || n >= 16 << 20 {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) || n >= 16 << 10 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_shown_in_the_unit_they_were_given() {
        assert_eq!(show_bytes(256 << 20), "256 MiB");
        assert_eq!(show_bytes(4096), "4 KiB");
        assert_eq!(show_bytes(100), "100 bytes");
        assert_eq!(show_bytes(3 << 30), "3072 MiB");
    }
}
