//! The fault soak, shared by the benchmark (`cargo bench --bench soak`: N seeded runs and a
//! summary table) and the integration test (`cargo test --test it soak`: CI's two runs).
//!
//! One run: an emulator holding a generated pool, with injected faults (`--fault-rate` up to
//! 0.3: 5xx, 429 with `Retry-After`, connections dropped before or after the write), latency and
//! sometimes a `--rate-limit` below the client's rate; the real `authing-sync apply` binary
//! converging it to a seeded manifest (renames, MFA both ways, blocks, hires with phones on a
//! whitelist, deletions under `prune` with protected users); and one or two disruptions after a
//! seeded number of writes: the client killed with SIGKILL and started again, the emulator
//! stopped gracefully and restarted from its `--state` file, or the emulator killed with SIGKILL
//! and restarted from its journal. Then `apply` runs again until it succeeds, and the pool is
//! read back with plain GraphQL, independently of the client, from a fault-free emulator started
//! on the same state file: every user must be there once, as declared, and no user the plan did
//! not touch may have changed; `plan --detailed-exitcode` must then find nothing to do.
//!
//! What keeps a run to a few seconds: pools of 15 to 45 users, the client's rate high enough
//! that the rate is not what a run waits for, the emulator in this process (restarted in
//! process) unless the run kills it, readiness taken from the emulator's address line, and
//! disruptions placed on the emulator's write counter rather than on timers. What a run still
//! waits for is what the disruptions cost the client: backoffs and `Retry-After`.
//!
//! The API the client speaks is a dimension of the seed ([`Api`]): consecutive seeds alternate
//! v1 and v3. On v3 the manifest leaves out what v3 refuses at plan time (MFA changes, the
//! whitelist switch), and the judge expects MFA off and the switch untouched (off).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use authing_sync::emulator::{self, Config, DEFAULT_CLIENT_ID, DEFAULT_SECRET};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The `authing-sync` binary under test.
const BINARY: &str = env!("CARGO_BIN_EXE_authing-sync");
/// Users at the end of the pool that `prune.protect` keeps: they must never be touched.
const PROTECTED: usize = 3;
/// How long any one wait may take before the run is declared stuck.
const STUCK: Duration = Duration::from_secs(120);
/// How often `apply` is run again after the disruptions, at most.
const FINAL_APPLIES: u32 = 5;

/// The API the client speaks in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Authing's v1 GraphQL API (the client's default).
    V1,
    /// Authing's v3 management REST API (`--api v3`).
    V3,
}

impl Api {
    /// Every API the client can speak. Seeds take them in turn (`seed % len`), so a new one
    /// shares the runs without moving any other dimension of a seed.
    pub const ALL: &'static [Api] = &[Api::V1, Api::V3];

    fn of_seed(seed: u64) -> Api {
        Api::ALL[(seed % Api::ALL.len() as u64) as usize]
    }

    /// The flags that make the client speak this API.
    fn client_args(self) -> &'static [&'static str] {
        match self {
            Api::V1 => &[],
            Api::V3 => &["--api", "v3"],
        }
    }

    /// The endpoint of the emulator at `addr` for this API.
    fn endpoint(self, addr: SocketAddr) -> String {
        match self {
            Api::V1 => format!("http://{addr}/graphql"),
            Api::V3 => format!("http://{addr}"),
        }
    }

    /// Whether the API can change MFA and the whitelist switch (v3 refuses both at plan time).
    pub fn manages_mfa_and_switch(self) -> bool {
        self == Api::V1
    }

    pub fn name(self) -> &'static str {
        match self {
            Api::V1 => "v1",
            Api::V3 => "v3",
        }
    }
}

/// A disruption, after a number of writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// SIGKILL the client and start it again.
    KillClient,
    /// Stop the emulator gracefully and start it again from its state file.
    RestartEmulator,
    /// SIGKILL the emulator process and start it again from its snapshot and journal.
    KillEmulator,
}

