//! Times `quarry_read::scan` alone, keeping nothing (diagnostic).
use std::time::Instant;
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
fn main() {
    let paths: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    let t = Instant::now();
    let (_, s) = quarry_read::scan(&paths, |_| None::<()>);
    println!("scan: {} events in {:?}", s.events, t.elapsed());
}
