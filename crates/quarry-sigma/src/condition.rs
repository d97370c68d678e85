//! The detection condition: lexer and recursive-descent parser for
//! `and` / `or` / `not`, parentheses, `1 of x*`, `all of x*`, `N of x`,
//! `them`. Precedence is Sigma's: `not` binds tightest, then `and`, then
//! `or`. Errors carry the byte offset in the condition text.

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// A selection by name.
    Ref {
        name: String,
        offset: usize,
    },
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    /// `N of pattern` / `all of pattern`; `pattern` `None` is `them`.
    Of {
        quant: Quant,
        pattern: Option<String>,
        offset: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quant {
    /// At least this many (`1 of` is any).
    AtLeast(usize),
    All,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Num(usize),
    LParen,
    RParen,
    Pipe,
}

/// A condition error: message and byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CondError {
    pub message: String,
    pub offset: usize,
    /// A Sigma 1 aggregation (`| count() …`), which correlations replace.
    pub aggregation: bool,
}

fn lex(s: &str) -> Result<Vec<(Tok, usize)>, CondError> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push((Tok::LParen, i));
                i += 1
            }
            b')' => {
                out.push((Tok::RParen, i));
                i += 1
            }
            b'|' => {
                out.push((Tok::Pipe, i));
                i += 1
            }
            _ => {
                let start = i;
                while i < b.len()
                    && !matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | b'(' | b')' | b'|')
                {
                    i += 1;
                }
                let w = &s[start..i];
                match w.parse::<usize>() {
                    Ok(n) => out.push((Tok::Num(n), start)),
                    Err(_) => out.push((Tok::Word(w.to_string()), start)),
                }
            }
        }
    }
    Ok(out)
}

/// Parses a condition.
pub fn parse(s: &str) -> Result<Cond, CondError> {
    let toks = lex(s)?;
    let mut p = Parser {
        toks,
        i: 0,
        len: s.len(),
        depth: 0,
    };
    let c = p.or()?;
    if let Some((t, off)) = p.toks.get(p.i) {
        return Err(CondError {
            message: match t {
                Tok::Pipe => {
                    "aggregations (`| count() …`) are Sigma 1; use a correlation rule".into()
                }
                _ => format!("unexpected {}", show(t)),
            },
            offset: *off,
            aggregation: *t == Tok::Pipe,
        });
    }
    Ok(c)
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("`{w}`"),
        Tok::Num(n) => format!("`{n}`"),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Pipe => "`|`".into(),
    }
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    i: usize,
    len: usize,
    /// Nesting of parentheses and `not`s: bounded, as the parse and the
    /// lowering recurse.
    depth: usize,
}

/// How deep a condition may nest (parentheses, `not`); deeper is refused
/// with its offset rather than overflowing the stack.
pub const MAX_NESTING: usize = 100;

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.i), Some((Tok::Word(x), _)) if x.eq_ignore_ascii_case(w))
    }

    fn offset(&self) -> usize {
        self.toks.get(self.i).map_or(self.len, |t| t.1)
    }

    fn fail<T>(&self, msg: impl Into<String>) -> Result<T, CondError> {
        Err(CondError {
            message: msg.into(),
            offset: self.offset(),
            aggregation: false,
        })
    }

    fn or(&mut self) -> Result<Cond, CondError> {
        let mut parts = vec![self.and()?];
        while self.peek_word("or") {
            self.i += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Cond, CondError> {
        let mut parts = vec![self.not()?];
        while self.peek_word("and") {
            self.i += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::And(parts)
        })
    }

    /// One level deeper; an error past [`MAX_NESTING`].
    fn enter(&mut self) -> Result<(), CondError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return self.fail(format!("the condition nests more than {MAX_NESTING} deep"));
        }
        Ok(())
    }

    fn not(&mut self) -> Result<Cond, CondError> {
        if self.peek_word("not") {
            self.i += 1;
            self.enter()?;
            let c = Cond::Not(Box::new(self.not()?));
            self.depth -= 1;
            return Ok(c);
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Cond, CondError> {
        let off = self.offset();
        let Some((t, _)) = self.toks.get(self.i).cloned() else {
            return self.fail("the condition ends where a selection was expected");
        };
        self.i += 1;
        match t {
            Tok::LParen => {
                self.enter()?;
                let c = self.or()?;
                self.depth -= 1;
                match self.toks.get(self.i) {
                    Some((Tok::RParen, _)) => {
                        self.i += 1;
                        Ok(c)
                    }
                    _ => self.fail("expected `)`"),
                }
            }
            Tok::Num(n) => self.of(Quant::AtLeast(n), off),
            Tok::Word(w) if w.eq_ignore_ascii_case("all") && self.peek_word("of") => {
                self.of(Quant::All, off)
            }
            Tok::Word(w) => {
                if ["and", "or", "not", "of"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k))
                {
                    self.i -= 1;
                    return self.fail(format!("expected a selection, found `{w}`"));
                }
                Ok(Cond::Ref {
                    name: w,
                    offset: off,
                })
            }
            other => {
                self.i -= 1;
                self.fail(format!("expected a selection, found {}", show(&other)))
            }
        }
    }

    fn of(&mut self, quant: Quant, offset: usize) -> Result<Cond, CondError> {
        if !self.peek_word("of") {
            return self.fail("expected `of`");
        }
        self.i += 1;
        match self.toks.get(self.i).cloned() {
            Some((Tok::Word(w), _))
                if !["and", "or", "not"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                self.i += 1;
                let pattern = (!w.eq_ignore_ascii_case("them")).then_some(w);
                Ok(Cond::Of {
                    quant,
                    pattern,
                    offset,
                })
            }
            _ => self.fail("expected a selection name, pattern or `them` after `of`"),
        }
    }
}

