//! `quarry search`: run an EQL query over evidence.

use crate::output::{self, Column, Format, Rows, ndjson};
use quarry_alert::PackedEvents;
use quarry_eql::{Hit, Mapping, Options, compile};
use quarry_event::{Event, Locator};
use serde_json::Value as J;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct SearchArgs {
    /// The EQL query, in Elasticsearch's syntax.
    pub(crate) query: String,
    /// Evidence: files, folders (recursive), globs, .zip/.tar/.gz archives, or - for standard input.
    pub(crate) inputs: Vec<PathBuf>,
    /// Parse and type-check the query only; print the fields it reads.
    #[arg(long)]
    pub(crate) check: bool,
    /// An Elasticsearch index mapping (JSON): field aliases and types (ip, version, date, null_value).
    #[arg(long)]
    pub(crate) mapping: Option<PathBuf>,
    /// The field that orders events.
    #[arg(long, default_value = "@timestamp")]
    pub(crate) timestamp_field: String,
    /// Orders events with equal timestamps.
    #[arg(long)]
    pub(crate) tiebreaker: Option<String>,
    /// The field `category where` tests.
    #[arg(long, default_value = "event.category")]
    pub(crate) category_field: String,
    /// At most this many results (default: all).
    #[arg(long)]
    pub(crate) size: Option<usize>,
    /// Samples per join key in `sample` queries.
    #[arg(long, default_value_t = 1)]
    pub(crate) max_samples_per_key: usize,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Run on Apache Spark through Spark Connect (e.g. sc://spark-host:15002): each file is read
    /// and filtered on the executors; only the matches come back. Needs python3 with pyspark.
    #[arg(long, value_name = "URL")]
    pub(crate) spark: Option<String>,
}

pub fn run(args: SearchArgs) -> std::io::Result<u8> {
    let mapping = match &args.mapping {
        Some(p) => match std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| Mapping::from_text(&t).map_err(|e| e.to_string()))
        {
            Ok(m) => Some(m),
            Err(e) => {
                eprintln!("quarry: --mapping {}: {e}", p.display());
                return Ok(crate::exit::USAGE);
            }
        },
        None => None,
    };
    let opts = Options {
        category_field: args.category_field.clone(),
        timestamp_field: args.timestamp_field.clone(),
        tiebreaker: args.tiebreaker.clone(),
        size: args.size,
        max_samples_per_key: args.max_samples_per_key,
        mapping,
    };
    let query = match compile(&args.query, &opts) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("quarry: the query does not compile: {e}");
            return Ok(crate::exit::USAGE);
        }
    };
    // names checked against ECS only where the data is ECS-named
    let warnings = if args.mapping.is_none() && args.category_field == "event.category" {
        unknown_names(&query)
    } else {
        Vec::new()
    };
    for w in &warnings {
        eprintln!("quarry: warning: {w}");
    }
    if args.check {
        let mut out = std::io::stdout().lock();
        for w in &warnings {
            writeln!(out, "warning: {w}")?;
        }
        writeln!(
            out,
            "ok: {}",
            if query.is_event_query() {
                "event query"
            } else {
                "sequence or sample"
            }
        )?;
        writeln!(out, "fields read: {}", query.fields().join(", "))?;
        return Ok(crate::exit::OK);
    }
    if args.inputs.is_empty() {
        eprintln!("quarry: search needs evidence to read (files, folders or globs), or --check");
        return Ok(crate::exit::USAGE);
    }
    // Keep only events some term of the query can match: memory follows the
    // matches, not the input.
    let push = Pushdown::from_query(query.clone(), args.format.is_tabular());
    let needed = &push.needed;
    // An event projected from a plain ECS line was tested by the projection
    // already; any other is tested here.
    let matches = |ev: &Event| push.matches(ev);
    if query.is_event_query() && args.format == Format::Ndjson {
        // Each match is kept with where it sorts, packed (its document as
        // read included) and put in a scratch file a batch at a time on the
        // reader's threads: the memory of a search that prints every event
        // is its keys'. Only the matches printed are written out as JSON.
        let spill = output::spill::Spill::new();
        // with --spark the reading happens elsewhere: nothing to follow here
        let bar = args.spark.is_none().then(crate::progress::Bar::start);
        let scanned = scan_batched(
            &args,
            &push,
            |ev| {
                matches(&ev).then(|| {
                    let key = query.order_key(&ev);
                    let ev = slim(ev, needed);
                    (key, quarry_alert::pack_echoing(&ev).to_bytes())
                })
            },
            |packed| spill.store(packed),
        );
        drop(bar);
        let Ok((batches, summary)) = scanned else {
            return Ok(crate::exit::USAGE);
        };
        let code = output::report_problems(&summary);
        let ordered = query.order_matches(batches.into_iter().flatten().collect());
        eprintln!("quarry: {} results", ordered.len());
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        spill.each_in_order(&ordered, |bytes| {
            let ev = quarry_alert::Packed::from_bytes(bytes)
                .and_then(|p| p.unpack())
                .ok_or_else(|| std::io::Error::other("a match in the scratch file is damaged"))?;
            out.write_all(&ndjson_line(ev))
        })?;
        out.flush()?;
        return Ok(code);
    }
    if query.is_event_query() {
        // with --spark the reading happens elsewhere: nothing to follow here
        let bar = args.spark.is_none().then(crate::progress::Bar::start);
        let scanned = scan(&args, &push, |ev| {
            matches(&ev).then(|| (query.order_key(&ev), slim(ev, needed)))
        });
        drop(bar);
        let Ok((kept, summary)) = scanned else {
            return Ok(crate::exit::USAGE);
        };
        let code = output::report_problems(&summary);
        let hits: Vec<Hit> = query
            .order_matches(kept)
            .into_iter()
            .map(Hit::Event)
            .collect();
        eprintln!("quarry: {} results", hits.len());
        print(&hits, args.format)?;
        // the process ends here: freeing every hit one by one is wasted work
        std::mem::forget(hits);
        return Ok(code);
    }
    // with --spark the reading happens elsewhere: nothing to follow here
    let bar = args.spark.is_none().then(crate::progress::Bar::start);
    // A sequence's or sample's candidates are held until every one is read:
    // packed whole (what a hit prints) and compressed a batch at a time on
    // the reader's threads, and as a copy of the few fields the query reads
    // (what it is found by). Held as events, the corpus's process and
    // network events took 3.6 GB.
    let fields = quarry_alert::QueryFields::of(&query);
    let scanned = scan_batched(
        &args,
        &push,
        |ev| {
            if !matches(&ev) {
                return None;
            }
            let whole = slim(ev, needed);
            let packed = quarry_alert::pack_echoing(&whole);
            let mut found_by = whole;
            fields.slim(&mut found_by);
            Some((packed, found_by))
        },
        |kept| {
            let mut held = PackedEvents::default();
            let mut found_by = Vec::with_capacity(kept.len());
            for (packed, ev) in kept {
                held.push(&packed);
                found_by.push(ev);
            }
            held.finish();
            (held, found_by)
        },
    );
    drop(bar);
    let Ok((batches, summary)) = scanned else {
        return Ok(crate::exit::USAGE);
    };
    let code = output::report_problems(&summary);
    let mut held = PackedEvents::default();
    let mut events = Vec::new();
    for (packed, found_by) in batches {
        held.append(packed);
        for mut ev in found_by {
            // its place in `held`, where its whole event is found again
            ev.origin.locator = Locator::Index(events.len() as u64);
            events.push(ev);
        }
    }
    let mut hits = query.run(events);
    quarry_alert::put_back_whole(&mut hits, &held);
    eprintln!("quarry: {} results", hits.len());
    print(&hits, args.format)?;
    // the process ends here: freeing every hit one by one is wasted work
    std::mem::forget(hits);
    Ok(code)
}

