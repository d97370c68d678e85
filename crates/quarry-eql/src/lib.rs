//! quarry's EQL engine, with Elasticsearch's semantics.
//!
//! [`lexer`] → [`parser`] → [`ast`] → [`mod@compile`] (resolved fields, built
//! patterns, folded constants) → [`eval`] over the shared ECS
//! [`quarry_event::Event`]; [`sequence`] and [`sample`] hold the stateful
//! matching of sequences and samples, keyed by join key so work partitions by host.
//!
//! ```
//! let q = quarry_eql::compile(r#"process where process.parent.name : "dns.exe""#, &Default::default()).unwrap();
//! let mut ev = quarry_event::Event::default();
//! ev.set("event.category", vec!["process"]);
//! ev.set("process.parent.name", "DNS.EXE");
//! assert!(q.matches(&ev));
//! ```

pub mod ast;
pub mod compile;
pub mod error;
pub mod eval;
pub mod glob;
pub mod known;
pub mod lexer;
pub mod parser;
pub mod sample;
pub mod sequence;
pub mod text;
pub mod value;

pub use error::EqlError;
pub use value::V;

use ast::{Body, Pipe};
use compile::{C, Compiler, FieldRef};
use quarry_event::{Event, Value};
use rustc_hash::FxHashMap;

/// How a query reads events.
#[derive(Debug, Clone)]
pub struct Options {
    /// The field `category where` tests (default `event.category`).
    pub category_field: String,
    /// Orders events (default `@timestamp`).
    pub timestamp_field: String,
    /// Orders events with equal timestamps.
    pub tiebreaker: Option<String>,
    /// At most this many results (default: all).
    pub size: Option<usize>,
    /// Samples kept per join key (default 1, as Elasticsearch).
    pub max_samples_per_key: usize,
    pub mapping: Option<Mapping>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            category_field: "event.category".into(),
            timestamp_field: "@timestamp".into(),
            tiebreaker: None,
            size: None,
            max_samples_per_key: 1,
            mapping: None,
        }
    }
}

/// A mapping file that is not JSON (after its `#` comment lines are dropped).
#[derive(Debug, thiserror::Error)]
#[error("mapping is not JSON: {0}")]
pub struct MappingError(#[source] serde_json::Error);

/// What an Elasticsearch index mapping tells the engine: field aliases,
/// types (`date`, `ip`, `version`, …) and `null_value`s.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    pub aliases: FxHashMap<String, String>,
    pub types: FxHashMap<String, String>,
    pub null_values: FxHashMap<String, Value>,
    /// Custom `format`s of date fields (Java patterns such as `dd-MM-yyyy`);
    /// a field mapped differently in several indices keeps them all.
    pub date_formats: FxHashMap<String, Vec<String>>,
}

impl Mapping {
    /// Reads `{"properties": {…}}` (or `{"mappings": {"properties": …}}`).
    pub fn from_json(doc: &serde_json::Value) -> Mapping {
        let mut m = Mapping::default();
        let props = doc.get("mappings").unwrap_or(doc).get("properties");
        if let Some(p) = props {
            m.walk("", p);
        }
        m
    }

    /// Reads a mapping file; `#` comment lines and the suites'
    /// `[runtime_random_keyword_type]` placeholders are accepted.
    pub fn from_text(text: &str) -> Result<Mapping, MappingError> {
        let cleaned: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("[runtime_random_keyword_type]", "keyword");
        let doc: serde_json::Value = serde_json::from_str(&cleaned).map_err(MappingError)?;
        Ok(Mapping::from_json(&doc))
    }

    fn walk(&mut self, prefix: &str, props: &serde_json::Value) {
        let Some(obj) = props.as_object() else { return };
        for (name, def) in obj {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            if let Some(sub) = def.get("properties") {
                self.walk(&path, sub);
            }
            match def.get("type").and_then(|t| t.as_str()) {
                Some("alias") => {
                    if let Some(target) = def.get("path").and_then(|p| p.as_str()) {
                        self.aliases.insert(path.clone(), target.to_string());
                    }
                }
                Some(t) => {
                    self.types.insert(path.clone(), t.to_string());
                }
                None => {}
            }
            if let Some(fmt) = def.get("format").and_then(|f| f.as_str()) {
                self.date_formats
                    .entry(path.clone())
                    .or_default()
                    .extend(fmt.split("||").map(str::to_string));
            }
            if let Some(nv) = def.get("null_value") {
                self.null_values.insert(path.clone(), Value::from_json(nv));
            }
        }
    }

