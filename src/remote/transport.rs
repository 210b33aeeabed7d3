//! One HTTP path for every request of both APIs: the shared rate limit (a single governor
//! quota), the bound on requests in flight, classified retries with exponential backoff and
//! jitter that honour `Retry-After`, a cap on response size, no redirects, and decoding of the
//! answer into a typed value or a [`RemoteError`]: the GraphQL envelope for v1 ([`decode`]), the
//! v3 envelope for REST calls ([`decode_v3`], judged by its `statusCode`, never by the HTTP
//! status alone).

use std::num::NonZeroU32;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{CONTENT_TYPE, HeaderMap, LOCATION, RETRY_AFTER};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::secret::Secret;

use super::error::{ErrorClass, ErrorKind, NotApi, RemoteError};
use super::operation::{CallCounter, CallStats, Operation};
use super::token::OwnerSlot;
use super::wire::{self, Envelope};

/// Variables whose string values are secrets wherever they appear in a call (the pool secret, a
/// password or its RSA-encrypted form, a token).
const SECRET_VARIABLES: [&str; 8] = [
    "secret",
    "accessKeySecret",
    "access_token",
    "password",
    "oldPassword",
    "newPassword",
    "token",
    "accessToken",
];
/// How many run-wide secrets (the pool secret, owner tokens) are remembered for redaction.
const KNOWN_SECRETS: usize = 32;

/// The most a server may make the client wait through `Retry-After`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How the transport behaves.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    pub endpoint: reqwest::Url,
    /// Requests per second, every attempt counted.
    pub rate: NonZeroU32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Retries of one request on a transient failure.
    pub retries: u32,
    /// Timeout of one attempt.
    pub timeout: Duration,
    /// The first backoff delay; each retry doubles it, with jitter, up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Larger responses are refused.
    pub max_response_bytes: usize,
}

impl TransportConfig {
    pub fn new(endpoint: reqwest::Url) -> Self {
        Self {
            endpoint,
            rate: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            concurrency: 8,
            retries: 5,
            timeout: Duration::from_secs(30),
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_response_bytes: 32 * 1024 * 1024,
        }
    }
}

/// One request: which operation, the document, its variables, the token it carries and whom it
/// concerns (for error messages). Its `Debug` leaves the variables out: the authentication
/// call's hold the pool secret.
pub struct Call<'a> {
    pub operation: Operation,
    pub query: &'a str,
    pub operation_name: Option<&'a str>,
    pub variables: Value,
    pub token: Option<&'a Secret>,
    /// The owner token, read when the request is sent (so a request that waited for its turn
    /// carries the newest one); if it is due for renewal by then, the request is not sent
    /// ([`ErrorKind::TokenDue`]), so that none goes out with a lapsing token.
    pub owner: Option<&'a OwnerSlot>,
    pub subject: Option<&'a str>,
    /// Secrets the call concerns that are not in its variables (a new user's plain password,
    /// sent only RSA-encrypted): kept out of whatever the server answers, like those that are.
    pub concealed: Vec<&'a Secret>,
    /// A v3 REST call instead of a GraphQL document: `variables` are then the query string
    /// (GET) or the JSON body (POST).
    pub rest: Option<Rest<'a>>,
}

/// Where a v3 REST call goes.
#[derive(Debug, Clone, Copy)]
pub struct Rest<'a> {
    /// `GET` with a query string, else `POST` with a JSON body.
    pub get: bool,
    /// The path under the base URL, e.g. `/api/v3/list-users`.
    pub path: &'a str,
    /// Sent as `x-authing-userpool-id`.
    pub pool: Option<&'a str>,
}

impl std::fmt::Debug for Call<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("operation", &self.operation)
            .field("operation_name", &self.operation_name)
            .field("token", &self.token)
            .field("subject", &self.subject)
            .field("rest", &self.rest)
            .finish_non_exhaustive()
    }
}

