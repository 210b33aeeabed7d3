//! The wire itself: error objects in Apollo style, validation errors as HTTP 400, undeclared
//! variables ignored, `Authorization` forms, `sendResetPasswordEmail` in-band status.

use serde_json::json;

use super::documents::{SEND_RESET_PASSWORD_EMAIL, USER_PATCH_SDK, update_user_sdk};
use super::target::Target;
use crate::support::unique;

#[tokio::test]
async fn resolver_errors_are_http_200_with_an_error_object() {
    let target = Target::new().await;
    let response = target
        .owner()
        .await
        .operation(
            &update_user_sdk(&["_id", "nickname", "registerInClient"]),
            json!({"_id": "000000000000000000000000", "nickname": "x", "registerInClient": target.client_id}),
            "UpdateUser",
        )
        .await;
    assert_eq!(response.status, 200);
    let error = &response.body["errors"][0];
    assert_eq!(error["message"]["code"], 2004);
    assert_eq!(error["message"]["message"], "用户不存在");
    assert_eq!(error["path"], json!(["updateUser"]));
    assert!(error["locations"][0]["line"].is_i64());
    assert_eq!(error["extensions"]["code"], "INTERNAL_SERVER_ERROR");
    assert_eq!(response.body["data"], json!({"updateUser": null}));
}

#[tokio::test]
async fn malformed_queries_are_http_400_validation_errors() {
    let target = Target::new().await;
    let client = target.anonymous();
    let unknown_field = client.query("query { users { nope } }", json!({})).await;
    assert_eq!(unknown_field.status, 400, "{}", unknown_field.body);
    assert!(unknown_field.body["errors"][0]["message"].is_string());
    let syntax = client.query("query { users(", json!({})).await;
    assert_eq!(syntax.status, 400, "{}", syntax.body);
    assert!(syntax.body["errors"][0]["message"].is_string());
    let wrong_type = client.query(USER_PATCH_SDK, json!({"ids": 42})).await;
    assert_eq!(wrong_type.status, 400, "{}", wrong_type.body);
    let missing_required = client.query(USER_PATCH_SDK, json!({})).await;
    assert_eq!(missing_required.status, 400, "{}", missing_required.body);
}

#[tokio::test]
async fn bodies_that_are_not_graphql_requests_are_http_400() {
    let target = Target::new().await;
    if target.emulator().is_none() {
        return;
    }
    let client = target.anonymous();
    let no_query = client.send(json!({"variables": {}})).await.expect("send");
    assert_eq!(no_query.status, 400);
    let not_object = client.send(json!([1, 2])).await.expect("send");
    assert_eq!(not_object.status, 400);
}

#[tokio::test]
async fn undeclared_variables_are_ignored() {
    let target = Target::new().await;
    let owner = target.owner().await;
    let response = owner
        .query(
            "query { users(page: 1, count: 1) { totalCount } }",
            json!({"page": 99, "registerInClient": "something else", "anything": [1, 2, 3]}),
        )
        .await;
    assert!(response.ok("users")["totalCount"].is_i64());
}

#[tokio::test]
async fn operation_name_selects_the_operation() {
    let target = Target::new().await;
    let owner = target.owner().await;
    let document =
        "query A { users(page: 1, count: 1) { totalCount } } query B { checkLoginStatus { code } }";
    let b = owner.operation(document, json!({}), "B").await;
    assert!(b.ok("checkLoginStatus")["code"].is_i64());
    let a = owner.operation(document, json!({}), "A").await;
    assert!(a.ok("users")["totalCount"].is_i64());
}

#[tokio::test]
async fn a_bare_token_without_bearer_is_accepted_by_the_emulator() {
    let target = Target::new().await;
    if target.emulator().is_none() {
        return;
    }
    let token = target.owner_token().await;
    let response = target
        .anonymous()
        .with_bare_token(&token)
        .query("query { users { totalCount } }", json!({}))
        .await;
    assert!(response.ok("users")["totalCount"].is_i64());
}

#[tokio::test]
async fn send_reset_password_email_reports_in_band() {
    let target = Target::new().await;
    let (_, email, _) = target.register("passw0rd!").await;
    let sent = target
        .anonymous()
        .query(
            SEND_RESET_PASSWORD_EMAIL,
            json!({"email": email, "client": target.client_id}),
        )
        .await;
    let sent = sent.ok("sendResetPasswordEmail");
    assert_eq!(sent["code"], 200);
    assert_eq!(sent["status"], true);
    let unknown = target
        .anonymous()
        .query(
            SEND_RESET_PASSWORD_EMAIL,
            json!({"email": format!("nobody-{}@example.com", unique()), "client": target.client_id}),
        )
        .await;
    if let Some(emulator) = target.emulator() {
        let unknown = unknown.ok("sendResetPasswordEmail");
        assert_eq!(unknown["code"], 2004);
        assert_eq!(unknown["status"], false);
        let mailbox = emulator.mailbox().await;
        let mails = mailbox.as_array().expect("a list");
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0]["email"], email.as_str());
        assert_eq!(mails[0]["kind"], "resetPassword");
        assert!(mails[0]["at"].is_i64());
    }
}
