//! v3 users: `create-user` and its refusals (the replies authing-node-sdk's own tests assert),
//! `get-user` by every id type, `get-user-batch` in every list spelling, `is-user-exists`,
//! `list-users` (pages, limits, filters, the GET form), batches (50 at most, all or nothing),
//! `update-user`, `delete-users-batch`, `get-user-mfa-info`, and passwords.

use serde_json::{Value, json};

use super::client::{Param, V3Client};
use super::target::V3Target;
use crate::support::{Emulator, unique};

fn email() -> String {
    format!("v3-{}@example.com", unique())
}

/// A mainland mobile number nobody else has.
fn phone() -> String {
    let digits: String = unique()
        .chars()
        .map(|c| char::from(b'0' + (c.to_digit(16).unwrap_or(0) % 10) as u8))
        .collect();
    format!("137{}", &digits[..8])
}

async fn create(client: &V3Client, body: Value) -> Value {
    client.post("create-user", body).await.ok().clone()
}

fn id_of(user: &Value) -> String {
    user["userId"].as_str().expect("userId").to_string()
}

async fn delete(client: &V3Client, ids: &[String]) {
    client
        .post("delete-users-batch", json!({"userIds": ids}))
        .await
        .ok();
}

#[tokio::test]
async fn create_user_with_full_basic_info_and_read_it_by_every_id_type() {
    let target = V3Target::new();
    for (scheme, client) in target.admins().await {
        let username = format!("v3{}", unique());
        let email = email();
        let phone = phone();
        let external_id = format!("hr-{}", unique());
        let user = create(
            &client,
            json!({
                "username": username, "email": email, "phone": phone, "phoneCountryCode": "+86",
                "externalId": external_id, "name": "Ada Lovelace", "nickname": "Ada",
                "gender": "F", "emailVerified": true, "phoneVerified": true,
                "givenName": "Ada", "familyName": "Lovelace", "city": "London", "province": "Greater London",
                "company": "Analytical Engines", "birthdate": "1815-12-10",
            }),
        )
        .await;
        assert_eq!(user["status"], "Activated", "{scheme}: {user}");
        assert_eq!(user["email"], email.as_str());
        assert_eq!(user["phone"], phone.as_str());
        assert_eq!(user["phoneCountryCode"], "+86");
        assert_eq!(user["username"], username.as_str());
        assert_eq!(user["externalId"], external_id.as_str());
        assert_eq!(user["name"], "Ada Lovelace");
        assert_eq!(user["gender"], "F");
        assert_eq!(user["emailVerified"], true);
        assert_eq!(user["phoneVerified"], true);
        assert_eq!(user["city"], "London");
        assert_eq!(user["loginsCount"], 0);
        assert!(user["lastLogin"].is_null());
        assert!(user["photo"].is_string(), "a default photo: {user}");
        assert!(
            user["createdAt"]
                .as_str()
                .is_some_and(|at| at.ends_with('Z'))
        );
        let id = id_of(&user);
        for (id_type, value) in [
            ("user_id", id.clone()),
            ("username", username.clone()),
            ("email", email.clone()),
            ("email", email.to_uppercase()),
            ("phone", phone.clone()),
            ("external_id", external_id.clone()),
        ] {
            let found = client
                .get(
                    "get-user",
                    &[
                        ("userId", value.as_str().into()),
                        ("userIdType", id_type.into()),
                    ],
                )
                .await;
            assert_eq!(found.ok()["userId"], id.as_str(), "{scheme} by {id_type}");
        }
        delete(&client, std::slice::from_ref(&id)).await;
        let gone = client
            .get("get-user", &[("userId", id.as_str().into())])
            .await;
        gone.refused();
        assert!(gone.message().contains("用户不存在"), "{}", gone.body);
        if target.emulator().is_some() {
            gone.expect(404).with_api_code(2004);
        }
    }
}

