//! The detection library: what `quarry hunt` does, without the printing.
//!
//! - [`load`]: rule files and folders → a [`quarry_rules::RuleSet`], each
//!   file read by the format its extension names (Elastic's TOML today).
//! - [`frontend`]: rule languages. Each compiles its queries into
//!   quarry-eql's compiled form ([`quarry_eql::Query`]), so every language
//!   shares one evaluation and one alert path. A rule no front-end runs is
//!   skipped with its reason.
//! - [`RuleBook`]: the compiled rules, what was skipped and what did not
//!   compile; severity filtering.
//! - [`select`]: which rules can match an event — by the event's index and
//!   category — so a rule that cannot match costs nothing for it.
//! - [`literal`]: the literal prefilter of [`select`]: a rule is evaluated
//!   only on events holding the literal it requires.
//! - [`hunt()`]: one pass over the evidence; exceptions, the rule type's
//!   own step ([`threshold`], [`new_terms`], [`threat_match`]), [`suppression`],
//!   `max_signals`, alerts with their investigation, in time order, in a
//!   [`HuntReport`].
//! - [`correlate`]: Sigma correlations, run after the rules over what the
//!   rules they name matched.

pub mod book;
pub mod correlate;
pub mod frontend;
pub mod hunt;
pub mod literal;
pub mod load;
pub mod new_terms;
pub mod select;
pub mod suppression;
pub mod threat_match;
pub mod threshold;

pub use book::{CompiledRule, NotCompiled, RuleBook, TypeRow, severity_rank};
pub use hunt::{HuntOptions, HuntReport, RuleStat, hunt, hunt_events};
pub use load::{load, unusable_paths};
pub use new_terms::History;
