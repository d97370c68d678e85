//! Timestamp parsing and formatting.
//!
//! Written by hand rather than with chrono: the readers parse one timestamp
//! per event on the hot path and only need a handful of fixed shapes
//! (ISO-8601 / RFC 3339 with optional zone, Sysmon's `YYYY-MM-DD hh:mm:ss.fff`).

/// Parses `YYYY-MM-DD[T ]hh:mm:ss[.fraction][Z|±hh:mm]` (zone-less means UTC)
/// or a bare `YYYY-MM-DD`, into nanoseconds since the Unix epoch.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) * 86_400;
    let mut nanos = 0i64;
    let mut i;
    if b.len() > 10 {
        if b[10] != b'T' && b[10] != b't' && b[10] != b' ' {
            return None;
        }
        if b.len() < 16 || b[13] != b':' {
            return None;
        }
        let h = digits(&b[11..13])?;
        let m = digits(&b[14..16])?;
        let mut sec = 0;
        i = 16;
        if b.len() >= 19 && b[16] == b':' {
            sec = digits(&b[17..19])?;
            i = 19;
        }
        if h > 24 || m > 59 || sec > 60 {
            return None;
        }
        secs += h * 3600 + m * 60 + sec;
        if i < b.len() && (b[i] == b'.' || b[i] == b',') {
            i += 1;
            let start = i;
            let mut scale = 100_000_000i64;
            while i < b.len() && b[i].is_ascii_digit() {
                if scale > 0 {
                    nanos += (b[i] - b'0') as i64 * scale;
                    scale /= 10;
                }
                i += 1;
            }
            if i == start {
                return None;
            }
        }
        match b.get(i) {
            None => {}
            Some(b'Z') | Some(b'z') if i + 1 == b.len() => {}
            Some(&sign @ (b'+' | b'-')) => {
                let rest = &b[i + 1..];
                let (oh, om) = match rest.len() {
                    5 if rest[2] == b':' => (digits(&rest[0..2])?, digits(&rest[3..5])?),
                    4 => (digits(&rest[0..2])?, digits(&rest[2..4])?),
                    2 => (digits(rest)?, 0),
                    _ => return None,
                };
                let off = oh * 3600 + om * 60;
                secs += if sign == b'+' { -off } else { off };
            }
            _ => return None,
        }
    }
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// Formats nanoseconds since the epoch as `YYYY-MM-DDThh:mm:ss.fffZ`
/// (more fraction digits only when the value has them).
pub fn format_timestamp(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if frac % 1_000_000 == 0 {
        format!("{base}.{:03}Z", frac / 1_000_000)
    } else if frac % 1000 == 0 {
        format!("{base}.{:06}Z", frac / 1000)
    } else {
        format!("{base}.{frac:09}Z")
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut n = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as i64;
    }
    Some(n)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`); shared by every date parser of quarry's.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a count of days since 1970-01-01, the inverse
/// of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_shapes_the_corpus_uses() {
        let z = parse_timestamp("2021-12-04T21:19:10.604Z").unwrap();
        assert_eq!(parse_timestamp("2021-12-04 21:19:10.604"), Some(z));
        assert_eq!(parse_timestamp("2021-12-04T21:19:10.6040000Z"), Some(z));
        assert_eq!(parse_timestamp("2021-12-04T22:19:10.604+01:00"), Some(z));
        assert_eq!(format_timestamp(z), "2021-12-04T21:19:10.604Z");
        assert_eq!(parse_timestamp("1970-01-01"), Some(0));
        // outside i64 nanoseconds (1678..2262): unknown, not wrapped
        assert_eq!(parse_timestamp("1601-01-01T00:00:00Z"), None);
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "2021",
            "2021-13-01",
            "2021-12-04T2",
            "2021-12-04Tab:cd",
            "2021-12-04T21:19:10.Z",
            "2021-12-04T21:19:10Zjunk",
        ] {
            assert_eq!(parse_timestamp(s), None, "{s}");
        }
    }

    #[test]
    fn round_trips_across_eras() {
        for n in [
            0i64,
            -1,
            1_600_000_000_123_456_789,
            -5_000_000_000_000_000_000,
        ] {
            assert_eq!(parse_timestamp(&format_timestamp(n)), Some(n));
        }
    }
}
