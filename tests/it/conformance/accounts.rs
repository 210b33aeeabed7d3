//! `register`, `login`, `updateUser` and `removeUsers`: results, password handling and error
//! codes.

use serde_json::json;

use super::documents::{
    LOGIN_DOC19, LOGIN_SDK, REGISTER_DOC19, REGISTER_SDK, REMOVE_USERS, UPDATE_USER_DOC19,
    USER_SDK, update_user_sdk,
};
use super::is_js_date;
use super::target::Target;
use crate::support::{encrypt_password, unique};

const PASSWORD: &str = "passw0rd!";

#[tokio::test]
async fn register_sdk_document_creates_an_unverified_unblocked_user() {
    let target = Target::new().await;
    let email = format!("reg-{}@example.com", unique());
    let username = format!("reg{}", unique());
    let response = target
        .anonymous()
        .query(
            REGISTER_SDK,
            json!({
                "email": email,
                "username": username,
                "password": target.encrypt(PASSWORD),
                "registerInClient": target.client_id,
                "nickname": "Reg",
                "company": "Acme",
                "gender": "F",
                // The SDK sends the caller's whole options object; unknown keys are ignored.
                "notDeclared": 1,
            }),
        )
        .await;
    let user = response.ok("register");
    assert!(user["_id"].as_str().is_some_and(|id| id.len() == 24));
    assert_eq!(user["email"], email.as_str());
    assert_eq!(user["username"], username.as_str());
    assert_eq!(user["nickname"], "Reg");
    assert_eq!(user["company"], "Acme");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["blocked"], false);
    assert!(user["token"].is_string());
    assert!(user["password"].is_null() || target.emulator().is_none());
}

#[tokio::test]
async fn register_doc19_document() {
    let target = Target::new().await;
    let email = format!("doc19-{}@example.com", unique());
    let response = target
        .anonymous()
        .query(
            REGISTER_DOC19,
            json!({
                "email": email,
                "password": target.encrypt(PASSWORD),
                "registerInClient": target.client_id,
                "device": "test",
            }),
        )
        .await;
    assert_eq!(response.ok("register")["email"], email.as_str());
}

#[tokio::test]
async fn register_refusals() {
    let target = Target::new().await;
    let client = target.anonymous();
    let (_, email, _) = target.register(PASSWORD).await;
    let register = |variables: serde_json::Value| {
        let client = client.clone();
        async move { client.query(REGISTER_SDK, variables).await }
    };
    // Duplicate email, compared case-insensitively.
    register(json!({"email": email.to_uppercase(), "password": target.encrypt(PASSWORD), "registerInClient": target.client_id}))
        .await
        .expect_code("register", 2026);
    // Undecryptable passwords: not base64, and encrypted with another key.
    register(json!({"email": format!("x-{}@example.com", unique()), "password": "not-encrypted", "registerInClient": target.client_id}))
        .await
        .expect_code("register", 2016);
    let other_key = rsa::PrivateKey::new(&mut rand::rng(), 1024).expect("key");
    let other_pem = rsa::pkcs8::EncodePublicKey::to_public_key_pem(
        &other_key.to_public_key(),
        rsa::pkcs8::LineEnding::LF,
    )
    .expect("pem");
    register(json!({"email": format!("x-{}@example.com", unique()), "password": encrypt_password(&other_pem, PASSWORD), "registerInClient": target.client_id}))
        .await
        .expect_code("register", 2016);
    // Too short.
    register(json!({"email": format!("x-{}@example.com", unique()), "password": target.encrypt("12345"), "registerInClient": target.client_id}))
        .await
        .expect_code("register", 2029);
    // Missing password.
    register(json!({"email": format!("x-{}@example.com", unique()), "registerInClient": target.client_id}))
        .await
        .expect_code("register", 2032);
    // Malformed email.
    register(json!({"email": "not-an-email", "password": target.encrypt(PASSWORD), "registerInClient": target.client_id}))
        .await
        .expect_code("register", 2003);
}

#[tokio::test]
async fn register_duplicate_username_is_2026() {
    let target = Target::new().await;
    let username = format!("dup{}", unique());
    let first = target
        .anonymous()
        .query(
            REGISTER_SDK,
            json!({"username": username, "password": target.encrypt(PASSWORD), "registerInClient": target.client_id}),
        )
        .await;
    first.ok("register");
    target
        .anonymous()
        .query(
            REGISTER_SDK,
            json!({"username": username.to_uppercase(), "password": target.encrypt(PASSWORD), "registerInClient": target.client_id}),
        )
        .await
        .expect_code("register", 2026);
}

#[tokio::test]
async fn register_keep_password_stores_it_as_given() {
    let target = Target::new().await;
    if target.emulator().is_none() {
        return;
    }
    let email = format!("keep-{}@example.com", unique());
    target
        .anonymous()
        .query(
            REGISTER_SDK,
            json!({"email": email, "password": "plain-secret", "keepPassword": true, "registerInClient": target.client_id}),
        )
        .await
        .ok("register");
    target.login(&email, "plain-secret").await;
}

