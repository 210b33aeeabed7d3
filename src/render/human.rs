//! The plan for people, in Terraform's manner: one block per change with `+` create, `~` update,
//! `-` delete, deletions first, the summary line last, and what the plan cost. Colour only when
//! the printer allows it; the text reads the same without. Long values are diffed with
//! `similar` so the changed part of a long URL stands out. Values are quoted with their
//! unprintable characters escaped, and so is every other line a value can reach.

use std::fmt::Write;
use std::time::Duration;

use similar::{ChangeTag, TextDiff};

use crate::model::{Field, FieldValue, MatchOn};
use crate::plan::{Change, MfaTarget, Notice, Plan, Summary};
use crate::secret::REDACTED;

use super::escape::visible;
use super::mask::Masker;
use super::style::Style;

/// Values longer than this are shown on two lines and diffed.
const LONG_VALUE: usize = 40;

/// What reading the pool cost.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanCost {
    pub requests: u64,
    pub retries: u64,
    pub users: usize,
    pub elapsed: Duration,
}

#[derive(Debug, Clone)]
pub struct HumanOptions {
    pub style: Style,
    pub masker: Masker,
    pub cost: Option<PlanCost>,
    /// Warnings from outside the plan (a deletion guard that apply would trip, ...).
    pub warnings: Vec<String>,
}

impl Default for HumanOptions {
    fn default() -> Self {
        Self {
            style: Style::plain(),
            masker: Masker::off(),
            cost: None,
            warnings: Vec::new(),
        }
    }
}

/// The whole plan as text.
pub fn render(plan: &Plan, options: &HumanOptions) -> String {
    let mut out = String::new();
    let style = options.style;
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "{} The pool matches the manifests.",
            style.bold("No changes.")
        );
    } else {
        let _ = writeln!(
            out,
            "authing-sync will perform the following actions ({}, {}, {}):\n",
            style.add("+ create"),
            style.change("~ update"),
            style.remove("- delete")
        );
        let renderer = Blocks {
            out: &mut out,
            style,
            masker: options.masker,
            match_on: plan.match_on,
        };
        renderer.write(plan);
    }
    write_warnings(&mut out, plan, options);
    if !plan.is_empty() {
        let _ = writeln!(out, "{}", style.bold(&summary_line(&plan.summary())));
    }
    if let Some(cost) = &options.cost {
        let _ = writeln!(out, "{}", style.dim(&cost_line(cost)));
    }
    out
}

/// `Plan: 3 to create, 5 to update, 1 to delete, MFA +2 -0, whitelist +4 -1`.
pub fn summary_line(summary: &Summary) -> String {
    let mut line = format!(
        "Plan: {} to create, {} to update, {} to delete, MFA +{} -{}, whitelist +{} -{}",
        summary.create,
        summary.update,
        summary.delete,
        summary.mfa_enable,
        summary.mfa_disable,
        summary.whitelist_add,
        summary.whitelist_remove
    );
    if let Some(enabled) = summary.whitelist_switch {
        let _ = write!(
            line,
            ", whitelist switch {}",
            if enabled { "on" } else { "off" }
        );
    }
    line
}

fn cost_line(cost: &PlanCost) -> String {
    let retries = match cost.retries {
        0 => String::new(),
        1 => ", 1 retry".into(),
        n => format!(", {n} retries"),
    };
    format!(
        "Read {} users with {} API call{}{retries} in {:.1}s.",
        cost.users,
        cost.requests,
        if cost.requests == 1 { "" } else { "s" },
        cost.elapsed.as_secs_f64()
    )
}

fn write_warnings(out: &mut String, plan: &Plan, options: &HumanOptions) {
    let mut lines: Vec<String> = plan
        .notices
        .iter()
        .map(|notice| match notice {
            Notice::RenameNotFound { key, renamed_from, origin } => format!(
                "{}: renamed from {} ({origin}), which no live user has; it will be created",
                options.masker.user(key.as_str(), plan.match_on),
                quote(&options.masker.user(renamed_from.as_str(), plan.match_on)),
            ),
            Notice::EmailUnverified { key, origin } => format!(
                "{}: the email changes, which clears its verification, and `email_verified` is not managed ({origin})",
                options.masker.user(key.as_str(), plan.match_on),
            ),
            Notice::DeletesSuppressed { reason } => format!("no deletions planned: {reason}"),
            Notice::Unkeyed { users, match_on } => format!(
                "{users} live users have no {match_on}: no manifest can declare them, and prune leaves them alone"
            ),
            Notice::PhoneNotWhitelisted { key, phone, origin } => format!(
                "{}: registers with the phone {} ({origin}), which the whitelist will not list while it is on; Authing will refuse the registration",
                options.masker.user(key.as_str(), plan.match_on),
                quote(&options.masker.phone(phone)),
            ),
            Notice::PhotoCopy { key, declared, live, origin } => format!(
                "{}: the pool's photo {} is on Authing's CDN, {origin} declares {}; Authing copies external photos to its CDN at registration, so it is most likely that copy and is not sent again (declare a URL on Authing's CDN to replace it)",
                options.masker.user(key.as_str(), plan.match_on),
                quote(&options.masker.value(Field::Photo, &FieldValue::Text(live.clone()))),
                quote(&options.masker.value(Field::Photo, &FieldValue::Text(declared.clone()))),
            ),
        })
        .collect();
    lines.extend(options.warnings.iter().cloned());
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", options.style.change("Warnings:"));
    for line in lines {
        let _ = writeln!(out, "  ! {}", visible(&line));
    }
    out.push('\n');
}

