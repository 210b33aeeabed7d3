//! The executor: runs a plan's changes in a safe order, one phase after another — whitelist
//! switch and additions (so a phone can register), renames (updates that change a user's key,
//! so a new user can take the old key), creations, other updates, MFA, whitelist removals,
//! deletions — with at most `concurrency` operations at once. A user appears in at most one
//! operation per phase and phases do not overlap, so no two requests for the same user are ever
//! in flight together. One failure does not stop the others, but a creation whose key a failed
//! rename was to free is skipped; a fatal error or an interrupt stops new operations from
//! starting while those in flight finish. So does an endpoint that stopped answering: after
//! [`UNREACHABLE_AFTER`] operations in a row failed on connection errors (each after its
//! retries), nothing new starts, and the operations in flight give up retrying, so a dead
//! server ends the run in about one operation's retries rather than in one per operation. An
//! interrupt also cuts retries short.
//!
//! Creations refused as too frequent (Authing 2100, the pool's per-IP registration limit, which
//! `register` is subject to where the server has no `createUser`) are not failures: the phase
//! waits out the window (cancellably, through the reporter), then creates one user at a time.
//!
//! Updates that free a username, email or phone another change takes run with the renames, first;
//! a change whose value's freeing update did not happen is skipped, and a deletion of a user who
//! shares a unique value with a creation that failed in the run (its replacement) is held back.
//! A creation answered "user exists" whose user is found is adopted (counted apart), except
//! after an interactive review when its first attempt found it: someone else's user, not
//! overwritten.
//!
//! There is no dry-run branch here: the dry run is the plan.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use tokio_util::sync::CancellationToken;

use crate::model::LiveUser;
use crate::model::{Field, FieldValue, MatchOn, Profile, UserId, UserKey};
use crate::plan::{
    Action, Change, Create, MfaChange, MfaTarget, Plan, Update, WhitelistPhone, WhitelistSwitch,
};
use crate::remote::{ErrorClass, ErrorKind, NewUser, RemoteError};
use crate::report::{ApplyReporter, OpReport, OpStatus, Phase};

use super::outcome::{ApplyReport, Failure};
use super::passwords::PasswordBook;
use super::pool::PoolApi;

/// Operations in a row that failed on connection errors (each after its own retries) before
/// the endpoint is taken for dead: no new operation starts, and those in flight stop retrying.
pub const UNREACHABLE_AFTER: usize = 3;

/// Why operations were not started once the endpoint is taken for dead.
pub const UNREACHABLE: &str =
    "not started: the endpoint stopped answering (operations in a row failed on connection errors)";

/// How the executor runs.
#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// Operations in flight at once.
    pub concurrency: usize,
    /// Send the reset-password email to users created with a generated password.
    pub send_reset_email: bool,
    /// Users per `removeUsers` call.
    pub delete_batch: usize,
    /// When `register` answers "user exists" (2026), find the user with that key and update it
    /// to what the manifest declares (a registration whose answer was lost). Off for a saved
    /// plan: a user that appeared after the review is drift, and the create fails.
    pub take_over_existing: bool,
    /// Someone reviewed the plan and confirmed it (an interactive apply): a creation answered
    /// "user exists" on its first attempt found a user someone else made after the plan was
    /// read, and that user is not overwritten (the reviewer saw a creation). A 2026 after a
    /// retry is this run's own registration whose answer was lost, and is taken over.
    pub reviewed: bool,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            send_reset_email: false,
            delete_batch: 50,
            take_over_existing: true,
            reviewed: false,
        }
    }
}

/// Carries out a plan. Never fails as a whole: what happened is in the report.
pub async fn execute<P: PoolApi>(
    plan: &Plan,
    pool: &P,
    passwords: &PasswordBook,
    options: &ExecuteOptions,
    reporter: &dyn ApplyReporter,
    cancel: &CancellationToken,
) -> ApplyReport {
    let started = Instant::now();
    let parts = Parts::of(plan);
    let all_creates = parts.creates.clone();
    let run = Run {
        pool,
        passwords,
        options,
        reporter,
        cancel,
        match_on: plan.match_on,
        stopped: AtomicBool::new(false),
        unreachable: AtomicBool::new(false),
        failing: AtomicUsize::new(0),
        report: Mutex::new(ApplyReport::default()),
        created: Mutex::new(HashMap::new()),
        existing: Mutex::new(Vec::new()),
        freed: Mutex::new(HashSet::new()),
        freeing: parts
            .renames
            .iter()
            .flat_map(|update| crate::diff::freed_values(update))
            .collect(),
        freed_values: Mutex::new(HashSet::new()),
        renaming: plan
            .changes
            .iter()
            .filter_map(|change| match change {
                Change::Update(update) => update.renamed_from.clone(),
                _ => None,
            })
            .collect(),
        planned_ids: plan
            .changes
            .iter()
            .filter_map(Change::live_id)
            .cloned()
            .collect(),
        pacing: Pacing::default(),
    };
    reporter.started(plan.changes.len());

    let work = async {
        let mut first: Vec<Step<'_>> = parts.switch.into_iter().map(Step::Switch).collect();
        first.extend(parts.adds.into_iter().map(Step::WhitelistAdd));
        run.phase(Phase::WhitelistAdd, first).await;
        run.phase(
            Phase::Rename,
            parts.renames.into_iter().map(Step::Update).collect(),
        )
        .await;
        let batch = pool.create_batch();
        let creates = if batch > 1 {
            parts
                .creates
                .chunks(batch)
                .map(|creates| Step::CreateBatch(creates.to_vec()))
                .collect()
        } else {
            parts.creates.into_iter().map(Step::Create).collect()
        };
        run.phase(Phase::Create, creates).await;
        run.phase(
            Phase::Update,
            parts.updates.into_iter().map(Step::Update).collect(),
        )
        .await;
        run.phase(Phase::Mfa, parts.mfa.into_iter().map(Step::Mfa).collect())
            .await;
        run.phase(
            Phase::WhitelistRemove,
            parts
                .removes
                .into_iter()
                .map(Step::WhitelistRemove)
                .collect(),
        )
        .await;
        let deletes = run.hold_back_deletes(&all_creates, parts.deletes).await;
        let batches = deletes
            .chunks(options.delete_batch.max(1))
            .map(|batch| Step::Delete(batch.to_vec()))
            .collect();
        run.phase(Phase::Delete, batches).await;
    };
    // An interrupt stops new operations (the executor checks the token before each) and cuts
    // the retries of those in flight short; they are then driven to their end.
    {
        tokio::pin!(work);
        tokio::select! {
            biased;
            () = cancel.cancelled() => {
                pool.stop_retrying();
                work.await;
            }
            () = &mut work => {}
        }
    }

    let mut report = run
        .report
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    report.interrupted = cancel.is_cancelled();
    report.elapsed = started.elapsed();
    report
}

