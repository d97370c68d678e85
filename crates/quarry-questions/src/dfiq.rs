//! A DFIQ catalogue (scenario > facet > question > approaches) read from its
//! YAML files, to place quarry's questions in.

use std::collections::BTreeMap;
use std::path::Path;

/// A DFIQ object (scenario, facet or question) as quarry needs it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub parent_ids: Vec<String>,
    /// The names of its approaches (questions only).
    pub approaches: Vec<String>,
}

/// DFIQ objects by id.
#[derive(Debug, Default, Clone)]
pub struct Catalogue {
    pub entries: BTreeMap<String, Entry>,
}

/// Where a question stands in the catalogue: each facet it belongs to, with
/// that facet's scenarios.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement<'a> {
    pub question: &'a Entry,
    pub facets: Vec<Parent<'a>>,
}

/// A facet of a question, and the scenarios the facet belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Parent<'a> {
    pub id: &'a str,
    /// `None` when the catalogue does not hold it.
    pub entry: Option<&'a Entry>,
    /// (id, entry) of each scenario the facet names.
    pub scenarios: Vec<(&'a str, Option<&'a Entry>)>,
}

impl Catalogue {
    /// Loads every `*.yaml` / `*.yml` under the folder, recursively. Files
    /// that cannot be read or parsed are returned as problems and skipped.
    pub fn load(dir: &Path) -> (Catalogue, Vec<String>) {
        let mut cat = Catalogue::default();
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
                        .and_then(|t| cat.add_yaml(&t))
                    {
                        Ok(()) => {}
                        Err(e) => problems.push(format!("{}: {e}", p.display())),
                    }
                }
            }
        }
        (cat, problems)
    }

    /// Adds the DFIQ object one YAML document describes; one without an id
    /// is not an object and is passed over.
    pub fn add_yaml(&mut self, text: &str) -> Result<(), String> {
        let v: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        let s = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let strings = |xs: Option<&serde_yaml::Value>,
                       f: &dyn Fn(&serde_yaml::Value) -> Option<&str>| {
            xs.and_then(|x| x.as_sequence())
                .map(|xs| xs.iter().filter_map(f).map(str::to_string).collect())
                .unwrap_or_default()
        };
        let id = s("id");
        if !id.is_empty() {
            let entry = Entry {
                name: s("name"),
                parent_ids: strings(v.get("parent_ids"), &|x| x.as_str()),
                approaches: strings(v.get("approaches"), &|a| {
                    a.get("name").and_then(|n| n.as_str())
                }),
            };
            self.entries.insert(id, entry);
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.get(id)
    }

    /// The question with this id, placed under its facets and their
    /// scenarios; `None` when the catalogue does not hold it.
    pub fn place(&self, id: &str) -> Option<Placement<'_>> {
        let question = self.get(id)?;
        let facets = question
            .parent_ids
            .iter()
            .map(|f| {
                let entry = self.get(f);
                let scenarios = entry
                    .map(|e| {
                        e.parent_ids
                            .iter()
                            .map(|s| (s.as_str(), self.get(s)))
                            .collect()
                    })
                    .unwrap_or_default();
                Parent {
                    id: f,
                    entry,
                    scenarios,
                }
            })
            .collect();
        Some(Placement { question, facets })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_a_question_under_its_facet_and_scenario() {
        let mut c = Catalogue::default();
        c.add_yaml("id: S1001\nname: Scenario\n").unwrap();
        c.add_yaml("id: F1001\nname: Facet\nparent_ids: [S1001]\n")
            .unwrap();
        c.add_yaml(
            "id: Q1018\nname: What process made the DNS query?\nparent_ids: [F1001, F9]\napproaches:\n  - name: Sysmon\n",
        )
        .unwrap();
        c.add_yaml("name: no id\n").unwrap();
        assert!(c.add_yaml("id: [unclosed").is_err());
        assert_eq!(c.entries.len(), 3);
        let p = c.place("Q1018").unwrap();
        assert_eq!(p.question.approaches, vec!["Sysmon".to_string()]);
        assert_eq!(p.facets.len(), 2);
        assert_eq!(p.facets[0].entry.map(|e| e.name.as_str()), Some("Facet"));
        assert_eq!(p.facets[0].scenarios[0].0, "S1001");
        assert!(p.facets[1].entry.is_none() && p.facets[1].scenarios.is_empty());
        assert!(c.place("Q9").is_none());
    }
}
