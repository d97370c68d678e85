//! Whole files of hostile bytes: reading never panics, keeps what is
//! readable and reports the rest.

mod common;
use common::{file, scratch};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// `bytes` as `name` in a scratch folder, removed when the guard drops.
fn write(name: &str, bytes: &[u8]) -> (TempDir, PathBuf) {
    let dir = scratch("fuzz");
    let p = file(&dir, name, bytes);
    (dir, p)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        // integration tests have no lib.rs for the default to place them by
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_json_lines_files(lines in prop::collection::vec(prop_oneof![
        Just("{\"EventID\":22,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"QueryName\":\"a\"}".to_string()),
        Just("{\"a\":".to_string()),
        Just("[1,2".to_string()),
        Just("\u{feff}{}".to_string()),
        ".{0,40}",
    ], 0..20), n in 0u32..1_000_000) {
        let text = lines.join("\n");
        let (_dir, p) = write(&format!("r{n}.jsonl"), text.as_bytes());
        let (evs, s) = quarry_read::scan(std::slice::from_ref(&p), Some);
        prop_assert!(evs.len() as u64 == s.events);
    }

    #[test]
    fn random_bytes_with_magic_prefixes(prefix in prop_oneof![Just(&b"ElfFile\0"[..]), Just(&b"PK\x03\x04"[..]), Just(&b"\x1f\x8b"[..]), Just(&b"["[..]), Just(&b"{"[..]), Just(&b"\xff\xfe"[..])],
                                        body in prop::collection::vec(any::<u8>(), 0..5000), n in 0u32..1_000_000) {
        let mut bytes = prefix.to_vec();
        bytes.extend(body);
        let (_dir, p) = write(&format!("b{n}.bin"), &bytes);
        let _ = quarry_read::scan(std::slice::from_ref(&p), Some);
    }
}

fn corpus() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
        .join("corpus")
}

/// splitmix64: one seeded stream per mutant, so a mutant is the same
/// whatever thread makes it and can be made again from its name.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One mutant: its bytes and the byte ranges of the source it changed (a
/// cut changes everything from the cut on).
struct Mutant {
    bytes: Vec<u8>,
    changed: Vec<std::ops::Range<usize>>,
    what: String,
}

/// Flips bits, cuts the file, or zeroes a run of bytes (sometimes one as
/// long as an EVTX chunk), as the seed says.
fn mutate(src: &[u8], seed: u64) -> Mutant {
    let mut rng = Rng(seed);
    let mut bytes = src.to_vec();
    let len = bytes.len();
    let mut changed = Vec::new();
    let what = match rng.below(3) {
        0 => {
            let n = 1 + rng.below(6);
            for _ in 0..n {
                let i = rng.below(len);
                bytes[i] ^= 1 << rng.below(8);
                changed.push(i..i + 1);
            }
            format!("{n} bits flipped")
        }
        1 => {
            let at = rng.below(len);
            bytes.truncate(at);
            changed.push(at..len);
            format!("cut at {at}")
        }
        _ => {
            let at = rng.below(len);
            let run = if rng.below(4) == 0 {
                1 + rng.below(70_000)
            } else {
                1 + rng.below(4096)
            };
            let end = (at + run).min(len);
            bytes[at..end].fill(0);
            changed.push(at..end);
            format!("{} bytes zeroed at {at}", end - at)
        }
    };
    Mutant {
        bytes,
        changed,
        what,
    }
}

/// The records the `evtx` crate itself renders from a file: what quarry
/// must at least keep.
fn evtx_crate_renders(bytes: Vec<u8>) -> usize {
    let Ok(parser) = evtx::EvtxParser::from_buffer(bytes) else {
        return 0;
    };
    let mut parser = parser.with_configuration(evtx::ParserSettings::new().num_threads(1));
    parser
        .serialized_records(|r| r.and_then(|r| r.into_json_bytes()).map(|_| ()))
        .filter(Result::is_ok)
        .count()
}

