//! A fast, conservative check of one JSON line: is it a well-formed JSON
//! object that the projected walk would read as plain ECS? Used for the
//! lines a query's required literals already rule out (most lines of a
//! hunt), which still must be validated so that a malformed line is
//! reported rather than silently skipped.
//!
//! `true` is a promise: serde_json accepts the line, it is an object, no
//! top-level key makes it another format (`NOT_PLAIN_ECS`), it cannot be
//! an Elastic Defend document, and it is ASCII without `\u` or `\/`
//! escapes (the prefilter's own condition). `false` only means "not sure":
//! the caller falls back to serde's walk, which decides as before. Anything
//! unusual (non-ASCII bytes, `\u` escapes, exponents, nesting deeper than
//! [`MAX_DEPTH`]) answers `false`, so the scanner never has to agree with
//! serde_json on the hard cases.
//!
//! Its cursor, [`Scanner`], is also what the projected walk's fast path
//! (`projected::fast_walk`) reads lines with.
//!
//! Written here rather than taken from a crate: the general SIMD parsers
//! (simd-json, sonic-rs) build a tape or mutate their input and would still
//! need a pass for the top-level keys; this is one pass over bytes already
//! in cache (SSE2 inside strings), and `tests` check it against serde on
//! random lines. A simdjson-style quote bitmap computed first was tried and
//! was no faster: what costs is the dispatch from token to token.

/// Deeper documents are left to serde (whose own limit is 128).
const MAX_DEPTH: usize = 64;

/// See the module documentation. `not_plain` are the top-level keys that
/// make a document another format. A document is taken for Elastic Defend
/// by a string `agent.type` or `data_stream.dataset` that starts with
/// `endpoint` (nested or dotted; the walk's test is stricter): any such
/// value leaves the line to serde's walk.
pub(crate) fn is_plain_ecs_object(line: &[u8], not_plain: fn(&[u8]) -> bool) -> bool {
    let mut s = Scanner::new(line, false);
    s.ws();
    if s.peek() != Some(b'{') || s.object(1, Level::Top(not_plain)).is_none() {
        return false;
    }
    s.ws();
    s.i == line.len()
}