impl<'a> Call<'a> {
    pub fn new(operation: Operation, query: &'a str, variables: Value) -> Self {
        Self {
            operation,
            query,
            operation_name: None,
            variables,
            token: None,
            owner: None,
            subject: None,
            concealed: Vec::new(),
            rest: None,
        }
    }

    /// A v3 REST call: `GET` (variables as the query string) or `POST` (variables as the body).
    pub fn rest(operation: Operation, rest: Rest<'a>, variables: Value) -> Self {
        Self {
            rest: Some(rest),
            ..Self::new(operation, "", variables)
        }
    }

    /// Keeps `secret` out of any text the server answers to this call.
    pub fn conceal(mut self, secret: &'a Secret) -> Self {
        self.concealed.push(secret);
        self
    }

    pub fn token(mut self, token: &'a Secret) -> Self {
        self.token = Some(token);
        self
    }

    pub fn owner(mut self, owner: &'a OwnerSlot) -> Self {
        self.owner = Some(owner);
        self
    }

    pub fn subject(mut self, subject: &'a str) -> Self {
        self.subject = Some(subject);
        self
    }

    pub fn operation_name(mut self, name: &'a str) -> Self {
        self.operation_name = Some(name);
        self
    }
}

pub struct Transport {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    limiter: DefaultDirectRateLimiter,
    in_flight: Semaphore,
    backoff: ExponentialBuilder,
    max_response_bytes: usize,
    calls: CallCounter,
    give_up: CancellationToken,
    /// The run-wide secrets seen in calls (the pool secret, owner tokens), newest last: any
    /// server text is cleaned of them, whichever call it answers.
    known: std::sync::Mutex<Vec<Secret>>,
    /// The shared back-off: a pause every request honours before it starts, and a spacing
    /// wider than the quota's while the server has lately been refusing for rate (429) or
    /// asking to wait (`Retry-After`).
    pacing: std::sync::Mutex<Pacing>,
    /// `1 / rate`: the quota's own spacing.
    base_gap: Duration,
}

/// The state of the shared back-off.
#[derive(Debug)]
struct Pacing {
    /// No request starts before this.
    pause_until: tokio::time::Instant,
    /// The spacing of request starts while throttled; zero when the quota alone rules.
    gap: Duration,
    /// The next start the spacing allows.
    next: tokio::time::Instant,
    /// How many times the spacing was widened: a refusal of a request that took its start
    /// before the last widening was already accounted for (requests in flight together are
    /// refused together).
    widenings: u64,
}

/// The widest spacing the back-off goes to: one request every two seconds.
const MAX_GAP: Duration = Duration::from_secs(2);

