//! Damaged JSON and JSON lines (issue 14): every class of damage costs the
//! damaged part only, each problem names its file and line, every good
//! record is kept. Fixtures are written by the tests.

mod common;
use common::{file, scratch};
use quarry_read::scan;

/// `n` good JSON lines `{"n":i,…}`.
fn lines(n: i64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            format!(r#"{{"n":{i},"event":{{"category":"process"}},"message":"line {i} {{x}}"}}"#)
                .into_bytes()
        })
        .collect()
}

fn join(ls: &[Vec<u8>], sep: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in ls {
        out.extend_from_slice(l);
        out.extend_from_slice(sep);
    }
    out
}

/// The `n` of every event read, and the problems as text.
fn read(name: &str, bytes: &[u8]) -> (Vec<i64>, Vec<String>) {
    // removed when read returns
    let dir = scratch("bad-json");
    let p = file(&dir, name, bytes);
    let (ns, s) = scan(&[p], |e| e.get_i64("n"));
    (ns, s.problems.iter().map(|p| p.to_string()).collect())
}

fn all_but(n: i64, lost: &[i64]) -> Vec<i64> {
    (0..n).filter(|i| !lost.contains(i)).collect()
}

#[test]
fn json_lines_damage_costs_the_damaged_lines_only() {
    let good = lines(50);
    // truncated line, binary garbage, a NUL run, invalid UTF-8
    let mut ls = good.clone();
    ls[4].truncate(10);
    ls.insert(10, b"\x00\x01\x02\xfe\xff garbage \x1b[31m".to_vec());
    ls[20] = vec![0; 300];
    let (ns, ps) = read("damaged.jsonl", &join(&ls, b"\n"));
    assert_eq!(ns, all_but(50, &[4, 19]), "{ps:?}");
    assert_eq!(ps.len(), 3, "{ps:?}");
    assert!(
        ps[0].contains("damaged.jsonl: line 5: malformed JSON"),
        "{ps:?}"
    );
    assert!(ps[1].contains(": line 11: "), "{ps:?}");
    assert!(ps[2].contains(": line 21: "), "{ps:?}");
    // invalid UTF-8 inside a string: the record kept, the damage said
    let mut ls = good.clone();
    ls[3] = b"{\"n\":3,\"message\":\"bad \xff\xfe bytes\"}".to_vec();
    let (ns, ps) = read("utf8.jsonl", &join(&ls, b"\n"));
    assert_eq!(ns, all_but(50, &[]));
    assert_eq!(ps.len(), 1);
    assert!(ps[0].contains("line 4: invalid UTF-8 replaced"), "{ps:?}");
}

#[test]
fn layout_variants_lose_nothing() {
    let good = lines(30);
    // CRLF, a BOM, no final newline
    for (name, bytes) in [
        ("crlf.jsonl", join(&good, b"\r\n")),
        (
            "bom.jsonl",
            [b"\xEF\xBB\xBF".to_vec(), join(&good, b"\n")].concat(),
        ),
        (
            "nofinal.jsonl",
            join(&good, b"\n").strip_suffix(b"\n").unwrap().to_vec(),
        ),
    ] {
        let (ns, ps) = read(name, &bytes);
        assert_eq!(ns, all_but(30, &[]), "{name}");
        assert!(ps.is_empty(), "{name}: {ps:?}");
    }
    // two documents on one line (a newline missing): both read, said
    let mut ls = good.clone();
    let second = ls.remove(8);
    ls[7].extend_from_slice(&second);
    let (ns, ps) = read("concat.jsonl", &join(&ls, b"\n"));
    assert_eq!(ns, all_but(30, &[]));
    assert!(
        ps.len() == 1 && ps[0].contains("line 8: 2 documents on one line"),
        "{ps:?}"
    );
    // a number beyond f64: the record kept
    let mut ls = good.clone();
    ls[2] = br#"{"n":2,"big":1e400}"#.to_vec();
    let (ns, ps) = read("bignum.jsonl", &join(&ls, b"\n"));
    assert_eq!(ns, all_but(30, &[]));
    assert!(
        ps.len() == 1 && ps[0].contains("line 3: a number beyond"),
        "{ps:?}"
    );
}

