//! The wildcard matcher of quarry: EQL's `:` and `like`, KQL and Sigma
//! wildcards, Elasticsearch index patterns and exception `matches` — one
//! anchored `*`/`?` match, with fast paths for the shapes rules use.

/// The patterns of one `:` / `like` test (`process.name : ("a.exe",
/// "*\\b.exe", …)`, lists of dozens in Elastic's and Sigma's rules),
/// matching when one of them does. Case-insensitive ASCII patterns of the
/// simple shapes are sorted by shape: an ASCII value is lower-cased once,
/// looked up among the literals and compared with each prefix, suffix and
/// contained literal byte for byte, instead of folding case pattern by
/// pattern; the other patterns are tried one by one.
#[derive(Debug, Clone)]
pub struct GlobSet {
    pats: Box<[Glob]>,
    /// The patterns sorted by shape; `None`: each tried one by one (most
    /// sets have a pattern or two, and loaded rules hold tens of thousands).
    split: Option<Box<Split>>,
}

#[derive(Debug, Clone)]
struct Split {
    /// Lower-cased literals (no wildcard) of the simple patterns.
    exact: rustc_hash::FxHashSet<Box<[u8]>>,
    prefix: Box<[Box<[u8]>]>,
    suffix: Box<[Box<[u8]>]>,
    contains: Box<[Box<[u8]>]>,
    /// The positions of the patterns tested by [`Glob::matches`].
    rest: Box<[u32]>,
}

/// Below this many case-insensitive ASCII patterns the split saves nothing.
const SET_MIN: usize = 4;

impl GlobSet {
    pub fn new(pats: Vec<Glob>) -> Self {
        let split = pats
            .iter()
            .filter(|p| p.ascii && p.insensitive)
            .nth(SET_MIN - 1)
            .is_some();
        GlobSet {
            split: split.then(|| Box::new(Split::new(&pats))),
            pats: pats.into_boxed_slice(),
        }
    }

    /// The patterns, in the order written.
    pub fn iter(&self) -> std::slice::Iter<'_, Glob> {
        self.pats.iter()
    }

    pub fn matches(&self, s: &str) -> bool {
        if s.is_ascii() {
            return match &self.split {
                Some(split) => split.matches(&self.pats, s),
                None => self.pats.iter().any(|p| p.matches(s)),
            };
        }
        // a string that is not ASCII is lower-cased once for the whole set
        // (Sigma's emoji rules list hundreds of patterns), not per pattern
        let low = std::cell::OnceCell::new();
        self.pats.iter().any(|p| {
            if p.insensitive {
                p.matches_text(low.get_or_init(|| s.to_lowercase()))
            } else {
                p.matches_text(s)
            }
        })
    }
}

impl Split {
    fn new(pats: &[Glob]) -> Self {
        let mut exact = rustc_hash::FxHashSet::default();
        let (mut prefix, mut suffix, mut contains) = (Vec::new(), Vec::new(), Vec::new());
        let mut rest = Vec::new();
        for (i, p) in pats.iter().enumerate() {
            // positions fit: a rule file is far smaller than 4 G patterns
            let at = u32::try_from(i).unwrap_or(u32::MAX);
            if !(p.ascii && p.insensitive) {
                rest.push(at);
                continue;
            }
            let b = p.pat.as_bytes();
            match p.shape {
                _ if p.literal => {
                    exact.insert(b.into());
                }
                Shape::Prefix => prefix.push(b[..b.len() - 1].into()),
                Shape::Suffix => suffix.push(b[1..].into()),
                Shape::Contains => contains.push(b[1..b.len() - 1].into()),
                Shape::General => rest.push(at),
            }
        }
        exact.shrink_to_fit();
        Split {
            exact,
            prefix: prefix.into_boxed_slice(),
            suffix: suffix.into_boxed_slice(),
            contains: contains.into_boxed_slice(),
            rest: rest.into_boxed_slice(),
        }
    }

    /// [`GlobSet::matches`] of an ASCII string.
    fn matches(&self, pats: &[Glob], s: &str) -> bool {
        let low: std::borrow::Cow<'_, [u8]> = if s.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(s.as_bytes().to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(s.as_bytes())
        };
        let low: &[u8] = &low;
        self.exact.contains(low)
            || self.prefix.iter().any(|p| low.starts_with(p))
            || self.suffix.iter().any(|p| low.ends_with(p))
            || self
                .contains
                .iter()
                .any(|p| memchr::memmem::find(low, p).is_some())
            || self.rest.iter().any(|&i| pats[i as usize].matches(s))
    }
}

