//! The literal prefilter of [`crate::select`]: rules indexed by a literal
//! every event they match must hold, so that an event is evaluated only
//! against the rules whose literal it holds.
//!
//! [`quarry_eql::Query::required_literals`] gives, per query, clauses
//! (AND) of alternatives (OR): a matching event holds, for every clause,
//! one alternative as a substring of the text of some field value the
//! query reads, ASCII case aside. Each rule gets one clause as its
//! *anchor* (the most selective: see [`anchor`]); all anchors'
//! alternatives go into one ASCII-case-insensitive Aho-Corasick automaton.
//! Per event, the values of the fields anchored rules read are scanned
//! once ([`Literals::scan`]), and a rule is tried only when one of its
//! anchor's alternatives was found ([`Literals::may_match`]); a rule with
//! no anchor is always tried. The prefilter only skips rules that cannot
//! match: results are those of evaluating every candidate.
//!
//! Exactness details, following how quarry-eql's evaluation compares text:
//! case-insensitive tests fold non-ASCII values with Unicode's lower case
//! (`İ` → `i̇`, the Kelvin sign → `k`), so a non-ASCII value is scanned both
//! as is and lower-cased; values that are not strings (numbers, booleans,
//! timestamps, IPs) are scanned as their text.

use aho_corasick::AhoCorasick;
use quarry_eql::Query;
use quarry_event::{Event, Value, field_id};
use std::cmp::Reverse;
use std::collections::HashMap;

/// Alternatives shorter than this make no anchor: a one- or two-byte
/// pattern occurs in nearly every event, and with overlapping search each
/// occurrence is a match to report, so it would cost more than it saves.
const MIN_ANCHOR_LEN: usize = 3;

/// A literal required by this many rules' clauses or more is taken for a
/// common value (`windows`, `start`, `process`): every event of its kind
/// holds it, so another clause of the rule makes a better anchor.
const COMMON: usize = 8;

/// The anchors of a rule book and their automaton.
pub struct Literals {
    ac: AhoCorasick,
    /// Per rule, the pattern ids of its anchor's alternatives (one of which
    /// a matching event holds); `None`: no anchor, always tried.
    anchors: Vec<Option<Box<[u32]>>>,
    /// Words of a [`Hits`] bit set (one bit a pattern).
    words: usize,
    /// Whether a field's values are scanned, by [`quarry_event::FieldId`]
    /// index: those the anchored rules read; `None`: every field (a rule
    /// reads fields by pattern).
    scanned: Option<Vec<bool>>,
}

/// The patterns one event holds, as a bit set over pattern ids.
pub struct Hits(Vec<u64>);

impl Hits {
    fn has(&self, p: u32) -> bool {
        let p = p as usize;
        self.0.get(p / 64).is_some_and(|w| w & (1 << (p % 64)) != 0)
    }
}

