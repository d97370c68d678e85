//! The limits on bad input as global flags (issue 14): each one lowered on
//! a small fixture written here makes the input past it reported (exit 1)
//! while the rest is read; at its default the same fixture reads clean.

use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};
use tempfile::TempDir;

fn quarry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(args)
        .env_remove("QUARRY_RULES")
        .env("QUARRY_CONFIG", "/nonexistent/quarry-config.toml")
        .output()
        .expect("run quarry")
}

/// A scratch folder, removed when dropped.
fn scratch() -> TempDir {
    tempfile::Builder::new()
        .prefix("quarry-limits-")
        .tempdir()
        .unwrap()
}

fn tmp(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// `n` process events as ECS JSON lines, each naming `tag`.
fn events(tag: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"@timestamp\":\"2024-05-01T10:00:{:02}Z\",\"event\":{{\"category\":\"process\",\"type\":\"start\"}},\"host\":{{\"name\":\"h\"}},\"process\":{{\"pid\":{i},\"name\":\"{tag}.exe\"}}}}\n",
                i % 60
            )
        })
        .collect()
}

/// Runs a search for every process event over `inputs` with `flags`:
/// exit code, how many events named `tag`, stderr.
fn search(flags: &[&str], inputs: &[&PathBuf], tag: &str) -> (Option<i32>, usize, String) {
    let mut args: Vec<&str> = flags.to_vec();
    args.extend(["search", "--format", "ndjson", "process where true"]);
    let paths: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let o = quarry(&args);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let hits = stdout
        .lines()
        .filter(|l| l.contains(&format!("\"{tag}.exe\"")))
        .count();
    (
        o.status.code(),
        hits,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn max_archive_depth() {
    let dir = scratch();
    let twice = tmp(
        &dir,
        "twice.json.gz.gz",
        &gz(&gz(events("deep", 3).as_bytes())),
    );
    let plain = tmp(&dir, "depth-plain.json", events("plain", 2).as_bytes());
    let (code, hits, _) = search(&[], &[&twice], "deep");
    assert_eq!((code, hits), (Some(0), 3));
    // global flags go before or after the subcommand
    let (code, deep, err) = search(&["--max-archive-depth", "1"], &[&twice, &plain], "deep");
    assert_eq!((code, deep), (Some(1), 0), "{err}");
    assert!(
        err.contains("twice.json.gz.gz") && err.contains("nested more than 1 deep"),
        "{err}"
    );
    let (_, plain_hits, _) = search(&["--max-archive-depth", "1"], &[&twice, &plain], "plain");
    assert_eq!(plain_hits, 2);
}

#[test]
fn max_expansion_and_expansion_floor() {
    let dir = scratch();
    // 2,000 lines compress about 50-fold
    let bomb = tmp(
        &dir,
        "expands.json.gz",
        &gz(events("bomb", 2000).as_bytes()),
    );
    let (code, hits, err) = search(&[], &[&bomb], "bomb");
    assert_eq!((code, hits), (Some(0), 2000), "{err}");
    let (code, hits, err) = search(
        &["--max-expansion", "2", "--expansion-floor", "16K"],
        &[&bomb],
        "bomb",
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(hits > 0 && hits < 2000, "{hits}: {err}");
    assert!(
        err.contains("expands.json.gz") && err.contains("decompresses to more than"),
        "{err}"
    );
    // the floor alone lifts the ratio's bound
    let (code, hits, err) = search(
        &["--max-expansion", "2", "--expansion-floor", "1M"],
        &[&bomb],
        "bomb",
    );
    assert_eq!((code, hits), (Some(0), 2000), "{err}");
}

#[test]
fn max_member_size() {
    let dir = scratch();
    // an EVTX inside a gzip is held in memory to be read
    let mut evtx = b"ElfFile\0".to_vec();
    evtx.resize(8192, 0);
    let member = tmp(&dir, "held.evtx.gz", &gz(&evtx));
    let plain = tmp(&dir, "member-plain.json", events("plain", 2).as_bytes());
    let (code, hits, err) = search(&["--max-member-size", "4K"], &[&member, &plain], "plain");
    assert_eq!((code, hits), (Some(1), 2), "{err}");
    assert!(
        err.contains("held.evtx.gz") && err.contains("larger than the 4 KiB"),
        "{err}"
    );
    let (_, _, err) = search(&[], &[&member], "plain");
    assert!(!err.contains("larger than"), "{err}");
}

#[test]
fn max_document_size() {
    let dir = scratch();
    let mut lines = events("doc", 3);
    lines.push_str(&format!(
        "{{\"event\":{{\"category\":\"process\"}},\"pad\":\"{}\"}}\n",
        "x".repeat(4000)
    ));
    lines.push_str(&events("after", 2));
    let file = tmp(&dir, "long-line.json", lines.as_bytes());
    let (code, _, err) = search(&[], &[&file], "doc");
    assert_eq!(code, Some(0), "{err}");
    let (code, hits, err) = search(&["--max-document-size", "1K"], &[&file], "after");
    assert_eq!((code, hits), (Some(1), 2), "{err}");
    assert!(
        err.contains("long-line.json") && err.contains("line 4") && err.contains("1 KiB"),
        "{err}"
    );
}

#[test]
fn a_size_that_does_not_parse_is_a_usage_error() {
    let o = quarry(&["--max-member-size", "lots", "search", "process where true"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a size"));
}
