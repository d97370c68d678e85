//! What a compiled condition requires of an event, for readers that skip
//! work: the literals a matching line must hold, and the fields it reads.

use super::{ANY_TEXT, C, FieldKind};
use crate::ast::CmpOp;
use crate::value::V;

/// One alternative of a required clause: text that a value of one field
/// holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Need {
    /// The field's path (as the mapping resolves it, interned), or
    /// [`ANY_TEXT`]: some string value of the event, whatever its field.
    pub field: &'static str,
    /// The literal, as the test gives it (lower-cased for wildcard
    /// patterns that ignore case). ASCII; empty for [`Holds::NonAscii`].
    pub text: String,
    pub holds: Holds,
}

/// How a matching value holds a [`Need`]'s text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Holds {
    /// The value *is* the text, Unicode case aside (an equality, a wildcard
    /// pattern without wildcards, a list member).
    Is,
    /// The value contains the text, ASCII case aside.
    Contains,
    /// The value is not ASCII (a pattern holding a character no ASCII
    /// text folds to, such as an emoji).
    NonAscii,
    /// The field has a value, whatever it is (not JSON's `null`): what a
    /// test that gives no literal still requires (`url.full : *`,
    /// `dns.question.name != null`, `destination.port > 1024`).
    Present,
}

/// The literals a condition requires, in conjunctive normal form: for every
/// clause, an event it matches has one of the clause's alternatives as a
/// substring (ASCII case aside) of the text of some field value as written
/// in its JSON source. A reader can then skip a line that lacks every
/// alternative of some clause without parsing it (ripgrep's required
/// literals). Missing clauses only cost speed, a wrong one loses events, so
/// anything uncertain gives none: negations, functions, regexes,
/// comparisons other than `==`, non-string constants, fields whose value is
/// not the JSON text (dates, IPs, versions, a mapping's `null_value`).
pub fn required_literals(c: &C) -> Vec<Vec<String>> {
    // what any field holds is not sought in the JSON text: its escapes
    // would hide it, and its keys would be searched too
    // nor a number-like text: the JSON may write the number another way
    // (`4688.0`, unquoted)
    let mut clauses = bounded(needs(c, None));
    clauses.retain(|c| {
        c.iter().all(|n| {
            n.field != ANY_TEXT
                && matches!(n.holds, Holds::Is | Holds::Contains)
                && !number_like(&n.text)
        })
    });
    texts(clauses)
}

/// The clauses' texts, each clause's deduplicated: what a line's JSON text
/// must hold, whichever field holds it.
fn texts(clauses: Vec<Vec<Need>>) -> Vec<Vec<String>> {
    clauses
        .into_iter()
        .map(|c| {
            let mut t: Vec<String> = c.into_iter().map(|n| n.text).collect();
            t.sort();
            t.dedup();
            t
        })
        .collect()
}

/// A literal's first [`LITERAL_BYTES`] bytes are as required as the whole,
/// and the automata searching for them are built in time that grows faster
/// than their length: longer literals are cut (a whole value cut short is
/// only contained).
const LITERAL_BYTES: usize = 64;

fn bounded(mut clauses: Vec<Vec<Need>>) -> Vec<Vec<Need>> {
    for n in clauses.iter_mut().flatten() {
        if n.text.len() > LITERAL_BYTES {
            let mut end = LITERAL_BYTES;
            while !n.text.is_char_boundary(end) {
                end -= 1;
            }
            n.text.truncate(end);
            n.holds = Holds::Contains;
        }
    }
    for clause in &mut clauses {
        clause.sort();
        clause.dedup();
    }
    clauses
}

/// Picks one clause of a side of an `or` (see [`required_needs_by`]).
pub type Pick<'a> = &'a dyn Fn(&[Vec<Need>]) -> Option<usize>;

/// What a condition requires, field by field: for every clause, a matching
/// event holds one of its alternatives ([`Need`]) in the field it names.
/// `or`s of sides of several clauses give one too: for `a or b`, the clause
/// `pick` chooses of `a`'s, united with the one it chooses of `b`'s, is
/// required (a match of either side holds an alternative of its chosen
/// clause). Sigma rules are `or`s of one conjunction per log source; the
/// choice (which clause is selective) is the caller's.
pub fn required_needs_by(c: &C, pick: Pick) -> Vec<Vec<Need>> {
    bounded(needs(c, Some(pick)))
}

