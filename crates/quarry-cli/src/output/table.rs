//! The terminal table: the columns a responder glances at, wrapped to the
//! terminal; one line per row when piped. Evidence text reaches the
//! terminal only through [`visible`]: a log's author controls it.

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
        t.add_row(columns.iter().map(|c| visible(&c.cell(r)).into_owned()));
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

/// Text from evidence as it may reach a terminal: control characters
/// (escape sequences, `\r`, `\b`, newlines that would fake rows), C1
/// controls and the bidirectional overrides that reorder what is shown
/// are written as visible escapes (`\n`, `\u{1b}`). Machine formats
/// (NDJSON, JSON, CSV) keep the data as it is.
pub fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(hidden) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if hidden(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_shown_escaped() {
        assert_eq!(visible("cmd.exe /c whoami"), "cmd.exe /c whoami");
        assert_eq!(visible("ümlaut 漢字"), "ümlaut 漢字");
        assert_eq!(
            visible("a\u{1b}[2J\u{1b}]0;title\u{7}b"),
            "a\\u{1b}[2J\\u{1b}]0;title\\u{7}b"
        );
        assert_eq!(visible("x\rfake\nrow\tz\u{8}"), "x\\rfake\\nrow\\tz\\u{8}");
        assert_eq!(visible("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
        assert_eq!(visible("\u{9b}31m"), "\\u{9b}31m");
    }

    #[test]
    fn table_cells_are_escaped_and_nothing_raw_gets_out() {
        let rows = vec!["powershell\u{1b}[8m hidden \u{1b}[0m\r\u{2066}x".to_string()];
        let columns = vec![super::super::Column::new("cmd", |r: &String| r.clone())];
        let mut out = Vec::new();
        write(&mut out, &columns, &rows).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\r') && !text.contains('\u{2066}'),
            "{text:?}"
        );
        assert!(text.contains("powershell\\u{1b}[8m hidden"), "{text}");
    }
}