impl Literals {
    /// The anchors of `queries` (in rule order); `None` when no rule has one.
    pub fn new(queries: &[&Query]) -> Option<Literals> {
        // the clauses of each query, case-folded, an `or` of several
        // clauses a side (a Sigma rule's log sources) narrowed to the
        // clause `pick` prefers on each side
        let clauses_by = |frequency: &HashMap<String, usize>| -> Vec<Vec<Vec<String>>> {
            let pick = |cs: &[Vec<String>]| best(cs, frequency);
            queries
                .iter()
                .map(|q| {
                    q.required_literals_by(&pick)
                        .into_iter()
                        .map(|c| c.into_iter().map(|l| l.to_ascii_lowercase()).collect())
                        .collect()
                })
                .collect()
        };
        // first by length alone, to learn how many rules require each
        // literal (common values such as a channel name would otherwise be
        // picked for their length); then again knowing which are common
        let frequency = frequencies(&clauses_by(&HashMap::new()));
        let clauses = clauses_by(&frequency);
        let mut ids: HashMap<&str, u32> = HashMap::new();
        let mut patterns: Vec<&str> = Vec::new();
        let mut anchors = Vec::with_capacity(clauses.len());
        for rule in &clauses {
            let anchor = anchor(rule, &frequency).map(|clause| {
                clause
                    .iter()
                    .map(|l| {
                        *ids.entry(l.as_str()).or_insert_with(|| {
                            patterns.push(l.as_str());
                            (patterns.len() - 1) as u32
                        })
                    })
                    .collect::<Box<[u32]>>()
            });
            anchors.push(anchor);
        }
        if patterns.is_empty() {
            return None;
        }
        // case-folded literals, matched in values ASCII case aside;
        // standard semantics so that overlapping search reports every
        // pattern (`cmd.exe` inside `\cmd.exe`)
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&patterns)
            .ok()?;
        Some(Literals {
            ac,
            words: patterns.len().div_ceil(64),
            scanned: None,
            anchors,
        })
    }

    /// Restricts the scan to the fields `queries` read (the anchored
    /// rules' queries; a literal is required in a field its query reads).
    pub fn scan_fields_of<'a>(mut self, queries: impl Iterator<Item = &'a Query>) -> Literals {
        let mut scanned: Vec<bool> = Vec::new();
        for (i, q) in queries.enumerate() {
            if self.anchors.get(i).is_none_or(Option::is_none) {
                continue;
            }
            for path in q.fields() {
                if path.contains('*') {
                    // a field pattern (or every field): scan all
                    self.scanned = None;
                    return self;
                }
                let id = field_id(&path).index();
                if scanned.len() <= id {
                    scanned.resize(id + 1, false);
                }
                scanned[id] = true;
            }
        }
        self.scanned = Some(scanned);
        self
    }

    /// The patterns `ev`'s (scanned) field values hold.
    pub fn scan(&self, ev: &Event) -> Hits {
        let mut hits = Hits(vec![0; self.words]);
        for (id, v) in ev.fields_by_id() {
            if let Some(s) = &self.scanned
                && !s.get(id.index()).copied().unwrap_or(false)
            {
                continue;
            }
            self.scan_value(v, &mut hits);
        }
        hits
    }

    fn scan_value(&self, v: &Value, hits: &mut Hits) {
        match v {
            Value::Array(items) => items.iter().for_each(|x| self.scan_value(x, hits)),
            Value::Str(s) => {
                self.scan_text(s, hits);
                if !s.is_ascii() {
                    self.scan_text(&s.to_lowercase(), hits);
                }
            }
            other => {
                if let Some(t) = other.to_text() {
                    self.scan_text(&t, hits);
                }
            }
        }
    }

    fn scan_text(&self, text: &str, hits: &mut Hits) {
        for m in self.ac.find_overlapping_iter(text) {
            let p = m.pattern().as_usize();
            if let Some(w) = hits.0.get_mut(p / 64) {
                *w |= 1 << (p % 64);
            }
        }
    }

    /// Can rule `i` match an event with these hits? (No anchor: yes.)
    pub fn may_match(&self, i: usize, hits: &Hits) -> bool {
        match self.anchors.get(i) {
            Some(Some(anchor)) => anchor.iter().any(|&p| hits.has(p)),
            _ => true,
        }
    }

    /// Whether rule `i` has an anchor.
    pub fn is_anchored(&self, i: usize) -> bool {
        matches!(self.anchors.get(i), Some(Some(_)))
    }
}

/// How many rules require each literal (in any of their clauses).
fn frequencies(clauses: &[Vec<Vec<String>>]) -> HashMap<String, usize> {
    let mut frequency: HashMap<String, usize> = HashMap::new();
    for rule in clauses {
        let mut seen: Vec<&String> = rule.iter().flatten().collect();
        seen.sort_unstable();
        seen.dedup();
        for l in seen {
            *frequency.entry(l.clone()).or_default() += 1;
        }
    }
    frequency
}

/// How selective a clause is, best greatest: all alternatives at least
/// [`MIN_ANCHOR_LEN`] long, then none of them common, then the longest
/// shortest alternative (a long literal is rarer), then the fewest
/// alternatives.
fn score(c: &[String], frequency: &HashMap<String, usize>) -> (bool, bool, usize, Reverse<usize>) {
    let shortest = c.iter().map(String::len).min().unwrap_or(0);
    let common = c
        .iter()
        .any(|l| frequency.get(&l.to_ascii_lowercase()).copied().unwrap_or(0) >= COMMON);
    (
        shortest >= MIN_ANCHOR_LEN,
        !common,
        shortest,
        Reverse(c.len()),
    )
}

/// The position of the most selective of `clauses`, if any.
fn best(clauses: &[Vec<String>], frequency: &HashMap<String, usize>) -> Option<usize> {
    (0..clauses.len()).max_by_key(|&i| score(&clauses[i], frequency))
}

/// A rule's anchor: its most selective clause, if long enough.
fn anchor<'c>(
    clauses: &'c [Vec<String>],
    frequency: &HashMap<String, usize>,
) -> Option<&'c [String]> {
    let c = &clauses[best(clauses, frequency)?];
    score(c, frequency).0.then_some(c.as_slice())
}
