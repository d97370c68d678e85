//! Tokens of Elasticsearch's EQL: identifiers (dotted, backticked, `?`
//! optional), strings (`"…"` with escapes, `"""raw"""`), numbers,
//! operators, keywords, comments.

use crate::error::EqlError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    /// A backticked name: never a keyword.
    Quoted(String),
    Str(String),
    Int(i64),
    Float(f64),
    /// `==` `!=` `<` `<=` `>` `>=` `:` `+` `-` `*` `/` `%` `(` `)` `[` `]` `,` `|` `?` `!` `=` `~`
    Op(&'static str),
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

pub fn lex(src: &str) -> Result<Vec<Token>, EqlError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let start = i;
            i += 2;
            loop {
                if i + 1 >= b.len() {
                    return Err(EqlError::new(
                        "unterminated comment: expected */",
                        start,
                        src,
                    ));
                }
                if b[i] == b'*' && b[i + 1] == b'/' {
                    i += 2;
                    break;
                }
                i += 1;
            }
            continue;
        }
        let start = i;
        if c == b'"' {
            if src[i..].starts_with("\"\"\"") {
                let body = i + 3;
                let Some(end) = src[body..].find("\"\"\"") else {
                    return Err(EqlError::new(
                        "unterminated raw string: expected \"\"\"",
                        start,
                        src,
                    ));
                };
                out.push(Token {
                    tok: Tok::Str(src[body..body + end].to_string()),
                    start,
                    end: body + end + 3,
                });
                i = body + end + 3;
                continue;
            }
            let (s, next) = string(src, i)?;
            out.push(Token {
                tok: Tok::Str(s),
                start,
                end: next,
            });
            i = next;
            continue;
        }
        if c == b'\'' {
            return Err(EqlError::new(
                "single-quoted strings are not supported: use double quotes",
                i,
                src,
            ));
        }
        if c == b'`' {
            let mut name = String::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => {
                        return Err(EqlError::new("unterminated `name`: expected `", start, src));
                    }
                    Some(b'`') if b.get(i + 1) == Some(&b'`') => {
                        name.push('`');
                        i += 2;
                    }
                    Some(b'`') => {
                        i += 1;
                        break;
                    }
                    Some(_) => {
                        let ch = src[i..].chars().next().unwrap_or('\u{FFFD}');
                        name.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            out.push(Token {
                tok: Tok::Quoted(name),
                start,
                end: i,
            });
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let mut j = i;
            let mut float = false;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j < b.len()
                && b[j] == b'.'
                && b.get(j + 1)
                    .is_none_or(|d| d.is_ascii_digit() || !d.is_ascii_alphabetic())
            {
                float = true;
                j += 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
            }
            if j < b.len() && (b[j] == b'e' || b[j] == b'E') {
                let mut k = j + 1;
                if k < b.len() && (b[k] == b'+' || b[k] == b'-') {
                    k += 1;
                }
                if k < b.len() && b[k].is_ascii_digit() {
                    float = true;
                    j = k;
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                }
            }
            let text = &src[i..j];
            let tok = if float {
                Tok::Float(
                    text.parse()
                        .map_err(|_| EqlError::new("bad number", i, src))?,
                )
            } else {
                match text.parse::<i64>() {
                    Ok(n) => Tok::Int(n),
                    Err(_) => Tok::Float(
                        text.parse()
                            .map_err(|_| EqlError::new("bad number", i, src))?,
                    ),
                }
            };
            // a number glued to letters (`10s`) is a time unit, lexed apart
            out.push(Token {
                tok,
                start: i,
                end: j,
            });
            i = j;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'@' {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'@') {
                j += 1;
            }
            out.push(Token {
                tok: Tok::Ident(src[i..j].to_string()),
                start: i,
                end: j,
            });
            i = j;
            continue;
        }
        let two = src.get(i..i + 2).unwrap_or("");
        let op: &'static str = match two {
            "==" => "==",
            "!=" => "!=",
            "<=" => "<=",
            ">=" => ">=",
            _ => match c {
                b'<' => "<",
                b'>' => ">",
                b':' => ":",
                b'+' => "+",
                b'-' => "-",
                b'*' => "*",
                b'/' => "/",
                b'%' => "%",
                b'(' => "(",
                b')' => ")",
                b'[' => "[",
                b']' => "]",
                b',' => ",",
                b'|' => "|",
                b'?' => "?",
                b'!' => "!",
                b'=' => "=",
                b'~' => "~",
                b'.' => ".",
                _ => {
                    let ch = src[i..].chars().next().unwrap_or('?');
                    return Err(EqlError::new(
                        format!("unexpected character {ch:?}"),
                        i,
                        src,
                    ));
                }
            },
        };
        i += op.len();
        out.push(Token {
            tok: Tok::Op(op),
            start,
            end: i,
        });
    }
    out.push(Token {
        tok: Tok::Eof,
        start: src.len(),
        end: src.len(),
    });
    Ok(out)
}

