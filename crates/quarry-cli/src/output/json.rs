//! JSON: the whole result as one pretty-printed value.

use serde::Serialize;
use std::io::Write;

/// Writes `value` pretty-printed, then a newline.
pub fn write<T: Serialize + ?Sized>(out: &mut impl Write, value: &T) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}
