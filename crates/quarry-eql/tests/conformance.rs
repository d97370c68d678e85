//! Elasticsearch's EQL conformance suites (`../shared/eql/*.toml`): every
//! query runs against its data with the suite's mapping, tiebreaker and id
//! field, and the ids must come back in order (a list of lists means any of
//! those alternatives). Prints the pass count per file.

use quarry_eql::{Hit, Mapping, Options, compile};
use quarry_event::{Event, Origin};
use std::path::PathBuf;

fn shared() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

/// Reads a suite data file: a JSON array, possibly with `//` comment lines.
fn load_events(files: &[&str]) -> Vec<Event> {
    let mut out = Vec::new();
    for f in files {
        let path = shared().join("eql/data").join(f);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let cleaned: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let docs: Vec<serde_json::Value> =
            serde_json::from_str(&cleaned).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for d in docs {
            // Elasticsearch treats dotted keys and nested objects alike;
            // Event::from_json flattens both to the same paths.
            out.push(Event::from_json(&d, Origin::default()));
        }
    }
    out
}

fn load_mapping(files: &[&str]) -> Mapping {
    let mut m = Mapping::default();
    for f in files {
        let path = shared().join("eql/data").join(f);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let one = Mapping::from_text(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        m.merge(one);
    }
    m
}

struct Suite {
    file: &'static str,
    data: &'static [&'static str],
    mappings: &'static [&'static str],
    tiebreaker: Option<&'static str>,
    id: &'static str,
}

const SUITES: &[Suite] = &[
    Suite {
        file: "test_queries.toml",
        data: &["endgame-140.derived-with-@timestamp.json"],
        mappings: &["endgame-140.mapping"],
        tiebreaker: Some("serial_event_id"),
        id: "serial_event_id",
    },
    Suite {
        file: "additional_test_queries.toml",
        data: &["endgame-140.derived-with-@timestamp.json"],
        mappings: &["endgame-140.mapping"],
        tiebreaker: Some("serial_event_id"),
        id: "serial_event_id",
    },
    Suite {
        file: "test_queries_date.toml",
        data: &["endgame-140.derived-with-@timestamp.json"],
        mappings: &["endgame-140.mapping"],
        tiebreaker: Some("serial_event_id"),
        id: "serial_event_id",
    },
    Suite {
        file: "test_extra.toml",
        data: &["extra.data"],
        mappings: &["extra.mapping"],
        tiebreaker: Some("sequence"),
        id: "sequence",
    },
    Suite {
        file: "test_missing_events.toml",
        data: &["missing-events.data"],
        mappings: &["extra.mapping"],
        tiebreaker: Some("sequence"),
        id: "sequence",
    },
    Suite {
        file: "test_sample.toml",
        data: &["sample1.data", "sample2.data", "sample3.data"],
        mappings: &["sample1.mapping", "sample2.mapping", "sample3.mapping"],
        tiebreaker: None,
        id: "id",
    },
];

fn id_of(ev: &Event, field: &str) -> i64 {
    ev.get_i64(field).unwrap_or(i64::MIN)
}

fn ids(hits: &[Hit], field: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for h in hits {
        match h {
            Hit::Event(e) => out.push(id_of(e, field)),
            Hit::Sequence { events, .. } => out.extend(
                events
                    .iter()
                    .map(|e| e.as_ref().map_or(-1, |e| id_of(e, field))),
            ),
            Hit::Sample { events, .. } => out.extend(events.iter().map(|e| id_of(e, field))),
        }
    }
    out
}

/// `join_keys = [null]` is not TOML: quote the nulls, as the upstream tools do.
fn toml_text(raw: &str) -> String {
    raw.lines()
        .map(|l| {
            if l.trim_start().starts_with("join_keys") {
                l.replace("\"null\"", "null").replace("null", "\"null\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
#[ignore = "needs ../shared"]
fn elasticsearch_eql_suites() {
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for suite in SUITES {
        let path = shared().join("eql").join(suite.file);
        let raw =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: toml::Value =
            toml::from_str(&toml_text(&raw)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let events = load_events(suite.data);
        let mapping = load_mapping(suite.mappings);
        let queries = doc
            .get("queries")
            .and_then(|q| q.as_array())
            .cloned()
            .unwrap_or_default();
        let (mut pass, total) = (0, queries.len());
        for q in &queries {
            let name = q.get("name").and_then(|v| v.as_str()).unwrap_or("?");
            let query = q.get("query").and_then(|v| v.as_str()).unwrap_or_default();
            let to_ids = |v: &toml::Value| -> Vec<i64> {
                v.as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_integer()).collect())
                    .unwrap_or_default()
            };
            let expected = q
                .get("expected_event_ids")
                .cloned()
                .unwrap_or(toml::Value::Array(vec![]));
            let alternatives: Vec<Vec<i64>> = match expected.as_array() {
                Some(a) if a.first().is_some_and(|x| x.is_array()) => {
                    a.iter().map(to_ids).collect()
                }
                _ => vec![to_ids(&expected)],
            };
            let opts = Options {
                tiebreaker: suite.tiebreaker.map(str::to_string),
                size: q
                    .get("size")
                    .and_then(|s| s.as_integer())
                    .map(|s| s as usize),
                max_samples_per_key: q
                    .get("max_samples_per_key")
                    .and_then(|s| s.as_integer())
                    .unwrap_or(1) as usize,
                mapping: Some(mapping.clone()),
                ..Options::default()
            };
            match compile(query, &opts) {
                Ok(compiled) => {
                    let got = ids(&compiled.run(events.clone()), suite.id);
                    if alternatives.contains(&got) {
                        pass += 1;
                    } else {
                        failures.push(format!(
                            "{}::{name}: expected {:?}, got {got:?}\n    {}",
                            suite.file,
                            alternatives,
                            query.trim().replace('\n', " ")
                        ));
                    }
                }
                Err(e) => failures.push(format!("{}::{name}: does not compile:\n{e}", suite.file)),
            }
        }
        report.push(format!("{}: {pass}/{total} pass", suite.file));
    }
    println!("{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "{}\n\n{} failing:\n{}",
        report.join("\n"),
        failures.len(),
        failures.join("\n")
    );
}
