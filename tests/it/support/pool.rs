//! Reading a test emulator's whole pool with plain GraphQL, independently of the client under
//! test, so that assertions compare with what the server really holds.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{CLIENT_ID, Emulator, Gql, GqlResponse, SECRET};

/// One user as the pool holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUser {
    pub id: String,
    pub email: Option<String>,
    pub username: Option<String>,
    pub nickname: Option<String>,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub email_verified: bool,
    pub blocked: bool,
    /// Read only when asked.
    pub mfa: Option<bool>,
}

/// The pool: users by lower-case email (or id when they have none), and the whitelist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub users: BTreeMap<String, PoolUser>,
    pub whitelist_enabled: bool,
    pub whitelist: Vec<String>,
}

impl Pool {
    pub fn user(&self, email: &str) -> &PoolUser {
        self.users
            .get(&email.to_lowercase())
            .unwrap_or_else(|| panic!("no user {email} in the pool"))
    }

    pub fn has(&self, email: &str) -> bool {
        self.users.contains_key(&email.to_lowercase())
    }
}

/// A query that is retried while the emulator answers with an injected fault (a 5xx, a 429, a
/// dropped connection), so that the pool can be read under `--fault-rate`.
pub async fn query(gql: &Gql, document: &str, variables: Value) -> GqlResponse {
    let body = json!({"query": document, "variables": variables});
    for attempt in 1..=60u64 {
        match gql.send(body.clone()).await {
            Ok(response) if response.status == 200 => return response,
            // A 429 from `--rate-limit` asks for a pause; faults need none, but a short one costs
            // nothing.
            _ => tokio::time::sleep(std::time::Duration::from_millis(50 * attempt.min(10))).await,
        }
    }
    panic!("the emulator kept failing {document}");
}

/// An owner-token client for the emulator.
pub async fn owner(emulator: &Emulator) -> Gql {
    let gql = emulator.gql();
    let response = query(
            &gql,
            "query ($secret: String, $clientId: String) { getClientWhenSdkInit(secret: $secret, clientId: $clientId) { accessToken } }",
            json!({"secret": SECRET, "clientId": CLIENT_ID}),
        )
        .await;
    let token = response.ok("getClientWhenSdkInit")["accessToken"]
        .as_str()
        .expect("owner token")
        .to_string();
    gql.with_token(&token)
}

/// Reads every user (and, with `with_mfa`, each user's MFA switch) and the whitelist.
pub async fn read(emulator: &Emulator, with_mfa: bool) -> Pool {
    let owner = owner(emulator).await;
    let mut users = BTreeMap::new();
    let mut page = 1;
    loop {
        let response = query(
                &owner,
                "query ($page: Int, $count: Int) { users(page: $page, count: $count) { totalCount list { _id email username nickname company phone emailVerified blocked } } }",
                json!({"page": page, "count": 200}),
            )
            .await;
        let data = response.ok("users").clone();
        let list = data["list"].as_array().cloned().unwrap_or_default();
        for user in &list {
            let text = |field: &str| user[field].as_str().map(str::to_string);
            let mut entry = PoolUser {
                id: text("_id").expect("_id"),
                email: text("email"),
                username: text("username"),
                nickname: text("nickname"),
                company: text("company"),
                phone: text("phone"),
                email_verified: user["emailVerified"].as_bool().unwrap_or(false),
                blocked: user["blocked"].as_bool().unwrap_or(false),
                mfa: None,
            };
            if with_mfa {
                let mfa = query(
                        &owner,
                        "query ($userId: String, $userPoolId: String) { queryMFA(userId: $userId, userPoolId: $userPoolId) { enable } }",
                        json!({"userId": entry.id, "userPoolId": CLIENT_ID}),
                    )
                    .await;
                entry.mfa = Some(mfa.ok("queryMFA")["enable"].as_bool().unwrap_or(false));
            }
            let key = entry
                .email
                .clone()
                .map_or_else(|| entry.id.clone(), |email| email.to_lowercase());
            assert!(
                users.insert(key.clone(), entry).is_none(),
                "two users with the email {key}"
            );
        }
        let total = data["totalCount"].as_u64().unwrap_or(0) as usize;
        if list.is_empty() || page * 200 >= total {
            break;
        }
        page += 1;
    }
    let state = query(
        &owner,
        "query ($client: String!) { queryInvitationState(client: $client) { enablePhone } }",
        json!({"client": CLIENT_ID}),
    )
    .await;
    let list = query(
        &owner,
        "query ($client: String!) { queryInvitation(client: $client) { phone } }",
        json!({"client": CLIENT_ID}),
    )
    .await;
    let mut whitelist: Vec<String> = list
        .ok("queryInvitation")
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| entry["phone"].as_str().map(str::to_string))
        .collect();
    whitelist.sort();
    Pool {
        users,
        whitelist_enabled: state.ok("queryInvitationState")["enablePhone"]
            .as_bool()
            .unwrap_or(false),
        whitelist,
    }
}

