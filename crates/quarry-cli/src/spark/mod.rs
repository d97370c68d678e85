//! `--spark URL`: `quarry hunt`, `ask` and `search` run on Apache Spark,
//! through Spark Connect, and print what they print on one machine.
//!
//! The plan (`spark/quarry_spark.py`, a PySpark driver kept in the
//! repository and embedded here; run by `python3`, which needs `pyspark`):
//!
//! 1. Spark hands every input file to quarry on an executor (`quarry
//!    partition read`): files under a path the executors share are read in
//!    place, anything else (`s3a://`, `hdfs://`, …) is read by Spark's
//!    `binaryFile` source and piped in. quarry's own reader reads it — the
//!    same formats, the same problems with the same file and position — and
//!    the command's filter (a query's terms, a question's events) drops
//!    what the command cannot use before it leaves the executor.
//! 2. `DISTRIBUTE BY` the host key quarry uses, `SORT BY` host, time and
//!    input position, and `SELECT TRANSFORM(…) USING 'quarry partition
//!    hunt|ask'`: each host's events, whole and in order, go through the
//!    same library code as on one machine.
//! 3. The rows come back here and are merged and printed by the command's
//!    own code: the same formats, summaries and exit codes.
//!
//! quarry reaches the executors through Spark's artifact distribution
//! (`addArtifacts(…, file=True)`): this binary (or `QUARRY_SPARK_BINARY`, a
//! Linux x86_64 build when the client is not one) and a job file that
//! carries the rules' text and the command's options.
//!
//! `quarry search` needs only stage 1: an event query's matches, or a
//! sequence's candidate events, come back in input order and the command
//! runs as on one machine. What crosses hosts in a hunt: `max_signals` is
//! applied here over every host; the triage's scope is a join in Spark
//! over every partition's executables and command lines (`p` and `n`
//! rows); pivots over every host and links between alerts, and
//! threshold / new_terms rules that group by no host field, see the hosts
//! of their partition only (said on stderr for the rules).

pub mod partition;
pub mod wire;

use crate::exit;
use quarry_event::Event;
use quarry_read::ReadSummary;
use serde::{Deserialize, Serialize};
use serde_json::{Value as J, json};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The PySpark driver.
const DRIVER: &str = include_str!("../../../../spark/quarry_spark.py");

/// What the executors need to know of the command: shipped as a file
/// beside the binary.
#[derive(Serialize, Deserialize, Default)]
pub struct Job {
    pub search: Option<SearchJob>,
    pub ask: Option<AskJob>,
    pub hunt: Option<HuntJob>,
}

/// A search's query and options (the mapping as its text).
#[derive(Serialize, Deserialize)]
pub struct SearchJob {
    pub query: String,
    pub category_field: String,
    pub timestamp_field: String,
    pub tiebreaker: Option<String>,
    pub size: Option<usize>,
    pub max_samples_per_key: usize,
    pub mapping: Option<String>,
    pub tabular: bool,
}

/// A question and `quarry ask`'s filters: the domain indicators as given
/// (checked here; the set is rebuilt on the executor).
#[derive(Serialize, Deserialize)]
pub struct AskJob {
    pub question: String,
    pub domains: Option<Vec<String>>,
    pub host: Option<String>,
}

impl AskJob {
    /// The filter of `quarry ask`, as on the client.
    fn filter(&self) -> Result<quarry_questions::Filter, String> {
        let domains = match &self.domains {
            Some(d) => Some(quarry_questions::Domains::new(
                d.iter().map(|i| (i.as_str(), "--domain".to_string())),
            )?),
            None => None,
        };
        Ok(quarry_questions::Filter {
            host: self.host.clone(),
            domains,
        })
    }
}

