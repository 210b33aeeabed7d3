//! CI's short fault soak: seeded runs of `apply` against an emulator that injects faults, is
//! restarted (gracefully, or with `kill -9`) mid-run, while the client is killed mid-run and
//! started again; after each run the pool must equal the manifest, with no user lost, none
//! duplicated and none outside the plan touched. The runs are the benchmark's
//! (`benches/soak/harness.rs`, shared); CI takes the first seeds that between them disrupt the
//! run in every way (usually two or three runs).
//!
//! The long soak is the benchmark: `cargo bench --bench soak -- --runs 1000` (BENCHMARKS.md).
//! Here, `AUTHING_SYNC_SOAK_RUNS=N` runs N consecutive seeds instead, and `AUTHING_SYNC_SOAK_SEED`
//! moves the first one.

#[path = "../../benches/soak/harness.rs"]
mod harness;

use harness::{Event, Scenario};

fn number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|n| n.parse().ok())
}

/// Seeds from `base` that between them cover every kind of disruption and every API.
fn covering_seeds(base: u64) -> Vec<u64> {
    let kinds = [
        Event::KillClient,
        Event::RestartEmulator,
        Event::KillEmulator,
    ];
    let mut covered = Vec::new();
    let mut apis = Vec::new();
    let mut seeds = Vec::new();
    for seed in base.. {
        let scenario = Scenario::new(seed);
        let adds = scenario
            .events
            .iter()
            .any(|(_, event)| !covered.contains(event))
            || !apis.contains(&scenario.api);
        if adds {
            covered.extend(scenario.events.iter().map(|(_, event)| *event));
            apis.push(scenario.api);
            seeds.push(seed);
        }
        if kinds.iter().all(|kind| covered.contains(kind))
            && harness::Api::ALL.iter().all(|api| apis.contains(api))
        {
            return seeds;
        }
    }
    seeds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_runs_under_faults_restarts_and_kills_converge_with_nothing_lost() {
    let base = number("AUTHING_SYNC_SOAK_SEED").unwrap_or(1);
    let seeds: Vec<u64> = match number("AUTHING_SYNC_SOAK_RUNS") {
        Some(runs) => (base..base + runs).collect(),
        None => covering_seeds(base),
    };
    assert!(!seeds.is_empty());
    for seed in seeds {
        let scenario = Scenario::new(seed);
        let outcome = harness::run(&scenario)
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", scenario.describe()));
        println!(
            "{}: {} applies, {} requests, {} faults injected, {} writes, {:.1} s",
            scenario.describe(),
            outcome.applies,
            outcome.requests,
            outcome.faults,
            outcome.writes,
            outcome.seconds
        );
        assert!(
            outcome.ok(),
            "{}\n{}",
            scenario.describe(),
            outcome.problems.join("\n")
        );
    }
}

#[test]
fn ci_seeds_cover_every_disruption() {
    let seeds = covering_seeds(1);
    assert!(seeds.len() <= 4, "{seeds:?}");
    for api in harness::Api::ALL {
        assert!(
            seeds.iter().any(|seed| Scenario::new(*seed).api == *api),
            "{api:?} in {seeds:?}"
        );
    }
    let events: Vec<Event> = seeds
        .iter()
        .flat_map(|seed| Scenario::new(*seed).events)
        .map(|(_, event)| event)
        .collect();
    for kind in [
        Event::KillClient,
        Event::RestartEmulator,
        Event::KillEmulator,
    ] {
        assert!(events.contains(&kind), "{kind:?} in {seeds:?}");
    }
}

/// The pool a scenario should end with.
fn converged(scenario: &Scenario) -> harness::Pool {
    let generated = |i: usize| harness::PoolUser {
        email: Some(format!("user{i}@example.com")),
        username: Some(format!("user{i}")),
        nickname: Some(if scenario.renamed.contains(&i) {
            format!("Soak {} {i}", scenario.seed)
        } else {
            format!("User {i}")
        }),
        company: Some("Example".into()),
        phone: None,
        email_verified: false,
        blocked: scenario.blocked.contains(&i),
        mfa: scenario.mfa_on.contains(&i),
    };
    let mut users: Vec<harness::PoolUser> = (1..=scenario.keep)
        .chain(scenario.protected())
        .map(generated)
        .collect();
    users.extend((1..=scenario.hires).map(|j| harness::PoolUser {
        email: Some(scenario.hire_email(j)),
        username: None,
        nickname: Some(format!("Hire {j}")),
        company: None,
        phone: Some(Scenario::hire_phone(j)),
        email_verified: j % 2 == 0,
        blocked: false,
        mfa: scenario.hire_mfa(j),
    }));
    harness::Pool {
        users,
        whitelist_enabled: scenario.api.manages_mfa_and_switch(),
        whitelist: (1..=scenario.hires).map(Scenario::hire_phone).collect(),
    }
}

/// The soak's verdict can fail: a lost, a duplicated, a touched and an unfinished user are each
/// counted as what they are.
#[test]
fn the_soak_check_tells_lost_duplicated_touched_and_unconverged_apart() {
    // A scenario that deletes users, so that one left behind can be told apart.
    let scenario = (1..)
        .map(Scenario::new)
        .find(|scenario| scenario.protected().next() > Some(scenario.keep + 1))
        .expect("a scenario with deletions");
    let judge = |pool: &harness::Pool| {
        let mut outcome = harness::Outcome::default();
        harness::judge(&scenario, pool, &mut outcome);
        outcome
    };
    let good = converged(&scenario);
    let outcome = judge(&good);
    assert!(outcome.ok(), "{:?}", outcome.problems);

    let mut lost = good.clone();
    lost.users.remove(0);
    assert_eq!(judge(&lost).lost, 1);

    let mut duplicated = good.clone();
    duplicated.users.push(duplicated.users[0].clone());
    assert_eq!(judge(&duplicated).duplicated, 1);

    let mut touched = good.clone();
    let protected = touched
        .users
        .iter_mut()
        .find(|user| user.email == Some(format!("user{}@example.com", scenario.pool)))
        .expect("a protected user");
    protected.company = Some("Changed".into());
    let outcome = judge(&touched);
    assert_eq!((outcome.touched, outcome.unconverged), (1, 0));

    let mut unfinished = good.clone();
    unfinished.whitelist.pop();
    unfinished.users.push(harness::PoolUser {
        email: Some(format!("user{}@example.com", scenario.keep + 1)),
        username: Some(format!("user{}", scenario.keep + 1)),
        nickname: None,
        company: Some("Example".into()),
        phone: None,
        email_verified: false,
        blocked: false,
        mfa: false,
    });
    let outcome = judge(&unfinished);
    assert_eq!(
        (outcome.lost, outcome.touched, outcome.unconverged),
        (0, 0, 2),
        "{:?}",
        outcome.problems
    );
}
