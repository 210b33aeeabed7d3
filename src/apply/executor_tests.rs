//! Executor tests against an in-memory pool that records every call, checks that no two calls
//! for one user overlap, and can be told to fail.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::model::{LiveUser, Origin};
use crate::plan::{Delete, FieldChange, Fingerprint};
use crate::remote::error::USER_EXISTS;
use crate::remote::{ErrorKind, Operation};
use crate::report::Silent;

#[derive(Default)]
struct FakePool {
    users: Mutex<Vec<LiveUser>>,
    phones: Mutex<Vec<String>>,
    switch: Mutex<bool>,
    mfa: Mutex<HashMap<UserId, bool>>,
    log: Mutex<Vec<String>>,
    in_flight: Mutex<HashSet<String>>,
    /// Keys whose registration fails with this Authing code.
    refuse_register: HashMap<String, i64>,
    /// Fail every update with a fatal error.
    fatal_updates: bool,
    /// Subjects whose updates fail with this Authing code.
    refuse_update: HashMap<String, i64>,
    /// Ids `removeUsers` silently does not remove (and does not report).
    keep_on_remove: HashSet<String>,
    /// Keys whose update fails as if the endpoint were gone (a connection error).
    unreachable_updates: HashSet<String>,
    /// Set when the executor told the pool to stop retrying.
    stopped_retrying: std::sync::atomic::AtomicBool,
    next_id: Mutex<u32>,
    /// At most this many creations per `register_window`, then 2100 (the per-IP limit).
    register_limit: Option<usize>,
    register_window: Duration,
    /// When creations went through (tokio's clock, paused in the tests that use it).
    registrations: Mutex<Vec<tokio::time::Instant>>,
    /// Creations refused as too frequent.
    limited: Mutex<usize>,
    /// Creations in flight at once, and the most seen.
    creating: Mutex<(usize, usize)>,
}

impl FakePool {
    /// Marks a user busy for the length of a call, failing the test if it already was.
    async fn busy<T>(&self, subject: &str, call: &str, work: impl FnOnce() -> T) -> T {
        assert!(
            self.in_flight.lock().unwrap().insert(subject.to_string()),
            "two requests for {subject} at once"
        );
        tokio::task::yield_now().await;
        self.log.lock().unwrap().push(format!("{call} {subject}"));
        let result = work();
        tokio::task::yield_now().await;
        self.in_flight.lock().unwrap().remove(subject);
        result
    }

    /// `register` as the pool would answer it: refusals asked for, "user exists", the per-IP
    /// limit, else a new user.
    async fn register(&self, user: &NewUser<'_>, subject: &str) -> Result<LiveUser, RemoteError> {
        self.busy(subject, "register", || {
            if let Some(code) = self.refuse_register.get(subject) {
                return Err(authing(Operation::Register, *code));
            }
            if let Some(limit) = self.register_limit {
                let now = tokio::time::Instant::now();
                let mut registrations = self.registrations.lock().unwrap();
                registrations.retain(|at| now.duration_since(*at) < self.register_window);
                if registrations.len() >= limit {
                    *self.limited.lock().unwrap() += 1;
                    return Err(authing(Operation::Register, 2100));
                }
                registrations.push(now);
            }
            let mut users = self.users.lock().unwrap();
            if users
                .iter()
                .any(|live| live.profile.text(Field::Email) == user.profile.text(Field::Email))
            {
                return Err(authing(Operation::Register, USER_EXISTS));
            }
            assert!(user.password.len() >= 6);
            let mut next = self.next_id.lock().unwrap();
            *next += 1;
            let created = LiveUser {
                id: UserId::new(format!("new{next}")),
                profile: user.profile.clone(),
                mfa: None,
            };
            users.push(created.clone());
            Ok(created)
        })
        .await
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn position(&self, entry: &str) -> usize {
        self.log()
            .iter()
            .position(|line| line == entry)
            .unwrap_or_else(|| panic!("{entry} not in {:?}", self.log()))
    }

    fn user(&self, email: &str) -> Option<LiveUser> {
        self.users
            .lock()
            .unwrap()
            .iter()
            .find(|user| user.profile.text(Field::Email) == Some(email))
            .cloned()
    }
}

fn authing(operation: Operation, code: i64) -> RemoteError {
    RemoteError::new(
        operation,
        ErrorKind::Authing {
            code,
            message: format!("code {code}"),
        },
    )
}

impl PoolApi for FakePool {
    async fn create_user(
        &self,
        user: &NewUser<'_>,
        subject: &str,
    ) -> Result<LiveUser, RemoteError> {
        {
            let mut creating = self.creating.lock().unwrap();
            creating.0 += 1;
            creating.1 = creating.1.max(creating.0);
        }
        let result = self.register(user, subject).await;
        self.creating.lock().unwrap().0 -= 1;
        result
    }

