//! The closing summary of an apply: one line of counts, then each failure and the reasons things
//! were skipped, each with the operations it skipped (operation and user; past
//! [`layout::GROUP_ABOVE`](super::layout::GROUP_ABOVE) of one reason, the first few and how many
//! more); or, with `--log-format json`, one `apply_finished` event.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{Value, json};

use crate::apply::ApplyReport;
use crate::plan::Action;
use crate::printer::Printer;

use super::escape::visible;
use super::layout::Show;

/// Writes the summary the way the printer wants it.
pub fn apply_finished(report: &ApplyReport, printer: &Printer) {
    if !printer.json_events() {
        // Under -q a complete apply says nothing; one with failures or skips still says so.
        if report.is_complete() {
            printer.status(text(report));
        } else {
            printer.problem(text(report));
        }
        return;
    }
    let failures: Vec<Value> = report
        .failures
        .iter()
        .map(|failure| {
            json!({
                "action": failure.action.name(),
                "target": failure.target,
                "code": failure.code,
                "message": failure.message,
            })
        })
        .collect();
    let applied: serde_json::Map<String, Value> = report
        .applied
        .iter()
        .map(|(action, count)| (action.name().to_string(), Value::from(*count)))
        .collect();
    printer.event(
        "apply_finished",
        [
            ("complete", Value::from(report.is_complete())),
            ("applied", Value::Object(applied)),
            ("adopted", Value::from(report.adopted)),
            ("converges", Value::from(report.converges())),
            ("failed", Value::from(report.failures.len())),
            ("skipped", Value::from(report.skipped.len())),
            ("interrupted", Value::from(report.interrupted)),
            ("unreachable", Value::from(report.unreachable)),
            ("failures", Value::from(failures)),
            ("hints", Value::from(hints(report))),
            ("elapsed_ms", Value::from(report.elapsed.as_millis() as u64)),
        ],
    );
}

/// The summary as text: a line of counts, then each failure and the reasons for skipping.
pub fn text(report: &ApplyReport) -> String {
    let count = |action| report.applied.get(&action).copied().unwrap_or(0);
    let mut text = format!(
        "{}: {} created{}, {} updated, {} deleted, MFA +{} -{}, whitelist +{} -{}{}; {} failed, {} skipped ({:.1}s).",
        if report.is_complete() {
            "Apply complete"
        } else {
            "Apply finished with problems"
        },
        count(Action::Create),
        if report.adopted > 0 {
            format!(", {} adopted (found already there)", report.adopted)
        } else {
            String::new()
        },
        count(Action::Update),
        count(Action::Delete),
        count(Action::MfaEnable),
        count(Action::MfaDisable),
        count(Action::WhitelistAdd),
        count(Action::WhitelistRemove),
        match report.switched {
            Some(true) => ", whitelist switch turned on",
            Some(false) => ", whitelist switch turned off",
            None => "",
        },
        report.failures.len(),
        report.skipped.len(),
        report.elapsed.as_secs_f64(),
    );
    if !report.failures.is_empty() {
        text.push_str("\nFailed:");
        for failure in &report.failures {
            let _ = write!(
                text,
                "\n  - {} {}: {}",
                failure.action.name(),
                visible(&failure.target),
                visible(&failure.message)
            );
        }
    }
    if !report.skipped.is_empty() {
        // Per reason, the operations in the order they were skipped: each named (operation and
        // user) up to the plan's grouping limit, then how many more.
        let mut reasons: BTreeMap<&str, Vec<(Action, &str)>> = BTreeMap::new();
        for (action, target, reason) in &report.skipped {
            reasons
                .entry(reason.as_str())
                .or_default()
                .push((*action, target.as_str()));
        }
        text.push_str("\nSkipped:");
        for (reason, operations) in reasons {
            let count = operations.len();
            let _ = write!(
                text,
                "\n  - {count} operation{}: {}",
                if count == 1 { "" } else { "s" },
                visible(reason)
            );
            let listed = Show::Auto.listed(count);
            for (action, target) in &operations[..listed] {
                let _ = write!(text, "\n      {} {}", action.name(), visible(target));
            }
            if count > listed {
                let _ = write!(text, "\n      ... and {} more", count - listed);
            }
        }
    }
    if !report.is_complete() {
        let repeats = report
            .failures
            .iter()
            .filter(|failure| failure.repeats)
            .count();
        if repeats == 0 {
            text.push_str(
                "\nRunning the same apply again converges: it plans only what is still missing.",
            );
        } else {
            let _ = write!(
                text,
                "\nRunning the same apply again will not fix {repeats} of the failures: Authing refused them as they are (see above). Change the manifests or the pool first; the rest converges on the next run."
            );
        }
    }
    for hint in hints(report) {
        let _ = write!(text, "\n\nhint: {hint}");
    }
    text
}

/// Advice for failures whose cause is one setting rather than each operation.
pub fn hints(report: &ApplyReport) -> Vec<String> {
    let mut hints = Vec::new();
    let undecryptable = report
        .failures
        .iter()
        .filter(|failure| failure.code == Some(DECRYPT_FAILED))
        .count();
    if undecryptable > 0 {
        hints.push(format!(
            "Authing could not decrypt {} (error {DECRYPT_FAILED}): passwords are encrypted with the key of --public-key (or AUTHING_PUBLIC_KEY, else Authing's published key), and it is not the one this pool decrypts with; check --public-key",
            if undecryptable == 1 {
                "1 password".to_string()
            } else {
                format!("{undecryptable} passwords")
            }
        ));
    }
    hints
}

/// Authing's "error decrypting the client's password".
const DECRYPT_FAILED: i64 = 2016;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_operations_are_named_up_to_the_grouping_limit() {
        let mut report = ApplyReport::default();
        for at in 0..150 {
            report.skipped.push((
                Action::Delete,
                format!("user{at}@example.com"),
                "an earlier operation failed: nothing is deleted".to_string(),
            ));
        }
        report.skipped.push((
            Action::MfaEnable,
            "new\u{202e}@example.com".to_string(),
            "the user was not created".to_string(),
        ));
        let text = text(&report);
        assert!(
            text.contains("  - 150 operations: an earlier operation failed: nothing is deleted\n      delete user0@example.com\n"),
            "{text}"
        );
        assert!(
            text.contains("      delete user4@example.com\n      ... and 145 more"),
            "{text}"
        );
        assert!(!text.contains("user5@"), "{text}");
        assert!(
            text.contains("  - 1 operation: the user was not created\n      mfa_enable new\\u{202e}@example.com"),
            "{text}"
        );
    }
}
