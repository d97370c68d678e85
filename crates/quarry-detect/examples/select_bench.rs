//! Times the rule selection alone (`Selector::matching`) over the events of
//! the given files, with the given rule folders: `cargo run --release -p
//! quarry-detect --example select_bench -- FILE... -- RULES...`.

use quarry_detect::RuleBook;
use quarry_detect::select::Selector;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cut = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let files: Vec<PathBuf> = args[..cut].iter().map(PathBuf::from).collect();
    let rules: Vec<PathBuf> = args[(cut + 1).min(args.len())..]
        .iter()
        .map(PathBuf::from)
        .collect();
    let t = Instant::now();
    let book = RuleBook::load(&rules);
    eprintln!("{} rules in {:?}", book.rules.len(), t.elapsed());
    let (events, _) = quarry_read::scan(&files, Some);
    eprintln!("{} events", events.len());
    let t = Instant::now();
    let sel = Selector::new(&book.rules);
    eprintln!("selector in {:?}", t.elapsed());
    let mut best = f64::MAX;
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let mut matches = 0;
    for _ in 0..runs {
        let t = Instant::now();
        matches = 0;
        for ev in &events {
            matches += sel.matching(ev).len();
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{matches} matches; best of {runs}: {best:.3} s, {:.2} us/event",
        best * 1e6 / events.len() as f64
    );
}