#[tokio::test]
async fn create_user_refusals_as_the_sdk_tests_assert_them() {
    let target = V3Target::new();
    let client = target.signed();
    client
        .post("create-user", json!({}))
        .await
        .expect(400)
        .with_message("Must contain one of the following fields: username, phone, email");
    client
        .post("create-user", json!({"email": "test1@qqq"}))
        .await
        .expect(400)
        .with_message("参数 email 格式错误");
    client
        .post(
            "create-user",
            json!({"phoneCountryCode": "+86", "email": email()}),
        )
        .await
        .expect(400)
        .with_message("phone cannot be empty");
    client
        .post("create-user", json!({"email": email(), "gender": "X"}))
        .await
        .expect(400)
        .with_message("参数 gender 格式错误");
    client
        .post(
            "create-user",
            json!({"email": email(), "status": "Sleeping"}),
        )
        .await
        .expect(400)
        .with_message("参数 status 格式错误");
    client
        .post(
            "create-user",
            json!({"email": email(), "customData": {"intro": "hello".repeat(205)}}),
        )
        .await
        .expect(400)
        .with_message("customData must be less than 1024 characters");
}

#[tokio::test]
async fn duplicates_are_refused_and_nothing_is_written() {
    let target = V3Target::new();
    let client = target.admin().await;
    let email = email();
    let user = create(&client, json!({"email": email})).await;
    let again = client
        .post("create-user", json!({"email": email.to_uppercase()}))
        .await;
    again.refused();
    if target.emulator().is_some() {
        again.expect(409);
        assert!(again.message().contains("email"), "{}", again.body);
    }
    let count = client
        .post(
            "list-users",
            json!({"advancedFilter": [{"field": "email", "operator": "EQUAL", "value": email}]}),
        )
        .await;
    assert_eq!(count.ok()["totalCount"], 1);
    delete(&client, &[id_of(&user)]).await;
}

#[tokio::test]
async fn list_users_pages_limits_and_filters() {
    let target = V3Target::on(Emulator::builder().generate(120).start());
    for (scheme, client) in target.admins().await {
        let page = |page: i64, limit: i64| {
            let client = client.clone();
            async move {
                client
                    .post(
                        "list-users",
                        json!({"options": {"pagination": {"page": page, "limit": limit}}}),
                    )
                    .await
            }
        };
        let first = page(1, 50).await;
        let data = first.ok();
        assert_eq!(data["totalCount"], 120, "{scheme}");
        let list = data["list"].as_array().expect("list");
        assert_eq!(list.len(), 50);
        assert_eq!(list[0]["email"], "user1@example.com");
        assert_eq!(list[49]["email"], "user50@example.com");
        let third = page(3, 50).await;
        let list = third.ok()["list"].as_array().cloned().unwrap_or_default();
        assert_eq!(list.len(), 20);
        assert_eq!(list[19]["email"], "user120@example.com");
        page(0, 10)
            .await
            .expect(400)
            .with_message("参数 page 格式错误");
        page(1, 0)
            .await
            .expect(400)
            .with_message("参数 limit 格式错误");
        page(1, 220)
            .await
            .expect(400)
            .with_message("limit must less than 50");
        page(1, 51)
            .await
            .expect(400)
            .with_message("limit must less than 50");
        // No pagination: 10.
        let default = client.post("list-users", json!({})).await;
        assert_eq!(default.ok()["list"].as_array().map(Vec::len), Some(10));
        // Newest first.
        let desc = client
            .post(
                "list-users",
                json!({"options": {"pagination": {"page": 1, "limit": 2}, "sort": [{"field": "createdAt", "order": "desc"}]}}),
            )
            .await;
        assert_eq!(desc.ok()["list"][0]["email"], "user120@example.com");
        // By id: `advancedFilter id IN`.
        let ids: Vec<String> = list
            .iter()
            .take(3)
            .map(|user| user["userId"].as_str().unwrap_or_default().to_string())
            .collect();
        let by_id = client
            .post(
                "list-users",
                json!({"advancedFilter": [{"field": "id", "operator": "IN", "value": [ids[2], ids[0], "000000000000000000000000", ids[1]]}], "options": {"pagination": {"page": 1, "limit": 50}}}),
            )
            .await;
        let found: Vec<&str> = by_id.ok()["list"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|user| user["userId"].as_str())
            .collect();
        assert_eq!(found, ids, "creation order, unknown ids left out");
        assert_eq!(by_id.ok()["totalCount"], 3);
        client
            .post(
                "list-users",
                json!({"advancedFilter": [{"field": "status", "operator": "EQUAL", "value": "invalid"}]}),
            )
            .await
            .expect(400)
            .with_message("参数 status 格式错误");
        let keywords = client
            .post("list-users", json!({"keywords": "user11"}))
            .await;
        // user11 and user110..=user119.
        assert_eq!(keywords.ok()["totalCount"], 11);
        // The deprecated GET form.
        let legacy = client
            .get(
                "list-users",
                &[("page", "2".into()), ("limit", "50".into())],
            )
            .await;
        assert_eq!(legacy.ok()["list"][0]["email"], "user51@example.com");
        client
            .get("list-users", &[("limit", "220".into())])
            .await
            .expect(400)
            .with_message("limit must less than 50");
        let suspended = client
            .get("list-users", &[("status", "Suspended".into())])
            .await;
        assert_eq!(suspended.ok()["totalCount"], 0);
    }
}

