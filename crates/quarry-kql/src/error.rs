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
    /// The message, the query's line and a caret under the position: shown
    /// as EQL's errors are (one renderer for both languages).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(
            &quarry_eql::EqlError::new(self.message.clone(), self.position, &self.query),
            f,
        )
    }
}

impl std::error::Error for KqlError {}
