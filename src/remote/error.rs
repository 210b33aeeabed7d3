//! Errors from talking to Authing, classed before any retry: transient (retried with backoff),
//! permanent (reported with their Authing code), fatal (the run stops at once).

use std::fmt;
use std::time::Duration;

use miette::Diagnostic;

use super::operation::Operation;

/// How an error is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Timeouts, connection errors, 429, 5xx, Authing 1000 "busy": retried.
    Transient,
    /// Validation and business errors (2004, 2026, ...): reported for the operation, others go on.
    Permanent,
    /// A bad secret, an owner token the server refuses, a hostile response: stop the run.
    Fatal,
}

/// Authing codes that mean the caller is not (or no longer) authenticated.
pub const AUTH_CODES: [i64; 4] = [1001, 2020, 2206, 2207];
/// Authing's "system busy, try again later".
pub const BUSY: i64 = 1000;
/// "User already exists, do not register again".
pub const USER_EXISTS: i64 = 2026;
/// "User does not exist".
pub const USER_NOT_FOUND: i64 = 2004;
/// "Registering too often, try again later": the pool's per-IP registration limit (频繁注册限制).
pub const REGISTER_TOO_FREQUENT: i64 = 2100;
/// The window of Authing's registration limit unless the pool or the answer says otherwise
/// ("同一 IP 在 300 秒内，只能发起 3 次注册请求").
pub const REGISTER_WINDOW: Duration = Duration::from_secs(300);
/// The `code` of an in-band answer (`CommonMessage`) that reports success.
pub const IN_BAND_OK: i64 = 200;
/// v3 `statusCode` classes retried as transient: throttling and server trouble.
pub const V3_TRANSIENT: [i64; 5] = [429, 500, 502, 503, 504];
/// v3 `statusCode` 401: the caller is not (or no longer) authenticated.
pub const V3_UNAUTHORIZED: i64 = 401;
/// v3 `statusCode` 409: "要创建的资源和已有资源存在字段冲突", the v3 twin of 2026 on a creation.
pub const V3_CONFLICT: i64 = 409;

/// What went wrong, without the context of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// An Authing error object `{code, message}` (from `errors[]`, or reported in-band).
    Authing { code: i64, message: String },
    /// The server did not accept the document (a GraphQL validation refusal, whether it came as
    /// a plain string message or wrapped in an Authing error object), or answered with plain
    /// string messages.
    GraphQl { messages: Vec<String> },
    /// The answer itself reports a failure (`{code, message, status}` with a code other than
    /// 200, or `status: false`), as `sendResetPasswordEmail` does.
    InBand { code: Option<i64>, message: String },
    /// An HTTP status that carried no GraphQL answer.
    Http {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer within the timeout.
    Timeout,
    /// The connection failed, was refused or dropped.
    Connection(String),
    /// The answer could not be read as the expected JSON.
    Decode(String),
    /// The answer was larger than the client accepts.
    TooLarge { limit: usize },
    /// Authentication failed at the start of the run.
    AuthFailed(String),
    /// The answer was not a GraphQL answer at all (a web page, a redirect): the endpoint is not
    /// Authing's API. Boxed: it is rare, and keeps every `Result` small.
    NotApi(Box<NotApi>),
    /// The owner token came due for renewal while the request waited for its turn: it was not
    /// sent (the client renews the token and sends it again).
    TokenDue,
    /// A v3 envelope whose `statusCode` is not 200 (whatever the HTTP status was), with its
    /// `apiCode` when it has one.
    V3 {
        status: i64,
        api_code: Option<i64>,
        message: String,
    },
    /// What the manifests ask for, the API behind `--api` cannot do (refused before sending).
    Unsupported(String),
}

