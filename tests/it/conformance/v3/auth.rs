//! v3 authentication: the management token (with or without `Bearer`, `x-authing-userpool-id`
//! checked against it, a payload the Python SDK's standard base64 can read) and the AK/SK
//! signature of authing-node-sdk 4.x with its refusals (apiCodes 1300–1306).

use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use serde_json::{Value, json};

use super::client::{Auth, Tamper};
use super::target::V3Target;
use crate::support::Emulator;

/// The JWT payload decoded the way the Python SDK does it: standard base64, padded.
fn python_decode(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload segment");
    let padded = format!("{payload}{}", "=".repeat((4 - payload.len() % 4) % 4));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(padded)
        .unwrap_or_else(|error| panic!("standard base64 of {payload}: {error}"));
    serde_json::from_slice(&bytes).expect("JSON payload")
}

#[tokio::test]
async fn management_token_is_issued_for_the_pool_id_and_secret() {
    let target = V3Target::new();
    let response = target
        .anonymous()
        .post(
            "get-management-token",
            json!({"accessKeyId": target.client_id, "accessKeySecret": target.secret}),
        )
        .await;
    let data = response.ok();
    let token = data["access_token"].as_str().expect("access_token");
    assert!(
        data["expires_in"].as_i64().is_some_and(|ttl| ttl > 0),
        "{data}"
    );
    let payload = python_decode(token);
    assert_eq!(payload["scoped_userpool_id"], target.client_id.as_str());
    if target.emulator().is_some() {
        assert_eq!(data["expires_in"], 7200);
        for _ in 0..20 {
            let token = target.token().await;
            let payload = token.split('.').nth(1).expect("payload");
            assert!(!payload.contains(['-', '_']), "{payload}");
        }
    }
}

#[tokio::test]
async fn wrong_credentials_get_no_token() {
    let target = V3Target::new();
    let client = target.anonymous();
    client
        .post(
            "get-management-token",
            json!({"accessKeyId": target.client_id, "accessKeySecret": "wrong"}),
        )
        .await
        .refused();
    client
        .post(
            "get-management-token",
            json!({"accessKeyId": "000000000000000000000000", "accessKeySecret": target.secret}),
        )
        .await
        .refused();
    if target.emulator().is_some() {
        client
            .post(
                "get-management-token",
                json!({"accessKeyId": target.client_id, "accessKeySecret": "wrong"}),
            )
            .await
            .expect(401);
        client
            .post(
                "get-management-token",
                json!({"accessKeyId": "000000000000000000000000", "accessKeySecret": target.secret}),
            )
            .await
            .expect(404)
            .with_api_code(2224);
        client
            .post("get-management-token", json!({}))
            .await
            .expect(400)
            .with_message("参数 accessKeyId 格式错误");
    }
}

#[tokio::test]
async fn the_token_works_with_or_without_bearer_and_is_checked_against_the_pool_header() {
    let target = V3Target::new();
    let token = target.token().await;
    let params = [("type", "PHONE".into())];
    for auth in [Auth::Bearer(token.clone()), Auth::Bare(token.clone())] {
        let client = target.anonymous().with_auth(auth);
        client.get("list-whitelist", &params).await.ok();
        let mut with_pool = client.clone();
        with_pool.userpool_id = Some(target.client_id.clone());
        with_pool.get("list-whitelist", &params).await.ok();
        if target.emulator().is_some() {
            let mut other_pool = client.clone();
            other_pool.userpool_id = Some("000000000000000000000000".into());
            other_pool.get("list-whitelist", &params).await.expect(403);
        }
    }
    target
        .anonymous()
        .get("list-whitelist", &params)
        .await
        .refused();
    target
        .anonymous()
        .with_auth(Auth::Bearer("not.a.token".into()))
        .get("list-whitelist", &params)
        .await
        .refused();
    if target.emulator().is_some() {
        target
            .anonymous()
            .get("list-whitelist", &params)
            .await
            .expect(401)
            .with_api_code(2020);
        target
            .anonymous()
            .with_auth(Auth::Bearer("not.a.token".into()))
            .get("list-whitelist", &params)
            .await
            .expect(401)
            .with_api_code(2207);
        // A v1 owner token is not a management token.
        let owner = target.v1_owner_token().await.expect("emulator");
        target
            .anonymous()
            .with_auth(Auth::Bearer(owner))
            .get("list-whitelist", &params)
            .await
            .expect(401)
            .with_api_code(2207);
    }
}

