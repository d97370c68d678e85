//! Tests of the projected reader: projected events equal the full
//! flattening, other formats go to the full reader, the literal
//! prefilter drops only lines lacking a literal, and the fast walk builds
//! what serde's walk builds (property tests).

use super::prefilter::lacks_literal;
use super::*;
use quarry_event::Origin;

fn proj(fields: &[&str]) -> Projection {
    let f: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
    Projection::new(&f, &["endgame."], |_| true)
}

fn same_as_full(line: &str, fields: &[&str]) {
    let p = proj(fields);
    let Some(Projected::Kept(ev)) = read_line(line.as_bytes(), &p, Origin::default) else {
        panic!("{line} not read projected");
    };
    let doc: serde_json::Value = serde_json::from_str(line).expect("json");
    let full = Event::from_json(&doc, Origin::default());
    for f in fields {
        assert_eq!(ev.get(f), full.get(f), "{f} of {line}");
    }
    assert_eq!(ev.timestamp, full.timestamp);
    assert_eq!(ev.raw_source.as_deref(), Some(line));
}

#[test]
fn projected_fields_equal_the_full_flattening() {
    let fields = &[
        "@timestamp",
        "process.name",
        "process.parent.name",
        "dns.answers.data",
        "a.b",
        "n",
        "endgame.pid",
        "missing.field",
    ];
    same_as_full(
        r#"{"@timestamp":"2021-12-04T21:19:10.604Z","process":{"name":"a.exe","pid":4,"parent":{"name":"DNS.EXE"}},"x":[1,{"y":2}],"n":null}"#,
        fields,
    );
    same_as_full(
        r#"{"dns":{"answers":[{"data":"1.2.3.4"},{"data":"5.6.7.8"}]},"a.b":"dotted","a":{"c":1},"endgame":{"pid":7},"n":[1,2.5,"x"]}"#,
        fields,
    );
    same_as_full(
        r#"{"process":{"name":"\u0061.exe"},"a":{"b":{"c":1}}}"#,
        fields,
    );
}

