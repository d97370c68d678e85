//! Fast path for EVTX records rendered as JSON bytes by the `evtx` crate:
//! a typed, zero-copy parse of just the parts a [`WinRecord`] needs.
//! Building a generic `serde_json::Value` per record costs about eight
//! times the rendering itself (measured: `bench/RESULTS.md`).

use crate::windows::WinRecord;
use quarry_event::parse_timestamp;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::BTreeMap;

type Map<'a> = BTreeMap<Cow<'a, str>, &'a RawValue>;

#[derive(Deserialize)]
struct Root<'a> {
    #[serde(borrow, rename = "Event")]
    event: EventJ<'a>,
}

#[derive(Deserialize)]
struct EventJ<'a> {
    #[serde(borrow, rename = "System")]
    system: Map<'a>,
    #[serde(borrow, rename = "EventData", default)]
    event_data: Option<&'a RawValue>,
    #[serde(borrow, rename = "UserData", default)]
    user_data: Option<&'a RawValue>,
}

/// A JSON value as text: strings unescaped, numbers and booleans as
/// written, `{"#text": …}` unwrapped, arrays joined with spaces.
fn text(raw: &RawValue) -> Option<String> {
    let s = raw.get();
    match s.as_bytes().first()? {
        b'"' => serde_json::from_str::<Cow<'_, str>>(s)
            .ok()
            .map(Cow::into_owned),
        b'n' => None,
        b'{' | b'[' => serde_json::from_str::<serde_json::Value>(s)
            .ok()
            .and_then(|v| value_text(&v)),
        _ => Some(s.to_string()),
    }
}

fn value_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        serde_json::Value::Object(m) => m.get("#text").and_then(value_text),
        serde_json::Value::Array(a) => Some(
            a.iter()
                .filter_map(value_text)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        other => Some(other.to_string()),
    }
}

fn attrs<'a>(raw: Option<&&'a RawValue>) -> Map<'a> {
    #[derive(Deserialize)]
    struct A<'a> {
        #[serde(borrow, rename = "#attributes", default)]
        attributes: Map<'a>,
    }
    raw.and_then(|r| serde_json::from_str::<A<'a>>(r.get()).ok())
        .map(|a| a.attributes)
        .unwrap_or_default()
}

/// Parses the evtx crate's JSON rendering of one record.
pub fn parse(bytes: &[u8]) -> Result<WinRecord, String> {
    parse_with(bytes, true)
}

/// Like [`parse`], for a damaged record kept with what can be read: a
/// missing or non-numeric System/EventID becomes 0 instead of an error.
pub fn parse_lenient(bytes: &[u8]) -> Result<WinRecord, String> {
    parse_with(bytes, false)
}

fn parse_with(bytes: &[u8], need_event_id: bool) -> Result<WinRecord, String> {
    let root: Root<'_> = serde_json::from_slice(bytes).map_err(|e| format!("record JSON: {e}"))?;
    let sys = &root.event.system;
    let get = |k: &str| sys.get(k).and_then(|r| text(r));
    let event_id = match get("EventID").and_then(|e| e.trim().parse().ok()) {
        Some(id) => id,
        None if need_event_id => return Err("record has no numeric System/EventID".into()),
        None => 0,
    };
    let provider = attrs(sys.get("Provider"));
    let time = attrs(sys.get("TimeCreated"));
    let exec = attrs(sys.get("Execution"));
    let sec = attrs(sys.get("Security"));
    let a = |m: &Map<'_>, k: &str| m.get(k).and_then(|r| text(r));
    let mut rec = WinRecord {
        provider: a(&provider, "Name").unwrap_or_default(),
        provider_guid: a(&provider, "Guid").map(|g| crate::json::brace(&g)),
        channel: get("Channel").unwrap_or_default(),
        event_id,
        version: get("Version").and_then(|v| v.parse().ok()),
        level: get("Level"),
        task: get("Task"),
        opcode: get("Opcode"),
        keywords: get("Keywords"),
        computer: get("Computer").unwrap_or_default(),
        record_id: get("EventRecordID").and_then(|r| r.parse().ok()),
        time_created: a(&time, "SystemTime").and_then(|t| parse_timestamp(&t)),
        user_sid: a(&sec, "UserID"),
        exec_pid: a(&exec, "ProcessID").and_then(|p| p.parse().ok()),
        exec_tid: a(&exec, "ThreadID").and_then(|p| p.parse().ok()),
        data: Vec::new(),
        user_name: None,
        forwarded: false,
    };
    if let Some(ed) = root.event.event_data {
        if let Ok(map) = serde_json::from_str::<Map<'_>>(ed.get()) {
            for (k, v) in map {
                if k == "#attributes" {
                    continue;
                }
                if let Some(t) = text(v) {
                    let t = if k == "Data" {
                        t
                    } else {
                        crate::json::guid_braces(&k, t)
                    };
                    rec.data.push((k.into_owned(), t));
                }
            }
        }
    } else if let Some(ud) = root.event.user_data {
        // UserData wraps its fields in one provider-specific element.
        if let Ok(outer) = serde_json::from_str::<Map<'_>>(ud.get()) {
            for inner in outer.values() {
                if let Ok(fields) = serde_json::from_str::<Map<'_>>(inner.get()) {
                    for (k, v) in fields {
                        if k != "#attributes"
                            && let Some(t) = text(v)
                        {
                            rec.data.push((k.into_owned(), t));
                        }
                    }
                }
            }
        }
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_generic_path() {
        let doc = serde_json::json!({"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"5770385F-C22A-43E0-BF4C-06F5698FFBD9"}},"EventID":22,"Version":5,"Level":4,"Task":22,"Opcode":0,"Keywords":"0x8000000000000000","TimeCreated":{"#attributes":{"SystemTime":"2021-12-04T21:19:10.617945Z"}},"EventRecordID":48607,"Correlation":null,"Execution":{"#attributes":{"ProcessID":3128,"ThreadID":4164}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"fs03vuln.offsec.lan","Security":{"#attributes":{"UserID":"S-1-5-18"}}},"EventData":{"RuleName":"-","UtcTime":"2021-12-04 21:19:10.604","ProcessGuid":"A57649D1-DB54-61AB-775C-DC0100000000","ProcessId":2124,"QueryName":"fs\"03","QueryStatus":"0","QueryResults":null,"Image":"C:\\TOOLS\\PsExec64.exe"}}});
        let mut fast = parse(doc.to_string().as_bytes()).unwrap();
        let mut slow = crate::json::from_evtx_json(&doc["Event"]).unwrap();
        // key order depends on serde_json's preserve_order feature
        fast.data.sort();
        slow.data.sort();
        assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
        assert_eq!(fast.get("QueryName"), Some("fs\"03"));
        assert_eq!(
            fast.get("ProcessGuid"),
            Some("{A57649D1-DB54-61AB-775C-DC0100000000}")
        );
    }

    #[test]
    fn bad_bytes_are_errors() {
        assert!(parse(b"").is_err());
        assert!(parse(b"{\"Event\":{\"System\":{}}}").is_err());
        assert!(parse(b"\xff\xfe").is_err());
    }
}
