//! The progress bar on stderr while evidence is read: files and bytes of
//! the total, events and problems so far, and above it each problem as the
//! file it is in is done (the first [`SHOWN`](crate::output::diagnostics::SHOWN);
//! the end-of-run report then names only the others). Drawn only when
//! stderr is a terminal (indicatif hides it otherwise), and cleared before
//! results print, so piped output and logs never see it.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use quarry_read::Problem;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The problems printed above a bar so far in this process, which the
/// end-of-run report does not print again.
static SHOWN_LIVE: Mutex<Vec<Problem>> = Mutex::new(Vec::new());

/// The problems printed above the bar so far (at most
/// [`SHOWN`](crate::output::diagnostics::SHOWN)).
pub fn shown_live() -> Vec<Problem> {
    SHOWN_LIVE.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Prints the problems the readers queued since the last call above the
/// bar, up to the number stderr shows in all.
fn print_new_problems(bar: &ProgressBar) {
    let mut shown = SHOWN_LIVE.lock().unwrap_or_else(|e| e.into_inner());
    for p in quarry_read::progress::take_problems() {
        if shown.len() < crate::output::diagnostics::SHOWN {
            // file names and messages can carry evidence text
            bar.println(format!(
                "quarry: {}",
                crate::output::visible(&p.to_string())
            ));
            shown.push(p);
        }
    }
}

/// A bar that follows `quarry_read::progress` until dropped.
pub struct Bar {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Bar {
    /// Starts drawing (a no-op when stderr is not a terminal).
    pub fn start() -> Bar {
        let stop = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Bar { stop, thread: None };
        }
        quarry_read::progress::follow_problems();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} {elapsed:>4} [{bar:30}] {binary_bytes}/{binary_total_bytes} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            while !flag.load(Ordering::Relaxed) {
                let p = quarry_read::progress::sample();
                bar.set_length(p.bytes_total.max(1));
                bar.set_position(p.bytes_done);
                bar.set_message(format!(
                    "{}/{} files, {} events{}",
                    p.files_done,
                    p.files_total,
                    p.events,
                    if p.problems > 0 {
                        format!(", {} problems", p.problems)
                    } else {
                        String::new()
                    }
                ));
                print_new_problems(&bar);
                bar.tick();
                std::thread::sleep(Duration::from_millis(100));
            }
            print_new_problems(&bar);
            bar.finish_and_clear();
        });
        Bar {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
