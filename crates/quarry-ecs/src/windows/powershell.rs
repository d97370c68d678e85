//! PowerShell → ECS, as Elastic's `windows.powershell` (the classic
//! `Windows PowerShell` log: 400, 403, 600, 800) and
//! `windows.powershell_operational` (4103–4106) pipelines map them.
//!
//! Both logs pack much of what they say into one text field of `Key=Value`
//! lines (`param2`/`param3` in the classic log, `ContextInfo` in 4103);
//! the pipelines split it into `winlog.event_data` and then rename the same
//! names to ECS in both data streams, which [`RENAMES`] lists.

use super::{
    DESTINATION_USER, Event, PROCESS, SOURCE_USER, USER, Value, WinRecord, set_array,
    set_command_line, set_pid, set_user,
};
use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

/// Event data name (EventData or a packed `Key=Value` line) → ECS field.
const RENAMES: &[(&str, &str)] = &[
    ("HostId", "process.entity_id"),
    ("HostID", "process.entity_id"),
    ("HostName", "process.title"),
    ("EngineVersion", "powershell.engine.version"),
    ("NewEngineState", "powershell.engine.new_state"),
    ("PreviousEngineState", "powershell.engine.previous_state"),
    ("NewProviderState", "powershell.provider.new_state"),
    ("ProviderName", "powershell.provider.name"),
    ("PipelineId", "powershell.pipeline_id"),
    ("PipelineID", "powershell.pipeline_id"),
    ("RunspaceId", "powershell.runspace_id"),
    ("RunspaceID", "powershell.runspace_id"),
    ("ShellID", "powershell.id"),
    ("HostVersion", "powershell.process.executable_version"),
    ("CommandLine", "powershell.command.value"),
    ("CommandPath", "powershell.command.path"),
    ("CommandName", "powershell.command.name"),
    ("CommandType", "powershell.command.type"),
    ("ScriptBlockId", "powershell.file.script_block_id"),
];

/// Event data name → numeric ECS field (a value that is not a number is
/// left out; the raw text stays in `winlog.event_data`).
const NUMBERS: &[(&str, &str)] = &[
    ("SequenceNumber", "event.sequence"),
    ("DetailTotal", "powershell.total"),
    ("DetailSequence", "powershell.sequence"),
    ("MessageTotal", "powershell.total"),
    ("MessageNumber", "powershell.sequence"),
];

/// The fields of one record: its EventData and the packed lines split out.
struct Fields<'a> {
    rec: &'a WinRecord,
    packed: Vec<(Cow<'a, str>, &'a str)>,
}

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Option<&'a str> {
        self.rec.get(name).or_else(|| {
            self.packed
                .iter()
                .find(|(k, v)| k == name && !v.is_empty())
                .map(|(_, v)| *v)
        })
    }
}

/// Maps a PowerShell record (every id: both pipelines categorise all alike,
/// a process event that starts, ends or informs).
pub(super) fn map(rec: &WinRecord, ev: &mut Event) -> bool {
    let packed_field = match rec.event_id {
        800 => rec.get("param2"),
        600 | 400 | 403 | 500 | 501 | 601 => rec.get("param3"),
        4103 => rec.get("ContextInfo"),
        _ => None,
    };
    let f = Fields {
        rec,
        packed: packed_field.map(split_packed).unwrap_or_default(),
    };
    let mut key = String::with_capacity(48);
    for (k, v) in &f.packed {
        key.clear();
        key.push_str("winlog.event_data.");
        key.push_str(k);
        ev.set(&key, *v);
    }

    set_array(ev, "event.category", &["process"]);
    let ty = match rec.event_id {
        400 | 4105 => "start",
        403 | 4106 => "end",
        _ => "info",
    };
    set_array(ev, "event.type", &[ty]);
    for (name, path) in RENAMES {
        if let Some(v) = f.get(name) {
            ev.set(path, v);
        }
    }
    for (name, path) in NUMBERS {
        set_pid(ev, path, f.get(name));
    }
    if let Some(text) = f.get("ScriptBlockText").map(str::trim) {
        ev.set_id(
            quarry_event::fid!("powershell.file.script_block_text"),
            text,
        );
        set_script_block_hash(ev, text);
        set_script_block_metrics(ev, text);
    }
    set_command_line(ev, &PROCESS, f.get("HostApplication"));
    match rec.event_id {
        800 => set_invocation_details(ev, &CLASSIC_DETAIL, rec.get("param3")),
        4103 => set_invocation_details(ev, &OPERATIONAL_DETAIL, rec.get("Payload")),
        _ => {}
    }
    if let Some(path) = f.get("ScriptName").or_else(|| f.get("Path")) {
        set_script_file(ev, path);
    }

    // the user: the classic log's UserId, the operational log's User; a
    // remote session's ConnectedUser is the source, User the destination
    if rec.event_id >= 4100 {
        ev.set_id(quarry_event::fid!("user.id"), rec.user_sid.as_deref());
    }
    let user = f.get("User").or_else(|| f.get("UserId"));
    match f.get("ConnectedUser").and_then(|c| c.split_once('\\')) {
        Some(_) => {
            set_user(ev, &DESTINATION_USER, user);
            set_user(ev, &SOURCE_USER, f.get("ConnectedUser"));
            set_user(ev, &USER, f.get("ConnectedUser"));
        }
        None => set_user(ev, &USER, user),
    }
    crate::common::add_related(ev, "related.user", &["user.name", "destination.user.name"]);
    true
}

