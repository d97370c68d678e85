//! Quick evaluation timing of a few rules (diagnostic).
use quarry_eql::{Options, compile};
use quarry_event::Event;
use std::time::Instant;
fn main() {
    let evs: Vec<Event> = (0..10_000)
        .map(|i| {
            let mut e = Event::default();
            e.set("event.category", vec!["process"]);
            e.set("event.type", vec!["start"]);
            e.set("host.os.type", "windows");
            e.set("process.executable", r"C:\Windows\System32\cmd.exe");
            e.set(
                "process.parent.name",
                ["explorer.exe", "dns.exe", "svchost.exe"][i % 3],
            );
            e
        })
        .collect();
    for q in [
        r#"process where host.os.type == "windows" and event.type == "start" and process.parent.name : "dns.exe""#,
        r#"process where host.os.type == "windows" and event.type == "start" and
  process.parent.name : "dns.exe" and
  not process.executable : ("?:\\Windows\\System32\\conhost.exe", "?:\\Windows\\System32\\dns.exe",
    "\\Device\\HarddiskVolume*\\Windows\\System32\\conhost.exe", "\\Device\\HarddiskVolume*\\Windows\\System32\\dns.exe",
    "\\Device\\HarddiskVolume*\\Program Files\\ReasonLabs\\*") and
  not ?process.parent.executable : "?:\\Program Files\\ReasonLabs\\DNS\\ui\\DNS.exe""#,
        r#"process where host.os.type == "windows""#,
        r#"process where event.type == "start""#,
        r#"process where process.parent.name : "dns.exe""#,
        r#"process where not process.executable : ("?:\\Windows\\System32\\conhost.exe", "\\Device\\HarddiskVolume*\\Windows\\System32\\conhost.exe")"#,
        r#"process where not ?process.parent.executable : "?:\\Program Files\\ReasonLabs\\DNS\\ui\\DNS.exe""#,
    ] {
        let c = compile(q, &Options::default()).unwrap();
        let t = Instant::now();
        let mut n = 0;
        for _ in 0..100 {
            n += evs.iter().filter(|e| c.matches(e)).count();
        }
        let el = t.elapsed();
        println!(
            "{:>8.1} Mev/s  {n}  {q}",
            1e6f64 / el.as_nanos() as f64 * 1000.0,
        );
    }
}
