//! Plaso `psort -o json_line` rows.
//!
//! Plaso does not parse EVTX EventData into attributes: a
//! `windows:evtx:record` row carries the record as pretty-printed XML in
//! `xml_string` (and the EventData values, positionally, in `strings`). quarry
//! parses that XML into a [`WinRecord`] and maps it like any other Windows
//! record, so Plaso answers match the EVTX they came from. Each record
//! appears twice (creation and content-modification time); the row's
//! `dedupe_key` lets the reader keep one.

use crate::format::Format;
use crate::json::Normalized;
use crate::windows::{self, WinRecord};
use quarry_event::Str;
use quarry_event::{Event, Origin, parse_timestamp};
use quick_xml::events::Event as X;
use serde_json::Value as J;

pub fn normalize(doc: &J, origin: Origin, problems: &mut Vec<String>) -> Normalized {
    let is_evtx = doc.get("data_type").and_then(J::as_str) == Some("windows:evtx:record");
    if is_evtx && let Some(xml) = doc.get("xml_string").and_then(J::as_str) {
        match parse_event_xml(xml) {
            Ok(mut rec) => {
                if rec.computer.is_empty() {
                    rec.computer = doc
                        .get("hostname")
                        .and_then(J::as_str)
                        .unwrap_or_default()
                        .into();
                }
                let file = doc
                    .get("pathspec")
                    .and_then(|p| p.get("location"))
                    .and_then(J::as_str)
                    .or_else(|| doc.get("display_name").and_then(J::as_str))
                    .unwrap_or_default();
                let rid = rec
                    .record_id
                    .or_else(|| doc.get("record_number").and_then(J::as_u64))
                    .unwrap_or_default();
                let key = format!("{file}\u{0}{}\u{0}{}\u{0}{rid}", rec.computer, rec.channel);
                rec.forwarded |= crate::windows::is_forwarded_events_file(file);
                let mut event = windows::normalize(&rec, origin);
                event.set(
                    "plaso.display_name",
                    doc.get("display_name").and_then(J::as_str),
                );
                return Normalized {
                    event,
                    format: Format::PlasoEvtx,
                    dedupe_key: Some(key),
                };
            }
            Err(e) => problems.push(format!(
                "xml_string is not a readable event record ({e}); kept as a plain Plaso row"
            )),
        }
    }
    let mut event = Event::from_json(doc, origin);
    // Plaso's `timestamp` is microseconds since the epoch.
    if let Some(us) = doc.get("timestamp").and_then(J::as_i64)
        && let Some(ns) = us.checked_mul(1000)
    {
        event.set_timestamp(ns);
    }
    Normalized {
        event,
        format: Format::Plaso,
        dedupe_key: None,
    }
}

/// Why an `<Event>` XML document could not be read as a record.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    #[error("at byte {at}: {source}")]
    Syntax { at: u64, source: quick_xml::Error },
    #[error("unbalanced end tag")]
    UnbalancedEnd,
    #[error("EventID {0:?} is not a number")]
    EventIdNotANumber(String),
    #[error("no System/EventID")]
    NoEventId,
}

