//! Exception files: user-written conditions that suppress a rule's alerts.
//!
//! The file is TOML with one `[[exception]]` table per exception:
//!
//! ```toml
//! [[exception]]
//! name = "ReasonLabs crash reporter on DNS01"
//! rule_id = "cce600ed-3a6d-427c-8cd0-ba66d7f57a2b"  # optional: all rules when absent
//! description = "why this is benign"                 # optional
//!
//! [[exception.entries]]
//! field = "process.executable"
//! operator = "is"          # is | is_one_of | matches | exists
//! value = "C:\\Program Files\\ReasonLabs\\DNS\\crash.exe"
//!
//! [[exception.entries]]
//! field = "host.name"
//! operator = "is_one_of"
//! values = ["DNS01", "dns01.corp.example"]
//! ```
//!
//! All entries of one exception must hold (AND). Operators:
//! `is` — the field equals the value exactly (case-sensitive, like a keyword
//! field in Kibana); `is_one_of` — equals one of `values`; `matches` —
//! case-insensitive wildcard (`*` any run, `?` one character) against `value`
//! or any of `values`; `exists` — the field is present. A multi-valued field
//! matches when any of its values does; numbers compare by their text.

use quarry_eql::glob::Glob;
use quarry_event::{Event, Value};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Loaded exceptions, in file order.
#[derive(Debug, Clone, Default)]
pub struct Exceptions {
    pub exceptions: Vec<Exception>,
}

/// One exception: a name, an optional rule it applies to, and its entries.
#[derive(Debug, Clone)]
pub struct Exception {
    pub name: String,
    pub rule_id: Option<String>,
    pub description: Option<String>,
    pub entries: Vec<ExceptionEntry>,
}

/// One condition on one field.
#[derive(Debug, Clone)]
pub struct ExceptionEntry {
    pub field: String,
    pub operator: Operator,
    /// `matches` patterns, compiled once.
    globs: Vec<Glob>,
}

/// The test an entry applies to its field.
#[derive(Debug, Clone)]
pub enum Operator {
    Is(String),
    IsOneOf(Vec<String>),
    Matches(Vec<String>),
    Exists,
}

/// Why an exceptions file could not be loaded.
#[derive(Debug, Clone)]
pub struct ExceptionsError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for ExceptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for ExceptionsError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    exception: Vec<RawException>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawException {
    name: String,
    rule_id: Option<String>,
    description: Option<String>,
    #[serde(default)]
    entries: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    field: String,
    operator: String,
    value: Option<String>,
    values: Option<Vec<String>>,
}

