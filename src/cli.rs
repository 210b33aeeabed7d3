//! The command line as clap types: raw flags and their help, no I/O. `settings` turns these into
//! resolved settings; `commands` runs them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::render::Show;

/// Which Authing API to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ApiArg {
    /// The users GraphQL API of the API page
    #[default]
    V1,
    /// Authing's current management REST API (/api/v3/...)
    V3,
}

#[derive(Debug, Parser)]
#[command(
    name = "authing-sync",
    version = crate::VERSION,
    about = "Declarative batch sync and provisioning for an Authing user pool",
    long_about = "Declarative batch sync and provisioning for an Authing user pool.\n\n\
        Manifests (YAML or CSV) declare the users, the phone-registration whitelist and the MFA \
        flags a pool should have; `plan` shows what would change and `apply` carries it out.\n\n\
        Exit codes: 0 success (with --detailed-exitcode: no changes), 1 error, 2 changes present \
        (plan --detailed-exitcode), 3 refused by a safety guard or a stale saved plan (nothing \
        written), 4 apply finished with some operations failed.",
    after_help = "Start here, with no account: authing-sync apply -f manifests/example.yaml --endpoint local --auto-approve"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// How log lines and events on stderr are written: `text` for people, `json` for one
    /// JSON object per line (cron logs)
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "AUTHING_SYNC_LOG_FORMAT")]
    pub log_format: LogFormat,

    /// When to colour output (`NO_COLOR` in the environment always turns colour off)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Print only errors, data and warnings about the run: no progress, status lines or manifest
    /// warnings
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests offline; sends nothing
    #[command(
        after_help = "Example:\n  authing-sync validate -f manifests/\n  authing-sync validate -f users.yaml -f hr-export.csv"
    )]
    Validate(ValidateArgs),

    /// Show what apply would change in the pool
    #[command(
        after_help = "Examples:\n  authing-sync plan -f manifests/ --endpoint local\n  \
        authing-sync plan -f manifests/ --format markdown --mask-pii --detailed-exitcode\n  \
        authing-sync plan -f manifests/ --out plan.json"
    )]
    Plan(PlanArgs),

    /// Plan, confirm and carry out the changes
    #[command(
        after_help = "Examples:\n  authing-sync apply -f manifests/ --endpoint local --auto-approve\n  \
        authing-sync apply -f hr.csv --prune --max-deletes 2% --auto-approve --log-format json\n  \
        authing-sync apply --plan plan.json --auto-approve"
    )]
    Apply(ApplyArgs),

    /// Write the live pool as a manifest
    #[command(
        after_help = "Examples:\n  authing-sync export --endpoint local --format yaml --out pool.yaml --with-mfa --with-whitelist\n  \
        authing-sync export --format csv > users.csv"
    )]
    Export(ExportArgs),

    /// Run the local Authing-compatible GraphQL server
    #[command(
        after_help = "Examples:\n  authing-sync emulator --listen 127.0.0.1:4000 --generate 10000\n  \
        authing-sync emulator --listen 127.0.0.1:0 --state pool.json --fault-rate 0.2 --fault-seed 7"
    )]
    Emulator(EmulatorArgs),

    /// Print shell completions for bash, zsh, fish, elvish or powershell
    #[command(
        after_help = "Example:\n  authing-sync completions bash > /etc/bash_completion.d/authing-sync"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff)
    #[command(after_help = "Example:\n  authing-sync man > authing-sync.1 && man ./authing-sync.1")]
    Man,
}

#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// Manifest files (.yaml, .yml, .csv) or directories (their .yaml, .yml and .csv files, in
    /// sorted order, not recursive); repeatable, all together form one desired state
    #[arg(short = 'f', long = "file", value_name = "PATH", required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub manifests: ManifestArgs,

    /// Also check that the manifests ask for nothing this API cannot do (v3: no whitelist
    /// switch, gender only M, F or U)
    #[arg(long, env = "AUTHING_API", value_enum, value_name = "v1|v3")]
    pub api: Option<ApiArg>,
}

