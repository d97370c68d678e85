//! The floor under any EVTX reader built on the `evtx` crate (diagnostic):
//! every record of FILE walked with its substitution values read by
//! `EvtxRecord::template_instances()` on all cores, nothing built from
//! them (a record's EventData, a nested template instance, stays one
//! unread value: less than a reader needs). The first row of
//! `bench/dense.sh` after `evtx_dump`.
//! `cargo run --release -p quarry-read --example evtx_floor -- FILE`
use evtx::{EvtxParser, ParserSettings};
use std::time::Instant;
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: evtx_floor FILE")?;
    let t = Instant::now();
    let mut parser =
        EvtxParser::from_path(&path)?.with_configuration(ParserSettings::new().num_threads(0));
    let (mut records, mut values) = (0u64, 0u64);
    for r in parser.serialized_records(|r| {
        let r = r?;
        Ok(r.template_instances()?
            .iter()
            .map(|i| i.values.len() as u64)
            .sum::<u64>())
    }) {
        records += 1;
        values += r.unwrap_or(0);
    }
    println!("{records} records, {values} values, {:?}", t.elapsed());
    Ok(())
}