/// Parses a Windows `<Event>` XML document (as Windows, Plaso and `wevtutil`
/// render it) into a [`WinRecord`].
pub fn parse_event_xml(xml: &str) -> Result<WinRecord, XmlError> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut rec = WinRecord::default();
    let mut path: Vec<String> = Vec::new();
    let mut data_name: Option<String> = None;
    let mut text = String::new();
    let mut saw_event_id = false;
    loop {
        let ev = reader.read_event().map_err(|source| XmlError::Syntax {
            at: reader.buffer_position(),
            source,
        })?;
        match ev {
            X::Start(ref e) | X::Empty(ref e) => {
                let name = e.local_name().as_ref().to_string();
                let attr = |n: &str| -> Option<String> {
                    e.try_get_attribute(n).ok().flatten().and_then(|a| {
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .ok()
                            .map(|v| v.into_owned())
                    })
                };
                match name.as_str() {
                    "Provider" => {
                        rec.provider = attr("Name").unwrap_or_default().into();
                        rec.provider_guid = attr("Guid").map(Str::from);
                    }
                    "TimeCreated" => {
                        rec.time_created = attr("SystemTime").and_then(|t| parse_timestamp(&t))
                    }
                    "Execution" => {
                        rec.exec_pid = attr("ProcessID").and_then(|p| p.parse().ok());
                        rec.exec_tid = attr("ThreadID").and_then(|p| p.parse().ok());
                    }
                    "Security" => rec.user_sid = attr("UserID").map(Str::from),
                    "Data" => data_name = Some(attr("Name").unwrap_or_else(|| "Data".into())),
                    _ => {}
                }
                text.clear();
                if matches!(ev, X::Start(_)) {
                    path.push(name);
                } else if let Some(n) = data_name.take() {
                    rec.data.push((Str::from(n), Str::default()));
                }
            }
            X::Text(t) => text.push_str(&t),
            X::CData(t) => text.push_str(&t),
            X::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else {
                    text.push(match &*r {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        _ => '\u{FFFD}',
                    });
                }
            }
            X::End(_) => {
                let Some(name) = path.pop() else {
                    return Err(XmlError::UnbalancedEnd);
                };
                let in_system = path.last().map(String::as_str) == Some("System");
                let value = std::mem::take(&mut text);
                match name.as_str() {
                    "EventID" if in_system => {
                        rec.event_id = value
                            .trim()
                            .parse()
                            .map_err(|_| XmlError::EventIdNotANumber(value.clone()))?;
                        saw_event_id = true;
                    }
                    "Version" if in_system => rec.version = value.trim().parse().ok(),
                    "Level" if in_system => rec.level = Some(value.into()),
                    "Task" if in_system => rec.task = Some(value.into()),
                    "Opcode" if in_system => rec.opcode = Some(value.into()),
                    "Keywords" if in_system => rec.keywords = Some(value.into()),
                    "EventRecordID" if in_system => rec.record_id = value.trim().parse().ok(),
                    "Channel" if in_system => rec.channel = value.into(),
                    "Computer" if in_system => rec.computer = value.into(),
                    "Data" => {
                        if let Some(n) = data_name.take() {
                            rec.data.push((Str::from(n), Str::from(value)));
                        }
                    }
                    _ => {}
                }
            }
            X::Eof => break,
            _ => {}
        }
    }
    if !saw_event_id {
        return Err(XmlError::NoEventId);
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plaso_style_xml() {
        let xml = "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n  <System>\n    <Provider Name=\"Microsoft-Windows-Sysmon\" Guid=\"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}\"/>\n    <EventID>22</EventID>\n    <TimeCreated SystemTime=\"2021-12-04T21:19:10.617945Z\"/>\n    <EventRecordID>48607</EventRecordID>\n    <Channel>Microsoft-Windows-Sysmon/Operational</Channel>\n    <Computer>fs03vuln.offsec.lan</Computer>\n    <Security UserID=\"S-1-5-18\"/>\n  </System>\n  <EventData>\n    <Data Name=\"QueryName\">a&amp;b.example</Data>\n    <Data Name=\"RuleName\"/>\n    <Data Name=\"Image\">C:\\TOOLS\\PsExec64.exe</Data>\n  </EventData>\n</Event>";
        let rec = parse_event_xml(xml).unwrap();
        assert_eq!(rec.event_id, 22);
        assert_eq!(rec.record_id, Some(48607));
        assert_eq!(rec.computer, "fs03vuln.offsec.lan");
        assert_eq!(rec.get("QueryName"), Some("a&b.example"));
        assert_eq!(rec.get("Image"), Some("C:\\TOOLS\\PsExec64.exe"));
        assert_eq!(rec.get("RuleName"), None);
    }

    #[test]
    fn rejects_broken_xml_without_panicking() {
        for xml in [
            "",
            "<Event><System>",
            "<Event></System>",
            "<Event><System><EventID>x</EventID></System></Event>",
        ] {
            assert!(parse_event_xml(xml).is_err(), "{xml}");
        }
    }
}
