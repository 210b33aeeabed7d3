//! The v3 face of the emulator itself: one store under both APIs (a user made through one is
//! read, changed and deleted through the other), stats per path's last segment, the same
//! faults, rate limit, latency, `--state` durability and request log as v1. Emulator-only.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::client::V3Client;
use super::target::V3Target;
use crate::conformance::documents::{
    ADD_TO_INVITATION_GEN20, CHANGE_MFA, QUERY_INVITATION_GEN20, REGISTER_SDK,
};
use crate::support::{Emulator, Gql, SECRET, http_client, path_in, temp_dir, unique};

const USER_PATCH: &str = "query userPatch($ids: String) { userPatch(ids: $ids) { totalCount list { _id email phone phoneVerified nickname blocked locality region gender } } }";
const UPDATE_USER: &str = "mutation updateUser($options: UserUpdateInput!) { updateUser(options: $options) { _id blocked } }";

async fn v1_user(owner: &Gql, id: &str) -> Option<Value> {
    let response = owner.query(USER_PATCH, json!({"ids": id})).await;
    let patch = response.ok("userPatch");
    patch["list"]
        .as_array()
        .and_then(|list| list.first())
        .cloned()
}

#[tokio::test]
async fn one_store_under_both_apis() {
    let target = V3Target::on(Emulator::start());
    let owner = target.v1_owner().await.expect("emulator");
    let v3 = target.signed();
    let emulator = target.emulator().expect("emulator");
    let public_key = emulator.public_key().await;

    // v1 → v3: register, block, read through v3.
    let v1_email = format!("both-{}@example.com", unique());
    let registered = emulator
        .gql()
        .query(
            REGISTER_SDK,
            json!({"email": v1_email, "phone": "13811112222", "locality": "Shanghai", "gender": "M",
                   "password": crate::support::encrypt_password(&public_key, "passw0rd!"),
                   "registerInClient": target.client_id}),
        )
        .await;
    let v1_id = registered.ok("register")["_id"]
        .as_str()
        .expect("_id")
        .to_string();
    owner
        .query(
            UPDATE_USER,
            json!({"options": {"_id": v1_id, "blocked": true}}),
        )
        .await
        .ok("updateUser");
    let seen = v3
        .get("get-user", &[("userId", v1_id.as_str().into())])
        .await;
    let seen = seen.ok();
    assert_eq!(seen["email"], v1_email.as_str());
    assert_eq!(seen["phone"], "13811112222");
    assert_eq!(seen["city"], "Shanghai");
    assert_eq!(seen["gender"], "M");
    assert_eq!(seen["status"], "Suspended");
    assert_eq!(seen["userSourceType"], "register");

    // v3 → v1: create with an international phone and a v3-only status.
    let v3_email = format!("both-{}@example.com", unique());
    let created = v3
        .post(
            "create-user",
            json!({"email": v3_email, "phone": "4155550100", "phoneCountryCode": "+1",
                   "city": "San Francisco", "region": "CA", "status": "Resigned", "nickname": "Three"}),
        )
        .await;
    let v3_id = created.ok()["userId"].as_str().expect("userId").to_string();
    let in_v1 = v1_user(&owner, &v3_id).await.expect("listed in v1");
    assert_eq!(in_v1["email"], v3_email.as_str());
    assert_eq!(in_v1["phone"], "+14155550100");
    assert_eq!(in_v1["locality"], "San Francisco");
    assert_eq!(in_v1["region"], "CA");
    assert_eq!(in_v1["blocked"], true);
    // The phone is one key for both: v1 cannot take it for another user.
    owner
        .query(
            UPDATE_USER,
            json!({"options": {"_id": v1_id, "phone": "+14155550100"}}),
        )
        .await
        .expect_code("updateUser", 2026);
    let refused = v3
        .post(
            "update-user",
            json!({"userId": v3_id, "phone": "13811112222", "phoneCountryCode": "+86"}),
        )
        .await;
    refused.expect(409);

    // Changes cross over: v1 unblocks, v3 sees Activated; v3 renames, v1 sees it.
    owner
        .query(
            UPDATE_USER,
            json!({"options": {"_id": v3_id, "blocked": false}}),
        )
        .await
        .ok("updateUser");
    let now = v3
        .get("get-user", &[("userId", v3_id.as_str().into())])
        .await;
    assert_eq!(now.ok()["status"], "Activated");
    v3.post(
        "update-user",
        json!({"userId": v3_id, "nickname": "Renamed in v3"}),
    )
    .await
    .ok();
    assert_eq!(
        v1_user(&owner, &v3_id).await.expect("user")["nickname"],
        "Renamed in v3"
    );

    // MFA switched on through v1 is enabled in v3.
    let login = emulator
        .gql()
        .query(
            crate::conformance::documents::LOGIN_SDK,
            json!({"email": v1_email, "password": crate::support::encrypt_password(&public_key, "passw0rd!"), "registerInClient": target.client_id}),
        )
        .await;
    // A blocked user cannot log in: unblock first.
    assert_eq!(login.code(), Some(2005));
    owner
        .query(
            UPDATE_USER,
            json!({"options": {"_id": v1_id, "blocked": false}}),
        )
        .await
        .ok("updateUser");
    let login = emulator
        .gql()
        .query(
            crate::conformance::documents::LOGIN_SDK,
            json!({"email": v1_email, "password": crate::support::encrypt_password(&public_key, "passw0rd!"), "registerInClient": target.client_id}),
        )
        .await;
    let token = login.ok("login")["token"]
        .as_str()
        .expect("token")
        .to_string();
    emulator
        .gql()
        .with_token(&token)
        .query(
            CHANGE_MFA,
            json!({"userId": v1_id, "userPoolId": target.client_id, "enable": true}),
        )
        .await
        .ok("changeMFA");
    let mfa = v3
        .get("get-user-mfa-info", &[("userId", v1_id.as_str().into())])
        .await;
    assert_eq!(mfa.ok()["totpStatus"], "enabled");

    // The whitelist is one list.
    owner
        .query(
            ADD_TO_INVITATION_GEN20,
            json!({"client": target.client_id, "phone": "13600001111"}),
        )
        .await
        .ok("addToInvitation");
    v3.post(
        "add-whitelist",
        json!({"type": "PHONE", "list": ["13600002222"]}),
    )
    .await
    .ok();
    let v1_list = owner
        .query(QUERY_INVITATION_GEN20, json!({"client": target.client_id}))
        .await;
    let v1_phones: Vec<&str> = v1_list
        .ok("queryInvitation")
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|entry| entry["phone"].as_str())
        .collect();
    assert_eq!(v1_phones, ["13600001111", "13600002222"]);

    // Deleted through v3, gone from v1.
    v3.post("delete-users-batch", json!({"userIds": [v1_id, v3_id]}))
        .await
        .ok();
    assert!(v1_user(&owner, &v1_id).await.is_none());
    assert!(v1_user(&owner, &v3_id).await.is_none());
}

