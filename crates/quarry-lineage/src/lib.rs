//! Process lineage, per host: an index of process lifetimes built from
//! process start and end events (Sysmon 1/5, Security 4688/4689, and any
//! source normalised to ECS `process` start/end), that answers "which
//! process was this?" for any event naming a process — by entity id when the
//! event carries one, else by pid within the process's lifetime on that host
//! — and fills `process.*` and `process.parent.*` from it.
//!
//! All state is per host ([`HostLineage`]), so work partitions by host.

use quarry_ecs::windows::is_derived_host_id;
use quarry_event::entity_key;
use quarry_event::{Event, FieldId, Value, fid};
use rustc_hash::FxHashMap;

/// The host an event belongs to: `host.id` when known, else the lower-cased
/// `host.name` (Windows computer names are case-insensitive). A `host.id`
/// quarry derived from the computer name says no more than the name, which
/// is also what a responder reads in a report: the name keys such hosts
/// (recognised by value, so an alert read back from a file keys as the
/// events it came from).
pub fn host_key(ev: &Event) -> Option<String> {
    let name = text(ev, fid!("host.name"));
    text(ev, fid!("host.id"))
        .filter(|id| !id.is_empty() && !name.is_some_and(|n| is_derived_host_id(id, n)))
        .map(str::to_string)
        .or_else(|| name.map(str::to_ascii_lowercase))
}

/// One process as the evidence knows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Process {
    /// Normalised entity id (braces stripped, upper-case).
    pub entity_key: Option<String>,
    /// The entity id as the source wrote it.
    pub entity_id: Option<String>,
    pub pid: Option<i64>,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub executable: Option<String>,
    pub name: Option<String>,
    pub command_line: Option<String>,
    pub user: Option<String>,
    pub parent_entity_key: Option<String>,
    pub parent_pid: Option<i64>,
    pub parent_executable: Option<String>,
    pub parent_name: Option<String>,
    pub parent_command_line: Option<String>,
}

/// How an event was tied to a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Link {
    /// By `process.entity_id` (Sysmon ProcessGuid, FDR process id, …).
    EntityId,
    /// By pid, to the process whose lifetime on the host holds the event's time.
    PidLifetime,
    /// Not tied to a known process start: only what the event itself says.
    Unlinked,
}

impl Link {
    pub fn as_str(self) -> &'static str {
        match self {
            Link::EntityId => "entity_id",
            Link::PidLifetime => "pid+lifetime",
            Link::Unlinked => "unlinked",
        }
    }
}

// the fields are read by id (`fid!`): lineage reads a dozen of every
// process event
fn s(ev: &Event, id: FieldId) -> Option<String> {
    ev.get_id(id)
        .and_then(Value::to_text)
        .map(|c| c.into_owned())
}

fn int(ev: &Event, id: FieldId) -> Option<i64> {
    ev.get_id(id).and_then(Value::as_i64)
}

fn text(ev: &Event, id: FieldId) -> Option<&str> {
    ev.get_id(id).and_then(Value::as_str)
}

/// Data streams whose events Elastic categorises `process` `start`/`end`
/// without their being a process's start or end: a PowerShell engine or
/// session, a Defender detection, an AppLocker decision (by prefix).
const NOT_LIFECYCLE: &[&str] = &[
    "windows.powershell",
    "windows.windows_defender",
    "windows.applocker_",
];

fn is_type(ev: &Event, ty: &str) -> bool {
    ev.has_value_id(fid!("event.category"), "process")
        && ev.has_value_id(fid!("event.type"), ty)
        // an image load is `process` + `library`, typed `start` for the
        // module, not the process
        && !ev.has_value_id(fid!("event.category"), "library")
        && !text(ev, fid!("event.dataset"))
            .is_some_and(|d| NOT_LIFECYCLE.iter().any(|p| d.starts_with(p)))
}

/// Is this a process start or end event (what lineage is built from)?
pub fn is_lifecycle(ev: &Event) -> bool {
    is_type(ev, "start") || is_type(ev, "end")
}

