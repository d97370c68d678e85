//! A small `*`/`?` wildcard matcher shared by index patterns and exceptions.

/// A compiled wildcard pattern: `*` matches any run of characters, `?` (when
/// enabled) exactly one; everything else is literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wildcard {
    pattern: Vec<char>,
    question: bool,
    case_insensitive: bool,
}

impl Wildcard {
    pub(crate) fn new(pattern: &str, question: bool, case_insensitive: bool) -> Self {
        let pattern = if case_insensitive {
            pattern.chars().flat_map(char::to_lowercase).collect()
        } else {
            pattern.chars().collect()
        };
        Wildcard {
            pattern,
            question,
            case_insensitive,
        }
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = if self.case_insensitive {
            text.chars().flat_map(char::to_lowercase).collect()
        } else {
            text.chars().collect()
        };
        let p = &self.pattern;
        let (mut ti, mut pi) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while ti < text.len() {
            if pi < p.len() && (p[pi] == text[ti] || (self.question && p[pi] == '?')) {
                ti += 1;
                pi += 1;
            } else if pi < p.len() && p[pi] == '*' {
                star = Some((pi, ti));
                pi += 1;
            } else if let Some((sp, st)) = star {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            } else {
                return false;
            }
        }
        while pi < p.len() && p[pi] == '*' {
            pi += 1;
        }
        pi == p.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Wildcard;

    #[test]
    fn stars_and_questions() {
        let w = Wildcard::new("logs-windows.sysmon_operational-*", false, false);
        assert!(w.matches("logs-windows.sysmon_operational-default"));
        assert!(w.matches("logs-windows.sysmon_operational-"));
        assert!(!w.matches("logs-windows.sysmon_operationa"));
        let w = Wildcard::new("a*b*c", false, false);
        assert!(w.matches("abc") && w.matches("axxbyyc") && w.matches("abcbc"));
        assert!(!w.matches("acb"));
        let w = Wildcard::new("?:\\windows\\*", true, true);
        assert!(w.matches("C:\\Windows\\System32\\x.exe"));
        assert!(!w.matches("CD:\\Windows\\x"));
        let w = Wildcard::new("a?c", false, false);
        assert!(w.matches("a?c") && !w.matches("abc"));
    }
}
