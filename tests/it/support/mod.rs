//! Test support shared by every integration test: start the real `authing-sync emulator` binary
//! on an ephemeral port ([`Emulator`]), talk GraphQL to it ([`Gql`]), read its stats, public key
//! and mailbox, encrypt passwords the way Authing's SDKs do ([`encrypt_password`]), and stop it
//! gracefully (SIGTERM) or brutally (SIGKILL). A running emulator is killed when its handle is
//! dropped.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine;
use rsa::pkcs1v15::EncryptingKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::RandomizedEncryptor;
use serde_json::{Value, json};

mod cli;
pub mod pool;
pub mod scripted;

pub use cli::{Api, Run, Sync, renaming_manifest, write_file};
pub use pool::{operation_count, read as read_pool, writes};

/// The pool id and secret the emulator uses unless told otherwise.
pub const CLIENT_ID: &str = authing_sync::emulator::DEFAULT_CLIENT_ID;
pub const SECRET: &str = authing_sync::emulator::DEFAULT_SECRET;

/// How long a started emulator may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Options for starting an emulator; every `emulator` flag is reachable through [`arg`](Self::arg).
#[derive(Debug, Clone, Default)]
pub struct EmulatorBuilder {
    args: Vec<String>,
    capture_stderr: bool,
    listen: Option<String>,
}

impl EmulatorBuilder {
    /// Adds one command-line argument (e.g. `.arg("--fault-rate").arg("0.5")`).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// `--generate N`.
    pub fn generate(self, count: u64) -> Self {
        self.arg("--generate").arg(count.to_string())
    }

    /// `--generate-phones N`: whitelist phones `19900000001` to `199` and N in 8 digits.
    pub fn generate_phones(self, count: u64) -> Self {
        self.arg("--generate-phones").arg(count.to_string())
    }

    /// Listens on this loopback address instead of an ephemeral port (to restart an emulator
    /// on the port it had).
    pub fn listen(mut self, address: &str) -> Self {
        self.listen = Some(address.to_string());
        self
    }

    /// `--state FILE`.
    pub fn state(self, path: &Path) -> Self {
        self.arg("--state").arg(path.display().to_string())
    }

    /// `--fault-rate P --fault-seed SEED`.
    pub fn faults(self, rate: f64, seed: u64) -> Self {
        self.arg("--fault-rate")
            .arg(rate.to_string())
            .arg("--fault-seed")
            .arg(seed.to_string())
    }

    /// Keeps the emulator's stderr for [`Emulator::stderr`] instead of passing it through.
    pub fn capture_stderr(mut self) -> Self {
        self.capture_stderr = true;
        self
    }

    /// Starts the binary and waits for its `listening on http://ADDR/graphql` line.
    pub fn start(self) -> Emulator {
        let stderr_file = self
            .capture_stderr
            .then(|| tempfile::NamedTempFile::new().expect("temp file for the emulator's stderr"));
        let stderr = match &stderr_file {
            Some(file) => Stdio::from(file.reopen().expect("reopen stderr file")),
            None => Stdio::inherit(),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_authing-sync"))
            .arg("emulator")
            .arg("--listen")
            .arg(self.listen.as_deref().unwrap_or("127.0.0.1:0"))
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn authing-sync emulator");
        let stdout = child.stdout.take().expect("emulator stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = sender.send(line);
            // Keep draining so the emulator never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = match receiver.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("the emulator printed no address within {START_TIMEOUT:?}");
            }
        };
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("unexpected first line from the emulator: {line:?}")
            })
            .to_string();
        assert!(
            url.starts_with("http://127.0.0.1:") && url.ends_with("/graphql"),
            "{url}"
        );
        let base = url.trim_end_matches("/graphql").to_string();
        Emulator {
            child: Some(child),
            url,
            base,
            stderr_file,
            http: http_client(),
        }
    }
}

/// A reqwest client for tests: no proxy, short timeouts.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// A running `authing-sync emulator` process.
pub struct Emulator {
    child: Option<Child>,
    url: String,
    base: String,
    stderr_file: Option<tempfile::NamedTempFile>,
    http: reqwest::Client,
}

impl Emulator {
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// An in-memory emulator with default settings.
    pub fn start() -> Emulator {
        Self::builder().start()
    }

    /// The GraphQL endpoint, `http://127.0.0.1:PORT/graphql`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// An anonymous GraphQL client for this emulator.
    pub fn gql(&self) -> Gql {
        Gql::new(&self.url)
    }

    /// `GET /__emulator/stats`.
    pub async fn stats(&self) -> Value {
        self.get_json("/__emulator/stats").await
    }

    /// `GET /__emulator/mailbox`.
    pub async fn mailbox(&self) -> Value {
        self.get_json("/__emulator/mailbox").await
    }

    /// `GET /__emulator/public-key`: the PEM clients encrypt passwords with.
    pub async fn public_key(&self) -> String {
        let response = self
            .http
            .get(format!("{}/__emulator/public-key", self.base))
            .send()
            .await
            .expect("GET public-key");
        assert_eq!(response.status(), 200);
        response.text().await.expect("public key body")
    }

