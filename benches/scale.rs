//! Benchmark: a first import of a large HR export, end to end. For each `--rate`, a fresh release
//! emulator with an empty pool; the real `authing-sync apply` of a generated CSV of N users
//! (100,000 by default: email, username, nickname, company, a phone, `email_verified`); then
//! `authing-sync plan` of the same file, which must find no changes. For both commands: wall
//! time, the requests the emulator received (by operation), the client's CPU time and peak
//! memory (`wait4`'s rusage of the process), and the emulator's peak memory (`VmHWM`).
//!
//! The bench drives the binary as a user would, so it measures whatever calls the client makes
//! (`register` and `updateUser` today, `createUser` when the client moves to it).
//!
//! ```sh
//! cargo bench --bench scale                                   # 100,000 users at --rate 1000, 2000, 20000
//! cargo bench --bench scale -- --users 10000 --rates 100,500 --concurrency 8
//! ```

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use authing_sync::emulator::{DEFAULT_CLIENT_ID, DEFAULT_SECRET};
use common::{Server, peak_rss_mib};
use serde_json::Value;

struct Options {
    users: usize,
    rates: Vec<u32>,
    concurrency: u32,
}

fn options() -> Options {
    let mut options = Options {
        users: 100_000,
        rates: vec![1_000, 2_000, 20_000],
        concurrency: 16,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--users" => options.users = parse(args.next(), "--users"),
            "--concurrency" => options.concurrency = parse(args.next(), "--concurrency"),
            "--rates" => {
                options.rates = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|rate| parse(Some(rate.to_string()), "--rates"))
                    .collect();
            }
            "--bench" => {}
            other => panic!("unknown argument {other:?}"),
        }
    }
    options
}

fn parse<T: std::str::FromStr>(value: Option<String>, name: &str) -> T {
    value
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} takes a number"))
}

/// An HR-style CSV of `users` rows.
fn write_export(path: &Path, users: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create the CSV"));
    writeln!(file, "email,username,nickname,company,phone,email_verified").expect("write");
    for i in 0..users {
        writeln!(
            file,
            "person{i}@corp.example,person{i},Person {i},\"Corp, Ltd\",139{i:08},{}",
            if i % 2 == 0 { "yes" } else { "no" }
        )
        .expect("write");
    }
    file.flush().expect("flush");
}

/// What one command cost.
struct Cost {
    code: i32,
    wall: Duration,
    cpu: Duration,
    peak_rss_mib: f64,
    stderr: String,
}

/// Runs `authing-sync <args>` against the emulator and reaps it with `wait4`, for its rusage.
fn run(server: &Server, dir: &Path, args: &[&str]) -> Cost {
    let stderr_path = dir.join("client.err");
    let stderr = std::fs::File::create(&stderr_path).expect("client stderr file");
    let started = Instant::now();
    // Reaped below with wait4, which also gives its rusage.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_authing-sync"))
        .args(args)
        .args(["--endpoint", &server.url, "--client-id", DEFAULT_CLIENT_ID])
        .args([
            "--public-key",
            &format!("{}/__emulator/public-key", server.base()),
        ])
        .current_dir(dir)
        .env("AUTHING_SECRET", DEFAULT_SECRET)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn authing-sync");
    let mut status = 0;
    // SAFETY: wait4 on the pid of a child this process spawned and has not reaped; it writes
    // only into the zeroed struct and the status it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        usage
    };
    let wall = started.elapsed();
    let time = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    Cost {
        code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        // ru_maxrss is in KiB on Linux.
        peak_rss_mib: usage.ru_maxrss as f64 / 1024.0,
        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
    }
}

/// `GET /__emulator/stats`.
fn stats(runtime: &tokio::runtime::Runtime, server: &Server) -> Value {
    runtime.block_on(async {
        reqwest::get(format!("{}/__emulator/stats", server.base()))
            .await
            .expect("GET stats")
            .json()
            .await
            .expect("stats JSON")
    })
}