/// The plan's changes sorted into phases.
#[derive(Default)]
struct Parts<'a> {
    switch: Option<&'a WhitelistSwitch>,
    adds: Vec<&'a WhitelistPhone>,
    renames: Vec<&'a Update>,
    creates: Vec<&'a Create>,
    updates: Vec<&'a Update>,
    mfa: Vec<&'a MfaChange>,
    removes: Vec<&'a WhitelistPhone>,
    deletes: Vec<(UserId, String)>,
}

impl<'a> Parts<'a> {
    fn of(plan: &'a Plan) -> Self {
        let mut parts = Parts::default();
        let taken: HashSet<(Field, String)> = plan
            .changes
            .iter()
            .flat_map(crate::diff::taken_values)
            .collect();
        for change in &plan.changes {
            match change {
                Change::WhitelistSwitch(switch) => parts.switch = Some(switch),
                Change::WhitelistAdd(entry) => parts.adds.push(entry),
                Change::Create(create) => parts.creates.push(create),
                // Renames, and updates that free a value another change takes, run first.
                Change::Update(update)
                    if update.renamed_from.is_some()
                        || crate::diff::freed_values(update)
                            .iter()
                            .any(|value| taken.contains(value)) =>
                {
                    parts.renames.push(update)
                }
                Change::Update(update) => parts.updates.push(update),
                Change::Mfa(change) => parts.mfa.push(change),
                Change::WhitelistRemove(entry) => parts.removes.push(entry),
                Change::Delete(delete) => parts
                    .deletes
                    .push((delete.id.clone(), delete.label.clone())),
            }
        }
        parts
    }
}

