//! Benchmark: the fault soak as a loop of N seeded runs (`harness`), one line per run and a
//! summary table: runs, requests, faults injected, emulator kill -9s, graceful restarts, client
//! kills, users lost, duplicated, touched outside the plan, and what a run costs.
//!
//! ```sh
//! cargo bench --bench soak                                  # 50 runs from seed 1
//! cargo bench --bench soak -- --runs 1000                    # the long soak
//! cargo bench --bench soak -- --seed 417 --runs 1 --verbose  # one seed again, with its phases
//! SOAK_CLIENT_LOG=authing_sync=debug cargo bench --bench soak -- --seed 417 --runs 1 --verbose
//! ```
//!
//! `--jobs J` runs J scenarios at once (default 8; each has its own emulator, client and temp
//! directory). A run is almost all waiting (the client's backoffs and `Retry-After` under the
//! injected faults): it costs about 0.3 s of CPU, so running several at once is what makes a
//! thousand fit in well under an hour. Exits 1 if any run lost, duplicated or touched a user, or
//! did not converge; the failing seeds are listed.

mod harness;

use std::time::Instant;

use futures::StreamExt;
use harness::{Outcome, Scenario};

struct Options {
    runs: u64,
    seed: u64,
    jobs: usize,
    verbose: bool,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        runs: 50,
        seed: 1,
        jobs: 8,
        verbose: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|value| value.parse().ok())
                .ok_or_else(|| format!("{name} takes a number"))
        };
        match arg.as_str() {
            "--runs" => options.runs = number("--runs")?,
            "--seed" => options.seed = number("--seed")?,
            "--jobs" => options.jobs = number("--jobs")?.max(1) as usize,
            "--verbose" => options.verbose = true,
            // `cargo bench` passes `--bench` to every benchmark binary.
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("soak: {err}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    println!(
        "soak: {} runs from seed {}, {} at a time",
        options.runs, options.seed, options.jobs
    );
    println!(
        "| seed | api | pool | faults p | rate / limit | events | applies | requests | faults injected | writes | ok | time |"
    );
    println!("|---:|---|---:|---:|---|---|---:|---:|---:|---:|---|---:|");
    let seeds = options.seed..options.seed + options.runs;
    let results: Vec<(Scenario, Result<Outcome, String>)> = runtime.block_on(
        futures::stream::iter(seeds)
            .map(|seed| async move {
                let scenario = Scenario::new(seed);
                let outcome = harness::run(&scenario).await;
                print_run(&scenario, &outcome, options.verbose);
                (scenario, outcome)
            })
            .buffer_unordered(options.jobs)
            .collect(),
    );
    let wall = started.elapsed().as_secs_f64();

    let mut total = Outcome::default();
    let mut failed = Vec::new();
    let mut times = Vec::new();
    for (scenario, outcome) in &results {
        match outcome {
            Ok(outcome) => {
                total.add(outcome);
                times.push(outcome.seconds);
                if !outcome.ok() {
                    failed.push(scenario.seed);
                }
            }
            Err(_) => failed.push(scenario.seed),
        }
    }
    failed.sort_unstable();
    times.sort_by(f64::total_cmp);
    let mean = if times.is_empty() {
        0.0
    } else {
        times.iter().sum::<f64>() / times.len() as f64
    };
    println!();
    println!(
        "| runs | failed | applies | requests | faults injected | emulator kill -9s | graceful restarts | client kills | users lost | duplicated | touched outside the plan | not converged | wall | per run: mean / median / p95 / max |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    println!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} s | {:.1} / {:.1} / {:.1} / {:.1} s |",
        results.len(),
        failed.len(),
        total.applies,
        total.requests,
        total.faults,
        total.emulator_kills,
        total.emulator_restarts,
        total.client_kills,
        total.lost,
        total.duplicated,
        total.touched,
        total.unconverged,
        wall,
        mean,
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 1.0),
    );
    if !failed.is_empty() {
        println!("\nfailing seeds (run one again with --seed S --runs 1 --verbose): {failed:?}");
        std::process::exit(1);
    }
}

fn print_run(scenario: &Scenario, outcome: &Result<Outcome, String>, verbose: bool) {
    let limit = scenario
        .rate_limit
        .map_or("none".into(), |limit| limit.to_string());
    let events: Vec<String> = scenario
        .events
        .iter()
        .map(|(writes, event)| format!("{event:?}@{writes}"))
        .collect();
    match outcome {
        Ok(outcome) => {
            println!(
                "| {} | {} | {} | {} | {} / {limit} | {} | {} | {} | {} | {} | {} | {:.1} s |",
                scenario.seed,
                scenario.api.name(),
                scenario.pool,
                scenario.fault_rate,
                scenario.rate,
                events.join(" "),
                outcome.applies,
                outcome.requests,
                outcome.faults,
                outcome.writes,
                if outcome.ok() { "yes" } else { "**NO**" },
                outcome.seconds
            );
            if verbose {
                let phases: Vec<String> = outcome
                    .phases
                    .iter()
                    .map(|(name, seconds)| format!("{name} {seconds:.2} s"))
                    .collect();
                println!("    {}: {}", scenario.describe(), phases.join(", "));
            }
            if verbose || !outcome.ok() {
                for problem in &outcome.problems {
                    println!("    {}", problem.replace('\n', "\n    "));
                }
            }
        }
        Err(err) => {
            println!(
                "| {} | {} | {} | {} | {} / {limit} | {} | harness error: {err} |",
                scenario.seed,
                scenario.api.name(),
                scenario.pool,
                scenario.fault_rate,
                scenario.rate,
                events.join(" "),
            );
            if verbose {
                println!("    {}", scenario.describe());
            }
        }
    }
}
