//! JSON documents that are not one per line: the elements of a top-level
//! array, and documents one after another (pretty-printed, or written back
//! to back). The stream is cut into one document's bytes at a time by
//! following strings and nesting, and each document is parsed on its own,
//! so a damaged document costs itself only: after damage the cut
//! resynchronises at the next line that opens a document at the
//! indentation documents open at.
//!
//! Hand-written rather than serde_json's `StreamDeserializer`: serde stops
//! at the first error and cannot say where the next document starts.

use std::io::Read;

/// Reads one document's bytes (and the line it starts on); `Err` says
/// why they are not a document.
pub(crate) type Parse<'a> = dyn FnMut(&[u8], u64) -> Result<(), String> + 'a;

/// Damage met: where (`line 12 (byte 3456)`), and what.
pub(crate) type Damage<'a> = dyn FnMut(String, String) + 'a;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// Between documents.
    Between,
    /// Inside a document.
    In,
    /// After damage: bytes skipped up to the next line opening a document.
    Skipping,
}

/// Where a document may start after damage: a line whose first byte past
/// its indentation (and a separating comma) is `{`, at no more indentation
/// than the first document had.
#[derive(Clone, Copy)]
struct Candidate {
    /// Index of the `{` in the document's bytes.
    at: usize,
    line: u64,
    offset: u64,
}

pub(crate) struct Cutter {
    state: State,
    cur: Vec<u8>,
    depth: u32,
    in_str: bool,
    esc: bool,
    /// The document is a bare scalar (an array of numbers, say).
    scalar: bool,
    in_array: bool,
    line: u64,
    offset: u64,
    /// Line and byte where the current document (or skipped run) began.
    start_line: u64,
    start_offset: u64,
    /// Leading whitespace seen on this line so far (a comma-first layout's
    /// comma aside); `None` once something else was.
    indent: Option<usize>,
    top_indent: Option<usize>,
    candidates: Vec<Candidate>,
    /// Why the skipped run began.
    skip_why: String,
    /// The document size bound, read once per input.
    max_document: usize,
}

impl Cutter {
    /// A cut whose first byte is on line `line`.
    pub(crate) fn new(line: u64) -> Cutter {
        Cutter {
            state: State::Between,
            cur: Vec::new(),
            depth: 0,
            in_str: false,
            esc: false,
            scalar: false,
            in_array: false,
            line,
            offset: 0,
            start_line: line,
            start_offset: 0,
            indent: Some(0),
            top_indent: None,
            candidates: Vec::new(),
            skip_why: String::new(),
            max_document: crate::limits::max_document_bytes(),
        }
    }

