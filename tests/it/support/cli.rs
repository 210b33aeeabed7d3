//! Running the real `authing-sync` binary in a temp working directory, connected to a test
//! emulator (endpoint, client id, the secret through `AUTHING_SECRET`, the emulator's public key
//! URL), with `NO_COLOR` set and no terminal.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{CLIENT_ID, Emulator, SECRET};

/// Which API a run speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    V1,
    V3,
}

/// Two tests from one `async fn case(api: Api)`: `name::v1` and `name::v3`.
#[macro_export]
macro_rules! both_apis {
    ($name:ident, $case:ident) => {
        mod $name {
            #[tokio::test]
            async fn v1() {
                super::$case($crate::support::Api::V1).await
            }

            #[tokio::test]
            async fn v3() {
                super::$case($crate::support::Api::V3).await
            }
        }
    };
}

/// What a finished run left.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with the run's output unless it exited with `code`.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// One invocation being built.
#[derive(Debug, Clone)]
pub struct Sync {
    dir: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    connection: Vec<String>,
}

impl Sync {
    /// A command run in `dir`, connected to nothing.
    pub fn new(dir: &Path) -> Sync {
        Sync {
            dir: dir.to_path_buf(),
            args: Vec::new(),
            env: Vec::new(),
            connection: Vec::new(),
        }
    }

    /// A command run in `dir` that talks to `emulator` through `api` (v3: `--api v3` and the
    /// emulator's base URL).
    pub fn on_api(emulator: &Emulator, dir: &Path, api: Api) -> Sync {
        let mut sync = Sync::on(emulator, dir);
        if api == Api::V3 {
            sync.connection[1] = emulator.base_url().into();
            sync.connection.extend(["--api".into(), "v3".into()]);
        }
        sync
    }

    /// A command run in `dir` that talks to `emulator`.
    pub fn on(emulator: &Emulator, dir: &Path) -> Sync {
        let mut sync = Sync::new(dir);
        sync.connection = vec![
            "--endpoint".into(),
            emulator.url().into(),
            "--client-id".into(),
            CLIENT_ID.into(),
            "--public-key".into(),
            format!("{}/__emulator/public-key", emulator.base_url()),
        ];
        sync.env.push(("AUTHING_SECRET".into(), SECRET.into()));
        sync
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Sync {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Sync {
        self.env.retain(|(existing, _)| existing != key);
        self.env.push((key.into(), value.into()));
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_authing-sync"));
        command
            .args(&self.args)
            .args(&self.connection)
            .current_dir(&self.dir)
            .env("NO_COLOR", "1")
            .env_remove("AUTHING_SECRET")
            .env_remove("AUTHING_ENDPOINT")
            .env_remove("AUTHING_API")
            .env_remove("AUTHING_CLIENT_ID")
            .env_remove("AUTHING_PUBLIC_KEY")
            .env_remove("RUST_LOG")
            .env_remove("AUTHING_SYNC_MFA_READ_BUDGET")
            .env_remove("AUTHING_SYNC_CACHE_DIR")
            .stdin(Stdio::null());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    /// Runs to the end.
    pub fn run(&self) -> Run {
        let output = self.command().output().expect("run authing-sync");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs to the end with the command adjusted first (its stdio, say); what was not redirected
    /// is captured.
    pub fn run_with(&self, adjust: impl FnOnce(&mut Command)) -> Run {
        let mut command = self.command();
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        adjust(&mut command);
        let output = command.output().expect("run authing-sync");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `apply <args> --auto-approve`, which must exit 0.
    pub fn apply<I: IntoIterator<Item = S>, S: Into<String>>(&self, args: I) -> Run {
        self.clone()
            .args(["apply"])
            .args(args)
            .args(["--auto-approve"])
            .run()
            .expect(0)
    }

    /// `plan <args> --detailed-exitcode` exits 0 and its output starts `No changes.`: there is
    /// nothing left to do (what every apply must leave behind).
    pub fn assert_no_changes<I: IntoIterator<Item = S>, S: Into<String>>(&self, args: I) -> Run {
        let plan = self
            .clone()
            .args(["plan"])
            .args(args)
            .args(["--detailed-exitcode"])
            .run()
            .expect(0);
        assert!(plan.stdout.starts_with("No changes."), "{}", plan.stdout);
        plan
    }

    /// [`apply`](Self::apply) with `args`, then [`assert_no_changes`](Self::assert_no_changes)
    /// with the same: the apply converged. The apply's run.
    pub fn converge<I: IntoIterator<Item = S>, S: Into<String>>(&self, args: I) -> Run {
        let args: Vec<String> = args.into_iter().map(Into::into).collect();
        let applied = self.apply(args.clone());
        self.assert_no_changes(args);
        applied
    }

    /// Starts without waiting; stdout and stderr are piped.
    pub fn spawn(&self) -> Child {
        self.command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn authing-sync")
    }

    /// Starts as a script starts a job in the background (`cmd &`): with SIGINT ignored.
    pub fn spawn_in_background(&self) -> Child {
        use std::os::unix::process::CommandExt;
        let mut command = self.command();
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        // SAFETY: between fork and exec only the async-signal-safe signal(2) is called.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                Ok(())
            });
        }
        command.spawn().expect("spawn authing-sync")
    }
}

/// Writes a file into `dir` and returns its name (relative to `dir`).
pub fn write_file(dir: &Path, name: &str, text: &str) -> String {
    std::fs::write(dir.join(name), text).expect("write test file");
    name.to_string()
}

/// A YAML manifest declaring generated users `user{i}@example.com` for `users`, each with the
/// nickname `"{nickname} {i}"`.
pub fn renaming_manifest(users: std::ops::RangeInclusive<usize>, nickname: &str) -> String {
    let mut yaml = String::from("version: 1\nusers:\n");
    for i in users {
        yaml.push_str(&format!(
            "  - email: user{i}@example.com\n    nickname: {nickname} {i}\n"
        ));
    }
    yaml
}
