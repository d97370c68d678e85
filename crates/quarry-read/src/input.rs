//! Inputs: expanding paths, folders and globs into files, opening
//! containers, and recognising formats from their first bytes.

use crate::limits::{Limits, limits, show_bytes};
use crate::{Problem, ReadSummary, Sink, evtx_file, json_stream};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// How many leading bytes format recognition looks at (tar's magic is at
/// 257; a damaged first line of JSON lines may run to a few KiB).
const MAGIC: usize = 64 << 10;

/// Container members that hold no evidence: macOS resource forks that zip
/// tools add beside every file.
fn is_metadata_member(name: &str) -> bool {
    name.starts_with("__MACOSX/") || name.rsplit('/').next().is_some_and(|b| b.starts_with("._"))
}

/// Expands inputs into the files to read: folders recursively (sorted, so
/// runs are reproducible), globs, plain files. Missing inputs are problems.
pub fn discover(inputs: &[PathBuf]) -> (Vec<PathBuf>, Vec<Problem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for input in inputs {
        let s = input.to_string_lossy();
        if s == STDIN {
            files.push(input.clone());
        } else if input.is_dir() {
            let before = files.len();
            walk_files(input, |_| true, &mut files, &mut problems);
            if files.len() == before {
                problems.push(problem(input, "", "folder holds no files"));
            }
        } else if input.is_file() {
            files.push(input.clone());
        } else if input.exists() {
            problems.push(problem(input, "", NOT_REGULAR));
        } else if s.contains(['*', '?', '[']) {
            match glob::glob(&s) {
                Ok(paths) => {
                    let before = files.len();
                    for p in paths.flatten() {
                        if p.is_dir() {
                            walk_files(&p, |_| true, &mut files, &mut problems);
                        } else if p.is_file() {
                            files.push(p);
                        } else {
                            problems.push(problem(&p, "", NOT_REGULAR));
                        }
                    }
                    if files.len() == before {
                        problems.push(problem(input, "", "pattern matches no files"));
                    }
                }
                Err(e) => problems.push(problem(input, "", &format!("bad pattern: {e}"))),
            }
        } else {
            problems.push(problem(input, "", NO_SUCH_INPUT));
        }
    }
    (files, problems)
}

/// The input name that means standard input, as in most Unix tools.
const STDIN: &str = "-";

/// A named input that does not exist: a usage error, as in ripgrep.
pub(crate) const NO_SUCH_INPUT: &str = "no such file or folder";

/// Why a FIFO, socket or device is not read: reading one can block forever
/// or never end.
pub(crate) const NOT_REGULAR: &str =
    "not a regular file or folder (FIFO, socket or device): skipped";

/// The regular files under `dir` that `wanted` accepts, sorted by path,
/// symbolic links followed. The one folder walk of quarry (evidence and
/// rule folders alike): a link that loops back to a folder above it is
/// reported and not followed again, so no file is read twice through it;
/// FIFOs, sockets and devices are reported and skipped, never opened.
pub fn walk_files(
    dir: &Path,
    wanted: impl Fn(&Path) -> bool,
    files: &mut Vec<PathBuf>,
    problems: &mut Vec<Problem>,
) {
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_dir() => {}
            Ok(e) if e.file_type().is_file() => {
                if wanted(e.path()) {
                    files.push(e.into_path());
                }
            }
            Ok(e) => problems.push(problem(e.path(), "", NOT_REGULAR)),
            Err(e) => {
                let at = e.path().unwrap_or(dir).to_path_buf();
                let why = match (e.loop_ancestor(), e.io_error()) {
                    (Some(a), _) => {
                        format!("symbolic link loops back to {}: not followed", a.display())
                    }
                    (None, Some(io)) if io.raw_os_error() == Some(36) => format!(
                        "cannot list folder: its path is longer than the system allows \
                         (PATH_MAX); what is below it is not read ({io})"
                    ),
                    (None, Some(io)) => format!("cannot list folder: {io}"),
                    (None, None) => e.to_string(),
                };
                problems.push(problem(&at, "", &why));
            }
        }
    }
}

