//! The whole 2020 profile: every `UserRegisterInput`/`UserUpdateInput` profile field is stored
//! by `register` and `updateUser` and served by `users`, `userPatch` and `user`; a phone is
//! updatable, unique, and changing it resets `phoneVerified` unless the same call sets it.

use serde_json::{Map, Value, json};

use super::target::Target;
use crate::support::{Gql, GqlResponse, unique};

const PASSWORD: &str = "passw0rd!";

/// The profile fields of the 2020 SDL that both inputs and `ExtendUser` have.
const PROFILE_FIELDS: [&str; 18] = [
    "name",
    "givenName",
    "familyName",
    "middleName",
    "preferredUsername",
    "profile",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "address",
    "formatted",
    "streetAddress",
    "locality",
    "region",
    "postalCode",
    "country",
];

/// A selection of everything a profile test reads.
fn selection() -> String {
    format!(
        "_id email username nickname company photo phone phoneVerified emailVerified blocked {}",
        PROFILE_FIELDS.join(" ")
    )
}

/// `register` with the whole input as one variable of the SDL input type.
fn register_document() -> String {
    format!(
        "mutation register($userInfo: UserRegisterInput!) {{ register(userInfo: $userInfo) {{ {} }} }}",
        selection()
    )
}

/// `updateUser` as Authing's API page writes it: the whole input as one variable.
fn update_document() -> String {
    format!(
        "mutation updateUser($options: UserUpdateInput!) {{ updateUser(options: $options) {{ {} }} }}",
        selection()
    )
}

fn users_document() -> String {
    format!(
        "query users($page: Int, $count: Int) {{ users(page: $page, count: $count) {{ totalCount list {{ {} }} }} }}",
        selection()
    )
}

fn user_patch_document() -> String {
    format!(
        "query userPatch($ids: String) {{ userPatch(ids: $ids) {{ totalCount list {{ {} }} }} }}",
        selection()
    )
}

/// A mainland mobile number nobody else has.
fn phone() -> String {
    let digits: String = unique()
        .chars()
        .map(|c| char::from(b'0' + (c.to_digit(16).unwrap_or(0) % 10) as u8))
        .collect();
    format!("139{}", &digits[..8])
}

fn profile_values(tag: &str) -> Map<String, Value> {
    PROFILE_FIELDS
        .iter()
        .map(|field| {
            let value = match *field {
                "gender" => "F".to_string(),
                "birthdate" => "1990-02-03".to_string(),
                "website" => format!("https://{tag}.example.com"),
                "zoneinfo" => "Asia/Shanghai".to_string(),
                "locale" => "zh-CN".to_string(),
                _ => format!("{field} {tag}"),
            };
            ((*field).to_string(), Value::String(value))
        })
        .collect()
}

async fn register(target: &Target, extra: Map<String, Value>) -> Value {
    let mut info = Map::new();
    info.insert(
        "email".into(),
        json!(format!("profile-{}@example.com", unique())),
    );
    info.insert("password".into(), json!(target.encrypt(PASSWORD)));
    info.insert("registerInClient".into(), json!(target.client_id));
    info.extend(extra);
    let response = target
        .anonymous()
        .query(&register_document(), json!({"userInfo": info}))
        .await;
    response.ok("register").clone()
}

async fn update(owner: &Gql, target: &Target, id: &str, fields: Value) -> GqlResponse {
    let mut options = fields.as_object().cloned().unwrap_or_default();
    options.insert("_id".into(), json!(id));
    options.insert("registerInClient".into(), json!(target.client_id));
    owner
        .query(&update_document(), json!({"options": options}))
        .await
}

/// The user as `userPatch` serves it.
async fn read_back(owner: &Gql, id: &str) -> Value {
    let response = owner
        .query(&user_patch_document(), json!({"ids": id}))
        .await;
    let patch = response.ok("userPatch");
    assert_eq!(patch["totalCount"], 1, "{patch}");
    patch["list"][0].clone()
}

fn assert_fields(user: &Value, expected: &Map<String, Value>) {
    for (field, value) in expected {
        assert_eq!(&user[field], value, "{field} of {user}");
    }
}