#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Which Authing API to speak: v1 (the users GraphQL API) or v3 (the management REST API);
    /// the same manifests, plans, guards and exit codes serve both [default: v1; for
    /// `apply --plan`, the plan's]
    #[arg(long, env = "AUTHING_API", value_enum, value_name = "v1|v3")]
    pub api: Option<ApiArg>,

    /// v1: the users GraphQL endpoint (default https://users.authing.cn/graphql); v3: the base
    /// URL /api/v3/... is appended to (default https://api.authing.cn); `local` runs the
    /// embedded emulator with its pool in .authing-sync/local-pool.json. `apply --plan` uses
    /// the plan's endpoint, API and pool id unless given, and refuses others
    #[arg(
        long,
        env = "AUTHING_ENDPOINT",
        value_name = "URL",
        hide_env_values = true
    )]
    pub endpoint: Option<String>,

    /// The user pool id (required except with `--endpoint local`)
    #[arg(long, env = "AUTHING_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,

    /// A file holding the pool secret; otherwise the secret is read from `AUTHING_SECRET`.
    /// The secret itself is never accepted as a flag value
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,

    /// The RSA public key passwords are encrypted with: a PEM file, PEM text, or an http(s) URL
    /// that serves one (default: Authing's published key)
    #[arg(long, env = "AUTHING_PUBLIC_KEY", value_name = "PATH|URL")]
    pub public_key: Option<String>,

    /// Requests per second, every request counted (reads, writes, auth, retries)
    #[arg(long, env = "AUTHING_SYNC_RATE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: u32,

    /// Requests in flight at once
    #[arg(long, env = "AUTHING_SYNC_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,

    /// Retries of one request on a transient failure
    #[arg(long, default_value_t = 5)]
    pub retries: u32,

    /// Seconds before one request times out
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// Allow plain http:// to a host that is not loopback (tokens and the secret would travel
    /// unencrypted)
    #[arg(long)]
    pub allow_insecure_http: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub manifests: ManifestArgs,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Output format of the plan on stdout
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,

    /// Save the plan (versioned JSON, no secrets) for `apply --plan`
    #[arg(long, value_name = "PLAN")]
    pub out: Option<PathBuf>,

    /// How many changes of each kind to list in full: `all`, or a number. By default a kind with
    /// more than 100 changes lists its first 5 and counts the rest per field, with a sample.
    /// Deletions are always listed in full up to the deletion limit (human and Markdown plans)
    #[arg(long, value_name = "all|N")]
    pub show: Option<Show>,

    /// Exit 0 when there are no changes, 2 when there are, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Show emails and phones masked (a***@example.com, 138****0000)
    #[arg(long)]
    pub mask_pii: bool,

    /// Plan deletions of live users that no manifest declares (as `prune.enabled: true`)
    #[arg(long)]
    pub prune: bool,

    /// The deletion limit apply will enforce (N or N% of the live pool; default: the manifests'
    /// prune.max_deletes, else 10): the plan warns when it is exceeded, and a saved plan keeps it
    #[arg(long, value_name = "N|N%")]
    pub max_deletes: Option<String>,

    #[command(flatten)]
    pub mfa: MfaReadArgs,
}

/// How many MFA switches a plan reads (one API call each): issue 16, `mfa_cache`.
#[derive(Debug, Clone, Args)]
pub struct MfaReadArgs {
    /// Read at most N of the MFA switches already in the cache, oldest first; those never seen
    /// and those the plan would change are read whatever N. The rest come from the cache, so an
    /// MFA change made outside authing-sync is found within (users / N) runs. Default: every
    /// managed switch is read. [env: AUTHING_SYNC_MFA_READ_BUDGET; empty is unset]
    #[arg(long, value_name = "N")]
    pub mfa_read_budget: Option<u64>,

