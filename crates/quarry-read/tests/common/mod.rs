//! What several quarry-read test files share (a module of each test crate
//! that declares `mod common;`; not every one uses every helper).
#![allow(dead_code)]

use std::path::PathBuf;
use tempfile::TempDir;

/// A scratch folder named `quarry-<tag>-…`, so that one left by a killed
/// run says which test made it; removed when the guard drops.
pub fn scratch(tag: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("quarry-{tag}-"))
        .tempdir()
        .expect("scratch dir")
}

/// `bytes` written as `name` in `dir`.
pub fn file(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).expect("scratch file");
    p
}
