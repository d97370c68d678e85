//! PowerShell → ECS, as Elastic's `windows.powershell` (the classic
//! `Windows PowerShell` log: 400, 403, 600, 800) and
//! `windows.powershell_operational` (4103–4106) pipelines map them.
//!
//! Both logs pack much of what they say into one text field of `Key=Value`
//! lines (`param2`/`param3` in the classic log, `ContextInfo` in 4103);
//! the pipelines split it into `winlog.event_data` and then rename the same
//! names to ECS in both data streams, which [`RENAMES`] lists.

use super::{Event, Value, WinRecord, set_array, set_command_line, set_pid, set_user};
use std::borrow::Cow;

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
    ("ScriptBlockText", "powershell.file.script_block_text"),
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
    set_command_line(ev, "process", f.get("HostApplication"));
    if let Some(path) = f.get("ScriptName").or_else(|| f.get("Path")) {
        set_script_file(ev, path);
    }

    // the user: the classic log's UserId, the operational log's User; a
    // remote session's ConnectedUser is the source, User the destination
    if rec.event_id >= 4100 {
        ev.set("user.id", rec.user_sid.as_deref());
    }
    let user = f.get("User").or_else(|| f.get("UserId"));
    match f.get("ConnectedUser").and_then(|c| c.split_once('\\')) {
        Some(_) => {
            set_user(ev, "destination.user", user);
            set_user(ev, "source.user", f.get("ConnectedUser"));
            set_user(ev, "user", f.get("ConnectedUser"));
        }
        None => set_user(ev, "user", user),
    }
    let related: Vec<Value> = ["user.name", "destination.user.name"]
        .iter()
        .filter_map(|p| ev.get(p).cloned())
        .collect();
    if !related.is_empty() {
        ev.set("related.user", Value::Array(related));
    }
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

/// `file.path`, `.name`, `.directory`, `.extension` of a script.
fn set_script_file(ev: &mut Event, path: &str) {
    ev.set("file.path", path);
    if let Some((dir, name)) = path.rsplit_once('\\') {
        ev.set("file.name", name);
        ev.set("file.directory", dir);
        if let Some((_, ext)) = name.rsplit_once('.') {
            ev.set("file.extension", ext);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
