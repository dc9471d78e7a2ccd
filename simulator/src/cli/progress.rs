//! The progress bar of long runs. It is the only place the simulator reads the wall clock: to
//! show the bar only once a run has taken more than a second. The simulation itself never sees
//! this clock.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar over virtual time that appears after one second of wall time.
#[derive(Debug)]
pub struct Progress {
    quiet: bool,
    label: String,
    #[allow(
        clippy::disallowed_methods,
        reason = "wall time only decides whether to show a progress bar"
    )]
    started: std::time::Instant,
    bar: Option<ProgressBar>,
}

impl Progress {
    #[allow(
        clippy::disallowed_methods,
        reason = "wall time only decides whether to show a progress bar"
    )]
    pub fn new(quiet: bool, label: &str) -> Self {
        Self {
            quiet,
            label: label.to_string(),
            started: std::time::Instant::now(),
            bar: None,
        }
    }

    /// Called with virtual (now, end) in milliseconds.
    pub fn update(&mut self, now: i64, end: i64) {
        if self.quiet {
            return;
        }
        if self.bar.is_none() && self.started.elapsed().as_millis() > 1000 {
            let bar = ProgressBar::with_draw_target(
                Some((end / 1000).max(1) as u64),
                ProgressDrawTarget::stderr(),
            );
            if let Ok(style) =
                ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} simulated s ({elapsed})")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(self.label.clone());
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position((now / 1000).max(0) as u64);
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
