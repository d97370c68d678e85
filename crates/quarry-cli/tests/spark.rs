//! `--spark`: `quarry hunt`, `ask Q1018` and `search` give through a Spark
//! cluster what they give on one machine — the same rows in the same order,
//! the same read summary and problems, the same exit code — on the corpus's
//! FDR, ECS, OTRF and EVTX data and on a generated FDR set of 200 hosts
//! whose events are spread over many files; and fail clearly.
//!
//! The cluster: `QUARRY_SPARK` (default sc://127.0.0.1:15002); when nothing
//! listens there, the tests start `spark/local-cluster.sh` (`.ci/run` starts
//! it first and stops it on exit).

use serde_json::Value as J;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"))
}

fn listening(url: &str) -> bool {
    let addr = url.trim_start_matches("sc://");
    let addr = addr.split('/').next().unwrap_or(addr);
    std::net::TcpStream::connect(addr).is_ok()
}

/// The Spark Connect URL, the local cluster started when nothing is there.
fn cluster() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let url = std::env::var("QUARRY_SPARK").unwrap_or_else(|_| "sc://127.0.0.1:15002".into());
        if !listening(&url) {
            let st = Command::new(repo().join("spark/local-cluster.sh"))
                .arg("start")
                .status()
                .expect("run spark/local-cluster.sh");
            assert!(st.success(), "spark/local-cluster.sh start failed");
        }
        url
    })
}

struct Run {
    code: Option<i32>,
    stdout: String,
    /// stderr without the lines only a Spark run prints
    stderr: String,
}

/// Spark runs share the cluster; the test that kills an executor has it
/// alone, so what it kills is its own job's.
static JOBS: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn quarry(args: &[&str], spark: Option<&str>) -> Run {
    let _shared = spark.map(|_| JOBS.read().unwrap_or_else(|e| e.into_inner()));
    run(args, spark)
}

fn run(args: &[&str], spark: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quarry"));
    cmd.current_dir(repo())
        .args(args)
        .env_remove("QUARRY_RULES");
    if let Some(url) = spark {
        cmd.args(["--spark", url]);
    }
    let out = cmd.output().expect("run quarry");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| !l.starts_with("quarry: --spark"))
            .map(|l| format!("{l}\n"))
            .collect(),
    }
}

/// An alert without the results of the pivots that look beyond its own
/// host's events (no `host.` term: other hosts' events; `event.kind:
/// "signal"`: the run's other alerts): a partition sees its own hosts and
/// its own alerts only, so those alone may differ (README, "Beyond one
/// machine"). The triage's scope (other hosts) is compared: the plan
/// answers it over every host.
fn host_local(mut alert: J) -> J {
    if let Some(pivots) = alert["quarry"]["investigate"].as_array_mut() {
        for p in pivots {
            let query = p["query"].as_str().unwrap_or_default();
            let beyond = !query.contains("host.") || query.contains("event.kind: \"signal\"");
            if beyond && let Some(p) = p.as_object_mut() {
                for k in ["count", "events", "after_window"] {
                    p.remove(k);
                }
            }
        }
    }
    alert
}

/// Runs `args` (with `--format ndjson`) on one machine and through Spark,
/// and asserts the same results; returns how many rows.
fn same(args: &[&str]) -> usize {
    let url = cluster();
    let mut args = args.to_vec();
    args.extend(["--format", "ndjson"]);
    let here = quarry(&args, None);
    let there = quarry(&args, Some(url));
    assert_eq!(
        here.code, there.code,
        "{args:?}: exit codes\n{}",
        there.stderr
    );
    assert_eq!(here.stderr, there.stderr, "{args:?}: summaries");
    let rows = here.stdout.lines().count();
    if args[0] == "hunt" {
        let parse = |s: &str| -> Vec<J> {
            s.lines()
                .map(|l| host_local(serde_json::from_str(l).expect("an alert per line")))
                .collect()
        };
        let (a, b) = (parse(&here.stdout), parse(&there.stdout));
        assert_eq!(a.len(), b.len(), "{args:?}: alerts");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "{args:?}: alert differs");
        }
    } else {
        assert_eq!(here.stdout, there.stdout, "{args:?}: rows");
    }
    rows
}

