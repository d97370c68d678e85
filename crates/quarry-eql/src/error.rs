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

impl std::error::Error for EqlError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_under_the_position_on_its_line() {
        let e = EqlError::new("expected where", 15, "process\nwhere a wher b");
        let shown = e.to_string();
        assert!(
            shown.starts_with("expected where (line 2, column 8)"),
            "{shown}"
        );
        assert!(shown.ends_with("  where a wher b\n         ^"), "{shown}");
    }

    #[test]
    fn position_inside_a_character_or_past_the_end_does_not_panic() {
        let q = "any where a : \"é\"";
        for pos in 0..q.len() + 3 {
            let _ = EqlError::new("x", pos, q).to_string();
        }
    }
}
