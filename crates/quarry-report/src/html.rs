//! The case as HTML: maud's `html!` templates, which escape every value
//! spliced into text or an attribute, so evidence text (command lines,
//! paths, query names written by an attacker) can only ever be text. The
//! style sheet and the script are this module's constants; nothing is
//! loaded from anywhere when the file is opened.

use crate::gather::{AlertView, Case, severity_rank};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value as J;

const STYLE: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d2733;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}
header nav a{color:#cfe3ff;margin-right:16px}
main{padding:8px 24px 40px}section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:12px 16px;margin:16px 0}
h2{margin:4px 0 10px;font-size:18px}h3{font-size:15px;margin:12px 0 6px}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border-bottom:1px solid #e6e8eb;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eef1f4;position:sticky;top:0}th[data-sort]{cursor:pointer}th.asc::after{content:" ▲"}th.desc::after{content:" ▼"}
td.mono,.mono{font-family:ui-monospace,Consolas,monospace;font-size:12px;word-break:break-all}
.present{color:#1b6b2f}.absent{background:#fde8e8;color:#9b1c1c;font-weight:600}
.sev-critical{color:#fff;background:#7a0b0b}.sev-high{color:#9b1c1c;font-weight:600}.sev-medium{color:#8a5a00}.sev-low{color:#44617b}
.v-escalate{color:#9b1c1c;font-weight:600}.v-consistent{color:#1b6b2f;font-weight:600}.v-unresolved{color:#8a5a00;font-weight:600}
details.alert{border:1px solid #dde1e6;border-radius:4px;margin:6px 0;padding:4px 8px;background:#fcfcfd}
details.alert>summary{cursor:pointer;font-weight:600}
ul.tree,ul.tree ul{list-style:none;padding-left:18px;margin:2px 0}ul.tree li{margin:1px 0}
ul.tree .node{font-family:ui-monospace,Consolas,monospace;font-size:12px}
ul.tree .alerting{background:#fff3c4;border:1px solid #e0b400;padding:0 3px}
.muted{color:#6b7580}.filters{margin:6px 0}.filters input{padding:3px 6px;min-width:260px}
svg.timeline{background:#fafbfc;border:1px solid #e6e8eb}svg.timeline text{font-size:10px;fill:#55606b}
.gaps li{color:#9b1c1c}
#dns-table td{word-break:break-word;max-width:520px}#dns-table td.domain{min-width:180px}
table.triage th{width:190px;background:#f4f6f8}p.triage-hint{font-size:15px}
"#;

/// Sorting and filtering of the tables, and the tree's expand / collapse
/// buttons; `data-ready` on `<body>` says the script ran.
const SCRIPT: &str = r#"
(function(){
function key(td){var v=td.getAttribute('data-sort-value');return v!==null?v:td.textContent.trim();}
function cmp(a,b){var x=parseFloat(a),y=parseFloat(b);if(!isNaN(x)&&!isNaN(y)&&String(x)===a&&String(y)===b)return x-y;return a.localeCompare(b);}
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('thead th[data-sort]').forEach(function(th,i){
    th.addEventListener('click',function(){
      var col=Array.prototype.indexOf.call(th.parentNode.children,th);
      var asc=!th.classList.contains('asc');
      t.querySelectorAll('thead th').forEach(function(h){h.classList.remove('asc','desc');});
      th.classList.add(asc?'asc':'desc');
      var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(r1,r2){var c=cmp(key(r1.cells[col]),key(r2.cells[col]));return asc?c:-c;});
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});
document.querySelectorAll('[data-filter]').forEach(function(box){
  box.hidden=false;
  var t=document.getElementById(box.getAttribute('data-filter'));
  var inputs=box.querySelectorAll('input,select');
  function apply(){
    var shown=0;
    Array.prototype.forEach.call(t.tBodies[0].rows,function(r){
      var ok=true;
      inputs.forEach(function(inp){
        var q=inp.value.trim().toLowerCase();if(!q)return;
        var col=inp.getAttribute('data-col');
        var text=(col===null?r.textContent:r.cells[+col].textContent).toLowerCase();
        if(inp.tagName==='SELECT'?text.trim()!==q:text.indexOf(q)<0)ok=false;
      });
      r.hidden=!ok;if(ok)shown++;
    });
    var c=document.getElementById(box.getAttribute('data-filter')+'-shown');if(c)c.textContent=shown;
  }
  inputs.forEach(function(inp){inp.addEventListener('input',apply);});
});
document.querySelectorAll('[data-tree-toggle]').forEach(function(b){
  b.hidden=false;
  b.addEventListener('click',function(){
    var open=b.getAttribute('data-tree-toggle')==='open';
    b.closest('.tree-box').querySelectorAll('details').forEach(function(d){d.open=open;});
  });
});
document.body.setAttribute('data-ready','1');
})();
"#;

/// A JSON value as text ("" for null).
fn text(v: &J) -> String {
    match v {
        J::Null => String::new(),
        J::String(s) => s.clone(),
        J::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn at<'a>(v: &'a J, path: &[&str]) -> &'a J {
    path.iter().fold(v, |cur, k| &cur[*k])
}

fn verdict_class(v: &str) -> &'static str {
    match v {
        "escalate" => "v-escalate",
        "consistent with crash handling" => "v-consistent",
        _ => "v-unresolved",
    }
}

/// The whole report.
pub fn render(case: &Case) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // no script, style or image from anywhere but this file
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";
                title { "quarry case report" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "quarry case report" }
                    nav {
                        a href="#overview" { "Overview" }
                        a href="#alerts" { "Alerts (" (case.alerts.len()) ")" }
                        a href="#q1018" { "Q1018 DNS (" (case.dns.rows.len()) ")" }
                    }
                }
                main {
                    (overview(case))
                    (alerts(case))
                    (dns(case))
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    page.into_string()
}

fn overview(case: &Case) -> Markup {
    let r = &case.read;
    let first = case.hosts.iter().filter_map(|h| h.first.as_deref()).min();
    let last = case.hosts.iter().filter_map(|h| h.last.as_deref()).max();
    let gaps: Vec<_> = case.hosts.iter().filter(|h| !h.gaps().is_empty()).collect();
    html! {
        section #overview {
            h2 { "Overview" }
            table {
                tbody {
                    tr { th { "evidence" } td.mono { @for i in &case.inputs { div { (i) } } } }
                    tr { th { "alerts from" } td { (case.source) } }
                    tr { th { "read" } td { (r.files) " files (" (format!("{:.1}", r.bytes as f64 / 1e6)) " MB), " (r.events) " events; "
                        (r.problems.len()) " problems, " (r.unreadable) " inputs unreadable"
                        @if r.duplicate_rows > 0 { "; " (r.duplicate_rows) " duplicate Plaso rows merged" } } }
                    tr { th { "time span" } td { (first.unwrap_or("?")) " — " (last.unwrap_or("?")) } }
                    tr { th { "hosts" } td #host-count { (case.hosts.len()) } }
                }
            }
            h3 { "Events per source format" }
            table #formats {
                thead { tr { th { "format" } th { "events" } } }
                tbody { @for (f, n) in &r.formats { tr { td { (f) } td { (n) } } } }
            }
            @if !r.unmapped.is_empty() {
                h3 { "Records of types quarry has no mapping for (kept generic)" }
                table { tbody { @for (t, n) in &r.unmapped { tr { td.mono { (t) } td { (n) } } } } }
            }
            @if !r.problems.is_empty() {
                h3 { "Problems met while reading (" (r.problems.len()) ")" }
                table #problems {
                    thead { tr { th { "file" } th { "where" } th { "problem" } } }
                    tbody { @for p in r.problems.iter().take(case.limits.problems) {
                        tr { td.mono { (p.file) } td { (p.location) } td { (p.message) } }
                    } }
                }
                @if r.problems.len() > case.limits.problems {
                    p.muted { (r.problems.len() - case.limits.problems) " more problems: quarry prints them all on stderr" }
                }
            }
            h3 { "Telemetry per host" }
            @if gaps.is_empty() {
                p { "Every host has process, network, DNS, file, registry and authentication telemetry." }
            } @else {
                p { "Where a host has no telemetry of a kind, answers that need it are " strong { "unresolved, not benign" } ":" }
                ul.gaps #gaps {
                    @for h in &gaps {
                        li data-host=(h.name) { "no " (h.gaps().join(", ")) " telemetry on " (h.name) }
                    }
                }
            }
            table.sortable #hosts {
                thead { tr {
                    th data-sort { "host" } th data-sort { "events" } th data-sort { "first" } th data-sort { "last" }
                    @for (k, _) in case.hosts.first().map(|h| h.telemetry.clone()).unwrap_or_default() { th data-sort { (k) } }
                } }
                tbody { @for h in &case.hosts {
                    tr data-host=(h.name) {
                        td { (h.name) } td { (h.events) }
                        td.mono { (h.first.as_deref().unwrap_or("")) } td.mono { (h.last.as_deref().unwrap_or("")) }
                        @for (k, n) in &h.telemetry {
                            @if *n > 0 { td.present data-kind=(k) data-sort-value=(n) { (n) } }
                            @else { td.absent data-kind=(k) data-sort-value="0" { "absent" } }
                        }
                    }
                } }
            }
        }
    }
}

fn alerts(case: &Case) -> Markup {
    let detailed = case.alerts.iter().filter(|a| a.findings.is_some()).count();
    html! {
        section #alerts {
            h2 { "Alerts (" span #alert-count { (case.alerts.len()) } ")" }
            @if case.alerts.is_empty() {
                p { "No alerts." }
            } @else {
                div.filters data-filter="alert-table" hidden {
                    input type="search" placeholder="filter: rule, host, process, verdict…" aria-label="filter alerts";
                    " severity "
                    select data-col="2" aria-label="severity" {
                        option value="" { "any" } option { "critical" } option { "high" } option { "medium" } option { "low" }
                    }
                    " " span #alert-table-shown { (case.alerts.len()) } " shown"
                }
                table.sortable #alert-table {
                    thead { tr {
                        th data-sort { "#" } th data-sort { "time" } th data-sort { "severity" } th data-sort { "rule" }
                        th data-sort { "host" } th data-sort { "process" } th data-sort { "triage" }
                    } }
                    tbody { @for (i, a) in case.alerts.iter().enumerate() { (alert_row(i + 1, a)) } }
                }
                @if detailed < case.alerts.len() {
                    p.muted { "The " (detailed) " most severe alerts are detailed below; the other " (case.alerts.len() - detailed)
                        " are in the table and in the alerts' NDJSON (quarry investigate shows any one)." }
                }
                @for (i, a) in case.alerts.iter().enumerate() {
                    @if a.findings.is_some() { (alert_detail(i + 1, a, case)) }
                }
            }
        }
    }
}

fn alert_row(n: usize, a: &AlertView) -> Markup {
    let d = &a.doc;
    let sev = text(at(d, &["kibana", "alert", "severity"]));
    let verdict = a
        .triage
        .as_ref()
        .map(|t| text(&t["verdict"]))
        .unwrap_or_default();
    html! {
        tr.alert-row data-alert=(n) {
            td data-sort-value=(n) { @if a.findings.is_some() { a href={ "#alert-" (n) } { (n) } } @else { (n) } }
            td.mono { (text(at(d, &["kibana", "alert", "original_time"]))) }
            td class={ "sev-" (sev) } data-sort-value=(severity_rank(d)) { (sev) }
            td { (text(at(d, &["kibana", "alert", "rule", "name"]))) }
            td { (text(at(d, &["host", "name"]))) }
            td.mono { (text(at(d, &["process", "executable"]))) }
            td class=(verdict_class(&verdict)) { (verdict) }
        }
    }
}

fn alert_detail(n: usize, a: &AlertView, case: &Case) -> Markup {
    let d = &a.doc;
    let f = a.findings.as_ref().unwrap_or(&J::Null);
    html! {
        details.alert #{ "alert-" (n) } data-alert=(n) open[n == 1] {
            summary {
                (n) ". " (text(at(d, &["kibana", "alert", "rule", "name"])))
                " — " span class={ "sev-" (text(at(d, &["kibana", "alert", "severity"]))) } { (text(at(d, &["kibana", "alert", "severity"]))) }
                " on " (text(at(d, &["host", "name"]))) " at " (text(at(d, &["kibana", "alert", "original_time"])))
            }
            p.mono { (text(at(d, &["process", "command_line"]))) }
            h3 { "Triage — the investigation guide, answered" }
            (triage(a.triage.as_ref()))
            h3 { "Process tree" }
            (tree(&f["tree"], n))
            h3 { "Timeline of the process and its descendants" }
            (timeline(&f["timeline"], case.limits.timeline_rows))
            @if let Some(c) = f["coverage"].as_str() { p.absent { (c) } }
            h3 { "Pivots (the rule's investigation guide)" }
            (pivots(&d["quarry"]["investigate"], case.limits.pivot_events))
        }
    }
}

fn triage(t: Option<&J>) -> Markup {
    let Some(t) = t else {
        return html! { p.muted { "Not a process start: the triage questions are asked of process-start alerts." } };
    };
    let verdict = text(&t["verdict"]);
    let rows = [
        ("what", "What was started?"),
        ("identity", "Identity of the binary"),
        ("intent", "Intent of the command line"),
        ("lineage", "Lineage fit"),
        ("follow_on", "Follow-on activity"),
        ("scope", "Scope: other hosts"),
    ];
    html! {
        p.triage-hint class=(verdict_class(&verdict)) data-verdict=(verdict) { (text(&t["hint"])) }
        table.triage {
            tbody { @for (k, label) in rows {
                tr data-question=(k) {
                    th { (label) }
                    td { (text(&t[k]["answer"]))
                        @let evs = t[k]["events"].as_array().cloned().unwrap_or_default();
                        @if !evs.is_empty() {
                            div.muted.mono { @for e in evs.iter().take(5) {
                                div { @if e.is_string() { (text(e)) } @else { (summary_line(e)) } }
                            } }
                        }
                    }
                }
            } }
        }
    }
}

/// A listed event as one line: time, category, process, target, origin.
fn summary_line(e: &J) -> String {
    let target = [
        "dns.question.name",
        "destination.ip",
        "file.path",
        "registry.path",
        "process.command_line",
    ]
    .iter()
    .find_map(|k| e.get(*k).filter(|v| !v.is_null()))
    .map(text)
    .unwrap_or_default();
    [
        text(&e["@timestamp"]),
        text(&e["event.category"]),
        text(&e["process.name"]),
        target,
        text(&e["origin"]),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join("  ")
}

/// The tree as nested lists; a node with children is a `<details>` (open),
/// so it folds without the script too.
fn tree(lines: &J, n: usize) -> Markup {
    let lines: Vec<&J> = lines
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    if lines.is_empty() {
        return html! { p.muted { "The alerting process's start is not in the evidence." } };
    }
    fn node(lines: &[&J], i: usize) -> (Markup, usize) {
        let l = lines[i];
        let depth = l["depth"].as_u64().unwrap_or(0);
        let p = &l["process"];
        let name = p["name"]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                p["executable"]
                    .as_str()
                    .map(|e| e.rsplit(['\\', '/']).next().unwrap_or(e).to_string())
            })
            .unwrap_or_else(|| "?".into());
        let role = text(&l["role"]);
        let label = html! {
            span.node class=@if role == "alert" { "alerting" } data-role=(role) data-name=(name) {
                @if role == "alert" { "▶ " } b { (name) }
                @if !p["pid"].is_null() { " pid " (text(&p["pid"])) }
                @if !p["start"].is_null() { "  " (text(&p["start"])) }
                @if !p["user"].is_null() { "  [" (text(&p["user"])) "]" }
                @if role == "parent" { span.muted { "  (its start is not in the evidence)" } }
                @if !p["command_line"].is_null() { br; span.muted { (text(&p["command_line"])) } }
            }
        };
        // children: the following lines one deeper, until one at this depth or above
        let mut kids = Vec::new();
        let mut j = i + 1;
        while j < lines.len() {
            let dj = lines[j]["depth"].as_u64().unwrap_or(0);
            if dj <= depth {
                break;
            }
            let (m, next) = node(lines, j);
            kids.push(m);
            j = next;
        }
        let m = if kids.is_empty() {
            html! { li { (label) } }
        } else {
            html! { li { details open { summary { (label) } ul { @for k in &kids { (k) } } } } }
        };
        (m, j)
    }
    let mut roots = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (m, next) = node(&lines, i);
        roots.push(m);
        i = next.max(i + 1);
    }
    html! {
        div.tree-box data-alert=(n) {
            button type="button" data-tree-toggle="open" hidden { "expand all" } " "
            button type="button" data-tree-toggle="close" hidden { "collapse all" }
            ul.tree { @for r in &roots { (r) } }
        }
    }
}

