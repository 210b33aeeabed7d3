//! Authing's official v3 SDKs, unchanged, against the emulator: npm `authing-node-sdk@4.0.1`
//! (AK/SK signatures) and PyPI `authing==5.1.0` (management token). Each test installs its SDK
//! itself into a cache under Cargo's test temp dir (once; later runs reuse it), drives
//! create/list/get/update/delete of users and the phone whitelist through it
//! (`official_sdks/drive.js`, `drive.py`), and then checks the pool independently over v1
//! GraphQL. When node/npm or python3/pip is missing or the registry cannot be reached, the test
//! says so on stderr and passes; `AUTHING_SYNC_REQUIRE_SDKS=1` makes that a failure instead.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

use crate::support::{CLIENT_ID, Emulator, SECRET, operation_count, read_pool, unique};

const NODE_SDK: &str = "authing-node-sdk@4.0.1";
/// The Python SDK imports `websockets` without declaring it, so it is installed beside.
const PYTHON_SDK: [&str; 2] = ["authing==5.1.0", "websockets"];
const INSTALL_TIMEOUT: Duration = Duration::from_secs(300);
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("official-sdks")
}

/// Skips (or, with `AUTHING_SYNC_REQUIRE_SDKS=1`, fails) with the reason.
fn skip(reason: &str) {
    if std::env::var("AUTHING_SYNC_REQUIRE_SDKS").is_ok_and(|value| value == "1") {
        panic!("official SDK test cannot run: {reason}");
    }
    eprintln!("skipped: {reason}");
}

/// Runs a command with a timeout; `Err` says what went wrong, with its stderr.
async fn run(command: &mut Command, timeout: Duration) -> Result<String, String> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .map_err(|error| format!("cannot start {command:?}: {error}"))?;
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| format!("{command:?} took more than {timeout:?}"))?
        .map_err(|error| format!("{command:?}: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Installs into a fresh directory beside `target`, then renames it into place, so that a
/// half-finished install is never used and concurrent runs do not collide.
async fn install(
    target: &Path,
    ready: impl Fn(&Path) -> bool,
    command: impl Fn(&Path) -> Command,
) -> Result<(), String> {
    if ready(target) {
        return Ok(());
    }
    std::fs::create_dir_all(cache()).map_err(|error| format!("cache dir: {error}"))?;
    let staging = cache().join(format!("staging-{}", unique()));
    std::fs::create_dir_all(&staging).map_err(|error| format!("staging dir: {error}"))?;
    let installed = run(&mut command(&staging), INSTALL_TIMEOUT).await;
    if let Err(error) = installed {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(error);
    }
    if std::fs::rename(&staging, target).is_err() {
        // Another run got there first.
        let _ = std::fs::remove_dir_all(&staging);
    }
    if ready(target) {
        Ok(())
    } else {
        Err(format!(
            "{} is not usable after installing",
            target.display()
        ))
    }
}

/// The script's JSON line, run against the emulator with no proxy.
async fn drive(mut command: Command, emulator: &Emulator, tag: &str) -> Result<Value, String> {
    for proxy in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        command.env_remove(proxy);
    }
    command
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("BASE", emulator.base_url())
        .env("AK", CLIENT_ID)
        .env("SK", SECRET)
        .env("TAG", tag);
    let stdout = run(&mut command, RUN_TIMEOUT).await?;
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).map_err(|error| format!("script output {stdout:?}: {error}"))
}

