//! Which rules can match an event: those whose `index` patterns cover the
//! index the event would be stored in, and whose query's category is one of
//! the event's (`any where` rules and sequences are filed under the empty
//! category and tried on every event of their indices) — or, for a rule
//! restricted to narrower kinds of event ([`SelectKey`]: a Sigma rule's
//! Windows channels and event ids), one of those. The answer depends only
//! on (index, categories, channel, event id), so it is computed once per
//! such signature and shared by every core.
//!
//! Of those candidates, a rule is then evaluated only when the event holds
//! what the rule requires ([`crate::literal`]: per field, a hash table of
//! whole values and an automaton of contained literals, looked up once
//! over the fields the candidates' anchors name), so the cost per event
//! grows with the rules that may match it, not with every rule loaded.

use crate::book::CompiledRule;
use crate::frontend::SelectKey;
use crate::literal::{Literals, ScanPlan};
use quarry_event::{Event, FieldId, Value, field_id};
use quarry_rules::index_name;
use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, RwLock};

/// What decides an event's candidates: (index, its categories in order,
/// lower-cased `winlog.channel`, `winlog.event_id`).
type Sig = (String, Vec<String>, Option<String>, Option<String>);

/// The signatures of one hash, and their candidates.
type Sigs = Vec<(Sig, Arc<Selection>)>;

/// The candidates of one [`Sig`], and what the prefilter must scan of an
/// event to judge them.
struct Selection {
    /// In the order they are tried: by category pass (the event's
    /// categories, then the empty one), then rule order; each once.
    rules: Vec<usize>,
    plan: Option<ScanPlan>,
}

/// The rule index of a [`crate::RuleBook`]'s rules.
pub struct Selector<'a> {
    rules: &'a [CompiledRule],
    /// By the hash of a [`Sig`] (computed from the event's values without
    /// copying them), the signatures of that hash and their candidates.
    by_sig: RwLock<FxHashMap<u64, Sigs>>,
    /// The literal prefilter; `None` when no rule requires a literal.
    literals: Option<Literals>,
    /// `winlog.channel`, `winlog.event_id`, `event.category`.
    kind_fields: [FieldId; 3],
}

impl<'a> Selector<'a> {
    pub fn new(rules: &'a [CompiledRule]) -> Self {
        let queries: Vec<&quarry_eql::Query> = rules.iter().map(|r| &r.query).collect();
        Selector {
            rules,
            by_sig: RwLock::new(FxHashMap::default()),
            literals: Literals::new(&queries),
            kind_fields: ["winlog.channel", "winlog.event_id", "event.category"].map(field_id),
        }
    }

    /// The positions of the rules `ev` matches, in the order they were
    /// found (by category pass, then rule order).
    pub fn matching(&self, ev: &Event) -> Vec<usize> {
        self.select(ev, true, |i| self.rules[i].query.matches(ev))
    }

    /// The candidates of `ev` that `eval` accepts, each evaluated once;
    /// with `prefilter`, only those the literal prefilter lets through.
    fn select(
        &self,
        ev: &Event,
        prefilter: bool,
        mut eval: impl FnMut(usize) -> bool,
    ) -> Vec<usize> {
        let selection = self.selection(ev);
        // scanned once, and only as far as this kind of event's candidates
        // need
        let literals = self.literals.as_ref().filter(|_| prefilter);
        let hits = literals
            .zip(selection.plan.as_ref())
            .map(|(l, plan)| l.scan(ev, plan));
        let mut matched: Vec<usize> = Vec::new();
        for &i in &selection.rules {
            let may = match (literals, &hits) {
                (Some(l), Some(h)) => l.may_match(i, h),
                _ => true,
            };
            if may && eval(i) {
                matched.push(i);
            }
        }
        matched
    }

