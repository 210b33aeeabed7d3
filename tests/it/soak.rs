//! The fault soak: seeded runs of `apply` against an emulator that injects faults (`--fault-rate`
//! up to 0.3, latency, sometimes a `--rate-limit` below the client's rate), is stopped and
//! restarted from its `--state` file mid-run (gracefully or with `kill -9`), while the client is
//! killed mid-run and started again. After each run the pool must equal the manifest, with no
//! duplicate user and no user outside the plan touched.
//!
//! `cargo test --test it soak` runs two runs (CI). For a long soak:
//!
//! ```sh
//! AUTHING_SYNC_SOAK_RUNS=40 cargo test --release --test it soak -- --nocapture
//! ```
//!
//! `AUTHING_SYNC_SOAK_SEED` moves the seeds; each run prints a line of the report.

use std::path::Path;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::Value;

use crate::support::{Emulator, Sync, pool, read_pool, temp_dir, write_file};

/// One seeded scenario.
#[derive(Debug, Clone)]
struct Scenario {
    seed: u64,
    pool: usize,
    /// Users 1..=keep are declared; keep+1..=pool-PROTECTED are deleted; the last PROTECTED are
    /// protected and must stay untouched.
    keep: usize,
    renamed: Vec<usize>,
    mfa_on: Vec<usize>,
    blocked: Vec<usize>,
    hires: usize,
    fault_rate: f64,
    latency_ms: u64,
    rate: u32,
    rate_limit: Option<u32>,
    concurrency: u32,
    /// Disruptions, each after this many writes: kill the client, stop the emulator gracefully,
    /// or kill it.
    events: Vec<(u64, Event)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    KillClient,
    RestartEmulator,
    KillEmulator,
}

const PROTECTED: usize = 3;

impl Scenario {
    fn new(seed: u64) -> Scenario {
        let mut rng = StdRng::seed_from_u64(seed);
        let pool = rng.random_range(60..140);
        let deletes = rng.random_range(0..8);
        let keep = pool - PROTECTED - deletes;
        let pick = |rng: &mut StdRng, p: f64| {
            (1..=keep)
                .filter(|_| rng.random_bool(p))
                .collect::<Vec<_>>()
        };
        let renamed = pick(&mut rng, 0.3);
        let mfa_on = pick(&mut rng, 0.15);
        let blocked = pick(&mut rng, 0.1);
        let rate = rng.random_range(60..160);
        let kinds = [
            Event::KillClient,
            Event::RestartEmulator,
            Event::KillEmulator,
        ];
        let mut events: Vec<(u64, Event)> = (0..rng.random_range(1..=2))
            .map(|_| {
                (
                    rng.random_range(5..40),
                    kinds[rng.random_range(0..kinds.len())],
                )
            })
            .collect();
        events.sort_by_key(|(writes, _)| *writes);
        Scenario {
            seed,
            pool,
            keep,
            renamed,
            mfa_on,
            blocked,
            hires: rng.random_range(5..20),
            fault_rate: [0.1, 0.2, 0.3][rng.random_range(0..3)],
            latency_ms: rng.random_range(0..15),
            rate,
            rate_limit: rng.random_bool(0.3).then_some(rate / 2),
            concurrency: rng.random_range(2..9),
            events,
        }
    }

    fn protected(&self) -> impl Iterator<Item = usize> {
        self.pool - PROTECTED + 1..=self.pool
    }

    fn hire_email(&self, j: usize) -> String {
        format!("soak{}-hire{j}@example.com", self.seed)
    }

    fn manifest(&self) -> String {
        let protect: Vec<String> = self
            .protected()
            .map(|i| format!("\"user{i}@example.com\""))
            .collect();
        let phones: Vec<String> = (1..=self.hires)
            .map(|j| format!("\"1390000{j:04}\""))
            .collect();
        let mut yaml = format!(
            "version: 1\nprune:\n  enabled: true\n  max_deletes: 100%\n  scope: \"*@example.com\"\n  protect: [{}]\nwhitelist:\n  enabled: true\n  phones: [{}]\nusers:\n",
            protect.join(", "),
            phones.join(", ")
        );
        for i in 1..=self.keep {
            yaml.push_str(&format!("  - email: user{i}@example.com\n"));
            if self.renamed.contains(&i) {
                yaml.push_str(&format!("    nickname: Soak {} {i}\n", self.seed));
            }
            if self.mfa_on.contains(&i) {
                yaml.push_str("    mfa: true\n");
            }
            if self.blocked.contains(&i) {
                yaml.push_str("    blocked: true\n");
            }
        }
        for j in 1..=self.hires {
            yaml.push_str(&format!(
                "  - email: {}\n    nickname: Hire {j}\n    phone: \"1390000{j:04}\"\n    mfa: {}\n    email_verified: {}\n",
                self.hire_email(j),
                j % 3 == 0,
                j % 2 == 0
            ));
        }
        yaml
    }

