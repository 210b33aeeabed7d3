//! The subcommands: thin wiring of manifest, remote, diff, render and apply. Each command
//! returns an [`Outcome`] or an [`Error`]; `main` maps both to exit codes through `exit`.

mod apply;
pub mod capability;
mod emulator;
mod export;
mod interrupt;
mod plan;
mod planning;
mod session;
mod validate;

use clap::CommandFactory;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, LogFormat};
use crate::exit::{Error, Outcome};
use crate::printer::Printer;

pub use session::{LOCAL_DIR, LOCAL_POOL};

/// Installs the error-report style (colour, unicode) and the diagnostics log (`RUST_LOG`).
pub fn init_diagnostics(printer: &Printer) {
    let color = printer.stderr_color();
    // Lines are wrapped for a terminal only: a log keeps each message on one line for grep.
    let wrap = printer.stderr_terminal();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .unicode(color)
                .wrap_lines(wrap)
                .terminal_links(false)
                .context_lines(1)
                .build(),
        )
    }));
    // Diagnostics are off unless RUST_LOG asks. Whatever it asks, the HTTP and TLS stacks are
    // held at `info`: below that they trace connection internals this tool has no need to show.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn"))
        .add_directive("hyper=info".parse().unwrap_or_default())
        .add_directive("hyper_util=info".parse().unwrap_or_default())
        .add_directive("h2=info".parse().unwrap_or_default())
        .add_directive("rustls=info".parse().unwrap_or_default());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match printer.log_format() {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_ansi(printer.stderr_color()).try_init(),
    };
}

/// Prints an error the way the printer wants it.
pub fn report_error(printer: &Printer, err: Error) {
    let report = miette::Report::new(err);
    if printer.json_events() {
        let plain = format!("{report}");
        let detail = strip_ansi(&format!("{report:?}"));
        printer.event(
            "error",
            [("message", plain.into()), ("detail", detail.into())],
        );
    } else {
        printer.diagnostic(&format!("{report:?}"));
    }
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub async fn run(command: Command, printer: &Printer) -> Result<Outcome, Error> {
    match command {
        Command::Validate(args) => validate::run(&args, printer),
        Command::Plan(mut args) => {
            crate::settings::mfa_from_env(&mut args.mfa)?;
            plan::run(&args, printer).await
        }
        Command::Apply(mut args) => {
            // Only the flag: a budget in the environment is meant for the plans it runs with.
            if args.plan.is_some() && args.mfa.mfa_read_budget.is_some() {
                printer.warn(
                    "--mfa-read-budget has no effect with --plan: a saved plan is applied as it \
                     was reviewed, and apply confirms every MFA state it changes whatever the \
                     budget",
                );
            }
            crate::settings::mfa_from_env(&mut args.mfa)?;
            apply::run(&args, printer).await
        }
        Command::Export(args) => export::run(&args, printer).await,
        Command::Emulator(args) => emulator::run(&args, printer).await,
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "authing-sync", &mut text);
            printer
                .data(&String::from_utf8_lossy(&text))
                .map_err(Error::Output)?;
            Ok(Outcome::Success)
        }
        Command::Man => {
            let mut text = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut text)
                .map_err(Error::Output)?;
            printer
                .data(&String::from_utf8_lossy(&text))
                .map_err(Error::Output)?;
            Ok(Outcome::Success)
        }
    }
}