/// A `:` / `like` pattern: `*` any run, `?` one character, anchored;
/// backslash is literal. Also Elasticsearch's index patterns
/// ([`Glob::star_only`]: `?` is literal there) and exception `matches`.
#[derive(Debug, Clone)]
pub struct Glob {
    /// The pattern, lower-cased when case-insensitive: an ASCII one is
    /// matched by its bytes, one that is not by its characters (decoded
    /// when matched: such patterns are rare, and loaded rules hold tens of
    /// thousands of patterns, each kept once).
    pat: Box<str>,
    insensitive: bool,
    /// `?` matches one character (off in index patterns).
    question: bool,
    ascii: bool,
    /// ASCII patterns: the pattern has a `*`; the bytes a match needs at
    /// least (exactly, without a `*`), so most strings are rejected by
    /// their length alone; and whether the pattern is a plain literal.
    star: bool,
    min_len: usize,
    literal: bool,
    /// The pattern (lower-cased when case-insensitive) holds a non-ASCII
    /// character, which no ASCII string (nor its lower-case form) has:
    /// such strings are rejected without folding them.
    needs_non_ascii: bool,
    /// ASCII patterns of one literal run with `*` only at its ends
    /// (`abc`, `abc*`, `*abc`, `*abc*`, the shapes most wildcard rules
    /// take): tested by comparing the ends, or searching, without the
    /// general backtracking match.
    shape: Shape,
}

// kept small: loaded rules hold a hundred thousand patterns
const _: () = assert!(std::mem::size_of::<Glob>() <= 32);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    General,
    Prefix,
    Suffix,
    Contains,
}

impl Glob {
    pub fn new(p: &str, insensitive: bool) -> Self {
        Glob::with(p, insensitive, true)
    }

    /// A case-sensitive pattern where only `*` is a wildcard, as in
    /// Elasticsearch's index patterns.
    pub fn star_only(p: &str) -> Self {
        Glob::with(p, false, false)
    }

    fn with(p: &str, insensitive: bool, question: bool) -> Self {
        let low;
        let pat = if insensitive {
            low = p.to_lowercase();
            low.as_str()
        } else {
            p
        };
        let ascii = p.is_ascii();
        // what the ASCII paths read (the flags below mean nothing for a
        // pattern that is not ASCII)
        let bytes = if ascii { pat.as_bytes() } else { &[] };
        let star = bytes.contains(&b'*');
        let shape = {
            let lead = bytes.first() == Some(&b'*');
            let trail = bytes.len() > 1 && bytes.last() == Some(&b'*');
            let inner = &bytes[usize::from(lead)..bytes.len() - usize::from(trail)];
            if !ascii
                || inner.is_empty()
                || inner.iter().any(|&b| b == b'*' || (question && b == b'?'))
            {
                Shape::General
            } else {
                match (lead, trail) {
                    (true, true) => Shape::Contains,
                    (false, true) => Shape::Prefix,
                    (true, false) => Shape::Suffix,
                    // a plain literal has its own path
                    (false, false) => Shape::General,
                }
            }
        };
        Glob {
            shape,
            needs_non_ascii: !pat.is_ascii(),
            ascii,
            min_len: bytes.iter().filter(|&&b| b != b'*').count(),
            literal: !(star || (question && bytes.contains(&b'?'))),
            star,
            pat: pat.into(),
            insensitive,
            question,
        }
    }

    /// The most selective run of literal characters between `*` and `?`
    /// ([`most_selective`]; lowercased for a case-insensitive pattern):
    /// every string the pattern matches contains it,
    /// ASCII-case-insensitively. `None` for a non-ASCII pattern (Unicode
    /// case folding can map it onto ASCII) or one with no literal.
    pub fn required_literal(&self) -> Option<String> {
        if !self.ascii {
            return None;
        }
        most_selective(
            self.pat
                .as_bytes()
                .split(|&b| b == b'*' || (self.question && b == b'?')),
        )
        .map(|run| String::from_utf8_lossy(run).into_owned())
    }

    /// The text an ASCII pattern without wildcards matches (lower-cased for
    /// a case-insensitive pattern): the whole value must be it, case aside.
    pub fn literal_text(&self) -> Option<&str> {
        (self.ascii && self.literal).then_some(&*self.pat)
    }

