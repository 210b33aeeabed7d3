//! The typed Authing client: the owner token (fetched with the pool secret, renewed a minute
//! before its `exp`, and once more if the server refuses it anyway), and one method per operation
//! this tool sends. Users are created with `createUser` (the owner's copy of `register`, not
//! subject to the per-IP registration limit), or with `register` where the server does not know
//! `createUser`. Every mutation's answer is checked for an in-band failure. Documents are in
//! `queries/`, except those about users: `users` and `userPatch` select every field of the
//! field table (`wire::user_selection`), and `register`, `createUser` and `updateUser` are built
//! per call, like the SDK builds them, so that only the fields being written are declared.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tokio::sync::{Mutex, OnceCell};

use crate::model::{Field, FieldValue, LivePhone, LiveUser, LiveWhitelist, Profile, UserId};
use crate::secret::Secret;

use super::crypto::PasswordEncryptor;
use super::error::{ErrorClass, ErrorKind, REGISTER_WINDOW, RemoteError};
use super::operation::{CallStats, Operation};
use super::token::{OwnerSlot, OwnerToken};
use super::transport::{Call, Transport, TransportConfig};
use super::wire::{self, Many, WireUser};

/// Users per `users` page: the most the API allows.
pub const PAGE_SIZE: u64 = 200;
/// Ids per `userPatch` call: more is error 2030.
pub const PATCH_BATCH: usize = 80;
/// The largest `totalCount` believed: a larger one is a broken or hostile server, and would
/// make the client schedule that many page requests.
pub const MAX_POOL_USERS: u64 = 100_000_000;

mod documents {
    use std::sync::LazyLock;

    use super::wire::user_selection;

    /// `users`, selecting every field of the field table.
    pub fn users() -> &'static str {
        static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
            format!(
                "query users($registerInClient: String, $page: Int, $count: Int) {{\n  users(registerInClient: $registerInClient, page: $page, count: $count) {{\n    totalCount\n    list {{\n      {}\n    }}\n  }}\n}}\n",
                user_selection()
            )
        });
        &DOCUMENT
    }

    /// `userPatch`, selecting what `users` selects (so fingerprints compare).
    pub fn user_patch() -> &'static str {
        static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
            format!(
                "query userPatch($ids: String!) {{\n  userPatch(ids: $ids) {{\n    totalCount\n    list {{\n      {}\n    }}\n  }}\n}}\n",
                user_selection()
            )
        });
        &DOCUMENT
    }

    pub const AUTH: &str = include_str!("queries/get_client_when_sdk_init.graphql");
    pub const AUTH_LEGACY: &str = include_str!("queries/get_access_token_by_app_secret.graphql");
    /// The pool's registration limit (`frequentRegisterCheck`), read only after a 2100.
    pub const REGISTER_CHECK: &str = include_str!("queries/frequent_register_check.graphql");
    pub const REMOVE_USERS: &str = include_str!("queries/remove_users.graphql");
    pub const REFRESH_TOKEN: &str = include_str!("queries/refresh_token.graphql");
    pub const QUERY_MFA: &str = include_str!("queries/query_mfa.graphql");
    pub const CHANGE_MFA: &str = include_str!("queries/change_mfa.graphql");
    pub const SEND_RESET_PASSWORD_EMAIL: &str =
        include_str!("queries/send_reset_password_email.graphql");
    /// The whitelist documents in the 2020 spelling (`phone`, `enablePhone`) and the 2019 one
    /// (`qrCodePhone`, `enableQrCode`).
    pub const QUERY_INVITATION: [&str; 2] = [
        include_str!("queries/query_invitation.graphql"),
        include_str!("queries/query_invitation_2019.graphql"),
    ];
    pub const QUERY_INVITATION_STATE: [&str; 2] = [
        include_str!("queries/query_invitation_state.graphql"),
        include_str!("queries/query_invitation_state_2019.graphql"),
    ];
    pub const SET_INVITATION_STATE: [&str; 2] = [
        include_str!("queries/set_invitation_state.graphql"),
        include_str!("queries/set_invitation_state_2019.graphql"),
    ];
    pub const ADD_TO_INVITATION: [&str; 2] = [
        include_str!("queries/add_to_invitation.graphql"),
        include_str!("queries/add_to_invitation_2019.graphql"),
    ];
    pub const REMOVE_FROM_INVITATION: [&str; 2] = [
        include_str!("queries/remove_from_invitation.graphql"),
        include_str!("queries/remove_from_invitation_2019.graphql"),
    ];
}

