//! quarry's EQL engine, with Elasticsearch's semantics.
//!
//! lexer → parser → AST → compiled query → evaluation over the shared ECS
//! [`quarry_event::Event`] model.

pub mod ast;
pub mod error;
pub mod lexer;
pub mod parser;

pub use error::EqlError;