/// One seeded scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    pub api: Api,
    pub pool: usize,
    /// Users 1..=keep are declared; keep+1..=pool-PROTECTED are deleted; the last PROTECTED are
    /// protected and must stay untouched.
    pub keep: usize,
    pub renamed: Vec<usize>,
    pub mfa_on: Vec<usize>,
    pub blocked: Vec<usize>,
    pub hires: usize,
    pub fault_rate: f64,
    pub latency_ms: u64,
    pub rate: u32,
    pub rate_limit: Option<u32>,
    pub concurrency: u32,
    /// Each disruption after this many writes (counted over every emulator incarnation).
    pub events: Vec<(u64, Event)>,
}

impl Scenario {
    pub fn new(seed: u64) -> Scenario {
        let mut rng = StdRng::seed_from_u64(seed);
        let pool = rng.random_range(15..45);
        let deletes = rng.random_range(0..8);
        let keep = pool - PROTECTED - deletes;
        let pick = |rng: &mut StdRng, p: f64| {
            (1..=keep)
                .filter(|_| rng.random_bool(p))
                .collect::<Vec<_>>()
        };
        let renamed = pick(&mut rng, 0.3);
        let api = Api::of_seed(seed);
        let mfa_on = pick(&mut rng, 0.15);
        // Drawn either way, so that the API moves no other dimension of a seed.
        let mfa_on = if api.manages_mfa_and_switch() {
            mfa_on
        } else {
            Vec::new()
        };
        let blocked = pick(&mut rng, 0.1);
        let hires = rng.random_range(3..9);
        let rate = rng.random_range(200..600);
        // The writes a first apply makes (one update per changed user, a token and a switch per
        // MFA change, a registration, an update, an MFA change for every third and a whitelist
        // entry per hire, the switch, one batch of deletions): disruptions land inside it.
        let changed = (1..=keep)
            .filter(|i| renamed.contains(i) || blocked.contains(i))
            .count();
        let writes = changed + 2 * mfa_on.len() + hires * 3 + 2 * (hires / 3) + 2;
        let last = (writes * 3 / 4).max(4) as u64;
        let kinds = [
            Event::KillClient,
            Event::RestartEmulator,
            Event::KillEmulator,
        ];
        let mut events: Vec<(u64, Event)> = (0..rng.random_range(1..=2))
            .map(|_| {
                (
                    rng.random_range(2..last),
                    kinds[rng.random_range(0..kinds.len())],
                )
            })
            .collect();
        events.sort_by_key(|(writes, _)| *writes);
        Scenario {
            seed,
            api,
            pool,
            keep,
            renamed,
            mfa_on,
            blocked,
            hires,
            fault_rate: [0.1, 0.2, 0.3][rng.random_range(0..3)],
            latency_ms: rng.random_range(0..15),
            rate,
            rate_limit: rng.random_bool(0.3).then_some(rate / 2),
            concurrency: rng.random_range(2..9),
            events,
        }
    }

    pub fn protected(&self) -> impl Iterator<Item = usize> {
        self.pool - PROTECTED + 1..=self.pool
    }

    pub fn hire_email(&self, j: usize) -> String {
        format!("soak{}-hire{j}@example.com", self.seed)
    }

    /// Whether hire `j` is declared with MFA on (every third, where the API can set it).
    pub fn hire_mfa(&self, j: usize) -> bool {
        j.is_multiple_of(3) && self.api.manages_mfa_and_switch()
    }

    pub fn hire_phone(j: usize) -> String {
        format!("1390000{j:04}")
    }

