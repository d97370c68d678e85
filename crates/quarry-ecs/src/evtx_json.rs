//! Fast path for EVTX records rendered as JSON bytes by the `evtx` crate:
//! a typed parse of just the parts a [`WinRecord`] needs.
//! Building a generic `serde_json::Value` per record costs about eight
//! times the rendering itself (measured: `bench/RESULTS.md`).
//!
//! [`parse`] first walks the record once ([`one_pass`]): each value it
//! keeps is decoded where it lies, with no map built and nothing parsed
//! twice. Anything that walk does not take exactly as the general parse
//! would (a repeated key, a float, an element of an unexpected shape) sends
//! the record to the general parse ([`parse_with`]), which decides what the
//! record yields (or why it is damaged), as it always has.

use crate::windows::WinRecord;
use quarry_event::Str;
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

/// Why the evtx crate's JSON of a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("record JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("record has no numeric System/EventID")]
    NoEventId,
}

/// Parses the evtx crate's JSON rendering of one record.
pub fn parse(bytes: &[u8]) -> Result<WinRecord, RecordError> {
    match one_pass::parse(bytes) {
        Some(rec) => Ok(rec),
        None => parse_with(bytes, true),
    }
}

/// Like [`parse`], for a damaged record kept with what can be read: a
/// missing or non-numeric System/EventID becomes 0 instead of an error.
pub fn parse_lenient(bytes: &[u8]) -> Result<WinRecord, RecordError> {
    parse_with(bytes, false)
}

fn parse_with(bytes: &[u8], need_event_id: bool) -> Result<WinRecord, RecordError> {
    let root: Root<'_> = serde_json::from_slice(bytes)?;
    let sys = &root.event.system;
    let get = |k: &str| sys.get(k).and_then(|r| text(r)).map(Str::from);
    let provider = attrs(sys.get("Provider"));
    let time = attrs(sys.get("TimeCreated"));
    let exec = attrs(sys.get("Execution"));
    let sec = attrs(sys.get("Security"));
    let a = |m: &Map<'_>, k: &str| m.get(k).and_then(|r| text(r)).map(Str::from);
    let mut parts = Parts {
        event_id: get("EventID"),
        version: get("Version"),
        level: get("Level"),
        task: get("Task"),
        opcode: get("Opcode"),
        keywords: get("Keywords"),
        computer: get("Computer"),
        channel: get("Channel"),
        record_id: get("EventRecordID"),
        provider_name: a(&provider, "Name"),
        provider_guid: a(&provider, "Guid"),
        system_time: a(&time, "SystemTime"),
        process_id: a(&exec, "ProcessID"),
        thread_id: a(&exec, "ThreadID"),
        user_id: a(&sec, "UserID"),
    };
    let numeric_id = parts
        .event_id
        .as_deref()
        .is_some_and(|e| e.trim().parse::<u32>().is_ok());
    if !numeric_id {
        if need_event_id {
            return Err(RecordError::NoEventId);
        }
        parts.event_id = Some("0".into());
    }
    let mut rec = parts.into_record().ok_or(RecordError::NoEventId)?;
    if let Some(ed) = root.event.event_data {
        if let Ok(map) = serde_json::from_str::<Map<'_>>(ed.get()) {
            // the map is sorted and holds each key once already
            rec.data = event_data(
                map.into_iter()
                    .filter(|(k, _)| k != "#attributes")
                    .map(|(k, v)| (Str::from(k.as_ref()), text(v).map(Str::from)))
                    .collect(),
            );
        }
    } else if let Some(ud) = root.event.user_data {
        user_data(ud, &mut rec);
    }
    Ok(rec)
}

/// UserData wraps its fields in one provider-specific element.
fn user_data(ud: &RawValue, rec: &mut WinRecord) {
    if let Ok(outer) = serde_json::from_str::<Map<'_>>(ud.get()) {
        for inner in outer.values() {
            if let Ok(fields) = serde_json::from_str::<Map<'_>>(inner.get()) {
                for (k, v) in fields {
                    if k != "#attributes"
                        && let Some(t) = text(v)
                    {
                        rec.data.push((Str::from(k.as_ref()), Str::from(t)));
                    }
                }
            }
        }
    }
}

