//! The integration tests: one binary. `support` starts the real `authing-sync emulator` and
//! talks GraphQL to it; `conformance` holds the wire-level cases (runnable against a real pool,
//! see `conformance::target`).

mod conformance;
mod support;