    async fn update_user(
        &self,
        id: &UserId,
        changes: &[(Field, FieldValue)],
        subject: &str,
    ) -> Result<LiveUser, RemoteError> {
        self.busy(subject, "update", || {
            if self.fatal_updates {
                return Err(authing(Operation::UpdateUser, 2207));
            }
            if let Some(code) = self.refuse_update.get(subject) {
                return Err(authing(Operation::UpdateUser, *code));
            }
            if self.unreachable_updates.contains(subject) {
                return Err(RemoteError::new(
                    Operation::UpdateUser,
                    ErrorKind::Connection("connection refused".into()),
                ));
            }
            let mut users = self.users.lock().unwrap();
            let user = users
                .iter_mut()
                .find(|user| &user.id == id)
                .ok_or_else(|| authing(Operation::UpdateUser, 2004))?;
            for (field, value) in changes {
                user.profile.set(*field, Some(value.clone()));
            }
            Ok(user.clone())
        })
        .await
    }

    async fn remove_users(
        &self,
        ids: &[UserId],
        _subject: &str,
    ) -> Result<Vec<UserId>, RemoteError> {
        let subject = ids.iter().map(UserId::as_str).collect::<Vec<_>>().join(",");
        self.busy(&subject, "remove", || {
            let mut users = self.users.lock().unwrap();
            let gone = |user: &LiveUser| {
                ids.contains(&user.id) && !self.keep_on_remove.contains(user.id.as_str())
            };
            let removed: Vec<UserId> = users
                .iter()
                .filter(|user| gone(user))
                .map(|user| user.id.clone())
                .collect();
            users.retain(|user| !gone(user));
            Ok(removed)
        })
        .await
    }

    async fn set_mfa(&self, id: &UserId, enable: bool, subject: &str) -> Result<(), RemoteError> {
        self.busy(subject, "mfa", || {
            self.mfa.lock().unwrap().insert(id.clone(), enable);
            Ok(())
        })
        .await
    }

    async fn whitelist_add(&self, phone: &str) -> Result<(), RemoteError> {
        self.busy(phone, "whitelist_add", || {
            self.phones.lock().unwrap().push(phone.to_string());
            Ok(())
        })
        .await
    }

    async fn whitelist_remove(&self, phone: &str) -> Result<(), RemoteError> {
        self.busy(phone, "whitelist_remove", || {
            self.phones.lock().unwrap().retain(|stored| stored != phone);
            Ok(())
        })
        .await
    }

    async fn set_whitelist_enabled(&self, enabled: bool) -> Result<(), RemoteError> {
        self.busy("whitelist", "switch", || {
            *self.switch.lock().unwrap() = enabled;
            Ok(())
        })
        .await
    }

    async fn send_reset_password_email(&self, email: &str) -> Result<(), RemoteError> {
        self.busy(email, "reset_email", || Ok(())).await
    }

    async fn users_by_id(&self, ids: &[UserId]) -> Result<Vec<LiveUser>, RemoteError> {
        self.log.lock().unwrap().push("patch".into());
        Ok(self
            .users
            .lock()
            .unwrap()
            .iter()
            .filter(|user| ids.contains(&user.id))
            .cloned()
            .collect())
    }

    async fn list_users(&self, _concurrency: usize) -> Result<Vec<LiveUser>, RemoteError> {
        self.log.lock().unwrap().push("list".into());
        Ok(self.users.lock().unwrap().clone())
    }

