//! v3's registration whitelist: `list-whitelist`, `add-whitelist`, `delete-whitelist` with
//! `type: PHONE`; `data` an array of `{value, createdAt}`.

use serde_json::json;

use super::target::V3Target;
use crate::support::unique;

fn phone() -> String {
    let digits: String = unique()
        .chars()
        .map(|c| char::from(b'0' + (c.to_digit(16).unwrap_or(0) % 10) as u8))
        .collect();
    format!("136{}", &digits[..8])
}

fn values(data: &serde_json::Value) -> Vec<String> {
    data.as_array()
        .expect("data is an array")
        .iter()
        .map(|entry| entry["value"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn add_list_and_delete_phones() {
    let target = V3Target::new();
    for (scheme, client) in target.admins().await {
        let (first, second) = (phone(), phone());
        let added = client
            .post(
                "add-whitelist",
                json!({"type": "PHONE", "list": [first, second]}),
            )
            .await;
        if target.emulator().is_some() {
            let data = added.ok();
            assert_eq!(values(data), [first.clone(), second.clone()], "{scheme}");
            assert!(data[0]["createdAt"].is_string());
        } else {
            added.ok();
        }
        // Adding a listed phone again changes nothing.
        client
            .post("add-whitelist", json!({"type": "PHONE", "list": [first]}))
            .await
            .ok();
        let listed = client
            .get("list-whitelist", &[("type", "PHONE".into())])
            .await;
        let listed = values(listed.ok());
        assert_eq!(listed.iter().filter(|value| **value == first).count(), 1);
        assert!(listed.contains(&second));
        client
            .post(
                "delete-whitelist",
                json!({"type": "PHONE", "list": [first, second]}),
            )
            .await
            .ok();
        let listed = client
            .get("list-whitelist", &[("type", "PHONE".into())])
            .await;
        let listed = values(listed.ok());
        assert!(!listed.contains(&first) && !listed.contains(&second));
    }
}

#[tokio::test]
async fn whitelist_refusals() {
    let target = V3Target::new();
    let client = target.signed();
    client
        .get("list-whitelist", &[])
        .await
        .expect(400)
        .with_message("参数 type 格式错误");
    client
        .post(
            "add-whitelist",
            json!({"type": "PHONES", "list": ["13600000000"]}),
        )
        .await
        .expect(400);
    if target.emulator().is_some() {
        let email = client
            .get("list-whitelist", &[("type", "EMAIL".into())])
            .await;
        assert_eq!(email.ok(), &json!([]));
        client
            .post(
                "add-whitelist",
                json!({"type": "EMAIL", "list": ["a@example.com"]}),
            )
            .await
            .expect(501);
        client
            .post("add-whitelist", json!({"type": "PHONE", "list": [""]}))
            .await
            .expect(400);
    }
}