impl Transport {
    pub fn new(config: TransportConfig) -> Result<Self, RemoteError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("authing-sync/", env!("CARGO_PKG_VERSION")))
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(config.concurrency)
            // A redirect could take the secret or a token to another host, or to plain HTTP.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| {
                RemoteError::new(Operation::Auth, ErrorKind::Connection(err.to_string()))
            })?;
        // A burst of one: requests start at least `1 / rate` apart, so no one-second window
        // holds more than `rate` of them (a larger burst let `rate + rate / 10` through).
        let limiter =
            RateLimiter::direct(Quota::per_second(config.rate).allow_burst(NonZeroU32::MIN));
        let backoff = ExponentialBuilder::default()
            .with_min_delay(config.min_backoff)
            .with_max_delay(config.max_backoff)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(config.retries as usize);
        Ok(Self {
            http,
            endpoint: config.endpoint,
            limiter,
            in_flight: Semaphore::new(config.concurrency.max(1)),
            backoff,
            max_response_bytes: config.max_response_bytes,
            calls: CallCounter::default(),
            give_up: CancellationToken::new(),
            known: std::sync::Mutex::new(Vec::new()),
            pacing: std::sync::Mutex::new(Pacing {
                pause_until: tokio::time::Instant::now(),
                gap: Duration::ZERO,
                next: tokio::time::Instant::now(),
                widenings: 0,
            }),
            base_gap: Duration::from_secs(1) / config.rate.get(),
        })
    }

    pub fn endpoint(&self) -> &reqwest::Url {
        &self.endpoint
    }

    /// Requests sent so far.
    pub fn stats(&self) -> CallStats {
        self.calls.snapshot()
    }

    /// Sends a call, retrying transient failures; the value of the root field, `None` for null.
    /// Once [`stop_retrying`](Self::stop_retrying) was called, a call makes one attempt, and a
    /// call waiting to retry gives up at once with the error of its last attempt.
    pub async fn call<T: DeserializeOwned>(
        &self,
        call: &Call<'_>,
    ) -> Result<Option<T>, RemoteError> {
        let mut retries = 0u32;
        let mut delays = self.backoff.build();
        let mut err = loop {
            let mut started = 0;
            let err = match self.attempt::<T>(call, &mut started).await {
                Ok(value) => {
                    self.eased();
                    return Ok(value);
                }
                Err(err) => self.redact(call, err),
            };
            if err.class() != ErrorClass::Transient || self.give_up.is_cancelled() {
                break err;
            }
            let Some(delay) = delays.next() else {
                break err;
            };
            let delay = match err.retry_after() {
                Some(asked) => asked.min(MAX_RETRY_AFTER).max(delay),
                None => delay,
            };
            let throttled = matches!(err.kind, ErrorKind::Http { status: 429, .. });
            if throttled || err.retry_after().is_some() {
                self.throttled(started, delay, &err);
            }
            tracing::debug!(
                operation = call.operation.name(),
                retry = retries + 1,
                delay_ms = delay.as_millis() as u64,
                error = %err.kind,
                "retrying a transient failure"
            );
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.give_up.cancelled() => break err,
            }
            retries += 1;
            self.calls.retry();
        };
        err.retries = retries;
        if let Some(subject) = call.subject {
            err.subject = Some(subject.to_string());
        }
        Err(err)
    }

    fn pacing(&self) -> std::sync::MutexGuard<'_, Pacing> {
        self.pacing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits out the shared pause and takes the next start the throttled spacing allows (none
    /// while the quota alone rules). An interrupt ends the wait.
    /// Returns how many widenings the spacing had when the request took its start.
    async fn paced(&self) -> u64 {
        loop {
            let start = {
                let mut pacing = self.pacing();
                let now = tokio::time::Instant::now();
                let mut start = now.max(pacing.pause_until);
                if !pacing.gap.is_zero() {
                    start = start.max(pacing.next);
                }
                if start <= now || self.give_up.is_cancelled() {
                    if !pacing.gap.is_zero() {
                        pacing.next = now + pacing.gap;
                    }
                    return pacing.widenings;
                }
                start
            };
            // Woken, the request looks again: a pause may have begun meanwhile, or another
            // request taken the start.
            tokio::select! {
                () = tokio::time::sleep_until(start) => {}
                () = self.give_up.cancelled() => {}
            }
        }
    }

    /// The server refused for rate or asked to wait: every request pauses for `delay`, and
    /// (once per wave of refusals) the spacing of starts doubles, from twice the quota's up to
    /// [`MAX_GAP`], so the client settles below the server's limit instead of failing.
    fn throttled(&self, started: u64, delay: Duration, err: &RemoteError) {
        let mut pacing = self.pacing();
        let now = tokio::time::Instant::now();
        let until = now + delay;
        let newly_paused = until > pacing.pause_until + Duration::from_millis(50);
        pacing.pause_until = pacing.pause_until.max(until);
        if started < pacing.widenings {
            return;
        }
        pacing.gap = (pacing.gap * 2).max(self.base_gap * 2).min(MAX_GAP);
        pacing.widenings += 1;
        let per_second = 1.0 / pacing.gap.as_secs_f64();
        drop(pacing);
        if newly_paused {
            tracing::warn!(
                operation = err.operation.name(),
                pause_ms = delay.as_millis() as u64,
                "the server is limiting the rate ({}): all requests pause for {:.1}s, then start at most {per_second:.1} a second until it accepts them again",
                err.kind,
                delay.as_secs_f64(),
            );
        }
    }

    /// A request succeeded: a throttled spacing narrows by a thirty-second, back to the quota's
    /// (slowly: widening is fast, so the client settles just below the server's limit).
    fn eased(&self) {
        let mut pacing = self.pacing();
        if pacing.gap.is_zero() {
            return;
        }
        let narrower = pacing.gap - pacing.gap / 32;
        pacing.gap = if narrower <= self.base_gap {
            tracing::info!("the server accepts the configured rate again");
            Duration::ZERO
        } else {
            narrower
        };
    }

    /// The error with every known secret removed from the server's words, before it is logged,
    /// retried or returned: the one place server text comes in. Known are the run-wide secrets
    /// (the pool secret, owner tokens) and this call's (its token, secret variables, concealed
    /// values), so a server that echoes a request body cannot make the client print it.
    fn redact(&self, call: &Call<'_>, mut err: RemoteError) -> RemoteError {
        let mut secrets: Vec<String> = Vec::new();
        collect_secret_variables(&call.variables, &mut secrets);
        let mut known = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The pool secret travels in a variable named `secret`: remembered for the whole run.
        // v3 sends it as the access key's secret.
        for name in ["secret", "accessKeySecret"] {
            if let Some(Value::String(secret)) = call.variables.get(name) {
                remember(&mut known, secret);
            }
        }
        if let Some(owner) = call.owner {
            remember(&mut known, owner.get().token.expose());
        }
        secrets.extend(known.iter().map(|secret| secret.expose().to_string()));
        drop(known);
        secrets.extend(call.token.map(|token| token.expose().to_string()));
        secrets.extend(
            call.concealed
                .iter()
                .map(|secret| secret.expose().to_string()),
        );
        err.kind = err
            .kind
            .redacted(|text| crate::secret::redact_in(text, secrets.iter().map(String::as_str)));
        err
    }

    /// Makes every call give up retrying: one waiting to retry returns its last error at once,
    /// later ones make a single attempt. For an interrupt, and for an endpoint that stopped
    /// answering, where waiting out each call's retries would take hours.
    pub fn stop_retrying(&self) {
        self.give_up.cancel();
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        call: &Call<'_>,
        started: &mut u64,
    ) -> Result<Option<T>, RemoteError> {
        let fail = |kind| RemoteError::new(call.operation, kind);
        // The in-flight permit first, then the rate: a request spends its slot in the quota
        // only when it can be sent at once.
        let _permit = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| fail(ErrorKind::Connection("the client is shutting down".into())))?;
        let due = || call.owner.is_some_and(|owner| owner.get().is_due());
        if due() {
            return Err(fail(ErrorKind::TokenDue));
        }
        self.limiter.until_ready().await;
        // After the quota, right before sending: a pause that began while the request waited
        // for its slot still holds it back.
        *started = self.paced().await;
        let owner = call.owner.map(OwnerSlot::get);
        if owner.as_ref().is_some_and(|owner| owner.is_due()) {
            return Err(fail(ErrorKind::TokenDue));
        }
        self.calls.request(call.operation);
        let mut request = match &call.rest {
            None => {
                let body = wire::Request {
                    query: call.query,
                    operation_name: call.operation_name,
                    variables: &call.variables,
                };
                self.http.post(self.endpoint.clone()).json(&body)
            }
            Some(rest) => {
                let mut url = rest_url(&self.endpoint, rest.path).map_err(fail)?;
                let request = if rest.get {
                    let pairs = query_pairs(&call.variables);
                    if !pairs.is_empty() {
                        url.query_pairs_mut().extend_pairs(pairs);
                    }
                    self.http.get(url)
                } else {
                    self.http.post(url).json(&call.variables)
                };
                match rest.pool {
                    Some(pool) => request.header("x-authing-userpool-id", pool),
                    None => request,
                }
            }
        };
        if let Some(token) = owner.as_ref().map(|owner| &owner.token).or(call.token) {
            request = request.bearer_auth(token.expose());
        }
        let response = request
            .send()
            .await
            .map_err(|err| fail(transport_error(err)))?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        // v3 answers in its envelope whatever the HTTP status: its body is read in every case.
        if call.rest.is_none() && (status == 429 || (500..600).contains(&status)) {
            // The body of a refusal is not read: it may be anything.
            return decode(call.operation, status, retry_after, b"");
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(CONTENT_TYPE);
        let location = header(LOCATION);
        let not_api = |status| {
            fail(ErrorKind::NotApi(Box::new(NotApi {
                url: crate::secret::endpoint_without_secrets(self.endpoint.as_str()),
                status,
                content_type: content_type.clone(),
                location: location
                    .as_deref()
                    .map(crate::secret::url_without_credentials),
            })))
        };
        if (300..400).contains(&status) {
            return Err(not_api(status));
        }
        let bytes = read_body(response, self.max_response_bytes)
            .await
            .map_err(fail)?;
        let decoded = match call.rest {
            Some(_) => decode_v3(call.operation, status, retry_after, &bytes),
            // A mutation's in-band failure is server text too: settled here, where it is redacted.
            None if call.operation.is_mutation() => {
                decode::<Value>(call.operation, status, retry_after, &bytes)
                    .and_then(|answer| wire::settle(answer).map_err(fail))
            }
            None => decode(call.operation, status, retry_after, &bytes),
        };
        match decoded {
            Err(err)
                if matches!(err.kind, ErrorKind::Decode(_) | ErrorKind::Http { .. })
                    && err.class() != ErrorClass::Transient
                    && !looks_like_json(content_type.as_deref(), &bytes) =>
            {
                Err(not_api(status))
            }
            decoded => decoded,
        }
    }
}

