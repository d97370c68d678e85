//! Tokens of KQL, as Kibana's grammar (`kbn-es-query`'s `grammar.peggy`)
//! reads them.
//!
//! KQL's words are context-sensitive: `or` and `and` are operators only
//! between whitespace, `not` only before whitespace (or `(`); elsewhere they
//! are text. An unquoted literal runs over inner whitespace (`S3 Browser*`
//! is one value) up to a special character (`( ) : < > " { }`) or a
//! whitespace-delimited operator, and is trimmed. Escapes: `\t \r \n`,
//! `\uXXXX`, `\` before a special character or `*` (literal), and `\or`,
//! `\and`, `\not` (the word as text). A quoted string keeps every
//! character but `\t \r \n \uXXXX \\ \"`; there `*` is literal.
//!
//! One deliberate difference: Kibana stops an unquoted literal before any
//! `not ` (so `cannot open` is a syntax error there); here `not` must
//! start a word.

use crate::ast::RangeOp;
use crate::error::KqlError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    LParen,
    RParen,
    LBrace,
    RBrace,
    Colon,
    Range(RangeOp),
    Or,
    And,
    Not,
    Quoted(String),
    /// `text`: escapes resolved, trimmed; `pattern`: set when there is an
    /// unescaped `*` (stars are wildcards there, `\*` and `\\` literal).
    Unquoted {
        text: String,
        pattern: Option<String>,
    },
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// Kibana's `Space`: the JavaScript whitespace its grammar names.
pub fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{a0}')
}

fn is_special(c: char) -> bool {
    matches!(
        c,
        '\\' | '(' | ')' | ':' | '<' | '>' | '"' | '*' | '{' | '}'
    )
}

/// Does `s` start with the word `kw` (ASCII case aside) followed by
/// whitespace?
fn keyword_then_space(s: &str, kw: &str) -> bool {
    s.len() > kw.len()
        && s.as_bytes()[..kw.len()].eq_ignore_ascii_case(kw.as_bytes())
        && s[kw.len()..].starts_with(is_space)
}

/// At whitespace inside a literal: does an operator follow the run?
fn operator_after_space(rest: &str) -> bool {
    let t = rest.trim_start_matches(is_space);
    keyword_then_space(t, "or") || keyword_then_space(t, "and") || keyword_then_space(t, "not")
}

pub fn lex(src: &str) -> Result<Vec<Token>, KqlError> {
    let mut out = Vec::new();
    let mut i = 0;
    let err = |msg: &str, pos: usize| KqlError::new(msg, pos, src);
    loop {
        let before = i;
        while let Some(c) = src[i..].chars().next().filter(|&c| is_space(c)) {
            i += c.len_utf8();
        }
        let spaced = i > before;
        let rest = &src[i..];
        let Some(c) = rest.chars().next() else {
            out.push(Token {
                tok: Tok::Eof,
                start: i,
                end: i,
            });
            return Ok(out);
        };
        let start = i;
        let simple = |tok: Tok, len: usize| Token {
            tok,
            start,
            end: start + len,
        };
        let token = match c {
            '(' => simple(Tok::LParen, 1),
            ')' => simple(Tok::RParen, 1),
            '{' => simple(Tok::LBrace, 1),
            '}' => simple(Tok::RBrace, 1),
            ':' => simple(Tok::Colon, 1),
            '<' | '>' => {
                let eq = rest[1..].starts_with('=');
                let op = match (c, eq) {
                    ('<', false) => RangeOp::Lt,
                    ('<', true) => RangeOp::Le,
                    ('>', false) => RangeOp::Gt,
                    _ => RangeOp::Ge,
                };
                simple(Tok::Range(op), 1 + eq as usize)
            }
            '"' => quoted(src, i)?,
            _ if spaced && !out.is_empty() && keyword_then_space(rest, "or") => simple(Tok::Or, 2),
            _ if spaced && !out.is_empty() && keyword_then_space(rest, "and") => {
                simple(Tok::And, 3)
            }
            _ if keyword_then_space(rest, "not")
                || (rest.len() > 3
                    && rest.as_bytes()[..3].eq_ignore_ascii_case(b"not")
                    && rest[3..].starts_with('(')) =>
            {
                simple(Tok::Not, 3)
            }
            _ => unquoted(src, i).map_err(|(m, p)| err(&m, p))?,
        };
        i = token.end;
        out.push(token);
    }
}

fn quoted(src: &str, start: usize) -> Result<Token, KqlError> {
    let mut s = String::new();
    let mut it = src[start + 1..].char_indices();
    while let Some((off, c)) = it.next() {
        match c {
            '"' => {
                return Ok(Token {
                    tok: Tok::Quoted(s),
                    start,
                    end: start + 1 + off + 1,
                });
            }
            '\\' => {
                let rest = &src[start + 1 + off + 1..];
                match rest.chars().next() {
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    Some('n') => s.push('\n'),
                    Some(q @ ('\\' | '"')) => s.push(q),
                    Some('u') if unicode(rest).is_some() => {
                        s.push(unicode(rest).unwrap_or('\u{fffd}'));
                        for _ in 0..4 {
                            it.next();
                        }
                    }
                    // any other backslash is itself
                    _ => {
                        s.push('\\');
                        continue;
                    }
                }
                it.next();
            }
            c => s.push(c),
        }
    }
    Err(KqlError::new(
        "unterminated quoted string: expected a closing `\"`",
        start,
        src,
    ))
}

