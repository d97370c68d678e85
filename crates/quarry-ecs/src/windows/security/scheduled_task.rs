//! The task definition of 4698–4702 (`TaskContent`, for 4702
//! `TaskContentNew`) → `winlog.scheduled_task.*`, as Elastic's
//! `scheduled_task.yml` normalises it: the registration URI, principals,
//! settings, triggers and actions, each trigger and action with its
//! canonical `definition` string (`v=1|type=exec|context=…|command=…`).
//! Elastic's agent decodes the XML (`decode_xml`, names lower-cased, an
//! element's attributes and children as one map); quarry parses it here.
//! Lists of objects become, per leaf, the list of its values, which is how
//! Elasticsearch indexes and queries them. XML that does not parse sets
//! nothing (the raw text stays in `winlog.event_data`).

use quarry_event::{Event, Value};
use quick_xml::events::Event as X;

/// An element as `decode_xml` sees it: lower-cased local name, attributes
/// and children together, its own text.
#[derive(Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
    text: String,
}

impl Node {
    /// `decode_xml` makes an element with attributes or children a map; an
    /// element with only text (or none) is a scalar.
    fn is_map(&self) -> bool {
        !self.attrs.is_empty() || !self.children.is_empty()
    }

    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// A key of the map: a child's text, else an attribute; empty is none.
    fn text_of(&self, key: &str) -> Option<&str> {
        let v = match self.child(key) {
            Some(c) => c.text.trim(),
            None => self
                .attrs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim())?,
        };
        (!v.is_empty()).then_some(v)
    }

    fn has(&self, key: &str) -> bool {
        self.child(key).is_some() || self.attrs.iter().any(|(k, _)| k == key)
    }

    fn bool_of(&self, key: &str) -> Option<bool> {
        match self.text_of(key)?.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        }
    }
}

fn parse(xml: &str) -> Option<Node> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Node> = vec![Node::default()];
    loop {
        let ev = reader.read_event().ok()?;
        match ev {
            X::Start(ref e) | X::Empty(ref e) => {
                let name = e.local_name().as_ref().to_lowercase();
                let mut node = Node {
                    name,
                    ..Node::default()
                };
                for a in e.attributes() {
                    let a = a.ok()?;
                    let key = a.key.local_name().as_ref().to_lowercase();
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .ok()?
                        .into_owned();
                    node.attrs.push((key, value));
                }
                if matches!(ev, X::Start(_)) {
                    stack.push(node);
                } else {
                    stack.last_mut()?.children.push(node);
                }
            }
            X::Text(t) => stack.last_mut()?.text.push_str(&t),
            X::CData(t) => stack.last_mut()?.text.push_str(&t),
            X::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    _ => match &*r {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        _ => return None,
                    },
                };
                stack.last_mut()?.text.push(c);
            }
            X::End(_) => {
                let node = stack.pop()?;
                stack.last_mut()?.children.push(node);
            }
            X::Eof => break,
            _ => {}
        }
    }
    // a document cut short leaves elements open: not a task
    if stack.len() != 1 {
        return None;
    }
    stack.pop()?.children.into_iter().find(|n| n.name == "task")
}

/// `%`, `|`, `=`, control characters and DEL as `%XX`, so that values
/// cannot break the definition's syntax.
fn escape(out: &mut String, value: &str) {
    for c in value.chars() {
        let code = c as u32;
        if matches!(c, '%' | '|' | '=') || code < 32 || code == 127 {
            out.push_str(&format!("%{code:02X}"));
        } else {
            out.push(c);
        }
    }
}

fn definition(keys: &[&str], values: &[(&str, String)]) -> String {
    let mut d = String::from("v=1");
    for key in keys {
        d.push('|');
        d.push_str(key);
        d.push('=');
        if let Some((_, v)) = values.iter().find(|(k, _)| k == key) {
            escape(&mut d, v);
        }
    }
    d
}

