//! The subcommands: thin wiring of manifest, remote, diff, render and apply.

use crate::cli::Command;
use crate::exit::{Error, Outcome};
use crate::printer::Printer;

mod emulator;
mod validate;

/// Installs the error-report style (colour, unicode) that suits the printer.
pub fn init_diagnostics(printer: &Printer) {
    let color = printer.stderr_color();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .unicode(color)
                .terminal_links(false)
                .context_lines(1)
                .build(),
        )
    }));
}

/// Prints an error the way the printer wants it.
pub fn report_error(printer: &Printer, err: Error) {
    if printer.json_events() {
        printer.event(
            "error",
            [(
                "message",
                serde_json::Value::from(format!("{:?}", miette::Report::new(err))),
            )],
        );
    } else {
        eprintln!("{:?}", miette::Report::new(err));
    }
}

pub async fn run(command: Command, printer: &Printer) -> Result<Outcome, Error> {
    match command {
        Command::Validate(args) => validate::run(&args, printer),
        Command::Emulator(args) => emulator::run(&args, printer).await,
        _ => Ok(Outcome::Success),
    }
}