#[test]
fn other_formats_and_oddities_take_the_full_reader() {
    let p = proj(&["process.name"]);
    let full = |l: &str| read_line(l.as_bytes(), &p, Origin::default).is_none();
    assert!(full(r#"{"winlog":{"event_id":1},"process":{"name":"a"}}"#));
    assert!(full(r#"{"EventID":1,"Channel":"x"}"#));
    assert!(full(r#"{"\u0045ventID":1,"Channel":"x"}"#));
    assert!(full(r#"{"agent":{"type":"endpoint"}}"#));
    assert!(full(
        r#"{"data_stream":{"dataset":"endpoint.events.process"}}"#
    ));
    assert!(full(r#"{"hits":{"hits":[]}}"#));
    assert!(full(r#"{"process":{"name":"a"},"process":{"pid":1}}"#));
    assert!(full(r#"[1,2]"#));
    assert!(full(r#"{"process":"#));
    assert!(full("{\"process\":{\"name\":\"a\"}} x"));
    assert!(!full(
        r#"{"agent":{"type":"filebeat"},"process":{"name":"a"}}"#
    ));
}

fn dns_rule() -> Projection {
    let f: Vec<String> = ["process.parent.name", "event.type"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    Projection::new(&f, &["endgame."], |ev| {
        ev.get("process.parent.name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.eq_ignore_ascii_case("dns.exe"))
    })
    .require_literals(&[vec!["dns.exe".to_string()], vec!["start".to_string()]])
}

fn outcome(line: &str, p: &Projection) -> &'static str {
    match read_line(line.as_bytes(), p, Origin::default) {
        Some(Projected::Kept(_)) => "kept",
        Some(Projected::Dropped) => "dropped",
        None => "full",
    }
}

#[test]
fn lines_lacking_a_required_literal_are_dropped_unwalked() {
    let p = dns_rule();
    assert!(lacks_literal(
        br#"{"process":{"parent":{"name":"cmd.exe"}},"event":{"type":"start"}}"#,
        p.prefilter.as_ref().expect("set")
    ));
    assert_eq!(
        outcome(
            r#"{"process":{"parent":{"name":"cmd.exe"}},"event":{"type":"start"}}"#,
            &p
        ),
        "dropped"
    );
    assert_eq!(
        outcome(
            r#"{"process":{"parent":{"name":"dns.exe"}},"event":{"type":"start"}}"#,
            &p
        ),
        "kept"
    );
    // another case, or behind an escape: walked, still matched
    assert_eq!(
        outcome(
            r#"{"process":{"parent":{"name":"DNS.Exe"}},"event":{"type":"START"}}"#,
            &p
        ),
        "kept"
    );
    assert_eq!(
        outcome(
            r#"{"process":{"parent":{"name":"\u0064ns.exe"}},"event":{"type":"start"}}"#,
            &p
        ),
        "kept"
    );
    assert_eq!(
        outcome(
            r#"{"process":{"parent":{"name":"dns\u002eexe"}},"event":{"type":"start"}}"#,
            &p
        ),
        "kept"
    );
    // an escaped backslash before a `u` is no escape: still prefiltered
    assert!(lacks_literal(
        br#"{"a":"C:\\users","event":{"type":"start"}}"#,
        p.prefilter.as_ref().expect("set")
    ));
    assert!(!lacks_literal(
        br#"{"a":"C:\users","event":{"type":"start"}}"#,
        p.prefilter.as_ref().expect("set")
    ));
    assert!(!lacks_literal(
        r#"{"a":"é","event":{"type":"start"}}"#.as_bytes(),
        p.prefilter.as_ref().expect("set")
    ));
    // other formats and oddities still go to the full reader
    for l in [
        r#"{"event_simpleName":"ProcessRollup2","ParentBaseFileName":"cmd.exe"}"#,
        r#"{"agent":{"type":"endpoint"},"process":{"name":"a"}}"#,
        r#"{"data_stream":{"dataset":"endpoint.events.process"}}"#,
        r#"{"process":{"name":"a"}"#,
        r#"{"process":{"name":"a"}} x"#,
        r#"[1,2]"#,
    ] {
        assert_eq!(outcome(l, &p), "full", "{l}");
    }
    assert_eq!(
        outcome(
            r#"{"agent":{"type":"filebeat"},"process":{"name":"a"}}"#,
            &p
        ),
        "dropped"
    );
    // literals with JSON's escaped characters are searched as encoded
    let q = Projection::new(&["a".to_string()], &[], |_| true)
        .require_literals(&[vec![r#"C:\x"y"#.to_string()]]);
    assert_eq!(outcome(r#"{"a":"C:\\X\"Y"}"#, &q), "kept");
    assert_eq!(outcome(r#"{"a":"C:\\X Y"}"#, &q), "dropped");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
    /// The one-pass check promises what the validating walk decides:
    /// a line it passes, the walk of a projection wanting nothing drops
    /// as plain ECS (and so would not send to the full reader).
    #[test]
    fn the_fast_check_agrees_with_the_walk(l in crate::plain_json::tests::line()) {
        let p = dns_rule();
        let pre = p.prefilter.as_ref().expect("set");
        if crate::plain_json::is_plain_ecs_object(l.as_bytes(), is_marker_key) {
            proptest::prop_assert!(
                matches!(walk_line(l.as_bytes(), &pre.shell), Some(Projected::Dropped)),
                "{}", l
            );
        }
    }
}

/// ECS-like lines: the paths the projections below read, escapes,
/// arrays, numbers of every kind, non-ASCII text; then cut or patched.
fn ecs_line() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let key = prop::sample::select(vec![
        "process",
        "name",
        "parent",
        "executable",
        "event",
        "type",
        "category",
        "process.name",
        "event.type",
        "agent",
        "agent.type",
        "data_stream",
        "dataset",
        "@timestamp",
        "host",
        "winlog",
        "x",
        "",
    ]);
    let odd = prop_oneof![
        Just("-0".to_string()),
        Just("1.5".to_string()),
        Just("1e3".to_string()),
        Just("18446744073709551615".to_string()),
        Just("18446744073709551616".to_string()),
        Just("-9223372036854775809".to_string()),
        Just("\"\\u0041\"".to_string()),
        Just("\"endpoint\"".to_string()),
        Just("\"endpoint.events\"".to_string()),
        Just("{}".to_string()),
        Just("[{\"a\":1}]".to_string()),
    ];
    let leaf = prop_oneof![
        1 => Just("null".to_string()),
        1 => Just("true".to_string()),
        2 => Just("\"C:\\\\Windows\\\\cmd.exe\"".to_string()),
        2 => Just("\"a\\\"b\\/c\\n\\t\"".to_string()),
        2 => Just("\"2024-01-02T03:04:05Z\"".to_string()),
        2 => Just("[\"start\", 1, null, \"é\"]".to_string()),
        3 => any::<i64>().prop_map(|n| n.to_string()),
        4 => "\\PC{0,6}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        2 => odd,
    ];
    let structured = (
        prop::option::of(leaf.clone()),
        prop::option::of(leaf.clone()),
        prop::option::of(leaf.clone()),
        prop::option::of(leaf.clone()),
        prop::option::of(leaf.clone()),
        prop::option::of(leaf.clone()),
    )
        .prop_map(|(ts, ty, name, exe, dotted, agent)| {
            let mut kv = Vec::new();
            let mut push = |k: &str, v: Option<String>| {
                if let Some(v) = v {
                    kv.push(format!("{k:?}: {v}"));
                }
            };
            push("@timestamp", ts);
            push(
                "event",
                ty.map(|t| format!("{{\"type\": {t}, \"kind\": \"event\"}}")),
            );
            let parent = exe.map(|e| format!("{{\"executable\": {e}}}"));
            push(
                "process",
                Some(format!(
                    "{{\"pid\": 4, \"name\": {}{}}}",
                    name.unwrap_or_else(|| "\"cmd.exe\"".to_string()),
                    parent
                        .map(|p| format!(", \"parent\": {p}"))
                        .unwrap_or_default()
                )),
            );
            push("process.name", dotted);
            push("agent", agent.map(|a| format!("{{\"type\": {a}}}")));
            format!("{{{}}}", kv.join(", "))
        });
    let value = leaf.prop_recursive(3, 16, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key.clone(), inner), 0..4).prop_map(|kv| {
                let kv: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                format!("{{{}}}", kv.join(","))
            }),
        ]
    });
    let top = prop::sample::select(vec![
        "process",
        "event",
        "agent",
        "@timestamp",
        "host",
        "process.name",
        "event.type",
        "agent.type",
        "data_stream",
        "winlog",
        "x",
        "",
    ]);
    let random = prop::collection::vec((top, value), 0..6).prop_map(|kv| {
        let kv: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k:?}: {v}")).collect();
        format!("{{{}}}", kv.join(", "))
    });
    (
        prop_oneof![random, structured],
        any::<usize>(),
        0u8..6,
        any::<u8>(),
    )
        .prop_map(|(doc, at, how, byte)| {
            let mut b = doc.into_bytes();
            let at = if b.is_empty() { 0 } else { at % b.len() };
            match how {
                0 => b.truncate(at),
                1 => b.insert(at, byte),
                _ => {}
            }
            // (how 2..6: the document as generated)
            String::from_utf8_lossy(&b).into_owned()
        })
}

fn fields_of(ev: &Event) -> Vec<(String, Value)> {
    ev.fields()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20000))]
    /// The walk without serde builds what serde's walk builds, whenever
    /// it answers at all.
    #[test]
    fn the_fast_walk_builds_what_serde_builds(
        l in proptest::prop_oneof![ecs_line(), crate::plain_json::tests::line()],
        which in 0usize..4,
    ) {
        let fields: &[&[&str]] = &[
            &["process.name", "process.parent.executable", "event.type", "@timestamp"],
            &["event", "process.parent", "x"],
            &["host", "process"],
            &["process.name", "agent.type"],
        ];
        let p = if which == 3 {
            // every field below a prefix, one of them also named
            let f: Vec<String> = fields[3].iter().map(|s| s.to_string()).collect();
            Projection::new(&f, &["process.", "event.type."], |_| true)
        } else {
            proj(fields[which])
        };
        let mut ev = Event::with_capacity(Origin::default(), 4);
        let mut path = String::new();
        if let Some(text) = fast_walk(l.as_bytes(), &p, &mut ev, &mut path) {
            let slow = serde_walk(l.as_bytes(), &p);
            let fast = finish(ev, Some(text), l.as_bytes(), &p);
            match (fast, slow) {
                (Some(Projected::Kept(a)), Some(Projected::Kept(b))) => {
                    proptest::prop_assert_eq!(fields_of(&a), fields_of(&b), "{}", l);
                    proptest::prop_assert_eq!(a.timestamp, b.timestamp);
                }
                (Some(Projected::Dropped), Some(Projected::Dropped)) | (None, None) => {}
                (a, b) => proptest::prop_assert!(false, "{}: fast {} slow {}", l,
                    a.is_some(), b.is_some()),
            }
        }
    }
}

#[test]
fn unusable_literals_set_no_prefilter() {
    let p = Projection::new(&[], &[], |_| true);
    assert!(
        p.require_literals(&[vec!["é".to_string()]])
            .prefilter
            .is_none()
    );
    let p = Projection::new(&[], &[], |_| true);
    assert!(p.require_literals(&[vec![]]).prefilter.is_none());
    let p = Projection::new(&[], &[], |_| true);
    assert!(p.require_literals(&[]).prefilter.is_none());
}
