//! CrowdStrike Falcon Data Replicator (FDR) → ECS, as Elastic's
//! `crowdstrike.fdr` pipeline maps it.
//!
//! FDR writes every value as a string, times as epoch milliseconds
//! (`timestamp`) or `"seconds.millis"` (`ProcessStartTime`,
//! `ContextTimeStamp`), and image paths as NT device paths
//! (`\Device\HarddiskVolume3\…`), which are kept as they are — Elastic's
//! rules carry `\Device\HarddiskVolume*` patterns for them. Process
//! identity is CrowdStrike's own: `TargetProcessId` (a process's
//! `process.entity_id`), `ParentProcessId`, `ContextProcessId` (the actor of
//! DNS, network, file and registry events). All other fields are kept under
//! `crowdstrike.*`; an unknown `event_simpleName` is kept as a generic event.

//!
//! Two entry points share one mapping: [`normalize`] on a parsed JSON
//! document, and [`normalize_line`], the reader's fast path, which maps a
//! JSON line without building a `serde_json::Value` — FDR records are flat
//! objects of strings, so it borrows keys and values from the line
//! (measured in `bench/RESULTS.md`, "CrowdStrike FDR").

use crate::common::{dns_type, set_domain_parts, split_command_line};
use crate::format::Format;
use crate::json::Normalized;
use quarry_event::basename;
use quarry_event::{Event, Origin, Value};
use serde_json::Value as J;
use std::borrow::Cow;

/// An FDR record's fields, however it was read.
trait Fields {
    /// A field's string value, trimmed; `None` when absent, empty or not a string.
    fn str(&self, k: &str) -> Option<&str>;
    /// Every field, under `crowdstrike.*`.
    fn namespace(&self, ev: &mut Event);
    /// How many fields the record has.
    fn count(&self) -> usize;
}

impl Fields for J {
    fn str(&self, k: &str) -> Option<&str> {
        self.get(k)
            .and_then(J::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    fn namespace(&self, ev: &mut Event) {
        if let J::Object(m) = self {
            for (k, v) in m {
                ev.set_owned(prefixed(k), Value::from_json(v));
            }
        }
    }

    fn count(&self) -> usize {
        self.as_object().map_or(0, |m| m.len())
    }
}

/// `crowdstrike.<key>`, allocated once at its final size.
fn prefixed(k: &str) -> String {
    let mut key = String::with_capacity(12 + k.len());
    key.push_str("crowdstrike.");
    key.push_str(k);
    key
}

/// A JSON line's top-level fields, keys and string values borrowed from the
/// line unless they hold escapes; other values kept as raw JSON.
struct Line<'a> {
    fields: Vec<(Cow<'a, str>, Raw<'a>)>,
}

enum Raw<'a> {
    Str(Cow<'a, str>),
    /// A number, `true`, `false` or `null`, as written.
    Other(&'a str),
}

impl Fields for Line<'_> {
    fn str(&self, k: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| match v {
                Raw::Str(s) => Some(s.trim()).filter(|v| !v.is_empty()),
                Raw::Other(_) => None,
            })
    }

    fn namespace(&self, ev: &mut Event) {
        for (k, v) in &self.fields {
            let value = match v {
                Raw::Str(s) => Value::Str(s.as_ref().into()),
                Raw::Other(raw) => serde_json::from_str::<J>(raw)
                    .map(|j| Value::from_json(&j))
                    .unwrap_or(Value::Null),
            };
            ev.set_owned(prefixed(k), value);
        }
    }

    fn count(&self) -> usize {
        self.fields.len()
    }
}

