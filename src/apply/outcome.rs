//! What an apply did: counts of what was applied, each failure with its Authing code and
//! message, what was skipped and why, and whether a fatal error or an interrupt stopped it.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use crate::plan::Action;
use crate::remote::RemoteError;

/// One operation that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub action: Action,
    pub target: String,
    pub code: Option<i64>,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct ApplyReport {
    pub applied: BTreeMap<Action, usize>,
    pub failures: Vec<Failure>,
    /// Operations not started: (action, target, why).
    pub skipped: Vec<(Action, String, String)>,
    /// The error that stopped the run, if one did.
    pub fatal: Option<RemoteError>,
    pub interrupted: bool,
    pub elapsed: Duration,
}

impl ApplyReport {
    pub fn applied_total(&self) -> usize {
        self.applied.values().sum()
    }

    /// Everything was applied.
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
            && self.skipped.is_empty()
            && self.fatal.is_none()
            && !self.interrupted
    }

    /// The closing summary, several lines when something failed.
    pub fn render(&self) -> String {
        let count = |action| self.applied.get(&action).copied().unwrap_or(0);
        let mut text = format!(
            "{}: {} created, {} updated, {} deleted, MFA +{} -{}, whitelist +{} -{}{}; {} failed, {} skipped ({:.1}s).",
            if self.is_complete() {
                "Apply complete"
            } else {
                "Apply finished with problems"
            },
            count(Action::Create),
            count(Action::Update),
            count(Action::Delete),
            count(Action::MfaEnable),
            count(Action::MfaDisable),
            count(Action::WhitelistAdd),
            count(Action::WhitelistRemove),
            if count(Action::WhitelistSwitch) > 0 {
                ", whitelist switch turned"
            } else {
                ""
            },
            self.failures.len(),
            self.skipped.len(),
            self.elapsed.as_secs_f64(),
        );
        if !self.failures.is_empty() {
            text.push_str("\nFailed:");
            for failure in &self.failures {
                let _ = write!(
                    text,
                    "\n  - {} {}: {}",
                    failure.action.name(),
                    failure.target,
                    failure.message
                );
            }
        }
        if !self.skipped.is_empty() {
            let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, _, reason) in &self.skipped {
                *reasons.entry(reason.as_str()).or_default() += 1;
            }
            text.push_str("\nSkipped:");
            for (reason, count) in reasons {
                let _ = write!(
                    text,
                    "\n  - {count} operation{}: {reason}",
                    if count == 1 { "" } else { "s" }
                );
            }
        }
        if !self.is_complete() {
            text.push_str(
                "\nRunning the same apply again converges: it plans only what is still missing.",
            );
        }
        text
    }
}
