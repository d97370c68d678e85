//! The literal prefilter of [`crate::select`]: rules indexed by what every
//! event they match must hold in one of their fields, so that an event is
//! evaluated only against the rules whose requirement it meets.
//!
//! [`quarry_eql::Query::required_needs_by`] gives, per query, clauses (AND)
//! of alternatives (OR), each alternative a [`Need`]: a value of a named
//! field that *is* a literal (an equality, a wildcard pattern without
//! wildcards, a list member), Unicode case aside, or that *contains* one,
//! ASCII case aside, or that is not ASCII at all (a pattern holding an
//! emoji), or any value at all (`url.full : *`). Each rule gets one
//! clause as its *anchor* (the most
//! selective: see [`anchor`]). Per field, the whole values anchors name go
//! into a hash table and the contained literals, lower-cased, into an
//! Aho-Corasick automaton; per event, the lower-cased values of
//! the fields its candidate rules' anchors name ([`Literals::plan`]) are
//! looked up and scanned once ([`Literals::scan`]; what a text met is
//! remembered per thread, for the next event that repeats it),
//! and a rule is tried only when one of its anchor's alternatives was
//! found ([`Literals::may_match`]); a rule with no anchor is always tried.
//! A pattern found marks its rules through postings (pattern → rules), so
//! judging a candidate is one bit, however many alternatives its anchor
//! lists (Elastic's and Sigma's lists run to hundreds).
//! An equality is far more selective than a substring anywhere (`cmd.exe`
//! as a `process.name`, not somewhere in a parent's command line), and a
//! hash lookup is cheaper than a scan. The prefilter only skips rules that
//! cannot match: results are those of evaluating every candidate.
//!
//! Exactness details, following how quarry-eql's evaluation compares text:
//! case-insensitive tests fold non-ASCII values with Unicode's lower case
//! (`İ` → `i̇`, the Kelvin sign → `k`), so a non-ASCII value is looked up
//! and scanned lower-cased that way (which keeps its every ASCII run
//! lower-cased, and may add ones: all an ASCII literal can be found in,
//! ASCII case aside); values that are not strings (numbers, booleans, timestamps,
//! IPs), which evaluation may compare after conversion, meet every need of
//! their field.

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use quarry_eql::Query;
use quarry_eql::compile::{ANY_TEXT, Holds, KIND_FIELDS, Need};
use quarry_event::{Event, FieldId, Value, field_id};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::cmp::Reverse;
use std::sync::atomic::{AtomicU64, Ordering};

/// Contained literals shorter than this make no anchor ([`anchorable`]
/// aside): a one- or two-byte pattern occurs in nearly every value, and
/// with overlapping search each occurrence is a match to report, so it
/// would cost more than it saves.
const MIN_ANCHOR_LEN: usize = 3;

/// Characters rare enough in logs that two of them make an anchor (`^^`,
/// cmd's escape, in Sigma's obfuscation rules): an occurrence is nearly
/// always a match.
const RARE_PUNCTUATION: &[u8] = b"^`~|;{}<>$@#!";

/// Whether a contained literal is long enough, or rare enough, to anchor.
fn anchorable(text: &str) -> bool {
    text.len() >= MIN_ANCHOR_LEN
        || (text.len() == 2 && text.bytes().all(|b| RARE_PUNCTUATION.contains(&b)))
}

/// A need (field and literal) that this share of the rules require, or
/// at least [`COMMON_MIN`] of them, is taken for a common value
/// (`host.os.type` `windows`, `event.type` `start`): every event of its
/// kind holds it, so another clause of the rule makes a better anchor.
const COMMON_SHARE: usize = 25;
const COMMON_MIN: usize = 8;