/// The JSON-lines samples: plain files from the corpus, and the winlogbeat
/// files of OTRF datasets taken out of their zips.
fn json_lines_samples() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for f in [
        "plaso/input-psexec-sysmon.psort.jsonl",
        "plaso/sysmon_eid1_eid22.psort.jsonl",
        "vendor/elastic-integrations/crowdstrike_fdr/test-fdr.log.selected.ndjson",
        "vendor/elastic-integrations/crowdstrike_fdr/test-windows.log.selected.ndjson",
        "vendor/elastic-integrations/m365_defender/test-device.log.DeviceProcessEvents.ndjson",
        "vendor/elastic-integrations/sentinel_one_cloud_funnel/test-dns.log",
        "vendor/elastic-integrations/sentinel_one_cloud_funnel/test-process.log",
        "vendor/splunk-security_content/crowdstrike_processrollup2.example_log.ndjson",
    ] {
        let p = corpus().join(f);
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        out.push((name, std::fs::read(&p).unwrap()));
    }
    for z in [
        "otrf/atomic/windows/discovery/host/cmd_discover_iexplorer_version_registry.zip",
        "otrf/atomic/windows/credential_access/host/cmd_lsass_memory_dumpert_syscalls.zip",
    ] {
        let file = std::fs::File::open(corpus().join(z)).unwrap();
        let mut zip = zip::ZipArchive::new(file).unwrap();
        let mut member = zip.by_index(0).unwrap();
        let name = member.name().unwrap().to_string();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut member, &mut bytes).unwrap();
        out.push((name, bytes));
    }
    out
}

/// A reader that takes longer than this on one mutant hangs.
const HANG: std::time::Duration = std::time::Duration::from_secs(120);

