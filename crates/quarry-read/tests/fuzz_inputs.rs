//! Whole files of hostile bytes: reading never panics, keeps what is
//! readable and reports the rest.

use proptest::prelude::*;
use std::io::Write;
use std::path::PathBuf;

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quarry-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_json_lines_files(lines in prop::collection::vec(prop_oneof![
        Just("{\"EventID\":22,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"QueryName\":\"a\"}".to_string()),
        Just("{\"a\":".to_string()),
        Just("[1,2".to_string()),
        Just("\u{feff}{}".to_string()),
        ".{0,40}",
    ], 0..20), n in 0u32..1_000_000) {
        let text = lines.join("\n");
        let p = write(&format!("r{n}.jsonl"), text.as_bytes());
        let (evs, s) = quarry_read::scan(&[p], Some);
        prop_assert!(evs.len() as u64 == s.events);
    }

    #[test]
    fn random_bytes_with_magic_prefixes(prefix in prop_oneof![Just(&b"ElfFile\0"[..]), Just(&b"PK\x03\x04"[..]), Just(&b"\x1f\x8b"[..]), Just(&b"["[..]), Just(&b"{"[..]), Just(&b"\xff\xfe"[..])],
                                        body in prop::collection::vec(any::<u8>(), 0..5000), n in 0u32..1_000_000) {
        let mut bytes = prefix.to_vec();
        bytes.extend(body);
        let p = write(&format!("b{n}.bin"), &bytes);
        let _ = quarry_read::scan(&[p], Some);
    }
}

fn corpus() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
        .join("corpus")
}

/// Real EVTX files with bytes flipped at random places: every readable
/// record is kept, damage is reported, nothing panics.
#[test]
#[ignore = "needs ../shared"]
fn mutated_real_evtx_files() {
    let src = std::fs::read(corpus().join("evtx/omerbenamram/security.evtx")).unwrap();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (clean, _) = quarry_read::scan(&[corpus().join("evtx/omerbenamram/security.evtx")], Some);
    for round in 0..40 {
        let mut bytes = src.clone();
        for _ in 0..(1 + round % 8) {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        let p = write(&format!("mutated-{round}.evtx"), &bytes);
        let (evs, s) = quarry_read::scan(&[p], Some);
        // a few flipped bytes cost at most the chunks they hit
        assert!(
            evs.len() + 2000 >= clean.len() || !s.problems.is_empty(),
            "round {round}: {} of {} kept, no problem reported",
            evs.len(),
            clean.len()
        );
    }
}