/// Reads a response body as the GraphQL envelope: the root field's value (`None` for null), or
/// the error it carries. Pure, so that any bytes a server may send can be tried against it.
pub fn decode<T: DeserializeOwned>(
    operation: Operation,
    status: u16,
    retry_after: Option<Duration>,
    bytes: &[u8],
) -> Result<Option<T>, RemoteError> {
    let fail = |kind| RemoteError {
        retry_after,
        ..RemoteError::new(operation, kind)
    };
    let success = (200..300).contains(&status);
    if status == 429 || (500..600).contains(&status) {
        return Err(fail(ErrorKind::Http {
            status,
            retry_after,
        }));
    }
    let envelope: Envelope<T> = match wire::from_json(bytes) {
        Ok(envelope) => envelope,
        Err(_) if !success => {
            return Err(fail(ErrorKind::Http {
                status,
                retry_after,
            }));
        }
        Err(err) => return Err(fail(ErrorKind::Decode(err.to_string()))),
    };
    if !envelope.errors.is_empty() {
        return Err(fail(wire::classify_errors(&envelope.errors)));
    }
    if !success {
        return Err(fail(ErrorKind::Http {
            status,
            retry_after,
        }));
    }
    match envelope.data {
        Some(root) => Ok(root.0),
        None => Err(fail(ErrorKind::Decode(
            "the response has neither `data` nor `errors`".into(),
        ))),
    }
}

