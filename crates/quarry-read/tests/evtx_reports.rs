//! The chunk accounting's reports on real files checked against the
//! `evtx` crate and the bytes themselves (issue 14's review): a report
//! must stand for records really absent, not for a miscount.

use std::path::PathBuf;

fn corpus(name: &str) -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
        .join("corpus/evtx/omerbenamram")
        .join(name)
}

/// Record ids the `evtx` crate itself yields.
fn crate_ids(p: &PathBuf) -> Vec<u64> {
    let mut parser = evtx::EvtxParser::from_path(p).unwrap();
    let mut ids: Vec<u64> = parser
        .records_json()
        .flatten()
        .map(|r| r.event_record_id)
        .collect();
    ids.sort_unstable();
    ids
}

fn le32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// Both files hold one chunk whose header counts records 1–20; the log is
/// flagged dirty (not closed cleanly). The bytes from the last record the
/// crate reads up to the chunk's free-space offset are zeros: the records
/// the header counts beyond it are not in this copy, and saying so is
/// right.
#[test]
#[ignore = "needs ../shared"]
fn chunk_header_counts_beyond_the_records_present_are_true_reports() {
    for (name, read) in [
        ("Microsoft-Windows-HelloForBusiness%4Operational.evtx", 6u64),
        ("Microsoft-Windows-LanguagePackSetup%4Operational.evtx", 17),
    ] {
        let p = corpus(name);
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes[120] & 1, 1, "{name}: flagged dirty");
        assert_eq!(crate_ids(&p), (1..=read).collect::<Vec<_>>(), "{name}");
        let chunk = &bytes[4096..4096 + 65536];
        // walk the records present, then look at what the header says follows
        let mut at = 512;
        while chunk[at..at + 4] == *b"**\0\0" {
            at += le32(chunk, at + 4);
        }
        let free = le32(chunk, 48);
        assert!(chunk[at..free].iter().all(|b| *b == 0), "{name}");
        let (ids, s) = quarry_read::scan(&[p], |_| Some(()));
        assert_eq!(ids.len() as u64, read);
        let text: Vec<String> = s.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(text.len(), 1, "{text:?}");
        assert!(
            text[0].ends_with(&format!(
                "chunk 0 at offset 4096: header says records 1–20, read {read}"
            )),
            "{text:?}"
        );
    }
}

/// Chunks 10 and 11 are zeros between chunks in use: record ids run 1–1155
/// in chunks 0–9 and resume at 1418 in chunk 12, so 262 records are lost.
#[test]
#[ignore = "needs ../shared"]
fn zeroed_chunks_between_used_ones_lose_records() {
    let p = corpus("2-vss_7-System.evtx");
    let ids = crate_ids(&p);
    assert!(ids.contains(&1155) && ids.contains(&1418));
    assert!(!ids.iter().any(|i| (1156..1418).contains(i)));
    let (n, s) = quarry_read::scan(std::slice::from_ref(&p), |_| Some(()));
    assert_eq!(n.len(), ids.len());
    let text: Vec<String> = s.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(text.len(), 2, "{text:?}");
    assert!(
        text[0].contains("chunk 10 at offset 659456: the chunk is all zeros"),
        "{text:?}"
    );
    assert!(
        text[1].contains("chunk 11 at offset 724992: the chunk is all zeros"),
        "{text:?}"
    );
}
