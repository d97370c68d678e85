//! Recursive-descent parser: tokens → [`Statement`]. Precedence, loosest
//! first: `or`, `and`, `not`, comparisons and predicates (not chainable),
//! `+ -`, `* / %`, unary `- +`.

use crate::ast::*;
use crate::error::EqlError;
use crate::lexer::{Tok, Token, lex};

pub fn parse(src: &str) -> Result<Statement, EqlError> {
    let toks = lex(src)?;
    let mut p = Parser {
        src,
        toks,
        i: 0,
        depth: 0,
    };
    let st = p.statement()?;
    if !matches!(p.peek(), Tok::Eof) {
        return Err(p.err("expected end of query, `|` or a boolean operator"));
    }
    Ok(st)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    /// Nesting of the expression being parsed (groups, calls, `not`,
    /// signs): bounded, as parsing, compiling and evaluating recurse.
    depth: usize,
}

/// How deep expressions may nest (parentheses, calls, `not`, signs). Far
/// beyond any rule; deeper input is refused with its position rather than
/// overflowing the stack. Chains of `and` and `or` do not nest: they are
/// built as balanced trees.
pub const MAX_NESTING: usize = 100;

/// A chain `a op b op c …` as a balanced tree (`and` and `or` are
/// associative, in EQL's three-valued logic too): its depth grows with the
/// logarithm of its length, not the length.
fn balanced(mut items: Vec<Expr>, join: fn(Box<Expr>, Box<Expr>) -> Expr) -> Expr {
    if items.len() <= 1 {
        return items.pop().unwrap_or(Expr::Bool(true));
    }
    let right = items.split_off(items.len() / 2);
    join(
        Box::new(balanced(items, join)),
        Box::new(balanced(right, join)),
    )
}

const KEYWORDS: &[&str] = &[
    "and", "any", "by", "false", "in", "join", "like", "maxspan", "not", "null", "of", "or",
    "regex", "sample", "sequence", "true", "until", "where", "with",
];