    fn stop_retrying(&self) {
        self.stopped_retrying
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn origin() -> Origin {
    Origin::new(Arc::from(Path::new("users.yaml")), 1)
}

fn live(id: &str, email: &str) -> LiveUser {
    LiveUser {
        id: UserId::new(id),
        profile: Profile::default().with(Field::Email, email),
        mfa: None,
    }
}

fn create(email: &str) -> Change {
    Change::Create(Create {
        key: UserKey::from_email(email),
        profile: Profile::default()
            .with(Field::Email, email)
            .with(Field::Nickname, format!("N {email}"))
            .with(Field::EmailVerified, true),
        password: crate::plan::PasswordPlan::Generated,
        origin: origin(),
    })
}

fn update(user: &LiveUser, nickname: &str) -> Change {
    Change::Update(Update {
        key: UserKey::from_email(user.profile.text(Field::Email).unwrap()),
        id: user.id.clone(),
        fields: vec![FieldChange {
            field: Field::Nickname,
            before: None,
            after: FieldValue::Text(nickname.into()),
        }],
        renamed_from: None,
        origin: origin(),
        fingerprint: Fingerprint::of_user(user),
    })
}

fn mfa_new(email: &str) -> Change {
    Change::Mfa(MfaChange {
        key: UserKey::from_email(email),
        target: MfaTarget::New,
        enable: true,
        origin: origin(),
    })
}

fn delete(user: &LiveUser) -> Change {
    Change::Delete(Delete {
        id: user.id.clone(),
        key: UserKey::from_email(user.profile.text(Field::Email).unwrap()),
        label: user.label().to_string(),
        origin: None,
        fingerprint: Fingerprint::of_user(user),
    })
}

fn phone(phone: &str) -> WhitelistPhone {
    WhitelistPhone {
        phone: phone.into(),
        origin: Some(origin()),
    }
}

async fn run(plan: &Plan, pool: &FakePool, cancel: &CancellationToken) -> ApplyReport {
    let options = ExecuteOptions {
        concurrency: 4,
        send_reset_email: true,
        delete_batch: 2,
        take_over_existing: true,
        reviewed: false,
    };
    execute(
        plan,
        pool,
        &PasswordBook::default(),
        &options,
        &Silent,
        cancel,
    )
    .await
}

#[tokio::test]
async fn phases_run_in_the_safe_order_and_everything_lands() {
    let old = live("u1", "old@example.com");
    let gone = [
        live("u2", "gone1@example.com"),
        live("u3", "gone2@example.com"),
        live("u4", "gone3@example.com"),
    ];
    let pool = FakePool::default();
    pool.users
        .lock()
        .unwrap()
        .extend([old.clone()].into_iter().chain(gone.iter().cloned()));
    pool.phones.lock().unwrap().push("13700000000".into());
    let mut changes = gone.iter().map(delete).collect::<Vec<_>>();
    changes.extend([
        create("new@example.com"),
        update(&old, "Old"),
        mfa_new("new@example.com"),
    ]);
    changes.push(Change::WhitelistSwitch(WhitelistSwitch {
        from: false,
        to: true,
        origin: origin(),
    }));
    changes.push(Change::WhitelistAdd(phone("13800000000")));
    changes.push(Change::WhitelistRemove(phone("13700000000")));
    let plan = Plan {
        changes,
        ..Plan::default()
    };

    let report = run(&plan, &pool, &CancellationToken::new()).await;
    assert!(
        report.is_complete(),
        "{}",
        crate::render::summary::text(&report)
    );
    assert_eq!(report.applied_total(), plan.changes.len());

    let add = pool.position("whitelist_add 13800000000");
    let register = pool.position("register new@example.com");
    let update = pool.position("update old@example.com");
    let mfa = pool.position("mfa new@example.com");
    let remove = pool.position("whitelist_remove 13700000000");
    let first_delete = pool
        .log()
        .iter()
        .position(|line| line.starts_with("remove "))
        .unwrap();
    assert!(
        add < register
            && register < update
            && update < mfa
            && mfa < remove
            && remove < first_delete,
        "{:?}",
        pool.log()
    );

    let new = pool.user("new@example.com").expect("created");
    assert_eq!(
        new.profile.flag(Field::EmailVerified),
        Some(true),
        "set by an update right after register"
    );
    assert_eq!(pool.mfa.lock().unwrap().get(&new.id), Some(&true));
    assert_eq!(
        pool.user("old@example.com")
            .unwrap()
            .profile
            .text(Field::Nickname),
        Some("Old")
    );
    assert!(pool.user("gone1@example.com").is_none() && pool.user("gone3@example.com").is_none());
    assert_eq!(*pool.phones.lock().unwrap(), ["13800000000"]);
    assert!(*pool.switch.lock().unwrap());
    // Three deletions in batches of two.
    assert_eq!(
        pool.log()
            .iter()
            .filter(|line| line.starts_with("remove "))
            .count(),
        2
    );
}

#[tokio::test]
async fn user_exists_after_a_lost_answer_is_resolved_without_a_second_user() {
    // The pool already holds the user: an earlier registration landed but its answer was lost.
    let pool = FakePool::default();
    pool.users
        .lock()
        .unwrap()
        .push(live("u9", "lost@example.com"));
    let plan = Plan {
        changes: vec![create("lost@example.com"), mfa_new("lost@example.com")],
        ..Plan::default()
    };

    let report = run(&plan, &pool, &CancellationToken::new()).await;
    assert!(
        report.is_complete(),
        "{}",
        crate::render::summary::text(&report)
    );
    let users = pool.users.lock().unwrap().clone();
    assert_eq!(users.len(), 1, "no second user");
    assert_eq!(
        users[0].profile.text(Field::Nickname),
        Some("N lost@example.com"),
        "followed by the update it needs"
    );
    assert_eq!(users[0].profile.flag(Field::EmailVerified), Some(true));
    assert_eq!(
        pool.mfa.lock().unwrap().get(&UserId::new("u9")),
        Some(&true),
        "MFA reaches the found user"
    );
    assert_eq!(
        pool.log().iter().filter(|line| *line == "list").count(),
        1,
        "the pool is read once"
    );
    assert!(
        pool.log()
            .contains(&"reset_email lost@example.com".to_string()),
        "a user created with a generated password still gets the reset email: {:?}",
        pool.log()
    );
}

/// `user` renamed to `email` (its email changed, the old one freed).
fn rename(user: &LiveUser, email: &str) -> Change {
    let old = user.profile.text(Field::Email).unwrap();
    Change::Update(Update {
        key: UserKey::from_email(email),
        id: user.id.clone(),
        fields: vec![FieldChange {
            field: Field::Email,
            before: Some(FieldValue::Text(old.into())),
            after: FieldValue::Text(email.into()),
        }],
        renamed_from: Some(UserKey::from_email(old)),
        origin: origin(),
        fingerprint: Fingerprint::of_user(user),
    })
}

#[tokio::test]
async fn a_rename_runs_before_the_creation_that_takes_its_old_key() {
    let bob = live("u1", "bob@example.com");
    let pool = FakePool::default();
    pool.users.lock().unwrap().push(bob.clone());
    // In plan order the creation comes first; apply runs the rename first.
    let plan = Plan {
        changes: vec![
            create("bob@example.com"),
            rename(&bob, "bob.chen@example.com"),
            update(&bob, "Bob Chen"),
        ],
        ..Plan::default()
    };
    let report = run(&plan, &pool, &CancellationToken::new()).await;
    assert!(
        report.is_complete(),
        "{}",
        crate::render::summary::text(&report)
    );
    assert!(
        pool.position("update bob.chen@example.com") < pool.position("register bob@example.com"),
        "{:?}",
        pool.log()
    );
    let renamed = pool.user("bob.chen@example.com").expect("renamed");
    assert_eq!(renamed.id, UserId::new("u1"));
    assert_ne!(
        pool.user("bob@example.com").expect("created").id,
        renamed.id
    );
}

#[tokio::test]
async fn a_creation_whose_key_a_failed_rename_was_to_free_is_skipped_and_takes_nobody_over() {
    let bob = live("u1", "bob@example.com");
    let pool = FakePool {
        refuse_update: HashMap::from([("bob.chen@example.com".to_string(), 2200)]),
        ..FakePool::default()
    };
    pool.users.lock().unwrap().push(bob.clone());
    let plan = Plan {
        changes: vec![
            create("bob@example.com"),
            rename(&bob, "bob.chen@example.com"),
            mfa_new("bob@example.com"),
        ],
        ..Plan::default()
    };
    let report = run(&plan, &pool, &CancellationToken::new()).await;
    assert_eq!(report.failures.len(), 1, "the rename failed");
    let skipped: Vec<(&Action, &str)> = report
        .skipped
        .iter()
        .map(|(action, target, _)| (action, target.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            (&Action::Create, "bob@example.com"),
            (&Action::MfaEnable, "bob@example.com")
        ]
    );
    assert!(
        report.skipped[0].2.contains("rename"),
        "{:?}",
        report.skipped
    );
    assert!(
        !pool.log().iter().any(|line| line.starts_with("register")),
        "{:?}",
        pool.log()
    );
    let users = pool.users.lock().unwrap().clone();
    assert_eq!(users, [bob], "the live user is untouched");
}

#[tokio::test]
async fn a_registration_that_finds_a_user_the_plan_changes_does_not_take_it_over() {
    // An inconsistent plan (a saved one, edited): the creation's key belongs to a user that
    // another change of the plan is about.
    let held = live("u1", "held@example.com");
    let pool = FakePool::default();
    pool.users.lock().unwrap().push(held.clone());
    let plan = Plan {
        changes: vec![create("held@example.com"), update(&held, "Kept")],
        ..Plan::default()
    };
    let report = run(&plan, &pool, &CancellationToken::new()).await;
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert_eq!(report.failures[0].target, "held@example.com");
    assert_eq!(report.failures[0].code, Some(USER_EXISTS));
    let user = pool.user("held@example.com").unwrap();
    assert_eq!(user.profile.text(Field::Nickname), Some("Kept"));
    assert_eq!(
        user.profile.flag(Field::EmailVerified),
        None,
        "the creation's fields were not written to it"
    );
}

#[tokio::test]
async fn user_exists_with_no_user_under_the_key_is_a_failure() {
    let pool = FakePool {
        refuse_register: HashMap::from([("clash@example.com".to_string(), USER_EXISTS)]),
        ..FakePool::default()
    };
    let plan = Plan {
        changes: vec![create("clash@example.com"), mfa_new("clash@example.com")],
        ..Plan::default()
    };
    let report = run(&plan, &pool, &CancellationToken::new()).await;
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].code, Some(USER_EXISTS));
    assert_eq!(
        report.skipped.len(),
        1,
        "MFA of a user that was not created is skipped"
    );
}

#[tokio::test]
async fn one_failure_does_not_stop_the_others() {
    let pool = FakePool {
        refuse_register: HashMap::from([("bad@example.com".to_string(), 2003)]),
        ..FakePool::default()
    };
    let plan = Plan {
        changes: vec![create("bad@example.com"), create("good@example.com")],
        ..Plan::default()
    };
    let report = run(&plan, &pool, &CancellationToken::new()).await;
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].target, "bad@example.com");
    assert_eq!(report.applied.get(&Action::Create), Some(&1));
    assert!(pool.user("good@example.com").is_some());
    // 2003 is Authing refusing the input: the same apply would meet it again.
    assert!(!report.converges());
    let summary = crate::render::summary::text(&report);
    assert!(
        summary.contains("will not fix 1 of the failures") && !summary.contains("again converges:"),
        "{summary}"
    );
}

