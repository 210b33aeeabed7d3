//! The HTTP face: the axum router, the request body, rewriting resolver errors into Authing's
//! `{code, message}` objects, and, for both APIs (`POST /graphql` and `/api/v3/...`), injected
//! faults, the rate limit, latency, the stats and the request log.
//!
//! Status codes on v1: resolver errors are HTTP 200 with `errors[i].message` an object and
//! `data: {"<field>": null}`; a body that is not a GraphQL request, or a document that does not
//! parse or validate, is HTTP 400 with plain GraphQL errors (string messages). On v3 every
//! answer is HTTP 200 with the outcome in the envelope's `statusCode`, except 429 (rate limit),
//! injected 5xx faults and unknown paths (404).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::parser::types::{
    DocumentOperations, OperationDefinition, OperationType, Selection,
};
use async_graphql::{Value as GqlValue, Variables};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};

use super::context::{Caller, ClientIp, Shared};
use super::dialect::ApiSchema;
use super::errors::CODE_EXTENSION;
use super::fast::FastPaths;
use super::faults::{Fault, FaultPlan, RateLimit};
use super::v3::{self, V3};

/// Everything the handlers need.
pub struct AppState {
    pub shared: Arc<Shared>,
    pub schema: ApiSchema,
    /// Validation errors as `{code, message}` objects (an older server's formatting).
    pub wrap_validation_errors: bool,
    pub faults: FaultPlan,
    pub rate_limit: Option<RateLimit>,
    pub latency: Duration,
    pub log_requests: bool,
    pub v3: V3,
    /// Plans for the paging documents (`users`, `userPatch`).
    pub fast: FastPaths,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/graphql", post(graphql))
        .route("/api/v3/{*name}", any(v3_api))
        .route("/__emulator/stats", get(stats))
        .route("/__emulator/public-key", get(public_key))
        .route("/__emulator/mailbox", get(mailbox))
        .with_state(state)
}

async fn stats(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(state.shared.stats.snapshot()).into_response()
}

async fn public_key(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        state.shared.keys.public_pem().to_string(),
    )
        .into_response()
}

async fn mailbox(State(state): State<Arc<AppState>>) -> Response {
    let mails = state.shared.read(|store| store.mailbox().to_vec());
    axum::Json(mails).into_response()
}

/// Which API a request speaks, for the shape of refusals that come before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    V1,
    V3,
}

/// What the log line says about one request.
struct Outcome {
    status: u16,
    /// v3: the envelope's `statusCode`.
    status_code: Option<u16>,
    fault: Option<Fault>,
    ops: String,
}

impl Outcome {
    fn new() -> Outcome {
        Outcome {
            status: 200,
            status_code: None,
            fault: None,
            ops: "-".to_string(),
        }
    }
}

/// The rate limit and the fault draw every API request goes through, in that order. `Err` is
/// the answer for a request that is refused or faulted before it runs; `Ok` carries the fault
/// still to strike after it runs, if any.
fn admit(
    state: &AppState,
    api: Api,
    outcome: &mut Outcome,
) -> Result<Option<Fault>, Box<Response>> {
    if let Some(limit) = &state.rate_limit
        && !limit.admit(Instant::now())
    {
        state.shared.stats.rate_limited();
        outcome.status = 429;
        let body = match api {
            Api::V1 => json!({"errors": [{"message": "rate limit exceeded"}]}),
            Api::V3 => v3::throttled(),
        };
        return Err(Box::new(too_many_requests(&body)));
    }
    let fault = state.faults.next();
    if let Some(fault) = fault {
        state.shared.stats.fault(fault.name());
        outcome.fault = Some(fault);
        if let Some(response) = fault_before(fault, api) {
            outcome.status = response.status().as_u16();
            return Err(Box::new(response));
        }
    }
    Ok(fault)
}

async fn graphql(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    state.shared.stats.request(started);
    let _in_flight = state.shared.stats.enter();
    let (response, outcome) = handle(&state, peer, &headers, body).await;
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }
    if state.log_requests {
        log_line("POST /graphql", &outcome, started.elapsed());
    }
    response
}

async fn v3_api(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    state.shared.stats.request(started);
    let _in_flight = state.shared.stats.enter();
    let (response, outcome) = handle_v3(&state, &method, &uri, &headers, &body);
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }
    if state.log_requests {
        // Only a known endpoint's path is logged: an unknown one may carry anything.
        let path = if outcome.ops == "-" {
            "/api/v3/(unknown)"
        } else {
            uri.path()
        };
        log_line(&format!("{method} {path}"), &outcome, started.elapsed());
    }
    response
}

