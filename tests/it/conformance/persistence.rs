//! `--state FILE` across a graceful restart and across `kill -9`, and `--generate N` and
//! `--generate-phones N` (deterministic, only into an empty pool).

use serde_json::json;

use super::documents::{
    ADD_TO_INVITATION_GEN20, CHANGE_MFA, QUERY_INVITATION_GEN20, QUERY_INVITATION_STATE_GEN20,
    QUERY_MFA_SDK, REMOVE_FROM_INVITATION_GEN20, REMOVE_USERS, SEND_RESET_PASSWORD_EMAIL,
    SET_INVITATION_STATE_GEN20, USERS_SDK,
};
use super::target::Target;
use crate::support::{Emulator, path_in, temp_dir};

const PASSWORD: &str = "passw0rd!";

/// What a test writes before the restart.
struct Written {
    owner_token: String,
    user_id: String,
    email: String,
    public_key: String,
}

async fn write_everything(target: &Target) -> Written {
    let owner_token = target.owner_token().await;
    let owner = target.anonymous().with_token(&owner_token);
    let client = target.client_id.as_str();
    let (user_id, email, _) = target.register(PASSWORD).await;
    let user = target
        .anonymous()
        .with_token(&target.login(&email, PASSWORD).await);
    user.query(
        CHANGE_MFA,
        json!({"userId": user_id, "userPoolId": client, "enable": true}),
    )
    .await
    .ok("changeMFA");
    owner
        .query(
            ADD_TO_INVITATION_GEN20,
            json!({"client": client, "phone": "13800000000"}),
        )
        .await
        .ok("addToInvitation");
    owner
        .query(
            SET_INVITATION_STATE_GEN20,
            json!({"client": client, "enablePhone": true}),
        )
        .await
        .ok("setInvitationState");
    target
        .anonymous()
        .query(
            SEND_RESET_PASSWORD_EMAIL,
            json!({"email": email, "client": client}),
        )
        .await
        .ok("sendResetPasswordEmail");
    Written {
        owner_token,
        user_id,
        email,
        public_key: target.public_key.clone(),
    }
}

async fn check_everything(target: &Target, written: &Written) {
    assert_eq!(
        target.public_key, written.public_key,
        "the RSA key survives"
    );
    let owner = target.anonymous().with_token(&written.owner_token);
    let client = target.client_id.as_str();
    let users = owner
        .query(USERS_SDK, json!({"page": 1, "count": 10}))
        .await;
    let users = users.ok("users");
    assert_eq!(users["totalCount"], 1, "the old owner token still works");
    assert_eq!(users["list"][0]["_id"], written.user_id.as_str());
    assert_eq!(users["list"][0]["loginsCount"], 1);
    target.login(&written.email, PASSWORD).await;
    let mfa = owner
        .query(
            QUERY_MFA_SDK,
            json!({"userId": written.user_id, "userPoolId": client}),
        )
        .await;
    assert_eq!(mfa.ok("queryMFA")["enable"], true);
    let phones = owner
        .query(QUERY_INVITATION_GEN20, json!({"client": client}))
        .await;
    assert_eq!(phones.ok("queryInvitation")[0]["phone"], "13800000000");
    let state = owner
        .query(QUERY_INVITATION_STATE_GEN20, json!({"client": client}))
        .await;
    assert_eq!(state.ok("queryInvitationState")["enablePhone"], true);
    let mailbox = target.emulator().expect("emulator").mailbox().await;
    assert_eq!(mailbox.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn state_survives_a_graceful_restart() {
    let dir = temp_dir();
    let state = path_in(&dir, "pool.json");
    let target = Target::on(Emulator::builder().state(&state).start()).await;
    let written = write_everything(&target).await;
    let emulator = target_into_emulator(target);
    assert!(emulator.stop().success(), "SIGTERM is a clean exit");
    let journal = path_in(&dir, "pool.json.journal");
    assert_eq!(std::fs::metadata(&journal).map(|m| m.len()).unwrap_or(0), 0);
    let snapshot: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).expect("state file")).expect("JSON");
    assert_eq!(snapshot["format"], "authing-sync-emulator-state");

    let again = Target::on(Emulator::builder().state(&state).start()).await;
    check_everything(&again, &written).await;
}

