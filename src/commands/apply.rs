//! `authing-sync apply`: plan from manifests (or load a saved plan and check it is not stale),
//! check the deletion guard, confirm, then execute with progress, interrupts handled (see
//! `interrupt`), and a closing summary.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use serde_json::Value;

use crate::apply::{self, DeleteLimit, ExecuteOptions, PasswordBook, Refusal};
use crate::cli::{ApiArg, ApplyArgs, ConnectionArgs};
use crate::diff::Policy;
use crate::exit::{Error, Outcome};
use crate::manifest;
use crate::mfa_cache::{MfaCache, ReadPolicy};
use crate::model::Field;
use crate::plan::file::PoolRef;
use crate::plan::{Change, PasswordPlan, Plan, PlanFile};
use crate::printer::Printer;
use crate::render::{self, Masker, PlanCost};
use crate::report::ApplyReporter;
use crate::secret::endpoint_without_secrets;
use crate::settings::{Connection, Endpoint, SettingsError};

use super::interrupt::Interrupts;
use super::planning::{
    self, apply_reporter, delete_limit, listing, parse_limit, render_human, show_warnings,
};
use super::session::Session;

pub async fn run(args: &ApplyArgs, printer: &Printer) -> Result<Outcome, Error> {
    let started = Instant::now();
    let interrupts = Interrupts::watch(printer);
    match &args.plan {
        Some(path) => {
            let file = PlanFile::load(path)?;
            let connection = connection_for_plan(&args.connection, &file.pool, printer)?;
            apply_saved(args, path, file, &connection, printer, &interrupts).await
        }
        None => {
            let connection = Connection::resolve(&args.connection)?;
            apply_manifests(args, &connection, printer, started, &interrupts).await
        }
    }
}

/// The connection a saved plan is applied through: the endpoint, API and pool id it records
/// unless given (flag or environment); one given that differs from the plan's is refused (exit
/// 3) before any request, so the secret never goes to a pool the plan was not made for. A plan
/// made on `local` applies only where its pool file is (the directory it was made in): a fresh
/// embedded emulator is not the pool it was made against.
fn connection_for_plan(
    args: &ConnectionArgs,
    planned: &PoolRef,
    printer: &Printer,
) -> Result<Connection, Error> {
    let mut args = args.clone();
    let planned_local = planned.endpoint.eq_ignore_ascii_case("local");
    let planned_api = match planned.api.as_deref() {
        Some("v1") => Some(ApiArg::V1),
        Some("v3") => Some(ApiArg::V3),
        Some(other) => {
            return Err(Refusal::Tampered {
                reason: format!("its pool names an unknown API `{other}`"),
            }
            .into());
        }
        None => None,
    };
    // An API other than the plan's is refused as the wrong pool before anything else: the
    // endpoint may be the plan's own, which the other API would only call malformed.
    if let (Some(given), Some(planned_api)) = (args.api, planned_api)
        && given != planned_api
    {
        let endpoint = args
            .endpoint
            .as_deref()
            .map_or_else(|| planned.endpoint.clone(), endpoint_without_secrets);
        let client_id = args.client_id.as_deref().unwrap_or(&planned.client_id);
        let name = |api: ApiArg| match api {
            ApiArg::V1 => "v1",
            ApiArg::V3 => "v3",
        };
        return Err(Refusal::WrongPool {
            planned: format!(
                "{} (pool {}, {} API)",
                endpoint_without_secrets(&planned.endpoint),
                planned.client_id,
                name(planned_api)
            ),
            actual: format!("{endpoint} (pool {client_id}, {} API)", name(given)),
        }
        .into());
    }
    let mut taken = Vec::new();
    if args.endpoint.is_none() {
        args.endpoint = Some(planned.endpoint.clone());
        taken.push("endpoint");
    }
    if args.api.is_none() && planned_api.is_some() {
        args.api = planned_api;
        taken.push("API");
    }
    if args.client_id.is_none() && !planned_local {
        args.client_id = Some(planned.client_id.clone());
        taken.push("pool id");
    }
    let connection = Connection::resolve(&args)?;
    let (endpoint, client_id) = match (&connection.endpoint, &connection.credentials) {
        (Endpoint::Remote(url), Some(credentials)) => (
            endpoint_without_secrets(url.as_str()),
            credentials.client_id.clone(),
        ),
        _ => (
            "local".to_string(),
            crate::emulator::DEFAULT_CLIENT_ID.to_string(),
        ),
    };
    let planned_endpoint = if planned_local {
        "local".to_string()
    } else {
        endpoint_without_secrets(&planned.endpoint)
    };
    let api = connection.api.name();
    let same_api = planned.api.as_deref().is_none_or(|planned| planned == api);
    if endpoint != planned_endpoint || client_id != planned.client_id || !same_api {
        let show = |endpoint: &str, client_id: &str, api: Option<&str>| match api {
            Some(api) => format!("{endpoint} (pool {client_id}, {api} API)"),
            None => format!("{endpoint} (pool {client_id})"),
        };
        return Err(Refusal::WrongPool {
            planned: show(
                &planned_endpoint,
                &planned.client_id,
                planned.api.as_deref(),
            ),
            actual: show(&endpoint, &client_id, Some(api)),
        }
        .into());
    }
    if planned_local {
        let pool_file = Path::new(super::session::LOCAL_DIR).join(super::session::LOCAL_POOL);
        if !pool_file.exists() {
            return Err(Refusal::WrongPool {
                planned: "the local emulator's pool (.authing-sync/local-pool.json where the plan was made)".into(),
                actual: format!(
                    "a fresh local emulator ({} does not exist in this directory; run apply --plan where the plan was made)",
                    pool_file.display()
                ),
            }
            .into());
        }
    }
    if !taken.is_empty() {
        printer.status(format!(
            "Applying to {} (pool {client_id}, {api} API): the plan's {}",
            endpoint,
            taken.join(", ")
        ));
    }
    Ok(connection)
}

