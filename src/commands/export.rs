//! `authing-sync export`: the live pool written as a manifest that plans straight back to "No
//! changes.": users sorted by key, only manifest fields, MFA and the whitelist on request.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use crate::cli::{ExportArgs, ExportFormat};
use crate::exit::{Error, Outcome};
use crate::manifest;
use crate::model::{
    Completeness, DesiredState, DesiredUser, DesiredWhitelist, Email, LiveState, MatchOn, Origin,
    Phone, Profile, PruneSettings,
};
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

    let mut desired = to_desired(&live, match_on, args, printer);
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
        None => printer.data(&text)?,
    }
    Ok(Outcome::Success)
}

/// The live pool as a desired state that declares exactly what the pool holds. Values that a
/// manifest could not hold (a malformed email or phone) are left unmanaged, with a warning, so
/// that the export always validates and plans back to "No changes.".
fn to_desired(
    live: &LiveState,
    match_on: MatchOn,
    args: &ExportArgs,
    printer: &Printer,
) -> DesiredState {
    let origin = Origin::new(Arc::from(Path::new("<export>")), 0);
    let mut users: Vec<DesiredUser> = Vec::with_capacity(live.users.len());
    let (mut unkeyed, mut bad_emails, mut bad_phones) = (0, 0, 0);
    for user in &live.users {
        let Some(key) = user.key(match_on) else {
            unkeyed += 1;
            continue;
        };
        let keep = |value: &Option<String>| {
            value
                .as_ref()
                .map(|text| text.trim())
                .filter(|text| !text.is_empty())
                .map(str::to_string)
        };
        let mut email = keep(&user.profile.email);
        if email
            .as_deref()
            .is_some_and(|email| Email::parse(email).is_err())
        {
            bad_emails += 1;
            if match_on == MatchOn::Email {
                continue;
            }
            email = None;
        }
        let mut phone = keep(&user.profile.phone);
        if phone
            .as_deref()
            .is_some_and(|phone| Phone::parse(phone).is_err())
        {
            bad_phones += 1;
            phone = None;
        }
        let profile = Profile {
            email,
            username: keep(&user.profile.username),
            nickname: keep(&user.profile.nickname),
            company: keep(&user.profile.company),
            photo: keep(&user.profile.photo),
            phone,
            email_verified: Some(user.profile.email_verified.unwrap_or(false)),
            blocked: Some(user.profile.blocked.unwrap_or(false)),
        };
        let mfa = args.with_mfa.then(|| user.mfa.unwrap_or(false));
        users.push(DesiredUser {
            key,
            profile,
            mfa,
            password: None,
            origin: origin.clone(),
        });
    }
    users.sort_by(|a, b| a.key.cmp(&b.key));
    let before = users.len();
    let mut seen = HashSet::new();
    users.retain(|user| seen.insert(user.key.clone()));
    let warn = |count: usize, what: String| {
        if count > 0 {
            printer.warn(format!("{count} {what}"));
        }
    };
    warn(
        before - users.len(),
        format!(
            "users share a {match_on} with another user and were left out; the pool needs them made distinct"
        ),
    );
    warn(
        unkeyed,
        format!("users have no {match_on} and were left out (export with the other --match-on)"),
    );
    warn(bad_emails, "users have an email a manifest cannot hold; it was left unmanaged (with --match-on email, the user was left out)".into());
    warn(
        bad_phones,
        "users have a phone a manifest cannot hold; it was left unmanaged".into(),
    );
    let whitelist = live.whitelist.as_ref().filter(|_| args.with_whitelist).map(|whitelist| {
        let parsed: Result<Vec<Phone>, _> = whitelist.phones.iter().map(|phone| Phone::parse(&phone.raw)).collect();
        let phones = match parsed {
            Ok(mut phones) => {
                phones.sort();
                phones.dedup();
                Some(phones.into_iter().map(|phone| (phone, origin.clone())).collect())
            }
            // The list is declared whole or not at all: a phone left out would be removed.
            Err(_) => {
                printer.warn("the whitelist holds a phone a manifest cannot hold; the list was left unmanaged (only the switch is exported)");
                None
            }
        };
        DesiredWhitelist { enabled: Some((whitelist.enabled, origin.clone())), phones }
    });
    DesiredState {
        match_on,
        users,
        whitelist,
        prune: PruneSettings::default(),
        sources: Vec::new(),
    }
}