/// Adds a run-wide secret to `known` unless it is there, forgetting the oldest past the cap.
fn remember(known: &mut Vec<Secret>, secret: &str) {
    if secret.is_empty() || known.iter().any(|known| known.expose() == secret) {
        return;
    }
    if known.len() >= KNOWN_SECRETS {
        known.remove(0);
    }
    known.push(Secret::from(secret));
}

/// The string values of every variable named in [`SECRET_VARIABLES`], at any depth.
fn collect_secret_variables(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match value {
                    Value::String(text) if SECRET_VARIABLES.contains(&key.as_str()) => {
                        into.push(text.clone());
                    }
                    _ => collect_secret_variables(value, into),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_secret_variables(item, into);
            }
        }
        _ => {}
    }
}

/// The head of a v3 envelope: `{statusCode, message, apiCode}`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct V3Head {
    #[serde(default, deserialize_with = "wire::lenient_int")]
    status_code: Option<i64>,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default, deserialize_with = "wire::lenient_int")]
    api_code: Option<i64>,
    /// `delete-whitelist` may answer a bare `{success}` without an envelope (facts §4.13).
    #[serde(default)]
    success: Option<Value>,
}

/// The `data` of a v3 envelope.
#[derive(serde::Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
struct V3Data<T> {
    #[serde(default = "no_data")]
    data: Option<T>,
}

