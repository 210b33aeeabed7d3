//! Benchmark: `authing-sync plan` of a large pool, as the nightly job runs it. For each size N, a
//! release emulator with a generated pool of N users (`--generate N`: `user{i}@example.com`,
//! `user{i}`, `User {i}`, `Example`) and a CSV declaring all of them, every twentieth with another
//! nickname, plus N/1000 new users: 5% updates and 0.1% creations (51,000 changes at 1,000,000).
//! The real binary runs `plan` once per output format, its stdout to a file; the table gives
//! wall time, the client's CPU time and peak memory (`wait4`'s rusage of the process: the
//! emulator's memory does not count), the size of the output, and a digest of it with the lines
//! that differ from run to run left out (the JSON's `created_at`, the human plan's "Read N users
//! … in 1.2s" line, the emulator's port), so outputs of two builds can be compared.
//!
//! ```sh
//! cargo bench --bench plan                                      # 100,000 and 1,000,000 users, JSON and human
//! cargo bench --bench plan -- --users 100000 --formats json --runs 3
//! cargo bench --bench plan -- --users 20000 --keep /tmp/plans   # keeps each output as plan-N.FORMAT
//! ```

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use authing_sync::emulator::{DEFAULT_CLIENT_ID, DEFAULT_SECRET};
use common::{Server, run_measured};
use sha2::{Digest, Sha256};

struct Options {
    users: Vec<u64>,
    formats: Vec<String>,
    runs: usize,
    keep: Option<PathBuf>,
}

fn options() -> Options {
    let mut options = Options {
        users: vec![100_000, 1_000_000],
        formats: vec!["json".into(), "human".into()],
        runs: 1,
        keep: None,
    };
    let list = |value: Option<String>| -> Vec<String> {
        value
            .unwrap_or_default()
            .split(',')
            .map(|item| item.trim().to_string())
            .filter(|item| !item.is_empty())
            .collect()
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--users" => {
                options.users = list(args.next())
                    .iter()
                    .map(|n| n.parse().expect("--users takes numbers"))
                    .collect();
            }
            "--formats" => options.formats = list(args.next()),
            "--runs" => {
                options.runs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--runs takes a number");
            }
            "--keep" => options.keep = Some(args.next().expect("--keep takes a directory").into()),
            "--bench" => {}
            other => panic!("unknown argument {other:?}"),
        }
    }
    options
}

/// The CSV: every pool user (every twentieth renamed), then `users / 1000` new ones.
fn write_manifest(path: &Path, users: u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create the CSV"));
    writeln!(file, "email,username,nickname,company").expect("write");
    for i in 1..=users {
        if i % 20 == 0 {
            writeln!(file, "user{i}@example.com,user{i},Renamed {i},Example")
        } else {
            writeln!(file, "user{i}@example.com,user{i},User {i},Example")
        }
        .expect("write");
    }
    for j in 1..=users / 1000 {
        writeln!(file, "new{j}@example.com,new{j},New {j},Example").expect("write");
    }
    file.flush().expect("flush");
}

/// A digest of the output without what changes from run to run: the emulator's port, the time.
fn digest(path: &Path, endpoint: &str) -> String {
    let text = std::fs::read_to_string(path)
        .expect("read the plan")
        .replace(endpoint, "<endpoint>");
    let mut hasher = Sha256::new();
    for line in text.split_inclusive('\n') {
        let varying = line.trim_start().starts_with("\"created_at\":")
            || (line.starts_with("Read ") && line.contains(" API call"));
        if !varying {
            hasher.update(line.as_bytes());
        }
    }
    let hash = hasher.finalize();
    hash.iter()
        .take(6)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn main() {
    let options = options();
    let dir = tempfile::tempdir().expect("temp dir");
    println!(
        "plan benchmark: `authing-sync plan` (release) against the release emulator; {} run(s) each",
        options.runs
    );
    println!(
        "| pool | CSV rows | format | changes | exit | wall | client CPU | client peak RSS | output | digest |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---:|---|");
    for &users in &options.users {
        let csv = dir.path().join(format!("users-{users}.csv"));
        write_manifest(&csv, users);
        let (server, ready) = Server::start(&["--generate".into(), users.to_string()]);
        eprintln!(
            "pool of {users} ready in {:.2} s (emulator {:.0} MiB)",
            ready.as_secs_f64(),
            common::peak_rss_mib(server.pid()).unwrap_or(0.0)
        );
        // Relative to the working directory, so the plan names the same file on every run.
        let csv_text = format!("users-{users}.csv");
        let key = format!("{}/__emulator/public-key", server.base());
        for format in &options.formats {
            for _ in 0..options.runs {
                let out = dir.path().join(format!("plan-{users}.{format}"));
                let started = Instant::now();
                let cost = run_measured(
                    env!("CARGO_BIN_EXE_authing-sync"),
                    &[
                        "plan",
                        "-f",
                        &csv_text,
                        "--format",
                        format,
                        "--rate",
                        "100000",
                        "--concurrency",
                        "8",
                        "--endpoint",
                        &server.url,
                        "--client-id",
                        DEFAULT_CLIENT_ID,
                        "--public-key",
                        &key,
                    ],
                    &[("AUTHING_SECRET", DEFAULT_SECRET), ("NO_COLOR", "1")],
                    dir.path(),
                    &out,
                );
                let wall = started.elapsed();
                assert_eq!(cost.code, 0, "plan failed: {}", cost.stderr);
                let size = std::fs::metadata(&out).map(|meta| meta.len()).unwrap_or(0);
                let changes = users / 20 + users / 1000;
                if format == "json" {
                    let text = std::fs::read_to_string(&out).expect("read the plan");
                    let plan: serde_json::Value = serde_json::from_str(&text).expect("JSON plan");
                    assert_eq!(plan["summary"]["update"], users / 20, "updates");
                    assert_eq!(plan["summary"]["create"], users / 1000, "creations");
                }
                println!(
                    "| {users} | {} | {format} | {changes} | {} | {:.2} s | {:.2} s | {:.0} MiB | {:.1} MiB | {} |",
                    users + users / 1000,
                    cost.code,
                    wall.as_secs_f64(),
                    cost.cpu.as_secs_f64(),
                    cost.peak_rss_mib,
                    size as f64 / 1_048_576.0,
                    digest(&out, &server.url)
                );
                if let Some(keep) = &options.keep {
                    std::fs::create_dir_all(keep).expect("create --keep");
                    std::fs::copy(&out, keep.join(format!("plan-{users}.{format}")))
                        .expect("keep the plan");
                }
            }
        }
        eprintln!(
            "emulator peak RSS: {:.0} MiB",
            common::peak_rss_mib(server.pid()).unwrap_or(0.0)
        );
    }
}
