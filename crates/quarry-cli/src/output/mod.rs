//! Output formats, in one place: a command describes what it prints once —
//! rows and their columns ([`Rows`]), or one document ([`Document`]) — and
//! [`print`] / [`print_document`] hand it to the module of the chosen
//! [`Format`]. Adding a format is one module here plus one variant.
//! Diagnostics go to stderr ([`diagnostics`]) whatever the format. Lines
//! printed in an order known only at the end wait in a scratch file
//! ([`spill`]).

pub mod csv;
pub mod diagnostics;
pub mod json;
pub mod ndjson;
pub mod spill;
pub mod table;

pub use diagnostics::report_problems;
pub use table::{cell, visible};

use serde::Serialize;
use std::io::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for the terminal, with the summary below it.
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated values with a header row.
    Csv,
}

impl Format {
    /// Table and CSV show rows of text cells; JSON and NDJSON whole records.
    pub fn is_tabular(self) -> bool {
        matches!(self, Format::Table | Format::Csv)
    }
}

/// A column of text: its header, and how a row fills it.
pub struct Column<'a, T> {
    pub header: &'a str,
    cell: Box<dyn Fn(&T) -> String + 'a>,
}

impl<'a, T> Column<'a, T> {
    pub fn new(header: &'a str, cell: impl Fn(&T) -> String + 'a) -> Self {
        Column {
            header,
            cell: Box::new(cell),
        }
    }

    pub fn cell(&self, row: &T) -> String {
        (self.cell)(row)
    }
}

/// How CSV shows rows.
pub enum Csv<'a, T> {
    /// Each row's JSON fields flattened (arrays as `a;b`), with the first
    /// row's names as the header.
    Fields,
    /// The table's columns followed by these: a fixed header, written even
    /// when there are no rows.
    Columns(Vec<Column<'a, T>>),
    /// These columns alone, header first (also when there are no rows).
    Only(Vec<Column<'a, T>>),
}

/// Rows as a command describes them once: JSON and NDJSON serialise each
/// row, the table shows `columns` (fewer than the machine formats carry),
/// CSV as `csv` says.
pub struct Rows<'a, T> {
    pub rows: &'a [T],
    pub columns: Vec<Column<'a, T>>,
    pub csv: Csv<'a, T>,
}

impl<'a, T> Rows<'a, T> {
    /// Rows whose CSV is their JSON fields.
    pub fn new(rows: &'a [T], columns: Vec<Column<'a, T>>) -> Self {
        Rows {
            rows,
            columns,
            csv: Csv::Fields,
        }
    }
}

/// Prints rows on stdout in `format`.
pub fn print<T: Serialize>(rows: &Rows<'_, T>, format: Format) -> std::io::Result<()> {
    // rows are written in large pieces: fewer write calls into the pipe
    let mut out = std::io::BufWriter::with_capacity(1 << 18, std::io::stdout().lock());
    match format {
        Format::Json => json::write(&mut out, rows.rows)?,
        Format::Ndjson => ndjson::write_all(&mut out, rows.rows)?,
        Format::Csv => match &rows.csv {
            // no row to name the fields: the table's headers, so a
            // spreadsheet or `csvkit` still sees a header row
            Csv::Fields if rows.rows.is_empty() => {
                let cols: Vec<&Column<'_, T>> = rows.columns.iter().collect();
                csv::write_columns(&mut out, &cols, rows.rows)?
            }
            Csv::Fields => csv::write_fields(&mut out, rows.rows)?,
            Csv::Columns(more) => {
                let cols: Vec<&Column<'_, T>> = rows.columns.iter().chain(more).collect();
                csv::write_columns(&mut out, &cols, rows.rows)?
            }
            Csv::Only(cols) => {
                let cols: Vec<&Column<'_, T>> = cols.iter().collect();
                csv::write_columns(&mut out, &cols, rows.rows)?
            }
        },
        Format::Table => table::write(&mut out, &rows.columns, rows.rows)?,
    }
    out.flush()
}

/// A result that is one document rather than rows: JSON and NDJSON print
/// it whole (NDJSON on one line), CSV its `rows`, the table its own `text`.
pub struct Document<'a, D, T> {
    pub doc: &'a D,
    pub rows: Rows<'a, T>,
    pub text: &'a dyn Fn(&mut dyn Write) -> std::io::Result<()>,
}

/// Prints a document on stdout in `format`.
pub fn print_document<D: Serialize, T: Serialize>(
    d: &Document<'_, D, T>,
    format: Format,
) -> std::io::Result<()> {
    if format == Format::Csv {
        return print(&d.rows, format);
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        Format::Json => json::write(&mut out, d.doc)?,
        Format::Ndjson => ndjson::write_one(&mut out, d.doc)?,
        Format::Table | Format::Csv => (d.text)(&mut out)?,
    }
    out.flush()
}
