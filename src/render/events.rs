//! `--log-format json`: one JSON object per line on stderr for every operation, phase and fetch
//! step, so a cron job's log can be searched and alerted on.

use std::time::Duration;

use serde_json::Value;

use crate::printer::Printer;
use crate::report::{ApplyReporter, FetchReporter, OpReport, OpStatus, Phase};

pub struct EventReporter {
    printer: Printer,
}

impl EventReporter {
    pub fn new(printer: Printer) -> Self {
        Self { printer }
    }
}

impl FetchReporter for EventReporter {
    fn listing(&self, users: u64, pages: u64) {
        self.printer.event(
            "fetch",
            [("users", Value::from(users)), ("pages", Value::from(pages))],
        );
    }

    fn relisting(&self, reason: &str) {
        self.printer
            .event("fetch_retry", [("reason", Value::from(reason))]);
    }

    fn mfa_reading(&self, users: u64) {
        self.printer
            .event("fetch_mfa", [("users", Value::from(users))]);
    }
}

fn phase(phase: Phase) -> Value {
    serde_json::to_value(phase).unwrap_or(Value::Null)
}

impl ApplyReporter for EventReporter {
    fn started(&self, operations: usize) {
        self.printer
            .event("apply_started", [("operations", Value::from(operations))]);
    }

    fn phase_started(&self, current: Phase, operations: usize) {
        self.printer.event(
            "phase_started",
            [
                ("phase", phase(current)),
                ("operations", Value::from(operations)),
            ],
        );
    }

    fn op_finished(&self, report: &OpReport<'_>) {
        let (status, code, message) = match report.status {
            OpStatus::Applied => ("applied", Value::Null, Value::Null),
            OpStatus::Failed { code, message } => (
                "failed",
                code.map_or(Value::Null, Value::from),
                Value::from(message.as_str()),
            ),
            OpStatus::Skipped { reason } => ("skipped", Value::Null, Value::from(reason.as_str())),
        };
        self.printer.event(
            "operation",
            [
                ("phase", phase(report.phase)),
                ("action", Value::from(report.action)),
                ("target", Value::from(report.target)),
                ("status", Value::from(status)),
                ("code", code),
                ("message", message),
                ("retries", Value::from(report.retries)),
                ("elapsed_ms", Value::from(report.elapsed.as_millis() as u64)),
            ],
        );
    }

    fn phase_finished(&self, current: Phase) {
        self.printer
            .event("phase_finished", [("phase", phase(current))]);
    }

    fn interrupted(&self) {
        self.printer.event(
            "interrupted",
            [("message", Value::from("no new operations will start"))],
        );
    }

    fn paused(&self, current: Phase, wait: Duration, reason: &str) {
        self.printer.event(
            "paused",
            [
                ("phase", phase(current)),
                ("wait_ms", Value::from(wait.as_millis() as u64)),
                ("reason", Value::from(reason)),
            ],
        );
    }

    fn resumed(&self, current: Phase) {
        self.printer.event("resumed", [("phase", phase(current))]);
    }
}
