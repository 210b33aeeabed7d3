//! The reporter traits the engine calls while it works. The engine never prints: `render`
//! implements these for terminals (progress bars), pipes (a line per phase) and JSON logs (an
//! event per operation), and tests record them. Every method has an empty default, so a
//! reporter implements only what it shows.

use std::time::Duration;

/// Progress of reading the live pool.
pub trait FetchReporter: Send + Sync {
    /// The first page said how many users and pages there are.
    fn listing(&self, _users: u64, _pages: u64) {}
    /// One more page was read, holding this many users.
    fn page_read(&self, _users: usize) {}
    /// The pool changed while it was read; it is being read again.
    fn relisting(&self, _reason: &str) {}
    /// MFA switches are being read for this many users.
    fn mfa_reading(&self, _users: u64) {}
    /// One more MFA switch was read.
    fn mfa_read(&self) {}
    /// The fetch is over.
    fn finished(&self) {}
}

/// A reporter that shows nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl FetchReporter for Silent {}

impl ApplyReporter for Silent {}

/// The phases of an apply, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The whitelist switch and the phones to add (so a phone can register).
    WhitelistAdd,
    /// Updates that change a user's key: before creations, which may take the old key.
    Rename,
    Create,
    Update,
    Mfa,
    WhitelistRemove,
    Delete,
}

impl Phase {
    pub const ALL: [Phase; 7] = [
        Phase::WhitelistAdd,
        Phase::Rename,
        Phase::Create,
        Phase::Update,
        Phase::Mfa,
        Phase::WhitelistRemove,
        Phase::Delete,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Phase::WhitelistAdd => "whitelist additions",
            Phase::Rename => "renames",
            Phase::Create => "creations",
            Phase::Update => "updates",
            Phase::Mfa => "MFA changes",
            Phase::WhitelistRemove => "whitelist removals",
            Phase::Delete => "deletions",
        }
    }
}

/// How one operation of an apply ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpStatus {
    Applied,
    /// Failed with the Authing code when there is one, and the message.
    Failed {
        code: Option<i64>,
        message: String,
    },
    /// Not started (interrupted, or a step it depended on failed).
    Skipped {
        reason: String,
    },
}

/// One finished operation, as reporters see it.
#[derive(Debug, Clone)]
pub struct OpReport<'a> {
    pub phase: Phase,
    /// What was done: `create`, `update`, `delete`, `mfa_enable`, ...
    pub action: &'a str,
    /// Whom or what it concerned: a user key, an id, a phone.
    pub target: &'a str,
    pub status: &'a OpStatus,
    pub retries: u32,
    pub elapsed: Duration,
}

/// Progress of an apply.
pub trait ApplyReporter: Send + Sync {
    /// The apply starts with this many operations in all.
    fn started(&self, _operations: usize) {}
    /// A phase starts with this many operations.
    fn phase_started(&self, _phase: Phase, _operations: usize) {}
    /// One operation ended.
    fn op_finished(&self, _report: &OpReport<'_>) {}
    /// A phase ended.
    fn phase_finished(&self, _phase: Phase) {}
    /// An interrupt was received: no new operations start.
    fn interrupted(&self) {}
    /// The phase waits before going on (Authing refused registrations as too frequent): `wait`
    /// from now, for `reason`. An interrupt ends the wait.
    fn paused(&self, _phase: Phase, _wait: Duration, _reason: &str) {}
    /// The wait is over; the phase goes on.
    fn resumed(&self, _phase: Phase) {}
}
