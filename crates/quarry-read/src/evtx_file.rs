//! EVTX files, through the `evtx` crate.
//!
//! Records are rendered to JSON and normalised inside the crate's chunk
//! pipeline, so both steps run on the worker threads. A corrupt chunk or
//! record is reported (file, chunk or record, reason) and skipped; every
//! readable record is kept.

use crate::{Problem, ReadSummary, Sink};
use evtx::{EvtxParser, ParserSettings};
use quarry_ecs::evtx_json;
use quarry_ecs::windows;
use quarry_event::{Event, Locator, Origin};
use std::path::Path;
use std::sync::Arc;

pub(crate) fn read_evtx_path<T: Send>(
    path: &Path,
    name: &str,
    many: bool,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    match EvtxParser::from_path(path) {
        Ok(parser) => read(parser, name, many, s, sink),
        Err(e) => {
            s.unreadable(name, format!("not a readable EVTX file: {e}"));
        }
    }
}

pub(crate) fn read_evtx_buffer<T: Send>(
    buf: Vec<u8>,
    name: &str,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    match EvtxParser::from_buffer(buf) {
        Ok(parser) => read(parser, name, true, s, sink),
        Err(e) => {
            s.unreadable(name, format!("not a readable EVTX file: {e}"));
        }
    }
}

fn read<R: std::io::Read + std::io::Seek + Send + 'static, T: Send>(
    parser: EvtxParser<R>,
    name: &str,
    many: bool,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    // One file among many: the files are already spread over the cores.
    let threads = if many { 1 } else { 0 };
    let settings = ParserSettings::new()
        .num_threads(threads)
        .separate_json_attributes(false);
    let mut parser = parser.with_configuration(settings);
    let file: Arc<str> = name.into();
    let f2 = file.clone();
    // A file named ForwardedEvents.evtx is the WEF collector's log, whose
    // records keep their own channel names.
    let forwarded = windows::is_forwarded_events_file(name);
    let records = parser.serialized_records(move |r| {
        let r = r?.into_json_bytes()?;
        Ok(to_event(&r.data, &f2, r.event_record_id, forwarded))
    });
    for r in records {
        match r {
            Ok(Ok(ev)) => {
                s.count("evtx", ev.get_str(quarry_ecs::UNMAPPED_TYPE));
                sink.push(ev);
            }
            Ok(Err(msg)) => s.problems.push(Problem {
                file: file.to_string(),
                location: String::new(),
                message: msg,
            }),
            Err(e) => s.problems.push(Problem {
                file: file.to_string(),
                location: String::new(),
                message: one_line(&e.to_string()),
            }),
        }
    }
}

/// Normalises one rendered record; a record that renders but does not
/// parse is reported like a corrupt one.
fn to_event(bytes: &[u8], file: &Arc<str>, rid: u64, forwarded: bool) -> Result<Event, String> {
    let mut rec = evtx_json::parse(bytes).map_err(|e| format!("record {rid}: {e}"))?;
    rec.forwarded |= forwarded;
    let locator = Locator::Record(rec.record_id.unwrap_or(rid));
    Ok(windows::normalize(
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