/// A record's System values as the text its JSON rendering holds: what
/// the JSON walk and the BinXML decoder (`quarry_read`'s) both read before
/// [`Parts::into_record`] makes the [`WinRecord`], so the two agree.
#[derive(Debug, Default)]
pub struct Parts {
    pub event_id: Option<Str>,
    pub version: Option<Str>,
    pub level: Option<Str>,
    pub task: Option<Str>,
    pub opcode: Option<Str>,
    pub keywords: Option<Str>,
    pub computer: Option<Str>,
    pub channel: Option<Str>,
    pub record_id: Option<Str>,
    /// `Provider/@Name`, `Provider/@Guid`.
    pub provider_name: Option<Str>,
    pub provider_guid: Option<Str>,
    /// `TimeCreated/@SystemTime`.
    pub system_time: Option<Str>,
    /// `Execution/@ProcessID`, `Execution/@ThreadID`.
    pub process_id: Option<Str>,
    pub thread_id: Option<Str>,
    /// `Security/@UserID`.
    pub user_id: Option<Str>,
}

impl Parts {
    /// The record, without its data; `None` without a numeric EventID.
    pub fn into_record(self) -> Option<WinRecord> {
        Some(WinRecord {
            event_id: self.event_id?.trim().parse().ok()?,
            provider: self.provider_name.unwrap_or_default(),
            provider_guid: self.provider_guid.map(|g| crate::json::brace(&g).into()),
            channel: self.channel.unwrap_or_default(),
            version: self.version.and_then(|v| v.parse().ok()),
            level: self.level,
            task: self.task,
            opcode: self.opcode,
            keywords: self.keywords,
            computer: self.computer.unwrap_or_default(),
            record_id: self.record_id.and_then(|r| r.parse().ok()),
            time_created: self.system_time.and_then(|t| parse_timestamp(&t)),
            user_sid: self.user_id,
            exec_pid: self.process_id.and_then(|p| p.parse().ok()),
            exec_tid: self.thread_id.and_then(|p| p.parse().ok()),
            data: Vec::new(),
            user_name: None,
            forwarded: false,
        })
    }
}

/// EventData's (name, value) pairs in record order, as the general parse's
/// sorted map keeps them: by name, the last value of a repeated name kept,
/// null values dropped, GUIDs of `…Guid` names in braces.
pub fn event_data<S: Into<Str> + AsRef<str>>(fields: Vec<(S, Option<S>)>) -> Vec<(Str, Str)> {
    as_sorted_map(fields, true)
}

/// UserData's fields, of its one provider element, as [`user_data`] reads
/// them: the same, without braces.
pub fn user_data_fields<S: Into<Str> + AsRef<str>>(fields: Vec<(S, Option<S>)>) -> Vec<(Str, Str)> {
    as_sorted_map(fields, false)
}

/// Whether [`event_data`] puts the value of this EventData name in braces
/// (a GUID of a `…Guid` name).
pub fn braces_value_of(name: &str) -> bool {
    name != "Data" && crate::json::is_guid_name(name)
}

/// A value of a name [`braces_value_of`], as [`event_data`] keeps it.
pub fn braced(value: &str) -> Str {
    crate::json::brace(value).into()
}

fn as_sorted_map<S: Into<Str> + AsRef<str>>(
    mut fields: Vec<(S, Option<S>)>,
    braces: bool,
) -> Vec<(Str, Str)> {
    // a stable sort keeps repeats in order
    fields.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
    let mut out = Vec::with_capacity(fields.len());
    let mut it = fields.into_iter().peekable();
    while let Some((k, v)) = it.next() {
        if it
            .peek()
            .is_some_and(|(next, _)| next.as_ref() == k.as_ref())
        {
            continue;
        }
        if let Some(t) = v {
            let k: Str = k.into();
            let t: Str = if braces && braces_value_of(&k) {
                crate::json::brace(t.as_ref()).into()
            } else {
                t.into()
            };
            out.push((k, t));
        }
    }
    out
}

/// The single walk over a record, for records of the usual shape; `None`
/// hands the record to [`parse_with`]. Every value is decoded as [`text`]
/// decodes it, and EventData is ordered and de-duplicated as the general
/// parse's sorted map (`BTreeMap`, last value of a key kept) orders it.
mod one_pass {
    use super::{Parts, RawValue, Str, WinRecord, event_data, user_data, value_text};
    use serde::Deserialize;
    use serde::de::{
        DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor,
        value::{MapAccessDeserializer, SeqAccessDeserializer},
    };
    use std::fmt;