#[tokio::test]
async fn login_sdk_and_doc19_documents() {
    let target = Target::new().await;
    let (id, email, _) = target.register(PASSWORD).await;
    let response = target
        .anonymous()
        .query(
            LOGIN_SDK,
            json!({"email": email, "password": target.encrypt(PASSWORD), "registerInClient": target.client_id, "lastIP": "10.0.0.1"}),
        )
        .await;
    let user = response.ok("login");
    assert_eq!(user["_id"], id.as_str());
    assert!(user["token"].is_string());
    assert_eq!(user["loginsCount"], 1);
    assert!(is_js_date(&user["lastLogin"]), "{}", user["lastLogin"]);
    assert!(
        is_js_date(&user["tokenExpiredAt"]),
        "{}",
        user["tokenExpiredAt"]
    );
    let doc19 = target
        .anonymous()
        .query(
            LOGIN_DOC19,
            json!({"email": email, "password": target.encrypt(PASSWORD), "registerInClient": target.client_id}),
        )
        .await;
    assert_eq!(doc19.ok("login")["loginsCount"], 2);
}

#[tokio::test]
async fn login_refusals() {
    let target = Target::new().await;
    let (id, email, _) = target.register(PASSWORD).await;
    let login = |email: String, password: &str| {
        let client = target.anonymous();
        let variables = json!({"email": email, "password": target.encrypt(password), "registerInClient": target.client_id});
        async move { client.query(LOGIN_SDK, variables).await }
    };
    login(email.clone(), "wrong-password")
        .await
        .expect_code("login", 2006);
    login(format!("nobody-{}@example.com", unique()), PASSWORD)
        .await
        .expect_code("login", 2004);
    let owner = target.owner().await;
    owner
        .operation(
            &update_user_sdk(&["_id", "blocked", "registerInClient"]),
            json!({"_id": id, "blocked": true, "registerInClient": target.client_id}),
            "UpdateUser",
        )
        .await
        .ok("updateUser");
    login(email, PASSWORD).await.expect_code("login", 2005);
}

#[tokio::test]
async fn update_user_sdk_dynamic_document_changes_only_the_fields_given() {
    let target = Target::new().await;
    let (id, email, _) = target.register(PASSWORD).await;
    let owner = target.owner().await;
    let response = owner
        .operation(
            &update_user_sdk(&["_id", "nickname", "registerInClient"]),
            json!({"_id": id, "nickname": "Renamed", "registerInClient": target.client_id, "company": "not declared, ignored"}),
            "UpdateUser",
        )
        .await;
    let user = response.ok("updateUser");
    assert_eq!(user["nickname"], "Renamed");
    assert_eq!(user["email"], email.as_str());
    let read = owner
        .query(
            USER_SDK,
            json!({"id": id, "registerInClient": target.client_id}),
        )
        .await;
    let user = read.ok("user");
    assert_eq!(user["nickname"], "Renamed");
    assert_eq!(user["email"], email.as_str());
    assert!(user["company"].is_null());
}

#[tokio::test]
async fn update_user_doc19_static_document() {
    let target = Target::new().await;
    let (id, _, _) = target.register(PASSWORD).await;
    let new_email = format!("new-{}@example.com", unique());
    let response = target
        .owner()
        .await
        .query(
            UPDATE_USER_DOC19,
            json!({"_id": id, "email": new_email, "emailVerified": true, "company": "Acme", "registerInClient": target.client_id}),
        )
        .await;
    let user = response.ok("updateUser");
    assert_eq!(user["email"], new_email.as_str());
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["company"], "Acme");
}

#[tokio::test]
async fn update_user_logout_sets_the_year_2000() {
    let target = Target::new().await;
    let (id, _, _) = target.register(PASSWORD).await;
    let response = target
        .owner()
        .await
        .operation(
            &update_user_sdk(&["_id", "tokenExpiredAt", "registerInClient"]),
            json!({"_id": id, "tokenExpiredAt": "0", "registerInClient": target.client_id}),
            "UpdateUser",
        )
        .await;
    assert_eq!(
        response.ok("updateUser")["tokenExpiredAt"],
        "Sat Jan 01 2000 00:00:00 GMT+0800 (CST)"
    );
}

