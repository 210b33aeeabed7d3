//! Ctrl-C and SIGTERM for the commands that talk to a pool, the same in every phase and however
//! the command was started (a job started in the background by a script inherits SIGINT
//! ignored; the handler is installed from the start of the command all the same, so an
//! interrupt never means one thing while the pool is read and another while it is written).
//!
//! - While nothing is being written (reading the pool, checking a saved plan, waiting for the
//!   confirmation), the first interrupt ends the command at once: exit 130, nothing written.
//! - While apply writes, the first interrupt starts nothing new and lets what is in flight finish
//!   without retrying it (the executor watches [`Interrupts::token`]); the summary follows and
//!   the exit code is 4.
//! - A second interrupt, in any phase, quits at once with exit 130.

use std::future::Future;

use tokio_util::sync::CancellationToken;

use crate::exit::{Error, ExitCode};
use crate::printer::Printer;

/// The interrupt watcher of one command; it stops watching when dropped.
pub struct Interrupts {
    first: CancellationToken,
    watcher: tokio::task::JoinHandle<()>,
}

impl Interrupts {
    /// Starts watching for Ctrl-C and SIGTERM.
    pub fn watch(printer: &Printer) -> Interrupts {
        let first = CancellationToken::new();
        let token = first.clone();
        let printer = printer.clone();
        // Registered now, not when the task first runs: an interrupt from here on is seen.
        let signals = Signals::new();
        let watcher = tokio::spawn(async move {
            let Some(mut signals) = signals else {
                return;
            };
            if !signals.next().await {
                return;
            }
            token.cancel();
            if signals.next().await {
                printer.warn(
                    "interrupted again: quitting without waiting for the operations in flight",
                );
                // Whatever was in flight is idempotent: running the command again converges.
                std::process::exit(ExitCode::Interrupted as i32);
            }
        });
        Interrupts { first, watcher }
    }

    /// Cancelled by the first interrupt.
    pub fn token(&self) -> &CancellationToken {
        &self.first
    }

    /// Runs a phase that writes nothing; the first interrupt ends it at once with
    /// [`Error::Interrupted`] (its requests in flight are dropped).
    pub async fn reading<T>(
        &self,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        tokio::select! {
            biased;
            () = self.first.cancelled() => Err(Error::Interrupted),
            result = work => result,
        }
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

/// Ctrl-C and SIGTERM, registered once so that no signal falls between two waits.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// `None` when signals cannot be watched.
    fn new() -> Option<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Some(Signals {
                interrupt: signal(SignalKind::interrupt()).ok()?,
                terminate: signal(SignalKind::terminate()).ok()?,
            })
        }
        #[cfg(not(unix))]
        {
            Some(Signals {})
        }
    }

    /// Waits for the next signal; `false` if none can come any more.
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            tokio::select! {
                received = self.interrupt.recv() => received.is_some(),
                received = self.terminate.recv() => received.is_some(),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
    }
}