impl Exceptions {
    /// Reads and validates an exceptions file.
    pub fn load(path: &Path) -> Result<Exceptions, ExceptionsError> {
        let text = std::fs::read_to_string(path).map_err(|e| ExceptionsError {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Exceptions::parse(&text, path)
    }

    /// Parses exceptions from text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Exceptions, ExceptionsError> {
        let err = |message: String| ExceptionsError {
            path: path.to_path_buf(),
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut exceptions = Vec::with_capacity(raw.exception.len());
        for (i, x) in raw.exception.into_iter().enumerate() {
            if x.entries.is_empty() {
                return Err(err(format!(
                    "exception {} ({:?}) has no entries",
                    i + 1,
                    x.name
                )));
            }
            let mut entries = Vec::with_capacity(x.entries.len());
            for e in x.entries {
                let operator = compile(&e).map_err(|m| {
                    err(format!(
                        "exception {} ({:?}), field {:?}: {m}",
                        i + 1,
                        x.name,
                        e.field
                    ))
                })?;
                let globs = match &operator {
                    Operator::Matches(pats) => pats.iter().map(|p| Glob::new(p, true)).collect(),
                    _ => Vec::new(),
                };
                entries.push(ExceptionEntry {
                    field: e.field,
                    operator,
                    globs,
                });
            }
            exceptions.push(Exception {
                name: x.name,
                rule_id: x.rule_id,
                description: x.description,
                entries,
            });
        }
        Ok(Exceptions { exceptions })
    }

    /// The index of the first exception that applies to `rule_id` and whose
    /// entries all match the event, if any.
    pub fn suppresses(&self, rule_id: &str, ev: &Event) -> Option<usize> {
        self.exceptions.iter().position(|x| {
            x.rule_id.as_deref().is_none_or(|r| r == rule_id)
                && x.entries.iter().all(|e| e.matches(ev))
        })
    }

    pub fn len(&self) -> usize {
        self.exceptions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.exceptions.is_empty()
    }
}

fn compile(e: &RawEntry) -> Result<Operator, String> {
    let all: Vec<String> = e
        .value
        .iter()
        .cloned()
        .chain(e.values.iter().flatten().cloned())
        .collect();
    match e.operator.as_str() {
        "is" => match (&e.value, &e.values) {
            (Some(v), None) => Ok(Operator::Is(v.clone())),
            _ => Err("operator \"is\" takes exactly one `value`".into()),
        },
        "is_one_of" if !all.is_empty() => Ok(Operator::IsOneOf(all)),
        "matches" if !all.is_empty() => Ok(Operator::Matches(all)),
        "is_one_of" | "matches" => Err(format!("operator {:?} needs `values`", e.operator)),
        "exists" if all.is_empty() => Ok(Operator::Exists),
        "exists" => Err("operator \"exists\" takes no value".into()),
        other => Err(format!(
            "unknown operator {other:?} (is, is_one_of, matches, exists)"
        )),
    }
}

impl ExceptionEntry {
    /// Whether the event's field satisfies this entry.
    pub fn matches(&self, ev: &Event) -> bool {
        let Some(v) = ev.get(&self.field) else {
            return false;
        };
        if matches!(self.operator, Operator::Exists) {
            return !v.is_null();
        }
        v.iter()
            .filter_map(Value::to_text)
            .any(|t| match &self.operator {
                Operator::Is(want) => *t == **want,
                Operator::IsOneOf(wants) => wants.iter().any(|w| *t == **w),
                Operator::Matches(_) => self.globs.iter().any(|g| g.matches(&t)),
                Operator::Exists => true,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_event::Origin;

    const FILE: &str = r#"
[[exception]]
name = "crash reporter"
rule_id = "r1"
[[exception.entries]]
field = "process.executable"
operator = "matches"
value = "?:\\program files\\reasonlabs\\*"
[[exception.entries]]
field = "host.name"
operator = "is_one_of"
values = ["DNS01", "DNS02"]

[[exception]]
name = "any rule, tagged"
[[exception.entries]]
field = "tags"
operator = "is"
value = "lab"
[[exception.entries]]
field = "user.id"
operator = "exists"
"#;

    fn ev() -> Event {
        let mut e = Event::new(Origin::default());
        e.set(
            "process.executable",
            "C:\\Program Files\\ReasonLabs\\DNS\\crash.exe",
        );
        e.set("host.name", "DNS02");
        e
    }

    #[test]
    fn all_entries_must_match() {
        let x = Exceptions::parse(FILE, Path::new("x.toml")).expect("parses");
        assert_eq!(x.len(), 2);
        let mut e = ev();
        assert_eq!(x.suppresses("r1", &e), Some(0));
        assert_eq!(x.suppresses("r2", &e), None);
        e.set("host.name", "DNS03");
        assert_eq!(x.suppresses("r1", &e), None);
        // multi-valued field: any value; applies to every rule
        e.set(
            "tags",
            Value::Array(vec![Value::Str("prod".into()), Value::Str("lab".into())]),
        );
        assert_eq!(x.suppresses("r2", &e), None); // user.id missing
        e.set("user.id", "S-1-5-18");
        assert_eq!(x.suppresses("r2", &e), Some(1));
        // `is` is exact
        e.set("tags", "Lab");
        assert_eq!(x.suppresses("r2", &e), None);
    }

    #[test]
    fn numbers_compare_by_text() {
        let x = Exceptions::parse(
            "[[exception]]\nname = \"n\"\n[[exception.entries]]\nfield = \"event.code\"\noperator = \"is\"\nvalue = \"4688\"\n",
            Path::new("x.toml"),
        )
        .expect("parses");
        let mut e = Event::new(Origin::default());
        e.set("event.code", Value::Int(4688));
        assert_eq!(x.suppresses("any", &e), Some(0));
    }

    #[test]
    fn errors_name_the_problem() {
        let bad = FILE.replace("\"matches\"", "\"like\"");
        let e = Exceptions::parse(&bad, Path::new("x.toml")).expect_err("bad operator");
        assert!(e.message.contains("unknown operator"), "{e}");
        let e = Exceptions::parse("[[exception]]\nname = 1", Path::new("x.toml"))
            .expect_err("bad toml");
        assert!(e.to_string().contains("x.toml"));
        let e = Exceptions::parse("[[exception]]\nname = \"n\"\n", Path::new("x.toml"))
            .expect_err("no entries");
        assert!(e.message.contains("no entries"));
    }

    #[test]
    fn example_file_loads() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/exceptions.toml");
        let x = Exceptions::load(&p).expect("example loads");
        assert!(!x.is_empty());
    }
}
