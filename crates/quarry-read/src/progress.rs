//! How far reading has come, for a progress bar: files and bytes read of
//! those found, events and problems so far. Process-wide counters the
//! readers bump as each file is done and a front end polls; a library
//! caller that shows no progress pays one atomic add per file.
//!
//! Counters rather than a callback handed down every reader: reading runs
//! in rayon tasks several calls deep, and the one consumer (the CLI's bar)
//! only samples a few times a second.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

static FILES_TOTAL: AtomicU64 = AtomicU64::new(0);
static BYTES_TOTAL: AtomicU64 = AtomicU64::new(0);
static FILES_DONE: AtomicU64 = AtomicU64::new(0);
static BYTES_DONE: AtomicU64 = AtomicU64::new(0);
static EVENTS: AtomicU64 = AtomicU64::new(0);
static PROBLEMS: AtomicU64 = AtomicU64::new(0);

/// A sample of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub files_total: u64,
    pub bytes_total: u64,
    pub files_done: u64,
    pub bytes_done: u64,
    pub events: u64,
    pub problems: u64,
}

/// The counters now (over every scan of this process).
pub fn sample() -> Progress {
    Progress {
        files_total: FILES_TOTAL.load(Relaxed),
        bytes_total: BYTES_TOTAL.load(Relaxed),
        files_done: FILES_DONE.load(Relaxed),
        bytes_done: BYTES_DONE.load(Relaxed),
        events: EVENTS.load(Relaxed),
        problems: PROBLEMS.load(Relaxed),
    }
}

/// A scan found these files to read.
pub(crate) fn found(files: &[std::path::PathBuf]) {
    let bytes: u64 = files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    FILES_TOTAL.fetch_add(files.len() as u64, Relaxed);
    BYTES_TOTAL.fetch_add(bytes, Relaxed);
}

/// One file is read.
pub(crate) fn file_done(bytes: u64, events: u64, problems: u64) {
    FILES_DONE.fetch_add(1, Relaxed);
    BYTES_DONE.fetch_add(bytes, Relaxed);
    EVENTS.fetch_add(events, Relaxed);
    PROBLEMS.fetch_add(problems, Relaxed);
}
