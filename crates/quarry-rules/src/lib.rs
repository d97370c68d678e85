//! Detection rules for `quarry hunt`: loads Elastic detection-rules TOML files
//! and quarry's built-in pack, decides which events a rule's `index` patterns
//! cover, and applies exception files. EQL query strings are stored, not
//! parsed: the `quarry-eql` crate runs them.

mod builtin;
mod exceptions;
mod index;
mod load;
mod rule;
mod wildcard;

pub use builtin::builtin;
pub use exceptions::{Exception, ExceptionEntry, Exceptions, ExceptionsError, Operator};
pub use index::{index_name, IndexPattern};
pub use load::{load, load_str, RuleSet, SkipKind, Skipped};
pub use rule::{Investigate, Provider, Rule};