    pub fn manifest(&self) -> String {
        let protect: Vec<String> = self
            .protected()
            .map(|i| format!("\"user{i}@example.com\""))
            .collect();
        let phones: Vec<String> = (1..=self.hires)
            .map(|j| format!("\"{}\"", Self::hire_phone(j)))
            .collect();
        let switch = if self.api.manages_mfa_and_switch() {
            "  enabled: true\n"
        } else {
            ""
        };
        let mut yaml = format!(
            "version: 1\nprune:\n  enabled: true\n  max_deletes: 100%\n  scope: \"*@example.com\"\n  protect: [{}]\nwhitelist:\n{switch}  phones: [{}]\nusers:\n",
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
                "  - email: {}\n    nickname: Hire {j}\n    phone: \"{}\"\n    mfa: {}\n    email_verified: {}\n",
                self.hire_email(j),
                Self::hire_phone(j),
                self.hire_mfa(j),
                j % 2 == 0
            ));
        }
        yaml
    }

    /// Whether the emulator must be a process of its own (only a process can be killed).
    fn emulator_process(&self) -> bool {
        self.events
            .iter()
            .any(|(_, event)| *event == Event::KillEmulator)
    }

    fn events_text(&self) -> String {
        let events: Vec<String> = self
            .events
            .iter()
            .map(|(writes, event)| format!("{event:?}@{writes}"))
            .collect();
        events.join(" ")
    }

    /// One line describing the scenario.
    pub fn describe(&self) -> String {
        format!(
            "seed {} api {} pool {} faults {} latency {} ms rate {} limit {} concurrency {} events {}",
            self.seed,
            self.api.name(),
            self.pool,
            self.fault_rate,
            self.latency_ms,
            self.rate,
            self.rate_limit
                .map_or("none".into(), |limit| limit.to_string()),
            self.concurrency,
            self.events_text()
        )
    }
}

/// What one run did and found.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub applies: u32,
    pub requests: u64,
    /// Injected faults and rate-limit refusals.
    pub faults: u64,
    pub writes: u64,
    pub emulator_kills: u32,
    pub emulator_restarts: u32,
    pub client_kills: u32,
    /// Users that existed, were to stay, and are gone.
    pub lost: usize,
    /// Users present more than once.
    pub duplicated: usize,
    /// Users (or fields) the plan did not touch that changed, and users nobody declared.
    pub touched: usize,
    /// Declared changes not made (after the final applies), or a plan that still finds work.
    pub unconverged: usize,
    /// What was wrong, for the report.
    pub problems: Vec<String>,
    pub seconds: f64,
    /// Where the run's time went: (phase, seconds).
    pub phases: Vec<(&'static str, f64)>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.touched == 0 && self.unconverged == 0
    }

    pub fn add(&mut self, other: &Outcome) {
        self.applies += other.applies;
        self.requests += other.requests;
        self.faults += other.faults;
        self.writes += other.writes;
        self.emulator_kills += other.emulator_kills;
        self.emulator_restarts += other.emulator_restarts;
        self.client_kills += other.client_kills;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.touched += other.touched;
        self.unconverged += other.unconverged;
        self.seconds += other.seconds;
    }

    fn count(&mut self, stats: &Counters) {
        self.requests += stats.requests;
        self.faults += stats.faults;
        self.writes += stats.writes;
    }
}

/// The emulator counters a run adds up.
#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    requests: u64,
    faults: u64,
    writes: u64,
}

/// An emulator serving the run's pool: in this process, or a process of its own.
enum Server {
    InProcess(emulator::Emulator),
    Process { child: Child, http: reqwest::Client },
}