impl<'a> Line<'a> {
    /// Parses a flat JSON object (string, number, boolean and null values),
    /// borrowing keys and strings from `line`. `None` for anything else —
    /// nested values, invalid UTF-8, control characters, malformed JSON —
    /// which the caller then reads the general way.
    fn parse(line: &'a [u8]) -> Option<Line<'a>> {
        if line.iter().any(|&b| b < 0x20 && b != b' ') {
            return None;
        }
        let text = std::str::from_utf8(line).ok()?;
        let b = text.as_bytes();
        let ws = |i: &mut usize| {
            while *i < b.len() && b[*i] == b' ' {
                *i += 1;
            }
        };
        let mut i = 0;
        ws(&mut i);
        if b.get(i) != Some(&b'{') {
            return None;
        }
        i += 1;
        let mut fields = Vec::with_capacity(48);
        ws(&mut i);
        if b.get(i) == Some(&b'}') {
            i += 1;
        } else {
            loop {
                ws(&mut i);
                let key = string(text, &mut i)?;
                ws(&mut i);
                if b.get(i) != Some(&b':') {
                    return None;
                }
                i += 1;
                ws(&mut i);
                let value = match b.get(i)? {
                    b'"' => Raw::Str(string(text, &mut i)?),
                    b'{' | b'[' => return None,
                    _ => {
                        let start = i;
                        while i < b.len() && !matches!(b[i], b',' | b'}' | b' ') {
                            i += 1;
                        }
                        let tok = &text[start..i];
                        serde_json::from_str::<serde::de::IgnoredAny>(tok).ok()?;
                        Raw::Other(tok)
                    }
                };
                fields.push((key, value));
                ws(&mut i);
                match b.get(i)? {
                    b',' => i += 1,
                    b'}' => {
                        i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        ws(&mut i);
        (i == b.len()).then_some(Line { fields })
    }
}

/// A JSON string starting at `text[*i]` (a quote): borrowed when it has no
/// escapes, unescaped otherwise; `*i` moves past its closing quote.
fn string<'a>(text: &'a str, i: &mut usize) -> Option<Cow<'a, str>> {
    let b = text.as_bytes();
    if b.get(*i) != Some(&b'"') {
        return None;
    }
    let start = *i + 1;
    let mut j = start;
    let mut escaped = false;
    loop {
        j += memchr::memchr2(b'"', b'\\', b.get(j..)?)?;
        if b[j] == b'"' {
            break;
        }
        escaped = true;
        j += 2; // the backslash and the character it escapes
    }
    *i = j + 1;
    if escaped {
        serde_json::from_str::<String>(&text[start - 1..=j])
            .ok()
            .map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(&text[start..j]))
    }
}

/// The reader's fast path: maps one JSON line that is an FDR record, or
/// returns `None` (not an object, not FDR, or not parseable this way) so
/// the caller takes the general path. For an FDR line the result equals
/// [`crate::json::normalize_json`]'s.
pub fn normalize_line(
    line: &[u8],
    origin: Origin,
    problems: &mut Vec<String>,
) -> Option<Normalized> {
    let rec = Line::parse(line)?;
    let has = |k: &str| rec.fields.iter().any(|(key, _)| key == k);
    if !has("event_simpleName") || !(has("aid") || has("timestamp")) {
        return None;
    }
    // a key of a format recognised before FDR (Windows records, Plaso
    // rows, search dumps) makes the record that format
    let fdr = Format::Vendor(super::Vendor::CrowdStrikeFdr);
    if rec
        .fields
        .iter()
        .any(|(k, _)| crate::format::marks_earlier_format(k, fdr))
    {
        return None;
    }
    Some(Normalized {
        event: map(&rec, origin, problems),
        format: fdr,
        dedupe_key: None,
    })
}

fn s<'a>(doc: &'a impl Fields, k: &str) -> Option<&'a str> {
    doc.str(k)
}

/// `"1604855181.648"` (seconds.millis) → nanoseconds.
fn seconds(v: &str) -> Option<i64> {
    let f: f64 = v.trim().parse().ok()?;
    (f.is_finite() && f > 0.0).then(|| (f * 1000.0).round() as i64 * 1_000_000)
}

fn int(ev: &mut Event, path: &str, raw: Option<&str>, problems: &mut Vec<String>) {
    if let Some(r) = raw {
        match r.parse::<i64>() {
            Ok(n) => ev.set(path, n),
            Err(_) => problems.push(format!("{path}: {r:?} is not a number; left out")),
        }
    }
}

/// Maps a parsed FDR record.
pub fn normalize(doc: &J, origin: Origin, problems: &mut Vec<String>) -> Event {
    map(doc, origin, problems)
}