#[tokio::test]
async fn register_stores_every_profile_field_and_every_read_serves_it() {
    let target = Target::new().await;
    let owner = target.owner().await;
    let values = profile_values("reg");
    let mut extra = values.clone();
    let phone = phone();
    extra.insert("phone".into(), json!(phone));
    let registered = register(&target, extra).await;
    assert_fields(&registered, &values);
    assert_eq!(registered["phone"], phone.as_str());
    assert_eq!(registered["phoneVerified"], false);
    let id = registered["_id"].as_str().expect("_id").to_string();

    assert_fields(&read_back(&owner, &id).await, &values);

    let user = owner
        .query(
            &format!(
                "query user($id: String) {{ user(id: $id) {{ {} }} }}",
                selection()
            ),
            json!({"id": id}),
        )
        .await;
    assert_fields(user.ok("user"), &values);

    if target.emulator().is_some() {
        // On the emulator the new user is the last of the pool.
        let users = owner
            .query(&users_document(), json!({"page": 1, "count": 200}))
            .await;
        let list = users.ok("users")["list"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let listed = list
            .iter()
            .find(|user| user["_id"] == id.as_str())
            .expect("the new user is listed");
        assert_fields(listed, &values);
        assert_eq!(listed["phone"], phone.as_str());
    }
}

#[tokio::test]
async fn update_user_writes_every_profile_field_clears_with_empty_and_leaves_null_alone() {
    let target = Target::new().await;
    let owner = target.owner().await;
    let registered = register(&target, profile_values("before")).await;
    let id = registered["_id"].as_str().expect("_id").to_string();

    let after = profile_values("after");
    let response = update(&owner, &target, &id, Value::Object(after.clone())).await;
    assert_fields(response.ok("updateUser"), &after);
    assert_fields(&read_back(&owner, &id).await, &after);

    // `null` leaves a field alone; an empty string clears it.
    let response = update(
        &owner,
        &target,
        &id,
        json!({"name": null, "givenName": "", "website": ""}),
    )
    .await;
    let updated = response.ok("updateUser");
    assert_eq!(updated["name"], after["name"]);
    assert!(updated["givenName"].is_null(), "{updated}");
    assert!(updated["website"].is_null(), "{updated}");
    let stored = read_back(&owner, &id).await;
    assert_eq!(stored["familyName"], after["familyName"]);
    assert!(stored["givenName"].is_null(), "{stored}");
}

#[tokio::test]
async fn update_user_changes_the_phone_and_refuses_one_another_user_holds() {
    let target = Target::new().await;
    let owner = target.owner().await;
    let first_phone = phone();
    let holder = register(
        &target,
        Map::from_iter([("phone".to_string(), json!(first_phone))]),
    )
    .await;
    let user = register(&target, Map::new()).await;
    let id = user["_id"].as_str().expect("_id").to_string();
    assert!(user["phone"].is_null());

    // A phone and phoneVerified set together.
    let own_phone = phone();
    let response = update(
        &owner,
        &target,
        &id,
        json!({"phone": own_phone, "phoneVerified": true}),
    )
    .await;
    let updated = response.ok("updateUser");
    assert_eq!(updated["phone"], own_phone.as_str());
    assert_eq!(updated["phoneVerified"], true);

    // The holder's phone is refused (2026), and nothing changes.
    update(&owner, &target, &id, json!({"phone": first_phone}))
        .await
        .expect_code("updateUser", 2026);
    let stored = read_back(&owner, &id).await;
    assert_eq!(stored["phone"], own_phone.as_str());
    assert_ne!(holder["_id"], stored["_id"]);

    // The same phone again changes nothing, not even phoneVerified.
    let same = update(&owner, &target, &id, json!({"phone": own_phone})).await;
    assert_eq!(same.ok("updateUser")["phoneVerified"], true);

    if target.emulator().is_some() {
        // The emulator's choice: a new phone is unverified unless the same call says otherwise.
        let changed = update(&owner, &target, &id, json!({"phone": phone()})).await;
        assert_eq!(changed.ok("updateUser")["phoneVerified"], false);
        let last_phone = phone();
        let verified = update(
            &owner,
            &target,
            &id,
            json!({"phone": last_phone, "phoneVerified": true}),
        )
        .await;
        assert_eq!(verified.ok("updateUser")["phoneVerified"], true);
        // An empty phone clears it, and the cleared phone is free for another user.
        let cleared = update(&owner, &target, &id, json!({"phone": ""})).await;
        assert!(cleared.ok("updateUser")["phone"].is_null());
        let next = register(
            &target,
            Map::from_iter([("phone".to_string(), json!(last_phone))]),
        )
        .await;
        assert_eq!(next["phone"], last_phone.as_str());
    }
}

#[tokio::test]
async fn phone_verified_alone_is_updatable() {
    let target = Target::new().await;
    let owner = target.owner().await;
    let user = register(
        &target,
        Map::from_iter([("phone".to_string(), json!(phone()))]),
    )
    .await;
    let id = user["_id"].as_str().expect("_id").to_string();
    let response = update(&owner, &target, &id, json!({"phoneVerified": true})).await;
    assert_eq!(response.ok("updateUser")["phoneVerified"], true);
    assert_eq!(read_back(&owner, &id).await["phoneVerified"], true);
    let response = update(&owner, &target, &id, json!({"phoneVerified": false})).await;
    assert_eq!(response.ok("updateUser")["phoneVerified"], false);
}
