//! Benchmark: diffing N desired users against N live users (default 1,000,000, 5% differing),
//! time and peak memory. Run with `cargo bench --bench diff` (N from `DIFF_BENCH_USERS`).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use authing_sync::diff::{Policy, diff};
use authing_sync::model::{
    DesiredState, DesiredUser, Field, LiveState, LiveUser, Origin, Profile, ProfileBuilder, UserId,
    UserKey,
};

fn profile(i: usize, nickname: String) -> Profile {
    let mut profile = ProfileBuilder::default();
    profile.text(Field::Email, &format!("user{i}@example.com"));
    profile.text(Field::Username, &format!("user{i}"));
    profile.text(Field::Nickname, &nickname);
    profile.text(Field::Company, "Example");
    profile.flag(Field::EmailVerified, false);
    profile.flag(Field::Blocked, false);
    profile.build()
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let users: usize = std::env::var("DIFF_BENCH_USERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let differing = users / 20;
    let origin = Origin::new(Arc::from(Path::new("bench.csv")), 1);

    let started = Instant::now();
    let desired = DesiredState {
        users: (0..users)
            .map(|i| {
                DesiredUser::new(
                    UserKey::from_email(&format!("user{i}@example.com")),
                    profile(i, format!("User {i}")),
                    Origin::new(Arc::clone(&origin.file), i as u32 + 2),
                )
            })
            .collect(),
        ..DesiredState::default()
    };
    let live = LiveState {
        users: (0..users)
            .map(|i| {
                // Every twentieth user has another nickname in the pool.
                let nickname = if i % 20 == 0 {
                    format!("Old {i}")
                } else {
                    format!("User {i}")
                };
                LiveUser {
                    id: UserId::new(format!("{i:024x}")),
                    profile: profile(i, nickname),
                    mfa: None,
                }
            })
            .collect(),
        ..LiveState::default()
    };
    let built = started.elapsed();
    let rss_inputs = peak_rss_mib();

    let mut times: Vec<Duration> = Vec::new();
    let mut updates = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let plan = diff(&desired, &live, &Policy::default()).expect("no ambiguous keys");
        times.push(started.elapsed());
        updates = plan.summary().update;
        drop(plan);
    }
    assert_eq!(updates, differing.max(1), "5% of the users differ");
    times.sort();

    println!("diff benchmark: {users} desired × {users} live users, {differing} differing");
    println!("| measure | value |");
    println!("|---|---|");
    println!("| build both states | {:.2} s |", built.as_secs_f64());
    println!("| diff, fastest of 3 | {:.3} s |", times[0].as_secs_f64());
    println!("| diff, median of 3 | {:.3} s |", times[1].as_secs_f64());
    println!("| updates planned | {updates} |");
    if let (Some(inputs), Some(peak)) = (rss_inputs, peak_rss_mib()) {
        println!("| peak RSS with both states built | {inputs:.0} MiB |");
        println!("| peak RSS after diffing | {peak:.0} MiB |");
        println!(
            "| memory the diff added at its peak | {:.0} MiB |",
            peak - inputs
        );
    }
}