fn map(doc: &impl Fields, origin: Origin, problems: &mut Vec<String>) -> Event {
    // the record's fields, plus about 30 of ECS
    let mut ev = Event::with_capacity(origin, doc.count() + 32);
    // everything the record says, under the vendor's namespace
    doc.namespace(&mut ev);
    let name = s(doc, "event_simpleName").unwrap_or("unknown");
    ev.set("event.action", name);
    ev.set("event.kind", "event");
    ev.set("event.module", "crowdstrike");
    ev.set("event.dataset", "crowdstrike.fdr");
    ev.set("data_stream.type", "logs");
    ev.set("data_stream.dataset", "crowdstrike.fdr");
    ev.set("data_stream.namespace", "default");
    ev.set("observer.vendor", "crowdstrike");
    ev.set("observer.type", "agent");
    match s(doc, "timestamp").map(|t| t.parse::<i64>()) {
        Some(Ok(ms)) => {
            ev.set_timestamp(ms.saturating_mul(1_000_000));
            ev.set(
                "event.created",
                Value::Timestamp(ms.saturating_mul(1_000_000)),
            );
        }
        Some(Err(_)) => problems.push(format!(
            "timestamp {:?} is not epoch milliseconds",
            s(doc, "timestamp").unwrap_or_default()
        )),
        None => {
            if let Some(t) = s(doc, "ContextTimeStamp").and_then(seconds) {
                ev.set_timestamp(t);
            } else {
                problems.push("no timestamp".into());
            }
        }
    }
    let (id, aid, cid) = (s(doc, "id"), s(doc, "aid"), s(doc, "cid"));
    if let (Some(id), Some(aid), Some(cid)) = (id, aid, cid) {
        ev.set("event.id", format!("{id}|{aid}|{cid}"));
    } else {
        ev.set("event.id", id);
    }
    if let Some(aid) = aid {
        ev.set("host.id", aid);
        ev.set("device.id", aid);
        ev.set("observer.serial_number", aid);
    }
    ev.set("observer.version", s(doc, "ConfigBuild"));
    let os = match s(doc, "event_platform") {
        Some("Win") => Some("windows"),
        Some("Mac") => Some("macos"),
        Some("Lin") => Some("linux"),
        _ => None,
    };
    ev.set("host.os.type", os);
    ev.set("user.id", s(doc, "UserSid"));
    ev.set("user.name", s(doc, "UserName"));
    let mut hashes = Vec::new();
    for (field, algo) in [
        ("MD5HashData", "md5"),
        ("SHA1HashData", "sha1"),
        ("SHA256HashData", "sha256"),
    ] {
        if let Some(h) = s(doc, field).filter(|h| !h.bytes().all(|b| b == b'0')) {
            ev.set(&format!("process.hash.{algo}"), h.to_ascii_lowercase());
            hashes.push(h.to_ascii_lowercase());
        }
    }
    if !hashes.is_empty() {
        ev.set("related.hash", hashes);
    }
    match name {
        "ProcessRollup2" | "SyntheticProcessRollup2" | "ProcessRollup2Stats" => {
            ev.set("event.category", vec!["process"]);
            ev.set("event.type", vec!["start"]);
            ev.set("event.outcome", "success");
            process(doc, &mut ev, problems);
        }
        "EndOfProcess" | "TerminateProcess" => {
            ev.set("event.category", vec!["process"]);
            ev.set("event.type", vec!["end"]);
            process(doc, &mut ev, problems);
        }
        "DnsRequest" | "SuspiciousDnsRequest" => {
            ev.set("event.category", vec!["network"]);
            ev.set("event.type", vec!["protocol"]);
            ev.set("event.outcome", "success");
            ev.set("network.protocol", "dns");
            ev.set("dns.type", "query");
            ev.set("message", name);
            context_process(doc, &mut ev, problems);
            if let Some(q) = s(doc, "DomainName") {
                ev.set("dns.question.name", q);
                set_domain_parts(&mut ev, q);
            }
            ev.set("dns.question.type", s(doc, "RequestType").map(dns_type));
        }
        n if n.starts_with("NetworkConnectIP") || n.starts_with("NetworkReceiveAcceptIP") => {
            ev.set("event.category", vec!["network"]);
            let inbound = n.starts_with("NetworkReceive");
            ev.set(
                "event.type",
                vec![if inbound { "start" } else { "connection" }],
            );
            ev.set(
                "network.direction",
                if inbound { "ingress" } else { "egress" },
            );
            context_process(doc, &mut ev, problems);
            ip(
                &mut ev,
                "source.ip",
                s(doc, "LocalAddressIP4").or(s(doc, "LocalAddressIP6")),
            );
            int(&mut ev, "source.port", s(doc, "LocalPort"), problems);
            ip(
                &mut ev,
                "destination.ip",
                s(doc, "RemoteAddressIP4").or(s(doc, "RemoteAddressIP6")),
            );
            int(&mut ev, "destination.port", s(doc, "RemotePort"), problems);
            ev.set(
                "network.transport",
                s(doc, "Protocol").map(|p| match p {
                    "6" => "tcp",
                    "17" => "udp",
                    "1" => "icmp",
                    other => other,
                }),
            );
        }
        n if n.contains("FileWritten")
            || n.starts_with("NewExecutableWritten")
            || n.ends_with("FileCreated")
            || n == "FileDeleteInfo" =>
        {
            ev.set("event.category", vec!["file"]);
            ev.set(
                "event.type",
                vec![if n == "FileDeleteInfo" {
                    "deletion"
                } else {
                    "creation"
                }],
            );
            context_process(doc, &mut ev, problems);
            if let Some(path) = s(doc, "TargetFileName") {
                ev.set("file.path", path);
                ev.set("file.name", basename(path));
            }
        }
        n if n.starts_with("Asep") || n.starts_with("Reg") => {
            ev.set("event.category", vec!["registry"]);
            ev.set("event.type", vec!["change"]);
            context_process(doc, &mut ev, problems);
            ev.set("registry.key", s(doc, "RegObjectName"));
            ev.set("registry.value", s(doc, "RegValueName"));
            if let (Some(k), Some(v)) = (s(doc, "RegObjectName"), s(doc, "RegValueName")) {
                ev.set("registry.path", format!("{k}\\{v}"));
            }
        }
        // Unknown types stay generic events: the record under crowdstrike.*,
        // its type in event.action.
        _ => crate::mark_unmapped(&mut ev, "crowdstrike.fdr", name),
    }
    ev
}

