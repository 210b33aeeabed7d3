//! The plan as Markdown for a pull-request comment: the summary table first, a loud line when
//! users will be deleted, then one folded `<details>` section per kind of change, deletions
//! first. A kind with more than 100 changes lists its first few and counts the rest per field
//! with a sample, as the human plan does (`layout`); deletions are listed up to the deletion
//! guard's limit.
//!
//! Whatever the plan's size and its values, the comment stays under GitHub's limit of 65,536
//! characters: values are cut to [`VALUE_CHARS`], and lists are filled in order of importance
//! (the limit's warning, deletions, notices, then the other changes) while they fit, each cut
//! list ending with a line that says so. The summary table, the summary line and the per-field
//! counts are always there. Every value is escaped (`escape::visible`) before it is cut, so a
//! control or bidi character never reaches the pull request and the cut counts what is shown.

use std::fmt::Write;

use crate::model::{Field, FieldRef, FieldValue, MatchOn};
use crate::plan::{Create, Delete, MfaChange, MfaTarget, Notice, Plan, Update, WhitelistPhone};

use super::escape::visible;
use super::human::{PlanCost, summary_line};
use super::layout::{self, Kinds, Listing, NoticeKind, clip, thousands};
use super::mask::Masker;

/// GitHub refuses a comment body longer than this many characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;
/// The most bytes the Markdown plan takes. Bytes are never fewer than characters (nor than
/// UTF-16 units), so this holds however GitHub counts; the margin leaves room for a line that a
/// workflow adds around the plan.
pub const MAX_BYTES: usize = GITHUB_COMMENT_LIMIT - 1_024;
/// Values, keys, ids and origins longer than this many characters are cut, with `…`.
pub const VALUE_CHARS: usize = 120;
/// Warnings from outside the plan are cut to this many characters.
const WARNING_CHARS: usize = 2_000;
/// What every grouped summary ends with.
const SHOW_ALL: &str = "`--show all` lists every one";

#[derive(Debug, Clone)]
pub struct MarkdownOptions {
    pub masker: Masker,
    /// How much of each kind to list (`--show`, the deletion guard's limits).
    pub listing: Listing,
    pub cost: Option<PlanCost>,
    pub warnings: Vec<String>,
}

impl Default for MarkdownOptions {
    fn default() -> Self {
        Self {
            masker: Masker::off(),
            listing: Listing::default(),
            cost: None,
            warnings: Vec::new(),
        }
    }
}

/// How important a list is when the comment would be too long: lower fills first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Priority {
    /// Warnings from outside the plan (the deletion guard apply would trip).
    Warnings,
    Deletions,
    Notices,
    Changes,
}

/// A piece of the comment, in document order.
enum Piece<'a> {
    /// Always kept (bounded: headings, tables, counts, samples).
    Fixed(String),
    /// Lines kept in order while they fit; a cut list ends with a line saying how many were
    /// left out. The lines are made only as they are kept, so a plan of a million changes
    /// costs no more than the comment.
    List {
        lines: Box<dyn Iterator<Item = String> + 'a>,
        total: usize,
        priority: Priority,
        kept: Vec<String>,
    },
}

/// The comment being built.
#[derive(Default)]
struct Doc<'a> {
    pieces: Vec<Piece<'a>>,
}

impl<'a> Doc<'a> {
    fn text(&mut self, text: impl Into<String>) {
        let text = text.into();
        match self.pieces.last_mut() {
            Some(Piece::Fixed(last)) => last.push_str(&text),
            _ => self.pieces.push(Piece::Fixed(text)),
        }
    }

    /// `total` list items, one per line (each ends with a newline).
    fn list(&mut self, total: usize, lines: impl Iterator<Item = String> + 'a, priority: Priority) {
        if total > 0 {
            self.pieces.push(Piece::List {
                lines: Box::new(lines),
                total,
                priority,
                kept: Vec::new(),
            });
        }
    }

