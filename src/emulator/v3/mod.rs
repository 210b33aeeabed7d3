//! Authing's v3 management REST API (`/api/v3/...`), served on the same port and over the same
//! store as the v1 GraphQL API, so a user created through one API is read, changed and deleted
//! through the other. `authing-v3-facts.md` is the source; `docs/emulator.md` lists every
//! endpoint and every choice made where the facts are unconfirmed.
//!
//! | module | owns |
//! |---|---|
//! | `envelope` | the `{statusCode, message, apiCode, requestId, data}` reply |
//! | `params` | query strings and JSON bodies |
//! | `auth` | the management token and the AK/SK signature |
//! | `users` | `UserDto` and the user endpoints |
//! | `whitelist` | the registration whitelist endpoints |

mod auth;
mod envelope;
mod params;
mod users;
mod whitelist;

use axum::http::{HeaderMap, Method};
use serde_json::{Value, json};

use super::context::Shared;
use super::dates;
use auth::{Credentials, ReplayGuard};
pub use envelope::{Failure, V3Result};
use params::{Body, Fields, Query};

/// v3 management tokens live this long unless `--token-ttl` says otherwise (Authing's
/// documented `expires_in`).
pub const DEFAULT_MANAGEMENT_TOKEN_TTL_SECS: u64 = 7200;

/// The v3 state beside the shared pool.
#[derive(Debug)]
pub struct V3 {
    replay: ReplayGuard,
    token_ttl: i64,
}

impl V3 {
    pub fn new(token_ttl_secs: u64) -> V3 {
        V3 {
            replay: ReplayGuard::default(),
            token_ttl: i64::try_from(token_ttl_secs).unwrap_or(i64::MAX),
        }
    }
}

/// One v3 endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The path's last segment, e.g. `list-users` (also the name in the stats).
    pub name: &'static str,
    get: bool,
    /// Changes the pool (counted in the stats' `writes`).
    pub write: bool,
    /// Needs the management token or a signature.
    auth: bool,
}

const fn route(name: &'static str, get: bool, write: bool, auth: bool) -> Route {
    Route {
        name,
        get,
        write,
        auth,
    }
}

const ROUTES: [Route; 18] = [
    route("get-management-token", false, false, false),
    route("system", true, false, false),
    route("list-users", false, false, true),
    route("list-users", true, false, true),
    route("get-user", true, false, true),
    route("get-user-batch", true, false, true),
    route("is-user-exists", false, false, true),
    route("get-user-mfa-info", true, false, true),
    route("get-otp-secret-by-user", true, false, true),
    route("import-otp", false, true, true),
    route("create-user", false, true, true),
    route("create-users-batch", false, true, true),
    route("update-user", false, true, true),
    route("update-user-batch", false, true, true),
    route("delete-users-batch", false, true, true),
    route("list-whitelist", true, false, true),
    route("add-whitelist", false, true, true),
    route("delete-whitelist", false, true, true),
];

/// The endpoint for `method` and `/api/v3/<name>`, if the emulator has it.
pub fn find_route(method: &Method, name: &str) -> Option<Route> {
    let get = if method == Method::GET {
        true
    } else if method == Method::POST {
        false
    } else {
        return None;
    };
    ROUTES
        .iter()
        .find(|route| route.name == name && route.get == get)
        .copied()
}

