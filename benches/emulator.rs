//! Benchmark: the emulator serving `users` pages of 200 from a 1,000,000-user pool.
//!
//! Run with `cargo bench --bench emulator`. It starts the release binary with
//! `emulator --listen 127.0.0.1:0 --generate 1000000`, measures the time until the address is
//! printed (the pool is ready then), fetches `users` pages of 200 over HTTP with the official
//! SDK's document (its whole field selection) sequentially and with 8 requests in flight, and
//! reads the emulator's peak resident memory (VmHWM) and the CPU time it spent per page (from
//! `/proc/<pid>/stat`, so the figure does not depend on the client sharing the machine). The
//! client checks that each answer is JSON and counts its users without building a value tree
//! (`IgnoredAny`): on 2 cores, parsing every page into `serde_json::Value` cost more CPU than
//! the emulator's answer. Traffic goes to 127.0.0.1 only and every loop is bounded.
//! `EMULATOR_BENCH_USERS` overrides the pool size.

use std::time::{Duration, Instant};

mod common;

use common::{Server, peak_rss_mib};
use futures::StreamExt;
use serde_json::{Value, json};

const CLIENT_ID: &str = authing_sync::emulator::DEFAULT_CLIENT_ID;
const SECRET: &str = authing_sync::emulator::DEFAULT_SECRET;
const PAGE_SIZE: u64 = 200;
const SEQUENTIAL_PAGES: u64 = 500;
const CONCURRENT_PAGES: u64 = 2_000;
const CONCURRENCY: usize = 8;

const USERS_SDK: &str = "query users($registerInClient: String, $page: Int, $count: Int, $populate: Boolean){
  users(registerInClient: $registerInClient, page: $page, count: $count, populate: $populate) {
    totalCount list { _id email emailVerified username nickname phone unionid oauth company photo browser password registerInClient registerMethod token tokenExpiredAt loginsCount lastLogin lastIP signedUp blocked isDeleted userLocation { _id when where } userLoginHistory { totalCount list { _id when success ip result } } }
  }
}";

async fn owner_token(http: &reqwest::Client, url: &str) -> String {
    let query = format!(
        "query {{ getClientWhenSdkInit(secret: \"{SECRET}\", clientId: \"{CLIENT_ID}\") {{ accessToken }} }}"
    );
    let body: Value = http
        .post(url)
        .json(&json!({"query": query}))
        .send()
        .await
        .expect("init")
        .json()
        .await
        .expect("init body");
    body["data"]["getClientWhenSdkInit"]["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_string()
}

/// Just enough of a `users` answer to count its list (every byte is still read and checked).
#[derive(serde::Deserialize)]
struct Answer {
    data: AnswerData,
}

#[derive(serde::Deserialize)]
struct AnswerData {
    users: AnswerUsers,
}

#[derive(serde::Deserialize)]
struct AnswerUsers {
    list: Vec<serde::de::IgnoredAny>,
}

/// CPU time (user + system) process `pid` has used so far, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields start after its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks > 0.0).then(|| (utime + stime) / ticks)
}

async fn fetch_page(http: &reqwest::Client, url: &str, token: &str, page: u64) -> usize {
    let answer: Answer = http
        .post(url)
        .bearer_auth(token)
        .json(&json!({
            "query": USERS_SDK,
            "variables": {"registerInClient": CLIENT_ID, "page": page, "count": PAGE_SIZE, "populate": false}
        }))
        .send()
        .await
        .expect("users")
        .json()
        .await
        .expect("users body");
    answer.data.users.list.len()
}

struct Run {
    name: String,
    pages: u64,
    users: usize,
    elapsed: Duration,
    /// The emulator's CPU time during the run.
    emulator_cpu: Option<f64>,
}

async fn sequential(http: &reqwest::Client, url: &str, token: &str, last_page: u64) -> Run {
    let started = Instant::now();
    let mut users = 0;
    for i in 0..SEQUENTIAL_PAGES {
        // Walk the whole pool, so deep pages are measured as well as the first ones.
        let page = 1 + i * last_page / SEQUENTIAL_PAGES;
        users += fetch_page(http, url, token, page).await;
    }
    Run {
        name: "sequential (1 in flight)".to_string(),
        pages: SEQUENTIAL_PAGES,
        users,
        elapsed: started.elapsed(),
        emulator_cpu: None,
    }
}

async fn concurrent(http: &reqwest::Client, url: &str, token: &str, last_page: u64) -> Run {
    let started = Instant::now();
    let users: usize = futures::stream::iter(0..CONCURRENT_PAGES)
        .map(|i| fetch_page(http, url, token, 1 + (i * 7919) % last_page))
        .buffer_unordered(CONCURRENCY)
        .fold(0, |total, count| async move { total + count })
        .await;
    Run {
        name: format!("concurrent ({CONCURRENCY} in flight)"),
        pages: CONCURRENT_PAGES,
        users,
        elapsed: started.elapsed(),
        emulator_cpu: None,
    }
}

fn main() {
    let pool: u64 = std::env::var("EMULATOR_BENCH_USERS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1_000_000);
    let (server, ready) = Server::start(&["--generate".into(), pool.to_string()]);
    let pid = server.pid();
    let rss_at_ready = peak_rss_mib(pid);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let runs = runtime.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(CONCURRENCY)
            .build()
            .expect("client");
        let token = owner_token(&http, &server.url).await;
        let last_page = pool.div_ceil(PAGE_SIZE).max(1);
        // One warm-up page, so connection setup is not measured.
        fetch_page(&http, &server.url, &token, 1).await;
        let cpu_before = cpu_seconds(pid);
        let mut first = sequential(&http, &server.url, &token, last_page).await;
        let cpu_between = cpu_seconds(pid);
        let mut second = concurrent(&http, &server.url, &token, last_page).await;
        let cpu_after = cpu_seconds(pid);
        first.emulator_cpu = cpu_between.zip(cpu_before).map(|(b, a)| b - a);
        second.emulator_cpu = cpu_after.zip(cpu_between).map(|(b, a)| b - a);
        vec![first, second]
    });
    let peak = peak_rss_mib(pid);
    println!();
    println!("emulator: serving `users` pages of {PAGE_SIZE} from a {pool}-user pool");
    println!(
        "  machine: {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  ready (spawn to address printed): {:.2} s",
        ready.as_secs_f64()
    );
    if let Some(rss) = rss_at_ready {
        println!("  peak RSS when ready: {rss:.0} MiB");
    }
    println!();
    println!(
        "| run | pages | time (s) | pages/s | users/s | emulator CPU (s) | emulator CPU per page (ms) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for run in &runs {
        let seconds = run.elapsed.as_secs_f64();
        let (cpu, per_page) = match run.emulator_cpu {
            Some(cpu) => (
                format!("{cpu:.2}"),
                format!("{:.3}", cpu * 1000.0 / run.pages as f64),
            ),
            None => ("?".to_string(), "?".to_string()),
        };
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.0} | {cpu} | {per_page} |",
            run.name,
            run.pages,
            seconds,
            run.pages as f64 / seconds,
            run.users as f64 / seconds
        );
    }
    if let Some(rss) = peak {
        println!();
        println!("  emulator peak RSS (VmHWM) after the runs: {rss:.0} MiB");
    }
}