/// Reads the evidence through `push`'s projection and hands each event to
/// `keep`: here, or with `--spark` on the cluster's executors, where each
/// file is read and filtered and only the matches come back (in input
/// order, as here). `Err` when the Spark run failed (said on stderr).
fn scan<T: Send>(
    args: &SearchArgs,
    push: &Pushdown,
    keep: impl Fn(Event) -> Option<T> + Sync,
) -> Result<(Vec<T>, quarry_read::ReadSummary), u8> {
    match &args.spark {
        Some(url) => crate::spark::search(url, args, keep),
        None => Ok(quarry_read::scan_projected(
            &args.inputs,
            &push.projection,
            keep,
        )),
    }
}

/// [`scan`] for a consumer that folds what it keeps into a compact form as
/// it comes: a few thousand items at a time on the reader's threads, in
/// input order (with `--spark`, the matches that came back, at once).
fn scan_batched<T: Send, U: Send>(
    args: &SearchArgs,
    push: &Pushdown,
    keep: impl Fn(Event) -> Option<T> + Sync,
    batch: impl Fn(Vec<T>) -> U + Sync,
) -> Result<(Vec<U>, quarry_read::ReadSummary), u8> {
    match &args.spark {
        Some(url) => crate::spark::search(url, args, keep)
            .map(|(kept, summary)| (vec![batch(kept)], summary)),
        None => Ok(quarry_read::scan_projected_batched(
            &args.inputs,
            &push.projection,
            keep,
            batch,
        )),
    }
}

