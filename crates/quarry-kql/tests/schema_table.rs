//! The committed field-type table (`src/schema_table.rs`) is what the
//! schemas in `../shared/rules/elastic/schemas` say: regenerate it with
//! `QUARRY_KQL_WRITE_SCHEMA=1 cargo test -p quarry-kql --test schema_table -- --ignored`.
//!
//! The table is a tree of dotted names, one top-level name a line:
//! `name[:t][{children}]`, children separated by `,`. Types that differ
//! from `keyword` carry a letter: `n` number, `d` date, `b` boolean, `i`
//! ip, `t` text (standard analyzer), `p` text (the PowerShell pattern
//! analyzer), `T` a `text` multi-field of its parent (standard analyzer),
//! `f` an object of arbitrary keys (`flattened`, `object`), `g` another
//! non-string type (`geo_point`, …), `k` a keyword leaf that also has
//! children. A name without a letter and without children is a keyword.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

fn shared() -> PathBuf {
    std::env::var_os("QUARRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

/// Fields analysed by a pattern analyzer rather than the standard one.
/// The schemas only say `text`; the analyzer is in the Windows
/// integration's index template (`powershell_script_analyzer`, formerly
/// winlogbeat's `winlogbeat_powershell_script_analyzer`:
/// `{"type": "pattern", "pattern": "[\\W&&[^-]]+"}`).
const PATTERN_ANALYSED: &[&str] = &["powershell.file.script_block_text"];

fn letter(es_type: &str) -> Option<char> {
    Some(match es_type {
        "keyword" | "wildcard" | "constant_keyword" | "version" => return None,
        "long" | "integer" | "short" | "byte" | "float" | "double" | "scaled_float"
        | "half_float" | "unsigned_long" => 'n',
        "date" | "date_nanos" => 'd',
        "boolean" => 'b',
        "ip" => 'i',
        "text" | "match_only_text" => 't',
        "flattened" | "object" => 'f',
        "nested" => return None,
        _ => 'g',
    })
}

#[derive(Default)]
struct Node {
    ty: Option<char>,
    leaf: bool,
    kids: BTreeMap<String, Node>,
}

impl Node {
    fn insert(&mut self, path: &str, ty: Option<char>, leaf: bool) {
        let mut n = self;
        for seg in path.split('.') {
            assert!(
                !seg.contains(['{', '}', ',', ':', '\n']),
                "field name {path:?} has a character the table format reserves"
            );
            n = n.kids.entry(seg.to_string()).or_default();
        }
        if n.ty.is_none() && !n.leaf {
            n.ty = ty;
            n.leaf = leaf;
        }
    }

    fn write(&self, out: &mut String) {
        let mut first = true;
        for (name, k) in &self.kids {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(name);
            let ty = match (k.ty, k.leaf, k.kids.is_empty()) {
                (Some(t), _, _) => Some(t),
                (None, true, false) => Some('k'),
                _ => None,
            };
            if let Some(t) = ty {
                out.push(':');
                out.push(t);
            }
            if !k.kids.is_empty() {
                out.push('{');
                k.write(out);
                out.push('}');
            }
        }
    }
}

fn walk_non_ecs(prefix: &str, v: &serde_json::Value, root: &mut Node) {
    let Some(obj) = v.as_object() else { return };
    for (k, v) in obj {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            serde_json::Value::String(t) => root.insert(&path, letter(t), t != "nested"),
            _ => walk_non_ecs(&path, v, root),
        }
    }
}

fn generate() -> String {
    let dir = shared().join("rules/elastic/schemas");
    let mut gz = Vec::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(dir.join("ecs_flat.json.gz")).expect("ecs_flat.json.gz"),
    )
    .read_to_end(&mut gz)
    .expect("gunzips");
    let ecs: serde_json::Value = serde_json::from_slice(&gz).expect("ECS is JSON");
    let mut root = Node::default();
    for (name, def) in ecs.as_object().expect("an object") {
        let t = def["type"].as_str().unwrap_or("keyword");
        root.insert(name, letter(t), t != "nested" && t != "object");
        if t == "object" {
            root.insert(name, Some('f'), true);
        }
        for mf in def
            .get("multi_fields")
            .and_then(|m| m.as_array())
            .into_iter()
            .flatten()
        {
            let flat = mf["flat_name"].as_str().expect("flat_name");
            let mt = mf["type"].as_str().unwrap_or("keyword");
            let l = match letter(mt) {
                Some('t') => Some('T'),
                other => other,
            };
            root.insert(flat, l, true);
        }
    }
    // the non-ECS schema adds fields per index pattern; ECS comes first
    let non: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("non-ecs-schema.json")).expect("non-ecs-schema.json"),
    )
    .expect("non-ECS is JSON");
    for (_index, fields) in non.as_object().expect("an object") {
        walk_non_ecs("", fields, &mut root);
    }
    for p in PATTERN_ANALYSED {
        let mut n = &mut root;
        for seg in p.split('.') {
            n = n
                .kids
                .get_mut(seg)
                .expect("pattern-analysed field is in the schemas");
        }
        assert_eq!(n.ty, Some('t'), "{p} is text");
        n.ty = Some('p');
    }
    let mut out = String::from(
        "//! Field types of the ECS and non-ECS schemas of elastic/detection-rules\n\
         //! (`rules/elastic/schemas`), generated by `tests/schema_table.rs`: do not\n\
         //! edit. Format: see `schema.rs`.\n\n\
         pub(crate) const TREE: &str = \"\\\n",
    );
    for (name, k) in &root.kids {
        // one top-level name (with its children) a line
        let mut line = String::new();
        let mut top = Node::default();
        top.kids.insert(name.clone(), root_clone(k));
        top.write(&mut line);
        out.push_str(&line.replace('\\', "\\\\").replace('"', "\\\""));
        out.push_str("\\n\\\n");
    }
    out.push_str("\";\n");
    out
}

fn root_clone(n: &Node) -> Node {
    Node {
        ty: n.ty,
        leaf: n.leaf,
        kids: n
            .kids
            .iter()
            .map(|(k, v)| (k.clone(), root_clone(v)))
            .collect(),
    }
}

#[test]
#[ignore = "needs ../shared"]
fn committed_table_matches_the_schemas() {
    let want = generate();
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src/schema_table.rs"));
    if std::env::var_os("QUARRY_KQL_WRITE_SCHEMA").is_some() {
        std::fs::write(&path, &want).expect("writes the table");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "src/schema_table.rs differs from the schemas: regenerate it with \
         QUARRY_KQL_WRITE_SCHEMA=1 cargo test -p quarry-kql --test schema_table -- --ignored"
    );
}