/// A hunt's rules, as text: each `--rules` path (a folder's rule files
/// under their relative paths) is rebuilt on the executor and loaded there
/// as here.
#[derive(Serialize, Deserialize)]
pub struct HuntJob {
    /// Per `--rules` path: a folder (`true`) or one file.
    pub paths: Vec<(bool, String)>,
    /// (path index, path relative to it, text).
    pub files: Vec<(usize, String, String)>,
    pub severity: Option<String>,
    pub exceptions: Option<String>,
    pub partial_history: bool,
    /// `--threat-intel`'s indicator documents as read here, in [`wire`]
    /// form; `None`: threat_match rules are skipped, as on one machine.
    pub threat_intel: Option<Vec<String>>,
    /// `--include-disabled`.
    pub include_disabled: bool,
    /// `--alert-list` and `--alert-max-bytes`.
    pub alert_list: usize,
    pub alert_max_bytes: usize,
}

impl HuntJob {
    /// `rules`: the paths the rules were loaded from (`--rules`,
    /// `QUARRY_RULES` or the configuration file; none: the built-in pack).
    fn pack(
        args: &crate::hunt::HuntArgs,
        rules: &[PathBuf],
        opts: &quarry_detect::HuntOptions,
    ) -> Result<HuntJob, String> {
        let mut job = HuntJob {
            paths: Vec::new(),
            files: Vec::new(),
            severity: args.severity.clone(),
            exceptions: match &args.exceptions {
                Some(p) => Some(
                    std::fs::read_to_string(p)
                        .map_err(|e| format!("--exceptions {}: {e}", p.display()))?,
                ),
                None => None,
            },
            partial_history: args.new_terms_history == crate::hunt::NewTermsHistory::Partial,
            threat_intel: opts
                .threat_intel
                .as_ref()
                .map(|i| i.docs.iter().map(wire::encode).collect()),
            include_disabled: args.include_disabled,
            alert_list: opts.alert_limits.listed,
            alert_max_bytes: opts.alert_limits.max_bytes,
        };
        for (i, p) in rules.iter().enumerate() {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "rules".into());
            if p.is_dir() {
                job.paths.push((true, name));
                let (mut files, mut problems) = (Vec::new(), Vec::new());
                let rule_file = |f: &Path| {
                    f.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                        ["toml", "yml", "yaml"].contains(&e.to_ascii_lowercase().as_str())
                    })
                };
                quarry_read::walk_files(p, rule_file, &mut files, &mut problems);
                for f in files {
                    let Ok(text) = std::fs::read_to_string(&f) else {
                        continue;
                    };
                    let rel = f
                        .strip_prefix(p)
                        .unwrap_or(&f)
                        .to_string_lossy()
                        .into_owned();
                    job.files.push((i, rel, text));
                }
            } else {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| format!("--rules {}: {e}", p.display()))?;
                job.paths.push((false, name.clone()));
                job.files.push((i, name, text));
            }
        }
        Ok(job)
    }

    /// The rule book and options, rebuilt under `dir`.
    fn unpack(
        &self,
        dir: &Path,
    ) -> Result<(quarry_detect::RuleBook, quarry_detect::HuntOptions), String> {
        let io = |e: std::io::Error| e.to_string();
        let root = |i: usize| dir.join(format!("rules-{i}"));
        for (i, rel, text) in &self.files {
            // a relative path from the client: nothing may climb out of `dir`
            let rel = Path::new(rel);
            if rel
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return Err(format!("a rule path {} outside its folder", rel.display()));
            }
            let p = root(*i).join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            std::fs::write(&p, text).map_err(io)?;
        }
        let paths: Vec<PathBuf> = self
            .paths
            .iter()
            .enumerate()
            .map(|(i, (folder, name))| if *folder { root(i) } else { root(i).join(name) })
            .collect();
        let mut book = crate::hunt::rule_book(&paths, self.include_disabled);
        if let Some(min) = &self.severity {
            book.retain_severity(min);
        }
        let threat_intel = match &self.threat_intel {
            Some(docs) => Some(quarry_detect::threat_match::Indicators {
                docs: docs
                    .iter()
                    .map(|d| wire::decode(d))
                    .collect::<Result<_, _>>()?,
            }),
            None => {
                book.skip_threat_match();
                None
            }
        };
        let exceptions = match &self.exceptions {
            Some(text) => {
                let p = dir.join("exceptions.toml");
                std::fs::write(&p, text).map_err(io)?;
                quarry_rules::Exceptions::load(&p).map_err(|e| e.to_string())?
            }
            None => Default::default(),
        };
        let opts = quarry_detect::HuntOptions {
            exceptions,
            stats: false,
            new_terms_history: if self.partial_history {
                quarry_detect::History::Partial
            } else {
                quarry_detect::History::Full
            },
            threat_intel,
            alert_limits: quarry_alert::AlertLimits {
                listed: self.alert_list,
                max_bytes: self.alert_max_bytes,
            },
        };
        Ok((book, opts))
    }
}

