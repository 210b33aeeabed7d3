//! The one line every plan for people states about its MFA reads (issue 16): how many switches
//! were read from the pool, how many came from the cache, and how old the oldest cached one is.
//! The JSON plan carries the same facts as `mfa_states` beside `summary`.

use crate::plan::MfaReads;

/// `MFA states: 300 read, 2700 from the cache (the oldest read 3h 12m ago; --mfa-read-budget 300).`
pub fn line(reads: &MfaReads) -> String {
    let mut line = format!("MFA states: {} read, ", reads.read);
    if reads.from_cache == 0 {
        line.push_str("none from the cache");
    } else {
        line.push_str(&format!("{} from the cache", reads.from_cache));
    }
    let mut notes = Vec::new();
    if let Some(age) = reads.oldest_cached_age_seconds {
        notes.push(format!("the oldest read {} ago", age_text(age)));
    }
    match (reads.refresh, reads.budget) {
        (true, Some(budget)) => notes.push(format!(
            "--refresh: every state read, --mfa-read-budget {budget} not applied"
        )),
        (true, None) => notes.push("--refresh".to_string()),
        (false, Some(budget)) => notes.push(format!("--mfa-read-budget {budget}")),
        (false, None) => {}
    }
    if !notes.is_empty() {
        line.push_str(&format!(" ({})", notes.join("; ")));
    }
    line.push('.');
    line
}

/// `45s`, `12m`, `3h 12m`, `2d 5h`.
fn age_text(seconds: u64) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    match seconds {
        s if s < MINUTE => format!("{s}s"),
        s if s < HOUR => format!("{}m", s / MINUTE),
        s if s < DAY => format!("{}h {}m", s / HOUR, s % HOUR / MINUTE),
        s => format!("{}d {}h", s / DAY, s % DAY / HOUR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_read_cached_age_and_budget() {
        let exact = MfaReads {
            read: 3000,
            ..MfaReads::default()
        };
        assert_eq!(line(&exact), "MFA states: 3000 read, none from the cache.");
        let budgeted = MfaReads {
            read: 300,
            from_cache: 2700,
            oldest_cached_at: Some("2026-11-27T02:00:00Z".into()),
            oldest_cached_age_seconds: Some(3 * 3600 + 12 * 60 + 5),
            budget: Some(300),
            refresh: false,
        };
        assert_eq!(
            line(&budgeted),
            "MFA states: 300 read, 2700 from the cache (the oldest read 3h 12m ago; --mfa-read-budget 300)."
        );
    }

    #[test]
    fn a_refresh_says_the_budget_was_not_applied() {
        let refreshed = MfaReads {
            read: 3000,
            budget: Some(10),
            refresh: true,
            ..MfaReads::default()
        };
        assert_eq!(
            line(&refreshed),
            "MFA states: 3000 read, none from the cache (--refresh: every state read, --mfa-read-budget 10 not applied)."
        );
    }

    #[test]
    fn ages_read_at_a_glance() {
        assert_eq!(age_text(0), "0s");
        assert_eq!(age_text(59), "59s");
        assert_eq!(age_text(60 * 12 + 30), "12m");
        assert_eq!(age_text(86_400 * 2 + 3600 * 5 + 7), "2d 5h");
    }
}