    /// Cuts all of `reader`; `parse` is given each document and returns
    /// why it could not be read (`Err`), and `out` every piece.
    pub(crate) fn run<R: Read>(
        mut self,
        mut reader: R,
        parse: &mut Parse<'_>,
        out: &mut Damage<'_>,
    ) {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    out(
                        self.at(self.line, self.offset),
                        format!("read error: {e}; rest of the file skipped"),
                    );
                    break;
                }
            };
            self.feed(&buf[..n], parse, out);
        }
        self.finish(parse, out);
    }

    fn at(&self, line: u64, offset: u64) -> String {
        format!("line {line} (byte {offset})")
    }

    /// Feeds bytes; a damaged document whose bytes hold a later candidate
    /// start is fed again from there (a stack, not recursion: damage may
    /// repeat).
    fn feed(&mut self, data: &[u8], parse: &mut Parse<'_>, out: &mut Damage<'_>) {
        let mut stack: Vec<(std::borrow::Cow<'_, [u8]>, usize)> = vec![(data.into(), 0)];
        while let Some((bytes, mut i)) = stack.pop() {
            while i < bytes.len() {
                let b = bytes[i];
                i += 1;
                if let Some(retry) = self.step(b, parse, out) {
                    stack.push((bytes, i));
                    stack.push((retry.into(), 0));
                    break;
                }
            }
        }
    }

    /// One byte. Returns bytes to be fed again (before the rest) when a
    /// damaged document held a candidate start.
    fn step(&mut self, b: u8, parse: &mut Parse<'_>, out: &mut Damage<'_>) -> Option<Vec<u8>> {
        let (line, offset, lead) = (self.line, self.offset, self.indent);
        self.offset += 1;
        match b {
            b'\n' => {
                self.line += 1;
                self.indent = Some(0);
            }
            b' ' | b'\t' | b'\r' => self.indent = self.indent.map(|n| n + 1),
            // a comma-first layout's separator
            b',' => {}
            _ => self.indent = None,
        }
        // a `{` that opens a line: where documents may start after damage
        let line_start_brace =
            b == b'{' && lead.is_some_and(|n| n <= self.top_indent.unwrap_or(usize::MAX));
        match self.state {
            State::Between => match b {
                b' ' | b'\t' | b'\r' | b'\n' => {}
                b',' if self.in_array => {}
                b'[' if !self.in_array => self.in_array = true,
                b']' if self.in_array => self.in_array = false,
                b'{' | b'[' => self.open(b, line, offset, lead, false),
                b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n' if self.in_array => {
                    self.open(b, line, offset, lead, true)
                }
                _ => self.skip(
                    line,
                    offset,
                    format!("unexpected {} between documents", show(b)),
                ),
            },
            State::Skipping => {
                if line_start_brace {
                    out(
                        self.at(self.start_line, self.start_offset),
                        format!("{}; skipped up to line {line}", self.skip_why),
                    );
                    self.open(b, line, offset, lead, false);
                }
            }
            State::In => {
                if self.cur.len() >= self.max_document {
                    let why = format!(
                        "document larger than {} (--max-document-size)",
                        crate::limits::show_bytes(self.max_document as u64)
                    );
                    return self.damaged(why, false, out);
                }
                if line_start_brace && !self.scalar {
                    self.candidates.push(Candidate {
                        at: self.cur.len(),
                        line,
                        offset,
                    });
                }
                if self.scalar
                    && !self.in_str
                    && matches!(b, b',' | b']' | b' ' | b'\t' | b'\r' | b'\n')
                {
                    let r = self.complete(parse, out);
                    if b == b']' {
                        self.in_array = false;
                    }
                    return r;
                }
                self.cur.push(b);
                if self.in_str {
                    if self.esc {
                        self.esc = false;
                    } else if b == b'\\' {
                        self.esc = true;
                    } else if b == b'"' {
                        self.in_str = false;
                    } else if b == b'\n' {
                        // JSON strings hold no raw newline: the document was cut
                        return self.damaged("a line ends inside a string".into(), false, out);
                    }
                } else {
                    match b {
                        b'"' => self.in_str = true,
                        b'{' | b'[' => self.depth += 1,
                        b'}' | b']' => {
                            self.depth = self.depth.saturating_sub(1);
                            if self.depth == 0 {
                                return self.complete(parse, out);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        None
    }

    fn open(&mut self, b: u8, line: u64, offset: u64, lead: Option<usize>, scalar: bool) {
        self.state = State::In;
        self.cur.clear();
        self.cur.push(b);
        self.candidates.clear();
        self.depth = u32::from(!scalar);
        self.in_str = b == b'"';
        self.esc = false;
        self.scalar = scalar;
        self.start_line = line;
        self.start_offset = offset;
        if !scalar && self.top_indent.is_none() {
            // documents open at the first one's indentation (0 when it
            // follows the array's `[` on its line)
            self.top_indent = Some(lead.unwrap_or(0));
        }
    }

    fn skip(&mut self, line: u64, offset: u64, why: String) {
        self.state = State::Skipping;
        self.start_line = line;
        self.start_offset = offset;
        self.skip_why = why;
        self.cur.clear();
    }

    /// The document is damaged: retry from its first candidate start;
    /// else, when its end was found (`ended`), go on after it, or skip to
    /// the next line that opens a document.
    fn damaged(&mut self, why: String, ended: bool, out: &mut Damage<'_>) -> Option<Vec<u8>> {
        let here = self.at(self.start_line, self.start_offset);
        if let Some(c) = self.candidates.first().copied() {
            out(here, format!("{why}; skipped up to line {}", c.line));
            let retry = self.cur.split_off(c.at);
            self.state = State::Between;
            self.cur.clear();
            self.candidates.clear();
            self.line = c.line;
            self.offset = c.offset;
            self.indent = Some(0);
            return Some(retry);
        }
        if ended {
            out(here, format!("{why}; skipped"));
            self.state = State::Between;
            self.cur.clear();
        } else {
            self.skip(self.start_line, self.start_offset, why);
        }
        None
    }

    fn complete(&mut self, parse: &mut Parse<'_>, out: &mut Damage<'_>) -> Option<Vec<u8>> {
        match parse(&self.cur, self.start_line) {
            Ok(()) => {
                self.state = State::Between;
                self.cur.clear();
                None
            }
            Err(e) => self.damaged(e, true, out),
        }
    }

    fn finish(mut self, parse: &mut Parse<'_>, out: &mut Damage<'_>) {
        loop {
            match self.state {
                State::Between => {
                    if self.in_array {
                        out(
                            self.at(self.line, self.offset),
                            "the array is not closed (the file is cut)".into(),
                        );
                    }
                    return;
                }
                State::Skipping => {
                    out(
                        self.at(self.start_line, self.start_offset),
                        format!("{}; skipped to the end of the file", self.skip_why),
                    );
                    return;
                }
                State::In if self.scalar && !self.in_str => {
                    self.complete(parse, out);
                }
                State::In => {
                    let why = "the document is cut by the end of the file".to_string();
                    match self.damaged(why, true, out) {
                        Some(retry) => self.feed(&retry, parse, out),
                        // reported: the array's end is missing with it
                        None => return,
                    }
                }
            }
        }
    }
}

/// A byte as a problem message shows it.
fn show(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}
