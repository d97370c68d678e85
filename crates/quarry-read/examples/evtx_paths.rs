//! Measures the EVTX rendering paths (diagnostic for bench/RESULTS.md).
use evtx::{EvtxParser, ParserSettings};
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).expect("path");
    let t = Instant::now();
    let mut p = EvtxParser::from_path(&path)
        .unwrap()
        .with_configuration(ParserSettings::new().num_threads(0));
    let n = p.records_json_value().filter(|r| r.is_ok()).count();
    println!("json_value: {n} in {:?}", t.elapsed());
    let t = Instant::now();
    let mut p = EvtxParser::from_path(&path)
        .unwrap()
        .with_configuration(ParserSettings::new().num_threads(0));
    let n: usize = p
        .records_json_bytes()
        .filter_map(|r| r.ok())
        .map(|r| r.data.len())
        .sum();
    println!("json_bytes: {n} bytes in {:?}", t.elapsed());
    let t = Instant::now();
    let mut p = EvtxParser::from_path(&path)
        .unwrap()
        .with_configuration(ParserSettings::new().num_threads(0));
    let n: usize = p
        .serialized_records(|r| {
            r.and_then(|r| r.into_json_bytes()).map(|r| {
                serde_json::from_slice::<serde_json::Value>(&r.data)
                    .map(|_| 1)
                    .unwrap_or(0)
            })
        })
        .filter_map(|r| r.ok())
        .sum();
    println!("json_bytes+parse: {n} in {:?}", t.elapsed());
}
