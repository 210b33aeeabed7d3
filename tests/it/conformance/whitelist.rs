//! The phone-registration whitelist ("invitation"), in the 2019 spelling (DOC19: `qrCodePhone`,
//! `enableQrCode`, the misspelt `$qrCodPhone`, trailing commas) and the 2020 one (`phone`,
//! `enablePhone`).

use serde_json::json;

use super::documents::{
    ADD_TO_INVITATION_DOC19, ADD_TO_INVITATION_GEN20, QUERY_INVITATION_DOC19,
    QUERY_INVITATION_GEN20, QUERY_INVITATION_STATE_DOC19, QUERY_INVITATION_STATE_GEN20,
    REGISTER_SDK, REMOVE_FROM_INVITATION_DOC19, REMOVE_FROM_INVITATION_GEN20,
    SET_INVITATION_STATE_DOC19, SET_INVITATION_STATE_GEN20,
};
use super::target::Target;
use crate::support::unique;

#[tokio::test]
async fn doc19_documents_as_published() {
    let target = Target::new().await;
    let owner = target.owner().await;
    let client = target.client_id.as_str();
    let state = owner
        .query(QUERY_INVITATION_STATE_DOC19, json!({"client": client}))
        .await;
    assert_eq!(state.ok("queryInvitationState")["client"], client);
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
    let state = owner
        .query(QUERY_INVITATION_STATE_DOC19, json!({"client": client}))
        .await;
    assert_eq!(state.ok("queryInvitationState")["enableQrCode"], true);
}

#[tokio::test]
async fn gen20_documents_add_idempotently_and_remove() {
    let target = Target::new().await;
    let owner = target.owner().await;
    let client = target.client_id.as_str();
    if target.emulator().is_some() {
        let initial = owner
            .query(QUERY_INVITATION_STATE_GEN20, json!({"client": client}))
            .await;
        assert_eq!(initial.ok("queryInvitationState")["enablePhone"], false);
        let empty = owner
            .query(QUERY_INVITATION_GEN20, json!({"client": client}))
            .await;
        assert_eq!(empty.ok("queryInvitation"), &json!([]));
    }
    let phone = "+86 139-0000-0000";
    let first = owner
        .query(
            ADD_TO_INVITATION_GEN20,
            json!({"client": client, "phone": phone}),
        )
        .await;
    let first = first.ok("addToInvitation").clone();
    assert_eq!(first["phone"], phone);
    assert_eq!(first["isDeleted"], false);
    let again = owner
        .query(
            ADD_TO_INVITATION_GEN20,
            json!({"client": client, "phone": phone}),
        )
        .await;
    if target.emulator().is_some() {
        assert_eq!(
            again.ok("addToInvitation"),
            &first,
            "adding twice changes nothing"
        );
    }
    let listed = owner
        .query(QUERY_INVITATION_GEN20, json!({"client": client}))
        .await;
    let phones: Vec<&str> = listed
        .ok("queryInvitation")
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|entry| entry["phone"].as_str())
        .collect();
    assert_eq!(phones.iter().filter(|p| **p == phone).count(), 1);
    let removed = owner
        .query(
            REMOVE_FROM_INVITATION_GEN20,
            json!({"client": client, "phone": phone}),
        )
        .await;
    assert_eq!(removed.ok("removeFromInvitation")["phone"], phone);
    if target.emulator().is_some() {
        let absent = owner
            .query(
                REMOVE_FROM_INVITATION_GEN20,
                json!({"client": client, "phone": phone}),
            )
            .await;
        assert!(absent.ok("removeFromInvitation").is_null());
    }
    let set = owner
        .query(
            SET_INVITATION_STATE_GEN20,
            json!({"client": client, "enablePhone": false}),
        )
        .await;
    assert_eq!(set.ok("setInvitationState")["enablePhone"], false);
}

#[tokio::test]
async fn whitelist_token_rules_and_pool() {
    let target = Target::new().await;
    let client = target.client_id.as_str();
    target
        .anonymous()
        .query(QUERY_INVITATION_GEN20, json!({"client": client}))
        .await
        .expect_code("queryInvitation", 2020);
    let (_, email, _) = target.register("passw0rd!").await;
    let user = target
        .anonymous()
        .with_token(&target.login(&email, "passw0rd!").await);
    user.query(
        ADD_TO_INVITATION_GEN20,
        json!({"client": client, "phone": "13800000001"}),
    )
    .await
    .expect_code("addToInvitation", 1001);
    target
        .owner()
        .await
        .query(
            QUERY_INVITATION_GEN20,
            json!({"client": "000000000000000000000000"}),
        )
        .await
        .expect_code("queryInvitation", 2011);
}

#[tokio::test]
async fn switched_on_whitelist_refuses_unlisted_phones_at_registration() {
    let target = Target::new().await;
    if target.emulator().is_none() {
        return;
    }
    let owner = target.owner().await;
    let client = target.client_id.as_str();
    owner
        .query(
            SET_INVITATION_STATE_GEN20,
            json!({"client": client, "enablePhone": true}),
        )
        .await
        .ok("setInvitationState");
    owner
        .query(
            ADD_TO_INVITATION_GEN20,
            json!({"client": client, "phone": "13800000002"}),
        )
        .await
        .ok("addToInvitation");
    let register = |phone: &str| {
        let client = target.anonymous();
        let variables = json!({
            "phone": phone,
            "username": format!("p{}", unique()),
            "password": target.encrypt("passw0rd!"),
            "registerInClient": target.client_id,
        });
        async move { client.query(REGISTER_SDK, variables).await }
    };
    register("13800000003").await.expect_code("register", 2031);
    assert_eq!(
        register("13800000002").await.ok("register")["phone"],
        "13800000002"
    );
}
