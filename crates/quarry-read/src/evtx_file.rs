//! EVTX files, through the `evtx` crate.
//!
//! Records are rendered to JSON and normalised inside the crate's chunk
//! pipeline, so both steps run on the worker threads. A corrupt chunk or
//! record is reported (file, chunk or record, reason) and skipped; every
//! readable record is kept.

use crate::{Problem, ReadSummary};
use evtx::{EvtxParser, ParserSettings};
use quarry_ecs::json::from_evtx_json;
use quarry_ecs::windows;
use quarry_event::{Event, Locator, Origin};
use std::path::Path;
use std::sync::Arc;

pub(crate) fn read_evtx_path(
    path: &Path,
    name: &str,
    many: bool,
    s: &mut ReadSummary,
    sink: &mut dyn FnMut(Event),
) {
    match EvtxParser::from_path(path) {
        Ok(parser) => read(parser, name, many, s, sink),
        Err(e) => {
            s.unreadable += 1;
            s.problems.push(Problem {
                file: name.into(),
                location: String::new(),
                message: format!("not a readable EVTX file: {e}"),
            });
        }
    }
}

pub(crate) fn read_evtx_buffer(
    buf: Vec<u8>,
    name: &str,
    s: &mut ReadSummary,
    sink: &mut dyn FnMut(Event),
) {
    match EvtxParser::from_buffer(buf) {
        Ok(parser) => read(parser, name, true, s, sink),
        Err(e) => {
            s.unreadable += 1;
            s.problems.push(Problem {
                file: name.into(),
                location: String::new(),
                message: format!("not a readable EVTX file: {e}"),
            });
        }
    }
}

fn read<T: std::io::Read + std::io::Seek + Send + 'static>(
    parser: EvtxParser<T>,
    name: &str,
    many: bool,
    s: &mut ReadSummary,
    sink: &mut dyn FnMut(Event),
) {
    // One file among many: the files are already spread over the cores.
    let threads = if many { 1 } else { 0 };
    let settings = ParserSettings::new()
        .num_threads(threads)
        .separate_json_attributes(false);
    let mut parser = parser.with_configuration(settings);
    let file: Arc<str> = name.into();
    let f2 = file.clone();
    let records = parser.serialized_records(move |r| {
        let r = r?;
        let rid = r.event_record_id;
        let v = r.into_json_value()?;
        Ok(to_event(&v.data, &f2, rid))
    });
    for r in records {
        match r {
            Ok(Some(ev)) => {
                s.events += 1;
                *s.formats.entry("evtx".into()).or_default() += 1;
                sink(ev);
            }
            Ok(None) => {}
            Err(e) => s.problems.push(Problem {
                file: file.to_string(),
                location: String::new(),
                message: one_line(&e.to_string()),
            }),
        }
    }
}

fn to_event(v: &serde_json::Value, file: &Arc<str>, rid: u64) -> Option<Event> {
    let inner = v.get("Event")?;
    let rec = from_evtx_json(inner)?;
    let locator = Locator::Record(rec.record_id.unwrap_or(rid));
    Some(windows::normalize(
        &rec,
        Origin {
            file: file.clone(),
            locator,
        },
    ))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