    pub(super) fn parse(bytes: &[u8]) -> Option<WinRecord> {
        // one UTF-8 check of the whole text instead of one per string
        let text = std::str::from_utf8(bytes).ok()?;
        let mut de = serde_json::Deserializer::from_str(text);
        let ev = Root.deserialize(&mut de).ok()?;
        de.end().ok()?;
        let sys = ev.system?;
        let [
            event_id,
            version,
            level,
            task,
            opcode,
            keywords,
            computer,
            channel,
            record_id,
        ] = sys.text;
        let [[p_name, p_guid], [time, _], [pid, tid], [sid, _]] = sys.attrs;
        let s = |t: Option<String>| t.map(Str::from);
        let parts = Parts {
            event_id: s(event_id),
            version: s(version),
            level: s(level),
            task: s(task),
            opcode: s(opcode),
            keywords: s(keywords),
            computer: s(computer),
            channel: s(channel),
            record_id: s(record_id),
            provider_name: s(p_name),
            provider_guid: s(p_guid),
            system_time: s(time),
            process_id: s(pid),
            thread_id: s(tid),
            user_id: s(sid),
        };
        let mut rec = parts.into_record()?;
        if let Some(fields) = ev.event_data {
            rec.data = event_data(fields);
        } else if let Some(ud) = ev.user_data {
            user_data(ud, &mut rec);
        }
        Some(rec)
    }

    /// Refuses what the one pass does not take: the record goes to the
    /// general parse.
    fn refuse<E: Error>() -> E {
        E::custom("left to the general parse")
    }

