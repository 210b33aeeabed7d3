//! authing-sync: declarative batch sync and provisioning for one Authing user pool.
//!
//! A tour, in the order data flows:
//!
//! - [`manifest`] reads YAML and CSV manifests into a validated [`model::DesiredState`], with
//!   every problem located by file, line and column.
//! - [`remote`] talks to Authing's v1 GraphQL API: owner token, one rate limit, bounded
//!   concurrency, classified retries, and [`remote::fetch`] reads the live pool into a
//!   [`model::LiveState`] with the fewest calls the API allows.
//! - [`diff`] is a pure function from (desired, live, policy) to a typed [`plan::Plan`].
//! - [`render`] turns a plan into human, JSON or Markdown text, and implements the progress
//!   reporters that [`report`] declares.
//! - [`mfa_cache`] bounds the MFA reads of a plan (`--mfa-read-budget`) with a cache of the
//!   switches last read or written, per pool.
//! - [`apply`] carries a plan out in a safe order, behind the deletion guards.
//! - [`emulator`] is an Authing-compatible server for tests and for `--endpoint local`; it knows
//!   the wire protocol and its own store, nothing else of this crate.
//! - [`commands`] wires these together for each subcommand; [`exit`] maps every outcome to the
//!   documented exit codes.
//!
//! Imports point down: `commands → {render, apply, plan, diff, manifest, remote} → model`.

pub mod apply;
pub mod atomic;
pub mod cli;
pub mod commands;
pub mod diff;
pub mod emulator;
pub mod exit;
#[cfg(test)]
mod fuzz;
pub mod manifest;
pub mod mfa_cache;
pub mod model;
pub mod photo;
pub mod plan;
pub mod printer;
pub mod remote;
pub mod render;
pub mod report;
pub mod secret;
pub mod settings;

/// The version, with the git revision it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("AUTHING_SYNC_GIT_REVISION"),
    ")"
);
