//! `authing-sync validate`: load manifests offline and summarise them.

use crate::cli::ValidateArgs;
use crate::exit::{Error, Outcome};
use crate::manifest;
use crate::printer::Printer;

pub fn run(args: &ValidateArgs, printer: &Printer) -> Result<Outcome, Error> {
    let loaded = manifest::load(&args.manifests.files)?;
    printer.data(&format!(
        "{} users, {} files\n",
        loaded.state.users.len(),
        loaded.files
    ))?;
    Ok(Outcome::Success)
}
