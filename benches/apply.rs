//! Benchmark: applying 10,000 updates at `--rate 500 --concurrency 16` against the emulator, the
//! achieved operations per second as a fraction of the configured rate, without and with 50 ms
//! of server latency, through each API (v1 `updateUser`, v3 `update-user`). Run with
//! `cargo bench --bench apply` (`APPLY_BENCH_USERS` sets the count, `APPLY_BENCH_API` one API).

mod common;

use std::num::NonZeroU32;
use std::time::Instant;

use authing_sync::apply::{ExecuteOptions, PasswordBook, execute};
use authing_sync::diff::{Policy, diff};
use authing_sync::emulator::{DEFAULT_CLIENT_ID, DEFAULT_SECRET};
use authing_sync::model::{DesiredState, DesiredUser, Field, MatchOn, Origin};
use authing_sync::remote::{
    Api, AuthingClient, ClientConfig, FetchScope, PasswordEncryptor, Remote, TransportConfig,
    V3Client, fetch,
};
use authing_sync::report::Silent;
use authing_sync::secret::Secret;
use common::Server;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const RATE: u32 = 500;
const CONCURRENCY: usize = 16;

struct Run {
    api: Api,
    latency_ms: u64,
    operations: usize,
    seconds: f64,
    max_per_second: u64,
}

async fn run(api: Api, users: u64, latency_ms: u64) -> Run {
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
    let endpoint = match api {
        Api::V1 => server.url.clone(),
        Api::V3 => server.base().to_string(),
    };
    let mut transport = TransportConfig::new(endpoint.parse().expect("url"));
    transport.rate = NonZeroU32::new(RATE).expect("rate");
    transport.concurrency = CONCURRENCY;
    let config = ClientConfig {
        transport,
        client_id: DEFAULT_CLIENT_ID.into(),
        secret: Secret::new(DEFAULT_SECRET),
        encryptor: PasswordEncryptor::from_pem(&key).expect("key"),
    };
    let client = match api {
        Api::V1 => Remote::V1(AuthingClient::connect(config).await.expect("connect")),
        Api::V3 => Remote::V3(V3Client::connect(config).await.expect("connect")),
    };
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
        api,
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
    let apis = match std::env::var("APPLY_BENCH_API").as_deref() {
        Ok("v1") => vec![Api::V1],
        Ok("v3") => vec![Api::V3],
        _ => vec![Api::V1, Api::V3],
    };
    let runs: Vec<Run> = apis
        .into_iter()
        .flat_map(|api| [(api, 0), (api, 50)])
        .map(|(api, latency)| runtime.block_on(run(api, users, latency)))
        .collect();
    println!("apply benchmark: {users} updates at --rate {RATE} --concurrency {CONCURRENCY}");
    println!(
        "| API | server latency | operations | time | ops/s | fraction of --rate | ceiling concurrency/latency | max requests in 1 s seen by the server |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
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
            "| {} | {} ms | {} | {:.1} s | {:.0} | {:.2} | {} | {} |",
            run.api,
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
