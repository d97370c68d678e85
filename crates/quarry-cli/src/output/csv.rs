//! CSV: a header row, then one record per row; cells as [`super::cell`]
//! writes them (arrays as `a;b`).

use super::Column;
use serde::Serialize;
use std::io::Write;

/// Each row flattened to its JSON object's fields, named by the first row.
pub fn write_fields<T: Serialize>(out: &mut impl Write, rows: &[T]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header_done = false;
    for r in rows {
        let v = serde_json::to_value(r).map_err(std::io::Error::other)?;
        if let serde_json::Value::Object(m) = v {
            if !header_done {
                w.write_record(m.keys())?;
                header_done = true;
            }
            w.write_record(m.values().map(super::cell))?;
        }
    }
    w.flush()
}

/// The given columns, header first (also when there are no rows).
pub fn write_columns<T>(
    out: &mut impl Write,
    columns: &[&Column<'_, T>],
    rows: &[T],
) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(columns.iter().map(|c| c.header))?;
    for r in rows {
        w.write_record(columns.iter().map(|c| c.cell(r)))?;
    }
    w.flush()
}