fn no_data<T>() -> Option<T> {
    None
}

/// Reads a v3 answer: success is exactly `statusCode` 200 in the envelope, whatever the HTTP
/// status; then `data` (`None` for null or absent). Any other `statusCode` is
/// [`ErrorKind::V3`]. A body that is not an envelope is an HTTP error when the HTTP status says
/// one, else unreadable. Pure, so that any bytes a server may send can be tried against it.
pub fn decode_v3<T: DeserializeOwned>(
    operation: Operation,
    status: u16,
    retry_after: Option<Duration>,
    bytes: &[u8],
) -> Result<Option<T>, RemoteError> {
    let fail = |kind| RemoteError {
        retry_after,
        ..RemoteError::new(operation, kind)
    };
    let http_error = || {
        fail(ErrorKind::Http {
            status,
            retry_after,
        })
    };
    let success = (200..300).contains(&status);
    let head: V3Head = match wire::from_json(bytes) {
        Ok(head) => head,
        Err(_) if !success => return Err(http_error()),
        Err(err) => return Err(fail(ErrorKind::Decode(err.to_string()))),
    };
    let Some(status_code) = head.status_code else {
        if !success {
            return Err(http_error());
        }
        if operation == Operation::V3DeleteWhitelist && head.success == Some(Value::Bool(true)) {
            return Ok(None);
        }
        return Err(fail(ErrorKind::Decode(
            "the answer has no `statusCode` (not a v3 envelope)".into(),
        )));
    };
    if status_code != 200 {
        let message = match head.message {
            Some(Value::String(text)) => text,
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        return Err(fail(ErrorKind::V3 {
            status: status_code,
            api_code: head.api_code,
            message,
        }));
    }
    let data: V3Data<T> =
        wire::from_json(bytes).map_err(|err| fail(ErrorKind::Decode(err.to_string())))?;
    Ok(data.data)
}

/// The URL of a v3 path under the base URL (which may itself have a path, for a private
/// deployment behind a prefix, and a query, a gateway's key say, which every call carries).
fn rest_url(base: &reqwest::Url, path: &str) -> Result<reqwest::Url, ErrorKind> {
    if base.cannot_be_a_base() {
        return Err(ErrorKind::Connection(
            "the endpoint cannot be a base URL".into(),
        ));
    }
    let mut url = base.clone();
    url.set_path(&format!("{}{path}", base.path().trim_end_matches('/')));
    url.set_fragment(None);
    Ok(url)
}

/// A JSON object as query pairs: scalars as text, arrays as repeated keys, nulls left out.
fn query_pairs(variables: &Value) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let Value::Object(map) = variables else {
        return pairs;
    };
    let text = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    };
    for (key, value) in map {
        match value {
            Value::Array(items) => {
                pairs.extend(
                    items
                        .iter()
                        .filter_map(text)
                        .map(|item| (key.clone(), item)),
                );
            }
            other => pairs.extend(text(other).map(|item| (key.clone(), item))),
        }
    }
    pairs
}

/// Whether an answer is JSON at all: its content type says so, or its body starts like JSON.
fn looks_like_json(content_type: Option<&str>, bytes: &[u8]) -> bool {
    content_type.is_some_and(|content_type| content_type.to_ascii_lowercase().contains("json"))
        || matches!(
            bytes.iter().find(|byte| !byte.is_ascii_whitespace()),
            Some(b'{' | b'[')
        )
}

