//! The Authing-compatible emulator: a GraphQL server that speaks Authing's v1 users API as the
//! wire facts describe it, quirks included. It knows the wire protocol and its own store, and
//! nothing of the planner.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::secret::Secret;

/// The pool id the emulator serves unless told otherwise.
pub const DEFAULT_CLIENT_ID: &str = "5c9f7e1a2b3c4d5e6f708192";
/// The pool secret the emulator expects unless told otherwise (a local test value).
pub const DEFAULT_SECRET: &str = "local-emulator-secret";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EmulatorError {
    #[error("failed to listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Everything the emulator is started with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub client_id: String,
    pub secret: Secret,
    pub state: Option<PathBuf>,
    pub generate: Option<u64>,
    pub latency_ms: u64,
    pub fault_rate: f64,
    pub fault_seed: u64,
    pub rate_limit: Option<u32>,
    pub log_requests: bool,
}

/// A running emulator.
pub struct Emulator {
    addr: SocketAddr,
}

impl Emulator {
    pub async fn start(config: Config) -> Result<Emulator, EmulatorError> {
        Ok(Emulator {
            addr: config.listen,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The GraphQL endpoint URL.
    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// Stops serving and persists the state file, if any.
    pub async fn shutdown(self) -> Result<(), EmulatorError> {
        Ok(())
    }
}
