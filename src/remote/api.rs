//! The one interface the engine reads and writes the pool through, whichever API is behind it:
//! [`Remote`], with its two implementations, v1 ([`AuthingClient`], GraphQL) and v3
//! ([`V3Client`], REST), over one transport. `fetch`, the executor (through `apply::PoolApi`),
//! the stale-plan check and the commands know only this; what an API cannot do is said by
//! [`Api`]'s capabilities, so the plan refuses it before anything is sent.

use std::fmt;
use std::time::Duration;

use crate::model::{Field, FieldValue, LiveUser, LiveWhitelist, UserId};

use super::client::{self, AuthingClient, NewUser, UsersPage};
use super::error::{ErrorKind, REGISTER_WINDOW, RemoteError};
use super::operation::{CallStats, Operation};
use super::v3::{self, V3Client};

/// Which Authing API to speak (`--api`, `AUTHING_API`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Api {
    /// The users GraphQL API of the API page.
    #[default]
    V1,
    /// The v3 management REST API.
    V3,
}

impl Api {
    /// The endpoint used when none is given.
    pub fn default_endpoint(self) -> &'static str {
        match self {
            Api::V1 => "https://users.authing.cn/graphql",
            Api::V3 => "https://api.authing.cn",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Api::V1 => "v1",
            Api::V3 => "v3",
        }
    }

    /// Whether the API can read and set the whitelist's on/off switch (v3 has no call for it).
    pub fn has_whitelist_switch(self) -> bool {
        self == Api::V1
    }

    /// Whether the API can turn one user's MFA on or off (v3: unconfirmed, so refused).
    pub fn can_change_mfa(self) -> bool {
        self == Api::V1
    }

    /// Whether the API can send the reset-password email (v3's management API has none).
    pub fn can_send_reset_email(self) -> bool {
        self == Api::V1
    }

    /// The values a manifest may declare for a field, when the API restricts them: v3's
    /// `gender` takes `M`, `F` or `U`, and reports `U` for every user whose gender is not set,
    /// so `U` reads as no gender ([`super::v3`]) and a manifest may declare only `M` or `F`.
    pub fn allowed_values(self, field: Field) -> Option<&'static [&'static str]> {
        match (self, field) {
            (Api::V3, Field::Gender) => Some(&["M", "F"]),
            _ => None,
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A connected pool, through either API.
pub enum Remote {
    V1(AuthingClient),
    V3(V3Client),
}

impl Remote {
    pub fn api(&self) -> Api {
        match self {
            Remote::V1(_) => Api::V1,
            Remote::V3(_) => Api::V3,
        }
    }

    pub fn client_id(&self) -> &str {
        match self {
            Remote::V1(client) => client.client_id(),
            Remote::V3(client) => client.client_id(),
        }
    }

    pub fn endpoint(&self) -> &reqwest::Url {
        match self {
            Remote::V1(client) => client.endpoint(),
            Remote::V3(client) => client.endpoint(),
        }
    }

    /// Requests sent so far, authentication included.
    pub fn stats(&self) -> CallStats {
        match self {
            Remote::V1(client) => client.stats(),
            Remote::V3(client) => client.stats(),
        }
    }

    /// From now on, calls give up instead of retrying.
    pub fn stop_retrying(&self) {
        match self {
            Remote::V1(client) => client.stop_retrying(),
            Remote::V3(client) => client.stop_retrying(),
        }
    }

    /// Users per page of the listing.
    pub fn page_size(&self) -> u64 {
        match self {
            Remote::V1(_) => client::PAGE_SIZE,
            Remote::V3(_) => v3::PAGE_SIZE,
        }
    }

    /// One page of the listing (1-based), with the pool's total.
    pub async fn users_page(&self, page: u64) -> Result<UsersPage, RemoteError> {
        match self {
            Remote::V1(client) => client.users_page(page).await,
            Remote::V3(client) => client.users_page(page).await,
        }
    }

    /// Ids per re-read call.
    pub fn reread_batch(&self) -> usize {
        match self {
            Remote::V1(_) => client::PATCH_BATCH,
            Remote::V3(_) => v3::PAGE_SIZE as usize,
        }
    }

    /// The users with these ids (at most [`Self::reread_batch`]); unknown ids are left out.
    pub async fn users_by_ids(&self, ids: &[UserId]) -> Result<Vec<LiveUser>, RemoteError> {
        match self {
            Remote::V1(client) => client.user_patch(ids).await,
            Remote::V3(client) => client.users_by_ids(ids).await,
        }
    }

    /// Whether MFA is on for one user.
    pub async fn mfa_enabled(&self, id: &UserId, subject: &str) -> Result<bool, RemoteError> {
        match self {
            Remote::V1(client) => client.mfa_enabled(id, subject).await,
            Remote::V3(client) => client.mfa_enabled(id, subject).await,
        }
    }

    /// The phone whitelist (v1: and its switch; v3 cannot read the switch).
    pub async fn whitelist(&self) -> Result<LiveWhitelist, RemoteError> {
        match self {
            Remote::V1(client) => client.whitelist().await,
            Remote::V3(client) => client.whitelist().await,
        }
    }

    /// Users one creation call makes: 1 on v1, a batch of 50 on v3.
    pub fn create_batch(&self) -> usize {
        match self {
            Remote::V1(_) => 1,
            Remote::V3(_) => v3::BATCH,
        }
    }

    /// Whether the creation itself can set a field (else an update follows it).
    pub fn creatable(&self, field: Field) -> bool {
        match self {
            Remote::V1(_) => field.registrable(),
            Remote::V3(_) => field.v3_name().is_some(),
        }
    }

    /// Whether the server copies an external photo at creation (v1's registration does; v3
    /// is not known to), so it is sent by an update after the creation instead.
    pub fn copies_photos_at_creation(&self) -> bool {
        matches!(self, Remote::V1(_))
    }

    pub async fn create_user(
        &self,
        user: &NewUser<'_>,
        subject: &str,
    ) -> Result<LiveUser, RemoteError> {
        match self {
            Remote::V1(client) => client.create_user(user, subject).await,
            Remote::V3(client) => client.create_user(user, subject).await,
        }
    }

    /// Creates up to [`Self::create_batch`] users in one call; the created users in order.
    pub async fn create_users(
        &self,
        users: &[NewUser<'_>],
        subject: &str,
    ) -> Result<Vec<LiveUser>, RemoteError> {
        match self {
            Remote::V1(client) => {
                let mut created = Vec::with_capacity(users.len());
                for user in users {
                    created.push(client.create_user(user, subject).await?);
                }
                Ok(created)
            }
            Remote::V3(client) => client.create_users(users, subject).await,
        }
    }

    /// How long to wait after a creation was refused as too frequent (v1's 2100).
    pub async fn register_wait(&self, refusal: &RemoteError) -> Duration {
        match self {
            Remote::V1(client) => client.register_wait(refusal).await,
            Remote::V3(_) => refusal.wait_hint().unwrap_or(REGISTER_WINDOW),
        }
    }

    pub async fn update_user(
        &self,
        id: &UserId,
        changes: &[(Field, FieldValue)],
        subject: &str,
    ) -> Result<LiveUser, RemoteError> {
        match self {
            Remote::V1(client) => client.update_user(id, changes, subject).await,
            Remote::V3(client) => client.update_user(id, changes, subject).await,
        }
    }

    /// Deletes users (one call); the ids the server confirms.
    pub async fn remove_users(
        &self,
        ids: &[UserId],
        subject: &str,
    ) -> Result<Vec<UserId>, RemoteError> {
        match self {
            Remote::V1(client) => client.remove_users(ids, subject).await,
            Remote::V3(client) => client.remove_users(ids, subject).await,
        }
    }

    /// Turns one user's MFA on or off (v1: with a token of the user's own, fetched first).
    pub async fn set_mfa(
        &self,
        id: &UserId,
        enable: bool,
        subject: &str,
    ) -> Result<(), RemoteError> {
        match self {
            Remote::V1(client) => {
                let token = client.user_token(id, subject).await?;
                client.set_mfa(id, enable, &token, subject).await
            }
            Remote::V3(client) => Err(client.set_mfa(subject)),
        }
    }

    pub async fn whitelist_add(&self, phone: &str) -> Result<(), RemoteError> {
        match self {
            Remote::V1(client) => client.whitelist_add(phone).await,
            Remote::V3(client) => client.whitelist_add(phone).await,
        }
    }

    pub async fn whitelist_remove(&self, phone: &str) -> Result<(), RemoteError> {
        match self {
            Remote::V1(client) => client.whitelist_remove(phone).await,
            Remote::V3(client) => client.whitelist_remove(phone).await,
        }
    }

    pub async fn set_whitelist_enabled(&self, enabled: bool) -> Result<(), RemoteError> {
        match self {
            Remote::V1(client) => client.set_whitelist_enabled(enabled).await,
            Remote::V3(_) => Err(unsupported(
                Operation::V3AddWhitelist,
                "the v3 API has no whitelist switch",
            )),
        }
    }

    pub async fn send_reset_password_email(&self, email: &str) -> Result<(), RemoteError> {
        match self {
            Remote::V1(client) => client.send_reset_password_email(email).await,
            Remote::V3(_) => Err(unsupported(
                Operation::V3CreateUser,
                "the v3 management API cannot send the reset-password email",
            )
            .with_subject(email)),
        }
    }
}

fn unsupported(operation: Operation, why: &str) -> RemoteError {
    RemoteError::new(operation, ErrorKind::Unsupported(why.into()))
}
