//! User tokens as operations: `refreshToken` (owner), `checkLoginStatus` (both forms) and
//! `decodeJwtToken`, whose outcomes are reported in-band.

use serde_json::json;

use super::documents::{
    CHECK_LOGIN_DOC19, CHECK_LOGIN_SDK, DECODE_DOC19, DECODE_SDK, REFRESH_TOKEN, REMOVE_USERS,
};
use super::target::Target;

const PASSWORD: &str = "passw0rd!";

#[tokio::test]
async fn refresh_token_gives_a_15_day_login_token() {
    let target = Target::new().await;
    let (id, email, _) = target.register(PASSWORD).await;
    let owner = target.owner().await;
    let response = owner
        .query(
            REFRESH_TOKEN,
            json!({"client": target.client_id, "user": id}),
        )
        .await;
    let refreshed = response.ok("refreshToken");
    let iat = refreshed["iat"].as_i64().expect("iat");
    let exp = refreshed["exp"].as_i64().expect("exp");
    assert_eq!(exp - iat, 15 * 24 * 3600);
    let token = refreshed["token"].as_str().expect("token");
    let status = target
        .anonymous()
        .query(CHECK_LOGIN_SDK, json!({"token": token}))
        .await;
    let status = status.ok("checkLoginStatus");
    assert_eq!(status["code"], 200);
    assert_eq!(status["status"], true);
    assert_eq!(status["token"]["data"]["id"], id.as_str());
    assert_eq!(status["token"]["data"]["email"], email.as_str());
    assert_eq!(
        status["token"]["data"]["clientId"],
        target.client_id.as_str()
    );

    owner
        .query(
            REFRESH_TOKEN,
            json!({"client": target.client_id, "user": "000000000000000000000000"}),
        )
        .await
        .expect_code("refreshToken", 2004);
    target
        .anonymous()
        .query(
            REFRESH_TOKEN,
            json!({"client": target.client_id, "user": id}),
        )
        .await
        .expect_code("refreshToken", 2020);
}

#[tokio::test]
async fn check_login_status_in_both_forms() {
    let target = Target::new().await;
    let (_, email, register_token) = target.register(PASSWORD).await;
    // The token register returns is not a login.
    let status = target
        .anonymous()
        .query(CHECK_LOGIN_SDK, json!({"token": register_token}))
        .await;
    let status = status.ok("checkLoginStatus");
    assert_eq!(status["status"], false);
    assert_eq!(status["code"], 2020);
    assert_eq!(status["message"], "未登录");

    let token = target.login(&email, PASSWORD).await;
    let logged_in = target
        .anonymous()
        .query(CHECK_LOGIN_SDK, json!({"token": token}))
        .await;
    let logged_in = logged_in.ok("checkLoginStatus");
    assert_eq!(logged_in["status"], true);
    assert_eq!(logged_in["code"], 200);
    assert_eq!(logged_in["message"], "已登录");
    assert!(logged_in["token"]["exp"].is_i64());

    // DOC19: no argument, the caller's own token.
    let own = target
        .anonymous()
        .with_token(&token)
        .query(CHECK_LOGIN_DOC19, json!({}))
        .await;
    assert_eq!(own.ok("checkLoginStatus")["code"], 200);
    let anonymous = target.anonymous().query(CHECK_LOGIN_DOC19, json!({})).await;
    let anonymous = anonymous.ok("checkLoginStatus");
    assert_eq!(anonymous["status"], false);
    assert_eq!(anonymous["code"], 2020);
}

#[tokio::test]
async fn check_login_status_of_a_removed_user_is_not_logged_in() {
    let target = Target::new().await;
    if target.emulator().is_none() {
        return;
    }
    let (id, email, _) = target.register(PASSWORD).await;
    let token = target.login(&email, PASSWORD).await;
    target
        .owner()
        .await
        .query(REMOVE_USERS, json!({"ids": [id]}))
        .await
        .ok("removeUsers");
    let status = target
        .anonymous()
        .query(CHECK_LOGIN_SDK, json!({"token": token}))
        .await;
    assert_eq!(status.ok("checkLoginStatus")["code"], 2020);
}

#[tokio::test]
async fn decode_jwt_token_iat_is_a_string_and_exp_an_int() {
    let target = Target::new().await;
    let (id, email, _) = target.register(PASSWORD).await;
    let token = target.login(&email, PASSWORD).await;
    for document in [DECODE_SDK, DECODE_DOC19] {
        let response = target
            .anonymous()
            .query(document, json!({"token": token}))
            .await;
        let decoded = response.ok("decodeJwtToken");
        assert_eq!(decoded["status"]["code"], 200);
        assert_eq!(decoded["status"]["message"], "token 解析正常");
        assert_eq!(decoded["data"]["id"], id.as_str());
        assert_eq!(decoded["data"]["email"], email.as_str());
        assert_eq!(decoded["data"]["clientId"], target.client_id.as_str());
        let iat: i64 = decoded["iat"]
            .as_str()
            .expect("iat is a String")
            .parse()
            .expect("digits");
        let exp = decoded["exp"].as_i64().expect("exp is an Int");
        assert_eq!(exp - iat, 15 * 24 * 3600);
    }
    let garbage = target
        .anonymous()
        .query(DECODE_DOC19, json!({"token": "garbage"}))
        .await;
    assert_eq!(
        garbage.ok("decodeJwtToken"),
        &json!({"data": null, "status": {"message": "token 错误", "code": 2207, "status": null}, "iat": null, "exp": null})
    );
}
