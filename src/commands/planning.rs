//! What `plan` and `apply` share: reading the pool for a desired state and diffing it (the MFA
//! switches through `mfa_cache`, which this file loads and saves), the reporters that suit the
//! printer, the deletion limit, and printing a plan.

use std::path::Path;
use std::time::Instant;

use jiff::Timestamp;

use crate::apply::{self, DeleteLimit};
use crate::cli::{MfaReadArgs, PlanFormat};
use crate::diff::{self, Policy};
use crate::exit::Error;
use crate::manifest::Loaded;
use crate::mfa_cache::{self, CacheKey, MfaCache, ReadPolicy};
use crate::model::{DesiredState, LiveState, LiveUser, MaxDeletes};
use crate::plan::{Plan, PlanFile};
use crate::printer::Printer;
use crate::remote::{self, FetchScope, MfaScope};
use crate::render::events::EventReporter;
use crate::render::lines::LineReporter;
use crate::render::progress::{ApplyProgress, FetchProgress};
use crate::render::{self, HumanOptions, Listing, MarkdownOptions, Masker, PlanCost, Show, Style};
use crate::report::{ApplyReporter, FetchReporter, Silent};
use crate::settings::SettingsError;

use super::session::Session;

/// The reporter for reading the pool.
pub fn fetch_reporter(printer: &Printer) -> Box<dyn FetchReporter> {
    if printer.json_events() {
        Box::new(EventReporter::new(printer.clone()))
    } else if printer.progress() {
        Box::new(FetchProgress::new())
    } else if printer.quiet() {
        Box::new(Silent)
    } else {
        Box::new(LineReporter::new(printer.clone()))
    }
}

/// The reporter for applying.
pub fn apply_reporter(printer: &Printer) -> Box<dyn ApplyReporter> {
    if printer.json_events() {
        Box::new(EventReporter::new(printer.clone()))
    } else if printer.progress() {
        Box::new(ApplyProgress::new())
    } else if printer.quiet() {
        Box::new(Silent)
    } else {
        Box::new(LineReporter::new(printer.clone()))
    }
}

/// Prints what loading the manifests noticed, as miette renders it; nothing with `--quiet`.
pub fn show_warnings(loaded: &Loaded, printer: &Printer) {
    if printer.quiet() {
        return;
    }
    for warning in &loaded.warnings {
        printer.diagnostic(&format!("{:?}", miette::Report::new(warning.clone())));
    }
}

/// Reads the pool and diffs it against the desired state, reading the MFA switches as `mfa`
/// allows (`mfa_cache`); the cache is saved when a manifest manages MFA, and returned for apply
/// to record its writes. `started` is when the command began: the cost covers connecting too.
pub async fn make_plan(
    session: &Session,
    desired: &DesiredState,
    prune_flag: bool,
    mfa: &MfaReadArgs,
    printer: &Printer,
    started: Instant,
) -> Result<(Plan, PlanCost, Option<MfaCache>), Error> {
    let scope = FetchScope {
        match_on: desired.match_on,
        mfa: MfaScope::None,
        whitelist: desired.manages_whitelist(),
    };
    let reporter = fetch_reporter(printer);
    let mut live = remote::fetch(
        &session.client,
        &scope,
        session.concurrency,
        reporter.as_ref(),
    )
    .await?;
    let managed = desired.managed_mfa();
    let mut read_policy = read_policy(mfa);
    // A cache that cannot be saved is not used at all: a budget over it would read the same
    // oldest states run after run and never go round the pool.
    let usable = !managed.is_empty() && cache_usable(mfa.cache_dir(), read_policy, printer);
    if !managed.is_empty() && !usable {
        read_policy = ReadPolicy::Exact;
    }
    if read_policy == ReadPolicy::Budget(0) && !managed.is_empty() {
        printer.warn(
            "--mfa-read-budget 0 never reads again an MFA state the cache knows: a change made \
             outside authing-sync (MFA turned off in the console) is found only by --refresh",
        );
    }
    let mut cache = if usable {
        load_cache(session, mfa.cache_dir(), printer)
    } else {
        MfaCache::empty(cache_key(session))
    };
    let policy = Policy::from_desired(desired, prune_flag);
    let (plan, reads) = mfa_cache::resolve(
        &mut live,
        &managed,
        &mut cache,
        read_policy,
        Timestamp::now(),
        async |users: &[&LiveUser]| {
            let read = remote::mfa_states(
                &session.client,
                users,
                session.concurrency,
                reporter.as_ref(),
            );
            Ok::<_, Error>(read.await?)
        },
        |live: &LiveState| Ok::<_, Error>(diff::diff(desired, live, &policy)?),
    )
    .await?;
    reporter.finished();
    drop(reporter);
    super::capability::check_plan(&plan, session.client.api(), Default::default())?;
    let mut reads = reads;
    if let Some(reads) = reads.as_mut()
        && mfa.refresh
    {
        reads.refresh = true;
        reads.budget = mfa.mfa_read_budget;
    }
    let cache = (reads.is_some() && usable).then(|| {
        save_cache(mfa.cache_dir(), &cache, printer);
        cache
    });
    let calls = session.client.stats();
    let cost = PlanCost {
        requests: calls.total(),
        retries: calls.retries,
        users: live.users.len(),
        elapsed: started.elapsed(),
        mfa: reads,
    };
    Ok((plan, cost, cache))
}

/// Which pool's cache this session uses: keyed by the session's API too, with the pool.
pub fn cache_key(session: &Session) -> CacheKey {
    CacheKey::new(
        session.client.api().name(),
        session.pool.endpoint.clone(),
        session.pool.client_id.clone(),
    )
}

