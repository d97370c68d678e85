//! Lowering: a Sigma detection → one `quarry_eql::ast` event query,
//! `(windows branch) or … or (ecs branch)`, one branch per target of the
//! log source. Each branch leads with its cheapest, most selective test
//! (event id, then channel; `winlog.channel == null` for ECS) so events of
//! other logs are rejected at once. A target whose field table lacks a
//! field the rule needs is dropped with the reason.

use crate::condition::{self, Cond, Quant};
use crate::error::{ErrorKind, SigmaError};
use crate::logsource::{Target, WindowsTarget};
use crate::modifiers::{self, Compare, Pattern, Tok, Values};
use crate::rule::{Detection, FieldTest, Selection, SigmaRule};
use crate::{Config, fields};
use quarry_eql::ast::{CmpOp, Expr, MatchOp};

/// A detection with its modifiers applied (target-independent).
enum Sel {
    All(Vec<Test>),
    Any(Vec<Sel>),
}

struct Test {
    field: Option<String>,
    values: Values,
    /// A keyword with no modifier: matched as a substring.
    bare_keyword: bool,
}

/// The lowered query and what was left out.
pub struct Lowered {
    pub condition: Expr,
    pub category: Option<String>,
    pub targets: Vec<String>,
    pub skipped: Vec<(String, String)>,
}

/// A detection ready to lower for any target: conditions parsed and
/// checked, values through their modifiers.
struct Prepared<'a> {
    conds: Vec<Cond>,
    sels: Vec<(&'a str, Sel)>,
}

fn prepare_detection<'a>(
    path: &std::path::Path,
    det: &'a Detection,
    cfg: &Config,
) -> Result<Prepared<'a>, SigmaError> {
    let at = |e: SigmaError, line: usize, col: usize| e.at(path, line, col);
    // the condition: parsed, each name checked against the selections
    let mut conds = Vec::new();
    for c in &det.conditions {
        let col0 = det.condition_column;
        let parsed = condition::parse(c).map_err(|e| {
            let kind = if e.aggregation {
                ErrorKind::Aggregation
            } else {
                ErrorKind::Condition
            };
            at(
                SigmaError::new(kind, format!("{} (in `{c}`)", e.message)),
                det.condition_line,
                if col0 > 0 { col0 + e.offset } else { 0 },
            )
        })?;
        check_names(&parsed, det).map_err(|(msg, off)| {
            at(
                SigmaError::new(ErrorKind::Condition, msg),
                det.condition_line,
                if col0 > 0 { col0 + off } else { 0 },
            )
        })?;
        conds.push(parsed);
    }
    // the values, through their modifiers
    let mut sels = Vec::new();
    for (name, s) in &det.selections {
        sels.push((
            name.as_str(),
            prepare(s, cfg).map_err(|(e, line)| at(e, line, 0))?,
        ));
    }
    Ok(Prepared { conds, sels })
}

impl Prepared<'_> {
    /// The detection for one target (its conditions: any of them).
    fn expr(&self, target: &Target) -> Result<Expr, String> {
        let parts = self
            .conds
            .iter()
            .map(|c| cond_expr(c, &self.sels, target, false))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(or_all(parts))
    }
}

pub fn lower(
    rule: &SigmaRule,
    det: &Detection,
    targets: &[Target],
    cfg: &Config,
) -> Result<Lowered, SigmaError> {
    let at = |e: SigmaError, line: usize, col: usize| e.at(&rule.path, line, col);
    let main = prepare_detection(&rule.path, det, cfg)?;
    // meta filters that name the rule: each condition must hold too
    let filters = det
        .filters
        .iter()
        .map(|(p, d)| prepare_detection(p, d, cfg))
        .collect::<Result<Vec<_>, _>>()?;

    let mut branches = Vec::new();
    let mut names = Vec::new();
    let mut skipped = Vec::new();
    let mut categories = Vec::new();
    for t in targets {
        let body = std::iter::once(&main)
            .chain(&filters)
            .map(|p| p.expr(t))
            .collect::<Result<Vec<_>, _>>();
        // a branch whose detection is false whatever the event (every test
        // it has needs a field its log lacks) is no branch
        let body = body.and_then(|parts| {
            let parts: Vec<Expr> = parts.into_iter().map(simplify).collect();
            if parts.contains(&Expr::Bool(false)) {
                Err("every test of the rule needs a field this log does not have".to_string())
            } else {
                Ok(parts)
            }
        });
        match body {
            Ok(parts) => {
                branches.push(and_all(selector(t).into_iter().chain(parts).collect()));
                names.push(t.describe());
                categories.push(match t {
                    Target::Windows(w) => w.ecs_category,
                    Target::Ecs(e) => Some(e.category),
                });
            }
            Err(reason) => skipped.push((t.describe(), reason)),
        }
    }
    if branches.is_empty() {
        let why = skipped
            .iter()
            .map(|(t, r)| format!("{t}: {r}"))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(at(
            SigmaError::new(
                ErrorKind::Field,
                format!("no target can evaluate the rule ({why})"),
            ),
            rule.line,
            0,
        ));
    }
    // one EQL category for the query when every branch's events have it:
    // the hunt indexes rules by category
    let category = match categories.first() {
        Some(Some(c)) if categories.iter().all(|x| x == &Some(*c)) => Some(c.to_string()),
        _ => None,
    };
    Ok(Lowered {
        condition: or_all(branches),
        category,
        targets: names,
        skipped,
    })
}