impl ErrorKind {
    /// The same error with every text the server (or a decoder quoting the server) wrote passed
    /// through `redact`: how known secrets are kept out of messages, logs and reports.
    pub fn redacted(self, redact: impl Fn(&str) -> String) -> Self {
        match self {
            ErrorKind::Authing { code, message } => ErrorKind::Authing {
                code,
                message: redact(&message),
            },
            ErrorKind::GraphQl { messages } => ErrorKind::GraphQl {
                messages: messages.iter().map(|message| redact(message)).collect(),
            },
            ErrorKind::InBand { code, message } => ErrorKind::InBand {
                code,
                message: redact(&message),
            },
            ErrorKind::Connection(why) => ErrorKind::Connection(redact(&why)),
            ErrorKind::Decode(why) => ErrorKind::Decode(redact(&why)),
            ErrorKind::AuthFailed(why) => ErrorKind::AuthFailed(redact(&why)),
            ErrorKind::NotApi(not_api) => ErrorKind::NotApi(Box::new(NotApi {
                content_type: not_api.content_type.as_deref().map(&redact),
                location: not_api.location.as_deref().map(&redact),
                ..*not_api
            })),
            ErrorKind::V3 {
                status,
                api_code,
                message,
            } => ErrorKind::V3 {
                status,
                api_code,
                message: redact(&message),
            },
            kind @ (ErrorKind::Http { .. }
            | ErrorKind::Timeout
            | ErrorKind::TooLarge { .. }
            | ErrorKind::TokenDue
            | ErrorKind::Unsupported(_)) => kind,
        }
    }
}

/// What answered where Authing's API was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotApi {
    /// The endpoint, shown without credentials.
    pub url: String,
    pub status: u16,
    pub content_type: Option<String>,
    /// Where a redirect pointed, without credentials.
    pub location: Option<String>,
}

/// What the server said, as it may be shown: its unprintable characters escaped.
fn said(text: &str) -> std::borrow::Cow<'_, str> {
    crate::render::escape::visible(text)
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Authing { code, message } => {
                write!(f, "authing error {code}: {}", said(message))
            }
            ErrorKind::GraphQl { messages } => write!(
                f,
                "the server rejected the request: {}",
                said(&messages.join("; "))
            ),
            ErrorKind::InBand { code, message } => {
                f.write_str("the answer reports a failure")?;
                if let Some(code) = code {
                    write!(f, " (code {code})")?;
                }
                if !message.is_empty() {
                    write!(f, ": {}", said(message))?;
                }
                Ok(())
            }
            ErrorKind::Http { status, .. } => write!(f, "HTTP status {status}"),
            ErrorKind::Timeout => f.write_str("timed out"),
            ErrorKind::Connection(why) => write!(f, "connection failed: {}", said(why)),
            ErrorKind::Decode(why) => write!(f, "unreadable response: {}", said(why)),
            ErrorKind::TooLarge { limit } => {
                write!(f, "response larger than {limit} bytes, refused")
            }
            ErrorKind::AuthFailed(why) => write!(f, "authentication failed: {}", said(why)),
            ErrorKind::NotApi(answer) => {
                let NotApi {
                    url,
                    status,
                    content_type,
                    location,
                } = &**answer;
                write!(
                    f,
                    "{} does not look like Authing's GraphQL API: it answered HTTP {status}",
                    said(url)
                )?;
                if let Some(content_type) = content_type {
                    write!(f, " with {}", said(content_type))?;
                }
                if let Some(location) = location {
                    write!(f, ", redirecting to {}", said(location))?;
                }
                Ok(())
            }
            ErrorKind::TokenDue => {
                f.write_str("the owner token came due before the request was sent")
            }
            ErrorKind::V3 {
                status,
                api_code,
                message,
            } => {
                write!(f, "statusCode {status}")?;
                if let Some(code) = api_code {
                    write!(f, ", apiCode {code}")?;
                }
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                Ok(())
            }
            ErrorKind::Unsupported(why) => write!(f, "not supported: {why}"),
        }
    }
}

/// A failed call: what, about whom, why, and after how many retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    pub operation: Operation,
    /// The user or phone the call concerned, when there was one.
    pub subject: Option<String>,
    pub kind: ErrorKind,
    pub retries: u32,
    /// How long the server asked to wait (`Retry-After`), whatever the error.
    pub retry_after: Option<Duration>,
}

