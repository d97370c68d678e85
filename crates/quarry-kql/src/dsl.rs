//! Kibana filters — a rule's `filters` and a `threat_match` rule's
//! `threat_filters`: Elasticsearch query DSL under `query` (or beside
//! `meta`), switched off by `meta.disabled`, inverted by `meta.negate` —
//! read into KQL's tree ([`crate::ast`]) so they are lowered with the
//! same field-type semantics as the query they are ANDed with.
//!
//! The DSL leaves Kibana writes: `match_phrase`, `match`, `term`, `terms`,
//! `wildcard` (`*`, `?`, `case_insensitive`), `prefix`, `regexp`,
//! `exists`, `range`, `query_string`, `match_all`, and `bool` of them.
//! Anything else is an error naming it: a filter quarry cannot read must
//! not be dropped silently (the rule would match more than Elastic's).

use crate::ast::{Field, Query, RangeOp, Value, ValueKind, Values};
use serde_json::Value as J;

/// The filters as one query (AND of those enabled; [`Query::All`] for none).
pub fn filters(filters: &[J]) -> Result<Query, String> {
    let mut parts = Vec::new();
    for f in filters {
        let meta = &f["meta"];
        if meta["disabled"].as_bool() == Some(true) {
            continue;
        }
        let q = match f.get("query") {
            Some(q) => dsl(q)?,
            // older filters hold the DSL beside `meta`
            None => {
                let mut rest = f.as_object().cloned().unwrap_or_default();
                rest.remove("meta");
                rest.remove("$state");
                dsl(&J::Object(rest))?
            }
        };
        parts.push(if meta["negate"].as_bool() == Some(true) {
            Query::Not(Box::new(q))
        } else {
            q
        });
    }
    Ok(and(parts))
}

fn and(mut parts: Vec<Query>) -> Query {
    match parts.len() {
        0 => Query::All,
        1 => parts.pop().unwrap_or(Query::All),
        _ => Query::And(parts),
    }
}

fn field(name: &str) -> Field {
    Field {
        name: name.to_string(),
        pattern: name.contains('*').then(|| name.replace('\\', "\\\\")),
        pos: 0,
    }
}

fn one(name: &str, kind: ValueKind) -> Query {
    Query::Field {
        field: field(name),
        values: Values::One(Value { kind, pos: 0 }),
    }
}

/// A JSON scalar as text.
fn text(v: &J) -> Result<String, String> {
    match v {
        J::String(s) => Ok(s.clone()),
        J::Number(n) => Ok(n.to_string()),
        J::Bool(b) => Ok(b.to_string()),
        other => Err(format!("a filter value is not a scalar: {other}")),
    }
}

/// The single `{field: spec}` of a leaf query.
fn single<'a>(kind: &str, body: &'a J) -> Result<(&'a str, &'a J), String> {
    let map = body
        .as_object()
        .ok_or_else(|| format!("`{kind}` is not an object"))?;
    let mut it = map.iter().filter(|(k, _)| !k.starts_with('_'));
    match (it.next(), it.next()) {
        (Some((k, v)), None) => Ok((k.as_str(), v)),
        _ => Err(format!("`{kind}` should name one field")),
    }
}

/// The value of `{field: v}` or `{field: {key: v, …}}`.
fn value_of<'a>(spec: &'a J, key: &str) -> &'a J {
    match spec {
        J::Object(m) => m.get(key).unwrap_or(&J::Null),
        v => v,
    }
}

fn list(v: &J) -> Vec<&J> {
    match v {
        J::Array(a) => a.iter().collect(),
        J::Null => Vec::new(),
        v => vec![v],
    }
}

/// A `*`/`?` wildcard (with `\` escapes) as a Lucene regex.
fn wildcard(name: &str, pattern: &str, insensitive: bool) -> Query {
    one(
        name,
        ValueKind::Regex {
            pattern: crate::lucene::wildcard_regex(pattern),
            wildcard: true,
            insensitive,
        },
    )
}