fn ip(ev: &mut Event, path: &str, raw: Option<&str>) {
    if let Some(r) = raw {
        match r.parse::<std::net::IpAddr>() {
            Ok(a) => ev.set(path, a),
            Err(_) => ev.set(path, r),
        }
    }
}

/// The created (or ending) process of a ProcessRollup2 / EndOfProcess.
fn process(doc: &impl Fields, ev: &mut Event, problems: &mut Vec<String>) {
    ev.set("process.entity_id", s(doc, "TargetProcessId"));
    ev.set("process.parent.entity_id", s(doc, "ParentProcessId"));
    int(ev, "process.pid", s(doc, "RawProcessId"), problems);
    if let Some(image) = s(doc, "ImageFileName") {
        ev.set("process.executable", image);
        ev.set("process.name", basename(image));
    }
    ev.set("process.parent.name", s(doc, "ParentBaseFileName"));
    if let Some(cmd) = s(doc, "CommandLine") {
        ev.set("process.command_line", cmd);
        let args = split_command_line(cmd);
        ev.set("process.args_count", args.len() as i64);
        ev.set("process.args", args);
    }
    for (field, path) in [
        ("ProcessStartTime", "process.start"),
        ("ProcessEndTime", "process.end"),
    ] {
        if let Some(raw) = s(doc, field) {
            match seconds(raw) {
                Some(t) => ev.set(path, Value::Timestamp(t)),
                None if raw.parse::<f64>().is_err() => problems.push(format!(
                    "{field}: {raw:?} is not seconds since the epoch; left out"
                )),
                None => {}
            }
        }
    }
}

