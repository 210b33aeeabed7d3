//! The Authing v3 management REST client (`/api/v3/...`, `authing-v3-facts.md`), over the same
//! [`Transport`] as v1: the same rate limit, in-flight bound, classed retries with
//! `Retry-After`, size cap, redirect refusal and secret hygiene.
//!
//! - **Token.** `POST get-management-token` with the pool id and secret as the access key pair;
//!   the token is cached in one slot and renewed a minute before it lapses (the JWT's `exp`, or
//!   `expires_in` when the token says nothing), and once more if the server refuses it anyway
//!   (statusCode 401); a second refusal is fatal. Every call carries it as `Bearer` with
//!   `x-authing-userpool-id`.
//! - **Envelope.** Success is exactly `statusCode` 200 ([`super::transport::decode_v3`]).
//! - **Users.** `list-users` pages of 50 sorted by `createdAt` (`totalCount` from the first, the
//!   rest read concurrently by `fetch`); re-reads with `list-users` filtered by `id IN` (50 a
//!   call); creations with `create-users-batch` (50 a call; a batch refused as a whole is sent
//!   again one `create-user` per user, so each user gets its own answer); `update-user`;
//!   `delete-users-batch` (50 a call; one refused as a whole is followed by a re-read, and the
//!   executor sends each user still there again alone). `blocked` is `status` (`Suspended`/`Activated`); the
//!   current status is sent with every update, because whether an update that omits it resets
//!   it is unconfirmed. Passwords travel as `passwordEncryptType: none` (plain text inside
//!   HTTPS), as the facts advise.
//! - **Gender.** v3 reports `U` for every user whose gender is not set, so `U` reads as no
//!   gender (as v1 shows such a user); the plan refuses a manifest that declares `U`.
//! - **Phones.** A manifest phone is `+<code><number>` or a mainland number; v3 splits it into
//!   `phone` (national) and `phoneCountryCode` (`+86` for a mainland number).
//! - **Whitelist.** `list-whitelist`/`add-whitelist`/`delete-whitelist`, type `PHONE`. v3 has no
//!   switch: the plan refuses a manifest that manages it, so it is never read or written here.
//! - **MFA.** Read with `get-user-mfa-info` (`totpStatus`, `"enabled"` or `true`). v3 has no
//!   call that confirmedly turns one user's MFA on or off the way v1's `changeMFA` does, so the
//!   plan refuses such changes; [`V3Client::set_mfa`] only says so.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use crate::model::{
    Field, FieldRef, FieldValue, LivePhone, LiveUser, LiveWhitelist, ProfileBuilder, UserId,
    normalize_phone,
};
use crate::secret::Secret;

use super::client::{ClientConfig, MAX_POOL_USERS, NewUser, UsersPage};
use super::error::{ErrorClass, ErrorKind, RemoteError};
use super::operation::{CallStats, Operation};
use super::token::{OwnerSlot, OwnerToken};
use super::transport::{Call, Rest, Transport};

/// Users per `list-users` page, and ids per filtered re-read: the most v3 allows.
pub const PAGE_SIZE: u64 = 50;
/// Users per `create-users-batch` and `delete-users-batch` call: the most v3 allows.
pub const BATCH: usize = 50;

const STATUS_ACTIVE: &str = "Activated";
const STATUS_SUSPENDED: &str = "Suspended";
/// v3's `gender` for a user whose gender is not set.
const GENDER_UNKNOWN: &str = "U";

