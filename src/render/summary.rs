//! The closing summary of an apply: one line of counts, then each failure and the reasons things
//! were skipped; or, with `--log-format json`, one `apply_finished` event.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{Value, json};

use crate::apply::ApplyReport;
use crate::plan::Action;
use crate::printer::Printer;

use super::escape::visible;

/// Writes the summary the way the printer wants it.
pub fn apply_finished(report: &ApplyReport, printer: &Printer) {
    if !printer.json_events() {
        printer.status(text(report));
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
        "{}: {} created, {} updated, {} deleted, MFA +{} -{}, whitelist +{} -{}{}; {} failed, {} skipped ({:.1}s).",
        if report.is_complete() {
            "Apply complete"
        } else {
            "Apply finished with problems"
        },
        count(Action::Create),
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
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, _, reason) in &report.skipped {
            *reasons.entry(reason.as_str()).or_default() += 1;
        }
        text.push_str("\nSkipped:");
        for (reason, count) in reasons {
            let _ = write!(
                text,
                "\n  - {count} operation{}: {reason}",
                if count == 1 { "" } else { "s" }
            );
        }
    }
    if !report.is_complete() {
        text.push_str(
            "\nRunning the same apply again converges: it plans only what is still missing.",
        );
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
