//! Every way a command can end, and the one table that maps them to exit codes.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success; with `--detailed-exitcode`, also: no changes |
//! | 1 | error: invalid input, authentication failed, endpoint unreachable, internal error |
//! | 2 | `plan --detailed-exitcode`: changes present |
//! | 3 | refused by a safety guard or a stale saved plan: nothing was written |
//! | 4 | apply finished with some operations failed; the rest were applied; running again converges |
//! | 130 | interrupted while nothing was being written (reading the pool, waiting for confirmation), or a second interrupt during apply quit at once (operations in flight may or may not have landed; running again converges) |

use std::io;
use std::path::PathBuf;

use miette::Diagnostic;

use crate::commands::capability;
use crate::{apply, diff, emulator, manifest, plan, remote, settings};

/// A documented exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    Error = 1,
    Changes = 2,
    Refused = 3,
    Partial = 4,
    Interrupted = 130,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done; nothing more to say.
    Success,
    /// A plan with no changes (exit 0 either way).
    NoChanges,
    /// A plan with changes: exit 2 under `--detailed-exitcode`, else 0.
    Changes { detailed: bool },
    /// An apply that finished with failed or skipped operations.
    Partial,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Success | Outcome::NoChanges | Outcome::Changes { detailed: false } => {
                ExitCode::Success
            }
            Outcome::Changes { detailed: true } => ExitCode::Changes,
            Outcome::Partial => ExitCode::Partial,
        }
    }
}

/// Every error a command can end with. Messages are lowercase fragments; hints come from the
/// wrapped diagnostics.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(#[from] manifest::ManifestErrors),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Settings(#[from] settings::SettingsError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Remote(#[from] remote::RemoteError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Diff(#[from] diff::DiffError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    PlanFile(#[from] plan::PlanFileError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Unsupported(#[from] capability::Unsupported),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Refused(#[from] apply::Refusal),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Passwords(#[from] apply::PasswordError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Emulator(#[from] emulator::EmulatorError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Export(Box<manifest::WriteError>),

    #[error("failed to {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("another authing-sync is using the local pool in {}", path.display())]
    #[diagnostic(help("wait for it to finish: two runs would write the same pool file"))]
    LocalPoolBusy { path: PathBuf },

    #[error("refusing to export an incomplete pool: {reason}")]
    #[diagnostic(help(
        "run export again when the pool is quiet: a manifest that misses users would delete them under prune"
    ))]
    IncompleteRead { reason: String },

    #[error("apply needs confirmation, and there is no terminal to ask on")]
    #[diagnostic(help("pass --auto-approve to apply without asking (cron, CI)"))]
    NoTerminal,

    #[error("apply cancelled: the answer was not `yes`; nothing was written")]
    NotConfirmed,

    #[error("interrupted before anything was written")]
    Interrupted,

    #[error("failed to write output")]
    Output(#[source] io::Error),
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Refused(_) | Error::Passwords(apply::PasswordError::Stale(_)) => {
                ExitCode::Refused
            }
            Error::Interrupted => ExitCode::Interrupted,
            _ => ExitCode::Error,
        }
    }
}
