//! Resolved settings for the commands that connect: which endpoint (a URL, or `local` for the
//! embedded emulator), the credentials and where the secret comes from, the public key for
//! passwords, and the throughput settings. The checks live here: no plain HTTP to a host that is
//! not loopback unless asked, and a secret only from a file or the environment, never a flag.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use miette::Diagnostic;

use crate::cli::{ApiArg, ConnectionArgs};
use crate::remote::Api;
use crate::secret::{Secret, url_without_credentials};

/// The environment variable that holds the pool secret.
pub const SECRET_ENV: &str = "AUTHING_SECRET";

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// The embedded emulator, its pool in `.authing-sync/local-pool.json`.
    Local,
    Remote(reqwest::Url),
}

/// Where the password-encryption key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKeySource {
    /// Authing's published key (or, with `local`, the embedded emulator's).
    Default,
    Pem(String),
    Url(reqwest::Url),
}

/// Everything a connecting command needs, checked.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Which API to speak.
    pub api: Api,
    pub endpoint: Endpoint,
    /// `None` only for the local endpoint.
    pub credentials: Option<Credentials>,
    pub public_key: PublicKeySource,
    pub rate: NonZeroU32,
    pub concurrency: usize,
    pub retries: u32,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub secret: Secret,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum SettingsError {
    #[error("`{value}` is not a valid endpoint URL: {reason}")]
    #[diagnostic(
        code(settings::endpoint),
        help("an endpoint looks like https://users.authing.cn/graphql, or is the word `local`")
    )]
    InvalidEndpoint { value: String, reason: String },

    #[error(
        "refusing plain http:// to {host}, which is not a loopback address: the secret and tokens would travel unencrypted"
    )]
    #[diagnostic(
        code(settings::insecure),
        help("use https://, or pass --allow-insecure-http if you really mean it")
    )]
    Insecure { host: String },

    #[error("no user pool id given")]
    #[diagnostic(
        code(settings::client_id),
        help(
            "pass --client-id or set AUTHING_CLIENT_ID; it is the user pool id shown in the Authing console"
        )
    )]
    MissingClientId,

    #[error("no pool secret given")]
    #[diagnostic(
        code(settings::secret),
        help(
            "set AUTHING_SECRET or pass --secret-file PATH; the secret is in the Authing console under the user pool's basic settings. It is never accepted as a flag value, where it would land in shell history and `ps`"
        )
    )]
    MissingSecret,

    #[error("failed to read the secret file {}", path.display())]
    #[diagnostic(code(settings::secret))]
    SecretFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{value}` looks like {looks_like}, but --api {api} was asked for: nothing was sent")]
    #[diagnostic(code(settings::api_endpoint), help("{advice}"))]
    WrongApiEndpoint {
        value: String,
        looks_like: &'static str,
        api: Api,
        advice: &'static str,
    },

    #[error(
        "`{value}` ends in the v3 API's own path: --api v3 takes the base URL that /api/v3/... is appended to; nothing was sent"
    )]
    #[diagnostic(
        code(settings::api_endpoint),
        help(
            "pass the base URL without /api/v3: https://api.authing.cn, or your private deployment's host"
        )
    )]
    V3Path { value: String },

    #[error("the pool secret from {origin} is empty")]
    #[diagnostic(code(settings::secret))]
    EmptySecret { origin: String },

    #[error("invalid {flag}: {reason}")]
    #[diagnostic(code(settings::flag))]
    InvalidFlag { flag: &'static str, reason: String },

    #[error("invalid {var}={value:?} in the environment: {reason}")]
    #[diagnostic(
        code(settings::env),
        help("fix or unset {var}, or pass {flag}, which takes precedence")
    )]
    InvalidEnv {
        var: &'static str,
        flag: &'static str,
        value: String,
        reason: String,
    },

    #[error("failed to read the public key {origin}: {reason}")]
    #[diagnostic(
        code(settings::public_key),
        help("--public-key takes a PEM file, PEM text, or an http(s) URL that serves one")
    )]
    PublicKey { origin: String, reason: String },
}

impl Connection {
    /// Checks and resolves the connection flags. The secret is read here, from `--secret-file`
    /// or `AUTHING_SECRET`.
    pub fn resolve(args: &ConnectionArgs) -> Result<Connection, SettingsError> {
        let api = Api::from(args.api.unwrap_or_default());
        let endpoint = parse_endpoint(
            args.endpoint
                .as_deref()
                .unwrap_or_else(|| api.default_endpoint()),
            args.allow_insecure_http,
        )?;
        if let Endpoint::Remote(url) = &endpoint {
            check_api_endpoint(api, url)?;
        }
        let credentials = match endpoint {
            Endpoint::Local => None,
            Endpoint::Remote(_) => Some(Credentials {
                client_id: args
                    .client_id
                    .as_deref()
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .ok_or(SettingsError::MissingClientId)?
                    .to_string(),
                secret: read_secret(args.secret_file.as_ref())?,
            }),
        };
        let public_key = match args
            .public_key
            .as_deref()
            .map(str::trim)
            .filter(|key| !key.is_empty())
        {
            None => PublicKeySource::Default,
            Some(pem) if pem.contains("-----BEGIN") => PublicKeySource::Pem(pem.to_string()),
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                match parse_endpoint(url, args.allow_insecure_http)? {
                    Endpoint::Remote(url) => PublicKeySource::Url(url),
                    Endpoint::Local => PublicKeySource::Default,
                }
            }
            Some(path) => PublicKeySource::Pem(std::fs::read_to_string(path).map_err(|err| {
                SettingsError::PublicKey {
                    origin: path.to_string(),
                    reason: err.to_string(),
                }
            })?),
        };
        Ok(Connection {
            api,
            endpoint,
            credentials,
            public_key,
            rate: NonZeroU32::new(args.rate).unwrap_or(NonZeroU32::MIN),
            concurrency: args.concurrency.max(1) as usize,
            retries: args.retries,
            timeout: Duration::from_secs(args.timeout),
        })
    }
}

impl From<ApiArg> for Api {
    fn from(arg: ApiArg) -> Api {
        match arg {
            ApiArg::V1 => Api::V1,
            ApiArg::V3 => Api::V3,
        }
    }
}

/// `local`, or an http(s) URL that passes the transport-security rule.
pub fn parse_endpoint(value: &str, allow_insecure_http: bool) -> Result<Endpoint, SettingsError> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("local") {
        return Ok(Endpoint::Local);
    }
    // The value is echoed without what it may hold before an `@`: a password in an endpoint URL
    // must not reach a terminal or a log, not even in the error that refuses it.
    let invalid = |reason: &str| SettingsError::InvalidEndpoint {
        value: url_without_credentials(value),
        reason: reason.to_string(),
    };
    let url = reqwest::Url::parse(value).map_err(|err| invalid(&err.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "credentials do not belong in the URL; the pool secret comes from AUTHING_SECRET or --secret-file",
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| invalid("it has no host"))?
        .to_string();
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&host) => {}
        "http" => return Err(SettingsError::Insecure { host }),
        other => {
            return Err(invalid(&format!(
                "the scheme `{other}` is not http or https"
            )));
        }
    }
    Ok(Endpoint::Remote(url))
}

/// Refuses an endpoint that is plainly the other API's, before anything is sent to it (the
/// secret included): a v1 GraphQL URL (`…/graphql`, `…/graphql/v2`) given to `--api v3`, whose
/// `/api/v3/...` paths would be appended to it, or a v3 URL (`…/api/v3…`, or Authing's v3 host
/// `api.authing.cn`) given to `--api v1`. A bare host for v1 is not refused (a private
/// deployment may serve GraphQL there); its failure's hint names v3 instead.
pub fn check_api_endpoint(api: Api, url: &reqwest::Url) -> Result<(), SettingsError> {
    let path = url.path().trim_end_matches('/').to_ascii_lowercase();
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let refused = |looks_like, advice| SettingsError::WrongApiEndpoint {
        value: crate::secret::endpoint_without_secrets(url.as_str()),
        looks_like,
        api,
        advice,
    };
    match api {
        Api::V3 if path.ends_with("/graphql") || path.ends_with("/graphql/v2") => Err(refused(
            "a v1 GraphQL endpoint",
            "for the v1 API, pass --api v1 (or leave --api out) with this URL; for v3, pass the base URL that /api/v3/... is appended to, without /graphql: https://api.authing.cn, or your private deployment's host",
        )),
        Api::V3 if path.ends_with("/api/v3") || path.contains("/api/v3/") => {
            Err(SettingsError::V3Path {
                value: crate::secret::endpoint_without_secrets(url.as_str()),
            })
        }
        Api::V1
            if path.contains("/api/v3")
                || (host == "api.authing.cn" && !path.contains("graphql")) =>
        {
            Err(refused(
                "a v3 management API URL",
                "for the v3 API, pass --api v3 with the base URL (https://api.authing.cn, without /api/v3); for v1, pass the users GraphQL URL: https://users.authing.cn/graphql, or your private deployment's URL ending in /graphql",
            ))
        }
        _ => Ok(()),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn read_secret(file: Option<&PathBuf>) -> Result<Secret, SettingsError> {
    let (secret, origin) = match file {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|source| SettingsError::SecretFile {
                    path: path.clone(),
                    source,
                })?;
            (text, path.display().to_string())
        }
        None => match std::env::var(SECRET_ENV) {
            Ok(text) => (text, SECRET_ENV.to_string()),
            Err(_) => return Err(SettingsError::MissingSecret),
        },
    };
    let secret = Secret::new(secret.trim());
    if secret.is_empty() {
        return Err(SettingsError::EmptySecret { origin });
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_allowed_only_to_loopback_unless_forced() {
        assert!(matches!(
            parse_endpoint("http://127.0.0.1:4000/graphql", false),
            Ok(Endpoint::Remote(_))
        ));
        assert!(matches!(
            parse_endpoint("http://[::1]:4000/graphql", false),
            Ok(Endpoint::Remote(_))
        ));
        assert!(matches!(
            parse_endpoint("http://localhost/graphql", false),
            Ok(Endpoint::Remote(_))
        ));
        assert!(matches!(
            parse_endpoint("http://users.authing.cn/graphql", false),
            Err(SettingsError::Insecure { .. })
        ));
        assert!(matches!(
            parse_endpoint("http://10.0.0.5/graphql", false),
            Err(SettingsError::Insecure { .. })
        ));
        assert!(matches!(
            parse_endpoint("http://users.authing.cn/graphql", true),
            Ok(Endpoint::Remote(_))
        ));
        assert!(matches!(
            parse_endpoint("https://users.authing.cn/graphql", false),
            Ok(Endpoint::Remote(_))
        ));
        assert_eq!(parse_endpoint("LOCAL", false).unwrap(), Endpoint::Local);
        assert!(matches!(
            parse_endpoint("ftp://x/graphql", false),
            Err(SettingsError::InvalidEndpoint { .. })
        ));
        assert!(matches!(
            parse_endpoint("https://user:pw@x/graphql", false),
            Err(SettingsError::InvalidEndpoint { .. })
        ));
    }

    #[test]
    fn credentials_in_an_endpoint_are_never_echoed() {
        for url in [
            "https://user:s3cret-pw@x.example/graphql",
            "http://user:s3cret-pw@10.0.0.5/graphql",
            "https://user:s3cret-pw@x.example:bad/graphql",
            "https://s3cret-pw@x.example",
        ] {
            let err = parse_endpoint(url, false).expect_err(url);
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("s3cret-pw"), "{shown}");
            assert!(
                shown.contains("***@x.example") || shown.contains("***@10.0.0.5"),
                "{shown}"
            );
        }
        assert_eq!(
            url_without_credentials("https://a:b@h/p?q=x@y"),
            "https://***@h/p?q=x@y"
        );
        assert_eq!(url_without_credentials("not a url"), "not a url");
    }
}

/// The environment variable `--mfa-read-budget` falls back to.
pub const MFA_READ_BUDGET_ENV: &str = "AUTHING_SYNC_MFA_READ_BUDGET";
/// The environment variable `--cache-dir` falls back to.
pub const CACHE_DIR_ENV: &str = "AUTHING_SYNC_CACHE_DIR";

/// Fills the MFA read flags not given from `AUTHING_SYNC_MFA_READ_BUDGET` and
/// `AUTHING_SYNC_CACHE_DIR`. An empty variable is unset; anything else that is not a
/// non-negative whole number is an error naming the variable (a cron job must not silently go
/// exact or budgeted), whether or not a manifest manages MFA.
pub fn mfa_from_env(args: &mut crate::cli::MfaReadArgs) -> Result<(), SettingsError> {
    if args.mfa_read_budget.is_none() {
        args.mfa_read_budget = budget_from(std::env::var_os(MFA_READ_BUDGET_ENV))?;
    }
    if args.cache_dir.is_none() {
        args.cache_dir = std::env::var_os(CACHE_DIR_ENV)
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from);
    }
    Ok(())
}

fn budget_from(value: Option<std::ffi::OsString>) -> Result<Option<u64>, SettingsError> {
    let Some(value) = value.filter(|value| !value.is_empty()) else {
        return Ok(None);
    };
    let invalid = |reason: String| SettingsError::InvalidEnv {
        var: MFA_READ_BUDGET_ENV,
        flag: "--mfa-read-budget",
        value: value.to_string_lossy().into_owned(),
        reason,
    };
    let text = value
        .to_str()
        .ok_or_else(|| invalid("it is not UTF-8".into()))?;
    text.trim().parse::<u64>().map(Some).map_err(|err| {
        invalid(format!(
            "a budget is a whole number of reads, 0 or more ({err})"
        ))
    })
}

#[cfg(test)]
mod mfa_env_tests {
    use super::*;

    #[test]
    fn a_bad_budget_in_the_environment_names_the_variable_and_empty_is_unset() {
        assert_eq!(budget_from(None).ok(), Some(None));
        assert_eq!(budget_from(Some("".into())).ok(), Some(None));
        assert_eq!(budget_from(Some("300".into())).ok(), Some(Some(300)));
        for bad in ["-1", "abc", "1.5"] {
            let err = budget_from(Some(bad.into())).unwrap_err().to_string();
            assert!(err.contains("AUTHING_SYNC_MFA_READ_BUDGET"), "{err}");
            assert!(err.contains(bad), "{err}");
            assert!(!err.starts_with("invalid --"), "{err}");
        }
    }
}