    /// The document within `max` bytes.
    fn finish(mut self, max: usize) -> String {
        // What is always kept, and room for every list's cut line at its longest.
        let fixed: usize = self
            .pieces
            .iter()
            .map(|piece| match piece {
                Piece::Fixed(text) => text.len(),
                Piece::List { total, .. } => cut_line(*total).len(),
            })
            .sum();
        let mut room = max.saturating_sub(fixed);
        let mut priorities: Vec<Priority> = self
            .pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::List { priority, .. } => Some(*priority),
                Piece::Fixed(_) => None,
            })
            .collect();
        priorities.sort();
        priorities.dedup();
        for level in priorities {
            for piece in &mut self.pieces {
                let Piece::List {
                    lines,
                    priority,
                    kept,
                    ..
                } = piece
                else {
                    continue;
                };
                if *priority != level {
                    continue;
                }
                for line in lines.by_ref() {
                    if line.len() > room {
                        break;
                    }
                    room -= line.len();
                    kept.push(line);
                }
            }
        }
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Fixed(text) => out.push_str(text),
                Piece::List { total, kept, .. } => {
                    for line in kept {
                        out.push_str(line);
                    }
                    if kept.len() < *total {
                        out.push_str(&cut_line(total - kept.len()));
                    }
                }
            }
        }
        // Only a pathological plan (thousands of fields, or warnings by the thousand) gets
        // here: cut the text itself rather than pass the limit.
        if out.len() > max {
            let note = "\n\n… the plan is cut here: it would not fit in a GitHub comment. `--format json` has every change.\n";
            let mut end = max.saturating_sub(note.len());
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
            out.push_str(note);
        }
        out
    }
}

/// The line that ends a list cut to fit the comment.
fn cut_line(left_out: usize) -> String {
    format!(
        "- … {} more not shown: the comment would pass GitHub's limit of {} characters. `--format json` has every change\n",
        thousands(left_out),
        thousands(GITHUB_COMMENT_LIMIT)
    )
}

pub fn render(plan: &Plan, options: &MarkdownOptions) -> String {
    let kinds = Kinds::of(plan);
    let sections = Sections {
        masker: options.masker,
        match_on: plan.match_on,
        listing: options.listing,
    };
    let mut doc = Doc::default();
    doc.text("### authing-sync plan\n\n");
    let summary = plan.summary();
    if plan.is_empty() {
        doc.text("**No changes.** The pool matches the manifests.\n");
    } else {
        let mut table = String::from("| change | count |\n|---|---:|\n");
        let rows = [
            ("delete", summary.delete),
            ("create", summary.create),
            ("update", summary.update),
            ("MFA on", summary.mfa_enable),
            ("MFA off", summary.mfa_disable),
            ("whitelist add", summary.whitelist_add),
            ("whitelist remove", summary.whitelist_remove),
        ];
        for (name, count) in rows {
            let _ = writeln!(table, "| {name} | {} |", thousands(count));
        }
        if let Some(enabled) = summary.whitelist_switch {
            let _ = writeln!(
                table,
                "| whitelist switch | {} |",
                if enabled { "on" } else { "off" }
            );
        }
        table.push('\n');
        if summary.delete > 0 {
            let _ = writeln!(
                table,
                "> [!WARNING]\n> **{} user{} will be deleted.**\n",
                thousands(summary.delete),
                if summary.delete == 1 { "" } else { "s" }
            );
        }
        doc.text(table);
        sections.write(&mut doc, &kinds);
        doc.text(format!("**{}**\n", summary_line(&summary)));
    }
    write_warnings(&mut doc, plan, options);
    if let Some(cost) = &options.cost {
        doc.text(format!(
            "\n<sub>Read {} users with {} API calls in {:.1}s.</sub>\n",
            cost.users,
            cost.requests,
            cost.elapsed.as_secs_f64()
        ));
        if let Some(mfa) = &cost.mfa {
            doc.text(format!("\n<sub>{}</sub>\n", super::mfa::line(mfa)));
        }
    }
    doc.finish(MAX_BYTES)
}