    /// The index of a key among `names` (no copy of the key).
    struct Key<'n>(&'n [&'n str]);

    impl<'de> DeserializeSeed<'de> for Key<'_> {
        type Value = Option<usize>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for Key<'_> {
        type Value = Option<usize>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a key")
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(self.0.iter().position(|n| *n == v))
        }
    }

    /// Reads the map's values whose keys are among `names` with `seed`,
    /// each at most once, and skips the others.
    fn keyed<'de, A: MapAccess<'de>, T, S: DeserializeSeed<'de, Value = T>>(
        mut map: A,
        names: &[&str],
        out: &mut [Option<T>],
        mut seed: impl FnMut(usize) -> S,
    ) -> Result<(), A::Error> {
        let mut seen = 0u32;
        while let Some(k) = map.next_key_seed(Key(names))? {
            match k {
                Some(i) => {
                    if seen & (1 << i) != 0 {
                        return Err(refuse());
                    }
                    seen |= 1 << i;
                    out[i] = Some(map.next_value_seed(seed(i))?);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    /// A value as [`super::text`] reads it.
    struct Text;

    impl<'de> DeserializeSeed<'de> for Text {
        type Value = Option<String>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Text {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a value")
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        // An integer's JSON text is its decimal form; a float's text as
        // written is not known here.
        fn visit_i64<E: Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(refuse())
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let v = serde_json::Value::deserialize(MapAccessDeserializer::new(map))?;
            Ok(value_text(&v))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            let v = serde_json::Value::deserialize(SeqAccessDeserializer::new(seq))?;
            Ok(value_text(&v))
        }
    }

    /// An element's `#attributes` named in `.0` (at most two), as
    /// [`super::attrs`] reads them.
    struct Attrs(&'static [&'static str]);

    impl<'de> DeserializeSeed<'de> for Attrs {
        type Value = [Option<String>; 2];
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Attrs {
        type Value = [Option<String>; 2];
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an element")
        }
        // an element without attributes or text (`<Security />`)
        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok([None, None])
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let mut inner = [None];
            keyed(map, &["#attributes"], &mut inner, |_| AttrMap(self.0))?;
            Ok(inner[0].take().unwrap_or_default())
        }
    }

    struct AttrMap(&'static [&'static str]);

    impl<'de> DeserializeSeed<'de> for AttrMap {
        type Value = [Option<String>; 2];
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for AttrMap {
        type Value = [Option<String>; 2];
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("attributes")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let mut got: [Option<Option<String>>; 2] = [None, None];
            keyed(map, self.0, &mut got, |_| Text)?;
            Ok(got.map(Option::flatten))
        }
    }

    /// The System children read: the scalars first (in the order
    /// [`parse`] takes them), then those read for their attributes.
    const SYSTEM: [&str; 13] = [
        "EventID",
        "Version",
        "Level",
        "Task",
        "Opcode",
        "Keywords",
        "Computer",
        "Channel",
        "EventRecordID",
        "Provider",
        "TimeCreated",
        "Execution",
        "Security",
    ];
    /// How many of [`SYSTEM`] are scalars.
    const SCALARS: usize = 9;
    /// The attributes read of each of the other System children.
    const SYSTEM_ATTRS: [&[&str]; 4] = [
        &["Name", "Guid"],
        &["SystemTime"],
        &["ProcessID", "ThreadID"],
        &["UserID"],
    ];

    #[derive(Default)]
    struct System {
        text: [Option<String>; SCALARS],
        attrs: [[Option<String>; 2]; SYSTEM_ATTRS.len()],
    }

    /// Either kind of System child.
    enum Child {
        Text(Option<String>),
        Attrs([Option<String>; 2]),
    }

    struct ChildSeed(usize);

    impl<'de> DeserializeSeed<'de> for ChildSeed {
        type Value = Child;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            match self.0.checked_sub(SCALARS) {
                None => Text.deserialize(d).map(Child::Text),
                Some(a) => Attrs(SYSTEM_ATTRS[a]).deserialize(d).map(Child::Attrs),
            }
        }
    }

    struct SystemSeed;

    impl<'de> DeserializeSeed<'de> for SystemSeed {
        type Value = System;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for SystemSeed {
        type Value = System;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("System")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let mut got: [Option<Child>; SYSTEM.len()] = Default::default();
            keyed(map, &SYSTEM, &mut got, ChildSeed)?;
            let mut sys = System::default();
            for (i, child) in got.into_iter().enumerate() {
                match child {
                    Some(Child::Text(t)) => sys.text[i] = t,
                    Some(Child::Attrs(a)) => sys.attrs[i - SCALARS] = a,
                    None => {}
                }
            }
            Ok(sys)
        }
    }

    /// EventData's fields in record order (`None`: a null value); `null`
    /// itself is no EventData.
    struct EventData;

    impl<'de> DeserializeSeed<'de> for EventData {
        type Value = Option<Vec<(String, Option<String>)>>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_option(self)
        }
    }

    impl<'de> Visitor<'de> for EventData {
        type Value = Option<Vec<(String, Option<String>)>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("EventData")
        }
        fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(16));
            while let Some(k) = map.next_key::<String>()? {
                if k == "#attributes" {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                let v = map.next_value_seed(Text)?;
                fields.push((k, v));
            }
            Ok(Some(fields))
        }
    }

    /// What `Event` holds for a record.
    struct Event<'de> {
        system: Option<System>,
        event_data: Option<Vec<(String, Option<String>)>>,
        user_data: Option<&'de RawValue>,
    }

    // One per record, moved once into `Event`: boxing System would cost an
    // allocation per record for nothing.
    #[allow(clippy::large_enum_variant)]
    enum Part<'de> {
        System(System),
        EventData(Option<Vec<(String, Option<String>)>>),
        UserData(Option<&'de RawValue>),
    }

    struct PartSeed(usize);

    impl<'de> DeserializeSeed<'de> for PartSeed {
        type Value = Part<'de>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            match self.0 {
                0 => SystemSeed.deserialize(d).map(Part::System),
                1 => EventData.deserialize(d).map(Part::EventData),
                _ => Option::<&'de RawValue>::deserialize(d).map(Part::UserData),
            }
        }
    }

    struct Root;

    impl<'de> DeserializeSeed<'de> for Root {
        type Value = Event<'de>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Root {
        type Value = Event<'de>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a record")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let mut got = [None];
            keyed(map, &["Event"], &mut got, |_| EventSeed)?;
            got[0].take().ok_or_else(refuse)
        }
    }

    struct EventSeed;

    impl<'de> DeserializeSeed<'de> for EventSeed {
        type Value = Event<'de>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for EventSeed {
        type Value = Event<'de>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("Event")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let mut got: [Option<Part<'de>>; 3] = [None, None, None];
            keyed(
                map,
                &["System", "EventData", "UserData"],
                &mut got,
                PartSeed,
            )?;
            let mut ev = Event {
                system: None,
                event_data: None,
                user_data: None,
            };
            for part in got.into_iter().flatten() {
                match part {
                    Part::System(s) => ev.system = Some(s),
                    Part::EventData(d) => ev.event_data = d,
                    Part::UserData(u) => ev.user_data = u,
                }
            }
            Ok(ev)
        }
    }
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

    /// The one pass yields what the general parse yields, or leaves the
    /// record to it; the usual shapes it takes itself.
    #[test]
    fn one_pass_agrees_with_the_general_parse() {
        let sys = r##""System":{"Provider":{"#attributes":{"Name":"P","Guid":"5770385F-C22A-43E0-BF4C-06F5698FFBD9"}},"EventID":{"#attributes":{"Qualifiers":16384},"#text":7036},"Version":2,"Level":4,"Task":0,"Keywords":"0x8080000000000000","TimeCreated":{"#attributes":{"SystemTime":"2021-12-04T21:19:10.617945Z"}},"EventRecordID":48607,"Correlation":null,"Execution":{"#attributes":{"ProcessID":3128,"ThreadID":4164}},"Channel":"System","Computer":"h\u00e9","Security":null}"##;
        let taken = [
            format!(
                r##"{{"Event":{{"#attributes":{{"xmlns":"x"}},{sys},"EventData":{{"param1":"a\"b","param2":null,"Data":{{"#text":["x","y"]}},"LogonGuid":"00000000-0000-0000-0000-000000000000","Flag":true,"Neg":-3,"#attributes":{{"Name":"n"}}}}}}}}"##
            ),
            format!(
                r##"{{"Event":{{{sys},"EventData":null,"UserData":{{"Wrap":{{"#attributes":{{"xmlns":"u"}},"Field":"v","N":5}}}}}}}}"##
            ),
            format!(
                r##"{{"Event":{{{sys},"UserData":{{"Wrap":{{"Field":"v"}},"Other":{{"G":"w"}}}}}}}}"##
            ),
            format!(r##"{{"Event":{{{sys}}}}}"##),
            // a key repeated in EventData: the last value counts
            format!(r##"{{"Event":{{{sys},"EventData":{{"b":"1","a":"2","b":null,"a":"3"}}}}}}"##),
            format!(r##"{{"Event":{{{sys},"EventData":{{"Data":[1,{{"#text":"z"}},null]}}}}}}"##),
        ];
        for doc in &taken {
            let fast = one_pass::parse(doc.as_bytes());
            let general = parse_with(doc.as_bytes(), true).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{:?}", Some(general)), "{doc}");
        }
        let left = [
            // a float, whose text as written the one pass does not keep
            format!(r##"{{"Event":{{{sys},"EventData":{{"F":1.50}}}}}}"##),
            // repeated elements, a string where an element is expected
            format!(r##"{{"Event":{{{sys},{sys}}}}}"##),
            r##"{"Event":{"System":{"EventID":1,"Provider":"P"}}}"##.to_string(),
            r##"{"Event":{"System":{"EventID":1},"EventData":"text"}}"##.to_string(),
            r##"{"Event":{"System":{"EventID":"x"}}}"##.to_string(),
            r##"{"Evnt":{}}"##.to_string(),
        ];
        for doc in &left {
            assert!(one_pass::parse(doc.as_bytes()).is_none(), "{doc}");
        }
        let not_utf8 = b"{\"Event\":{\"System\":{\"EventID\":1,\"Computer\":\"\xff\"}}}";
        assert!(one_pass::parse(not_utf8).is_none());
        let rec = parse(left[0].as_bytes()).unwrap();
        assert_eq!(rec.get("F"), Some("1.50"));
        let rec = parse(left[3].as_bytes()).unwrap();
        assert!(rec.data.is_empty());
    }

    /// Every record of the corpus's EVTX files, as the `evtx` crate
    /// renders it for the reader, takes the one pass and yields what the
    /// general parse yields.
    #[test]
    #[ignore = "needs ../shared"]
    fn one_pass_takes_every_corpus_record() {
        let root = std::env::var_os("QUARRY_CORPUS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared").into())
            .join("corpus/evtx");
        let mut dirs = vec![root];
        let (mut records, mut left) = (0, Vec::new());
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "evtx") {
                    continue;
                }
                let Ok(parser) = evtx::EvtxParser::from_path(&path) else {
                    continue;
                };
                let settings = evtx::ParserSettings::new().separate_json_attributes(false);
                let mut parser = parser.with_configuration(settings);
                for r in parser.records_json() {
                    let Ok(r) = r else { continue };
                    records += 1;
                    let bytes = r.data.as_bytes();
                    let general = parse_with(bytes, true).ok();
                    match one_pass::parse(bytes) {
                        Some(fast) => assert_eq!(
                            format!("{:?}", Some(fast)),
                            format!("{general:?}"),
                            "{}#{}",
                            path.display(),
                            r.event_record_id
                        ),
                        None => left.push(format!("{}#{}", path.display(), r.event_record_id)),
                    }
                }
            }
        }
        assert!(records > 30_000, "{records} records");
        assert!(left.is_empty(), "left to the general parse: {left:?}");
    }

    #[test]
    fn bad_bytes_are_errors() {
        assert!(parse(b"").is_err());
        assert!(parse(b"{\"Event\":{\"System\":{}}}").is_err());
        assert!(parse(b"\xff\xfe").is_err());
    }
}