/// The anchors of a rule book and, per field, their tables.
pub struct Literals {
    /// By [`quarry_event::FieldId`] index: how the field's values are
    /// looked up, when some anchor names the field.
    fields: Vec<Option<FieldIndex>>,
    /// What some string value holds, whatever its field (Sigma's keywords:
    /// [`ANY_TEXT`]).
    any: Option<FieldIndex>,
    /// Per rule, the pattern ids of its anchor's alternatives (one of which
    /// a matching event holds); `None`: no anchor, always tried.
    anchors: Vec<Option<Box<[u32]>>>,
    /// The other way round: per pattern id, the rules whose anchor holds it
    /// (`postings[posting_at[p]..posting_at[p + 1]]`), so that a pattern
    /// found marks its rules once, and a rule is judged by one bit instead
    /// of by its anchor's every alternative.
    posting_at: Vec<u32>,
    postings: Vec<u32>,
    /// Words of a [`Hits`] rule bit set (one bit a rule).
    rule_words: usize,
    /// Which rule book's patterns a thread's [`Memo`] holds.
    id: u64,
    /// The field of each pattern id's need; `None`: any field.
    pattern_field: Vec<Option<FieldId>>,
}

/// What of an event the prefilter scans for some rules: the fields their
/// anchors name, and whether every string (an anchor of Sigma keywords).
pub struct ScanPlan {
    fields: Vec<FieldId>,
    any: bool,
}

/// The needs of one field.
#[derive(Default)]
struct FieldIndex {
    /// Whole values, lower-cased, and their pattern ids.
    whole: FxHashMap<Box<str>, Vec<u32>>,
    /// The pattern ids of the contained literals, and their automaton
    /// over the lower-case literals (its pattern `i` is `contained[i]`).
    contained: Vec<u32>,
    contains: Option<AhoCorasick>,
    /// The pattern ids any value that is not ASCII meets.
    non_ascii: Vec<u32>,
    /// The pattern ids any value but null meets.
    present: Vec<u32>,
    /// Every pattern id of the field: what a value that is not a string
    /// may meet.
    all: Vec<u32>,
}

/// The rules one of whose anchor's patterns an event holds, as a bit set
/// over rules.
pub struct Hits<'l> {
    rules: Vec<u64>,
    literals: &'l Literals,
}

