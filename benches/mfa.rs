//! Benchmark of issue 16: planning a 100,000-user pool whose every manifest row manages MFA,
//! with and without `--mfa-read-budget`. Runs the release `authing-sync plan` against the
//! release emulator (`--generate`), at an unlimited rate so the run is quick, and reports the
//! API calls the plan made (its own count, every request the rate limit counts) and the time
//! those calls take at the default `--rate 10` (calls / 10 per second). Run with
//! `cargo bench --bench mfa`; `MFA_BENCH_USERS` sets the pool size.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use authing_sync::emulator::{DEFAULT_CLIENT_ID, DEFAULT_SECRET};
use common::Server;

/// The default `--rate`.
const DEFAULT_RATE: f64 = 10.0;

struct Run {
    label: String,
    mfa_read: u64,
    from_cache: u64,
    calls: u64,
    query_mfa: u64,
    wall: Duration,
}

fn stats(runtime: &tokio::runtime::Runtime, server: &Server) -> serde_json::Value {
    runtime.block_on(async {
        reqwest::get(format!("{}/__emulator/stats", server.base()))
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats JSON")
    })
}

fn query_mfa(stats: &serde_json::Value) -> u64 {
    stats["operations"]["queryMFA"].as_u64().unwrap_or(0)
}

/// The number after `prefix` in `text`.
fn number_after(text: &str, prefix: &str) -> u64 {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix:?} in {text}"))
        + prefix.len();
    text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after {prefix:?} in {text}"))
}

fn plan(
    runtime: &tokio::runtime::Runtime,
    server: &Server,
    dir: &Path,
    label: &str,
    extra: &[&str],
) -> Run {
    let before = query_mfa(&stats(runtime, server));
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_authing-sync"))
        .current_dir(dir)
        .args([
            "plan",
            "-f",
            "hr.csv",
            "--rate",
            "1000000",
            "--concurrency",
            "8",
        ])
        .args(["--endpoint", &server.url, "--client-id", DEFAULT_CLIENT_ID])
        .args([
            "--public-key",
            &format!("{}/__emulator/public-key", server.base()),
        ])
        .args(extra)
        .env("AUTHING_SECRET", DEFAULT_SECRET)
        .env("NO_COLOR", "1")
        .env_remove("AUTHING_SYNC_MFA_READ_BUDGET")
        .output()
        .expect("run authing-sync plan");
    let wall = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("No changes."), "{stdout}");
    Run {
        label: label.to_string(),
        mfa_read: number_after(&stdout, "MFA states: "),
        from_cache: if stdout.contains("none from the cache") {
            0
        } else {
            number_after(&stdout, " read, ")
        },
        calls: number_after(&stdout, " users with "),
        query_mfa: query_mfa(&stats(runtime, server)) - before,
        wall,
    }
}

fn hours(calls: u64) -> String {
    let seconds = calls as f64 / DEFAULT_RATE;
    if seconds >= 3600.0 {
        format!("{:.2} h", seconds / 3600.0)
    } else {
        format!("{:.1} min", seconds / 60.0)
    }
}

fn main() {
    let users: u64 = std::env::var("MFA_BENCH_USERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let (server, _) = Server::start(&["--generate".into(), users.to_string()]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut csv = String::from("email,mfa\n");
    for i in 1..=users {
        csv.push_str(&format!("user{i}@example.com,false\n"));
    }
    std::fs::write(dir.path().join("hr.csv"), csv).expect("manifest");

    let budgets = [users / 10, users / 100];
    let mut runs = vec![plan(
        &runtime,
        &server,
        dir.path(),
        "default (exact), writes the cache",
        &[],
    )];
    for budget in budgets {
        let text = budget.to_string();
        runs.push(plan(
            &runtime,
            &server,
            dir.path(),
            &format!("--mfa-read-budget {budget}, cache from the last run"),
            &["--mfa-read-budget", &text],
        ));
    }
    runs.push(plan(
        &runtime,
        &server,
        dir.path(),
        "--mfa-read-budget 0, cache from the last run",
        &["--mfa-read-budget", "0"],
    ));
    runs.push(plan(
        &runtime,
        &server,
        dir.path(),
        "--refresh",
        &["--mfa-read-budget", "1000", "--refresh"],
    ));

    println!(
        "mfa benchmark: {users}-user pool, MFA managed for every user, plan with no changes; release binary and emulator"
    );
    println!(
        "| plan | MFA states read | from the cache | API calls | at --rate 10 | full MFA sweep every | measured wall (unlimited rate) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for run in &runs {
        assert_eq!(
            run.mfa_read, run.query_mfa,
            "the plan's count is the server's"
        );
        assert_eq!(run.mfa_read + run.from_cache, users);
        let sweep = if run.from_cache == 0 {
            "every run".to_string()
        } else if run.mfa_read == 0 {
            "never (budget 0)".to_string()
        } else {
            format!("{} runs", users.div_ceil(run.mfa_read))
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.1} s |",
            run.label,
            run.mfa_read,
            run.from_cache,
            run.calls,
            hours(run.calls),
            sweep,
            run.wall.as_secs_f64()
        );
    }
}