/// The acting process of DNS, network, file and registry events.
fn context_process(doc: &impl Fields, ev: &mut Event, problems: &mut Vec<String>) {
    ev.set("process.entity_id", s(doc, "ContextProcessId"));
    ev.set("process.name", s(doc, "ContextBaseFileName"));
    int(ev, "process.thread.id", s(doc, "ContextThreadId"), problems);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The fast path maps a line exactly as the general path maps the
    /// parsed document, and declines what it does not handle.
    #[test]
    fn fast_path_equals_the_general_path() {
        let lines = [
            r#"{"event_simpleName":"ProcessRollup2","aid":"a1","cid":"c1","id":"i1","timestamp":"1601546312519","event_platform":"Win","TargetProcessId":"200","ParentProcessId":"100","RawProcessId":"4242","ImageFileName":"\\Device\\HarddiskVolume3\\Windows\\System32\\cmd.exe","ParentBaseFileName":"dns.exe","CommandLine":"cmd.exe /c \"echo \u00e9\" ","ProcessStartTime":"1601546312.400"}"#,
            r#" { "event_simpleName" : "DnsRequest" , "aid":"m1","timestamp":"1625677476111","DomainName":"jss.dom1.com","RequestType":"28","ContextThreadId":"x","Count":3,"Flag":true,"Gone":null,"Neg":-1.5e3,"Uni":"\u00fcber","k\"q":"v"} "#,
            r#"{"event_simpleName":"SomethingNew","timestamp":"yesterday","RawProcessId":"0x1f","ProcessStartTime":"soon"}"#,
            r#"{"event_simpleName":"DnsRequest","aid":"a","aid":"b","timestamp":"1"}"#,
        ];
        for line in lines {
            let mut p1 = Vec::new();
            let fast = normalize_line(line.trim().as_bytes(), Origin::default(), &mut p1)
                .unwrap_or_else(|| panic!("fast path declined {line}"));
            let doc: J = serde_json::from_str(line).unwrap();
            let mut p2 = Vec::new();
            let slow = crate::json::normalize_json(&doc, Origin::default(), &mut p2);
            assert_eq!(fast.format, slow.format);
            assert_eq!(fast.event.to_json(), slow.event.to_json(), "{line}");
            assert_eq!(fast.event.timestamp, slow.event.timestamp);
            assert_eq!(p1, p2, "{line}");
        }
        for declined in [
            r#"{"event_simpleName":"X","aid":"a","nested":{"a":1}}"#,
            r#"{"event_simpleName":"X","aid":"a","list":[1]}"#,
            r#"{"event_simpleName":"X","aid":"a","bad":tru}"#,
            r#"{"event_simpleName":"X","aid":"a""#,
            r#"{"event_simpleName":"X","aid":"a"} trailing"#,
            "{\"event_simpleName\":\"X\",\"aid\":\"a\tb\"}",
            r#"{"event_simpleName":"X"}"#,
            r#"{"event_simpleName":"X","aid":"a","EventID":4688}"#,
            r#"["event_simpleName"]"#,
            r#"{"event_simpleName":"X","aid":"a\"#,
        ] {
            assert!(
                normalize_line(declined.as_bytes(), Origin::default(), &mut Vec::new()).is_none(),
                "{declined}"
            );
        }
        assert!(
            normalize_line(
                b"{\"event_simpleName\":\"X\",\"aid\":\"\xff\"}",
                Origin::default(),
                &mut Vec::new()
            )
            .is_none()
        );
    }

    #[test]
    fn fixtures_of_several_types() {
        let pr2 = json!({"event_simpleName":"ProcessRollup2","aid":"a1","cid":"c1","id":"i1","timestamp":"1601546312519","event_platform":"Win",
            "TargetProcessId":"200","ParentProcessId":"100","RawProcessId":"4242","ImageFileName":"\\Device\\HarddiskVolume3\\Windows\\System32\\cmd.exe",
            "ParentBaseFileName":"dns.exe","CommandLine":"cmd.exe /c whoami","ProcessStartTime":"1601546312.400","SHA1HashData":"0000000000000000000000000000000000000000"});
        let mut p = Vec::new();
        let e = normalize(&pr2, Origin::default(), &mut p);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(e.get_str("process.name"), Some("cmd.exe"));
        assert_eq!(e.get_str("process.parent.name"), Some("dns.exe"));
        assert_eq!(e.get_i64("process.pid"), Some(4242));
        assert_eq!(e.get_str("host.os.type"), Some("windows"));
        assert!(
            !e.contains("process.hash.sha1"),
            "all-zero hashes are absent"
        );
        let dns = json!({"event_simpleName":"DnsRequest","aid":"m1","timestamp":"1625677476111","event_platform":"Mac","ContextProcessId":"364977197365370629","DomainName":"jss.dom1.com","RequestType":"28","ContextThreadId":"x"});
        let e = normalize(&dns, Origin::default(), &mut p);
        assert_eq!(e.get_str("dns.question.type"), Some("AAAA"));
        assert_eq!(e.get_str("host.os.type"), Some("macos"));
        assert_eq!(p.len(), 1, "a bad thread id is reported, the record kept");
        let net = json!({"event_simpleName":"NetworkConnectIP4","aid":"a1","timestamp":"1","event_platform":"Lin","ContextProcessId":"7","RemoteAddressIP4":"203.0.113.5","RemotePort":"443","Protocol":"6"});
        let e = normalize(&net, Origin::default(), &mut Vec::new());
        assert_eq!(e.get_i64("destination.port"), Some(443));
        assert_eq!(e.get_str("network.transport"), Some("tcp"));
        let unknown =
            json!({"event_simpleName":"SomethingNew","aid":"a1","timestamp":"1","Foo":"bar"});
        let e = normalize(&unknown, Origin::default(), &mut Vec::new());
        assert_eq!(e.get_str("event.action"), Some("SomethingNew"));
        assert_eq!(e.get_str("crowdstrike.Foo"), Some("bar"));
        assert_eq!(
            e.get_str(crate::UNMAPPED_TYPE),
            Some("crowdstrike.fdr/SomethingNew")
        );
        let bad = json!({"event_simpleName":"EndOfProcess","timestamp":"yesterday","TargetProcessId":"200"});
        let mut p = Vec::new();
        let e = normalize(&bad, Origin::default(), &mut p);
        assert!(e.has_value("event.type", "end"));
        assert_eq!(p.len(), 1);
    }
}
