//! Tokens as operations: the owner token (`getClientWhenSdkInit`, `getAccessTokenByAppSecret`)
//! and the in-band token checks `checkLoginStatus` and `decodeJwtToken`, which report problems
//! in their result instead of in `errors`.

use super::context::{Caller, Shared};
use super::errors::ApiError;
use super::schema::{
    CommonMessage, JwtDecodedData, JwtDecodedDataCheckLogin, JwtPayloadData, TokenMoreInfo,
    TokenWholeInfo,
};
use super::tokens::{Claims, TokenError, TokenKind};
use crate::secret::Secret;

/// The arguments both owner-token queries take.
#[derive(Debug, Default)]
pub struct InitArgs {
    pub secret: Option<Secret>,
    pub client_id: Option<String>,
}

/// Checks the client id and secret and issues an owner token. No client id 2101, another pool
/// 2011, browser mode (timestamp/nonce/signature, no secret) or a wrong secret 1001.
pub fn owner_token(shared: &Shared, args: &InitArgs, now: i64) -> Result<Secret, ApiError> {
    let client_id = args
        .client_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or(ApiError::ClientIdRequired)?;
    if client_id != shared.client_id {
        return Err(ApiError::ClientNotFound);
    }
    match &args.secret {
        Some(secret) if secret.expose() == shared.secret.expose() => {
            Ok(shared.tokens.owner_token(&shared.client_id, now))
        }
        _ => Err(ApiError::NoPermission),
    }
}

fn message(text: &str, code: i64, status: Option<bool>) -> CommonMessage {
    CommonMessage {
        message: Some(text.to_string()),
        code: Some(code),
        status,
    }
}

/// `decodeJwtToken`: 200 with the payload, or 2207 "token 错误" (2206 when only expired).
pub fn decode(shared: &Shared, token: Option<&str>) -> JwtDecodedData {
    let verified = match token {
        Some(token) => shared.tokens.verify(token),
        None => Err(TokenError::Invalid),
    };
    match verified {
        Ok(claims) => JwtDecodedData {
            data: Some(JwtPayloadData {
                email: claims.data.email,
                id: Some(claims.data.id),
                client_id: Some(claims.data.client_id),
                unionid: claims.data.unionid,
            }),
            status: Some(message("token 解析正常", 200, Some(true))),
            iat: Some(claims.iat.to_string()),
            exp: Some(claims.exp),
        },
        Err(TokenError::Expired) => JwtDecodedData {
            status: Some(message("token 已过期", 2206, None)),
            ..JwtDecodedData::default()
        },
        Err(TokenError::Invalid) => JwtDecodedData {
            status: Some(message("token 错误", 2207, None)),
            ..JwtDecodedData::default()
        },
    }
}

/// `checkLoginStatus`: the `token` argument, else the caller's own token. Only a logged-in
/// user's token of an existing user counts as logged in.
pub fn check_login(
    shared: &Shared,
    caller: &Caller,
    token: Option<&str>,
) -> JwtDecodedDataCheckLogin {
    let subject = match token {
        Some(token) => Caller::from_token(token, shared),
        None => caller.clone(),
    };
    let not_logged_in = JwtDecodedDataCheckLogin {
        message: Some("未登录".to_string()),
        code: Some(2020),
        status: Some(false),
        token: None,
    };
    match subject {
        Caller::User(claims) if shared.read(|store| store.user(&claims.data.id).is_some()) => {
            logged_in(claims)
        }
        Caller::Rejected(TokenError::Expired) => JwtDecodedDataCheckLogin {
            message: Some(ApiError::TokenExpired.message().to_string()),
            code: Some(ApiError::TokenExpired.code().into()),
            status: Some(false),
            token: None,
        },
        Caller::Rejected(TokenError::Invalid) => JwtDecodedDataCheckLogin {
            message: Some(ApiError::TokenInvalid.message().to_string()),
            code: Some(ApiError::TokenInvalid.code().into()),
            status: Some(false),
            token: None,
        },
        _ => not_logged_in,
    }
}

fn logged_in(claims: Claims) -> JwtDecodedDataCheckLogin {
    debug_assert_eq!(claims.kind, TokenKind::User);
    JwtDecodedDataCheckLogin {
        message: Some("已登录".to_string()),
        code: Some(200),
        status: Some(true),
        token: Some(TokenWholeInfo {
            data: Some(TokenMoreInfo {
                email: claims.data.email,
                id: Some(claims.data.id),
                client_id: Some(claims.data.client_id),
                unionid: claims.data.unionid,
            }),
            iat: Some(claims.iat),
            exp: Some(claims.exp),
        }),
    }
}
