//! Detection rules as data: Elastic detection-rules TOML parsed into
//! [`Rule`]s, quarry's built-in pack, which events a rule's `index` patterns
//! cover, and exception files. Queries are stored, not parsed: the
//! detection library (`quarry-detect`) compiles them with the front-end of
//! their language and runs them.

mod builtin;
mod exceptions;
mod index;
mod load;
mod rule;
mod wildcard;

pub use builtin::builtin;
pub use exceptions::{Exception, ExceptionEntry, Exceptions, ExceptionsError, Operator};
pub use index::{IndexPattern, index_name};
pub use load::{RuleSet, SkipKind, Skipped, load_str};
pub use rule::{
    AlertSuppression, Cardinality, Investigate, NewTerms, Provider, Rule, SuppressionDuration,
    ThreatMappingEntry, ThreatMappingGroup, ThreatMatch, Threshold,
};