#[tokio::test]
async fn stats_count_v3_calls_by_the_paths_last_segment() {
    let target = V3Target::on(Emulator::builder().generate(3).start());
    let client = target.admin().await;
    for _ in 0..2 {
        client.post("list-users", json!({})).await.ok();
    }
    client.get("list-users", &[]).await.ok();
    client
        .post(
            "create-user",
            json!({"email": format!("s-{}@example.com", unique())}),
        )
        .await
        .ok();
    client
        .post(
            "add-whitelist",
            json!({"type": "PHONE", "list": ["13600003333"]}),
        )
        .await
        .ok();
    // A refused write still ran (as on v1): it counts as a write.
    client.post("create-user", json!({})).await.expect(400);
    let unknown = client.post("no-such-endpoint", json!({})).await;
    assert_eq!(unknown.http, 404);
    assert_eq!(unknown.status_code(), Some(404));
    let wrong_method = client.get("create-user", &[]).await;
    assert_eq!(wrong_method.http, 404);
    let stats = target.emulator().expect("emulator").stats().await;
    assert_eq!(stats["operations"]["get-management-token"], 1);
    assert_eq!(stats["operations"]["list-users"], 3);
    assert_eq!(stats["operations"]["create-user"], 2);
    assert_eq!(stats["operations"]["add-whitelist"], 1);
    assert!(stats["operations"].get("no-such-endpoint").is_none());
    assert_eq!(stats["writes"], 3);
    assert_eq!(stats["total"], 9);
}