fn transport_error(err: reqwest::Error) -> ErrorKind {
    if err.is_timeout() {
        return ErrorKind::Timeout;
    }
    let err = err.without_url();
    let mut why = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(inner) = source {
        why.push_str(": ");
        why.push_str(&inner.to_string());
        source = inner.source();
    }
    ErrorKind::Connection(why)
}

/// Reads a body up to `limit` bytes; a longer one is refused before it is all in memory.
async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, ErrorKind> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(ErrorKind::TooLarge { limit });
    }
    let mut body = Vec::with_capacity(
        response
            .content_length()
            .map_or(8 * 1024, |length| length as usize),
    );
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > limit {
            return Err(ErrorKind::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v3_path_goes_under_the_base_path_and_keeps_its_query() {
        let url = |base: &str| {
            rest_url(&reqwest::Url::parse(base).unwrap(), "/api/v3/list-users")
                .unwrap()
                .to_string()
        };
        assert_eq!(
            url("https://api.authing.cn"),
            "https://api.authing.cn/api/v3/list-users"
        );
        assert_eq!(
            url("https://h.example/prefix/?apikey=k1#x"),
            "https://h.example/prefix/api/v3/list-users?apikey=k1"
        );
    }
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&soon).unwrap());
        let parsed = retry_after(&headers).unwrap();
        assert!(
            parsed <= Duration::from_secs(30) && parsed >= Duration::from_secs(28),
            "{parsed:?}"
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}

/// Fuzzing of response decoding: whatever a server sends, decoding ends in a value or a clean
/// error, never a panic.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::remote::wire::{
        Invitation, InvitationState, Many, Mfa, PagedUsers, RemovedUser, WireUser, settle,
    };

    /// Any object: what `settle` reads an in-band answer into after checking it.
    #[derive(serde::Deserialize)]
    struct CommonAnswer {}

    fn try_all(status: u16, bytes: &[u8]) {
        let _ = decode::<PagedUsers>(Operation::Users, status, None, bytes);
        let _ = decode::<WireUser>(Operation::UpdateUser, status, None, bytes);
        let _ = decode::<Many<RemovedUser>>(Operation::RemoveUsers, status, None, bytes);
        let _ = decode::<Many<Invitation>>(Operation::QueryInvitation, status, None, bytes);
        let _ = decode::<Value>(Operation::SendResetPasswordEmail, status, None, bytes)
            .map(settle::<CommonAnswer>);
        let _ = decode::<Mfa>(Operation::QueryMfa, status, None, bytes);
        let _ = decode::<InvitationState>(Operation::QueryInvitationState, status, None, bytes);
        let _ = decode::<Secret>(Operation::Auth, status, None, bytes);
    }

    /// Arbitrary JSON, up to a few levels deep.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("data".to_string()),
                        Just("errors".to_string()),
                        Just("message".to_string()),
                        Just("code".to_string()),
                        Just("list".to_string()),
                        Just("totalCount".to_string()),
                        Just("_id".to_string()),
                        ".{0,6}"
                    ],
                    inner,
                    0..6
                )
                .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(crate::fuzz::config())]

        #[test]
        fn arbitrary_bytes_decode_to_a_value_or_an_error(status in prop_oneof![Just(200u16), Just(400u16), 100u16..600], bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            try_all(status, &bytes);
        }

        #[test]
        fn arbitrary_json_envelopes_decode_to_a_value_or_an_error(value in json_value(), wrap in any::<bool>()) {
            let body = if wrap { json!({ "data": { "users": value } }) } else { value };
            try_all(200, body.to_string().as_bytes());
        }
    }

    #[test]
    fn deeply_nested_json_is_refused_cleanly() {
        let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = decode::<PagedUsers>(Operation::Users, 200, None, body.as_bytes()).unwrap_err();
        assert!(matches!(err.kind, ErrorKind::Decode(_)), "{err}");
        let body = format!(
            "{{\"data\":{{\"users\":{}{}}}}}",
            "{\"a\":".repeat(10_000),
            "}".repeat(10_001)
        );
        assert!(decode::<PagedUsers>(Operation::Users, 200, None, body.as_bytes()).is_err());
    }
}