#[tokio::test]
async fn an_interrupt_starts_nothing_new() {
    let pool = FakePool::default();
    let plan = Plan {
        changes: vec![create("a@example.com"), create("b@example.com")],
        ..Plan::default()
    };
    let cancel = CancellationToken::new();
    cancel.cancel();
    let report = run(&plan, &pool, &cancel).await;
    assert!(report.interrupted);
    assert_eq!(report.skipped.len(), 2);
    assert!(pool.log().is_empty());
}

#[tokio::test]
async fn a_fatal_error_stops_new_operations() {
    let users: Vec<LiveUser> = (0..20)
        .map(|i| live(&format!("u{i}"), &format!("u{i}@example.com")))
        .collect();
    let pool = FakePool {
        fatal_updates: true,
        ..FakePool::default()
    };
    pool.users.lock().unwrap().extend(users.iter().cloned());
    let mut changes: Vec<Change> = users.iter().map(|user| update(user, "X")).collect();
    changes.push(Change::WhitelistRemove(phone("13700000000")));
    let plan = Plan {
        changes,
        ..Plan::default()
    };
    let report = run(&plan, &pool, &CancellationToken::new()).await;
    assert!(report.fatal.is_some());
    assert!(
        report.failures.len() <= 4,
        "at most the operations in flight fail: {}",
        report.failures.len()
    );
    assert!(
        report.skipped.len() >= 17,
        "{}",
        crate::render::summary::text(&report)
    );
    assert!(
        !pool
            .log()
            .iter()
            .any(|line| line.starts_with("whitelist_remove"))
    );
}