/// One query DSL object.
pub fn dsl(q: &J) -> Result<Query, String> {
    let map = q.as_object().ok_or("a filter query is not an object")?;
    let mut parts = Vec::new();
    for (kind, body) in map {
        parts.push(match kind.as_str() {
            "match_all" => Query::All,
            "match_phrase" => {
                let (f, spec) = single(kind, body)?;
                one(f, ValueKind::Quoted(text(value_of(spec, "query"))?))
            }
            "match" => {
                let (f, spec) = single(kind, body)?;
                let t = text(value_of(spec, "query"))?;
                one(
                    f,
                    ValueKind::Unquoted {
                        text: t,
                        pattern: None,
                    },
                )
            }
            "term" => {
                let (f, spec) = single(kind, body)?;
                let t = text(value_of(spec, "value"))?;
                if spec["case_insensitive"].as_bool() == Some(true) {
                    wildcard(f, &escape_wild(&t), true)
                } else {
                    one(f, ValueKind::Quoted(t))
                }
            }
            "terms" => {
                let (f, spec) = single(kind, body)?;
                let items = list(spec)
                    .into_iter()
                    .map(|v| {
                        Ok(Values::One(Value {
                            kind: ValueKind::Quoted(text(v)?),
                            pos: 0,
                        }))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                Query::Field {
                    field: field(f),
                    values: Values::Or(items),
                }
            }
            "wildcard" => {
                let (f, spec) = single(kind, body)?;
                let v = match spec {
                    J::Object(m) => m.get("value").or_else(|| m.get("wildcard")),
                    v => Some(v),
                }
                .unwrap_or(&J::Null);
                let ci = spec["case_insensitive"].as_bool() == Some(true);
                wildcard(f, &text(v)?, ci)
            }
            "prefix" => {
                let (f, spec) = single(kind, body)?;
                let t = text(value_of(spec, "value"))?;
                let ci = spec["case_insensitive"].as_bool() == Some(true);
                wildcard(f, &format!("{}*", escape_wild(&t)), ci)
            }
            "regexp" => {
                let (f, spec) = single(kind, body)?;
                one(
                    f,
                    ValueKind::Regex {
                        pattern: text(value_of(spec, "value"))?,
                        wildcard: false,
                        insensitive: spec["case_insensitive"].as_bool() == Some(true),
                    },
                )
            }
            "exists" => {
                let f = body["field"].as_str().ok_or("`exists` without `field`")?;
                one(
                    f,
                    ValueKind::Unquoted {
                        text: "*".into(),
                        pattern: Some("*".into()),
                    },
                )
            }
            "range" => {
                let (f, spec) = single(kind, body)?;
                let mut bounds = Vec::new();
                for (k, op) in [
                    ("gte", RangeOp::Ge),
                    ("gt", RangeOp::Gt),
                    ("lte", RangeOp::Le),
                    ("lt", RangeOp::Lt),
                ] {
                    if let Some(v) = spec.get(k).filter(|v| !v.is_null()) {
                        bounds.push(Query::Range {
                            field: field(f),
                            op,
                            value: Value {
                                kind: ValueKind::Unquoted {
                                    text: text(v)?,
                                    pattern: None,
                                },
                                pos: 0,
                            },
                        });
                    }
                }
                and(bounds)
            }
            "query_string" => {
                let s = body["query"]
                    .as_str()
                    .ok_or("`query_string` without `query`")?;
                crate::lucene::parse(s).map_err(|e| e.to_string())?
            }
            "bool" => bool_query(body)?,
            other => return Err(format!("filter query `{other}` is not supported")),
        });
    }
    Ok(and(parts))
}

/// `t` as a wildcard matching it literally (`\`, `*`, `?` escaped).
fn escape_wild(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        if matches!(c, '\\' | '*' | '?') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn bool_query(body: &J) -> Result<Query, String> {
    let all =
        |k: &str| -> Result<Vec<Query>, String> { list(&body[k]).into_iter().map(dsl).collect() };
    let mut parts = all("must")?;
    parts.extend(all("filter")?);
    let should = all("should")?;
    // `should` is required when nothing else is (or minimum_should_match
    // asks for one); beside must/filter it only scores
    let msm = body["minimum_should_match"].as_u64().or_else(|| {
        body["minimum_should_match"]
            .as_str()
            .and_then(|s| s.parse().ok())
    });
    if !should.is_empty() && (parts.is_empty() || msm.unwrap_or(0) >= 1) {
        if msm.unwrap_or(1) > 1 {
            return Err("bool `minimum_should_match` above 1 is not supported".into());
        }
        parts.push(if should.len() == 1 {
            should.into_iter().next().unwrap_or(Query::All)
        } else {
            Query::Or(should)
        });
    }
    for n in all("must_not")? {
        parts.push(Query::Not(Box::new(n)));
    }
    Ok(and(parts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kibana_filters() {
        // the filters of Elastic's Threat Intel rules and of its LSASS rule
        let f = vec![
            json!({"meta": {"negate": false, "disabled": false}, "query": {"match_phrase": {"event.category": "threat"}}}),
            json!({"meta": {"negate": true}, "query": {"wildcard": {"file.path": {"value": "?:\\\\ProgramData\\\\*.ps1", "case_insensitive": true}}}}),
            json!({"meta": {"disabled": true}, "query": {"match_phrase": {"event.kind": "nothing"}}}),
        ];
        let Query::And(parts) = filters(&f).expect("reads") else {
            panic!("an and")
        };
        assert_eq!(parts.len(), 2, "the disabled filter is left out");
        assert!(matches!(&parts[1], Query::Not(_)));
        let s = format!("{:?}", parts[1]);
        assert!(s.contains("insensitive: true"), "{s}");
        assert!(filters(&[json!({"query": {"geo_shape": {}}})]).is_err());
        assert_eq!(filters(&[]).expect("reads"), Query::All);
        let b = dsl(&json!({"bool": {"should": [{"term": {"a": 1}}, {"term": {"a": 2}}], "must_not": {"exists": {"field": "b"}}}}))
            .expect("reads");
        assert!(matches!(b, Query::And(ref p) if p.len() == 2), "{b:?}");
    }

    #[test]
    fn filters_narrow_the_query() {
        // Elastic's PSReflect rule excludes one script path, any drive and
        // case, with a negated wildcard filter
        let f = vec![
            json!({"meta": {"negate": true}, "query": {"wildcard": {"file.path": {
            "case_insensitive": true,
            "value": "?:\\\\ProgramData\\\\MaaS360\\\\Cloud Extender\\\\AR\\\\Scripts\\\\ASModuleCommon.ps1"}}}}),
        ];
        let q = crate::compile_rule(
            "event.category:process",
            crate::Language::Kuery,
            &f,
            &crate::KqlOptions::default(),
        )
        .expect("compiles")
        .query;
        let mut ev = quarry_event::Event::default();
        ev.set("event.category", "process");
        assert!(q.matches(&ev), "no file.path: the negated filter holds");
        ev.set(
            "file.path",
            r"D:\programdata\MaaS360\Cloud Extender\AR\Scripts\ASModuleCommon.ps1",
        );
        assert!(!q.matches(&ev));
        ev.set("file.path", r"C:\ProgramData\Other\ASModuleCommon.ps1");
        assert!(q.matches(&ev));
        // `?` is one character: no drive letter, no match
        ev.set(
            "file.path",
            r":\ProgramData\MaaS360\Cloud Extender\AR\Scripts\ASModuleCommon.ps1",
        );
        assert!(q.matches(&ev));
    }
}
