//! The Authing-compatible emulator: a GraphQL server (async-graphql on axum) that speaks
//! Authing's v1 users API as the wire facts describe it, quirks included, and, on the same port
//! over the same store, the v3 management REST API (`/api/v3/...`). It knows the wire protocols
//! and its own store, and nothing of the planner: the only thing it takes from the rest of the
//! crate is [`crate::secret::Secret`].
//!
//! Module map:
//!
//! | module | owns |
//! |---|---|
//! | `http` | axum router, body parsing, error-object rewriting, faults, latency, request log |
//! | `schema` | the GraphQL types, named as in Authing's SDL |
//! | `query`, `mutation` | the root resolvers (`createUser` apart) |
//! | `fast` | `users`/`userPatch` documents answered straight from the store once async-graphql answered them |
//! | `dialect` | the schema served: the 2020 one, or an older server's (`--without-create-user`, `--whitelist-spelling 2019`) |
//! | `invitation` | the whitelist operations and types, in both spellings |
//! | `accounts` | register, login, updateUser, refreshToken rules |
//! | `session` | owner tokens, checkLoginStatus, decodeJwtToken |
//! | `whitelist`, `mfa` | the phone whitelist and MFA records |
//! | `context` | shared state, the caller and the token rules |
//! | `errors` | Authing's error codes and messages |
//! | `store`, `event` | the pool in memory and its mutation vocabulary |
//! | `persist` | the `--state` snapshot and journal |
//! | `generate` | the `--generate N` synthetic users and `--generate-phones N` whitelist phones |
//! | `tokens`, `crypto` | JWTs; the RSA key pair and password hashes |
//! | `faults`, `stats`, `dates` | injected faults, rate and register limits; counters; JS date strings |
//! | `v3` | the v3 management REST API: envelope, both authentication schemes, users, whitelist |
//!
//! `docs/emulator.md` lists every flag and endpoint and every choice made where Authing's
//! behaviour is unconfirmed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::secret::Secret;

mod accounts;
mod context;
mod crypto;
mod dates;
mod dialect;
mod errors;
mod event;
mod fast;
mod faults;
mod generate;
mod http;
mod invitation;
mod mfa;
mod mutation;
mod persist;
mod query;
mod schema;
mod session;
mod stats;
mod store;
mod tokens;
mod v3;
mod whitelist;

pub use dialect::{Dialect, WhitelistSpelling};
pub use persist::PersistError;
pub use stats::StatsSnapshot;

use context::{Pool, Shared};
use crypto::{KeyError, RsaKeys};
use dialect::ApiSchema;
use event::Event;
use faults::{FaultPlan, RateLimit, RegisterLimit};
use persist::{Persistence, SavedKeys};
use store::Store;
use tokens::TokenSigner;

