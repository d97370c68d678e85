//! `quarry questions`: what quarry can answer, placed in the DFIQ catalogue
//! (scenario > facet > question > approaches) when one is given.

use quarry_questions::{QUESTIONS, q1018};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A DFIQ object (scenario, facet or question) as quarry needs it.
#[derive(Debug, Default, Clone)]
pub struct DfiqEntry {
    pub name: String,
    pub parent_ids: Vec<String>,
    pub approaches: Vec<String>,
}

/// Loads every `*.yaml` under the catalogue folder. Unreadable files are
/// reported and skipped.
pub fn load(dir: &Path) -> (BTreeMap<String, DfiqEntry>, Vec<String>) {
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            problems.push(format!("{}: cannot list folder", d.display()));
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                match std::fs::read_to_string(&p)
                    .map_err(|e| e.to_string())
                    .and_then(|t| {
                        serde_yaml::from_str::<serde_yaml::Value>(&t).map_err(|e| e.to_string())
                    }) {
                    Ok(v) => {
                        let s = |k: &str| {
                            v.get(k)
                                .and_then(|x| x.as_str())
                                .unwrap_or_default()
                                .to_string()
                        };
                        let list = |k: &str| -> Vec<String> {
                            v.get(k)
                                .and_then(|x| x.as_sequence())
                                .map(|xs| {
                                    xs.iter()
                                        .filter_map(|x| x.as_str().map(str::to_string))
                                        .collect()
                                })
                                .unwrap_or_default()
                        };
                        let approaches = v
                            .get("approaches")
                            .and_then(|x| x.as_sequence())
                            .map(|xs| {
                                xs.iter()
                                    .filter_map(|a| {
                                        a.get("name").and_then(|n| n.as_str()).map(str::to_string)
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        let id = s("id");
                        if !id.is_empty() {
                            out.insert(
                                id,
                                DfiqEntry {
                                    name: s("name"),
                                    parent_ids: list("parent_ids"),
                                    approaches,
                                },
                            );
                        }
                    }
                    Err(e) => problems.push(format!("{}: {e}", p.display())),
                }
            }
        }
    }
    (out, problems)
}

pub fn run(dfiq: Option<PathBuf>, inputs: Vec<PathBuf>) -> std::io::Result<u8> {
    let mut code = crate::exit::OK;
    let catalogue = match &dfiq {
        Some(d) if !d.is_dir() => {
            eprintln!("quarry: --dfiq {}: not a folder", d.display());
            return Ok(crate::exit::USAGE);
        }
        Some(d) => {
            let (c, problems) = load(d);
            for p in &problems {
                eprintln!("quarry: {p}");
            }
            if !problems.is_empty() {
                code = crate::exit::PARTIAL;
            }
            Some(c)
        }
        None => None,
    };
    let ran = if inputs.is_empty() {
        None
    } else {
        let (events, summary) = quarry_read::scan(&inputs, q1018::wants);
        code = code.max(crate::output::report_problems(&summary));
        Some(q1018::answer(events).1)
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for q in QUESTIONS {
        if let Some(cat) = &catalogue {
            match cat.get(q.id) {
                Some(entry) => {
                    for f in &entry.parent_ids {
                        let facet = cat.get(f);
                        for s in facet.map(|f| f.parent_ids.clone()).unwrap_or_default() {
                            let sn = cat.get(&s).map(|e| e.name.as_str()).unwrap_or("?");
                            writeln!(out, "{s} {sn}")?;
                        }
                        writeln!(
                            out,
                            "  {f} {}",
                            facet.map(|e| e.name.as_str()).unwrap_or("?")
                        )?;
                    }
                    writeln!(out, "    {} {}", q.id, entry.name)?;
                    for a in &entry.approaches {
                        writeln!(out, "      DFIQ approach: {a}")?;
                    }
                }
                None => writeln!(out, "{} {} (not in this DFIQ catalogue)", q.id, q.name)?,
            }
        } else {
            writeln!(out, "{} {}", q.id, q.name)?;
        }
        let indent = if catalogue.is_some() { "      " } else { "  " };
        for a in q.approaches {
            let status = match &ran {
                Some(cov) => match cov.approaches.get(a.name) {
                    Some(n) => format!("ran: {n} rows"),
                    None => "no data".into(),
                },
                None => String::new(),
            };
            writeln!(
                out,
                "{indent}quarry approach: {} — {}{}",
                a.name,
                a.data,
                if status.is_empty() {
                    String::new()
                } else {
                    format!(" [{status}]")
                }
            )?;
        }
    }
    out.flush()?;
    Ok(code)
}