    /// Adds another index's mapping (a query over several indices).
    pub fn merge(&mut self, other: Mapping) {
        self.aliases.extend(other.aliases);
        self.types.extend(other.types);
        self.null_values.extend(other.null_values);
        for (k, v) in other.date_formats {
            self.date_formats.entry(k).or_default().extend(v);
        }
    }

    /// Is the field known to the mapping (as a field, an alias, or the
    /// parent object of fields)?
    pub fn is_mapped(&self, path: &str) -> bool {
        let prefix = format!("{path}.");
        self.aliases.contains_key(path)
            || self.types.contains_key(path)
            || self.types.keys().any(|k| k.starts_with(&prefix))
    }

    pub fn resolve<'a>(&'a self, path: &'a str) -> &'a str {
        self.aliases.get(path).map(String::as_str).unwrap_or(path)
    }
}

/// One result of [`Query::run`].
#[derive(Debug, Clone)]
pub enum Hit {
    Event(Event),
    /// A matched sequence: its join-key values and its events in term
    /// order; `None` stands for a missing-event term `![…]`.
    Sequence {
        join_keys: Vec<serde_json::Value>,
        events: Vec<Option<Event>>,
    },
    Sample {
        join_keys: Vec<serde_json::Value>,
        events: Vec<Event>,
    },
}

/// Where an event sorts among an event query's results
/// ([`Query::order_key`]): its timestamp, then its tiebreaker.
#[derive(Debug, Clone)]
pub struct OrderKey(i64, Option<V<'static>>);

/// An event filter: category plus condition.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    category: Option<String>,
    condition: C,
    /// The condition leads with a test on a specific field, which rejects
    /// more events than the category does: run it first.
    condition_first: bool,
}

/// A compiled EQL statement.
#[derive(Debug, Clone)]
pub struct Query {
    body: QueryBody,
    pipes: Vec<Pipe>,
    category_field: FieldRef,
    timestamp: FieldRef,
    tiebreaker: Option<FieldRef>,
    size: Option<usize>,
    max_samples_per_key: usize,
}

#[derive(Debug, Clone)]
enum QueryBody {
    Event(Filter),
    Sequence(sequence::Sequence),
    Sample(sample::Sample),
}

/// Parses and compiles a query. Errors show the query with a caret.
pub fn compile(query: &str, opts: &Options) -> Result<Query, EqlError> {
    let st = parser::parse(query)?;
    compile_statement(&st, query, opts)
}

/// Compiles a parsed statement: the one entry into the compiled form for
/// every rule language. EQL parses its text to an [`ast::Statement`]; other
/// front-ends (KQL, Sigma) lower their own syntax to the same tree and come
/// here, so every language shares one evaluation, one literal index and one
/// alert path. `src` is the text positions in the tree point into (used for
/// error carets).
pub fn compile_statement(
    st: &ast::Statement,
    src: &str,
    opts: &Options,
) -> Result<Query, EqlError> {
    let cx = Compiler::new(src, opts.mapping.as_ref());
    let filter = |q: &ast::EventQuery| -> Result<Filter, EqlError> {
        let condition = compile::reorder(cx.compile(&q.condition)?);
        Ok(Filter {
            category: q.category.clone(),
            condition_first: compile::leads_with_specific_test(&condition),
            condition,
        })
    };
    let body = match &st.body {
        Body::Event(q) => QueryBody::Event(filter(q)?),
        Body::Sequence {
            keys,
            maxspan_ms,
            terms,
            until,
        } => QueryBody::Sequence(sequence::Sequence::compile(
            &cx,
            keys,
            *maxspan_ms,
            terms,
            until.as_ref(),
            &filter,
        )?),
        Body::Sample { keys, terms } => {
            QueryBody::Sample(sample::Sample::compile(&cx, keys, terms, &filter)?)
        }
    };
    let mut ts = cx.field(&opts.timestamp_field);
    ts.kind = compile::FieldKind::Date;
    Ok(Query {
        body,
        pipes: st.pipes.clone(),
        category_field: cx.field(&opts.category_field),
        timestamp: ts,
        tiebreaker: opts.tiebreaker.as_deref().map(|t| cx.field(t)),
        size: opts.size,
        max_samples_per_key: opts.max_samples_per_key.max(1),
    })
}

impl Filter {
    #[inline]
    pub(crate) fn matches(&self, ev: &Event, category_field: &FieldRef) -> bool {
        // `cat where e` is `category == cat and e`: either order gives the
        // same answer, so the more selective test runs first
        let category_ok = || match &self.category {
            Some(cat) => eval::field(category_field, ev)
                .each()
                .iter()
                .any(|x| matches!(x, V::Str(s) if s == cat)),
            None => true,
        };
        if self.condition_first && !eval::truthy(&self.condition, ev) {
            return false;
        }
        category_ok() && (self.condition_first || eval::truthy(&self.condition, ev))
    }