/// What the reader needs of a query: the fields it reads and the
/// projection that parses ECS lines for them alone, dropping the lines no
/// term can match. Built once on one machine; with `--spark`, on every
/// executor from the job's [`crate::spark::SearchJob`].
pub(crate) struct Pushdown {
    query: quarry_eql::Query,
    pub(crate) needed: Vec<String>,
    pub(crate) projection: quarry_read::Projection,
}

impl Pushdown {
    /// `tabular`: the table and CSV rows' fields are read too.
    pub(crate) fn from_query(query: quarry_eql::Query, tabular: bool) -> Pushdown {
        // what orders and joins events, and names their index
        let mut needed = query.fields();
        needed.extend(INDEX_FIELDS.iter().map(|f| f.to_string()));
        if tabular {
            needed.extend(ROW_FIELDS.iter().map(|f| f.to_string()));
        }
        // ECS JSON lines are parsed for these fields alone (and echoed as read)
        let pre = query.clone();
        // lines lacking a literal the query requires are only validated
        let projection =
            quarry_read::Projection::new(&needed, INDEX_PREFIXES, move |ev| pre.matches(ev))
                .require_literals(&query.required_literals());
        // records are tested on the query's fields alone, and made whole
        // for a match; but a query that reads no field and holds anyway
        // (`any where true`) holds of every record: it is built once, whole
        let fields = query.fields();
        let projection = if fields.is_empty() && query.matches(&Event::default()) {
            projection
        } else {
            projection.tested_on(&fields)
        };
        Pushdown {
            query,
            needed,
            projection,
        }
    }

    /// The pushdown of a search shipped to an executor.
    pub(crate) fn new(job: &crate::spark::SearchJob) -> Result<Pushdown, String> {
        let mapping = match &job.mapping {
            Some(t) => Some(Mapping::from_text(t).map_err(|e| format!("--mapping: {e}"))?),
            None => None,
        };
        let opts = Options {
            category_field: job.category_field.clone(),
            timestamp_field: job.timestamp_field.clone(),
            tiebreaker: job.tiebreaker.clone(),
            size: job.size,
            max_samples_per_key: job.max_samples_per_key,
            mapping,
        };
        let query =
            compile(&job.query, &opts).map_err(|e| format!("the query does not compile: {e}"))?;
        Ok(Pushdown::from_query(query, job.tabular))
    }

    /// Can some term of the query match `ev`? (An event projected from a
    /// plain ECS line was tested by the projection already.)
    pub(crate) fn matches(&self, ev: &Event) -> bool {
        ev.raw_source.is_some() || self.query.matches(ev)
    }

    /// The events of `inputs` some term of the query can match.
    pub(crate) fn scan(&self, inputs: &[PathBuf]) -> (Vec<Event>, quarry_read::ReadSummary) {
        quarry_read::scan_projected(inputs, &self.projection, |ev| {
            self.matches(&ev).then_some(ev)
        })
    }
}