/// Aborts the test when a mutant is read for longer than [`HANG`]: a
/// hanging reader never returns, so the loop itself cannot notice.
struct Watchdog {
    running: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

impl Watchdog {
    fn start() -> std::sync::Arc<Watchdog> {
        let dog = std::sync::Arc::new(Watchdog {
            running: Default::default(),
        });
        let weak = std::sync::Arc::downgrade(&dog);
        std::thread::spawn(move || {
            while let Some(dog) = weak.upgrade() {
                let late = dog
                    .running
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .find(|(_, t)| t.elapsed() > HANG)
                    .map(|(name, _)| name.clone());
                if let Some(name) = late {
                    eprintln!("{name}: still being read after {HANG:?}: a reader hangs");
                    std::process::abort();
                }
                drop(dog);
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
        });
        dog
    }

    fn watch<T>(&self, name: &str, f: impl FnOnce() -> T) -> T {
        let lock = || self.running.lock().unwrap_or_else(|e| e.into_inner());
        lock().insert(name.to_string(), std::time::Instant::now());
        let out = f();
        lock().remove(name);
        out
    }
}

/// Every problem names the mutant's file and says where in it; none says
/// that a reader panicked.
fn check_problems(name: &str, path: &Path, s: &quarry_read::ReadSummary) -> Vec<String> {
    let file = path.display().to_string();
    let text: Vec<String> = s.problems.iter().map(|p| p.to_string()).collect();
    for p in &s.problems {
        assert!(
            !p.message.contains("reader failed"),
            "{name}: a reader panicked: {text:?}"
        );
        assert_eq!(p.file, file, "{name}: {p}");
        // a file that cannot be read at all is its own position
        let whole =
            p.message.starts_with("not a readable") || p.message.starts_with("named as evidence");
        assert!(
            whole || !p.location.is_empty(),
            "{name}: problem without position: {p}"
        );
    }
    text
}

/// The mutation loop (issue 14): every EVTX of
/// `corpus/evtx/omerbenamram` and the JSON-lines samples, each mutated by
/// a seeded generator (bits flipped, the file cut, a run of bytes zeroed).
/// For each mutant: nothing panics, nothing hangs (a watchdog aborts a
/// mutant read past [`HANG`]), every problem names the file and a
/// position, for EVTX at least the records the `evtx` crate renders from
/// the same mutant are kept (and a loss against the intact file is
/// reported), for JSON lines every line the mutation did not touch is
/// still read.
#[test]
#[ignore = "needs ../shared"]
fn mutation_loop_over_the_corpus() {
    const EVTX_MUTANTS: u64 = 150;
    const JSON_MUTANTS: u64 = 150;
    let mut evtx_files: Vec<PathBuf> = std::fs::read_dir(corpus().join("evtx/omerbenamram"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
        .collect();
    evtx_files.sort();
    assert!(evtx_files.len() >= 20, "{evtx_files:?}");
    let mut sources: Vec<(String, Vec<u8>, u64)> = evtx_files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(p).unwrap(), EVTX_MUTANTS)
        })
        .collect();
    sources.extend(
        json_lines_samples()
            .into_iter()
            .map(|(n, b)| (n, b, JSON_MUTANTS)),
    );
    let scratch = scratch("mutants");
    let dir = scratch.path();
    let dog = Watchdog::start();
    let started = std::time::Instant::now();
    let jobs: Vec<(usize, u64)> = sources
        .iter()
        .enumerate()
        .flat_map(|(i, (_, _, n))| (0..*n).map(move |r| (i, r)))
        .collect();
    // what the intact files give: per line for JSON lines
    let clean: Vec<std::collections::HashMap<u64, usize>> =
        on_threads(&sources, |(name, bytes, _)| {
            let p = dir.join(format!("clean-{name}"));
            std::fs::write(&p, bytes).unwrap();
            let (lines, s) = quarry_read::scan(std::slice::from_ref(&p), |e| Some(line_of(&e)));
            let _ = std::fs::remove_file(&p);
            assert!(!lines.is_empty(), "{name}: {:?}", s.problems);
            let mut per_line = std::collections::HashMap::new();
            for l in lines {
                *per_line.entry(l).or_default() += 1;
            }
            per_line
        });
    let per_mutant: Vec<(usize, usize)> = on_threads(&jobs, |&(i, round)| {
        let (src_name, src, _) = &sources[i];
        let seed = (i as u64) << 32 | round;
        let m = mutate(src, seed);
        let name = format!("mutant {round} of {src_name} ({})", m.what);
        let path = dir.join(format!("{round}-{src_name}"));
        std::fs::write(&path, &m.bytes).unwrap();
        let (lines, s) = dog.watch(&name, || {
            quarry_read::scan(std::slice::from_ref(&path), |e| Some(line_of(&e)))
        });
        let _ = std::fs::remove_file(&path);
        let problems = check_problems(&name, &path, &s);
        let clean_total: usize = clean[i].values().sum();
        let mut lines_checked = 0;
        if src.starts_with(b"ElfFile\0") {
            let floor = dog.watch(&name, || evtx_crate_renders(m.bytes));
            assert!(
                lines.len() >= floor,
                "{name}: {} records kept, the evtx crate renders {floor}: {problems:?}",
                lines.len()
            );
            assert!(
                lines.len() >= clean_total || !problems.is_empty(),
                "{name}: {} of {clean_total} records kept, no problem reported",
                lines.len()
            );
        } else {
            let mut got = std::collections::HashMap::<u64, usize>::new();
            for l in &lines {
                *got.entry(*l).or_default() += 1;
            }
            for (line, range) in line_spans(src).into_iter().enumerate() {
                let want = clean[i].get(&(line as u64 + 1)).copied().unwrap_or(0);
                // the line's bytes and the newline before it unchanged
                let from = range.start.saturating_sub(1);
                let touched = m
                    .changed
                    .iter()
                    .any(|c| c.start < range.end && from < c.end);
                if want == 0 || touched {
                    continue;
                }
                // same offset in the mutant: its number there
                let at = 1 + memchr_count(&m.bytes[..range.start]) as u64;
                let have = got.get(&at).copied().unwrap_or(0);
                lines_checked += 1;
                assert!(
                    have >= want,
                    "{name}: line {} untouched (line {at} of the mutant) but {have} of its {want} events read: {problems:?}",
                    line + 1
                );
            }
        }
        (lines.len(), lines_checked)
    });
    let kept: usize = per_mutant.iter().map(|m| m.0).sum();
    let checked: usize = per_mutant.iter().map(|m| m.1).sum();
    eprintln!(
        "{} mutants of {} files ({} EVTX) read in {:?}: {kept} events kept, \
         {checked} untouched JSON lines found read",
        jobs.len(),
        sources.len(),
        evtx_files.len(),
        started.elapsed()
    );
    assert!(jobs.len() >= 3000);
}

/// `f` over `items` on plain threads, one per core, results in order.
/// Not rayon's pool: `scan` itself runs on that pool and the `evtx`
/// crate's pipeline waits there for its own tasks, which would wait
/// forever behind mutants holding every worker.
fn on_threads<I: Sync, O: Send>(items: &[I], f: impl Fn(&I) -> O + Sync) -> Vec<O> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut out: Vec<(usize, O)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return done;
                        };
                        done.push((i, f(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, o)| o).collect()
}