/// The process lifetimes of one host.
#[derive(Debug, Default)]
pub struct HostLineage {
    procs: Vec<Process>,
    by_entity: FxHashMap<String, usize>,
    /// pid → indexes into `procs`, sorted by start time once built.
    by_pid: FxHashMap<i64, Vec<usize>>,
    ends: Vec<(Option<String>, Option<i64>, i64)>,
    /// Index of each process's children, filled by `build`.
    kids: Vec<Vec<usize>>,
    /// By executable, ASCII-lower-cased: how many processes ran it and the
    /// earliest start among them; filled by `build` (every alert's triage
    /// asks, and a busy host has tens of thousands of processes).
    by_executable: FxHashMap<String, (usize, Option<i64>)>,
}

impl HostLineage {
    /// Records a process start or end event; other events are ignored.
    pub fn observe(&mut self, ev: &Event) {
        if is_type(ev, "start") {
            let p = Process {
                entity_key: s(ev, fid!("process.entity_id")).map(|e| entity_key(&e)),
                entity_id: s(ev, fid!("process.entity_id")),
                pid: int(ev, fid!("process.pid")),
                start: ev.timestamp,
                end: None,
                executable: s(ev, fid!("process.executable")),
                name: s(ev, fid!("process.name")),
                command_line: s(ev, fid!("process.command_line")),
                user: user_of(ev),
                parent_entity_key: s(ev, fid!("process.parent.entity_id")).map(|e| entity_key(&e)),
                parent_pid: int(ev, fid!("process.parent.pid")),
                parent_executable: s(ev, fid!("process.parent.executable")),
                parent_name: s(ev, fid!("process.parent.name")),
                parent_command_line: s(ev, fid!("process.parent.command_line")),
            };
            let i = self.procs.len();
            if let Some(k) = &p.entity_key {
                self.by_entity.insert(k.clone(), i);
            }
            if let Some(pid) = p.pid {
                self.by_pid.entry(pid).or_default().push(i);
            }
            self.procs.push(p);
        } else if is_type(ev, "end")
            && let Some(t) = ev.timestamp
        {
            self.ends.push((
                s(ev, fid!("process.entity_id")).map(|e| entity_key(&e)),
                int(ev, fid!("process.pid")),
                t,
            ));
        }
    }

