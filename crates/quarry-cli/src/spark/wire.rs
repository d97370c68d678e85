//! The wire form of an event between the stages of a Spark run: one JSON
//! object per event, lossless — every field with its type (a timestamp
//! stays a timestamp, an ip an ip, a float a float), the time, the origin
//! (file and record, line or index) and the document as read — so the
//! partition that receives it holds the very event the reader made, and
//! the results name the same file and record as on one machine.
//!
//! ECS JSON cannot serve: reading it back renormalises (and loses the
//! origin and the types).

use quarry_event::{Event, Locator, Origin, Str, Value, field_id};
use serde_json::{Value as J, json};
use std::sync::Arc;

/// The event as one line of JSON (no raw newline or tab: serde_json
/// escapes control characters).
pub fn encode(ev: &Event) -> String {
    let locator = match ev.origin.locator {
        Locator::Unknown => J::Null,
        Locator::Record(n) => json!(["r", n]),
        Locator::Line(n) => json!(["l", n]),
        Locator::Index(n) => json!(["i", n]),
    };
    let fields: Vec<J> = ev
        .fields()
        .map(|(path, v)| json!([path, value(v)]))
        .collect();
    let mut doc = json!({
        "o": &*ev.origin.file,
        "l": locator,
        "t": ev.timestamp,
        "f": fields,
    });
    if let Some(s) = &ev.source {
        doc["s"] = (**s).clone();
    }
    if let Some(r) = &ev.raw_source {
        doc["r"] = J::String(r.to_string());
    }
    doc.to_string()
}

fn value(v: &Value) -> J {
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => json!(i),
        // tagged: a float that happens to be whole must come back a float,
        // and JSON has no NaN or infinities
        Value::Float(f) if f.is_finite() => json!({ "f": f }),
        Value::Float(f) => json!({ "f": f.to_string() }),
        Value::Str(s) => J::String(s.as_str().to_string()),
        Value::Timestamp(t) => json!({ "t": t }),
        Value::Ip(ip) => json!({ "ip": ip.to_string() }),
        Value::Array(items) => J::Array(items.iter().map(value).collect()),
    }
}

fn unvalue(j: &J) -> Result<Value, String> {
    Ok(match j {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => Value::Int(n.as_i64().ok_or("an integer out of range")?),
        J::String(s) => Value::Str(Str::from(s.as_str())),
        J::Array(items) => Value::Array(items.iter().map(unvalue).collect::<Result<_, _>>()?),
        J::Object(m) => match (m.get("f"), m.get("t"), m.get("ip")) {
            (Some(J::Number(n)), _, _) => Value::Float(n.as_f64().ok_or("a bad float")?),
            (Some(J::String(s)), _, _) => Value::Float(s.parse().map_err(|_| "a bad float")?),
            (_, Some(t), _) => Value::Timestamp(t.as_i64().ok_or("a bad timestamp")?),
            (_, _, Some(J::String(ip))) => Value::Ip(ip.parse().map_err(|_| "a bad ip")?),
            _ => return Err(format!("an unknown value {j}")),
        },
    })
}

/// The event a line of [`encode`] describes.
pub fn decode(line: &str) -> Result<Event, String> {
    let doc: J = serde_json::from_str(line).map_err(|e| format!("not an event: {e}"))?;
    let locator = match doc["l"].as_array().map(Vec::as_slice) {
        Some([J::String(k), n]) => {
            let n = n.as_u64().ok_or("a bad locator")?;
            match k.as_str() {
                "r" => Locator::Record(n),
                "l" => Locator::Line(n),
                "i" => Locator::Index(n),
                _ => return Err(format!("an unknown locator {k:?}")),
            }
        }
        _ => Locator::Unknown,
    };
    let origin = Origin {
        file: Arc::from(doc["o"].as_str().unwrap_or_default()),
        locator,
    };
    let fields = doc["f"].as_array().ok_or("no fields")?;
    let mut ev = Event::with_capacity(origin, fields.len());
    for f in fields {
        let (Some(path), Some(v)) = (f[0].as_str(), f.get(1)) else {
            return Err(format!("a bad field {f}"));
        };
        ev.insert_id(field_id(path), unvalue(v)?);
    }
    ev.timestamp = doc["t"].as_i64();
    if let Some(s) = doc.get("s") {
        ev.source = Some(Arc::new(s.clone()));
    }
    if let Some(r) = doc["r"].as_str() {
        ev.raw_source = Some(Arc::from(r));
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_type_origin_and_source_survive() {
        let origin = Origin {
            file: Arc::from("evidence/a b.evtx"),
            locator: Locator::Record(42),
        };
        let mut ev = Event::new(origin.clone());
        ev.set("process.pid", 6060i64);
        ev.set("process.name", "cmd.exe");
        ev.set("score", 1.0f64);
        ev.set("nan", f64::NAN);
        ev.set("ok", true);
        ev.set("source.ip", "10.0.0.1".parse::<std::net::IpAddr>().unwrap());
        ev.set("event.created", Value::Timestamp(1_700_000_000_123_000_000));
        ev.set(
            "dns.resolved_ip",
            Value::Array(vec![Value::from("a\tb\nc"), Value::Int(-3)]),
        );
        ev.insert_id(field_id("explicit.null"), Value::Null);
        ev.timestamp = Some(1_700_000_000_000_000_000);
        ev.source = Some(Arc::new(json!({"x": [1, {"y": "z"}]})));
        ev.raw_source = Some(Arc::from("{\"x\":1}"));
        let line = encode(&ev);
        assert!(!line.contains('\n') && !line.contains('\t'), "{line}");
        let back = decode(&line).unwrap();
        assert_eq!(back.origin, origin);
        assert_eq!(back.timestamp, ev.timestamp);
        assert_eq!(back.source, ev.source);
        assert_eq!(back.raw_source, ev.raw_source);
        let a: Vec<(String, String)> = ev
            .fields()
            .map(|(k, v)| (k.to_string(), format!("{v:?}")))
            .collect();
        let b: Vec<(String, String)> = back
            .fields()
            .map(|(k, v)| (k.to_string(), format!("{v:?}")))
            .collect();
        assert_eq!(a, b);
        assert!(matches!(back.get("score"), Some(Value::Float(f)) if *f == 1.0));
    }

    #[test]
    fn damaged_lines_are_errors_not_panics() {
        for bad in [
            "",
            "{",
            "[]",
            r#"{"f":[[1,2]]}"#,
            r#"{"f":[["a",{"q":1}]]}"#,
        ] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }
}
