//! What every resolver can reach: the shared pool ([`Shared`]: config, store, persistence, keys,
//! stats) and who is calling ([`Caller`], from the `Authorization` header), with the token rules
//! of each kind of operation.

use std::net::IpAddr;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use super::crypto::RsaKeys;
use super::errors::{ApiError, ApiResult};
use super::event::Event;
use super::faults::RegisterLimit;
use super::persist::{PersistError, Persistence};
use super::stats::Stats;
use super::store::Store;
use super::tokens::{Claims, TokenError, TokenKind, TokenSigner};
use crate::secret::Secret;

/// The store and, with `--state`, its persistence, behind one lock so the journal order is the
/// order changes are applied in.
#[derive(Debug)]
pub struct Pool {
    pub store: Store,
    pub persistence: Option<Persistence>,
}

/// Everything shared by all requests.
#[derive(Debug)]
pub struct Shared {
    pub client_id: String,
    pub secret: Secret,
    pub pool: RwLock<Pool>,
    pub keys: RsaKeys,
    pub tokens: TokenSigner,
    pub stats: Stats,
    /// `--register-limit`, if on.
    pub register_limit: Option<RegisterLimit>,
}

impl Shared {
    fn read_pool(&self) -> RwLockReadGuard<'_, Pool> {
        self.pool
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn write_pool(&self) -> RwLockWriteGuard<'_, Pool> {
        self.pool
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Runs `f` on the store under the read lock.
    pub fn read<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        f(&self.read_pool().store)
    }

    /// Runs `f` under the write lock; the events it returns are journaled (with `--state`) and
    /// applied before the lock is released, so checks and changes are one atomic step.
    pub fn mutate<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<(T, Vec<Event>), ApiError>,
    ) -> ApiResult<T> {
        self.mutate_or(f, || ApiError::SystemBusy)
            .map_err(Into::into)
    }

    /// [`Shared::mutate`] with the caller's error type; `busy` is the error for a journal that
    /// cannot be written (nothing is applied then).
    pub fn mutate_or<T, E>(
        &self,
        f: impl FnOnce(&Store) -> Result<(T, Vec<Event>), E>,
        busy: impl FnOnce() -> E,
    ) -> Result<T, E> {
        let mut guard = self.write_pool();
        let pool = &mut *guard;
        let (value, events) = f(&pool.store)?;
        if let Some(persistence) = pool.persistence.as_mut() {
            persistence.record(&events).map_err(|_| busy())?;
        }
        for event in &events {
            pool.store.apply(event);
        }
        // The change is applied and journaled: a failed compaction must not report it as
        // failed. The journal stays, and compaction is tried again after the next change.
        if let Some(persistence) = pool.persistence.as_mut()
            && persistence.compaction_due()
        {
            let _ = persistence.snapshot(&pool.store);
        }
        Ok(value)
    }

    /// Applies events with no checks (start-up: `--generate`).
    pub fn apply_unchecked(&self, events: &[Event]) -> Result<(), PersistError> {
        let mut guard = self.write_pool();
        let pool = &mut *guard;
        if let Some(persistence) = pool.persistence.as_mut() {
            persistence.record(events)?;
        }
        for event in events {
            pool.store.apply(event);
        }
        Ok(())
    }

    /// Writes a snapshot and empties the journal (graceful shutdown).
    pub fn snapshot(&self) -> Result<(), PersistError> {
        let mut guard = self.write_pool();
        let pool = &mut *guard;
        match pool.persistence.as_mut() {
            Some(persistence) => persistence.snapshot(&pool.store),
            None => Ok(()),
        }
    }

    /// Counts a `register` call against `--register-limit` (2100 past it).
    pub fn admit_register(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        match &self.register_limit {
            Some(limit) if !limit.admit(ip, Instant::now()) => Err(ApiError::RegisterTooFrequent),
            _ => Ok(()),
        }
    }

    /// A `registerInClient` / `client` / `userPoolId` argument must name this pool (2011).
    /// An absent one means this pool.
    pub fn check_pool(&self, client: Option<&str>) -> Result<(), ApiError> {
        match client {
            Some(client) if client.trim() != self.client_id => Err(ApiError::ClientNotFound),
            _ => Ok(()),
        }
    }
}

/// The shared state and the caller of the request a resolver runs for.
pub fn env<'a>(ctx: &async_graphql::Context<'a>) -> ApiResult<(&'a Shared, &'a Caller)> {
    let shared = ctx.data::<std::sync::Arc<Shared>>()?;
    let caller = ctx.data::<Caller>()?;
    Ok((shared.as_ref(), caller))
}

