//! CSV: a header row, then one record per row; cells as [`super::cell`]
//! writes them (arrays as `a;b`).

use super::Column;
use serde::Serialize;
use std::io::Write;

/// Each row flattened to its JSON object's fields (nested objects as
/// dotted names: `process.pid`), named by the first row.
pub fn write_fields<T: Serialize>(out: &mut impl Write, rows: &[T]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header: Option<Vec<String>> = None;
    for r in rows {
        let v = serde_json::to_value(r).map_err(std::io::Error::other)?;
        let mut flat = Vec::new();
        flatten(String::new(), &v, &mut flat);
        match &header {
            None => {
                w.write_record(flat.iter().map(|(k, _)| k))?;
                w.write_record(flat.iter().map(|(_, v)| super::cell(v)))?;
                header = Some(flat.into_iter().map(|(k, _)| k).collect());
            }
            Some(names) => {
                let cells = names.iter().map(|n| {
                    flat.iter()
                        .find(|(k, _)| k == n)
                        .map(|(_, v)| super::cell(v))
                        .unwrap_or_default()
                });
                w.write_record(cells)?;
            }
        }
    }
    w.flush()
}

/// The leaves of a JSON document as (dotted name, value); arrays are leaves.
fn flatten<'a>(
    prefix: String,
    v: &'a serde_json::Value,
    out: &mut Vec<(String, &'a serde_json::Value)>,
) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, child) in m {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(name, child, out);
            }
        }
        _ => out.push((prefix, v)),
    }
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
