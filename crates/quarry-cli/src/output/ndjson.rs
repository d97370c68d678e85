//! NDJSON: one compact JSON value per line.

use serde::Serialize;
use std::io::Write;

/// Each row on its own line.
pub fn write_all<T: Serialize>(out: &mut impl Write, rows: &[T]) -> std::io::Result<()> {
    for r in rows {
        write_one(out, r)?;
    }
    Ok(())
}

/// One value on one line.
pub fn write_one<T: Serialize + ?Sized>(out: &mut impl Write, value: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)
}
