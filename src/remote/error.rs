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

/// What went wrong, without the context of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// An Authing error object `{code, message}` (from `errors[]`, or reported in-band).
    Authing { code: i64, message: String },
    /// GraphQL errors with plain string messages: the server did not accept the document.
    GraphQl { messages: Vec<String> },
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
    /// Authing's API. `url` is the endpoint, shown without credentials.
    NotApi {
        url: String,
        status: u16,
        content_type: Option<String>,
        location: Option<String>,
    },
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
            ErrorKind::Http { status, .. } => write!(f, "HTTP status {status}"),
            ErrorKind::Timeout => f.write_str("timed out"),
            ErrorKind::Connection(why) => write!(f, "connection failed: {}", said(why)),
            ErrorKind::Decode(why) => write!(f, "unreadable response: {}", said(why)),
            ErrorKind::TooLarge { limit } => {
                write!(f, "response larger than {limit} bytes, refused")
            }
            ErrorKind::AuthFailed(why) => write!(f, "authentication failed: {}", said(why)),
            ErrorKind::NotApi {
                url,
                status,
                content_type,
                location,
            } => {
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
}

impl RemoteError {
    pub fn new(operation: Operation, kind: ErrorKind) -> Self {
        Self {
            operation,
            subject: None,
            kind,
            retries: 0,
        }
    }

    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// The Authing error code, if the server sent one.
    pub fn authing_code(&self) -> Option<i64> {
        match &self.kind {
            ErrorKind::Authing { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// How long the server asked to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.kind {
            ErrorKind::Http { retry_after, .. } => *retry_after,
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
            ErrorKind::Authing { .. } | ErrorKind::GraphQl { .. } | ErrorKind::Decode(_) => {
                ErrorClass::Permanent
            }
            ErrorKind::TooLarge { .. } | ErrorKind::AuthFailed(_) | ErrorKind::NotApi { .. } => {
                ErrorClass::Fatal
            }
        }
    }

    /// Whether the error says the owner token is no longer accepted (so a fresh one may help).
    pub fn is_stale_owner_token(&self) -> bool {
        self.operation.uses_owner_token() && matches!(self.authing_code(), Some(2206 | 2207))
    }
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
            ErrorKind::Timeout | ErrorKind::Connection(_) => {
                "check --endpoint and the network; raise --retries or --timeout for a flaky link"
            }
            ErrorKind::Http { status: 429, .. } => "the server is rate limiting: lower --rate",
            ErrorKind::TooLarge { .. } => {
                "the endpoint does not behave like Authing; check --endpoint"
            }
            ErrorKind::NotApi { .. } => {
                "check --endpoint: it is the users GraphQL URL, https://users.authing.cn/graphql or your private deployment's URL ending in /graphql, not the console's or a login page"
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
}