/// A read summary as one JSON value (the `s` rows).
pub fn summary_to_json(s: &ReadSummary) -> J {
    serde_json::to_value(s).unwrap_or_default()
}

/// A partition's read summary; `None` when the row is damaged.
fn summary_from_json(j: &J) -> Option<ReadSummary> {
    ReadSummary::deserialize(j).ok()
}

/// What a Spark run returned: its result rows (kind, payload) and what was
/// read.
struct Collected {
    rows: Vec<(String, String)>,
    summary: ReadSummary,
}

/// Is this input a URI for Spark's filesystems (`s3a://…`, `hdfs:///…`)
/// rather than a path here?
fn is_uri(p: &Path) -> bool {
    let s = p.to_string_lossy();
    s.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    })
}

/// Runs `job` on the Spark Connect server at `url` over `inputs`, with a
/// second stage (`hunt`, `ask`) or none. `Err` carries the exit code,
/// after saying why on stderr.
fn run_job(
    url: &str,
    inputs: &[PathBuf],
    job: &Job,
    stage2: Option<&str>,
) -> Result<Collected, u8> {
    let fail = |what: String| {
        eprintln!("quarry: --spark: {what}");
        exit::USAGE
    };
    if !url.starts_with("sc://") {
        return Err(fail(format!(
            "{url:?} is not a Spark Connect URL (sc://host:port)"
        )));
    }
    let (uris, local): (Vec<&PathBuf>, Vec<PathBuf>) = {
        let (u, l): (Vec<&PathBuf>, Vec<&PathBuf>) = inputs.iter().partition(|p| is_uri(p));
        (u, l.into_iter().cloned().collect())
    };
    // local inputs are expanded here, as on one machine: the same files, in
    // the same order, named the same way, the same problems for missing ones
    if local.iter().any(|p| p.as_os_str() == "-") {
        return Err(fail(
            "standard input (-) cannot be read on the cluster; name files, folders or URIs".into(),
        ));
    }
    let (files, found) = quarry_read::discover(&local);
    let mut summary = ReadSummary::of_inputs(found);
    let nonce = format!(
        "{:x}{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    );
    let dir = std::env::temp_dir().join(format!("quarry-spark-{nonce}"));
    let result = (|| -> Result<Collected, u8> {
        let io = |what: &str, e: std::io::Error| fail(format!("{what}: {e}"));
        std::fs::create_dir_all(&dir).map_err(|e| io("scratch folder", e))?;
        let binary = match std::env::var_os("QUARRY_SPARK_BINARY") {
            Some(b) => PathBuf::from(b),
            None => std::env::current_exe().map_err(|e| io("this binary", e))?,
        };
        let shipped = dir.join(format!("quarry-{nonce}"));
        // what every executor downloads for every job: without its debug
        // information (a tenth of the size) when `strip` is at hand
        let stripped = Command::new("strip")
            .arg("-o")
            .arg(&shipped)
            .arg(&binary)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !stripped {
            let _ = std::fs::remove_file(&shipped);
            std::os::unix::fs::symlink(&binary, &shipped).map_err(|e| io("the binary", e))?;
        }
        let job_file = dir.join(format!("job-{nonce}.json"));
        let text = serde_json::to_string(job).map_err(|e| fail(e.to_string()))?;
        std::fs::write(&job_file, text).map_err(|e| io("the job file", e))?;
        let abs = |p: &Path| {
            std::path::absolute(p)
                .unwrap_or_else(|_| p.to_path_buf())
                .display()
                .to_string()
        };
        let local_rows: Vec<J> = files
            .iter()
            .enumerate()
            .map(|(i, f)| json!([i, f.display().to_string(), abs(f)]))
            .collect();
        // what the partitions' count is sized by (files here; URIs unknown)
        let bytes: u64 = files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        let spec = json!({
            "remote": url,
            "bytes": bytes,
            "binary": shipped,
            "job": job_file,
            "nonce": nonce,
            "local": local_rows,
            "uris": uris,
            "stage2": stage2,
        });
        let spec_file = dir.join("spec.json");
        std::fs::write(&spec_file, spec.to_string()).map_err(|e| io("the plan", e))?;
        let driver = dir.join("quarry_spark.py");
        std::fs::write(&driver, DRIVER).map_err(|e| io("the driver", e))?;
        let python = std::env::var("QUARRY_SPARK_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(&python)
            .arg(&driver)
            .arg(&spec_file)
            .env("PYTHONWARNINGS", "ignore")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                fail(format!(
                    "cannot run {python} ({e}); the Spark driver needs python3 with \
                     pyspark (pip install 'pyspark[connect]==4.3.0')"
                ))
            })?;
        let mut rows = Vec::new();
        // events that left the readers (after the pushed-down filter), and their bytes
        let mut piped = (0u64, 0u64);
        let mut summaries: Vec<(i64, String, ReadSummary)> = Vec::new();
        if let Some(out) = child.stdout.take() {
            for line in std::io::BufReader::new(out).lines() {
                let line = line.map_err(|e| io("the driver's output", e))?;
                let Some((kind, payload)) = line.split_once('\t') else {
                    continue;
                };
                if kind == "x" {
                    let j: J = serde_json::from_str(payload).unwrap_or_default();
                    piped.0 += j["events"].as_u64().unwrap_or(0);
                    piped.1 += j["bytes"].as_u64().unwrap_or(0);
                } else if kind == "s" {
                    let j: J = serde_json::from_str(payload).unwrap_or_default();
                    let Some(read) = summary_from_json(&j["summary"]) else {
                        return Err(fail("a damaged read summary from a partition".into()));
                    };
                    summaries.push((
                        j["rank"].as_i64().unwrap_or(i64::MAX),
                        j["file"].as_str().unwrap_or_default().to_string(),
                        read,
                    ));
                } else {
                    if stage2.is_none() && kind == "e" {
                        piped.0 += 1;
                        piped.1 += line.len() as u64 + 1;
                    }
                    rows.push((kind.to_string(), payload.to_string()));
                }
            }
        }
        let status = child.wait().map_err(|e| io("the driver", e))?;
        match status.code() {
            Some(0) => {}
            // the driver said why
            _ => return Err(exit::USAGE),
        }
        eprintln!(
            "quarry: --spark: {} events ({:.1} MB) left the readers{}",
            piped.0,
            piped.1 as f64 / 1e6,
            stage2
                .map(|s| format!(" for the {s} stage"))
                .unwrap_or_default()
        );
        // problems in input order, as on one machine
        summaries.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        for (_, _, s) in summaries {
            summary.merge(s);
        }
        Ok(Collected {
            rows,
            summary: std::mem::take(&mut summary),
        })
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// `quarry search --spark`: the events of `args.inputs` some term of the
/// query can match, read and filtered on the executors, each handed to
/// `keep` here in input order.
pub(crate) fn search<T: Send>(
    url: &str,
    args: &crate::search::SearchArgs,
    keep: impl Fn(Event) -> Option<T> + Sync,
) -> Result<(Vec<T>, ReadSummary), u8> {
    let mapping = match &args.mapping {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
            eprintln!("quarry: --mapping {}: {e}", p.display());
            exit::USAGE
        })?),
        None => None,
    };
    let job = Job {
        search: Some(SearchJob {
            query: args.query.clone(),
            category_field: args.category_field.clone(),
            timestamp_field: args.timestamp_field.clone(),
            tiebreaker: args.tiebreaker.clone(),
            size: args.size,
            max_samples_per_key: args.max_samples_per_key,
            mapping,
            tabular: args.format.is_tabular(),
        }),
        ..Default::default()
    };
    let got = run_job(url, &args.inputs, &job, None)?;
    let mut events = Vec::with_capacity(got.rows.len());
    for (kind, payload) in got.rows {
        if kind == "e" {
            events.push(wire::decode(&payload).map_err(|e| {
                eprintln!("quarry: --spark: a damaged result row: {e}");
                exit::USAGE
            })?);
        }
    }
    let (kept, _) = quarry_read::scan_events(events, keep);
    Ok((kept, got.summary))
}