    fn emulator(&self, state: &Path, listen: Option<&str>, restart: u64) -> Emulator {
        let mut builder = Emulator::builder()
            .state(state)
            .faults(self.fault_rate, self.seed * 100 + restart)
            .arg("--latency-ms")
            .arg(self.latency_ms.to_string());
        if restart == 0 {
            builder = builder.generate(self.pool as u64);
        }
        if let Some(limit) = self.rate_limit {
            builder = builder.arg("--rate-limit").arg(limit.to_string());
        }
        if let Some(listen) = listen {
            builder = builder.listen(listen);
        }
        builder.start()
    }

    /// Everything in the pool that differs from what the manifest and the untouched users say.
    async fn discrepancies(&self, emulator: &Emulator) -> Vec<String> {
        let pool = read_pool(emulator, true).await;
        let mut wrong = Vec::new();
        let mut check = |what: String, ok: bool| {
            if !ok {
                wrong.push(what);
            }
        };
        check(
            format!(
                "{} users, expected {}",
                pool.users.len(),
                self.keep + PROTECTED + self.hires
            ),
            pool.users.len() == self.keep + PROTECTED + self.hires,
        );
        for i in (1..=self.keep).chain(self.protected()) {
            let email = format!("user{i}@example.com");
            let Some(user) = pool.users.get(&email) else {
                check(format!("{email} is missing"), false);
                continue;
            };
            let nickname = if self.renamed.contains(&i) {
                format!("Soak {} {i}", self.seed)
            } else {
                format!("User {i}")
            };
            check(
                format!("{email} nickname {:?}", user.nickname),
                user.nickname.as_deref() == Some(nickname.as_str()),
            );
            check(
                format!("{email} company {:?}", user.company),
                user.company.as_deref() == Some("Example"),
            );
            check(
                format!("{email} mfa {:?}", user.mfa),
                user.mfa == Some(self.mfa_on.contains(&i)),
            );
            check(
                format!("{email} blocked {}", user.blocked),
                user.blocked == self.blocked.contains(&i),
            );
            check(
                format!("{email} email_verified {}", user.email_verified),
                !user.email_verified,
            );
        }
        for j in 1..=self.hires {
            let email = self.hire_email(j);
            let Some(user) = pool.users.get(&email) else {
                check(format!("{email} is missing"), false);
                continue;
            };
            check(
                format!("{email} nickname"),
                user.nickname.as_deref() == Some(format!("Hire {j}").as_str()),
            );
            check(
                format!("{email} phone {:?}", user.phone),
                user.phone.as_deref() == Some(format!("1390000{j:04}").as_str()),
            );
            check(format!("{email} mfa"), user.mfa == Some(j % 3 == 0));
            check(
                format!("{email} email_verified"),
                user.email_verified == (j % 2 == 0),
            );
        }
        check(
            format!("whitelist has {} phones", pool.whitelist.len()),
            pool.whitelist.len() == self.hires && pool.whitelist_enabled,
        );
        wrong
    }
}

/// What one run did.
#[derive(Debug, Default)]
struct Outcome {
    applies: u32,
    faults: u64,
    writes: u64,
    requests: u64,
    lost: usize,
    seconds: f64,
}

fn stats_sum(total: &mut Outcome, stats: &Value) {
    total.faults +=
        stats["faults"].as_u64().unwrap_or(0) + stats["rate_limited"].as_u64().unwrap_or(0);
    total.writes += stats["writes"].as_u64().unwrap_or(0);
    total.requests += stats["total"].as_u64().unwrap_or(0);
}