/// A matched event without the fields nothing reads any more: one echoed
/// from its original document needs only those that order and join it,
/// and those its `_index` is named from.
fn slim(mut ev: Event, needed: &[String]) -> Event {
    if ev.source.is_some() || ev.raw_source.is_some() {
        let (mut endgame, mut winlog) = (false, false);
        ev.retain(|k| {
            needed.iter().any(|n| n == k)
                // index_name looks for any one of these
                || (k.starts_with("endgame.") && !std::mem::replace(&mut endgame, true))
                || (k.starts_with("winlog.") && !std::mem::replace(&mut winlog, true))
        });
    }
    ev
}

/// The start of an event's NDJSON hit, `{"_id":…,"_index":…,"_source":`,
/// which its document as read completes.
fn ndjson_head(ev: &Event) -> Option<Box<[u8]>> {
    let mut head = Vec::with_capacity(128);
    head.extend_from_slice(b"{\"_id\":");
    serde_json::to_writer(&mut head, &ev.origin.to_string()).ok()?;
    head.extend_from_slice(b",\"_index\":");
    serde_json::to_writer(&mut head, &quarry_rules::index_name(ev)).ok()?;
    head.extend_from_slice(b",\"_source\":");
    Some(head.into_boxed_slice())
}

/// An event query's hit as its NDJSON line: a document echoed as read
/// follows a head written here, any other event is written as its ECS form.
fn ndjson_line(mut ev: Event) -> Vec<u8> {
    if let Some(raw) = ev.raw_source.take() {
        if let Some(head) = ndjson_head(&ev) {
            let mut line = Vec::with_capacity(head.len() + raw.len() + 2);
            line.extend_from_slice(&head);
            line.extend_from_slice(raw.as_bytes());
            line.extend_from_slice(b"}\n");
            return line;
        }
        ev.raw_source = Some(raw);
    }
    let mut line = Vec::with_capacity(2048);
    // into a Vec, of values that always serialize: cannot fail
    let _ = ndjson::write_one(&mut line, &HitJson::Event(doc(&ev)));
    line
}

/// The fields `quarry_rules::index_name` reads, and the prefixes it scans for.
const INDEX_FIELDS: &[&str] = &[
    "data_stream.dataset",
    "data_stream.type",
    "data_stream.namespace",
    "event.dataset",
    "agent.type",
];
const INDEX_PREFIXES: &[&str] = &["endgame.", "winlog."];
/// The fields of a table or CSV row.
const ROW_FIELDS: &[&str] = &[
    "host.name",
    "event.category",
    "event.action",
    "event.code",
    "process.executable",
    "process.command_line",
];

/// An event as Elasticsearch's EQL API returns it; `_source` borrows the
/// original document when there is one.
#[derive(serde::Serialize)]
struct Doc<'a> {
    _id: String,
    _index: String,
    _source: Source<'a>,
}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum Source<'a> {
    Original(&'a J),
    Ecs(J),
    /// The document's text as read.
    Raw(Box<serde_json::value::RawValue>),
}

fn doc(ev: &Event) -> Doc<'_> {
    Doc {
        _id: ev.origin.to_string(),
        _index: quarry_rules::index_name(ev),
        _source: match (&ev.raw_source, ev.source.as_deref()) {
            (Some(raw), _) => match serde_json::value::RawValue::from_string(raw.to_string()) {
                Ok(raw) => Source::Raw(raw),
                Err(_) => Source::Ecs(ev.to_json()),
            },
            (None, Some(src)) => Source::Original(src),
            (None, None) => Source::Ecs(ev.to_json()),
        },
    }
}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum Slot<'a> {
    Event(Doc<'a>),
    Missing { missing: bool },
}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum HitJson<'a> {
    Event(Doc<'a>),
    Group {
        join_keys: &'a [J],
        events: Vec<Slot<'a>>,
    },
}

/// A hit as Elasticsearch's EQL search API shapes it.
fn hit_json(h: &Hit) -> HitJson<'_> {
    match h {
        Hit::Event(e) => HitJson::Event(doc(e)),
        Hit::Sequence { join_keys, events } => HitJson::Group {
            join_keys,
            events: events
                .iter()
                .map(|e| {
                    e.as_ref()
                        .map_or(Slot::Missing { missing: true }, |e| Slot::Event(doc(e)))
                })
                .collect(),
        },
        Hit::Sample { join_keys, events } => HitJson::Group {
            join_keys,
            events: events.iter().map(|e| Slot::Event(doc(e))).collect(),
        },
    }
}

