//! The literal prefilter of a projection: lines that provably lack a
//! literal every wanted event holds are only validated, not walked.

use super::Projection;

impl Projection {
    /// Declares literals every wanted event holds, as clauses of
    /// alternatives (`quarry_eql::Query::required_literals`): a wanted
    /// event has, for each clause, one alternative within the text of some
    /// field value, ASCII case aside. A line is then dropped unwalked when
    /// it is ASCII, has no `\u` or `\/` escape (behind which a literal could
    /// hide), lacks every alternative of some clause, and validates as a
    /// plain ECS object; any other line is read as before. Literals must be
    /// ASCII without control characters; otherwise no prefilter is set.
    pub fn require_literals(mut self, clauses: &[Vec<String>]) -> Projection {
        let usable =
            |l: &String| !l.is_empty() && l.bytes().all(|b| b.is_ascii() && !b.is_ascii_control());
        if clauses.is_empty() || !clauses.iter().flatten().all(usable) {
            return self;
        }
        let mut automata = Vec::with_capacity(clauses.len());
        for clause in clauses {
            // as the literal appears inside a JSON string without \u escapes
            let encoded: Vec<String> = clause
                .iter()
                .map(|l| {
                    l.replace('\\', "\\\\")
                        .replace('"', "\\\"")
                        .to_ascii_lowercase()
                })
                .collect();
            match aho_corasick::AhoCorasick::builder().build(&encoded) {
                Ok(ac) if !clause.is_empty() => automata.push(ac),
                _ => return self,
            }
        }
        let mut shell = Projection::new(&[], &[], |_| false);
        // it only ever drops: its events need no room for fields up front
        shell.count = 0;
        self.prefilter = Some(Prefilter {
            clauses: automata,
            unicode_escape: memchr::memmem::Finder::new(b"\\u").into_owned(),
            slash_escape: memchr::memmem::Finder::new(b"\\/").into_owned(),
            shell: Box::new(shell),
        });
        self
    }
}

/// Required literals ([`Projection::require_literals`]): one automaton per
/// clause, each matching any of its alternatives as written in JSON, in
/// ASCII lower case (searched for in a lower-cased copy of the line: a
/// case-sensitive search of one or a few literals runs on SIMD, where an
/// ASCII-case-insensitive one checks a candidate at every common byte).
pub(super) struct Prefilter {
    clauses: Vec<aho_corasick::AhoCorasick>,
    /// `\u` and `\/`: when neither occurs the line has no such escape,
    /// without walking its backslashes one by one.
    unicode_escape: memchr::memmem::Finder<'static>,
    slash_escape: memchr::memmem::Finder<'static>,
    /// A projection reading no field and wanting no event: its walk is the
    /// validation a skipped line still gets, with the same tests (serde's
    /// whole-line parse, a format's marker key, Elastic Defend), so a skipped
    /// line is one the full walk reads as plain ECS (or, for a key repeated
    /// on a path only the full walk reads, one the full reader reads as
    /// plain ECS: counted the same, and unmatched, as it lacks the literal).
    pub(super) shell: Box<Projection>,
}

impl Prefilter {
    /// Does the line lack every alternative of some clause (ASCII case
    /// aside)?
    pub(super) fn lacks_a_clause(&self, line: &[u8]) -> bool {
        LOWER.with(|lower| {
            let Ok(mut lower) = lower.try_borrow_mut() else {
                return false;
            };
            lower.clear();
            lower.extend_from_slice(line);
            lower.make_ascii_lowercase();
            self.clauses.iter().any(|ac| !ac.is_match(lower.as_slice()))
        })
    }
}

thread_local! {
    /// The line in lower case, for [`Prefilter::lacks_a_clause`].
    static LOWER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Does the line provably lack every alternative of some required clause?
#[cfg(test)]
pub(super) fn lacks_literal(line: &[u8], pre: &Prefilter) -> bool {
    spelled_plainly(line, pre) && pre.lacks_a_clause(line)
}

/// Can the automata tell? Only in an ASCII line without `\u` and `\/`
/// escapes: in any other, a literal may be spelled differently from its
/// plain JSON encoding.
pub(super) fn spelled_plainly(line: &[u8], pre: &Prefilter) -> bool {
    if !line.is_ascii() {
        return false;
    }
    if pre.unicode_escape.find(line).is_none() && pre.slash_escape.find(line).is_none() {
        return true;
    }
    // walk the escapes pairwise so that an escaped backslash before a `u`
    // (`C:\\users`) is not taken for a `\u`
    let mut at = 0;
    while let Some(i) = memchr::memchr(b'\\', &line[at..]) {
        match line.get(at + i + 1) {
            Some(b'u' | b'/') | None => return false,
            _ => at += i + 2,
        }
    }
    true
}