/// Every user as the pool answers `users` with this selection (e.g. `_id email givenName`): the
/// raw JSON objects, in the pool's order.
pub async fn raw_users(emulator: &Emulator, selection: &str) -> Vec<Value> {
    let owner = owner(emulator).await;
    let mut users = Vec::new();
    let mut page = 1;
    loop {
        let document = format!(
            "query ($page: Int, $count: Int) {{ users(page: $page, count: $count) {{ totalCount list {{ {selection} }} }} }}"
        );
        let response = query(&owner, &document, json!({"page": page, "count": 200})).await;
        let data = response.ok("users").clone();
        let list = data["list"].as_array().cloned().unwrap_or_default();
        users.extend(list.iter().cloned());
        let total = data["totalCount"].as_u64().unwrap_or(0) as usize;
        if list.is_empty() || page * 200 >= total {
            break;
        }
        page += 1;
    }
    users
}

/// Whether MFA is on for the user with this id (`queryMFA` with the owner token).
pub async fn mfa_enabled(emulator: &Emulator, id: &str) -> bool {
    let mfa = query(
        &owner(emulator).await,
        "query ($userId: String, $userPoolId: String) { queryMFA(userId: $userId, userPoolId: $userPoolId) { enable } }",
        json!({"userId": id, "userPoolId": CLIENT_ID}),
    )
    .await;
    mfa.ok("queryMFA")["enable"].as_bool().unwrap_or(false)
}

/// `stats.operations.<name>`, 0 when absent.
pub fn operation_count(stats: &Value, name: &str) -> u64 {
    stats["operations"][name].as_u64().unwrap_or(0)
}

/// The mutations the emulator executed.
pub fn writes(stats: &Value) -> u64 {
    stats["writes"]
        .as_u64()
        .unwrap_or_else(|| panic!("no `writes` in {stats}"))
}

/// Turns MFA on for a user the way an app would: a user token from `refreshToken`, then
/// `changeMFA` with it.
pub async fn enable_mfa(emulator: &Emulator, email: &str) {
    let owner = owner(emulator).await;
    let id = read(emulator, false).await.user(email).id.clone();
    let token = query(
        &owner,
        "mutation ($client: String!, $user: String!) { refreshToken(client: $client, user: $user) { token } }",
        json!({"client": CLIENT_ID, "user": id}),
    )
    .await;
    let token = token.ok("refreshToken")["token"]
        .as_str()
        .expect("user token")
        .to_string();
    query(
        &emulator.gql().with_token(&token),
        "mutation ($userId: String, $userPoolId: String) { changeMFA(userId: $userId, userPoolId: $userPoolId, enable: true) { enable } }",
        json!({"userId": id, "userPoolId": CLIENT_ID}),
    )
    .await
    .ok("changeMFA");
}

/// Adds a phone to the whitelist with the owner token.
pub async fn whitelist_add(emulator: &Emulator, phone: &str) {
    query(
        &owner(emulator).await,
        "mutation ($client: String!, $phone: String) { addToInvitation(client: $client, phone: $phone) { phone } }",
        json!({"client": CLIENT_ID, "phone": phone}),
    )
    .await
    .ok("addToInvitation");
}

/// Waits until the emulator has executed at least `writes` mutations (counting `before` from an
/// earlier emulator process), while `process` is still running. `false` when the process ended
/// first; panics after a minute without progress.
pub async fn wait_for_writes(
    emulator: &Emulator,
    before: u64,
    writes: u64,
    process: &mut std::process::Child,
) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if before + self::writes(&emulator.stats().await) >= writes {
            return true;
        }
        if process.try_wait().expect("poll the process").is_some() {
            return false;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no write within a minute"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