/// E.164 country calling codes of one and two digits; every other code has three. The codes
/// are prefix-free, so this splits any `+<code><number>`.
const SHORT_COUNTRY_CODES: [&str; 46] = [
    "1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45",
    "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];

pub struct V3Client {
    transport: Transport,
    client_id: String,
    secret: Secret,
    owner: OwnerSlot,
    renewal: Mutex<()>,
    /// The status of each user read whose status is not `Activated` (sent back with every
    /// update of that user, so an update never resets it).
    statuses: StdMutex<HashMap<UserId, String>>,
}

impl V3Client {
    /// Connects: fetches the management token with the pool id and secret (one request).
    pub async fn connect(config: ClientConfig) -> Result<Self, RemoteError> {
        let transport = Transport::new(config.transport)?;
        let token = management_token(&transport, &config.client_id, &config.secret, 0).await?;
        Ok(Self {
            transport,
            client_id: config.client_id,
            secret: config.secret,
            owner: OwnerSlot::new(token),
            renewal: Mutex::new(()),
            statuses: StdMutex::new(HashMap::new()),
        })
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn endpoint(&self) -> &reqwest::Url {
        self.transport.endpoint()
    }

    /// Requests sent so far, the token included.
    pub fn stats(&self) -> CallStats {
        self.transport.stats()
    }

    pub fn stop_retrying(&self) {
        self.transport.stop_retrying();
    }

    /// One page of users (1-based), [`PAGE_SIZE`] at a time, oldest first.
    pub async fn users_page(&self, page: u64) -> Result<UsersPage, RemoteError> {
        let body = json!({
            "options": {
                "pagination": {"page": page, "limit": PAGE_SIZE},
                "sort": [{"field": "createdAt", "order": "asc"}],
            }
        });
        let listed: Listed = self
            .call(Operation::V3ListUsers, false, "list-users", body, None)
            .await?
            .ok_or_else(|| decode(Operation::V3ListUsers, "`data` is null"))?;
        let total = listed
            .total
            .ok_or_else(|| decode(Operation::V3ListUsers, "`totalCount` is missing"))?;
        if total > MAX_POOL_USERS {
            return Err(decode(
                Operation::V3ListUsers,
                &format!(
                    "`totalCount` {total} is not believable (more than {MAX_POOL_USERS} users)"
                ),
            ));
        }
        if listed.users.len() as u64 > PAGE_SIZE {
            return Err(decode(
                Operation::V3ListUsers,
                &format!(
                    "page {page} holds {} users, more than the {PAGE_SIZE} asked for",
                    listed.users.len()
                ),
            ));
        }
        Ok(UsersPage {
            total,
            users: self.remember(listed.users),
        })
    }

    /// The users with these ids (at most [`PAGE_SIZE`]): `list-users` filtered by `id IN`;
    /// unknown ids are left out.
    pub async fn users_by_ids(&self, ids: &[UserId]) -> Result<Vec<LiveUser>, RemoteError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = ids.iter().map(UserId::as_str).collect();
        let body = json!({
            "advancedFilter": [{"field": "id", "operator": "IN", "value": ids}],
            "options": {
                "pagination": {"page": 1, "limit": PAGE_SIZE},
                "sort": [{"field": "createdAt", "order": "asc"}],
            }
        });
        let listed: Option<Listed> = self
            .call(Operation::V3ListUsers, false, "list-users", body, None)
            .await?;
        Ok(self.remember(listed.map(|listed| listed.users).unwrap_or_default()))
    }

    /// Creates up to [`BATCH`] users with one `create-users-batch`; the created users, in the
    /// order given.
    pub async fn create_users(
        &self,
        users: &[NewUser<'_>],
        subject: &str,
    ) -> Result<Vec<LiveUser>, RemoteError> {
        let list: Vec<Value> = users.iter().map(create_body).collect();
        let body = json!({"list": list, "options": {"passwordEncryptType": "none"}});
        let created: Option<Many> = self
            .call(
                Operation::V3CreateUsersBatch,
                false,
                "create-users-batch",
                body,
                Some(subject),
            )
            .await?;
        let created = self.remember(created.map(|many| many.0).unwrap_or_default());
        if created.len() != users.len() {
            return Err(decode(
                Operation::V3CreateUsersBatch,
                &format!("{} users created, {} asked for", created.len(), users.len()),
            )
            .with_subject(subject));
        }
        Ok(created)
    }

    /// Creates one user with `create-user`.
    pub async fn create_user(
        &self,
        user: &NewUser<'_>,
        subject: &str,
    ) -> Result<LiveUser, RemoteError> {
        let mut body = create_body(user);
        if let Value::Object(map) = &mut body {
            map.insert("options".into(), json!({"passwordEncryptType": "none"}));
        }
        let created: Option<DtoUser> = self
            .call(
                Operation::V3CreateUser,
                false,
                "create-user",
                body,
                Some(subject),
            )
            .await?;
        let created = created.ok_or_else(|| {
            decode(Operation::V3CreateUser, "`data` is null").with_subject(subject)
        })?;
        self.remember(vec![created])
            .pop()
            .ok_or_else(|| decode(Operation::V3CreateUser, "`data` is null").with_subject(subject))
    }

    /// Writes the given fields of a user (and its current status, see the module comment).
    pub async fn update_user(
        &self,
        id: &UserId,
        changes: &[(Field, FieldValue)],
        subject: &str,
    ) -> Result<LiveUser, RemoteError> {
        let mut body = Map::new();
        body.insert("userId".into(), Value::from(id.as_str()));
        let status = self
            .statuses
            .lock()
            .ok()
            .and_then(|statuses| statuses.get(id).cloned())
            .unwrap_or_else(|| STATUS_ACTIVE.to_string());
        body.insert("status".into(), Value::from(status));
        for (field, value) in changes {
            put_field(&mut body, *field, value.as_ref());
        }
        let updated: Option<DtoUser> = self
            .call(
                Operation::V3UpdateUser,
                false,
                "update-user",
                Value::Object(body),
                Some(subject),
            )
            .await?;
        let updated = updated.ok_or_else(|| {
            decode(Operation::V3UpdateUser, "`data` is null").with_subject(subject)
        })?;
        self.remember(vec![updated])
            .pop()
            .ok_or_else(|| decode(Operation::V3UpdateUser, "`data` is null").with_subject(subject))
    }

    /// Deletes up to [`BATCH`] users with one `delete-users-batch`; the ids the server confirms
    /// (all of them on `success: true`, none otherwise: the executor reads those again).
    pub async fn remove_users(
        &self,
        ids: &[UserId],
        subject: &str,
    ) -> Result<Vec<UserId>, RemoteError> {
        let list: Vec<&str> = ids.iter().map(UserId::as_str).collect();
        let body = json!({"userIds": list, "options": {"userIdType": "user_id"}});
        let answer: Option<Value> = self
            .call(
                Operation::V3DeleteUsersBatch,
                false,
                "delete-users-batch",
                body,
                Some(subject),
            )
            .await?;
        let confirmed = answer
            .as_ref()
            .and_then(|answer| answer.get("success"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if let Ok(mut statuses) = self.statuses.lock() {
            for id in ids {
                statuses.remove(id);
            }
        }
        Ok(if confirmed { ids.to_vec() } else { Vec::new() })
    }

    /// Whether TOTP MFA is bound for a user (`get-user-mfa-info.totpStatus`, `"enabled"` or
    /// `true`; the facts show both).
    pub async fn mfa_enabled(&self, id: &UserId, subject: &str) -> Result<bool, RemoteError> {
        let query = json!({"userId": id.as_str(), "userIdType": "user_id"});
        let info: Option<Value> = self
            .call(
                Operation::V3GetUserMfaInfo,
                true,
                "get-user-mfa-info",
                query,
                Some(subject),
            )
            .await?;
        Ok(
            match info.as_ref().and_then(|info| info.get("totpStatus")) {
                Some(Value::Bool(on)) => *on,
                Some(Value::String(status)) => {
                    status.eq_ignore_ascii_case("enabled") || status.eq_ignore_ascii_case("true")
                }
                _ => false,
            },
        )
    }

    /// v3 cannot turn one user's MFA on or off as v1's `changeMFA` does (see the module
    /// comment); the plan refuses such changes, so this is never reached from a plan.
    pub fn set_mfa(&self, subject: &str) -> RemoteError {
        RemoteError::new(
            Operation::V3GetUserMfaInfo,
            ErrorKind::Unsupported(
                "the v3 API has no confirmed call that turns one user's MFA on or off".into(),
            ),
        )
        .with_subject(subject)
    }

    /// The phone whitelist (`list-whitelist?type=PHONE`). v3 cannot read the switch: it reads
    /// as off, and the plan refuses to manage it.
    pub async fn whitelist(&self) -> Result<LiveWhitelist, RemoteError> {
        let entries: Option<Entries> = self
            .call(
                Operation::V3ListWhitelist,
                true,
                "list-whitelist",
                json!({"type": "PHONE"}),
                None,
            )
            .await?;
        let phones = entries
            .map(|entries| entries.0)
            .unwrap_or_default()
            .into_iter()
            .map(LivePhone::new)
            .collect();
        Ok(LiveWhitelist {
            enabled: false,
            phones,
        })
    }

    pub async fn whitelist_add(&self, phone: &str) -> Result<(), RemoteError> {
        let body = json!({"type": "PHONE", "list": [phone]});
        self.call::<Value>(
            Operation::V3AddWhitelist,
            false,
            "add-whitelist",
            body,
            Some(phone),
        )
        .await
        .map(drop)
    }

    pub async fn whitelist_remove(&self, phone: &str) -> Result<(), RemoteError> {
        let body = json!({"type": "PHONE", "list": [phone]});
        self.call::<Value>(
            Operation::V3DeleteWhitelist,
            false,
            "delete-whitelist",
            body,
            Some(phone),
        )
        .await
        .map(drop)
    }

    /// Users decoded from `UserDto`s, remembering the status of those not `Activated`.
    fn remember(&self, users: Vec<DtoUser>) -> Vec<LiveUser> {
        if let Ok(mut statuses) = self.statuses.lock() {
            for user in &users {
                match &user.status {
                    Some(status) if status != STATUS_ACTIVE => {
                        statuses.insert(user.live.id.clone(), status.clone());
                    }
                    _ => {
                        statuses.remove(&user.live.id);
                    }
                }
            }
        }
        users.into_iter().map(|user| user.live).collect()
    }

    /// A call with the management token: renewed first when due, and once more if the server
    /// refuses it anyway (statusCode 401); a second refusal is fatal.
    async fn call<T: DeserializeOwned>(
        &self,
        operation: Operation,
        get: bool,
        name: &str,
        variables: Value,
        subject: Option<&str>,
    ) -> Result<Option<T>, RemoteError> {
        let path = format!("/api/v3/{name}");
        let current = self.owner.get();
        if current.is_due() {
            self.renew_due(current, operation).await?;
        }
        let mut renewed_on_refusal = false;
        loop {
            let seen = self.owner.get().generation;
            let rest = Rest {
                get,
                path: &path,
                pool: Some(&self.client_id),
            };
            let mut call = Call::rest(operation, rest, variables.clone()).owner(&self.owner);
            call.subject = subject;
            match self.transport.call(&call).await {
                Err(err) if matches!(err.kind, ErrorKind::TokenDue) => {
                    let current = self.owner.get();
                    if current.is_due() {
                        self.renew_due(current, operation).await?;
                    }
                }
                Err(err) if err.is_stale_owner_token() && !renewed_on_refusal => {
                    tracing::info!(
                        operation = operation.name(),
                        "the management token was refused; fetching a new one"
                    );
                    renewed_on_refusal = true;
                    self.renew(seen).await?;
                }
                other => return other,
            }
        }
    }

    /// Renews a due token; if that fails for a transient reason, the current one is kept.
    async fn renew_due(
        &self,
        owner: Arc<OwnerToken>,
        operation: Operation,
    ) -> Result<(), RemoteError> {
        tracing::debug!(
            operation = operation.name(),
            "the management token expires soon; renewing it"
        );
        match self.renew(owner.generation).await {
            Ok(()) => Ok(()),
            Err(err) if err.class() == ErrorClass::Transient => {
                tracing::warn!(error = %err, "renewing the management token failed; using the current one");
                self.owner.keep_without_deadline(owner.generation);
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    /// Fetches a new token unless another task already did since `seen`.
    async fn renew(&self, seen: u64) -> Result<(), RemoteError> {
        let _renewal = self.renewal.lock().await;
        if self.owner.get().generation != seen {
            return Ok(());
        }
        tracing::info!(generation = seen + 1, "fetching a new management token");
        let token =
            management_token(&self.transport, &self.client_id, &self.secret, seen + 1).await?;
        self.owner.set(Arc::new(token));
        Ok(())
    }
}

/// `POST get-management-token` with the access key pair (sent with no authorization header).
async fn management_token(
    transport: &Transport,
    client_id: &str,
    secret: &Secret,
    generation: u64,
) -> Result<OwnerToken, RemoteError> {
    let rest = Rest {
        get: false,
        path: "/api/v3/get-management-token",
        pool: None,
    };
    let body = json!({"accessKeyId": client_id, "accessKeySecret": secret.expose()});
    let call = Call::rest(Operation::V3Token, rest, body);
    let answer: Option<TokenAnswer> =
        transport.call(&call).await.map_err(|err| match err.kind {
            // Only a refusal of the key pair is a credentials problem: a 5xx is the server's,
            // a 404 the endpoint's path, and they keep their own words.
            ErrorKind::V3 {
                status: status @ (400 | 401 | 403),
                message,
                ..
            } => RemoteError {
                kind: ErrorKind::AuthFailed(format!("statusCode {status}: {message}")),
                ..err
            },
            _ => err,
        })?;
    let answer = answer.ok_or_else(|| no_token("the answer has no `data`"))?;
    let token = answer
        .access_token
        .filter(|token| !token.is_empty())
        .ok_or_else(|| no_token("the server returned no access token"))?;
    let mut owner = OwnerToken::new(token, generation);
    // `expires_in` bounds the lifetime when the JWT says nothing (or says more).
    if let Some(seconds) = answer.expires_in.filter(|seconds| *seconds > 0) {
        let lifetime = Duration::from_secs(seconds as u64);
        let margin = super::token::RENEW_MARGIN.min(lifetime / 4);
        let by_lifetime = Instant::now() + lifetime - margin;
        owner.renew_at = Some(owner.renew_at.map_or(by_lifetime, |at| at.min(by_lifetime)));
    }
    Ok(owner)
}

fn no_token(why: &str) -> RemoteError {
    RemoteError::new(Operation::V3Token, ErrorKind::AuthFailed(why.into()))
}

fn decode(operation: Operation, why: &str) -> RemoteError {
    RemoteError::new(operation, ErrorKind::Decode(why.to_string()))
}

/// `data` of `get-management-token`.
#[derive(serde::Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<Secret>,
    #[serde(default, deserialize_with = "super::wire::lenient_int")]
    expires_in: Option<i64>,
}

/// `data` of `list-users`: `{totalCount, list}`.
struct Listed {
    total: Option<u64>,
    users: Vec<DtoUser>,
}

impl<'de> serde::Deserialize<'de> for Listed {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            #[serde(default, deserialize_with = "super::wire::lenient_int")]
            total_count: Option<i64>,
            #[serde(default)]
            list: Option<Many>,
        }
        let raw = Raw::deserialize(deserializer)?;
        Ok(Listed {
            total: raw
                .total_count
                .filter(|total| *total >= 0)
                .map(|total| total as u64),
            users: raw.list.map(|many| many.0).unwrap_or_default(),
        })
    }
}

/// A list of `UserDto`s: `null` items dropped.
struct Many(Vec<DtoUser>);

impl<'de> serde::Deserialize<'de> for Many {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let items = Option::<Vec<Option<DtoUser>>>::deserialize(deserializer)?;
        Ok(Many(
            items.unwrap_or_default().into_iter().flatten().collect(),
        ))
    }
}

/// A user read from a `UserDto` through the field table's v3 names, and its raw `status`.
struct DtoUser {
    live: LiveUser,
    status: Option<String>,
}

impl<'de> serde::Deserialize<'de> for DtoUser {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let object = Map::<String, Value>::deserialize(deserializer)?;
        user_from_dto(&object).map_err(serde::de::Error::custom)
    }
}

/// Decodes one `UserDto`: `userId` is required; each field of the table under its v3 name
/// (`null` or absent: no value; a value of the wrong type: an error); `status` is `blocked`
/// (anything but `Activated` is blocked); `phone` and `phoneCountryCode` make one phone
/// (national for `+86` or no code).
fn user_from_dto(object: &Map<String, Value>) -> Result<DtoUser, String> {
    let id = match object.get("userId") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        _ => return Err("a user has no `userId`".into()),
    };
    let mut profile = ProfileBuilder::default();
    let mut status = None;
    for field in Field::ALL {
        let Some(name) = field.v3_name() else {
            continue;
        };
        let value = match object.get(name) {
            None | Some(Value::Null) => continue,
            Some(value) => value,
        };
        let wrong = || format!("`{name}` of user {id} is not {}", kind_name(field));
        match field {
            Field::Blocked => {
                let text = value.as_str().ok_or_else(wrong)?;
                status = Some(text.to_string());
                profile.flag(field, text != STATUS_ACTIVE);
            }
            Field::Phone => {
                let national = value.as_str().ok_or_else(wrong)?;
                let code = match object.get("phoneCountryCode") {
                    Some(Value::String(code)) => Some(code.as_str()),
                    _ => None,
                };
                profile.text(field, &join_phone(national, code));
            }
            Field::Gender if value.as_str() == Some(GENDER_UNKNOWN) => {}
            _ if field.is_bool() => profile.flag(field, value.as_bool().ok_or_else(wrong)?),
            _ => profile.text(field, value.as_str().ok_or_else(wrong)?),
        }
    }
    Ok(DtoUser {
        live: LiveUser {
            id: UserId::new(id),
            profile: profile.build(),
            mfa: None,
        },
        status,
    })
}

fn kind_name(field: Field) -> &'static str {
    match field {
        Field::Blocked => "a status",
        _ if field.is_bool() => "a boolean",
        _ => "a string",
    }
}

