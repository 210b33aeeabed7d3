//! A connection for one command: the Authing client for the API `--api` names (v1 GraphQL or
//! v3 REST, one [`Remote`] either way), and for `--endpoint local` the embedded emulator it
//! talks to (over real HTTP on loopback; v3 at its base URL), with its pool kept in
//! `.authing-sync/local-pool.json` under the working directory.

use std::path::PathBuf;
use std::time::Duration;

use crate::emulator::{self, Emulator};
use crate::exit::Error;
use crate::plan::file::PoolRef;
use crate::printer::Printer;
use crate::remote::{
    AUTHING_PUBLIC_KEY, Api, AuthingClient, ClientConfig, PasswordEncryptor, Remote,
    TransportConfig, V3Client,
};
use crate::secret::Secret;
use crate::settings::{Connection, Endpoint, PublicKeySource, SettingsError};

/// Where `--endpoint local` keeps its pool.
pub const LOCAL_DIR: &str = ".authing-sync";
pub const LOCAL_POOL: &str = "local-pool.json";

/// The most bytes a public-key URL may answer with.
const MAX_KEY_BYTES: usize = 64 * 1024;

pub struct Session {
    pub client: Remote,
    pub concurrency: usize,
    /// The pool, as saved plans name it (`local` for the embedded emulator).
    pub pool: PoolRef,
    local: Option<LocalPool>,
}

impl Session {
    pub async fn open(connection: &Connection, printer: &Printer) -> Result<Session, Error> {
        match &connection.endpoint {
            Endpoint::Remote(url) => {
                let credentials = connection
                    .credentials
                    .as_ref()
                    .ok_or(SettingsError::MissingClientId)?;
                let pem = key_pem(connection, None).await?;
                let client_id = credentials.client_id.clone();
                let client = connect(
                    connection,
                    url.clone(),
                    &client_id,
                    credentials.secret.clone(),
                    &pem,
                )
                .await?;
                let pool = PoolRef {
                    endpoint: crate::secret::endpoint_without_secrets(url.as_str()),
                    client_id,
                    api: Some(connection.api.name().into()),
                };
                Ok(Session {
                    client,
                    concurrency: connection.concurrency,
                    pool,
                    local: None,
                })
            }
            Endpoint::Local => {
                let local = LocalPool::start(printer).await?;
                let attempt = async {
                    let address = match connection.api {
                        Api::V1 => local.emulator.graphql_url(),
                        Api::V3 => local.emulator.base_url(),
                    };
                    let url = reqwest::Url::parse(&address).map_err(|err| {
                        SettingsError::InvalidEndpoint {
                            value: address.clone(),
                            reason: err.to_string(),
                        }
                    })?;
                    let pem = key_pem(connection, Some(&local.emulator)).await?;
                    let secret = Secret::new(emulator::DEFAULT_SECRET);
                    connect(connection, url, emulator::DEFAULT_CLIENT_ID, secret, &pem).await
                }
                .await;
                match attempt {
                    Ok(client) => Ok(Session {
                        client,
                        concurrency: connection.concurrency,
                        pool: PoolRef {
                            endpoint: "local".into(),
                            client_id: emulator::DEFAULT_CLIENT_ID.into(),
                            api: Some(connection.api.name().into()),
                        },
                        local: Some(local),
                    }),
                    Err(err) => {
                        // The pool file is written whatever went wrong after the start.
                        let _ = local.close().await;
                        Err(err)
                    }
                }
            }
        }
    }

    /// Ends the session; the embedded emulator writes its pool file.
    pub async fn close(self) -> Result<(), Error> {
        match self.local {
            Some(local) => local.close().await,
            None => Ok(()),
        }
    }
}

/// The embedded emulator of `--endpoint local`, and the lock that keeps a second authing-sync in
/// the same directory from writing the same pool file at the same time.
struct LocalPool {
    emulator: Emulator,
    _lock: std::fs::File,
}

impl LocalPool {
    async fn start(printer: &Printer) -> Result<LocalPool, Error> {
        let dir = PathBuf::from(LOCAL_DIR);
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            action: "create",
            path: dir.clone(),
            source,
        })?;
        let lock_path = dir.join("lock");
        let lock = std::fs::File::create(&lock_path).map_err(|source| Error::Io {
            action: "create",
            path: lock_path.clone(),
            source,
        })?;
        lock.try_lock().map_err(|err| match err {
            std::fs::TryLockError::WouldBlock => Error::LocalPoolBusy { path: dir.clone() },
            std::fs::TryLockError::Error(source) => Error::Io {
                action: "lock",
                path: lock_path.clone(),
                source,
            },
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
        Ok(LocalPool {
            emulator,
            _lock: lock,
        })
    }

    async fn close(self) -> Result<(), Error> {
        self.emulator.shutdown().await?;
        Ok(())
    }
}

/// The PEM passwords are encrypted with.
async fn key_pem(connection: &Connection, local: Option<&Emulator>) -> Result<String, Error> {
    Ok(match (&connection.public_key, local) {
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
    })
}

/// The client for the API asked for, authenticated.
async fn connect(
    connection: &Connection,
    endpoint: reqwest::Url,
    client_id: &str,
    secret: Secret,
    pem: &str,
) -> Result<Remote, Error> {
    let encryptor = PasswordEncryptor::from_pem(pem).map_err(|err| SettingsError::PublicKey {
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
        client_id: client_id.to_string(),
        secret,
        encryptor,
    };
    Ok(match connection.api {
        Api::V1 => Remote::V1(AuthingClient::connect(config).await?),
        Api::V3 => Remote::V3(V3Client::connect(config).await?),
    })
}

async fn fetch_key(url: reqwest::Url, timeout: Duration) -> Result<String, SettingsError> {
    let failed = |reason: String| SettingsError::PublicKey {
        origin: crate::secret::endpoint_without_secrets(url.as_str()),
        reason,
    };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        // A redirect could lead to plain HTTP on another host: the key's origin is checked once.
        .redirect(reqwest::redirect::Policy::none())
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
