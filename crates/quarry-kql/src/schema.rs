//! Field types, from the ECS and non-ECS schemas of elastic/detection-rules
//! (compiled in as [`crate::schema_table`], checked against the schema
//! files by `tests/schema_table.rs`), and how KQL treats each.
//!
//! The table is a tree of dotted names, one top-level name a line:
//! `name[:t][{children}]`, children separated by `,`. A name without a
//! letter and without children is a `keyword` (also `wildcard` and
//! `constant_keyword`, which match the same way); letters: `n` number,
//! `d` date, `b` boolean, `i` ip, `t` text (standard analyzer), `p` text
//! (the pattern analyzer `[\W&&[^-]]+`), `T` a `text` multi-field of its
//! parent, `f` an object of arbitrary keys (`flattened`, `object`), `g`
//! another type (`geo_point`, …), `k` a keyword that also has children.
//!
//! Two multi-field conventions resolve to the field they index: `X.text`
//! (ECS's `match_only_text` multi-fields) is `X` analysed by the standard
//! analyzer, and `X.caseless` (Elastic Defend's lowercase-normalised
//! multi-fields) is `X` matched case-insensitively. An event never holds
//! either: both read `X`.

use quarry_eql::text::Analyzer;
use rustc_hash::FxHashMap;
use std::sync::{Mutex, OnceLock};

/// How KQL matches a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Exact and case-sensitive, wildcards too (`keyword`, `wildcard`,
    /// `constant_keyword`, `flattened` keys, and any unknown field).
    Keyword,
    /// A keyword with a `lowercase` normalizer (`*.caseless`).
    Caseless,
    /// Analysed text.
    Text(Analyzer),
    Number,
    Date,
    Boolean,
    Ip,
    /// An object: `field: *` asks whether any field below it exists.
    Object,
    /// Another type (`geo_point`, …): matched as a keyword.
    Other,
}

/// A field name as KQL reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The field the event holds (a multi-field's parent).
    pub path: String,
    pub ty: FieldType,
    /// Known to the schemas?
    pub known: bool,
}

struct Table {
    /// Leaves (and objects, as [`FieldType::Object`]) by dotted name.
    types: FxHashMap<String, (FieldType, bool)>,
    /// Objects of arbitrary keys: every name below them is known.
    open: Vec<String>,
    /// Leaf names, for the nearest known name of an unknown one.
    leaves: Vec<String>,
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Table {
            types: FxHashMap::default(),
            open: Vec::new(),
            leaves: Vec::new(),
        };
        for line in crate::schema_table::TREE.lines() {
            let b = line.as_bytes();
            let mut i = 0;
            parse_nodes(line, b, &mut i, "", &mut t);
        }
        t.leaves.sort();
        t
    })
}

/// Reads `node (',' node)*` at `i` below `prefix`, up to `}` or the end.
fn parse_nodes(line: &str, b: &[u8], i: &mut usize, prefix: &str, t: &mut Table) {
    loop {
        let start = *i;
        while *i < b.len() && !matches!(b[*i], b':' | b'{' | b'}' | b',') {
            *i += 1;
        }
        let name = &line[start..*i];
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        let mut letter = None;
        if *i < b.len() && b[*i] == b':' {
            letter = b.get(*i + 1).copied();
            *i += 2;
        }
        let has_kids = *i < b.len() && b[*i] == b'{';
        let ty = match letter {
            None | Some(b'k') if !has_kids || letter == Some(b'k') => Some(FieldType::Keyword),
            None => None,
            Some(b'n') => Some(FieldType::Number),
            Some(b'd') => Some(FieldType::Date),
            Some(b'b') => Some(FieldType::Boolean),
            Some(b'i') => Some(FieldType::Ip),
            Some(b't') => Some(FieldType::Text(Analyzer::Standard)),
            Some(b'p') => Some(FieldType::Text(Analyzer::WordsAndDashes)),
            // read from the parent (see `resolve`)
            Some(b'T') => Some(FieldType::Text(Analyzer::Standard)),
            Some(b'f') => {
                t.open.push(format!("{path}."));
                Some(FieldType::Keyword)
            }
            _ => Some(FieldType::Other),
        };
        match ty {
            Some(ty) => {
                t.types.insert(path.clone(), (ty, letter == Some(b'T')));
                t.leaves.push(path.clone());
            }
            None => {
                t.types.insert(path.clone(), (FieldType::Object, false));
            }
        }
        if has_kids {
            *i += 1;
            parse_nodes(line, b, i, &path, t);
            *i += 1; // '}'
        }
        if *i < b.len() && b[*i] == b',' {
            *i += 1;
            continue;
        }
        return;
    }
}

/// How KQL matches a field of this Elasticsearch type.
pub fn from_es_type(t: &str) -> FieldType {
    match t {
        "keyword" | "wildcard" | "constant_keyword" | "version" | "flattened" => FieldType::Keyword,
        "long" | "integer" | "short" | "byte" | "float" | "double" | "scaled_float"
        | "half_float" | "unsigned_long" => FieldType::Number,
        "date" | "date_nanos" => FieldType::Date,
        "boolean" => FieldType::Boolean,
        "ip" => FieldType::Ip,
        "text" | "match_only_text" => FieldType::Text(Analyzer::Standard),
        "object" | "nested" => FieldType::Object,
        _ => FieldType::Other,
    }
}

