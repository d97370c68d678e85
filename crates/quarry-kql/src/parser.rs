//! Recursive-descent parser: tokens → [`Query`], with Kibana's grammar.
//! Precedence, loosest first: `or`, `and`, `not`; the same inside a
//! parenthesised value list (`f: (a or b and not c)`).
//!
//! ```text
//! query     = or?
//! or        = and ("or" and)*
//! and       = not ("and" not)*
//! not       = "not" not | sub
//! sub       = "(" or ")" | field ":" "{" or "}" | field ":" values
//!           | field range-op literal | value
//! values    = "(" v-or ")" | value
//! v-or      = v-and ("or" v-and)* ; v-and = v-not ("and" v-not)*
//! v-not     = "not" v-not | values
//! ```

use crate::ast::*;
use crate::error::KqlError;
use crate::lexer::{Tok, Token, lex};

/// Parses a query. Errors carry the byte position of the offending token.
pub fn parse(src: &str) -> Result<Query, KqlError> {
    let toks = lex(src)?;
    let mut p = Parser { src, toks, i: 0 };
    if p.peek() == &Tok::Eof {
        return Ok(Query::All);
    }
    let q = p.or()?;
    if p.peek() != &Tok::Eof {
        return Err(p.err("expected `or`, `and`, or the end of the query"));
    }
    Ok(q)
}

/// Nesting deeper than this is refused (a stack guard, not a KQL rule).
const MAX_DEPTH: usize = 200;

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.i.min(self.toks.len() - 1)].tok
    }
    fn pos(&self) -> usize {
        self.toks[self.i.min(self.toks.len() - 1)].start
    }
    fn bump(&mut self) -> Token {
        let t = self.toks[self.i.min(self.toks.len() - 1)].clone();
        self.i += 1;
        t
    }
    fn err(&self, msg: &str) -> KqlError {
        let found = match self.peek() {
            Tok::Eof => "the end of the query".to_string(),
            _ => {
                let t = &self.toks[self.i.min(self.toks.len() - 1)];
                format!("`{}`", &self.src[t.start..t.end])
            }
        };
        KqlError::new(format!("{msg}, found {found}"), self.pos(), self.src)
    }
    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), KqlError> {
        if self.peek() == &tok {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected {what}")))
        }
    }
    fn depth_guard(&self, depth: usize) -> Result<(), KqlError> {
        if depth > MAX_DEPTH {
            Err(KqlError::new(
                "query nested too deeply",
                self.pos(),
                self.src,
            ))
        } else {
            Ok(())
        }
    }

    fn or(&mut self) -> Result<Query, KqlError> {
        self.or_at(0)
    }

    fn or_at(&mut self, depth: usize) -> Result<Query, KqlError> {
        self.depth_guard(depth)?;
        let mut items = vec![self.and(depth)?];
        while self.peek() == &Tok::Or {
            self.i += 1;
            items.push(self.and(depth)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Query::All)
        } else {
            Query::Or(items)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Query, KqlError> {
        let mut items = vec![self.not(depth)?];
        while self.peek() == &Tok::And {
            self.i += 1;
            items.push(self.not(depth)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Query::All)
        } else {
            Query::And(items)
        })
    }

    fn not(&mut self, depth: usize) -> Result<Query, KqlError> {
        if self.peek() == &Tok::Not {
            self.i += 1;
            self.depth_guard(depth + 1)?;
            return Ok(Query::Not(Box::new(self.not(depth + 1)?)));
        }
        self.sub(depth)
    }

    fn sub(&mut self, depth: usize) -> Result<Query, KqlError> {
        match self.peek() {
            Tok::LParen => {
                self.i += 1;
                let q = self.or_at(depth + 1)?;
                self.expect(Tok::RParen, "`)` or a boolean operator")?;
                Ok(q)
            }
            Tok::Quoted(_) | Tok::Unquoted { .. } => {
                let lit = self.bump();
                match self.peek() {
                    Tok::Colon => {
                        self.i += 1;
                        let field = field_of(lit);
                        if self.peek() == &Tok::LBrace {
                            self.i += 1;
                            let q = self.or_at(depth + 1)?;
                            self.expect(Tok::RBrace, "`}` or a boolean operator")?;
                            return Ok(Query::Nested {
                                field,
                                query: Box::new(q),
                            });
                        }
                        let values = self.values(depth + 1)?;
                        Ok(Query::Field { field, values })
                    }
                    Tok::Range(op) => {
                        let op = *op;
                        self.i += 1;
                        let value = match self.peek() {
                            Tok::Quoted(_) | Tok::Unquoted { .. } => value_of(self.bump()),
                            _ => return Err(self.err("expected a value after the range operator")),
                        };
                        Ok(Query::Range {
                            field: field_of(lit),
                            op,
                            value,
                        })
                    }
                    _ => Ok(Query::Text(value_of(lit))),
                }
            }
            _ => Err(self.err("expected a field, a value, `not` or `(`")),
        }
    }

    fn values(&mut self, depth: usize) -> Result<Values, KqlError> {
        self.depth_guard(depth)?;
        match self.peek() {
            Tok::LParen => {
                self.i += 1;
                let v = self.v_or(depth + 1)?;
                self.expect(Tok::RParen, "`)` or a boolean operator in the value list")?;
                Ok(v)
            }
            Tok::Quoted(_) | Tok::Unquoted { .. } => Ok(Values::One(value_of(self.bump()))),
            _ => Err(self.err("expected a value or `(` after `:`")),
        }
    }

    fn v_or(&mut self, depth: usize) -> Result<Values, KqlError> {
        self.depth_guard(depth)?;
        let mut items = vec![self.v_and(depth)?];
        while self.peek() == &Tok::Or {
            self.i += 1;
            items.push(self.v_and(depth)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Values::Or(Vec::new()))
        } else {
            Values::Or(items)
        })
    }

    fn v_and(&mut self, depth: usize) -> Result<Values, KqlError> {
        let mut items = vec![self.v_not(depth)?];
        while self.peek() == &Tok::And {
            self.i += 1;
            items.push(self.v_not(depth)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Values::And(Vec::new()))
        } else {
            Values::And(items)
        })
    }

    fn v_not(&mut self, depth: usize) -> Result<Values, KqlError> {
        if self.peek() == &Tok::Not {
            self.i += 1;
            self.depth_guard(depth + 1)?;
            return Ok(Values::Not(Box::new(self.v_not(depth + 1)?)));
        }
        self.values(depth + 1)
    }
}