/// Splits packed `Key=Value` text into pairs. Classic-log lines are
/// `\tKey=Value`; a line that does not start a new key continues the value
/// before it (600's multi-line values). 4103's lines are `  Host Name =
/// value`, their keys written without the spaces, as the pipeline does.
fn split_packed(text: &str) -> Vec<(Cow<'_, str>, &str)> {
    let mut pairs: Vec<(Cow<'_, str>, &str)> = Vec::new();
    let mut start_of_value: Option<usize> = None;
    let base = text.as_ptr() as usize;
    for line in text.split('\n') {
        let trimmed = line.trim_start();
        let new_key = trimmed.split_once('=').filter(|(k, _)| {
            let k = k.trim_end();
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_alphanumeric() || c == ' ' || c == '_')
        });
        match new_key {
            Some((k, v)) => {
                let k = k.trim();
                let key = if k.contains(' ') {
                    Cow::Owned(k.replace(' ', ""))
                } else {
                    Cow::Borrowed(k)
                };
                let value = v.trim();
                start_of_value = Some(value.as_ptr() as usize - base);
                pairs.push((key, value));
            }
            None => {
                // continuation: widen the last value to the end of this line
                if let (Some(start), Some(last)) = (start_of_value, pairs.last_mut()) {
                    let end = line.as_ptr() as usize - base + line.len();
                    last.1 = text[start..end].trim_end();
                }
            }
        }
    }
    pairs
}

/// `powershell.file.script_block_hash`, the newer pipeline's fingerprint
/// of a script block, so the same script matches however it was laid out:
/// the text without white space (Java's `\s`), hashed as Elasticsearch's
/// `fingerprint` processor hashes one text field — SHA-1 over a zero byte
/// and the UTF-8 text, in base64.
fn set_script_block_hash(ev: &mut Event, text: &str) {
    use base64::Engine as _;
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r'))
        .collect();
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(&[0]);
    sha1.update(compact.as_bytes());
    ev.set(
        "powershell.file.script_block_hash",
        base64::engine::general_purpose::STANDARD.encode(sha1.digest().bytes()),
    );
}