impl Server {
    /// Starts an emulator on `listen` with the run's faults; `generate` the pool the first time.
    async fn start(
        scenario: &Scenario,
        state: &Path,
        listen: SocketAddr,
        incarnation: u64,
        process: bool,
    ) -> Result<(Server, SocketAddr), String> {
        let fault_seed = scenario.seed * 100 + incarnation;
        let generate = (incarnation == 0).then_some(scenario.pool as u64);
        if !process {
            let config = Config {
                listen,
                state: Some(state.to_path_buf()),
                generate,
                latency_ms: scenario.latency_ms,
                fault_rate: scenario.fault_rate,
                fault_seed,
                rate_limit: scenario.rate_limit,
                ..Config::default()
            };
            let emulator = emulator::Emulator::start(config)
                .await
                .map_err(|err| format!("start the emulator: {err:?}"))?;
            let addr = emulator.addr();
            return Ok((Server::InProcess(emulator), addr));
        }
        let mut command = Command::new(BINARY);
        command
            .args(["emulator", "--listen", &listen.to_string(), "--state"])
            .arg(state)
            .args(["--fault-rate", &scenario.fault_rate.to_string()])
            .args(["--fault-seed", &fault_seed.to_string()])
            .args(["--latency-ms", &scenario.latency_ms.to_string()]);
        if let Some(count) = generate {
            command.args(["--generate", &count.to_string()]);
        }
        if let Some(limit) = scenario.rate_limit {
            command.args(["--rate-limit", &limit.to_string()]);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| format!("spawn the emulator: {err}"))?;
        let stdout = child.stdout.take().ok_or("the emulator's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        // Ready when it prints its address: no waiting beyond that.
        let line = tokio::time::timeout(STUCK, lines.next_line())
            .await
            .map_err(|_| "the emulator printed no address".to_string())?
            .map_err(|err| format!("read the emulator's address: {err}"))?
            .ok_or("the emulator exited before printing its address")?;
        let addr: SocketAddr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.strip_suffix("/graphql"))
            .and_then(|addr| addr.parse().ok())
            .ok_or_else(|| format!("unexpected first line from the emulator: {line:?}"))?;
        // Keep draining, so the emulator never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|err| format!("http client: {err}"))?;
        Ok((Server::Process { child, http }, addr))
    }

    async fn counters(&self, addr: SocketAddr) -> Result<Counters, String> {
        match self {
            Server::InProcess(emulator) => {
                let stats = emulator.stats();
                Ok(Counters {
                    requests: stats.total,
                    faults: stats.faults + stats.rate_limited,
                    writes: stats.writes,
                })
            }
            Server::Process { http, .. } => {
                let stats: Value = http
                    .get(format!("http://{addr}/__emulator/stats"))
                    .send()
                    .await
                    .map_err(|err| format!("GET stats: {err}"))?
                    .json()
                    .await
                    .map_err(|err| format!("stats: {err}"))?;
                let number = |name: &str| stats[name].as_u64().unwrap_or(0);
                Ok(Counters {
                    requests: number("total"),
                    faults: number("faults") + number("rate_limited"),
                    writes: number("writes"),
                })
            }
        }
    }

    /// A graceful stop: the state file is written.
    async fn stop(self) -> Result<(), String> {
        match self {
            Server::InProcess(emulator) => emulator
                .shutdown()
                .await
                .map_err(|err| format!("stop the emulator: {err:?}")),
            Server::Process { mut child, .. } => {
                let pid = child.id().ok_or("the emulator already exited")?;
                // SAFETY: kill(2) with a pid this run spawned and has not reaped.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGTERM);
                }
                let status = tokio::time::timeout(STUCK, child.wait())
                    .await
                    .map_err(|_| "the emulator did not stop on SIGTERM".to_string())?
                    .map_err(|err| format!("wait for the emulator: {err}"))?;
                if status.success() {
                    Ok(())
                } else {
                    Err(format!("the emulator stopped with {status}"))
                }
            }
        }
    }

    /// SIGKILL: nothing is written on the way out.
    async fn kill(self) -> Result<(), String> {
        match self {
            Server::InProcess(_) => Err("only an emulator process can be killed".into()),
            Server::Process { mut child, .. } => child
                .kill()
                .await
                .map_err(|err| format!("kill the emulator: {err}")),
        }
    }
}

/// The run's files and the client's command line.
struct Client<'a> {
    scenario: &'a Scenario,
    dir: &'a Path,
    manifest: PathBuf,
    log: PathBuf,
}