#[tokio::test]
async fn get_user_batch_takes_every_list_spelling() {
    let target = V3Target::on(Emulator::builder().generate(5).start());
    let client = target.signed();
    let listed = client
        .post(
            "list-users",
            json!({"options": {"pagination": {"page": 1, "limit": 5}}}),
        )
        .await;
    let ids: Vec<String> = listed.ok()["list"]
        .as_array()
        .expect("list")
        .iter()
        .map(|user| user["userId"].as_str().unwrap_or_default().to_string())
        .collect();
    let emails = |response: &super::client::V3Response| -> Vec<String> {
        response
            .ok()
            .as_array()
            .expect("data is an array")
            .iter()
            .map(|user| user["email"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let wanted = vec![
        ids[3].clone(),
        "000000000000000000000000".into(),
        ids[0].clone(),
    ];
    // axios: `userIds[]=a&userIds[]=b`, signed as a JSON array.
    let brackets = client
        .get(
            "get-user-batch",
            &[("userIds", Param::List(wanted.clone()))],
        )
        .await;
    assert_eq!(
        emails(&brackets),
        ["user4@example.com", "user1@example.com"]
    );
    // The Java SDK: `userIds=a,b`; Python: repeated keys.
    let comma = client
        .get_raw("get-user-batch", &format!("userIds={}", wanted.join(",")))
        .await;
    assert_eq!(emails(&comma), ["user4@example.com", "user1@example.com"]);
    let token = target.admin().await;
    let repeated = token
        .get_raw(
            "get-user-batch",
            &format!("userIds={}&userIds={}", ids[1], ids[2]),
        )
        .await;
    assert_eq!(
        emails(&repeated),
        ["user2@example.com", "user3@example.com"]
    );
    client
        .get("get-user-batch", &[])
        .await
        .expect(400)
        .with_message("参数 userIds 格式错误");
    let too_many: Vec<String> = (0..51).map(|i| format!("{i:024x}")).collect();
    client
        .get("get-user-batch", &[("userIds", Param::List(too_many))])
        .await
        .expect(400);
}

#[tokio::test]
async fn is_user_exists_by_each_key() {
    let target = V3Target::new();
    let client = target.admin().await;
    let username = format!("ex{}", unique());
    let user = create(&client, json!({"username": username})).await;
    let exists = |body: Value| {
        let client = client.clone();
        async move { client.post("is-user-exists", body).await }
    };
    assert_eq!(
        exists(json!({"username": username})).await.ok()["exists"],
        true
    );
    assert_eq!(
        exists(json!({"username": format!("no{}", unique())}))
            .await
            .ok()["exists"],
        false
    );
    exists(json!({}))
        .await
        .expect(400)
        .with_message("参数 username, email, phone, externalId 格式错误");
    delete(&client, &[id_of(&user)]).await;
}

#[tokio::test]
async fn create_users_batch_is_50_at_most_and_all_or_nothing() {
    let target = V3Target::on(Emulator::start());
    let client = target.signed();
    let tag = unique();
    let list: Vec<Value> = (0..50)
        .map(|i| json!({"email": format!("batch{i}-{tag}@example.com"), "name": format!("Batch {i}")}))
        .collect();
    let created = client
        .post(
            "create-users-batch",
            json!({"list": list, "options": {"passwordEncryptType": "none"}}),
        )
        .await;
    let users = created.ok().as_array().cloned().expect("array");
    assert_eq!(users.len(), 50);
    assert_eq!(users[7]["name"], "Batch 7");
    let too_many: Vec<Value> = (0..51)
        .map(|i| json!({"email": format!("more{i}-{tag}@example.com")}))
        .collect();
    client
        .post("create-users-batch", json!({"list": too_many}))
        .await
        .expect(400);
    client
        .post("create-users-batch", json!({"list": []}))
        .await
        .expect(400);
    // One bad item: nothing is written, and the message names it.
    let bad = client
        .post(
            "create-users-batch",
            json!({"list": [{"email": format!("ok-{tag}@example.com")}, {"email": "not-an-email"}]}),
        )
        .await;
    bad.expect(400);
    assert!(bad.message().starts_with("list[1]"), "{}", bad.body);
    // A duplicate inside the batch, or of an existing user: 409, nothing written.
    for list in [
        json!([{"email": format!("dup-{tag}@example.com")}, {"email": format!("DUP-{tag}@example.com")}]),
        json!([{"email": format!("fresh-{tag}@example.com")}, {"email": format!("batch3-{tag}@example.com")}]),
    ] {
        client
            .post("create-users-batch", json!({"list": list}))
            .await
            .expect(409);
    }
    let total = client.post("list-users", json!({})).await;
    assert_eq!(
        total.ok()["totalCount"],
        50,
        "refused batches wrote nothing"
    );
}

#[tokio::test]
async fn update_user_changes_fields_and_resets_what_a_new_email_or_phone_unverifies() {
    let target = V3Target::new();
    for (scheme, client) in target.admins().await {
        let user = create(
            &client,
            json!({"email": email(), "phone": phone(), "emailVerified": true, "phoneVerified": true, "gender": "M"}),
        )
        .await;
        let id = id_of(&user);
        let updated = client
            .post(
                "update-user",
                json!({"userId": id, "nickname": "Renamed", "gender": "F", "status": "Suspended", "city": "Paris"}),
            )
            .await;
        let data = updated.ok();
        assert_eq!(data["nickname"], "Renamed", "{scheme}");
        assert_eq!(data["gender"], "F");
        assert_eq!(data["status"], "Suspended");
        assert_eq!(data["city"], "Paris");
        assert_eq!(data["emailVerified"], true);
        if target.emulator().is_some() {
            let new_email = email();
            let moved = client
                .post(
                    "update-user",
                    json!({"userId": id, "email": new_email, "phone": phone(), "status": "Activated"}),
                )
                .await;
            let data = moved.ok();
            assert_eq!(data["email"], new_email.as_str());
            assert_eq!(data["emailVerified"], false);
            assert_eq!(data["phoneVerified"], false);
            assert_eq!(data["status"], "Activated");
            // Omitted fields are left alone.
            assert_eq!(data["nickname"], "Renamed");
            client
                .post(
                    "update-user",
                    json!({"userId": "000000000000000000000000", "nickname": "x"}),
                )
                .await
                .expect(404)
                .with_api_code(2004);
            client
                .post("update-user", json!({"nickname": "x"}))
                .await
                .expect(400)
                .with_message("参数 userId 格式错误");
            let by_email = client
                .post(
                    "update-user",
                    json!({"userId": new_email, "nickname": "By email", "options": {"userIdType": "email"}}),
                )
                .await;
            assert_eq!(by_email.ok()["nickname"], "By email");
        }
        delete(&client, &[id]).await;
    }
}

#[tokio::test]
async fn update_user_batch_is_all_or_nothing_and_may_swap_values() {
    let target = V3Target::on(Emulator::start());
    let client = target.admin().await;
    let (a_email, b_email) = (email(), email());
    let a = id_of(&create(&client, json!({"email": a_email, "nickname": "A"})).await);
    let b = id_of(&create(&client, json!({"email": b_email, "nickname": "B"})).await);
    let swapped = client
        .post(
            "update-user-batch",
            json!({"list": [{"userId": a, "email": b_email}, {"userId": b, "email": a_email}]}),
        )
        .await;
    let data = swapped.ok().as_array().cloned().expect("array");
    assert_eq!(data[0]["email"], b_email.as_str());
    assert_eq!(data[1]["email"], a_email.as_str());
    // A bad item stops the batch: the first change is not written either.
    client
        .post(
            "update-user-batch",
            json!({"list": [{"userId": a, "nickname": "Changed"}, {"userId": "000000000000000000000000", "nickname": "x"}]}),
        )
        .await
        .expect(404);
    let a_now = client
        .get("get-user", &[("userId", a.as_str().into())])
        .await;
    assert_eq!(a_now.ok()["nickname"], "A");
    client
        .post(
            "update-user-batch",
            json!({"list": [{"userId": a, "email": a_email}]}),
        )
        .await
        .expect(409);
}

#[tokio::test]
async fn delete_users_batch_skips_unknown_ids_and_refuses_an_empty_list() {
    let target = V3Target::new();
    let client = target.signed();
    let user = create(&client, json!({"email": email()})).await;
    let id = id_of(&user);
    let deleted = client
        .post(
            "delete-users-batch",
            json!({"userIds": [id, "000000000000000000000000"]}),
        )
        .await;
    if target.emulator().is_some() {
        assert_eq!(deleted.ok()["success"], true);
    }
    client
        .get("get-user", &[("userId", id.as_str().into())])
        .await
        .refused();
    client
        .post("delete-users-batch", json!({"userIds": []}))
        .await
        .expect(400)
        .with_message("参数 userIds 格式错误");
}

#[tokio::test]
async fn get_user_mfa_info_reads_totp_state() {
    let target = V3Target::new();
    let client = target.admin().await;
    let user = create(&client, json!({"email": email()})).await;
    let id = id_of(&user);
    let info = client
        .get("get-user-mfa-info", &[("userId", id.as_str().into())])
        .await;
    let data = info.ok();
    assert!(data["totpStatus"].is_string(), "{data}");
    assert!(data["faceMfaStatus"].is_string());
    client
        .get("get-user-mfa-info", &[("userId", "".into())])
        .await
        .expect(400)
        .with_message("参数 userId 格式错误");
    if target.emulator().is_some() {
        assert_eq!(data["totpStatus"], "disabled");
        // `otp` on create-user enrols TOTP with a known secret.
        let enrolled = create(
            &client,
            json!({"email": email(), "otp": {"secret": "JBSWY3DPEHPK3PXP"}}),
        )
        .await;
        let info = client
            .get(
                "get-user-mfa-info",
                &[("userId", id_of(&enrolled).as_str().into())],
            )
            .await;
        assert_eq!(info.ok()["totpStatus"], "enabled");
        client
            .get(
                "get-user-mfa-info",
                &[("userId", "000000000000000000000000".into())],
            )
            .await
            .expect(404);
    }
    delete(&client, &[id]).await;
}

#[tokio::test]
async fn passwords_none_rsa_and_generated() {
    let target = V3Target::on(Emulator::start());
    let client = target.signed();
    let v1 = super::super::target::Target::on(target.into_emulator().expect("emulator")).await;
    let plain_email = email();
    create(
        &client,
        json!({"email": plain_email, "password": "plain-pass-1", "options": {"passwordEncryptType": "none"}}),
    )
    .await;
    v1.login(&plain_email, "plain-pass-1").await;
    // `rsa`: PKCS#1 v1.5 + base64 with the key `GET /api/v3/system` serves.
    let system = client.get("system", &[]).await;
    assert_eq!(system.http, 200);
    let key = system.body["rsa"]["publicKey"]
        .as_str()
        .expect("rsa.publicKey")
        .to_string();
    let rsa_email = email();
    create(
        &client,
        json!({"email": rsa_email, "password": crate::support::encrypt_password(&key, "rsa-pass-22"), "options": {"passwordEncryptType": "rsa"}}),
    )
    .await;
    v1.login(&rsa_email, "rsa-pass-22").await;
    client
        .post(
            "create-user",
            json!({"email": email(), "password": "not base64 at all", "options": {"passwordEncryptType": "rsa"}}),
        )
        .await
        .expect(400);
    client
        .post(
            "create-user",
            json!({"email": email(), "password": "x", "options": {"passwordEncryptType": "sm2"}}),
        )
        .await
        .expect(501);
    let generated = create(
        &client,
        json!({"email": email(), "options": {"autoGeneratePassword": true}}),
    )
    .await;
    assert!(generated["userId"].is_string());
    // A password set by update-user replaces the old one.
    let id = client
        .get(
            "get-user",
            &[
                ("userId", plain_email.as_str().into()),
                ("userIdType", "email".into()),
            ],
        )
        .await
        .ok()["userId"]
        .as_str()
        .expect("userId")
        .to_string();
    client
        .post(
            "update-user",
            json!({"userId": id, "password": "changed-pass-3"}),
        )
        .await
        .ok();
    v1.login(&plain_email, "changed-pass-3").await;
}

#[tokio::test]
async fn import_otp_enrols_totp_and_its_secret_reads_back() {
    let target = V3Target::new();
    let client = target.signed();
    let user = create(&client, json!({"email": email()})).await;
    let id = id_of(&user);
    if target.emulator().is_some() {
        client
            .get("get-otp-secret-by-user", &[("userId", id.as_str().into())])
            .await
            .expect(404);
    }
    client
        .post(
            "import-otp",
            json!({"list": [{"userId": id, "otp": {"secret": "JBSWY3DPEHPK3PXP"}}]}),
        )
        .await
        .ok();
    let secret = client
        .get("get-otp-secret-by-user", &[("userId", id.as_str().into())])
        .await;
    assert_eq!(secret.ok()["secret"], "JBSWY3DPEHPK3PXP");
    let info = client
        .get("get-user-mfa-info", &[("userId", id.as_str().into())])
        .await;
    if target.emulator().is_some() {
        assert_eq!(info.ok()["totpStatus"], "enabled");
        // An unknown user refuses the whole list.
        let other = id_of(&create(&client, json!({"email": email()})).await);
        client
            .post(
                "import-otp",
                json!({"list": [{"userId": other, "otp": {"secret": "AAAA"}}, {"userId": "000000000000000000000000", "otp": {"secret": "BBBB"}}]}),
            )
            .await
            .expect(404);
        client
            .get(
                "get-otp-secret-by-user",
                &[("userId", other.as_str().into())],
            )
            .await
            .expect(404);
        // v1's queryMFA reads the same record.
        let owner = target.v1_owner().await.expect("emulator");
        let mfa = owner
            .query(
                crate::conformance::documents::QUERY_MFA_SDK,
                json!({"userId": id, "userPoolId": target.client_id}),
            )
            .await;
        let record = mfa.ok("queryMFA");
        assert_eq!(record["enable"], true);
        assert_eq!(record["shareKey"], "JBSWY3DPEHPK3PXP");
    }
    delete(&client, &[id]).await;
}
