//! Which events an investigation keeps, and which of their fields: the
//! base fields lineage and activity read, and what the rules' pivots ask for.

use crate::{CATEGORIES, Packed, pack};
use quarry_event::Event;
use quarry_lineage::{host_key, is_lifecycle};
use quarry_rules::Rule;
use rustc_hash::FxHashSet;

/// Fields kept of each event for lineage, activity and the common pivots.
const BASE_FIELDS: &[&str] = &[
    "@timestamp",
    "event.category",
    "event.type",
    "event.action",
    "event.code",
    "event.kind",
    "event.dataset",
    "event.outcome",
    "host.id",
    "host.name",
    "process.entity_id",
    "process.pid",
    "process.name",
    "process.executable",
    "process.command_line",
    "process.parent.entity_id",
    "process.parent.pid",
    "process.parent.name",
    "process.parent.executable",
    "process.parent.command_line",
    "user.name",
    "user.domain",
    "user.id",
    "file.path",
    "registry.path",
    "registry.data.strings",
    "destination.ip",
    "destination.port",
    "destination.domain",
    "source.ip",
    "source.port",
    "network.protocol",
    "network.direction",
    "dns.question.name",
    "dns.resolved_ip",
    "url.full",
];

/// Which events an investigation keeps, and which of their fields.
#[derive(Debug, Clone)]
pub struct Retention {
    ids: FxHashSet<quarry_event::FieldId>,
    categories: FxHashSet<Box<str>>,
    codes: FxHashSet<Box<str>>,
}

impl Retention {
    /// Keeps the base fields (`BASE_FIELDS`) and every field the rules' pivots read; keeps
    /// the events of [`CATEGORIES`] and those of any category or event code
    /// a pivot asks for by value (service installs by `event.code: 7045`, …).
    pub fn for_rules<'a>(rules: impl IntoIterator<Item = &'a Rule>) -> Self {
        let mut fields: FxHashSet<Box<str>> = BASE_FIELDS.iter().map(|&f| f.into()).collect();
        let mut categories: FxHashSet<Box<str>> = CATEGORIES.iter().map(|&c| c.into()).collect();
        let mut codes: FxHashSet<Box<str>> = FxHashSet::default();
        for r in rules {
            for inv in &r.investigate {
                for p in inv.providers.iter().flatten() {
                    fields.insert(p.field.as_str().into());
                    if p.excluded || p.value.contains("{{") {
                        continue;
                    }
                    match p.field.as_str() {
                        "event.category" => {
                            categories.insert(p.value.to_ascii_lowercase().into());
                        }
                        "event.code" => {
                            codes.insert(p.value.as_str().into());
                        }
                        _ => {}
                    }
                }
            }
        }
        let ids = fields.iter().map(|f| quarry_event::field_id(f)).collect();
        Retention {
            ids,
            categories,
            codes,
        }
    }

    /// Whether an investigation needs this event: it is on a known host and
    /// of a kept category or event code. Of the `process` category only
    /// starts and ends are kept: Sysmon's process access, image load,
    /// remote thread and tampering events are `process` too, and far more
    /// numerous than what lineage and the pivots read.
    pub fn wants(&self, ev: &Event) -> bool {
        let lifecycle = is_lifecycle(ev);
        let kept = |path: &str, set: &FxHashSet<Box<str>>| {
            ev.get(path).is_some_and(|v| {
                v.iter().any(|x| {
                    // ECS categories are lower-case; codes are digits
                    x.to_text()
                        .is_some_and(|t| set.contains(t.as_ref()) && (t != "process" || lifecycle))
                })
            })
        };
        host_key(ev).is_some()
            && (kept("event.category", &self.categories)
                || (!self.codes.is_empty() && kept("event.code", &self.codes)))
    }

    /// The event slimmed and packed for the pool, with its host key; `None`
    /// when the investigation does not want it — unless `always` (an event a
    /// rule matched: pivots look for the alert's own kind of event).
    pub fn pack(&self, ev: &Event, always: bool) -> Option<(String, Packed)> {
        if !always && !self.wants(ev) {
            return None;
        }
        let host = host_key(ev)?;
        let slim = ev.projected(|id| self.ids.contains(&id));
        Some((host, pack(&slim)))
    }
}
