//! A v3 client for the conformance cases: the management token (with or without `Bearer`) or
//! the AK/SK signature, written here independently of the emulator from the algorithm of
//! authing-node-sdk 4.x (`authing-v3-facts.md` §2b), and the raw answer (HTTP status and JSON).

use std::time::{Duration, SystemTime};

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::support::{http_client, unique};

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    Anonymous,
    /// `authorization: Bearer <token>`.
    Bearer(String),
    /// `authorization: <token>` (the Java SDK's way).
    Bare(String),
    /// The AK/SK signature.
    Sign {
        ak: String,
        sk: String,
    },
}

/// Changes to a signed request, to provoke each refusal.
#[derive(Debug, Clone, Default)]
pub struct Tamper {
    /// Replaces the `date` header (`Some("")` leaves it out).
    pub date: Option<String>,
    pub method: Option<String>,
    pub version: Option<String>,
    /// Signs with this secret instead.
    pub secret: Option<String>,
    /// Sends exactly these signed headers and this `authorization` again (a replay).
    pub replay: Option<Sent>,
}

/// The signed headers and `authorization` of a request, to send again.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    pub headers: Vec<(String, String)>,
    pub authorization: Option<String>,
}

/// A v3 answer.
#[derive(Debug, Clone)]
pub struct V3Response {
    pub http: u16,
    pub body: Value,
    /// What the request carried, for replays.
    pub sent: Sent,
}

impl V3Response {
    pub fn status_code(&self) -> Option<i64> {
        self.body["statusCode"].as_i64()
    }

    pub fn api_code(&self) -> Option<i64> {
        self.body["apiCode"].as_i64()
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    /// Panics unless HTTP 200 and `statusCode` 200; returns `data`.
    pub fn ok(&self) -> &Value {
        assert_eq!(self.http, 200, "HTTP status; body: {}", self.body);
        assert_eq!(
            self.status_code(),
            Some(200),
            "statusCode; body: {}",
            self.body
        );
        &self.body["data"]
    }

    /// Panics unless HTTP 200 and the envelope's `statusCode` is `status_code`.
    pub fn expect(&self, status_code: i64) -> &Self {
        assert_eq!(self.http, 200, "HTTP status; body: {}", self.body);
        assert_eq!(
            self.status_code(),
            Some(status_code),
            "statusCode; body: {}",
            self.body
        );
        assert!(self.body["message"].is_string(), "message: {}", self.body);
        self
    }

    /// Panics unless HTTP 200 and the answer is a failure (whatever its `statusCode`).
    pub fn refused(&self) -> &Self {
        assert_eq!(self.http, 200, "HTTP status; body: {}", self.body);
        assert_ne!(self.status_code(), Some(200), "not refused: {}", self.body);
        self
    }

    pub fn with_message(&self, message: &str) -> &Self {
        assert_eq!(self.message(), message, "message; body: {}", self.body);
        self
    }

    pub fn with_api_code(&self, api_code: i64) -> &Self {
        assert_eq!(
            self.api_code(),
            Some(api_code),
            "apiCode; body: {}",
            self.body
        );
        self
    }
}

/// Percent-encodes everything but the unreserved characters (and keeps `[]`, as axios does).
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'[' | b']' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// A GET parameter: one value, or a list sent as `key[]=a&key[]=b` and signed as a JSON array.
#[derive(Debug, Clone)]
pub enum Param {
    One(String),
    List(Vec<String>),
}

impl From<&str> for Param {
    fn from(value: &str) -> Self {
        Param::One(value.to_string())
    }
}

impl From<String> for Param {
    fn from(value: String) -> Self {
        Param::One(value)
    }
}

/// A v3 client.
#[derive(Debug, Clone)]
pub struct V3Client {
    http: reqwest::Client,
    base: String,
    pub auth: Auth,
    /// `x-authing-userpool-id` to send with a token.
    pub userpool_id: Option<String>,
}

impl V3Client {
    pub fn new(base: &str, auth: Auth) -> V3Client {
        V3Client {
            http: http_client(),
            base: base.trim_end_matches('/').to_string(),
            auth,
            userpool_id: None,
        }
    }

    pub fn with_auth(&self, auth: Auth) -> V3Client {
        V3Client {
            auth,
            ..self.clone()
        }
    }

    /// `GET /api/v3/<name>` with parameters in this order.
    pub async fn get(&self, name: &str, params: &[(&str, Param)]) -> V3Response {
        self.get_tampered(name, params, &Tamper::default()).await
    }

    pub async fn get_tampered(
        &self,
        name: &str,
        params: &[(&str, Param)],
        tamper: &Tamper,
    ) -> V3Response {
        let mut wire = Vec::new();
        let mut signed = Map::new();
        for (key, param) in params {
            match param {
                Param::One(value) => {
                    wire.push(format!("{}={}", encode(key), encode(value)));
                    signed.insert((*key).to_string(), json!(value));
                }
                Param::List(values) => {
                    for value in values {
                        wire.push(format!("{}[]={}", encode(key), encode(value)));
                    }
                    signed.insert((*key).to_string(), json!(values));
                }
            }
        }
        let path = format!("/api/v3/{name}");
        let url = if wire.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{}", self.base, wire.join("&"))
        };
        let request = self.http.get(url);
        self.send(request, "GET", &path, &signed, tamper).await
    }