/// What both SDKs did, checked in the pool through v1.
async fn check_pool(emulator: &Emulator, out: &Value, email: &str, nickname: &str, phone: &str) {
    let ids = |key: &str| -> Vec<String> {
        out[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let batch = ids("batch");
    assert_eq!(batch.len(), 2, "{out}");
    assert_eq!(out["total"], 3, "{out}");
    assert_eq!(out["legacyTotal"], 3, "{out}");
    assert_eq!(out["byId"], email, "{out}");
    let mut read = vec![out["id"].as_str().unwrap_or_default().to_string()];
    read.extend(batch.iter().cloned());
    assert_eq!(ids("batchRead"), read, "{out}");
    assert_eq!(out["exists"], true);
    assert_eq!(out["updated"], "Suspended");
    assert_eq!(out["mfa"], "disabled");
    let pool = read_pool(emulator, false).await;
    let user = pool.user(email);
    assert_eq!(user.id, out["id"].as_str().unwrap_or_default());
    assert_eq!(user.nickname.as_deref(), Some(nickname));
    assert_eq!(user.phone.as_deref(), Some(phone));
    assert!(user.blocked, "Suspended is blocked in v1");
    assert!(user.email_verified);
    assert_eq!(
        pool.users.len(),
        1,
        "the batch users were deleted: {pool:?}"
    );
    let whitelisted: Vec<String> = ids("whitelist");
    assert_eq!(whitelisted.len(), 2, "{out}");
    assert_eq!(
        pool.whitelist,
        whitelisted[1..],
        "one phone was deleted again"
    );
}

#[tokio::test]
async fn authing_node_sdk_4_drives_users_and_whitelist() {
    let target = cache().join("node");
    let modules = target.join("node_modules");
    let ready = |dir: &Path| {
        dir.join("node_modules/authing-node-sdk/package.json")
            .is_file()
    };
    let installed = install(&target, ready, |staging| {
        let mut command = Command::new("npm");
        command
            .arg("install")
            .arg("--no-audit")
            .arg("--no-fund")
            .arg("--ignore-scripts")
            .arg("--prefix")
            .arg(staging)
            .arg(NODE_SDK);
        command
    })
    .await;
    if let Err(reason) = installed {
        return skip(&format!("cannot install {NODE_SDK}: {reason}"));
    }
    let emulator = Emulator::start();
    let tag = unique();
    let mut command = Command::new("node");
    command
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/official_sdks/drive.js"
        ))
        .env("SDK_NODE_MODULES", &modules);
    let out = match drive(command, &emulator, &tag).await {
        Ok(out) => out,
        Err(error) => panic!("{NODE_SDK} against the emulator: {error}"),
    };
    let email = format!("node-{tag}@example.com");
    check_pool(&emulator, &out, &email, "Node", "13500000001").await;
    assert_eq!(
        out["byEmail"], out["id"],
        "email lookup is case-insensitive"
    );
    // The SDK signs every request and never asks for a token.
    let stats = emulator.stats().await;
    assert_eq!(operation_count(&stats, "get-management-token"), 0);
    assert_eq!(operation_count(&stats, "get-user-batch"), 1);
    assert_eq!(operation_count(&stats, "delete-whitelist"), 1);
}

#[tokio::test]
async fn authing_python_sdk_5_drives_users_and_whitelist() {
    let target = cache().join("python");
    let ready = |dir: &Path| {
        dir.join("authing/ManagementClient.py").is_file() && dir.join("websockets").is_dir()
    };
    let installed = install(&target, ready, |staging| {
        let mut command = Command::new("python3");
        command
            .arg("-m")
            .arg("pip")
            .arg("install")
            .arg("--disable-pip-version-check")
            .arg("--no-input")
            .arg("--quiet")
            .arg("--target")
            .arg(staging)
            .args(PYTHON_SDK);
        command
    })
    .await;
    if let Err(reason) = installed {
        return skip(&format!(
            "cannot install {}: {reason}",
            PYTHON_SDK.join(" ")
        ));
    }
    let emulator = Emulator::start();
    let tag = unique();
    let mut command = Command::new("python3");
    command
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/official_sdks/drive.py"
        ))
        .env("SDK_PYTHON_DIR", &target)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = match drive(command, &emulator, &tag).await {
        Ok(out) => out,
        Err(error) => panic!("authing 5.1.0 against the emulator: {error}"),
    };
    let email = format!("py-{tag}@example.com");
    check_pool(&emulator, &out, &email, "Python", "13500000002").await;
    // One management token, cached for every later call.
    let stats = emulator.stats().await;
    assert_eq!(operation_count(&stats, "get-management-token"), 1);
    assert_eq!(operation_count(&stats, "list-users"), 2);
}
