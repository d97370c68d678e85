//! quarry as a person sees it in a terminal: `script` gives quarry a
//! pseudo-terminal of a set width, and the captures of `quarry hunt` and
//! `quarry ask Q1018` over `../shared/corpus` must fit it, one line per
//! row. The captures are kept as fixtures under `snapshots/terminal/`
//! (rerun with `QUARRY_UPDATE_SNAPSHOTS=1` when a change is on purpose,
//! and review the diff).

use std::path::PathBuf;
use std::process::Command;
use unicode_width::UnicodeWidthStr;

fn shared() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

/// quarry's stdout as a `cols`-wide terminal shows it (stderr is left
/// out: its progress bar and summaries are not the table).
fn in_terminal(cols: usize, args: &str) -> String {
    capture(cols, &format!("{args} 2>/dev/null"))
}

/// What a `cols`-wide terminal shows of `quarry <args>` (args may end in
/// a redirection of one of its streams).
fn capture(cols: usize, args: &str) -> String {
    let cmd = format!(
        "stty rows 50 cols {cols}; {} {args}",
        env!("CARGO_BIN_EXE_quarry")
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(shared())
        .env_remove("QUARRY_RULES")
        .env("QUARRY_CONFIG", "/nonexistent/quarry.toml")
        .output()
        .expect("run script(1) from util-linux");
    // the pty turns \n into \r\n
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

fn check(name: &str, cols: usize, args: &str, min_rows: usize) {
    let text = in_terminal(cols, args);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= min_rows, "{name}: too few lines:\n{text}");
    let table: Vec<&&str> = lines.iter().take_while(|l| !l.is_empty()).collect();
    for l in &table {
        assert!(l.width() <= cols, "{name}: a line wider than {cols}:\n{l}");
    }
    assert!(
        table[1].starts_with('─'),
        "{name}: no rule under the header:\n{text}"
    );
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots/terminal")
        .join(format!("{name}.txt"));
    if std::env::var_os("QUARRY_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &text).expect("write capture");
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        want == text,
        "{name}: the terminal capture changed: rerun with QUARRY_UPDATE_SNAPSHOTS=1 if on purpose\n--- was\n{want}\n--- now\n{text}"
    );
}

#[test]
#[ignore = "needs ../shared"]
fn ask_q1018_over_the_corpus_fits_80_and_200_columns() {
    check("ask-q1018-80", 80, "ask Q1018 corpus", 100);
    check("ask-q1018-200", 200, "ask Q1018 corpus", 100);
}

#[test]
#[ignore = "needs ../shared"]
fn hunt_over_the_corpus_fits_80_and_200_columns() {
    let args = "hunt --rules rules/elastic/rules --severity high corpus/evtx";
    check("hunt-high-80", 80, args, 20);
    check("hunt-high-200", 200, args, 20);
}

#[test]
#[ignore = "needs ../shared"]
fn problems_print_above_the_progress_bar_once_each() {
    // omerbenamram's samples include damaged EVTX files
    let args = "hunt corpus/evtx/omerbenamram";
    let piped = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(args.split(' '))
        .current_dir(shared())
        .env_remove("QUARRY_RULES")
        .env("QUARRY_CONFIG", "/nonexistent/quarry.toml")
        .output()
        .expect("run quarry");
    let piped = String::from_utf8_lossy(&piped.stderr).into_owned();
    let problems: Vec<&str> = piped
        .lines()
        .filter(|l| l.starts_with("quarry: corpus/"))
        .collect();
    assert!(
        problems.len() >= 3,
        "damaged samples report problems:\n{piped}"
    );
    assert!(!piped.contains('\r'), "no bar drawn when stderr is piped");
    // stderr as the terminal shows it, stdout discarded
    let term = capture(120, &format!("{args} >/dev/null"));
    // the bar's message ("25/25 files, 9 events") is drawn again below each
    // problem printed above it; printed at the end, a problem would follow
    // the cleared bar's last frame
    let last_frame = term.rfind(" files, ").expect("a progress bar was drawn");
    for p in &problems {
        assert_eq!(term.matches(p).count(), 1, "{p} once in:\n{term}");
    }
    let first = problems
        .iter()
        .filter_map(|p| term.find(p))
        .min()
        .unwrap_or(usize::MAX);
    assert!(
        first < last_frame,
        "problems printed as they happen:\n{term:?}"
    );
}
