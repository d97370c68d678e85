//! The terminal table: the columns a responder glances at, one line per
//! row. In a terminal the table fits its width (long cells — command lines,
//! paths — shortened with `…`); piped, rows are printed whole, cells
//! separated by a tab, nothing padded, for `cut`, `awk` and `sort`.
//! Evidence text reaches the terminal only through [`visible`]: a log's
//! author controls it.

use super::Column;
use std::io::{IsTerminal, Write};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

pub fn write<T>(
    out: &mut impl Write,
    columns: &[Column<'_, T>],
    rows: &[T],
) -> std::io::Result<()> {
    let cells = rows.iter().map(|r| {
        columns
            .iter()
            .map(|c| visible(&c.cell(r)).into_owned())
            .collect()
    });
    if std::io::stdout().is_terminal() {
        // a glance needs milliseconds, not the 100 ns of Windows' clock
        let time = columns.iter().position(|c| c.header == "time");
        let cells = cells.map(|mut row: Vec<String>| {
            if let Some(cell) = time.and_then(|i| row.get_mut(i)) {
                *cell = to_millis(cell);
            }
            row
        });
        fitted(out, columns, cells)
    } else {
        unpadded(out, columns, cells)
    }
}

/// A table as wide as the terminal, every row on one line: columns keep
/// their natural width while they fit; past that the widest are shortened
/// with `…`, and when even that leaves too little, the rightmost columns
/// (the least glanced at) are left out, and stderr names them.
fn fitted<T>(
    out: &mut impl Write,
    columns: &[Column<'_, T>],
    rows: impl Iterator<Item = Vec<String>>,
) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = rows.collect();
    let headers: Vec<&str> = columns.iter().map(|c| c.header).collect();
    let width = terminal_width();
    let natural: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.width()))
                .chain([headers[i].width()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let layout = fit(&natural, &headers, width);
    let line = |cells: &[&str]| -> String {
        let mut s = String::new();
        for (k, &(i, w)) in layout.iter().enumerate() {
            if k > 0 {
                s.push_str(GAP);
            }
            let c = shorten(cells.get(i).copied().unwrap_or(""), w);
            let pad = w.saturating_sub(c.width());
            s.push_str(&c);
            s.extend(std::iter::repeat_n(' ', pad));
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(&headers))?;
    let rule: usize =
        layout.iter().map(|(_, w)| w).sum::<usize>() + GAP.len() * layout.len().saturating_sub(1);
    writeln!(out, "{}", "─".repeat(rule))?;
    for r in &rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        writeln!(out, "{}", line(&cells))?;
    }
    if layout.len() < headers.len() {
        let left_out: Vec<&str> = (0..headers.len())
            .filter(|i| !layout.iter().any(|(k, _)| k == i))
            .map(|i| headers[i])
            .collect();
        eprintln!(
            "quarry: {} columns left out to fit {width} columns: {} (a wider terminal, or --format csv, shows them)",
            left_out.len(),
            left_out.join(", ")
        );
    }
    Ok(())
}

const GAP: &str = "  ";

/// `2019-01-20T07:29:57.863893100Z` as `2019-01-20T07:29:57.863Z`; any
/// other text as it is.
fn to_millis(time: &str) -> String {
    let Some(dot) = time.find('.') else {
        return time.to_string();
    };
    let digits = time[dot + 1..]
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    if digits <= 3 {
        return time.to_string();
    }
    format!("{}{}", &time[..dot + 4], &time[dot + 1 + digits..])
}

/// The terminal's width; `COLUMNS` where the terminal does not say (a pty
/// without a size), else 120.
fn terminal_width() -> usize {
    terminal_size::terminal_size()
        .map(|(w, _)| usize::from(w.0))
        .or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())
        .unwrap_or(120)
}

/// The columns a responder needs to read a row at all: kept when others
/// are left out for width.
const KEY_HEADERS: &[&str] = &["time", "severity", "rule", "host", "query", "process", "id"];

/// Which columns to show and how wide, to fit `width`: natural widths when
/// they fit; else the narrow columns keep theirs and the wide share what
/// is left; while a shown column would get less than [`MIN_CELL`] (or its
/// header), the rightmost column that is not a key one is left out.
/// Returns (column index, width) in table order.
fn fit(natural: &[usize], headers: &[&str], width: usize) -> Vec<(usize, usize)> {
    const MIN_CELL: usize = 12;
    let mut shown: Vec<usize> = (0..natural.len()).collect();
    loop {
        let budget = width.saturating_sub(GAP.len() * shown.len().saturating_sub(1));
        let nat: Vec<usize> = shown.iter().map(|&i| natural[i]).collect();
        let key: Vec<bool> = shown
            .iter()
            .map(|&i| KEY_HEADERS.contains(&headers[i]))
            .collect();
        let time = shown.iter().position(|&i| headers[i] == "time");
        let widths = share(&nat, budget, &key, time);
        let starved = shown
            .iter()
            .zip(&widths)
            .any(|(&i, w)| *w < natural[i].min(MIN_CELL.max(headers[i].width())));
        let droppable = shown
            .iter()
            .rposition(|&i| !KEY_HEADERS.contains(&headers[i]))
            .or_else(|| (shown.len() > 1).then(|| shown.len() - 1));
        match droppable {
            Some(d) if starved => {
                shown.remove(d);
            }
            _ => return shown.into_iter().zip(widths).collect(),
        }
    }
}