/// How KQL reads a field name.
pub fn resolve(name: &str) -> Resolved {
    let t = table();
    if let Some(&(ty, multi)) = t.types.get(name) {
        let path = match (multi, name.rsplit_once('.')) {
            (true, Some((parent, _))) => parent.to_string(),
            _ => name.to_string(),
        };
        return Resolved {
            path,
            ty,
            known: true,
        };
    }
    if let Some(base) = name.strip_suffix(".caseless") {
        return Resolved {
            path: base.to_string(),
            ty: FieldType::Caseless,
            known: t.types.contains_key(base),
        };
    }
    if let Some(base) = name.strip_suffix(".text")
        && t.types.contains_key(base)
    {
        return Resolved {
            path: base.to_string(),
            ty: FieldType::Text(Analyzer::Standard),
            known: true,
        };
    }
    let known = t.open.iter().any(|p| name.starts_with(p.as_str()));
    Resolved {
        path: name.to_string(),
        ty: FieldType::Keyword,
        known,
    }
}

/// The known field names `pattern` (`*` any run) matches.
pub fn matching(pattern: &quarry_eql::text::Wild) -> Vec<&'static str> {
    table()
        .leaves
        .iter()
        .filter(|l| pattern.matches(l))
        .map(String::as_str)
        .collect()
}

/// The text-typed fields (to read free text against): (field, analyzer),
/// multi-fields excluded (they read their parent, a keyword).
pub fn text_fields() -> Vec<(&'static str, Analyzer)> {
    let t = table();
    let mut out: Vec<(&'static str, Analyzer)> = t
        .types
        .iter()
        .filter_map(|(k, (ty, multi))| match ty {
            FieldType::Text(a) if !multi => Some((k.as_str(), *a)),
            _ => None,
        })
        .collect();
    out.sort_by_key(|(k, _)| *k);
    out
}

/// The known field name nearest to `name` (edit distance), if one is
/// reasonably near (at most a third of the name's length away). Each name
/// is measured against the whole schema once a process: Elastic's rules
/// name the same unknown fields again and again.
pub fn nearest(name: &str) -> Option<&'static str> {
    static SEEN: OnceLock<Mutex<FxHashMap<String, Option<&'static str>>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    if let Some(n) = seen.lock().ok().and_then(|m| m.get(name).copied()) {
        return n;
    }
    let n = measure_nearest(name);
    if let Ok(mut m) = seen.lock() {
        m.insert(name.to_string(), n);
    }
    n
}

fn measure_nearest(name: &str) -> Option<&'static str> {
    let t = table();
    let limit = (name.chars().count() / 3).max(2);
    let mut best: Option<(usize, &'static str)> = None;
    let top = name.split('.').next().unwrap_or(name);
    // names under the same top-level name first: a tight bound early
    let (same, other): (Vec<&String>, Vec<&String>) = t
        .leaves
        .iter()
        .partition(|l| l.split('.').next() == Some(top));
    for cand in same.into_iter().chain(other) {
        let bound = best.map_or(limit, |(d, _)| d.saturating_sub(1));
        if cand.len().abs_diff(name.len()) > bound {
            continue;
        }
        if let Some(d) = distance_within(name, cand, bound) {
            best = Some((d, cand.as_str()));
            if d == 1 {
                break;
            }
        }
    }
    best.map(|(_, n)| n)
}

/// Levenshtein distance of two names, if at most `max` (bytes: names are
/// ASCII).
fn distance_within(a: &str, b: &str, max: usize) -> Option<usize> {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        let mut row_min = cur[0];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_from_the_table() {
        let r = |n: &str| resolve(n);
        assert_eq!(r("process.name").ty, FieldType::Keyword);
        assert!(r("process.name").known);
        assert_eq!(r("process.command_line").ty, FieldType::Keyword);
        assert_eq!(r("destination.port").ty, FieldType::Number);
        assert_eq!(r("source.ip").ty, FieldType::Ip);
        assert_eq!(r("@timestamp").ty, FieldType::Date);
        assert_eq!(r("process.code_signature.trusted").ty, FieldType::Boolean);
        assert_eq!(r("message").ty, FieldType::Text(Analyzer::Standard));
        assert_eq!(
            r("powershell.file.script_block_text").ty,
            FieldType::Text(Analyzer::WordsAndDashes)
        );
        assert_eq!(r("process.parent").ty, FieldType::Object);
        // multi-fields read their parent
        let t = r("process.command_line.text");
        assert_eq!(
            (t.path.as_str(), t.ty),
            ("process.command_line", FieldType::Text(Analyzer::Standard))
        );
        let c = r("process.name.caseless");
        assert_eq!(
            (c.path.as_str(), c.ty, c.known),
            ("process.name", FieldType::Caseless, true)
        );
        // below an object of arbitrary keys
        assert!(r("labels.anything").known);
        assert!(!r("process.nmae").known);
    }

    #[test]
    fn nearest_known_name() {
        assert_eq!(nearest("process.nmae"), Some("process.name"));
        assert_eq!(nearest("destination.prot"), Some("destination.port"));
        assert_eq!(nearest("zzzzzzzzzzzzzzzzzz.qqqqq"), None);
        assert_eq!(distance_within("kitten", "sitting", 3), Some(3));
        assert_eq!(distance_within("kitten", "sitting", 2), None);
    }
}