/// Everything needed to connect.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub transport: TransportConfig,
    pub client_id: String,
    pub secret: Secret,
    pub encryptor: PasswordEncryptor,
}

/// One page of `users`.
#[derive(Debug)]
pub struct UsersPage {
    pub total: u64,
    pub users: Vec<LiveUser>,
}

/// A user to register: the registrable fields of the profile and the password.
#[derive(Debug)]
pub struct NewUser<'a> {
    pub profile: &'a Profile,
    pub password: &'a Secret,
}

/// Which spelling of the whitelist arguments the server takes.
const DIALECT_2020: u8 = 0;
const DIALECT_2019: u8 = 1;

/// How users are created: not known yet, `createUser`, or `register` (the server has no
/// `createUser`).
const CREATE_UNKNOWN: u8 = 0;
const CREATE_WITH_CREATE_USER: u8 = 1;
const CREATE_WITH_REGISTER: u8 = 2;

pub struct AuthingClient {
    transport: Transport,
    client_id: String,
    secret: Secret,
    encryptor: PasswordEncryptor,
    owner: OwnerSlot,
    renewal: Mutex<()>,
    dialect: AtomicU8,
    creation: AtomicU8,
    /// Held by the first creation while it finds out whether the server has `createUser`.
    creation_probe: Mutex<()>,
    /// The pool's registration window, read once after the first 2100.
    register_window: OnceCell<Option<Duration>>,
}