/// The flags of this apply the API may not carry out.
fn flags(args: &ApplyArgs) -> super::capability::Flags {
    super::capability::Flags {
        send_reset_email: args.send_reset_email,
    }
}

async fn apply_manifests(
    args: &ApplyArgs,
    connection: &Connection,
    printer: &Printer,
    started: Instant,
    interrupts: &Interrupts,
) -> Result<Outcome, Error> {
    let loaded = manifest::load(&args.files)?;
    show_warnings(&loaded, printer);
    let limit = delete_limit(args.max_deletes.as_deref(), Some(&loaded.state))?;
    super::capability::check_desired(&loaded.state, connection.api, flags(args))?;
    let session = interrupts
        .reading(Session::open(connection, printer))
        .await?;
    let result = async {
        let (plan, cost, cache) = interrupts
            .reading(planning::make_plan(
                &session,
                &loaded.state,
                args.prune,
                &args.mfa,
                printer,
                started,
            ))
            .await?;
        let passwords = PasswordBook::from_desired(&loaded.state);
        carry_out(
            &session,
            &plan,
            Some(cost),
            &limit,
            &passwords,
            args,
            printer,
            false,
            interrupts,
            cache,
        )
        .await
    }
    .await;
    let closed = session.close().await;
    let outcome = result?;
    closed?;
    Ok(outcome)
}

async fn apply_saved(
    args: &ApplyArgs,
    path: &Path,
    file: PlanFile,
    connection: &Connection,
    printer: &Printer,
    interrupts: &Interrupts,
) -> Result<Outcome, Error> {
    if args.mfa.refresh {
        return Err(SettingsError::InvalidFlag {
            flag: "--refresh",
            reason: "a saved plan is applied as it was reviewed; make a new plan with --refresh"
                .into(),
        }
        .into());
    }
    if let Some(reason) = file.tampering() {
        return Err(Refusal::Tampered {
            reason: format!("{}: {reason}", path.display()),
        }
        .into());
    }
    let policy = Policy::from_entry(file.prune.as_ref()).map_err(|reason| Refusal::Tampered {
        reason: format!(
            "{}: its prune policy does not read: {reason}",
            path.display()
        ),
    })?;
    let plan = file.to_plan(path)?;
    let flag = parse_limit(args.max_deletes.as_deref(), "--max-deletes")?;
    let saved = parse_limit(file.max_deletes.as_deref(), "max_deletes in the plan file")?;
    let limit = DeleteLimit::new(flag, saved, None);
    let passwords = PasswordBook::for_saved_plan(&plan, &file.manifests)?;
    super::capability::check_plan(&plan, connection.api, flags(args))?;
    let session = interrupts
        .reading(Session::open(connection, printer))
        .await?;
    let result = async {
        // Checked before connecting ([`connection_for_plan`]); checked again on what the
        // session reached, both endpoints without their query.
        let same_api = file.pool.api.is_none() || file.pool.api == session.pool.api;
        if endpoint_without_secrets(&file.pool.endpoint) != session.pool.endpoint
            || file.pool.client_id != session.pool.client_id
            || !same_api
        {
            return Err(Refusal::WrongPool {
                planned: format!("{} (pool {})", file.pool.endpoint, file.pool.client_id),
                actual: format!(
                    "{} (pool {})",
                    session.pool.endpoint, session.pool.client_id
                ),
            }
            .into());
        }
        let resumed = interrupts
            .reading(async {
                Ok::<_, Error>(
                    apply::check_drift(&plan, &policy, &session.client, session.concurrency)
                        .await??,
                )
            })
            .await?;
        if resumed.done > 0 {
            printer.status(format!(
                "{} of the plan's {} changes are already done (an earlier run of this plan); applying the other {}",
                resumed.done,
                plan.changes.len(),
                resumed.plan.changes.len()
            ));
        }
        // The MFA switches it sets are recorded in the cache, as after any apply.
        let cache = resumed
            .plan
            .changes
            .iter()
            .any(|change| matches!(change, Change::Mfa(_)))
            .then(|| {
                planning::cache_usable(args.mfa.cache_dir(), ReadPolicy::Exact, printer)
                    .then(|| planning::load_cache(&session, args.mfa.cache_dir(), printer))
            })
            .flatten();
        carry_out(
            &session,
            &resumed.plan,
            None,
            &limit,
            &passwords,
            args,
            printer,
            true,
            interrupts,
            cache,
        )
        .await
    }
    .await;
    let closed = session.close().await;
    let outcome = result?;
    closed?;
    Ok(outcome)
}