/// Water-filling: the key columns (see [`KEY_HEADERS`]: the time, the
/// host, the query …) keep their width up to the widest of [`KEY_CAPS`]
/// that lets them all fit (the time up to [`KEY_UP_TO`]);
/// each other column gets its natural width or an equal share of what the
/// narrower ones left, whichever is smaller.
fn share(natural: &[usize], budget: usize, key: &[bool], time: Option<usize>) -> Vec<usize> {
    let mut widths = vec![0; natural.len()];
    let mut rest: Vec<usize> = (0..natural.len()).collect();
    let mut left = budget;
    // the key columns whole up to a cap, the widest cap that fits
    let cap = KEY_CAPS.iter().copied().find(|&cap| {
        let keys: usize = (0..natural.len())
            .filter(|&i| key[i])
            .map(|i| natural[i].min(if Some(i) == time { KEY_UP_TO } else { cap }))
            .sum();
        keys < budget
    });
    if let Some(cap) = cap.filter(|_| natural.len() > 1) {
        for i in (0..natural.len()).filter(|&i| key[i]) {
            widths[i] = natural[i].min(if Some(i) == time { KEY_UP_TO } else { cap });
            left -= widths[i];
        }
        rest.retain(|&i| !key[i]);
    } else if let Some(t) =
        time.filter(|&t| natural.len() > 1 && natural[t] <= KEY_UP_TO.min(budget))
    {
        // too narrow for every key column: the time at least
        widths[t] = natural[t];
        left -= natural[t];
        rest.retain(|&i| i != t);
    }
    rest.sort_by_key(|&i| natural[i]);
    let n = rest.len();
    for (k, &i) in rest.iter().enumerate() {
        let fair = left / (n - k);
        widths[i] = natural[i].min(fair);
        left -= widths[i];
    }
    widths
}

/// The widths key columns are kept whole up to, widest first: the first
/// that lets them all fit is used.
const KEY_CAPS: &[usize] = &[40, 32, 24, 16];
/// The time column is kept whole up to this (nanosecond timestamps with an
/// offset are 35 characters).
const KEY_UP_TO: usize = 40;

/// A cell cut to `width` columns of the terminal, ending in `…` when cut.
fn shorten(cell: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if cell.width() <= width {
        return cell.into();
    }
    let mut s = String::new();
    let mut used = 0;
    for c in cell.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        s.push(c);
        used += w;
    }
    if width > 0 {
        s.push('…');
    }
    s.into()
}

/// Header and rows, cells joined by a tab: nothing padded, nothing cut.
fn unpadded<T>(
    out: &mut impl Write,
    columns: &[Column<'_, T>],
    rows: impl Iterator<Item = Vec<String>>,
) -> std::io::Result<()> {
    let header: Vec<&str> = columns.iter().map(|c| c.header).collect();
    writeln!(out, "{}", header.join("\t"))?;
    for cells in rows {
        writeln!(out, "{}", cells.join("\t"))?;
    }
    Ok(())
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

    #[test]
    fn key_columns_keep_their_width_and_the_others_are_cut_or_left_out() {
        // time, severity, rule, command line at 100 columns: the key
        // columns whole, the command line cut to what is left
        let natural = [24, 8, 40, 300];
        let headers = ["time", "severity", "rule", "command line"];
        let w = fit(&natural, &headers, 100);
        assert_eq!(w.iter().map(|p| p.1).sum::<usize>() + 2 * 3, 100);
        assert_eq!(&w[..3], &[(0, 24), (1, 8), (2, 40)]);
        assert_eq!(w[3], (3, 22));
        // too narrow for the command line: it is left out, not the rule
        let w = fit(&natural, &headers, 80);
        assert_eq!(
            w.iter().map(|p| p.0).collect::<Vec<_>>(),
            [0, 1, 2],
            "{w:?}"
        );
        // the rightmost column that is not a key one goes first (pid),
        // then the next (the command line); the key ones stay
        let natural = [24, 20, 30, 20, 10];
        let headers = ["time", "host", "command line", "process", "pid"];
        let w = fit(&natural, &headers, 80);
        assert_eq!(
            w.iter().map(|p| p.0).collect::<Vec<_>>(),
            [0, 1, 3],
            "{w:?}"
        );
        let w = fit(&natural, &headers, 100);
        assert_eq!(w.len(), 5, "{w:?}");
        // keys wider than the terminal: everything shares
        let w = fit(&[24, 60, 60], &["time", "host", "query"], 70);
        assert!(w.iter().all(|p| p.1 >= 12), "{w:?}");
        // room for all: natural widths
        assert_eq!(fit(&[4, 5], &["a", "b"], 80), vec![(0, 4), (1, 5)]);
        assert_eq!(shorten("C:\\Windows\\System32\\cmd.exe", 10), "C:\\Window…");
        assert_eq!(shorten("ok", 10), "ok");
    }

    #[test]
    fn terminal_times_are_cut_to_milliseconds() {
        assert_eq!(
            to_millis("2019-01-20T07:29:57.863893100Z"),
            "2019-01-20T07:29:57.863Z"
        );
        assert_eq!(
            to_millis("2019-01-20T07:29:57.8638+02:00"),
            "2019-01-20T07:29:57.863+02:00"
        );
        assert_eq!(
            to_millis("2019-01-20T07:29:57.863Z"),
            "2019-01-20T07:29:57.863Z"
        );
        assert_eq!(to_millis("2019-01-20T07:29:57Z"), "2019-01-20T07:29:57Z");
    }

    #[test]
    fn piped_rows_are_tab_separated_and_unpadded() {
        let cols = [
            Column::new("a", |r: &(&str, &str)| r.0.to_string()),
            Column::new("b", |r: &(&str, &str)| r.1.to_string()),
        ];
        let rows = [("x", "long value"), ("longer", "y")];
        let mut out = Vec::new();
        let cells = rows.iter().map(|r| {
            cols.iter()
                .map(|c| visible(&c.cell(r)).into_owned())
                .collect()
        });
        unpadded(&mut out, &cols, cells).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\tb\nx\tlong value\nlonger\ty\n"
        );
    }
}
