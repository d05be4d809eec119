//! The progress bar of a scan, drawn on standard error from the engine's counters.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use seawall_scan::engine::Progress;

pub(crate) struct ScanBar {
    bar: ProgressBar,
    task: tokio::task::JoinHandle<()>,
}

impl ScanBar {
    pub(crate) fn start(progress: Arc<Progress>) -> ScanBar {
        let bar = ProgressBar::new(progress.total.load(Ordering::Relaxed));
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} endpoints  {per_sec}  eta {eta}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let shown = bar.clone();
        let task = tokio::spawn(async move {
            loop {
                shown.set_length(progress.total.load(Ordering::Relaxed));
                shown.set_position(progress.done.load(Ordering::Relaxed));
                shown.set_message(format!(
                    "{} services, {} findings, {} errors",
                    progress.services.load(Ordering::Relaxed),
                    progress.findings.load(Ordering::Relaxed),
                    progress.errors.load(Ordering::Relaxed)
                ));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        ScanBar { bar, task }
    }

    pub(crate) fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}
