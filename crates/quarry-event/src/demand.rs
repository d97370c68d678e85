//! What a consumer reads of each event, for readers that can build less
//! than the whole event: an event made [`Event::for_demand`] keeps only the
//! fields its demand wants, so a search for one process name does not pay
//! for the forty fields a Windows record normalises to.
//!
//! Fields under `quarry.` (what the reader counts: unmapped types, bad
//! shapes) are always kept.

use crate::{FieldId, PathMemo};

/// A test of field paths, answered once per field id (see [`PathMemo`]).
pub struct Demand {
    memo: PathMemo,
    test: Box<dyn Fn(&str) -> bool + Send + Sync>,
}

impl Demand {
    /// The fields whose path `test` accepts.
    pub fn new(test: impl Fn(&str) -> bool + Send + Sync + 'static) -> Demand {
        Demand {
            memo: PathMemo::new(),
            test: Box::new(test),
        }
    }

    /// Is field `id` wanted? (Not inlined: every insert of every event
    /// checks for a demand, and most events have none.)
    #[inline(never)]
    pub fn wants(&self, id: FieldId) -> bool {
        self.memo
            .holds(id, |path| path.starts_with("quarry.") || (self.test)(path))
    }
}

impl std::fmt::Debug for Demand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Demand")
    }
}

#[cfg(test)]
mod tests {
    use crate::{Demand, Event, Origin, field_id};
    use std::sync::Arc;

    #[test]
    fn an_event_for_a_demand_keeps_only_what_it_wants() {
        let d = Arc::new(Demand::new(|p| p.starts_with("process.")));
        let mut ev = Event::for_demand(Origin::default(), d);
        ev.set("process.name", "cmd.exe");
        ev.set("host.name", "WS1");
        ev.set("quarry.unmapped_type", "Security/1");
        assert!(ev.wants(field_id("process.pid")));
        assert!(!ev.wants(field_id("user.name")));
        assert_eq!(ev.get_str("process.name"), Some("cmd.exe"));
        assert!(!ev.contains("host.name"));
        assert!(ev.contains("quarry.unmapped_type"));
        // once whole, every field is kept again
        ev.make_whole();
        ev.set("host.name", "WS1");
        assert_eq!(ev.get_str("host.name"), Some("WS1"));
    }
}
