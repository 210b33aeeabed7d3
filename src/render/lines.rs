//! Progress for pipes and log files in text mode: one line when an apply phase starts, one when
//! it ends with its counts, and one per failure as it happens. Reading the pool stays quiet.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::printer::Printer;
use crate::report::{ApplyReporter, FetchReporter, OpReport, OpStatus, Phase};

use super::escape::visible;

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    applied: usize,
    failed: usize,
    skipped: usize,
}

pub struct LineReporter {
    printer: Printer,
    counts: Mutex<HashMap<Phase, Counts>>,
}

impl LineReporter {
    pub fn new(printer: Printer) -> Self {
        Self {
            printer,
            counts: Mutex::new(HashMap::new()),
        }
    }
}

/// Reading the pool shows nothing on a pipe, but a pool that moves while it is read is worth a
/// warning.
impl FetchReporter for LineReporter {
    fn relisting(&self, reason: &str) {
        self.printer.warn(format!(
            "the pool changed while it was read ({reason}); reading it again"
        ));
    }
}

impl ApplyReporter for LineReporter {
    fn phase_started(&self, phase: Phase, operations: usize) {
        self.printer
            .status(format!("{}: {operations} to do", phase.name()));
    }

    fn op_finished(&self, report: &OpReport<'_>) {
        if let Ok(mut counts) = self.counts.lock() {
            let counts = counts.entry(report.phase).or_default();
            match report.status {
                OpStatus::Applied => counts.applied += 1,
                OpStatus::Failed { .. } => counts.failed += 1,
                OpStatus::Skipped { .. } => counts.skipped += 1,
            }
        }
        if let OpStatus::Failed { message, .. } = report.status {
            self.printer.status(format!(
                "  failed: {} {}: {}",
                report.action,
                visible(report.target),
                visible(message)
            ));
        }
    }

    fn phase_finished(&self, phase: Phase) {
        let counts = self
            .counts
            .lock()
            .ok()
            .and_then(|counts| counts.get(&phase).copied())
            .unwrap_or_default();
        let mut line = format!("{}: {} applied", phase.name(), counts.applied);
        if counts.failed > 0 {
            line.push_str(&format!(", {} failed", counts.failed));
        }
        if counts.skipped > 0 {
            line.push_str(&format!(", {} skipped", counts.skipped));
        }
        self.printer.status(line);
    }

    fn interrupted(&self) {
        self.printer
            .warn("interrupted: finishing the operations in flight, starting no new ones");
    }

    fn paused(&self, phase: Phase, wait: Duration, reason: &str) {
        self.printer.status(format!(
            "{}: waiting {}s: {reason}",
            phase.name(),
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        ));
    }

    fn resumed(&self, phase: Phase) {
        self.printer.status(format!("{}: going on", phase.name()));
    }
}