impl RemoteError {
    pub fn new(operation: Operation, kind: ErrorKind) -> Self {
        Self {
            operation,
            subject: None,
            kind,
            retries: 0,
            retry_after: None,
        }
    }

    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// The Authing error code, if the server sent one (in `errors`, or in band; on v3 the
    /// `apiCode`, else the envelope's `statusCode`).
    pub fn authing_code(&self) -> Option<i64> {
        match &self.kind {
            ErrorKind::Authing { code, .. } => Some(*code),
            ErrorKind::InBand { code, .. } => *code,
            ErrorKind::V3 {
                status, api_code, ..
            } => Some(api_code.unwrap_or(*status)),
            _ => None,
        }
    }

    /// Whether a creation was refused because a user with one of its unique keys exists: v1's
    /// 2026, or v3's statusCode 409 on a creation.
    pub fn is_user_exists(&self) -> bool {
        match &self.kind {
            ErrorKind::V3 { status, .. } => {
                *status == V3_CONFLICT && self.operation.creates_users()
            }
            _ => self.authing_code() == Some(USER_EXISTS),
        }
    }

    /// How long the server asked to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.kind {
            ErrorKind::Http {
                retry_after: Some(asked),
                ..
            } => Some(*asked),
            _ => self.retry_after,
        }
    }

    /// Whether the server refused the document as invalid (an unknown field or argument, ...),
    /// in either error shape.
    pub fn is_validation(&self) -> bool {
        matches!(self.kind, ErrorKind::GraphQl { .. })
    }

    /// Whether the server refused a registration as too frequent (2100).
    pub fn is_register_limited(&self) -> bool {
        self.authing_code() == Some(REGISTER_TOO_FREQUENT)
    }

    /// How long to wait before registering again, as far as the answer says: `Retry-After`, or
    /// a time in the message ("300 秒", "5 分钟", "300s", "5 minutes").
    pub fn wait_hint(&self) -> Option<Duration> {
        if let Some(asked) = self.retry_after() {
            return Some(asked);
        }
        match &self.kind {
            ErrorKind::Authing { message, .. } | ErrorKind::InBand { message, .. } => {
                duration_in(message)
            }
            _ => None,
        }
    }

    pub fn class(&self) -> ErrorClass {
        match &self.kind {
            ErrorKind::Timeout | ErrorKind::Connection(_) => ErrorClass::Transient,
            ErrorKind::Http { status, .. } => match status {
                429 | 500 | 502 | 503 | 504 => ErrorClass::Transient,
                _ => ErrorClass::Permanent,
            },
            ErrorKind::Authing { code, .. } if *code == BUSY => ErrorClass::Transient,
            ErrorKind::Authing { code, .. }
                if AUTH_CODES.contains(code) && self.operation.uses_owner_token() =>
            {
                ErrorClass::Fatal
            }
            ErrorKind::V3 {
                status, api_code, ..
            } if V3_TRANSIENT.contains(status) || *api_code == Some(BUSY) => ErrorClass::Transient,
            ErrorKind::V3 { .. } if self.is_stale_owner_token() => ErrorClass::Fatal,
            ErrorKind::Authing { .. }
            | ErrorKind::InBand { .. }
            | ErrorKind::GraphQl { .. }
            | ErrorKind::Decode(_)
            | ErrorKind::V3 { .. }
            | ErrorKind::Unsupported(_)
            | ErrorKind::TokenDue => ErrorClass::Permanent,
            ErrorKind::TooLarge { .. } | ErrorKind::AuthFailed(_) | ErrorKind::NotApi(_) => {
                ErrorClass::Fatal
            }
        }
    }

    /// Whether the error says the owner token is not (or no longer) accepted, so a fresh one
    /// may help: any of [`AUTH_CODES`] on an operation that carries it. Which code Authing gives
    /// for an expired owner token is not documented.
    pub fn is_stale_owner_token(&self) -> bool {
        self.operation.uses_owner_token()
            && match &self.kind {
                ErrorKind::Authing { code, .. } => AUTH_CODES.contains(code),
                // v3: statusCode 401 (apiCode 2020, 2206, 2207 or none) on a call that carries
                // the management token.
                ErrorKind::V3 {
                    status, api_code, ..
                } => {
                    *status == V3_UNAUTHORIZED
                        && api_code.is_none_or(|code| AUTH_CODES.contains(&code))
                }
                _ => false,
            }
    }
}

