//! v3 authentication, both schemes live at Authing:
//!
//! - **Management token** (`POST /api/v3/get-management-token` with the pool id and secret as
//!   `accessKeyId`/`accessKeySecret`; the Python, Go and Java SDKs): `authorization: Bearer
//!   <jwt>` or the bare JWT. An `x-authing-userpool-id` header, when present, must name the pool
//!   the token is scoped to.
//! - **AK/SK signature** (authing-node-sdk 4.x): `authorization: authing <AK>:<base64
//!   HMAC-SHA1(SK, stringToSign)>`, where stringToSign is the method, the `x-authing-*` and
//!   `date` headers sorted (`key:value\n`), and the path with the sorted top-level parameters
//!   (GET: the query; POST: the JSON body, objects as compact JSON). Refusals carry Authing's
//!   apiCodes 1300–1306; a `date` (RFC 1123 or epoch milliseconds) more than
//!   [`MAX_CLOCK_SKEW`] away is 1305, and a signature seen before within [`REPLAY_MEMORY`] is
//!   1306.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::super::context::Shared;
use super::super::tokens::TokenError;
use super::envelope::{Failure, V3Result};
use super::params::{Body, Query};

/// How far a signed request's `date` may be from the emulator's clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);
/// How long a signature is remembered against replay: a `date` may be up to the skew ahead, so
/// twice the skew covers every signature that could still be accepted.
pub const REPLAY_MEMORY: Duration = Duration::from_secs(30 * 60);

/// The signatures accepted recently, and when, oldest first.
#[derive(Debug, Default)]
struct Seen {
    signatures: HashSet<String>,
    order: VecDeque<(Instant, String)>,
}

/// The signatures accepted recently.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    seen: Mutex<Seen>,
}

impl ReplayGuard {
    /// Records `signature`; false if it was already used within [`REPLAY_MEMORY`].
    fn first_use(&self, signature: &str, now: Instant) -> bool {
        let mut guard = self
            .seen
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let Seen {
            signatures: seen,
            order,
        } = &mut *guard;
        while let Some((at, _)) = order.front() {
            if now.saturating_duration_since(*at) < REPLAY_MEMORY {
                break;
            }
            if let Some((_, old)) = order.pop_front() {
                seen.remove(&old);
            }
        }
        if !seen.insert(signature.to_string()) {
            return false;
        }
        order.push_back((now, signature.to_string()));
        true
    }
}

/// What a request offers to authenticate with.
pub struct Credentials<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    pub query: &'a Query,
    pub body: Option<&'a Body>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

fn unauthorized(api_code: u32, message: &str) -> Failure {
    Failure::new(401, message).with_api_code(api_code)
}

/// Checks either scheme; `Ok` means the caller is the pool's administrator.
pub fn authenticate(
    shared: &Shared,
    replay: &ReplayGuard,
    credentials: &Credentials<'_>,
) -> V3Result<()> {
    let Some(authorization) = header(credentials.headers, "authorization") else {
        return Err(unauthorized(2020, "尚未登录，无权限访问此请求"));
    };
    match authorization.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("authing") => {
            verify_signature(shared, replay, credentials, rest.trim())
        }
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
            verify_token(shared, credentials.headers, rest.trim())
        }
        _ => verify_token(shared, credentials.headers, authorization),
    }
}

fn verify_token(shared: &Shared, headers: &HeaderMap, token: &str) -> V3Result<()> {
    let claims = shared
        .tokens
        .verify_management(token)
        .map_err(|error| match error {
            TokenError::Expired => unauthorized(2206, "token 已过期"),
            TokenError::Invalid => unauthorized(2207, "token 不合法"),
        })?;
    if claims.scoped_userpool_id != shared.client_id {
        return Err(unauthorized(2207, "token 不合法"));
    }
    if let Some(pool) = header(headers, "x-authing-userpool-id")
        && pool != claims.scoped_userpool_id
    {
        return Err(Failure::new(
            403,
            "x-authing-userpool-id 与 token 所属的用户池不一致",
        ));
    }
    Ok(())
}

/// 1303: `date` is neither RFC 1123 nor epoch milliseconds.
fn parse_date(text: &str) -> V3Result<SystemTime> {
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
        let millis: u64 = text
            .parse()
            .map_err(|_| Failure::new(401, BAD_DATE).with_api_code(1303))?;
        return Ok(UNIX_EPOCH + Duration::from_millis(millis));
    }
    httpdate::parse_http_date(text).map_err(|_| Failure::new(401, BAD_DATE).with_api_code(1303))
}