/// Runs `args` as given (any format) on one machine and through Spark and
/// asserts the same exit code, stderr and stdout; returns stdout.
fn same_output(args: &[&str]) -> String {
    let here = quarry(args, None);
    let there = quarry(args, Some(cluster()));
    assert_eq!(
        here.code, there.code,
        "{args:?}: exit codes\n{}",
        there.stderr
    );
    assert_eq!(here.stderr, there.stderr, "{args:?}: summaries");
    assert_eq!(here.stdout, there.stdout, "{args:?}: rows");
    here.stdout
}

fn path(p: PathBuf) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
#[ignore = "needs ../shared and a Spark cluster (spark/local-cluster.sh)"]
fn fdr_and_ecs_json_of_the_corpus() {
    let vendor = path(corpus().join("corpus/vendor"));
    let fdr = path(corpus().join("corpus/vendor/elastic-integrations/crowdstrike_fdr"));
    let ecs = path(corpus().join("corpus/vendor/elastic-endpoint-package"));
    assert!(same(&["ask", "Q1018", &fdr]) > 0);
    assert!(same(&["search", "process where true", &fdr, &ecs]) > 0);
    assert!(same(&["ask", "Q1018", &vendor]) > 0);
    same(&["hunt", &vendor]);
    same(&[
        "search",
        "sequence by host.id [process where true] [dns where true]",
        &vendor,
    ]);
}

#[test]
#[ignore = "needs ../shared and a Spark cluster (spark/local-cluster.sh)"]
fn otrf_windows_event_json() {
    let otrf = path(corpus().join("corpus/otrf/compound"));
    assert!(same(&["ask", "Q1018", &otrf]) > 0);
    assert!(
        same(&[
            "search",
            "process where process.name : \"powershell.exe\"",
            &otrf
        ]) > 0
    );
    same(&["hunt", &otrf]);
}

#[test]
#[ignore = "needs ../shared and a Spark cluster (spark/local-cluster.sh)"]
fn evtx_with_elastics_rules() {
    let evtx = path(corpus().join("corpus/evtx"));
    let rules = path(corpus().join("rules/elastic/rules"));
    let bb = path(corpus().join("rules/elastic/rules_building_block"));
    assert!(same(&["hunt", "--rules", &rules, "--rules", &bb, &evtx]) > 500);
    same(&["ask", "Q1018", &evtx]);
    assert!(
        same(&[
            "search",
            "sequence by host.id with maxspan=1m [process where true] [network where true]",
            &evtx
        ]) > 0
    );
}

