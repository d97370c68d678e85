//! Rewrites of a compiled condition that keep its meaning: constant
//! sub-expressions folded, and the conjuncts of every `and` ordered so the
//! ones most likely to reject an event run first.

use super::C;
use crate::ast::CmpOp;
use crate::eval::eval;
use crate::value::V;
use quarry_event::Event;

fn is_const(c: &C) -> bool {
    match c {
        C::Const(_) => true,
        C::Field(_) | C::Fields(_) => false,
        C::Not(x) | C::Neg(x) => is_const(x),
        C::And(a, b) | C::Or(a, b) | C::Arith(_, a, b) => is_const(a) && is_const(b),
        C::Cmp { lhs, rhs, .. } => is_const(lhs) && is_const(rhs),
        C::Glob { lhs, .. }
        | C::Regex { lhs, .. }
        | C::In { lhs, .. }
        | C::Wild { lhs, .. }
        | C::Text { lhs, .. } => is_const(lhs),
        C::Call { args, .. } => args.iter().all(is_const),
    }
}

/// Folds constant sub-expressions (errors such as a division by zero are
/// left to evaluation, where they yield null).
pub fn fold(c: C) -> C {
    if !matches!(c, C::Const(_)) && is_const(&c) {
        let ev = Event::default();
        return C::Const(eval(&c, &ev).into_owned());
    }
    match c {
        C::Not(x) => C::Not(Box::new(fold(*x))),
        C::And(a, b) => C::And(Box::new(fold(*a)), Box::new(fold(*b))),
        C::Or(a, b) => C::Or(Box::new(fold(*a)), Box::new(fold(*b))),
        C::Cmp {
            op,
            lhs,
            rhs,
            version,
        } => C::Cmp {
            op,
            lhs: Box::new(fold(*lhs)),
            rhs: Box::new(fold(*rhs)),
            version,
        },
        C::Call {
            func,
            insensitive,
            args,
        } => C::Call {
            func,
            insensitive,
            args: args.into_iter().map(fold).collect(),
        },
        other => other,
    }
}

/// Fields that say what kind of event this is (`windows`, `start`, a
/// channel, an event code): most events of a kind share their values, so a
/// test on them rarely rejects an event — it goes after the tests on
/// specific fields, and the rule index never anchors a rule on them.
pub const KIND_FIELDS: &[&str] = &[
    "agent.type",
    "data_stream.dataset",
    "data_stream.namespace",
    "data_stream.type",
    "event.action",
    "event.category",
    "event.code",
    "event.dataset",
    "event.kind",
    "event.module",
    "event.outcome",
    "event.provider",
    "event.type",
    "host.os.family",
    "host.os.name",
    "host.os.platform",
    "host.os.type",
    "winlog.channel",
    "winlog.event_id",
    "winlog.provider_name",
];

/// How likely a conjunct is to reject an event, cheapest first: positive
/// tests on specific fields (0), on common fields or alternatives (1),
/// negations, which exclusions nearly always pass (2).
fn rejection_rank(c: &C) -> u8 {
    let common = |lhs: &C| matches!(lhs, C::Field(f) if KIND_FIELDS.contains(&f.path()));
    match c {
        C::Not(_) => 2,
        C::Glob { negated: true, .. }
        | C::Regex { negated: true, .. }
        | C::In { negated: true, .. }
        | C::Wild { negated: true, .. }
        | C::Text { negated: true, .. }
        | C::Cmp { op: CmpOp::Ne, .. } => 2,
        C::Glob { lhs, .. }
        | C::Regex { lhs, .. }
        | C::In { lhs, .. }
        | C::Wild { lhs, .. }
        | C::Text { lhs, .. }
        | C::Cmp { lhs, .. }
            if common(lhs) =>
        {
            1
        }
        C::Or(..) => 1,
        _ => 0,
    }
}

/// Does the (reordered) condition start with a positive test on a specific
/// field (rank 0 of `rejection_rank`), not a constant?
pub fn leads_with_specific_test(c: &C) -> bool {
    let mut first = c;
    while let C::And(a, _) = first {
        first = a;
    }
    !matches!(first, C::Const(_)) && rejection_rank(first) == 0
}

/// Orders the conjuncts of every `and` chain so that the ones most likely
/// to reject an event run first (see `rejection_rank`); the order within
/// a rank is kept. Sound because `and` is symmetric in three-valued logic
/// (false wins, then null) and evaluation has no side effects.
pub fn reorder(c: C) -> C {
    fn flatten(c: C, out: &mut Vec<C>) {
        match c {
            C::And(a, b) => {
                flatten(*a, out);
                flatten(*b, out);
            }
            other => out.push(reorder(other)),
        }
    }
    match c {
        C::And(..) => {
            let mut parts = Vec::new();
            flatten(c, &mut parts);
            parts.sort_by_key(rejection_rank);
            // balanced, not a left-deep chain: evaluation still runs the
            // conjuncts left to right, and a chain of thousands of them
            // (generated queries) cannot overflow the stack
            balanced_and(parts)
        }
        C::Or(a, b) => C::Or(Box::new(reorder(*a)), Box::new(reorder(*b))),
        C::Not(x) => C::Not(Box::new(reorder(*x))),
        other => other,
    }
}

/// `a and b and …` as a balanced tree of the conjuncts, in order.
fn balanced_and(mut parts: Vec<C>) -> C {
    match parts.len() {
        0 => C::Const(V::Bool(true)),
        1 => parts.pop().unwrap_or(C::Const(V::Bool(true))),
        n => {
            let right = parts.split_off(n / 2);
            C::And(Box::new(balanced_and(parts)), Box::new(balanced_and(right)))
        }
    }
}