/// The first time span a message states: a number followed by a unit in seconds or minutes, in
/// Chinese or English ("请 300 秒后再试", "wait 5 minutes", "retry in 120s").
fn duration_in(message: &str) -> Option<Duration> {
    let chars: Vec<char> = message.chars().collect();
    let mut index = 0;
    while index < chars.len() {
        if !chars[index].is_ascii_digit() {
            index += 1;
            continue;
        }
        let start = index;
        while index < chars.len() && chars[index].is_ascii_digit() {
            index += 1;
        }
        let number: String = chars[start..index].iter().collect();
        let rest: String = chars[index..]
            .iter()
            .collect::<String>()
            .trim_start()
            .to_lowercase();
        let Ok(value) = number.parse::<u64>() else {
            continue;
        };
        let unit = if rest.starts_with("分钟") || rest.starts_with('分') || rest.starts_with("min")
        {
            60
        } else if rest.starts_with('秒')
            || rest.starts_with("sec")
            || (rest.starts_with('s') && !rest[1..].starts_with(|c: char| c.is_alphabetic()))
        {
            1
        } else {
            continue;
        };
        return Some(Duration::from_secs(value.saturating_mul(unit)));
    }
    None
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.operation.name())?;
        if let Some(subject) = &self.subject {
            write!(f, " {}", said(subject))?;
        }
        write!(f, ": {}", self.kind)?;
        match self.retries {
            0 => Ok(()),
            1 => f.write_str(" (after 1 retry)"),
            n => write!(f, " (after {n} retries)"),
        }
    }
}

impl std::error::Error for RemoteError {}

