//! The writes the executor needs, as a trait: [`Remote`] implements it (whichever API is behind
//! it), and tests swap in a recording pool to check ordering and per-user exclusivity without a
//! server.

use std::time::Duration;

use crate::model::{Field, FieldRef, FieldValue, LiveUser, Profile, UserId};
use crate::remote::error::REGISTER_WINDOW;
use crate::remote::{self, FetchScope, NewUser, Remote, RemoteError};
use crate::report::Silent;

/// The operations an apply performs on a pool. Futures need not be `Send`: the executor polls
/// them on one task.
#[allow(async_fn_in_trait)]
pub trait PoolApi {
    /// Creates a user (v1 `createUser`, or `register` where the server has no `createUser`;
    /// v3 `create-user`).
    async fn create_user(&self, user: &NewUser<'_>, subject: &str)
    -> Result<LiveUser, RemoteError>;
    /// Users one creation call makes (v3's `create-users-batch`: 50). Above 1 the executor
    /// creates through [`Self::create_users`].
    fn create_batch(&self) -> usize {
        1
    }
    /// Creates up to [`Self::create_batch`] users in one call; the created users, in order. A
    /// refusal concerns the whole batch.
    async fn create_users(
        &self,
        users: &[NewUser<'_>],
        subject: &str,
    ) -> Result<Vec<LiveUser>, RemoteError> {
        let mut created = Vec::with_capacity(users.len());
        for user in users {
            created.push(self.create_user(user, subject).await?);
        }
        Ok(created)
    }
    /// The fields the creation itself sets, and those an update right after it must write:
    /// by default v1's (the fields `register` cannot set when they are not `false`, and an
    /// external photo, which registration would copy to Authing's CDN).
    fn split_create(&self, profile: &Profile) -> (Profile, Vec<(Field, FieldValue)>) {
        split_create(profile, Field::registrable, true)
    }
    /// How long to wait after a creation was refused as too frequent (2100).
    async fn register_wait(&self, refusal: &RemoteError) -> Duration {
        refusal.wait_hint().unwrap_or(REGISTER_WINDOW)
    }
    async fn update_user(
        &self,
        id: &UserId,
        changes: &[(Field, FieldValue)],
        subject: &str,
    ) -> Result<LiveUser, RemoteError>;
    async fn remove_users(&self, ids: &[UserId], subject: &str)
    -> Result<Vec<UserId>, RemoteError>;
    /// Turns one user's MFA on or off (v1 fetches a token of the user's own for it).
    async fn set_mfa(&self, id: &UserId, enable: bool, subject: &str) -> Result<(), RemoteError>;
    async fn whitelist_add(&self, phone: &str) -> Result<(), RemoteError>;
    async fn whitelist_remove(&self, phone: &str) -> Result<(), RemoteError>;
    async fn set_whitelist_enabled(&self, enabled: bool) -> Result<(), RemoteError>;
    async fn send_reset_password_email(&self, email: &str) -> Result<(), RemoteError>;
    /// Every user of the pool (to find users whose registration answer was lost).
    async fn list_users(&self, concurrency: usize) -> Result<Vec<LiveUser>, RemoteError>;
    /// The users with these ids that exist (to check deletions the server did not confirm).
    async fn users_by_id(&self, ids: &[UserId]) -> Result<Vec<LiveUser>, RemoteError>;
    /// From now on, give up instead of retrying a transient failure: the run is stopping (an
    /// interrupt, or an endpoint that stopped answering).
    fn stop_retrying(&self);
}

/// The fields a creation sets (those `creatable` says it can), and those that need an update
/// right after it: the others, only when they differ from the creation default `false`, and
/// with `photo_after`, a photo outside Authing's CDN (which the creation would replace by a
/// copy on the CDN, see [`crate::photo`]).
pub(super) fn split_create(
    profile: &Profile,
    creatable: impl Fn(Field) -> bool,
    photo_after: bool,
) -> (Profile, Vec<(Field, FieldValue)>) {
    let mut registered = profile.clone();
    let mut after = Vec::new();
    for field in Field::ALL.into_iter().filter(|field| !creatable(*field)) {
        if let Some(value) = profile.get(field) {
            if value != FieldRef::Bool(false) {
                after.push((field, value.to_owned()));
            }
            registered.set(field, None);
        }
    }
    if photo_after
        && let Some(FieldRef::Text(photo)) = profile.get(Field::Photo)
        && crate::photo::is_external(photo)
    {
        after.push((Field::Photo, FieldValue::Text(photo.to_string())));
        registered.set(Field::Photo, None);
    }
    (registered, after)
}

impl PoolApi for Remote {
    async fn create_user(
        &self,
        user: &NewUser<'_>,
        subject: &str,
    ) -> Result<LiveUser, RemoteError> {
        Remote::create_user(self, user, subject).await
    }

    fn create_batch(&self) -> usize {
        Remote::create_batch(self)
    }

    async fn create_users(
        &self,
        users: &[NewUser<'_>],
        subject: &str,
    ) -> Result<Vec<LiveUser>, RemoteError> {
        Remote::create_users(self, users, subject).await
    }

    fn split_create(&self, profile: &Profile) -> (Profile, Vec<(Field, FieldValue)>) {
        split_create(
            profile,
            |field| self.creatable(field),
            self.copies_photos_at_creation(),
        )
    }

    async fn register_wait(&self, refusal: &RemoteError) -> Duration {
        Remote::register_wait(self, refusal).await
    }

    async fn update_user(
        &self,
        id: &UserId,
        changes: &[(Field, FieldValue)],
        subject: &str,
    ) -> Result<LiveUser, RemoteError> {
        Remote::update_user(self, id, changes, subject).await
    }

    async fn remove_users(
        &self,
        ids: &[UserId],
        subject: &str,
    ) -> Result<Vec<UserId>, RemoteError> {
        Remote::remove_users(self, ids, subject).await
    }

    async fn set_mfa(&self, id: &UserId, enable: bool, subject: &str) -> Result<(), RemoteError> {
        Remote::set_mfa(self, id, enable, subject).await
    }

    async fn whitelist_add(&self, phone: &str) -> Result<(), RemoteError> {
        Remote::whitelist_add(self, phone).await
    }

    async fn whitelist_remove(&self, phone: &str) -> Result<(), RemoteError> {
        Remote::whitelist_remove(self, phone).await
    }

    async fn set_whitelist_enabled(&self, enabled: bool) -> Result<(), RemoteError> {
        Remote::set_whitelist_enabled(self, enabled).await
    }

    async fn send_reset_password_email(&self, email: &str) -> Result<(), RemoteError> {
        Remote::send_reset_password_email(self, email).await
    }

    async fn list_users(&self, concurrency: usize) -> Result<Vec<LiveUser>, RemoteError> {
        let live = remote::fetch(self, &FetchScope::default(), concurrency, &Silent).await?;
        Ok(live.users)
    }

    async fn users_by_id(&self, ids: &[UserId]) -> Result<Vec<LiveUser>, RemoteError> {
        remote::users_by_id(self, ids, 1).await
    }

    fn stop_retrying(&self) {
        Remote::stop_retrying(self);
    }
}