/// Twenty users to update, and a pool that fails the updates of the users `down` picks with a
/// connection error.
fn unreachable_pool(down: impl Fn(usize) -> bool) -> (FakePool, Plan) {
    let users: Vec<LiveUser> = (0..20)
        .map(|i| live(&format!("u{i}"), &format!("u{i}@example.com")))
        .collect();
    let pool = FakePool {
        unreachable_updates: (0..20)
            .filter(|i| down(*i))
            .map(|i| format!("u{i}@example.com"))
            .collect(),
        ..FakePool::default()
    };
    pool.users.lock().unwrap().extend(users.iter().cloned());
    let mut changes: Vec<Change> = users.iter().map(|user| update(user, "X")).collect();
    changes.push(Change::WhitelistRemove(phone("13700000000")));
    let plan = Plan {
        changes,
        ..Plan::default()
    };
    (pool, plan)
}

#[tokio::test]
async fn an_endpoint_that_stopped_answering_stops_new_operations() {
    let (pool, plan) = unreachable_pool(|_| true);
    let report = run(&plan, &pool, &CancellationToken::new()).await;
    assert!(report.unreachable && report.fatal.is_none());
    assert!(
        pool.stopped_retrying
            .load(std::sync::atomic::Ordering::Relaxed),
        "the operations in flight give up retrying"
    );
    let concurrency = 4;
    assert!(
        report.failures.len() < UNREACHABLE_AFTER + concurrency,
        "only the operations already started fail: {}",
        report.failures.len()
    );
    assert_eq!(report.failures.len() + report.skipped.len(), 21);
    let summary = crate::render::summary::text(&report);
    assert!(summary.contains(UNREACHABLE), "{summary}");
    assert!(
        summary.contains("Running the same apply again converges"),
        "{summary}"
    );
    assert!(
        !pool
            .log()
            .iter()
            .any(|line| line.starts_with("whitelist_remove")),
        "later phases do not start"
    );
}

