//! `authing-sync export`: the live pool written as a manifest that plans straight back to "No
//! changes." (`manifest::from_live` decides what is declared): users sorted by key, every field
//! of the field table, MFA, the whitelist and user ids on request.

use crate::cli::{ExportArgs, ExportFormat};
use crate::exit::{Error, Outcome};
use crate::manifest::{self, ExportOptions, Omissions};
use crate::model::{Completeness, MatchOn};
use crate::printer::Printer;
use crate::remote::{self, FetchScope, MfaScope};
use crate::settings::Connection;

use super::interrupt::Interrupts;
use super::planning::fetch_reporter;
use super::session::Session;

pub async fn run(args: &ExportArgs, printer: &Printer) -> Result<Outcome, Error> {
    let connection = Connection::resolve(&args.connection)?;
    let match_on: MatchOn = args.match_on.into();
    if args.format == ExportFormat::Csv && match_on != MatchOn::Email {
        return Err(Error::Export(Box::new(manifest::WriteError::NotCsv(
            format!("`match_on: {match_on}` (CSV manifests are matched on email)"),
        ))));
    }
    let interrupts = Interrupts::watch(printer);
    let session = interrupts
        .reading(Session::open(&connection, printer))
        .await?;
    let session_api = session.client.api();
    let scope = FetchScope {
        match_on,
        mfa: if args.with_mfa {
            MfaScope::All
        } else {
            MfaScope::None
        },
        whitelist: args.with_whitelist,
    };
    let reporter = fetch_reporter(printer);
    let live = interrupts
        .reading(async {
            Ok(remote::fetch(
                &session.client,
                &scope,
                session.concurrency,
                reporter.as_ref(),
            )
            .await?)
        })
        .await;
    drop(reporter);
    session.close().await?;
    let live = live?;
    if let Completeness::Incomplete { reason } = &live.completeness {
        return Err(Error::IncompleteRead {
            reason: reason.clone(),
        });
    }

    let (mut desired, omissions) = manifest::from_live(
        &live,
        ExportOptions {
            match_on,
            with_mfa: args.with_mfa,
            with_whitelist: args.with_whitelist,
            with_ids: args.with_ids,
        },
    );
    warn_omissions(&omissions, match_on, printer);
    if !session_api.has_whitelist_switch()
        && let Some(whitelist) = desired.whitelist.as_mut()
    {
        // The API cannot read the switch: the manifest leaves it alone.
        whitelist.enabled = None;
    }
    let text = match args.format {
        ExportFormat::Yaml => manifest::to_yaml(&desired),
        ExportFormat::Csv => {
            if let Some(whitelist) = desired.whitelist.as_mut() {
                if whitelist.enabled.take().is_some() {
                    printer.warn("CSV cannot hold the whitelist switch; it was left out (export YAML to keep it)");
                }
                // CSV says "the whitelist is managed" by listing phones; an empty list cannot be said.
                if whitelist.phones.as_ref().is_some_and(Vec::is_empty) {
                    whitelist.phones = None;
                }
            }
            manifest::to_csv(&desired).map_err(|err| Error::Export(Box::new(err)))?
        }
    };
    match &args.out {
        Some(path) => {
            crate::atomic::write(path, text.as_bytes()).map_err(|source| Error::Io {
                action: "write",
                path: path.clone(),
                source,
            })?;
            printer.status(format!(
                "Exported {} users to {}",
                desired.users.len(),
                path.display()
            ));
        }
        None => printer.data(&text).map_err(Error::Output)?,
    }
    Ok(Outcome::Success)
}

/// How many users a warning names before "and N more".
const NAMED: usize = 5;

/// Says what the export could not declare.
fn warn_omissions(omissions: &Omissions, match_on: MatchOn, printer: &Printer) {
    let warn = |count: usize, what: String| {
        if count > 0 {
            printer.warn(format!("{count} {what}"));
        }
    };
    warn(
        omissions.shared_keys,
        format!(
            "users share a {match_on} with another user and were left out; the pool needs them made distinct"
        ),
    );
    warn(
        omissions.unkeyed,
        format!("users have no {match_on} and were left out (export with the other --match-on)"),
    );
    let named = |users: &[String], what: &str| {
        if !users.is_empty() {
            printer.warn(format!(
                "{} {what}: {}",
                users.len(),
                crate::render::names_some(users, NAMED)
            ));
        }
    };
    named(
        &omissions.bad_emails,
        "users have an email a manifest cannot hold; it was left unmanaged (with --match-on email, the user was left out)",
    );
    named(
        &omissions.bad_phones,
        "users have a phone a manifest cannot hold; it was left unmanaged",
    );
    let dates: Vec<String> = omissions
        .bad_dates
        .iter()
        .map(|(field, key)| format!("{key} ({field})"))
        .collect();
    named(
        &dates,
        "users have a date a manifest cannot hold (not a calendar date); it was left unmanaged",
    );
    if omissions.whitelist_unmanaged {
        printer.warn("the whitelist holds a phone a manifest cannot hold; the list was left unmanaged (only the switch is exported)");
    }
}