/// A value in double quotes, every control and bidi character escaped.
fn quote(text: &str) -> String {
    visible(&format!("{text:?}")).into_owned()
}

struct Blocks<'a> {
    out: &'a mut String,
    style: Style,
    masker: Masker,
    match_on: MatchOn,
}

/// One line inside a block: a sign, a name, and what it shows.
enum Row {
    Plain(&'static str, String),
    Added(String, String),
    Removed(String, String),
    Changed(String, String, String),
    /// Written as it is, for a change that would otherwise undo it.
    Kept(String, String),
}

impl Blocks<'_> {
    fn write(mut self, plan: &Plan) {
        let mut whitelist = Vec::new();
        let mut whitelist_origin = None;
        for change in &plan.changes {
            match change {
                Change::Create(create) => {
                    let user = self.user(create.key.as_str());
                    let mut rows: Vec<Row> = create
                        .profile
                        .fields()
                        .map(|(field, value)| {
                            Row::Added(field.name().into(), self.value(field, &value.to_owned()))
                        })
                        .collect();
                    rows.push(Row::Added("password".into(), REDACTED.into()));
                    self.block(
                        &format!("{user} will be created ({})", create.origin),
                        '+',
                        &format!("user {}", quote(&user)),
                        rows,
                    );
                }
                Change::Update(update) => {
                    let user = self.user(update.key.as_str());
                    let mut rows = vec![Row::Plain("id", quote(update.id.as_str()))];
                    rows.extend(update.fields.iter().map(|change| {
                        // Written though unchanged: the email change would clear it.
                        if change.before.as_ref() == Some(&change.after) {
                            return Row::Kept(
                                change.field.name().into(),
                                self.value(change.field, &change.after),
                            );
                        }
                        let before = change.before.as_ref().map_or_else(
                            || "null".into(),
                            |before| self.value(change.field, before),
                        );
                        Row::Changed(
                            change.field.name().into(),
                            before,
                            self.value(change.field, &change.after),
                        )
                    }));
                    let comment = match &update.renamed_from {
                        Some(old) => format!(
                            "{user} will be updated in place, renamed from {} ({})",
                            self.user(old.as_str()),
                            update.origin
                        ),
                        None => format!("{user} will be updated in place ({})", update.origin),
                    };
                    self.block(&comment, '~', &format!("user {}", quote(&user)), rows);
                }
                Change::Delete(delete) => {
                    let user = self.user(&delete.label);
                    let why = delete.origin.as_ref().map_or_else(
                        || "--prune".to_string(),
                        |origin| format!("prune at {origin}"),
                    );
                    self.block(
                        &format!("{user} will be deleted ({why})"),
                        '-',
                        &format!("user {}", quote(&user)),
                        vec![Row::Removed("id".into(), quote(delete.id.as_str()))],
                    );
                }
                Change::Mfa(mfa) => {
                    let user = self.user(mfa.key.as_str());
                    let when = match mfa.target {
                        MfaTarget::New => " once the user is created",
                        MfaTarget::Existing { .. } => "",
                    };
                    let verb = if mfa.enable { "on" } else { "off" };
                    self.block(
                        &format!("{user}: MFA will be turned {verb}{when} ({})", mfa.origin),
                        '~',
                        &format!("mfa {}", quote(&user)),
                        vec![Row::Changed(
                            "enabled".into(),
                            (!mfa.enable).to_string(),
                            mfa.enable.to_string(),
                        )],
                    );
                }
                Change::WhitelistSwitch(switch) => {
                    whitelist_origin.get_or_insert_with(|| switch.origin.to_string());
                    whitelist.push(Row::Changed(
                        "enabled".into(),
                        switch.from.to_string(),
                        switch.to.to_string(),
                    ));
                }
                Change::WhitelistAdd(entry) => {
                    if let Some(origin) = &entry.origin {
                        whitelist_origin.get_or_insert_with(|| origin.to_string());
                    }
                    whitelist.push(Row::Added(
                        "phone".into(),
                        quote(&self.masker.phone(&entry.phone)),
                    ));
                }
                Change::WhitelistRemove(entry) => {
                    whitelist.push(Row::Removed(
                        "phone".into(),
                        quote(&self.masker.phone(&entry.phone)),
                    ));
                }
            }
        }
        if !whitelist.is_empty() {
            let origin = whitelist_origin
                .map(|origin| format!(" ({origin})"))
                .unwrap_or_default();
            self.block(
                &format!("the phone-registration whitelist will change{origin}"),
                '~',
                "whitelist",
                whitelist,
            );
        }
    }