/// An answer row from a partition: its document as the question's
/// [`quarry_questions::Record`] serialises it, its fields in the question's
/// order (for CSV), and its table cells.
pub(crate) struct AnswerRow {
    doc: Box<serde_json::value::RawValue>,
    fields: Vec<(String, J)>,
    cells: Vec<String>,
}

impl Serialize for AnswerRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.doc.serialize(s)
    }
}

impl crate::ask::AnswerRow for AnswerRow {
    fn cells(&self) -> &[String] {
        &self.cells
    }
    fn field(&self, i: usize) -> Option<(&str, &J)> {
        self.fields.get(i).map(|(k, v)| (k.as_str(), v))
    }
}

/// What `quarry ask --spark` prints: the rows in the order one machine
/// gives them, the coverage report, what was read, and every host seen
/// (before `--host`).
pub(crate) struct Asked {
    pub(crate) rows: Vec<AnswerRow>,
    pub(crate) coverage: String,
    pub(crate) summary: ReadSummary,
    pub(crate) hosts: Vec<String>,
}

/// `quarry ask --spark`: each partition answers for its hosts under the
/// filter; rows and coverage are merged here.
pub(crate) fn ask(
    url: &str,
    args: &crate::ask::AskArgs,
    filter: &quarry_questions::Filter,
) -> Result<Asked, u8> {
    if !args.question.eq_ignore_ascii_case("Q1018") {
        eprintln!("quarry: --spark answers Q1018 only so far");
        return Err(exit::USAGE);
    }
    let job = Job {
        ask: Some(AskJob {
            question: args.question.clone(),
            domains: filter.domains.as_ref().map(|d| d.indicators.clone()),
            host: filter.host.clone(),
        }),
        ..Default::default()
    };
    let got = run_job(url, &args.inputs, &job, Some("ask"))?;
    let mut rows: Vec<(J, J, AnswerRow)> = Vec::new();
    let mut cov = quarry_questions::q1018::Coverage {
        domains: filter.domains.as_ref().map(|d| {
            d.indicators
                .iter()
                .map(|i| quarry_questions::q1018::DomainCount {
                    indicator: i.clone(),
                    ..Default::default()
                })
                .collect()
        }),
        ..Default::default()
    };
    let damaged = |what: &str| {
        eprintln!("quarry: --spark: a damaged {what} row from a partition");
        exit::USAGE
    };
    for (kind, payload) in got.rows {
        match kind.as_str() {
            "r" => {
                let Ok(j) = serde_json::from_str::<J>(&payload) else {
                    return Err(damaged("answer"));
                };
                let fields = j["fields"]
                    .as_array()
                    .map(|fs| {
                        fs.iter()
                            .map(|f| (f[0].as_str().unwrap_or_default().to_string(), f[1].clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                let cells = j["cells"]
                    .as_array()
                    .map(|cs| {
                        cs.iter()
                            .map(|c| c.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                // the document as the partition serialised it: its key
                // order is the question's (a parsed map would sort it)
                let doc = j["doc"]
                    .as_str()
                    .and_then(|t| serde_json::value::RawValue::from_string(t.into()).ok())
                    .ok_or_else(|| damaged("answer"))?;
                rows.push((
                    j["ts"].clone(),
                    j["origin"].clone(),
                    AnswerRow { doc, fields, cells },
                ));
            }
            "c" => {
                let Ok(j) = serde_json::from_str::<J>(&payload) else {
                    return Err(damaged("coverage"));
                };
                let Ok(c) = serde_json::from_value::<quarry_questions::q1018::Coverage>(
                    j["coverage"].clone(),
                ) else {
                    return Err(damaged("coverage"));
                };
                cov.all_hosts.extend(
                    j["hosts"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|h| h.as_str().map(str::to_string)),
                );
                cov.hosts_with_dns.extend(c.hosts_with_dns);
                cov.dns_queries.extend(c.dns_queries);
                cov.hosts_without_dns.extend(c.hosts_without_dns);
                for (k, v) in c.linked {
                    *cov.linked.entry(k).or_default() += v;
                }
                for (k, v) in c.approaches {
                    *cov.approaches.entry(k).or_default() += v;
                }
                // the same indicators, in the same order, in every partition
                if let (Some(all), Some(part)) = (cov.domains.as_mut(), c.domains) {
                    for (a, p) in all.iter_mut().zip(part) {
                        a.queries += p.queries;
                        a.hosts.extend(p.hosts);
                    }
                }
            }
            _ => {}
        }
    }
    // hosts are reported in host order, rows by time then origin, as on
    // one machine
    cov.hosts_without_dns.sort();
    rows.sort_by(|a, b| {
        a.0.as_str()
            .cmp(&b.0.as_str())
            .then_with(|| a.1.as_str().cmp(&b.1.as_str()))
    });
    let rows: Vec<AnswerRow> = rows.into_iter().map(|(_, _, r)| r).collect();
    let coverage = quarry_questions::q1018::coverage_report(&cov, rows.len());
    Ok(Asked {
        rows,
        coverage,
        summary: got.summary,
        hosts: cov.all_hosts,
    })
}

/// `quarry hunt --spark`: the hunt's report, merged from the partitions'.
pub(crate) fn hunt(
    url: &str,
    args: &crate::hunt::HuntArgs,
    book: &quarry_detect::RuleBook,
    rules: &[PathBuf],
    opts: &quarry_detect::HuntOptions,
) -> Result<quarry_detect::HuntReport, u8> {
    let hunt = HuntJob::pack(args, rules, opts).map_err(|e| {
        eprintln!("quarry: {e}");
        exit::USAGE
    })?;
    // what counts over every host on one machine counts within each
    // partition's hosts here: said, not hidden
    let host_field = |f: &String| f.starts_with("host.");
    let across: Vec<&str> = book
        .rules
        .iter()
        .filter(|r| {
            r.rule
                .threshold
                .as_ref()
                .is_some_and(|t| !t.field.iter().any(host_field))
                || r.rule
                    .new_terms
                    .as_ref()
                    .is_some_and(|n| !n.fields.iter().any(host_field))
        })
        .map(|r| r.rule.name.as_str())
        .collect();
    if !across.is_empty() {
        eprintln!(
            "quarry: --spark: {} threshold or new_terms rules group by no host field: on one \
             machine they count over all hosts, here within each partition's hosts: {}",
            across.len(),
            across.join("; ")
        );
    }
    let job = Job {
        hunt: Some(hunt),
        ..Default::default()
    };
    let got = run_job(url, &args.inputs, &job, Some("hunt"))?;
    let mut report = quarry_detect::HuntReport {
        read: got.summary,
        ..Default::default()
    };
    let mut alerts: Vec<J> = Vec::new();
    // scope key → every host that started it (the plan's join)
    let mut scope: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (kind, payload) in got.rows {
        let Ok(j) = serde_json::from_str::<J>(&payload) else {
            continue;
        };
        match kind.as_str() {
            "a" => alerts.push(j),
            "scope" => {
                let hosts = j["hosts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|h| h.as_str().map(str::to_string))
                    .collect();
                scope.insert(j["k"].as_str().unwrap_or_default().to_string(), hosts);
            }
            // counts are made below, once max_signals is applied
            "h" => {
                report.withheld += j["withheld"].as_u64().unwrap_or(0) as usize;
                report.folded += j["folded"].as_u64().unwrap_or(0) as usize;
                for (k, v) in j["suppressed"].as_object().into_iter().flatten() {
                    *report.suppressed.entry(k.clone()).or_default() +=
                        v.as_u64().unwrap_or(0) as usize;
                }
                for e in j["rule_errors"].as_array().into_iter().flatten() {
                    let e = (
                        e[0].as_str().unwrap_or_default().to_string(),
                        e[1].as_str().unwrap_or_default().to_string(),
                    );
                    // every partition meets a rule's bad window: said once
                    if !report.rule_errors.contains(&e) {
                        report.rule_errors.push(e);
                    }
                }
            }
            _ => {}
        }
    }
    // by time, then host, as one machine orders them
    let mut keyed: Vec<(Option<String>, Option<String>, J)> = alerts
        .into_iter()
        .map(|a| {
            let time = a["kibana"]["alert"]["original_time"]
                .as_str()
                .map(str::to_string);
            let doc = json!({ "host": a["host"].clone() });
            let host = quarry_lineage::host_key(&Event::from_json(&doc, Default::default()));
            let mut a = a;
            if let Some(h) = &host {
                rescope(&mut a, h, &scope);
            }
            (time, host, a)
        })
        .collect();
    keyed.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    // each rule's first max_signals alerts over all hosts are raised, the
    // rest withheld; a Sigma correlation (state per host, as the plan
    // partitions) has no such cap on one machine either
    let rules: std::collections::HashMap<&str, (&quarry_rules::Rule, bool)> = book
        .rules
        .iter()
        .map(|r| (r.rule.rule_id.as_str(), (&r.rule, true)))
        .chain(
            book.correlations
                .iter()
                .map(|c| (c.rule.rule_id.as_str(), (&c.rule, false))),
        )
        .collect();
    let mut raised: std::collections::HashMap<String, u64> = Default::default();
    for (_, _, a) in keyed {
        let id = a["kibana"]["alert"]["rule"]["rule_id"]
            .as_str()
            .unwrap_or_default();
        let Some(&(rule, capped)) = rules.get(id) else {
            report.alerts.push(a.into());
            continue;
        };
        let n = raised.entry(id.to_string()).or_default();
        if capped && *n >= rule.max_signals {
            report.withheld += 1;
            continue;
        }
        *n += 1;
        *report
            .counts
            .entry((rule.severity.clone(), rule.name.clone()))
            .or_default() += 1;
        report.alerts.push(a.into());
    }
    Ok(report)
}

/// An alert's triage scope answered over every host: the other hosts that
/// started its executable, and that ran its command line (the partition
/// answered over its own hosts only).
fn rescope(alert: &mut J, host: &str, scope: &std::collections::HashMap<String, Vec<String>>) {
    let keys = partition::scope_lookups(alert);
    if keys.is_empty() {
        return;
    }
    let others = |kind: char| -> Vec<String> {
        let mut v: Vec<String> = keys
            .iter()
            .filter(|k| k.starts_with(kind))
            .flat_map(|k| scope.get(k).into_iter().flatten())
            .filter(|h| *h != host)
            .cloned()
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let (exe, cmd) = (others('e'), others('c'));
    alert["quarry"]["triage"]["scope"] = quarry_alert::triage::scope(&exe, &cmd);
}
