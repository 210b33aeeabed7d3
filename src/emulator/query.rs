//! `type Query`: the read operations, each a thin resolver over the store and the token rules.

use async_graphql::{Context, Object};

use super::context::{Caller, env};
use super::dates;
use super::errors::{ApiError, ApiResult};
use super::mfa::{self, MfaTarget};
use super::schema::{
    ClientInfoAndAccessToken, ExtendUser, FrequentRegisterCheckConfig, JwtDecodedData,
    JwtDecodedDataCheckLogin, Mfa, PagedUsers, PatchExtendUser, UserClient,
};
use super::session::{self, InitArgs};
use crate::secret::Secret;

/// `users(count:)` never returns more than this many (larger requests are clamped).
pub const MAX_PAGE_SIZE: i64 = 200;
/// `users` without `count` (or with `count < 1`) returns this many.
pub const DEFAULT_PAGE_SIZE: i64 = 10;
/// `userPatch` refuses more ids than this (2030).
pub const MAX_PATCH_IDS: usize = 80;

#[derive(Default)]
pub struct QueryRoot;

/// The users `users(page:, count:)` answers: the first index and how many. A page below 1 is
/// page 1; a count below 1 (or none) is 10, above 200 is 200.
pub fn page_window(page: Option<i64>, count: Option<i64>) -> (usize, usize) {
    let page = page.filter(|page| *page >= 1).unwrap_or(1);
    let count = match count {
        Some(count) if count >= 1 => count.min(MAX_PAGE_SIZE),
        _ => DEFAULT_PAGE_SIZE,
    };
    let start = usize::try_from((page - 1).saturating_mul(count)).unwrap_or(usize::MAX);
    (start, usize::try_from(count).unwrap_or(0))
}

#[Object(name = "QueryCore")]
impl QueryRoot {
    /// One page of the pool in creation order. Owner token.
    async fn users(
        &self,
        ctx: &Context<'_>,
        register_in_client: Option<String>,
        page: Option<i64>,
        count: Option<i64>,
        populate: Option<bool>,
    ) -> ApiResult<Option<PagedUsers>> {
        let (shared, caller) = env(ctx)?;
        caller.require_owner()?;
        shared.check_pool(register_in_client.as_deref())?;
        let _ = populate;
        let (start, count) = page_window(page, count);
        Ok(Some(shared.read(|store| {
            PagedUsers {
                list: Some(
                    store
                        .page(start, count)
                        .map(|(id, user)| {
                            Some(ExtendUser::from_record(id, user, &shared.client_id))
                        })
                        .collect(),
                ),
                total_count: Some(store.user_count() as i64),
            }
        })))
    }

    /// One user, or `null` when the id is unknown. Owner token, or the user's own token; a
    /// `token` argument (a user's token) names the user instead of `id`.
    #[allow(clippy::too_many_arguments)]
    async fn user(
        &self,
        ctx: &Context<'_>,
        id: Option<String>,
        register_in_client: Option<String>,
        token: Option<String>,
        auth: Option<bool>,
        user_login_history_page: Option<i64>,
        user_login_history_count: Option<i64>,
    ) -> ApiResult<Option<ExtendUser>> {
        let (shared, caller) = env(ctx)?;
        let _ = (auth, user_login_history_page, user_login_history_count);
        shared.check_pool(register_in_client.as_deref())?;
        let id = match token
            .as_deref()
            .map(|token| Caller::from_token(token, shared))
        {
            Some(Caller::User(claims) | Caller::Registered(claims)) => claims.data.id,
            Some(_) => return Ok(None),
            None => {
                let id = id.unwrap_or_default();
                caller.require_owner_or_self(&id, ApiError::NoPermission)?;
                id
            }
        };
        Ok(shared.read(|store| {
            store
                .user(&id)
                .map(|user| ExtendUser::from_record(&id, user, &shared.client_id))
        }))
    }