/// The newer pipeline's measures of a script block, which rules compare to
/// spot obfuscation: its length, distinct symbols, Shannon entropy (bits,
/// and normalised to the length) and the spread of the symbols' surprisal,
/// over the text before any signature block. A block that is only a
/// signature's continuation is not measured. Elastic counts UTF-16 code
/// units after NFC normalisation; quarry counts characters as written (the
/// same for the text scripts are written in).
fn set_script_block_metrics(ev: &mut Event, text: &str) {
    let script = match text.find("# SIG # Begin signature block") {
        Some(at) if text.len() > at + "# SIG # Begin signature block".len() => &text[..at],
        _ => text,
    };
    if script.is_empty() || is_signature_continuation(script) {
        return;
    }
    // counts in order of first appearance, as the pipeline sums them
    let mut ascii = [0u32; 128];
    let mut order: Vec<char> = Vec::new();
    let mut other: Vec<(char, u32)> = Vec::new();
    let mut length = 0u32;
    for c in script.chars() {
        length += 1;
        if c.is_ascii() {
            let n = &mut ascii[c as usize];
            if *n == 0 {
                order.push(c);
            }
            *n += 1;
        } else if let Some(e) = other.iter_mut().find(|(o, _)| *o == c) {
            e.1 += 1;
        } else {
            order.push(c);
            other.push((c, 1));
        }
    }
    let count = |c: char| {
        if c.is_ascii() {
            ascii[c as usize]
        } else {
            other.iter().find(|(o, _)| *o == c).map_or(0, |e| e.1)
        }
    };
    let len = f64::from(length);
    let (mut entropy, mut variance, mut p_sum) = (0.0f64, 0.0f64, 0.0f64);
    for &c in &order {
        let p = f64::from(count(c)) / len;
        let l2p = p.log2();
        p_sum += p;
        let before = entropy;
        entropy = before + (p / p_sum) * (l2p - before);
        variance += p * (l2p - before) * (l2p - entropy);
    }
    let bits = (-entropy).max(0.0);
    let normalized = if length > 1 {
        (bits / len.log2()).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ev.set(
        "powershell.file.script_block_entropy_bits",
        Value::Float(bits),
    );
    ev.set(
        "powershell.file.script_block_entropy_normalized",
        Value::Float(normalized),
    );
    ev.set(
        "powershell.file.script_block_surprisal_stdev",
        Value::Float(variance.max(0.0).sqrt()),
    );
    ev.set_id(
        quarry_event::fid!("powershell.file.script_block_length"),
        i64::from(length),
    );
    ev.set(
        "powershell.file.script_block_unique_symbols",
        order.len() as i64,
    );
}

/// A block whose second line is `# ` and 64 base64 characters: the middle
/// of a signature split across blocks (its first line may be cut).
fn is_signature_continuation(script: &str) -> bool {
    let mut lines = script.split('\n');
    let (Some(_), Some(second)) = (lines.next(), lines.next()) else {
        return false;
    };
    let second = second.strip_suffix('\r').unwrap_or(second);
    let Some(content) = second.strip_prefix('#') else {
        return false;
    };
    let content = content.strip_prefix(' ').unwrap_or(content);
    content.len() == 64
        && content
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

/// A command invocation detail line, `Type(Command): value`, as the
/// classic log's pipeline (800) and the operational log's (4103) match it.
static CLASSIC_DETAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^:(]+)\(([^)]+)\):\s*(.+)?$").expect("a valid pattern"));
static OPERATIONAL_DETAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^(]+)\(([^)]+)\):\s*(.+)?$").expect("a valid pattern"));
/// A `ParameterBinding` detail's value, `name="X"; value="Y"`.
static PARAMETER_BINDING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^name=(.+);\s*value=(.+)$").expect("a valid pattern"));

/// The pipelines' "command invocation details": each line of `param3`
/// (800) or `Payload` (4103) that reads `Type(Command): value` becomes a
/// detail with its `type`, `related_command` and `value` (a
/// `ParameterBinding` also its parameter's `name`); any other line is a
/// detail with only its `value`. A list of objects, kept as one list per
/// leaf (`powershell.command.invocation_details.value`, …).
fn set_invocation_details(ev: &mut Event, detail: &Regex, text: Option<&str>) {
    let Some(text) = text else {
        return;
    };
    let mut leaves: [(&str, Vec<Value>); 4] = [
        ("powershell.command.invocation_details.type", Vec::new()),
        (
            "powershell.command.invocation_details.related_command",
            Vec::new(),
        ),
        ("powershell.command.invocation_details.name", Vec::new()),
        ("powershell.command.invocation_details.value", Vec::new()),
    ];
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let Some(c) = detail.captures(line) else {
            leaves[3].1.push(Value::from(line));
            continue;
        };
        let (ty, command) = (&c[1], &c[2]);
        let value = c.get(3).map_or("", |m| m.as_str());
        leaves[0].1.push(Value::from(ty));
        leaves[1].1.push(Value::from(command));
        match PARAMETER_BINDING
            .captures(value)
            .filter(|_| ty == "ParameterBinding")
        {
            Some(b) => {
                leaves[2].1.push(Value::from(&b[1]));
                leaves[3].1.push(Value::from(&b[2]));
            }
            None if !value.is_empty() => leaves[3].1.push(Value::from(value)),
            None => {}
        }
    }
    for (path, values) in leaves {
        if !values.is_empty() {
            ev.set(path, Value::Array(values));
        }
    }
}