pub(crate) fn problem(file: &Path, location: &str, message: &str) -> Problem {
    Problem {
        file: file.display().to_string(),
        location: location.to_string(),
        message: message.to_string(),
    }
}

/// Reads one file of any supported format. `many` says other files are
/// being read in parallel (so one EVTX file should not take every core).
pub(crate) fn read_path<T: Send>(
    path: &Path,
    many: bool,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    s.files += 1;
    if path.as_os_str() == STDIN {
        // streamed: JSON lines, gzip and tar as they come; EVTX buffered
        let stdin = std::io::stdin().lock();
        let mut reader = BufReader::with_capacity(1 << 20, stdin);
        return match reader.fill_buf() {
            Ok(b) => {
                let magic = b.get(..MAGIC).unwrap_or(b).to_vec();
                // a stream has no size on disk: the least expansion bound
                read_stream("<stdin>", Box::new(reader), &magic, Nest::new(0), s, sink)
            }
            Err(e) => s.unreadable("<stdin>", format!("cannot read: {e}")),
        };
    }
    let name = path.display().to_string();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            s.unreadable(&path.display().to_string(), format!("cannot open: {e}"));
            return;
        }
    };
    s.bytes += file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let magic = match reader.fill_buf() {
        Ok(b) => b.get(..MAGIC).unwrap_or(b).to_vec(),
        Err(e) => {
            s.unreadable(&path.display().to_string(), format!("cannot read: {e}"));
            return;
        }
    };
    let nest = Nest::new(reader.get_ref().metadata().map_or(0, |m| m.len()));
    if magic.starts_with(b"ElfFile\0") {
        drop(reader);
        evtx_file::read_evtx_path(path, &name, many, s, sink);
    } else if magic.starts_with(b"PK\x03\x04") {
        drop(reader);
        match File::open(path) {
            Ok(f) => read_zip(&name, f, nest, s, sink),
            Err(e) => s.unreadable(&name, format!("cannot open: {e}")),
        }
    } else if let Some(map) = map_json(&magic, reader.get_ref()) {
        json_stream::read_json(&name, &map[..], Some(&map[..]), s, sink);
    } else {
        read_stream(&name, Box::new(reader), &magic, nest, s, sink);
    }
}

/// Plain JSON text files from this size on are read through a memory map.
const MAP_FROM_BYTES: u64 = 1 << 20;

/// A memory map of a large plain JSON text file (UTF-8: UTF-16 is
/// transcoded, compressed files are streamed), so that its lines are cut
/// and read on the workers straight from the page cache; `None` when the
/// file is small, of another kind, or cannot be mapped (it is then read as
/// a stream).
fn map_json(magic: &[u8], file: &File) -> Option<memmap2::Mmap> {
    let text = magic.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(magic);
    let first = text.iter().find(|b| !b.is_ascii_whitespace())?;
    if !matches!(first, b'{' | b'[') && !json_lines_after_first(magic) {
        return None;
    }
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() < MAP_FROM_BYTES {
        return None;
    }
    // SAFETY: the map is only read. Were the file truncated by another
    // process while read, the read could fault: evidence is not being
    // written while it is examined, and ripgrep maps large files on the
    // same terms.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(file) }.ok()?;
    // the workers read it front to back, a window of blocks at a time
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(map)
}

/// Whether a file's name says it holds evidence (`.evtx`, `.json`, …):
/// unrecognised content is then damage, not a file to skip.
fn named_as_evidence(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let base = lower.trim_end_matches(".gz");
    [".evtx", ".json", ".jsonl", ".ndjson", ".zip"]
        .iter()
        .any(|ext| base.ends_with(ext))
}