    /// The user as named in comments (escaped there, by `block`) and heads (quoted).
    fn user(&self, name: &str) -> String {
        self.masker.user(name, self.match_on).into_owned()
    }

    fn value(&self, field: Field, value: &FieldValue) -> String {
        match value {
            FieldValue::Text(_) => quote(&self.masker.value(field, value)),
            FieldValue::Bool(flag) => flag.to_string(),
        }
    }

    fn block(&mut self, comment: &str, sign: char, head: &str, rows: Vec<Row>) {
        let style = self.style;
        let sign_text = sign.to_string();
        let painted = match sign {
            '+' => style.add(&sign_text),
            '-' => style.remove(&sign_text),
            _ => style.change(&sign_text),
        };
        let comment = visible(comment);
        let _ = writeln!(self.out, "  {}", style.bold(&format!("# {comment}")));
        let _ = writeln!(self.out, "  {painted} {head} {{");
        let width = rows
            .iter()
            .map(|row| match row {
                Row::Plain(name, _) => name.len(),
                Row::Added(name, _)
                | Row::Removed(name, _)
                | Row::Changed(name, _, _)
                | Row::Kept(name, _) => name.len(),
            })
            .max()
            .unwrap_or(0);
        for row in rows {
            match row {
                Row::Plain(name, value) => {
                    let _ = writeln!(self.out, "        {name:width$} = {}", style.dim(&value));
                }
                Row::Added(name, value) => {
                    let _ = writeln!(self.out, "      {} {name:width$} = {value}", style.add("+"));
                }
                Row::Removed(name, value) => {
                    let _ = writeln!(
                        self.out,
                        "      {} {name:width$} = {value}",
                        style.remove("-")
                    );
                }
                Row::Changed(name, before, after) => self.changed(&name, width, &before, &after),
                Row::Kept(name, value) => {
                    let _ = writeln!(
                        self.out,
                        "      {} {name:width$} = {value} {}",
                        style.change("~"),
                        style.dim("(kept: the email change would clear it)")
                    );
                }
            }
        }
        let _ = writeln!(self.out, "    }}\n");
    }

    fn changed(&mut self, name: &str, width: usize, before: &str, after: &str) {
        let style = self.style;
        let sign = style.change("~");
        if before.chars().count() <= LONG_VALUE && after.chars().count() <= LONG_VALUE {
            let _ = writeln!(self.out, "      {sign} {name:width$} = {before} -> {after}");
            return;
        }
        let (old, new) = emphasize_difference(before, after, style);
        let _ = writeln!(self.out, "      {sign} {name:width$} = {old}");
        let _ = writeln!(self.out, "        {:width$} -> {new}", "");
    }
}

/// The two values with the parts that differ emphasised (only visible with colour).
fn emphasize_difference(before: &str, after: &str, style: Style) -> (String, String) {
    if style == Style::plain() {
        return (before.to_string(), after.to_string());
    }
    let diff = TextDiff::from_chars(before, after);
    let mut old = String::new();
    let mut new = String::new();
    let mut run = String::new();
    let mut run_tag = ChangeTag::Equal;
    let flush = |run: &mut String, tag: ChangeTag, old: &mut String, new: &mut String| {
        match tag {
            ChangeTag::Equal => {
                old.push_str(run);
                new.push_str(run);
            }
            ChangeTag::Delete => old.push_str(&style.emphasis(&style.remove(run))),
            ChangeTag::Insert => new.push_str(&style.emphasis(&style.add(run))),
        }
        run.clear();
    };
    for change in diff.iter_all_changes() {
        if change.tag() != run_tag {
            flush(&mut run, run_tag, &mut old, &mut new);
            run_tag = change.tag();
        }
        run.push_str(change.value());
    }
    flush(&mut run, run_tag, &mut old, &mut new);
    (old, new)
}