impl Hits<'_> {
    /// Marks pattern `p` found: its rules. (A pattern met twice, by two
    /// strings of an array, walks its few postings twice; a set of the
    /// patterns met would cost more to clear for every event.)
    fn set(&mut self, p: u32) {
        let i = p as usize;
        let l = self.literals;
        let (Some(&from), Some(&to)) = (l.posting_at.get(i), l.posting_at.get(i + 1)) else {
            return;
        };
        for &r in l
            .postings
            .get(from as usize..to as usize)
            .unwrap_or_default()
        {
            let r = r as usize;
            if let Some(w) = self.rules.get_mut(r / 64) {
                *w |= 1 << (r % 64);
            }
        }
    }

    /// Whether rule `i`'s anchor has an alternative found.
    fn rule(&self, i: usize) -> bool {
        self.rules
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// A clause holding a literal too short to anchor, as what it still
/// requires: a value of one of the fields it names (each of its
/// alternatives is met only by a string of its field).
fn widened(clause: Vec<Need>) -> Vec<Need> {
    let short = |n: &Need| n.holds == Holds::Contains && !anchorable(&n.text);
    if !clause.iter().any(short) || clause.iter().any(|n| n.field == ANY_TEXT) {
        return clause;
    }
    let mut fields: Vec<&'static str> = clause.iter().map(|n| n.field).collect();
    fields.sort_unstable();
    fields.dedup();
    fields
        .into_iter()
        .map(|field| Need {
            field,
            text: String::new(),
            holds: Holds::Present,
        })
        .collect()
}

/// A need with its literal lower-cased: the form it is indexed in.
fn folded(n: Need) -> Need {
    Need {
        text: n.text.to_lowercase(),
        ..n
    }
}

impl Literals {
    /// The anchors of `queries` (in rule order); `None` when no rule has one.
    pub fn new(queries: &[&Query]) -> Option<Literals> {
        let common_at = (queries.len() / COMMON_SHARE).max(COMMON_MIN);
        // the clauses of each query, an `or` of several clauses a side (a
        // Sigma rule's log sources, a sequence's filters) narrowed to the
        // clause `pick` prefers on each side
        // (on every core: Sigma's rules list hundreds of alternatives, each
        // clause of which is scored)
        let clauses_by = |frequency: &FxHashMap<Need, usize>| -> Vec<Vec<Vec<Need>>> {
            queries
                .par_iter()
                .map(|q| {
                    let pick = |cs: &[Vec<Need>]| best(cs, frequency, common_at);
                    q.required_needs_by(&pick)
                        .into_iter()
                        .map(|c| widened(c.into_iter().map(folded).collect()))
                        .collect()
                })
                .collect()
        };
        // the anchors, and the needs they name (the clauses and their
        // frequencies, many times larger, are dropped before the automata
        // are built)
        let (anchors, patterns) = {
            // first by length alone, to learn how many rules require each
            // need (common values such as `windows` would otherwise be picked
            // as whole values); then again knowing which are common
            let frequency = frequencies(&clauses_by(&FxHashMap::default()));
            let clauses = clauses_by(&frequency);
            let mut ids: FxHashMap<&Need, u32> = FxHashMap::default();
            let mut patterns: Vec<&Need> = Vec::new();
            let mut anchors = Vec::with_capacity(clauses.len());
            for rule in &clauses {
                let anchor = anchor(rule, &frequency, common_at).map(|clause| {
                    clause
                        .iter()
                        .map(|n| {
                            *ids.entry(n).or_insert_with(|| {
                                patterns.push(n);
                                (patterns.len() - 1) as u32
                            })
                        })
                        .collect::<Box<[u32]>>()
                });
                anchors.push(anchor);
            }
            let patterns: Vec<Need> = patterns.into_iter().cloned().collect();
            (anchors, patterns)
        };
        if patterns.is_empty() {
            return None;
        }
        let mut fields: Vec<Option<FieldIndex>> = Vec::new();
        let mut any: Option<FieldIndex> = None;
        for (p, n) in patterns.iter().enumerate() {
            let f = if n.field == ANY_TEXT {
                any.get_or_insert_with(FieldIndex::default)
            } else {
                let id = field_id(n.field).index();
                if fields.len() <= id {
                    fields.resize_with(id + 1, || None);
                }
                fields[id].get_or_insert_with(FieldIndex::default)
            };
            f.all.push(p as u32);
            match n.holds {
                Holds::Is => f
                    .whole
                    .entry(n.text.as_str().into())
                    .or_default()
                    .push(p as u32),
                Holds::Contains => f.contained.push(p as u32),
                Holds::NonAscii => f.non_ascii.push(p as u32),
                Holds::Present => f.present.push(p as u32),
            }
        }
        // the largest first: building one takes several times the memory
        // of the automaton built, best spent before the others exist
        let mut to_build: Vec<&mut FieldIndex> = fields
            .iter_mut()
            .flatten()
            .chain(any.as_mut())
            .filter(|f| !f.contained.is_empty())
            .collect();
        let bytes = |f: &FieldIndex| -> usize {
            f.contained
                .iter()
                .map(|&p| patterns[p as usize].text.len())
                .sum()
        };
        to_build.sort_by_cached_key(|f| Reverse(bytes(f)));
        // on all cores
        let built = to_build.into_par_iter().with_max_len(1).map(|f| {
            let literals = f.contained.iter().map(|&p| &patterns[p as usize].text);
            // standard semantics, so that overlapping search reports every
            // pattern (`cmd.exe` inside `\cmd.exe`). The literals are lower
            // case and so are the values scanned: case-sensitive, the
            // automaton's alphabet has half the letters, and half the size.
            // A DFA (one table lookup a byte) for the smaller sets, kept if
            // it is small too; else a contiguous NFA, a fraction of the
            // memory (a DFA of a few hundred paths takes megabytes) and as
            // fast as the DFA it replaces on a Sysmon hunt (measured)
            let build = |kind| {
                // no prefilter: the values are short and the literals'
                // bytes (`\`, `:`, `.`) common in them, so its candidates
                // cost more than stepping the automaton (5–8% of the
                // selection on a Sysmon log, measured)
                AhoCorasick::builder()
                    .kind(Some(kind))
                    .prefilter(false)
                    .build(literals.clone())
                    .ok()
            };
            let dfa = (f.contained.len() <= DFA_MAX_PATTERNS)
                .then(|| build(AhoCorasickKind::DFA))
                .flatten()
                .filter(|ac| ac.memory_usage() <= DFA_MAX_BYTES);
            f.contains = Some(match dfa {
                Some(ac) => ac,
                None => build(AhoCorasickKind::ContiguousNFA)?,
            });
            Some(())
        });
        built.collect::<Option<()>>()?;
        // the postings, rules ascending under each pattern
        let mut count = vec![0u32; patterns.len() + 1];
        for &p in anchors.iter().flatten().flat_map(|a| a.iter()) {
            count[p as usize + 1] += 1;
        }
        for i in 1..count.len() {
            count[i] += count[i - 1];
        }
        let posting_at = count.clone();
        let mut postings = vec![0u32; count.last().map_or(0, |&n| n as usize)];
        for (r, anchor) in anchors.iter().enumerate() {
            for &p in anchor.iter().flat_map(|a| a.iter()) {
                let at = &mut count[p as usize];
                postings[*at as usize] = r as u32;
                *at += 1;
            }
        }
        let pattern_field = patterns
            .iter()
            .map(|n| (n.field != ANY_TEXT).then(|| field_id(n.field)))
            .collect();
        Some(Literals {
            fields,
            any,
            rule_words: anchors.len().div_ceil(64),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            anchors,
            posting_at,
            postings,
            pattern_field,
        })
    }

    /// What [`Literals::scan`] must look at to judge `rules`.
    pub fn plan(&self, rules: &[usize]) -> ScanPlan {
        let mut plan = ScanPlan {
            fields: Vec::new(),
            any: false,
        };
        for &i in rules {
            for &p in self
                .anchors
                .get(i)
                .and_then(Option::as_ref)
                .into_iter()
                .flatten()
            {
                match self.pattern_field.get(p as usize) {
                    Some(Some(f)) => plan.fields.push(*f),
                    Some(None) => plan.any = true,
                    None => {}
                }
            }
        }
        plan.fields.sort_unstable();
        plan.fields.dedup();
        plan
    }

    /// The patterns `ev`'s values hold, of the fields `plan` names (those
    /// of other fields are left unset: only rules the plan was made for
    /// may be asked about).
    pub fn scan(&self, ev: &Event, plan: &ScanPlan) -> Hits<'_> {
        let mut hits = Hits {
            rules: vec![0; self.rule_words],
            literals: self,
        };
        MEMO.with_borrow_mut(|memo| {
            memo.serve(self);
            for &id in &plan.fields {
                if let (Some(v), Some(Some(f))) = (ev.get_id(id), self.fields.get(id.index())) {
                    memo.held += scan_value(f, memo.of_field(id.index()), v, &mut hits);
                }
            }
            if let Some(f) = self.any.as_ref().filter(|_| plan.any) {
                let mut strings_of = Vec::with_capacity(ev.len());
                for (_, v) in ev.fields_by_id() {
                    strings(v, &mut strings_of);
                }
                // the same string in several fields (an ECS field repeats
                // its `winlog.event_data` one) is found in the memo again;
                // one too long to remember (a script block, and the field
                // that copies it) is scanned once
                let mut long: Vec<&str> = Vec::new();
                for s in strings_of {
                    if s.len() > MEMO_MAX_TEXT {
                        if long.contains(&s) {
                            continue;
                        }
                        long.push(s);
                    }
                    memo.held += scan_text(f, &mut memo.any, s, &mut hits);
                }
            }
            memo.bound();
        });
        hits
    }

    /// Can rule `i` match an event with these hits? (No anchor: yes.)
    pub fn may_match(&self, i: usize, hits: &Hits) -> bool {
        !self.is_anchored(i) || hits.rule(i)
    }

    /// Whether rule `i` has an anchor.
    pub fn is_anchored(&self, i: usize) -> bool {
        matches!(self.anchors.get(i), Some(Some(_)))
    }
}

