//! The owner token: `getClientWhenSdkInit` (SDK inline literals, DOC19 variables) and
//! `getAccessTokenByAppSecret` (JS 1.5.0, Python), and their failures.

use serde_json::json;

use super::documents::{ACCESS_TOKEN_PY, INIT_DOC19, access_token_js1, init_browser, init_sdk};
use super::is_js_date;
use super::target::Target;
use crate::support::Emulator;

#[tokio::test]
async fn init_sdk_inline_literals_return_token_and_client_info() {
    let target = Target::new().await;
    let response = target
        .anonymous()
        .query(&init_sdk(&target.secret, &target.client_id), json!({}))
        .await;
    let init = response.ok("getClientWhenSdkInit");
    assert!(
        init["accessToken"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );
    let info = &init["clientInfo"];
    assert_eq!(info["_id"], target.client_id.as_str());
    assert!(info["jwtExpired"].is_i64());
    assert!(is_js_date(&info["createdAt"]), "{}", info["createdAt"]);
    assert_eq!(info["isDeleted"], false);
    assert!(info["clientType"]["_id"].is_string());
    for field in [
        "showWXMPQRCode",
        "useMiniLogin",
        "registerDisabled",
        "emailVerifiedDefault",
    ] {
        assert!(info[field].is_boolean(), "{field}: {info}");
    }
}

#[tokio::test]
async fn init_doc19_with_variables() {
    let target = Target::new().await;
    let response = target
        .anonymous()
        .query(
            INIT_DOC19,
            json!({"secret": target.secret, "clientId": target.client_id}),
        )
        .await;
    let init = response.ok("getClientWhenSdkInit");
    assert!(init["accessToken"].is_string());
    assert_eq!(init["clientInfo"]["_id"], target.client_id.as_str());
}

#[tokio::test]
async fn get_access_token_by_app_secret_returns_a_bare_string() {
    let target = Target::new().await;
    let js1 = target
        .anonymous()
        .query(
            &access_token_js1(&target.secret, &target.client_id),
            json!({}),
        )
        .await;
    let token = js1
        .ok("getAccessTokenByAppSecret")
        .as_str()
        .expect("a string")
        .to_string();
    let py = target
        .anonymous()
        .query(
            ACCESS_TOKEN_PY,
            json!({"secret": target.secret, "clientId": target.client_id}),
        )
        .await;
    assert!(py.ok("getAccessTokenByAppSecret").is_string());
    // The token works for management operations.
    let users = target
        .anonymous()
        .with_token(&token)
        .query(
            "query { users(page: 1, count: 1) { totalCount } }",
            json!({}),
        )
        .await;
    assert!(users.ok("users")["totalCount"].is_i64());
}

#[tokio::test]
async fn wrong_secret_is_an_error_whose_message_is_an_object() {
    let target = Target::new().await;
    let response = target
        .anonymous()
        .query(&init_sdk("not-the-secret", &target.client_id), json!({}))
        .await;
    // The JS SDK reads `error.message.message`; the emulator answers 1001 (documented choice).
    assert!(
        response.body["errors"][0]["message"]["message"].is_string(),
        "{}",
        response.body
    );
    if target.emulator().is_some() {
        response.expect_code("getClientWhenSdkInit", 1001);
    }
}

#[tokio::test]
async fn unknown_client_id_is_2011() {
    let target = Target::new().await;
    let response = target
        .anonymous()
        .query(
            &init_sdk(&target.secret, "000000000000000000000000"),
            json!({}),
        )
        .await;
    response.expect_code("getClientWhenSdkInit", 2011);
}

#[tokio::test]
async fn browser_mode_init_is_refused_by_the_emulator() {
    let target = Target::new().await;
    if target.emulator().is_none() {
        return;
    }
    let response = target
        .anonymous()
        .query(&init_browser(&target.client_id), json!({}))
        .await;
    response.expect_code("getClientWhenSdkInit", 1001);
}

#[tokio::test]
async fn owner_token_expires_after_token_ttl() {
    // Three seconds: long enough to be used at once even on a loaded machine.
    let emulator = Emulator::builder().arg("--token-ttl").arg("3").start();
    let target = Target::on(emulator).await;
    let owner = target.owner().await;
    owner
        .query("query { users { totalCount } }", json!({}))
        .await
        .ok("users");
    // Let the token lifetime run out (this waits for time to pass, not for another task; JWT
    // times are whole seconds, so wait one more).
    tokio::time::sleep(std::time::Duration::from_millis(4200)).await;
    let response = owner
        .query("query { users { totalCount } }", json!({}))
        .await;
    response.expect_code("users", 2206);
    // A fresh init gives a working token again: clients can re-authenticate.
    target
        .owner()
        .await
        .query("query { users { totalCount } }", json!({}))
        .await
        .ok("users");
}
