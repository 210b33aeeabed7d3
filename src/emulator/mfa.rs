//! MFA records: `queryMFA` (owner or the user's own token) and `changeMFA` (the user's own
//! login token only). A record is created on the first `changeMFA`, with a random base32
//! `shareKey`; `refreshKey` makes a new one.

use rand::RngExt;

use super::accounts::new_object_id;
use super::context::{Caller, Shared};
use super::errors::{ApiError, ApiResult};
use super::event::Event;
use super::schema::Mfa;
use super::store::{MfaRecord, Store};

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn share_key() -> String {
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from(BASE32[rng.random_range(0..BASE32.len())]))
        .collect()
}

/// How an MFA operation names its record.
#[derive(Debug, Default)]
pub struct MfaTarget {
    pub mfa_id: Option<String>,
    pub user_id: Option<String>,
    pub user_pool_id: Option<String>,
}

/// The user the target names: by `_id` (the record) or by `userId` (2004 when neither resolves).
fn target_user(shared: &Shared, store: &Store, target: &MfaTarget) -> Result<String, ApiError> {
    if let Some(mfa_id) = target.mfa_id.as_deref().filter(|id| !id.is_empty()) {
        return store
            .mfa_by_id(mfa_id)
            .map(|record| record.user_id.clone())
            .ok_or(ApiError::UserNotFound);
    }
    shared.check_pool(target.user_pool_id.as_deref())?;
    let user_id = target
        .user_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or(ApiError::UserNotFound)?;
    if store.user(user_id).is_none() {
        return Err(ApiError::UserNotFound);
    }
    Ok(user_id.to_string())
}

/// `queryMFA`: `null` for a user who never had MFA set.
pub fn query(shared: &Shared, caller: &Caller, target: &MfaTarget) -> ApiResult<Option<Mfa>> {
    caller.require_token()?;
    shared.read(|store| {
        let user_id = target_user(shared, store, target)?;
        caller.require_owner_or_self(&user_id, ApiError::NoPermission)?;
        Ok(store.mfa_of(&user_id).map(Mfa::from))
    })
}

/// `changeMFA`.
pub fn change(
    shared: &Shared,
    caller: &Caller,
    target: &MfaTarget,
    enable: bool,
    refresh_key: bool,
    now: i64,
) -> ApiResult<Mfa> {
    caller.require_login()?;
    shared.mutate(|store| {
        let user_id = target_user(shared, store, target)?;
        caller.require_user(&user_id)?;
        let record = match store.mfa_of(&user_id) {
            Some(existing) => MfaRecord {
                enable,
                share_key: if refresh_key {
                    share_key()
                } else {
                    existing.share_key.clone()
                },
                ..existing.clone()
            },
            None => MfaRecord {
                id: new_object_id(store, now),
                user_id,
                user_pool_id: shared.client_id.clone(),
                enable,
                share_key: share_key(),
            },
        };
        let out = Mfa::from(&record);
        Ok((out, vec![Event::PutMfa { mfa: record }]))
    })
}