fn handle_v3(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> (Response, Outcome) {
    let mut outcome = Outcome::new();
    let fault = match admit(state, Api::V3, &mut outcome) {
        Ok(fault) => fault,
        Err(response) => return (*response, outcome),
    };
    let path = uri.path();
    let name = path.strip_prefix("/api/v3/").unwrap_or_default();
    let Some(route) = v3::find_route(method, name) else {
        outcome.status = 404;
        outcome.status_code = Some(404);
        return (
            json_response(StatusCode::NOT_FOUND, &v3::not_found(method, path)),
            outcome,
        );
    };
    state.shared.stats.operation(route.name, route.write);
    outcome.ops = route.name.to_string();
    let call = v3::Call {
        method,
        path,
        raw_query: uri.query(),
        headers,
        body,
    };
    let (body, status_code) = v3::execute(&state.shared, &state.v3, route, &call);
    outcome.status_code = Some(status_code);
    if fault == Some(Fault::DropAfter) {
        return (dropped_connection(), outcome);
    }
    (json_response(StatusCode::OK, &body), outcome)
}

async fn handle(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Bytes,
) -> (Response, Outcome) {
    let mut outcome = Outcome::new();
    let fault = match admit(state, Api::V1, &mut outcome) {
        Ok(fault) => fault,
        Err(response) => return (*response, outcome),
    };
    let request = match parse_body(&body) {
        Ok(request) => request,
        Err(message) => {
            outcome.status = 400;
            return (bad_request(&message), outcome);
        }
    };
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let caller = Caller::from_header(auth, &state.shared);
    // A paging document answered before: straight from the store, the same bytes.
    if let Some(plan) = state.fast.plan(&request)
        && let Some(body) = plan.answer(&state.shared, &caller, &request.variables)
    {
        state.shared.stats.operation(plan.root_name(), false);
        outcome.ops = plan.root_name().to_string();
        if fault == Some(Fault::DropAfter) {
            return (dropped_connection(), outcome);
        }
        return (json_bytes_response(StatusCode::OK, body), outcome);
    }
    let root = match RootFields::of(&request) {
        Ok(root) => root,
        Err(message) => {
            outcome.status = 400;
            let response = if state.wrap_validation_errors {
                json_response(
                    StatusCode::BAD_REQUEST,
                    &json!({"errors": [wrapped_validation_error(json!({"message": message}))]}),
                )
            } else {
                bad_request(&message)
            };
            return (response, outcome);
        }
    };
    let learn = state.fast.unknown(&request);
    let request = request.data(caller).data(ClientIp(Some(peer.ip())));
    let response = state.schema.execute(request).await;
    if let Some(key) = learn {
        state.fast.learn(key, &response);
    }
    if executed(&response) {
        for name in &root.names {
            state.shared.stats.operation(name, root.is_mutation);
        }
        outcome.ops = root.label();
    }
    let (status, body) = to_wire(response, state.wrap_validation_errors);
    outcome.status = status.as_u16();
    if fault == Some(Fault::DropAfter) {
        return (dropped_connection(), outcome);
    }
    (json_bytes_response(status, body), outcome)
}

/// The response for a fault that strikes before execution (`None`: execute first).
fn fault_before(fault: Fault, api: Api) -> Option<Response> {
    let plain = |status: StatusCode| {
        let body = match api {
            Api::V1 => {
                json!({"errors": [{"message": format!("injected fault: {}", status.as_u16())}]})
            }
            Api::V3 => v3::injected(status.as_u16()),
        };
        json_response(status, &body)
    };
    match fault {
        Fault::Http500 => Some(plain(StatusCode::INTERNAL_SERVER_ERROR)),
        Fault::Http502 => Some(plain(StatusCode::BAD_GATEWAY)),
        Fault::Http503 => Some(plain(StatusCode::SERVICE_UNAVAILABLE)),
        Fault::Http429 => Some(too_many_requests(&match api {
            Api::V1 => json!({"errors": [{"message": "injected fault: 429"}]}),
            Api::V3 => v3::throttled(),
        })),
        Fault::DropBefore => Some(dropped_connection()),
        Fault::DropAfter => None,
    }
}

/// A response whose body fails at once, so hyper aborts the connection: the client sees a
/// connection closed mid-response, not an HTTP error.
fn dropped_connection() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected fault: dropped connection",
        ))
    });
    Response::new(Body::from_stream(stream))
}

fn too_many_requests(body: &Value) -> Response {
    let mut response = json_response(StatusCode::TOO_MANY_REQUESTS, body);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

fn bad_request(message: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"errors": [{"message": message}]}),
    )
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    json_bytes_response(status, serde_json::to_vec(body).unwrap_or_default())
}