fn field_of(t: Token) -> Field {
    match t.tok {
        Tok::Quoted(name) => Field {
            name,
            pattern: None,
            pos: t.start,
        },
        Tok::Unquoted { text, pattern } => Field {
            name: text,
            pattern,
            pos: t.start,
        },
        _ => Field {
            name: String::new(),
            pattern: None,
            pos: t.start,
        },
    }
}

fn value_of(t: Token) -> Value {
    let kind = match t.tok {
        Tok::Quoted(s) => ValueKind::Quoted(s),
        Tok::Unquoted { text, pattern } => match (text.as_str(), &pattern) {
            ("true", None) => ValueKind::Bool(true),
            ("false", None) => ValueKind::Bool(false),
            ("null", None) => ValueKind::Null,
            _ => ValueKind::Unquoted { text, pattern },
        },
        _ => ValueKind::Null,
    };
    Value { kind, pos: t.start }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Values {
        Values::One(Value {
            kind: ValueKind::Unquoted {
                text: s.into(),
                pattern: None,
            },
            pos: 0,
        })
    }

    /// The tree with positions zeroed, for comparison.
    fn shape(q: &str) -> String {
        let parsed = parse(q).expect("parses");
        let s = format!("{parsed:?}");
        let re_pos = |s: &str| {
            let mut out = String::new();
            let mut rest = s;
            while let Some(i) = rest.find("pos: ") {
                out.push_str(&rest[..i + 5]);
                rest = &rest[i + 5..];
                let n = rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len());
                out.push('0');
                rest = &rest[n..];
            }
            out.push_str(rest);
            out
        };
        re_pos(&s)
    }

    #[test]
    fn precedence_or_and_not() {
        let q = parse("a:1 or b:2 and not c:3").expect("parses");
        let Query::Or(items) = q else {
            panic!("or at the top")
        };
        assert_eq!(items.len(), 2);
        let Query::And(rhs) = &items[1] else {
            panic!("and binds tighter")
        };
        assert!(matches!(rhs[1], Query::Not(_)));
    }

    #[test]
    fn value_lists_and_nested() {
        let q = parse("f: (a or b and not c)").expect("parses");
        let Query::Field { values, .. } = q else {
            panic!("field query")
        };
        let want = Values::Or(vec![
            v("a"),
            Values::And(vec![v("b"), Values::Not(Box::new(v("c")))]),
        ]);
        assert_eq!(
            format!("{values:?}").replace(char::is_numeric, ""),
            format!("{want:?}").replace(char::is_numeric, "")
        );
        assert!(shape("a:{ b: x and c: y }").starts_with("Nested"));
        assert!(shape("f < 5").starts_with("Range"));
        assert!(shape("just text").starts_with("Text"));
        assert_eq!(parse("").expect("parses"), Query::All);
        assert_eq!(parse("  ").expect("parses"), Query::All);
    }

    #[test]
    fn literals_true_false_null() {
        let Query::Field { values, .. } = parse("f: true").expect("parses") else {
            panic!()
        };
        assert!(matches!(
            values,
            Values::One(Value {
                kind: ValueKind::Bool(true),
                ..
            })
        ));
        let Query::Field { values, .. } = parse("f: \"true\"").expect("parses") else {
            panic!()
        };
        assert!(matches!(
            values,
            Values::One(Value {
                kind: ValueKind::Quoted(_),
                ..
            })
        ));
    }

    #[test]
    fn errors_point_at_the_token() {
        for (q, at) in [
            ("a: (b or c", 10),
            ("a: b c: d", 6),
            ("a: ", 3),
            ("(a:b", 4),
            ("a:b or ", 7),
            ("a < ", 4),
            ("a:b)", 3),
        ] {
            let e = parse(q).expect_err(q);
            assert_eq!(e.position, at, "{q}: {e}");
            assert!(e.to_string().contains('^'));
        }
    }
}
