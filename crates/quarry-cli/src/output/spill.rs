//! Items held in a scratch file until their order is known. An event
//! search prints its matches in time order, so it holds every one until
//! the last file is read: held in memory as events, a search printing every
//! event of `../shared/corpus` peaked at 4.8 GB. Here each batch of items
//! (bytes: a search's are packed events) is written, on the reader's thread
//! that made it, to an anonymous temporary file (the OS deletes it when it
//! is closed), and only where each item lies is kept; the items are read
//! back in their order, items that lie side by side in one read. Where no
//! scratch file can be made or written, the items stay in memory.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes read back in one `pread` at most.
const RUN: usize = 1 << 20;

/// The scratch file of one run, shared by the reader's threads.
pub struct Spill {
    file: Option<File>,
    /// Where the next batch goes: each batch takes its range first, so
    /// batches are written side by side without a lock.
    end: AtomicU64,
}

/// Where an item was put.
pub enum Stored {
    At { offset: u64, len: usize },
    Held(Box<[u8]>),
}

impl Spill {
    /// A scratch file in the system's temporary folder (`TMPDIR`), or none.
    pub fn new() -> Spill {
        Spill {
            file: tempfile::tempfile().ok(),
            end: AtomicU64::new(0),
        }
    }

    /// Puts a batch of items away, in one write, each with its key.
    pub fn store<K>(&self, batch: Vec<(K, Vec<u8>)>) -> Vec<(K, Stored)> {
        let held = |batch: Vec<(K, Vec<u8>)>| {
            batch
                .into_iter()
                .map(|(k, line)| (k, Stored::Held(line.into_boxed_slice())))
                .collect()
        };
        let Some(file) = &self.file else {
            return held(batch);
        };
        let mut bytes = Vec::with_capacity(batch.iter().map(|(_, l)| l.len()).sum());
        for (_, line) in &batch {
            bytes.extend_from_slice(line);
        }
        let start = self.end.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        // a failed write (a full disk) leaves a hole no line points into
        if file.write_all_at(&bytes, start).is_err() {
            return held(batch);
        }
        let mut offset = start;
        batch
            .into_iter()
            .map(|(k, line)| {
                let at = Stored::At {
                    offset,
                    len: line.len(),
                };
                offset += line.len() as u64;
                (k, at)
            })
            .collect()
    }

    /// Hands `each` the items in the order given.
    pub fn each_in_order(
        &self,
        items: &[Stored],
        mut each: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let mut buf: Vec<u8> = Vec::new();
        let mut i = 0;
        while let Some(item) = items.get(i) {
            let (start, first_len) = match item {
                Stored::Held(bytes) => {
                    each(bytes)?;
                    i += 1;
                    continue;
                }
                Stored::At { offset, len } => (*offset, *len),
            };
            // the run of items that follow each other in the file
            let (mut end, mut n) = (start + first_len as u64, 1);
            while let Some(Stored::At { offset, len }) = items.get(i + n) {
                if *offset != end || (end - start) as usize + len > RUN {
                    break;
                }
                end += *len as u64;
                n += 1;
            }
            buf.resize((end - start) as usize, 0);
            let file = self.file.as_ref().ok_or_else(|| {
                std::io::Error::other("an item was put in a scratch file that is gone")
            })?;
            file.read_exact_at(&mut buf, start).map_err(|e| {
                std::io::Error::new(e.kind(), format!("reading back the scratch file: {e}"))
            })?;
            let mut at = 0;
            for item in &items[i..i + n] {
                if let Stored::At { len, .. } = item {
                    each(&buf[at..at + len])?;
                    at += len;
                }
            }
            i += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn items_come_back_in_the_order_asked_whatever_order_they_were_stored_in() {
        let spill = Spill::new();
        assert!(spill.file.is_some(), "a scratch file in the temp folder");
        let line = |i: usize| format!("{{\"n\":{i}}}\n").into_bytes();
        // two batches, as two reader threads would store them
        let mut stored = spill.store((0..50).map(|i| (i, line(i))).collect());
        stored.extend(spill.store((50..120).map(|i| (i, line(i))).collect()));
        // one line too long for a run with its neighbours
        stored.extend(spill.store(vec![(120, vec![b'x'; RUN + 1])]));
        // most in file order (runs), some reversed (a line at a time)
        stored.sort_by_key(|(k, _)| if *k < 100 { *k as i64 } else { -(*k as i64) });
        let order: Vec<usize> = stored.iter().map(|(k, _)| *k).collect();
        let lines: Vec<Stored> = stored.into_iter().map(|(_, s)| s).collect();
        let mut out = Vec::new();
        spill.each_in_order(&lines, |b| out.write_all(b)).unwrap();
        let want: Vec<u8> = order
            .iter()
            .flat_map(|&i| {
                if i == 120 {
                    vec![b'x'; RUN + 1]
                } else {
                    line(i)
                }
            })
            .collect();
        assert_eq!(out, want);
    }

    #[test]
    fn without_a_scratch_file_items_are_held() {
        let spill = Spill {
            file: None,
            end: AtomicU64::new(0),
        };
        let stored = spill.store(vec![(1, b"b\n".to_vec()), (0, b"a\n".to_vec())]);
        assert!(stored.iter().all(|(_, s)| matches!(s, Stored::Held(_))));
        let lines: Vec<Stored> = stored.into_iter().rev().map(|(_, s)| s).collect();
        let mut out = Vec::new();
        spill.each_in_order(&lines, |b| out.write_all(b)).unwrap();
        assert_eq!(out, b"a\nb\n");
    }
}
