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

/// The mutation loop (issue 14): every EVTX of
/// `corpus/evtx/omerbenamram` and a few JSON-lines samples, each mutated
/// by a seeded generator (bytes flipped, the file cut, a range zeroed):
/// nothing panics (a reader's panic would be reported as "reader failed"),
/// and whenever records are lost a problem says so.
#[test]
#[ignore = "needs ../shared"]
fn mutation_loop_over_the_corpus() {
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(corpus().join("evtx/omerbenamram"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 20, "{inputs:?}");
    for f in [
        "plaso/input-psexec-sysmon.psort.jsonl",
        "plaso/sysmon_eid1_eid22.psort.jsonl",
        "vendor/elastic-integrations/crowdstrike_fdr/test-fdr.log.selected.ndjson",
        "vendor/elastic-integrations/m365_defender/test-device.log.DeviceProcessEvents.ndjson",
    ] {
        inputs.push(corpus().join(f));
    }
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let started = std::time::Instant::now();
    let mut mutants = 0;
    for input in &inputs {
        let src = std::fs::read(input).unwrap();
        let (clean, _) = quarry_read::scan(std::slice::from_ref(input), Some);
        let json = !src.starts_with(b"ElfFile\0");
        for round in 0..24 {
            let mut bytes = src.clone();
            let at = (next() as usize) % bytes.len().max(1);
            match round % 3 {
                0 => {
                    for _ in 0..1 + round % 5 {
                        let i = (next() as usize) % bytes.len();
                        bytes[i] ^= 1 << (next() % 8);
                    }
                }
                1 => bytes.truncate(at),
                _ => {
                    let end = (at + 1 + (next() as usize) % 4096).min(bytes.len());
                    bytes[at..end].fill(0);
                }
            }
            // a JSON-lines file cut just after a newline is a shorter file:
            // nothing can tell the loss
            let silent_cut = json && round % 3 == 1 && (at == 0 || bytes.last() == Some(&b'\n'));
            let name = format!(
                "mutant-{round}-{}",
                input.file_name().unwrap().to_string_lossy()
            );
            let p = write(&name, &bytes);
            let (evs, s) = quarry_read::scan(std::slice::from_ref(&p), Some);
            mutants += 1;
            let text: Vec<String> = s.problems.iter().map(|p| p.to_string()).collect();
            assert!(
                !text.iter().any(|t| t.contains("reader failed")),
                "{name}: a reader panicked: {text:?}"
            );
            if evs.len() < clean.len() && !silent_cut {
                assert!(
                    !text.is_empty(),
                    "{name}: {} of {} records kept, no problem reported",
                    evs.len(),
                    clean.len()
                );
            }
            let _ = std::fs::remove_file(&p);
        }
    }
    eprintln!(
        "{mutants} mutants of {} files in {:?}",
        inputs.len(),
        started.elapsed()
    );
    assert!(started.elapsed().as_secs() < 120, "{:?}", started.elapsed());
}