impl AuthingClient {
    /// Connects: fetches the owner token with the client id and the secret (one request).
    pub async fn connect(config: ClientConfig) -> Result<Self, RemoteError> {
        let transport = Transport::new(config.transport)?;
        let token = authenticate(&transport, &config.client_id, &config.secret).await?;
        Ok(Self {
            transport,
            client_id: config.client_id,
            secret: config.secret,
            encryptor: config.encryptor,
            owner: OwnerSlot::new(OwnerToken::new(token, 0)),
            renewal: Mutex::new(()),
            dialect: AtomicU8::new(DIALECT_2020),
            creation: AtomicU8::new(CREATE_UNKNOWN),
            creation_probe: Mutex::new(()),
            register_window: OnceCell::new(),
        })
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn endpoint(&self) -> &reqwest::Url {
        self.transport.endpoint()
    }

    /// Requests sent so far, auth included.
    pub fn stats(&self) -> CallStats {
        self.transport.stats()
    }

    /// From now on, calls give up instead of retrying (see [`Transport::stop_retrying`]).
    pub fn stop_retrying(&self) {
        self.transport.stop_retrying();
    }

    /// One page of users (1-based), [`PAGE_SIZE`] at a time.
    pub async fn users_page(&self, page: u64) -> Result<UsersPage, RemoteError> {
        let variables =
            json!({ "registerInClient": self.client_id, "page": page, "count": PAGE_SIZE });
        let paged: wire::PagedUsers = self
            .owner_call(Operation::Users, documents::users(), None, variables, None)
            .await?
            .ok_or_else(|| decode(Operation::Users, "`users` is null"))?;
        if paged.list.0.len() as u64 > PAGE_SIZE {
            return Err(decode(
                Operation::Users,
                &format!(
                    "page {page} holds {} users, more than the {PAGE_SIZE} asked for",
                    paged.list.0.len()
                ),
            ));
        }
        let total = paged
            .total_count
            .filter(|total| *total >= 0)
            .map(|total| total as u64);
        let total = total.ok_or_else(|| decode(Operation::Users, "`totalCount` is missing"))?;
        if total > MAX_POOL_USERS {
            return Err(decode(
                Operation::Users,
                &format!(
                    "`totalCount` {total} is not believable (more than {MAX_POOL_USERS} users)"
                ),
            ));
        }
        let users = paged.list.0.into_iter().map(WireUser::into_live).collect();
        Ok(UsersPage { total, users })
    }

    /// The users with these ids (at most [`PATCH_BATCH`]); unknown ids are left out.
    pub async fn user_patch(&self, ids: &[UserId]) -> Result<Vec<LiveUser>, RemoteError> {
        let joined = ids.iter().map(UserId::as_str).collect::<Vec<_>>().join(",");
        let variables = json!({ "ids": joined });
        let paged: Option<wire::PagedUsers> = self
            .owner_call(
                Operation::UserPatch,
                documents::user_patch(),
                None,
                variables,
                None,
            )
            .await?;
        Ok(paged
            .map(|paged| paged.list.0.into_iter().map(WireUser::into_live).collect())
            .unwrap_or_default())
    }

    /// Creates a user: with `createUser` and the owner token, or with `register` where the
    /// server refuses `createUser` as unknown (found out by the first creation and kept for the
    /// run). The password travels RSA-encrypted either way.
    pub async fn create_user(
        &self,
        user: &NewUser<'_>,
        subject: &str,
    ) -> Result<LiveUser, RemoteError> {
        loop {
            match self.creation.load(Ordering::Acquire) {
                CREATE_WITH_CREATE_USER => {
                    return self.create_with_create_user(user, subject).await;
                }
                CREATE_WITH_REGISTER => return self.register(user, subject).await,
                _ => {}
            }
            let _probe = self.creation_probe.lock().await;
            if self.creation.load(Ordering::Acquire) != CREATE_UNKNOWN {
                continue;
            }
            let result = self.create_with_create_user(user, subject).await;
            match &result {
                Err(err) if refuses_create_user(err) => {
                    tracing::info!(
                        "the server has no `createUser`; creating users with `register`, which the pool's per-IP registration limit applies to"
                    );
                    self.creation.store(CREATE_WITH_REGISTER, Ordering::Release);
                    return self.register(user, subject).await;
                }
                // Any answer from the server that is not a refusal of the field shows it has it.
                Ok(_) => self
                    .creation
                    .store(CREATE_WITH_CREATE_USER, Ordering::Release),
                Err(err) if err.class() != ErrorClass::Transient => self
                    .creation
                    .store(CREATE_WITH_CREATE_USER, Ordering::Release),
                Err(_) => {}
            }
            return result;
        }
    }

    /// How long to wait after a registration was refused as too frequent (2100): what the
    /// answer says (`Retry-After`, or a time in the message), else the pool's configured window
    /// (`frequentRegisterCheck.timeInterval`, read once), else Authing's documented 300 s.
    pub async fn register_wait(&self, refusal: &RemoteError) -> Duration {
        if let Some(hint) = refusal.wait_hint() {
            return hint;
        }
        let window = self
            .register_window
            .get_or_init(|| read_register_window(&self.transport, &self.client_id, &self.secret))
            .await;
        window.unwrap_or(REGISTER_WINDOW)
    }

    /// `createUser` with the owner token.
    async fn create_with_create_user(
        &self,
        user: &NewUser<'_>,
        subject: &str,
    ) -> Result<LiveUser, RemoteError> {
        let password = self.encryptor.encrypt(user.password).map_err(|err| {
            RemoteError::new(Operation::CreateUser, ErrorKind::Decode(err.to_string()))
                .with_subject(subject)
        })?;
        let mut info = Map::new();
        info.insert(
            "registerInClient".into(),
            Value::from(self.client_id.as_str()),
        );
        info.insert("password".into(), Value::from(password));
        for (field, value) in user
            .profile
            .fields()
            .filter(|(field, _)| field.registrable())
        {
            info.insert(field.wire_name().into(), json_value(value.to_owned()));
        }
        let document = create_user_document();
        let created: Option<WireUser> = self
            .owner_call_concealing(
                Operation::CreateUser,
                &document,
                Some("createUser"),
                json!({ "userInfo": Value::Object(info) }),
                Some(subject),
                Some(user.password),
            )
            .await?;
        created.map(WireUser::into_live).ok_or_else(|| {
            decode(Operation::CreateUser, "`createUser` returned null").with_subject(subject)
        })
    }

    /// Registers a user with `register` (no token; subject to the per-IP registration limit);
    /// the password travels RSA-encrypted. [`Self::create_user`] uses it where the server has no
    /// `createUser`.
    pub async fn register(
        &self,
        user: &NewUser<'_>,
        subject: &str,
    ) -> Result<LiveUser, RemoteError> {
        let password = self.encryptor.encrypt(user.password).map_err(|err| {
            RemoteError::new(Operation::Register, ErrorKind::Decode(err.to_string()))
                .with_subject(subject)
        })?;
        let mut variables = Map::new();
        variables.insert(
            "registerInClient".into(),
            Value::from(self.client_id.as_str()),
        );
        variables.insert("password".into(), Value::from(password));
        let mut declared = vec![("registerInClient", "String!"), ("password", "String")];
        for (field, value) in user
            .profile
            .fields()
            .filter(|(field, _)| field.registrable())
        {
            variables.insert(field.wire_name().into(), json_value(value.to_owned()));
            declared.push((field.wire_name(), wire_type(field)));
        }
        let document = register_document(&declared);
        let call = Call::new(Operation::Register, &document, Value::Object(variables))
            .subject(subject)
            .conceal(user.password);
        self.send::<WireUser>(&call)
            .await?
            .map(WireUser::into_live)
            .ok_or_else(|| {
                decode(Operation::Register, "`register` returned null").with_subject(subject)
            })
    }

    /// Writes the given fields of a user, and only those.
    pub async fn update_user(
        &self,
        id: &UserId,
        changes: &[(Field, FieldValue)],
        subject: &str,
    ) -> Result<LiveUser, RemoteError> {
        let mut variables = Map::new();
        variables.insert("_id".into(), Value::from(id.as_str()));
        variables.insert(
            "registerInClient".into(),
            Value::from(self.client_id.as_str()),
        );
        let mut declared = vec![("_id", "String!"), ("registerInClient", "String!")];
        for (field, value) in changes {
            variables.insert(field.wire_name().into(), json_value(value.clone()));
            declared.push((field.wire_name(), wire_type(*field)));
        }
        let document = update_document(&declared);
        let user: Option<WireUser> = self
            .owner_call(
                Operation::UpdateUser,
                &document,
                Some("UpdateUser"),
                Value::Object(variables),
                Some(subject),
            )
            .await?;
        user.map(WireUser::into_live).ok_or_else(|| {
            decode(Operation::UpdateUser, "`updateUser` returned null").with_subject(subject)
        })
    }

    /// Removes users; the ids the server reports as removed.
    pub async fn remove_users(
        &self,
        ids: &[UserId],
        subject: &str,
    ) -> Result<Vec<UserId>, RemoteError> {
        let ids: Vec<&str> = ids.iter().map(UserId::as_str).collect();
        let variables = json!({ "ids": ids, "registerInClient": self.client_id });
        let removed: Option<Many<wire::RemovedUser>> = self
            .owner_call(
                Operation::RemoveUsers,
                documents::REMOVE_USERS,
                None,
                variables,
                Some(subject),
            )
            .await?;
        Ok(removed
            .unwrap_or_default()
            .0
            .into_iter()
            .filter_map(|user| user.id)
            .map(UserId::new)
            .collect())
    }

    /// A fresh token of the user's own, for the operations that need one (`changeMFA`).
    pub async fn user_token(&self, id: &UserId, subject: &str) -> Result<Secret, RemoteError> {
        let variables = json!({ "client": self.client_id, "user": id.as_str() });
        let refreshed: Option<wire::RefreshedToken> = self
            .owner_call(
                Operation::RefreshToken,
                documents::REFRESH_TOKEN,
                Some("RefreshToken"),
                variables,
                Some(subject),
            )
            .await?;
        refreshed
            .and_then(|refreshed| refreshed.token)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                decode(Operation::RefreshToken, "no token in the answer").with_subject(subject)
            })
    }

    /// Whether MFA is on for a user (no MFA record reads as off).
    pub async fn mfa_enabled(&self, id: &UserId, subject: &str) -> Result<bool, RemoteError> {
        let variables = json!({ "userId": id.as_str(), "userPoolId": self.client_id });
        let mfa: Option<wire::Mfa> = self
            .owner_call(
                Operation::QueryMfa,
                documents::QUERY_MFA,
                None,
                variables,
                Some(subject),
            )
            .await?;
        Ok(mfa.and_then(|mfa| mfa.enable).unwrap_or(false))
    }

    /// Turns MFA on or off, with the user's own token as the API requires.
    pub async fn set_mfa(
        &self,
        id: &UserId,
        enable: bool,
        user_token: &Secret,
        subject: &str,
    ) -> Result<(), RemoteError> {
        let variables =
            json!({ "userId": id.as_str(), "userPoolId": self.client_id, "enable": enable });
        let call = Call::new(Operation::ChangeMfa, documents::CHANGE_MFA, variables)
            .token(user_token)
            .subject(subject);
        let mfa: Option<wire::Mfa> = self.send(&call).await?;
        match mfa.and_then(|mfa| mfa.enable) {
            Some(now) if now != enable => Err(RemoteError::new(
                Operation::ChangeMfa,
                ErrorKind::Decode(format!(
                    "MFA is still {} after the change",
                    if now { "on" } else { "off" }
                )),
            )
            .with_subject(subject)),
            _ => Ok(()),
        }
    }

    /// The whitelist and its switch (two requests).
    pub async fn whitelist(&self) -> Result<LiveWhitelist, RemoteError> {
        let variables = json!({ "client": self.client_id });
        let state: Option<wire::InvitationState> = self
            .invitation_call(
                Operation::QueryInvitationState,
                documents::QUERY_INVITATION_STATE,
                variables.clone(),
                None,
            )
            .await?;
        let entries: Option<Many<wire::Invitation>> = self
            .invitation_call(
                Operation::QueryInvitation,
                documents::QUERY_INVITATION,
                variables,
                None,
            )
            .await?;
        let phones = entries
            .unwrap_or_default()
            .0
            .into_iter()
            .filter_map(wire::Invitation::phone)
            .map(LivePhone::new)
            .collect();
        Ok(LiveWhitelist {
            enabled: state.is_some_and(|state| state.enabled()),
            phones,
        })
    }

    pub async fn whitelist_add(&self, phone: &str) -> Result<(), RemoteError> {
        let variables = json!({ "client": self.client_id, "phone": phone });
        self.invitation_call::<wire::Invitation>(
            Operation::AddToInvitation,
            documents::ADD_TO_INVITATION,
            variables,
            Some(phone),
        )
        .await
        .map(drop)
    }

    pub async fn whitelist_remove(&self, phone: &str) -> Result<(), RemoteError> {
        let variables = json!({ "client": self.client_id, "phone": phone });
        self.invitation_call::<wire::Invitation>(
            Operation::RemoveFromInvitation,
            documents::REMOVE_FROM_INVITATION,
            variables,
            Some(phone),
        )
        .await
        .map(drop)
    }

    pub async fn set_whitelist_enabled(&self, enabled: bool) -> Result<(), RemoteError> {
        let variables = json!({ "client": self.client_id, "enablePhone": enabled });
        self.invitation_call::<wire::InvitationState>(
            Operation::SetInvitationState,
            documents::SET_INVITATION_STATE,
            variables,
            None,
        )
        .await
        .map(drop)
    }

    /// Asks Authing to send the reset-password email. The answer is in-band: only `code` 200
    /// (or `status: true` without a code) is success; another code, `status: false`, or an
    /// answer that says neither is a failure of this operation.
    pub async fn send_reset_password_email(&self, email: &str) -> Result<(), RemoteError> {
        let variables = json!({ "email": email, "client": self.client_id });
        let call = Call::new(
            Operation::SendResetPasswordEmail,
            documents::SEND_RESET_PASSWORD_EMAIL,
            variables,
        )
        .subject(email);
        let fail =
            |kind| RemoteError::new(Operation::SendResetPasswordEmail, kind).with_subject(email);
        let answer: Option<Value> = self.transport.call(&call).await?;
        let status = answer.as_ref().and_then(wire::InBand::of);
        match status {
            Some(status) if status.succeeded() => Ok(()),
            Some(status) => Err(fail(status.failure())),
            None => Err(fail(ErrorKind::Decode(
                "the answer does not confirm the email was sent (no `code` 200)".into(),
            ))),
        }
    }

    /// Sends a call, reading a mutation's answer through its in-band status first.
    async fn send<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<Option<T>, RemoteError> {
        if !call.operation.is_mutation() {
            return self.transport.call(call).await;
        }
        let answer: Option<Value> = self.transport.call(call).await?;
        wire::settle(answer).map_err(|kind| {
            let mut err = RemoteError::new(call.operation, kind);
            err.subject = call.subject.map(str::to_string);
            err
        })
    }

    /// A call with the owner token: renewed first if its `exp` is less than a minute away, and
    /// once more if the server refuses it anyway (any of the auth codes); a second refusal is
    /// fatal.
    async fn owner_call<T: DeserializeOwned>(
        &self,
        operation: Operation,
        query: &str,
        operation_name: Option<&str>,
        variables: Value,
        subject: Option<&str>,
    ) -> Result<Option<T>, RemoteError> {
        self.owner_call_concealing(operation, query, operation_name, variables, subject, None)
            .await
    }

    /// [`Self::owner_call`] keeping `concealed` (a plain password) out of the server's answers.
    async fn owner_call_concealing<T: DeserializeOwned>(
        &self,
        operation: Operation,
        query: &str,
        operation_name: Option<&str>,
        variables: Value,
        subject: Option<&str>,
        concealed: Option<&Secret>,
    ) -> Result<Option<T>, RemoteError> {
        let current = self.owner.get();
        if current.is_due() {
            self.renew_due(current, operation).await?;
        }
        let mut renewed_on_refusal = false;
        loop {
            // The token is read when the request is sent: one that waited for its turn goes out
            // with the newest token.
            let seen = self.owner.get().generation;
            let mut call = Call::new(operation, query, variables.clone()).owner(&self.owner);
            call.operation_name = operation_name;
            call.subject = subject;
            call.concealed.extend(concealed);
            match self.send(&call).await {
                // The request waited for its turn until the token was due: not sent.
                Err(err) if matches!(err.kind, ErrorKind::TokenDue) => {
                    let current = self.owner.get();
                    if current.is_due() {
                        self.renew_due(current, operation).await?;
                    }
                }
                Err(err) if err.is_stale_owner_token() && !renewed_on_refusal => {
                    tracing::info!(
                        operation = operation.name(),
                        code = err.authing_code(),
                        "the owner token was refused; fetching a new one"
                    );
                    renewed_on_refusal = true;
                    self.renew_owner_token(seen).await?;
                }
                other => return other,
            }
        }
    }

    /// Renews a token that is due; if fetching a new one fails for a transient reason, the
    /// current one (still good for a while) is kept, and renewed only if the server refuses it.
    async fn renew_due(
        &self,
        owner: Arc<OwnerToken>,
        operation: Operation,
    ) -> Result<(), RemoteError> {
        tracing::debug!(
            operation = operation.name(),
            "the owner token expires soon; renewing it"
        );
        match self.renew_owner_token(owner.generation).await {
            Ok(_) => Ok(()),
            Err(err) if err.class() == ErrorClass::Transient => {
                tracing::warn!(error = %err, "renewing the owner token failed; using the current one");
                self.owner.keep_without_deadline(owner.generation);
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    /// Fetches a new owner token unless another task already did since `seen`.
    async fn renew_owner_token(&self, seen: u64) -> Result<Arc<OwnerToken>, RemoteError> {
        let _renewal = self.renewal.lock().await;
        let current = self.owner.get();
        if current.generation != seen {
            return Ok(current);
        }
        tracing::info!(generation = seen + 1, "fetching a new owner token");
        let token = authenticate(&self.transport, &self.client_id, &self.secret).await?;
        let renewed = Arc::new(OwnerToken::new(token, seen + 1));
        self.owner.set(Arc::clone(&renewed));
        Ok(renewed)
    }

    /// A whitelist call in the spelling the server takes: the 2020 one first; if the server
    /// rejects the document, the 2019 one, which is then kept for the rest of the run.
    async fn invitation_call<T: DeserializeOwned>(
        &self,
        operation: Operation,
        documents: [&str; 2],
        variables: Value,
        subject: Option<&str>,
    ) -> Result<Option<T>, RemoteError> {
        let dialect = self.dialect.load(Ordering::Relaxed);
        let document = documents[dialect as usize];
        let result = self
            .owner_call(
                operation,
                document,
                None,
                spell(variables.clone(), dialect),
                subject,
            )
            .await;
        match result {
            Err(err) if dialect == DIALECT_2020 && err.is_validation() => {
                let retried = self
                    .owner_call(
                        operation,
                        documents[DIALECT_2019 as usize],
                        None,
                        spell(variables, DIALECT_2019),
                        subject,
                    )
                    .await;
                if retried.is_ok() {
                    tracing::info!(
                        "the server takes the 2019 whitelist spelling (qrCodePhone, enableQrCode)"
                    );
                    self.dialect.store(DIALECT_2019, Ordering::Relaxed);
                    return retried;
                }
                Err(err)
            }
            other => other,
        }
    }
}

/// Renames the whitelist variables for a dialect.
fn spell(variables: Value, dialect: u8) -> Value {
    let Value::Object(map) = variables else {
        return variables;
    };
    if dialect == DIALECT_2020 {
        return Value::Object(map);
    }
    let renamed = map
        .into_iter()
        .map(|(key, value)| match key.as_str() {
            "phone" => ("qrCodePhone".to_string(), value),
            "enablePhone" => ("enableQrCode".to_string(), value),
            _ => (key, value),
        })
        .collect();
    Value::Object(renamed)
}

/// The owner token for a client id and secret: `getClientWhenSdkInit`, or the older
/// `getAccessTokenByAppSecret` where the server does not know the first.
async fn authenticate(
    transport: &Transport,
    client_id: &str,
    secret: &Secret,
) -> Result<Secret, RemoteError> {
    let variables = json!({ "secret": secret.expose(), "clientId": client_id });
    let call = Call::new(Operation::Auth, documents::AUTH, variables.clone());
    let token = match transport.call::<wire::ClientInit>(&call).await {
        Ok(init) => init.and_then(|init| init.access_token),
        Err(err) if err.is_validation() => {
            let call = Call::new(Operation::Auth, documents::AUTH_LEGACY, variables);
            transport.call::<Secret>(&call).await.map_err(auth_failed)?
        }
        Err(err) => return Err(auth_failed(err)),
    };
    token.filter(|token| !token.is_empty()).ok_or_else(|| {
        RemoteError::new(
            Operation::Auth,
            ErrorKind::AuthFailed("the server returned no access token".into()),
        )
    })
}

/// Any refusal of the credentials is fatal; transport trouble stays what it was.
fn auth_failed(err: RemoteError) -> RemoteError {
    match err.kind {
        ErrorKind::Authing { code, message } => RemoteError {
            kind: ErrorKind::AuthFailed(format!("authing error {code}: {message}")),
            ..err
        },
        ErrorKind::GraphQl { messages } => RemoteError {
            kind: ErrorKind::AuthFailed(messages.join("; ")),
            ..err
        },
        _ => err,
    }
}

/// The pool's registration window (`frequentRegisterCheck.timeInterval`, in seconds), if the
/// server tells; a server without the field (the 2019 one) or any failure reads as unknown.
async fn read_register_window(
    transport: &Transport,
    client_id: &str,
    secret: &Secret,
) -> Option<Duration> {
    let variables = json!({ "secret": secret.expose(), "clientId": client_id });
    let call = Call::new(Operation::Auth, documents::REGISTER_CHECK, variables);
    match transport.call::<wire::ClientSettings>(&call).await {
        Ok(settings) => {
            // A setting that says the check is off does not describe the limit that refused.
            let window = settings
                .and_then(|settings| settings.client_info)
                .and_then(|info| info.frequent_register_check)
                .filter(|check| check.enable != Some(false))
                .and_then(|check| check.time_interval)
                .filter(|seconds| *seconds > 0)
                .map(|seconds| Duration::from_secs(seconds as u64));
            tracing::debug!(?window, "the pool's registration window");
            window
        }
        Err(err) => {
            tracing::debug!(error = %err, "the pool's registration window could not be read");
            None
        }
    }
}

/// Whether an error is the server refusing `createUser` as a field it does not have.
fn refuses_create_user(err: &RemoteError) -> bool {
    match &err.kind {
        ErrorKind::GraphQl { messages } => messages
            .iter()
            .any(|message| wire::refuses_unknown_field(message, Operation::CreateUser.name())),
        _ => false,
    }
}

fn decode(operation: Operation, why: &str) -> RemoteError {
    RemoteError::new(operation, ErrorKind::Decode(why.to_string()))
}

/// A field's GraphQL type in `UserRegisterInput` and `UserUpdateInput`.
fn wire_type(field: Field) -> &'static str {
    if field.is_bool() { "Boolean" } else { "String" }
}

fn json_value(value: FieldValue) -> Value {
    match value {
        FieldValue::Text(text) => Value::String(text),
        FieldValue::Bool(flag) => Value::Bool(flag),
    }
}

/// `register` with each given variable declared (with its type in `UserRegisterInput`) and
/// packed into `userInfo`, as the SDK does.
fn register_document(declared: &[(&str, &str)]) -> String {
    let declarations: Vec<String> = declared
        .iter()
        .map(|(name, ty)| format!("${name}: {ty}"))
        .collect();
    let fields: Vec<String> = declared
        .iter()
        .map(|(name, _)| format!("{name}: ${name}"))
        .collect();
    format!(
        "mutation register({}) {{\n  register(userInfo: {{ {} }}) {{\n    {}\n  }}\n}}\n",
        declarations.join(", "),
        fields.join(", "),
        wire::user_selection()
    )
}

/// `createUser`, the user's fields in one `UserRegisterInput` variable.
fn create_user_document() -> String {
    format!(
        "mutation createUser($userInfo: UserRegisterInput!) {{\n  createUser(userInfo: $userInfo) {{\n    {}\n  }}\n}}\n",
        wire::user_selection()
    )
}

/// `UpdateUser` declaring only the fields being written, as the SDK does.
fn update_document(declared: &[(&str, &str)]) -> String {
    let declarations: Vec<String> = declared
        .iter()
        .map(|(name, ty)| format!("${name}: {ty}"))
        .collect();
    let fields: Vec<String> = declared
        .iter()
        .map(|(name, _)| format!("{name}: ${name}"))
        .collect();
    format!(
        "mutation UpdateUser({}) {{\n  updateUser(options: {{ {} }}) {{\n    {}\n  }}\n}}\n",
        declarations.join(", "),
        fields.join(", "),
        wire::user_selection()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_documents_select_every_field_of_the_table() {
        let register = register_document(&[("registerInClient", "String!"), ("email", "String")]);
        let update = update_document(&[("_id", "String!"), ("registerInClient", "String!")]);
        for document in [
            documents::users(),
            documents::user_patch(),
            register.as_str(),
            update.as_str(),
        ] {
            let parsed = async_graphql::parser::parse_query(document)
                .unwrap_or_else(|err| panic!("{document}: {err}"));
            let compact: String = document.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(compact.contains(wire::user_selection()), "{document}");
            drop(parsed);
            for field in Field::ALL {
                assert!(
                    compact.contains(&format!(" {} ", field.wire_name())),
                    "{document} does not select {field}"
                );
            }
        }
    }

    #[test]
    fn update_documents_declare_only_what_is_written() {
        let document = update_document(&[
            ("_id", "String!"),
            ("registerInClient", "String!"),
            ("emailVerified", "Boolean"),
        ]);
        assert!(document.starts_with(
            "mutation UpdateUser($_id: String!, $registerInClient: String!, $emailVerified: Boolean) {"
        ));
        assert!(document.contains("updateUser(options: { _id: $_id, registerInClient: $registerInClient, emailVerified: $emailVerified })"));
        assert!(!document.contains("nickname:"));
    }

    #[test]
    fn whitelist_variables_are_respelled_for_2019() {
        let spelled = spell(
            json!({"client": "c", "phone": "138", "enablePhone": true}),
            DIALECT_2019,
        );
        assert_eq!(
            spelled,
            json!({"client": "c", "qrCodePhone": "138", "enableQrCode": true})
        );
    }
}
