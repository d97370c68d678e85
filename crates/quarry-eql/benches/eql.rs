//! EQL throughput on generated ECS process and network events held in
//! memory: the dns.exe rule, a 10-term `:` list, a `regex~`, and a two-term
//! `sequence by host.id with maxspan`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quarry_eql::{Options, compile};
use quarry_event::Event;

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

fn bench(c: &mut Criterion) {
    // 10k events stay in cache, as an event does while it streams through
    // the rules; 100k events measure memory latency as much as evaluation.
    for n in [10_000, 100_000] {
        bench_n(c, n);
    }
}

fn bench_n(c: &mut Criterion, n: usize) {
    let evs = events(n);
    let mut g = c.benchmark_group(format!("eql_{n}"));
    g.throughput(Throughput::Elements(evs.len() as u64));
    for (name, q) in [
        ("dns_exe_rule", DNS_RULE),
        (
            "colon_list_10",
            r#"process where process.name : ("a*.exe", "b?.exe", "certutil.exe", "mshta.exe", "regsvr32.exe", "wscript.exe", "cscript.exe", "bitsadmin.exe", "*.scr", "rundll32.exe")"#,
        ),
        (
            "regex_insensitive",
            r##"process where process.command_line regex~ """.*(powershell|cmd)\.exe.*--arg [0-9]+7""""##,
        ),
    ] {
        let q = compile(q, &Options::default()).expect("compiles");
        g.bench_function(name, |b| {
            b.iter(|| evs.iter().filter(|e| q.matches(e)).count())
        });
    }
    let seq = compile(r#"sequence by host.id with maxspan=1m [process where process.name : "cmd.exe"] [network where true]"#, &Options::default()).expect("compiles");
    g.sample_size(10);
    g.bench_function("sequence_by_host_maxspan", |b| {
        b.iter(|| seq.run_slice(&evs).len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