/// One row per event for tables and CSV, with the match it belongs to.
#[derive(serde::Serialize)]
struct Row {
    #[serde(rename = "match")]
    n: usize,
    #[serde(rename = "@timestamp")]
    time: String,
    #[serde(rename = "host.name")]
    host: String,
    #[serde(rename = "event.category")]
    category: String,
    #[serde(rename = "event.action")]
    action: String,
    #[serde(rename = "process.executable")]
    process: String,
    #[serde(rename = "process.command_line")]
    command_line: String,
    #[serde(rename = "_id")]
    id: String,
}

fn rows(hits: &[Hit]) -> Vec<Row> {
    let text = |e: &Event, f: &str| {
        e.get(f)
            .map(|v| output::cell(&v.to_json()))
            .unwrap_or_default()
    };
    let row = |n: usize, e: Option<&Event>| match e {
        Some(e) => Row {
            n,
            time: e
                .timestamp
                .map(quarry_event::format_timestamp)
                .unwrap_or_default(),
            host: text(e, "host.name"),
            category: text(e, "event.category"),
            action: if e.contains("event.action") {
                text(e, "event.action")
            } else {
                text(e, "event.code")
            },
            process: text(e, "process.executable"),
            command_line: text(e, "process.command_line"),
            id: e.origin.to_string(),
        },
        None => Row {
            n,
            time: String::new(),
            host: String::new(),
            category: "(missing)".into(),
            action: String::new(),
            process: String::new(),
            command_line: String::new(),
            id: String::new(),
        },
    };
    let mut out = Vec::new();
    for (i, h) in hits.iter().enumerate() {
        match h {
            Hit::Event(e) => out.push(row(i + 1, Some(e))),
            Hit::Sequence { events, .. } => {
                out.extend(events.iter().map(|e| row(i + 1, e.as_ref())))
            }
            Hit::Sample { events, .. } => out.extend(events.iter().map(|e| row(i + 1, Some(e)))),
        }
    }
    out
}

/// A hit as the machine formats print it: shaped by [`hit_json`] as it is
/// written, so no hit is held twice.
struct HitOut<'a>(&'a Hit);

impl serde::Serialize for HitOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        hit_json(self.0).serialize(s)
    }
}

fn print(hits: &[Hit], format: Format) -> std::io::Result<()> {
    if !format.is_tabular() {
        let out: Vec<HitOut<'_>> = hits.iter().map(HitOut).collect();
        return output::print(&Rows::new(&out, Vec::new()), format);
    }
    let text = |f: fn(&Row) -> &str| move |r: &Row| f(r).to_string();
    let columns = vec![
        Column::new("#", |r: &Row| r.n.to_string()),
        Column::new("time", text(|r| &r.time)),
        Column::new("host", text(|r| &r.host)),
        Column::new("category", text(|r| &r.category)),
        Column::new("action", text(|r| &r.action)),
        Column::new("process", text(|r| &r.process)),
        Column::new("command line", text(|r| &r.command_line)),
        Column::new("origin", text(|r| &r.id)),
    ];
    output::print(&Rows::new(&rows(hits), columns), format)
}

/// Fields and event categories the query names that are neither in ECS,
/// Elastic's non-ECS fields nor quarry's output, with the nearest known
/// name: a typo there matches nothing, silently.
fn unknown_names(query: &quarry_eql::Query) -> Vec<String> {
    use quarry_eql::known;
    let mut out = Vec::new();
    for c in query.categories() {
        if !known::is_known_category(c) {
            out.push(format!(
                "event category {c:?} is not one of ECS's{}",
                known::nearest_category(c)
                    .map(|n| format!("; did you mean {n:?}?"))
                    .unwrap_or_default()
            ));
        }
    }
    for f in query.fields() {
        if !known::is_known_field(&f) {
            out.push(format!(
                "field {f} is not in ECS, Elastic's non-ECS fields or quarry's output{}",
                known::nearest_field(&f)
                    .map(|n| format!("; did you mean {n}?"))
                    .unwrap_or_default()
            ));
        }
    }
    out
}
