//! `authing-sync validate`: load manifests offline and summarise them. Sends nothing. With
//! `--api`, also what that API cannot do (the checks plan makes before connecting).
//!
//! On success one line on stdout (`valid: 3 users, 2 whitelist phones, 1 MFA flag, 2 files`)
//! and any warnings on stderr; on failure every diagnostic on stderr and exit code 1.

use crate::cli::ValidateArgs;
use crate::exit::{Error, Outcome};
use crate::manifest::{self, Loaded};
use crate::printer::Printer;

pub fn run(args: &ValidateArgs, printer: &Printer) -> Result<Outcome, Error> {
    let loaded = manifest::load(&args.manifests.files)?;
    super::planning::show_warnings(&loaded, printer);
    if let Some(api) = args.api {
        super::capability::check_desired(&loaded.state, api.into(), Default::default())?;
    }
    printer
        .data(&format!("{}\n", summary(&loaded)))
        .map_err(Error::Output)?;
    Ok(Outcome::Success)
}

/// `valid: 3 users, 2 whitelist phones, 1 MFA flag, 2 files`.
fn summary(loaded: &Loaded) -> String {
    let state = &loaded.state;
    let phones = state
        .whitelist
        .as_ref()
        .and_then(|whitelist| whitelist.phones.as_ref())
        .map_or(0, Vec::len);
    let mfa = state.users.iter().filter(|user| user.mfa.is_some()).count();
    format!(
        "valid: {}, {}, {}, {}",
        count(state.users.len(), "user", "users"),
        count(phones, "whitelist phone", "whitelist phones"),
        count(mfa, "MFA flag", "MFA flags"),
        count(loaded.files, "file", "files"),
    )
}

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DesiredState;

    #[test]
    fn the_summary_counts_in_singular_and_plural() {
        let loaded = Loaded {
            state: DesiredState::default(),
            warnings: Vec::new(),
            files: 1,
        };
        assert_eq!(
            summary(&loaded),
            "valid: 0 users, 0 whitelist phones, 0 MFA flags, 1 file"
        );
    }
}