fn needs(c: &C, pick: Option<Pick>) -> Vec<Vec<Need>> {
    match c {
        C::And(a, b) => {
            let mut out = needs(a, pick);
            out.extend(needs(b, pick));
            out
        }
        C::Or(a, b) => {
            let (x, y) = (needs(a, pick), needs(b, pick));
            let chosen = match (x.len(), y.len(), pick) {
                (1, 1, _) => Some((0, 0)),
                (0, _, _) | (_, 0, _) | (_, _, None) => None,
                (_, _, Some(p)) => p(&x).zip(p(&y)),
            };
            let Some((i, j)) = chosen else {
                return Vec::new();
            };
            let (Some(mut clause), Some(other)) = (x.into_iter().nth(i), y.into_iter().nth(j))
            else {
                return Vec::new();
            };
            // united as a set (sorted, as [`bounded`] leaves every clause):
            // `or` chains of hundreds of alternatives are common
            clause.extend(other);
            clause.sort_unstable();
            clause.dedup();
            vec![clause]
        }
        C::Glob {
            lhs,
            pats,
            negated: false,
        } => match text_field(lhs) {
            Some(f) => or_present(
                f,
                one_clause(pats.iter().map(|p| {
                    if let Some(whole) = p.literal_text() {
                        need(f, Some(whole.to_string()), Holds::Is)
                    } else if p.needs_non_ascii() {
                        Some(Need {
                            field: f,
                            text: String::new(),
                            holds: Holds::NonAscii,
                        })
                    } else {
                        need(f, p.required_literal(), Holds::Contains)
                    }
                })),
            ),
            None => presence_of(lhs),
        },
        C::In {
            lhs,
            items,
            negated: false,
            ..
        } => match text_field(lhs) {
            Some(f) => or_present(
                f,
                one_clause(items.iter().map(|v| need(f, string_literal(v), Holds::Is))),
            ),
            None => presence_of(lhs),
        },
        C::Regex {
            lhs,
            set,
            negated: false,
        } => match text_field(lhs) {
            Some(f) => {
                let mut alts = Vec::new();
                for re in set.iter() {
                    match regex_needs(f, re.as_str()) {
                        Some(a) => alts.extend(a),
                        None => return or_present(f, Vec::new()),
                    }
                }
                one_clause(alts.into_iter().map(Some))
            }
            None => presence_of(lhs),
        },
        C::Wild {
            lhs,
            pats,
            negated: false,
        } => match text_field(lhs) {
            Some(f) => or_present(
                f,
                one_clause(pats.iter().map(|p| {
                    let l = p.required_literal().map(str::to_string);
                    need(
                        f,
                        l,
                        if p.has_star() {
                            Holds::Contains
                        } else {
                            Holds::Is
                        },
                    )
                })),
            ),
            None => presence_of(lhs),
        },
        C::Text {
            lhs,
            query,
            pats,
            negated: false,
            ..
        } => {
            let Some(f) = text_field(lhs) else {
                return presence_of(lhs);
            };
            // alternatives of every pattern, each usable
            let mut alts = Vec::new();
            for p in pats {
                match p.required_literal(*query) {
                    Some(ls) if ls.iter().all(|l| usable(l)) => {
                        alts.extend(ls.into_iter().map(|l| need(f, Some(l), Holds::Contains)))
                    }
                    _ => return or_present(f, Vec::new()),
                }
            }
            one_clause(alts.into_iter())
        }
        C::Cmp {
            op: CmpOp::Eq,
            lhs,
            rhs,
            ..
        } => match (&**lhs, &**rhs) {
            (f, C::Const(v)) | (C::Const(v), f) => match text_field(f) {
                Some(f) => one_clause(std::iter::once(need(f, string_literal(v), Holds::Is))),
                None => Vec::new(),
            },
            _ => Vec::new(),
        },
        // `f != null` holds for any value but null; an ordering holds for
        // none of a field without a value (it is null then)
        C::Cmp { op, lhs, rhs, .. } if *op != CmpOp::Eq => match (&**lhs, &**rhs) {
            (f, C::Const(v)) | (C::Const(v), f) if *op != CmpOp::Ne || v.is_null() => {
                presence_of(f)
            }
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// A field a test requires a value of (not the pseudo-field of any text,
/// nor one whose mapping gives a missing value one).
fn present_field(c: &C) -> Option<&'static str> {
    match c {
        C::Field(f) if f.kind != FieldKind::AnyText && f.null_value().is_none() => Some(f.path()),
        _ => None,
    }
}

/// The clause of `c`'s having a value, when `c` is such a field; else none.
fn presence_of(c: &C) -> Vec<Vec<Need>> {
    present_field(c).map_or_else(Vec::new, |f| vec![vec![present(f)]])
}

fn present(field: &'static str) -> Need {
    Need {
        field,
        text: String::new(),
        holds: Holds::Present,
    }
}

/// The clauses of a test of `field` that holds only of a value, or else
/// (no literal to require) the field's having one.
fn or_present(field: &'static str, clauses: Vec<Vec<Need>>) -> Vec<Vec<Need>> {
    if clauses.is_empty() && field != ANY_TEXT {
        vec![vec![present(field)]]
    } else {
        clauses
    }
}

/// The need of `field` for a usable literal (only ever contained in
/// [`ANY_TEXT`], which is many values). A literal whose lower case is not
/// ASCII (`DWSNET OÜ`, a signer in Elastic's RMM rules) is met only by a
/// value that is not ASCII either, however the test ignores case.
fn need(field: &'static str, text: Option<String>, holds: Holds) -> Option<Need> {
    let text = text?;
    if !usable(&text) {
        let non_ascii = !text.chars().any(char::is_control) && !text.to_lowercase().is_ascii();
        return non_ascii.then_some(Need {
            field,
            text: String::new(),
            holds: Holds::NonAscii,
        });
    }
    Some(Need {
        field,
        text,
        holds: if field == ANY_TEXT {
            Holds::Contains
        } else {
            holds
        },
    })
}

/// What a value of `field` that the regex `pattern` matches holds: one of
/// the literals each of its matches begins with, or else ends with, as
/// `regex-syntax`'s extractor finds them, or else the longest run of
/// literal characters its top-level sequence holds ([`inner_literal`]):
/// whichever are longer, ASCII case aside; or a character that is not
/// ASCII. The pattern is read as if it ignored case, which only widens what
/// it matches, so that the flags it was built with need not be known; and
/// Unicode's case folding takes ASCII letters to others (`k` to the Kelvin
/// sign, `s` to `ſ`), hence the last alternative. `None` when some match
/// holds none of them (`.*`, a large class).
fn regex_needs(field: &'static str, pattern: &str) -> Option<Vec<Need>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .build()
        .parse(pattern)
        .ok()?;
    let texts = |kind| -> Option<Vec<String>> {
        let seq = Extractor::new().kind(kind).extract(&hir);
        let mut texts = Vec::new();
        for l in seq.literals()? {
            let b = l.as_bytes();
            if b.is_empty() {
                return None;
            }
            // one holding bytes that are not ASCII: met by the last
            // alternative
            if let Ok(t) = std::str::from_utf8(b).map(str::to_ascii_lowercase)
                && t.is_ascii()
            {
                usable(&t).then_some(())?;
                texts.push(t);
            }
        }
        texts.sort_unstable();
        texts.dedup();
        Some(texts)
    };
    let shortest = |t: &Vec<String>| t.iter().map(String::len).min().unwrap_or(0);
    let inner = inner_literal(&hir).filter(|t| usable(t)).map(|t| vec![t]);
    let texts = [
        texts(ExtractKind::Prefix),
        texts(ExtractKind::Suffix),
        inner,
    ]
    .into_iter()
    .flatten()
    .max_by_key(shortest)?;
    let mut alts: Vec<Need> = texts
        .into_iter()
        .map(|text| Need {
            field,
            text,
            holds: Holds::Contains,
        })
        .collect();
    alts.push(Need {
        field,
        text: String::new(),
        holds: Holds::NonAscii,
    });
    Some(alts)
}

/// The longest run of ASCII characters every match of `h` holds, lower-cased:
/// consecutive literals (and case-folded classes of one ASCII letter) of
/// its top-level concatenation or of a group in it
/// (`[A-Z]:\\:.+` holds `:\:`, which neither end of it does).
fn inner_literal(h: &regex_syntax::hir::Hir) -> Option<String> {
    use regex_syntax::hir::HirKind;
    match h.kind() {
        HirKind::Capture(c) => inner_literal(&c.sub),
        HirKind::Concat(xs) => {
            let mut best = String::new();
            let mut run = String::new();
            for x in xs {
                match ascii_literal(x) {
                    Some(t) => run.push_str(&t),
                    None => {
                        if run.len() > best.len() {
                            best = std::mem::take(&mut run);
                        }
                        run.clear();
                        if let Some(t) = inner_literal(x).filter(|t| t.len() > best.len()) {
                            best = t;
                        }
                    }
                }
            }
            if run.len() > best.len() {
                best = run;
            }
            (!best.is_empty()).then_some(best)
        }
        _ => ascii_literal(h),
    }
}

/// The ASCII text a literal, or a class of one ASCII letter's cases (and
/// the other characters Unicode folds it to), matches, lower-cased; a
/// match that is not it holds a character that is not ASCII.
fn ascii_literal(h: &regex_syntax::hir::Hir) -> Option<String> {
    use regex_syntax::hir::{Class, HirKind};
    match h.kind() {
        HirKind::Literal(l) => std::str::from_utf8(&l.0)
            .ok()
            .filter(|t| t.is_ascii())
            .map(str::to_ascii_lowercase),
        HirKind::Class(Class::Unicode(c)) => {
            let mut letter: Option<char> = None;
            for r in c.ranges() {
                // a letter's cases are single characters, not spans
                if u32::from(r.end()) - u32::from(r.start()) > 2 {
                    return None;
                }
                for ch in r.start()..=r.end() {
                    if !ch.is_ascii() {
                        continue;
                    }
                    let l = ch.to_ascii_lowercase();
                    if !l.is_ascii_alphabetic() || letter.is_some_and(|x| x != l) {
                        return None;
                    }
                    letter = Some(l);
                }
            }
            letter.map(String::from)
        }
        _ => None,
    }
}

/// A clause of these alternatives, or none when one of them is unusable.
fn one_clause(alts: impl Iterator<Item = Option<Need>>) -> Vec<Vec<Need>> {
    let Some(mut clause) = alts.collect::<Option<Vec<Need>>>() else {
        return Vec::new();
    };
    clause.sort_unstable();
    clause.dedup();
    if clause.is_empty() {
        Vec::new()
    } else {
        vec![clause]
    }
}

/// The path of a field whose values are tested as the text the source
/// holds, or [`ANY_TEXT`] for the event's every string value.
fn text_field(c: &C) -> Option<&'static str> {
    match c {
        C::Field(f) if f.kind == FieldKind::Plain && f.null_value().is_none() => Some(f.path()),
        C::Field(f) if f.kind == FieldKind::AnyText => Some(ANY_TEXT),
        _ => None,
    }
}

/// A string constant that must appear as itself: not one that equals a
/// number written differently (`"4688"` == `4688.0`).
fn string_literal(v: &V<'static>) -> Option<String> {
    match v {
        V::Str(s) => Some(s.to_string()),
        _ => None,
    }
}

/// ASCII without control characters (those only appear escaped). A
/// number-like text is usable of a field's values (a value that is a number
/// is compared after conversion, and meets every need of its field: see
/// quarry-detect's literal index), not of a line's JSON text.
fn usable(l: &str) -> bool {
    !l.is_empty() && l.bytes().all(|b| b.is_ascii() && !b.is_ascii_control())
}

/// Text a number's formatting could write another way.
fn number_like(l: &str) -> bool {
    l.bytes()
        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
}

/// Collects the field paths an expression reads.
pub fn fields(c: &C, out: &mut Vec<String>) {
    match c {
        C::Field(f) => out.push(f.path().to_string()),
        // a pattern, not a path: a projection must keep every field
        C::Fields(_) => out.push("*".to_string()),
        C::Const(_) => {}
        C::Not(x) | C::Neg(x) => fields(x, out),
        C::And(a, b) | C::Or(a, b) | C::Arith(_, a, b) => {
            fields(a, out);
            fields(b, out)
        }
        C::Cmp { lhs, rhs, .. } => {
            fields(lhs, out);
            fields(rhs, out)
        }
        C::Glob { lhs, .. }
        | C::Regex { lhs, .. }
        | C::In { lhs, .. }
        | C::Wild { lhs, .. }
        | C::Text { lhs, .. } => fields(lhs, out),
        C::Call { args, .. } => args.iter().for_each(|a| fields(a, out)),
    }
}