    /// [`Filter::matches`] with the event's category value already read
    /// (a sequence tests several terms against each event).
    #[inline]
    pub(crate) fn matches_in(&self, ev: &Event, categories: &V) -> bool {
        if let Some(cat) = &self.category
            && !categories
                .each()
                .iter()
                .any(|x| matches!(x, V::Str(s) if s == cat))
        {
            return false;
        }
        eval::truthy(&self.condition, ev)
    }
}

impl Query {
    /// True for a plain event query (no sequence or sample).
    pub fn is_event_query(&self) -> bool {
        matches!(self.body, QueryBody::Event(_))
    }

    /// Does one event match? For event queries; a sequence or sample
    /// answers whether the event matches any of its terms.
    pub fn matches(&self, ev: &Event) -> bool {
        match &self.body {
            QueryBody::Event(f) => f.matches(ev, &self.category_field),
            QueryBody::Sequence(s) => s.filters().any(|f| f.matches(ev, &self.category_field)),
            QueryBody::Sample(s) => s.filters().any(|f| f.matches(ev, &self.category_field)),
        }
    }

    /// The literals every event the query matches holds in its field values,
    /// as clauses of alternatives (see [`compile::required_literals`]); empty
    /// for sequences and samples, and when nothing is certain.
    pub fn required_literals(&self) -> Vec<Vec<String>> {
        match &self.body {
            QueryBody::Event(f) => compile::required_literals(&f.condition),
            _ => Vec::new(),
        }
    }

    /// What every event the query matches holds, field by field, as
    /// clauses of alternatives (see [`compile::required_needs_by`], whose
    /// `pick` also narrows `or`s of several clauses a side). For a sequence
    /// or sample, whose events match one of its filters (the `until` one
    /// too), one clause: the union of the clause `pick` chooses of each
    /// filter's; none when some filter requires nothing.
    pub fn required_needs_by(&self, pick: compile::Pick) -> Vec<Vec<compile::Need>> {
        let filters: Vec<&Filter> = match &self.body {
            QueryBody::Event(f) => return compile::required_needs_by(&f.condition, pick),
            QueryBody::Sequence(s) => s.filters().collect(),
            QueryBody::Sample(s) => s.filters().collect(),
        };
        let mut union: Vec<compile::Need> = Vec::new();
        for f in filters {
            let clauses = compile::required_needs_by(&f.condition, pick);
            let chosen = match clauses.len() {
                0 => return Vec::new(),
                1 => Some(0),
                _ => pick(&clauses),
            };
            let Some(clause) = chosen.and_then(|i| clauses.into_iter().nth(i)) else {
                return Vec::new();
            };
            union.extend(clause);
        }
        union.sort();
        union.dedup();
        if union.is_empty() {
            Vec::new()
        } else {
            vec![union]
        }
    }

    /// The event category an event query selects (`None` for `any`).
    pub fn category(&self) -> Option<&str> {
        match &self.body {
            QueryBody::Event(f) => f.category.as_deref(),
            _ => None,
        }
    }

    /// The event categories the query's filters name (`any` left out).
    pub fn categories(&self) -> Vec<&str> {
        let filters: Vec<&Filter> = match &self.body {
            QueryBody::Event(f) => vec![f],
            QueryBody::Sequence(s) => s.filters().collect(),
            QueryBody::Sample(s) => s.filters().collect(),
        };
        filters
            .iter()
            .filter_map(|f| f.category.as_deref())
            .collect()
    }

    /// The fields the query reads.
    pub fn fields(&self) -> Vec<String> {
        let mut out = vec![
            self.category_field.path().to_string(),
            self.timestamp.path().to_string(),
        ];
        let filters: Vec<&Filter> = match &self.body {
            QueryBody::Event(f) => vec![f],
            QueryBody::Sequence(s) => {
                s.key_fields(&mut out);
                s.filters().collect()
            }
            QueryBody::Sample(s) => {
                s.key_fields(&mut out);
                s.filters().collect()
            }
        };
        for f in filters {
            compile::fields(&f.condition, &mut out);
        }
        if let Some(t) = &self.tiebreaker {
            out.push(t.path().to_string());
        }
        out.sort();
        out.dedup();
        out
    }