    /// Read every managed MFA switch, whatever the budget, and renew the cache
    #[arg(long)]
    pub refresh: bool,

    /// Where the MFA cache is kept (one file per pool, endpoint and API; user ids and switches
    /// only). [env: AUTHING_SYNC_CACHE_DIR; empty is unset] [default: .authing-sync/cache]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// The cache directory when neither `--cache-dir` nor `AUTHING_SYNC_CACHE_DIR` names one.
pub const DEFAULT_CACHE_DIR: &str = ".authing-sync/cache";

impl MfaReadArgs {
    /// The cache directory: the flag, else (once `settings::mfa_from_env` ran) the environment,
    /// else the default.
    pub fn cache_dir(&self) -> &std::path::Path {
        self.cache_dir
            .as_deref()
            .unwrap_or(std::path::Path::new(DEFAULT_CACHE_DIR))
    }
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Manifest files or directories (their .yaml, .yml and .csv files, not recursive); not with
    /// --plan
    #[arg(
        short = 'f',
        long = "file",
        value_name = "PATH",
        conflicts_with = "plan",
        required_unless_present = "plan"
    )]
    pub files: Vec<PathBuf>,

    /// Apply exactly a plan saved by `plan --out`; refused if what it touches has changed since
    #[arg(long, value_name = "PLAN")]
    pub plan: Option<PathBuf>,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Do not ask for confirmation (cron, CI)
    #[arg(long)]
    pub auto_approve: bool,

    /// How many changes of each kind to list in full: `all`, or a number. By default a kind with
    /// more than 100 changes lists its first 5 and counts the rest per field, with a sample.
    /// Deletions are always listed in full up to the deletion limit
    #[arg(long, value_name = "all|N")]
    pub show: Option<Show>,

    /// Delete live users that no manifest declares (as `prune.enabled: true`)
    #[arg(long, conflicts_with = "plan")]
    pub prune: bool,

    /// Refuse the whole apply when deletions exceed N, or N% of the live pool (default: 10)
    #[arg(long, value_name = "N|N%")]
    pub max_deletes: Option<String>,

    /// After creating a user without a manifest password, send the reset-password email
    #[arg(long)]
    pub send_reset_email: bool,

    #[command(flatten)]
    pub mfa: MfaReadArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Yaml,
    Csv,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Manifest format
    #[arg(long, value_enum, default_value_t = ExportFormat::Yaml)]
    pub format: ExportFormat,

    /// Write to this file instead of stdout
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// Include each user's MFA flag (one queryMFA call per user)
    #[arg(long)]
    pub with_mfa: bool,

    /// Include the phone-registration whitelist and its switch
    #[arg(long)]
    pub with_whitelist: bool,

    /// Include each user's Authing id (`id:`), so that a later change of the key (email or
    /// username) keeps the user
    #[arg(long)]
    pub with_ids: bool,

    /// Key the exported users by email or username
    #[arg(long, value_enum, default_value_t = MatchOnArg::Email)]
    pub match_on: MatchOnArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatchOnArg {
    Email,
    Username,
}

