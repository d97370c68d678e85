//! Property tests: parsing and compiling arbitrary text or token soup never
//! panics, and evaluating whatever compiles never panics.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use quarry_event::Event;
use quarry_kql::{KqlOptions, compile};

fn token() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "process.name",
        "source.ip",
        "destination.port",
        "@timestamp",
        "message",
        "powershell.file.script_block_text",
        "process.name.caseless",
        "process.command_line.text",
        "file.hash.*",
        "*",
        "a.b",
        ":",
        "(",
        ")",
        "{",
        "}",
        "<",
        "<=",
        ">",
        ">=",
        "or",
        "and",
        "not",
        "OR",
        "AND",
        "NOT",
        "\"",
        "\"x y\"",
        "\"a\\\"b\"",
        "\\",
        "\\*",
        "\\:",
        "\\or",
        "\\u0041",
        "\\t",
        "*x*",
        "x*y",
        "10.0.0.0/8",
        "::1",
        "::/0",
        "1.5",
        "-3",
        "true",
        "null",
        "now-1d/d",
        "2024-01-01",
        "2024-01-01||+1M",
        "S3 Browser*",
        "é",
        "\u{a0}",
        "?",
    ])
    .prop_map(str::to_string)
}

fn events() -> Vec<Event> {
    let mut e = Event::default();
    e.set("process.name", vec!["x", "S3"]);
    e.set("source.ip", "10.0.0.1");
    e.set("destination.port", 443i64);
    e.set("@timestamp", "2024-01-01T00:00:00Z");
    e.set("message", "x y z");
    e.set("powershell.file.script_block_text", "Invoke-X -y [a]::b");
    e.set("file.hash.md5", "abc");
    vec![e, Event::default()]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3000,
        // integration tests have no lib.rs for the default to place them by
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,120}") {
        let _ = quarry_kql::parser::parse(&s);
        let _ = compile(&s, &KqlOptions::default());
    }

    #[test]
    fn token_soup_never_panics(toks in prop::collection::vec(token(), 0..20), glue in prop::sample::select(vec![" ", ""])) {
        let q = toks.join(glue);
        if let Ok(c) = compile(&q, &KqlOptions::default()) {
            for e in events() {
                let _ = c.matches(&e);
            }
        }
    }

    #[test]
    fn field_value_shapes_never_panic(
        f in token(),
        op in prop::sample::select(vec![":", "<", ">=", ": (", ":{"]),
        vals in prop::collection::vec(token(), 1..6),
    ) {
        let q = format!("{f}{op} {}", vals.join(" or "));
        if let Ok(c) = compile(&q, &KqlOptions::default()) {
            for e in events() {
                let _ = c.matches(&e);
            }
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let q = format!("{}a:b{}", "(".repeat(5000), ")".repeat(5000));
    assert!(compile(&q, &KqlOptions::default()).is_err());
    let q = format!("{}a:b", "not ".repeat(5000));
    assert!(compile(&q, &KqlOptions::default()).is_err());
    let q = format!("a:{}b{}", "(".repeat(5000), ")".repeat(5000));
    assert!(compile(&q, &KqlOptions::default()).is_err());
    let q = format!("{}a:b{}", "a:{".repeat(5000), "}".repeat(5000));
    assert!(compile(&q, &KqlOptions::default()).is_err());
}

#[test]
fn long_flat_chains_compile_and_run() {
    for op in [" and ", " or "] {
        let q = vec!["process.name:x"; 20_000].join(op);
        let c = compile(&q, &KqlOptions::default()).expect("compiles");
        for e in events() {
            let _ = c.matches(&e);
        }
        let q = format!("process.name:({})", vec!["x"; 20_000].join(op));
        let c = compile(&q, &KqlOptions::default()).expect("compiles");
        for e in events() {
            let _ = c.matches(&e);
        }
    }
}

/// Hostile sizes (issue 14): deep nesting refused with an error, long
/// chains and value lists compiled in linear time, a long quoted value
/// read in linear time.
#[test]
fn hostile_sizes_are_bounded_or_linear() {
    let opts = KqlOptions::default();
    for q in [
        format!("{}a:1{}", "(".repeat(4000), ")".repeat(4000)),
        format!("{}a:1", "not ".repeat(5000)),
        format!("a:{}1{}", "(".repeat(4000), ")".repeat(4000)),
        "(".repeat(4000),
    ] {
        assert!(compile(&q, &opts).is_err(), "{}…", &q[..40]);
    }
    let ors = (0..5000)
        .map(|i| format!("a:{i}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let values = (0..20_000)
        .map(|i| format!("v{i}"))
        .collect::<Vec<_>>()
        .join(" or ");
    for q in [
        ors,
        format!("process.name:({values})"),
        format!("message:\"{}\"", "x".repeat(50_000)),
        format!("process.name:{}*", "x".repeat(50_000)),
    ] {
        let t = std::time::Instant::now();
        let r = compile(&q, &opts);
        assert!(r.is_ok(), "{}…", &q[..40]);
        assert!(
            t.elapsed().as_secs_f64() < 5.0,
            "{:?} {}…",
            t.elapsed(),
            &q[..40]
        );
    }
}

/// Lucene query strings (`language = "lucene"` rules), their own syntax.
fn lucene_token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "process.name:",
            "source.ip:",
            "destination.port:",
            "_exists_:",
            "message:",
            "process.args:",
            "x",
            "cmd.exe",
            "*",
            "?",
            "\\",
            "\\:",
            "\\ ",
            "\"",
            "\"a b\"",
            "\"a\\\"b\"",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            "TO",
            "[1 TO 5]",
            "{a TO *]",
            "[* TO 2024-01-01]",
            "AND",
            "OR",
            "NOT",
            "and",
            "&&",
            "||",
            "!",
            "+",
            "-",
            "~",
            "~2",
            "^3",
            "/",
            "/a.*b/",
            "/[/",
            "10.0.0.0/8",
            ">",
            ">=10",
            "<",
            "é",
            "\u{a0}",
        ])
        .prop_map(str::to_string),
        "[a-z*?]{1,5}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3000,
        // integration tests have no lib.rs for the default to place them by
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn lucene_arbitrary_text_never_panics(s in ".{0,120}") {
        let _ = quarry_kql::lucene::parse(&s);
        let _ = quarry_kql::compile_lucene(&s, &KqlOptions::default());
    }

    #[test]
    fn lucene_token_soup_never_panics(
        toks in prop::collection::vec(lucene_token(), 0..20),
        glue in prop::sample::select(vec![" ", ""]),
    ) {
        let q = toks.join(glue);
        if let Ok(c) = quarry_kql::compile_lucene(&q, &KqlOptions::default()) {
            for e in events() {
                let _ = c.query.matches(&e);
            }
        }
    }

    /// Kibana filters (`filters` of a rule) of any shape: read or refused,
    /// never a panic.
    #[test]
    fn rule_filters_of_any_shape_never_panic(
        kind in prop::sample::select(vec!["match_phrase", "match", "term", "terms", "range", "exists", "bool", "query_string", "wildcard", "nested", ""]),
        field in prop::sample::select(vec!["process.name", "destination.port", "", "*"]),
        value in prop_oneof![
            Just(serde_json::json!("x")),
            Just(serde_json::json!(1)),
            Just(serde_json::json!(null)),
            Just(serde_json::json!([])),
            Just(serde_json::json!(["a", 2])),
            Just(serde_json::json!({"gte": 1, "lt": "z"})),
            Just(serde_json::json!({"query": "a"})),
            Just(serde_json::json!({"must": [{"term": {"a": 1}}], "should": {}})),
        ],
        negate in proptest::option::of(proptest::bool::ANY),
        disabled in proptest::option::of(proptest::bool::ANY),
        query in prop::sample::select(vec!["process.name:x", "*", ""]),
    ) {
        let mut filter = serde_json::json!({ "query": { kind: { field: value.clone() } } });
        filter["meta"] = serde_json::json!({ "negate": negate, "disabled": disabled, "key": field, "params": value });
        for language in [quarry_kql::Language::Kuery, quarry_kql::Language::Lucene] {
            let filters = [filter.clone(), serde_json::json!({ kind: value.clone() })];
            if let Ok(c) = quarry_kql::compile_rule(query, language, &filters, &KqlOptions::default()) {
                for e in events() {
                    let _ = c.query.matches(&e);
                }
            }
        }
    }
}