impl<'a> Parser<'a> {
    fn peek(&self) -> &Tok {
        &self.toks[self.i.min(self.toks.len() - 1)].tok
    }
    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.i + n).min(self.toks.len() - 1)].tok
    }
    fn pos(&self) -> usize {
        self.toks[self.i.min(self.toks.len() - 1)].start
    }
    fn err(&self, msg: impl Into<String>) -> EqlError {
        let found = match self.peek() {
            Tok::Eof => "end of query".to_string(),
            _ => {
                let t = &self.toks[self.i.min(self.toks.len() - 1)];
                format!("`{}`", &self.src[t.start..t.end])
            }
        };
        EqlError::new(
            format!("{}, found {found}", msg.into()),
            self.pos(),
            self.src,
        )
    }
    fn bump(&mut self) -> Tok {
        let t = self.peek().clone();
        self.i += 1;
        t
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s == kw)
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect_kw(&mut self, kw: &str) -> Result<(), EqlError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.err(format!("expected `{kw}`")))
        }
    }
    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }
    fn eat_op(&mut self, op: &str) -> bool {
        if self.is_op(op) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect_op(&mut self, op: &str) -> Result<(), EqlError> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.err(format!("expected `{op}`")))
        }
    }
    /// `~` glued to the previous token (`in~`, `like~`, `startsWith~(`).
    fn eat_tilde(&mut self) -> bool {
        if self.is_op("~") && self.toks[self.i].start == self.toks[self.i - 1].end {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn statement(&mut self) -> Result<Statement, EqlError> {
        let body = if self.eat_kw("sequence") {
            self.sequence()?
        } else if self.eat_kw("sample") {
            self.sample()?
        } else if self.is_kw("join") {
            return Err(self.err("`join` is not supported by Elasticsearch EQL: expected an event query, `sequence` or `sample`"));
        } else {
            Body::Event(self.event_query()?)
        };
        let mut pipes = Vec::new();
        while self.eat_op("|") {
            let name = match self.peek() {
                Tok::Ident(n) => n.clone(),
                _ => return Err(self.err("expected a pipe: `head` or `tail`")),
            };
            let at = self.pos();
            self.i += 1;
            let n = match name.as_str() {
                "head" | "tail" => match self.bump() {
                    Tok::Int(n) if n >= 0 => n as usize,
                    _ => {
                        self.i -= 1;
                        return Err(
                            self.err(format!("expected a non-negative integer after `{name}`"))
                        );
                    }
                },
                "count" | "filter" | "sort" | "unique" | "unique_count" | "window" => {
                    return Err(EqlError::new(
                        format!("pipe `{name}` is not supported: expected `head` or `tail`"),
                        at,
                        self.src,
                    ));
                }
                _ => {
                    return Err(EqlError::new(
                        format!("unknown pipe `{name}`: expected `head` or `tail`"),
                        at,
                        self.src,
                    ));
                }
            };
            pipes.push(if name == "head" {
                Pipe::Head(n)
            } else {
                Pipe::Tail(n)
            });
        }
        Ok(Statement { body, pipes })
    }

    fn event_query(&mut self) -> Result<EventQuery, EqlError> {
        let category = match self.bump() {
            Tok::Ident(s) if s == "any" => None,
            Tok::Ident(s) if !KEYWORDS.contains(&s.as_str()) => Some(s),
            Tok::Str(s) | Tok::Quoted(s) => Some(s),
            _ => {
                self.i -= 1;
                return Err(self.err("expected an event category (e.g. `process`, `any`)"));
            }
        };
        self.expect_kw("where")?;
        let condition = self.expr()?;
        Ok(EventQuery {
            category,
            condition,
        })
    }

    fn keys(&mut self) -> Result<Vec<Expr>, EqlError> {
        let mut keys = vec![self.expr()?];
        while self.eat_op(",") {
            keys.push(self.expr()?);
        }
        Ok(keys)
    }

    fn maxspan(&mut self) -> Result<i64, EqlError> {
        self.expect_kw("maxspan")?;
        self.expect_op("=")?;
        let at = self.pos();
        let n = match self.bump() {
            Tok::Int(n) if n > 0 => n,
            Tok::Float(_) => {
                return Err(EqlError::new(
                    "maxspan must be a whole number: expected e.g. `maxspan=30s`",
                    at,
                    self.src,
                ));
            }
            _ => {
                return Err(EqlError::new(
                    "expected a positive integer time span, e.g. `maxspan=30s`",
                    at,
                    self.src,
                ));
            }
        };
        let unit_at = self.pos();
        let unit = match self.peek() {
            Tok::Ident(u) if self.toks[self.i].start == self.toks[self.i - 1].end => u.clone(),
            _ => {
                return Err(EqlError::new(
                    "No time unit specified: expected one of ms, s, m, h, d",
                    unit_at,
                    self.src,
                ));
            }
        };
        self.i += 1;
        let mult = match unit.as_str() {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => {
                return Err(EqlError::new(
                    format!("unknown time unit `{unit}`: expected one of ms, s, m, h, d"),
                    unit_at,
                    self.src,
                ));
            }
        };
        Ok(n.saturating_mul(mult))
    }

    fn sequence(&mut self) -> Result<Body, EqlError> {
        let mut keys = Vec::new();
        let mut maxspan = None;
        if self.eat_kw("by") {
            keys = self.keys()?;
        }
        if self.eat_kw("with") {
            maxspan = Some(self.maxspan()?);
            if self.is_kw("by") {
                return Err(self.err("Please specify sequence [by] before [with] not after"));
            }
        }
        let mut terms = Vec::new();
        let mut until = None;
        loop {
            if self.is_op("[") || (self.is_op("!") && matches!(self.peek_at(1), Tok::Op("["))) {
                terms.push(self.term(true)?);
            } else if self.eat_kw("until") {
                until = Some(self.term(false)?);
                break;
            } else {
                break;
            }
        }
        let positives = terms.iter().filter(|t| !t.missing).count();
        if terms.iter().map(|t| t.runs).sum::<usize>() < 2 && positives < 2 {
            return Err(self.err("a sequence needs at least two terms: expected `[`"));
        }
        if positives == 0 {
            return Err(
                self.err("a sequence needs at least one term that is not a missing event `![…]`")
            );
        }
        if terms.iter().any(|t| t.missing) && maxspan.is_none() {
            return Err(self.err("missing-event terms `![…]` need `with maxspan=…`"));
        }
        Ok(Body::Sequence {
            keys,
            maxspan_ms: maxspan,
            terms,
            until,
        })
    }

    fn sample(&mut self) -> Result<Body, EqlError> {
        let mut keys = Vec::new();
        if self.eat_kw("by") {
            keys = self.keys()?;
        }
        let mut terms = Vec::new();
        while self.is_op("[") {
            let t = self.term(false)?;
            if t.runs != 1 {
                return Err(self.err("`runs` is not allowed in a sample"));
            }
            terms.push(t);
        }
        if terms.is_empty() {
            return Err(self.err("expected `[` starting a sample term"));
        }
        Ok(Body::Sample { keys, terms })
    }

    fn term(&mut self, allow_runs: bool) -> Result<Term, EqlError> {
        let missing = self.eat_op("!");
        self.expect_op("[")?;
        let query = self.event_query()?;
        self.expect_op("]")?;
        let mut keys = Vec::new();
        let mut runs = 1;
        if self.eat_kw("by") {
            keys = self.keys()?;
        }
        if allow_runs
            && self.is_kw("with")
            && matches!(self.peek_at(1), Tok::Ident(s) if s == "runs")
        {
            self.i += 2;
            self.expect_op("=")?;
            let at = self.pos();
            runs = match self.bump() {
                Tok::Int(n) if (1..=100).contains(&n) => n as usize,
                _ => {
                    return Err(EqlError::new(
                        "runs must be an integer from 1 to 100",
                        at,
                        self.src,
                    ));
                }
            };
        }
        Ok(Term {
            query,
            keys,
            runs,
            missing,
        })
    }

    /// One level deeper; an error past [`MAX_NESTING`].
    fn enter(&mut self) -> Result<(), EqlError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.err(format!(
                "expressions nested more than {MAX_NESTING} deep are not supported"
            )));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, EqlError> {
        self.enter()?;
        let mut items = vec![self.and_expr()?];
        while self.eat_kw("or") {
            items.push(self.and_expr()?);
        }
        self.depth -= 1;
        Ok(balanced(items, Expr::Or))
    }

    fn and_expr(&mut self) -> Result<Expr, EqlError> {
        let mut items = vec![self.not_expr()?];
        while self.eat_kw("and") {
            items.push(self.not_expr()?);
        }
        Ok(balanced(items, Expr::And))
    }

    fn not_expr(&mut self) -> Result<Expr, EqlError> {
        if self.eat_kw("not") {
            self.enter()?;
            let e = Expr::Not(Box::new(self.not_expr()?));
            self.depth -= 1;
            return Ok(e);
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, EqlError> {
        let lhs = self.additive()?;
        let pos = self.pos();
        let cmp = match self.peek() {
            Tok::Op("==") => Some(CmpOp::Eq),
            Tok::Op("!=") => Some(CmpOp::Ne),
            Tok::Op("<") => Some(CmpOp::Lt),
            Tok::Op("<=") => Some(CmpOp::Le),
            Tok::Op(">") => Some(CmpOp::Gt),
            Tok::Op(">=") => Some(CmpOp::Ge),
            Tok::Op("=") => return Err(self.err("`=` is not an operator: expected `==` or `:`")),
            _ => None,
        };
        let out = if let Some(op) = cmp {
            self.i += 1;
            Expr::Cmp(op, Box::new(lhs), Box::new(self.additive()?))
        } else if self.eat_op(":") {
            let rhs = self.match_rhs()?;
            Expr::Match {
                op: MatchOp::Colon,
                lhs: Box::new(lhs),
                rhs,
                negated: false,
                pos,
            }
        } else {
            let negated = self.is_kw("not")
                && matches!(self.peek_at(1), Tok::Ident(s) if s == "in" || s == "like" || s == "regex");
            if negated {
                self.i += 1;
            }
            let op = if self.eat_kw("in") {
                Some(MatchOp::In {
                    insensitive: self.eat_tilde(),
                })
            } else if self.eat_kw("like") {
                Some(MatchOp::Like {
                    insensitive: self.eat_tilde(),
                })
            } else if self.eat_kw("regex") {
                Some(MatchOp::Regex {
                    insensitive: self.eat_tilde(),
                })
            } else {
                None
            };
            match op {
                Some(op) => {
                    let rhs = if matches!(op, MatchOp::In { .. }) {
                        self.list()?
                    } else {
                        self.match_rhs()?
                    };
                    Expr::Match {
                        op,
                        lhs: Box::new(lhs),
                        rhs,
                        negated,
                        pos,
                    }
                }
                None if negated => {
                    return Err(self.err("expected `in`, `like` or `regex` after `not`"));
                }
                None => return Ok(lhs),
            }
        };
        if matches!(
            self.peek(),
            Tok::Op("==" | "!=" | "<" | "<=" | ">" | ">=" | ":")
        ) {
            return Err(self.err("comparisons cannot be chained: expected `and` or `or`"));
        }
        Ok(out)
    }

    /// The right side of `:`, `like`, `regex`: one value or a list.
    fn match_rhs(&mut self) -> Result<Vec<Expr>, EqlError> {
        if self.is_op("(") {
            self.list()
        } else {
            Ok(vec![self.additive()?])
        }
    }

    fn list(&mut self) -> Result<Vec<Expr>, EqlError> {
        self.expect_op("(")?;
        let mut items = vec![self.expr()?];
        while self.eat_op(",") {
            items.push(self.expr()?);
        }
        self.expect_op(")")?;
        Ok(items)
    }

    fn additive(&mut self) -> Result<Expr, EqlError> {
        let mut lhs = self.multiplicative()?;
        loop {
            let op = if self.eat_op("+") {
                '+'
            } else if self.eat_op("-") {
                '-'
            } else {
                return Ok(lhs);
            };
            lhs = Expr::Arith(op, Box::new(lhs), Box::new(self.multiplicative()?));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, EqlError> {
        let mut lhs = self.unary()?;
        loop {
            let op = if self.eat_op("*") {
                '*'
            } else if self.eat_op("/") {
                '/'
            } else if self.eat_op("%") {
                '%'
            } else {
                return Ok(lhs);
            };
            lhs = Expr::Arith(op, Box::new(lhs), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, EqlError> {
        if self.eat_op("-") {
            self.enter()?;
            let e = match self.unary()? {
                Expr::Int(n) => Expr::Int(-n),
                Expr::Float(f) => Expr::Float(-f),
                e => Expr::Neg(Box::new(e)),
            };
            self.depth -= 1;
            return Ok(e);
        }
        if self.eat_op("+") {
            self.enter()?;
            let e = self.unary();
            self.depth -= 1;
            return e;
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, EqlError> {
        let pos = self.pos();
        match self.bump() {
            Tok::Int(n) => Ok(Expr::Int(n)),
            Tok::Float(f) => Ok(Expr::Float(f)),
            Tok::Str(s) => Ok(Expr::Str(s)),
            Tok::Op("(") => {
                let e = self.expr()?;
                self.expect_op(")")?;
                Ok(e)
            }
            Tok::Op("?") => {
                let path = match self.bump() {
                    Tok::Ident(s) | Tok::Quoted(s) => s,
                    _ => {
                        self.i -= 1;
                        return Err(self.err("expected a field name after `?`"));
                    }
                };
                let path = self.dotted(path)?;
                Ok(Expr::Field {
                    path,
                    optional: true,
                    pos,
                })
            }
            Tok::Quoted(s) => {
                let path = self.dotted(s)?;
                Ok(Expr::Field {
                    path,
                    optional: false,
                    pos,
                })
            }
            Tok::Ident(s) => match s.as_str() {
                "true" => Ok(Expr::Bool(true)),
                "false" => Ok(Expr::Bool(false)),
                "null" => Ok(Expr::Null),
                kw if KEYWORDS.contains(&kw) => {
                    self.i -= 1;
                    Err(self.err("expected a value, a field or a function call"))
                }
                _ => {
                    let glued = |p: &Parser| p.toks[p.i].start == p.toks[p.i - 1].end;
                    if self.is_op("(")
                        || (self.is_op("~")
                            && glued(self)
                            && matches!(self.peek_at(1), Tok::Op("(")))
                    {
                        let insensitive = self.eat_tilde();
                        self.expect_op("(")?;
                        let mut args = Vec::new();
                        if !self.is_op(")") {
                            args.push(self.expr()?);
                            while self.eat_op(",") {
                                args.push(self.expr()?);
                            }
                        }
                        self.expect_op(")")?;
                        Ok(Expr::Call {
                            name: s,
                            insensitive,
                            args,
                            pos,
                        })
                    } else {
                        let path = self.dotted(s)?;
                        Ok(Expr::Field {
                            path,
                            optional: false,
                            pos,
                        })
                    }
                }
            },
            _ => {
                self.i -= 1;
                Err(self.err("expected a value, a field or a function call"))
            }
        }
    }

    /// Joins `a . b . c` into `a.b.c`; `field[0]` is not supported.
    fn dotted(&mut self, first: String) -> Result<String, EqlError> {
        let mut path = first;
        while self.is_op(".") {
            self.i += 1;
            match self.bump() {
                Tok::Ident(s) | Tok::Quoted(s) => {
                    path.push('.');
                    path.push_str(&s);
                }
                Tok::Int(n) => {
                    path.push('.');
                    path.push_str(&n.to_string());
                }
                _ => {
                    self.i -= 1;
                    return Err(self.err("expected a field name after `.`"));
                }
            }
        }
        if self.is_op("[") && self.toks[self.i].start == self.toks[self.i - 1].end {
            return Err(self.err("array indexing `field[n]` is not supported"));
        }
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_dns_rule() {
        let q = r#"process where host.os.type == "windows" and event.type == "start" and
  process.parent.name : "dns.exe" and
  not process.executable : (
    "?:\\Windows\\System32\\conhost.exe",
    /* Crowdstrike */
    "\\Device\\HarddiskVolume*\\Program Files\\ReasonLabs\\*"
  ) and
  not ?process.parent.executable : "?:\\Program Files\\ReasonLabs\\DNS\\ui\\DNS.exe""#;
        let st = parse(q).unwrap();
        assert!(
            matches!(st.body, Body::Event(EventQuery { category: Some(ref c), .. }) if c == "process")
        );
    }

    #[test]
    fn parses_sequences_and_pipes() {
        let st = parse("sequence by host.id with maxspan=1m [process where true] by pid with runs=2 ![file where true] until [process where false] | head 3 | tail 1").unwrap();
        match st.body {
            Body::Sequence {
                keys,
                maxspan_ms,
                terms,
                until,
            } => {
                assert_eq!(keys.len(), 1);
                assert_eq!(maxspan_ms, Some(60_000));
                assert_eq!(terms.len(), 2);
                assert_eq!(terms[0].runs, 2);
                assert!(terms[1].missing);
                assert!(until.is_some());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(st.pipes, vec![Pipe::Head(3), Pipe::Tail(1)]);
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = parse("process where a == 1 | count").unwrap_err();
        assert!(e.message.contains("not supported"), "{e}");
        assert_eq!(e.position, 23);
        let e = parse("process where a = 1").unwrap_err();
        assert_eq!(e.position, 16, "{e}");
        let e = parse("sequence with maxspan=10 [a where true] [b where true]").unwrap_err();
        assert!(e.message.contains("No time unit"), "{e}");
        let e = parse("process where a < b < c").unwrap_err();
        assert!(e.message.contains("chained"), "{e}");
        assert!(parse("process where").is_err());
        assert!(parse("").is_err());
    }
}