impl Diagnostic for RemoteError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let code = match self.class() {
            ErrorClass::Transient => "remote::unavailable",
            ErrorClass::Permanent => "remote::refused",
            ErrorClass::Fatal => "remote::fatal",
        };
        Some(Box::new(code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let help = match &self.kind {
            ErrorKind::AuthFailed(_) => {
                "check --client-id and the pool secret (AUTHING_SECRET or --secret-file); both are in the Authing console under the user pool's settings"
            }
            ErrorKind::Authing { code, .. }
                if AUTH_CODES.contains(code) && self.operation.uses_owner_token() =>
            {
                "the server no longer accepts the owner token; check that the secret belongs to this user pool"
            }
            ErrorKind::V3 { .. } if self.is_stale_owner_token() => {
                "the server no longer accepts the management token; check that the secret belongs to this user pool"
            }
            ErrorKind::V3 { status: 429, .. } => "the server is rate limiting: lower --rate",
            ErrorKind::Timeout | ErrorKind::Connection(_) => {
                "check --endpoint and the network; raise --retries or --timeout for a flaky link"
            }
            ErrorKind::Http { status: 429, .. } => "the server is rate limiting: lower --rate",
            ErrorKind::TooLarge { .. } => {
                "the endpoint does not behave like Authing; check --endpoint"
            }
            ErrorKind::NotApi(_)
            | ErrorKind::Http {
                status: 404 | 405, ..
            } if self.operation.is_v3() => {
                "check --endpoint: with --api v3 it is the base URL /api/v3/... is appended to, https://api.authing.cn or your private deployment's host, not a v1 URL ending in /graphql (for that, use --api v1), the console's or a login page"
            }
            ErrorKind::NotApi(_)
            | ErrorKind::Http {
                status: 404 | 405, ..
            } => {
                "check --endpoint: it is the users GraphQL URL, https://users.authing.cn/graphql or your private deployment's URL ending in /graphql, not the console's or a login page; for the v3 management API's base URL (https://api.authing.cn), pass --api v3"
            }
            _ => return None,
        };
        Some(Box::new(help))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(operation: Operation, kind: ErrorKind) -> RemoteError {
        RemoteError::new(operation, kind)
    }

    #[test]
    fn errors_are_classed_before_any_retry() {
        let http = |status| ErrorKind::Http {
            status,
            retry_after: None,
        };
        assert_eq!(
            error(Operation::Users, http(429)).class(),
            ErrorClass::Transient
        );
        assert_eq!(
            error(Operation::Users, http(503)).class(),
            ErrorClass::Transient
        );
        assert_eq!(
            error(Operation::Users, http(404)).class(),
            ErrorClass::Permanent
        );
        assert_eq!(
            error(Operation::Users, ErrorKind::Timeout).class(),
            ErrorClass::Transient
        );
        let authing = |code| ErrorKind::Authing {
            code,
            message: String::new(),
        };
        assert_eq!(
            error(Operation::Register, authing(1000)).class(),
            ErrorClass::Transient
        );
        assert_eq!(
            error(Operation::Register, authing(2026)).class(),
            ErrorClass::Permanent
        );
        assert_eq!(
            error(Operation::UpdateUser, authing(2207)).class(),
            ErrorClass::Fatal
        );
        // changeMFA runs on the user's own token: an auth code there concerns that user only.
        assert_eq!(
            error(Operation::ChangeMfa, authing(2020)).class(),
            ErrorClass::Permanent
        );
        assert_eq!(
            error(Operation::Auth, ErrorKind::AuthFailed("x".into())).class(),
            ErrorClass::Fatal
        );
    }

    #[test]
    fn messages_name_the_operation_the_subject_and_the_retries() {
        let mut err = error(
            Operation::Register,
            ErrorKind::Authing {
                code: 2026,
                message: "用户已存在".into(),
            },
        )
        .with_subject("alice@example.com");
        err.retries = 3;
        assert_eq!(
            err.to_string(),
            "register alice@example.com: authing error 2026: 用户已存在 (after 3 retries)"
        );
    }

    #[test]
    fn any_auth_code_on_an_owner_call_asks_for_a_fresh_token() {
        let authing = |code| ErrorKind::Authing {
            code,
            message: String::new(),
        };
        for code in AUTH_CODES {
            assert!(error(Operation::Users, authing(code)).is_stale_owner_token());
            assert!(!error(Operation::ChangeMfa, authing(code)).is_stale_owner_token());
        }
        assert!(!error(Operation::Users, authing(2004)).is_stale_owner_token());
        let in_band = ErrorKind::InBand {
            code: Some(2206),
            message: String::new(),
        };
        assert!(!error(Operation::UpdateUser, in_band).is_stale_owner_token());
    }

    #[test]
    fn a_registration_limit_says_how_long_to_wait_when_it_can() {
        let limited = |message: &str| {
            error(
                Operation::Register,
                ErrorKind::Authing {
                    code: REGISTER_TOO_FREQUENT,
                    message: message.into(),
                },
            )
        };
        assert!(limited("注册过于频繁，请稍候再试").is_register_limited());
        assert_eq!(limited("注册过于频繁，请稍候再试").wait_hint(), None);
        assert_eq!(
            limited("注册过于频繁，请 120 秒后再试").wait_hint(),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            limited("请5分钟后再试").wait_hint(),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            limited("too many registrations, retry in 42s").wait_hint(),
            Some(Duration::from_secs(42))
        );
        assert_eq!(
            limited("limit 3 per 2 minutes").wait_hint(),
            Some(Duration::from_secs(120)),
            "the first number with a unit"
        );
        assert_eq!(limited("3 users per IP").wait_hint(), None);
        let mut asked = limited("注册过于频繁");
        asked.retry_after = Some(Duration::from_secs(7));
        assert_eq!(asked.wait_hint(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn in_band_failures_name_their_code() {
        let err = error(
            Operation::SendResetPasswordEmail,
            ErrorKind::InBand {
                code: Some(2004),
                message: "用户不存在".into(),
            },
        )
        .with_subject("a@example.com");
        assert_eq!(err.authing_code(), Some(2004));
        assert_eq!(err.class(), ErrorClass::Permanent);
        assert_eq!(
            err.to_string(),
            "sendResetPasswordEmail a@example.com: the answer reports a failure (code 2004): 用户不存在"
        );
    }
}