/// Marks the patterns of `f` that the value `v`, of `f`'s field, meets:
/// each string's ([`scan_text`]); a value that is not a string, which
/// evaluation may compare after conversion, any. Returns the bytes `memo`
/// grew by.
fn scan_value(f: &FieldIndex, memo: &mut Met, v: &Value, hits: &mut Hits) -> usize {
    if !v.is_null() {
        f.present.iter().for_each(|&p| hits.set(p));
    }
    match v {
        Value::Str(s) => scan_text(f, memo, s, hits),
        Value::Null => 0,
        Value::Array(_) => {
            let mut texts = Vec::new();
            if strings(v, &mut texts) {
                f.all.iter().for_each(|&p| hits.set(p));
            }
            texts.into_iter().map(|s| scan_text(f, memo, s, hits)).sum()
        }
        _ => {
            f.all.iter().for_each(|&p| hits.set(p));
            0
        }
    }
}

/// The strings of `v` (an array's, nested ones included); whether it holds
/// values that are neither strings nor null.
fn strings<'e>(v: &'e Value, out: &mut Vec<&'e str>) -> bool {
    match v {
        Value::Str(s) => {
            out.push(s.as_str());
            false
        }
        Value::Null => false,
        Value::Array(items) => items.iter().fold(false, |other, x| strings(x, out) | other),
        _ => true,
    }
}

