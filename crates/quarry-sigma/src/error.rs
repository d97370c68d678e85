//! Errors: every one names the rule file and, where known, the line and
//! column in it, so a rule set with one broken rule loads the others and
//! says exactly where the broken one is.

use std::fmt;
use std::path::PathBuf;

/// Why a rule did not load or compile. `kind` groups errors for counting
/// (`quarry rules list` prints per-reason counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigmaError {
    pub path: PathBuf,
    /// 1-based; 0 when unknown.
    pub line: usize,
    pub column: usize,
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// Not YAML, or YAML that is not a Sigma rule (missing or mistyped keys).
    Syntax,
    /// A modifier Sigma does not define (or that does not apply to the value).
    Modifier,
    /// The condition does not parse or names a missing selection.
    Condition,
    /// A value the modifiers cannot turn into a match (bad regex, CIDR, …).
    Value,
    /// `expand` with a placeholder that has no value.
    Placeholder,
    /// The log source has no reading in quarry (no Windows channel, no ECS
    /// category for it).
    Logsource,
    /// Every target the log source has needs a field it cannot have.
    Field,
    /// Status `deprecated` / `unsupported`: skipped by default.
    Status,
    /// A correlation rule: parsed, not yet evaluated.
    Correlation,
    /// A Sigma 1 aggregation (`| count() by …`) in the condition.
    Aggregation,
    /// The compiled form rejected the lowered query.
    Compile,
    /// A meta filter that names no loaded rule (or compiled on its own).
    Filter,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::Modifier => "modifier",
            ErrorKind::Condition => "condition",
            ErrorKind::Value => "value",
            ErrorKind::Placeholder => "placeholder",
            ErrorKind::Logsource => "logsource",
            ErrorKind::Field => "field",
            ErrorKind::Status => "status",
            ErrorKind::Correlation => "correlation",
            ErrorKind::Aggregation => "aggregation",
            ErrorKind::Compile => "compile",
            ErrorKind::Filter => "filter",
        }
    }
}

impl SigmaError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        SigmaError {
            path: PathBuf::new(),
            line: 0,
            column: 0,
            kind,
            message: message.into(),
        }
    }

    /// A short label for counting errors by reason (`quarry rules list`):
    /// the kind and the message without its per-rule detail, so rules
    /// failing for the same reason group together.
    pub fn reason(&self) -> String {
        let m = &self.message;
        let short: String = match self.kind {
            ErrorKind::Logsource | ErrorKind::Field | ErrorKind::Placeholder => {
                m.split(['(', ';']).next().unwrap_or(m).trim().to_string()
            }
            ErrorKind::Syntax | ErrorKind::Condition | ErrorKind::Modifier | ErrorKind::Value => {
                // the part before the quoted specifics
                m.split('`').next().unwrap_or(m).trim().to_string()
            }
            _ => m.chars().take(70).collect(),
        };
        format!("{}: {short}", self.kind.as_str())
    }

    pub(crate) fn at(mut self, path: &std::path::Path, line: usize, column: usize) -> Self {
        self.path = path.to_path_buf();
        if self.line == 0 {
            self.line = line;
            self.column = column;
        }
        self
    }
}

impl fmt::Display for SigmaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        write!(f, ": {} error: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for SigmaError {}
