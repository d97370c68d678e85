//! Quick evaluation timing of the benchmark's rules (diagnostic).
use quarry_eql::{Options, compile};
use quarry_event::Event;
use std::time::Instant;

const EXES: &[&str] = &[
    r"C:\Windows\System32\svchost.exe",
    r"C:\Windows\System32\cmd.exe",
    r"C:\Windows\System32\conhost.exe",
    r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
    r"\Device\HarddiskVolume3\Windows\System32\rundll32.exe",
    r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
];
const PARENTS: &[&str] = &[
    "explorer.exe",
    "services.exe",
    "dns.exe",
    "svchost.exe",
    "WINWORD.EXE",
];

fn events(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            let mut e = Event::default();
            let network = i % 4 == 3;
            e.set(
                "event.category",
                vec![if network { "network" } else { "process" }],
            );
            e.set(
                "event.type",
                vec![if network { "connection" } else { "start" }],
            );
            e.set("host.os.type", "windows");
            e.set("host.id", format!("host-{}", i % 50));
            let exe = EXES[i % EXES.len()];
            e.set("process.executable", exe);
            e.set("process.name", exe.rsplit('\\').next().unwrap_or(exe));
            e.set("process.command_line", format!("{exe} --arg {i}"));
            e.set("process.parent.name", PARENTS[i % PARENTS.len()]);
            e.set(
                "process.parent.executable",
                format!(r"C:\Windows\System32\{}", PARENTS[i % PARENTS.len()]),
            );
            e.set("process.pid", (i % 30000) as i64);
            e.set_timestamp(1_700_000_000_000_000_000 + i as i64 * 1_000_000);
            e
        })
        .collect()
}

const DNS_RULE: &str = r#"process where host.os.type == "windows" and event.type == "start" and
  process.parent.name : "dns.exe" and
  not process.executable : ("?:\\Windows\\System32\\conhost.exe", "?:\\Windows\\System32\\dns.exe",
    "\\Device\\HarddiskVolume*\\Windows\\System32\\conhost.exe", "\\Device\\HarddiskVolume*\\Windows\\System32\\dns.exe",
    "\\Device\\HarddiskVolume*\\Program Files\\ReasonLabs\\*") and
  not ?process.parent.executable : "?:\\Program Files\\ReasonLabs\\DNS\\ui\\DNS.exe""#;

fn main() {
    let evs = events(10_000);
    for q in [
        DNS_RULE,
        r#"process where host.os.type == "windows""#,
        r#"process where event.type == "start""#,
        r#"process where process.parent.name : "dns.exe""#,
        r#"process where not process.executable : ("?:\\Windows\\System32\\conhost.exe", "\\Device\\HarddiskVolume*\\Windows\\System32\\conhost.exe")"#,
    ] {
        let c = compile(q, &Options::default()).unwrap();
        let t = Instant::now();
        let mut n = 0;
        for _ in 0..100 {
            n += evs.iter().filter(|e| c.matches(e)).count();
        }
        println!(
            "{:.2} M events/s ({n} matches) {}",
            1e6 / t.elapsed().as_nanos() as f64 * 1000.0,
            &q[..40.min(q.len())]
        );
    }
}