#[tokio::test]
async fn connection_failures_with_answers_between_them_do_not_stop_the_run() {
    // One at a time, so that the order is known: never three failures in a row.
    let (pool, plan) = unreachable_pool(|i| i % 3 != 0);
    let options = ExecuteOptions {
        concurrency: 1,
        ..ExecuteOptions::default()
    };
    let report = execute(
        &plan,
        &pool,
        &PasswordBook::default(),
        &options,
        &Silent,
        &CancellationToken::new(),
    )
    .await;
    assert!(!report.unreachable);
    assert_eq!(report.failures.len(), 13);
    assert!(report.skipped.is_empty());
    assert!(
        !pool
            .stopped_retrying
            .load(std::sync::atomic::Ordering::Relaxed)
    );
}

#[tokio::test]
async fn an_interrupt_tells_the_pool_to_stop_retrying() {
    let (pool, plan) = unreachable_pool(|_| false);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let report = run(&plan, &pool, &cancel).await;
    assert!(report.interrupted);
    assert!(
        pool.stopped_retrying
            .load(std::sync::atomic::Ordering::Relaxed)
    );
}

#[tokio::test]
async fn a_delete_the_server_does_not_confirm_is_checked_and_reported() {
    let kept = live("u1", "kept@example.com");
    let gone = live("u2", "gone@example.com");
    let pool = FakePool {
        keep_on_remove: HashSet::from(["u1".to_string()]),
        ..FakePool::default()
    };
    pool.users
        .lock()
        .unwrap()
        .extend([kept.clone(), gone.clone()]);
    let plan = Plan {
        changes: vec![delete(&kept), delete(&gone)],
        ..Plan::default()
    };
    let report = run(&plan, &pool, &CancellationToken::new()).await;
    assert_eq!(report.applied.get(&Action::Delete), Some(&1));
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert_eq!(report.failures[0].target, "kept@example.com");
    assert!(
        report.failures[0].message.contains("still there"),
        "{}",
        report.failures[0].message
    );
    assert!(
        pool.log().contains(&"patch".to_string()),
        "the unconfirmed id was read again"
    );
}

#[tokio::test]
async fn a_saved_plan_does_not_take_over_a_user_that_appeared_since() {
    let pool = FakePool::default();
    pool.users
        .lock()
        .unwrap()
        .push(live("u9", "appeared@example.com"));
    let plan = Plan {
        changes: vec![create("appeared@example.com")],
        ..Plan::default()
    };
    let options = ExecuteOptions {
        take_over_existing: false,
        ..ExecuteOptions::default()
    };
    let report = execute(
        &plan,
        &pool,
        &PasswordBook::default(),
        &options,
        &Silent,
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].code, Some(USER_EXISTS));
    assert_eq!(
        pool.user("appeared@example.com")
            .unwrap()
            .profile
            .text(Field::Nickname),
        None,
        "not touched"
    );
    assert!(!pool.log().contains(&"list".to_string()));
}