/// Marks the patterns of `f` that the text `s` meets, remembered in
/// `memo` (what `f`'s field's texts met, on this thread): logs repeat
/// their values (the same executables, command lines, hashes) far more
/// than they vary, and a lookup costs a fraction of a scan. Returns the
/// bytes `memo` grew by.
fn scan_text(f: &FieldIndex, memo: &mut Met, s: &str, hits: &mut Hits) -> usize {
    if let Some(ps) = memo.texts.get(s) {
        ps.iter().for_each(|&p| hits.set(p));
        return 0;
    }
    let ps = met_by(f, s);
    ps.iter().for_each(|&p| hits.set(p));
    if s.len() > MEMO_MAX_TEXT {
        return 0;
    }
    let grew = s.len() + 4 * ps.len() + MEMO_ENTRY_BYTES;
    memo.bytes += grew;
    memo.texts.insert(s.into(), ps);
    grew
}

/// The patterns of `f` that the text `s` meets, ascending: any pattern
/// met by a text that is not ASCII; the whole value its lower-cased form
/// is; the literals that form contains. A non-ASCII text is lower-cased
/// with Unicode's rules, as evaluation folds it.
fn met_by(f: &FieldIndex, s: &str) -> Box<[u32]> {
    let ascii = s.is_ascii();
    let mut ps: Vec<u32> = Vec::new();
    if !ascii {
        ps.extend_from_slice(&f.non_ascii);
    }
    if !f.whole.is_empty() || f.contains.is_some() {
        let low = if ascii {
            s.to_ascii_lowercase()
        } else {
            s.to_lowercase()
        };
        if let Some(whole) = f.whole.get(low.as_str()) {
            ps.extend_from_slice(whole);
        }
        if let Some(ac) = f.contains.as_ref() {
            for m in ac.find_overlapping_iter(low.as_str()) {
                if let Some(&p) = f.contained.get(m.pattern().as_usize()) {
                    ps.push(p);
                }
            }
        }
    }
    ps.sort_unstable();
    ps.dedup();
    ps.into_boxed_slice()
}

/// Texts longer than this are scanned each time, not remembered: long
/// values (scripts, call traces) rarely repeat whole.
const MEMO_MAX_TEXT: usize = 4 << 10;
/// What a thread's memo may hold (texts and patterns, about) before it is
/// emptied and filled again: bounded memory whatever the log, while the
/// values a log repeats come back within it.
const MEMO_BUDGET: usize = 8 << 20;
/// A memo entry's cost beyond its text and patterns (the table's slot,
/// two allocations), about.
const MEMO_ENTRY_BYTES: usize = 48;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::default();
}

