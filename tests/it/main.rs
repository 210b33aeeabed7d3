//! The integration tests: one binary that runs the real `authing-sync` against the real
//! emulator over HTTP on an ephemeral loopback port. `support` starts both; one module per
//! command or concern.

mod conformance;
mod endpoints;
mod fields;
mod hardening;
mod honest;
mod hygiene;
mod mfa_budget;
mod official_sdks;
mod plan_golden;
mod quirks;
mod remote;
mod renames;
mod resilience;
mod safety;
mod scale;
mod soak;
mod support;
mod sync;
mod terminal;
mod v3;
mod validate;
mod workflows;