    async fn get_json(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path}: {error}"));
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }

    /// What the emulator wrote on stderr so far (needs [`EmulatorBuilder::capture_stderr`]).
    pub fn stderr(&self) -> String {
        let Some(file) = &self.stderr_file else {
            return String::new();
        };
        let mut text = String::new();
        let _ = file.reopen().and_then(|mut f| f.read_to_string(&mut text));
        text
    }

    /// Graceful stop: SIGTERM, then wait for the process to exit (it writes its state file).
    pub fn stop(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running emulator");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill -TERM");
        assert!(status.success(), "kill -TERM failed");
        child.wait().expect("wait for the emulator")
    }

    /// Brutal stop: SIGKILL, no chance to write anything.
    pub fn kill(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One GraphQL answer: the HTTP status and the JSON body.
#[derive(Debug, Clone)]
pub struct GqlResponse {
    pub status: u16,
    pub body: Value,
}

impl GqlResponse {
    /// `data.<field>`.
    pub fn data(&self, field: &str) -> &Value {
        &self.body["data"][field]
    }

    /// The `errors` array (empty if none).
    pub fn errors(&self) -> Vec<Value> {
        self.body["errors"].as_array().cloned().unwrap_or_default()
    }

    /// `errors[0].message.code`, the Authing error code, if any.
    pub fn code(&self) -> Option<i64> {
        self.body["errors"][0]["message"]["code"].as_i64()
    }

    /// Panics unless the answer is HTTP 200 with no errors; returns `data.<field>`.
    pub fn ok(&self, field: &str) -> &Value {
        assert_eq!(self.status, 200, "HTTP status; body: {}", self.body);
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        self.data(field)
    }

    /// Panics unless the answer is Authing's error `code` for `field` (HTTP 200, message an
    /// object, `data.<field>` null).
    pub fn expect_code(&self, field: &str, code: i64) {
        assert_eq!(self.status, 200, "HTTP status; body: {}", self.body);
        assert_eq!(self.code(), Some(code), "error code; body: {}", self.body);
        let message = &self.body["errors"][0]["message"];
        assert!(
            message["message"].is_string(),
            "message object: {}",
            self.body
        );
        assert!(
            self.data(field).is_null(),
            "data.{field} not null: {}",
            self.body
        );
        assert_eq!(
            self.body["errors"][0]["path"][0], field,
            "path: {}",
            self.body
        );
    }
}

/// A GraphQL client with an optional `Authorization: Bearer` token.
#[derive(Debug, Clone)]
pub struct Gql {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
    bare_token: bool,
}

impl Gql {
    pub fn new(url: &str) -> Gql {
        Gql {
            http: http_client(),
            url: url.to_string(),
            token: None,
            bare_token: false,
        }
    }

    /// The same client sending `Authorization: Bearer <token>`.
    pub fn with_token(&self, token: &str) -> Gql {
        Gql {
            token: Some(token.to_string()),
            bare_token: false,
            ..self.clone()
        }
    }

    /// The same client sending the token with no `Bearer ` prefix.
    pub fn with_bare_token(&self, token: &str) -> Gql {
        Gql {
            token: Some(token.to_string()),
            bare_token: true,
            ..self.clone()
        }
    }

    /// `{query, variables}`.
    pub async fn query(&self, query: &str, variables: Value) -> GqlResponse {
        self.send(json!({"query": query, "variables": variables}))
            .await
            .expect("POST /graphql")
    }

    /// `{query, variables, operationName}`.
    pub async fn operation(&self, query: &str, variables: Value, name: &str) -> GqlResponse {
        self.send(json!({"query": query, "variables": variables, "operationName": name}))
            .await
            .expect("POST /graphql")
    }

    /// Any JSON body; a transport error (e.g. a dropped connection) is returned as is.
    pub async fn send(&self, body: Value) -> Result<GqlResponse, reqwest::Error> {
        let response = self.raw(body).await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok(GqlResponse { status, body })
    }

    /// The raw HTTP response.
    pub async fn raw(&self, body: Value) -> Result<reqwest::Response, reqwest::Error> {
        let mut request = self.http.post(&self.url).json(&body);
        if let Some(token) = &self.token {
            let value = if self.bare_token {
                token.clone()
            } else {
                format!("Bearer {token}")
            };
            request = request.header("Authorization", value);
        }
        request.send().await
    }
}

/// Encrypts a password as Authing's SDKs do: RSA PKCS#1 v1.5 with `public_key_pem`, base64.
pub fn encrypt_password(public_key_pem: &str, password: &str) -> String {
    let key = rsa::PublicKey::from_public_key_pem(public_key_pem).expect("public key PEM");
    let ciphertext = EncryptingKey::new(key)
        .encrypt_with_rng(&mut rand::rng(), password.as_bytes())
        .expect("encrypt password");
    base64::engine::general_purpose::STANDARD.encode(ciphertext)
}

/// A temp directory for state files.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `dir/name`.
pub fn path_in(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// A short random suffix for unique emails and usernames.
pub fn unique() -> String {
    use rand::RngExt;
    let n: u64 = rand::rng().random();
    format!("{n:012x}")[..12].to_string()
}
