//! Carrying a plan out: the deletion guard and the stale-plan check (both before the first
//! write), the passwords of new users, and the executor that runs the changes in a safe order
//! with bounded concurrency, one operation per user at a time.

mod drift;
mod executor;
mod guard;
mod outcome;
mod passwords;
mod pool;

use miette::Diagnostic;

pub use drift::{Resumed, check_drift};
pub use executor::{ExecuteOptions, execute};
pub use guard::{DEFAULT_MAX_DELETES, DeleteLimit, check_deletes};
pub use outcome::{ApplyReport, Failure};
pub use passwords::{PasswordBook, PasswordError};
pub use pool::PoolApi;

/// Why an apply was refused before anything was written (exit 3).
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Refusal {
    #[error("refusing to apply: {count} {what} exceed the limit of {allowed} ({limit}; {held})")]
    #[diagnostic(
        code(apply::max_deletes),
        help(
            "nothing was written. Check the manifests first: a truncated export deletes everyone missing from it. If the deletions are intended, raise the limit with --max-deletes N or N%, or prune.max_deletes"
        )
    )]
    TooManyDeletes {
        what: &'static str,
        count: usize,
        allowed: u64,
        limit: String,
        held: String,
    },

    #[error("refusing to apply a stale plan: {} changed since the plan was made:\n  {}", count(.drifted.len()), .drifted.join("\n  "))]
    #[diagnostic(
        code(apply::stale_plan),
        help("nothing was written; make a new plan and review it")
    )]
    Stale { drifted: Vec<String> },

    #[error("refusing to apply a tampered plan: {reason}")]
    #[diagnostic(
        code(apply::tampered_plan),
        help(
            "nothing was written; a saved plan is applied only as `plan --out` wrote it: make a new plan and review it"
        )
    )]
    Tampered { reason: String },

    #[error("refusing to apply a plan made for {planned} to {actual}")]
    #[diagnostic(
        code(apply::wrong_pool),
        help(
            "nothing was written; apply the plan with the endpoint, API and client id it was made with (leave --endpoint, --api and --client-id out to use the plan's)"
        )
    )]
    WrongPool { planned: String, actual: String },
}

fn count(objects: usize) -> String {
    if objects == 1 {
        "1 object".into()
    } else {
        format!("{objects} objects")
    }
}