fn json_bytes_response(status: StatusCode, bytes: Vec<u8>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        bytes,
    )
        .into_response()
}

/// Reads `{query, variables, operationName}`. `variables` may be an object, `null`, absent, or
/// a JSON string holding an object.
fn parse_body(body: &[u8]) -> Result<async_graphql::Request, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|error| format!("body is not JSON: {error}"))?;
    let Value::Object(mut object) = value else {
        return Err("body must be a JSON object with a query".to_string());
    };
    let Some(Value::String(query)) = object.remove("query") else {
        return Err("body has no query string".to_string());
    };
    let mut request = async_graphql::Request::new(query);
    match object.remove("operationName") {
        Some(Value::String(name)) => request = request.operation_name(name),
        None | Some(Value::Null) => {}
        Some(_) => return Err("operationName must be a string".to_string()),
    }
    let variables = match object.remove("variables") {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(Value::String(text)) => serde_json::from_str(&text)
            .map_err(|error| format!("variables is not a JSON object: {error}"))?,
        Some(other) => other,
    };
    if !variables.is_object() {
        return Err("variables must be an object".to_string());
    }
    Ok(request.variables(Variables::from_json(variables)))
}

/// The root fields of the operation a request runs, read from its document before execution
/// (for the stats and the request log).
#[derive(Debug, Default)]
struct RootFields {
    names: Vec<String>,
    is_mutation: bool,
}

impl RootFields {
    /// The operation's root fields. `Err` is the HTTP 400 graphql-js gives before executing
    /// anything when a non-null variable without a default is absent or `null` (async-graphql
    /// would report it as a field error). A document that does not parse is left to the
    /// executor, which reports it.
    fn of(request: &async_graphql::Request) -> Result<RootFields, String> {
        let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
            return Ok(RootFields::default());
        };
        let operation = match (&document.operations, request.operation_name.as_deref()) {
            (DocumentOperations::Single(operation), _) => Some(&operation.node),
            (DocumentOperations::Multiple(operations), Some(name)) => {
                operations.get(name).map(|operation| &operation.node)
            }
            (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
                operations.values().next().map(|operation| &operation.node)
            }
            _ => None,
        };
        let Some(operation) = operation else {
            return Ok(RootFields::default());
        };
        if let Some(message) = missing_required_variable(operation, &request.variables) {
            return Err(message);
        }
        let names = operation
            .selection_set
            .node
            .items
            .iter()
            .filter_map(|selection| match &selection.node {
                Selection::Field(field) => Some(field.node.name.node.to_string()),
                _ => None,
            })
            .filter(|name| !name.starts_with("__"))
            .collect();
        Ok(RootFields {
            names,
            is_mutation: operation.ty == OperationType::Mutation,
        })
    }

    fn label(&self) -> String {
        if self.names.is_empty() {
            "-".to_string()
        } else {
            self.names.join(",")
        }
    }
}

fn missing_required_variable(
    operation: &OperationDefinition,
    variables: &Variables,
) -> Option<String> {
    operation
        .variable_definitions
        .iter()
        .find(|definition| {
            let definition = &definition.node;
            !definition.var_type.node.nullable
                && definition.default_value.is_none()
                && matches!(
                    variables.get(&definition.name.node),
                    None | Some(GqlValue::Null)
                )
        })
        .map(|definition| {
            format!(
                "Variable \"${}\" of required type \"{}\" was not provided.",
                definition.node.name.node, definition.node.var_type.node
            )
        })
}

/// Whether the executor got as far as running fields (it did unless the document was refused).
fn executed(response: &async_graphql::Response) -> bool {
    response.errors.is_empty() || response.errors.iter().any(|error| !error.path.is_empty())
}

/// The body of a GraphQL answer: errors first, as Apollo server writes them, then `data` in
/// selection order.
#[derive(serde::Serialize)]
struct WireResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<GqlValue>,
}