/// Per thread, what the texts scanned met, for the rule book last scanned
/// with ([`Literals::id`]).
#[derive(Default)]
struct Memo {
    owner: Option<u64>,
    /// By [`FieldId`] index.
    fields: Vec<Met>,
    /// What any field holds ([`ANY_TEXT`]).
    any: Met,
    /// The bytes of every [`Met`] here, about.
    held: usize,
}

/// The patterns of one field's index that each text met, and the bytes
/// this costs, about.
#[derive(Default)]
struct Met {
    texts: FxHashMap<Box<str>, Box<[u32]>>,
    bytes: usize,
}

impl Memo {
    /// Makes the memo `l`'s: emptied when it held another book's patterns.
    fn serve(&mut self, l: &Literals) {
        if self.owner != Some(l.id) {
            *self = Memo {
                owner: Some(l.id),
                ..Memo::default()
            };
        }
    }

    fn of_field(&mut self, i: usize) -> &mut Met {
        if self.fields.len() <= i {
            self.fields.resize_with(i + 1, Met::default);
        }
        &mut self.fields[i]
    }

    /// Empties what has grown past its share of [`MEMO_BUDGET`] (each
    /// field's table on its own: a field whose values never repeat, GUIDs
    /// in a command line say, does not cost the others theirs).
    fn bound(&mut self) {
        if self.held <= MEMO_BUDGET {
            return;
        }
        for m in self.fields.iter_mut().chain([&mut self.any]) {
            if m.bytes > MEMO_BUDGET / 8 {
                self.held -= m.bytes;
                *m = Met::default();
            }
        }
        if self.held > MEMO_BUDGET {
            *self = Memo {
                owner: self.owner,
                ..Memo::default()
            };
        }
    }
}

/// How many rules require each need (in any of their clauses).
fn frequencies(clauses: &[Vec<Vec<Need>>]) -> FxHashMap<Need, usize> {
    let mut frequency: FxHashMap<Need, usize> = FxHashMap::default();
    for rule in clauses {
        let mut seen: Vec<&Need> = rule.iter().flatten().collect();
        seen.sort_unstable();
        seen.dedup();
        for n in seen {
            *frequency.entry(n.clone()).or_default() += 1;
        }
    }
    frequency
}

/// Sets of contained literals up to this many are matched by a DFA, when
/// it takes at most [`DFA_MAX_BYTES`].
const DFA_MAX_PATTERNS: usize = 256;
const DFA_MAX_BYTES: usize = 256 << 10;

/// A whole value is as selective as a contained literal this long.
const WHOLE_STRENGTH: usize = 12;
/// Values that are not ASCII are rare in logs, though not as rare as a
/// given literal.
const NON_ASCII_STRENGTH: usize = 6;
/// A field's having a value is the weakest need (though a field most
/// events lack, `dns.question.name`, anchors better than a value every
/// event of its kind holds).
const PRESENT_STRENGTH: usize = 1;

/// How selective a clause is, best greatest: every alternative usable
/// (contained literals [`anchorable`]), then none of them
/// common, then the weakest alternative's strength (a whole value, or the
/// length of a contained literal: a long literal is rarer), then the
/// fewest alternatives.
fn score(
    c: &[Need],
    frequency: &FxHashMap<Need, usize>,
    common_at: usize,
) -> (bool, bool, usize, Reverse<usize>) {
    let strength = |n: &Need| match n.holds {
        Holds::Is => WHOLE_STRENGTH,
        Holds::Contains => n.text.len().min(WHOLE_STRENGTH),
        Holds::NonAscii => NON_ASCII_STRENGTH,
        Holds::Present => PRESENT_STRENGTH,
    };
    let weakest = c.iter().map(strength).min().unwrap_or(0);
    let usable = !c.is_empty()
        && c.iter()
            .all(|n| n.holds != Holds::Contains || anchorable(&n.text));
    let common = c.iter().any(|n| {
        // the selector already narrows by what kind of event it is
        // (the frequencies are of folded needs: most are already)
        let count = if n
            .text
            .bytes()
            .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
        {
            frequency.get(&folded(n.clone()))
        } else {
            frequency.get(n)
        };
        KIND_FIELDS.contains(&n.field) || count.copied().unwrap_or(0) >= common_at
    });
    (usable, !common, weakest, Reverse(c.len()))
}

