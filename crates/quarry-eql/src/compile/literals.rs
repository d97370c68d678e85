//! What a compiled condition requires of an event, for readers that skip
//! work: the literals a matching line must hold, and the fields it reads.

use super::{C, FieldKind};
use crate::ast::CmpOp;
use crate::value::V;

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
    bounded(literals(c, None))
}

/// A literal's first [`LITERAL_BYTES`] bytes are as required as the whole,
/// and the automata searching for them are built in time that grows faster
/// than their length: longer literals are cut.
const LITERAL_BYTES: usize = 64;

fn bounded(mut clauses: Vec<Vec<String>>) -> Vec<Vec<String>> {
    for l in clauses.iter_mut().flatten() {
        if l.len() > LITERAL_BYTES {
            let mut end = LITERAL_BYTES;
            while !l.is_char_boundary(end) {
                end -= 1;
            }
            l.truncate(end);
        }
    }
    for clause in &mut clauses {
        clause.sort();
        clause.dedup();
    }
    clauses
}

/// Picks one clause of a side of an `or` (see [`required_literals_by`]).
pub type Pick<'a> = &'a dyn Fn(&[Vec<String>]) -> Option<usize>;

/// [`required_literals`], with `or`s of sides of several clauses too: for
/// `a or b`, the clause `pick` chooses of `a`'s, united with the one it
/// chooses of `b`'s, is required (a match of either side holds an
/// alternative of its chosen clause). Sigma rules are `or`s of one
/// conjunction per log source; the choice (which clause is selective) is
/// the caller's.
pub fn required_literals_by(c: &C, pick: Pick) -> Vec<Vec<String>> {
    bounded(literals(c, Some(pick)))
}

fn literals(c: &C, pick: Option<Pick>) -> Vec<Vec<String>> {
    match c {
        C::And(a, b) => {
            let mut out = literals(a, pick);
            out.extend(literals(b, pick));
            out
        }
        C::Or(a, b) => {
            let (x, y) = (literals(a, pick), literals(b, pick));
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
            for alt in other {
                if !clause.contains(&alt) {
                    clause.push(alt);
                }
            }
            vec![clause]
        }
        C::Glob {
            lhs,
            pats,
            negated: false,
        } if text_field(lhs) => one_clause(
            pats.iter()
                .map(|p| p.required_literal().filter(|l| usable(l))),
        ),
        C::In {
            lhs,
            items,
            negated: false,
            ..
        } if text_field(lhs) => one_clause(items.iter().map(string_literal)),
        C::Wild {
            lhs,
            pats,
            negated: false,
        } if text_field(lhs) => one_clause(pats.iter().map(|p| {
            p.required_literal()
                .filter(|l| usable(l))
                .map(str::to_string)
        })),
        C::Text {
            lhs,
            query,
            pats,
            negated: false,
            ..
        } if text_field(lhs) => {
            // alternatives of every pattern, each usable
            let mut alts = Vec::new();
            for p in pats {
                match p.required_literal(*query) {
                    Some(ls) if ls.iter().all(|l| usable(l)) => {
                        alts.extend(ls.into_iter().map(Some))
                    }
                    _ => return Vec::new(),
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
            (f, C::Const(v)) | (C::Const(v), f) if text_field(f) => {
                one_clause(std::iter::once(string_literal(v)))
            }
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// A clause of these alternatives, or none when one of them is unusable.
fn one_clause(alts: impl Iterator<Item = Option<String>>) -> Vec<Vec<String>> {
    let mut clause: Vec<String> = Vec::new();
    for a in alts {
        let Some(a) = a else { return Vec::new() };
        if !clause.contains(&a) {
            clause.push(a);
        }
    }
    if clause.is_empty() {
        Vec::new()
    } else {
        vec![clause]
    }
}

/// A field whose values are tested as the text the source holds.
fn text_field(c: &C) -> bool {
    matches!(c, C::Field(f) if f.kind == FieldKind::Plain && f.null_value.is_none())
}

/// A string constant that must appear as itself: not one that equals a
/// number written differently (`"4688"` == `4688.0`).
fn string_literal(v: &V<'static>) -> Option<String> {
    match v {
        V::Str(s) if usable(s) => Some(s.to_string()),
        _ => None,
    }
}

/// ASCII without control characters (those only appear escaped), and not
/// text a number's formatting could write another way.
fn usable(l: &str) -> bool {
    !l.is_empty()
        && l.bytes().all(|b| b.is_ascii() && !b.is_ascii_control())
        && !l
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
}

/// Collects the field paths an expression reads.
pub fn fields(c: &C, out: &mut Vec<String>) {
    match c {
        C::Field(f) => out.push(f.path.to_string()),
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
