//! Large plain JSON-lines files are read through a memory map, their lines
//! cut and numbered on the workers. The same file gzipped is read as a
//! stream, a block at a time, by the reader thread: both must give the same
//! events, counts, problems and line numbers.

mod common;
use quarry_event::{Event, Locator, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// About 3 MiB of lines: ECS events, with blank lines, a CRLF line,
/// malformed and non-UTF-8 lines, a Windows-event line for the full reader,
/// a line longer than a mapped block, and no newline after the last line.
fn lines() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..9000u64 {
        let mut l = match i % 1000 {
            7 => Vec::new(),
            11 => br#"{"process":{"name":"cmd.exe"}"#.to_vec(),
            13 => b"{\"process\":{\"name\":\"bad \xff utf8\"}}".to_vec(),
            17 => br#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\x\\dns.exe"}"#.to_vec(),
            19 => format!(r#"{{"process":{{"name":"dns.exe","pid":{i}}}}}"#)
                .into_bytes()
                .into_iter()
                .chain(*b"\r")
                .collect(),
            _ => format!(
                r#"{{"@timestamp":{},"event":{{"category":["process"],"type":"start"}},"process":{{"name":"{}","pid":{i},"command_line":"{}"}}}}"#,
                1_700_000_000_000u64 + i,
                if i % 10 == 3 { "dns.exe" } else { "svchost.exe" },
                "x".repeat(300)
            )
            .into_bytes(),
        };
        if i == 4500 {
            // longer than one mapped block
            l = format!(
                r#"{{"process":{{"name":"dns.exe","long":"{}"}}}}"#,
                "y".repeat(1_200_000)
            )
            .into_bytes();
        }
        out.push(l);
    }
    out
}

fn write(path: &Path, gz: bool) {
    write_lines(path, &lines(), gz);
}

fn write_lines(path: &Path, lines: &[Vec<u8>], gz: bool) {
    let mut text = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        text.extend_from_slice(l);
        if i + 1 < lines.len() {
            text.push(b'\n');
        }
    }
    let file = std::fs::File::create(path).expect("create");
    if gz {
        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        enc.write_all(&text).expect("write");
        enc.finish().expect("finish");
    } else {
        let mut file = file;
        file.write_all(&text).expect("write");
    }
}