/// `uXXXX` at the start of `rest` (after a backslash).
fn unicode(rest: &str) -> Option<char> {
    let hex = rest.get(1..5)?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    char::from_u32(u32::from_str_radix(hex, 16).ok()?)
}

/// An unquoted literal from `start`: (char, escaped) pairs, trimmed.
fn unquoted(src: &str, start: usize) -> Result<Token, (String, usize)> {
    let mut chars: Vec<(char, bool)> = Vec::new();
    let mut i = start;
    while i < src.len() {
        let rest = &src[i..];
        let c = rest.chars().next().unwrap_or(' ');
        if c == '\\' {
            let after = &rest[1..];
            let n = after.chars().next();
            let (lit, len): (Vec<char>, usize) = match n {
                Some('t') => (vec!['\t'], 2),
                Some('r') => (vec!['\r'], 2),
                Some('n') => (vec!['\n'], 2),
                Some('u') if unicode(after).is_some() => {
                    (vec![unicode(after).unwrap_or('\u{fffd}')], 6)
                }
                Some(s) if is_special(s) => (vec![s], 1 + s.len_utf8()),
                Some(_)
                    if ["or", "and", "not"].iter().any(|k| {
                        after.len() >= k.len()
                            && after.as_bytes()[..k.len()].eq_ignore_ascii_case(k.as_bytes())
                    }) =>
                {
                    let k = if after.as_bytes()[..2].eq_ignore_ascii_case(b"or") {
                        2
                    } else {
                        3
                    };
                    (after[..k].chars().collect(), 1 + k)
                }
                _ => {
                    return Err((
                        "unexpected `\\`: escape only `\\ ( ) : < > \" * { }`, whitespace (`\\t \\r \\n`), `\\uXXXX` or a keyword, or quote the value".into(),
                        i,
                    ));
                }
            };
            chars.extend(lit.into_iter().map(|c| (c, true)));
            i += len;
            continue;
        }
        if c == '*' {
            chars.push(('*', false));
            i += 1;
            continue;
        }
        if is_special(c) {
            break;
        }
        if is_space(c) {
            if operator_after_space(rest) {
                break;
            }
            // trailing whitespace before a special character or the end
            let t = rest.trim_start_matches(is_space);
            if t.is_empty() || t.starts_with(|x: char| is_special(x) && x != '\\' && x != '*') {
                break;
            }
        }
        chars.push((c, false));
        i += c.len_utf8();
    }
    if chars.is_empty() {
        return Err(("expected a value".into(), start));
    }
    // JavaScript's trim, escaped whitespace included (as Kibana does)
    let ws = |c: char| c.is_whitespace();
    let a = chars
        .iter()
        .position(|&(c, _)| !ws(c))
        .unwrap_or(chars.len());
    let b = chars
        .iter()
        .rposition(|&(c, _)| !ws(c))
        .map_or(a, |p| p + 1);
    let kept = &chars[a..b.max(a)];
    let text: String = kept.iter().map(|&(c, _)| c).collect();
    let pattern = kept.iter().any(|&(c, esc)| c == '*' && !esc).then(|| {
        let mut p = String::new();
        for &(c, esc) in kept {
            if c == '\\' || (esc && c == '*') {
                p.push('\\');
            }
            p.push(c);
        }
        p
    });
    Ok(Token {
        tok: Tok::Unquoted { text, pattern },
        start,
        end: i,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).expect("lexes").into_iter().map(|t| t.tok).collect()
    }

    fn lit(s: &str) -> Tok {
        Tok::Unquoted {
            text: s.into(),
            pattern: None,
        }
    }

    #[test]
    fn words_operators_and_values() {
        assert_eq!(
            toks("a.b : x or y AND not z"),
            [
                lit("a.b"),
                Tok::Colon,
                lit("x"),
                Tok::Or,
                lit("y"),
                Tok::And,
                Tok::Not,
                lit("z"),
                Tok::Eof
            ]
        );
        // inner whitespace belongs to the value; `orange` is no operator
        assert_eq!(
            toks("f: S3 Browser orange"),
            [lit("f"), Tok::Colon, lit("S3 Browser orange"), Tok::Eof]
        );
        assert_eq!(
            toks("f >= 10"),
            [lit("f"), Tok::Range(RangeOp::Ge), lit("10"), Tok::Eof]
        );
    }

    #[test]
    fn escapes_and_wildcards() {
        assert_eq!(
            toks(r"C\:\\Windows\\*.exe"),
            [
                Tok::Unquoted {
                    text: r"C:\Windows\*.exe".into(),
                    pattern: Some(r"C:\\Windows\\*.exe".into())
                },
                Tok::Eof
            ]
        );
        assert_eq!(
            toks(r"a\*b*"),
            [
                Tok::Unquoted {
                    text: "a*b*".into(),
                    pattern: Some(r"a\*b*".into())
                },
                Tok::Eof
            ]
        );
        assert_eq!(toks(r"\or\tx"), [lit("or\tx"), Tok::Eof]);
        assert_eq!(toks(r"\u0041b"), [lit("Ab"), Tok::Eof]);
        assert_eq!(
            toks(r#""a\"b\\c\Wd*""#),
            [Tok::Quoted(r#"a"b\c\Wd*"#.into()), Tok::Eof]
        );
        assert!(lex(r"a\Wb").is_err());
        assert!(lex("\"abc").is_err());
    }
}