#[tokio::test]
async fn state_survives_kill_9() {
    let dir = temp_dir();
    let state = path_in(&dir, "pool.json");
    let target = Target::on(Emulator::builder().state(&state).start()).await;
    let written = write_everything(&target).await;
    target_into_emulator(target).kill();
    let journal = path_in(&dir, "pool.json.journal");
    assert!(std::fs::metadata(&journal).map(|m| m.len()).unwrap_or(0) > 0);
    // The snapshot itself is whole: it is only ever replaced by rename.
    let snapshot: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).expect("state file")).expect("JSON");
    assert_eq!(snapshot["format"], "authing-sync-emulator-state");

    let again = Target::on(Emulator::builder().state(&state).start()).await;
    check_everything(&again, &written).await;
}

fn target_into_emulator(target: Target) -> Emulator {
    target.into_emulator().expect("an emulator target")
}

#[tokio::test]
async fn generate_is_deterministic() {
    let page = |emulator: Emulator| async move {
        let target = Target::on(emulator).await;
        let users = target
            .owner()
            .await
            .query(USERS_SDK, json!({"page": 1, "count": 50}))
            .await;
        users.ok("users").clone()
    };
    let first = page(Emulator::builder().generate(50).start()).await;
    let second = page(Emulator::builder().generate(50).start()).await;
    assert_eq!(first, second);
    assert_eq!(first["totalCount"], 50);
    let user = &first["list"][41];
    assert_eq!(user["_id"], format!("5c2a3d00{:016x}", 42));
    assert_eq!(user["email"], "user42@example.com");
    assert_eq!(user["username"], "user42");
    assert_eq!(user["nickname"], "User 42");
    assert_eq!(user["company"], "Example");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["blocked"], false);
    let target = Target::on(Emulator::builder().generate(3).start()).await;
    let owner = target.owner().await;
    let mfa = owner
        .query(
            QUERY_MFA_SDK,
            json!({"userId": format!("5c2a3d00{:016x}", 1), "userPoolId": target.client_id}),
        )
        .await;
    assert!(mfa.ok("queryMFA").is_null(), "generated users have MFA off");
    let whitelist = owner
        .query(QUERY_INVITATION_GEN20, json!({"client": target.client_id}))
        .await;
    assert_eq!(whitelist.ok("queryInvitation"), &json!([]));
}

#[tokio::test]
async fn generate_fills_only_an_empty_pool() {
    let dir = temp_dir();
    let state = path_in(&dir, "pool.json");
    let target = Target::on(Emulator::builder().state(&state).generate(10).start()).await;
    target
        .owner()
        .await
        .query(
            REMOVE_USERS,
            json!({"ids": [format!("5c2a3d00{:016x}", 3)]}),
        )
        .await
        .ok("removeUsers");
    assert!(target_into_emulator(target).stop().success());
    let again = Target::on(Emulator::builder().state(&state).generate(10).start()).await;
    let users = again
        .owner()
        .await
        .query(USERS_SDK, json!({"page": 1, "count": 20}))
        .await;
    let users = users.ok("users");
    assert_eq!(users["totalCount"], 9);
    assert!(
        users["list"]
            .as_array()
            .expect("list")
            .iter()
            .all(|user| user["email"] != "user3@example.com")
    );
}

/// The whitelist phones of `target`, in the pool's order.
async fn whitelist(target: &Target) -> Vec<String> {
    let list = target
        .owner()
        .await
        .query(QUERY_INVITATION_GEN20, json!({"client": target.client_id}))
        .await;
    list.ok("queryInvitation")
        .as_array()
        .expect("a list")
        .iter()
        .map(|entry| entry["phone"].as_str().expect("a phone").to_string())
        .collect()
}

