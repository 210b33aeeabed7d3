//! Injected faults (`--fault-rate`, `--fault-seed`), the rate limit and latency: repeatable from
//! a seed, visible in the stats, and a dropped-after-execution request really executed.

use std::time::{Duration, Instant};

use serde_json::json;

use super::documents::{REGISTER_SDK, USERS_SDK};
use super::target::Target;
use crate::support::{CLIENT_ID, Emulator, Gql, path_in, temp_dir, unique};

/// What one request came back as: an HTTP status (with its Retry-After), or a dropped connection.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Status(u16, Option<String>),
    Dropped,
}

async fn probe(client: &Gql) -> Seen {
    match client
        .raw(json!({"query": "query { checkLoginStatus { code } }"}))
        .await
    {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .map(str::to_string);
            match response.bytes().await {
                Ok(_) => Seen::Status(status, retry_after),
                Err(_) => Seen::Dropped,
            }
        }
        Err(_) => Seen::Dropped,
    }
}

async fn sequence(seed: u64) -> (Vec<Seen>, serde_json::Value) {
    let emulator = Emulator::builder().faults(0.5, seed).start();
    let client = emulator.gql();
    let mut seen = Vec::new();
    for _ in 0..80 {
        seen.push(probe(&client).await);
    }
    let stats = emulator.stats().await;
    (seen, stats)
}

#[tokio::test]
async fn faults_from_a_seed_repeat_exactly() {
    let (first, stats) = sequence(7).await;
    let (second, _) = sequence(7).await;
    assert_eq!(first, second, "same seed, same request order, same faults");
    let (other, _) = sequence(8).await;
    assert_ne!(first, other, "another seed, other faults");

    let faulted = first
        .iter()
        .filter(|seen| **seen != Seen::Status(200, None))
        .count();
    assert!(faulted > 10, "{faulted} faults in 80 at rate 0.5");
    assert_eq!(stats["total"], 80);
    assert_eq!(stats["faults"], faulted as u64);
    let kinds = stats["fault_kinds"].as_object().expect("fault kinds");
    let kind_total: u64 = kinds.values().filter_map(|n| n.as_u64()).sum();
    assert_eq!(kind_total, faulted as u64);
    let dropped = first.iter().filter(|seen| **seen == Seen::Dropped).count() as u64;
    let drops = kinds
        .get("drop_before")
        .and_then(|n| n.as_u64())
        .unwrap_or(0)
        + kinds
            .get("drop_after")
            .and_then(|n| n.as_u64())
            .unwrap_or(0);
    assert_eq!(dropped, drops, "every drop is a real dropped connection");
    assert!(dropped > 0);
    for seen in &first {
        match seen {
            Seen::Status(429, retry_after) => assert_eq!(retry_after.as_deref(), Some("1")),
            Seen::Status(status, _) => assert!([200, 500, 502, 503].contains(status), "{status}"),
            Seen::Dropped => {}
        }
    }
    // Only requests that were executed count as operations: not the ones faulted before.
    let executed = stats["operations"]["checkLoginStatus"]
        .as_u64()
        .unwrap_or(0);
    let after = kinds
        .get("drop_after")
        .and_then(|n| n.as_u64())
        .unwrap_or(0);
    assert_eq!(executed, 80 - faulted as u64 + after);
}

#[tokio::test]
async fn a_connection_dropped_after_execution_still_changed_the_pool() {
    let dir = temp_dir();
    let state = path_in(&dir, "pool.json");
    let emulator = Emulator::builder().state(&state).faults(1.0, 3).start();
    let public_key = emulator.public_key().await;
    let client = emulator.gql();
    let mut dropped = 0;
    for _ in 0..40 {
        let variables = json!({
            "email": format!("f-{}@example.com", unique()),
            "password": crate::support::encrypt_password(&public_key, "passw0rd!"),
            "registerInClient": CLIENT_ID,
        });
        let outcome = client
            .send(json!({"query": REGISTER_SDK, "variables": variables}))
            .await;
        match outcome {
            Ok(response) => assert_ne!(response.status, 200, "every request is faulted"),
            Err(_) => dropped += 1,
        }
    }
    let stats = emulator.stats().await;
    let executed_then_dropped = stats["fault_kinds"]["drop_after"].as_u64().unwrap_or(0);
    assert!(executed_then_dropped > 0);
    assert_eq!(
        stats["operations"]["register"].as_u64().unwrap_or(0),
        executed_then_dropped
    );
    assert!(dropped as u64 >= executed_then_dropped);
    assert!(emulator.stop().success());

    let target = Target::on(Emulator::builder().state(&state).start()).await;
    let users = target
        .owner()
        .await
        .query(USERS_SDK, json!({"page": 1, "count": 200}))
        .await;
    assert_eq!(users.ok("users")["totalCount"], executed_then_dropped);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let emulator = Emulator::builder().arg("--rate-limit").arg("5").start();
    let client = emulator.gql();
    let started = Instant::now();
    let outcomes = futures::future::join_all((0..30).map(|_| probe(&client))).await;
    let elapsed = started.elapsed();
    let limited = outcomes
        .iter()
        .filter(|seen| matches!(seen, Seen::Status(429, _)))
        .count();
    for seen in &outcomes {
        match seen {
            Seen::Status(429, retry_after) => assert!(retry_after.is_some()),
            other => assert_eq!(other, &Seen::Status(200, None)),
        }
    }
    let admitted = outcomes.len() - limited;
    let seconds = elapsed.as_secs() as usize + 1;
    assert!(
        admitted <= 5 * (seconds + 1),
        "{admitted} admitted in {elapsed:?}"
    );
    assert!(
        limited > 0,
        "30 requests in {elapsed:?} never hit a limit of 5/s"
    );
    let stats = emulator.stats().await;
    assert_eq!(stats["rate_limited"], limited as u64);
    assert_eq!(stats["total"], 30);
    assert!(stats["max_requests_per_second"].as_u64().unwrap_or(0) >= 6);
}

#[tokio::test]
async fn latency_delays_every_response() {
    let emulator = Emulator::builder().arg("--latency-ms").arg("300").start();
    let client = emulator.gql();
    let started = Instant::now();
    assert_eq!(probe(&client).await, Seen::Status(200, None));
    assert!(started.elapsed() >= Duration::from_millis(300));
}