fn write_warnings<'a>(doc: &mut Doc<'a>, plan: &'a Plan, options: &'a MarkdownOptions) {
    let masker = options.masker;
    let match_on = plan.match_on;
    let user = move |key: &str| shown(&masker.user(key, match_on));
    let notices = layout::notices(&plan.notices, options.listing.show);
    let total = notices.listed.len();
    let listed = notices
        .listed
        .into_iter()
        .map(move |notice| match notice {
            Notice::RenameNotFound {
                key, renamed_from, ..
            } => format!(
                "{} is renamed from {}, which no live user has: it will be created",
                user(key.as_str()),
                user(renamed_from.as_str())
            ),
            Notice::EmailUnverified { key, .. } => format!(
                "{}: the email changes, which clears its verification, and `email_verified` is not managed",
                user(key.as_str())
            ),
            Notice::DeletesSuppressed { reason } => {
                format!("no deletions planned: {}", escape(&clip(reason, WARNING_CHARS)))
            }
            Notice::Unkeyed { users, match_on } => format!(
                "{users} live users have no {match_on}: no manifest can declare them, and prune leaves them alone"
            ),
            Notice::PhoneNotWhitelisted { key, phone, .. } => format!(
                "{} registers with the phone {}, which the whitelist will not list while it is on: Authing will refuse it",
                user(key.as_str()),
                shown(&masker.phone(phone))
            ),
            Notice::PhotoCopy { key, .. } => format!(
                "{}: the pool's photo is on Authing's CDN, most likely its copy of the declared one; not sent again",
                user(key.as_str())
            ),
        });
    let more: Vec<String> = notices
        .more
        .iter()
        .map(|(kind, more)| more_notices(*kind, *more))
        .collect();
    let warnings: Vec<String> = options
        .warnings
        .iter()
        .map(|warning| escape(&clip(warning, WARNING_CHARS)))
        .collect();
    if total == 0 && more.is_empty() && warnings.is_empty() {
        return;
    }
    let item = |line: String| format!("- :warning: {line}\n");
    doc.text("\n**Warnings**\n\n");
    doc.list(total, listed.map(item), Priority::Notices);
    doc.text(more.into_iter().map(item).collect::<String>());
    doc.list(
        warnings.len(),
        warnings.into_iter().map(item),
        Priority::Warnings,
    );
}

/// The line that stands for the notices of one kind not listed.
fn more_notices(kind: NoticeKind, more: usize) -> String {
    let count = thousands(more);
    match kind {
        NoticeKind::RenameNotFound => format!(
            "… and {count} more users renamed from a key no live user has: they will be created ({SHOW_ALL})"
        ),
        NoticeKind::EmailUnverified => format!(
            "… and {count} more users whose email changes, which clears its verification, while `email_verified` is not managed ({SHOW_ALL})"
        ),
        NoticeKind::PhotoCopy => format!(
            "… and {count} more users whose pool photo is on Authing's CDN, most likely its copy of the declared one; not sent again ({SHOW_ALL})"
        ),
        NoticeKind::PhoneNotWhitelisted => format!(
            "… and {count} more new users who register with a phone the whitelist will not list while it is on: Authing will refuse them ({SHOW_ALL})"
        ),
        NoticeKind::Other(_) => {
            format!("… and {count} more like the one above ({SHOW_ALL})")
        }
    }
}

struct Sections {
    masker: Masker,
    match_on: MatchOn,
    listing: Listing,
}