/// What one raw v3 request came back as.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Answer(u16, Option<String>, Value),
    Dropped,
}

async fn raw_post(http: &reqwest::Client, url: &str, token: &str, body: &Value) -> Seen {
    let sent = http
        .post(url)
        .header("authorization", format!("Bearer {token}"))
        .json(body)
        .send()
        .await;
    let Ok(response) = sent else {
        return Seen::Dropped;
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    match response.bytes().await {
        Ok(bytes) => Seen::Answer(
            status,
            retry_after,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ),
        Err(_) => Seen::Dropped,
    }
}

#[tokio::test]
async fn faults_strike_v3_too_and_a_drop_after_really_executed() {
    let dir = temp_dir();
    let state = path_in(&dir, "pool.json");
    // The token is fetched from a fault-free run on the same state (keys and all).
    let token = {
        let target = V3Target::on(Emulator::builder().state(&state).start());
        let token = target.token().await;
        target.into_emulator().expect("emulator").stop();
        token
    };
    let emulator = Emulator::builder()
        .state(&state)
        .faults(0.5, 11)
        .arg("--token-ttl")
        .arg("3600")
        .start();
    let http = http_client();
    let url = format!("{}/api/v3/create-user", emulator.base_url());
    let mut created = 0;
    let mut dropped = 0;
    for i in 0..60 {
        let body = json!({"email": format!("fault{i}-{}@example.com", unique())});
        match raw_post(&http, &url, &token, &body).await {
            Seen::Answer(200, _, body) => {
                assert_eq!(body["statusCode"], 200, "{body}");
                created += 1;
            }
            Seen::Answer(429, retry_after, body) => {
                assert_eq!(retry_after.as_deref(), Some("1"));
                assert_eq!(body["statusCode"], 429, "{body}");
            }
            Seen::Answer(status, _, body) => {
                assert!(matches!(status, 500 | 502 | 503), "{status}");
                assert_eq!(body["statusCode"], i64::from(status), "{body}");
            }
            Seen::Dropped => dropped += 1,
        }
    }
    let stats = emulator.stats().await;
    let kinds = &stats["fault_kinds"];
    for kind in [
        "http_500",
        "http_502",
        "http_503",
        "http_429",
        "drop_before",
        "drop_after",
    ] {
        assert!(
            kinds[kind].as_u64().is_some_and(|n| n > 0),
            "{kind} never drawn: {stats}"
        );
    }
    let drops =
        kinds["drop_before"].as_u64().unwrap_or(0) + kinds["drop_after"].as_u64().unwrap_or(0);
    assert_eq!(dropped, drops);
    // Every drop_after created its user: count them on a fault-free restart.
    emulator.stop();
    let target = V3Target::on(Emulator::builder().state(&state).start());
    let listed = target.admin().await.post("list-users", json!({})).await;
    let expected = created + kinds["drop_after"].as_u64().unwrap_or(0);
    assert_eq!(listed.ok()["totalCount"], expected);
}

#[tokio::test]
async fn rate_limit_answers_429_with_an_envelope() {
    let target = V3Target::on(Emulator::builder().arg("--rate-limit").arg("3").start());
    let token = target.token().await;
    let http = http_client();
    let url = format!("{}/api/v3/list-users", target.base);
    let mut limited = Vec::new();
    for _ in 0..8 {
        if let Seen::Answer(429, retry_after, body) =
            raw_post(&http, &url, &token, &json!({})).await
        {
            limited.push((retry_after, body));
        }
    }
    assert!(
        !limited.is_empty(),
        "8 requests at once passed a limit of 3"
    );
    for (retry_after, body) in &limited {
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert_eq!(body["statusCode"], 429);
        assert_eq!(body["message"], "您的请求已超过最大数量限制，请稍后重试");
    }
    let stats = target.emulator().expect("emulator").stats().await;
    assert_eq!(stats["rate_limited"], limited.len());
}

#[tokio::test]
async fn latency_delays_v3_answers() {
    let target = V3Target::on(Emulator::builder().arg("--latency-ms").arg("300").start());
    let started = Instant::now();
    target.token().await;
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn v3_writes_survive_kill_9() {
    let dir = temp_dir();
    let state = path_in(&dir, "pool.json");
    let target = V3Target::on(Emulator::builder().state(&state).start());
    let client = target.signed();
    let email = format!("durable-{}@example.com", unique());
    let created = client
        .post(
            "create-users-batch",
            json!({"list": [{"email": email, "externalId": "ext-1", "otp": {"secret": "JBSWY3DPEHPK3PXP"}}, {"username": format!("d{}", unique())}]}),
        )
        .await;
    let id = created.ok()[0]["userId"]
        .as_str()
        .expect("userId")
        .to_string();
    client
        .post(
            "update-user",
            json!({"userId": id, "status": "Archived", "province": "Ontario"}),
        )
        .await
        .ok();
    client
        .post(
            "add-whitelist",
            json!({"type": "PHONE", "list": ["13600004444"]}),
        )
        .await
        .ok();
    target.into_emulator().expect("emulator").kill();

    let target = V3Target::on(Emulator::builder().state(&state).start());
    let client = target.signed();
    let user = client
        .get(
            "get-user",
            &[
                ("userId", "ext-1".into()),
                ("userIdType", "external_id".into()),
            ],
        )
        .await;
    let user = user.ok();
    assert_eq!(user["userId"], id.as_str());
    assert_eq!(user["status"], "Archived");
    assert_eq!(user["province"], "Ontario");
    let mfa = client
        .get("get-user-mfa-info", &[("userId", id.as_str().into())])
        .await;
    assert_eq!(mfa.ok()["totpStatus"], "enabled");
    let listed = client
        .get("list-whitelist", &[("type", "PHONE".into())])
        .await;
    assert_eq!(listed.ok()[0]["value"], "13600004444");
    assert_eq!(
        client.post("list-users", json!({})).await.ok()["totalCount"],
        2
    );
}

#[tokio::test]
async fn request_log_names_v3_endpoints_and_never_secrets() {
    let emulator = Emulator::builder()
        .arg("--log-requests")
        .capture_stderr()
        .start();
    let target = V3Target::on(emulator);
    let token = target.token().await;
    let client: V3Client = target.admin().await;
    let email = format!("log-{}@example.com", unique());
    client
        .post(
            "create-user",
            json!({"email": email, "password": "very-secret-pw"}),
        )
        .await
        .ok();
    let signed = target.signed();
    let listed = signed
        .get(
            "get-user",
            &[
                ("userId", email.as_str().into()),
                ("userIdType", "email".into()),
            ],
        )
        .await;
    listed.ok();
    let leaked = format!("{}@example.com", unique());
    let unknown = signed.get(&format!("users/{leaked}"), &[]).await;
    assert_eq!(unknown.http, 404);
    let log = target.emulator().expect("emulator").stderr();
    assert!(
        log.contains(
            "POST /api/v3/get-management-token ops=get-management-token status=200 statusCode=200"
        ),
        "{log}"
    );
    assert!(
        log.contains("POST /api/v3/create-user ops=create-user status=200 statusCode=200"),
        "{log}"
    );
    assert!(
        log.contains("GET /api/v3/get-user ops=get-user status=200"),
        "{log}"
    );
    assert!(log.contains("/api/v3/(unknown) ops=- status=404"), "{log}");
    let signature = listed
        .sent
        .authorization
        .clone()
        .expect("signed authorization");
    for secret in [
        SECRET,
        token.as_str(),
        signature.as_str(),
        "very-secret-pw",
        email.as_str(),
        leaked.as_str(),
    ] {
        assert!(!log.contains(secret), "the log shows {secret}: {log}");
    }
}
