//! Elasticsearch date math for KQL's date ranges: `now`, an absolute date
//! (ISO-8601, or epoch milliseconds), optionally followed by `||` and
//! operations: `+N<unit>`, `-N<unit>`, `/<unit>` (round), units `y M w d h
//! H m s`. All in UTC (Kibana's `dateFormatTZ` is not applied offline).
//!
//! Rounding follows Elasticsearch's range queries: `gt` and `lte` round up
//! (to the last millisecond of the unit; a date without a time to the end
//! of its day), `gte` and `lt` round down.

use quarry_event::{civil_from_days, days_from_civil};

const MS: i64 = 1_000_000;
const DAY_MS: i64 = 86_400_000;

/// A date expression in nanoseconds since the epoch; `now` is given.
pub fn resolve(expr: &str, now: i64, round_up: bool) -> Option<i64> {
    let s = expr.trim();
    let (mut t, ops, date_only) = if let Some(rest) = s.strip_prefix("now") {
        (now, rest, false)
    } else {
        let (anchor, ops) = match s.split_once("||") {
            Some((a, o)) => (a, o),
            None => (s, ""),
        };
        let a = anchor.trim();
        let t = match quarry_event::parse_timestamp(a) {
            Some(t) => t,
            None => a.parse::<i64>().ok()?.checked_mul(MS)?,
        };
        (t, ops, a.len() == 10 && a.as_bytes().get(4) == Some(&b'-'))
    };
    if date_only && round_up && ops.is_empty() {
        return Some(t + DAY_MS * MS - MS);
    }
    let b = ops.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let op = b[i];
        i += 1;
        match op {
            b'+' | b'-' => {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let n: i64 = if i == start {
                    1
                } else {
                    ops[start..i].parse().ok()?
                };
                let n = if op == b'-' { -n } else { n };
                let unit = *b.get(i)?;
                i += 1;
                t = add(t, n, unit)?;
            }
            b'/' => {
                let unit = *b.get(i)?;
                i += 1;
                let down = round_down(t, unit)?;
                t = if round_up {
                    add(down, 1, unit)? - MS
                } else {
                    down
                };
            }
            _ => return None,
        }
    }
    Some(t)
}

fn add(t: i64, n: i64, unit: u8) -> Option<i64> {
    let fixed = |ms: i64| t.checked_add(n.checked_mul(ms)?.checked_mul(MS)?);
    match unit {
        b's' => fixed(1000),
        b'm' => fixed(60_000),
        b'h' | b'H' => fixed(3_600_000),
        b'd' => fixed(DAY_MS),
        b'w' => fixed(7 * DAY_MS),
        b'M' => add_months(t, n),
        b'y' => add_months(t, n.checked_mul(12)?),
        _ => None,
    }
}

fn add_months(t: i64, n: i64) -> Option<i64> {
    let days = t.div_euclid(DAY_MS * MS);
    let rest = t.rem_euclid(DAY_MS * MS);
    let (y, m, d) = civil_from_days(days);
    let total = y.checked_mul(12)? + (m - 1) + n;
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let d = d.min(days_in_month(ny, nm));
    Some(days_from_civil(ny, nm, d) * DAY_MS * MS + rest)
}

fn round_down(t: i64, unit: u8) -> Option<i64> {
    let floor = |ms: i64| t.div_euclid(ms * MS) * ms * MS;
    let days = t.div_euclid(DAY_MS * MS);
    Some(match unit {
        b's' => floor(1000),
        b'm' => floor(60_000),
        b'h' | b'H' => floor(3_600_000),
        b'd' => floor(DAY_MS),
        // weeks start on Monday; 1970-01-01 was a Thursday
        b'w' => (days - (days + 3).rem_euclid(7)) * DAY_MS * MS,
        b'M' => {
            let (y, m, _) = civil_from_days(days);
            days_from_civil(y, m, 1) * DAY_MS * MS
        }
        b'y' => {
            let (y, _, _) = civil_from_days(days);
            days_from_civil(y, 1, 1) * DAY_MS * MS
        }
        _ => return None,
    })
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_event::{format_timestamp, parse_timestamp};

    fn at(s: &str) -> i64 {
        parse_timestamp(s).expect("a timestamp")
    }

    #[test]
    fn date_math() {
        let now = at("2024-03-31T10:20:30.456Z");
        let r = |e: &str, up: bool| format_timestamp(resolve(e, now, up).expect(e));
        assert_eq!(r("now", false), "2024-03-31T10:20:30.456Z");
        assert_eq!(r("now-1d", false), "2024-03-30T10:20:30.456Z");
        assert_eq!(r("now-1M", false), "2024-02-29T10:20:30.456Z");
        assert_eq!(r("now+1y", false), "2025-03-31T10:20:30.456Z");
        assert_eq!(r("now-2h/d", false), "2024-03-31T00:00:00.000Z");
        assert_eq!(r("now/d", true), "2024-03-31T23:59:59.999Z");
        assert_eq!(r("now/w", false), "2024-03-25T00:00:00.000Z");
        assert_eq!(r("now/M", false), "2024-03-01T00:00:00.000Z");
        assert_eq!(r("2020-01-01", false), "2020-01-01T00:00:00.000Z");
        assert_eq!(r("2020-01-01", true), "2020-01-01T23:59:59.999Z");
        assert_eq!(r("2020-01-31||+1M", false), "2020-02-29T00:00:00.000Z");
        assert_eq!(r("1577836800000", false), "2020-01-01T00:00:00.000Z");
        assert!(resolve("yesterday", now, false).is_none());
        assert!(resolve("now-1x", now, false).is_none());
    }
}
