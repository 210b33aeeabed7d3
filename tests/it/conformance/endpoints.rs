//! The emulator's own endpoints and output: `GET /__emulator/stats`, `GET
//! /__emulator/public-key`, the first stdout line, and a request log that never shows secrets.

use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use serde_json::json;

use super::documents::{LOGIN_SDK, USERS_SDK};
use super::target::Target;
use crate::support::{Emulator, SECRET};

#[tokio::test]
async fn public_key_is_a_1024_bit_spki_pem_with_e_65537() {
    let emulator = Emulator::start();
    let pem = emulator.public_key().await;
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
    let key = rsa::PublicKey::from_public_key_pem(&pem).expect("SPKI PEM");
    assert_eq!(key.size(), 128);
    assert_eq!(key.e(), &rsa::BoxedUint::from(65_537u32));
    // Another emulator has another key.
    let other = Emulator::start();
    assert_ne!(other.public_key().await, pem);
}

#[tokio::test]
async fn stats_count_requests_operations_and_writes() {
    let target = Target::on(Emulator::builder().generate(5).start()).await;
    let emulator = target.emulator().expect("emulator");
    let initial = emulator.stats().await;
    assert_eq!(initial["total"], 0);
    assert_eq!(initial["faults"], 0);
    assert_eq!(initial["writes"], 0);
    assert_eq!(initial["operations"], json!({}));

    let owner = target.owner().await;
    for page in 1..=3 {
        owner
            .query(USERS_SDK, json!({"page": page, "count": 2}))
            .await
            .ok("users");
    }
    owner
        .query("query { users { totalCount } }  ", json!({}))
        .await
        .ok("users");
    let reads = emulator.stats().await;
    assert_eq!(reads["total"], 5);
    assert_eq!(reads["operations"]["getClientWhenSdkInit"], 1);
    assert_eq!(reads["operations"]["users"], 4);
    assert_eq!(reads["writes"], 0, "reads never count as writes");
    assert!(
        reads["max_requests_per_second"]
            .as_u64()
            .is_some_and(|n| (1..=5).contains(&n))
    );
    assert_eq!(reads["rate_limited"], 0);

    target.register("passw0rd!").await;
    let malformed = owner.query("query { nope }", json!({})).await;
    assert_eq!(malformed.status, 400);
    let after = emulator.stats().await;
    assert_eq!(after["total"], 7);
    assert_eq!(after["writes"], 1);
    assert_eq!(after["operations"]["register"], 1);
}

#[tokio::test]
async fn request_log_names_operations_and_never_secrets() {
    let emulator = Emulator::builder()
        .arg("--log-requests")
        .capture_stderr()
        .start();
    let target = Target::on(emulator).await;
    let token = target.owner_token().await;
    let (_, email, register_token) = target.register("very-secret-pw").await;
    let login_token = target.login(&email, "very-secret-pw").await;
    let encrypted = target.encrypt("very-secret-pw");
    target
        .anonymous()
        .query(
            LOGIN_SDK,
            json!({"email": email, "password": encrypted, "registerInClient": target.client_id}),
        )
        .await
        .ok("login");
    let emulator = target.emulator().expect("emulator");
    // Every request has been answered, so its log line is written.
    let log = emulator.stderr();
    assert!(log.contains("ops=getClientWhenSdkInit status=200"), "{log}");
    assert!(log.contains("ops=register status=200"), "{log}");
    assert!(log.contains("ops=login status=200"), "{log}");
    for secret in [
        SECRET,
        token.as_str(),
        register_token.as_str(),
        login_token.as_str(),
        "very-secret-pw",
        encrypted.as_str(),
        email.as_str(),
    ] {
        assert!(!log.contains(secret), "the log shows a secret: {log}");
    }
}