    /// Whether the pattern (lower-cased when case-insensitive) holds a
    /// character no ASCII text has (nor folds to): only values that are
    /// not ASCII can match it.
    pub fn needs_non_ascii(&self) -> bool {
        self.needs_non_ascii
    }

    pub fn matches(&self, s: &str) -> bool {
        if self.needs_non_ascii && s.is_ascii() {
            return false;
        }
        if self.ascii && s.is_ascii() {
            // `?` is one character, which is one byte of an ASCII string
            let n = s.len();
            if n < self.min_len || (!self.star && n != self.min_len) {
                return false;
            }
            let pat = self.pat.as_bytes();
            if self.literal {
                return if self.insensitive {
                    s.as_bytes().eq_ignore_ascii_case(pat)
                } else {
                    s.as_bytes() == pat
                };
            }
            let same = |a: &[u8], b: &[u8]| {
                if self.insensitive {
                    a.eq_ignore_ascii_case(b)
                } else {
                    a == b
                }
            };
            let b = s.as_bytes();
            return match self.shape {
                Shape::Prefix => same(&b[..self.min_len], &pat[..self.min_len]),
                Shape::Suffix => same(&b[n - self.min_len..], &pat[1..]),
                Shape::Contains => {
                    let lit = &pat[1..pat.len() - 1];
                    b.windows(lit.len()).any(|w| same(w, lit))
                }
                Shape::General => glob(pat, b, self.insensitive, self.question),
            };
        }
        if self.insensitive {
            self.matches_text(&s.to_lowercase())
        } else {
            self.matches_text(s)
        }
    }

    /// The match of a string that is not ASCII, or of a pattern that is
    /// not: by characters, `s` already lower-cased as the pattern is.
    fn matches_text(&self, s: &str) -> bool {
        if self.needs_non_ascii && s.is_ascii() {
            return false;
        }
        // one literal run with `*` only at its ends: compared as text (a
        // run of whole characters is found in UTF-8 only at character
        // boundaries), without decoding either side
        let p = &*self.pat;
        let lead = p.starts_with('*');
        let trail = p.len() > 1 && p.ends_with('*');
        let inner = &p[usize::from(lead)..p.len() - usize::from(trail)];
        let wild = inner.contains('*') || (self.question && inner.contains('?'));
        if !wild {
            return match (lead, trail) {
                (false, false) => s == inner,
                (false, true) => s.starts_with(inner),
                (true, false) => s.ends_with(inner),
                (true, true) => s.contains(inner),
            };
        }
        let chars: Vec<char> = s.chars().collect();
        if self.ascii {
            glob_by(self.pat.as_bytes(), &chars, self.question, |p, c| {
                char::from(p) == c
            })
        } else {
            let pat: Vec<char> = self.pat.chars().collect();
            glob(&pat, &chars, false, self.question)
        }
    }
}

trait Unit: Copy + PartialEq {
    fn star(self) -> bool;
    fn any(self) -> bool;
    fn same(self, other: Self, ci: bool) -> bool;
}
impl Unit for u8 {
    fn star(self) -> bool {
        self == b'*'
    }
    fn any(self) -> bool {
        self == b'?'
    }
    fn same(self, o: u8, ci: bool) -> bool {
        if ci {
            self.eq_ignore_ascii_case(&o)
        } else {
            self == o
        }
    }
}
impl Unit for char {
    fn star(self) -> bool {
        self == '*'
    }
    fn any(self) -> bool {
        self == '?'
    }
    fn same(self, o: char, _: bool) -> bool {
        self == o
    }
}

/// Iterative wildcard match with single backtracking point: linear in
/// practice, never exponential.
/// `q`: `?` matches one unit (else it is literal).
fn glob<T: Unit>(p: &[T], s: &[T], ci: bool, q: bool) -> bool {
    glob_by(p, s, q, |a, b| a.same(b, ci))
}

/// [`glob`] of a pattern and a string of other units, `same` saying
/// whether a pattern unit matches a string unit.
#[inline]
fn glob_by<P: Unit, S: Copy>(p: &[P], s: &[S], q: bool, same: impl Fn(P, S) -> bool) -> bool {
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < p.len() && !p[pi].star() && ((q && p[pi].any()) || same(p[pi], s[si])) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi].star() {
            star = Some(pi);
            pi += 1;
            mark = si;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| c.star())
}