/// Lanes of the timeline, top to bottom.
const LANES: &[&str] = &[
    "process",
    "file",
    "registry",
    "network",
    "dns",
    "authentication",
    "other",
];

fn lane_of(row: &J) -> usize {
    let cat = text(&row["category"]);
    let target_is_dns = cat.contains("network")
        && row["target"]
            .as_str()
            .is_some_and(|t| !t.contains(':') && t.chars().any(|c| c.is_ascii_alphabetic()));
    if target_is_dns {
        return 4;
    }
    LANES
        .iter()
        .position(|l| cat.split(',').any(|c| c == *l))
        .unwrap_or(LANES.len() - 1)
}

/// The timeline drawn on a time axis (one lane per kind of event, each event
/// a dot whose tooltip says what it was), and the same rows as a table.
fn timeline(rows: &J, max: usize) -> Markup {
    let rows: Vec<&J> = rows
        .as_array()
        .map(|a| a.iter().take(max).collect())
        .unwrap_or_default();
    if rows.is_empty() {
        return html! { p.muted { "No process starts or file, registry, network, DNS events of the process and its descendants." } };
    }
    let times: Vec<Option<i64>> = rows
        .iter()
        .map(|r| r["@timestamp"].as_str().and_then(parse_time))
        .collect();
    let lo = times.iter().flatten().min().copied().unwrap_or(0);
    let hi = times.iter().flatten().max().copied().unwrap_or(0);
    let (w, left, lane_h) = (900.0_f64, 110.0_f64, 18.0_f64);
    let h = lane_h * LANES.len() as f64 + 24.0;
    let x = |t: i64| {
        if hi == lo {
            left + (w - left) / 2.0
        } else {
            left + (w - left - 10.0) * ((t - lo) as f64 / (hi - lo) as f64)
        }
    };
    html! {
        svg.timeline xmlns="http://www.w3.org/2000/svg" width=(w) height=(h) viewBox={ "0 0 " (w) " " (h) } role="img" aria-label="timeline" {
            @for (i, l) in LANES.iter().enumerate() {
                text x="4" y=(lane_h * i as f64 + 14.0) { (l) }
                line x1=(left) x2=(w - 4.0) y1=(lane_h * i as f64 + 10.0) y2=(lane_h * i as f64 + 10.0) stroke="#e3e6ea" {}
            }
            text x=(left) y=(h - 4.0) { (rows[0]["@timestamp"].as_str().unwrap_or_default()) }
            text x=(w - 4.0) y=(h - 4.0) text-anchor="end" { (rows.last().and_then(|r| r["@timestamp"].as_str()).unwrap_or_default()) }
            @for (r, t) in rows.iter().zip(&times) {
                @if let Some(t) = t {
                    circle.event cx=(format!("{:.1}", x(*t))) cy=(lane_h * lane_of(r) as f64 + 10.0) r="4"
                        fill=(["#2f6fb0", "#8a5a00", "#6a3d9a", "#b22222", "#1b6b2f", "#555", "#999"][lane_of(r)]) {
                        title { (text(&r["@timestamp"])) "  " (text(&r["process"])) "  " (text(&r["category"])) "  " (text(&r["action"])) "  " (text(&r["target"])) }
                    }
                }
            }
        }
        table.timeline-rows {
            thead { tr { th { "time" } th { "pid" } th { "process" } th { "category" } th { "action" } th { "target" } } }
            tbody { @for r in &rows {
                tr { td.mono { (text(&r["@timestamp"])) } td { (text(&r["pid"])) } td { (text(&r["process"])) }
                     td { (text(&r["category"])) } td { (text(&r["action"])) } td.mono { (text(&r["target"])) } }
            } }
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff…]Z` as nanoseconds (enough to place events on
/// an axis: the timeline's times are quarry's own format).
fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut frac = 0i64;
    if b.get(19) == Some(&b'.') {
        let digits: String = s[20..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .take(9)
            .collect();
        frac = format!("{digits:0<9}").parse().ok()?;
    }
    // days from civil (Howard Hinnant's algorithm)
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000_000) + frac)
}

fn pivots(p: &J, max_events: usize) -> Markup {
    let list: Vec<&J> = p.as_array().map(|a| a.iter().collect()).unwrap_or_default();
    if list.is_empty() {
        return html! { p.muted { "The rule has no investigation pivots." } };
    }
    html! {
        ol.pivots { @for pv in &list {
            li {
                b { (text(&pv["label"])) } " — "
                @if pv["count"].is_null() { "not run" } @else { (text(&pv["count"])) " events" }
                @if let Some(n) = pv["after_window"].as_u64() { " (and " (n) " after the window)" }
                @if !pv["query"].is_null() { div.mono.muted { (text(&pv["query"])) } }
                @for n in pv["notes"].as_array().into_iter().flatten() { div.muted { "note: " (text(n)) } }
                @let evs = pv["events"].as_array().cloned().unwrap_or_default();
                @if !evs.is_empty() {
                    ul { @for e in evs.iter().take(max_events) { li.mono { (summary_line(e)) } } }
                    @if evs.len() > max_events { div.muted { (evs.len() - max_events) " more listed in the alert" } }
                }
            }
        } }
    }
}

fn dns(case: &Case) -> Markup {
    let a = &case.dns;
    let shown = a.rows.len().min(case.limits.dns_rows);
    let domain_col = a.columns.iter().position(|c| *c == "query");
    html! {
        section #q1018 {
            h2 { "Q1018 What process made the DNS query? (" span #dns-count { (a.rows.len()) } " rows)" }
            @if a.rows.is_empty() {
                p { "No DNS queries in the evidence." }
            } @else {
                div.filters data-filter="dns-table" hidden {
                    input type="search" placeholder="domain, e.g. duckdns" aria-label="filter by domain" data-col=[domain_col];
                    " " span #dns-table-shown { (shown) } " shown"
                }
                table.sortable #dns-table {
                    thead { tr { @for c in a.columns { th data-sort { (c) } } } }
                    tbody { @for r in a.rows.iter().take(case.limits.dns_rows) {
                        tr { @for (i, c) in r.cells.iter().enumerate() {
                            td class=[(Some(i) == domain_col).then_some("mono domain")] { (c) }
                        } }
                    } }
                }
                @if a.rows.len() > shown {
                    p.muted { (a.rows.len() - shown) " more rows: quarry ask Q1018 --format csv lists them all" }
                }
            }
            h3 { "Coverage" }
            pre #dns-coverage { (a.coverage) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gather::{HostView, Limits};
    use serde_json::json;

    #[test]
    fn hostile_evidence_text_is_escaped_everywhere() {
        let evil = r#"cmd.exe /c "<script>alert(1)</script>" & <img src=x onerror=alert(2)> </details></li>"#;
        let doc = json!({
            "@timestamp": "2026-01-01T00:00:00.000Z",
            "host": {"name": "<b>H</b>"},
            "process": {"executable": evil, "command_line": evil},
            "kibana": {"alert": {"severity": "high\" onmouseover=\"x", "original_time": "2026-01-01T00:00:00.000Z",
                                  "rule": {"name": evil}}},
            "quarry": {"investigate": [{"label": evil, "count": 1, "query": evil, "events": [{"process.command_line": evil}]}]},
        });
        let findings = json!({
            "tree": [{"depth": 0, "role": "alert", "process": {"name": evil, "command_line": evil}}],
            "timeline": [{"@timestamp": "2026-01-01T00:00:00.000Z", "category": "process", "target": evil, "process": evil}],
        });
        let case = Case {
            inputs: vec![evil.into()],
            source: evil.into(),
            hosts: vec![HostView {
                key: "h".into(),
                name: evil.into(),
                events: 1,
                first: None,
                last: None,
                telemetry: vec![("process", 1), ("network", 0)],
            }],
            alerts: vec![AlertView {
                doc,
                triage: Some(
                    json!({"verdict": "escalate", "hint": evil, "what": {"answer": evil, "events": [evil]}}),
                ),
                findings: Some(findings),
            }],
            limits: Limits::default(),
            ..Default::default()
        };
        let out = render(&case);
        // the page's own script is the only script, and no evidence became a tag or attribute
        assert_eq!(out.matches("<script>").count(), 1, "{out}");
        assert!(!out.contains("<img"), "{out}");
        assert!(!out.contains("onmouseover=\""), "{out}");
        assert!(out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!out.contains("</details></li>\""));
        // nothing is fetched
        for needle in ["http://", "https://", "src=\""] {
            let hits: Vec<_> = out
                .match_indices(needle)
                .map(|(i, _)| &out[i..(i + 26).min(out.len())])
                .collect();
            assert!(
                hits.iter().all(|h| h.contains("www.w3.org/2000/svg")),
                "{needle}: {hits:?}"
            );
        }
    }

    #[test]
    fn times_place_on_the_axis() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(parse_time("1970-01-01T00:00:00.5Z"), Some(500_000_000));
        assert_eq!(
            parse_time("2026-11-02T09:20:00.000Z"),
            Some(1_793_611_200_000_000_000)
        );
        assert_eq!(parse_time("garbage"), None);
    }
}