/// What an object's keys are checked for.
#[derive(Clone, Copy)]
enum Level {
    /// The document: keys that make it another format, repeated Defend keys.
    Top(fn(&[u8]) -> bool),
    /// `agent` or `data_stream`: this key must not repeat.
    Watch(&'static [u8]),
    Plain,
}

/// A cursor over one JSON text, for the check above and for the projected
/// walk's own fast path (`projected::fast_walk`).
pub(crate) struct Scanner<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) i: usize,
    /// Strings may hold non-ASCII bytes (the caller checked the text is
    /// UTF-8) and `\/` escapes.
    utf8: bool,
    /// Did the last string read hold an escape?
    pub(crate) escaped: bool,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(b: &'a [u8], utf8: bool) -> Scanner<'a> {
        Scanner {
            b,
            i: 0,
            utf8,
            escaped: false,
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// JSON whitespace, as serde_json skips it.
    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// Enters the container opening at `self.i`: `Some(true)` when it is
    /// empty (and then already left), `Some(false)` at its first item.
    pub(crate) fn open(&mut self, close: u8) -> Option<bool> {
        self.i += 1;
        self.ws();
        let empty = self.peek()? == close;
        if empty {
            self.i += 1;
        }
        Some(empty)
    }

    /// After a key: the colon, and the whitespace around it.
    pub(crate) fn colon(&mut self) -> Option<()> {
        self.ws();
        if self.peek()? != b':' {
            return None;
        }
        self.i += 1;
        self.ws();
        Some(())
    }

    /// After an item: `Some(true)` past a comma (another item follows),
    /// `Some(false)` past `close` (the container ends), `None` otherwise.
    pub(crate) fn next_item(&mut self, close: u8) -> Option<bool> {
        self.ws();
        let c = self.peek()?;
        self.i += 1;
        if c == b',' {
            self.ws();
            Some(true)
        } else {
            (c == close).then_some(false)
        }
    }

    /// Skips (and checks) one value at `self.i`; `depth` is the nesting of
    /// the container holding it.
    #[inline]
    pub(crate) fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(depth + 1, Level::Plain),
            b'[' => self.array(depth + 1),
            b'"' => self.string().map(drop),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => None,
        }
    }

    /// An object at `self.i` (its `{`).
    fn object(&mut self, depth: usize, level: Level) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        if self.open(b'}')? {
            return Some(());
        }
        // the watched keys seen so far: at the top, those the Elastic Defend
        // test reads (`agent`, `data_stream`, `agent.type`,
        // `data_stream.dataset`), whose repeat the projected walk refuses
        // (serde_json's last-value-wins is not a merge); 1 for Watch
        let mut seen = 0u8;
        loop {
            if self.peek()? != b'"' {
                return None;
            }
            let start = self.i + 1;
            let end = self.string()?;
            // a key with an escape is none of the plain names looked for
            let key = || self.b.get(start..end).unwrap_or_default();
            let mut nested = Level::Plain;
            // a value the Elastic Defend test reads
            let mut defend_value = false;
            match level {
                Level::Plain => {}
                Level::Top(not_plain) => {
                    let key = key();
                    if not_plain(key) {
                        return None;
                    }
                    defend_value = key == b"agent.type" || key == b"data_stream.dataset";
                    let defend = match key {
                        b"agent" => 1,
                        b"data_stream" => 2,
                        b"agent.type" => 4,
                        b"data_stream.dataset" => 8,
                        _ => 0,
                    };
                    if seen & defend != 0 {
                        return None;
                    }
                    seen |= defend;
                    nested = match key {
                        b"agent" => Level::Watch(b"type"),
                        b"data_stream" => Level::Watch(b"dataset"),
                        _ => Level::Plain,
                    };
                }
                Level::Watch(watched) => {
                    if key() == watched {
                        if seen != 0 {
                            return None;
                        }
                        seen = 1;
                        defend_value = true;
                    }
                }
            }
            self.colon()?;
            match self.peek()? {
                b'"' if defend_value => {
                    let start = self.i + 1;
                    let end = self.string()?;
                    if self.b.get(start..end)?.starts_with(b"endpoint") {
                        return None;
                    }
                }
                // flattened into that field by the walk: left to it
                b'[' | b'{' if defend_value => return None,
                b'[' if !matches!(nested, Level::Plain) => return None,
                b'{' => self.object(depth + 1, nested)?,
                _ => self.value(depth)?,
            }
            if !self.next_item(b'}')? {
                return Some(());
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        if self.open(b']')? {
            return Some(());
        }
        loop {
            self.value(depth)?;
            if !self.next_item(b']')? {
                return Some(());
            }
        }
    }

    /// A string at `self.i` (its opening quote); returns the index of its
    /// closing quote and moves past it. Only ASCII without control
    /// characters, and escapes other than `\u` and `\/`.
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Option<usize> {
        let b = self.b;
        let mut i = self.i + 1;
        self.escaped = false;
        loop {
            i = skip_plain(b, i);
            match *b.get(i)? {
                b'"' => {
                    self.i = i + 1;
                    return Some(i);
                }
                b'\\' => {
                    self.escaped = true;
                    match b.get(i + 1)? {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                        b'/' if self.utf8 => i += 2,
                        _ => return None,
                    }
                }
                0x80..=0xff if self.utf8 => i += 1,
                0..=0x1f | 0x80..=0xff => return None,
                _ => i += 1,
            }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`; an exponent is left to serde.
    pub(crate) fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return None;
            }
            self.digits();
        }
        match self.peek() {
            Some(b'0'..=b'9' | b'e' | b'E' | b'.') => None,
            _ => Some(()),
        }
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }

    pub(crate) fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + word.len())? != word {
            return None;
        }
        self.i += word.len();
        Some(())
    }
}

/// The text of a string's contents (between its quotes) as read by
/// [`Scanner::string`] in UTF-8 mode; `None` for a `\u` escape.
pub(crate) fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = memchr::memchr(b'\\', rest.as_bytes()) {
        out.push_str(rest.get(..at)?);
        out.push(match *rest.as_bytes().get(at + 1)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            _ => return None,
        });
        // both bytes of the escape are ASCII: a char boundary follows
        rest = rest.get(at + 2..)?;
    }
    out.push_str(rest);
    Some(out)
}

/// The index of the first byte from `i` on that a string scan must look
/// at (`"`, `\\`, a control character, a non-ASCII byte), or of one of the
/// last few bytes, which the byte loop reads.
#[inline(always)]
fn skip_plain(b: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    while let Some(chunk) = b.get(i..i + 16) {
        let mask = special16(chunk);
        if mask != 0 {
            return i + mask.trailing_zeros() as usize;
        }
        i += 16;
    }
    while let Some(w) = b.get(i..i + 8) {
        let Ok(w) = <[u8; 8]>::try_from(w) else { break };
        let special = special(u64::from_le_bytes(w));
        if special != 0 {
            return i + special.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    i
}

/// [`special`] for sixteen bytes on SSE2 (part of every x86_64): bit `k`
/// of the result flags byte `k`.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn special16(chunk: &[u8]) -> u32 {
    use std::arch::x86_64::*;
    assert!(chunk.len() >= 16);
    // SAFETY: the load reads 16 bytes from a slice of at least 16 (checked
    // above); SSE2, which the rest needs, is enabled on every x86_64 target.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // signed: bytes below 0x20 and from 0x80 on
        let other = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), other)) as u32
    }
}

/// The bytes of a little-endian word a string scan must look at: `"`,
/// `\`, a control character or a non-ASCII byte, each flagged by its high
/// bit. The lowest flag is exact (a false flag can only follow a true one,
/// through a borrow), so `trailing_zeros / 8` is the first such byte; the
/// byte loop then decides.
fn special(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = zero_byte(w ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(w ^ (ONES * u64::from(b'\\')));
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    quote | backslash | control | (w & HIGH)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn not_plain(k: &[u8]) -> bool {
        matches!(k, b"winlog" | b"Event" | b"meta.event.name")
    }

    fn plain(line: &str) -> bool {
        is_plain_ecs_object(line.as_bytes(), not_plain)
    }

    fn serde_accepts(line: &str) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(line).is_ok()
    }

    #[test]
    fn the_first_special_byte_is_found_exactly() {
        for (word, first) in [
            (*b"abcdefgh", None),
            (*b"abc\"efgh", Some(3)),
            (*b"\"\"\"\"\"\"\"\"", Some(0)),
            (*b"abcdefg\\", Some(7)),
            (*b"a\x1fcd\"fgh", Some(1)),
            (*b"ab\x00d\"fgh", Some(2)),
            (*b"abcd\xc3\xa9gh", Some(4)),
            (*b"\x01\"\x01\"abcd", Some(0)),
            (*b"ab !#~\x7f ", None),
        ] {
            let m = special(u64::from_le_bytes(word));
            let found = (m != 0).then(|| m.trailing_zeros() as usize / 8);
            assert_eq!(found, first, "{word:?}");
        }
    }

    proptest! {
        /// Both fast scans stop exactly where the byte rule says.
        #[test]
        fn skip_plain_stops_at_the_first_special_byte(b in prop::collection::vec(prop_oneof![
            8 => 0x20u8..0x7f, 1 => Just(b'"'), 1 => Just(b'\\'), 1 => any::<u8>()
        ], 0..80), from in 0usize..80) {
            let from = from.min(b.len());
            let looked_at = |c: u8| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c);
            let first = b[from..].iter().position(|&c| looked_at(c)).map(|p| from + p);
            let stop = skip_plain(&b, from);
            match first {
                // stops on it, or (within the last 8 bytes) before it
                Some(f) => prop_assert!(stop == f || (stop < f && b.len() - stop < 8), "{stop} {f}"),
                None => prop_assert!(stop <= b.len() && b.len() - stop < 8),
            }
        }
    }

    #[test]
    fn plain_objects_pass() {
        for l in [
            "{}",
            r#"{"a":1}"#,
            r#" {"@timestamp": 1700000000000, "event": {"category": ["process"], "type": "start"}, "n": -0.5, "t": true, "f": false, "z": null, "e": []} "#,
            r#"{"path":"C:\\Windows\\System32\\cmd.exe","q":"say \"hi\"\n\t"}"#,
            r#"{"a":{"b":{"c":[1,[2,{"d":"x"}]]}},"winlog2":0,"x.winlog":1}"#,
            r#"{"agent":{"type":"filebeat","x":{"type":1,"type":2}},"agent.type":"x","a":{"agent":1,"agent":2}}"#,
            r#"{"message":"endpoint","agent":{"name":"endpoint"},"x":{"agent.type":"endpoint"}}"#,
        ] {
            assert!(plain(l), "{l}");
            assert!(serde_accepts(l), "{l}");
        }
    }

    #[test]
    fn anything_else_is_left_to_serde() {
        for l in [
            "",
            "[]",
            r#""a""#,
            r#"{"a":1"#,
            r#"{"a":1,}"#,
            r#"{"a":1} x"#,
            r#"{"a" 1}"#,
            r#"{a:1}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":-}"#,
            r#"{"a":1e5}"#,
            r#"{"a":tru}"#,
            r#"{"a":"\u0041"}"#,
            r#"{"a":"\/"}"#,
            r#"{"a":"\x"}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a":"é"}"#,
            r#"{"winlog":{}}"#,
            r#"{"meta.event.name":"x"}"#,
            r#"{"agent":{"type":"endpoint"}}"#,
            r#"{"agent.type":"endpoint"}"#,
            r#"{"data_stream":{"dataset":"endpoint.events.process"}}"#,
            r#"{"data_stream.dataset":"endpoint.events.file"}"#,
            // found by the differential test: flattened by the walk
            r#"{"data_stream.dataset":[{},"endpoint.events.process"]}"#,
            r#"{"data_stream":[{"dataset":"endpoint.events.process"}]}"#,
            r#"{"a":[1,2,]}"#,
            r#"{"agent.type":"a","agent.type":"b"}"#,
            r#"{"agent":{"type":"a","type":"b"}}"#,
            r#"{"data_stream":{},"data_stream":{}}"#,
            r#"{"a":[1 2]}"#,
        ] {
            assert!(!plain(l), "{l}");
        }
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(70), "]".repeat(70));
        assert!(!plain(&deep));
        let ok = format!("{{\"a\":{}1{}}}", "[".repeat(60), "]".repeat(60));
        assert!(plain(&ok));
    }

    /// Keys: random, or names the tests single out.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[a-zA-Z.@_]{0,8}",
            1 => prop::sample::select(vec![
                "winlog", "Event", "hits", "agent", "type", "data_stream", "dataset",
                "agent.type", "data_stream.dataset", "meta.event.name", "process",
            ])
            .prop_map(str::to_string),
        ]
    }

    /// Lines of JSON-ish text: valid documents, then bytes cut, doubled or
    /// swapped, so both sides of every test are reached.
    pub(crate) fn line() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("\"endpoint.events.process\"".to_string()),
            Just("\"endpoint\"".to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| f.to_string()),
            "[ -~]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
            "\\PC{0,4}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        ];
        let value = leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((key(), inner), 0..4).prop_map(|kv| {
                    let kv: Vec<String> = kv
                        .into_iter()
                        .map(|(k, v)| format!("{:?}:{v}", k))
                        .collect();
                    format!("{{{}}}", kv.join(","))
                }),
            ]
        });
        let doc = prop::collection::vec((key(), value), 0..5).prop_map(|kv| {
            let kv: Vec<String> = kv
                .into_iter()
                .map(|(k, v)| format!("{:?} : {v}", k))
                .collect();
            format!("{{{}}}", kv.join(", "))
        });
        (doc, any::<usize>(), 0u8..4, any::<u8>()).prop_map(|(d, at, how, byte)| {
            let mut b = d.into_bytes();
            let at = if b.is_empty() { 0 } else { at % b.len() };
            match how {
                0 => {}
                1 => b.truncate(at),
                2 => b.insert(at, byte),
                _ => {
                    if at < b.len() {
                        b[at] = byte;
                    }
                }
            }
            String::from_utf8_lossy(&b).into_owned()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// The promise: whatever the scanner passes, serde accepts as a
        /// JSON object.
        #[test]
        fn what_passes_serde_accepts(l in line()) {
            if plain(&l) {
                prop_assert!(serde_accepts(&l), "{l}");
                prop_assert!(l.trim_start().starts_with('{'), "not an object: {}", l);
            }
        }

        /// And plain documents do pass (the scanner is not trivially false).
        #[test]
        fn plain_documents_pass(kv in prop::collection::vec(("[a-z_]{1,8}", "[ -~]{0,16}", any::<i32>()), 0..8)) {
            let doc: serde_json::Map<String, serde_json::Value> = kv
                .into_iter()
                .filter(|(_, s, _)| !s.contains("endpoint"))
                .flat_map(|(k, s, n)| [
                    (format!("s{k}"), serde_json::Value::from(s)),
                    (format!("n{k}"), serde_json::Value::from(n)),
                ])
                .collect();
            let l = serde_json::to_string(&doc).unwrap_or_default();
            prop_assert!(plain(&l), "{l}");
        }
    }
}