/// Of a pattern's literal runs (every match holds each), the one a
/// prefilter had best look for: the longest; of equal lengths, one that is
/// not a file extension (`AA_v*.exe`: `aa_v`, not `.exe`, which every
/// executable's name holds), then the first.
pub(crate) fn most_selective<'a>(runs: impl Iterator<Item = &'a [u8]>) -> Option<&'a [u8]> {
    runs.enumerate()
        .filter(|(_, run)| !run.is_empty())
        .max_by_key(|&(i, run)| (run.len(), run.first() != Some(&b'.'), std::cmp::Reverse(i)))
        .map(|(_, run)| run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_required_literal_is_the_most_selective_run() {
        let lit = |p: &str| Glob::new(p, true).required_literal();
        // an extension ties with a name's run: the name
        assert_eq!(lit("AA_v*.exe").as_deref(), Some("aa_v"));
        assert_eq!(lit("*.exe*abcde").as_deref(), Some("abcde"));
        // of equal runs, the first
        assert_eq!(lit("ab*cd").as_deref(), Some("ab"));
        assert_eq!(lit("*"), None);
    }

    #[test]
    fn globs() {
        let g = Glob::new(r"?:\Windows\System32\conhost.exe", true);
        assert!(g.matches(r"C:\WINDOWS\system32\conhost.exe"));
        assert!(!g.matches(r"CC:\Windows\System32\conhost.exe"));
        assert!(
            Glob::new(r"\Device\HarddiskVolume*\Windows\*", true)
                .matches(r"\Device\HarddiskVolume3\Windows\x.exe")
        );
        assert!(!Glob::new("a*", false).matches("Abc"));
        assert!(Glob::new("ÄB*", true).matches("äbc"));
        // a non-ASCII pattern never matches an ASCII string, except through
        // case folding onto ASCII (the Kelvin sign folds to `k`)
        assert!(!Glob::new("*\u{1F600}*", true).matches("cmd.exe /c x"));
        assert!(Glob::new("*\u{1F600}*", true).matches("cmd \u{1F600}"));
        assert!(Glob::new("\u{212A}*", true).matches("kelvin"));
        assert!(Glob::new("*", true).matches(""));
        assert!(Glob::new("dns.exe", true).matches("DNS.exe"));
        assert!(!Glob::new("dns.exe", false).matches("DNS.exe"));
        assert!(!Glob::new("dns.exe", true).matches("dns.exe "));
        assert!(Glob::new("a?c", true).matches("abc"));
        assert!(!Glob::new("a?c", true).matches("ac"));
        assert!(!Glob::new("a*c*", true).matches("a"));
        assert!(Glob::new("a*c*", true).matches("ac"));
        // the fast shapes agree with the general match
        for (p, s, want) in [
            ("abc*", "ABCdef", true),
            ("abc*", "xabc", false),
            ("*\\cmd.exe", "C:\\Windows\\CMD.EXE", true),
            ("*\\cmd.exe", "cmd.exe", false),
            ("*enc*", "-ENC x", true),
            ("*enc*", "en c", false),
            ("*a*", "a", true),
            ("**", "", true),
            ("*ab", "ab", true),
        ] {
            assert_eq!(Glob::new(p, true).matches(s), want, "{p} {s}");
            assert_eq!(
                glob(p.as_bytes(), s.as_bytes(), true, true),
                want,
                "{p} {s}"
            );
        }
        assert!(!Glob::new("abc*", false).matches("ABCd"));
        assert!(Glob::new("*Cmd", false).matches("xCmd"));
        assert!(!Glob::new("*Cmd", false).matches("xcmd"));
    }

    #[test]
    fn a_set_folds_a_string_that_is_not_ascii_once_for_all_its_patterns() {
        // Sigma's emoji rules: hundreds of `*<emoji>*` patterns
        let set = |pats: &[&str], ci| GlobSet::new(pats.iter().map(|p| Glob::new(p, ci)).collect());
        let emoji = set(&["*\u{1F600}*", "*\u{1F47E}*", "*\u{2764}\u{FE0F}*"], true);
        assert!(emoji.matches("cmd /c echo \u{1F47E} x"));
        assert!(emoji.matches("\u{2764}\u{FE0F}"));
        assert!(!emoji.matches("caf\u{e9} \u{2764}"));
        assert!(!emoji.matches("plain ascii"));
        // each shape, compared as text or by characters, on the folded value
        let s = "C:\\Users\\\u{c4}b\u{e7}\\\u{212A}ey.exe";
        assert!(set(&["c:\\users\\*"], true).matches(s));
        assert!(set(&["*\\key.exe"], true).matches(s));
        assert!(set(&["*\u{e4}b\u{c7}*"], true).matches(s));
        assert!(set(&["*\u{e4}?\u{c7}*"], true).matches(s));
        assert!(set(&["*users*key*"], true).matches(s));
        assert!(!set(&["*\u{e4}b\u{c7}*"], false).matches(s));
        assert!(set(&["*\u{c4}b\u{e7}*", "x*"], false).matches(s));
        assert!(!set(&["*\\key.exe", "c:*"], false).matches(s));
        // a case-sensitive and a case-insensitive pattern in one set
        let mixed = GlobSet::new(vec![
            Glob::new("*\u{c4}B*", false),
            Glob::new("*KEY*", true),
        ]);
        assert!(mixed.matches(s));
        assert!(!mixed.matches("\u{e4}b"));
    }

    #[test]
    fn star_only_patterns() {
        let w = Glob::star_only("logs-windows.sysmon_operational-*");
        assert!(w.matches("logs-windows.sysmon_operational-default"));
        assert!(w.matches("logs-windows.sysmon_operational-"));
        assert!(!w.matches("logs-windows.sysmon_operationa"));
        let w = Glob::star_only("a*b*c");
        assert!(w.matches("abc") && w.matches("axxbyyc") && w.matches("abcbc"));
        assert!(!w.matches("acb"));
        let w = Glob::star_only("a?c");
        assert!(w.matches("a?c") && !w.matches("abc"));
        assert!(Glob::star_only("a?*").matches("a?x") && !Glob::star_only("a?*").matches("ab"));
        assert!(!Glob::star_only("Logs-*").matches("logs-x"));
        assert_eq!(
            Glob::star_only("*a?c*").required_literal().as_deref(),
            Some("a?c")
        );
    }

    /// The slow reference: both sides lower-cased as `matches` does, the
    /// pattern as an anchored regex.
    fn slow(p: &str, s: &str, ci: bool, q: bool) -> bool {
        let (p, s) = if ci {
            (p.to_lowercase(), s.to_lowercase())
        } else {
            (p.to_string(), s.to_string())
        };
        let mut re = String::from("(?s)^");
        for c in p.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' if q => re.push('.'),
                c => re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
            }
        }
        re.push('$');
        regex::Regex::new(&re).is_ok_and(|r| r.is_match(&s))
    }

    proptest::proptest! {
        /// Every path of `matches` (ASCII shapes, bytes, chars, case folding)
        /// agrees with the reference.
        #[test]
        fn matches_like_the_reference(
            p in "[aAbB*?\\.éÉΣσςK\u{212A}İ]{0,7}",
            s in "[aAbB?\\.éÉΣσςkK\u{212A}İi]{0,9}",
            ci: bool,
            q: bool,
        ) {
            let g = if q { Glob::new(&p, ci) } else if ci { Glob::with(&p, true, false) } else { Glob::star_only(&p) };
            proptest::prop_assert_eq!(g.matches(&s), slow(&p, &s, ci, q), "{:?} {:?} ci={} q={}", p, s, ci, q);
        }

        #[test]
        fn ascii_shapes_match_like_the_reference(
            p in "[ab*?]{0,6}",
            s in "[abAB?]{0,8}",
            ci: bool,
            q: bool,
        ) {
            let g = if q { Glob::new(&p, ci) } else if ci { Glob::with(&p, true, false) } else { Glob::star_only(&p) };
            proptest::prop_assert_eq!(g.matches(&s), slow(&p, &s, ci, q));
        }

        /// A set of patterns matches exactly when one of its patterns does,
        /// whichever shapes (and cases, and characters) they take.
        #[test]
        fn a_set_matches_when_one_of_its_patterns_does(
            pats in proptest::collection::vec("[aAbB*?\\.éK\u{212A}]{0,6}", 0..12),
            s in "[aAbB?\\.éÉkK\u{212A}]{0,9}",
            ci: bool,
        ) {
            let globs: Vec<Glob> = pats.iter().map(|p| Glob::new(p, ci)).collect();
            let one_by_one = globs.iter().any(|g| g.matches(&s));
            proptest::prop_assert_eq!(GlobSet::new(globs).matches(&s), one_by_one, "{:?} {:?} ci={}", pats, s, ci);
        }
    }
}