/// The line an event came from (0 for EVTX records, which have none).
fn line_of(e: &quarry_event::Event) -> u64 {
    match e.origin.locator {
        quarry_event::Locator::Line(l) => l,
        _ => 0,
    }
}

/// Each line's byte range, its newline included.
fn line_spans(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < bytes.len() {
        out.push(start..bytes.len());
    }
    out
}

fn memchr_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| **b == b'\n').count()
}

/// A document for the JSON reader properties: numbered by `n`, with
/// strings holding the bytes a document cutter must not be fooled by.
fn document() -> impl Strategy<Value = serde_json::Value> {
    let text = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("[{\"a\":1}]".to_string()),
        Just("\n{\n".to_string()),
        Just("é\u{0}".to_string()),
        "[a-z {}\\[\\],:\"]{0,12}",
    ];
    (
        text.clone(),
        prop::collection::vec(text, 0..3),
        any::<i32>(),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(s, list, i, b)| {
            serde_json::json!({
                "event": {"category": "process", "original": s},
                "process": {"args": list, "pid": i},
                "flag": b,
                "nested": {"deeper": {"x": [1, {"y": null}]}},
            })
        })
}

/// The documents laid out as a reader meets them: JSON lines, a compact
/// array, a pretty array, pretty documents one after another.
fn lay_out(docs: &[serde_json::Value], layout: u8) -> Vec<String> {
    docs.iter()
        .map(|d| match layout {
            0 | 1 => d.to_string(),
            _ => serde_json::to_string_pretty(d).unwrap(),
        })
        .collect()
}

fn join(parts: &[String], layout: u8) -> String {
    match layout {
        0 => parts.join("\n") + "\n",
        1 => format!("[{}]", parts.join(",")),
        2 => {
            let indented: Vec<String> = parts
                .iter()
                .map(|p| {
                    p.lines()
                        .map(|l| format!("  {l}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .collect();
            format!("[\n{}\n]\n", indented.join(",\n"))
        }
        _ => parts.join("\n") + "\n",
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 400,
        // integration tests have no lib.rs for the default to place them by
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    /// Intact documents, in each layout, are all read, with no problem.
    #[test]
    fn json_layouts_read_every_document(docs in prop::collection::vec(document(), 1..8), layout in 0u8..4, n in 0u32..1_000_000) {
        let docs: Vec<serde_json::Value> = docs.into_iter().enumerate().map(|(i, mut d)| { d["n"] = i.into(); d }).collect();
        let text = join(&lay_out(&docs, layout), layout);
        let (_dir, p) = write(&format!("l{n}-{layout}.json"), text.as_bytes());
        let (ns, s) = quarry_read::scan(std::slice::from_ref(&p), |e| e.get_i64("n"));
        prop_assert!(s.is_clean(), "{:?}\n{text}", s.problems);
        prop_assert_eq!(ns, (0..docs.len() as i64).collect::<Vec<_>>(), "{}", text);
    }

    /// One document cut short, in JSON lines and pretty layouts: nothing
    /// panics, the damage is reported, and every other document is read.
    #[test]
    fn json_layouts_resynchronise_after_a_cut_document(
        docs in prop::collection::vec(document(), 2..8),
        layout in prop::sample::select(vec![0u8, 2, 3]),
        damaged in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        n in 0u32..1_000_000,
    ) {
        let docs: Vec<serde_json::Value> = docs.into_iter().enumerate().map(|(i, mut d)| { d["n"] = i.into(); d }).collect();
        let mut parts = lay_out(&docs, layout);
        let k = damaged.index(parts.len());
        let text = &parts[k];
        // cut inside the document, on a character boundary, never to nothing
        let mut at = 1 + cut.index(text.len() - 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        parts[k] = text[..at].to_string();
        let text = join(&parts, layout);
        let (_dir, p) = write(&format!("c{n}-{layout}.json"), text.as_bytes());
        let (ns, s) = quarry_read::scan(std::slice::from_ref(&p), |e| e.get_i64("n"));
        prop_assert!(!s.problems.is_empty(), "{text}");
        let want: Vec<i64> = (0..docs.len() as i64).filter(|i| *i != k as i64).collect();
        let got: Vec<i64> = ns.into_iter().filter(|i| *i != k as i64).collect();
        prop_assert_eq!(got, want, "{:?}\n{}", s.problems, text);
    }
}
