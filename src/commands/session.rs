//! A connection for one command: the Authing client, and for `--endpoint local` the embedded
//! emulator it talks to (over real HTTP on loopback), with its pool kept in
//! `.authing-sync/local-pool.json` under the working directory.

use std::path::PathBuf;
use std::time::Duration;

use crate::emulator::{self, Emulator};
use crate::exit::Error;
use crate::plan::file::PoolRef;
use crate::printer::Printer;
use crate::remote::{
    AUTHING_PUBLIC_KEY, AuthingClient, ClientConfig, PasswordEncryptor, TransportConfig,
};
use crate::secret::Secret;
use crate::settings::{Connection, Endpoint, PublicKeySource, SettingsError};

/// Where `--endpoint local` keeps its pool.
pub const LOCAL_DIR: &str = ".authing-sync";
pub const LOCAL_POOL: &str = "local-pool.json";

/// The most bytes a public-key URL may answer with.
const MAX_KEY_BYTES: usize = 64 * 1024;

pub struct Session {
    pub client: AuthingClient,
    pub concurrency: usize,
    /// The pool, as saved plans name it (`local` for the embedded emulator).
    pub pool: PoolRef,
    local: Option<Emulator>,
}

impl Session {
    pub async fn open(connection: &Connection, printer: &Printer) -> Result<Session, Error> {
        let (endpoint, client_id, secret, local, pool_endpoint) = match &connection.endpoint {
            Endpoint::Remote(url) => {
                let credentials = connection
                    .credentials
                    .as_ref()
                    .ok_or(SettingsError::MissingClientId)?;
                (
                    url.clone(),
                    credentials.client_id.clone(),
                    credentials.secret.clone(),
                    None,
                    url.to_string(),
                )
            }
            Endpoint::Local => {
                let emulator = start_local(printer).await?;
                let url = reqwest::Url::parse(&emulator.graphql_url()).map_err(|err| {
                    SettingsError::InvalidEndpoint {
                        value: emulator.graphql_url(),
                        reason: err.to_string(),
                    }
                })?;
                let secret = Secret::new(emulator::DEFAULT_SECRET);
                (
                    url,
                    emulator::DEFAULT_CLIENT_ID.to_string(),
                    secret,
                    Some(emulator),
                    "local".to_string(),
                )
            }
        };
        let pem = match (&connection.public_key, &local) {
            (PublicKeySource::Pem(pem), _) => pem.clone(),
            (PublicKeySource::Url(url), _) => fetch_key(url.clone(), connection.timeout).await?,
            (PublicKeySource::Default, Some(emulator)) => {
                let url = format!("http://{}/__emulator/public-key", emulator.addr());
                let url = reqwest::Url::parse(&url).map_err(|err| SettingsError::PublicKey {
                    origin: url.clone(),
                    reason: err.to_string(),
                })?;
                fetch_key(url, connection.timeout).await?
            }
            (PublicKeySource::Default, None) => AUTHING_PUBLIC_KEY.to_string(),
        };
        let encryptor =
            PasswordEncryptor::from_pem(&pem).map_err(|err| SettingsError::PublicKey {
                origin: "--public-key".into(),
                reason: err.to_string(),
            })?;
        let mut transport = TransportConfig::new(endpoint);
        transport.rate = connection.rate;
        transport.concurrency = connection.concurrency;
        transport.retries = connection.retries;
        transport.timeout = connection.timeout;
        let config = ClientConfig {
            transport,
            client_id: client_id.clone(),
            secret,
            encryptor,
        };
        let client = match AuthingClient::connect(config).await {
            Ok(client) => client,
            Err(err) => {
                if let Some(emulator) = local {
                    let _ = emulator.shutdown().await;
                }
                return Err(err.into());
            }
        };
        Ok(Session {
            client,
            concurrency: connection.concurrency,
            pool: PoolRef {
                endpoint: pool_endpoint,
                client_id,
            },
            local,
        })
    }

    /// Ends the session; the embedded emulator writes its pool file.
    pub async fn close(self) -> Result<(), Error> {
        if let Some(emulator) = self.local {
            emulator.shutdown().await?;
        }
        Ok(())
    }
}

async fn start_local(printer: &Printer) -> Result<Emulator, Error> {
    let dir = PathBuf::from(LOCAL_DIR);
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        action: "create",
        path: dir.clone(),
        source,
    })?;
    let state = dir.join(LOCAL_POOL);
    let config = emulator::Config {
        state: Some(state.clone()),
        ..emulator::Config::default()
    };
    let emulator = Emulator::start(config).await?;
    printer.status(format!(
        "Using the local emulator; its pool is kept in {}",
        state.display()
    ));
    Ok(emulator)
}

async fn fetch_key(url: reqwest::Url, timeout: Duration) -> Result<String, SettingsError> {
    let failed = |reason: String| SettingsError::PublicKey {
        origin: url.to_string(),
        reason,
    };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|err| failed(err.to_string()))?;
    let mut response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|err| failed(err.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("HTTP status {}", response.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| failed(err.without_url().to_string()))?
    {
        if body.len() + chunk.len() > MAX_KEY_BYTES {
            return Err(failed(format!(
                "the answer is larger than {MAX_KEY_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| failed("the answer is not text".into()))
}
