//! Q1018 on the real telemetry in `../shared/corpus` (located through
//! `QUARRY_CORPUS`, default `../shared` beside the workspace).

use quarry_questions::q1018::{self, Coverage, Row};
use std::path::PathBuf;

fn corpus() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
        .join("corpus")
}

fn ask(paths: &[PathBuf]) -> (Vec<Row>, Coverage, quarry_read::ReadSummary) {
    let (events, summary) = quarry_read::scan(paths, q1018::wants);
    let (rows, cov) = q1018::answer(events);
    (rows, cov, summary)
}

const PSEXEC: &str =
    "evtx/hayabusa-mitre/EVTX_full_APT_attack_steps/ID11,13,17,18-PSexec as system execution.evtx";

#[test]
#[ignore = "needs ../shared"]
fn psexec_sysmon22_links_by_entity_id_to_psexec64() {
    let (rows, cov, summary) = ask(&[corpus().join(PSEXEC)]);
    assert!(summary.is_clean(), "{:?}", summary.problems);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let r = &rows[0];
    assert_eq!(r.linked_by, "entity_id");
    assert_eq!(r.query, "fs03vuln");
    assert_eq!(r.executable.as_deref(), Some("C:\\TOOLS\\PsExec64.exe"));
    assert_eq!(r.command_line.as_deref(), Some("PsExec64.exe  -i -s cmd"));
    assert_eq!(
        r.entity_id.as_deref(),
        Some("A57649D1-DB54-61AB-775C-DC0100000000")
    );
    assert_eq!(r.pid, Some(2124));
    assert_eq!(
        r.parent_executable.as_deref(),
        Some("C:\\Windows\\System32\\cmd.exe")
    );
    assert_eq!(r.resolved_ip, vec!["10.23.42.38".to_string()]);
    assert_eq!(r.timestamp.as_deref(), Some("2021-12-04T21:19:10.604Z"));
    assert_eq!(cov.linked.get("entity_id"), Some(&1));
}

#[test]
#[ignore = "needs ../shared"]
fn plaso_rows_answer_like_the_evtx_they_came_from() {
    let (evtx_rows, _, _) = ask(&[corpus().join(PSEXEC)]);
    let (plaso_rows, _, summary) = ask(&[corpus().join("plaso/input-psexec-sysmon.psort.jsonl")]);
    assert!(
        summary.duplicate_rows > 0,
        "Plaso writes two rows per record; one answer row each"
    );
    assert!(summary.is_clean(), "{:?}", summary.problems);
    assert_eq!(plaso_rows.len(), evtx_rows.len());
    for (p, e) in plaso_rows.iter().zip(&evtx_rows) {
        assert_eq!(p.approach, "Plaso (Sysmon 22)");
        let strip = |r: &Row| Row {
            approach: String::new(),
            origin: String::new(),
            ..r.clone()
        };
        assert_eq!(strip(p), strip(e));
    }
}

#[test]
#[ignore = "needs ../shared"]
fn covenant_excel_dns_queries_link_to_excel() {
    let zip = corpus().join(
        "otrf/atomic/windows/lateral_movement/host/covenant_dcom_executeexcel4macro_allowed.zip",
    );
    let zip = if zip.exists() {
        zip
    } else {
        find(
            &corpus().join("otrf"),
            "covenant_dcom_executeexcel4macro_allowed.zip",
        )
        .expect("dataset in corpus")
    };
    let (rows, _, summary) = ask(&[zip]);
    assert!(summary.is_clean(), "{:?}", summary.problems);
    let excel: Vec<&Row> = rows
        .iter()
        .filter(|r| {
            r.executable
                .as_deref()
                .is_some_and(|e| e.ends_with("\\EXCEL.EXE"))
        })
        .collect();
    assert_eq!(excel.len(), 12, "{rows:#?}");
    for r in &excel {
        assert_eq!(r.linked_by, "entity_id", "{r:?}");
        let cmd = r.command_line.as_deref().unwrap_or_default();
        assert!(
            cmd.contains("EXCEL.EXE"),
            "command line from the Sysmon 1 of EXCEL: {r:?}"
        );
        assert!(r.parent_executable.is_some(), "{r:?}");
    }
    // every Sysmon 22 of the dataset links to a process start
    assert!(rows.iter().all(|r| r.linked_by == "entity_id"), "{rows:#?}");
    assert_eq!(rows.len(), 18);
}

fn find(dir: &std::path::Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

#[test]
#[ignore = "needs ../shared"]
fn lsass_campaigns_linked_and_unlinked_counts() {
    // (campaign, rows, linked by entity id, unlinked): the unlinked ones are
    // queries by processes whose Sysmon 1 predates the capture.
    let expected = [
        (1, 51, 41, 10),
        (2, 28, 18, 10),
        (3, 58, 58, 0),
        (4, 130, 114, 16),
    ];
    for (n, total, by_entity, unlinked) in expected {
        let dir = corpus().join(format!("otrf/compound/LSASS_campaign_0{n}"));
        let zips: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with("_dump.zip"))
            .collect();
        let (rows, cov, summary) = ask(&zips);
        assert!(summary.is_clean(), "{:?}", summary.problems);
        assert!(summary.events > 40_000, "campaign {n}: {}", summary.events);
        assert_eq!(rows.len(), total, "campaign {n}");
        assert_eq!(
            cov.linked.get("entity_id").copied().unwrap_or(0),
            by_entity,
            "campaign {n}"
        );
        assert_eq!(
            cov.linked.get("unlinked").copied().unwrap_or(0),
            unlinked,
            "campaign {n}"
        );
        assert_eq!(cov.hosts_with_dns.len(), 1, "campaign {n}");
    }
}

#[test]
#[ignore = "needs ../shared"]
fn corrupt_evtx_samples_are_read_up_to_their_damage() {
    // (file, events at least, problems at least)
    let cases = [
        ("sysmon.evtx", 358, 1),
        ("sample_with_a_bad_chunk_magic.evtx", 290, 1),
        ("sample-with-zero-data-size-event.evtx", 440, 1),
        ("security_bad_string_cache.evtx", 2000, 0),
    ];
    for (file, min_events, min_problems) in cases {
        let p = corpus().join("evtx/omerbenamram").join(file);
        let (events, summary) = quarry_read::scan(&[p], Some);
        assert!(
            events.len() >= min_events,
            "{file}: {} events",
            events.len()
        );
        assert!(
            summary.problems.len() >= min_problems,
            "{file}: {:?}",
            summary.problems
        );
        for pr in &summary.problems {
            assert!(pr.file.ends_with(file));
            assert!(
                pr.location.contains("chunk") || pr.message.contains("chunk"),
                "problem names its chunk: {pr}"
            );
        }
    }
}

#[test]
#[ignore = "needs ../shared"]
fn the_whole_corpus_runs_to_the_end_with_coverage() {
    let (rows, cov, summary) = ask(&[corpus()]);
    assert!(summary.files > 300, "{}", summary.files);
    assert!(summary.events > 500_000, "{}", summary.events);
    assert!(rows.len() > 300, "{}", rows.len());
    assert!(cov.hosts_with_dns.len() >= 5, "{:?}", cov.hosts_with_dns);
    assert!(
        !cov.hosts_without_dns.is_empty(),
        "hosts with process telemetry but no DNS are named"
    );
    assert!(
        cov.approaches.contains_key("Sysmon 22")
            && cov.approaches.contains_key("Plaso (Sysmon 22)"),
        "{:?}",
        cov.approaches
    );
}