/// A request to one endpoint.
pub struct Call<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub raw_query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Runs `route` and returns the JSON body to answer with (HTTP 200 in every case: the outcome
/// is in `statusCode`), and that `statusCode`.
pub fn execute(shared: &Shared, v3: &V3, route: Route, call: &Call<'_>) -> (Value, u16) {
    let query = Query::parse(call.raw_query);
    if route.name == "system" {
        // Unenveloped, as the SDKs type it (`SystemInfoResp`).
        return (system(shared), 200);
    }
    let body = if route.get {
        None
    } else {
        match Body::parse(call.body) {
            Ok(body) => Some(body),
            Err(failure) => return (envelope::failure(&failure), failure.status_code),
        }
    };
    let result = run(shared, v3, route, call, &query, body.as_ref());
    match result {
        Ok(data) => (envelope::success(data), 200),
        Err(failure) => (envelope::failure(&failure), failure.status_code),
    }
}

fn run(
    shared: &Shared,
    v3: &V3,
    route: Route,
    call: &Call<'_>,
    query: &Query,
    body: Option<&Body>,
) -> V3Result<Value> {
    if route.auth {
        auth::authenticate(
            shared,
            &v3.replay,
            &Credentials {
                method: call.method.as_str(),
                path: call.path,
                headers: call.headers,
                query,
                body,
            },
        )?;
    }
    let empty = Body::default();
    let body = body.unwrap_or(&empty);
    let now = dates::now();
    match (route.name, route.get) {
        ("get-management-token", _) => management_token(shared, v3, body, now),
        ("list-users", false) => users::list_users(shared, body),
        ("list-users", true) => users::list_users_legacy(shared, query),
        ("get-user", _) => users::get_user(shared, query),
        ("get-user-batch", _) => users::get_user_batch(shared, query),
        ("is-user-exists", _) => users::is_user_exists(shared, body),
        ("get-user-mfa-info", _) => users::get_user_mfa_info(shared, query),
        ("get-otp-secret-by-user", _) => users::get_otp_secret_by_user(shared, query),
        ("import-otp", _) => users::import_otp(shared, body, now),
        ("create-user", _) => users::create_user(shared, body, now),
        ("create-users-batch", _) => users::create_users_batch(shared, body, now),
        ("update-user", _) => users::update_user(shared, body, now),
        ("update-user-batch", _) => users::update_user_batch(shared, body, now),
        ("delete-users-batch", _) => users::delete_users_batch(shared, body),
        ("list-whitelist", _) => whitelist::list(shared, query),
        ("add-whitelist", _) => whitelist::add(shared, body, now),
        ("delete-whitelist", _) => whitelist::delete(shared, body),
        _ => Err(Failure::new(
            404,
            format!("Cannot {} {}", call.method, call.path),
        )),
    }
}

/// `POST /api/v3/get-management-token {accessKeyId, accessKeySecret}`: the pool id and secret.
fn management_token(shared: &Shared, v3: &V3, body: &Body, now: i64) -> V3Result<Value> {
    let access_key_id = body
        .string("accessKeyId")?
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| Failure::bad_param("accessKeyId"))?;
    let secret = body
        .string("accessKeySecret")?
        .filter(|secret| !secret.is_empty())
        .ok_or_else(|| Failure::bad_param("accessKeySecret"))?;
    if access_key_id != shared.client_id {
        return Err(Failure::new(404, "用户池不存在").with_api_code(2224));
    }
    if secret != shared.secret.expose() {
        return Err(Failure::new(401, "accessKeyId 或 accessKeySecret 错误"));
    }
    let token = shared
        .tokens
        .management_token(&shared.client_id, now, v3.token_ttl);
    Ok(json!({"access_token": token.expose(), "expires_in": v3.token_ttl}))
}

/// `GET /api/v3/system`: the public keys passwords are encrypted with (`passwordEncryptType:
/// rsa` uses the emulator's own key; SM2 is not offered).
fn system(shared: &Shared) -> Value {
    json!({
        "rsa": {"publicKey": shared.keys.public_pem()},
        "sm2": {"publicKey": null},
        "version": {"server": "authing-sync emulator", "console": null, "login": null},
        "publicIps": [],
    })
}

/// The 404 answer for an unknown path or method.
pub fn not_found(method: &Method, path: &str) -> Value {
    envelope::failure(&Failure::new(404, format!("Cannot {method} {path}")))
}

/// The body of a throttled request (`--rate-limit`, injected 429).
pub fn throttled() -> Value {
    envelope::failure(&Failure::new(429, "您的请求已超过最大数量限制，请稍后重试"))
}

/// The body of an injected server error.
pub fn injected(status: u16) -> Value {
    envelope::failure(&Failure::new(status, format!("injected fault: {status}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_method_and_name() {
        assert!(find_route(&Method::POST, "list-users").is_some_and(|route| !route.get));
        assert!(find_route(&Method::GET, "list-users").is_some_and(|route| route.get));
        assert!(find_route(&Method::GET, "create-user").is_none());
        assert!(find_route(&Method::DELETE, "create-user").is_none());
        assert!(find_route(&Method::POST, "create-user").is_some_and(|route| route.write));
        assert!(find_route(&Method::POST, "nope").is_none());
    }
}