/// Does a selection name match an `of` pattern (`*` any run)?
pub fn name_matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|k| go(rest, &s[k..])),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, offset: usize) -> Cond {
        Cond::Ref {
            name: name.into(),
            offset,
        }
    }

    /// Hostile nesting (issue 14): refused with its offset, not a stack
    /// overflow; a long chain is flat.
    #[test]
    fn deep_nesting_is_refused_long_chains_are_not() {
        for c in [
            format!("{}a{}", "(".repeat(4000), ")".repeat(4000)),
            format!("{}a", "not ".repeat(5000)),
            "(".repeat(4000),
        ] {
            let e = parse(&c).err().map(|e| e.message).unwrap_or_default();
            assert!(e.contains("nests more than 100 deep"), "{e}");
        }
        assert!(parse(&format!("{}a{}", "(".repeat(99), ")".repeat(99))).is_ok());
        let chain = (0..5000)
            .map(|i| format!("s{i}"))
            .collect::<Vec<_>>()
            .join(" or ");
        assert!(matches!(parse(&chain), Ok(Cond::Or(parts)) if parts.len() == 5000));
    }

    #[test]
    fn precedence_not_and_or() {
        assert_eq!(
            parse("a or b and not c").expect("parses"),
            Cond::Or(vec![
                r("a", 0),
                Cond::And(vec![r("b", 5), Cond::Not(Box::new(r("c", 15)))])
            ])
        );
        assert_eq!(
            parse("(a or b) and c").expect("parses"),
            Cond::And(vec![Cond::Or(vec![r("a", 1), r("b", 6)]), r("c", 13)])
        );
        assert_eq!(
            parse("not not a").expect("parses"),
            Cond::Not(Box::new(Cond::Not(Box::new(r("a", 8)))))
        );
    }

    #[test]
    fn quantifiers() {
        assert_eq!(
            parse("1 of selection_* and not all of filter_*").expect("parses"),
            Cond::And(vec![
                Cond::Of {
                    quant: Quant::AtLeast(1),
                    pattern: Some("selection_*".into()),
                    offset: 0
                },
                Cond::Not(Box::new(Cond::Of {
                    quant: Quant::All,
                    pattern: Some("filter_*".into()),
                    offset: 25
                }))
            ])
        );
        assert_eq!(
            parse("2 of them").expect("parses"),
            Cond::Of {
                quant: Quant::AtLeast(2),
                pattern: None,
                offset: 0
            }
        );
        assert!(name_matches("sel_*", "sel_a"));
        assert!(name_matches("*", "x"));
        assert!(!name_matches("sel_*", "filter"));
        assert!(name_matches("a*b*c", "aXbYc"));
    }

    #[test]
    fn errors_have_offsets() {
        let e = parse("a and (b or c").expect_err("unclosed");
        assert_eq!(e.offset, 13);
        let e = parse("a and").expect_err("dangling");
        assert_eq!(e.offset, 5);
        let e = parse("sel | count() > 5").expect_err("aggregation");
        assert!(e.aggregation);
        assert_eq!(e.offset, 4);
        let e = parse("1 of").expect_err("no pattern");
        assert_eq!(e.offset, 4);
        assert!(parse("a b").is_err());
    }
}
