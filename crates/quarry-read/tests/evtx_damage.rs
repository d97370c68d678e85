//! Damaged EVTX never panics and never loses a record in silence (issue
//! 14): real corpus files, copied to a temp dir and cut, zeroed or flipped
//! there. Each case checks that the records of intact chunks are all kept
//! (compared with the intact file), that the complete records of a partial
//! last chunk are recovered, and that every loss is reported with the file
//! and a byte offset.

mod common;
use common::{file, scratch};
use quarry_event::{Event, Locator};
use quarry_read::ReadSummary;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const FILE_HEADER: usize = 4096;
const CHUNK: usize = 65536;

fn corpus(name: &str) -> PathBuf {
    let root = std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    root.join("corpus/evtx/omerbenamram").join(name)
}

fn record_id(e: Event) -> Option<u64> {
    match e.origin.locator {
        Locator::Record(r) => Some(r),
        _ => None,
    }
}

fn read(p: &Path) -> (BTreeSet<u64>, ReadSummary) {
    let (ids, s) = quarry_read::scan(&[p.to_path_buf()], record_id);
    (ids.into_iter().collect(), s)
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// A chunk's records as the test walks them itself: (file offset of the
/// record, its end, its id).
fn records_of(bytes: &[u8], chunk: usize) -> Vec<(usize, usize, u64)> {
    let start = FILE_HEADER + chunk * CHUNK;
    let c = &bytes[start..start + CHUNK];
    let free = (le32(c, 48) as usize).min(CHUNK);
    let mut out = Vec::new();
    let mut off = 512;
    while off + 24 <= free && &c[off..off + 4] == b"\x2a\x2a\x00\x00" {
        let size = le32(c, off + 4) as usize;
        if size < 28 || off + size > free {
            break;
        }
        out.push((start + off, start + off + size, le64(c, off + 8)));
        off += size;
    }
    out
}

fn chunks(bytes: &[u8]) -> usize {
    (bytes.len() - FILE_HEADER) / CHUNK
}

/// Every problem names the file; returns their messages with locations.
fn problems(s: &ReadSummary, name: &str) -> Vec<String> {
    for p in &s.problems {
        assert!(p.file.ends_with(name), "{p}");
    }
    s.problems
        .iter()
        .map(|p| format!("{} | {}", p.location, p.message))
        .collect()
}

#[test]
#[ignore = "needs ../shared"]
fn a_cut_file_keeps_every_complete_record_of_its_last_chunk() {
    let dir = scratch("evtx-damage");
    let name = "security.evtx";
    let bytes = std::fs::read(corpus(name)).unwrap();
    let (all, s) = read(&corpus(name));
    assert!(s.problems.is_empty(), "{:?}", s.problems);
    // The last chunk with records (the file's last chunks may be empty):
    // the cut lands in it, and whatever follows is gone.
    let last = (0..chunks(&bytes))
        .rposition(|k| records_of(&bytes, k).len() > 4)
        .unwrap();
    let recs = records_of(&bytes, last);
    let last_start = FILE_HEADER + last * CHUNK;
    let after: BTreeSet<u64> = (last..chunks(&bytes))
        .flat_map(|k| records_of(&bytes, k))
        .map(|r| r.2)
        .collect();
    let before: BTreeSet<u64> = all.difference(&after).copied().collect();
    assert!(!before.is_empty());
    let cuts = [
        ("one byte short", last_start + CHUNK - 1),
        ("inside a record", recs[3].0 + 40),
        ("at a record's end", recs[2].1),
        (
            "inside the last record's size copy",
            recs[recs.len() - 1].1 - 2,
        ),
        ("inside the chunk header", last_start + 100),
        ("at the chunk's start + 1", last_start + 1),
    ];
    for (what, cut) in cuts {
        let p = file(&dir, &format!("cut-{cut}-{name}"), &bytes[..cut]);
        let (got, s) = read(&p);
        let complete: BTreeSet<u64> = recs.iter().filter(|r| r.1 <= cut).map(|r| r.2).collect();
        let expected: BTreeSet<u64> = before.union(&complete).copied().collect();
        assert_eq!(got, expected, "{what} (cut at {cut})");
        let ps = problems(&s, name);
        let want = format!(
            "file truncated at offset {cut} inside chunk {last} (chunk at offset {last_start}): {} records recovered",
            complete.len()
        );
        assert!(ps.iter().any(|p| p.contains(&want)), "{what}: {ps:?}");
        std::fs::remove_file(p).unwrap();
    }
}

#[test]
#[ignore = "needs ../shared"]
fn a_file_cut_on_a_chunk_boundary_is_reported() {
    let dir = scratch("evtx-damage");
    let name = "security.evtx";
    let bytes = std::fs::read(corpus(name)).unwrap();
    let (all, _) = read(&corpus(name));
    let k = 10;
    let cut = FILE_HEADER + k * CHUNK;
    let lost: BTreeSet<u64> = (k..chunks(&bytes))
        .flat_map(|c| records_of(&bytes, c))
        .map(|r| r.2)
        .collect();
    let p = file(&dir, &format!("boundary-{name}"), &bytes[..cut]);
    let (got, s) = read(&p);
    assert_eq!(got, all.difference(&lost).copied().collect());
    let ps = problems(&s, name);
    assert!(
        ps.iter()
            .any(|p| p.contains(&format!("file truncated at offset {cut}"))),
        "{ps:?}"
    );
}

#[test]
#[ignore = "needs ../shared"]
fn a_zeroed_chunk_is_reported_and_the_others_kept() {
    let dir = scratch("evtx-damage");
    let name = "security.evtx";
    let mut bytes = std::fs::read(corpus(name)).unwrap();
    let (all, _) = read(&corpus(name));
    let k = 5;
    let lost: BTreeSet<u64> = records_of(&bytes, k).iter().map(|r| r.2).collect();
    let start = FILE_HEADER + k * CHUNK;
    bytes[start..start + CHUNK].fill(0);
    let p = file(&dir, &format!("zero-{name}"), &bytes);
    let (got, s) = read(&p);
    let expected: BTreeSet<u64> = all.difference(&lost).copied().collect();
    assert_eq!(got, expected);
    let ps = problems(&s, name);
    assert!(
        ps.iter()
            .any(|p| p.contains(&format!("chunk {k} at offset {start}"))),
        "{ps:?}"
    );
}

#[test]
#[ignore = "needs ../shared"]
fn a_corrupt_record_size_is_reported_and_the_other_chunks_kept() {
    let dir = scratch("evtx-damage");
    let name = "security.evtx";
    let (all, _) = read(&corpus(name));
    let orig = std::fs::read(corpus(name)).unwrap();
    let k = 3;
    let recs = records_of(&orig, k);
    let others: BTreeSet<u64> = all
        .iter()
        .copied()
        .filter(|id| !recs.iter().any(|r| r.2 == *id))
        .collect();
    let start = FILE_HEADER + k * CHUNK;
    for (i, byte, value) in [(2, 4, 0xffu8), (2, 5, 0x7f), (5, 4, 0x01), (5, 6, 0x01)] {
        let mut bytes = orig.clone();
        bytes[recs[i].0 + byte] ^= value;
        let p = file(&dir, &format!("size-{i}-{byte}-{name}"), &bytes);
        let (got, s) = read(&p);
        assert!(got.is_superset(&others), "record {i} byte {byte}");
        let missing = all.difference(&got).count();
        let ps = problems(&s, name);
        assert!(missing > 0 || !ps.is_empty(), "record {i} byte {byte}");
        if missing > 0 {
            assert!(
                ps.iter()
                    .any(|p| p.contains(&format!("chunk {k} at offset {start}"))),
                "record {i} byte {byte}: {ps:?}"
            );
        }
        std::fs::remove_file(p).unwrap();
    }
}

#[test]
#[ignore = "needs ../shared"]
fn chunk_problems_name_the_offset_and_cause() {
    let name = "sample_with_a_bad_chunk_magic.evtx";
    let (_, s) = read(&corpus(name));
    let ps = problems(&s, name);
    assert!(!ps.is_empty());
    for p in &ps {
        assert!(p.contains("offset"), "{p}");
    }
}

/// A small xorshift, so the mutants are the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
#[ignore = "needs ../shared"]
fn mutants_never_panic_or_hang() {
    let dir = scratch("evtx-damage");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for name in [
        "new-user-security.evtx",
        "Application_no_crc32.evtx",
        "issue_201.evtx",
    ] {
        let orig = std::fs::read(corpus(name)).unwrap();
        let (all, _) = read(&corpus(name));
        for i in 0..120 {
            let mut b = orig.clone();
            let kind = rng.below(4);
            match kind {
                0 => {
                    for _ in 0..1 + rng.below(8) {
                        let at = rng.below(b.len());
                        b[at] ^= 1 << rng.below(8);
                    }
                }
                1 => {
                    let cut = FILE_HEADER + rng.below(b.len() - FILE_HEADER);
                    b.truncate(cut);
                }
                2 => {
                    let at = rng.below(b.len());
                    let n = 1 + rng.below(4096);
                    let end = (at + n).min(b.len());
                    b[at..end].fill(0);
                }
                _ => {
                    // A damaged record header: its magic, size or id.
                    let recs = records_of(&orig, 0);
                    let r = recs[rng.below(recs.len())];
                    let at = r.0 + rng.below(24);
                    b[at] = rng.next() as u8;
                }
            }
            let p = file(&dir, &format!("mut-{i}-{name}"), &b);
            let t = Instant::now();
            let (got, s) = read(&p);
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "{name} mutant {i} took {:?}",
                t.elapsed()
            );
            // Whatever was lost was reported.
            if got.len() < all.len() || b.len() != orig.len() {
                assert!(
                    !s.problems.is_empty(),
                    "{name} mutant {i} (kind {kind}): silent loss"
                );
            }
            std::fs::remove_file(p).unwrap();
        }
    }
}