    /// Users by comma-separated ids; unknown ids are skipped, more than 80 is 2030. Owner token.
    async fn user_patch(
        &self,
        ctx: &Context<'_>,
        ids: Option<String>,
    ) -> ApiResult<Option<PatchExtendUser>> {
        let (shared, caller) = env(ctx)?;
        caller.require_owner()?;
        let ids = ids.unwrap_or_default();
        let wanted: Vec<&str> = ids
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .collect();
        if wanted.len() > MAX_PATCH_IDS {
            return Err(ApiError::TooManyIds.into());
        }
        let mut seen = std::collections::HashSet::new();
        let list: Vec<Option<ExtendUser>> = shared.read(|store| {
            wanted
                .iter()
                .filter(|id| seen.insert(**id))
                .filter_map(|id| {
                    store
                        .user(id)
                        .map(|user| Some(ExtendUser::from_record(id, user, &shared.client_id)))
                })
                .collect()
        });
        Ok(Some(PatchExtendUser {
            total_count: list.len() as i64,
            list: Some(list),
        }))
    }

    /// The owner token as a bare string (SDK 1.5.0, Python SDK).
    #[allow(clippy::too_many_arguments)]
    async fn get_access_token_by_app_secret(
        &self,
        ctx: &Context<'_>,
        secret: Option<String>,
        client_id: Option<String>,
        ret_user_id: Option<bool>,
        timestamp: Option<String>,
        signature: Option<String>,
        nonce: Option<i64>,
    ) -> ApiResult<Option<String>> {
        let (shared, _) = env(ctx)?;
        // Browser mode (timestamp, nonce, signature and no secret) is refused like a wrong
        // secret.
        let _ = (ret_user_id, timestamp, signature, nonce);
        let args = InitArgs {
            secret: secret.map(Secret::from),
            client_id,
        };
        let token = session::owner_token(shared, &args, dates::now())?;
        Ok(Some(token.expose().to_string()))
    }

    /// The owner token and the pool's settings (SDK 1.19 and later).
    #[allow(clippy::too_many_arguments)]
    async fn get_client_when_sdk_init(
        &self,
        ctx: &Context<'_>,
        secret: Option<String>,
        client_id: Option<String>,
        ret_user_id: Option<bool>,
        timestamp: Option<String>,
        signature: Option<String>,
        nonce: Option<i64>,
    ) -> ApiResult<Option<ClientInfoAndAccessToken>> {
        let (shared, _) = env(ctx)?;
        // Browser mode (timestamp, nonce, signature and no secret) is refused like a wrong
        // secret.
        let _ = (ret_user_id, timestamp, signature, nonce);
        let args = InitArgs {
            secret: secret.map(Secret::from),
            client_id,
        };
        let token = session::owner_token(shared, &args, dates::now())?;
        let users = shared.read(|store| store.user_count());
        let mut client_info = UserClient::pool(&shared.client_id, users);
        // `--register-limit`/`--register-window` is the pool's frequent-registration setting.
        if let Some(limit) = &shared.register_limit {
            client_info.frequent_register_check = Some(FrequentRegisterCheckConfig {
                time_interval: Some(limit.window().as_secs() as i64),
                limit: Some(limit.limit() as i64),
                enable: Some(true),
            });
        }
        Ok(Some(ClientInfoAndAccessToken {
            client_info: Some(client_info),
            access_token: Some(token.expose().to_string()),
        }))
    }

    /// Decodes a token; the outcome is in `status`. No token needed.
    async fn decode_jwt_token(
        &self,
        ctx: &Context<'_>,
        token: Option<String>,
    ) -> ApiResult<Option<JwtDecodedData>> {
        let (shared, _) = env(ctx)?;
        Ok(Some(session::decode(shared, token.as_deref())))
    }

    /// Whether a token (the argument, else the caller's) is a live login; in-band status.
    async fn check_login_status(
        &self,
        ctx: &Context<'_>,
        token: Option<String>,
    ) -> ApiResult<Option<JwtDecodedDataCheckLogin>> {
        let (shared, caller) = env(ctx)?;
        Ok(Some(session::check_login(shared, caller, token.as_deref())))
    }

    /// A user's MFA record, `null` if none. Owner token or the user's own token. `page` and
    /// `count` (2019 documents) are accepted and ignored.
    #[graphql(name = "queryMFA")]
    async fn query_mfa(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "_id")] mfa_id: Option<String>,
        user_id: Option<String>,
        user_pool_id: Option<String>,
        page: Option<i64>,
        count: Option<i64>,
    ) -> ApiResult<Option<Mfa>> {
        let (shared, caller) = env(ctx)?;
        let _ = (page, count);
        let target = MfaTarget {
            mfa_id,
            user_id,
            user_pool_id,
        };
        mfa::query(shared, caller, &target)
    }
}