/// Text whose first line is not a JSON object but whose next line is: JSON
/// lines cut mid-line (`split -b`) or with a stray first line. Read as
/// JSON lines, the first line reported, rather than lost whole.
fn json_lines_after_first(magic: &[u8]) -> bool {
    let Some(nl) = memchr::memchr(b'\n', magic) else {
        return false;
    };
    let text = |b: &[u8]| b.iter().all(|&c| c >= 0x20 || matches!(c, b'\t' | b'\r'));
    let next = &magic[nl + 1..];
    let next = &next[next
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(next.len())..];
    text(&magic[..nl]) && next.starts_with(b"{\"")
}

/// Where a container's contents are, for its bounds: how deep, and how
/// much the input they come from may decompress to in all.
#[derive(Clone, Copy)]
struct Nest {
    depth: u32,
    budget: u64,
    /// The bounds in force when the input was opened.
    limits: Limits,
}

impl Nest {
    fn new(size_on_disk: u64) -> Nest {
        let limits = limits();
        Nest {
            depth: 0,
            budget: size_on_disk
                .saturating_mul(limits.max_expansion)
                .max(limits.expansion_floor),
            limits,
        }
    }

    /// One container further in; `None` past the archive depth bound.
    fn inner(self) -> Option<Nest> {
        (self.depth < self.limits.max_archive_depth).then_some(Nest {
            depth: self.depth + 1,
            ..self
        })
    }
}

/// Decompressed bytes, bounded: past `left`, reads fail with a message
/// saying so (a bomb costs its limit, then is reported with what it gave).
struct Bounded<R> {
    inner: R,
    left: u64,
    nest: Nest,
}

impl<R: Read> Bounded<R> {
    fn new(inner: R, nest: Nest) -> Bounded<R> {
        Bounded {
            inner,
            left: nest.budget,
            nest,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // at the bound: more is an error only if there is more
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(format!(
                    "decompresses to more than {}, the bound for this input \
                     ({}× its size, at least {}: --max-expansion, --expansion-floor)",
                    show_bytes(self.nest.budget),
                    self.nest.limits.max_expansion,
                    show_bytes(self.nest.limits.expansion_floor)
                ))),
            };
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..n])?;
        self.left -= got as u64;
        Ok(got)
    }
}

/// Reads a whole member into memory, up to the member size bound; what
/// was read is returned with the error that stopped it.
fn buffer_member(reader: &mut dyn Read, nest: Nest) -> (Vec<u8>, Option<String>) {
    let bound = nest.limits.max_member_size;
    let mut buf = Vec::new();
    let mut taken = reader.take(bound);
    if let Err(e) = taken.read_to_end(&mut buf) {
        return (buf, Some(format!("read: {e}")));
    }
    let mut probe = [0u8; 1];
    if buf.len() as u64 == bound && matches!(reader.read(&mut probe), Ok(1)) {
        let why = format!(
            "larger than the {} a member read in memory may take (--max-member-size): \
             the rest skipped",
            show_bytes(bound)
        );
        return (buf, Some(why));
    }
    (buf, None)
}

