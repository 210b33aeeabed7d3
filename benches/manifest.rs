//! Manifests: parse and validate at scale.
//!
//! Generates a 1,000,000-row HR-style CSV (nine columns, as an HR system exports them) and a
//! 100,000-user YAML manifest of the same fields in a temporary directory, then times
//! `manifest::load` on each. Every run is a fresh child process (this binary, re-executed with
//! `--child FILE`), which reports the load's wall time and its peak resident memory (`VmHWM`
//! from `/proc/self/status`, Linux only).
//!
//! ```text
//! cargo bench --bench manifest
//! cargo bench --bench manifest -- --rows 200000 --users 20000 --runs 3
//! ```

use std::error::Error;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use authing_sync::manifest;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

struct Options {
    rows: usize,
    users: usize,
    runs: usize,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.iter().position(|arg| arg == "--child") {
        Some(at) => child(args.get(at + 1).map(PathBuf::from)),
        None => parent(&options(&args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn options(args: &[String]) -> Options {
    let value = |name: &str, default: usize| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|at| args.get(at + 1))
            .and_then(|value| value.parse().ok())
            .unwrap_or(default)
    };
    Options {
        rows: value("--rows", 1_000_000),
        users: value("--users", 100_000),
        runs: value("--runs", 5).max(1),
    }
}

/// One measured load: prints `nanoseconds peak_kib users` on stdout.
fn child(path: Option<PathBuf>) -> Result<()> {
    let path = path.ok_or("--child needs a file")?;
    let start = Instant::now();
    let loaded =
        manifest::load(&[path]).map_err(|err| format!("{:?}", miette::Report::new(err)))?;
    let elapsed = start.elapsed();
    let users = loaded.state.users.len();
    drop(loaded);
    println!("{} {} {users}", elapsed.as_nanos(), peak_kib()?);
    Ok(())
}

fn peak_kib() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .ok_or("no VmHWM in /proc/self/status")?;
    let kib = line
        .split_whitespace()
        .nth(1)
        .ok_or("malformed VmHWM")?
        .parse()?;
    Ok(kib)
}

struct Measured {
    times: Vec<Duration>,
    peak_kib: u64,
    users: usize,
}

fn parent(options: &Options) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let csv = dir.path().join("hr-export.csv");
    let yaml = dir.path().join("users.yaml");
    eprintln!(
        "generating {} CSV rows and {} YAML users in {}",
        options.rows,
        options.users,
        dir.path().display()
    );
    write_csv(&csv, options.rows)?;
    write_yaml(&yaml, options.users)?;

    let cases = [
        (format!("CSV, {} rows", thousands(options.rows)), csv),
        (format!("YAML, {} users", thousands(options.users)), yaml),
    ];
    println!();
    println!(
        "Manifests: parse and validate ({} runs each, a fresh process per run)",
        options.runs
    );
    println!();
    println!("| input | file size | users loaded | min | median | peak RSS |");
    println!("|---|---|---|---|---|---|");
    for (name, path) in &cases {
        let measured = measure(path, options.runs)?;
        let mut times = measured.times.clone();
        times.sort();
        let size = std::fs::metadata(path)?.len();
        println!(
            "| {name} | {:.1} MiB | {} | {:.2} s | {:.2} s | {:.0} MiB |",
            size as f64 / 1_048_576.0,
            thousands(measured.users),
            times[0].as_secs_f64(),
            times[times.len() / 2].as_secs_f64(),
            measured.peak_kib as f64 / 1024.0,
        );
    }
    Ok(())
}

fn measure(path: &Path, runs: usize) -> Result<Measured> {
    let exe = std::env::current_exe()?;
    let mut measured = Measured {
        times: Vec::with_capacity(runs),
        peak_kib: 0,
        users: 0,
    };
    for _ in 0..runs {
        let output = Command::new(&exe).arg("--child").arg(path).output()?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned().into());
        }
        let stdout = String::from_utf8(output.stdout)?;
        let mut fields = stdout.split_whitespace();
        let mut next = || fields.next().ok_or("malformed child output");
        let nanos: u64 = next()?.parse()?;
        let peak: u64 = next()?.parse()?;
        let users: usize = next()?.parse()?;
        measured.times.push(Duration::from_nanos(nanos));
        measured.peak_kib = measured.peak_kib.max(peak);
        measured.users = users;
    }
    Ok(measured)
}

/// Given and family names, cycled through.
const GIVEN: [&str; 8] = ["Wei", "Jing", "Alice", "Björn", "Lei", "Fang", "Zoë", "Min"];
const FAMILY: [&str; 8] = [
    "Li", "Wang", "Liu", "Chen", "Zhang", "Müller", "O'Brien", "Huang",
];

/// A realistic HR export of nine columns: `email, username, nickname, company, phone,
/// given_name, family_name, mfa, blocked` (a quoted company with a comma in every row, phones
/// with `+86` and dashes, booleans as `yes`/`no` and `true`/`false`, a few cells left empty).
fn write_csv(path: &Path, rows: usize) -> Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    writeln!(
        out,
        "email,username,nickname,company,phone,given_name,family_name,mfa,blocked"
    )?;
    for i in 0..rows {
        let given = GIVEN[i % GIVEN.len()];
        let family = FAMILY[(i / GIVEN.len()) % FAMILY.len()];
        let mfa = match i % 3 {
            0 => "yes",
            1 => "no",
            _ => "",
        };
        writeln!(
            out,
            "user{i}@example.com,user{i},{given} {family},\"Example Ltd, Dept {}\",+86 138-{:04}-{:04},{given},{family},{mfa},{}",
            i % 50,
            i / 10_000,
            i % 10_000,
            i.is_multiple_of(7),
        )?;
    }
    out.flush()?;
    Ok(())
}

/// The same users as YAML, with a whitelist of one phone in 100 users and `prune` settings.
fn write_yaml(path: &Path, users: usize) -> Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    writeln!(out, "version: 1\nmatch_on: email\nusers:")?;
    for i in 0..users {
        let given = GIVEN[i % GIVEN.len()];
        let family = FAMILY[(i / GIVEN.len()) % FAMILY.len()];
        writeln!(
            out,
            "  - email: user{i}@example.com\n    username: user{i}\n    nickname: \"{given} {family}\"\n    company: \"Example Ltd, Dept {}\"\n    phone: \"+86 138-{:04}-{:04}\"\n    given_name: \"{given}\"\n    family_name: \"{family}\"\n    mfa: {}\n    blocked: {}",
            i % 50,
            i / 10_000,
            i % 10_000,
            i.is_multiple_of(3),
            i.is_multiple_of(7),
        )?;
    }
    writeln!(out, "whitelist:\n  enabled: true\n  phones:")?;
    for i in (0..users).step_by(100) {
        writeln!(out, "    - \"139 {:04} {:04}\"", i / 10_000, i % 10_000)?;
    }
    writeln!(
        out,
        "prune:\n  enabled: false\n  max_deletes: 1%\n  scope: \"*@example.com\""
    )?;
    out.flush()?;
    Ok(())
}

/// `1000000` → `1,000,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