    /// The candidates of events like `ev`, computed once per [`Sig`]; found
    /// again without copying the event's values (the index name aside).
    fn selection(&self, ev: &Event) -> Arc<Selection> {
        let index = index_name(ev);
        let [channel_id, event_id_id, category_id] = self.kind_fields;
        let channel = ev.get_id(channel_id).and_then(Value::as_str);
        let event_id = channel.and_then(|_| ev.get_id(event_id_id)?.to_text());
        let categories = || {
            ev.get_id(category_id)
                .into_iter()
                .flat_map(|v| v.iter())
                .filter_map(|c| c.as_str())
        };
        // the signature's hash and equality, on the event's own values
        let hash = {
            let mut h = FxHasher::default();
            index.hash(&mut h);
            for c in categories() {
                c.hash(&mut h);
            }
            // the end of the categories, and the channel lower-cased
            0xffu8.hash(&mut h);
            if let Some(c) = channel {
                c.bytes().for_each(|b| h.write_u8(b.to_ascii_lowercase()));
            }
            channel.is_some().hash(&mut h);
            event_id.hash(&mut h);
            h.finish()
        };
        let same = |sig: &Sig| {
            sig.0 == index
                && sig.1.iter().map(String::as_str).eq(categories())
                && match (&sig.2, channel) {
                    // stored lower-cased
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                    (None, None) => true,
                    _ => false,
                }
                && sig.3.as_deref() == event_id.as_deref()
        };
        if let Some(s) = self.by_sig.read().ok().and_then(|m| {
            m.get(&hash)?
                .iter()
                .find(|(sig, _)| same(sig))
                .map(|(_, s)| s.clone())
        }) {
            return s;
        }
        let sig: Sig = (
            index,
            categories().map(str::to_string).collect(),
            channel.map(str::to_ascii_lowercase),
            event_id.map(|id| id.into_owned()),
        );
        let (index, categories, channel, event_id) = &sig;
        // by rule: of this index, and not yet taken by an earlier pass
        let mut open: Vec<bool> = self
            .rules
            .iter()
            .map(|r| r.rule.matches_index(index))
            .collect();
        let mut rules: Vec<usize> = Vec::new();
        for cat in categories
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(""))
        {
            for (i, r) in self.rules.iter().enumerate() {
                if open[i] && applies(r, cat, channel.as_deref(), event_id.as_deref()) {
                    open[i] = false;
                    rules.push(i);
                }
            }
        }
        let plan = self.literals.as_ref().map(|l| l.plan(&rules));
        let s = Arc::new(Selection { rules, plan });
        if let Ok(mut m) = self.by_sig.write() {
            let sigs = m.entry(hash).or_default();
            // another core may have computed it meanwhile
            if !sigs.iter().any(|(other, _)| *other == sig) {
                sigs.push((sig, s.clone()));
            }
        }
        s
    }
}

/// Whether `r` may match events of this category pass, channel and event
/// id (its index aside).
fn applies(
    r: &CompiledRule,
    category: &str,
    channel: Option<&str>,
    event_id: Option<&str>,
) -> bool {
    if r.keys.is_empty() {
        match r.query.category() {
            Some(c) => c == category,
            None => category.is_empty(),
        }
    } else {
        r.keys.iter().any(|k| fits(k, category, channel, event_id))
    }
}