impl Sections {
    fn write<'a>(&'a self, doc: &mut Doc<'a>, kinds: &'a Kinds<'a>) {
        self.deletions(doc, &kinds.deletes);
        self.creations(doc, &kinds.creates);
        self.updates(doc, &kinds.updates);
        self.mfa(doc, &kinds.mfa);
        self.whitelist(doc, kinds);
    }

    fn open(doc: &mut Doc<'_>, title: &str, count: usize) {
        doc.text(format!(
            "<details><summary>{title} ({})</summary>\n\n",
            thousands(count)
        ));
    }

    fn close(doc: &mut Doc<'_>) {
        doc.text("\n</details>\n\n");
    }

    fn deletions<'a>(&'a self, doc: &mut Doc<'a>, deletes: &'a [&'a Delete]) {
        if deletes.is_empty() {
            return;
        }
        Self::open(doc, "Deletions", deletes.len());
        let listed = self.listing.deletions(deletes.len());
        doc.list(
            listed,
            deletes[..listed].iter().map(move |delete| {
                format!(
                    "- {} (id {})\n",
                    self.user(&delete.label),
                    shown(delete.id.as_str())
                )
            }),
            Priority::Deletions,
        );
        if listed < deletes.len() {
            doc.text(format!(
                "- … and {} more, not listed: {} deletions exceed the deletion limit of {}, so apply refuses this plan ({SHOW_ALL})\n",
                thousands(deletes.len() - listed),
                thousands(deletes.len()),
                self.listing.deletions_allowed,
            ));
        }
        Self::close(doc);
    }

    fn creations<'a>(&'a self, doc: &mut Doc<'a>, creates: &'a [&'a Create]) {
        if creates.is_empty() {
            return;
        }
        Self::open(doc, "Creations", creates.len());
        let listed = self.listing.listed(creates.len());
        doc.list(
            listed,
            creates[..listed]
                .iter()
                .map(move |create| self.creation(create)),
            Priority::Changes,
        );
        if listed < creates.len() {
            let mut text = format!(
                "- … and {} more; all {} by declared field ({SHOW_ALL}):\n",
                thousands(creates.len() - listed),
                thousands(creates.len())
            );
            for tally in layout::create_fields(creates, listed) {
                let (create, value) = tally.sample;
                let value = self.sample(tally.field, value);
                let sample = if tally.field == self.match_on.field() {
                    value
                } else {
                    format!("{} {value}", self.user(create.key.as_str()))
                };
                let _ = writeln!(
                    text,
                    "  - {}: {} — e.g. {sample}",
                    tally.field,
                    thousands(tally.count),
                );
            }
            doc.text(text);
        }
        Self::close(doc);
    }

    fn creation(&self, create: &Create) -> String {
        let fields: Vec<String> = create
            .profile
            .fields()
            .filter(|(field, _)| Some(*field) != Some(self.match_on.field()))
            .map(|(field, value)| format!("{field}: {}", self.value(field, &value.to_owned())))
            .collect();
        let details = if fields.is_empty() {
            String::new()
        } else {
            format!(" — {}", fields.join(", "))
        };
        format!(
            "- {}{details} · {}\n",
            self.user(create.key.as_str()),
            origin(&create.origin)
        )
    }

    fn updates<'a>(&'a self, doc: &mut Doc<'a>, updates: &'a [&'a Update]) {
        if updates.is_empty() {
            return;
        }
        Self::open(doc, "Updates", updates.len());
        let listed = self.listing.listed(updates.len());
        doc.list(
            listed,
            updates[..listed]
                .iter()
                .map(move |update| self.update(update)),
            Priority::Changes,
        );
        if listed < updates.len() {
            let mut text = format!(
                "- … and {} more; all {} by changed field ({SHOW_ALL}):\n",
                thousands(updates.len() - listed),
                thousands(updates.len())
            );
            for tally in layout::update_fields(updates, listed) {
                let (update, change) = tally.sample;
                let after = self.sample(change.field, change.after.as_ref());
                let sample = if change.before.as_ref() == Some(&change.after) {
                    format!("{after} (kept: the email change would clear it)")
                } else {
                    let before = change.before.as_ref().map_or_else(
                        || "_none_".into(),
                        |value| self.sample(change.field, value.as_ref()),
                    );
                    format!("{before} → {after}")
                };
                let _ = writeln!(
                    text,
                    "  - {}: {} — e.g. {} {sample}",
                    tally.field,
                    thousands(tally.count),
                    self.user(update.key.as_str()),
                );
            }
            doc.text(text);
        }
        Self::close(doc);
    }

    fn update(&self, update: &Update) -> String {
        let fields: Vec<String> = update
            .fields
            .iter()
            .map(|change| {
                if change.before.as_ref() == Some(&change.after) {
                    return format!(
                        "{}: {} (kept: the email change would clear it)",
                        change.field,
                        self.value(change.field, &change.after)
                    );
                }
                let before = change
                    .before
                    .as_ref()
                    .map_or_else(|| "_none_".into(), |value| self.value(change.field, value));
                format!(
                    "{}: {before} → {}",
                    change.field,
                    self.value(change.field, &change.after)
                )
            })
            .collect();
        let renamed = update
            .renamed_from
            .as_ref()
            .map(|old| format!(" (renamed from {})", self.user(old.as_str())))
            .unwrap_or_default();
        format!(
            "- {}{renamed} — {} · {}\n",
            self.user(update.key.as_str()),
            fields.join(", "),
            origin(&update.origin)
        )
    }

    fn mfa<'a>(&'a self, doc: &mut Doc<'a>, changes: &'a [&'a MfaChange]) {
        if changes.is_empty() {
            return;
        }
        Self::open(doc, "MFA", changes.len());
        let listed = self.listing.listed(changes.len());
        doc.list(
            listed,
            changes[..listed].iter().map(move |change| {
                let new = if matches!(change.target, MfaTarget::New) {
                    " (new user)"
                } else {
                    ""
                };
                format!(
                    "- {}{new}: MFA {} · {}\n",
                    self.user(change.key.as_str()),
                    if change.enable { "on" } else { "off" },
                    origin(&change.origin)
                )
            }),
            Priority::Changes,
        );
        if listed < changes.len() {
            let mut text = format!(
                "- … and {} more; all {} ({SHOW_ALL}):\n",
                thousands(changes.len() - listed),
                thousands(changes.len())
            );
            let (on, off) = layout::mfa_directions(changes, listed);
            for (tally, direction) in [(on, "on"), (off, "off")] {
                let Some(sample) = tally.sample else {
                    continue;
                };
                let new = match tally.new_users {
                    0 => String::new(),
                    new => format!(" ({} of them new users)", thousands(new)),
                };
                let _ = writeln!(
                    text,
                    "  - MFA {direction}: {}{new} — e.g. {}",
                    thousands(tally.count),
                    self.user(sample.key.as_str())
                );
            }
            doc.text(text);
        }
        Self::close(doc);
    }

    fn whitelist<'a>(&'a self, doc: &mut Doc<'a>, kinds: &'a Kinds<'a>) {
        let adds = &kinds.whitelist_add;
        let removes = &kinds.whitelist_remove;
        let count = usize::from(kinds.switch.is_some()) + adds.len() + removes.len();
        if count == 0 {
            return;
        }
        Self::open(doc, "Whitelist", count);
        if let Some(switch) = kinds.switch {
            doc.text(format!(
                "- switch: {} → {}\n",
                if switch.from { "on" } else { "off" },
                if switch.to { "on" } else { "off" }
            ));
        }
        let listed = self.listing.listed(adds.len());
        doc.list(
            listed,
            self.phones("add", &adds[..listed]),
            Priority::Changes,
        );
        if listed < adds.len() {
            doc.text(format!(
                "- … and {} more additions, e.g. {} ({SHOW_ALL})\n",
                thousands(adds.len() - listed),
                self.phone(&adds[listed].phone)
            ));
        }
        let listed = self.listing.removals(removes.len());
        doc.list(
            listed,
            self.phones("remove", &removes[..listed]),
            Priority::Deletions,
        );
        if listed < removes.len() {
            doc.text(format!(
                "- … and {} more removals, not listed: {} whitelist removals exceed the deletion limit of {}, so apply refuses this plan ({SHOW_ALL})\n",
                thousands(removes.len() - listed),
                thousands(removes.len()),
                self.listing.removals_allowed,
            ));
        }
        Self::close(doc);
    }

    fn phones<'a>(
        &'a self,
        verb: &'static str,
        entries: &'a [&'a WhitelistPhone],
    ) -> impl Iterator<Item = String> + 'a {
        entries
            .iter()
            .map(move |entry| format!("- {verb} {}\n", self.phone(&entry.phone)))
    }

    fn phone(&self, phone: &str) -> String {
        shown(&self.masker.phone(phone))
    }

    fn user(&self, name: &str) -> String {
        shown(&self.masker.user(name, self.match_on))
    }

    fn value(&self, field: Field, value: &FieldValue) -> String {
        shown(&self.masker.value(field, value))
    }

    fn sample(&self, field: Field, value: FieldRef<'_>) -> String {
        self.value(field, &value.to_owned())
    }
}