/// The pool's MFA cache under `dir`; one that cannot be trusted is reported and left out.
pub fn load_cache(session: &Session, dir: &Path, printer: &Printer) -> MfaCache {
    let (cache, warning) = mfa_cache::load(dir, &cache_key(session));
    if let Some(warning) = warning {
        printer.warn(warning);
    }
    cache
}

/// Whether the MFA cache under `dir` can be saved; when not, one warning says why and what
/// this run does instead (under a budget: reads every state, as without one).
pub fn cache_usable(dir: &Path, policy: ReadPolicy, printer: &Printer) -> bool {
    match mfa_cache::file::writable(dir) {
        Ok(()) => true,
        Err(why) => {
            printer.warn(match policy {
                ReadPolicy::Budget(budget) => format!(
                    "{why}: the MFA cache cannot be saved, so --mfa-read-budget {budget} is not \
                     applied and every MFA state is read from the pool (the cache is neither \
                     read nor saved this run)"
                ),
                ReadPolicy::Exact | ReadPolicy::Refresh => format!(
                    "{why}: the MFA cache is neither read nor saved this run (every MFA state is \
                     read from the pool)"
                ),
            });
            false
        }
    }
}

/// Saves the MFA cache. A failure is a warning: the old file is removed so that the next plan
/// reads every state rather than the same oldest ones again (a budget over a cache that is never
/// renewed would not go round the pool); if even that fails, the next plan finds the directory
/// unwritable and reads every state too.
pub fn save_cache(dir: &Path, cache: &MfaCache, printer: &Printer) {
    if let Err(err) = mfa_cache::save(dir, cache) {
        let path = mfa_cache::file::path(dir, cache.key());
        let old = match std::fs::remove_file(&path) {
            Ok(()) => "; the old cache was removed, so the next plan reads every MFA state",
            Err(gone) if gone.kind() == std::io::ErrorKind::NotFound => {
                "; the next plan reads every MFA state"
            }
            Err(_) => {
                "; the old cache could not be removed either: the next plan checks the \
                 directory again and reads every MFA state while it cannot be written"
            }
        };
        printer.warn(format!(
            "could not save the MFA cache {} ({err}){old}",
            path.display()
        ));
    }
}

/// `--mfa-read-budget` and `--refresh` as a policy.
pub fn read_policy(mfa: &MfaReadArgs) -> ReadPolicy {
    match (mfa.refresh, mfa.mfa_read_budget) {
        (true, _) => ReadPolicy::Refresh,
        (false, Some(budget)) => ReadPolicy::Budget(budget),
        (false, None) => ReadPolicy::Exact,
    }
}

/// A deletion limit written as text (`N` or `N%`), named by `what` in errors.
pub fn parse_limit(
    text: Option<&str>,
    what: &'static str,
) -> Result<Option<MaxDeletes>, SettingsError> {
    text.map(MaxDeletes::parse)
        .transpose()
        .map_err(|err| SettingsError::InvalidFlag {
            flag: what,
            reason: err.to_string(),
        })
}

/// The deletion limit: the flag, else the manifest, else the default.
pub fn delete_limit(
    flag: Option<&str>,
    desired: Option<&DesiredState>,
) -> Result<DeleteLimit, Error> {
    let flag = parse_limit(flag, "--max-deletes")?;
    let (manifest, origin) = match desired {
        Some(desired) => (desired.prune.max_deletes, desired.prune.origin.clone()),
        None => (None, None),
    };
    Ok(DeleteLimit::new(flag, manifest, origin))
}

/// A warning when apply would refuse this plan.
pub fn guard_warning(plan: &Plan, limit: &DeleteLimit) -> Option<String> {
    apply::check_deletes(plan, limit)
        .err()
        .map(|refusal| format!("apply would refuse this plan: {refusal}"))
}

/// How much of each kind of change to list: `--show`, and deletions in full up to the limit.
pub fn listing(show: Option<Show>, plan: &Plan, limit: &DeleteLimit) -> Listing {
    Listing {
        show: show.unwrap_or_default(),
        deletions_allowed: limit.allowed(plan.live_users),
        removals_allowed: limit.allowed(plan.live_phones),
    }
}

/// The plan as people read it, for stdout.
pub fn render_human(
    plan: &Plan,
    printer: &Printer,
    masker: Masker,
    cost: Option<PlanCost>,
    warnings: Vec<String>,
    listing: Listing,
) -> String {
    let options = HumanOptions {
        style: Style::new(printer.stdout_color()),
        masker,
        cost,
        warnings,
        listing,
    };
    render::human::render(plan, &options)
}

/// Prints the plan in the asked format on stdout. The JSON is the saved-plan file: `file` is its
/// [`PlanFile::header`], and the changes are written one at a time after it.
#[allow(clippy::too_many_arguments)]
pub fn print_plan(
    plan: &Plan,
    file: &PlanFile,
    format: PlanFormat,
    printer: &Printer,
    mask: bool,
    cost: Option<PlanCost>,
    warnings: Vec<String>,
    listing: Listing,
) -> std::io::Result<()> {
    let masker = Masker::new(mask);
    match format {
        PlanFormat::Human => printer.data(&render_human(
            plan, printer, masker, cost, warnings, listing,
        )),
        PlanFormat::Json => printer.data_with(|out| render::json::write(file, plan, masker, out)),
        PlanFormat::Markdown => printer.data(&render::markdown::render(
            plan,
            &MarkdownOptions {
                masker,
                cost,
                warnings,
                listing,
            },
        )),
    }
}