/// One phone from v3's two fields: the national number alone for `+86` or no code, else
/// `+<code><number>`.
fn join_phone(national: &str, code: Option<&str>) -> String {
    let national = national.trim();
    let code = code
        .map(|code| code.trim().trim_start_matches('+'))
        .filter(|code| !code.is_empty());
    match code {
        // No code, mainland China, or a number that is already international.
        None | Some("86") => national.to_string(),
        Some(_) if national.starts_with('+') => national.to_string(),
        Some(code) => format!("+{code}{national}"),
    }
}

/// v3's `phone` and `phoneCountryCode` for a phone as a manifest holds it.
fn split_phone(phone: &str) -> (String, String) {
    let normalized = normalize_phone(phone);
    let Some(digits) = normalized.strip_prefix('+') else {
        return (normalized, "+86".into());
    };
    let code_len = SHORT_COUNTRY_CODES
        .iter()
        .find(|code| digits.starts_with(*code))
        .map_or(3, |code| code.len());
    if digits.len() <= code_len || !digits.is_char_boundary(code_len) {
        return (normalized.clone(), "+86".into());
    }
    (
        digits[code_len..].to_string(),
        format!("+{}", &digits[..code_len]),
    )
}

/// Writes one field into a v3 body under its v3 name (`blocked` as `status`, a phone as
/// `phone` + `phoneCountryCode`; an empty text clears the field).
fn put_field(body: &mut Map<String, Value>, field: Field, value: FieldRef<'_>) {
    let Some(name) = field.v3_name() else {
        return;
    };
    match (field, value) {
        (Field::Blocked, FieldRef::Bool(blocked)) => {
            let status = if blocked {
                STATUS_SUSPENDED
            } else {
                STATUS_ACTIVE
            };
            body.insert(name.into(), Value::from(status));
        }
        (Field::Phone, FieldRef::Text(phone)) if !phone.trim().is_empty() => {
            let (national, code) = split_phone(phone);
            body.insert(name.into(), Value::from(national));
            body.insert("phoneCountryCode".into(), Value::from(code));
        }
        (_, FieldRef::Text(text)) => {
            body.insert(name.into(), Value::from(text));
        }
        (_, FieldRef::Bool(flag)) => {
            body.insert(name.into(), Value::from(flag));
        }
    }
}

