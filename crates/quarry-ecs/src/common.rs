//! ECS helpers every normaliser shares, whatever the source: command
//! lines split into `process.args`, DNS names into their registered
//! domain, DNS record types by name, `related.*` lists. (Path names:
//! [`quarry_event::basename`].)

use quarry_event::{Event, Value};

/// Adds the values of `paths` to the `related.*` list `field`, after what
/// it holds already, each value once (as Elastic's pipelines `append` with
/// `allow_duplicates: false`); an empty list is not set.
pub fn add_related(ev: &mut Event, field: &str, paths: &[&str]) {
    let mut list = match ev.remove(field) {
        Some(Value::Array(a)) => a,
        Some(one) => vec![one],
        None => Vec::new(),
    };
    for path in paths {
        if let Some(v) = ev.get(path)
            && !list.contains(v)
        {
            list.push(v.clone());
        }
    }
    if !list.is_empty() {
        ev.set(field, Value::Array(list));
    }
}

/// Splits a Windows command line into arguments the way
/// `CommandLineToArgvW` does (quotes group, `\"` escapes a quote), which is
/// how winlogbeat fills `process.args`.
pub fn split_command_line(cmd: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut have = false;
    let mut chars = cmd.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let mut n = 1;
                while chars.peek() == Some(&'\\') {
                    chars.next();
                    n += 1;
                }
                if chars.peek() == Some(&'"') {
                    cur.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        chars.next();
                        cur.push('"');
                    }
                } else {
                    cur.extend(std::iter::repeat_n('\\', n));
                }
                have = true;
            }
            '"' => {
                in_quotes = !in_quotes;
                have = true;
            }
            ' ' | '\t' if !in_quotes => {
                if have {
                    args.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            c => {
                cur.push(c);
                have = true;
            }
        }
    }
    if have {
        args.push(cur);
    }
    args
}

/// `dns.question.registered_domain`, `.subdomain`, `.top_level_domain`
/// from the public suffix list, as Elastic's `registered_domain` processor.
pub fn set_domain_parts(ev: &mut Event, name: &str) {
    let name = name.trim_end_matches('.');
    let Some(domain) = psl::domain(name.as_bytes()) else {
        return;
    };
    let (Ok(registered), Ok(suffix)) = (
        std::str::from_utf8(domain.as_bytes()),
        std::str::from_utf8(domain.suffix().as_bytes()),
    ) else {
        return;
    };
    if !domain.suffix().is_known() {
        return;
    }
    ev.set("dns.question.registered_domain", registered);
    ev.set("dns.question.top_level_domain", suffix);
    if let Some(sub) = name
        .strip_suffix(registered)
        .and_then(|s| s.strip_suffix('.'))
        && !sub.is_empty()
    {
        ev.set("dns.question.subdomain", sub);
    }
}

/// A DNS record type's name from its numeric code (as the vendors write
/// it), as Elastic's pipelines name it; an unknown code is kept.
pub fn dns_type(code: &str) -> &str {
    match code {
        "1" => "A",
        "2" => "NS",
        "5" => "CNAME",
        "6" => "SOA",
        "12" => "PTR",
        "15" => "MX",
        "16" => "TXT",
        "28" => "AAAA",
        "33" => "SRV",
        "59" => "CDS",
        "65" => "HTTPS",
        "255" => "ANY",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_like_windows() {
        assert_eq!(
            split_command_line(r#""C:\Windows\system32\notepad.exe" "#),
            vec![r"C:\Windows\system32\notepad.exe"]
        );
        assert_eq!(
            split_command_line(r#"a "b c" d\"e"#),
            vec!["a", "b c", "d\"e"]
        );
        assert!(split_command_line("   ").is_empty());
    }
}