#[tokio::test]
async fn an_expired_management_token_is_refused() {
    let target = V3Target::on(Emulator::builder().arg("--token-ttl").arg("1").start());
    let token = target.token().await;
    let client = target.anonymous().with_auth(Auth::Bearer(token.clone()));
    let issued = Instant::now();
    client
        .get("list-whitelist", &[("type", "PHONE".into())])
        .await
        .ok();
    // JWT expiry is whole seconds: poll until the token is past it.
    loop {
        let response = client
            .get("list-whitelist", &[("type", "PHONE".into())])
            .await;
        if response.status_code() != Some(200) {
            response.expect(401).with_api_code(2206);
            break;
        }
        assert!(issued.elapsed() < Duration::from_secs(10), "never expired");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(issued.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn signed_requests_are_accepted_get_and_post() {
    let target = V3Target::new();
    let client = target.signed();
    client
        .get("list-whitelist", &[("type", "PHONE".into())])
        .await
        .ok();
    client
        .post(
            "list-users",
            json!({"options": {"pagination": {"page": 1, "limit": 1}, "sort": [{"field": "createdAt", "order": "asc"}]}}),
        )
        .await
        .ok();
    // An epoch-milliseconds date (the Java SDK's old signer) is accepted too.
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock")
        .as_millis()
        .to_string();
    client
        .get_tampered(
            "list-whitelist",
            &[("type", "PHONE".into())],
            &Tamper {
                date: Some(millis),
                ..Tamper::default()
            },
        )
        .await
        .ok();
}

#[tokio::test]
async fn bad_signatures_are_refused_with_their_api_codes() {
    let target = V3Target::new();
    let client = target.signed();
    let params = [("type", "PHONE".into())];
    let refusal = |api_code: i64, tamper: Tamper| {
        let client = client.clone();
        let params = params.clone();
        async move {
            let response = client
                .get_tampered("list-whitelist", &params, &tamper)
                .await;
            response.refused().with_api_code(api_code);
            if response.status_code() != Some(401) {
                panic!("statusCode for apiCode {api_code}: {}", response.body);
            }
        }
    };
    refusal(
        1300,
        Tamper {
            secret: Some("not-the-secret".into()),
            ..Tamper::default()
        },
    )
    .await;
    refusal(
        1301,
        Tamper {
            method: Some("HMAC-SHA256".into()),
            ..Tamper::default()
        },
    )
    .await;
    refusal(
        1302,
        Tamper {
            version: Some("2.0".into()),
            ..Tamper::default()
        },
    )
    .await;
    refusal(
        1303,
        Tamper {
            date: Some("yesterday".into()),
            ..Tamper::default()
        },
    )
    .await;
    refusal(
        1304,
        Tamper {
            date: Some(String::new()),
            ..Tamper::default()
        },
    )
    .await;
    let an_hour_ago = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(3600));
    refusal(
        1305,
        Tamper {
            date: Some(an_hour_ago),
            ..Tamper::default()
        },
    )
    .await;
    // A signature is good once: the same request again is a replay.
    let first = client.get("list-whitelist", &params).await;
    first.ok();
    client
        .get_tampered(
            "list-whitelist",
            &params,
            &Tamper {
                replay: Some(first.sent.clone()),
                ..Tamper::default()
            },
        )
        .await
        .refused()
        .with_api_code(1306);
    // The same signed headers on another request do not verify.
    client
        .get_tampered(
            "list-whitelist",
            &[("type", "EMAIL".into())],
            &Tamper {
                replay: Some(first.sent.clone()),
                ..Tamper::default()
            },
        )
        .await
        .refused()
        .with_api_code(1300);
}