impl Client<'_> {
    fn command(&self, addr: SocketAddr, args: &[&str]) -> Result<Command, String> {
        let mut command = Command::new(BINARY);
        command
            .args(args)
            .args(self.scenario.api.client_args())
            .args(["--endpoint", &self.scenario.api.endpoint(addr)])
            .args(["--client-id", DEFAULT_CLIENT_ID])
            .args([
                "--public-key",
                &format!("http://{addr}/__emulator/public-key"),
            ])
            .current_dir(self.dir)
            .env("AUTHING_SECRET", DEFAULT_SECRET)
            .env("NO_COLOR", "1")
            .env_remove("AUTHING_ENDPOINT")
            .env_remove("AUTHING_API")
            .env_remove("AUTHING_CLIENT_ID")
            .env_remove("AUTHING_PUBLIC_KEY")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(self.log_file()?)
            .kill_on_drop(true);
        // The client's own diagnostics in its log, when asked (`SOAK_CLIENT_LOG=debug`).
        if let Ok(filter) = std::env::var("SOAK_CLIENT_LOG") {
            command.env("RUST_LOG", filter);
        }
        Ok(command)
    }

    /// The client's stderr, appended to one log per run (shown when a run fails).
    fn log_file(&self) -> Result<std::fs::File, String> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|err| format!("open the client log: {err}"))
    }

    fn apply(&self, addr: SocketAddr) -> Result<Child, String> {
        let manifest = self.manifest.display().to_string();
        let rate = self.scenario.rate.to_string();
        let concurrency = self.scenario.concurrency.to_string();
        self.command(
            addr,
            &[
                "apply",
                "-f",
                &manifest,
                "--auto-approve",
                "--retries",
                "10",
                "--rate",
                &rate,
                "--concurrency",
                &concurrency,
            ],
        )?
        .spawn()
        .map_err(|err| format!("spawn apply: {err}"))
    }

    fn plan(&self, addr: SocketAddr) -> Result<Child, String> {
        let manifest = self.manifest.display().to_string();
        self.command(
            addr,
            &[
                "plan",
                "-f",
                &manifest,
                "--detailed-exitcode",
                "--rate",
                "1000",
            ],
        )?
        .spawn()
        .map_err(|err| format!("spawn plan: {err}"))
    }
}

/// Waits for the client to exit; its exit code.
async fn finish(child: &mut Child) -> Result<i32, String> {
    let status = tokio::time::timeout(STUCK, child.wait())
        .await
        .map_err(|_| "the client is stuck".to_string())?
        .map_err(|err| format!("wait for the client: {err}"))?;
    Ok(status.code().unwrap_or(-1))
}

