//! Tests of compilation: folding, ordering, required literals, what
//! Elasticsearch rejects.

use super::C;
use crate::{Options, compile};
use quarry_event::Event;

#[test]
fn lucene_regexes_read_as_lucene_does() {
    let m = |p: &str, s: &str| super::lucene_regex(p).expect(p).is_match(s);
    // `<` `>` are literal, not Rust's word boundaries
    assert!(m("a<b>", "a<b>"));
    assert!(m(r"a\<b", "a<b"));
    assert!(m("[<>]x", ">x"));
    // `@` any string and `#` nothing outside a class, literal in one
    assert!(m("ab@", "abzz"));
    assert!(m("[@#]", "#"));
    assert!(!m("a#", "a"));
    // `]` first in a class, `[` and `&&` inside one are literal
    assert!(m("[]a]+", "]a]"));
    assert!(m("[a[]", "["));
    assert!(m("[&]", "&"));
    // anchored at both ends
    assert!(!m("2[0-9]{3}", "12000"));
    assert!(m("2[0-9]{3}", "2755"));
}

fn lits(q: &str) -> Vec<Vec<String>> {
    compile(q, &Options::default())
        .expect("compiles")
        .required_literals()
}

fn owned(c: &[&[&str]]) -> Vec<Vec<String>> {
    c.iter()
        .map(|a| a.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn required_literals_of_positive_string_tests() {
    // the dns.exe rule: the exclusions give nothing
    let rule = r#"process where host.os.type == "windows" and event.type == "start" and
  process.parent.name : "dns.exe" and
  not process.executable : ("?:\\Windows\\System32\\conhost.exe", "?:\\Windows\\System32\\dns.exe") and
  not ?process.parent.executable : "?:\\Program Files\\ReasonLabs\\DNS\\ui\\DNS.exe""#;
    let mut got = lits(rule);
    got.sort();
    assert_eq!(got, owned(&[&["dns.exe"], &["start"], &["windows"]]));
    // wildcards: the longest literal run of each alternative
    assert_eq!(
        lits(r#"any where a : ("*\\cmd.exe", "C:\\*\\powershell?.exe")"#),
        owned(&[&["\\cmd.exe", "\\powershell"]])
    );
    assert_eq!(lits(r#"any where a : "AbC*""#), owned(&[&["abc"]]));
    assert_eq!(lits(r#"any where a like "AbC*""#), owned(&[&["AbC"]]));
    assert_eq!(lits(r#"any where a like~ "AbC*""#), owned(&[&["abc"]]));
    assert_eq!(
        lits(r#"any where a in ("x1", "y2")"#),
        owned(&[&["x1", "y2"]])
    );
    assert_eq!(lits(r#"any where a in~ ("X1")"#), owned(&[&["X1"]]));
    assert_eq!(lits(r#"any where "x1" == a"#), owned(&[&["x1"]]));
    // or: one clause a side, merged
    assert_eq!(
        lits(r#"any where a == "x1" or b : "y2*""#),
        owned(&[&["x1", "y2"]])
    );
}

/// A query's needs as `field=text` (the whole value), `field~text`
/// (contained) or `field~` (not ASCII).
fn needs_of(q: &crate::Query, pick: super::Pick) -> Vec<Vec<String>> {
    q.required_needs_by(pick)
        .into_iter()
        .map(|c| {
            c.into_iter()
                .map(|n| {
                    let op = match n.holds {
                        super::Holds::Is => "=",
                        super::Holds::Contains => "~",
                        super::Holds::NonAscii => "~non-ASCII",
                        super::Holds::Present => "?",
                    };
                    format!("{}{op}{}", n.field, n.text)
                })
                .collect()
        })
        .collect()
}

/// A test that gives no literal but holds only of a value requires the
/// field's having one; a test null passes requires nothing.
#[test]
fn tests_without_literals_require_a_value() {
    let needs = |q: &str| needs_of(&compile(q, &Options::default()).expect(q), &longest);
    let present = |f: &str| vec![vec![format!("{f}?")]];
    assert_eq!(needs(r#"any where a : "*""#), present("a"));
    assert_eq!(needs("any where a != null"), present("a"));
    assert_eq!(needs("any where a > 5"), present("a"));
    assert_eq!(needs("any where 5 <= a"), present("a"));
    assert_eq!(needs(r#"any where a regex ".*""#), present("a"));
    // a literal is required instead when there is one
    assert_eq!(needs(r#"any where a : "*abc*""#), [["a~abc"]]);
    // `a or b` needs one of their values
    assert_eq!(needs(r#"any where a : "*" or b != null"#), [["a?", "b?"]]);
    // null passes these
    for q in [
        r#"any where a != "x""#,
        "any where a == null",
        r#"any where not a : "*""#,
        r#"any where a : "*" or true"#,
    ] {
        assert!(needs(q).is_empty(), "{q}: {:?}", needs(q));
    }
    // nor is a value sought in the JSON text
    let q = compile(r#"any where a : "*" and b == "xyz""#, &Options::default()).expect("compiles");
    assert_eq!(q.required_literals(), [["xyz"]]);
}

/// The clause whose shortest alternative is longest.
fn longest(cs: &[Vec<super::Need>]) -> Option<usize> {
    (0..cs.len()).max_by_key(|&i| cs[i].iter().map(|n| n.text.len()).min().unwrap_or(0))
}

#[test]
fn required_needs_by_narrows_ors_of_conjunctions() {
    let q = compile(
        r#"any where (a == "x1" and b == "longer1") or (c == "y1" and d : "*longer2*")"#,
        &Options::default(),
    )
    .expect("compiles");
    assert!(q.required_literals().is_empty());
    // the longest shortest alternative of each side
    assert_eq!(
        needs_of(&q, &longest),
        owned(&[&["b=longer1", "d~longer2"]])
    );
    // a side with nothing certain still gives nothing
    let q = compile(
        r#"any where (a == "x1" and b == "y1") or not c == "z1""#,
        &Options::default(),
    )
    .expect("compiles");
    assert!(needs_of(&q, &longest).is_empty());
}

#[test]
fn a_long_or_chain_gives_one_clause_of_its_distinct_alternatives() {
    // Elastic's and Sigma's lists run to thousands of alternatives, and
    // repeat some: each kept once, in order
    let mut names: Vec<String> = (0..3000)
        .map(|i| format!("\"p{}.exe\"", i % 1000))
        .collect();
    names.push("\"A.EXE\"".into());
    let q = compile(
        &format!(
            "process where process.name : ({}) or process.name == \"a.exe\"",
            names.join(", ")
        ),
        &Options::default(),
    )
    .expect("compiles");
    let got = needs_of(&q, &longest);
    assert_eq!(got.len(), 1);
    let mut want: Vec<String> = (0..1000)
        .map(|i| format!("process.name=p{i}.exe"))
        .collect();
    want.push("process.name=a.exe".into());
    want.sort();
    assert_eq!(got[0], want);
}

#[test]
fn required_needs_say_which_field_and_whether_the_whole_value() {
    let q = |s: &str| compile(s, &Options::default()).expect("compiles");
    let mut got = needs_of(
        &q(
            r#"process where process.name : ("CMD.exe", "*\\pwsh.exe") and process.args == "-enc" and
              process.command_line like~ "*IEX*" and user.name in ("bob", "alice") and
              process.executable : "C:\\Windows\\System32\\?.exe""#,
        ),
        &longest,
    );
    got.sort();
    assert_eq!(
        got,
        owned(&[
            &["process.args=-enc"],
            &["process.command_line~iex"],
            &["process.executable~c:\\windows\\system32\\"],
            &["process.name~\\pwsh.exe", "process.name=cmd.exe"],
            &["user.name=alice", "user.name=bob"],
        ])
    );
    // a whole value longer than the bound is only contained
    let long = "x".repeat(80);
    let got = needs_of(&q(&format!(r#"any where a == "{long}""#)), &longest);
    assert_eq!(got, [[format!("a~{}", "x".repeat(64))]]);
    // a pattern with a character no ASCII text folds to: a value that is
    // not ASCII; what any field holds: contained
    assert_eq!(
        needs_of(
            &q("any where a : (\"*\u{1F600}*\", \"*\u{1F47E}\")"),
            &longest
        ),
        [["a~non-ASCII"]]
    );
    let any = |pats: &[&str]| C::Glob {
        lhs: Box::new(C::Field(
            super::Compiler::new("", None).field(super::ANY_TEXT),
        )),
        pats: std::sync::Arc::new(crate::glob::GlobSet::new(
            pats.iter()
                .map(|p| crate::glob::Glob::new(p, true))
                .collect(),
        )),
        negated: false,
    };
    let got = super::required_needs_by(&any(&["*sekurlsa::*", "mimidrv.sys"]), &longest);
    assert_eq!(got.len(), 1);
    assert!(
        got[0]
            .iter()
            .all(|n| n.field == "*" && n.holds == super::Holds::Contains)
    );
    assert!(super::required_literals(&any(&["*sekurlsa::*"])).is_empty());
    // a number-like string is a need of the field's values (a value that is
    // a number meets every need), not of the JSON text
    assert_eq!(
        needs_of(&q(r#"any where a == "4688""#), &longest),
        [["a=4688"]]
    );
    assert!(q(r#"any where a == "4688""#).required_literals().is_empty());
    // text whose lower case is not ASCII: a value that is not ASCII either;
    // the Kelvin sign, whose lower case is `k`, gives no literal: only a
    // value of the field, for a pattern
    assert_eq!(
        needs_of(&q(r#"any where a in ("DWSNET OÜ", "b.exe")"#), &longest),
        [["a~non-ASCII", "a=b.exe"]]
    );
    assert_eq!(
        needs_of(&q("any where a : \"\u{212A}\""), &longest),
        [["a?"]]
    );
    assert!(needs_of(&q("any where a == \"\u{212A}\""), &longest).is_empty());
    // a regex without a literal needs a value; a negation nothing
    assert_eq!(
        needs_of(&q(r#"any where a regex ".+""#), &longest),
        [["a?"]]
    );
    assert!(needs_of(&q(r#"any where not a == "abc""#), &longest).is_empty());
}

#[test]
fn a_sequence_needs_one_of_its_filters_needs() {
    let q = |s: &str| compile(s, &Options::default()).expect("compiles");
    let got = needs_of(
        &q(r#"sequence by host.id
              [process where process.name == "a.exe" and process.args == "longer"]
              [network where destination.domain : "*evil*"]
              until [process where event.type == "end" and process.name == "a.exe"]"#),
        // (the `until` filter's longer literal)
        &longest,
    );
    assert_eq!(
        got,
        owned(&[&[
            "destination.domain~evil",
            "process.args=longer",
            "process.name=a.exe"
        ]])
    );
    // a filter that requires nothing: every event of its kind may match
    assert!(
        needs_of(
            &q(r#"sequence [process where process.name == "a.exe"] [network where true]"#),
            &longest
        )
        .is_empty()
    );
}

#[test]
fn run_matching_orders_as_run() {
    let opts = Options {
        tiebreaker: Some("n".into()),
        ..Options::default()
    };
    let q = compile(r#"any where a == "x""#, &opts).expect("compiles");
    let mut events = Vec::new();
    for (i, (ts, n, a)) in [
        (3, 1, "x"),
        (1, 2, "x"),
        (3, 0, "x"),
        (2, 5, "y"),
        (1, 2, "x"),
        (1, 1, "x"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut ev = Event::default();
        ev.set("@timestamp", ts as i64);
        ev.set("n", n as i64);
        ev.set("a", a);
        ev.set("i", i as i64);
        events.push(ev);
    }
    let order = |hits: Vec<crate::Hit>| -> Vec<i64> {
        hits.iter()
            .filter_map(|h| match h {
                crate::Hit::Event(e) => e.get("i").and_then(|v| v.as_i64()),
                _ => None,
            })
            .collect()
    };
    let all = order(q.run(events.clone()));
    let matching: Vec<Event> = events.into_iter().filter(|e| q.matches(e)).collect();
    assert_eq!(order(q.run_matching(matching)), all);
    assert_eq!(all, [5, 1, 4, 2, 0]);
}

#[test]
fn no_literals_where_a_match_need_not_show_one() {
    for q in [
        r#"any where not a == "x1""#,
        r#"any where a != "x1""#,
        r#"any where a : "*""#,
        r#"any where a : ("x1*", "*")"#,
        r#"any where a : "?""#,
        r#"any where a == 1"#,
        r#"any where a == "4688""#,
        r#"any where a in ("x1", 2)"#,
        r#"any where a > "x1""#,
        r#"any where a regex "x1.*""#,
        r#"any where startsWith(a, "x1")"#,
        r#"any where a : "é*""#,
        r#"any where a == "x\ty""#,
        r#"any where @timestamp == "2021-01-01""#,
        r#"any where a == "x1" or (b == "y1" and c == "z1")"#,
        r#"any where a == "x1" or b != "y1""#,
    ] {
        assert_eq!(lits(q), Vec::<Vec<String>>::new(), "{q}");
    }
    let seq = compile(
        r#"sequence [any where a == "x1"] [any where b == "y1"]"#,
        &Options::default(),
    )
    .expect("compiles");
    assert!(seq.required_literals().is_empty());
    // and keeps the clauses it can
    assert_eq!(
        lits(r#"any where a == "x1" and not b == "y1" and c > 2"#),
        owned(&[&["x1"]])
    );
}

fn rejects(q: &str, needle: &str) {
    match compile(q, &Options::default()) {
        Ok(_) => panic!("{q} compiled"),
        Err(e) => {
            let shown = e.to_string();
            assert!(
                shown.contains(needle) && shown.contains('^'),
                "{q}: {shown}"
            );
        }
    }
}

#[test]
fn rejects_what_elasticsearch_rejects() {
    rejects("any where a == b", "between fields");
    rejects("any where length(a) == length(b)", "between fields");
    rejects("any where a == 1 | count", "not supported");
    rejects("any where concat~(a, b) == \"x\"", "no case-insensitive");
    rejects("any where a : 1", "expected a string pattern");
}

#[test]
fn constants_fold_and_fields_are_listed() {
    let q = compile(
        "process where length(\"abc\") + 1 == 4 and process.name : \"A*\"",
        &Options::default(),
    )
    .expect("compiles");
    assert!(q.fields().contains(&"process.name".to_string()));
    let mut e = Event::default();
    e.set("event.category", vec!["process"]);
    e.set("process.name", "abc.exe");
    assert!(q.matches(&e));
}

#[test]
fn conjuncts_most_likely_to_reject_run_first() {
    let cx = super::Compiler::new("", None);
    let q = crate::parser::parse(
            "any where host.os.type == \"windows\" and not a : \"x\" and process.parent.name : \"dns.exe\"",
        )
        .expect("parses");
    let crate::ast::Body::Event(e) = &q.body else {
        panic!("event query")
    };
    let c = super::reorder(cx.compile(&e.condition).expect("compiles"));
    let mut order = Vec::new();
    super::fields(&c, &mut order);
    assert_eq!(order, ["process.parent.name", "host.os.type", "a"]);
    assert!(super::leads_with_specific_test(&c));
    let only_common =
        crate::parser::parse("any where host.os.type == \"windows\"").expect("parses");
    let crate::ast::Body::Event(e) = &only_common.body else {
        panic!("event query")
    };
    assert!(!super::leads_with_specific_test(
        &cx.compile(&e.condition).expect("compiles")
    ));
}

/// The constructs other front-ends lower to (Sigma's `re`, keywords and
/// `fieldref`), built as they build them: no EQL text reaches them.
#[test]
fn search_any_text_and_field_equals() {
    use crate::ast::{Body, EventQuery, Expr, MatchOp, Statement};
    let field = |p: &str| Expr::Field {
        path: p.into(),
        optional: false,
        pos: 0,
    };
    let run = |cond: Expr, e: &Event| {
        let st = Statement {
            body: Body::Event(EventQuery {
                category: None,
                condition: cond,
            }),
            pipes: Vec::new(),
        };
        crate::compile_statement(&st, "", &Options::default())
            .expect("compiles")
            .matches(e)
    };
    let search = |lhs: &str, pat: &str, insensitive, multi_line, dot_all| Expr::Match {
        op: MatchOp::Search {
            insensitive,
            multi_line,
            dot_all,
        },
        lhs: Box::new(field(lhs)),
        rhs: vec![Expr::Str(pat.into())],
        negated: false,
        pos: 0,
    };
    let mut e = Event::default();
    e.set("a", "xx Foo\nbar yy");
    e.set("b", "FOO");
    e.set("c", "foo");
    e.set("n", 4_i64);
    e.set("m", vec!["one", "needle here"]);
    // unanchored, case-sensitive unless `i`
    assert!(run(search("a", "Foo", false, false, false), &e));
    assert!(!run(search("a", "^Foo", false, false, false), &e));
    assert!(!run(search("a", "foo", false, false, false), &e));
    assert!(run(search("a", "foo", true, false, false), &e));
    let mut nl = Event::default();
    nl.set("a", "one\ntwo");
    assert!(!run(search("a", "^two", false, false, false), &nl));
    assert!(run(search("a", "^two", false, true, false), &nl));
    assert!(!run(search("a", "one.two", false, false, false), &nl));
    assert!(run(search("a", "one.two", false, false, true), &nl));
    // every string value, numbers aside, arrays included
    assert!(run(
        search(crate::compile::ANY_TEXT, "needle", false, false, false),
        &e
    ));
    assert!(!run(
        search(crate::compile::ANY_TEXT, "^4$", false, false, false),
        &e
    ));
    assert!(!run(
        search(crate::compile::ANY_TEXT, "x", false, false, false),
        &Event::default()
    ));
    // field against field
    let feq = |a: &str, b: &str, insensitive| Expr::Call {
        name: "fieldEquals".into(),
        insensitive,
        args: vec![field(a), field(b)],
        pos: 0,
    };
    assert!(!run(feq("b", "c", false), &e));
    assert!(run(feq("b", "c", true), &e));
    assert!(run(feq("c", "c", false), &e));
    assert!(!run(feq("c", "missing", true), &e));
    assert!(!run(Expr::Not(Box::new(feq("c", "missing", true))), &e));
}

#[test]
fn long_conjunctions_are_balanced() {
    fn depth(c: &super::C) -> usize {
        match c {
            super::C::And(a, b) | super::C::Or(a, b) => 1 + depth(a).max(depth(b)),
            _ => 1,
        }
    }
    let q = (0..256)
        .map(|i| format!("a{i} == \"x\""))
        .collect::<Vec<_>>()
        .join(" and ");
    let st = crate::parser::parse(&format!("any where {q}")).expect("parses");
    let crate::ast::Body::Event(e) = &st.body else {
        panic!("event query")
    };
    let cx = super::Compiler::new("", None);
    let c = super::reorder(cx.compile(&e.condition).expect("compiles"));
    assert_eq!(depth(&c), 9);
    // the conjuncts keep their order
    let mut order = Vec::new();
    super::fields(&c, &mut order);
    assert_eq!(order[0], "a0");
    assert_eq!(order[255], "a255");
}

#[test]
fn missing_field_rules() {
    let mut e = Event::default();
    e.set("event.category", vec!["process"]);
    let m = |q: &str| {
        compile(q, &Options::default())
            .expect("compiles")
            .matches(&e)
    };
    assert!(m("process where a != \"x\""));
    assert!(m("process where not a : \"x\""));
    assert!(m("process where a not in (\"x\", \"y\")"));
    assert!(m("process where a == null"));
    assert!(!m("process where a == \"x\""));
    assert!(!m("process where a : \"*\""));
    assert!(!m("process where a > 1"));
}

#[test]
fn a_regex_needs_the_literals_its_matches_begin_end_or_go_through() {
    let q = |s: &str| compile(s, &Options::default()).expect("compiles");
    // (regex, values it matches, whether a literal of 3 bytes or more is
    // found): each value meets an alternative
    let cases: &[(&str, &[&str], bool)] = &[
        (
            r"ipconfig\\s+/all",
            &["ipconfig /all", "IPCONFIG\t/ALL"],
            true,
        ),
        (
            r"(?i)werfaultsecure\\.exe [0-9]+",
            &["WerFaultSecure.exe 123"],
            true,
        ),
        // neither end holds a literal: the run inside it
        (
            r"(?i).*werfaultsecure\\.exe [0-9]+",
            &["c:\\x\\WerFaultSecure.exe 123"],
            true,
        ),
        (r"[A-Z]:\\\\:.+", &["C:\\:stream", "c:\\:x"], true),
        // an alternation inside: what its matches end with
        (r".*(ab|cd)[0-9]", &["xxab1", "cd2"], true),
        // one character: too short to look for
        (r".*a", &["xa"], false),
        // `ſ` folds to `s`
        (r"(?i)sta.*", &["START", "\u{17F}tart"], true),
        (r"(a|b)cde?", &["acd", "bcde"], true),
    ];
    for (re, values, long) in cases {
        let query = q(&format!("any where a regex~ \"{re}\""));
        let needs = query.required_needs_by(&longest);
        assert_eq!(needs.len(), 1, "{re}");
        let clause = &needs[0];
        assert!(
            clause.iter().any(|n| n.holds == super::Holds::NonAscii),
            "{re}"
        );
        let shortest = clause
            .iter()
            .filter(|n| n.holds == super::Holds::Contains)
            .map(|n| n.text.len())
            .min()
            .unwrap_or(0);
        assert_eq!(shortest >= 3, *long, "{re}: {clause:?}");
        for v in *values {
            let met = clause.iter().any(|n| match n.holds {
                super::Holds::Contains => v.to_ascii_lowercase().contains(&n.text),
                super::Holds::NonAscii => !v.is_ascii(),
                super::Holds::Is => false,
                super::Holds::Present => true,
            });
            assert!(met, "{re} matches {v:?}, which meets none of {clause:?}");
        }
        // the JSON text's literals leave a regex out
        assert!(query.required_literals().is_empty(), "{re}");
    }
}