#[allow(clippy::too_many_arguments)]
async fn carry_out(
    session: &Session,
    plan: &Plan,
    cost: Option<PlanCost>,
    limit: &DeleteLimit,
    passwords: &PasswordBook,
    args: &ApplyArgs,
    printer: &Printer,
    saved: bool,
    interrupts: &Interrupts,
    cache: Option<MfaCache>,
) -> Result<Outcome, Error> {
    apply::check_deletes(plan, limit)?;
    if !printer.quiet() || plan.is_empty() {
        printer
            .data(&render_human(
                plan,
                printer,
                Masker::off(),
                cost,
                Vec::new(),
                listing(args.show, plan, limit),
            ))
            .map_err(Error::Output)?;
    }
    if args.send_reset_email
        && let Some(warning) = reset_email_warning(plan)
    {
        printer.warn(warning);
    }
    let suppressed = plan.deletes_suppressed();
    if plan.is_empty() {
        if let Some(reason) = suppressed {
            report_suppressed(reason, printer);
            return Ok(Outcome::Partial);
        }
        return Ok(Outcome::NoChanges);
    }
    interrupts
        .reading(confirm(args.auto_approve, printer))
        .await?;

    let reporter: Arc<dyn ApplyReporter> = Arc::from(apply_reporter(printer));
    let cancel = interrupts.token().clone();
    // The reporter says so as soon as the first interrupt comes.
    let watcher = {
        let cancel = cancel.clone();
        let reporter = Arc::clone(&reporter);
        tokio::spawn(async move {
            cancel.cancelled().await;
            reporter.interrupted();
        })
    };
    let options = ExecuteOptions {
        concurrency: session.concurrency,
        send_reset_email: args.send_reset_email,
        // A saved plan was reviewed as it is: a user that appeared under a key it creates is
        // drift, not something to take over.
        take_over_existing: !saved,
        // The plan was shown and someone typed `yes` to it.
        reviewed: !args.auto_approve,
        ..ExecuteOptions::default()
    };
    let report = apply::execute(
        plan,
        &session.client,
        passwords,
        &options,
        reporter.as_ref(),
        &cancel,
    )
    .await;
    watcher.abort();
    drop(reporter);
    if let Some(mut cache) = cache {
        cache.record_apply(plan, &report.mfa_written, Timestamp::now());
        planning::save_cache(args.mfa.cache_dir(), &cache, printer);
    }

    render::summary::apply_finished(&report, printer);
    if let Some(reason) = suppressed {
        report_suppressed(reason, printer);
    }
    if let Some(fatal) = report.fatal {
        return Err(fatal.into());
    }
    Ok(if report.is_complete() && suppressed.is_none() {
        Outcome::Success
    } else {
        Outcome::Partial
    })
}

/// New users that get a generated password but have no email for the reset email to go to.
fn reset_email_warning(plan: &Plan) -> Option<String> {
    let unreachable: Vec<&str> = plan
        .changes
        .iter()
        .filter_map(|change| match change {
            Change::Create(create)
                if create.password == PasswordPlan::Generated
                    && create.profile.text(Field::Email).is_none_or(str::is_empty) =>
            {
                Some(create.key.as_str())
            }
            _ => None,
        })
        .collect();
    let (first, rest) = unreachable.split_first()?;
    let (count, who) = match rest.len() {
        0 => ("1 new user has".to_string(), (*first).to_string()),
        _ => {
            let shown: Vec<&str> = unreachable.iter().take(5).copied().collect();
            let more = unreachable.len().saturating_sub(shown.len());
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            (
                format!("{} new users have", unreachable.len()),
                format!("{}{tail}", shown.join(", ")),
            )
        }
    };
    Some(format!(
        "--send-reset-email: {count} no email ({who}): they get a generated password that no one is sent, so they cannot log in until their password is reset another way; declare an email or a password"
    ))
}

/// Deletions the plan left out are work not done: said loudly, and the exit code is 4.
fn report_suppressed(reason: &str, printer: &Printer) {
    printer.warn(format!(
        "deletions were not applied: {reason}. Run apply again when the pool is quiet"
    ));
    printer.event("deletes_suppressed", [("reason", Value::from(reason))]);
}

/// Asks on the terminal, unless `--auto-approve`; with no terminal, refuses.
async fn confirm(auto_approve: bool, printer: &Printer) -> Result<(), Error> {
    if auto_approve {
        return Ok(());
    }
    if !printer.interactive() {
        return Err(Error::NoTerminal);
    }
    let question = "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ";
    let printer = printer.clone();
    let answer = tokio::task::spawn_blocking(move || printer.prompt(question))
        .await
        .map_err(|err| Error::Output(std::io::Error::other(err)))?
        .map_err(Error::Output)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Error::NotConfirmed)
    }
}
