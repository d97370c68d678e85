//! Domain indicators — `quarry ask --domain` (repeatable) and
//! `--domain-file` (thousands of names from a threat report) — matched as
//! one set, as DFIQ's Q1018 approach *Bulk Domains* asks: exact names
//! through a hash set, every glob compiled into one [`globset::GlobSet`]
//! (suffix patterns like `*.duckdns.org` become one suffix search, not a
//! pattern tried after another). DNS names compare case-insensitively and
//! without the root's trailing dot: both sides are lower-cased (ASCII: a
//! name on the wire is ASCII, international names as `xn--` punycode) and
//! trimmed before matching.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use rustc_hash::FxHashMap;

/// A set of domain indicators: names and globs (`*`, `?`, `[…]`, `{a,b}`).
#[derive(Debug, Clone, Default)]
pub struct Domains {
    /// Each indicator as first written, in the order given; a repeat (in
    /// any case) is one indicator.
    pub indicators: Vec<String>,
    /// How many of them are globs.
    pub globs: usize,
    /// Normalised exact name → indicator.
    exact: FxHashMap<String, usize>,
    set: GlobSet,
    /// Glob of `set` → indicator.
    glob_indicator: Vec<usize>,
}

/// Characters that make an indicator a glob.
const GLOB: &[char] = &['*', '?', '[', '{'];

/// An indicator as matched: trimmed, defanged (`evil[.]com` is how threat
/// reports write `evil.com`), without the root's dot, lower-case.
fn normalise(s: &str) -> String {
    s.trim()
        .replace("[.]", ".")
        .replace("(.)", ".")
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// The indicators of a domain file: the first word of each line (a report's
/// list may carry a note after the name); blank lines and `#` comments are
/// skipped. Each comes with its line number, from 1.
pub fn file_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, l)| {
        let l = l.trim_start_matches('\u{feff}');
        let l = l.split('#').next().unwrap_or_default();
        let word = l
            .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
            .find(|w| !w.is_empty())?;
        Some((i + 1, word))
    })
}

impl Domains {
    /// The set of `indicators`, each with where it came from (`--domain`,
    /// `file:line`) for the error that names a bad one.
    pub fn new<'a>(
        indicators: impl IntoIterator<Item = (&'a str, String)>,
    ) -> Result<Domains, String> {
        let mut d = Domains::default();
        let mut seen: FxHashMap<String, usize> = FxHashMap::default();
        let mut builder = GlobSetBuilder::new();
        for (raw, whence) in indicators {
            let name = normalise(raw);
            if name.is_empty() {
                return Err(format!("{whence}: {raw:?} is no domain name"));
            }
            if name.contains(['/', ':', '@']) || name.chars().any(char::is_whitespace) {
                return Err(format!(
                    "{whence}: {raw:?} is no domain name (for a URL or an address, give its host name)"
                ));
            }
            if seen.contains_key(&name) {
                continue;
            }
            let index = d.indicators.len();
            seen.insert(name.clone(), index);
            if name.contains(GLOB) {
                // `\` escapes as in a glob; no path semantics: `*` spans dots
                let glob = GlobBuilder::new(&name)
                    .literal_separator(false)
                    .backslash_escape(true)
                    .build()
                    .map_err(|e| format!("{whence}: {raw:?}: {}", e.kind()))?;
                builder.add(glob);
                d.glob_indicator.push(index);
                d.globs += 1;
            } else {
                d.exact.insert(name, index);
            }
            d.indicators.push(raw.trim().to_string());
        }
        d.set = builder
            .build()
            .map_err(|e| format!("the domain globs do not compile together: {e}"))?;
        Ok(d)
    }

    /// Whether the set holds no indicator.
    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    /// The indicators (indexes into [`Domains::indicators`]) that a queried
    /// name matches, into `out` (cleared first), in indicator order.
    pub fn matches_into(&self, name: &str, out: &mut Vec<usize>) {
        out.clear();
        let name = normalise(name);
        if let Some(&i) = self.exact.get(&name) {
            out.push(i);
        }
        if !self.set.is_empty() {
            out.extend(
                self.set
                    .matches(name.as_str())
                    .into_iter()
                    .filter_map(|g| self.glob_indicator.get(g).copied()),
            );
        }
        out.sort_unstable();
    }

    /// Whether a queried name matches any indicator.
    pub fn is_match(&self, name: &str) -> bool {
        let name = normalise(name);
        self.exact.contains_key(&name) || self.set.is_match(name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(list: &[&str]) -> Domains {
        Domains::new(list.iter().map(|s| (*s, "--domain".to_string()))).expect("valid")
    }

    fn hits<'a>(d: &'a Domains, name: &str) -> Vec<&'a str> {
        let mut out = Vec::new();
        d.matches_into(name, &mut out);
        out.into_iter().map(|i| d.indicators[i].as_str()).collect()
    }

    #[test]
    fn names_and_globs_match_as_one_set_without_case_or_root_dot() {
        let d = set(&[
            "*.DuckDNS.org",
            "evil.example",
            "EVIL.example.",
            "update-?.example",
            "*.{ngrok,serveo}.io",
        ]);
        assert_eq!(d.indicators.len(), 4, "a repeat in another case is one");
        assert_eq!(d.globs, 3);
        assert_eq!(hits(&d, "a.b.duckdns.ORG."), ["*.DuckDNS.org"]);
        assert!(hits(&d, "duckdns.org").is_empty(), "*. needs a label");
        assert!(hits(&d, "duckdns.org.example").is_empty());
        assert_eq!(hits(&d, "Evil.Example"), ["evil.example"]);
        assert!(hits(&d, "www.evil.example").is_empty(), "exact is exact");
        assert_eq!(hits(&d, "update-1.example"), ["update-?.example"]);
        assert!(hits(&d, "update-12.example").is_empty());
        assert_eq!(hits(&d, "x.serveo.io"), ["*.{ngrok,serveo}.io"]);
        assert!(d.is_match("EVIL.EXAMPLE") && !d.is_match("good.example"));
    }

    #[test]
    fn a_name_matching_several_indicators_counts_for_each() {
        let d = set(&["*.evil.example", "c2.evil.example", "*.example"]);
        assert_eq!(
            hits(&d, "c2.evil.example"),
            ["*.evil.example", "c2.evil.example", "*.example"]
        );
    }

    #[test]
    fn file_lines_skip_comments_and_blanks_and_defang() {
        let text = "\u{feff}# IOCs from the report\n\nevil[.]example  first seen 2024\n  *.duckdns.org # dyn dns\nbad.example,c2\n";
        let lines: Vec<_> = file_lines(text).collect();
        assert_eq!(
            lines,
            [
                (3, "evil[.]example"),
                (4, "*.duckdns.org"),
                (5, "bad.example")
            ]
        );
        let d = Domains::new(lines.iter().map(|(n, w)| (*w, format!("f:{n}")))).unwrap();
        assert!(d.is_match("evil.example"));
    }

    #[test]
    fn bad_indicators_are_named() {
        let bad = |s: &str| Domains::new([(s, "iocs.txt:7".to_string())]).unwrap_err();
        assert!(
            bad("http://evil.example/x").starts_with("iocs.txt:7: "),
            "{}",
            bad("http://evil.example/x")
        );
        assert!(bad("...").contains("no domain name"));
        assert!(bad("*.[evil.example").starts_with("iocs.txt:7: "));
    }
}