    /// The ordering key of an event: timestamp, then tiebreaker.
    pub(crate) fn sort_key(&self, ev: &Event) -> OrderKey {
        let ts = match eval::field(&self.timestamp, ev) {
            V::Date(t) => t,
            V::Int(i) => i,
            _ => ev.timestamp.unwrap_or(i64::MIN),
        };
        let tb = self
            .tiebreaker
            .as_ref()
            .map(|t| eval::field(t, ev).into_owned());
        OrderKey(ts, tb)
    }

    /// Runs the query over events with Elasticsearch's full semantics:
    /// ordering by timestamp then tiebreaker, sequences, samples, pipes.
    pub fn run(&self, events: Vec<Event>) -> Vec<Hit> {
        if let QueryBody::Event(f) = &self.body {
            let matching = events
                .into_iter()
                .filter(|e| f.matches(e, &self.category_field))
                .collect();
            return self.run_matching(matching);
        }
        self.run_slice(&events)
    }

    /// Where an event sorts among this query's results (see
    /// [`Query::order_matches`]).
    pub fn order_key(&self, ev: &Event) -> OrderKey {
        self.sort_key(ev)
    }

    /// An event query's matches, each kept as whatever its caller needs
    /// (a rendered line, say, rather than the event), put in the order
    /// Elasticsearch returns them (timestamp, tiebreaker, then input
    /// order) with `head`, `tail` and `size` applied.
    pub fn order_matches<T>(&self, items: Vec<(OrderKey, T)>) -> Vec<T> {
        // the keys are sorted with their positions (unique, so an unstable
        // sort keeps the input order of equal keys), then the items moved
        // once into place, however large they are
        let (mut keys, mut slots): (Vec<(OrderKey, usize)>, Vec<Option<T>>) = items
            .into_iter()
            .enumerate()
            .map(|(i, (key, item))| ((key, i), Some(item)))
            .unzip();
        keys.sort_unstable_by(|(a, i), (b, j)| Self::key_order(a, b).then(i.cmp(j)));
        let ordered = keys
            .into_iter()
            .filter_map(|(_, i)| slots[i].take())
            .collect();
        self.finish(ordered)
    }

    /// [`Query::run`] over events already known to match an event query
    /// (a reader that filtered with [`Query::matches`]): they are only
    /// ordered ([`Query::order_matches`]), moved into hits, not tested or
    /// copied again. Sequences and samples run as [`Query::run`].
    pub fn run_matching(&self, events: Vec<Event>) -> Vec<Hit> {
        if !matches!(self.body, QueryBody::Event(_)) {
            return self.run(events);
        }
        let keyed = events
            .into_iter()
            .map(|e| (self.sort_key(&e), Hit::Event(e)))
            .collect();
        self.order_matches(keyed)
    }

    fn key_order(a: &OrderKey, b: &OrderKey) -> std::cmp::Ordering {
        a.0.cmp(&b.0).then_with(|| match (&a.1, &b.1) {
            (Some(x), Some(y)) => eval::order(x, y).unwrap_or(std::cmp::Ordering::Equal),
            _ => std::cmp::Ordering::Equal,
        })
    }

    /// [`Query::run`] over borrowed events: only the events that end up in
    /// results are copied.
    pub fn run_slice(&self, events: &[Event]) -> Vec<Hit> {
        let mut keyed: Vec<(OrderKey, &Event)> =
            events.iter().map(|e| (self.sort_key(e), e)).collect();
        keyed.sort_by(|(a, _), (b, _)| Self::key_order(a, b));
        let times: Vec<i64> = keyed.iter().map(|(k, _)| k.0).collect();
        let events: Vec<&Event> = keyed.into_iter().map(|(_, e)| e).collect();
        let hits: Vec<Hit> = match &self.body {
            QueryBody::Event(f) => events
                .into_iter()
                .filter(|e| f.matches(e, &self.category_field))
                .map(|e| Hit::Event(e.clone()))
                .collect(),
            QueryBody::Sequence(s) => s.run(&events, &times, &self.category_field),
            QueryBody::Sample(s) => s.run(&events, &self.category_field, self.max_samples_per_key),
        };
        self.finish(hits)
    }

    /// Applies the pipes and the size limit.
    fn finish<T>(&self, mut hits: Vec<T>) -> Vec<T> {
        for p in &self.pipes {
            match *p {
                Pipe::Head(n) => hits.truncate(n),
                Pipe::Tail(n) => {
                    let skip = hits.len().saturating_sub(n);
                    hits.drain(..skip);
                }
            }
        }
        if let Some(n) = self.size {
            hits.truncate(n);
        }
        hits
    }
}
