//! `createUser` (the 2020 schema's management copy of `register`, sent with the owner token) and
//! Authing's frequent-registration limit (`--register-limit`, error 2100), which `createUser`
//! is not subject to.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::documents::{CREATE_USER, REGISTER_SDK, SET_INVITATION_STATE_GEN20};
use super::target::Target;
use crate::support::{Emulator, Gql, GqlResponse, operation_count, unique};

const PASSWORD: &str = "passw0rd!";

fn user_info(target: &Target, extra: Value) -> Value {
    let mut info = json!({
        "email": format!("create-{}@example.com", unique()),
        "password": target.encrypt(PASSWORD),
        "registerInClient": target.client_id,
        "nickname": "Created",
    });
    if let (Some(info), Some(extra)) = (info.as_object_mut(), extra.as_object()) {
        info.extend(extra.clone());
    }
    info
}

async fn create(client: &Gql, target: &Target, extra: Value) -> GqlResponse {
    client
        .query(CREATE_USER, json!({"userInfo": user_info(target, extra)}))
        .await
}

async fn register(target: &Target) -> GqlResponse {
    target
        .anonymous()
        .query(
            REGISTER_SDK,
            json!({
                "email": format!("limited-{}@example.com", unique()),
                "password": target.encrypt(PASSWORD),
                "registerInClient": target.client_id,
            }),
        )
        .await
}

#[tokio::test]
async fn create_user_with_the_owner_token_makes_a_user_that_logs_in() {
    let target = Target::new().await;
    let owner = target.owner().await;
    let username = format!("created{}", unique());
    let response = create(&owner, &target, json!({"username": username})).await;
    let user = response.ok("createUser");
    assert!(
        user["_id"].as_str().is_some_and(|id| id.len() == 24),
        "{user}"
    );
    assert_eq!(user["username"], username.as_str());
    assert_eq!(user["nickname"], "Created");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["blocked"], false);
    let email = user["email"].as_str().expect("email").to_string();
    // The password was taken: the user logs in with it.
    target.login(&email, PASSWORD).await;
    if target.emulator().is_some() {
        assert!(user["token"].is_null(), "createUser returns no token");
    }
    // A second user with the same email is 2026, as for register.
    let duplicate = owner
        .query(
            CREATE_USER,
            json!({"userInfo": {"email": email.to_uppercase(), "password": target.encrypt(PASSWORD), "registerInClient": target.client_id}}),
        )
        .await;
    duplicate.expect_code("createUser", 2026);
}

#[tokio::test]
async fn create_user_token_rules() {
    let target = Target::new().await;
    create(&target.anonymous(), &target, json!({}))
        .await
        .expect_code("createUser", 2020);
    create(
        &target.anonymous().with_token("not.a.token"),
        &target,
        json!({}),
    )
    .await
    .expect_code("createUser", 2207);
    let (_, email, _) = target.register(PASSWORD).await;
    let user_token = target.login(&email, PASSWORD).await;
    create(
        &target.anonymous().with_token(&user_token),
        &target,
        json!({}),
    )
    .await
    .expect_code("createUser", 1001);
}

#[tokio::test]
async fn create_user_keeps_register_rules_including_the_whitelist() {
    let target = Target::on(Emulator::start()).await;
    let owner = target.owner().await;
    // No email, username, phone or unionid: 2028; no password: 2032; too short: 2029.
    owner
        .query(
            CREATE_USER,
            json!({"userInfo": {"password": target.encrypt(PASSWORD), "registerInClient": target.client_id}}),
        )
        .await
        .expect_code("createUser", 2028);
    owner
        .query(
            CREATE_USER,
            json!({"userInfo": {"email": format!("nopass-{}@example.com", unique()), "registerInClient": target.client_id}}),
        )
        .await
        .expect_code("createUser", 2032);
    create(
        &owner,
        &target,
        json!({"password": target.encrypt("short")}),
    )
    .await
    .expect_code("createUser", 2029);
    // The emulator's choice: createUser is `register`'s copy, so the whitelist applies.
    owner
        .query(
            SET_INVITATION_STATE_GEN20,
            json!({"client": target.client_id, "enablePhone": true}),
        )
        .await
        .ok("setInvitationState");
    create(&owner, &target, json!({"phone": "13700000001"}))
        .await
        .expect_code("createUser", 2031);
    let listed = owner
        .query(
            super::documents::ADD_TO_INVITATION_GEN20,
            json!({"client": target.client_id, "phone": "13700000001"}),
        )
        .await;
    listed.ok("addToInvitation");
    let created = create(&owner, &target, json!({"phone": "13700000001"})).await;
    assert_eq!(created.ok("createUser")["phone"], "13700000001");
}

#[tokio::test]
async fn register_limit_refuses_past_n_per_window_and_create_user_is_not_limited() {
    let window = Duration::from_secs(2);
    let emulator = Emulator::builder()
        .arg("--register-limit")
        .arg("3")
        .arg("--register-window")
        .arg(window.as_secs().to_string())
        .start();
    let target = Target::on(emulator).await;
    let started = Instant::now();
    for _ in 0..3 {
        register(&target).await.ok("register");
    }
    let refused = register(&target).await;
    refused.expect_code("register", 2100);
    assert_eq!(
        refused.body["errors"][0]["message"]["message"],
        "注册过于频繁，请稍候再试"
    );
    // The owner's createUser is not counted and not refused.
    let owner = target.owner().await;
    for _ in 0..5 {
        create(&owner, &target, json!({})).await.ok("createUser");
    }
    register(&target).await.expect_code("register", 2100);
    // Once the first call leaves the window, register works again. Polled: the window is time.
    let accepted_at = loop {
        let response = register(&target).await;
        if response.code() != Some(2100) {
            response.ok("register");
            break started.elapsed();
        }
        assert!(
            started.elapsed() < window * 5,
            "register still refused after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(accepted_at >= window, "accepted after only {accepted_at:?}");
    let stats = target.emulator().expect("emulator").stats().await;
    assert_eq!(operation_count(&stats, "createUser"), 5);
    assert!(operation_count(&stats, "register") >= 6);
}

#[tokio::test]
async fn register_is_unlimited_by_default() {
    let target = Target::on(Emulator::start()).await;
    for _ in 0..6 {
        register(&target).await.ok("register");
    }
}
