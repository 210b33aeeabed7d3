//! Benchmark: applying 10,000 updates at `--rate 500 --concurrency 16` against the emulator, the
//! achieved operations per second as a fraction of the configured rate, without and with 50 ms
//! of server latency. Run with `cargo bench --bench apply` (`APPLY_BENCH_USERS` sets the count).

mod common;

use std::num::NonZeroU32;
use std::time::Instant;

use authing_sync::apply::{ExecuteOptions, PasswordBook, execute};
use authing_sync::diff::{Policy, diff};
use authing_sync::emulator::{DEFAULT_CLIENT_ID, DEFAULT_SECRET};
use authing_sync::model::{DesiredState, DesiredUser, Field, MatchOn, Origin};
use authing_sync::remote::{
    AuthingClient, ClientConfig, FetchScope, PasswordEncryptor, TransportConfig, fetch,
};
use authing_sync::report::Silent;
use authing_sync::secret::Secret;
use common::Server;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const RATE: u32 = 500;
const CONCURRENCY: usize = 16;

struct Run {
    latency_ms: u64,
    operations: usize,
    seconds: f64,
    max_per_second: u64,
}

async fn run(users: u64, latency_ms: u64) -> Run {
    let (server, _) = Server::start(&[
        "--generate".into(),
        users.to_string(),
        "--latency-ms".into(),
        latency_ms.to_string(),
    ]);
    let key = reqwest::get(format!("{}/__emulator/public-key", server.base()))
        .await
        .expect("key")
        .text()
        .await
        .expect("pem");
    let mut transport = TransportConfig::new(server.url.parse().expect("url"));
    transport.rate = NonZeroU32::new(RATE).expect("rate");
    transport.concurrency = CONCURRENCY;
    let client = AuthingClient::connect(ClientConfig {
        transport,
        client_id: DEFAULT_CLIENT_ID.into(),
        secret: Secret::new(DEFAULT_SECRET),
        encryptor: PasswordEncryptor::from_pem(&key).expect("key"),
    })
    .await
    .expect("connect");
    let live = fetch(&client, &FetchScope::default(), CONCURRENCY, &Silent)
        .await
        .expect("fetch");
    let origin = Origin::new(std::sync::Arc::from(std::path::Path::new("bench.yaml")), 1);
    let desired = DesiredState {
        users: live
            .users
            .iter()
            .map(|user| {
                let mut profile = user.profile.clone();
                profile.set(Field::Nickname, Some(format!("Renamed {}", user.id).into()));
                DesiredUser::new(
                    user.key(MatchOn::Email).expect("email"),
                    profile,
                    origin.clone(),
                )
            })
            .collect(),
        ..DesiredState::default()
    };
    let plan = diff(&desired, &live, &Policy::default()).expect("plan");
    assert_eq!(plan.summary().update as u64, users);
    let options = ExecuteOptions {
        concurrency: CONCURRENCY,
        ..ExecuteOptions::default()
    };
    let started = Instant::now();
    let report = execute(
        &plan,
        &client,
        &PasswordBook::default(),
        &options,
        &Silent,
        &CancellationToken::new(),
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        report.is_complete(),
        "{}",
        authing_sync::render::summary::text(&report)
    );
    let stats: Value = reqwest::get(format!("{}/__emulator/stats", server.base()))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    Run {
        latency_ms,
        operations: report.applied_total(),
        seconds,
        max_per_second: stats["max_requests_per_second"].as_u64().unwrap_or(0),
    }
}

fn main() {
    let users: u64 = std::env::var("APPLY_BENCH_USERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let runs: Vec<Run> = [0, 50]
        .into_iter()
        .map(|latency| runtime.block_on(run(users, latency)))
        .collect();
    println!("apply benchmark: {users} updates at --rate {RATE} --concurrency {CONCURRENCY}");
    println!(
        "| server latency | operations | time | ops/s | fraction of --rate | ceiling concurrency/latency | max requests in 1 s seen by the server |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for run in runs {
        let per_second = run.operations as f64 / run.seconds;
        let ceiling = if run.latency_ms == 0 {
            "—".to_string()
        } else {
            format!(
                "{:.0} ops/s",
                CONCURRENCY as f64 * 1000.0 / run.latency_ms as f64
            )
        };
        println!(
            "| {} ms | {} | {:.1} s | {:.0} | {:.2} | {} | {} |",
            run.latency_ms,
            run.operations,
            run.seconds,
            per_second,
            per_second / f64::from(RATE),
            ceiling,
            run.max_per_second
        );
    }
}