async fn run(scenario: &Scenario) -> Outcome {
    let started = Instant::now();
    let dir = temp_dir();
    let state = dir.path().join("pool.json");
    let manifest = write_file(dir.path(), "pool.yaml", &scenario.manifest());
    let mut emulator = scenario.emulator(&state, None, 0);
    let listen = emulator
        .url()
        .trim_start_matches("http://")
        .trim_end_matches("/graphql")
        .to_string();
    let mut outcome = Outcome::default();
    let mut restarts = 0;
    let apply = |emulator: &Emulator| {
        Sync::on(emulator, dir.path()).args([
            "apply",
            "-f",
            &manifest,
            "--auto-approve",
            "--retries",
            "10",
            "--rate",
            &scenario.rate.to_string(),
            "--concurrency",
            &scenario.concurrency.to_string(),
        ])
    };

    let mut client = apply(&emulator).spawn();
    outcome.applies += 1;
    let mut writes_before = 0;
    for (threshold, event) in &scenario.events {
        let client_done =
            !pool::wait_for_writes(&emulator, writes_before, *threshold, &mut client).await;
        if client_done {
            break;
        }
        match event {
            Event::KillClient => {
                client.kill().expect("kill -9 the client");
                let _ = client.wait();
                client = apply(&emulator).spawn();
                outcome.applies += 1;
            }
            Event::RestartEmulator | Event::KillEmulator => {
                let stats = emulator.stats().await;
                stats_sum(&mut outcome, &stats);
                writes_before += stats["writes"].as_u64().unwrap_or(0);
                if *event == Event::KillEmulator {
                    emulator.kill();
                } else {
                    emulator.stop();
                }
                restarts += 1;
                // The same port, so the running client finds it again after its retries.
                emulator = scenario.emulator(&state, Some(&listen), restarts);
            }
        }
    }
    let _ = client.wait();
    // Whatever the disruptions left undone, running apply again finishes.
    for _ in 0..5 {
        outcome.applies += 1;
        if apply(&emulator).run().code == 0 {
            break;
        }
    }
    stats_sum(&mut outcome, &emulator.stats().await);
    let wrong = scenario.discrepancies(&emulator).await;
    outcome.lost = wrong.len();
    assert!(
        wrong.is_empty(),
        "seed {}: {wrong:#?}\nscenario: {scenario:#?}",
        scenario.seed
    );
    // And a plan now finds nothing to do.
    Sync::on(&emulator, dir.path())
        .args([
            "plan",
            "-f",
            &manifest,
            "--detailed-exitcode",
            "--retries",
            "10",
        ])
        .run()
        .expect(0);
    outcome.seconds = started.elapsed().as_secs_f64();
    outcome
}

#[tokio::test]
async fn seeded_runs_under_faults_restarts_and_kills_converge_with_nothing_lost() {
    let runs: u64 = std::env::var("AUTHING_SYNC_SOAK_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2);
    let base: u64 = std::env::var("AUTHING_SYNC_SOAK_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    println!(
        "| seed | pool | faults p | rate / limit | events | applies | requests | faults injected | writes | lost | time |"
    );
    println!("|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|");
    let mut total = Outcome::default();
    for seed in base..base + runs {
        let scenario = Scenario::new(seed);
        let outcome = run(&scenario).await;
        let events: Vec<String> = scenario
            .events
            .iter()
            .map(|(writes, event)| format!("{event:?}@{writes}"))
            .collect();
        println!(
            "| {seed} | {} | {} | {} / {} | {} | {} | {} | {} | {} | {} | {:.1} s |",
            scenario.pool,
            scenario.fault_rate,
            scenario.rate,
            scenario
                .rate_limit
                .map_or("none".into(), |limit| limit.to_string()),
            events.join(" "),
            outcome.applies,
            outcome.requests,
            outcome.faults,
            outcome.writes,
            outcome.lost,
            outcome.seconds
        );
        total.applies += outcome.applies;
        total.requests += outcome.requests;
        total.faults += outcome.faults;
        total.writes += outcome.writes;
        total.lost += outcome.lost;
        total.seconds += outcome.seconds;
    }
    println!(
        "total: {runs} runs, {} applies, {} requests, {} faults injected, {} writes, {} lost, {:.0} s",
        total.applies, total.requests, total.faults, total.writes, total.lost, total.seconds
    );
    assert_eq!(total.lost, 0);
}
