//! What an apply did: counts of what was applied, each failure with its Authing code and
//! message, what was skipped and why, and whether a fatal error or an interrupt stopped it.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::UserId;
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
    /// Operations in a row failed on connection errors, and nothing new was started.
    pub unreachable: bool,
    /// The whitelist switch was turned to this.
    pub switched: Option<bool>,
    /// The MFA switches set (user id, on or off), for the MFA cache.
    pub mfa_written: Vec<(UserId, bool)>,
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
}