impl From<MatchOnArg> for crate::model::MatchOn {
    fn from(value: MatchOnArg) -> Self {
        match value {
            MatchOnArg::Email => crate::model::MatchOn::Email,
            MatchOnArg::Username => crate::model::MatchOn::Username,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct EmulatorArgs {
    /// Address to listen on; port 0 picks a free port (the address is printed)
    #[arg(long, default_value = "127.0.0.1:4000", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// The user pool id the emulator serves
    #[arg(long, env = "AUTHING_EMULATOR_CLIENT_ID", default_value = crate::emulator::DEFAULT_CLIENT_ID)]
    pub client_id: String,

    /// The pool secret the emulator expects
    #[arg(long, env = "AUTHING_EMULATOR_SECRET", default_value = crate::emulator::DEFAULT_SECRET, hide_default_value = true, hide_env_values = true)]
    pub secret: String,

    /// Keep the pool in this file across restarts (written atomically)
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Start with N synthetic users (user{i}@example.com, ...) when the state is empty
    #[arg(long, value_name = "N")]
    pub generate: Option<u64>,

    /// Start with N synthetic whitelist phones (19900000001, ...) when the state is empty
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(..=crate::emulator::MAX_GENERATED_PHONES))]
    pub generate_phones: Option<u64>,

    /// Delay every response by this many milliseconds
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,

    /// Fraction (0 to 1) of requests answered with an injected fault: HTTP 500/502/503, 429 with
    /// Retry-After, or a dropped connection
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub fault_rate: f64,

    /// Seed of the fault sequence, so a run can be repeated
    #[arg(long, default_value_t = 0, value_name = "SEED")]
    pub fault_seed: u64,

    /// Answer 429 with Retry-After past N requests in one second
    #[arg(long, value_name = "N")]
    pub rate_limit: Option<u32>,

    /// Print one line per request on stderr (operation names and status; never arguments)
    #[arg(long)]
    pub log_requests: bool,

    /// Lifetime of owner tokens (v1) and management tokens (v3) in seconds; 86400 and 7200
    /// unless given (short values let clients' re-authentication be tested)
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub token_ttl: Option<u64>,

    /// Authing's frequent-registration limit: at most N `register` calls per client address in
    /// the register window, then error 2100 (off by default; `createUser` is not limited)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub register_limit: Option<u32>,

    /// Length of the `--register-limit` window in seconds
    #[arg(long, default_value_t = crate::emulator::DEFAULT_REGISTER_WINDOW_SECS, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub register_window: u64,

    /// Pretend to be an older server whose schema has no `createUser`
    #[arg(long)]
    pub without_create_user: bool,

    /// Whitelist names the server knows: 2020 (`phone`, `enablePhone`, and the 2019 names) or
    /// 2019 (only `qrCodePhone`, `enableQrCode`; validation errors wrapped as `{code, message}`)
    #[arg(long, value_enum, default_value_t = WhitelistSpellingArg::Y2020, value_name = "YEAR")]
    pub whitelist_spelling: WhitelistSpellingArg,
}

/// `--whitelist-spelling`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WhitelistSpellingArg {
    #[value(name = "2020")]
    Y2020,
    #[value(name = "2019")]
    Y2019,
}

impl From<WhitelistSpellingArg> for crate::emulator::WhitelistSpelling {
    fn from(value: WhitelistSpellingArg) -> Self {
        match value {
            WhitelistSpellingArg::Y2020 => crate::emulator::WhitelistSpelling::Y2020,
            WhitelistSpellingArg::Y2019 => crate::emulator::WhitelistSpelling::Y2019,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every argument of every command, with the path of commands it belongs to.
    fn all_args(command: &clap::Command, path: &str, into: &mut Vec<(String, clap::Arg)>) {
        for arg in command.get_arguments() {
            into.push((path.to_string(), arg.clone()));
        }
        for sub in command.get_subcommands() {
            all_args(sub, &format!("{path} {}", sub.get_name()), into);
        }
    }

    #[test]
    fn help_never_shows_the_value_of_a_secret_bearing_variable() {
        let mut args = Vec::new();
        all_args(&Cli::command(), "authing-sync", &mut args);
        let mut checked = 0;
        for (path, arg) in &args {
            let Some(env) = arg.get_env() else { continue };
            let name = env.to_string_lossy().to_ascii_uppercase();
            // A secret, a token, a password, or an endpoint URL (which may carry credentials).
            if ["SECRET", "TOKEN", "PASSWORD", "ENDPOINT"]
                .iter()
                .any(|word| name.contains(word))
            {
                checked += 1;
                assert!(
                    arg.is_hide_env_values_set(),
                    "{path} --{}: `{name}` would show its value in --help",
                    arg.get_id()
                );
            }
        }
        assert!(
            checked >= 2,
            "the emulator secret and the endpoint are checked"
        );
    }
}
