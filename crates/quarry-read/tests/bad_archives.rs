//! Damaged and hostile containers (issue 14): nesting and decompressed
//! size are bounded and reported, a zip without its central directory or
//! with a damaged member keeps its intact members, a zip inside a zip is
//! opened. Fixtures are written by the tests.

mod common;
use common::{file, scratch};
use flate2::Compression;
use flate2::write::GzEncoder;
use quarry_read::scan;
use std::io::Write;

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(body).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn problems(s: &quarry_read::ReadSummary) -> Vec<String> {
    s.problems.iter().map(|p| p.to_string()).collect()
}

#[test]
fn nested_gzip_is_bounded_and_the_files_beside_it_are_read() {
    let dir = scratch("bad-archives");
    // 1,500 layers (the audit's stack overflow): built layer by layer
    // (stored, not compressed: deflating deflate output grows it)
    let mut bomb = b"{\"n\":9}\n".to_vec();
    for _ in 0..1500 {
        let mut e = GzEncoder::new(Vec::new(), Compression::none());
        e.write_all(&bomb).unwrap();
        bomb = e.finish().unwrap();
    }
    let deep = file(&dir, "deep.json.gz", &bomb);
    let mut ok = b"{\"n\":1}\n".to_vec();
    for _ in 0..3 {
        ok = gz(&ok);
    }
    let fine = file(&dir, "three.json.gz", &ok);
    let (ns, s) = scan(&[deep, fine], |e| e.get_i64("n"));
    assert_eq!(ns, [1]);
    let ps = problems(&s);
    assert!(
        ps.len() == 1 && ps[0].contains("deep.json.gz: containers nested more than 8 deep"),
        "{ps:?}"
    );
}

#[test]
fn a_gzip_bomb_costs_its_bound_then_is_reported() {
    let dir = scratch("bad-archives");
    // good lines, then 1.25 GiB of zeros as concatenated gzip members
    // (each 16 MiB): cheap to build, ~5,000× its size
    let mut bomb = gz(b"{\"n\":1}\n{\"n\":2}\n");
    let zeros = gz(&vec![0u8; 16 << 20]);
    for _ in 0..80 {
        bomb.extend_from_slice(&zeros);
    }
    let p = file(&dir, "bomb.json.gz", &bomb);
    let (ns, s) = scan(&[p], |e| e.get_i64("n"));
    assert_eq!(ns, [1, 2]);
    let ps = problems(&s);
    assert!(
        ps.iter()
            .any(|p| p.contains("bomb.json.gz") && p.contains("decompresses to more than")),
        "{ps:?}"
    );
}

#[test]
fn zips_keep_their_intact_members() {
    let dir = scratch("bad-archives");
    let a: &[u8] = b"{\"n\":1}\n{\"n\":2}\n";
    let b: &[u8] = b"{\"n\":3}\n";
    let c: &[u8] = b"{\"n\":4}\n";
    // a zip inside a zip (and inside a gzip in that zip)
    let inner = zip(&[("b.json", b)]);
    let outer = zip(&[("a.json", a), ("inner.zip", &inner), ("c.json.gz", &gz(c))]);
    let (ns, s) = scan(&[file(&dir, "outer.zip", &outer)], |e| e.get_i64("n"));
    assert_eq!(ns, [1, 2, 3, 4], "{:?}", problems(&s));
    assert!(s.is_clean(), "{:?}", problems(&s));
    // no central directory (the zip cut before it): members read from
    // their local headers, the loss reported
    let whole = zip(&[("a.json", a), ("b.json", b)]);
    let cd = memchr::memmem::rfind(&whole, b"PK\x01\x02")
        .and_then(|_| memchr::memmem::find(&whole, b"PK\x01\x02"))
        .unwrap();
    let (ns, s) = scan(&[file(&dir, "cut.zip", &whole[..cd])], |e| e.get_i64("n"));
    assert_eq!(ns, [1, 2, 3]);
    let ps = problems(&s);
    assert!(
        ps.iter()
            .any(|p| p.contains("cut.zip: zip directory unreadable")),
        "{ps:?}"
    );
    // a damaged member: the others kept, the damaged one named
    let mut bad = zip(&[("a.json", a), ("b.json", b), ("c.json", c)]);
    let at = memchr::memmem::find(&bad, b"b.json").unwrap() + 6 + 4;
    for byte in &mut bad[at..at + 4] {
        *byte ^= 0x55;
    }
    let (ns, s) = scan(&[file(&dir, "damaged.zip", &bad)], |e| e.get_i64("n"));
    let ps = problems(&s);
    assert!(
        ns.contains(&1) && ns.contains(&2) && ns.contains(&4),
        "{ns:?} {ps:?}"
    );
    assert!(
        ps.iter().any(|p| p.contains("damaged.zip!b.json")),
        "{ps:?}"
    );
}