    /// `GET /api/v3/<name>?<raw query>` (signed with the query as it is: scalars only).
    pub async fn get_raw(&self, name: &str, raw_query: &str) -> V3Response {
        let path = format!("/api/v3/{name}");
        let mut signed = Map::new();
        for pair in raw_query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            signed.insert(key.to_string(), json!(value));
        }
        let request = self.http.get(format!("{}{path}?{raw_query}", self.base));
        self.send(request, "GET", &path, &signed, &Tamper::default())
            .await
    }

    /// `POST /api/v3/<name>` with a JSON body.
    pub async fn post(&self, name: &str, body: Value) -> V3Response {
        self.post_tampered(name, body, &Tamper::default()).await
    }

    pub async fn post_tampered(&self, name: &str, body: Value, tamper: &Tamper) -> V3Response {
        let path = format!("/api/v3/{name}");
        let signed = body.as_object().cloned().unwrap_or_default();
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).expect("JSON body"));
        self.send(request, "POST", &path, &signed, tamper).await
    }

    async fn send(
        &self,
        mut request: reqwest::RequestBuilder,
        method: &str,
        path: &str,
        params: &Map<String, Value>,
        tamper: &Tamper,
    ) -> V3Response {
        request = request
            .header("x-authing-lang", "zh-CN")
            .header("x-authing-sdk-version", "authing-sync-conformance:1");
        let mut authorization = None;
        let mut signed_headers = Vec::new();
        match &self.auth {
            Auth::Anonymous => {}
            Auth::Bearer(token) => authorization = Some(format!("Bearer {token}")),
            Auth::Bare(token) => authorization = Some(token.clone()),
            Auth::Sign { ak, sk } => {
                let mut headers: Vec<(String, String)> = vec![
                    ("x-authing-lang".into(), "zh-CN".into()),
                    (
                        "x-authing-sdk-version".into(),
                        "authing-sync-conformance:1".into(),
                    ),
                    (
                        "x-authing-signature-method".into(),
                        tamper.method.clone().unwrap_or_else(|| "HMAC-SHA1".into()),
                    ),
                    (
                        "x-authing-signature-version".into(),
                        tamper.version.clone().unwrap_or_else(|| "1.0".into()),
                    ),
                    (
                        "x-authing-signature-nonce".into(),
                        format!("{}{}", unique(), unique()),
                    ),
                ];
                let date = tamper
                    .date
                    .clone()
                    .unwrap_or_else(|| httpdate::fmt_http_date(SystemTime::now()));
                if !date.is_empty() {
                    headers.push(("date".into(), date));
                }
                let secret = tamper.secret.as_deref().unwrap_or(sk);
                let signature = sign(secret, method, path, &headers, params);
                authorization = Some(format!("authing {ak}:{signature}"));
                signed_headers = headers;
            }
        }
        if let Some(replay) = &tamper.replay {
            signed_headers = replay.headers.clone();
            authorization = replay.authorization.clone();
        }
        for (name, value) in &signed_headers {
            if !name.starts_with("x-authing-lang") && !name.starts_with("x-authing-sdk") {
                request = request.header(name.as_str(), value.as_str());
            }
        }
        if let Some(value) = &authorization {
            request = request.header("authorization", value.as_str());
        }
        if let Some(pool) = &self.userpool_id {
            request = request.header("x-authing-userpool-id", pool.as_str());
        }
        let response = request
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        let http = response.status().as_u16();
        let bytes = response.bytes().await.expect("response body");
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        V3Response {
            http,
            body,
            sent: Sent {
                headers: signed_headers,
                authorization,
            },
        }
    }
}

/// authing-node-sdk 4.x's signature: `METHOD\n`, the `x-authing-*` and `date` headers sorted as
/// `key:value\n`, the path, and `?` with the sorted top-level parameters (objects as JSON).
pub fn sign(
    secret: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    params: &Map<String, Value>,
) -> String {
    let mut headers: Vec<&(String, String)> = headers
        .iter()
        .filter(|(name, _)| name.starts_with("x-authing-") || name == "date")
        .collect();
    headers.sort();
    let mut text = format!("{method}\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}:{}\n", value.trim()));
    }
    text.push_str(path);
    let mut keys: Vec<&String> = params.keys().collect();
    keys.sort();
    if !keys.is_empty() {
        let pairs: Vec<String> = keys
            .iter()
            .map(|key| {
                let value = match &params[key.as_str()] {
                    Value::String(text) => text.clone(),
                    other => serde_json::to_string(other).expect("JSON"),
                };
                format!("{key}={value}")
            })
            .collect();
        text.push('?');
        text.push_str(&pairs.join("&"));
    }
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes());
    STANDARD.encode(hmac::sign(&key, text.as_bytes()).as_ref())
}
