//! What several CLI test files share (a module of each test crate that
//! declares `mod common;`).

use std::path::PathBuf;
use tempfile::TempDir;

/// A scratch folder named `quarry-<tag>-…`, so that one left by a killed
/// run says which test made it, and its path; the folder is removed when
/// the guard drops.
pub fn scratch(tag: &str) -> (TempDir, PathBuf) {
    let d = tempfile::Builder::new()
        .prefix(&format!("quarry-{tag}-"))
        .tempdir()
        .expect("scratch dir");
    let p = d.path().to_path_buf();
    (d, p)
}