    /// Orders the pid index and applies end events; call once after all
    /// events of the host were observed.
    pub fn build(&mut self) {
        let procs = &self.procs;
        for list in self.by_pid.values_mut() {
            list.sort_by_key(|&i| procs[i].start.unwrap_or(i64::MIN));
        }
        let ends = std::mem::take(&mut self.ends);
        for (key, pid, t) in ends {
            let idx = match key.as_ref().and_then(|k| self.by_entity.get(k)) {
                Some(&i) => Some(i),
                None if key.is_none() => pid.and_then(|p| self.pid_candidate(p, t)),
                None => None,
            };
            if let Some(i) = idx {
                let p = &mut self.procs[i];
                if p.end.is_none() && p.start.is_none_or(|s| s <= t) {
                    p.end = Some(t);
                }
            }
        }
        let mut kids = vec![Vec::new(); self.procs.len()];
        for (i, c) in self.procs.iter().enumerate() {
            let parent = match (&c.parent_entity_key, c.parent_pid, c.start) {
                (Some(k), _, _) => self.by_entity.get(k).copied(),
                (None, Some(ppid), Some(t)) => self.pid_candidate(ppid, t),
                _ => None,
            };
            if let Some(pi) = parent.filter(|&pi| pi != i) {
                kids[pi].push(i);
            }
        }
        self.kids = kids;
        let mut by_executable: FxHashMap<String, (usize, Option<i64>)> = FxHashMap::default();
        for p in &self.procs {
            if let Some(exe) = &p.executable {
                let e = by_executable.entry(exe.to_ascii_lowercase()).or_default();
                e.0 += 1;
                e.1 = match (e.1, p.start) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        self.by_executable = by_executable;
        // held for the rest of the run: spare room from growing is freed
        self.procs.shrink_to_fit();
        self.by_entity.shrink_to_fit();
        self.by_pid.shrink_to_fit();
    }

    /// How many of the host's processes ran `exe` (ASCII case aside), and
    /// the earliest start among them (once built).
    pub fn starts_of(&self, exe: &str) -> (usize, Option<i64>) {
        self.by_executable
            .get(&exe.to_ascii_lowercase())
            .copied()
            .unwrap_or_default()
    }

    /// The latest-started process with `pid` whose lifetime holds `t`.
    fn pid_candidate(&self, pid: i64, t: i64) -> Option<usize> {
        let list = self.by_pid.get(&pid)?;
        list.iter().rev().copied().find(|&i| {
            let p = &self.procs[i];
            p.start.is_some_and(|s| s <= t) && p.end.is_none_or(|e| t <= e)
        })
    }

    pub fn by_entity(&self, id: &str) -> Option<&Process> {
        self.by_entity.get(&entity_key(id)).map(|&i| &self.procs[i])
    }

    /// The process that had `pid` at time `t` on this host.
    pub fn by_pid_at(&self, pid: i64, t: i64) -> Option<&Process> {
        self.pid_candidate(pid, t).map(|i| &self.procs[i])
    }

    /// Which process does this event name? By entity id when the event has
    /// one (and then only by it: a pid match with another entity id is a
    /// different process), else by pid and time.
    pub fn resolve(&self, ev: &Event) -> (Option<&Process>, Link) {
        let (i, link) = self.resolve_index(ev);
        (i.map(|i| &self.procs[i]), link)
    }

    /// [`HostLineage::resolve`], as the process's index on this host (see
    /// [`HostLineage::process`]): what callers key per-process state by.
    pub fn resolve_index(&self, ev: &Event) -> (Option<usize>, Link) {
        if let Some(id) = text(ev, fid!("process.entity_id")) {
            return match self.by_entity.get(&entity_key(id)) {
                Some(&i) => (Some(i), Link::EntityId),
                None => (None, Link::Unlinked),
            };
        }
        if let (Some(pid), Some(t)) = (int(ev, fid!("process.pid")), ev.timestamp)
            && let Some(i) = self.pid_candidate(pid, t)
        {
            return (Some(i), Link::PidLifetime);
        }
        (None, Link::Unlinked)
    }

    /// The process at an index returned by [`HostLineage::resolve_index`]
    /// or [`HostLineage::index_of`].
    pub fn process(&self, i: usize) -> Option<&Process> {
        self.procs.get(i)
    }

    /// The parent of a known process, when its own start is in the evidence.
    pub fn parent_of(&self, p: &Process) -> Option<&Process> {
        if let Some(k) = &p.parent_entity_key {
            return self.by_entity.get(k).map(|&i| &self.procs[i]);
        }
        match (p.parent_pid, p.start) {
            (Some(pid), Some(t)) => self.by_pid_at(pid, t),
            _ => None,
        }
    }

    /// The index of a process borrowed from this host's lineage.
    pub fn index_of(&self, p: &Process) -> Option<usize> {
        let base = self.procs.as_ptr() as usize;
        let at = p as *const Process as usize;
        let size = std::mem::size_of::<Process>();
        (at >= base && at < base + self.procs.len() * size).then(|| (at - base) / size)
    }

    /// The direct children of a process: starts whose parent entity id is
    /// its entity id, or (without entity ids) whose parent pid was its pid
    /// while it was alive.
    pub fn children(&self, p: &Process) -> Vec<&Process> {
        self.index_of(p)
            .and_then(|i| self.kids.get(i))
            .map(|ks| ks.iter().map(|&k| &self.procs[k]).collect())
            .unwrap_or_default()
    }

    /// Every descendant of a process, breadth first, each once.
    pub fn descendants(&self, p: &Process) -> Vec<&Process> {
        let mut out: Vec<&Process> = Vec::new();
        let mut seen = rustc_hash::FxHashSet::default();
        let mut queue = vec![p];
        while let Some(cur) = queue.pop() {
            for c in self.children(cur) {
                if let Some(i) = self.index_of(c)
                    && seen.insert(i)
                {
                    out.push(c);
                    queue.push(c);
                }
            }
        }
        out
    }

    /// Parent, grandparent, … as far as the evidence goes (cycles cut).
    pub fn ancestors(&self, p: &Process) -> Vec<&Process> {
        let mut out: Vec<&Process> = Vec::new();
        let mut cur = p;
        while let Some(parent) = self.parent_of(cur) {
            if std::ptr::eq(parent, p)
                || out.iter().any(|q| std::ptr::eq(*q, parent))
                || out.len() > 64
            {
                break;
            }
            out.push(parent);
            cur = parent;
        }
        out
    }

    /// Fills missing `process.*` and `process.parent.*` fields of `ev` from
    /// lineage and says how it was linked. Fields the event already has are
    /// left as they are.
    pub fn enrich(&self, ev: &mut Event) -> Link {
        let (p, link) = self.resolve(ev);
        let Some(p) = p else { return link };
        let parent = self.parent_of(p);
        let fill = |ev: &mut Event, path: &str, v: &Option<String>| {
            if let Some(v) = v {
                ev.set_default(path, v.as_str());
            }
        };
        fill(ev, "process.entity_id", &p.entity_id);
        if let Some(pid) = p.pid {
            ev.set_default("process.pid", pid);
        }
        fill(ev, "process.executable", &p.executable);
        fill(ev, "process.name", &p.name);
        fill(ev, "process.command_line", &p.command_line);
        fill(
            ev,
            "process.parent.executable",
            &p.parent_executable
                .clone()
                .or_else(|| parent.and_then(|q| q.executable.clone())),
        );
        fill(
            ev,
            "process.parent.name",
            &p.parent_name
                .clone()
                .or_else(|| parent.and_then(|q| q.name.clone())),
        );
        fill(
            ev,
            "process.parent.command_line",
            &p.parent_command_line
                .clone()
                .or_else(|| parent.and_then(|q| q.command_line.clone())),
        );
        if let Some(pid) = p.parent_pid {
            ev.set_default("process.parent.pid", pid);
        }
        if let Some(u) = &p.user
            && !ev.contains("user.name")
        {
            match u.split_once('\\') {
                Some((d, n)) => {
                    ev.set("user.domain", d);
                    ev.set("user.name", n);
                }
                None => ev.set("user.name", u.as_str()),
            }
        }
        link
    }

    pub fn len(&self) -> usize {
        self.procs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }
}

fn user_of(ev: &Event) -> Option<String> {
    let name = text(ev, fid!("user.name"))?;
    Some(match text(ev, fid!("user.domain")) {
        Some(d) => format!("{d}\\{name}"),
        None => name.to_string(),
    })
}

/// Lineage of every host seen.
#[derive(Debug, Default)]
pub struct Lineage {
    pub hosts: FxHashMap<String, HostLineage>,
}

impl Lineage {
    /// Builds lineage from events (only process start/end events matter).
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut l = Lineage::default();
        for ev in events {
            if let Some(h) = host_key(ev) {
                l.hosts.entry(h).or_default().observe(ev);
            }
        }
        for h in l.hosts.values_mut() {
            h.build();
        }
        l
    }

    pub fn host(&self, key: &str) -> Option<&HostLineage> {
        self.hosts.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(host: &str, pid: i64, guid: Option<&str>, exe: &str, t: i64) -> Event {
        let mut e = Event::default();
        e.set("host.name", host);
        e.set("event.category", vec!["process"]);
        e.set("event.type", vec!["start"]);
        e.set("process.pid", pid);
        e.set("process.entity_id", guid);
        e.set("process.executable", exe);
        e.set_timestamp(t);
        e
    }

    fn end(host: &str, pid: i64, t: i64) -> Event {
        let mut e = Event::default();
        e.set("host.name", host);
        e.set("event.category", vec!["process"]);
        e.set("event.type", vec!["end"]);
        e.set("process.pid", pid);
        e.set_timestamp(t);
        e
    }

    fn query(host: &str, pid: i64, guid: Option<&str>, t: i64) -> Event {
        let mut e = Event::default();
        e.set("host.name", host);
        e.set("process.pid", pid);
        e.set("process.entity_id", guid);
        e.set_timestamp(t);
        e
    }

    #[test]
    fn pid_reuse_links_to_the_process_alive_at_the_time() {
        let evs = vec![
            start("H", 100, None, "C:\\a.exe", 10),
            end("H", 100, 20),
            start("H", 100, None, "C:\\b.exe", 30),
        ];
        let l = Lineage::from_events(&evs);
        let h = l.host("h").unwrap();
        let exe = |t| {
            h.resolve(&query("H", 100, None, t))
                .0
                .and_then(|p| p.executable.clone())
        };
        assert_eq!(exe(15).as_deref(), Some("C:\\a.exe"));
        assert_eq!(
            exe(25),
            None,
            "between the two lifetimes: no process had the pid"
        );
        assert_eq!(exe(35).as_deref(), Some("C:\\b.exe"));
        assert_eq!(exe(5), None, "before any start");
    }

    #[test]
    fn starts_of_counts_an_executables_processes_and_the_earliest() {
        let evs = vec![
            start("H", 1, None, "C:\\A.exe", 30),
            start("H", 2, None, "c:\\a.EXE", 10),
            start("H", 3, None, "C:\\b.exe", 5),
            start("H", 4, None, "C:\\a.exe", 20),
        ];
        let l = Lineage::from_events(&evs);
        let h = l.host("h").unwrap();
        assert_eq!(h.starts_of("C:\\A.EXE"), (3, Some(10)));
        assert_eq!(h.starts_of("C:\\b.exe"), (1, Some(5)));
        assert_eq!(h.starts_of("C:\\c.exe"), (0, None));
    }

    #[test]
    fn entity_id_is_authoritative() {
        let evs = vec![start("H", 100, Some("{aa-bb}"), "C:\\a.exe", 10)];
        let l = Lineage::from_events(&evs);
        let h = l.host("h").unwrap();
        assert_eq!(
            h.resolve(&query("H", 100, Some("AA-BB"), 11)).1,
            Link::EntityId
        );
        // same pid, another entity id: a different process, not linked by pid
        assert_eq!(
            h.resolve(&query("H", 100, Some("{cc}"), 11)).1,
            Link::Unlinked
        );
    }

    #[test]
    fn ancestors_and_descendants() {
        let mut a = start("H", 1, Some("{A}"), "C:\\dns.exe", 1);
        a.set("process.parent.entity_id", "{ROOT}");
        let mut b = start("H", 2, Some("{B}"), "C:\\cmd.exe", 2);
        b.set("process.parent.entity_id", "{a}");
        let mut c = start("H", 3, Some("{C}"), "C:\\whoami.exe", 3);
        c.set("process.parent.entity_id", "{B}");
        let l = Lineage::from_events(&[a, b, c]);
        let h = l.host("h").unwrap();
        let dns = h.by_entity("A").unwrap();
        let names: Vec<_> = h
            .descendants(dns)
            .iter()
            .map(|p| p.executable.clone().unwrap())
            .collect();
        assert_eq!(names, vec!["C:\\cmd.exe", "C:\\whoami.exe"]);
        let who = h.by_entity("C").unwrap();
        let up: Vec<_> = h
            .ancestors(who)
            .iter()
            .map(|p| p.executable.clone().unwrap())
            .collect();
        assert_eq!(up, vec!["C:\\cmd.exe", "C:\\dns.exe"]);
    }

    #[test]
    fn lineage_is_per_host() {
        let evs = vec![start("H1", 100, None, "C:\\a.exe", 10)];
        let l = Lineage::from_events(&evs);
        assert!(l.host("h2").is_none());
        assert_eq!(
            l.host("h1").unwrap().resolve(&query("H1", 100, None, 11)).1,
            Link::PidLifetime
        );
    }

    #[test]
    fn image_loads_and_detections_are_not_process_starts() {
        let proc_start = start("h", 1, Some("{A}"), "C:\\x.exe", 1);
        assert!(is_lifecycle(&proc_start));
        let mut image_load = proc_start.clone();
        image_load.set("event.category", vec!["process", "library"]);
        image_load.set("event.type", vec!["change", "start"]);
        assert!(!is_lifecycle(&image_load));
        let mut detection = proc_start.clone();
        detection.set("event.dataset", "windows.windows_defender");
        assert!(!is_lifecycle(&detection));
        let mut sysmon = proc_start;
        sysmon.set("event.dataset", "windows.sysmon_operational");
        assert!(is_lifecycle(&sysmon));
    }

    #[test]
    fn derived_host_ids_key_by_name() {
        let mut ev = Event::default();
        ev.set("host.name", "WS1.corp.example");
        ev.set(
            "host.id",
            quarry_ecs::windows::derived_host_id("WS1.corp.example"),
        );
        assert_eq!(host_key(&ev).as_deref(), Some("ws1.corp.example"));
        ev.set("host.id", "agent-id-1");
        assert_eq!(host_key(&ev).as_deref(), Some("agent-id-1"));
    }
}