/// Reads a non-seekable stream (a plain file, a gzip or zip member).
fn read_stream<T: Send>(
    name: &str,
    mut reader: Box<dyn BufRead + '_>,
    magic: &[u8],
    nest: Nest,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    let container = magic.starts_with(&[0x1f, 0x8b])
        || magic.starts_with(b"PK\x03\x04")
        || (magic.len() >= 262 && &magic[257..262] == b"ustar");
    let nest = match (container, nest.inner()) {
        (false, _) => nest,
        (true, Some(inner)) => inner,
        (true, None) => {
            return s.unreadable(
                name,
                format!(
                    "containers nested more than {} deep (--max-archive-depth): not opened further",
                    nest.limits.max_archive_depth
                ),
            );
        }
    };
    if magic.starts_with(&[0x1f, 0x8b]) {
        let gz = Bounded::new(flate2::read::MultiGzDecoder::new(reader), nest);
        let mut inner = BufReader::with_capacity(1 << 20, gz);
        let m = match inner.fill_buf() {
            Ok(b) => b.get(..MAGIC).unwrap_or(b).to_vec(),
            Err(e) => {
                s.unreadable(name, format!("gzip: {e}"));
                return;
            }
        };
        return read_stream(name, Box::new(inner), &m, nest, s, sink);
    }
    if magic.len() >= 262 && &magic[257..262] == b"ustar" {
        return read_tar(name, reader, nest, s, sink);
    }
    if magic.starts_with(b"PK\x03\x04") {
        // a zip inside a container: its directory is at its end, so it is
        // held in memory to be read
        let (buf, error) = buffer_member(&mut reader, nest);
        if let Some(e) = error {
            s.problem(name, "", e);
        }
        return read_zip(name, std::io::Cursor::new(buf), nest, s, sink);
    }
    if magic.starts_with(b"ElfFile\0") {
        // EVTX inside a container: it needs random access, so buffer it.
        let (buf, error) = buffer_member(&mut reader, nest);
        if let Some(e) = error {
            s.problem(name, "", e);
        }
        evtx_file::read_evtx_buffer(buf, name, s, sink);
        return;
    }
    let text_start = magic
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| magic[i]);
    match (magic.get(..3), text_start) {
        (Some([0xEF, 0xBB, 0xBF]), _) | (_, Some(b'{' | b'[')) => {
            json_stream::read_json(name, reader, None, s, sink)
        }
        _ if json_lines_after_first(magic) => json_stream::read_json(name, reader, None, s, sink),
        _ if magic.starts_with(&[0xFF, 0xFE]) || magic.starts_with(&[0xFE, 0xFF]) => {
            // UTF-16 JSON (PowerShell's default encoding): transcoded as it
            // is read (the BOM says which order), never held whole
            let utf8 = encoding_rs_io::DecodeReaderBytesBuilder::new()
                .bom_sniffing(true)
                .build(reader);
            json_stream::read_json(name, BufReader::with_capacity(1 << 20, utf8), None, s, sink)
        }
        _ if magic.is_empty() => s.skip(name, "empty file"),
        // named as evidence but not recognised: damaged evidence, not a stray file
        _ if named_as_evidence(name) => s.unreadable(
            name,
            "named as evidence but its content is not EVTX, JSON, .zip, .tar or .gz: damaged?",
        ),
        _ => s.skip(
            name,
            "not a format quarry reads (expected EVTX, JSON, JSON lines, .zip, .tar or .gz)",
        ),
    }
}

/// A zip archive, each member read as its own input (`archive!member`).
/// Without a readable central directory (a cut or damaged zip), members
/// are read from their local headers, in order.
fn read_zip<R: Read + std::io::Seek, T: Send>(
    name: &str,
    mut file: R,
    nest: Nest,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    let mut zip = match zip::ZipArchive::new(&mut file) {
        Ok(z) => z,
        Err(e) => {
            s.problem(
                name,
                "",
                format!("zip directory unreadable ({e}): members read from their local headers"),
            );
            if let Err(e) = file.seek(std::io::SeekFrom::Start(0)) {
                return s.unreadable(name, format!("cannot read: {e}"));
            }
            return read_zip_stream(name, file, nest, s, sink);
        }
    };
    for i in 0..zip.len() {
        let mut member = match zip.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                s.problem(
                    name,
                    format!("member {i}"),
                    format!("cannot open zip member: {e}"),
                );
                continue;
            }
        };
        read_zip_member(name, &mut member, nest, s, sink);
    }
}

/// One member of a zip, read as its own input unless it is a folder or
/// archive metadata.
fn read_zip_member<T: Send>(
    name: &str,
    member: &mut zip::read::ZipFile<'_, impl Read>,
    nest: Nest,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    let member_name = member.name().unwrap_or_default().to_string();
    if member.is_dir() || is_metadata_member(&member_name) {
        return;
    }
    let mut bounded = Bounded::new(member, nest);
    read_member(
        &format!("{name}!{member_name}"),
        &mut bounded,
        nest,
        s,
        sink,
    );
}