fn string(src: &str, start: usize) -> Result<(String, usize), EqlError> {
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        let at = start + 1 + off;
        match c {
            '"' => return Ok((out, at + 1)),
            '\\' => {
                match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, '\\')) => out.push('\\'),
                    Some((_, '"')) => out.push('"'),
                    // Elasticsearch's grammar also takes \' \b \f (a production
                    // rule, execution_windows_powershell_susp_args, uses \')
                    Some((_, '\'')) => out.push('\''),
                    Some((_, 'b')) => out.push('\u{8}'),
                    Some((_, 'f')) => out.push('\u{c}'),
                    Some((_, 'u')) => {
                        let rest = &src[at + 2..];
                        let close = rest.find('}').filter(|_| rest.starts_with('{'));
                        let Some(close) = close else {
                            return Err(EqlError::new(
                                "bad \\u escape: expected \\u{XXXX}",
                                at,
                                src,
                            ));
                        };
                        let hex = &rest[1..close];
                        let ch = (2..=8)
                        .contains(&hex.len())
                        .then(|| u32::from_str_radix(hex, 16).ok())
                        .flatten()
                        .and_then(char::from_u32)
                        .ok_or_else(|| EqlError::new("bad \\u escape: expected 2 to 8 hex digits of a valid character", at, src))?;
                        out.push(ch);
                        for _ in 0..close + 1 {
                            chars.next();
                        }
                    }
                    Some((_, other)) => {
                        return Err(EqlError::new(
                            format!(
                                "unknown escape \\{other}: expected one of \\n \\r \\t \\b \\f \\' \\\\ \\\" \\u{{…}}"
                            ),
                            at,
                            src,
                        ));
                    }
                    None => break,
                }
            }
            c => out.push(c),
        }
    }
    Err(EqlError::new(
        "unterminated string: expected \"",
        start,
        src,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn strings_and_raw_strings() {
        assert_eq!(
            toks(r#""?:\\Windows\\x" """a\b""""#),
            vec![
                Tok::Str(r"?:\Windows\x".into()),
                Tok::Str(r"a\b".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks(r#""\u{41}\u{0001F600}""#),
            vec![Tok::Str("A😀".into()), Tok::Eof]
        );
        assert!(lex(r#""abc"#).is_err());
        assert!(lex("'x'").is_err());
        assert!(lex(r#""\q""#).is_err());
    }

    #[test]
    fn numbers_fields_ops() {
        assert_eq!(
            toks("a.b >= 4.5 10s `x-y` ?c"),
            vec![
                Tok::Ident("a".into()),
                Tok::Op("."),
                Tok::Ident("b".into()),
                Tok::Op(">="),
                Tok::Float(4.5),
                Tok::Int(10),
                Tok::Ident("s".into()),
                Tok::Quoted("x-y".into()),
                Tok::Op("?"),
                Tok::Ident("c".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("/* c */ x // d\n"),
            vec![Tok::Ident("x".into()), Tok::Eof]
        );
    }
}
