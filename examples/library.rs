//! Using authing-sync as a library: load manifests, read the pool, diff, print the summary.
//!
//! ```sh
//! cargo run --example library -- manifests/example.yaml
//! ```
//!
//! With `AUTHING_ENDPOINT`, `AUTHING_CLIENT_ID` and `AUTHING_SECRET` set it reads that pool;
//! otherwise it starts the emulator in-process with a generated pool of 25 users.

use std::path::PathBuf;

use authing_sync::diff::{Policy, diff};
use authing_sync::emulator::{self, Emulator};
use authing_sync::manifest;
use authing_sync::remote::{
    AUTHING_PUBLIC_KEY, AuthingClient, ClientConfig, FetchScope, MfaScope, PasswordEncryptor,
    Remote, TransportConfig, fetch,
};
use authing_sync::render::human::summary_line;
use authing_sync::report::Silent;
use authing_sync::secret::Secret;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let paths = if paths.is_empty() {
        vec![PathBuf::from("manifests/example.yaml")]
    } else {
        paths
    };
    let desired = manifest::load(&paths)?.state;

    // A real pool from the environment, or an emulator in this process.
    let (endpoint, client_id, secret, public_key, local) = match (
        std::env::var("AUTHING_ENDPOINT"),
        std::env::var("AUTHING_CLIENT_ID"),
        std::env::var("AUTHING_SECRET"),
    ) {
        (Ok(endpoint), Ok(client_id), Ok(secret)) => (
            endpoint,
            client_id,
            secret,
            AUTHING_PUBLIC_KEY.to_string(),
            None,
        ),
        _ => {
            let config = emulator::Config {
                generate: Some(25),
                ..emulator::Config::default()
            };
            let emulator = Emulator::start(config).await?;
            let key = emulator.public_key_pem().to_string();
            (
                emulator.graphql_url(),
                emulator::DEFAULT_CLIENT_ID.into(),
                emulator::DEFAULT_SECRET.into(),
                key,
                Some(emulator),
            )
        }
    };

    let config = ClientConfig {
        transport: TransportConfig::new(endpoint.parse()?),
        client_id,
        secret: Secret::from(secret),
        encryptor: PasswordEncryptor::from_pem(&public_key)?,
    };
    let client = Remote::V1(AuthingClient::connect(config).await?);
    let scope = FetchScope {
        match_on: desired.match_on,
        mfa: MfaScope::Managed(desired.managed_mfa()),
        whitelist: desired.manages_whitelist(),
    };
    let live = fetch(&client, &scope, 8, &Silent).await?;
    let plan = diff(&desired, &live, &Policy::from_desired(&desired, false))?;

    println!(
        "{} users declared, {} in the pool",
        desired.users.len(),
        live.users.len()
    );
    println!("{}", summary_line(&plan.summary()));
    println!("{} API calls", client.stats().total());
    if let Some(emulator) = local {
        emulator.shutdown().await?;
    }
    Ok(())
}