#[test]
fn issue_12_an_external_photo_is_set_after_the_creation_so_it_is_not_copied() {
    let external = Profile::default()
        .with(Field::Email, "a@example.com")
        .with(Field::Photo, "https://example.com/a.png");
    let (registered, after) = split_create(&external);
    assert_eq!(registered.text(Field::Photo), None);
    assert_eq!(
        after,
        [(
            Field::Photo,
            FieldValue::Text("https://example.com/a.png".into())
        )]
    );
    let on_cdn = external.with(
        Field::Photo,
        "https://files.authing.co/authing-console/default-user-avatar.png",
    );
    let (registered, after) = split_create(&on_cdn);
    assert_eq!(
        registered.text(Field::Photo),
        on_cdn.text(Field::Photo),
        "nothing to copy"
    );
    assert!(after.is_empty());
}

#[test]
fn register_cannot_set_email_verified_or_blocked() {
    let profile = Profile::default()
        .with(Field::Email, "a@example.com")
        .with(Field::EmailVerified, true)
        .with(Field::Blocked, false);
    let (registered, after) = split_create(&profile);
    assert_eq!(registered.flag(Field::EmailVerified), None);
    assert_eq!(registered.flag(Field::Blocked), None);
    assert_eq!(
        after,
        [(Field::EmailVerified, FieldValue::Bool(true))],
        "false is the default: nothing to write"
    );
}

/// Records waits and their ends; cancels the run at the first wait when told to.
#[derive(Default)]
struct PauseRecorder {
    pauses: Mutex<Vec<(Duration, String)>>,
    resumes: Mutex<usize>,
    cancel_on_pause: Option<CancellationToken>,
}

impl ApplyReporter for PauseRecorder {
    fn paused(&self, phase: Phase, wait: Duration, reason: &str) {
        assert_eq!(phase, Phase::Create);
        self.pauses.lock().unwrap().push((wait, reason.to_string()));
        if let Some(cancel) = &self.cancel_on_pause {
            cancel.cancel();
        }
    }

    fn resumed(&self, _phase: Phase) {
        *self.resumes.lock().unwrap() += 1;
    }
}

fn limited_pool(limit: usize) -> FakePool {
    FakePool {
        register_limit: Some(limit),
        register_window: Duration::from_secs(300),
        ..FakePool::default()
    }
}

fn creations(count: usize) -> Plan {
    Plan {
        changes: (0..count)
            .map(|i| create(&format!("hire{i}@example.com")))
            .collect(),
        ..Plan::default()
    }
}

async fn run_with(
    plan: &Plan,
    pool: &FakePool,
    reporter: &dyn ApplyReporter,
    cancel: &CancellationToken,
) -> ApplyReport {
    let options = ExecuteOptions {
        concurrency: 8,
        ..ExecuteOptions::default()
    };
    execute(
        plan,
        pool,
        &PasswordBook::default(),
        &options,
        reporter,
        cancel,
    )
    .await
}

// Tokio's clock is paused: a 300-second wait passes as soon as every task waits, so these tests
// take no real time and nothing sleeps to synchronise.
#[tokio::test(start_paused = true)]
async fn issue_12_creations_wait_out_the_registration_limit_instead_of_failing() {
    let pool = limited_pool(3);
    let reporter = PauseRecorder::default();
    let started = tokio::time::Instant::now();
    let report = run_with(&creations(20), &pool, &reporter, &CancellationToken::new()).await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.applied.get(&Action::Create), Some(&20));
    assert_eq!(pool.users.lock().unwrap().len(), 20, "no duplicates");
    // 3 per window: the 20th creation goes through in the seventh window.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(6 * 300) && waited < Duration::from_secs(7 * 300),
        "{waited:?}"
    );
    let pauses = reporter.pauses.lock().unwrap().clone();
    assert_eq!(pauses.len(), 6, "one wait per full window: {pauses:?}");
    assert!(
        pauses
            .iter()
            .all(|(wait, _)| *wait == Duration::from_secs(300))
    );
    assert!(pauses[0].1.contains("2100"), "{}", pauses[0].1);
    assert_eq!(*reporter.resumes.lock().unwrap(), 6);
    // After the first refusal creations go one at a time: one refusal per window besides the
    // first burst of those already in flight.
    assert_eq!(pool.creating.lock().unwrap().0, 0);
    let refused = *pool.limited.lock().unwrap();
    assert!(refused <= 8 + 6, "{refused} refusals");
}