/// Waits until `before` plus the emulator's writes reach `threshold` (`true`), or the client
/// exits first (`false`). The writes counter is read as often as the emulator answers: no timer
/// decides when a disruption happens.
async fn reached(
    server: &Server,
    addr: SocketAddr,
    before: u64,
    threshold: u64,
    client: &mut Child,
) -> Result<bool, String> {
    let started = Instant::now();
    loop {
        if before + server.counters(addr).await?.writes >= threshold {
            return Ok(true);
        }
        if client
            .try_wait()
            .map_err(|err| format!("poll the client: {err}"))?
            .is_some()
        {
            return Ok(false);
        }
        if started.elapsed() > STUCK {
            return Err(format!("no write {threshold} within {STUCK:?}"));
        }
        // A read of the counter every 2 ms: a disruption lands within a write or two of its
        // threshold, and the polling costs the machine nothing worth measuring.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Runs one scenario to the end. `Err` only when the harness itself failed (a process that
/// would not start); what the run found wrong is in the outcome.
pub async fn run(scenario: &Scenario) -> Result<Outcome, String> {
    let started = Instant::now();
    let dir = tempfile::tempdir().map_err(|err| format!("temp dir: {err}"))?;
    let state = dir.path().join("pool.json");
    let manifest = dir.path().join("pool.yaml");
    std::fs::write(&manifest, scenario.manifest()).map_err(|err| format!("manifest: {err}"))?;
    let client = Client {
        scenario,
        dir: dir.path(),
        manifest,
        log: dir.path().join("client.log"),
    };
    let process = scenario.emulator_process();
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let (mut server, addr) = Server::start(scenario, &state, loopback, 0, process).await?;
    let mut incarnation: u64 = 0;
    let mut outcome = Outcome::default();

    let mut phase = Instant::now();
    let mut lap = |outcome: &mut Outcome, name: &'static str| {
        outcome.phases.push((name, phase.elapsed().as_secs_f64()));
        phase = Instant::now();
    };
    lap(&mut outcome, "start");
    let mut apply = client.apply(addr)?;
    outcome.applies += 1;
    let mut writes_before = 0;
    for (threshold, event) in &scenario.events {
        if !reached(&server, addr, writes_before, *threshold, &mut apply).await? {
            break;
        }
        match event {
            Event::KillClient => {
                apply
                    .kill()
                    .await
                    .map_err(|err| format!("kill the client: {err}"))?;
                outcome.client_kills += 1;
                apply = client.apply(addr)?;
                outcome.applies += 1;
            }
            Event::RestartEmulator | Event::KillEmulator => {
                let counters = server.counters(addr).await?;
                outcome.count(&counters);
                writes_before += counters.writes;
                if *event == Event::KillEmulator {
                    server.kill().await?;
                    outcome.emulator_kills += 1;
                } else {
                    server.stop().await?;
                    outcome.emulator_restarts += 1;
                }
                incarnation += 1;
                // The same port, so the running client finds it again after its retries.
                let (restarted, _) =
                    Server::start(scenario, &state, addr, incarnation, process).await?;
                server = restarted;
            }
        }
    }
    lap(&mut outcome, "disruptions");
    finish(&mut apply).await?;
    lap(&mut outcome, "apply");
    // Whatever the disruptions left undone, running apply again finishes.
    for _ in 0..FINAL_APPLIES {
        outcome.applies += 1;
        if finish(&mut client.apply(addr)?).await? == 0 {
            break;
        }
    }
    lap(&mut outcome, "final applies");
    outcome.count(&server.counters(addr).await?);
    server.stop().await?;

    // Read back from a fault-free emulator on the same state file.
    let checker = emulator::Emulator::start(Config {
        state: Some(state.clone()),
        ..Config::default()
    })
    .await
    .map_err(|err| format!("start the checker: {err:?}"))?;
    let addr = checker.addr();
    let result = async {
        let pool = read_pool(&checker.graphql_url()).await?;
        judge(scenario, &pool, &mut outcome);
        let code = finish(&mut client.plan(addr)?).await?;
        if code != 0 {
            outcome.unconverged += 1;
            outcome
                .problems
                .push(format!("plan after apply exits {code}, not 0 (no changes)"));
        }
        Ok::<(), String>(())
    }
    .await;
    checker
        .shutdown()
        .await
        .map_err(|err| format!("stop the checker: {err:?}"))?;
    result?;
    if !outcome.ok() || std::env::var_os("SOAK_CLIENT_LOG").is_some() {
        let log = std::fs::read_to_string(&client.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(200).collect();
        outcome.problems.push(format!(
            "client log (last lines):\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    lap(&mut outcome, "check");
    outcome.seconds = started.elapsed().as_secs_f64();
    Ok(outcome)
}

/// One user as the pool holds it.
#[derive(Debug, Clone)]
pub struct PoolUser {
    pub email: Option<String>,
    pub username: Option<String>,
    pub nickname: Option<String>,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub email_verified: bool,
    pub blocked: bool,
    pub mfa: bool,
}

/// The pool as plain GraphQL reads it.
#[derive(Debug, Clone)]
pub struct Pool {
    pub users: Vec<PoolUser>,
    pub whitelist_enabled: bool,
    pub whitelist: Vec<String>,
}

async fn graphql(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Result<Value, String> {
    let mut request = http
        .post(url)
        .json(&json!({"query": query, "variables": variables}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: Value = request
        .send()
        .await
        .map_err(|err| format!("POST {query}: {err}"))?
        .json()
        .await
        .map_err(|err| format!("answer to {query}: {err}"))?;
    if body.get("errors").is_some() {
        return Err(format!("{query}: {body}"));
    }
    Ok(body["data"].clone())
}

/// Every user, each one's MFA switch, and the whitelist.
async fn read_pool(url: &str) -> Result<Pool, String> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|err| format!("http client: {err}"))?;
    let data = graphql(
        &http,
        url,
        None,
        "query ($secret: String, $clientId: String) { getClientWhenSdkInit(secret: $secret, clientId: $clientId) { accessToken } }",
        json!({"secret": DEFAULT_SECRET, "clientId": DEFAULT_CLIENT_ID}),
    )
    .await?;
    let token = data["getClientWhenSdkInit"]["accessToken"]
        .as_str()
        .ok_or("no owner token")?
        .to_string();
    let token = Some(token.as_str());
    let mut users = Vec::new();
    let mut ids = Vec::new();
    for page in 1.. {
        let data = graphql(
            &http,
            url,
            token,
            "query ($page: Int, $count: Int) { users(page: $page, count: $count) { totalCount list { _id email username nickname company phone emailVerified blocked } } }",
            json!({"page": page, "count": 200}),
        )
        .await?;
        let list = data["users"]["list"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for user in &list {
            let text = |field: &str| user[field].as_str().map(str::to_string);
            ids.push(text("_id").ok_or("a user without an _id")?);
            users.push(PoolUser {
                email: text("email"),
                username: text("username"),
                nickname: text("nickname"),
                company: text("company"),
                phone: text("phone"),
                email_verified: user["emailVerified"].as_bool().unwrap_or(false),
                blocked: user["blocked"].as_bool().unwrap_or(false),
                mfa: false,
            });
        }
        let total = data["users"]["totalCount"].as_u64().unwrap_or(0) as usize;
        if list.is_empty() || page * 200 >= total {
            break;
        }
    }
    // Every user's MFA switch in one request per hundred users (GraphQL aliases).
    for (chunk_index, chunk) in ids.chunks(100).enumerate() {
        let fields: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                format!(
                    "m{i}: queryMFA(userId: {}, userPoolId: {}) {{ enable }}",
                    Value::from(id.as_str()),
                    Value::from(DEFAULT_CLIENT_ID)
                )
            })
            .collect();
        let data = graphql(
            &http,
            url,
            token,
            &format!("{{ {} }}", fields.join(" ")),
            json!({}),
        )
        .await?;
        for i in 0..chunk.len() {
            users[chunk_index * 100 + i].mfa =
                data[format!("m{i}")]["enable"].as_bool().unwrap_or(false);
        }
    }
    let client = json!({"client": DEFAULT_CLIENT_ID});
    let state = graphql(
        &http,
        url,
        token,
        "query ($client: String!) { queryInvitationState(client: $client) { enablePhone } }",
        client.clone(),
    )
    .await?;
    let list = graphql(
        &http,
        url,
        token,
        "query ($client: String!) { queryInvitation(client: $client) { phone } }",
        client,
    )
    .await?;
    let mut whitelist: Vec<String> = list["queryInvitation"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| entry["phone"].as_str().map(str::to_string))
        .collect();
    whitelist.sort();
    Ok(Pool {
        users,
        whitelist_enabled: state["queryInvitationState"]["enablePhone"]
            .as_bool()
            .unwrap_or(false),
        whitelist,
    })
}

/// What a discrepancy counts as.
#[derive(Debug, Clone, Copy)]
enum Wrong {
    Lost,
    Touched,
    Unconverged,
}

/// Compares the pool with what the scenario declares and what it leaves alone.
pub fn judge(scenario: &Scenario, pool: &Pool, outcome: &mut Outcome) {
    use std::collections::BTreeMap;
    let mut by_email: BTreeMap<String, Vec<&PoolUser>> = BTreeMap::new();
    for user in &pool.users {
        let key = user.email.as_deref().unwrap_or("(no email)").to_lowercase();
        by_email.entry(key).or_default().push(user);
    }
    for (email, users) in &by_email {
        if users.len() > 1 {
            outcome.duplicated += users.len() - 1;
            outcome
                .problems
                .push(format!("{email} is in the pool {} times", users.len()));
        }
    }
    let mut expected = std::collections::BTreeSet::new();
    let wrong = |outcome: &mut Outcome, kind: Wrong, what: String| {
        match kind {
            Wrong::Lost => outcome.lost += 1,
            Wrong::Touched => outcome.touched += 1,
            Wrong::Unconverged => outcome.unconverged += 1,
        }
        outcome.problems.push(what);
    };
    let (lost, touched, unconverged) = (Wrong::Lost, Wrong::Touched, Wrong::Unconverged);

    // Generated users: the declared ones and the protected ones must be there, with every field
    // the manifest does not manage as generated.
    for i in (1..=scenario.keep).chain(scenario.protected()) {
        let email = format!("user{i}@example.com");
        expected.insert(email.clone());
        let Some(user) = by_email.get(&email).and_then(|users| users.first()) else {
            wrong(outcome, lost, format!("{email} is missing"));
            continue;
        };
        let declared = i <= scenario.keep;
        let renamed = declared && scenario.renamed.contains(&i);
        let nickname = if renamed {
            format!("Soak {} {i}", scenario.seed)
        } else {
            format!("User {i}")
        };
        if user.nickname.as_deref() != Some(nickname.as_str()) {
            let kind = if renamed { unconverged } else { touched };
            wrong(
                outcome,
                kind,
                format!(
                    "{email} nickname {:?}, expected {nickname:?}",
                    user.nickname
                ),
            );
        }
        let mfa = declared && scenario.mfa_on.contains(&i);
        if user.mfa != mfa {
            let kind = if declared { unconverged } else { touched };
            wrong(
                outcome,
                kind,
                format!("{email} mfa {}, expected {mfa}", user.mfa),
            );
        }
        let blocked = declared && scenario.blocked.contains(&i);
        if user.blocked != blocked {
            let kind = if scenario.blocked.contains(&i) {
                unconverged
            } else {
                touched
            };
            wrong(
                outcome,
                kind,
                format!("{email} blocked {}, expected {blocked}", user.blocked),
            );
        }
        let untouched = user.company.as_deref() == Some("Example")
            && user.username.as_deref() == Some(format!("user{i}").as_str())
            && user.phone.is_none()
            && !user.email_verified;
        if !untouched {
            wrong(
                outcome,
                touched,
                format!("{email} changed outside the plan: {user:?}"),
            );
        }
    }
    // Deleted users must be gone.
    for i in scenario.keep + 1..=scenario.pool - PROTECTED {
        let email = format!("user{i}@example.com");
        if by_email.contains_key(&email) {
            wrong(outcome, unconverged, format!("{email} was not deleted"));
        }
        expected.insert(email);
    }
    for j in 1..=scenario.hires {
        let email = scenario.hire_email(j);
        expected.insert(email.clone());
        let Some(user) = by_email.get(&email).and_then(|users| users.first()) else {
            wrong(outcome, unconverged, format!("{email} was not created"));
            continue;
        };
        let phone = Scenario::hire_phone(j);
        let as_declared = user.nickname.as_deref() == Some(format!("Hire {j}").as_str())
            && user.phone.as_deref() == Some(phone.as_str())
            && user.mfa == scenario.hire_mfa(j)
            && user.email_verified == (j % 2 == 0)
            && !user.blocked;
        if !as_declared {
            wrong(
                outcome,
                unconverged,
                format!("{email} is not as declared: {user:?}"),
            );
        }
    }
    for email in by_email.keys() {
        if !expected.contains(email) {
            wrong(
                outcome,
                touched,
                format!("{email} is in the pool but nobody declared it"),
            );
        }
    }
    let phones: Vec<String> = (1..=scenario.hires).map(Scenario::hire_phone).collect();
    let switched_on = scenario.api.manages_mfa_and_switch();
    if pool.whitelist_enabled != switched_on || pool.whitelist != phones {
        wrong(
            outcome,
            unconverged,
            format!(
                "whitelist {} {:?}, expected {} {phones:?}",
                if pool.whitelist_enabled { "on" } else { "off" },
                pool.whitelist,
                if switched_on { "on" } else { "off" }
            ),
        );
    }
}
