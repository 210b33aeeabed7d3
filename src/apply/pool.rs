//! The writes the executor needs, as a trait: the Authing client implements it, and tests swap
//! in a recording pool to check ordering and per-user exclusivity without a server.

use std::time::Duration;

use crate::model::{Field, FieldValue, LiveUser, UserId};
use crate::remote::error::REGISTER_WINDOW;
use crate::remote::{self, AuthingClient, FetchScope, NewUser, RemoteError};
use crate::report::Silent;
use crate::secret::Secret;

/// The operations an apply performs on a pool. Futures need not be `Send`: the executor polls
/// them on one task.
#[allow(async_fn_in_trait)]
pub trait PoolApi {
    /// Creates a user (`createUser`, or `register` where the server has no `createUser`).
    async fn create_user(&self, user: &NewUser<'_>, subject: &str)
    -> Result<LiveUser, RemoteError>;
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
    async fn user_token(&self, id: &UserId, subject: &str) -> Result<Secret, RemoteError>;
    async fn set_mfa(
        &self,
        id: &UserId,
        enable: bool,
        token: &Secret,
        subject: &str,
    ) -> Result<(), RemoteError>;
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

impl PoolApi for AuthingClient {
    async fn create_user(
        &self,
        user: &NewUser<'_>,
        subject: &str,
    ) -> Result<LiveUser, RemoteError> {
        AuthingClient::create_user(self, user, subject).await
    }

    async fn register_wait(&self, refusal: &RemoteError) -> Duration {
        AuthingClient::register_wait(self, refusal).await
    }

    async fn update_user(
        &self,
        id: &UserId,
        changes: &[(Field, FieldValue)],
        subject: &str,
    ) -> Result<LiveUser, RemoteError> {
        AuthingClient::update_user(self, id, changes, subject).await
    }

    async fn remove_users(
        &self,
        ids: &[UserId],
        subject: &str,
    ) -> Result<Vec<UserId>, RemoteError> {
        AuthingClient::remove_users(self, ids, subject).await
    }

    async fn user_token(&self, id: &UserId, subject: &str) -> Result<Secret, RemoteError> {
        AuthingClient::user_token(self, id, subject).await
    }

    async fn set_mfa(
        &self,
        id: &UserId,
        enable: bool,
        token: &Secret,
        subject: &str,
    ) -> Result<(), RemoteError> {
        AuthingClient::set_mfa(self, id, enable, token, subject).await
    }

    async fn whitelist_add(&self, phone: &str) -> Result<(), RemoteError> {
        AuthingClient::whitelist_add(self, phone).await
    }

    async fn whitelist_remove(&self, phone: &str) -> Result<(), RemoteError> {
        AuthingClient::whitelist_remove(self, phone).await
    }

    async fn set_whitelist_enabled(&self, enabled: bool) -> Result<(), RemoteError> {
        AuthingClient::set_whitelist_enabled(self, enabled).await
    }

    async fn send_reset_password_email(&self, email: &str) -> Result<(), RemoteError> {
        AuthingClient::send_reset_password_email(self, email).await
    }

    async fn list_users(&self, concurrency: usize) -> Result<Vec<LiveUser>, RemoteError> {
        let live = remote::fetch(self, &FetchScope::default(), concurrency, &Silent).await?;
        Ok(live.users)
    }

    async fn users_by_id(&self, ids: &[UserId]) -> Result<Vec<LiveUser>, RemoteError> {
        remote::users_by_id(self, ids, 1).await
    }

    fn stop_retrying(&self) {
        AuthingClient::stop_retrying(self);
    }
}