/// (line, process.name) of the kept events, in order; the summary.
fn read(path: &Path, projected: bool) -> (Vec<(u64, String)>, quarry_read::ReadSummary) {
    let name = |ev: &Event| {
        ev.get("process.name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_default()
    };
    let keep = move |ev: Event| {
        let line = match ev.origin.locator {
            Locator::Line(l) => l,
            _ => 0,
        };
        name(&ev)
            .eq_ignore_ascii_case("dns.exe")
            .then(|| (line, name(&ev)))
    };
    let inputs = [PathBuf::from(path)];
    if projected {
        let fields = vec!["process.name".to_string()];
        let proj = quarry_read::Projection::new(&fields, &[], |ev| {
            ev.get("process.name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case("dns.exe"))
        })
        .require_literals(&[vec!["dns.exe".to_string()]]);
        quarry_read::scan_projected(&inputs, &proj, keep)
    } else {
        quarry_read::scan(&inputs, keep)
    }
}

/// (location, message) of each problem.
fn problems(s: &quarry_read::ReadSummary) -> Vec<(String, String)> {
    s.problems
        .iter()
        .map(|p| (p.location.clone(), p.message.clone()))
        .collect()
}

/// Reads the same lines mapped (`plain`) and streamed (`gz`), asserts the
/// two readings agree (kept events, counts, problems), returns the mapped.
fn read_both(
    plain: &Path,
    gz: &Path,
    projected: bool,
    what: &str,
) -> (Vec<(u64, String)>, quarry_read::ReadSummary) {
    let (mapped, ms) = read(plain, projected);
    let (streamed, ss) = read(gz, projected);
    assert_eq!(mapped, streamed, "{what}, projected: {projected}");
    assert_eq!(ms.events, ss.events, "{what}");
    assert_eq!(ms.formats, ss.formats, "{what}");
    assert_eq!(problems(&ms), problems(&ss), "{what}");
    (mapped, ms)
}

#[test]
fn a_mapped_file_reads_as_the_same_file_streamed() {
    let scratch = common::scratch("mapped");
    let dir = scratch.path();
    let plain = dir.join("events.ndjson");
    let gz = dir.join("events.ndjson.gz");
    write(&plain, false);
    write(&gz, true);
    assert!(std::fs::metadata(&plain).expect("meta").len() > 2 << 20);
    for projected in [true, false] {
        let (mapped, ms) = read_both(&plain, &gz, projected, "events");
        // 900 dns.exe events, 9 CRLF ones, the long line, the Sysmon line
        // (its Image is dns.exe, but as a Sysmon 1 record it is process.executable)
        assert!(mapped.len() >= 910, "{}", mapped.len());
        assert!(mapped.contains(&(4501, "dns.exe".to_string())));
        assert!(mapped.contains(&(20, "dns.exe".to_string())));
        // the malformed line 12 of each thousand (line 1012, ...)
        assert!(
            problems(&ms).iter().any(|(l, _)| l == "line 1012"),
            "{:?}",
            problems(&ms)
        );
    }
}

/// Random lines, about 1.5 MB of them: ECS documents whose keys, values,
/// escapes and numbers vary, cut, patched with a random byte, or doubled.
fn random_lines(seed: u64) -> Vec<Vec<u8>> {
    let mut x = seed | 1;
    let mut next = move || {
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let keys = [
        "process",
        "name",
        "parent",
        "event",
        "type",
        "agent",
        "data_stream",
        "dataset",
        "@timestamp",
        "winlog",
        "process.name",
        "",
        "x\\y",
        "é",
    ];
    let values = [
        "\"dns.exe\"",
        "\"DNS.EXE\"",
        "\"d\\u006es.exe\"",
        "\"C:\\\\x\\\\dns.exe\"",
        "\"endpoint\"",
        "1",
        "-0",
        "1.5e3",
        "18446744073709551616",
        "true",
        "null",
        "[\"dns.exe\", 2]",
        "{}",
        "[{\"a\":1}]",
        "\"é\"",
        "\"\\/\"",
    ];
    // two good lines first: a damaged first line followed by another would
    // make the file read as one document spread over lines
    let mut out = vec![
        br#"{"process":{"name":"dns.exe"}}"#.to_vec(),
        br#"{"process":{"name":"svchost.exe"}}"#.to_vec(),
    ];
    let mut size = 0;
    while size < 1_500_000 {
        let mut doc = String::from("{");
        for k in 0..(next() % 6) {
            if k > 0 {
                doc.push_str(", ");
            }
            let key = keys[(next() % keys.len() as u64) as usize];
            let value = values[(next() % values.len() as u64) as usize];
            if next() % 3 == 0 {
                let inner = keys[(next() % keys.len() as u64) as usize];
                doc.push_str(&format!("\"{key}\": {{\"{inner}\": {value}}}"));
            } else {
                doc.push_str(&format!("\"{key}\": {value}"));
            }
        }
        doc.push('}');
        let mut line = doc.into_bytes();
        match next() % 10 {
            0 if !line.is_empty() => {
                let at = (next() % line.len() as u64) as usize;
                line.truncate(at);
            }
            1 if !line.is_empty() => {
                let at = (next() % line.len() as u64) as usize;
                line[at] = next() as u8;
            }
            2 => line.extend_from_slice(b"\r"),
            _ => {}
        }
        size += line.len() + 1;
        out.push(line);
    }
    out
}

#[test]
fn random_lines_read_the_same_mapped_and_streamed() {
    let scratch = common::scratch("mapped-random");
    let dir = scratch.path();
    for seed in [1, 2, 3] {
        let lines = random_lines(seed);
        let plain = dir.join(format!("r{seed}.ndjson"));
        let gz = dir.join(format!("r{seed}.ndjson.gz"));
        write_lines(&plain, &lines, false);
        write_lines(&gz, &lines, true);
        assert!(std::fs::metadata(&plain).expect("meta").len() > 1 << 20);
        for projected in [true, false] {
            let (mapped, ms) = read_both(&plain, &gz, projected, &format!("seed {seed}"));
            // the mix has matches and problems both
            assert!(!mapped.is_empty() && !ms.problems.is_empty());
        }
    }
}

/// JSON lines whose first line is damaged are still read as lines, small
/// (streamed) or large (mapped): only that line is lost, and reported.
#[test]
fn a_damaged_first_line_does_not_lose_the_file() {
    let scratch = common::scratch("first-line");
    let dir = scratch.path();
    for (name, n) in [("small", 10usize), ("large", 20_000)] {
        let mut lines = vec![br#"{"process":{"name":"dns.exe"},"#.to_vec(), Vec::new()];
        for i in 0..n {
            lines.push(
                format!(
                    r#"{{"process":{{"name":"dns.exe","pid":{i},"pad":"{}"}}}}"#,
                    "p".repeat(60)
                )
                .into_bytes(),
            );
        }
        let path = dir.join(format!("{name}.ndjson"));
        write_lines(&path, &lines, false);
        for projected in [true, false] {
            let (kept, s) = read(&path, projected);
            assert_eq!(kept.len(), n, "{name}");
            assert_eq!(kept.first().map(|k| k.0), Some(3));
            let where_: Vec<&str> = s.problems.iter().map(|p| p.location.as_str()).collect();
            assert_eq!(where_, ["line 1"], "{name}");
        }
    }
}
