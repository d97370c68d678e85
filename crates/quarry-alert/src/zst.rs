//! zstd with one compression and one decompression context per thread:
//! `zstd::bulk`'s one-shot calls create a context each time, which cost
//! more than compressing a small block or alert itself.

use std::cell::RefCell;
use zstd::zstd_safe::{CCtx, DCtx};

thread_local! {
    static CCTX: RefCell<Option<CCtx<'static>>> = const { RefCell::new(None) };
    static DCTX: RefCell<Option<DCtx<'static>>> = const { RefCell::new(None) };
}

/// `data` compressed at `level`, with `dict` as a raw-content dictionary
/// when given; `None` when zstd fails.
pub fn compress(data: &[u8], level: i32, dict: Option<&[u8]>) -> Option<Vec<u8>> {
    CCTX.with_borrow_mut(|c| {
        let c = c.get_or_insert_with(CCtx::create);
        // room for the worst case: zstd writes into it, never past it
        let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(data.len()));
        let done = match dict {
            Some(d) => c.compress_using_dict(&mut out, data, d, level),
            None => c.compress(&mut out, data, level),
        };
        done.ok().map(|_| out)
    })
}

/// What [`compress`] made of `len` bytes, with the same dictionary;
/// `None` when the bytes are not such.
pub fn decompress(bytes: &[u8], len: usize, dict: Option<&[u8]>) -> Option<Vec<u8>> {
    DCTX.with_borrow_mut(|d| {
        let d = d.get_or_insert_with(DCtx::create);
        let mut out = Vec::with_capacity(len);
        let done = match dict {
            Some(dict) => d.decompress_using_dict(&mut out, bytes, dict),
            None => d.decompress(&mut out, bytes),
        };
        done.ok().filter(|&n| n == len).map(|_| out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_and_without_a_dictionary() {
        let dict = b"the rule's guide, repeated in every alert of the rule".repeat(4);
        let text = [&dict[..], b" and this alert's own fields"].concat();
        for d in [None, Some(&dict[..])] {
            let c = compress(&text, 1, d).expect("compresses");
            assert_eq!(decompress(&c, text.len(), d).as_deref(), Some(&text[..]));
            // a wrong length is refused, not truncated
            assert_eq!(decompress(&c, text.len() - 1, d), None);
        }
        assert_eq!(decompress(b"not zstd", 8, None), None);
    }
}