/// A zip read front to back from its local headers.
fn read_zip_stream<R: Read, T: Send>(
    name: &str,
    mut file: R,
    nest: Nest,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    for i in 0.. {
        let mut member = match zip::read::read_zipfile_from_stream(&mut file) {
            Ok(Some(m)) => m,
            Ok(None) => return,
            Err(e) => {
                let why = format!("no further member readable ({e}): the archive ends here");
                return s.problem(name, format!("member {i}"), why);
            }
        };
        read_zip_member(name, &mut member, nest, s, sink);
    }
}

/// A tar archive (usually from `.tar.gz`): each regular member is read as
/// its own input, `archive!member`. A damaged header does not end it:
/// reading resumes at the next 512-byte block that is a valid header
/// (the tar crate stops at the first error, so each resumption is a new
/// `tar::Archive` over the rest of the stream), and the bytes skipped are
/// reported.
fn read_tar<T: Send>(
    name: &str,
    reader: Box<dyn BufRead + '_>,
    nest: Nest,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    let mut stream: Box<dyn Read + '_> = Box::new(reader);
    // bytes of the archive before `stream`, and members met so far
    let mut base = 0u64;
    let mut index = 0usize;
    loop {
        let mut archive = tar::Archive::new(Counted {
            inner: stream,
            read: 0,
        });
        // a zeroed block is damage to step over, not the archive's end
        archive.set_ignore_zeros(true);
        let damage = read_tar_members(name, &mut archive, &mut index, nest, s, sink);
        let counted = archive.into_inner();
        let Some(why) = damage else {
            return;
        };
        let at = base + counted.read;
        stream = counted.inner;
        let location = format!("member {index}, byte {at}");
        match next_tar_header(&mut stream) {
            Ok(Some((skipped, header))) => {
                base = at + skipped;
                s.problem(
                    name,
                    location,
                    format!(
                        "tar: {why}; {skipped} bytes skipped, reading resumes at the next header \
                         (byte {base})"
                    ),
                );
                stream = Box::new(std::io::Cursor::new(header).chain(stream));
                index += 1;
            }
            Ok(None) => {
                let rest = "no valid header follows: rest of the archive skipped";
                return s.problem(name, location, format!("tar: {why}; {rest}"));
            }
            Err(e) => {
                let rest = format!("read error while looking for the next header ({e})");
                return s.problem(name, location, format!("tar: {why}; {rest}"));
            }
        }
    }
}

/// Reads a tar archive's members until its end (`None`) or until damage
/// stops the tar crate (why, `Some`).
fn read_tar_members<R: Read, T: Send>(
    name: &str,
    archive: &mut tar::Archive<R>,
    index: &mut usize,
    nest: Nest,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) -> Option<String> {
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => return Some(e.to_string()),
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => return Some(e.to_string()),
        };
        let i = *index;
        *index += 1;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let member_name = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| format!("member {i}"));
        if is_metadata_member(&member_name) {
            continue;
        }
        read_member(&format!("{name}!{member_name}"), &mut entry, nest, s, sink);
    }
    None
}

/// Counts the bytes read through it: where in the archive damage is.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// The next 512-byte block that is a valid tar header (`ustar` magic and
/// a checksum that matches), with the bytes skipped before it; `None` at
/// the end of the stream.
fn next_tar_header(stream: &mut dyn Read) -> std::io::Result<Option<(u64, Vec<u8>)>> {
    let mut skipped = 0u64;
    let mut block = vec![0u8; 512];
    loop {
        let mut filled = 0;
        while filled < block.len() {
            match stream.read(&mut block[filled..]) {
                Ok(0) => return Ok(None),
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if is_tar_header(&block) {
            return Ok(Some((skipped, block)));
        }
        skipped += 512;
    }
}

/// Whether a block is a tar header: `ustar` at 257 and the checksum at
/// 148 (octal) equal to the sum of the block's bytes, the checksum field
/// counted as spaces.
fn is_tar_header(block: &[u8]) -> bool {
    if block.len() != 512 || &block[257..262] != b"ustar" {
        return false;
    }
    let field = &block[148..156];
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|b| *b == b' ')
        .take_while(u8::is_ascii_digit)
        .collect();
    let Some(said) = std::str::from_utf8(&digits)
        .ok()
        .and_then(|d| u32::from_str_radix(d, 8).ok())
    else {
        return false;
    };
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(*b)
            }
        })
        .sum();
    !digits.is_empty() && sum == said
}

