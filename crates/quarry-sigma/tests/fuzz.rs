//! Property tests (issue 14): Sigma rule files of any text, and rules
//! shaped like Sigma's grammar with random selections, modifiers, values
//! and conditions, are parsed, compiled and evaluated without a panic:
//! whatever is wrong is an error.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use quarry_event::Event;
use std::path::Path;

fn field() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec![
        "Image",
        "ParentImage",
        "CommandLine",
        "EventID",
        "TargetObject",
        "Details",
        "QueryName",
        "DestinationPort",
        "User",
        "a.b",
    ]);
    let name = prop_oneof![16 => name, 1 => prop::sample::select(vec!["", "|", "x|"])];
    let modifiers = prop::collection::vec(
        prop::sample::select(vec![
            "contains",
            "startswith",
            "endswith",
            "all",
            "re",
            "i",
            "m",
            "s",
            "base64",
            "base64offset",
            "wide",
            "utf16le",
            "windash",
            "cidr",
            "gt",
            "lte",
            "exists",
            "cased",
            "fieldref",
            "expand",
            "nope",
            "",
        ]),
        0..3,
    );
    let modifiers = prop_oneof![
        3 => Just(Vec::new()),
        3 => prop::sample::select(vec!["contains", "startswith", "endswith", "re", "contains|all", "cidr", "gt", "windash"]).prop_map(|m| vec![m]),
        1 => modifiers,
    ];
    (name, modifiers).prop_map(|(n, m)| {
        let mut f = n.to_string();
        for m in m {
            f.push('|');
            f.push_str(m);
        }
        f
    })
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "'\\\\cmd.exe'",
            "'*\\\\powershell.exe'",
            "'a*b?c'",
            "'\\*'",
            "'x\\\\'",
            "1",
            "-5",
            "1e400",
            "null",
            "true",
            "''",
            "'10.0.0.0/8'",
            "'::/0'",
            "'(a|b'",
            "'.*'",
            "'%var%'",
            "'é\u{202e}'",
        ])
        .prop_map(str::to_string),
        3 => "'[a-z*?\\\\]{0,6}'",
        1 => prop::sample::select(vec!["[]", "{}", "['a', 1, null]"]).prop_map(str::to_string),
    ]
}

fn condition_token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "selection",
            "sel1",
            "sel2",
            "filter",
            "keywords",
            "sel*",
            "*",
            "them",
            "1 of",
            "all of",
            "any of",
            "and",
            "or",
            "not",
            "(",
            ")",
            "|",
            "count() > 1",
            "near",
            "by",
            "",
            "1",
            "of",
        ])
        .prop_map(str::to_string),
        "[a-z_*]{1,6}",
    ]
}

/// A condition over the selections `sel1`..`sel3`, as Sigma writes
/// them: names, `not`, `and`/`or`, parentheses, `1 of sel*`, `all of
/// them`; now and then token soup.
fn condition() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec![
        "sel1",
        "sel2",
        "sel3",
        "1 of sel*",
        "all of sel*",
        "1 of them",
        "all of them",
        "any of sel*",
    ])
    .prop_map(str::to_string);
    let tree = leaf.prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| format!("not {c}")),
            inner.clone().prop_map(|c| format!("({c})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("{a} or {b}")),
        ]
    });
    prop_oneof![
        4 => tree,
        1 => prop::collection::vec(condition_token(), 0..10).prop_map(|t| t.join(" ")),
    ]
}

