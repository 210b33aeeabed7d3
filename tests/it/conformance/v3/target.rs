//! Where the v3 cases run: a freshly spawned emulator (the default), or a real pool when
//! `AUTHING_CONFORMANCE_V3_ENDPOINT` (the base URL, e.g. `https://api.authing.cn`),
//! `AUTHING_CONFORMANCE_CLIENT_ID` and `AUTHING_CONFORMANCE_SECRET` are set. Cases about the
//! emulator itself call [`V3Target::emulator`] and skip on a real pool.

use serde_json::json;

use super::client::{Auth, V3Client};
use crate::support::{CLIENT_ID, Emulator, Gql, SECRET};

pub struct V3Target {
    pub base: String,
    pub client_id: String,
    pub secret: String,
    emulator: Option<Emulator>,
}

impl V3Target {
    /// The real pool named by the environment, else a new in-memory emulator.
    pub fn new() -> V3Target {
        match real_pool_from_env() {
            Some(target) => target,
            None => Self::on(Emulator::start()),
        }
    }

    pub fn on(emulator: Emulator) -> V3Target {
        V3Target {
            base: emulator.base_url().to_string(),
            client_id: CLIENT_ID.to_string(),
            secret: SECRET.to_string(),
            emulator: Some(emulator),
        }
    }

    /// The emulator behind this target, or `None` on a real pool.
    pub fn emulator(&self) -> Option<&Emulator> {
        self.emulator.as_ref()
    }

    pub fn into_emulator(self) -> Option<Emulator> {
        self.emulator
    }

    pub fn anonymous(&self) -> V3Client {
        V3Client::new(&self.base, Auth::Anonymous)
    }

    /// `POST /api/v3/get-management-token` with the pool id and secret.
    pub async fn token(&self) -> String {
        let response = self
            .anonymous()
            .post(
                "get-management-token",
                json!({"accessKeyId": self.client_id, "accessKeySecret": self.secret}),
            )
            .await;
        response.ok()["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// A client sending the management token as `Bearer`, with `x-authing-userpool-id`.
    pub async fn admin(&self) -> V3Client {
        let mut client = self.anonymous().with_auth(Auth::Bearer(self.token().await));
        client.userpool_id = Some(self.client_id.clone());
        client
    }

    /// A client signing every request with the pool id and secret (authing-node-sdk 4.x).
    pub fn signed(&self) -> V3Client {
        self.anonymous().with_auth(Auth::Sign {
            ak: self.client_id.clone(),
            sk: self.secret.clone(),
        })
    }

    /// Both kinds of administrator, named.
    pub async fn admins(&self) -> Vec<(&'static str, V3Client)> {
        vec![("token", self.admin().await), ("signature", self.signed())]
    }

    /// A v1 owner token from the same emulator.
    pub async fn v1_owner_token(&self) -> Option<String> {
        let emulator = self.emulator.as_ref()?;
        let response = emulator
            .gql()
            .query(
                &super::super::documents::init_sdk(SECRET, CLIENT_ID),
                json!({}),
            )
            .await;
        Some(
            response.ok("getClientWhenSdkInit")["accessToken"]
                .as_str()
                .expect("accessToken")
                .to_string(),
        )
    }

    /// A v1 GraphQL client with the owner token, on the same emulator (cross-API cases).
    pub async fn v1_owner(&self) -> Option<Gql> {
        let token = self.v1_owner_token().await?;
        Some(self.emulator.as_ref()?.gql().with_token(&token))
    }
}

fn real_pool_from_env() -> Option<V3Target> {
    let base = std::env::var("AUTHING_CONFORMANCE_V3_ENDPOINT").ok()?;
    let client_id = std::env::var("AUTHING_CONFORMANCE_CLIENT_ID").ok()?;
    let secret = std::env::var("AUTHING_CONFORMANCE_SECRET").ok()?;
    Some(V3Target {
        base,
        client_id,
        secret,
        emulator: None,
    })
}
