//! Test-only: how long the property-based fuzzers run. 256 cases per property by default (what
//! CI runs), `AUTHING_SYNC_FUZZ_CASES` for a longer run.

use proptest::prelude::ProptestConfig;

pub(crate) fn config() -> ProptestConfig {
    let cases = std::env::var("AUTHING_SYNC_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