/// A scratch folder under the system temp dir, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let d =
            std::env::temp_dir().join(format!("quarry-spark-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
#[ignore = "needs ../shared and a Spark cluster (spark/local-cluster.sh)"]
fn generated_fdr_of_200_hosts_spread_over_many_files() {
    let dir = Scratch::new("fdr");
    let set = dir.0.join("fdr");
    let st = Command::new("python3")
        .arg(repo().join("bench/gen_fdr.py"))
        .args([corpus().as_os_str(), set.as_os_str()])
        .args(["4", "24", "200"])
        .status()
        .expect("python3 bench/gen_fdr.py");
    assert!(st.success());
    let set = path(set);
    // one host's events are in every batch file
    let first = std::fs::read_dir(&set).unwrap().count();
    assert_eq!(first, 24);
    let rows = same(&["ask", "Q1018", &set]);
    assert!(rows > 500, "{rows}");
    // a set of indicators: globs and names, given and from a file (one
    // never looked up), their per-indicator counts in the coverage
    let answer = quarry(&["ask", "Q1018", &set, "--format", "ndjson"], None);
    let mut names: Vec<String> = answer
        .stdout
        .lines()
        .filter_map(|l| {
            let r: J = serde_json::from_str(l).ok()?;
            Some(r["dns"]["question"]["name"].as_str()?.to_string())
        })
        .filter(|n| !n.ends_with(".duckdns.org"))
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() >= 2, "{names:?}");
    let iocs = dir.0.join("iocs.txt");
    std::fs::write(
        &iocs,
        format!(
            "# report\n{}\nnever-seen[.]example\n{}\n",
            names[0], names[1]
        ),
    )
    .unwrap();
    let iocs = path(iocs);
    let filtered = [
        "ask",
        "Q1018",
        "--domain",
        "*.duckdns.org",
        "--domain-file",
        &iocs,
        &set,
    ];
    assert!(same(&filtered) > 0);
    for format in ["table", "csv"] {
        let mut args = filtered.to_vec();
        args.extend(["--format", format]);
        let out = same_output(&args);
        if format == "table" {
            assert!(out.contains("never looked up on"), "{out}");
        }
    }
    // --host: one host's rows; a host not there is named as such
    same_output(&["ask", "Q1018", "--host", "NOSUCHHOST", &set]);
    assert!(
        same(&[
            "search",
            "process where process.command_line : \"*whoami*\"",
            &set
        ]) > 0
    );
    same(&["hunt", &set]);
}

#[test]
#[ignore = "needs ../shared and a Spark cluster (spark/local-cluster.sh)"]
fn sigma_correlations_and_threat_match() {
    // correlations keep their state per host, as the plan partitions
    let evtx = corpus().join("corpus/evtx");
    let brute = path(evtx.join("hayabusa-mitre/TA0006-Credential Access/T1110.xxx-Brut force"));
    let mssql = path(
        evtx.join("sbousseaden/Credential Access/MSSQL_multiple_failed_logon_EventID_18456.evtx"),
    );
    let sigma = path(corpus().join("rules/sigma/rules"));
    let ours = path(repo().join("crates/quarry-cli/tests/sigma"));
    let args = ["hunt", "--rules", &sigma, "--rules", &ours, &brute, &mssql];
    let mut with_format = args.to_vec();
    with_format.extend(["--format", "ndjson"]);
    let alerts = quarry(&with_format, None).stdout;
    assert!(
        alerts.contains("\"sigma_correlation\""),
        "no correlation fired"
    );
    same(&args);
    // threat_match: the indicators read here are shipped with the job
    let rule = path(
        corpus().join("rules/elastic/rules/threat_intel/threat_intel_indicator_match_address.toml"),
    );
    let intel = path(repo().join("crates/quarry-cli/tests/fixtures/threat-intel.ndjson"));
    let sample = path(evtx.join(
        "sbousseaden/Execution/exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx",
    ));
    assert_eq!(
        same(&["hunt", "--rules", &rule, "--threat-intel", &intel, &sample]),
        1
    );
    // without indicators the rule is skipped, here and there
    assert_eq!(same(&["hunt", "--rules", &rule, &sample]), 0);
}

/// The pid of the executor (a `CoarseGrainedExecutorBackend` JVM) running
/// `quarry partition …` for a job, found within `limit`; `None` if no
/// executor ran quarry in that time.
fn executor_running_quarry(limit: std::time::Duration) -> Option<u32> {
    let cmdline = |pid: u32| -> Vec<String> {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| {
                b.split(|&c| c == 0)
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let parent = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // after "(comm)": state, then the parent's pid
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            let args = cmdline(pid);
            let is_quarry = args.first().is_some_and(|a| a.contains("quarry-"))
                && args.get(1).is_some_and(|a| a == "partition");
            if !is_quarry {
                continue;
            }
            let mut p = pid;
            for _ in 0..4 {
                let Some(up) = parent(p) else { break };
                if cmdline(up)
                    .iter()
                    .any(|a| a.contains("CoarseGrainedExecutorBackend"))
                {
                    return Some(up);
                }
                p = up;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    None
}

#[test]
#[ignore = "needs ../shared and a Spark cluster (spark/local-cluster.sh)"]
fn a_worker_lost_mid_job_is_retried_and_the_result_is_complete() {
    let dir = Scratch::new("lost");
    let set = dir.0.join("fdr");
    let st = Command::new("python3")
        .arg(repo().join("bench/gen_fdr.py"))
        .args([corpus().as_os_str(), set.as_os_str()])
        .args(["4", "16", "200"])
        .status()
        .expect("python3 bench/gen_fdr.py");
    assert!(st.success());
    let set = path(set);
    let args = ["ask", "Q1018", &set, "--format", "ndjson"];
    let here = quarry(&args, None);
    let url = cluster();
    let _alone = JOBS.write().unwrap_or_else(|e| e.into_inner());
    let job = {
        let set = set.clone();
        std::thread::spawn(move || run(&["ask", "Q1018", &set, "--format", "ndjson"], Some(url)))
    };
    // the executor's JVM killed as a lost machine would drop it: its task
    // and the shuffle output it held are gone; the worker starts another
    // executor and Spark reruns what was lost
    let executor = executor_running_quarry(std::time::Duration::from_secs(300));
    if let Some(pid) = executor {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    let there = job.join().expect("the Spark run");
    assert!(executor.is_some(), "no executor was seen running quarry");
    assert_eq!(here.code, there.code, "{}", there.stderr);
    assert_eq!(here.stderr, there.stderr);
    assert!(here.stdout.lines().count() > 500);
    assert_eq!(here.stdout, there.stdout, "the result after the loss");
}

#[test]
#[ignore = "needs ../shared and a Spark cluster (spark/local-cluster.sh)"]
fn a_damaged_file_is_reported_with_its_name_and_the_rest_is_kept() {
    let dir = Scratch::new("damaged");
    let fdr = corpus().join(
        "corpus/vendor/splunk-security_content/crowdstrike_processrollup2.example_log.ndjson",
    );
    let good = std::fs::read(&fdr).unwrap();
    std::fs::write(dir.0.join("good.ndjson"), &good).unwrap();
    // half a gzip stream, and an EVTX header over garbage
    let mut gz = Vec::new();
    {
        use std::io::Write;
        let mut enc = std::process::Command::new("gzip")
            .arg("-c")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        enc.stdin
            .take()
            .unwrap()
            .write_all(&good.repeat(20))
            .unwrap();
        gz.extend(enc.wait_with_output().unwrap().stdout);
    }
    std::fs::write(dir.0.join("cut.ndjson.gz"), &gz[..gz.len() / 2]).unwrap();
    let mut evtx = b"ElfFile\0".to_vec();
    evtx.extend(std::iter::repeat_n(0xA5u8, 70_000));
    std::fs::write(dir.0.join("broken.evtx"), &evtx).unwrap();
    let d = path(dir.0.clone());
    let url = cluster();
    for args in [
        vec!["ask", "Q1018", &d, "--format", "ndjson"],
        vec!["search", "process where true", &d, "--format", "ndjson"],
    ] {
        let search = args[0] == "search";
        let here = quarry(&args, None);
        let there = quarry(&args, Some(url));
        assert_eq!(there.code, Some(1), "{}", there.stderr);
        assert_eq!(here.stderr, there.stderr);
        assert_eq!(here.stdout, there.stdout);
        assert!(there.stderr.contains("cut.ndjson.gz"), "{}", there.stderr);
        assert!(there.stderr.contains("broken.evtx"), "{}", there.stderr);
        // the good file is read
        assert!(there.stderr.contains("crowdstrikefdr"), "{}", there.stderr);
        if search {
            assert!(!there.stdout.is_empty(), "the good file's events are kept");
        }
    }
}

#[test]
fn an_unreachable_server_is_a_clear_usage_error() {
    let dir = Scratch::new("unreachable");
    std::fs::write(
        dir.0.join("e.ndjson"),
        "{\"@timestamp\":\"2026-01-01T00:00:00Z\"}\n",
    )
    .unwrap();
    let d = path(dir.0.clone());
    // port 9 (discard) on loopback: nothing listens
    let r = quarry(&["search", "any where true", &d], Some("sc://127.0.0.1:9"));
    assert_eq!(r.code, Some(2));
    let mut err = Command::new(env!("CARGO_BIN_EXE_quarry"));
    let out = err
        .args([
            "search",
            "any where true",
            &d,
            "--spark",
            "sc://127.0.0.1:9",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    // python3 and the connection are checked before pyspark is needed
    assert!(
        text.contains("cannot reach the Spark Connect server at sc://127.0.0.1:9")
            || text.contains("cannot run python3"),
        "{text}"
    );
    let r = quarry(&["hunt", &d], Some("http://127.0.0.1:9"));
    assert_eq!(r.code, Some(2));
}