const BAD_DATE: &str = "时间戳格式不正确，应该是单位为毫秒的 Unix 时间戳";

fn verify_signature(
    shared: &Shared,
    replay: &ReplayGuard,
    credentials: &Credentials<'_>,
    value: &str,
) -> V3Result<()> {
    let Some((access_key_id, signature)) = value.split_once(':') else {
        return Err(unauthorized(1300, "签名不正确"));
    };
    if access_key_id.trim() != shared.client_id {
        return Err(Failure::new(404, "用户池不存在").with_api_code(2224));
    }
    let headers = credentials.headers;
    if header(headers, "x-authing-signature-method") != Some("HMAC-SHA1") {
        return Err(unauthorized(1301, "签名方法不匹配，应为 HMAC-SHA1"));
    }
    if header(headers, "x-authing-signature-version") != Some("1.0") {
        return Err(unauthorized(1302, "签名版本不匹配，应为 1.0"));
    }
    let Some(date) = header(headers, "date") else {
        return Err(unauthorized(1304, "缺少 date 请求头"));
    };
    let date = parse_date(date)?;
    let now = SystemTime::now();
    let skew = now
        .duration_since(date)
        .or_else(|_| date.duration_since(now))
        .unwrap_or(Duration::MAX);
    if skew > MAX_CLOCK_SKEW {
        return Err(unauthorized(1305, "请求时间与服务器时间相差超过 15 分钟"));
    }
    let Ok(given) = STANDARD.decode(signature.trim()) else {
        return Err(unauthorized(1300, "签名不正确"));
    };
    let key = hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        shared.secret.expose().as_bytes(),
    );
    let verified = strings_to_sign(credentials)
        .iter()
        .any(|text| hmac::verify(&key, text.as_bytes(), &given).is_ok());
    if !verified {
        return Err(unauthorized(1300, "签名不正确"));
    }
    if !replay.first_use(signature.trim(), Instant::now()) {
        return Err(unauthorized(1306, "签名已被使用"));
    }
    Ok(())
}

/// The canonical headers: `x-authing-*` and `date`, sorted, `key:value\n`, the value with
/// `\t\n\r\f` as spaces and trimmed.
fn canonical_headers(headers: &HeaderMap) -> String {
    let mut names: Vec<&str> = headers
        .keys()
        .map(|name| name.as_str())
        .filter(|name| name.starts_with("x-authing-") || *name == "date")
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .iter()
        .map(|name| {
            let value = headers
                .get(*name)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .unwrap_or_default()
                .replace(['\t', '\n', '\r', '\u{c}'], " ");
            format!("{name}:{}\n", value.trim())
        })
        .collect()
}

/// Every string the request may have been signed as (lists in a GET are rebuilt leniently).
fn strings_to_sign(credentials: &Credentials<'_>) -> Vec<String> {
    let prefix = format!(
        "{}\n{}",
        credentials.method,
        canonical_headers(credentials.headers)
    );
    let forms = match credentials.body {
        Some(body) => vec![body.signed_form()],
        None => credentials.query.signed_forms(),
    };
    let mut strings = Vec::with_capacity(forms.len() + 1);
    for form in forms {
        if form.is_empty() {
            strings.push(format!("{prefix}{}", credentials.path));
            // The SDK writes `path?` when every parameter it had was `undefined`.
            strings.push(format!("{prefix}{}?", credentials.path));
        } else {
            strings.push(format!("{prefix}{}?{form}", credentials.path));
        }
    }
    strings
}

#[cfg(test)]
mod tests {
    //! The worked examples of `authing-v3-facts.md` §2b: stringToSign and signatures computed by
    //! authing-node-sdk 4.0.1 itself must verify here.

    use axum::http::HeaderValue;

    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("date", "Wed, 01 Jan 2025 00:00:00 GMT"),
            ("x-authing-lang", "zh-CN"),
            ("x-authing-sdk-version", "authing-node-sdk:4.0.1"),
            ("x-authing-signature-method", "HMAC-SHA1"),
            (
                "x-authing-signature-nonce",
                "8f14e45fceea167a5a36dedd4bea2543",
            ),
            ("x-authing-signature-version", "1.0"),
            ("content-type", "application/json"),
            ("user-agent", "AuthingIdentityCloud (linux; x64)"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        headers
    }