/// One unit of work; a deletion batch covers several users.
enum Step<'a> {
    Switch(&'a WhitelistSwitch),
    WhitelistAdd(&'a WhitelistPhone),
    Create(&'a Create),
    /// Creations sent in one call (v3's `create-users-batch`).
    CreateBatch(Vec<&'a Create>),
    Update(&'a Update),
    Mfa(&'a MfaChange),
    WhitelistRemove(&'a WhitelistPhone),
    Delete(Vec<(UserId, String)>),
}

impl Step<'_> {
    /// The operations the step stands for: (action, target).
    fn describe(&self) -> Vec<(Action, String)> {
        match self {
            Step::Switch(_) => vec![(Action::WhitelistSwitch, "whitelist".into())],
            Step::WhitelistAdd(entry) => vec![(Action::WhitelistAdd, entry.phone.clone())],
            Step::Create(create) => vec![(Action::Create, create.key.to_string())],
            Step::CreateBatch(creates) => creates
                .iter()
                .map(|create| (Action::Create, create.key.to_string()))
                .collect(),
            Step::Update(update) => vec![(Action::Update, update.key.to_string())],
            Step::Mfa(change) => {
                let action = if change.enable {
                    Action::MfaEnable
                } else {
                    Action::MfaDisable
                };
                vec![(action, change.key.to_string())]
            }
            Step::WhitelistRemove(entry) => vec![(Action::WhitelistRemove, entry.phone.clone())],
            Step::Delete(batch) => batch
                .iter()
                .map(|(_, label)| (Action::Delete, label.clone()))
                .collect(),
        }
    }
}

/// How one operation ended.
struct Outcome {
    action: Action,
    target: String,
    status: OpStatus,
    retries: u32,
    elapsed: Duration,
    /// A fatal error to stop the run with.
    fatal: Option<RemoteError>,
    /// It failed because the endpoint did not answer.
    unreachable: bool,
    /// A creation that took over the user it found (2026).
    adopted: bool,
    /// A failure a re-run would meet again.
    repeats: bool,
}

impl Outcome {
    fn of(action: Action, target: &str, result: Result<(), RemoteError>, started: Instant) -> Self {
        let elapsed = started.elapsed();
        match result {
            Ok(()) => Outcome {
                action,
                target: target.into(),
                status: OpStatus::Applied,
                retries: 0,
                elapsed,
                fatal: None,
                unreachable: false,
                adopted: false,
                repeats: false,
            },
            Err(err) => {
                let fatal = (err.class() == ErrorClass::Fatal).then(|| err.clone());
                let unreachable = endpoint_down(&err);
                let repeats = err.class() == ErrorClass::Permanent;
                Outcome {
                    action,
                    target: target.into(),
                    status: OpStatus::Failed {
                        code: err.authing_code(),
                        message: err.to_string(),
                    },
                    retries: err.retries,
                    elapsed,
                    fatal,
                    unreachable,
                    adopted: false,
                    repeats,
                }
            }
        }
    }

    fn skipped(action: Action, target: &str, reason: &str) -> Self {
        Outcome {
            action,
            target: target.into(),
            status: OpStatus::Skipped {
                reason: reason.into(),
            },
            retries: 0,
            elapsed: Duration::ZERO,
            fatal: None,
            unreachable: false,
            adopted: false,
            repeats: false,
        }
    }
}

/// Whether an error says the endpoint did not answer at all: no connection, no answer in time,
/// or a gateway with nothing behind it (502, 503, 504 without `Retry-After`).
fn endpoint_down(err: &RemoteError) -> bool {
    matches!(
        &err.kind,
        ErrorKind::Connection(_)
            | ErrorKind::Timeout
            | ErrorKind::Http {
                status: 502..=504,
                retry_after: None,
            }
    )
}

struct Run<'a, P> {
    pool: &'a P,
    passwords: &'a PasswordBook,
    options: &'a ExecuteOptions,
    reporter: &'a dyn ApplyReporter,
    cancel: &'a CancellationToken,
    match_on: MatchOn,
    /// Set by a fatal error: no new operations start.
    stopped: AtomicBool,
    /// Set when [`UNREACHABLE_AFTER`] operations in a row failed on connection errors.
    unreachable: AtomicBool,
    /// Operations in a row, up to now, that failed on connection errors.
    failing: AtomicUsize,
    report: Mutex<ApplyReport>,
    /// Ids of the users created in this run, for their MFA changes.
    created: Mutex<HashMap<UserKey, UserId>>,
    /// Creations answered "user exists" (2026), resolved at the end of the creation phase.
    existing: Mutex<Vec<(&'a Create, RemoteError)>>,
    /// The keys that renames are to free, and those they did.
    renaming: HashSet<UserKey>,
    freed: Mutex<HashSet<UserKey>>,
    /// The unique values (username, email, phone) that the first-phase updates are to free,
    /// and those they did.
    freeing: HashSet<(Field, String)>,
    freed_values: Mutex<HashSet<(Field, String)>>,
    /// The users the plan changes by id: never taken for a registration that found its key.
    planned_ids: HashSet<UserId>,
    /// Creations held back by the pool's registration limit.
    pacing: Pacing,
}

/// The longest wait for the registration limit, whatever the server says.
const MAX_REGISTER_WAIT: Duration = Duration::from_secs(3600);
/// Waits in a row, with no creation going through in between, before the run stops waiting and
/// reports the remaining creations as failed.
const MAX_FRUITLESS_PAUSES: u32 = 3;

/// Creations once the pool has refused one as too frequent (2100): all wait until the window has
/// passed, then go one at a time.
#[derive(Default)]
struct Pacing {
    /// Set by the first refusal: creations then take `lane` one at a time.
    limited: AtomicBool,
    lane: tokio::sync::Mutex<()>,
    state: Mutex<PaceState>,
}

#[derive(Default)]
struct PaceState {
    /// Until when creations wait (tokio's clock, so tests can pause it).
    resume_at: Option<tokio::time::Instant>,
    /// Pauses started, and the last one whose end was reported.
    pauses: u64,
    resumed: u64,
    /// Pauses in a row with no creation going through.
    fruitless: u32,
    /// The refusal the run gave up on: later creations fail with it without being sent.
    given_up: Option<RemoteError>,
}

impl<'a, P: PoolApi> Run<'a, P> {
    async fn phase(&self, phase: Phase, steps: Vec<Step<'a>>) {
        if steps.is_empty() {
            return;
        }
        let operations = steps.iter().map(|step| step.describe().len()).sum();
        self.reporter.phase_started(phase, operations);
        stream::iter(steps)
            .map(|step| async move {
                if let Some(reason) = self.stop_reason() {
                    return step
                        .describe()
                        .iter()
                        .map(|(action, target)| Outcome::skipped(*action, target, reason))
                        .collect();
                }
                self.run_step(step).await
            })
            .buffer_unordered(self.options.concurrency.max(1))
            .for_each(|outcomes: Vec<Outcome>| async move {
                for outcome in outcomes {
                    self.record(phase, outcome);
                }
            })
            .await;
        if phase == Phase::Create {
            self.resolve_existing().await;
        }
        self.reporter.phase_finished(phase);
    }

    /// The deletions to run: not those of users whose replacement failed. A creation that
    /// failed in this run may have been the same person under a new key (an email change
    /// planned as create plus prune): the user it would replace is not deleted when the two
    /// share a username, email or phone. Read again only when a creation failed.
    async fn hold_back_deletes(
        &self,
        creates: &[&Create],
        deletes: Vec<(UserId, String)>,
    ) -> Vec<(UserId, String)> {
        if deletes.is_empty() || self.stop_reason().is_some() {
            return deletes;
        }
        let failed: HashSet<String> = self
            .report
            .lock()
            .map(|report| {
                report
                    .failures
                    .iter()
                    .filter(|failure| failure.action == Action::Create)
                    .map(|failure| failure.target.clone())
                    .chain(
                        report
                            .skipped
                            .iter()
                            .filter(|(action, _, _)| *action == Action::Create)
                            .map(|(_, target, _)| target.clone()),
                    )
                    .collect()
            })
            .unwrap_or_default();
        let mut values: HashMap<(Field, String), &UserKey> = HashMap::new();
        for create in creates
            .iter()
            .filter(|create| failed.contains(create.key.as_str()))
        {
            for field in crate::diff::UNIQUE {
                if let Some(value) = create.profile.text(field).filter(|v| !v.trim().is_empty()) {
                    values.insert((field, crate::diff::comparable(field, value)), &create.key);
                }
            }
        }
        if values.is_empty() {
            return deletes;
        }
        let ids: Vec<UserId> = deletes.iter().map(|(id, _)| id.clone()).collect();
        let users = match self.pool.users_by_id(&ids).await {
            Ok(users) => users,
            Err(_) => {
                for (_, label) in &deletes {
                    self.record(
                        Phase::Delete,
                        Outcome::skipped(
                            Action::Delete,
                            label,
                            "not deleted: creations failed in this run, and the users to delete could not be read again to tell whether one of them replaces them",
                        ),
                    );
                }
                return Vec::new();
            }
        };
        let mut held: HashMap<UserId, String> = HashMap::new();
        for user in &users {
            for field in crate::diff::UNIQUE {
                let Some(value) = user.profile.text(field) else {
                    continue;
                };
                if let Some(key) = values.get(&(field, crate::diff::comparable(field, value))) {
                    held.entry(user.id.clone()).or_insert_with(|| {
                        format!(
                            "not deleted: the creation of {key}, which takes its {}, failed in this run",
                            field.name()
                        )
                    });
                }
            }
        }
        deletes
            .into_iter()
            .filter(|(id, label)| match held.get(id) {
                Some(reason) => {
                    self.record(
                        Phase::Delete,
                        Outcome::skipped(Action::Delete, label, reason),
                    );
                    false
                }
                None => true,
            })
            .collect()
    }

    /// Why a change that takes a unique value is not sent: the update that was to free the
    /// value did not happen (it failed, or was not started), so the change would fail with
    /// 2026. `None` for a change that takes nothing still held.
    fn not_freed(&self, taken: impl FnOnce() -> Vec<(Field, String)>) -> Option<String> {
        if self.freeing.is_empty() {
            return None;
        }
        let freed = self.freed_values.lock().ok()?;
        taken()
            .into_iter()
            .find(|value| self.freeing.contains(value) && !freed.contains(value))
            .map(|(field, _)| format!("the update that frees its {} did not happen", field.name()))
    }

    /// [`Self::not_freed`] for an update; the freeing updates themselves run first, together.
    fn not_freed_update(&self, update: &Update) -> Option<String> {
        if self.freeing.is_empty() || update.renamed_from.is_some() {
            return None;
        }
        let freed = crate::diff::freed_values(update);
        if freed.iter().any(|value| self.freeing.contains(value)) {
            return None;
        }
        self.not_freed(|| crate::diff::updated_values(update))
    }

    fn stop_reason(&self) -> Option<&'static str> {
        if self.cancel.is_cancelled() {
            Some("interrupted before starting")
        } else if self.stopped.load(Ordering::Relaxed) {
            Some("not started after a fatal error")
        } else if self.unreachable.load(Ordering::Relaxed) {
            Some(UNREACHABLE)
        } else {
            None
        }
    }

    fn record(&self, phase: Phase, outcome: Outcome) {
        match (&outcome.status, outcome.unreachable) {
            (OpStatus::Skipped { .. }, _) => {}
            (_, false) => self.failing.store(0, Ordering::Relaxed),
            (_, true) => {
                let failing = self.failing.fetch_add(1, Ordering::Relaxed) + 1;
                if failing >= UNREACHABLE_AFTER && !self.unreachable.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        operations = failing,
                        "operations in a row failed on connection errors: starting nothing new"
                    );
                    self.pool.stop_retrying();
                }
            }
        }
        self.reporter.op_finished(&OpReport {
            phase,
            action: if outcome.adopted {
                "adopt"
            } else {
                outcome.action.name()
            },
            target: &outcome.target,
            status: &outcome.status,
            retries: outcome.retries,
            elapsed: outcome.elapsed,
        });
        let Ok(mut report) = self.report.lock() else {
            return;
        };
        match outcome.status {
            OpStatus::Applied if outcome.adopted => report.adopted += 1,
            OpStatus::Applied => *report.applied.entry(outcome.action).or_default() += 1,
            OpStatus::Failed { code, message } => report.failures.push(Failure {
                action: outcome.action,
                target: outcome.target,
                code,
                message,
                repeats: outcome.repeats,
            }),
            OpStatus::Skipped { reason } => {
                report
                    .skipped
                    .push((outcome.action, outcome.target, reason))
            }
        }
        if let Some(fatal) = outcome.fatal {
            self.stopped.store(true, Ordering::Relaxed);
            report.fatal.get_or_insert(fatal);
        }
        report.unreachable = self.unreachable.load(Ordering::Relaxed);
    }

    async fn run_step(&self, step: Step<'a>) -> Vec<Outcome> {
        let started = Instant::now();
        match step {
            Step::Switch(switch) => {
                let result = self.pool.set_whitelist_enabled(switch.to).await;
                if result.is_ok()
                    && let Ok(mut report) = self.report.lock()
                {
                    report.switched = Some(switch.to);
                }
                vec![Outcome::of(
                    Action::WhitelistSwitch,
                    "whitelist",
                    result,
                    started,
                )]
            }
            Step::WhitelistAdd(entry) => {
                let result = self.pool.whitelist_add(&entry.phone).await;
                vec![Outcome::of(
                    Action::WhitelistAdd,
                    &entry.phone,
                    result,
                    started,
                )]
            }
            Step::WhitelistRemove(entry) => {
                let result = self.pool.whitelist_remove(&entry.phone).await;
                vec![Outcome::of(
                    Action::WhitelistRemove,
                    &entry.phone,
                    result,
                    started,
                )]
            }
            Step::Create(create) => self.create(create, started).await,
            Step::CreateBatch(creates) => self.create_batch(creates, started).await,
            Step::Update(update) => {
                if let Some(reason) = self.not_freed_update(update) {
                    return vec![Outcome::skipped(
                        Action::Update,
                        update.key.as_str(),
                        &reason,
                    )];
                }
                let changes: Vec<(Field, FieldValue)> = update
                    .fields
                    .iter()
                    .map(|change| (change.field, change.after.clone()))
                    .collect();
                let result = self
                    .pool
                    .update_user(&update.id, &changes, update.key.as_str())
                    .await
                    .map(drop);
                if let (Ok(()), Some(old)) = (&result, &update.renamed_from)
                    && let Ok(mut freed) = self.freed.lock()
                {
                    freed.insert(old.clone());
                }
                if result.is_ok()
                    && let Ok(mut freed) = self.freed_values.lock()
                {
                    freed.extend(crate::diff::freed_values(update));
                }
                vec![Outcome::of(
                    Action::Update,
                    update.key.as_str(),
                    result,
                    started,
                )]
            }
            Step::Mfa(change) => vec![self.mfa(change, started).await],
            Step::Delete(batch) => self.delete(batch, started).await,
        }
    }

    /// Why a creation must not be sent: the key it takes is still held by a user whose rename
    /// did not happen (registering would fail, or worse, find that user and take it over).
    fn held_back(&self, create: &Create) -> Option<Outcome> {
        let held = self.renaming.contains(&create.key)
            && !self
                .freed
                .lock()
                .is_ok_and(|freed| freed.contains(&create.key));
        held.then(|| {
            Outcome::skipped(
                Action::Create,
                create.key.as_str(),
                "the rename that frees this key did not happen",
            )
        })
    }

    /// Creations in one call (v3's `create-users-batch`). A batch refused as a whole (v3 gives
    /// no per-user errors) is sent again one user per call, so each user gets its own answer:
    /// a user another attempt already created is answered "exists" and resolved like v1's 2026.
    /// A batch that failed for a transient or fatal reason fails for each of its users.
    async fn create_batch(&self, creates: Vec<&'a Create>, started: Instant) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        let mut ready = Vec::with_capacity(creates.len());
        for create in creates {
            match self.held_back(create) {
                Some(skipped) => outcomes.push(skipped),
                None => {
                    let declared = self.passwords.declared(&create.key).cloned();
                    let generated = declared.is_none();
                    let password = declared.unwrap_or_else(PasswordBook::generate);
                    let (registered, after) = self.pool.split_create(&create.profile);
                    ready.push((create, registered, after, generated, password));
                }
            }
        }
        if ready.is_empty() {
            return outcomes;
        }
        if let Some(reason) = self.stop_reason() {
            outcomes.extend(
                ready.iter().map(|(create, ..)| {
                    Outcome::skipped(Action::Create, create.key.as_str(), reason)
                }),
            );
            return outcomes;
        }
        let users: Vec<NewUser<'_>> = ready
            .iter()
            .map(|(_, registered, _, _, password)| NewUser {
                profile: registered,
                password,
            })
            .collect();
        let subject = match ready.as_slice() {
            [(create, ..)] => create.key.to_string(),
            _ => format!(
                "{} users ({} … {})",
                ready.len(),
                ready[0].0.key,
                ready[ready.len() - 1].0.key
            ),
        };
        match self.pool.create_users(&users, &subject).await {
            Ok(created) => {
                for ((create, _, after, generated, _), user) in ready.iter().zip(created) {
                    let result = self
                        .finish_create(create, &user.id, after, *generated)
                        .await;
                    outcomes.push(Outcome::of(
                        Action::Create,
                        create.key.as_str(),
                        result,
                        started,
                    ));
                }
            }
            Err(err) if err.class() == ErrorClass::Permanent => {
                tracing::info!(
                    users = ready.len(),
                    error = %err,
                    "a creation batch was refused; creating its users one at a time to tell who failed"
                );
                let alone: Vec<Vec<Outcome>> = stream::iter(ready.iter().zip(&users))
                    .map(|((create, _, after, generated, _), user)| async move {
                        let started = Instant::now();
                        if let Some(reason) = self.stop_reason() {
                            return vec![Outcome::skipped(
                                Action::Create,
                                create.key.as_str(),
                                reason,
                            )];
                        }
                        let answer = self.pool.create_user(user, create.key.as_str()).await;
                        self.settle_create(create, answer, after, *generated, started)
                            .await
                    })
                    .buffer_unordered(self.options.concurrency.max(1))
                    .collect()
                    .await;
                outcomes.extend(alone.into_iter().flatten());
            }
            Err(err) => {
                for (create, ..) in &ready {
                    let mut err = err.clone();
                    err.subject = Some(create.key.to_string());
                    outcomes.push(Outcome::of(
                        Action::Create,
                        create.key.as_str(),
                        Err(err),
                        started,
                    ));
                }
            }
        }
        outcomes
    }

    /// What one creation's answer leads to: the fields set after it, a user that exists
    /// resolved at the end of the phase, or a failure.
    async fn settle_create(
        &self,
        create: &'a Create,
        answer: Result<LiveUser, RemoteError>,
        after: &[(Field, FieldValue)],
        generated: bool,
        started: Instant,
    ) -> Vec<Outcome> {
        let key = create.key.as_str();
        let result = match answer {
            Ok(user) => self.finish_create(create, &user.id, after, generated).await,
            Err(err) if err.is_user_exists() && self.options.take_over_existing => {
                // Perhaps our own creation whose answer was lost: decided once the pool is
                // read again, at the end of the phase.
                if let Ok(mut existing) = self.existing.lock() {
                    existing.push((create, err));
                }
                return Vec::new();
            }
            Err(err) => Err(err),
        };
        vec![Outcome::of(Action::Create, key, result, started)]
    }

    async fn create(&self, create: &'a Create, started: Instant) -> Vec<Outcome> {
        let key = create.key.as_str();
        if let Some(skipped) = self.held_back(create) {
            return vec![skipped];
        }
        if let Some(reason) = self.not_freed(|| crate::diff::created_values(create)) {
            return vec![Outcome::skipped(Action::Create, key, &reason)];
        }
        let declared = self.passwords.declared(&create.key).cloned();
        let generated = declared.is_none();
        let password = declared.unwrap_or_else(PasswordBook::generate);
        let (registered, after) = self.pool.split_create(&create.profile);
        let user = NewUser {
            profile: &registered,
            password: &password,
        };
        let answer = match self.create_paced(&user, key).await {
            Ok(answer) => answer,
            Err(reason) => {
                return vec![Outcome::skipped(Action::Create, key, reason)];
            }
        };
        self.settle_create(create, answer, &after, generated, started)
            .await
    }

    /// Sends one creation, waiting first while the pool's registration limit holds creations
    /// back; a refusal as too frequent starts (or extends) a wait, and the creation is sent
    /// again after it. `Err` is why it was not sent (an interrupt, a fatal error).
    async fn create_paced(
        &self,
        user: &NewUser<'_>,
        key: &str,
    ) -> Result<Result<LiveUser, RemoteError>, &'static str> {
        const INTERRUPTED: &str = "interrupted while waiting for the registration limit";
        loop {
            let lane = if self.pacing.limited.load(Ordering::Acquire) {
                tokio::select! {
                    lane = self.pacing.lane.lock() => Some(lane),
                    () = self.cancel.cancelled() => return Err(INTERRUPTED),
                }
            } else {
                None
            };
            let (resume_at, given_up) = self.pacing.waiting();
            if let Some(refusal) = given_up {
                return Ok(Err(refusal));
            }
            if let Some(resume_at) = resume_at.filter(|at| *at > tokio::time::Instant::now()) {
                tokio::select! {
                    () = tokio::time::sleep_until(resume_at) => {}
                    () = self.cancel.cancelled() => return Err(INTERRUPTED),
                }
                if self.pacing.resume() {
                    self.reporter.resumed(Phase::Create);
                }
            }
            if let Some(reason) = self.stop_reason() {
                return Err(reason);
            }
            match self.pool.create_user(user, key).await {
                Err(refusal) if refusal.is_register_limited() => {
                    let wait = self
                        .pool
                        .register_wait(&refusal)
                        .await
                        .min(MAX_REGISTER_WAIT);
                    drop(lane);
                    self.pacing.pause(refusal, wait, self.reporter);
                }
                Ok(created) => {
                    self.pacing.went_through();
                    return Ok(Ok(created));
                }
                other => return Ok(other),
            }
        }
    }

    /// After `register`: the fields it cannot set, the id for MFA, the reset email.
    async fn finish_create(
        &self,
        create: &Create,
        id: &UserId,
        after: &[(Field, FieldValue)],
        generated: bool,
    ) -> Result<(), RemoteError> {
        if let Ok(mut created) = self.created.lock() {
            created.insert(create.key.clone(), id.clone());
        }
        let key = create.key.as_str();
        if !after.is_empty() {
            self.pool
                .update_user(id, after, key)
                .await
                .map_err(|mut err| {
                    let fields: Vec<&str> = after.iter().map(|(field, _)| field.name()).collect();
                    err.subject = Some(format!(
                        "{key} (registered, but {} NOT set yet)",
                        fields.join(" and ")
                    ));
                    err
                })?;
        }
        if generated
            && self.options.send_reset_email
            && let Some(email) = create.profile.text(Field::Email)
        {
            self.pool
                .send_reset_password_email(email)
                .await
                .map_err(|mut err| {
                    err.subject = Some(format!(
                        "{email} (created, but the reset-password email was NOT sent)"
                    ));
                    err
                })?;
        }
        Ok(())
    }

    /// Creations answered "user exists": read the pool once, and for each, update the user with
    /// that key to what the manifest declares; if no user has the key, the registration clashed
    /// with another user's email, username or phone, and fails with the server's answer.
    async fn resolve_existing(&self) {
        let pending = self
            .existing
            .lock()
            .map(|mut pending| std::mem::take(&mut *pending))
            .unwrap_or_default();
        if pending.is_empty() {
            return;
        }
        if let Some(reason) = self.stop_reason() {
            for (create, _) in pending {
                self.record(
                    Phase::Create,
                    Outcome::skipped(Action::Create, create.key.as_str(), reason),
                );
            }
            return;
        }
        tracing::info!(
            users = pending.len(),
            "registrations answered `user exists`; reading the pool to find them"
        );
        let started = Instant::now();
        let users = match self.pool.list_users(self.options.concurrency).await {
            Ok(users) => users,
            Err(err) => {
                for (create, _) in pending {
                    self.record(
                        Phase::Create,
                        Outcome::of(
                            Action::Create,
                            create.key.as_str(),
                            Err(err.clone()),
                            started,
                        ),
                    );
                }
                return;
            }
        };
        let mut by_key: HashMap<UserKey, Option<&crate::model::LiveUser>> = HashMap::new();
        for user in &users {
            if let Some(key) = user.key(self.match_on) {
                by_key
                    .entry(key)
                    .and_modify(|found| *found = None)
                    .or_insert(Some(user));
            }
        }
        let results: Vec<Outcome> = stream::iter(pending)
            .map(|(create, refusal)| {
                // A user the plan changes under another entry is never taken over.
                let found = by_key
                    .get(&create.key)
                    .copied()
                    .flatten()
                    .filter(|user| !self.planned_ids.contains(&user.id))
                    .map(Some);
                async move {
                    let started = Instant::now();
                    if found.is_some() && self.options.reviewed && refusal.retries == 0 {
                        // Not a lost answer of ours (the first attempt was refused): someone
                        // made this user after the plan was read, and the reviewer saw a
                        // creation, not a change to an existing person.
                        return Outcome {
                            status: OpStatus::Failed {
                                code: refusal.authing_code(),
                                message: "a user with this key was created by someone else after the plan was read; not overwritten, as the plan you confirmed showed a creation: run apply again to review it as an update".into(),
                            },
                            repeats: false,
                            ..Outcome::of(Action::Create, create.key.as_str(), Ok(()), started)
                        };
                    }
                    let adopted = matches!(found, Some(Some(_)));
                    let result = match found {
                        Some(Some(user)) => {
                            let changes = differing_fields(&create.profile, &user.profile);
                            if let Ok(mut created) = self.created.lock() {
                                created.insert(create.key.clone(), user.id.clone());
                            }
                            let updated = if changes.is_empty() {
                                Ok(())
                            } else {
                                self.pool
                                    .update_user(&user.id, &changes, create.key.as_str())
                                    .await
                                    .map(drop)
                            };
                            // Registered by an earlier attempt with a generated password nobody
                            // knows: the person still needs the email to set their own.
                            match (updated, create.profile.text(Field::Email)) {
                                (Ok(()), Some(email))
                                    if self.options.send_reset_email
                                        && self.passwords.declared(&create.key).is_none() =>
                                {
                                    self.pool.send_reset_password_email(email).await
                                }
                                (result, _) => result,
                            }
                        }
                        _ => Err(refusal),
                    };
                    Outcome {
                        adopted: adopted && result.is_ok(),
                        ..Outcome::of(Action::Create, create.key.as_str(), result, started)
                    }
                }
            })
            .buffer_unordered(self.options.concurrency.max(1))
            .collect()
            .await;
        for outcome in results {
            self.record(Phase::Create, outcome);
        }
    }

    async fn mfa(&self, change: &MfaChange, started: Instant) -> Outcome {
        let action = if change.enable {
            Action::MfaEnable
        } else {
            Action::MfaDisable
        };
        let key = change.key.as_str();
        let id = match &change.target {
            MfaTarget::Existing { id, .. } => id.clone(),
            MfaTarget::New => match self
                .created
                .lock()
                .ok()
                .and_then(|created| created.get(&change.key).cloned())
            {
                Some(id) => id,
                None => return Outcome::skipped(action, key, "the user was not created"),
            },
        };
        let result = self.pool.set_mfa(&id, change.enable, key).await;
        if result.is_ok()
            && let Ok(mut report) = self.report.lock()
        {
            report.mfa_written.push((id.clone(), change.enable));
        }
        Outcome::of(action, key, result, started)
    }

    async fn delete(&self, batch: Vec<(UserId, String)>, started: Instant) -> Vec<Outcome> {
        let ids: Vec<UserId> = batch.iter().map(|(id, _)| id.clone()).collect();
        let subject = format!("{} users", ids.len());
        let removed = match self.pool.remove_users(&ids, &subject).await {
            Ok(removed) => removed.into_iter().collect::<HashSet<UserId>>(),
            Err(err) if err.class() == ErrorClass::Fatal || self.cancel.is_cancelled() => {
                return batch
                    .iter()
                    .map(|(_, label)| Outcome::of(Action::Delete, label, Err(err.clone()), started))
                    .collect();
            }
            Err(err) => {
                // The batch failed, perhaps only in part (the server may have deleted some, or
                // all before the answer was lost): read the users again, and report each one
                // still there as failed, the others as deleted.
                let still_there: Option<HashSet<UserId>> = self
                    .pool
                    .users_by_id(&ids)
                    .await
                    .ok()
                    .map(|users| users.into_iter().map(|user| user.id).collect());
                // A batch refused as a whole (v3 gives no per-user errors) is sent again one
                // user per call for those still there, so only the users refused are reported.
                if err.class() == ErrorClass::Permanent
                    && batch.len() > 1
                    && let Some(present) = &still_there
                {
                    tracing::info!(
                        users = batch.len(),
                        error = %err,
                        "a deletion batch was refused; deleting its users one at a time to tell who failed"
                    );
                    let alone: Vec<Vec<Outcome>> = stream::iter(batch.iter())
                        .map(|(id, label)| async move {
                            if !present.contains(id) {
                                return vec![Outcome::of(Action::Delete, label, Ok(()), started)];
                            }
                            if let Some(reason) = self.stop_reason() {
                                return vec![Outcome::skipped(Action::Delete, label, reason)];
                            }
                            let one = vec![(id.clone(), label.clone())];
                            Box::pin(self.delete(one, Instant::now())).await
                        })
                        .buffer_unordered(self.options.concurrency.max(1))
                        .collect()
                        .await;
                    return alone.into_iter().flatten().collect();
                }
                return batch
                    .iter()
                    .map(|(id, label)| {
                        let result = match &still_there {
                            Some(present) if !present.contains(id) => Ok(()),
                            _ => {
                                let mut err = err.clone();
                                err.subject = Some(label.clone());
                                Err(err)
                            }
                        };
                        Outcome::of(Action::Delete, label, result, started)
                    })
                    .collect();
            }
        };
        // An id the server did not report may have been gone already, or refused in silence:
        // read those again, and whoever is still there was not deleted.
        let unconfirmed: Vec<UserId> = ids
            .iter()
            .filter(|id| !removed.contains(*id))
            .cloned()
            .collect();
        let still_there: Result<HashSet<UserId>, RemoteError> = if unconfirmed.is_empty() {
            Ok(HashSet::new())
        } else {
            self.pool
                .users_by_id(&unconfirmed)
                .await
                .map(|users| users.into_iter().map(|user| user.id).collect())
        };
        batch
            .iter()
            .map(|(id, label)| {
                let result = match &still_there {
                    _ if removed.contains(id) => Ok(()),
                    Ok(present) if present.contains(id) => Err(RemoteError::new(
                        crate::remote::Operation::RemoveUsers,
                        crate::remote::ErrorKind::Decode(
                            "the server answered, but the user is still there".into(),
                        ),
                    )
                    .with_subject(label.clone())),
                    Ok(_) => Ok(()),
                    Err(err) => Err(err.clone()),
                };
                Outcome::of(Action::Delete, label, result, started)
            })
            .collect()
    }
}

impl Pacing {
    /// Until when creations wait, and the refusal the run gave up on.
    fn waiting(&self) -> (Option<tokio::time::Instant>, Option<RemoteError>) {
        self.state
            .lock()
            .map(|state| (state.resume_at, state.given_up.clone()))
            .unwrap_or_default()
    }

    /// Starts a wait of `wait` from now, or extends the current one (several creations in flight
    /// are refused together); reports a new wait. After [`MAX_FRUITLESS_PAUSES`] waits in a row
    /// with no creation going through, gives up instead.
    fn pause(&self, refusal: RemoteError, wait: Duration, reporter: &dyn ApplyReporter) {
        self.limited.store(true, Ordering::Release);
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let now = tokio::time::Instant::now();
        let until = now + wait;
        if let Some(current) = state.resume_at.filter(|at| *at > now) {
            state.resume_at = Some(current.max(until));
            return;
        }
        if state.given_up.is_some() {
            return;
        }
        state.fruitless += 1;
        if state.fruitless > MAX_FRUITLESS_PAUSES {
            let mut refusal = refusal;
            if let ErrorKind::Authing { message, .. } = &mut refusal.kind {
                message.push_str(&format!(
                    " (still refused after waiting out the registration limit {MAX_FRUITLESS_PAUSES} times)"
                ));
            }
            state.given_up = Some(refusal);
            return;
        }
        state.resume_at = Some(until);
        state.pauses += 1;
        drop(state);
        let code = refusal.authing_code().unwrap_or_default();
        reporter.paused(
            Phase::Create,
            wait,
            &format!(
                "Authing refused a registration as too frequent ({code}, the pool's per-IP registration limit); creations wait for the window to pass, then go one at a time"
            ),
        );
    }

    /// Whether this creation is the first to wake from the current wait (and reports its end).
    fn resume(&self) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        let first = state.resumed < state.pauses;
        state.resumed = state.pauses;
        first
    }

    /// A creation went through: the waits so far were not in vain.
    fn went_through(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.fruitless = 0;
        }
    }
}

/// v1's split of a creation (see [`super::pool::split_create`]).
#[cfg(test)]
pub(super) fn split_create(profile: &Profile) -> (Profile, Vec<(Field, FieldValue)>) {
    super::pool::split_create(profile, Field::registrable, true)
}

/// The declared fields an existing user does not yet have, that `updateUser` can write.
fn differing_fields(wanted: &Profile, have: &Profile) -> Vec<(Field, FieldValue)> {
    crate::diff::differences(wanted, have)
        .filter(|change| change.field.updatable())
        .map(|change| (change.field, change.after))
        .collect()
}

#[cfg(test)]
#[path = "executor_tests.rs"]
mod tests;