/// The body of one new user: its fields under their v3 names, and the password.
fn create_body(user: &NewUser<'_>) -> Value {
    let mut body = Map::new();
    for (field, value) in user.profile.fields() {
        put_field(&mut body, field, value);
    }
    body.insert("password".into(), Value::from(user.password.expose()));
    Value::Object(body)
}

/// `list-whitelist`'s `data`: an array of `{value}` or one object (the SDKs type it so).
struct Entries(Vec<String>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let items = match value {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            other => vec![other],
        };
        let mut phones = Vec::with_capacity(items.len());
        for item in items {
            match item.get("value") {
                Some(Value::String(phone)) if !phone.trim().is_empty() => {
                    phones.push(phone.clone())
                }
                Some(Value::String(_)) | Some(Value::Null) | None => {}
                Some(other) => {
                    return Err(serde::de::Error::custom(format!(
                        "a whitelist entry's `value` is not a string: {other}"
                    )));
                }
            }
        }
        Ok(Entries(phones))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_split_and_join_through_the_country_code() {
        assert_eq!(
            split_phone("13800000000"),
            ("13800000000".into(), "+86".into())
        );
        assert_eq!(
            split_phone("+14155550100"),
            ("4155550100".into(), "+1".into())
        );
        assert_eq!(
            split_phone("+442071838750"),
            ("2071838750".into(), "+44".into())
        );
        assert_eq!(split_phone("+8613800000000").1, "+86");
        assert_eq!(join_phone("13800000000", Some("+86")), "13800000000");
        assert_eq!(join_phone("13800000000", None), "13800000000");
        assert_eq!(join_phone("4155550100", Some("+1")), "+14155550100");
        assert_eq!(join_phone("4155550100", Some("1")), "+14155550100");
    }

    #[test]
    fn a_user_dto_reads_through_the_table() {
        let dto = json!({
            "userId": "u1", "email": "a@example.com", "status": "Suspended",
            "phone": "4155550100", "phoneCountryCode": "+1", "city": "Paris",
            "emailVerified": true, "nickname": null, "workStatus": "Active", "gender": "U"
        });
        let user = user_from_dto(dto.as_object().unwrap()).unwrap();
        assert_eq!(user.live.id.as_str(), "u1");
        assert_eq!(user.status.as_deref(), Some("Suspended"));
        let profile = &user.live.profile;
        assert_eq!(profile.get(Field::Blocked), Some(FieldRef::Bool(true)));
        assert_eq!(profile.text(Field::Phone), Some("+14155550100"));
        assert_eq!(profile.text(Field::Locality), Some("Paris"));
        assert_eq!(
            profile.get(Field::EmailVerified),
            Some(FieldRef::Bool(true))
        );
        assert_eq!(profile.get(Field::Nickname), None);
        assert_eq!(profile.get(Field::Gender), None, "U is v3's unset gender");
        let active = json!({"userId": "u2", "status": "Activated"});
        let user = user_from_dto(active.as_object().unwrap()).unwrap();
        assert_eq!(
            user.live.profile.get(Field::Blocked),
            Some(FieldRef::Bool(false))
        );
        assert!(user_from_dto(json!({"email": "x@example.com"}).as_object().unwrap()).is_err());
        assert!(
            user_from_dto(
                json!({"userId": "u", "emailVerified": "yes"})
                    .as_object()
                    .unwrap()
            )
            .is_err()
        );
    }

    #[test]
    fn fields_are_written_under_their_v3_names() {
        let mut body = Map::new();
        put_field(&mut body, Field::Blocked, FieldRef::Bool(true));
        put_field(&mut body, Field::Locality, FieldRef::Text("Paris"));
        put_field(&mut body, Field::Phone, FieldRef::Text("+1 415-555-0100"));
        assert_eq!(
            Value::Object(body),
            json!({"status": "Suspended", "city": "Paris", "phone": "4155550100", "phoneCountryCode": "+1"})
        );
    }

    #[test]
    fn whitelist_data_is_an_array_or_one_object() {
        let entries: Entries =
            serde_json::from_value(json!([{"value": "13800000000", "createdAt": "1"}])).unwrap();
        assert_eq!(entries.0, ["13800000000"]);
        let entries: Entries =
            serde_json::from_value(json!({"value": "13800000001", "createdAt": "1"})).unwrap();
        assert_eq!(entries.0, ["13800000001"]);
        let entries: Entries = serde_json::from_value(json!(null)).unwrap();
        assert!(entries.0.is_empty());
    }
}
