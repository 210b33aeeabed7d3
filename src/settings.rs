//! Resolved settings for commands that connect: the endpoint, where the credentials come from,
//! the public key, rate, concurrency, retries; and the checks on them (no plain HTTP to a remote
//! host, no secret as a flag value).

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("settings error")]
pub struct SettingsError;
