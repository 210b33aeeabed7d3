//! MFA: `queryMFA` (both forms; owner or the user's token) and `changeMFA` (the user's own login
//! token only).

use serde_json::json;

use super::documents::{CHANGE_MFA, QUERY_MFA_DOC19, QUERY_MFA_SDK, REMOVE_USERS};
use super::target::Target;

const PASSWORD: &str = "passw0rd!";

fn is_base32(value: &serde_json::Value) -> bool {
    value.as_str().is_some_and(|key| {
        !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
    })
}

#[tokio::test]
async fn change_mfa_with_the_users_token_and_query_it_both_ways() {
    let target = Target::new().await;
    let (id, email, _) = target.register(PASSWORD).await;
    let owner = target.owner().await;
    let pool = target.client_id.as_str();
    if target.emulator().is_some() {
        let none = owner
            .query(QUERY_MFA_SDK, json!({"userId": id, "userPoolId": pool}))
            .await;
        assert!(none.ok("queryMFA").is_null(), "no record before changeMFA");
    }
    let user = target
        .anonymous()
        .with_token(&target.login(&email, PASSWORD).await);
    let changed = user
        .query(
            CHANGE_MFA,
            json!({"userId": id, "userPoolId": pool, "enable": true}),
        )
        .await;
    let changed = changed.ok("changeMFA").clone();
    assert_eq!(changed["enable"], true);
    assert_eq!(changed["userId"], id.as_str());
    assert_eq!(changed["userPoolId"], pool);
    assert!(is_base32(&changed["shareKey"]), "{}", changed["shareKey"]);
    let mfa_id = changed["_id"].as_str().expect("_id").to_string();

    let by_owner = owner
        .query(QUERY_MFA_SDK, json!({"userId": id, "userPoolId": pool}))
        .await;
    assert_eq!(by_owner.ok("queryMFA"), &changed);
    let doc19 = user
        .query(
            QUERY_MFA_DOC19,
            json!({"userId": id, "userPoolId": pool, "page": 1, "count": 10}),
        )
        .await;
    assert_eq!(doc19.ok("queryMFA"), &changed);
    let by_record = owner.query(QUERY_MFA_SDK, json!({"_id": mfa_id})).await;
    assert_eq!(by_record.ok("queryMFA")["userId"], id.as_str());

    let refreshed = user
        .query(
            CHANGE_MFA,
            json!({"_id": mfa_id, "enable": false, "refreshKey": true}),
        )
        .await;
    let refreshed = refreshed.ok("changeMFA");
    assert_eq!(refreshed["enable"], false);
    assert_eq!(refreshed["_id"], mfa_id.as_str());
    assert_ne!(refreshed["shareKey"], changed["shareKey"]);
}

#[tokio::test]
async fn change_mfa_token_rules() {
    let target = Target::new().await;
    let (id, _, _) = target.register(PASSWORD).await;
    let (_, other_email, _) = target.register(PASSWORD).await;
    let pool = target.client_id.as_str();
    let variables = json!({"userId": id, "userPoolId": pool, "enable": true});
    target
        .anonymous()
        .query(CHANGE_MFA, variables.clone())
        .await
        .expect_code("changeMFA", 2020);
    if target.emulator().is_some() {
        target
            .owner()
            .await
            .query(CHANGE_MFA, variables.clone())
            .await
            .expect_code("changeMFA", 2020);
    }
    let other = target
        .anonymous()
        .with_token(&target.login(&other_email, PASSWORD).await);
    other
        .query(CHANGE_MFA, variables.clone())
        .await
        .expect_code("changeMFA", 2202);
    target
        .anonymous()
        .query(QUERY_MFA_SDK, json!({"userId": id, "userPoolId": pool}))
        .await
        .expect_code("queryMFA", 2020);
}

#[tokio::test]
async fn removing_a_user_removes_its_mfa_record() {
    let target = Target::new().await;
    if target.emulator().is_none() {
        return;
    }
    let (id, email, _) = target.register(PASSWORD).await;
    let user = target
        .anonymous()
        .with_token(&target.login(&email, PASSWORD).await);
    let changed = user
        .query(
            CHANGE_MFA,
            json!({"userId": id, "userPoolId": target.client_id, "enable": true}),
        )
        .await;
    let mfa_id = changed.ok("changeMFA")["_id"]
        .as_str()
        .expect("_id")
        .to_string();
    let owner = target.owner().await;
    owner
        .query(REMOVE_USERS, json!({"ids": [id]}))
        .await
        .ok("removeUsers");
    owner
        .query(QUERY_MFA_SDK, json!({"_id": mfa_id}))
        .await
        .expect_code("queryMFA", 2004);
}

/// How a pool owner (a sync tool) changes a user's MFA without the user's password: an owner
/// `refreshToken` gives a login token for the user, and that token may call `changeMFA`.
#[tokio::test]
async fn owner_changes_mfa_through_a_refreshed_user_token() {
    let target = Target::new().await;
    let (id, _, _) = target.register(PASSWORD).await;
    let owner = target.owner().await;
    let refreshed = owner
        .query(
            super::documents::REFRESH_TOKEN,
            json!({"client": target.client_id, "user": id}),
        )
        .await;
    let token = refreshed.ok("refreshToken")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let changed = target
        .anonymous()
        .with_token(&token)
        .query(
            CHANGE_MFA,
            json!({"userId": id, "userPoolId": target.client_id, "enable": true}),
        )
        .await;
    assert_eq!(changed.ok("changeMFA")["enable"], true);
    let queried = owner
        .query(
            QUERY_MFA_SDK,
            json!({"userId": id, "userPoolId": target.client_id}),
        )
        .await;
    assert_eq!(queried.ok("queryMFA")["enable"], true);
}
