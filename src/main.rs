//! The `authing-sync` binary: parse flags, build the runtime, run a command, map the outcome to
//! an exit code. Everything else lives in the library.

use std::io::Write;

use clap::Parser;

use authing_sync::cli::{Cli, Command};
use authing_sync::commands;
use authing_sync::printer::Printer;

/// mimalloc rather than the system allocator: a million-user plan makes and frees millions of
/// small strings, and with mimalloc its user CPU time is about a tenth lower (BENCHMARKS.md, "Plan
/// of a million-user pool").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    keep_standard_streams_open();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and --version go to stdout and succeed; a usage error exits 1, not clap's 2,
        // which means "changes present" to `plan --detailed-exitcode` users.
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                authing_sync::exit::ExitCode::Error.into()
            } else {
                authing_sync::exit::ExitCode::Success.into()
            };
        }
    };
    let printer = Printer::new(&cli.global);
    commands::init_diagnostics(&printer);
    // The emulator serves many clients: every core. A client command is one job whose waits
    // (the pool's pages, apply's calls) are network round trips: one thread runs it with no
    // wake-ups passed between threads, which cost a million-user plan about a tenth of its CPU
    // time (BENCHMARKS.md). Blocking work (the confirmation prompt) goes to the blocking pool.
    let mut builder = if matches!(cli.command, Command::Emulator(_)) {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: failed to start the async runtime: {err}"
            );
            return authing_sync::exit::ExitCode::Error.into();
        }
    };
    let result = runtime.block_on(commands::run(cli.command, &printer));
    // In-flight work that outlived its command (a dropped connection, say) must not hold the
    // process open.
    runtime.shutdown_background();
    match result {
        Ok(outcome) => outcome.exit_code().into(),
        Err(err) => {
            let code = err.exit_code();
            commands::report_error(&printer, err);
            code.into()
        }
    }
}

/// Puts `/dev/null` in place of a closed stdin, stdout or stderr (`2>&-`). Otherwise the next
/// file this process opens (a pool file, a plan) would take the closed stream's number, and
/// what is written to that stream would land in the file.
fn keep_standard_streams_open() {
    #[cfg(unix)]
    {
        use std::os::fd::{AsRawFd, IntoRawFd};
        for _ in 0..3 {
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
            {
                // It took the number of a closed stream: it stays open as that stream.
                Ok(file) if file.as_raw_fd() <= 2 => {
                    let _ = file.into_raw_fd();
                }
                _ => break,
            }
        }
    }
}
