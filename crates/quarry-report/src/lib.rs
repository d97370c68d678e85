//! quarry-report: a case rendered as one self-contained HTML file — what
//! was read and which telemetry each host has ([`Case::hosts`]), the alerts
//! with their triage, process trees, timelines and pivots, and Q1018's DNS
//! answers with their coverage.
//!
//! [`gather`] reads the evidence once for what the report shows beyond the
//! alerts themselves; [`render`] writes the HTML. Every piece of evidence
//! text goes through maud's escaping (a hostile command line is text, never
//! markup); the page's CSS and script are constants of this crate, so the
//! file opens offline and asks the network for nothing. Tables are plain
//! HTML, readable without the script; the script sorts and filters them.

mod gather;
mod html;

pub use gather::{AlertView, Case, HostView, Limits, gather};
pub use html::render;