/// Serialises an async-graphql response the way Authing's server answers: resolver errors get
/// `message: {code, message}`, `extensions: {code: "INTERNAL_SERVER_ERROR"}` and their field
/// `null` in `data` (HTTP 200); parse and validation errors (no field ran) are HTTP 400 with
/// string messages and no `data`, or, with `wrap_validation` (an older server), with
/// `message: {code: 500, message}` and `extensions: {code: "GRAPHQL_VALIDATION_FAILED"}`.
pub fn to_wire(response: async_graphql::Response, wrap_validation: bool) -> (StatusCode, Vec<u8>) {
    let in_resolver = response.errors.iter().any(|error| !error.path.is_empty());
    if !response.errors.is_empty() && !in_resolver {
        let errors = response
            .errors
            .iter()
            .map(|error| serde_json::to_value(error).unwrap_or(Value::Null))
            .map(|error| {
                if wrap_validation {
                    wrapped_validation_error(error)
                } else {
                    error
                }
            })
            .collect();
        let body = WireResponse { errors, data: None };
        return (
            StatusCode::BAD_REQUEST,
            serde_json::to_vec(&body).unwrap_or_default(),
        );
    }
    let mut data = match response.data {
        GqlValue::Object(fields) => fields,
        _ => Default::default(),
    };
    let mut errors = Vec::with_capacity(response.errors.len());
    for error in &response.errors {
        if let Some(async_graphql::PathSegment::Field(field)) = error.path.first() {
            data.entry(async_graphql::Name::new(field))
                .or_insert(GqlValue::Null);
        }
        let mut value = serde_json::to_value(error).unwrap_or(Value::Null);
        rewrite_error(&mut value);
        errors.push(value);
    }
    let body = WireResponse {
        errors,
        data: Some(GqlValue::Object(data)),
    };
    (
        StatusCode::OK,
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

/// A validation error as an older Authing server formats it: the message inside a
/// `{code: 500, message}` object, as its resolver errors are.
fn wrapped_validation_error(mut error: Value) -> Value {
    if let Value::Object(fields) = &mut error {
        let message = fields.remove("message").unwrap_or(Value::Null);
        fields.insert(
            "message".to_string(),
            json!({"code": 500, "message": message}),
        );
        fields.insert(
            "extensions".to_string(),
            json!({"code": "GRAPHQL_VALIDATION_FAILED"}),
        );
    }
    error
}

fn rewrite_error(error: &mut Value) {
    let Value::Object(error) = error else {
        return;
    };
    let in_resolver = error.get("path").is_some_and(|path| path.is_array());
    let code = error
        .get("extensions")
        .and_then(|extensions| extensions.get(CODE_EXTENSION))
        .and_then(Value::as_i64);
    let code = match (code, in_resolver) {
        (Some(code), _) => code,
        (None, true) => 500,
        (None, false) => return,
    };
    let message = error.remove("message").unwrap_or(Value::Null);
    error.insert(
        "message".to_string(),
        json!({"code": code, "message": message}),
    );
    error.insert(
        "extensions".to_string(),
        json!({"code": "INTERNAL_SERVER_ERROR"}),
    );
}

/// `emulator: <request> ops=<operations> status=<HTTP status, or dropped>[ statusCode=<v3>]
/// fault=<kind or -> latency_ms=<n>`: never a query string, header, body or token.
fn log_line(request: &str, outcome: &Outcome, latency: Duration) {
    use std::io::Write;
    let fault = outcome.fault.map_or("-", Fault::name);
    let status = match outcome.fault {
        Some(Fault::DropBefore | Fault::DropAfter) => "dropped".to_string(),
        _ => outcome.status.to_string(),
    };
    let status_code = outcome
        .status_code
        .map_or(String::new(), |code| format!(" statusCode={code}"));
    let line = format!(
        "emulator: {request} ops={} status={status}{status_code} fault={fault} latency_ms={}\n",
        outcome.ops,
        latency.as_millis()
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_errors_become_code_objects() {
        let mut error = json!({
            "message": "用户不存在",
            "locations": [{"line": 2, "column": 3}],
            "path": ["updateUser"],
            "extensions": {CODE_EXTENSION: 2004}
        });
        rewrite_error(&mut error);
        assert_eq!(
            error,
            json!({
                "message": {"code": 2004, "message": "用户不存在"},
                "locations": [{"line": 2, "column": 3}],
                "path": ["updateUser"],
                "extensions": {"code": "INTERNAL_SERVER_ERROR"}
            })
        );
        let mut validation = json!({"message": "Unknown field", "locations": []});
        rewrite_error(&mut validation);
        assert_eq!(validation["message"], "Unknown field");
    }

    #[test]
    fn bodies() {
        assert!(parse_body(br#"{"query":"{ a }"}"#).is_ok());
        assert!(parse_body(br#"{"query":"{ a }","variables":null,"operationName":null}"#).is_ok());
        assert!(parse_body(br#"{"query":"{ a }","variables":"{\"x\":1}"}"#).is_ok());
        assert!(parse_body(b"not json").is_err());
        assert!(parse_body(br#"{"variables":{}}"#).is_err());
        assert!(parse_body(br#"[{"query":"{ a }"}]"#).is_err());
    }
}
