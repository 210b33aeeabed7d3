//! The Authing v1 GraphQL client: transport, owner token, one rate limit, bounded concurrency,
//! classified retries, password encryption, and the live-state fetch.

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("remote error")]
pub struct RemoteError;