/// The pool id the emulator serves unless told otherwise.
pub const DEFAULT_CLIENT_ID: &str = "5c9f7e1a2b3c4d5e6f708192";
/// The pool secret the emulator expects unless told otherwise (a local test value).
pub const DEFAULT_SECRET: &str = "local-emulator-secret";
/// Owner tokens live this long unless `--token-ttl` says otherwise.
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 86_400;
pub use v3::DEFAULT_MANAGEMENT_TOKEN_TTL_SECS;
/// `--register-limit` counts `register` calls in windows this long unless `--register-window`
/// says otherwise (Authing's documented 300 s).
pub const DEFAULT_REGISTER_WINDOW_SECS: u64 = 300;
/// The most phones `--generate-phones` makes (phone i is `199` and i in 8 digits).
pub const MAX_GENERATED_PHONES: u64 = generate::MAX_PHONES;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EmulatorError {
    #[error("failed to listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to prepare the emulator's keys")]
    Keys(#[source] KeyError),
    #[error(transparent)]
    State(#[from] PersistError),
    #[error("failed to prepare the pool")]
    Prepare(#[source] tokio::task::JoinError),
    #[error("failed to serve")]
    Serve(#[source] std::io::Error),
}

/// Everything the emulator is started with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub client_id: String,
    pub secret: Secret,
    pub state: Option<PathBuf>,
    pub generate: Option<u64>,
    /// Synthetic whitelist phones to start with (only into an empty pool, like `generate`).
    pub generate_phones: Option<u64>,
    pub latency_ms: u64,
    pub fault_rate: f64,
    pub fault_seed: u64,
    pub rate_limit: Option<u32>,
    pub log_requests: bool,
    /// Owner-token lifetime in seconds.
    pub token_ttl_secs: u64,
    /// v3 management-token lifetime in seconds.
    pub management_token_ttl_secs: u64,
    /// At most this many `register` calls per client address per register window.
    pub register_limit: Option<u32>,
    pub register_window_secs: u64,
    /// Which server the GraphQL schema pretends to be.
    pub dialect: Dialect,
}

impl Default for Config {
    /// An in-memory pool on an ephemeral loopback port, no faults.
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_id: DEFAULT_CLIENT_ID.to_string(),
            secret: Secret::new(DEFAULT_SECRET),
            state: None,
            generate: None,
            generate_phones: None,
            latency_ms: 0,
            fault_rate: 0.0,
            fault_seed: 0,
            rate_limit: None,
            log_requests: false,
            token_ttl_secs: DEFAULT_TOKEN_TTL_SECS,
            management_token_ttl_secs: DEFAULT_MANAGEMENT_TOKEN_TTL_SECS,
            register_limit: None,
            register_window_secs: DEFAULT_REGISTER_WINDOW_SECS,
            dialect: Dialect::default(),
        }
    }
}

/// A running emulator.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// How long a graceful shutdown waits for open requests before it stops anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl Emulator {
    /// Loads or creates the pool, binds `config.listen` and serves in the background. Returns
    /// once the pool is ready and the socket is listening.
    pub async fn start(config: Config) -> Result<Emulator, EmulatorError> {
        let prepare_config = config.clone();
        let shared = tokio::task::spawn_blocking(move || prepare(&prepare_config))
            .await
            .map_err(EmulatorError::Prepare)??;
        let shared = Arc::new(shared);
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| EmulatorError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: config.listen,
                source,
            })?;
        let schema = ApiSchema::build(config.dialect, shared.clone());
        let state = Arc::new(http::AppState {
            shared: shared.clone(),
            schema,
            wrap_validation_errors: config.dialect.wraps_validation_errors(),
            faults: FaultPlan::new(config.fault_rate, config.fault_seed),
            rate_limit: config.rate_limit.map(RateLimit::new),
            latency: Duration::from_millis(config.latency_ms),
            log_requests: config.log_requests,
            v3: v3::V3::new(config.management_token_ttl_secs),
            fast: Default::default(),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let app = http::router(state);
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
        });
        Ok(Emulator {
            addr,
            shared,
            stop: Some(stop),
            server,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The GraphQL endpoint URL.
    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// The base URL v3 paths (`/api/v3/...`) are appended to.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The public key (SPKI PEM) clients encrypt passwords with.
    pub fn public_key_pem(&self) -> &str {
        self.shared.keys.public_pem()
    }

    /// The counters `GET /__emulator/stats` serves.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// Stops serving and persists the state file, if any.
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut self.server).await {
            Ok(Ok(result)) => result.map_err(EmulatorError::Serve)?,
            Ok(Err(_)) => {}
            Err(_) => self.server.abort(),
        }
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.snapshot())
            .await
            .map_err(EmulatorError::Prepare)??;
        Ok(())
    }
}

/// Keys, store and persistence, ready to serve (blocking: key generation, loading, generating).
fn prepare(config: &Config) -> Result<Shared, EmulatorError> {
    let (store, persistence, keys) = match &config.state {
        Some(path) => {
            let fresh_keys = new_keys()?;
            let opened = Persistence::open(path, || fresh_keys)?;
            let keys = opened.persistence.keys().clone();
            (opened.store, Some(opened.persistence), keys)
        }
        None => (Store::default(), None, new_keys()?),
    };
    let rsa = RsaKeys::from_private_pem(&keys.rsa_private_key).map_err(EmulatorError::Keys)?;
    let ttl = i64::try_from(config.token_ttl_secs).unwrap_or(i64::MAX);
    // Both only into an empty pool, so a restarted `--state` pool is left as it is.
    let empty = store.is_empty();
    let generate = config.generate.filter(|count| *count > 0 && empty);
    let generate_phones = config
        .generate_phones
        .map(|count| count.min(MAX_GENERATED_PHONES))
        .filter(|count| *count > 0 && empty);
    let shared = Shared {
        client_id: config.client_id.clone(),
        secret: config.secret.clone(),
        pool: RwLock::new(Pool { store, persistence }),
        keys: rsa,
        tokens: TokenSigner::new(keys.signing_key, ttl),
        stats: stats::Stats::default(),
        register_limit: config.register_limit.map(|limit| {
            RegisterLimit::new(limit, Duration::from_secs(config.register_window_secs))
        }),
    };
    if let Some(count) = generate {
        shared.apply_unchecked(&[Event::Generate { count }])?;
    }
    if let Some(count) = generate_phones {
        shared.apply_unchecked(&[Event::GeneratePhones { count }])?;
    }
    Ok(shared)
}

fn new_keys() -> Result<SavedKeys, EmulatorError> {
    let rsa = RsaKeys::generate().map_err(EmulatorError::Keys)?;
    Ok(SavedKeys {
        signing_key: TokenSigner::random_key(),
        rsa_private_key: rsa.private_pem().map_err(EmulatorError::Keys)?,
    })
}