/// A selection: a map of fields (with modifiers) to values or lists, a
/// list of such maps, or a list of keywords.
fn selection() -> impl Strategy<Value = String> {
    let valued = prop_oneof![
        3 => value(),
        1 => prop::collection::vec(value(), 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
    ];
    prop_oneof![
        4 => prop::collection::vec((field(), valued), 1..4).prop_map(|kv| {
            let body: Vec<String> = kv.into_iter().map(|(k, v)| format!("'{k}': {v}")).collect();
            format!("{{{}}}", body.join(", "))
        }),
        1 => prop::collection::vec(value(), 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
        1 => prop::collection::vec((field(), value()), 1..3).prop_map(|kv| {
            let maps: Vec<String> = kv.into_iter().map(|(k, v)| format!("{{'{k}': {v}}}")).collect();
            format!("[{}]", maps.join(", "))
        }),
    ]
}

/// One rule's YAML: a log source, selections `sel1`..`sel3`, a condition
/// (or a list of them), and at times a timeframe.
fn rule() -> impl Strategy<Value = String> {
    let logsource = prop_oneof![
        12 => prop::sample::select(vec![
            "{product: windows, category: process_creation}",
            "{product: windows, service: security}",
            "{product: windows, service: sysmon}",
            "{product: windows, category: registry_set}",
            "{category: dns}",
        ]),
        1 => prop::sample::select(vec!["{product: linux}", "{}", "[]", "x"]),
    ];
    let condition = prop_oneof![
        4 => condition().prop_map(|c| format!("'{c}'")),
        1 => (condition(), condition()).prop_map(|(a, b)| format!("['{a}', '{b}']")),
    ];
    let level = prop::sample::select(vec!["low", "high", "critical", "x", "[]"]);
    let timeframe = prop::option::of(prop::sample::select(vec!["5m", "1h", "0s", "x", "-1d"]));
    let selections = prop_oneof![4 => prop::collection::vec(selection(), 3..4), 1 => prop::collection::vec(selection(), 0..3)];
    (logsource, selections, condition, level, timeframe).prop_map(
        |(ls, sels, cond, level, timeframe)| {
            let mut y = format!("title: fuzzed\nid: 5a1f6f2e-0000-4000-8000-000000000000\nlevel: {level}\nlogsource: {ls}\ndetection:\n");
            for (i, sel) in sels.into_iter().enumerate() {
                y.push_str(&format!("    sel{}: {sel}\n", i + 1));
            }
            y.push_str(&format!("    condition: {cond}\n"));
            if let Some(t) = timeframe {
                y.push_str(&format!("    timeframe: {t}\n"));
            }
            y
        },
    )
}

fn events() -> Vec<Event> {
    let mut e = Event::default();
    e.set("winlog.channel", "Microsoft-Windows-Sysmon/Operational");
    e.set("winlog.event_id", "1");
    e.set("event.category", vec!["process"]);
    e.set("process.executable", r"C:\Windows\System32\cmd.exe");
    e.set("process.command_line", "cmd /c whoami");
    e.set("winlog.event_data.Image", r"C:\Windows\System32\cmd.exe");
    e.set("destination.port", 443i64);
    vec![e, Event::default()]
}

fn load_compile_run(text: &str) {
    for rule in quarry_sigma::load_str(Path::new("fuzz.yml"), text)
        .into_iter()
        .flatten()
    {
        let _ = rule.severity();
        let _ = rule.attack_techniques();
        if let Ok(c) = quarry_sigma::compile(&rule) {
            for e in events() {
                let _ = c.query.matches(&e);
            }
        }
        let _ = quarry_sigma::correlation::Correlation::compile(&rule);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        // integration tests have no lib.rs for the default to place them by
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,200}") {
        load_compile_run(&s);
    }

    #[test]
    fn grammar_shaped_rules_never_panic(r in rule()) {
        load_compile_run(&r);
    }

    #[test]
    fn conditions_of_token_soup_never_panic(toks in prop::collection::vec(condition_token(), 0..16)) {
        let _ = quarry_sigma::condition::parse(&toks.join(" "));
    }

    /// Several documents in one file, some of them correlations.
    #[test]
    fn multi_document_files_never_panic(rules in prop::collection::vec(rule(), 1..4), corr in prop::sample::select(vec![
        "title: c\ncorrelation:\n    type: event_count\n    rules: [fuzzed]\n    group-by: [User]\n    timespan: 5m\n    condition: {gte: 2}\n",
        "title: c\ncorrelation:\n    type: temporal\n    rules: []\n    timespan: x\n",
        "title: c\ncorrelation: []\n",
        "",
    ])) {
        let mut text = rules.join("---\n");
        text.push_str("---\n");
        text.push_str(corr);
        load_compile_run(&text);
    }
}

/// The grammar is not vacuous: a fair share of its rules load and compile,
/// so the properties above reach the compiler and the evaluator.
#[test]
fn the_grammar_makes_rules_that_compile() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut compiled = 0;
    for _ in 0..500 {
        let text = rule().new_tree(&mut runner).unwrap().current();
        let rules = quarry_sigma::load_str(Path::new("fuzz.yml"), &text);
        if rules
            .into_iter()
            .flatten()
            .any(|r| quarry_sigma::compile(&r).is_ok())
        {
            compiled += 1;
        }
    }
    assert!(compiled >= 25, "{compiled} of 500 compile");
}
