//! Property tests: compiling arbitrary text or token soup never panics, and
//! evaluation of whatever compiles never panics. Crashes found are kept as
//! regression cases at the bottom.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use quarry_eql::{Options, compile};
use quarry_event::Event;

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("process".to_string()),
        Just("where".to_string()),
        Just("any".to_string()),
        Just("sequence".to_string()),
        Just("sample".to_string()),
        Just("by".to_string()),
        Just("with".to_string()),
        Just("maxspan=1s".to_string()),
        Just("runs=2".to_string()),
        Just("until".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("![".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("and".to_string()),
        Just("or".to_string()),
        Just("not".to_string()),
        Just(":".to_string()),
        Just("==".to_string()),
        Just("!=".to_string()),
        Just("<".to_string()),
        Just(">=".to_string()),
        Just("in".to_string()),
        Just("in~".to_string()),
        Just("like~".to_string()),
        Just("regex".to_string()),
        Just(",".to_string()),
        Just("|".to_string()),
        Just("head".to_string()),
        Just("tail".to_string()),
        Just("1".to_string()),
        Just("-2.5".to_string()),
        Just("\"a*b?\"".to_string()),
        Just("\"\"\"raw\\\"\"\"".to_string()),
        Just("?a.b".to_string()),
        Just("`x y`".to_string()),
        Just("a.b".to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("+".to_string()),
        Just("/".to_string()),
        Just("%".to_string()),
        Just("between(".to_string()),
        Just("substring(".to_string()),
        Just("indexOf~(".to_string()),
        Just("cidrMatch(".to_string()),
        Just("number(".to_string()),
        Just("concat(".to_string()),
        Just("\"\\u{1F600}\"".to_string()),
        Just("/*".to_string()),
        Just("*/".to_string()),
        Just("//".to_string()),
        "[a-z]{1,4}",
    ]
}

fn event() -> Event {
    let mut e = Event::default();
    e.set("event.category", vec!["process"]);
    e.set("a.b", vec!["x", "10.0.0.1"]);
    e.set("@timestamp", 5i64);
    e
}

fn arg() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a.b".to_string()),
        Just("?missing".to_string()),
        Just("null".to_string()),
        Just("\"\"".to_string()),
        Just("\"--9223372036854775808\"".to_string()),
        Just("\"0x\"".to_string()),
        Just("9223372036854775807".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("1e308".to_string()),
        Just("true".to_string()),
        Just("\"10.0.0.0/8\"".to_string()),
        Just("\"::/0\"".to_string()),
        "-?[0-9]{1,3}",
        "\"[a-zé*?]{0,4}\"",
    ]
}

fn function() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "add",
        "between",
        "cidrMatch",
        "concat",
        "divide",
        "endsWith",
        "endsWith~",
        "indexOf",
        "indexOf~",
        "length",
        "modulo",
        "multiply",
        "number",
        "startsWith",
        "string",
        "stringContains~",
        "substring",
        "subtract",
    ])
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
        let _ = compile(&s, &Options::default());
    }

    #[test]
    fn token_soup_never_panics(toks in prop::collection::vec(token(), 0..24)) {
        let q = toks.join(" ");
        if let Ok(c) = compile(&q, &Options::default()) {
            let _ = c.run(vec![event(), event()]);
            let _ = c.matches(&event());
        }
    }

    #[test]
    fn well_formed_prefix_with_random_condition(toks in prop::collection::vec(token(), 1..12)) {
        let q = format!("process where {}", toks.join(" "));
        if let Ok(c) = compile(&q, &Options::default()) {
            let _ = c.run(vec![event()]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3000,
        // integration tests have no lib.rs for the default to place them by
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    /// Well-formed function calls with extreme arguments: whatever compiles
    /// evaluates without panicking.
    #[test]
    fn functions_with_extreme_arguments_never_panic(
        f in function(),
        args in prop::collection::vec(arg(), 1..5),
        rhs in arg(),
        op in prop::sample::select(vec!["==", "!=", "<", ":", "+ 1 ==", "% -1 ==", "/ 0 =="]),
    ) {
        let q = format!("any where {f}({}) {op} {rhs}", args.join(", "));
        if let Ok(c) = compile(&q, &Options::default()) {
            let _ = c.run(vec![event()]);
            let _ = c.matches(&event());
        }
    }
}

#[test]
fn regression_cases() {
    for q in [
        "process where substring(a.b, -100, 100) == \"x\"",
        "process where indexOf(a.b, \"\", 99) == null",
        "process where number(\"0x\", 16) == null",
        "process where 9223372036854775807 + 1 == null",
        "process where -9223372036854775808 / -1 == null",
        "process where between(a.b, \"\u{e9}\", \"x\") == \"\"",
        "sequence with maxspan=9223372036854775807d [process where true] [process where true]",
        "process where \"\\u{110000}\" == \"\"",
        "process where number(\"--9223372036854775808\", 10) == null",
    ] {
        if let Ok(c) = compile(q, &Options::default()) {
            let _ = c.run(vec![event()]);
        }
    }
}

/// Hostile sizes (issue 14): deep nesting is refused with a positioned
/// error, not a stack overflow; long chains, lists and literals compile in
/// linear time and evaluate.
#[test]
fn hostile_sizes_are_bounded_or_linear() {
    let opts = Options::default();
    let timed = |q: &str| {
        let t = std::time::Instant::now();
        let r = compile(q, &opts);
        (r, t.elapsed())
    };
    // 4,000 parentheses, `not` × 5,000, 5,000 nested calls, 4,000
    // unbalanced `(`, 5,000 signs: refused, each with its position
    for q in [
        format!("any where {}true{}", "(".repeat(4000), ")".repeat(4000)),
        format!("any where {}true", "not ".repeat(5000)),
        format!("any where {}a{}", "length(".repeat(5000), ")".repeat(5000)),
        format!("any where {}", "(".repeat(4000)),
        format!("any where a == {}1", "-".repeat(5000)),
    ] {
        let (r, _) = timed(&q);
        let e = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.contains("nested more than 100 deep"),
            "{}",
            &e[..e.len().min(300)]
        );
    }
    // 99 levels still compile
    let ok = format!("any where {}a == 1{}", "(".repeat(99), ")".repeat(99));
    assert!(compile(&ok, &opts).is_ok());
    // a 5,000-term `or` chain, a 20,000-item `:` list, 5,000 `and`s
    let mut ev = event();
    ev.set("a", 4999i64);
    ev.set("s", "x".repeat(50_000).as_str());
    let ors = (0..5000)
        .map(|i| format!("a == {i}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let list = (0..20_000)
        .map(|i| format!("\"v{i}\""))
        .collect::<Vec<_>>()
        .join(",");
    let ands = (0..5000).map(|_| "a > 0").collect::<Vec<_>>().join(" and ");
    for (q, hit) in [
        (format!("any where {ors}"), true),
        (format!("any where s : ({list})"), false),
        (format!("any where {ands}"), true),
        (format!("any where s == \"{}\"", "x".repeat(50_000)), true),
        (format!("any where s : \"{}*\"", "x".repeat(100_000)), false),
    ] {
        let (r, took) = timed(&q);
        let query = r.unwrap_or_else(|e| panic!("{e}"));
        assert!(took.as_secs_f64() < 5.0, "{took:?} for {}…", &q[..60]);
        assert_eq!(query.matches(&ev), hit, "{}…", &q[..60]);
        // the literals a hunt would search for stay short
        for l in query.required_literals().iter().flatten() {
            assert!(l.len() <= 64);
        }
    }
}
