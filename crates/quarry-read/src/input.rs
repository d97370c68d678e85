//! Inputs: expanding paths, folders and globs into files, opening
//! containers, and recognising formats from their first bytes.

use crate::{Problem, ReadSummary, Sink, evtx_file, json_stream};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// How many leading bytes format recognition looks at (tar's magic is at 257).
const MAGIC: usize = 512;

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
        if input.is_dir() {
            let before = files.len();
            walk(input, &mut files, &mut problems);
            if files.len() == before {
                problems.push(problem(input, "", "folder holds no files"));
            }
        } else if input.is_file() {
            files.push(input.clone());
        } else if s.contains(['*', '?', '[']) {
            match glob::glob(&s) {
                Ok(paths) => {
                    let before = files.len();
                    for p in paths.flatten() {
                        if p.is_dir() {
                            walk(&p, &mut files, &mut problems);
                        } else {
                            files.push(p);
                        }
                    }
                    if files.len() == before {
                        problems.push(problem(input, "", "pattern matches no files"));
                    }
                }
                Err(e) => problems.push(problem(input, "", &format!("bad pattern: {e}"))),
            }
        } else {
            problems.push(problem(input, "", "no such file or folder"));
        }
    }
    (files, problems)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<Problem>) {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            problems.push(problem(dir, "", &format!("cannot list folder: {e}")));
            return;
        }
    };
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, files, problems);
        } else if p.is_file() {
            files.push(p);
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
    if magic.starts_with(b"ElfFile\0") {
        drop(reader);
        evtx_file::read_evtx_path(path, &name, many, s, sink);
    } else if magic.starts_with(b"PK\x03\x04") {
        drop(reader);
        read_zip(path, s, sink);
    } else if let Some(map) = map_json(&magic, reader.get_ref()) {
        json_stream::read_json(&name, &map[..], Some(&map[..]), s, sink);
    } else {
        read_stream(&name, Box::new(reader), &magic, s, sink);
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
    if !matches!(first, b'{' | b'[') {
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

/// Reads a non-seekable stream (a plain file, a gzip or zip member).
fn read_stream<T: Send>(
    name: &str,
    mut reader: Box<dyn BufRead + '_>,
    magic: &[u8],
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    if magic.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::read::MultiGzDecoder::new(reader);
        let mut inner = BufReader::with_capacity(1 << 20, gz);
        let m = match inner.fill_buf() {
            Ok(b) => b.get(..MAGIC).unwrap_or(b).to_vec(),
            Err(e) => {
                s.unreadable(name, format!("gzip: {e}"));
                return;
            }
        };
        return read_stream(name, Box::new(inner), &m, s, sink);
    }
    if magic.len() >= 262 && &magic[257..262] == b"ustar" {
        return read_tar(name, reader, s, sink);
    }
    if magic.starts_with(b"ElfFile\0") {
        // EVTX inside a container: it needs random access, so buffer it.
        let mut buf = Vec::new();
        if let Err(e) = reader.read_to_end(&mut buf) {
            s.problems.push(Problem {
                file: name.into(),
                location: String::new(),
                message: format!("read: {e}"),
            });
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
        _ if magic.starts_with(&[0xFF, 0xFE]) || magic.starts_with(&[0xFE, 0xFF]) => {
            // UTF-16 JSON (PowerShell's default encoding): transcode, then read.
            let mut buf = Vec::new();
            if let Err(e) = reader.read_to_end(&mut buf) {
                return s.unreadable(name, format!("read error: {e}"));
            }
            let be = buf.starts_with(&[0xFE, 0xFF]);
            let units: Vec<u16> = buf[2..]
                .chunks_exact(2)
                .map(|c| {
                    if be {
                        u16::from_be_bytes([c[0], c[1]])
                    } else {
                        u16::from_le_bytes([c[0], c[1]])
                    }
                })
                .collect();
            let text = String::from_utf16_lossy(&units);
            json_stream::read_json(name, std::io::Cursor::new(text.into_bytes()), None, s, sink)
        }
        _ if magic.is_empty() => {
            s.problems.push(Problem {
                file: name.into(),
                location: String::new(),
                message: "empty file".into(),
            });
        }
        _ => {
            s.unreadable(
                name,
                "not a format quarry reads (expected EVTX, JSON, JSON lines, .zip, .tar or .gz)",
            );
        }
    }
}

fn read_zip<T: Send>(path: &Path, s: &mut ReadSummary, sink: &mut Sink<'_, T>) {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            s.unreadable(&path.display().to_string(), format!("cannot open: {e}"));
            return;
        }
    };
    let mut zip = match zip::ZipArchive::new(file) {
        Ok(z) => z,
        Err(e) => {
            s.unreadable(
                &path.display().to_string(),
                format!("not a readable zip: {e}"),
            );
            return;
        }
    };
    for i in 0..zip.len() {
        let mut member = match zip.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                s.problems.push(problem(
                    path,
                    &format!("member {i}"),
                    &format!("cannot open zip member: {e}"),
                ));
                continue;
            }
        };
        let member_name = member.name().unwrap_or_default().to_string();
        if member.is_dir() || is_metadata_member(&member_name) {
            continue;
        }
        read_member(
            &format!("{}!{member_name}", path.display()),
            &mut member,
            s,
            sink,
        );
    }
}

/// A tar archive (usually from `.tar.gz`): each regular member is read as
/// its own input, `archive!member`.
fn read_tar<T: Send>(
    name: &str,
    reader: Box<dyn BufRead + '_>,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    let mut archive = tar::Archive::new(reader);
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            s.unreadable(name, format!("not a readable tar archive: {e}"));
            return;
        }
    };
    for (i, entry) in entries.enumerate() {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                s.problems.push(Problem {
                    file: name.into(),
                    location: format!("member {i}"),
                    message: format!("tar: {e}; rest of the archive skipped"),
                });
                return;
            }
        };
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
        read_member(&format!("{name}!{member_name}"), &mut entry, s, sink);
    }
}

/// Reads one archive member as its own input, recognising its format.
fn read_member<T: Send>(
    name: &str,
    member: &mut dyn Read,
    s: &mut ReadSummary,
    sink: &mut Sink<'_, T>,
) {
    let mut reader = BufReader::with_capacity(1 << 20, member);
    let magic = match reader.fill_buf() {
        Ok(b) => b.get(..MAGIC).unwrap_or(b).to_vec(),
        Err(e) => return s.unreadable(name, format!("cannot read archive member: {e}")),
    };
    read_stream(name, Box::new(reader), &magic, s, sink);
}
