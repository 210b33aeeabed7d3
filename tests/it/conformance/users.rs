//! Reading the pool: `users` (1-based pages, count up to 200, totalCount, creation order),
//! `userPatch` (comma-separated ids, 80 at most) and `user`, with their token rules.

use serde_json::{Value, json};

use super::documents::{USER_PATCH_DOC19, USER_PATCH_SDK, USER_SDK, USERS_DOC19, USERS_SDK};
use super::is_js_date;
use super::target::Target;
use crate::support::{CLIENT_ID, Emulator};

fn emails(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("list")
        .iter()
        .map(|user| user["email"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn generated(range: std::ops::RangeInclusive<u64>) -> Vec<String> {
    range.map(|i| format!("user{i}@example.com")).collect()
}

#[tokio::test]
async fn users_sdk_document_pages_in_creation_order() {
    let target = Target::on(Emulator::builder().generate(25).start()).await;
    let owner = target.owner().await;
    let page = |page: i64, count: i64| {
        let owner = owner.clone();
        async move {
            owner
                .query(
                    USERS_SDK,
                    json!({"registerInClient": CLIENT_ID, "page": page, "count": count, "populate": false}),
                )
                .await
        }
    };
    let first = page(1, 10).await;
    let users = first.ok("users");
    assert_eq!(users["totalCount"], 25);
    assert_eq!(emails(&users["list"]), generated(1..=10));
    let user = &users["list"][0];
    assert_eq!(user["username"], "user1");
    assert_eq!(user["nickname"], "User 1");
    assert_eq!(user["company"], "Example");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["blocked"], false);
    assert_eq!(user["registerInClient"], CLIENT_ID);
    assert!(user["password"].is_null(), "passwords are never served");
    assert!(is_js_date(&user["signedUp"]), "{}", user["signedUp"]);
    assert_eq!(user["userLoginHistory"]["totalCount"], 0);
    assert!(user["userLocation"].is_array());

    let third = page(3, 10).await;
    assert_eq!(emails(&third.ok("users")["list"]), generated(21..=25));
    let past_the_end = page(4, 10).await;
    assert_eq!(
        emails(&past_the_end.ok("users")["list"]),
        Vec::<String>::new()
    );
    assert_eq!(past_the_end.ok("users")["totalCount"], 25);
}

#[tokio::test]
async fn users_doc19_document_with_group_client_type_and_system_application_type() {
    let target = Target::on(Emulator::builder().generate(3).start()).await;
    let owner = target.owner().await;
    let response = owner
        .query(
            USERS_DOC19,
            json!({"registerInClient": CLIENT_ID, "page": 1, "count": 10}),
        )
        .await;
    let users = response.ok("users");
    assert_eq!(emails(&users["list"]), generated(1..=3));
    let user = &users["list"][0];
    assert!(user.get("group").is_some());
    assert!(user["clientType"].is_object() || user["clientType"].is_null());
    assert!(user.get("systemApplicationType").is_some());
}

#[tokio::test]
async fn users_count_is_clamped_to_200_and_page_below_1_is_page_1() {
    let target = Target::on(Emulator::builder().generate(450).start()).await;
    let owner = target.owner().await;
    let response = owner
        .query(USERS_SDK, json!({"page": 1, "count": 1000}))
        .await;
    let list = &response.ok("users")["list"];
    assert_eq!(list.as_array().map(Vec::len), Some(200));
    let second = owner
        .query(USERS_SDK, json!({"page": 2, "count": 200}))
        .await;
    assert_eq!(emails(&second.ok("users")["list"]), generated(201..=400));
    let zero = owner.query(USERS_SDK, json!({"page": 0, "count": 2})).await;
    assert_eq!(emails(&zero.ok("users")["list"]), generated(1..=2));
    let default = owner.query(USERS_SDK, json!({})).await;
    assert_eq!(emails(&default.ok("users")["list"]), generated(1..=10));
}

#[tokio::test]
async fn users_token_rules() {
    let target = Target::new().await;
    let query = "query { users(page: 1, count: 1) { totalCount } }";
    target
        .anonymous()
        .query(query, json!({}))
        .await
        .expect_code("users", 2020);
    target
        .anonymous()
        .with_token("not.a.token")
        .query(query, json!({}))
        .await
        .expect_code("users", 2207);
    let (_, email, _) = target.register("passw0rd!").await;
    let user_token = target.login(&email, "passw0rd!").await;
    target
        .anonymous()
        .with_token(&user_token)
        .query(query, json!({}))
        .await
        .expect_code("users", 1001);
    target
        .owner()
        .await
        .query(query, json!({}))
        .await
        .ok("users");
}

#[tokio::test]
async fn users_of_another_pool_is_2011() {
    let target = Target::new().await;
    let response = target
        .owner()
        .await
        .query(
            USERS_SDK,
            json!({"registerInClient": "000000000000000000000000"}),
        )
        .await;
    response.expect_code("users", 2011);
}

#[tokio::test]
async fn user_patch_both_documents_skip_unknown_ids() {
    let target = Target::new().await;
    let (a, _, _) = target.register("passw0rd!").await;
    let (b, _, _) = target.register("passw0rd!").await;
    let owner = target.owner().await;
    let ids = format!("{a}, 000000000000000000000000,{b}");
    for document in [USER_PATCH_SDK, USER_PATCH_DOC19] {
        // The SDK also sends `registerInClient`, which the document does not declare.
        let response = owner
            .query(
                document,
                json!({"ids": ids, "registerInClient": target.client_id}),
            )
            .await;
        let patch = response.ok("userPatch");
        assert_eq!(patch["totalCount"], 2);
        let got: Vec<&str> = patch["list"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|user| user["_id"].as_str())
            .collect();
        assert_eq!(got, [a.as_str(), b.as_str()]);
    }
}

#[tokio::test]
async fn user_patch_over_80_ids_is_2030() {
    let target = Target::new().await;
    let owner = target.owner().await;
    let ids = |n: usize| {
        (0..n)
            .map(|i| format!("{i:024x}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let eighty = owner.query(USER_PATCH_SDK, json!({"ids": ids(80)})).await;
    assert_eq!(eighty.ok("userPatch")["totalCount"], 0);
    owner
        .query(USER_PATCH_SDK, json!({"ids": ids(81)}))
        .await
        .expect_code("userPatch", 2030);
    target
        .anonymous()
        .query(USER_PATCH_SDK, json!({"ids": ids(1)}))
        .await
        .expect_code("userPatch", 2020);
}

#[tokio::test]
async fn user_returns_the_user_or_null() {
    let target = Target::new().await;
    let (id, email, _) = target.register("passw0rd!").await;
    let owner = target.owner().await;
    let response = owner
        .query(
            USER_SDK,
            json!({"id": id, "registerInClient": target.client_id}),
        )
        .await;
    let user = response.ok("user");
    assert_eq!(user["_id"], id.as_str());
    assert_eq!(user["email"], email.as_str());
    assert_eq!(user["nickname"], "Conformance");
    let missing = owner
        .query(
            USER_SDK,
            json!({"id": "000000000000000000000000", "registerInClient": target.client_id}),
        )
        .await;
    if target.emulator().is_some() {
        assert!(missing.ok("user").is_null());
    }
    // A user may read itself with its own login token.
    let token = target.login(&email, "passw0rd!").await;
    let own = target
        .anonymous()
        .with_token(&token)
        .query(
            USER_SDK,
            json!({"id": id, "registerInClient": target.client_id}),
        )
        .await;
    assert_eq!(own.ok("user")["_id"], id.as_str());
}