#[test]
fn a_damaged_first_line_does_not_decide_the_file() {
    let good = lines(20);
    let body = join(&good, b"\n");
    // cut mid-line (as `split -b` leaves it), a bare number, a bare string,
    // a damaged first object followed by a damaged second one
    let cut = body[7..].to_vec();
    let num = [b"12345\n".to_vec(), body.clone()].concat();
    let text = [b"\"hello\"\n".to_vec(), body.clone()].concat();
    let mut two = good.clone();
    two[0].truncate(9);
    two[1].truncate(9);
    for (name, bytes, lost) in [
        ("cut.jsonl", cut, vec![0]),
        ("num.jsonl", num, vec![]),
        ("text.jsonl", text, vec![]),
        ("two.jsonl", join(&two, b"\n"), vec![0, 1]),
    ] {
        let (ns, ps) = read(name, &bytes);
        assert_eq!(ns, all_but(20, &lost), "{name}: {ps:?}");
        assert!(
            !ps.is_empty() && ps.iter().all(|p| p.contains("line ")),
            "{name}: {ps:?}"
        );
    }
}

#[test]
fn arrays_and_document_streams_resynchronise() {
    let good = lines(40);
    // one bad element in an array (one per line, and pretty-printed)
    let mut ls = good.clone();
    ls[7].truncate(12);
    let mut arr = b"[".to_vec();
    arr.extend(ls.join(&b",\n"[..]));
    arr.push(b']');
    let (ns, ps) = read("array.json", &arr);
    assert_eq!(ns, all_but(40, &[7]), "{ps:?}");
    assert!(ps.len() == 1 && ps[0].contains("line 8 (byte"), "{ps:?}");
    // an array cut mid-way: everything before the cut kept
    let (ns, ps) = read("array-cut.json", &arr[..arr.len() / 2]);
    assert!(
        ns.len() >= 18 && ns == all_but(ns.len() as i64 + 1, &[7]),
        "{ns:?}"
    );
    assert!(
        ps.len() == 2 && ps[1].contains("cut by the end of the file"),
        "{ps:?}"
    );
    // pretty-printed documents one after another, one of them cut
    let mut docs: Vec<Vec<u8>> = good
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_slice(l).unwrap();
            serde_json::to_vec_pretty(&v).unwrap()
        })
        .collect();
    docs[5].truncate(20);
    let n9 = docs[9].len();
    docs[9].truncate(n9 - 3);
    let (ns, ps) = read("pretty.json", &docs.join(&b"\n"[..]));
    assert_eq!(ns, all_but(40, &[5, 9]), "{ps:?}");
    assert_eq!(ps.len(), 2, "{ps:?}");
    // pretty-printed array: nested objects at deeper indentation are no
    // resynchronisation points
    let v: Vec<serde_json::Value> = good
        .iter()
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let mut pretty = serde_json::to_vec_pretty(&v).unwrap();
    // the closing quote of a string lost
    let at = memchr::memmem::find(&pretty, b"line 3 {x}\"").unwrap();
    pretty.remove(at + 10);
    let (ns, ps) = read("pretty-array.json", &pretty);
    assert_eq!(ns, all_but(40, &[3]), "{ps:?}");
    assert_eq!(ps.len(), 1, "{ps:?}");
    // a compact one-line array with a bad element
    let mut one = b"[".to_vec();
    let mut ls = good.clone();
    ls[2] = br#"{"n":2,"x":tru}"#.to_vec();
    one.extend(ls.join(&b","[..]));
    one.push(b']');
    let (ns, ps) = read("one-line.json", &one);
    assert_eq!(ns, all_but(40, &[2]), "{ps:?}");
    assert_eq!(ps.len(), 1, "{ps:?}");
}

#[test]
fn very_long_lines_are_bounded() {
    // a line of 8 MiB among good lines: reported, the rest kept
    let mut ls = lines(10);
    let mut long = b"{\"a\":\"".to_vec();
    long.resize(8 << 20, b'x');
    ls.insert(4, long);
    let (ns, ps) = read("long.jsonl", &join(&ls, b"\n"));
    assert_eq!(ns, all_but(10, &[]));
    assert!(
        ps.len() == 1 && ps[0].contains("line 5: malformed"),
        "{ps:?}"
    );
}

#[test]
fn utf16_is_read_streamed() {
    let body = String::from_utf8(join(&lines(10), b"\r\n")).unwrap();
    let mut le = vec![0xFF, 0xFE];
    le.extend(body.encode_utf16().flat_map(u16::to_le_bytes));
    let mut be = vec![0xFE, 0xFF];
    be.extend(body.encode_utf16().flat_map(u16::to_be_bytes));
    for (name, bytes) in [("le.json", le), ("be.json", be)] {
        let (ns, ps) = read(name, &bytes);
        assert_eq!(ns, all_but(10, &[]), "{name}: {ps:?}");
        assert!(ps.is_empty());
    }
}