#[tokio::test]
async fn generate_phones_fills_the_whitelist_deterministically_and_only_once() {
    let dir = temp_dir();
    let state = path_in(&dir, "pool.json");
    let start = || {
        Emulator::builder()
            .state(&state)
            .generate(2)
            .generate_phones(1_200)
            .start()
    };
    let target = Target::on(start()).await;
    let phones = whitelist(&target).await;
    let expected: Vec<String> = (1..=1_200).map(|i| format!("199{i:08}")).collect();
    assert_eq!(phones, expected);
    let users = target
        .owner()
        .await
        .query(USERS_SDK, json!({"page": 1, "count": 10}))
        .await;
    assert_eq!(users.ok("users")["totalCount"], 2, "users and phones both");
    let state_answer = target
        .owner()
        .await
        .query(
            QUERY_INVITATION_STATE_GEN20,
            json!({"client": target.client_id}),
        )
        .await;
    assert_eq!(
        state_answer.ok("queryInvitationState")["enablePhone"],
        false,
        "the switch stays off"
    );
    target
        .owner()
        .await
        .query(
            REMOVE_FROM_INVITATION_GEN20,
            json!({"client": target.client_id, "phone": "19900000007"}),
        )
        .await
        .ok("removeFromInvitation");
    assert!(target_into_emulator(target).stop().success());
    // Restarted with the same flags: the pool is not empty, so nothing is generated again.
    let again = Target::on(start()).await;
    let phones = whitelist(&again).await;
    assert_eq!(phones.len(), 1_199);
    assert!(!phones.iter().any(|phone| phone == "19900000007"));
}

#[tokio::test]
async fn sigterm_right_after_the_address_line_is_a_graceful_stop() {
    let dir = temp_dir();
    let state = path_in(&dir, "pool.json");
    let emulator = Emulator::builder().state(&state).generate(3).start();
    let status = emulator.stop();
    assert!(status.success(), "{status:?}");
    let snapshot: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).expect("state file")).expect("JSON");
    assert_eq!(
        snapshot["pool"]["users"]
            .as_object()
            .map(|users| users.len()),
        Some(3)
    );
}

#[tokio::test]
async fn the_emulator_runs_in_process_too() {
    use authing_sync::emulator::{Config, Emulator as InProcess};
    let dir = temp_dir();
    let state = path_in(&dir, "local-pool.json");
    let config = Config {
        state: Some(state.clone()),
        generate: Some(4),
        ..Config::default()
    };
    let emulator = InProcess::start(config.clone()).await.expect("start");
    assert!(emulator.graphql_url().starts_with("http://127.0.0.1:"));
    let target = crate::support::Gql::new(&emulator.graphql_url());
    let init = target
        .query(
            &super::documents::init_sdk(crate::support::SECRET, crate::support::CLIENT_ID),
            json!({}),
        )
        .await;
    let token = init.ok("getClientWhenSdkInit")["accessToken"]
        .as_str()
        .expect("token")
        .to_string();
    let users = target
        .with_token(&token)
        .query(USERS_SDK, json!({"page": 1, "count": 10}))
        .await;
    assert_eq!(users.ok("users")["totalCount"], 4);
    assert_eq!(emulator.stats().operations.get("users"), Some(&1));
    emulator.shutdown().await.expect("shutdown");
    let again = InProcess::start(config).await.expect("restart");
    let users = crate::support::Gql::new(&again.graphql_url())
        .with_token(&token)
        .query(USERS_SDK, json!({"page": 1, "count": 10}))
        .await;
    assert_eq!(
        users.ok("users")["totalCount"],
        4,
        "the same pool, the same token key"
    );
    again.shutdown().await.expect("shutdown");
}