/// The shared state for an operation that needs the owner token and names the pool in a
/// `client` argument: the owner is checked first, then the pool.
pub fn owner_env<'a>(
    ctx: &async_graphql::Context<'a>,
    client: Option<&str>,
) -> ApiResult<&'a Shared> {
    let (shared, caller) = env(ctx)?;
    caller.require_owner()?;
    shared.check_pool(client)?;
    Ok(shared)
}

/// The address a request came from (request data; `None` when the server does not know it).
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientIp(pub Option<IpAddr>);

/// The caller's address, for the register limit.
pub fn client_ip(ctx: &async_graphql::Context<'_>) -> Option<IpAddr> {
    ctx.data_opt::<ClientIp>().and_then(|ip| ip.0)
}

/// Who sent the request, from its `Authorization` header.
#[derive(Debug, Clone)]
pub enum Caller {
    /// No token.
    Anonymous,
    /// The pool owner.
    Owner,
    /// A logged-in user.
    User(Claims),
    /// A user holding the token `register` returned (not a login).
    Registered(Claims),
    /// A token that is expired or does not verify.
    Rejected(TokenError),
}

impl Caller {
    /// Reads `Authorization: Bearer <token>`; a bare token without `Bearer ` is accepted too.
    pub fn from_header(header: Option<&str>, shared: &Shared) -> Caller {
        let Some(token) = header.map(bearer_token).filter(|token| !token.is_empty()) else {
            return Caller::Anonymous;
        };
        Caller::from_token(token, shared)
    }

    pub fn from_token(token: &str, shared: &Shared) -> Caller {
        match shared.tokens.verify(token) {
            Ok(claims) if claims.data.client_id != shared.client_id => {
                Caller::Rejected(TokenError::Invalid)
            }
            Ok(claims) => match claims.kind {
                TokenKind::Owner => Caller::Owner,
                TokenKind::User => Caller::User(claims),
                TokenKind::Registered => Caller::Registered(claims),
            },
            Err(error) => Caller::Rejected(error),
        }
    }

    /// The error for a caller that has no valid token at all, if that is the case.
    fn token_problem(&self) -> Option<ApiError> {
        match self {
            Caller::Anonymous => Some(ApiError::NotLoggedIn),
            Caller::Rejected(TokenError::Expired) => Some(ApiError::TokenExpired),
            Caller::Rejected(TokenError::Invalid) => Some(ApiError::TokenInvalid),
            _ => None,
        }
    }

    /// Any valid token (queryMFA): no token 2020, expired 2206, invalid 2207.
    pub fn require_token(&self) -> Result<(), ApiError> {
        self.token_problem().map_or(Ok(()), Err)
    }

    /// A logged-in user's token (changeMFA); anything else is 2020 (or 2206/2207).
    pub fn require_login(&self) -> Result<(), ApiError> {
        self.require_token()?;
        match self {
            Caller::User(_) => Ok(()),
            _ => Err(ApiError::NotLoggedIn),
        }
    }

    /// Management operations: owner token only. No token 2020, expired 2206, invalid 2207, a
    /// user's token 1001.
    pub fn require_owner(&self) -> Result<(), ApiError> {
        if let Some(problem) = self.token_problem() {
            return Err(problem);
        }
        match self {
            Caller::Owner => Ok(()),
            _ => Err(ApiError::NoPermission),
        }
    }

    /// Owner, or the logged-in user `user_id` itself (`wrong` is the error for another user).
    pub fn require_owner_or_self(&self, user_id: &str, wrong: ApiError) -> Result<(), ApiError> {
        if let Some(problem) = self.token_problem() {
            return Err(problem);
        }
        match self {
            Caller::Owner => Ok(()),
            Caller::User(claims) if claims.data.id == user_id => Ok(()),
            Caller::User(_) => Err(wrong),
            _ => Err(ApiError::NotLoggedIn),
        }
    }

    /// `changeMFA`: only the user's own login token. No token, an owner token or a register
    /// token 2020; another user's token 2202.
    pub fn require_user(&self, user_id: &str) -> Result<(), ApiError> {
        if let Some(problem) = self.token_problem() {
            return Err(problem);
        }
        match self {
            Caller::User(claims) if claims.data.id == user_id => Ok(()),
            Caller::User(_) => Err(ApiError::NotYourUser),
            _ => Err(ApiError::NotLoggedIn),
        }
    }

    pub fn is_owner(&self) -> bool {
        matches!(self, Caller::Owner)
    }
}

fn bearer_token(header: &str) -> &str {
    let header = header.trim();
    match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => header,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_bare_tokens() {
        assert_eq!(bearer_token("Bearer abc"), "abc");
        assert_eq!(bearer_token("bearer   abc "), "abc");
        assert_eq!(bearer_token("abc"), "abc");
        assert_eq!(bearer_token(""), "");
    }
}
