pub mod ast;
pub mod error;
pub mod lexer;
pub mod parser;
pub mod schema;
mod schema_table;
pub use error::KqlError;