/// The position of the most selective of `clauses`, if any.
fn best(
    clauses: &[Vec<Need>],
    frequency: &FxHashMap<Need, usize>,
    common_at: usize,
) -> Option<usize> {
    (0..clauses.len()).max_by_key(|&i| score(&clauses[i], frequency, common_at))
}

/// A rule's anchor: its most selective clause, if usable.
fn anchor<'c>(
    clauses: &'c [Vec<Need>],
    frequency: &FxHashMap<Need, usize>,
    common_at: usize,
) -> Option<&'c [Need]> {
    let c = &clauses[best(clauses, frequency, common_at)?];
    score(c, frequency, common_at).0.then_some(c.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> Query {
        quarry_eql::compile(q, &quarry_eql::Options::default()).expect("compiles")
    }

    /// Which of `rules` rules the prefilter lets be tried on an event
    /// holding only `field`'s `value`.
    fn tried_with(
        l: &Literals,
        plan: &ScanPlan,
        rules: usize,
        field: &str,
        value: impl Into<Value>,
    ) -> Vec<usize> {
        let mut ev = Event::default();
        ev.set(field, value);
        let hits = l.scan(&ev, plan);
        (0..rules).filter(|&i| l.may_match(i, &hits)).collect()
    }

    #[test]
    fn a_plan_scans_only_what_its_rules_anchors_name() {
        let qs = [
            query(r#"process where process.name == "a.exe""#),
            query(r#"network where destination.domain : "*evil*""#),
            query(r#"process where length(process.name) > 2"#),
        ];
        let refs: Vec<&Query> = qs.iter().collect();
        let l = Literals::new(&refs).expect("anchors");
        let plan = l.plan(&[0, 2]);
        assert_eq!(plan.fields, [field_id("process.name")]);
        assert!(!plan.any);
        let mut ev = Event::default();
        ev.set("process.name", "A.EXE");
        ev.set("destination.domain", "evil.com");
        let hits = l.scan(&ev, &plan);
        assert!(l.may_match(0, &hits));
        // not in the plan: not scanned, so not found
        assert!(!l.may_match(1, &hits));
        // no anchor: always tried
        assert!(l.may_match(2, &hits));
        let hits = l.scan(&ev, &l.plan(&[0, 1, 2]));
        assert!(l.may_match(0, &hits) && l.may_match(1, &hits));
    }

    #[test]
    fn a_pattern_found_marks_every_rule_whose_anchor_holds_it() {
        let qs = [
            query(r#"process where process.name in ("a.exe", "b.exe")"#),
            query(r#"process where process.name == "b.exe" and process.pid > 2"#),
            query(r#"process where process.name : ("c.exe", "*evil*")"#),
            query(r#"process where process.command_line : "*evil*""#),
        ];
        let refs: Vec<&Query> = qs.iter().collect();
        let l = Literals::new(&refs).expect("anchors");
        let plan = l.plan(&[0, 1, 2, 3]);
        let tried = |name: &str| tried_with(&l, &plan, qs.len(), "process.name", name);
        assert_eq!(tried("B.exe"), [0, 1]);
        assert_eq!(tried("a.exe"), [0]);
        // found twice in one value, marked once; not in another field
        assert_eq!(tried("evil-EVIL.exe"), [2]);
        assert!(tried("d.exe").is_empty());
    }

    #[test]
    fn strings_scanned_together_meet_only_what_each_holds() {
        let qs = [
            query(r#"process where process.args : "*mimikatz*""#),
            query(r#"process where process.args : "*abc*""#),
        ];
        let refs: Vec<&Query> = qs.iter().collect();
        let l = Literals::new(&refs).expect("anchors");
        let plan = l.plan(&[0, 1]);
        let tried = |args: Value| tried_with(&l, &plan, qs.len(), "process.args", args);
        let strs = |xs: &[&str]| Value::Array(xs.iter().map(|&x| Value::from(x)).collect());
        // a literal split across two of an array's strings is not in it
        assert!(tried(strs(&["mimi", "katz"])).is_empty());
        assert_eq!(tried(strs(&["x", "MIMIKATZ.exe"])), [0]);
        assert_eq!(tried(strs(&["ab", "abc"])), [1]);
        // a value that is not a string may meet anything, once converted
        assert_eq!(
            tried(Value::Array(vec![Value::from("x"), Value::Int(7)])),
            [0, 1]
        );
    }

    /// A test without a literal, or with one too short to anchor, is
    /// anchored by its field's having a value: any value but null.
    #[test]
    fn a_field_without_a_literal_anchors_by_having_a_value() {
        let qs = [
            query(r#"network where url.full : "*""#),
            query(r#"process where process.name : "*ab*" or process.parent.name : "*cd*""#),
        ];
        let l = Literals::new(&qs.iter().collect::<Vec<_>>()).expect("anchors");
        let plan = l.plan(&[0, 1]);
        let tried = |field: &str, v: Value| tried_with(&l, &plan, 2, field, v);
        assert_eq!(tried("url.full", "https://x".into()), [0]);
        assert_eq!(tried("url.full", Value::Int(3)), [0]);
        assert_eq!(tried("url.full", Value::Array(Vec::new())), [0]);
        assert!(tried("url.full", Value::Null).is_empty());
        assert_eq!(tried("process.parent.name", "x.exe".into()), [1]);
        assert!(tried("process.command_line", "ab cd".into()).is_empty());
    }

    /// What a text met is remembered per rule book: a second book's scan
    /// of the same text is its own, and a text met again (case aside, as
    /// the first) meets the same rules.
    #[test]
    fn the_memo_serves_one_rule_book_at_a_time() {
        let a = [query(r#"process where process.name : "*evil*""#)];
        let b = [
            query(r#"process where process.name == "other.exe""#),
            query(r#"process where process.name : "*vil.ex*""#),
        ];
        let la = Literals::new(&a.iter().collect::<Vec<_>>()).expect("anchors");
        let lb = Literals::new(&b.iter().collect::<Vec<_>>()).expect("anchors");
        let (pa, pb) = (la.plan(&[0]), lb.plan(&[0, 1]));
        for _ in 0..2 {
            assert_eq!(tried_with(&la, &pa, 1, "process.name", "EVIL.exe"), [0]);
            assert_eq!(tried_with(&lb, &pb, 2, "process.name", "EVIL.exe"), [1]);
            assert_eq!(tried_with(&lb, &pb, 2, "process.name", "Other.EXE"), [0]);
            assert!(tried_with(&la, &pa, 1, "process.name", "Other.EXE").is_empty());
        }
    }

    /// Past its budget the memo is emptied, not grown, and what it then
    /// answers is still what a scan finds.
    #[test]
    fn the_memo_stays_within_its_budget() {
        let q = [query(r#"process where process.command_line : "*evil*""#)];
        let l = Literals::new(&q.iter().collect::<Vec<_>>()).expect("anchors");
        let plan = l.plan(&[0]);
        let filler = "x".repeat(MEMO_MAX_TEXT - 16);
        let held = || MEMO.with_borrow(|m| m.fields.iter().map(|f| f.bytes).sum::<usize>());
        let mut emptied = false;
        for i in 0..(2 * MEMO_BUDGET / MEMO_MAX_TEXT) {
            let before = held();
            let line = format!("{i:08} {filler}{}", if i % 3 == 0 { " evil" } else { "" });
            let tried = tried_with(&l, &plan, 1, "process.command_line", line.as_str());
            assert_eq!(tried.is_empty(), i % 3 != 0, "line {i}");
            assert!(held() <= MEMO_BUDGET);
            emptied |= held() < before;
        }
        assert!(emptied, "the memo was never emptied");
        // a text too long to remember is scanned every time
        let long = format!("{} evil", "y".repeat(MEMO_MAX_TEXT));
        let before = held();
        assert_eq!(
            tried_with(&l, &plan, 1, "process.command_line", long.as_str()),
            [0]
        );
        assert_eq!(held(), before);
    }
}