#[tokio::test(start_paused = true)]
async fn issue_12_an_interrupt_ends_the_wait() {
    let pool = limited_pool(2);
    let cancel = CancellationToken::new();
    let reporter = PauseRecorder {
        cancel_on_pause: Some(cancel.clone()),
        ..PauseRecorder::default()
    };
    let started = tokio::time::Instant::now();
    let report = run_with(&creations(6), &pool, &reporter, &cancel).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the wait was cut short"
    );
    assert!(report.interrupted);
    assert_eq!(report.applied.get(&Action::Create), Some(&2));
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.skipped.len(), 4);
    assert!(
        report
            .skipped
            .iter()
            .all(|(_, _, reason)| reason.contains("interrupted")),
        "{:?}",
        report.skipped
    );
}

#[tokio::test(start_paused = true)]
async fn issue_12_a_limit_that_never_lifts_ends_in_failures_not_an_endless_wait() {
    let pool = limited_pool(0);
    let reporter = PauseRecorder::default();
    let started = tokio::time::Instant::now();
    let report = run_with(&creations(5), &pool, &reporter, &CancellationToken::new()).await;
    assert_eq!(report.failures.len(), 5);
    assert!(
        report
            .failures
            .iter()
            .all(|failure| failure.code == Some(2100))
    );
    assert!(
        report.failures[0]
            .message
            .contains("still refused after waiting"),
        "{}",
        report.failures[0].message
    );
    assert_eq!(reporter.pauses.lock().unwrap().len(), 3);
    assert!(started.elapsed() < Duration::from_secs(4 * 300));
}

/// Issue 14, item 5: an email change planned as a new user plus prune (same username): when the
/// creation fails, the old user is not deleted.
#[tokio::test]
async fn a_delete_whose_replacement_creation_failed_is_held_back() {
    let mut old = live("u1", "alice@old.example");
    old.profile
        .set(Field::Username, Some(FieldValue::Text("alice".into())));
    let other = live("u2", "gone@example.com");
    let pool = FakePool {
        refuse_register: HashMap::from([("alice@new.example".to_string(), 2026)]),
        ..FakePool::default()
    };
    pool.users
        .lock()
        .unwrap()
        .extend([old.clone(), other.clone()]);
    let mut replacement = create("alice@new.example");
    if let Change::Create(create) = &mut replacement {
        create
            .profile
            .set(Field::Username, Some(FieldValue::Text("Alice".into())));
    }
    let plan = Plan {
        changes: vec![delete(&old), delete(&other), replacement],
        ..Plan::default()
    };
    let report = run(&plan, &pool, &CancellationToken::new()).await;
    let users = pool.users.lock().unwrap().clone();
    assert!(users.iter().any(|user| user.id == old.id), "alice kept");
    assert!(
        !users.iter().any(|user| user.id == other.id),
        "unrelated delete ran"
    );
    assert!(
        report
            .skipped
            .iter()
            .any(|(action, target, reason)| *action == Action::Delete
                && target == "alice@old.example"
                && reason.contains("the creation of alice@new.example")
                && reason.contains("username")),
        "{:?}",
        report.skipped
    );
    assert!(!report.converges(), "the 2026 would repeat");
}

/// Issue 14, item 8: a creation that finds its user is counted as adopted, not created; on a
/// reviewed (interactive) apply, a user found on the first attempt is someone else's and is
/// not overwritten.
#[tokio::test]
async fn a_found_user_is_adopted_and_never_overwritten_after_review() {
    let seeded = || {
        let pool = FakePool::default();
        pool.users
            .lock()
            .unwrap()
            .push(live("u9", "taken@example.com"));
        pool
    };
    let plan = Plan {
        changes: vec![create("taken@example.com"), create("fresh@example.com")],
        ..Plan::default()
    };
    let pool = seeded();
    let report = run(&plan, &pool, &CancellationToken::new()).await;
    assert_eq!(report.adopted, 1);
    assert_eq!(report.applied.get(&Action::Create), Some(&1));
    assert!(
        crate::render::summary::text(&report).contains("1 created, 1 adopted"),
        "{}",
        crate::render::summary::text(&report)
    );

    let pool = seeded();
    let options = ExecuteOptions {
        reviewed: true,
        ..ExecuteOptions::default()
    };
    let report = execute(
        &plan,
        &pool,
        &PasswordBook::default(),
        &options,
        &Silent,
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(report.adopted, 0);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(report.failures[0].message.contains("not overwritten"));
    let users = pool.users.lock().unwrap().clone();
    let taken = users
        .iter()
        .find(|user| user.id == UserId::new("u9"))
        .unwrap();
    assert_eq!(taken.profile.text(Field::Nickname), None, "not overwritten");
}
