//! Where the conformance cases run: a freshly spawned emulator (the default), or a real Authing
//! pool when `AUTHING_CONFORMANCE_ENDPOINT`, `AUTHING_CONFORMANCE_CLIENT_ID` and
//! `AUTHING_CONFORMANCE_SECRET` are set (`AUTHING_CONFORMANCE_PUBLIC_KEY` may hold the PEM the
//! pool decrypts passwords with; Authing's published key otherwise). Cases that only make sense
//! on the emulator (faults, state files, stats) call [`Target::emulator`] and skip on a real pool.

use serde_json::json;

use crate::support::{CLIENT_ID, Emulator, Gql, SECRET, encrypt_password, unique};

/// Authing's published password key (wire facts, section 5).
const AUTHING_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC4xKeUgQ+Aoz7TLfAfs9+paePb
5KIofVthEopwrXFkp8OCeocaTHt9ICjTT2QeJh6cZaDaArfZ873GPUn00eOIZ7Ae
+TiA2BKHbCvloW3w5Lnqm70iSsUi5Fmu9/2+68GZRH9L7Mlh8cFksCicW2Y2W2uM
GKl64GDcIq3au+aqJQIDAQAB
-----END PUBLIC KEY-----
";

/// A pool to run wire-level cases against.
pub struct Target {
    pub url: String,
    pub client_id: String,
    pub secret: String,
    pub public_key: String,
    emulator: Option<Emulator>,
}

impl Target {
    /// The real pool named by the environment, else a new in-memory emulator.
    pub async fn new() -> Target {
        match real_pool_from_env() {
            Some(target) => target,
            None => Self::on(Emulator::start()).await,
        }
    }

    /// A target backed by an emulator started with particular flags.
    pub async fn on(emulator: Emulator) -> Target {
        let public_key = emulator.public_key().await;
        Target {
            url: emulator.url().to_string(),
            client_id: CLIENT_ID.to_string(),
            secret: SECRET.to_string(),
            public_key,
            emulator: Some(emulator),
        }
    }

    /// The emulator behind this target, or `None` on a real pool (emulator-only cases return).
    pub fn emulator(&self) -> Option<&Emulator> {
        self.emulator.as_ref()
    }

    /// The emulator behind this target, taken out (to stop or kill it).
    pub fn into_emulator(self) -> Option<Emulator> {
        self.emulator
    }

    pub fn anonymous(&self) -> Gql {
        Gql::new(&self.url)
    }

    /// An owner token, fetched with the SDK's init query.
    pub async fn owner_token(&self) -> String {
        let response = self
            .anonymous()
            .query(
                &super::documents::init_sdk(&self.secret, &self.client_id),
                json!({}),
            )
            .await;
        response.ok("getClientWhenSdkInit")["accessToken"]
            .as_str()
            .expect("accessToken")
            .to_string()
    }

    /// A client carrying the owner token.
    pub async fn owner(&self) -> Gql {
        let token = self.owner_token().await;
        self.anonymous().with_token(&token)
    }

    pub fn encrypt(&self, password: &str) -> String {
        encrypt_password(&self.public_key, password)
    }

    /// Registers a user with the SDK document; returns `(id, email, register token)`.
    pub async fn register(&self, password: &str) -> (String, String, String) {
        let email = format!("conf-{}@example.com", unique());
        let response = self
            .anonymous()
            .query(
                super::documents::REGISTER_SDK,
                json!({
                    "email": email,
                    "password": self.encrypt(password),
                    "registerInClient": self.client_id,
                    "nickname": "Conformance",
                }),
            )
            .await;
        let user = response.ok("register");
        (
            user["_id"].as_str().expect("_id").to_string(),
            email,
            user["token"].as_str().expect("token").to_string(),
        )
    }

    /// Logs a user in by email; returns the logged-in token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self
            .anonymous()
            .query(
                super::documents::LOGIN_SDK,
                json!({
                    "email": email,
                    "password": self.encrypt(password),
                    "registerInClient": self.client_id,
                }),
            )
            .await;
        response.ok("login")["token"]
            .as_str()
            .expect("token")
            .to_string()
    }
}

fn real_pool_from_env() -> Option<Target> {
    let url = std::env::var("AUTHING_CONFORMANCE_ENDPOINT").ok()?;
    let client_id = std::env::var("AUTHING_CONFORMANCE_CLIENT_ID").ok()?;
    let secret = std::env::var("AUTHING_CONFORMANCE_SECRET").ok()?;
    let public_key = std::env::var("AUTHING_CONFORMANCE_PUBLIC_KEY")
        .unwrap_or_else(|_| AUTHING_PUBLIC_KEY.to_string());
    Some(Target {
        url,
        client_id,
        secret,
        public_key,
        emulator: None,
    })
}
