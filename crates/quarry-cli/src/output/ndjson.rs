//! NDJSON: one compact JSON value per line. [`Vectored`] writes lines
//! assembled from pieces already in memory (a hit's head and its document as
//! read) without copying them first: `quarry search`'s fast path.

use serde::Serialize;
use std::io::{IoSlice, Write};

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

/// Lines handed to the kernel as they lie in memory, up to 1,023 pieces a
/// call (IOV_MAX is 1,024), not copied into a buffer first.
pub struct Vectored<'a, W: Write> {
    out: W,
    pieces: Vec<IoSlice<'a>>,
    /// A serialised value's line, reused.
    line: Vec<u8>,
}

impl<'a, W: Write> Vectored<'a, W> {
    pub fn new(out: W) -> Self {
        Vectored {
            out,
            pieces: Vec::with_capacity(1023),
            line: Vec::new(),
        }
    }

    /// Queues pieces that together make whole lines.
    pub fn pieces(&mut self, pieces: &[&'a [u8]]) -> std::io::Result<()> {
        self.pieces.extend(pieces.iter().map(|p| IoSlice::new(p)));
        if self.pieces.len() + pieces.len() > self.pieces.capacity() {
            self.write_pieces()?;
        }
        Ok(())
    }

    /// Writes one value as a line, after the pieces queued before it.
    pub fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> std::io::Result<()> {
        self.write_pieces()?;
        self.line.clear();
        write_one(&mut self.line, value)?;
        self.out.write_all(&self.line)
    }

    /// Writes what is queued and flushes.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.write_pieces()?;
        self.out.flush()
    }

    /// Writes all queued pieces (`write_all_vectored` is not stable yet).
    fn write_pieces(&mut self) -> std::io::Result<()> {
        let mut rest = &mut self.pieces[..];
        while !rest.is_empty() {
            match self.out.write_vectored(rest) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut rest, n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.pieces.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectored_lines_and_values_keep_their_order() {
        let mut buf = Vec::new();
        let mut w = Vectored::new(&mut buf);
        for _ in 0..400 {
            w.pieces(&[b"{\"a\":", b"1", b"}\n"]).unwrap();
        }
        w.value(&serde_json::json!({"b": 2})).unwrap();
        w.pieces(&[b"{}\n"]).unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text.lines().count(), 402);
        assert!(text.ends_with("{\"a\":1}\n{\"b\":2}\n{}\n"));
    }
}
