//! Progress bars on a terminal (indicatif): pages and users while the pool is read; operations
//! done, rate, ETA and failures so far while a plan is applied. Used only when the printer says
//! stderr is a terminal.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::{ApplyReporter, FetchReporter, OpReport, OpStatus, Phase};

use super::escape::visible;

fn bar(template: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Reading the pool.
pub struct FetchProgress {
    pages: ProgressBar,
    users: AtomicU64,
    mfa: Mutex<Option<ProgressBar>>,
}

impl FetchProgress {
    pub fn new() -> Self {
        let pages = bar("{spinner} reading users [{bar:30}] {pos}/{len} pages · {msg} · ETA {eta}");
        pages.set_message("0 users");
        Self {
            pages,
            users: AtomicU64::new(0),
            mfa: Mutex::new(None),
        }
    }
}

impl Default for FetchProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl FetchReporter for FetchProgress {
    fn listing(&self, _users: u64, pages: u64) {
        self.pages.set_length(pages);
        self.pages.set_position(0);
        self.users.store(0, Ordering::Relaxed);
    }

    fn page_read(&self, users: usize) {
        let total = self.users.fetch_add(users as u64, Ordering::Relaxed) + users as u64;
        self.pages.set_message(format!("{total} users"));
        self.pages.inc(1);
    }

    fn relisting(&self, reason: &str) {
        self.pages.println(format!(
            "the pool changed while it was read ({reason}); reading it again"
        ));
    }

    fn mfa_reading(&self, users: u64) {
        self.pages.finish_and_clear();
        let mfa = bar("{spinner} reading MFA [{bar:30}] {pos}/{len} users · ETA {eta}");
        mfa.set_length(users);
        if let Ok(mut slot) = self.mfa.lock() {
            *slot = Some(mfa);
        }
    }

    fn mfa_read(&self) {
        if let Ok(slot) = self.mfa.lock()
            && let Some(mfa) = slot.as_ref()
        {
            mfa.inc(1);
        }
    }

    fn finished(&self) {
        self.pages.finish_and_clear();
        if let Ok(slot) = self.mfa.lock()
            && let Some(mfa) = slot.as_ref()
        {
            mfa.finish_and_clear();
        }
    }
}

/// Applying a plan.
pub struct ApplyProgress {
    bar: ProgressBar,
    failures: AtomicU64,
    phase: Mutex<Phase>,
}

impl ApplyProgress {
    pub fn new() -> Self {
        let bar = bar("{spinner} {msg} [{bar:30}] {pos}/{len} · {per_sec} · ETA {eta}");
        Self {
            bar,
            failures: AtomicU64::new(0),
            phase: Mutex::new(Phase::WhitelistAdd),
        }
    }

    fn refresh(&self) {
        let phase = self
            .phase
            .lock()
            .map(|phase| phase.name())
            .unwrap_or("applying");
        let failures = self.failures.load(Ordering::Relaxed);
        if failures == 0 {
            self.bar.set_message(phase.to_string());
        } else {
            self.bar.set_message(format!("{phase}, {failures} failed"));
        }
    }
}

impl Default for ApplyProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl ApplyReporter for ApplyProgress {
    fn started(&self, operations: usize) {
        self.bar.set_length(operations as u64);
    }

    fn phase_started(&self, phase: Phase, _operations: usize) {
        if let Ok(mut current) = self.phase.lock() {
            *current = phase;
        }
        self.refresh();
    }

    fn op_finished(&self, report: &OpReport<'_>) {
        if let OpStatus::Failed { message, .. } = report.status {
            self.failures.fetch_add(1, Ordering::Relaxed);
            self.bar.println(format!(
                "failed: {} {}: {}",
                report.action,
                visible(report.target),
                visible(message)
            ));
            self.refresh();
        }
        self.bar.inc(1);
    }

    fn phase_finished(&self, phase: Phase) {
        if phase == Phase::Delete {
            self.bar.finish_and_clear();
        }
    }

    fn interrupted(&self) {
        self.bar.println("interrupted: finishing the operations in flight, starting no new ones (Ctrl-C again to quit at once)");
    }

    fn paused(&self, phase: Phase, wait: Duration, reason: &str) {
        self.bar.println(format!(
            "{}: waiting {}: {}",
            phase.name(),
            seconds(wait),
            visible(reason)
        ));
        self.bar
            .set_message(format!("{}, waiting {}", phase.name(), seconds(wait)));
    }

    fn resumed(&self, _phase: Phase) {
        self.refresh();
    }
}

/// A wait in whole seconds, rounded up.
fn seconds(wait: Duration) -> String {
    format!("{}s", wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
}

impl Drop for ApplyProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