fn origin(origin: &crate::model::Origin) -> String {
    shown(&origin.to_string())
}

/// A value as inline code: line breaks as spaces, hidden characters escaped, then cut to
/// [`VALUE_CHARS`].
fn shown(text: &str) -> String {
    let text = text.replace(['\n', '\r', '\t'], " ");
    code(&clip(&visible(&text), VALUE_CHARS))
}

/// Inline code that survives backticks in the value: the fence is one backtick longer than the
/// longest run inside, as CommonMark allows.
fn code(text: &str) -> String {
    let text = visible(&text.replace(['\n', '\r', '\t'], " ")).into_owned();
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    if longest == 0 {
        return format!("`{text}`");
    }
    let fence = "`".repeat(longest + 1);
    format!("{fence} {text} {fence}")
}

/// Text with the characters Markdown would interpret escaped.
fn escape(text: &str) -> String {
    let text = visible(&text.replace(['\n', '\r', '\t'], " ")).into_owned();
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '<' | '>' | '[' | ']' | '|' | '#'
        ) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    #[test]
    fn code_spans_cannot_be_broken_out_of() {
        assert_eq!(super::code("plain"), "`plain`");
        assert_eq!(super::code("a`b"), "`` a`b ``");
        assert_eq!(super::code("x``y"), "``` x``y ```");
        assert_eq!(super::code("two\nlines"), "`two lines`");
        assert_eq!(
            super::code("a\u{1b}[2Jb\u{202e}"),
            "`a\\u{1b}[2Jb\\u{202e}`"
        );
    }
}
