//! EVTX records read for a consumer that reads a few fields are built with
//! those fields alone (`Projection::keeps_projected`, `tested_on`). For the
//! fields it reads, such an event must hold exactly what the whole event
//! holds, whatever else it leaves out: mappings derive fields from others
//! (`related.ip` from the addresses, `dll.*` from an image load's `file.*`,
//! `process.args` from the command line), and a demand without the sources
//! must not change them. Checked on every record of `corpus/evtx`, with
//! demands that name derived fields alone and with every field the corpus
//! maps to, in groups.

use quarry_event::Event;
use quarry_read::Projection;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn shared() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

/// The fields of `ev` a consumer of `fields` and `prefixes` reads.
fn read_by(ev: &Event, fields: &BTreeSet<String>, prefixes: &[&str]) -> Vec<(String, String)> {
    ev.fields()
        .filter(|(k, _)| fields.contains(*k) || prefixes.iter().any(|p| k.starts_with(p)))
        .map(|(k, v)| (k.to_string(), format!("{v:?}")))
        .collect()
}

#[test]
#[ignore = "needs ../shared"]
fn records_built_for_a_demand_hold_what_the_whole_event_holds() {
    let inputs = [shared().join("corpus/evtx")];
    let (whole, summary) = quarry_read::scan(&inputs, Some);
    assert!(whole.len() > 20_000, "{} events", whole.len());
    // every field the corpus maps to, in 6 groups (each a demand lacking
    // most other fields), and demands of derived fields alone
    let names: BTreeSet<String> = whole
        .iter()
        .flat_map(|e| e.fields().map(|(k, _)| k.to_string()))
        .filter(|k| !k.starts_with("quarry."))
        .collect();
    let mut demands: Vec<(BTreeSet<String>, Vec<&str>)> = (0..6)
        .map(|g| {
            let group = names.iter().skip(g).step_by(6).cloned().collect();
            (group, Vec::new())
        })
        .collect();
    let alone = |fields: &[&str], prefixes: &[&'static str]| {
        (
            fields
                .iter()
                .map(|f| f.to_string())
                .collect::<BTreeSet<_>>(),
            prefixes.to_vec(),
        )
    };
    demands.push(alone(&["related.ip", "related.user", "related.hash"], &[]));
    demands.push(alone(&[], &["dll."]));
    demands.push(alone(&["network.community_id", "process.args"], &[]));
    demands.push(alone(
        &["dns.question.registered_domain", "user.target.group.name"],
        &[],
    ));
    demands.push(alone(&["event.category"], &["winlog.event_data."]));
    for (fields, prefixes) in &demands {
        let list: Vec<String> = fields.iter().cloned().collect();
        let projection = Projection::new(&list, prefixes, |_| true).keeps_projected();
        let (built, s) = quarry_read::scan_projected(&inputs, &projection, Some);
        assert_eq!(built.len(), whole.len());
        assert_eq!(
            s.unmapped, summary.unmapped,
            "the unmapped types are counted alike"
        );
        assert_eq!(s.bad_shapes, summary.bad_shapes);
        assert_eq!(s.events, summary.events);
        for (b, w) in built.iter().zip(&whole) {
            assert_eq!(b.origin, w.origin);
            assert_eq!(
                read_by(b, fields, prefixes),
                read_by(w, fields, prefixes),
                "{}, demand {fields:?} {prefixes:?}",
                w.origin
            );
            assert_eq!(b.timestamp, w.timestamp);
        }
        // what was left out was not built
        let extra = built
            .iter()
            .flat_map(|e| e.fields())
            .filter(|(k, _)| k.starts_with("winlog.event_data."))
            .count();
        if !prefixes.contains(&"winlog.event_data.") {
            assert!(
                fields.iter().any(|f| f.starts_with("winlog.event_data.")) || extra == 0,
                "{extra} event data fields built for {fields:?}"
            );
        }
    }
}

/// A projection's test reads only the fields it names: the events it
/// drops are not handed to `keep`, and those it takes come whole.
#[test]
#[ignore = "needs ../shared"]
fn a_search_tests_records_on_its_fields_and_keeps_them_whole() {
    let inputs = [shared().join("corpus/evtx")];
    let (whole, _) = quarry_read::scan(&inputs, |ev: Event| {
        ev.has_value("process.name", "cmd.exe").then_some(ev)
    });
    assert!(!whole.is_empty());
    let fields = vec!["process.name".to_string()];
    let projection = Projection::new(&fields, &[], |ev| ev.has_value("process.name", "cmd.exe"))
        .tested_on(&fields);
    let (kept, _) = quarry_read::scan_projected(&inputs, &projection, Some);
    assert_eq!(kept.len(), whole.len());
    for (k, w) in kept.iter().zip(&whole) {
        assert_eq!(format!("{:?}", k.to_json()), format!("{:?}", w.to_json()));
    }
}
