//! Errors that point at the query: the message, the query, and a caret.

use std::fmt;

/// A query that does not parse or compile: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KqlError {
    pub message: String,
    /// Byte offset in the query.
    pub position: usize,
    pub query: String,
}

impl KqlError {
    pub fn new(message: impl Into<String>, position: usize, query: &str) -> Self {
        KqlError {
            message: message.into(),
            position,
            query: query.to_string(),
        }
    }
}

impl From<quarry_eql::EqlError> for KqlError {
    fn from(e: quarry_eql::EqlError) -> Self {
        KqlError {
            message: e.message,
            position: e.position,
            query: e.query,
        }
    }
}

impl fmt::Display for KqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut pos = self.position.min(self.query.len());
        while !self.query.is_char_boundary(pos) {
            pos -= 1;
        }
        let line_start = self.query[..pos].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.query[pos..]
            .find('\n')
            .map_or(self.query.len(), |i| pos + i);
        let line_no = self.query[..pos].matches('\n').count() + 1;
        let col = self.query[line_start..pos].chars().count();
        writeln!(f, "{} (line {line_no}, column {})", self.message, col + 1)?;
        writeln!(f, "  {}", &self.query[line_start..line_end])?;
        write!(f, "  {}^", " ".repeat(col))
    }
}

impl std::error::Error for KqlError {}
