//! The plan for people, in Terraform's manner: one block per change with `+` create, `~` update,
//! `-` delete, deletions first, the summary line last, and what the plan cost. Colour only when
//! the printer allows it; the text reads the same without. Long values are diffed with
//! `similar` so the changed part of a long URL stands out. Values are quoted with their
//! unprintable characters escaped, and so is every other line a value can reach (comments,
//! grouped samples, warnings).
//!
//! A large plan is listed only in part (`layout` decides how much): a kind of change with more
//! than 100 changes shows its first few in full, then one block counting the rest per field with
//! a sample, so 50,000 updates read in a dozen lines. Deletions are listed in full up to the
//! deletion guard's limit; notices of one kind are grouped the same way. A listed value longer
//! than [`VALUE_CHARS`] characters shows its start and how many characters follow (a 100,000-
//! character value would bury the plan); `--show all` and the JSON plan show it whole.

use std::fmt::Write;
use std::time::Duration;

use similar::{ChangeTag, TextDiff};

use crate::model::{Field, FieldRef, FieldValue, MatchOn};
use crate::plan::{Create, Delete, MfaChange, MfaReads, MfaTarget, Notice, Plan, Summary, Update};
use crate::secret::REDACTED;

use super::escape::visible;
use super::layout::{self, Kinds, Listing, NoticeKind, Show, clip, thousands};
use super::mask::Masker;
use super::style::Style;

/// Values longer than this are shown on two lines and diffed.
const LONG_VALUE: usize = 40;
/// Sample values in a grouped summary are cut to this many characters.
const SAMPLE_VALUE: usize = 60;
/// Listed values longer than this many characters are cut, unless `--show all`.
pub const VALUE_CHARS: usize = 200;
/// A grouped summary names at most this many manifests a kind came from.
const SOURCES_NAMED: usize = 3;
/// What every grouped summary ends with.
const SHOW_ALL: &str = "`--show all` lists every one";

/// What reading the pool cost.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanCost {
    pub requests: u64,
    pub retries: u64,
    pub users: usize,
    pub elapsed: Duration,
    /// How the MFA switches were known, when a manifest manages any.
    pub mfa: Option<MfaReads>,
}

#[derive(Debug, Clone)]
pub struct HumanOptions {
    pub style: Style,
    pub masker: Masker,
    pub cost: Option<PlanCost>,
    /// Warnings from outside the plan (a deletion guard that apply would trip, ...).
    pub warnings: Vec<String>,
    /// How much of each kind to list (`--show`, the deletion guard's limits).
    pub listing: Listing,
}