/// `file.path`, `.name`, `.directory`, `.extension` of a script.
fn set_script_file(ev: &mut Event, path: &str) {
    ev.set_id(quarry_event::fid!("file.path"), path);
    if let Some((dir, name)) = path.rsplit_once('\\') {
        ev.set_id(quarry_event::fid!("file.name"), name);
        ev.set_id(quarry_event::fid!("file.directory"), dir);
        if let Some((_, ext)) = name.rsplit_once('.') {
            ev.set_id(quarry_event::fid!("file.extension"), ext);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_block_measures() {
        let mut ev = Event::default();
        set_script_block_metrics(&mut ev, "aabb");
        assert_eq!(ev.get_i64("powershell.file.script_block_length"), Some(4));
        assert_eq!(
            ev.get_i64("powershell.file.script_block_unique_symbols"),
            Some(2)
        );
        assert_eq!(
            ev.get("powershell.file.script_block_entropy_bits"),
            Some(&Value::Float(1.0))
        );
        assert_eq!(
            ev.get("powershell.file.script_block_entropy_normalized"),
            Some(&Value::Float(0.5))
        );
        let mut sig = Event::default();
        let line = "A".repeat(64);
        set_script_block_metrics(&mut sig, &format!("xyz\r\n# {line}\r\n# more"));
        assert!(!sig.contains("powershell.file.script_block_length"));
    }

    /// Expected values computed independently (Python's hashlib over a
    /// zero byte and the text without white space).
    #[test]
    fn script_block_hash_ignores_layout() {
        let hash = |text: &str| {
            let mut ev = Event::default();
            set_script_block_hash(&mut ev, text);
            ev.get_str("powershell.file.script_block_hash")
                .map(str::to_string)
        };
        let want = Some("DLHg1mGUH9nBEVGjaBIesfmB+3w=".to_string());
        assert_eq!(hash("Write-Host \"hi\"\r\n  Get-Process"), want);
        assert_eq!(hash("Write-Host\"hi\"Get-Process"), want);
        assert_eq!(hash(""), Some("W6k8nbDP+T9StSHXQg5D9u2ieE8=".to_string()));
    }

    #[test]
    fn invocation_details_parsed() {
        let mut ev = Event::default();
        let payload = "CommandInvocation(Out-Null): \"Out-Null\"\r\nParameterBinding(Out-Null): name=\"InputObject\"; value=\"a; value=b\"\r\nnot a detail\r\n";
        set_invocation_details(&mut ev, &OPERATIONAL_DETAIL, Some(payload));
        let list = |p: &str| ev.get(p).cloned().unwrap_or(Value::Null);
        assert_eq!(
            list("powershell.command.invocation_details.type"),
            Value::Array(vec!["CommandInvocation".into(), "ParameterBinding".into()])
        );
        assert_eq!(
            list("powershell.command.invocation_details.name"),
            Value::Array(vec!["\"InputObject\"; value=\"a".into()])
        );
        assert_eq!(
            list("powershell.command.invocation_details.value"),
            Value::Array(vec![
                "\"Out-Null\"".into(),
                "b\"".into(),
                "not a detail".into()
            ])
        );
        let mut none = Event::default();
        set_invocation_details(&mut none, &CLASSIC_DETAIL, Some(""));
        assert_eq!(none.fields().count(), 0);
    }

    #[test]
    fn packed_lines_split_with_continuations() {
        let text = "\tProviderName=Registry\r\n\tNewProviderState=Started\r\n\r\n\tHostApplication=powershell -c \"a\r\nb\"\r\n\tEngineVersion=5.1";
        let pairs = split_packed(text);
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
        assert_eq!(get("ProviderName"), Some("Registry"));
        assert_eq!(get("HostApplication"), Some("powershell -c \"a\r\nb\""));
        assert_eq!(get("EngineVersion"), Some("5.1"));
        let ctx = "        Severity = Informational\r\n        Host Name = ConsoleHost\r\n";
        let pairs = split_packed(ctx);
        assert_eq!(pairs[1], (Cow::Borrowed("HostName"), "ConsoleHost"));
    }
}