/// A tar of four JSON members, `mN.json` holding `{"n":N}` lines, and
/// where each member's header starts.
fn tar_of_four() -> (Vec<u8>, Vec<usize>) {
    let mut b = tar::Builder::new(Vec::new());
    for n in 1..=4 {
        let body = format!("{{\"n\":{n}}}\n").repeat(40 * n);
        let mut h = tar::Header::new_ustar();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, format!("m{n}.json"), body.as_bytes())
            .unwrap();
    }
    let bytes = b.into_inner().unwrap();
    let mut starts = vec![0];
    for n in 1..4 {
        let size = format!("{{\"n\":{n}}}\n").len() * 40 * n;
        starts.push(starts[n - 1] + 512 + size.div_ceil(512) * 512);
    }
    (bytes, starts)
}

fn members_read(ns: &[i64]) -> Vec<i64> {
    let mut m: Vec<i64> = ns.to_vec();
    m.dedup();
    m
}

/// A damaged member header (a flipped name byte: its checksum fails; or
/// zeroed whole) costs that member only: reading resumes at the next
/// valid header, and the skip is reported with its byte offset. Plain and
/// gzipped alike.
#[test]
fn a_tar_resynchronises_after_a_damaged_header() {
    let dir = scratch("bad-archives");
    let (clean, starts) = tar_of_four();
    let (ns, s) = scan(&[file(&dir, "clean.tar", &clean)], |e| e.get_i64("n"));
    assert_eq!(members_read(&ns), [1, 2, 3, 4]);
    assert!(s.is_clean(), "{:?}", problems(&s));
    for (what, damage) in [("flipped", 0usize), ("zeroed", 1), ("size field", 2)] {
        let mut bad = clean.clone();
        let h = starts[1];
        match damage {
            0 => bad[h + 1] ^= 0x20,
            1 => bad[h..h + 512].fill(0),
            // not octal: the size cannot be read
            _ => bad[h + 124..h + 130].copy_from_slice(b"zz9zz9"),
        }
        for (name, bytes) in [
            (format!("{what}.tar"), bad.clone()),
            (format!("{what}.tar.gz"), gz(&bad)),
        ] {
            let (ns, s) = scan(&[file(&dir, &name, &bytes)], |e| e.get_i64("n"));
            assert_eq!(members_read(&ns), [1, 3, 4], "{name}: {:?}", problems(&s));
            // every line of the members kept is read
            assert_eq!(ns.iter().filter(|n| **n == 4).count(), 160, "{name}");
            let ps = problems(&s);
            assert!(
                ps.iter()
                    .any(|p| p.contains(&name) && p.contains("byte ") && p.contains("resumes")),
                "{name}: {ps:?}"
            );
        }
    }
    // the last header damaged: what comes before is kept, the end reported
    let mut bad = clean.clone();
    bad[starts[3] + 1] ^= 0x20;
    let (ns, s) = scan(&[file(&dir, "last.tar", &bad)], |e| e.get_i64("n"));
    assert_eq!(members_read(&ns), [1, 2, 3]);
    let ps = problems(&s);
    assert!(
        ps.iter()
            .any(|p| p.contains("member 3") && p.contains("no valid header follows")),
        "{ps:?}"
    );
}