/// The operations between two stats readings, largest first: `register 100000, updateUser 50000`.
fn operations(before: &Value, after: &Value) -> (u64, String) {
    let total = after["total"].as_u64().unwrap_or(0) - before["total"].as_u64().unwrap_or(0);
    let mut counts: Vec<(String, u64)> = after["operations"]
        .as_object()
        .map(|operations| {
            operations
                .iter()
                .map(|(name, count)| {
                    let earlier = before["operations"][name].as_u64().unwrap_or(0);
                    (name.clone(), count.as_u64().unwrap_or(0) - earlier)
                })
                .filter(|(_, count)| *count > 0)
                .collect()
        })
        .unwrap_or_default();
    counts.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    let text: Vec<String> = counts
        .iter()
        .map(|(name, count)| format!("{name} {count}"))
        .collect();
    (total, text.join(", "))
}

struct Row {
    rate: u32,
    command: &'static str,
    cost: Cost,
    requests: u64,
    operations: String,
    emulator_rss: f64,
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("hr-export.csv");
    let started = Instant::now();
    write_export(&csv, options.users);
    let size = std::fs::metadata(&csv).map(|meta| meta.len()).unwrap_or(0);
    println!(
        "scale benchmark: apply {} users from a {:.1} MiB CSV to an empty pool, then plan again; --concurrency {} (written in {:.1} s)",
        options.users,
        size as f64 / 1_048_576.0,
        options.concurrency,
        started.elapsed().as_secs_f64()
    );
    let csv = csv.display().to_string();
    let concurrency = options.concurrency.to_string();
    let mut rows = Vec::new();
    for rate in &options.rates {
        let (server, ready) = Server::start(&[]);
        let rate_text = rate.to_string();
        let common = [
            "-f",
            csv.as_str(),
            "--rate",
            rate_text.as_str(),
            "--concurrency",
            concurrency.as_str(),
        ];
        let before = stats(&runtime, &server);
        let mut apply_args = vec!["apply", "--auto-approve"];
        apply_args.extend(common);
        let apply = run(&server, dir.path(), &apply_args);
        assert_eq!(apply.code, 0, "apply failed:\n{}", apply.stderr);
        let after_apply = stats(&runtime, &server);
        let apply_rss = peak_rss_mib(server.pid()).unwrap_or(0.0);
        let mut plan_args = vec!["plan", "--detailed-exitcode"];
        plan_args.extend(common);
        let plan = run(&server, dir.path(), &plan_args);
        assert_eq!(
            plan.code, 0,
            "the plan after apply is not empty:\n{}",
            plan.stderr
        );
        let after_plan = stats(&runtime, &server);
        let plan_rss = peak_rss_mib(server.pid()).unwrap_or(0.0);
        let (requests, ops) = operations(&before, &after_apply);
        eprintln!(
            "--rate {rate}: emulator ready in {:.2} s; apply {:.1} s, plan {:.1} s",
            ready.as_secs_f64(),
            apply.wall.as_secs_f64(),
            plan.wall.as_secs_f64()
        );
        rows.push(Row {
            rate: *rate,
            command: "apply",
            cost: apply,
            requests,
            operations: ops,
            emulator_rss: apply_rss,
        });
        let (requests, ops) = operations(&after_apply, &after_plan);
        rows.push(Row {
            rate: *rate,
            command: "plan (no changes)",
            cost: plan,
            requests,
            operations: ops,
            emulator_rss: plan_rss,
        });
    }
    println!(
        "| --rate | command | wall | requests | requests/s | client CPU | client peak RSS | emulator peak RSS | calls |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---|");
    for row in rows {
        let seconds = row.cost.wall.as_secs_f64();
        println!(
            "| {} | {} | {:.1} s | {} | {:.0} | {:.1} s | {:.0} MiB | {:.0} MiB | {} |",
            row.rate,
            row.command,
            seconds,
            row.requests,
            row.requests as f64 / seconds,
            row.cost.cpu.as_secs_f64(),
            row.cost.peak_rss_mib,
            row.emulator_rss,
            row.operations
        );
    }
}
