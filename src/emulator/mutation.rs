//! `type Mutation`: the write operations. Each resolver checks the token rules and hands over to
//! `accounts`, `whitelist` or `mfa`, which change the store through events.

use async_graphql::{Context, Object};

use super::accounts::{self, Channel, LoginArgs};
use super::context::{client_ip, env, owner_env};
use super::dates;
use super::errors::{ApiError, ApiResult};
use super::event::Event;
use super::mfa::{self, MfaTarget};
use super::schema::{
    CommonMessage, ExtendUser, Mfa, RefreshToken, User, UserRegisterInput, UserUpdateInput,
};
use super::store::MailRecord;

#[derive(Default)]
pub struct MutationRoot;

#[Object(name = "MutationCore")]
impl MutationRoot {
    /// A new user. No token needed.
    async fn register(
        &self,
        ctx: &Context<'_>,
        user_info: UserRegisterInput,
        invitation_code: Option<String>,
        keep_password: Option<bool>,
    ) -> ApiResult<Option<ExtendUser>> {
        let (shared, _) = env(ctx)?;
        let _ = invitation_code;
        accounts::register(
            shared,
            user_info,
            keep_password.unwrap_or(false),
            Channel::Register(client_ip(ctx)),
            dates::now(),
        )
        .map(Some)
    }

    /// A login: the user with a logged-in `token`. No token needed.
    #[allow(clippy::too_many_arguments)]
    async fn login(
        &self,
        ctx: &Context<'_>,
        register_in_client: String,
        phone: Option<String>,
        phone_code: Option<i64>,
        unionid: Option<String>,
        openid: Option<String>,
        username: Option<String>,
        email: Option<String>,
        password: Option<String>,
        #[graphql(name = "lastIP")] last_ip: Option<String>,
        verify_code: Option<String>,
        #[graphql(name = "MFACode")] mfa_code: Option<String>,
        from_register: Option<bool>,
        device: Option<String>,
        browser: Option<String>,
    ) -> ApiResult<Option<ExtendUser>> {
        let (shared, _) = env(ctx)?;
        let _ = (
            phone_code,
            unionid,
            openid,
            verify_code,
            mfa_code,
            from_register,
        );
        let args = LoginArgs {
            register_in_client,
            email,
            username,
            phone,
            password,
            last_ip,
            browser,
            device,
        };
        accounts::login(shared, args, dates::now()).map(Some)
    }

    /// Changes only the fields given. Owner token, or the user's own token.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        options: UserUpdateInput,
    ) -> ApiResult<Option<User>> {
        let (shared, caller) = env(ctx)?;
        accounts::update_user(shared, caller, options, dates::now()).map(Some)
    }

    /// Removes the users that exist among `ids` and returns them; unknown ids are skipped.
    /// Owner token.
    async fn remove_users(
        &self,
        ctx: &Context<'_>,
        ids: Option<Vec<Option<String>>>,
        register_in_client: Option<String>,
        operator: Option<String>,
    ) -> ApiResult<Option<Vec<Option<User>>>> {
        let shared = owner_env(ctx, register_in_client.as_deref())?;
        let _ = operator;
        let ids: Vec<String> = ids.unwrap_or_default().into_iter().flatten().collect();
        let removed = shared.mutate(|store| {
            let mut seen = std::collections::HashSet::new();
            let mut removed = Vec::new();
            let mut gone = Vec::new();
            for id in &ids {
                if !seen.insert(id.as_str()) {
                    continue;
                }
                if let Some(user) = store.user(id) {
                    removed.push(Some(User::from_record(id, user, &shared.client_id)));
                    gone.push(id.clone());
                }
            }
            let events = if gone.is_empty() {
                Vec::new()
            } else {
                vec![Event::RemoveUsers { ids: gone }]
            };
            Ok((removed, events))
        })?;
        Ok(Some(removed))
    }

    /// Records a reset-password email in the mailbox (nothing is sent). No token needed; an
    /// unknown email is reported in-band with code 2004.
    async fn send_reset_password_email(
        &self,
        ctx: &Context<'_>,
        client: String,
        email: String,
    ) -> ApiResult<Option<CommonMessage>> {
        let (shared, _) = env(ctx)?;
        shared.check_pool(Some(&client))?;
        let now = dates::now();
        let message = shared.mutate(|store| {
            if store.id_by_email(&email).is_none() {
                let missing = ApiError::UserNotFound;
                return Ok((
                    CommonMessage {
                        message: Some(missing.message().to_string()),
                        code: Some(missing.code().into()),
                        status: Some(false),
                    },
                    Vec::new(),
                ));
            }
            let mail = MailRecord {
                kind: "resetPassword".to_string(),
                email: email.trim().to_string(),
                at: now,
            };
            Ok((
                CommonMessage {
                    message: Some("发送重置密码邮件成功".to_string()),
                    code: Some(200),
                    status: Some(true),
                },
                vec![Event::Mail { mail }],
            ))
        })?;
        Ok(Some(message))
    }

    /// A fresh logged-in token for a user (15 days). Owner token.
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        client: String,
        user: String,
    ) -> ApiResult<Option<RefreshToken>> {
        let shared = owner_env(ctx, Some(&client))?;
        let (token, iat, exp) = accounts::refresh_token(shared, &user, dates::now())?;
        Ok(Some(RefreshToken {
            token: Some(token.expose().to_string()),
            iat: Some(iat),
            exp: Some(exp),
        }))
    }

    /// Turns a user's MFA on or off. The user's own login token only.
    #[graphql(name = "changeMFA")]
    async fn change_mfa(
        &self,
        ctx: &Context<'_>,
        enable: bool,
        user_id: Option<String>,
        user_pool_id: Option<String>,
        #[graphql(name = "_id")] mfa_id: Option<String>,
        refresh_key: Option<bool>,
    ) -> ApiResult<Option<Mfa>> {
        let (shared, caller) = env(ctx)?;
        let target = MfaTarget {
            mfa_id,
            user_id,
            user_pool_id,
        };
        mfa::change(
            shared,
            caller,
            &target,
            enable,
            refresh_key.unwrap_or(false),
            dates::now(),
        )
        .map(Some)
    }
}

/// `createUser`, which only a server of the 2020 schema has (not with `--without-create-user`).
#[derive(Default)]
pub struct CreateUserMutation;

#[Object]
impl CreateUserMutation {
    /// The management copy of `register`: the same input and rules, with the owner token, and
    /// not subject to the per-IP register limit. The result carries no token.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        user_info: UserRegisterInput,
        invitation_code: Option<String>,
        keep_password: Option<bool>,
    ) -> ApiResult<Option<ExtendUser>> {
        let (shared, caller) = env(ctx)?;
        caller.require_owner()?;
        let _ = invitation_code;
        accounts::register(
            shared,
            user_info,
            keep_password.unwrap_or(false),
            Channel::CreateUser,
            dates::now(),
        )
        .map(Some)
    }
}
