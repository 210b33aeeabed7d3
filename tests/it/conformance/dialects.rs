//! The emulator's "older server" modes, so clients' fallbacks meet a real refusal:
//! `--without-create-user` (no `createUser` in the schema) and `--whitelist-spelling 2019`
//! (only `qrCodePhone`/`enableQrCode`, validation errors wrapped as `{code, message}`).
//! Emulator-only by nature.

use serde_json::json;

use super::documents::{
    ADD_TO_INVITATION_DOC19, ADD_TO_INVITATION_GEN20, CREATE_USER, QUERY_INVITATION_DOC19,
    QUERY_INVITATION_GEN20, QUERY_INVITATION_STATE_DOC19, QUERY_INVITATION_STATE_GEN20,
    REGISTER_SDK, REMOVE_FROM_INVITATION_DOC19, REMOVE_FROM_INVITATION_GEN20,
    SET_INVITATION_STATE_DOC19, SET_INVITATION_STATE_GEN20,
};
use super::target::Target;
use crate::support::{Emulator, GqlResponse, unique, writes};

/// HTTP 400, no `data`, the first error's message a plain string naming `needle`.
fn assert_plain_validation_error(response: &GqlResponse, needle: &str) {
    assert_eq!(response.status, 400, "{}", response.body);
    assert!(response.body.get("data").is_none(), "{}", response.body);
    let message = &response.body["errors"][0]["message"];
    assert!(
        message.as_str().is_some_and(|text| text.contains(needle)),
        "{}",
        response.body
    );
}

/// HTTP 400, no `data`, the first error's message an object `{code: 500, message}` naming
/// `needle`.
fn assert_wrapped_validation_error(response: &GqlResponse, needle: &str) {
    assert_eq!(response.status, 400, "{}", response.body);
    assert!(response.body.get("data").is_none(), "{}", response.body);
    let error = &response.body["errors"][0];
    assert_eq!(error["message"]["code"], 500, "{}", response.body);
    assert!(
        error["message"]["message"]
            .as_str()
            .is_some_and(|text| text.contains(needle)),
        "{}",
        response.body
    );
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
}

#[tokio::test]
async fn without_create_user_the_document_fails_validation_and_register_still_works() {
    let target = Target::on(Emulator::builder().arg("--without-create-user").start()).await;
    let owner = target.owner().await;
    let user_info = json!({
        "email": format!("old-{}@example.com", unique()),
        "password": target.encrypt("passw0rd!"),
        "registerInClient": target.client_id,
    });
    let refused = owner
        .query(CREATE_USER, json!({"userInfo": user_info}))
        .await;
    assert_plain_validation_error(&refused, "createUser");
    let registered = target
        .anonymous()
        .query(
            REGISTER_SDK,
            json!({"email": user_info["email"], "password": target.encrypt("passw0rd!"), "registerInClient": target.client_id}),
        )
        .await;
    registered.ok("register");
    let stats = target.emulator().expect("emulator").stats().await;
    assert_eq!(writes(&stats), 1, "the refused document executed nothing");
}

#[tokio::test]
async fn whitelist_spelling_2019_refuses_2020_names_with_wrapped_errors() {
    let target = Target::on(
        Emulator::builder()
            .arg("--whitelist-spelling")
            .arg("2019")
            .start(),
    )
    .await;
    let owner = target.owner().await;
    let client = target.client_id.as_str();
    for (document, variables, needle) in [
        (
            ADD_TO_INVITATION_GEN20,
            json!({"client": client, "phone": "13800000000"}),
            "phone",
        ),
        (
            REMOVE_FROM_INVITATION_GEN20,
            json!({"client": client, "phone": "13800000000"}),
            "phone",
        ),
        (
            SET_INVITATION_STATE_GEN20,
            json!({"client": client, "enablePhone": true}),
            "enablePhone",
        ),
        (QUERY_INVITATION_GEN20, json!({"client": client}), "phone"),
        (
            QUERY_INVITATION_STATE_GEN20,
            json!({"client": client}),
            "enablePhone",
        ),
    ] {
        let response = owner.query(document, variables).await;
        assert_wrapped_validation_error(&response, needle);
    }
    // A missing required variable is wrapped the same way.
    let missing = owner.query(QUERY_INVITATION_DOC19, json!({})).await;
    assert_wrapped_validation_error(&missing, "client");
    let stats = target.emulator().expect("emulator").stats().await;
    assert_eq!(writes(&stats), 0);

    // The 2019 documents work, and resolver errors keep their Authing codes.
    let set = owner
        .query(
            SET_INVITATION_STATE_DOC19,
            json!({"client": client, "enableQrCode": true}),
        )
        .await;
    assert_eq!(set.ok("setInvitationState")["enableQrCode"], true);
    let added = owner
        .query(
            ADD_TO_INVITATION_DOC19,
            json!({"client": client, "qrCodPhone": "13800000000"}),
        )
        .await;
    assert_eq!(
        added.ok("addToInvitation"),
        &json!({"client": client, "qrCodePhone": "13800000000"})
    );
    let listed = owner
        .query(QUERY_INVITATION_DOC19, json!({"client": client}))
        .await;
    assert_eq!(
        listed.ok("queryInvitation"),
        &json!([{"client": client, "qrCodePhone": "13800000000"}])
    );
    let state = owner
        .query(QUERY_INVITATION_STATE_DOC19, json!({"client": client}))
        .await;
    assert_eq!(state.ok("queryInvitationState")["enableQrCode"], true);
    let removed = owner
        .query(
            REMOVE_FROM_INVITATION_DOC19,
            json!({"client": client, "qrCodePhone": "13800000000"}),
        )
        .await;
    assert_eq!(
        removed.ok("removeFromInvitation")["qrCodePhone"],
        "13800000000"
    );
    target
        .anonymous()
        .query(QUERY_INVITATION_DOC19, json!({"client": client}))
        .await
        .expect_code("queryInvitation", 2020);
    // createUser is still there unless it is switched off too.
    let created = owner
        .query(
            CREATE_USER,
            json!({"userInfo": {"username": format!("u{}", unique()), "password": target.encrypt("passw0rd!"), "registerInClient": client}}),
        )
        .await;
    created.ok("createUser");
}

#[tokio::test]
async fn both_older_modes_together_wrap_the_create_user_refusal() {
    let target = Target::on(
        Emulator::builder()
            .arg("--whitelist-spelling")
            .arg("2019")
            .arg("--without-create-user")
            .start(),
    )
    .await;
    let owner = target.owner().await;
    let refused = owner
        .query(
            CREATE_USER,
            json!({"userInfo": {"username": "x", "registerInClient": target.client_id}}),
        )
        .await;
    assert_wrapped_validation_error(&refused, "createUser");
}