/// Reads one archive member as its own input, recognising its format.
fn read_member<T: Send>(
    name: &str,
    member: &mut dyn Read,
    nest: Nest,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    let mut reader = BufReader::with_capacity(1 << 20, member);
    let magic = match reader.fill_buf() {
        Ok(b) => b.get(..MAGIC).unwrap_or(b).to_vec(),
        Err(e) => return s.unreadable(name, format!("cannot read archive member: {e}")),
    };
    read_stream(name, Box::new(reader), &magic, nest, s, sink);
}

#[cfg(test)]
mod walk_tests {
    use super::*;

    /// A folder deeper than PATH_MAX is reported with its path, and a file
    /// name that is not UTF-8 is read: neither stops the walk.
    #[test]
    #[cfg(target_os = "linux")]
    fn long_paths_are_reported_and_odd_names_read() {
        use std::os::unix::ffi::OsStrExt;
        let scratch = tempfile::Builder::new()
            .prefix("quarry-read-paths-")
            .tempdir()
            .unwrap();
        let dir = scratch.path().to_path_buf();
        let odd = dir.join(std::ffi::OsStr::from_bytes(b"bad\xff\xfename.json"));
        std::fs::write(&odd, "{}\n").unwrap();
        // built with relative steps: the whole path is past what open takes
        let mut deep = dir.join("deep");
        std::fs::create_dir_all(&deep).unwrap();
        let here = std::env::current_dir().unwrap();
        let made = (|| -> std::io::Result<()> {
            std::env::set_current_dir(&deep)?;
            for _ in 0..25 {
                let step = "d".repeat(200);
                std::fs::create_dir(&step)?;
                std::env::set_current_dir(&step)?;
                deep.push(&step);
            }
            std::fs::write("deep.json", "{}\n")
        })();
        std::env::set_current_dir(&here).unwrap();
        made.unwrap();
        let (files, problems) = discover(std::slice::from_ref(&dir));
        assert_eq!(files, [odd]);
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(text.len() == 1 && text[0].contains("PATH_MAX"), "{text:?}");
    }

    /// A symbolic link looping back up is reported and each file found once;
    /// a FIFO is reported, never opened (opening one blocks until a writer
    /// comes).
    #[test]
    #[cfg(unix)]
    fn loops_and_fifos_are_reported_not_followed_or_opened() {
        let scratch = tempfile::Builder::new()
            .prefix("quarry-read-walk-")
            .tempdir()
            .unwrap();
        let dir = scratch.path().to_path_buf();
        let sub = dir.join("a");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("events.json"), "{}\n").unwrap();
        std::os::unix::fs::symlink(&dir, sub.join("up")).unwrap();
        let fifo = sub.join("pipe.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        let (files, problems) = discover(std::slice::from_ref(&dir));
        assert_eq!(files, [sub.join("events.json")]);
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(text.iter().any(|p| p.contains("loops back")), "{text:?}");
        if made.is_ok_and(|s| s.success()) {
            assert!(
                text.iter()
                    .any(|p| p.contains("pipe.json") && p.contains("FIFO")),
                "{text:?}"
            );
            // named directly, or matched by a glob: reported, not opened
            let (files, problems) = discover(std::slice::from_ref(&fifo));
            assert!(files.is_empty() && problems[0].message.contains("FIFO"));
            let glob = PathBuf::from(format!("{}/pipe.*", sub.display()));
            let (files, problems) = discover(&[glob]);
            assert!(files.is_empty(), "{files:?}");
            assert!(problems.iter().any(|p| p.message.contains("FIFO")));
        }
    }
}