    fn verifies(credentials: &Credentials<'_>, signature: &str) -> bool {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, SECRET.as_bytes());
        let given = STANDARD.decode(signature).expect("base64");
        strings_to_sign(credentials)
            .iter()
            .any(|text| hmac::verify(&key, text.as_bytes(), &given).is_ok())
    }

    #[test]
    fn the_get_example_verifies() {
        let headers = headers();
        let query = Query::parse(Some(
            "userId=6229ffaxxxxxxxxcade3e3d9&userIdType=user_id&flatCustomData=false&withCustomData=false&withIdentities=false&withDepartmentIds=false&withPost=false",
        ));
        let credentials = Credentials {
            method: "GET",
            path: "/api/v3/get-user",
            headers: &headers,
            query: &query,
            body: None,
        };
        let expected = "GET\ndate:Wed, 01 Jan 2025 00:00:00 GMT\nx-authing-lang:zh-CN\nx-authing-sdk-version:authing-node-sdk:4.0.1\nx-authing-signature-method:HMAC-SHA1\nx-authing-signature-nonce:8f14e45fceea167a5a36dedd4bea2543\nx-authing-signature-version:1.0\n/api/v3/get-user?flatCustomData=false&userId=6229ffaxxxxxxxxcade3e3d9&userIdType=user_id&withCustomData=false&withDepartmentIds=false&withIdentities=false&withPost=false";
        assert_eq!(strings_to_sign(&credentials)[0], expected);
        assert!(verifies(&credentials, "B5ZHD3UChh4Iyo8hZiTPkPNx4DE="));
        assert!(!verifies(&credentials, "IBnB05KxdIvUYuIzRfhh+bTq+UI="));
    }

    #[test]
    fn the_post_example_verifies() {
        let headers = headers();
        let query = Query::default();
        let body = Body::parse(
            br#"{"phone":"13800000000","phoneCountryCode":"+86","email":"alice@example.com","password":"P@ssw0rd","options":{"passwordEncryptType":"none","resetPasswordOnFirstLogin":false}}"#,
        )
        .expect("body");
        let credentials = Credentials {
            method: "POST",
            path: "/api/v3/create-user",
            headers: &headers,
            query: &query,
            body: Some(&body),
        };
        assert!(strings_to_sign(&credentials)[0].ends_with(
            r#"/api/v3/create-user?email=alice@example.com&options={"passwordEncryptType":"none","resetPasswordOnFirstLogin":false}&password=P@ssw0rd&phone=13800000000&phoneCountryCode=+86"#
        ));
        assert!(verifies(&credentials, "IBnB05KxdIvUYuIzRfhh+bTq+UI="));
        // Nested order matters: the SDK signs the object as it sent it.
        let reordered = Body::parse(
            br#"{"phone":"13800000000","phoneCountryCode":"+86","email":"alice@example.com","password":"P@ssw0rd","options":{"resetPasswordOnFirstLogin":false,"passwordEncryptType":"none"}}"#,
        )
        .expect("body");
        let credentials = Credentials {
            body: Some(&reordered),
            ..credentials
        };
        assert!(!verifies(&credentials, "IBnB05KxdIvUYuIzRfhh+bTq+UI="));
    }

    #[test]
    fn dates_in_both_formats() {
        assert_eq!(
            parse_date("Wed, 01 Jan 2025 00:00:00 GMT"),
            Ok(UNIX_EPOCH + Duration::from_secs(1_735_689_600))
        );
        assert_eq!(
            parse_date("1735689600000"),
            Ok(UNIX_EPOCH + Duration::from_secs(1_735_689_600))
        );
        assert_eq!(
            parse_date("yesterday").map_err(|failure| failure.api_code),
            Err(Some(1303))
        );
    }

    #[test]
    fn a_signature_is_accepted_once() {
        let guard = ReplayGuard::default();
        let start = Instant::now();
        assert!(guard.first_use("sig", start));
        assert!(!guard.first_use("sig", start + Duration::from_secs(60)));
        assert!(guard.first_use("other", start + Duration::from_secs(60)));
        assert!(guard.first_use("sig", start + REPLAY_MEMORY + Duration::from_secs(1)));
    }
}