/// Whether events of (category, channel, event id) are of the kind `k`:
/// Windows keys are tried in the empty-category pass, category keys in
/// their category's.
fn fits(k: &SelectKey, category: &str, channel: Option<&str>, event_id: Option<&str>) -> bool {
    match k {
        SelectKey::Windows {
            channel: want,
            event_ids,
        } => {
            let Some(ch) = channel.filter(|_| category.is_empty()) else {
                return false;
            };
            let want = want.to_ascii_lowercase();
            let channel_ok = if want.contains('*') {
                quarry_sigma::condition::name_matches(&want, ch)
            } else {
                want == ch
            };
            channel_ok
                && (event_ids.is_empty()
                    || event_id.is_some_and(|id| event_ids.iter().any(|w| w == id)))
        }
        SelectKey::Category(c) => channel.is_none() && c == category,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuleBook;

    fn book(rules: &[(&str, &str, &str)]) -> RuleBook {
        let mut set = quarry_rules::RuleSet::default();
        for (id, index, query) in rules {
            let text = format!(
                "[rule]\nrule_id = \"{id}\"\nname = \"{id}\"\ntype = \"eql\"\nlanguage = \"eql\"\nindex = [\"{index}\"]\nquery = '{query}'\n"
            );
            set.extend(quarry_rules::load_str(&text, format!("{id}.toml").into()));
        }
        RuleBook::compile(set)
    }

    #[test]
    fn a_rule_is_tried_only_on_its_indices_and_categories() {
        let b = book(&[
            (
                "proc",
                "logs-windows.*",
                "process where process.name == \"a.exe\"",
            ),
            ("any", "logs-*", "any where process.name == \"a.exe\""),
            (
                "aws",
                "logs-aws.*",
                "process where process.name == \"a.exe\"",
            ),
            ("net", "logs-*", "network where process.name == \"a.exe\""),
        ]);
        let sel = Selector::new(&b.rules);
        let mut ev = Event::default();
        ev.set("data_stream.type", "logs");
        ev.set("data_stream.dataset", "windows.sysmon_operational");
        ev.set("data_stream.namespace", "default");
        ev.set("event.category", vec!["process"]);
        ev.set("process.name", "a.exe");
        let ids: Vec<&str> = sel
            .matching(&ev)
            .into_iter()
            .map(|i| b.rules[i].rule.rule_id.as_str())
            .collect();
        assert_eq!(ids, ["proc", "any"]);
    }

    #[test]
    fn a_keyed_rule_is_tried_only_on_its_channels_and_ids() {
        let mut b = book(&[("sigma", "*", "any where process.name == \"a.exe\"")]);
        b.rules[0].keys = vec![
            SelectKey::Windows {
                channel: "Microsoft-Windows-Sysmon/Operational".into(),
                event_ids: vec!["1".into()],
            },
            SelectKey::Category("process".into()),
        ];
        let sel = Selector::new(&b.rules);
        let ev = |channel: Option<&str>, id: &str| {
            let mut ev = Event::default();
            if let Some(c) = channel {
                ev.set("winlog.channel", c);
                ev.set("winlog.event_id", id);
            }
            ev.set("event.category", vec!["process"]);
            ev.set("process.name", "a.exe");
            ev
        };
        assert_eq!(
            sel.matching(&ev(Some("microsoft-windows-sysmon/operational"), "1")),
            [0]
        );
        assert!(
            sel.matching(&ev(Some("Microsoft-Windows-Sysmon/Operational"), "5"))
                .is_empty()
        );
        assert!(sel.matching(&ev(Some("Security"), "1")).is_empty());
        // not a Windows record: its category decides
        assert_eq!(sel.matching(&ev(None, "")), [0]);
    }

    #[test]
    fn a_signature_is_found_again_only_by_events_of_its_kind() {
        let b = book(&[
            ("proc", "logs-*", "process where user.name == \"bob\""),
            ("net", "logs-*", "network where user.name == \"bob\""),
            ("any", "winlogbeat-*", "any where user.name == \"bob\""),
        ]);
        let sel = Selector::new(&b.rules);
        let ev = |categories: &[&str], dataset: Option<&str>, channel: Option<&str>| {
            let mut ev = Event::default();
            if let Some(d) = dataset {
                ev.set("data_stream.dataset", d);
            }
            if let Some(c) = channel {
                ev.set("winlog.channel", c);
                ev.set("winlog.event_id", 3i64);
            }
            ev.set("event.category", categories.to_vec());
            ev.set("user.name", "bob");
            ev
        };
        let ids = |ev: &Event| -> Vec<&str> {
            sel.matching(ev)
                .into_iter()
                .map(|i| b.rules[i].rule.rule_id.as_str())
                .collect()
        };
        for _ in 0..2 {
            // tried by category pass: the event's order decides
            assert_eq!(
                ids(&ev(&["process", "network"], Some("x"), None)),
                ["proc", "net"]
            );
            assert_eq!(
                ids(&ev(&["network", "process"], Some("x"), None)),
                ["net", "proc"]
            );
            assert_eq!(ids(&ev(&["network"], Some("x"), None)), ["net"]);
            assert!(ids(&ev(&["networkprocess"], Some("x"), None)).is_empty());
            assert_eq!(ids(&ev(&["process"], None, Some("Security"))), ["any"]);
            assert_eq!(ids(&ev(&["process"], None, Some("SECURITY"))), ["any"]);
        }
        let sigs = sel
            .by_sig
            .read()
            .map(|m| m.values().map(Vec::len).sum::<usize>());
        // the channel's case aside, one signature each
        assert_eq!(sigs.ok(), Some(5));
    }

    /// The ids of the rules the prefilter lets `sel` try on `ev`.
    fn tried(sel: &Selector<'_>, b: &RuleBook, ev: &Event) -> Vec<String> {
        let mut tried = Vec::new();
        sel.select(ev, true, |i| {
            tried.push(b.rules[i].rule.rule_id.clone());
            false
        });
        tried
    }

    /// An event of `logs-windows.sysmon_operational-default`, category
    /// process, with these fields.
    fn process_event(fields: &[(&str, &str)]) -> Event {
        let mut ev = Event::default();
        ev.set("data_stream.type", "logs");
        ev.set("data_stream.dataset", "windows.sysmon_operational");
        ev.set("data_stream.namespace", "default");
        ev.set("event.category", vec!["process"]);
        for (k, v) in fields {
            ev.set(k, *v);
        }
        ev
    }

    #[test]
    fn a_rule_is_evaluated_only_on_events_holding_its_literal() {
        let b = book(&[
            (
                "katz",
                "logs-*",
                r#"process where process.command_line : "*mimikatz*""#,
            ),
            (
                "evil",
                "logs-*",
                r#"process where process.name == "evil.exe" and process.pid > 2"#,
            ),
            // no literal: tried on every event of its kind with a pid
            ("pid", "logs-*", "process where process.pid > 2"),
            // a literal too short to anchor: tried on every event of its
            // kind with a name
            ("short", "logs-*", r#"process where process.name : "*ab*""#),
        ]);
        let sel = Selector::new(&b.rules);
        let tried = |ev: &Event| tried(&sel, &b, ev);
        // the literal in another case, inside a longer value
        let ev = process_event(&[
            (
                "process.command_line",
                r"C:\t\MimiKatz.EXE privilege::debug",
            ),
            ("process.name", "mimikatz.exe"),
        ]);
        assert_eq!(tried(&ev), ["katz", "short"]);
        assert_eq!(sel.matching(&ev), [0]);
        // evil.exe is elsewhere than process.name, or only part of it: not
        // tried (the need is the whole value of that field)
        let ev = process_event(&[("process.command_line", "EVIL.exe"), ("process.pid", "7")]);
        assert_eq!(tried(&ev), ["pid"]);
        let ev = process_event(&[("process.name", "not-evil.exe")]);
        assert_eq!(tried(&ev), ["short"]);
        // the whole value, in any case, or one of a list's: tried
        for name in ["EVIL.exe", "evil.exe"] {
            let ev = process_event(&[("process.name", name), ("process.pid", "7")]);
            assert_eq!(tried(&ev), ["evil", "pid", "short"]);
        }
        let mut ev = process_event(&[("process.pid", "7")]);
        ev.set("process.name", vec!["a.exe", "Evil.EXE"]);
        assert_eq!(tried(&ev), ["evil", "pid", "short"]);
        // a value that is not a string may equal after conversion: tried
        let mut ev = process_event(&[]);
        ev.set("process.name", 7i64);
        assert_eq!(tried(&ev), ["evil", "short"]);
        let ev = process_event(&[("process.name", "notepad.exe")]);
        assert_eq!(tried(&ev), ["short"]);
        // a null pid is no value; an empty list is one (`!= null` holds)
        let mut ev = process_event(&[]);
        ev.insert_id(field_id("process.pid"), Value::Null);
        assert!(tried(&ev).is_empty());
        ev.set("process.pid", Value::Array(Vec::new()));
        assert_eq!(tried(&ev), ["pid"]);
        // unfiltered, everything of its kind is tried
        let mut all = Vec::new();
        sel.select(&ev, false, |i| {
            all.push(i);
            false
        });
        assert_eq!(all, [0, 1, 2, 3]);
        // a non-ASCII value whose Unicode lower case holds the literal
        // (the Kelvin sign folds to `k`), as the evaluation folds it
        let ev = process_event(&[("process.command_line", "x MIMI\u{212A}ATZ y")]);
        assert!(b.rules[0].query.matches(&ev));
        assert_eq!(sel.matching(&ev), [0]);
    }

    #[test]
    fn keywords_and_non_ascii_patterns_are_indexed_too() {
        let mut b = book(&[
            (
                "emoji",
                "logs-*",
                "process where process.command_line : (\"*\u{1F600}*\", \"*\u{1F47E}*\")",
            ),
            ("kw", "logs-*", r#"process where process.pid > 2"#),
        ]);
        // a Sigma keyword: any string value of any field holds it
        b.rules[1].query = sigma_keyword("sekurlsa::");
        let sel = Selector::new(&b.rules);
        let tried = |ev: &Event| tried(&sel, &b, ev);
        assert!(tried(&process_event(&[("process.command_line", "plain ascii")])).is_empty());
        let ev = process_event(&[("process.command_line", "caf\u{e9} \u{1F600}")]);
        assert_eq!(tried(&ev), ["emoji"]);
        assert_eq!(sel.matching(&ev), [0]);
        // the keyword in some field, any case; not in a number
        let ev = process_event(&[
            ("event.type", "start"),
            ("user.name", "x SEKURLSA::logonpasswords"),
        ]);
        assert_eq!(tried(&ev), ["kw"]);
        assert_eq!(sel.matching(&ev), [1]);
        let mut ev = process_event(&[]);
        ev.set("process.pid", 7i64);
        assert!(tried(&ev).is_empty());
    }

    /// The query of a Sigma rule for process creations holding `kw`.
    fn sigma_keyword(kw: &str) -> quarry_eql::Query {
        let text = format!(
            "title: k\nlogsource:\n    category: process_creation\n    product: windows\ndetection:\n    keywords:\n        - '{kw}'\n    condition: keywords\n"
        );
        let rule = quarry_sigma::load_str(std::path::Path::new("k.yml"), &text)
            .pop()
            .expect("one rule")
            .expect("a Sigma rule");
        quarry_sigma::compile(&rule).expect("compiles").query
    }

    /// A small deterministic generator (xorshift64), so that the
    /// comparison below needs no dependency and replays the same cases.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[(self.next() % xs.len() as u64) as usize]
        }
    }

    #[test]
    fn the_prefilter_changes_no_answer() {
        const WORDS: &[&str] = &[
            "cmd.exe",
            r"\cmd.exe",
            "powershell",
            "-enc",
            "mimikatz",
            "\u{212A}atz",
            "rundll32.exe",
            "start",
            "windows",
            "evil",
            "true",
            "İnvoke",
            "\u{1F600}",
            r"C:\Windows\System32",
            "ab",
            "4688",
            "DWSNET OÜ",
            "\u{17F}tart",
            "c^^md",
        ];
        const FIELDS: &[&str] = &["process.name", "process.command_line", "user.name"];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut rules: Vec<(String, String)> = Vec::new();
        for n in 0..300 {
            let term = |rng: &mut Rng| {
                let f = rng.pick(FIELDS);
                let w = rng.pick(WORDS).replace('\\', r"\\");
                let w2 = rng.pick(WORDS).replace('\\', r"\\");
                // a word as a regex's text (`.` any character aside)
                let re: String = rng
                    .pick(WORDS)
                    .chars()
                    .map(|c| match c {
                        '\\' => r"\\\\".to_string(),
                        c => c.to_string(),
                    })
                    .collect();
                match rng.next() % 15 {
                    9 => return format!(r#"{f} regex~ "{re}.*""#),
                    10 => return format!(r#"{f} regex ".*{re}""#),
                    11 => return format!(r#"{f} regex~ "(x|{re}).*e""#),
                    // no literal: the field's having a value
                    12 => return format!(r#"{f} : "*""#),
                    13 => return format!("{f} != null"),
                    14 => return format!(r#"{f} >= "m""#),
                    _ => {}
                }
                match rng.next() % 9 {
                    0 => format!(r#"{f} == "{w}""#),
                    1 => format!(r#"{f} : "*{w}*""#),
                    2 => format!(r#"{f} : "{w}*""#),
                    3 => format!(r#"{f} like "*{w}""#),
                    4 => format!(r#"{f} like~ "*{w}*""#),
                    5 => format!(r#"{f} in ("{w}", "{w2}")"#),
                    6 => format!(r#"{f} in~ ("{w}", "{w2}")"#),
                    7 => format!(r#"not {f} : "*{w}*""#),
                    _ => format!(r#"{f} : "*{w}*{w2}*""#),
                }
            };
            let q = match rng.next() % 4 {
                0 => term(&mut rng),
                1 => format!("{} and {}", term(&mut rng), term(&mut rng)),
                2 => format!("{} or {}", term(&mut rng), term(&mut rng)),
                _ => format!(
                    "({} or {}) and {}",
                    term(&mut rng),
                    term(&mut rng),
                    term(&mut rng)
                ),
            };
            rules.push((format!("r{n}"), format!("process where {q}")));
        }
        let spec: Vec<(&str, &str, &str)> = rules
            .iter()
            .map(|(id, q)| (id.as_str(), "logs-*", q.as_str()))
            .collect();
        let b = book(&spec);
        assert_eq!(b.rules.len(), 300, "{:?}", b.not_compiled);
        let sel = Selector::new(&b.rules);
        let anchored = sel.literals.as_ref().map_or(0, |l| {
            (0..b.rules.len()).filter(|&i| l.is_anchored(i)).count()
        });
        assert!(anchored > 150, "{anchored} rules anchored");
        let (mut matched, mut skipped) = (0, 0);
        for _ in 0..600 {
            let mut fields = Vec::new();
            for f in FIELDS {
                if rng.next().is_multiple_of(4) {
                    continue;
                }
                let mut v = String::new();
                for _ in 0..rng.next() % 3 + 1 {
                    v.push_str(rng.pick(WORDS));
                    if rng.next().is_multiple_of(2) {
                        v.push(' ');
                    }
                }
                // any case: the prefilter must fold it as the rules do
                let v: String = v
                    .chars()
                    .map(|c| match rng.next() % 3 {
                        0 => c.to_ascii_uppercase(),
                        1 => c.to_ascii_lowercase(),
                        _ => c,
                    })
                    .collect();
                fields.push((*f, v));
            }
            let fields: Vec<(&str, &str)> = fields.iter().map(|(f, v)| (*f, v.as_str())).collect();
            let mut ev = process_event(&fields);
            // a field without a string: null, an empty list, a number
            for f in FIELDS {
                if ev.get(f).is_none() {
                    match rng.next() % 4 {
                        0 => ev.insert_id(field_id(f), Value::Null),
                        1 => ev.set(f, Value::Array(Vec::new())),
                        2 => ev.set(f, 7i64),
                        _ => {}
                    }
                }
            }
            let mut filtered = sel.matching(&ev);
            let mut all = sel.select(&ev, false, |i| b.rules[i].query.matches(&ev));
            filtered.sort_unstable();
            all.sort_unstable();
            assert_eq!(filtered, all, "{fields:?}");
            matched += all.len();
            let mut tried = 0;
            sel.select(&ev, true, |_| {
                tried += 1;
                false
            });
            skipped += b.rules.len() - tried;
        }
        // the cases exercise both sides
        assert!(matched > 1000, "{matched} matches");
        assert!(skipped > 600 * 50, "{skipped} evaluations skipped");
    }

    /// SigmaHQ's and Elastic's rules over part of the EVTX corpus: the
    /// prefiltered selection equals evaluating every candidate.
    #[test]
    #[ignore = "needs ../shared"]
    fn the_prefilter_changes_no_answer_on_the_corpus() {
        let shared = std::env::var_os("QUARRY_CORPUS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"))
            });
        let r = shared.join("rules");
        let b = RuleBook::load(&[
            r.join("elastic/rules"),
            r.join("elastic/rules_building_block"),
            r.join("sigma/rules"),
            r.join("sigma/rules-threat-hunting"),
            r.join("sigma/rules-emerging-threats"),
        ]);
        assert!(b.rules.len() > 4000, "{} rules", b.rules.len());
        let mut files = Vec::new();
        let mut problems = Vec::new();
        quarry_read::walk_files(
            &shared.join("corpus/evtx"),
            |f| f.extension().is_some_and(|e| e == "evtx"),
            &mut files,
            &mut problems,
        );
        files.sort();
        // every third file: enough events of every kind, in a test's time
        let files: Vec<_> = files.into_iter().step_by(3).collect();
        assert!(files.len() > 100, "{} files", files.len());
        let sel = Selector::new(&b.rules);
        let (seen, _) = quarry_read::scan(&files, |ev| {
            let mut filtered = sel.matching(&ev);
            let mut all = sel.select(&ev, false, |i| b.rules[i].query.matches(&ev));
            filtered.sort_unstable();
            all.sort_unstable();
            let differ =
                (filtered != all).then(|| format!("{}: {filtered:?} != {all:?}", ev.origin));
            Some((all.len(), differ))
        });
        let differ: Vec<&String> = seen.iter().filter_map(|(_, d)| d.as_ref()).collect();
        assert!(
            differ.is_empty(),
            "{} events differ: {:?}",
            differ.len(),
            &differ[..differ.len().min(5)]
        );
        let matches: usize = seen.iter().map(|(n, _)| n).sum();
        println!("{} events, {matches} matches", seen.len());
        assert!(
            seen.len() > 5000 && matches > 1000,
            "{} events, {matches} matches",
            seen.len()
        );
    }
}
