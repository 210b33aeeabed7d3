//! Benchmark: reading a 100,000-user pool from the emulator with the client (`remote::fetch`):
//! wall time, the client's own CPU time and its peak memory (the emulator runs in its own
//! process). Run with `cargo bench --bench fetch`; `FETCH_BENCH_USERS` sets the pool size and
//! `FETCH_BENCH_DEFAULT_RATE=1` adds a run at the default `--rate 10`.

mod common;

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use authing_sync::emulator::{DEFAULT_CLIENT_ID, DEFAULT_SECRET};
use authing_sync::remote::{
    AuthingClient, ClientConfig, FetchScope, PasswordEncryptor, Remote, TransportConfig, fetch,
};
use authing_sync::report::Silent;
use authing_sync::secret::Secret;
use common::{Server, own_cpu_time, own_peak_rss_mib};

struct Run {
    label: String,
    users: usize,
    requests: u64,
    wall: Duration,
    cpu: Duration,
}

async fn read(server: &Server, key: &str, rate: u32, concurrency: usize) -> Run {
    let mut transport = TransportConfig::new(server.url.parse().expect("url"));
    transport.rate = NonZeroU32::new(rate).expect("rate");
    transport.concurrency = concurrency;
    let config = ClientConfig {
        transport,
        client_id: DEFAULT_CLIENT_ID.into(),
        secret: Secret::new(DEFAULT_SECRET),
        encryptor: PasswordEncryptor::from_pem(key).expect("key"),
    };
    let cpu = own_cpu_time();
    let started = Instant::now();
    let client = Remote::V1(AuthingClient::connect(config).await.expect("connect"));
    let live = fetch(&client, &FetchScope::default(), concurrency, &Silent)
        .await
        .expect("fetch");
    Run {
        label: format!("--rate {rate} --concurrency {concurrency}"),
        users: live.users.len(),
        requests: client.stats().total(),
        wall: started.elapsed(),
        cpu: own_cpu_time() - cpu,
    }
}

fn main() {
    let users: u64 = std::env::var("FETCH_BENCH_USERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let (server, _) = Server::start(&["--generate".into(), users.to_string()]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let key = runtime.block_on(async {
        reqwest::get(format!("{}/__emulator/public-key", server.base()))
            .await
            .expect("key")
            .text()
            .await
            .expect("pem")
    });
    let mut settings = vec![(100_000, 8), (100_000, 1), (1_000, 8)];
    if std::env::var("FETCH_BENCH_DEFAULT_RATE").is_ok() {
        settings.push((10, 8));
    }
    let runs: Vec<Run> = settings
        .into_iter()
        .map(|(rate, concurrency)| runtime.block_on(read(&server, &key, rate, concurrency)))
        .collect();
    let peak = own_peak_rss_mib();

    println!("fetch benchmark: {users}-user pool, client in this process, emulator in its own");
    println!("| settings | users read | requests | wall | client CPU | users/s |");
    println!("|---|---:|---:|---:|---:|---:|");
    for run in &runs {
        assert_eq!(run.users as u64, users, "every user read exactly once");
        println!(
            "| {} | {} | {} | {:.2} s | {:.2} s | {:.0} |",
            run.label,
            run.users,
            run.requests,
            run.wall.as_secs_f64(),
            run.cpu.as_secs_f64(),
            run.users as f64 / run.wall.as_secs_f64()
        );
    }
    if let Some(peak) = peak {
        println!("client peak RSS over all runs: {peak:.0} MiB");
    }
}