fn matching<'a>(pattern: Option<&str>, det: &'a Detection) -> Vec<&'a str> {
    det.selections
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| match pattern {
            Some(p) => condition::name_matches(p, n),
            // `them`: every selection but those named with a leading `_`
            None => !n.starts_with('_'),
        })
        .collect()
}

fn check_names(c: &Cond, det: &Detection) -> Result<(), (String, usize)> {
    match c {
        Cond::Ref { name, offset } => {
            if det.selections.iter().any(|(n, _)| n == name) {
                Ok(())
            } else {
                Err((
                    format!("the condition names `{name}`, which is not a selection"),
                    *offset,
                ))
            }
        }
        Cond::Not(x) => check_names(x, det),
        Cond::And(xs) | Cond::Or(xs) => xs.iter().try_for_each(|x| check_names(x, det)),
        Cond::Of {
            pattern, offset, ..
        } => {
            if matching(pattern.as_deref(), det).is_empty() {
                Err((
                    format!(
                        "`of {}` matches no selection",
                        pattern.as_deref().unwrap_or("them")
                    ),
                    *offset,
                ))
            } else {
                Ok(())
            }
        }
    }
}

fn prepare(s: &Selection, cfg: &Config) -> Result<Sel, (SigmaError, usize)> {
    Ok(match s {
        Selection::All(tests) => Sel::All(
            tests
                .iter()
                .map(|t| prepare_test(t, cfg))
                .collect::<Result<_, _>>()?,
        ),
        Selection::Any(xs) => Sel::Any(
            xs.iter()
                .map(|x| prepare(x, cfg))
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn prepare_test(t: &FieldTest, cfg: &Config) -> Result<Test, (SigmaError, usize)> {
    let values =
        modifiers::apply(&t.modifiers, &t.values, &cfg.placeholders).map_err(|(kind, msg)| {
            let what = t.field.as_deref().unwrap_or("keywords");
            (SigmaError::new(kind, format!("{what}: {msg}")), t.line)
        })?;
    Ok(Test {
        field: t.field.clone(),
        values,
        bare_keyword: t.field.is_none() && t.modifiers.is_empty(),
    })
}

/// `neg`: the expression sits under an odd number of `not`s (see
/// [`missing_field`]).
fn cond_expr(c: &Cond, sels: &[(&str, Sel)], target: &Target, neg: bool) -> Result<Expr, String> {
    let sel = |name: &str| -> Result<Expr, String> {
        match sels.iter().find(|(n, _)| *n == name) {
            Some((_, s)) => sel_expr(s, target, neg),
            None => Err(format!("no selection `{name}`")),
        }
    };
    Ok(match c {
        Cond::Ref { name, .. } => sel(name)?,
        Cond::Not(x) => Expr::Not(Box::new(cond_expr(x, sels, target, !neg)?)),
        Cond::And(xs) => and_all(
            xs.iter()
                .map(|x| cond_expr(x, sels, target, neg))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Or(xs) => or_all(
            xs.iter()
                .map(|x| cond_expr(x, sels, target, neg))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Of { quant, pattern, .. } => {
            let names: Vec<&str> = sels
                .iter()
                .map(|(n, _)| *n)
                .filter(|n| match pattern {
                    Some(p) => condition::name_matches(p, n),
                    None => !n.starts_with('_'),
                })
                .collect();
            let parts = names
                .iter()
                .map(|n| sel(n))
                .collect::<Result<Vec<_>, _>>()?;
            match quant {
                Quant::All => and_all(parts),
                Quant::AtLeast(n) if *n <= 1 => or_all(parts),
                Quant::AtLeast(n) if *n > parts.len() => Expr::Bool(false),
                Quant::AtLeast(n) => {
                    // at least n of k: any n-combination all true
                    let mut alts = Vec::new();
                    combinations(parts.len(), *n, &mut Vec::new(), 0, &mut |idx| {
                        alts.push(and_all(idx.iter().map(|&i| parts[i].clone()).collect()));
                    });
                    or_all(alts)
                }
            }
        }
    })
}

fn combinations(
    k: usize,
    n: usize,
    cur: &mut Vec<usize>,
    from: usize,
    f: &mut dyn FnMut(&[usize]),
) {
    if cur.len() == n {
        f(cur);
        return;
    }
    for i in from..k {
        cur.push(i);
        combinations(k, n, cur, i + 1, f);
        cur.pop();
    }
}

fn sel_expr(s: &Sel, target: &Target, neg: bool) -> Result<Expr, String> {
    Ok(match s {
        Sel::All(tests) => {
            // cheapest tests first: a map is an AND, so order is free, and
            // an exact or prefix test rejects most events before a
            // substring scan or a regex runs
            let mut order: Vec<&Test> = tests.iter().collect();
            order.sort_by_key(|t| cost(t));
            and_all(
                order
                    .into_iter()
                    .map(|t| test_expr(t, target, neg))
                    .collect::<Result<_, _>>()?,
            )
        }
        Sel::Any(xs) => or_all(
            xs.iter()
                .map(|x| sel_expr(x, target, neg))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// A rough cost of evaluating a test: exact and prefix matches (0),
/// suffixes (1), substrings and field references (2), regexes (3),
/// keywords, which read every field (4).
fn cost(t: &Test) -> u8 {
    if t.field.is_none() {
        return 4;
    }
    t.values
        .each
        .iter()
        .flatten()
        .map(|p| match p {
            Pattern::Text { toks, .. } => match (toks.first(), toks.last()) {
                (Some(Tok::Star), Some(Tok::Star)) => 2,
                (Some(Tok::Star), _) => 1,
                _ => 0,
            },
            Pattern::Regex { .. } => 3,
            Pattern::FieldRef(_) => 2,
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

fn field(path: &str) -> Expr {
    Expr::Field {
        path: path.to_string(),
        optional: false,
        pos: 0,
    }
}

fn test_expr(t: &Test, target: &Target, neg: bool) -> Result<Expr, String> {
    if let Some(f) = &t.field
        && let Some(conv) = fields::conversion(target, f)
    {
        return converted(t, f, conv, target).or_else(|reason| missing_field(t, neg, reason));
    }
    let path = match &t.field {
        Some(f) => match fields::map(target, f) {
            Ok(p) => p,
            Err(reason) => return missing_field(t, neg, reason),
        },
        None => quarry_eql::compile::ANY_TEXT.to_string(),
    };
    let mut per_value = Vec::new();
    for alts in &t.values.each {
        let mut pats = Vec::new();
        for p in alts {
            let p = match p {
                // a bare keyword is searched for in the text
                Pattern::Text { toks, cased } if t.bare_keyword => {
                    let mut w = toks.clone();
                    if w.first() != Some(&Tok::Star) {
                        w.insert(0, Tok::Star);
                    }
                    if w.last() != Some(&Tok::Star) {
                        w.push(Tok::Star);
                    }
                    Pattern::Text {
                        toks: w,
                        cased: *cased,
                    }
                }
                other => other.clone(),
            };
            pats.push(p);
        }
        per_value.push(pats);
    }
    if t.values.all {
        let parts = per_value
            .iter()
            .map(|alts| patterns_expr(&path, alts, target))
            .collect::<Result<_, _>>()?;
        Ok(and_all(parts))
    } else {
        let flat: Vec<Pattern> = per_value.into_iter().flatten().collect();
        patterns_expr(&path, &flat, target)
    }
}

/// Folds the constants [`missing_field`] leaves: `false and x` is false,
/// `false or x` is `x`, `not false` is true (and the same with true).
fn simplify(e: Expr) -> Expr {
    match e {
        Expr::And(a, b) => match (simplify(*a), simplify(*b)) {
            (Expr::Bool(false), _) | (_, Expr::Bool(false)) => Expr::Bool(false),
            (Expr::Bool(true), x) | (x, Expr::Bool(true)) => x,
            (x, y) => Expr::And(Box::new(x), Box::new(y)),
        },
        Expr::Or(a, b) => match (simplify(*a), simplify(*b)) {
            (Expr::Bool(true), _) | (_, Expr::Bool(true)) => Expr::Bool(true),
            (Expr::Bool(false), x) | (x, Expr::Bool(false)) => x,
            (x, y) => Expr::Or(Box::new(x), Box::new(y)),
        },
        Expr::Not(x) => match simplify(*x) {
            Expr::Bool(b) => Expr::Bool(!b),
            x => Expr::Not(Box::new(x)),
        },
        other => other,
    }
}

/// A test of a field the target does not have. Where it can only say
/// "no" (a positive test: `Image|endswith OR OriginalFileName` on a
/// Security 4688 still matches through `Image`), it is false, as on any
/// event that lacks the field. Where that would widen what the rule
/// matches (under a `not`, where a filter would stop filtering, or a
/// test of absence such as `null`), the target is dropped, with the
/// reason.
fn missing_field(t: &Test, neg: bool, reason: String) -> Result<Expr, String> {
    let absent_ok = |alts: &Vec<Pattern>| {
        alts.iter()
            .any(|p| matches!(p, Pattern::Null | Pattern::Exists(false)))
    };
    let value = if t.values.all {
        t.values.each.iter().all(absent_ok)
    } else {
        t.values.each.iter().any(absent_ok)
    };
    if neg || value {
        Err(reason)
    } else {
        Ok(Expr::Bool(false))
    }
}

/// A field whose values the target writes differently (see
/// [`fields::Conversion`]): each pattern rewritten, possibly onto another
/// field per value.
fn converted(
    t: &Test,
    sigma_field: &str,
    conv: fields::Conversion,
    target: &Target,
) -> Result<Expr, String> {
    let mut per_value = Vec::new();
    for alts in &t.values.each {
        let mut exprs = Vec::new();
        for p in alts {
            if let fields::Conversion::BaseName(exe, name) = conv {
                let on_path = patterns_expr(exe, std::slice::from_ref(p), target)?;
                exprs.push(match fields::base_name(p) {
                    Some(n) => Expr::Or(
                        Box::new(on_path),
                        Box::new(Expr::And(
                            Box::new(Expr::Cmp(
                                CmpOp::Eq,
                                Box::new(field(exe)),
                                Box::new(Expr::Null),
                            )),
                            Box::new(patterns_expr(name, &[n], target)?),
                        )),
                    ),
                    None => on_path,
                });
                continue;
            }
            for (path, pat) in fields::convert(conv, target, sigma_field, p)? {
                exprs.push(patterns_expr(&path, &[pat], target)?);
            }
        }
        per_value.push(or_all(exprs));
    }
    Ok(if t.values.all {
        and_all(per_value)
    } else {
        or_all(per_value)
    })
}

/// Any of the patterns, on one field: wildcard strings share one match
/// (one glob set), the rest are tests of their own.
fn patterns_expr(path: &str, pats: &[Pattern], target: &Target) -> Result<Expr, String> {
    let mut globs_ci = Vec::new();
    let mut globs_cs = Vec::new();
    let mut others = Vec::new();
    for p in pats {
        match p {
            Pattern::Text { toks, cased } => {
                let literal_wild = toks
                    .iter()
                    .any(|t| matches!(t, Tok::Char('*') | Tok::Char('?')));
                if literal_wild && let Some(e) = literal_call(path, toks, *cased) {
                    others.push(e);
                } else if literal_wild {
                    // a glob cannot hold a literal `*` or `?`: an anchored regex can
                    others.push(Expr::Match {
                        op: MatchOp::Search {
                            insensitive: !cased,
                            multi_line: false,
                            dot_all: true,
                        },
                        lhs: Box::new(field(path)),
                        rhs: vec![Expr::Str(anchored_regex(toks))],
                        negated: false,
                        pos: 0,
                    });
                } else {
                    let g: String = toks
                        .iter()
                        .map(|t| match t {
                            Tok::Char(c) => *c,
                            Tok::Star => '*',
                            Tok::One => '?',
                        })
                        .collect();
                    if *cased {
                        globs_cs.push(Expr::Str(g));
                    } else {
                        globs_ci.push(Expr::Str(g));
                    }
                }
            }
            Pattern::Regex {
                pattern,
                insensitive,
                multi_line,
                dot_all,
            } => others.push(Expr::Match {
                op: MatchOp::Search {
                    insensitive: *insensitive,
                    multi_line: *multi_line,
                    dot_all: *dot_all,
                },
                lhs: Box::new(field(path)),
                rhs: vec![Expr::Str(pattern.clone())],
                negated: false,
                pos: 0,
            }),
            Pattern::Cidr(c) => others.push(Expr::Call {
                name: "cidrMatch".into(),
                insensitive: false,
                args: vec![field(path), Expr::Str(c.clone())],
                pos: 0,
            }),
            Pattern::Compare(op, n) => {
                let op = match op {
                    Compare::Gt => CmpOp::Gt,
                    Compare::Gte => CmpOp::Ge,
                    Compare::Lt => CmpOp::Lt,
                    Compare::Lte => CmpOp::Le,
                };
                let num = if n.fract() == 0.0 && n.abs() < 9e15 {
                    Expr::Int(*n as i64)
                } else {
                    Expr::Float(*n)
                };
                others.push(Expr::Cmp(op, Box::new(field(path)), Box::new(num)));
            }
            Pattern::Null => others.push(Expr::Or(
                Box::new(Expr::Cmp(
                    CmpOp::Eq,
                    Box::new(field(path)),
                    Box::new(Expr::Null),
                )),
                Box::new(Expr::Match {
                    op: MatchOp::Colon,
                    lhs: Box::new(field(path)),
                    rhs: vec![Expr::Str(String::new())],
                    negated: false,
                    pos: 0,
                }),
            )),
            Pattern::Exists(b) => others.push(Expr::Cmp(
                if *b { CmpOp::Ne } else { CmpOp::Eq },
                Box::new(field(path)),
                Box::new(Expr::Null),
            )),
            Pattern::FieldRef(other) => {
                let o = fields::map(target, other)?;
                others.push(Expr::Call {
                    name: "fieldEquals".into(),
                    insensitive: true,
                    args: vec![field(path), field(&o)],
                    pos: 0,
                });
            }
        }
    }
    let mut parts = Vec::new();
    if !globs_ci.is_empty() {
        parts.push(Expr::Match {
            op: MatchOp::Colon,
            lhs: Box::new(field(path)),
            rhs: globs_ci,
            negated: false,
            pos: 0,
        });
    }
    if !globs_cs.is_empty() {
        parts.push(Expr::Match {
            op: MatchOp::Like { insensitive: false },
            lhs: Box::new(field(path)),
            rhs: globs_cs,
            negated: false,
            pos: 0,
        });
    }
    parts.extend(others);
    Ok(or_all(parts))
}

/// A string with a literal `*` or `?` whose only wildcards are a leading
/// and/or trailing `*`: the string function that tests it (`contains`,
/// `startswith`, `endswith`, equality), cheaper than a regex. Not for the
/// keyword pseudo-field, whose many values the functions do not all read.
fn literal_call(path: &str, toks: &[Tok], cased: bool) -> Option<Expr> {
    if path == quarry_eql::compile::ANY_TEXT {
        return None;
    }
    let lead = toks.first() == Some(&Tok::Star);
    let trail = toks.len() > 1 && toks.last() == Some(&Tok::Star);
    let inner = &toks[usize::from(lead)..toks.len() - usize::from(trail)];
    let lit: String = inner
        .iter()
        .map(|t| match t {
            Tok::Char(c) => Some(*c),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let call = |name: &str| Expr::Call {
        name: name.into(),
        insensitive: !cased,
        args: vec![field(path), Expr::Str(lit.clone())],
        pos: 0,
    };
    Some(match (lead, trail) {
        (true, true) => call("stringContains"),
        (false, true) => call("startsWith"),
        (true, false) => call("endsWith"),
        (false, false) => Expr::Match {
            op: MatchOp::In {
                insensitive: !cased,
            },
            lhs: Box::new(field(path)),
            rhs: vec![Expr::Str(lit)],
            negated: false,
            pos: 0,
        },
    })
}

/// A wildcard string as an anchored regex (`*` → `.*`, `?` → `.`).
fn anchored_regex(toks: &[Tok]) -> String {
    let mut s = String::from("^");
    for t in toks {
        match t {
            Tok::Char(c) => {
                let mut b = [0u8; 4];
                s.push_str(&regex::escape(c.encode_utf8(&mut b)));
            }
            Tok::Star => s.push_str(".*"),
            Tok::One => s.push('.'),
        }
    }
    s.push('$');
    s
}

/// The event selection of a target, cheapest test first.
fn selector(t: &Target) -> Vec<Expr> {
    let mut out = Vec::new();
    match t {
        Target::Windows(w) => windows_selector(w, &mut out),
        Target::Ecs(e) => {
            out.push(Expr::Cmp(
                CmpOp::Eq,
                Box::new(field("winlog.channel")),
                Box::new(Expr::Null),
            ));
            out.push(Expr::Match {
                op: MatchOp::In { insensitive: false },
                lhs: Box::new(field("event.category")),
                rhs: vec![Expr::Str(e.category.to_string())],
                negated: false,
                pos: 0,
            });
            if !e.types.is_empty() {
                out.push(Expr::Match {
                    op: MatchOp::In { insensitive: false },
                    lhs: Box::new(field("event.type")),
                    rhs: e.types.iter().map(|t| Expr::Str(t.to_string())).collect(),
                    negated: false,
                    pos: 0,
                });
            }
            if let Some(r) = e.requires {
                out.push(Expr::Cmp(
                    CmpOp::Ne,
                    Box::new(field(r)),
                    Box::new(Expr::Null),
                ));
            }
            if let Some(os) = e.os {
                // leave out events known to be of another OS; an event with
                // no host.os.type stays in
                let others: Vec<Expr> = ["windows", "linux", "macos"]
                    .into_iter()
                    .filter(|o| *o != os)
                    .map(|o| Expr::Str(o.to_string()))
                    .collect();
                out.push(Expr::Match {
                    op: MatchOp::In { insensitive: true },
                    lhs: Box::new(field("host.os.type")),
                    rhs: others,
                    negated: true,
                    pos: 0,
                });
            }
        }
    }
    out
}

fn windows_selector(w: &WindowsTarget, out: &mut Vec<Expr>) {
    if !w.event_ids.is_empty() {
        out.push(Expr::Match {
            op: MatchOp::In { insensitive: false },
            lhs: Box::new(field("winlog.event_id")),
            rhs: w
                .event_ids
                .iter()
                .map(|i| Expr::Str(i.to_string()))
                .collect(),
            negated: false,
            pos: 0,
        });
    }
    let wild = w.channels.iter().any(|c| c.contains('*'));
    out.push(Expr::Match {
        op: if wild {
            MatchOp::Colon
        } else {
            MatchOp::In { insensitive: true }
        },
        lhs: Box::new(field("winlog.channel")),
        rhs: w
            .channels
            .iter()
            .map(|c| Expr::Str(c.to_string()))
            .collect(),
        negated: false,
        pos: 0,
    });
    if let Some((f, vals)) = w.extra {
        out.push(Expr::Match {
            op: MatchOp::Colon,
            lhs: Box::new(field(&format!("winlog.event_data.{f}"))),
            rhs: vals.iter().map(|v| Expr::Str(v.to_string())).collect(),
            negated: false,
            pos: 0,
        });
    }
}

/// The conjunction of the parts, as a balanced tree: long lists (a rule
/// with hundreds of alternatives) must not become recursion hundreds deep
/// in compilation and evaluation. `and` and `or` are associative in
/// three-valued logic, and evaluation still runs left to right.
fn and_all(xs: Vec<Expr>) -> Expr {
    balanced(
        xs,
        &|a, b| Expr::And(Box::new(a), Box::new(b)),
        Expr::Bool(true),
    )
}

fn or_all(xs: Vec<Expr>) -> Expr {
    balanced(
        xs,
        &|a, b| Expr::Or(Box::new(a), Box::new(b)),
        Expr::Bool(false),
    )
}

fn balanced(mut xs: Vec<Expr>, join: &dyn Fn(Expr, Expr) -> Expr, empty: Expr) -> Expr {
    match xs.len() {
        0 => empty,
        1 => xs.remove(0),
        n => {
            let right = xs.split_off(n / 2);
            let l = balanced(xs, join, empty.clone());
            let r = balanced(right, join, empty);
            join(l, r)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Compiled, ErrorKind, SigmaError};
    use quarry_event::Event;
    use std::path::Path;

    fn rule(logsource: &str, detection: &str) -> Result<Compiled, SigmaError> {
        let text = format!("title: t\nlogsource: {logsource}\ndetection:\n{detection}\n");
        let r = crate::load_str(Path::new("t.yml"), &text)
            .pop()
            .expect("a document")?;
        crate::compile(&r)
    }

    fn proc_rule(detection: &str) -> Compiled {
        rule("{product: windows, category: process_creation}", detection).expect("compiles")
    }

    fn sysmon1(fields: &[(&str, &str)]) -> Event {
        let mut e = Event::default();
        e.set("winlog.channel", "Microsoft-Windows-Sysmon/Operational");
        e.set("winlog.event_id", "1");
        e.set("event.category", vec!["process"]);
        for (k, v) in fields {
            e.set(&format!("winlog.event_data.{k}"), *v);
        }
        e
    }

    #[test]
    fn one_rule_three_sources() {
        let c = proc_rule(
            "    sel:\n        ParentImage|endswith: '\\dns.exe'\n        CommandLine|contains: 'whoami'\n    condition: sel",
        );
        assert_eq!(
            c.targets,
            ["sysmon 1", "Security 4688", "ecs process/start"]
        );
        assert!(c.query.matches(&sysmon1(&[
            ("ParentImage", r"C:\Windows\System32\dns.exe"),
            ("CommandLine", "cmd /c WHOAMI"),
        ])));
        // Security 4688 with its own names
        let mut s = Event::default();
        s.set("winlog.channel", "Security");
        s.set("winlog.event_id", "4688");
        s.set("event.category", vec!["process"]);
        s.set(
            "winlog.event_data.ParentProcessName",
            r"C:\Windows\System32\dns.exe",
        );
        s.set("winlog.event_data.CommandLine", "whoami");
        assert!(c.query.matches(&s));
        // the Sysmon names on a 4688 do not count, nor a 4688 on Sysmon's channel
        let mut wrong = sysmon1(&[
            ("ParentImage", r"C:\Windows\System32\dns.exe"),
            ("CommandLine", "whoami"),
        ]);
        wrong.set("winlog.event_id", "4688");
        assert!(!c.query.matches(&wrong));
        // ECS (FDR, Defend, …): not Windows-native, and not another OS
        let mut ecs = Event::default();
        ecs.set("event.category", vec!["process"]);
        ecs.set("event.type", vec!["start"]);
        ecs.set("process.parent.executable", r"C:\Windows\System32\dns.exe");
        ecs.set("process.command_line", "whoami /all");
        assert!(c.query.matches(&ecs));
        ecs.set("host.os.type", "linux");
        assert!(!c.query.matches(&ecs));
        ecs.set("host.os.type", "windows");
        // a source that names the parent only by file name (FDR)
        ecs.remove("process.parent.executable");
        ecs.set("process.parent.name", "DNS.exe");
        assert!(c.query.matches(&ecs));
        ecs.set("process.parent.name", "notdns.exe");
        assert!(!c.query.matches(&ecs));
        ecs.set("process.parent.executable", r"C:\Windows\System32\dns.exe");
        ecs.set("host.os.type", "windows");
        ecs.set("winlog.channel", "Security");
        assert!(!c.query.matches(&ecs));
        assert_eq!(c.query.category(), Some("process"));
    }

    #[test]
    fn targets_drop_out_for_fields_they_lack() {
        let c = proc_rule("    sel:\n        OriginalFileName: 'x.exe'\n    condition: sel");
        assert_eq!(c.targets, ["sysmon 1", "ecs process/start"]);
        assert_eq!(c.skipped[0].0, "Security 4688");
        let c = proc_rule("    sel:\n        ParentUser: 'x'\n    condition: sel");
        assert_eq!(c.targets, ["sysmon 1"]);
        // an alternative the log cannot have is false there; the others decide
        let c = proc_rule(
            "    sel:\n        - Image|endswith: '\\sc.exe'\n        - OriginalFileName: 'sc.exe'\n    condition: sel",
        );
        assert_eq!(
            c.targets,
            ["sysmon 1", "Security 4688", "ecs process/start"]
        );
        let mut s = Event::default();
        s.set("winlog.channel", "Security");
        s.set("winlog.event_id", "4688");
        s.set("event.category", vec!["process"]);
        s.set(
            "winlog.event_data.NewProcessName",
            r"C:\Windows\System32\sc.exe",
        );
        assert!(c.query.matches(&s));
        // but a filter on it would stop filtering: that log is left out
        let c = proc_rule(
            "    sel:\n        Image|endswith: '\\sc.exe'\n    filter:\n        OriginalFileName: 'sc.exe'\n    condition: sel and not filter",
        );
        assert_eq!(c.targets, ["sysmon 1", "ecs process/start"]);
        // as would a test of absence
        let c = proc_rule(
            "    sel:\n        Image|endswith: '\\sc.exe'\n        OriginalFileName: null\n    condition: sel",
        );
        assert_eq!(c.targets, ["sysmon 1", "ecs process/start"]);
        // a value the target writes its own way: 4688's integrity SIDs
        let c = proc_rule("    sel:\n        IntegrityLevel: 'High'\n    condition: sel");
        assert_eq!(c.targets, ["sysmon 1", "Security 4688"]);
        let mut s = Event::default();
        s.set("winlog.channel", "Security");
        s.set("winlog.event_id", "4688");
        s.set("event.category", vec!["process"]);
        s.set("winlog.event_data.MandatoryLabel", "S-1-16-12288");
        assert!(c.query.matches(&s));
        // hashes: one ECS field per algorithm
        let c = proc_rule(
            "    sel:\n        Hashes|contains: ['IMPHASH=AB12', 'SHA256=CD34']\n    condition: sel",
        );
        assert_eq!(c.targets, ["sysmon 1", "ecs process/start"]);
        let mut ecs = Event::default();
        ecs.set("event.category", vec!["process"]);
        ecs.set("event.type", vec!["start"]);
        ecs.set("process.hash.sha256", "cd34");
        assert!(c.query.matches(&ecs));
        let e = rule(
            "{product: linux, category: process_creation}",
            "    sel:\n        IntegrityLevel: 'High'\n    condition: sel",
        )
        .expect_err("no target");
        assert_eq!(e.kind, ErrorKind::Field);
    }

    #[test]
    fn values_and_modifiers() {
        let m = |det: &str, fields: &[(&str, &str)]| proc_rule(det).query.matches(&sysmon1(fields));
        // null: missing or empty
        let null = "    sel:\n        Image: 'a'\n        User: null\n    condition: sel";
        assert!(m(null, &[("Image", "A")]));
        assert!(m(null, &[("Image", "a"), ("User", "")]));
        assert!(!m(null, &[("Image", "a"), ("User", "x")]));
        // escaped wildcards are literal, `?` one character
        let esc = "    sel:\n        CommandLine: 'a\\*b?'\n    condition: sel";
        assert!(m(esc, &[("CommandLine", "A*bc")]));
        assert!(!m(esc, &[("CommandLine", "axbc")]));
        let star = "    sel:\n        CommandLine|contains: '\\*.bak'\n    condition: sel";
        assert!(m(star, &[("CommandLine", "del \\*.BAK /q")]));
        assert!(!m(star, &[("CommandLine", "del x.bak")]));
        let star = "    sel:\n        CommandLine|endswith: '\\?'\n    condition: sel";
        assert!(m(star, &[("CommandLine", "what?")]));
        assert!(!m(star, &[("CommandLine", "whatx")]));
        // all: every value; default: any
        let all = "    sel:\n        CommandLine|contains|all: ['a', 'b']\n    condition: sel";
        assert!(m(all, &[("CommandLine", "xaxbx")]));
        assert!(!m(all, &[("CommandLine", "xax")]));
        // cased
        let cased = "    sel:\n        CommandLine|cased: 'Ab'\n    condition: sel";
        assert!(m(cased, &[("CommandLine", "Ab")]));
        assert!(!m(cased, &[("CommandLine", "ab")]));
        // re: unanchored, case-sensitive unless i
        let re = "    sel:\n        CommandLine|re: 'b.d'\n    condition: sel";
        assert!(m(re, &[("CommandLine", "abcde")]));
        assert!(!m(re, &[("CommandLine", "aBcDe")]));
        let rei = "    sel:\n        CommandLine|re|i: 'b.d'\n    condition: sel";
        assert!(m(rei, &[("CommandLine", "aBcDe")]));
        // windash
        let wd = "    sel:\n        CommandLine|contains|windash: ' -enc '\n    condition: sel";
        assert!(m(wd, &[("CommandLine", "powershell /enc AAA")]));
        assert!(m(wd, &[("CommandLine", "powershell \u{2013}enc AAA")]));
        assert!(!m(wd, &[("CommandLine", "powershell enc AAA")]));
        // base64offset
        let b64 =
            "    sel:\n        CommandLine|base64offset|contains: 'http://'\n    condition: sel";
        assert!(m(b64, &[("CommandLine", "x aHR0cDovL y")]));
        // numbers and comparisons on the log's strings
        let gt = "    sel:\n        TerminalSessionId|gt: 1\n    condition: sel";
        assert!(m(gt, &[("TerminalSessionId", "2")]));
        assert!(!m(gt, &[("TerminalSessionId", "1")]));
        // exists
        let ex = "    sel:\n        Image|exists: true\n    condition: sel";
        assert!(m(ex, &[("Image", "x")]));
        assert!(!m(ex, &[("User", "x")]));
        // fieldref
        let fr = "    sel:\n        Image|fieldref: ParentImage\n    condition: sel";
        assert!(m(
            fr,
            &[("Image", "C:\\a.exe"), ("ParentImage", "c:\\A.exe")]
        ));
        assert!(!m(
            fr,
            &[("Image", "C:\\a.exe"), ("ParentImage", "C:\\b.exe")]
        ));
    }

    #[test]
    fn cidr_keywords_and_quantifiers() {
        let net = rule(
            "{product: windows, category: network_connection}",
            "    sel:\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: sel",
        )
        .expect("compiles");
        let mut e = Event::default();
        e.set("winlog.channel", "Microsoft-Windows-Sysmon/Operational");
        e.set("winlog.event_id", "3");
        // quarry's Windows mapping gives Sysmon 3 this category, and the
        // query leads with it (the hunt indexes rules by category)
        e.set("event.category", vec!["network"]);
        e.set("winlog.event_data.DestinationIp", "10.1.2.3");
        assert!(net.query.matches(&e));
        e.set("winlog.event_data.DestinationIp", "11.1.2.3");
        assert!(!net.query.matches(&e));
        // every Windows log, none other
        let any = rule(
            "{product: windows}",
            "    keywords:\n        - 'sekurlsa::'\n    condition: keywords",
        )
        .expect("compiles");
        let mut w = Event::default();
        w.set("winlog.channel", "Microsoft-Windows-PowerShell/Operational");
        w.set(
            "winlog.event_data.ScriptBlockText",
            "Invoke-Mimikatz sekurlsa::logonpasswords",
        );
        assert!(any.query.matches(&w));
        w.remove("winlog.channel");
        assert!(!any.query.matches(&w));
        // keywords: substrings of any string field
        let kw = rule(
            "{product: windows, service: system}",
            "    keywords:\n        - 'mimikatz'\n    condition: keywords",
        )
        .expect("compiles");
        let mut s = Event::default();
        s.set("winlog.channel", "System");
        s.set("winlog.event_data.ImagePath", "c:\\x\\MIMIKATZ.exe");
        assert!(kw.query.matches(&s));
        s.set("winlog.event_data.ImagePath", "c:\\x\\y.exe");
        assert!(!kw.query.matches(&s));
        // N of, all of, them, not
        let det = "    sel_a:\n        Image: 'a'\n    sel_b:\n        User: 'b'\n    sel_c:\n        CommandLine: 'c'\n";
        let q = |cond: &str| proc_rule(&format!("{det}    condition: {cond}")).query;
        let two = sysmon1(&[("Image", "a"), ("User", "b")]);
        assert!(q("2 of sel_*").matches(&two));
        assert!(!q("3 of them").matches(&two));
        assert!(q("1 of them").matches(&two));
        assert!(!q("all of sel_*").matches(&two));
        assert!(q("all of sel_* or sel_a").matches(&two));
        assert!(q("sel_a and not sel_c").matches(&two));
        assert!(!q("sel_a and not 1 of sel_b*").matches(&two));
    }

    #[test]
    fn meta_filters_narrow_the_rules_they_name() {
        let text = "title: r\nid: r1\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel:\n        Image|endswith: '\\cmd.exe'\n    condition: sel\n---\ntitle: f\nlogsource: {product: windows, category: process_creation}\nfilter:\n    rules: [r1]\n    dc:\n        Computer|startswith: 'DC'\n    condition: not dc\n---\ntitle: orphan\nlogsource: {product: windows}\nfilter:\n    rules: [nope]\n    x:\n        A: b\n    condition: not x\n";
        let loaded: Vec<_> = crate::load_str(Path::new("t.yml"), text)
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("loads");
        let (rules, errors) = crate::apply_filters(loaded);
        assert_eq!(rules.len(), 1);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].kind, ErrorKind::Filter);
        let q = crate::compile(&rules[0]).expect("compiles").query;
        let mut e = sysmon1(&[("Image", r"C:\Windows\System32\cmd.exe")]);
        e.set("winlog.computer_name", "WS01");
        assert!(q.matches(&e));
        e.set("winlog.computer_name", "DC01");
        assert!(!q.matches(&e));
    }

    #[test]
    fn condition_errors_point_at_the_name() {
        let e = rule(
            "{product: windows, category: process_creation}",
            "    sel:\n        Image: 'a'\n    condition: sel and not filter",
        )
        .expect_err("missing selection");
        assert_eq!(e.kind, ErrorKind::Condition);
        assert_eq!((e.line, e.column), (6, 28));
        assert!(e.message.contains("`filter`"), "{e}");
        let e = rule(
            "{product: windows, category: process_creation}",
            "    sel:\n        Image: 'a'\n    condition: 1 of filter_*",
        )
        .expect_err("pattern matches nothing");
        assert_eq!(e.kind, ErrorKind::Condition);
        let e = rule(
            "{product: windows, category: process_creation}",
            "    sel:\n        Image: 'a'\n    condition: sel | count() > 5",
        )
        .expect_err("aggregation");
        assert_eq!(e.kind, ErrorKind::Aggregation);
    }
}