impl Default for HumanOptions {
    fn default() -> Self {
        Self {
            style: Style::plain(),
            masker: Masker::off(),
            cost: None,
            warnings: Vec::new(),
            listing: Listing::default(),
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
            listing: options.listing,
        };
        renderer.write(plan);
    }
    write_warnings(&mut out, plan, options);
    if !plan.is_empty() {
        let _ = writeln!(out, "{}", style.bold(&summary_line(&plan.summary())));
    }
    if let Some(cost) = &options.cost {
        let _ = writeln!(out, "{}", style.dim(&cost_line(cost)));
        if let Some(mfa) = &cost.mfa {
            let _ = writeln!(out, "{}", style.dim(&super::mfa::line(mfa)));
        }
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
    let masker = options.masker;
    let notices = layout::notices(&plan.notices, options.listing.show);
    let mut lines: Vec<String> = notices
        .listed
        .iter()
        .map(|notice| match notice {
            Notice::RenameNotFound { key, renamed_from, origin } => format!(
                "{}: renamed from {} ({origin}), which no live user has; it will be created",
                masker.user(key.as_str(), plan.match_on),
                quote(&masker.user(renamed_from.as_str(), plan.match_on)),
            ),
            Notice::EmailUnverified { key, origin } => format!(
                "{}: the email changes, which clears its verification, and `email_verified` is not managed ({origin})",
                masker.user(key.as_str(), plan.match_on),
            ),
            Notice::PhoneUnverified { key, origin } => format!(
                "{}: the phone changes, which clears its verification, and `phone_verified` is not managed ({origin})",
                masker.user(key.as_str(), plan.match_on),
            ),
            Notice::DeletesSuppressed { reason } => format!("no deletions planned: {reason}"),
            Notice::Unkeyed { users, match_on } => format!(
                "{users} live users have no {match_on}: no manifest can declare them, and prune leaves them alone"
            ),
            Notice::PhoneNotWhitelisted { key, phone, origin } => format!(
                "{}: registers with the phone {} ({origin}), which the whitelist will not list while it is on; Authing will refuse the registration",
                masker.user(key.as_str(), plan.match_on),
                quote(&masker.phone(phone)),
            ),
            Notice::WhitelistSpelling { phone, stored, managed } => {
                crate::plan::file::whitelist_spelling(
                    &options.masker.phone(phone),
                    &options.masker.phone(stored),
                    *managed,
                )
            }
            Notice::PhotoCopy { key, declared, live, origin } => format!(
                "{}: the pool's photo {} is on Authing's CDN, {origin} declares {}; Authing copies external photos to its CDN at registration, so it is most likely that copy and is not sent again (declare a URL on Authing's CDN to replace it)",
                masker.user(key.as_str(), plan.match_on),
                quote(&masker.value(Field::Photo, &FieldValue::Text(live.clone()))),
                quote(&masker.value(Field::Photo, &FieldValue::Text(declared.clone()))),
            ),
        })
        .collect();
    lines.extend(
        notices
            .more
            .iter()
            .map(|(kind, more)| more_notices(*kind, *more)),
    );
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

/// The line that stands for the notices of one kind not listed.
fn more_notices(kind: NoticeKind, more: usize) -> String {
    let count = thousands(more);
    match kind {
        NoticeKind::RenameNotFound => format!(
            "… and {count} more users renamed from a key no live user has; they will be created ({SHOW_ALL})"
        ),
        NoticeKind::EmailUnverified => format!(
            "… and {count} more users whose email changes, which clears its verification, while `email_verified` is not managed ({SHOW_ALL})"
        ),
        NoticeKind::PhotoCopy => format!(
            "… and {count} more users whose pool photo is on Authing's CDN where the manifest declares another URL: most likely Authing's copy, not sent again ({SHOW_ALL})"
        ),
        NoticeKind::PhoneNotWhitelisted => format!(
            "… and {count} more new users who register with a phone the whitelist will not list while it is on; Authing will refuse their registrations ({SHOW_ALL})"
        ),
        NoticeKind::Other(_) => {
            format!("… and {count} more like the one above ({SHOW_ALL})")
        }
    }
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
    listing: Listing,
}

/// One line inside a block: a sign, a name, and what it shows.
enum Row {
    Plain(&'static str, String),
    Added(String, String),
    Removed(String, String),
    Changed(String, String, String),
    /// Written as it is, for a change that would otherwise undo it.
    Kept(String, String),
    /// A line of its own after the sign, not aligned with the names (`… and 40 more phones`).
    Note(char, String),
    /// A grouped field: sign, name, count, and a sample.
    Tally(char, String, usize, String),
}

impl Blocks<'_> {
    fn write(mut self, plan: &Plan) {
        let kinds = Kinds::of(plan);
        let listing = self.listing;

        let listed = listing.deletions(kinds.deletes.len());
        for delete in &kinds.deletes[..listed] {
            self.delete(delete);
        }
        if listed < kinds.deletes.len() {
            self.deletions_not_listed(&kinds.deletes, listed);
        }

        let listed = listing.listed(kinds.creates.len());
        for create in &kinds.creates[..listed] {
            self.create(create);
        }
        if listed < kinds.creates.len() {
            self.creates_grouped(&kinds.creates, listed);
        }

        let listed = listing.listed(kinds.updates.len());
        for update in &kinds.updates[..listed] {
            self.update(update);
        }
        if listed < kinds.updates.len() {
            self.updates_grouped(&kinds.updates, listed);
        }

        let listed = listing.listed(kinds.mfa.len());
        for mfa in &kinds.mfa[..listed] {
            self.mfa(mfa);
        }
        if listed < kinds.mfa.len() {
            self.mfa_grouped(&kinds.mfa, listed);
        }

        self.whitelist(&kinds);
    }

    fn delete(&mut self, delete: &Delete) {
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

    /// Deletions beyond the guard's limit: apply refuses the plan, so they are counted, not
    /// listed (unless `--show all`).
    fn deletions_not_listed(&mut self, deletes: &[&Delete], listed: usize) {
        let more = deletes.len() - listed;
        let why = sources(deletes, |delete| delete.origin.as_ref().map(|o| &*o.file))
            .map(|files| format!(" (prune in {files})"))
            .unwrap_or_default();
        let comment = format!(
            "{} more users will be deleted{why}, not listed: {} deletions exceed the deletion limit of {}, so apply refuses this plan; {SHOW_ALL}",
            thousands(more),
            thousands(deletes.len()),
            thousands(listing_limit(self.listing.deletions_allowed)),
        );
        let comment = visible(&comment);
        let _ = writeln!(self.out, "  {}\n", self.style.bold(&format!("# {comment}")));
    }

    fn create(&mut self, create: &Create) {
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

    fn creates_grouped(&mut self, creates: &[&Create], listed: usize) {
        let mut rows: Vec<Row> = layout::create_fields(creates, listed)
            .into_iter()
            .map(|tally| {
                let (create, value) = tally.sample;
                let value = self.sample(tally.field, value);
                // The key's own field needs no key in front of it.
                let sample = if tally.field == self.match_on.field() {
                    format!("e.g. {value}")
                } else {
                    format!("e.g. {} {value}", self.user(create.key.as_str()))
                };
                Row::Tally('+', tally.field.name().into(), tally.count, sample)
            })
            .collect();
        rows.push(Row::Tally(
            '+',
            "password".into(),
            creates.len(),
            REDACTED.into(),
        ));
        let from = sources(creates, |create| Some(&*create.origin.file))
            .map(|files| format!(" ({files})"))
            .unwrap_or_default();
        self.block(
            &format!(
                "{} users will be created{from}, {}; by declared field ({SHOW_ALL}):",
                thousands(creates.len()),
                listed_above(listed)
            ),
            '+',
            &format!("{} users", thousands(creates.len())),
            rows,
        );
    }

    fn update(&mut self, update: &Update) {
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
            let before = change
                .before
                .as_ref()
                .map_or_else(|| "null".into(), |before| self.value(change.field, before));
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

    fn updates_grouped(&mut self, updates: &[&Update], listed: usize) {
        let rows = layout::update_fields(updates, listed)
            .into_iter()
            .map(|tally| {
                let (update, change) = tally.sample;
                let after = self.sample(change.field, change.after.as_ref());
                let sample = if change.before.as_ref() == Some(&change.after) {
                    format!(
                        "e.g. {} {after} (kept: the email change would clear it)",
                        self.user(update.key.as_str())
                    )
                } else {
                    let before = change.before.as_ref().map_or_else(
                        || "null".into(),
                        |before| self.sample(change.field, before.as_ref()),
                    );
                    format!(
                        "e.g. {} {before} -> {after}",
                        self.user(update.key.as_str())
                    )
                };
                Row::Tally('~', change.field.name().into(), tally.count, sample)
            })
            .collect();
        let from = sources(updates, |update| Some(&*update.origin.file))
            .map(|files| format!(" ({files})"))
            .unwrap_or_default();
        self.block(
            &format!(
                "{} users will be updated in place{from}, {}; by changed field ({SHOW_ALL}):",
                thousands(updates.len()),
                listed_above(listed)
            ),
            '~',
            &format!("{} users", thousands(updates.len())),
            rows,
        );
    }

    fn mfa(&mut self, mfa: &MfaChange) {
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

    fn mfa_grouped(&mut self, changes: &[&MfaChange], listed: usize) {
        let (on, off) = layout::mfa_directions(changes, listed);
        let mut rows = Vec::new();
        for (tally, name) in [(on, "on"), (off, "off")] {
            let Some(sample) = tally.sample else {
                continue;
            };
            let new_users = match tally.new_users {
                0 => String::new(),
                new => format!(" ({} of them once created)", thousands(new)),
            };
            rows.push(Row::Tally(
                '~',
                name.into(),
                tally.count,
                format!("e.g. {}{new_users}", self.user(sample.key.as_str())),
            ));
        }
        let from = sources(changes, |change| Some(&*change.origin.file))
            .map(|files| format!(" ({files})"))
            .unwrap_or_default();
        self.block(
            &format!(
                "{} users: MFA will be switched{from}, {} ({SHOW_ALL}):",
                thousands(changes.len()),
                listed_above(listed)
            ),
            '~',
            &format!("mfa {} users", thousands(changes.len())),
            rows,
        );
    }

    /// The switch, the additions and the removals, in one block.
    fn whitelist(&mut self, kinds: &Kinds<'_>) {
        let mut rows = Vec::new();
        let mut origin = None;
        if let Some(switch) = kinds.switch {
            origin.get_or_insert_with(|| switch.origin.to_string());
            rows.push(Row::Changed(
                "enabled".into(),
                switch.from.to_string(),
                switch.to.to_string(),
            ));
        }
        let adds = &kinds.whitelist_add;
        let listed = self.listing.listed(adds.len());
        for entry in &adds[..listed] {
            if let Some(entry_origin) = &entry.origin {
                origin.get_or_insert_with(|| entry_origin.to_string());
            }
            rows.push(Row::Added(
                "phone".into(),
                quote(&self.masker.phone(&entry.phone)),
            ));
        }
        if listed < adds.len() {
            if let Some(entry_origin) = adds.iter().find_map(|entry| entry.origin.as_ref()) {
                origin.get_or_insert_with(|| entry_origin.to_string());
            }
            let sample = &adds[listed].phone;
            rows.push(Row::Note(
                '+',
                format!(
                    "… and {} more phones, e.g. {} ({SHOW_ALL})",
                    thousands(adds.len() - listed),
                    quote(&self.masker.phone(sample))
                ),
            ));
        }
        let removes = &kinds.whitelist_remove;
        let listed = self.listing.removals(removes.len());
        for entry in &removes[..listed] {
            rows.push(Row::Removed(
                "phone".into(),
                quote(&self.masker.phone(&entry.phone)),
            ));
        }
        if listed < removes.len() {
            rows.push(Row::Note(
                '-',
                format!(
                    "… and {} more phones, not listed: {} whitelist removals exceed the deletion limit of {}, so apply refuses this plan; {SHOW_ALL}",
                    thousands(removes.len() - listed),
                    thousands(removes.len()),
                    thousands(listing_limit(self.listing.removals_allowed)),
                ),
            ));
        }
        if !rows.is_empty() {
            let origin = origin
                .map(|origin| format!(" ({origin})"))
                .unwrap_or_default();
            self.block(
                &format!("the phone-registration whitelist will change{origin}"),
                '~',
                "whitelist",
                rows,
            );
        }
    }

    /// A sample value in a grouped summary: masked, quoted, cut.
    fn sample(&self, field: Field, value: FieldRef<'_>) -> String {
        match value {
            FieldRef::Text(_) => {
                let shown = self.masker.value(field, &value.to_owned());
                quote(&clip(&shown, SAMPLE_VALUE))
            }
            FieldRef::Bool(flag) => flag.to_string(),
        }
    }

    /// The user as named in comments and samples (escaped there, by `block`) and heads
    /// (quoted).
    fn user(&self, name: &str) -> String {
        self.masker.user(name, self.match_on).into_owned()
    }

    fn value(&self, field: Field, value: &FieldValue) -> String {
        match value {
            FieldValue::Text(_) => {
                let text = self.masker.value(field, value);
                let length = text.chars().count();
                if self.listing.show == Show::All || length <= VALUE_CHARS {
                    return quote(&text);
                }
                let kept: String = text.chars().take(VALUE_CHARS).collect();
                format!(
                    "{}… ({} more characters; `--show all` or `--format json` shows it whole)",
                    quote(&kept),
                    thousands(length - VALUE_CHARS)
                )
            }
            FieldValue::Bool(flag) => flag.to_string(),
        }
    }

    fn block(&mut self, comment: &str, sign: char, head: &str, rows: Vec<Row>) {
        let style = self.style;
        let painted = paint(style, sign);
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
                | Row::Kept(name, _)
                | Row::Tally(_, name, _, _) => name.len(),
                Row::Note(..) => 0,
            })
            .max()
            .unwrap_or(0);
        let count_width = rows
            .iter()
            .map(|row| match row {
                Row::Tally(_, _, count, _) => thousands(*count).len(),
                _ => 0,
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
                // Notes and samples name users and manifests: escaped like comments.
                Row::Note(sign, text) => {
                    let _ = writeln!(self.out, "      {} {}", paint(style, sign), visible(&text));
                }
                Row::Tally(sign, name, count, sample) => {
                    let _ = writeln!(
                        self.out,
                        "      {} {name:width$} {:>count_width$}  {}",
                        paint(style, sign),
                        thousands(count),
                        visible(&sample)
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

/// A sign in its colour.
fn paint(style: Style, sign: char) -> String {
    let text = sign.to_string();
    match sign {
        '+' => style.add(&text).into_owned(),
        '-' => style.remove(&text).into_owned(),
        _ => style.change(&text).into_owned(),
    }
}

/// How a grouped summary refers to the changes of its kind listed in full above it.
fn listed_above(listed: usize) -> String {
    match listed {
        0 => "none listed above".into(),
        1 => "the first listed above".into(),
        n => format!("the first {} listed above", thousands(n)),
    }
}

/// A guard limit as a count (`u64::MAX` would not fit a `usize` on every target).
fn listing_limit(allowed: u64) -> usize {
    usize::try_from(allowed).unwrap_or(usize::MAX)
}

/// The manifests the changes of a kind came from: `hr.csv`, or `hr.csv 980, a.yaml 10`.
fn sources<'a, T>(
    items: &[T],
    origin: impl Fn(&T) -> Option<&'a std::path::Path>,
) -> Option<String> {
    let files = layout::sources(items, origin);
    match files.as_slice() {
        [] => None,
        [(file, _)] => Some(file.display().to_string()),
        files => {
            let mut named: Vec<String> = files
                .iter()
                .take(SOURCES_NAMED)
                .map(|(file, count)| format!("{} {}", file.display(), thousands(*count)))
                .collect();
            if files.len() > SOURCES_NAMED {
                named.push(format!("{} more files", files.len() - SOURCES_NAMED));
            }
            Some(named.join(", "))
        }
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