#[tokio::test]
async fn update_user_refusals() {
    let target = Target::new().await;
    let (a, _, _) = target.register(PASSWORD).await;
    let (b, b_email, _) = target.register(PASSWORD).await;
    let owner = target.owner().await;
    let update = |keys: &[&str], variables: serde_json::Value| {
        let owner = owner.clone();
        let document = update_user_sdk(keys);
        async move { owner.operation(&document, variables, "UpdateUser").await }
    };
    update(&["_id", "nickname", "registerInClient"], json!({"_id": "000000000000000000000000", "nickname": "x", "registerInClient": target.client_id}))
        .await
        .expect_code("updateUser", 2004);
    update(
        &["_id", "email", "registerInClient"],
        json!({"_id": a, "email": b_email.to_uppercase(), "registerInClient": target.client_id}),
    )
    .await
    .expect_code("updateUser", 2200);
    update(
        &["_id", "email", "registerInClient"],
        json!({"_id": a, "email": "broken", "registerInClient": target.client_id}),
    )
    .await
    .expect_code("updateUser", 2204);
    let b_name = format!("taken{}", unique());
    update(
        &["_id", "username", "registerInClient"],
        json!({"_id": b, "username": b_name, "registerInClient": target.client_id}),
    )
    .await
    .ok("updateUser");
    update(
        &["_id", "username", "registerInClient"],
        json!({"_id": a, "username": b_name, "registerInClient": target.client_id}),
    )
    .await
    .expect_code("updateUser", 2026);
    // Without any token.
    target
        .anonymous()
        .operation(
            &update_user_sdk(&["_id", "nickname", "registerInClient"]),
            json!({"_id": a, "nickname": "x", "registerInClient": target.client_id}),
            "UpdateUser",
        )
        .await
        .expect_code("updateUser", 2020);
}

#[tokio::test]
async fn update_user_password_rules() {
    let target = Target::new().await;
    let (id, email, _) = target.register(PASSWORD).await;
    let (other, _, _) = target.register(PASSWORD).await;
    let keys = ["_id", "password", "oldPassword", "registerInClient"];
    let document = update_user_sdk(&keys);
    let user_token = target.login(&email, PASSWORD).await;
    let as_user = target.anonymous().with_token(&user_token);
    // A user changing its own password must give the old one.
    as_user
        .operation(
            &update_user_sdk(&["_id", "password", "registerInClient"]),
            json!({"_id": id, "password": target.encrypt("new-passw0rd"), "registerInClient": target.client_id}),
            "UpdateUser",
        )
        .await
        .expect_code("updateUser", 2201);
    as_user
        .operation(
            &document,
            json!({"_id": id, "password": target.encrypt("new-passw0rd"), "oldPassword": target.encrypt("wrong-old"), "registerInClient": target.client_id}),
            "UpdateUser",
        )
        .await
        .expect_code("updateUser", 2203);
    // Another user's record with a user token.
    as_user
        .operation(
            &update_user_sdk(&["_id", "nickname", "registerInClient"]),
            json!({"_id": other, "nickname": "x", "registerInClient": target.client_id}),
            "UpdateUser",
        )
        .await
        .expect_code("updateUser", 2202);
    as_user
        .operation(
            &document,
            json!({"_id": id, "password": target.encrypt("new-passw0rd"), "oldPassword": target.encrypt(PASSWORD), "registerInClient": target.client_id}),
            "UpdateUser",
        )
        .await
        .ok("updateUser");
    target.login(&email, "new-passw0rd").await;
    // The owner may set a password without the old one (the emulator's documented choice).
    if target.emulator().is_some() {
        target
            .owner()
            .await
            .operation(
                &update_user_sdk(&["_id", "password", "registerInClient"]),
                json!({"_id": id, "password": target.encrypt("owner-set-pw"), "registerInClient": target.client_id}),
                "UpdateUser",
            )
            .await
            .ok("updateUser");
        target.login(&email, "owner-set-pw").await;
    }
}

#[tokio::test]
async fn remove_users_returns_a_list_and_skips_unknown_ids() {
    let target = Target::new().await;
    let (a, a_email, _) = target.register(PASSWORD).await;
    let (b, _, _) = target.register(PASSWORD).await;
    let owner = target.owner().await;
    let response = owner
        .query(
            REMOVE_USERS,
            json!({"ids": [a, "000000000000000000000000", b], "registerInClient": target.client_id, "operator": "conformance"}),
        )
        .await;
    let removed = response
        .ok("removeUsers")
        .as_array()
        .cloned()
        .expect("a list");
    let ids: Vec<&str> = removed
        .iter()
        .filter_map(|user| user["_id"].as_str())
        .collect();
    assert_eq!(ids, [a.as_str(), b.as_str()]);
    let gone = owner
        .query(
            USER_SDK,
            json!({"id": a, "registerInClient": target.client_id}),
        )
        .await;
    assert!(gone.ok("user").is_null());
    target
        .anonymous()
        .query(
            LOGIN_SDK,
            json!({"email": a_email, "password": target.encrypt(PASSWORD), "registerInClient": target.client_id}),
        )
        .await
        .expect_code("login", 2004);
    // Removing again finds nothing.
    let again = owner.query(REMOVE_USERS, json!({"ids": [a]})).await;
    assert_eq!(again.ok("removeUsers"), &json!([]));
    // Owner token only.
    target
        .anonymous()
        .query(REMOVE_USERS, json!({"ids": [b]}))
        .await
        .expect_code("removeUsers", 2020);
}
