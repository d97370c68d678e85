//! Property tests: the record parsers never panic on arbitrary input, and
//! arbitrary JSON always normalises to an event.
//! (The crashes this found are kept as regression cases at the bottom.)

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use quarry_ecs::{evtx_json, json::normalize_json, plaso::parse_event_xml};
use quarry_event::Origin;

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(serde_json::Value::Number)
            .unwrap_or_default()),
        ".{0,20}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("22"),
            Just("0x1f"),
            Just("2021-12-04 21:19:10.604"),
            Just("{A-B}"),
            Just("type:  5 x;::ffff:1.2.3.4;"),
            Just("C:\\a\\b.exe")
        ]
        .prop_map(serde_json::Value::from),
    ];
    let keys = prop_oneof![
        Just("EventID".to_string()),
        Just("Channel".to_string()),
        Just("SourceName".to_string()),
        Just("Hostname".to_string()),
        Just("UtcTime".to_string()),
        Just("ProcessGuid".to_string()),
        Just("ProcessId".to_string()),
        Just("QueryName".to_string()),
        Just("QueryResults".to_string()),
        Just("Image".to_string()),
        Just("NewProcessId".to_string()),
        Just("CommandLine".to_string()),
        Just("winlog".to_string()),
        Just("event_id".to_string()),
        Just("event_data".to_string()),
        Just("Event".to_string()),
        Just("System".to_string()),
        Just("EventData".to_string()),
        Just("data_type".to_string()),
        Just("xml_string".to_string()),
        Just("__container_type__".to_string()),
        Just("hits".to_string()),
        Just("Hashes".to_string()),
        Just("User".to_string()),
        "[a-z.@#]{1,8}",
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..8)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        // integration tests have no lib.rs for the default to place them by
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_json_normalises_without_panic(doc in arb_json()) {
        let mut problems = Vec::new();
        let n = normalize_json(&doc, Origin::default(), &mut problems);
        let _ = n.event.to_json();
    }

    #[test]
    fn any_json_as_evtx_record_bytes(doc in arb_json()) {
        let _ = evtx_json::parse(doc.to_string().as_bytes());
        let wrapped = serde_json::json!({"Event": {"System": doc.clone(), "EventData": doc}});
        let _ = evtx_json::parse(wrapped.to_string().as_bytes());
    }

    #[test]
    fn arbitrary_bytes_as_evtx_record(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = evtx_json::parse(&bytes);
    }

    #[test]
    fn arbitrary_xml_never_panics(s in "(<|>|/|=|\"|&|;|#|x|[A-Za-z]|Event|System|EventID|Data|Name| ){0,80}") {
        let _ = parse_event_xml(&s);
    }

    /// The FDR fast path on hostile lines: never panics, and whatever it
    /// accepts the general path maps the same way.
    #[test]
    fn fdr_fast_path_on_arbitrary_lines(s in "(\"|\\\\|\\\"|:|,|\\{|\\}|\\[|aid|1|-|e|true|null| |x|\u{e9}){0,40}") {
        for line in [format!("{{\"event_simpleName\":\"X\",\"aid\":\"a\",{s}"), format!("{{\"event_simpleName\":\"X\",\"aid\":{s}}}")] {
            let fast = quarry_ecs::edr::crowdstrike::normalize_line(line.as_bytes(), Origin::default(), &mut Vec::new());
            if let Some(fast) = fast {
                let doc: serde_json::Value = serde_json::from_str(&line).expect("accepted lines are JSON");
                let slow = normalize_json(&doc, Origin::default(), &mut Vec::new());
                prop_assert_eq!(fast.event.to_json(), slow.event.to_json());
            }
        }
    }

    #[test]
    fn plaso_rows_with_arbitrary_xml(s in ".{0,200}") {
        let row = serde_json::json!({"__container_type__": "event", "data_type": "windows:evtx:record", "xml_string": s, "timestamp": 1});
        let _ = normalize_json(&row, Origin::default(), &mut Vec::new());
    }
}

#[test]
fn regression_cases() {
    // kept from fuzzing and review: each must simply not panic
    for doc in [
        serde_json::json!({"EventID": "x", "Channel": null}),
        serde_json::json!({"winlog": {"event_id": {"a": 1}}}),
        serde_json::json!({"Event": {"System": {"EventID": {"#text": [1, 2]}}}}),
        serde_json::json!({"hits": {"hits": [1, {"_source": 2}]}}),
        serde_json::json!({"EventID": 22, "Channel": "Microsoft-Windows-Sysmon/Operational", "QueryResults": "type:", "UtcTime": "9999-99-99"}),
    ] {
        let _ = normalize_json(&doc, Origin::default(), &mut Vec::new());
    }
}
