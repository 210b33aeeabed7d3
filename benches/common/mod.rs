//! What the benchmarks share: starting the release `authing-sync emulator` on an ephemeral
//! loopback port, and reading peak memory and CPU time.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running emulator process, killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    /// Starts `authing-sync emulator --listen 127.0.0.1:0 <args>`; also returns how long it took
    /// until the address was printed (the pool is ready then).
    pub fn start(args: &[String]) -> (Server, Duration) {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_authing-sync"))
            .args(["emulator", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the emulator");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        reader.read_line(&mut line).expect("read the address line");
        let ready = started.elapsed();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .expect("listening on ...")
            .to_string();
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        (Server { child, url }, ready)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> &str {
        self.url.trim_end_matches("/graphql")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process's peak resident memory (VmHWM), in MiB.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// This process's peak resident memory, in MiB.
pub fn own_peak_rss_mib() -> Option<f64> {
    peak_rss_mib(std::process::id())
}

/// CPU time (user + system) this process has used so far.
pub fn own_cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct it is given and nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// What one run of a command cost, from `wait4`'s rusage of the process.
pub struct Measured {
    pub code: i32,
    pub cpu: Duration,
    /// `ru_maxrss`: the process's peak resident memory, in MiB.
    pub peak_rss_mib: f64,
    pub stderr: String,
}

/// Runs `program args` in `dir` with `env` added, stdout to the file `stdout`, and reaps it with
/// `wait4` for its CPU time and peak memory (the child's alone, not this process's).
pub fn run_measured(
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
    dir: &std::path::Path,
    stdout: &std::path::Path,
) -> Measured {
    let stderr_path = stdout.with_extension("stderr");
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"));
    for (key, value) in env {
        command.env(key, value);
    }
    // Reaped below with wait4, which also gives its rusage.
    #[allow(clippy::zombie_processes)]
    let child = command.spawn().expect("spawn the command");
    let mut status = 0;
    // SAFETY: wait4 on the pid of a child this process spawned and has not reaped; it writes
    // only into the zeroed struct and the status it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        usage
    };
    let time = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    Measured {
        code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        // ru_maxrss is in KiB on Linux.
        peak_rss_mib: usage.ru_maxrss as f64 / 1024.0,
        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
    }
}