/// Collects the values of one leaf over a list of objects.
#[derive(Default)]
struct Leaves(Vec<(&'static str, Vec<Value>)>);

impl Leaves {
    fn push(&mut self, path: &'static str, v: impl Into<Value>) {
        let v = v.into();
        match self.0.iter_mut().find(|(p, _)| *p == path) {
            Some((_, vs)) => vs.push(v),
            None => self.0.push((path, vec![v])),
        }
    }

    fn set(self, ev: &mut Event) -> bool {
        let any = !self.0.is_empty();
        for (path, vs) in self.0 {
            ev.set(path, Value::Array(vs));
        }
        any
    }
}

const TRIGGERS: &[(&str, &str)] = &[
    ("boottrigger", "boot"),
    ("wnfstatechangetrigger", "wnf_state_change"),
    ("timetrigger", "time"),
    ("calendartrigger", "calendar"),
    ("logontrigger", "logon"),
    ("registrationtrigger", "registration"),
    ("sessionstatechangetrigger", "session_state_change"),
    ("eventtrigger", "event"),
    ("idletrigger", "idle"),
];

/// Sets `winlog.scheduled_task.*` from a task definition; false if the
/// XML is not a task (malformed, cut short).
pub(super) fn set(ev: &mut Event, xml: &str) -> bool {
    // some exports escape the definition once more (`&lt;?xml …`): it is
    // still the task
    let xml = match xml.trim_start() {
        t if t.starts_with("&lt;") => match quick_xml::escape::unescape(t) {
            Ok(u) => std::borrow::Cow::Owned(u.into_owned()),
            Err(_) => return false,
        },
        t => std::borrow::Cow::Borrowed(t),
    };
    let Some(task) = parse(&xml) else {
        return false;
    };
    let mut out = Leaves::default();
    if let Some(uri) = task
        .child("registrationinfo")
        .and_then(|r| r.text_of("uri"))
    {
        ev.set_id(quarry_event::fid!("winlog.scheduled_task.uri"), uri);
    }
    for p in task
        .child("principals")
        .into_iter()
        .flat_map(|p| p.children("principal"))
        .filter(|p| p.is_map())
    {
        for (key, path) in [
            ("id", "winlog.scheduled_task.principals.id"),
            ("userid", "winlog.scheduled_task.principals.user.identifier"),
            (
                "groupid",
                "winlog.scheduled_task.principals.group.identifier",
            ),
            ("logontype", "winlog.scheduled_task.principals.logon.type"),
            ("runlevel", "winlog.scheduled_task.principals.run_level"),
        ] {
            if let Some(v) = p.text_of(key) {
                out.push(path, v);
            }
        }
    }
    if let Some(s) = task.child("settings").filter(|s| s.is_map()) {
        ev.set(
            "winlog.scheduled_task.settings.enabled",
            s.bool_of("enabled"),
        );
        ev.set_id(
            quarry_event::fid!("winlog.scheduled_task.settings.hidden"),
            s.bool_of("hidden"),
        );
    }
    if let Some(triggers) = task.child("triggers").filter(|t| t.is_map()) {
        // by type in a fixed order, as decode_xml groups elements by name
        for (key, ty) in TRIGGERS {
            for t in triggers.children(key) {
                // an element with only text cannot be a trigger
                if !t.is_map() && !t.text.trim().is_empty() {
                    continue;
                }
                let mut values = vec![("type", ty.to_string())];
                out.push("winlog.scheduled_task.triggers.type", *ty);
                // Task Scheduler's default for an omitted Enabled
                let enabled = if t.has("enabled") {
                    t.bool_of("enabled")
                } else {
                    Some(true)
                };
                if let Some(e) = enabled {
                    out.push("winlog.scheduled_task.triggers.enabled", e);
                    values.push(("enabled", e.to_string()));
                }
                if let Some(r) = t.child("repetition").filter(|r| r.is_map()) {
                    if let Some(v) = r.text_of("interval") {
                        out.push("winlog.scheduled_task.triggers.repetition.interval", v);
                        values.push(("interval", v.to_string()));
                    }
                    if let Some(v) = r.text_of("duration") {
                        out.push("winlog.scheduled_task.triggers.repetition.duration", v);
                        values.push(("duration", v.to_string()));
                    }
                    if let Some(v) = r.bool_of("stopatdurationend") {
                        out.push(
                            "winlog.scheduled_task.triggers.repetition.stop_at_duration_end",
                            v,
                        );
                        values.push(("stop_at_duration_end", v.to_string()));
                    }
                }
                out.push(
                    "winlog.scheduled_task.triggers.definition",
                    definition(
                        &[
                            "type",
                            "enabled",
                            "interval",
                            "duration",
                            "stop_at_duration_end",
                        ],
                        &values,
                    ),
                );
            }
        }
    }
    if let Some(actions) = task.child("actions").filter(|a| a.is_map()) {
        let context = actions.text_of("context");
        for (key, ty) in [("exec", "exec"), ("comhandler", "com_handler")] {
            for a in actions.children(key).filter(|a| a.is_map()) {
                let mut values = vec![("type", ty.to_string())];
                out.push("winlog.scheduled_task.actions.type", ty);
                if let Some(c) = context {
                    out.push("winlog.scheduled_task.actions.context", c);
                    values.push(("context", c.to_string()));
                }
                let fields: &[(&str, &str, &'static str)] = if ty == "exec" {
                    &[
                        (
                            "command",
                            "command",
                            "winlog.scheduled_task.actions.command",
                        ),
                        (
                            "arguments",
                            "arguments",
                            "winlog.scheduled_task.actions.arguments",
                        ),
                        (
                            "workingdirectory",
                            "working_directory",
                            "winlog.scheduled_task.actions.working_directory",
                        ),
                    ]
                } else {
                    &[(
                        "classid",
                        "class_id",
                        "winlog.scheduled_task.actions.class_id",
                    )]
                };
                for (xml_key, def_key, path) in fields {
                    if let Some(v) = a.text_of(xml_key) {
                        out.push(path, v);
                        values.push((def_key, v.to_string()));
                    }
                }
                out.push(
                    "winlog.scheduled_task.actions.definition",
                    definition(
                        &[
                            "type",
                            "context",
                            "command",
                            "arguments",
                            "working_directory",
                            "class_id",
                        ],
                        &values,
                    ),
                );
            }
        }
    }
    out.set(ev);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASK: &str = r#"<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo><URI>\MSOFFICE_</URI></RegistrationInfo>
  <Triggers>
    <TimeTrigger><Repetition><Interval>PT60M</Interval><StopAtDurationEnd>false</StopAtDurationEnd></Repetition><Enabled>true</Enabled></TimeTrigger>
    <BootTrigger />
  </Triggers>
  <Principals><Principal id="Author"><UserId>S-1-5-18</UserId><RunLevel>LeastPrivilege</RunLevel></Principal></Principals>
  <Settings><Enabled>true</Enabled><Hidden>TRUE</Hidden></Settings>
  <Actions Context="Author">
    <Exec><Command>mshta.exe</Command><Arguments>https://x.example/a?b=c&amp;d|e</Arguments></Exec>
    <ComHandler><ClassId>{89D1D0C2-A3CF-490C-ABE3-B86CDE34B047}</ClassId></ComHandler>
  </Actions>
</Task>"#;

    #[test]
    fn task_xml_normalised() {
        let mut ev = Event::default();
        assert!(set(&mut ev, TASK));
        assert_eq!(ev.get_str("winlog.scheduled_task.uri"), Some("\\MSOFFICE_"));
        assert_eq!(
            ev.get("winlog.scheduled_task.triggers.type"),
            Some(&Value::Array(vec!["boot".into(), "time".into()]))
        );
        assert!(ev.has_value(
            "winlog.scheduled_task.triggers.definition",
            "v=1|type=time|enabled=true|interval=PT60M|duration=|stop_at_duration_end=false"
        ));
        assert!(ev.has_value(
            "winlog.scheduled_task.triggers.definition",
            "v=1|type=boot|enabled=true|interval=|duration=|stop_at_duration_end="
        ));
        assert!(ev.has_value(
            "winlog.scheduled_task.actions.definition",
            "v=1|type=exec|context=Author|command=mshta.exe|arguments=https://x.example/a?b%3Dc&d%7Ce|working_directory=|class_id="
        ));
        assert!(ev.has_value(
            "winlog.scheduled_task.actions.class_id",
            "{89D1D0C2-A3CF-490C-ABE3-B86CDE34B047}"
        ));
        assert!(ev.has_value("winlog.scheduled_task.actions.type", "com_handler"));
        assert!(ev.has_value(
            "winlog.scheduled_task.principals.user.identifier",
            "S-1-5-18"
        ));
        assert_eq!(
            ev.get("winlog.scheduled_task.settings.hidden"),
            Some(&Value::Bool(true))
        );
    }

    #[test]
    fn escaped_task_xml_read_as_the_task() {
        let escaped = TASK
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let mut ev = Event::default();
        assert!(set(&mut ev, &escaped));
        assert!(ev.has_value(
            "winlog.scheduled_task.actions.arguments",
            "https://x.example/a?b=c&d|e"
        ));
    }

    #[test]
    fn broken_task_xml_sets_nothing() {
        for xml in [
            "",
            "<Task><Actions>",
            "not xml <",
            "<Other/>",
            "&lt;Task&gt;&bad;",
        ] {
            let mut ev = Event::default();
            assert!(!set(&mut ev, xml), "{xml}");
            assert_eq!(ev.fields().count(), 0, "{xml}");
        }
    }
}
