//! The terminal table: the columns a responder glances at, wrapped to the
//! terminal; one line per row when piped.

use super::Column;
use std::io::Write;

pub fn write<T>(
    out: &mut impl Write,
    columns: &[Column<'_, T>],
    rows: &[T],
) -> std::io::Result<()> {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_BORDERS_ONLY);
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    if !t.is_tty() {
        // piped or redirected: one line per row, nothing wrapped
        t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    }
    t.set_header(columns.iter().map(|c| c.header));
    for r in rows {
        t.add_row(columns.iter().map(|c| c.cell(r)));
    }
    writeln!(out, "{t}")
}

/// A JSON value as a cell of text: nothing for null, strings unquoted,
/// arrays as `a;b`.
pub fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}
