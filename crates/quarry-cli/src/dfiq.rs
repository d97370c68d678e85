//! `quarry questions`: what quarry can answer, placed in the DFIQ catalogue
//! (scenario > facet > question > approaches) when one is given, and with
//! evidence, which approaches had data. Loading the catalogue and answering
//! are `quarry-questions`' jobs; this module prints.

use quarry_questions::QUESTIONS;
use quarry_questions::dfiq::{Catalogue, Entry};
use std::io::Write;
use std::path::PathBuf;

pub fn run(dfiq: Option<PathBuf>, inputs: Vec<PathBuf>) -> std::io::Result<u8> {
    let mut code = crate::exit::OK;
    let catalogue = match &dfiq {
        Some(d) if !d.is_dir() => {
            eprintln!("quarry: --dfiq {}: not a folder", d.display());
            return Ok(crate::exit::USAGE);
        }
        Some(d) => {
            let (c, problems) = Catalogue::load(d);
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
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for q in QUESTIONS {
        // each question reads the evidence for itself: questions are few,
        // and each keeps only the events it wants
        let ran = if inputs.is_empty() {
            None
        } else {
            let (events, summary) = quarry_read::scan(&inputs, |ev| q.keep(ev));
            code = code.max(crate::output::report_problems(&summary));
            Some(q.answer(events, &Default::default()).approaches)
        };
        if let Some(cat) = &catalogue {
            match cat.place(q.id()) {
                Some(place) => {
                    for f in &place.facets {
                        for (s, scenario) in &f.scenarios {
                            writeln!(out, "{s} {}", name(*scenario))?;
                        }
                        writeln!(out, "  {} {}", f.id, name(f.entry))?;
                    }
                    writeln!(out, "    {} {}", q.id(), place.question.name)?;
                    for a in &place.question.approaches {
                        writeln!(out, "      DFIQ approach: {a}")?;
                    }
                }
                None => writeln!(out, "{} {} (not in this DFIQ catalogue)", q.id(), q.name())?,
            }
        } else {
            writeln!(out, "{} {}", q.id(), q.name())?;
        }
        let indent = if catalogue.is_some() { "      " } else { "  " };
        for a in q.approaches() {
            let status = match &ran {
                Some(approaches) => match approaches.get(a.name) {
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

/// A catalogue entry's name; `?` for one the catalogue does not hold.
fn name(e: Option<&Entry>) -> &str {
    e.map_or("?", |e| e.name.as_str())
}
