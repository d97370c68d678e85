//! The progress bar on stderr while evidence is read: files and bytes of
//! the total, events and problems so far. Drawn only when stderr is a
//! terminal (indicatif hides it otherwise), and cleared before results
//! print, so piped output and logs never see it.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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
                bar.tick();
                std::thread::sleep(Duration::from_millis(100));
            }
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
