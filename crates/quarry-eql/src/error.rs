//! Errors that point at the query: the message, the query, and a caret.

use std::fmt;

/// A query that does not compile: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EqlError {
    pub message: String,
    /// Byte offset in the query.
    pub position: usize,
    pub query: String,
}

impl EqlError {
    pub fn new(message: impl Into<String>, position: usize, query: &str) -> Self {
        EqlError {
            message: message.into(),
            position,
            query: query.to_string(),
        }
    }
}

impl fmt::Display for EqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Show the line holding the position, and a caret under it.
        let pos = self.position.min(self.query.len());
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

impl std::error::Error for EqlError {}
