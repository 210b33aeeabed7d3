//! `authing-sync export`: the live pool written as a manifest that plans straight back to "No
//! changes.": users sorted by key, only manifest fields, MFA and the whitelist on request.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use crate::cli::{ExportArgs, ExportFormat};
use crate::exit::{Error, Outcome};
use crate::manifest;
use crate::model::{
    DesiredState, DesiredUser, DesiredWhitelist, LiveState, MatchOn, Origin, Phone, Profile,
    PruneSettings,
};
use crate::printer::Printer;
use crate::remote::{self, FetchScope, MfaScope};
use crate::settings::Connection;

use super::planning::fetch_reporter;
use super::session::Session;

pub async fn run(args: &ExportArgs, printer: &Printer) -> Result<Outcome, Error> {
    let connection = Connection::resolve(&args.connection)?;
    let match_on: MatchOn = args.match_on.into();
    let session = Session::open(&connection, printer).await?;
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
    let live = remote::fetch(
        &session.client,
        &scope,
        session.concurrency,
        reporter.as_ref(),
    )
    .await;
    drop(reporter);
    session.close().await?;
    let live = live?;

    let mut desired = to_desired(&live, match_on, args, printer);
    let text = match args.format {
        ExportFormat::Yaml => manifest::to_yaml(&desired),
        ExportFormat::Csv => {
            if let Some(whitelist) = desired.whitelist.as_mut()
                && whitelist.enabled.take().is_some()
            {
                printer.warn("CSV cannot hold the whitelist switch; it was left out (export YAML to keep it)");
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

/// The live pool as a desired state that declares exactly what the pool holds.
fn to_desired(
    live: &LiveState,
    match_on: MatchOn,
    args: &ExportArgs,
    printer: &Printer,
) -> DesiredState {
    let origin = Origin::new(Arc::from(Path::new("<export>")), 0);
    let mut users: Vec<DesiredUser> = Vec::with_capacity(live.users.len());
    let mut unkeyed = 0;
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
        let profile = Profile {
            email: keep(&user.profile.email),
            username: keep(&user.profile.username),
            nickname: keep(&user.profile.nickname),
            company: keep(&user.profile.company),
            photo: keep(&user.profile.photo),
            phone: keep(&user.profile.phone),
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
    if before != users.len() {
        printer.warn(format!(
            "{} users share a {match_on} with another user and were left out; the pool needs them made distinct",
            before - users.len()
        ));
    }
    if unkeyed > 0 {
        printer.warn(format!("{unkeyed} users have no {match_on} and were left out (export with the other --match-on)"));
    }
    let whitelist = live
        .whitelist
        .as_ref()
        .filter(|_| args.with_whitelist)
        .map(|whitelist| {
            let mut phones: Vec<Phone> = whitelist
                .phones
                .iter()
                .filter_map(|phone| Phone::parse(&phone.raw).ok())
                .collect();
            phones.sort();
            phones.dedup();
            DesiredWhitelist {
                enabled: Some((whitelist.enabled, origin.clone())),
                phones: Some(
                    phones
                        .into_iter()
                        .map(|phone| (phone, origin.clone()))
                        .collect(),
                ),
            }
        });
    DesiredState {
        match_on,
        users,
        whitelist,
        prune: PruneSettings::default(),
        sources: Vec::new(),
    }
}
