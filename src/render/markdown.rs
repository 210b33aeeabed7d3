//! The plan as Markdown for a pull-request comment: the summary table first, a loud line when
//! users will be deleted, then one folded `<details>` section per kind of change, deletions
//! first. A kind with more than 100 changes lists its first few and counts the rest per field
//! with a sample, as the human plan does (`layout`); deletions are listed up to the deletion
//! guard's limit.
//!
//! Whatever the plan's size and its values, the comment stays under GitHub's limit of 65,536
//! characters: values are cut to [`VALUE_CHARS`], and lists are filled while they fit: first
//! every list's first line, then its first few, then the rest in order of importance (the
//! limit's warning, deletions, notices, then the other changes). A list not shown whole ends with
//! one line saying how many of how many are not shown and why (`--show`, the deletion guard, the
//! comment's limit). The summary table, the summary line and the per-field
//! counts are always there. Every value is escaped (`escape::visible`) before it is cut, so a
//! control or bidi character never reaches the pull request and the cut counts what is shown.

use std::fmt::Write;

use crate::model::{Field, FieldRef, FieldValue, MatchOn};
use crate::plan::{Create, Delete, MfaChange, MfaTarget, Notice, Plan, Update, WhitelistPhone};

use super::escape::{visible, visible_clipped};
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

/// What a list says about the items it does not show, given how many it kept: `None` when it
/// showed them all. One line (ending with a newline) per list, whatever left them out.
type Tail<'a> = Box<dyn Fn(usize) -> Option<String> + 'a>;

/// A list of lines kept in order while they fit.
struct List<'a> {
    lines: Box<dyn Iterator<Item = String> + 'a>,
    /// The line taken from `lines` that did not fit yet.
    pending: Option<String>,
    /// How many lines `lines` yields.
    total: usize,
    priority: Priority,
    kept: Vec<String>,
    /// Set when a line did not fit: a list stays a prefix, never a list with a gap.
    full: bool,
    tail: Tail<'a>,
}

/// A piece of the comment, in document order.
enum Piece<'a> {
    /// Always kept (bounded: headings, tables, counts, samples).
    Fixed(String),
    /// Lines kept in order while they fit; the list ends with its tail, the one line that says
    /// how many were left out and why. The lines are made only as they are kept, so a plan of
    /// a million changes costs no more than the comment.
    List(List<'a>),
}

/// The comment being built.
#[derive(Default)]
struct Doc<'a> {
    pieces: Vec<Piece<'a>>,
}

/// How the room is shared: first every list's first line, then the first few of each (so a
/// kind of a few warnings is not crowded out by thousands of phones), then the rest in order of
/// importance.
const ROUNDS: [usize; 3] = [1, layout::LISTED_WHEN_GROUPED, usize::MAX];

impl<'a> Doc<'a> {
    fn text(&mut self, text: impl Into<String>) {
        let text = text.into();
        match self.pieces.last_mut() {
            Some(Piece::Fixed(last)) => last.push_str(&text),
            _ => self.pieces.push(Piece::Fixed(text)),
        }
    }

    /// `total` list items, one per line (each ends with a newline), and the tail that follows
    /// them.
    fn list(
        &mut self,
        total: usize,
        lines: impl Iterator<Item = String> + 'a,
        priority: Priority,
        tail: impl Fn(usize) -> Option<String> + 'a,
    ) {
        self.pieces.push(Piece::List(List {
            lines: Box::new(lines),
            pending: None,
            total,
            priority,
            kept: Vec::new(),
            full: false,
            tail: Box::new(tail),
        }));
    }

    /// The document within `max` bytes.
    fn finish(mut self, max: usize) -> String {
        // What is always kept, and room for every list's tail at its longest.
        let fixed: usize = self
            .pieces
            .iter()
            .map(|piece| match piece {
                Piece::Fixed(text) => text.len(),
                Piece::List(list) => {
                    let longest = |kept| (list.tail)(kept).map_or(0, |line| line.len());
                    longest(0).max(longest(list.total)) + 16
                }
            })
            .sum();
        let mut room = max.saturating_sub(fixed);
        let mut priorities: Vec<Priority> = self
            .pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::List(list) => Some(list.priority),
                Piece::Fixed(_) => None,
            })
            .collect();
        priorities.sort();
        priorities.dedup();
        for round in ROUNDS {
            for &level in &priorities {
                for piece in &mut self.pieces {
                    let Piece::List(list) = piece else {
                        continue;
                    };
                    if list.priority != level {
                        continue;
                    }
                    while !list.full && list.kept.len() < round {
                        let Some(line) = list.pending.take().or_else(|| list.lines.next()) else {
                            break;
                        };
                        if line.len() > room {
                            list.pending = Some(line);
                            list.full = round == usize::MAX;
                            break;
                        }
                        room -= line.len();
                        list.kept.push(line);
                    }
                }
            }
        }
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Fixed(text) => out.push_str(text),
                Piece::List(list) => {
                    for line in &list.kept {
                        out.push_str(line);
                    }
                    if let Some(tail) = (list.tail)(list.kept.len()) {
                        out.push_str(&tail);
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

/// Why some of a list are not shown.
#[derive(Debug, Clone, Default)]
struct LeftOut {
    /// How many items the kind has in all.
    total: usize,
    /// How many the listing (`--show`, the deletion guard) chose to list.
    listed: usize,
    /// Why the listing stopped short, when it is not `--show` (the deletion guard).
    guard: Option<String>,
}

impl LeftOut {
    /// The one line about the items not shown when `kept` were: `- … N of T {noun} not shown`,
    /// why, and where to see them; `None` when all are shown. `more` follows the reasons (a
    /// sample, or the lead-in of a grouped summary).
    fn line(&self, kept: usize, noun: &str, more: &str) -> Option<String> {
        let not_shown = self.total.saturating_sub(kept);
        if not_shown == 0 {
            return None;
        }
        let cut = self.listed.saturating_sub(kept);
        let mut reasons = Vec::new();
        if let Some(guard) = &self.guard {
            reasons.push(guard.clone());
        }
        if cut > 0 {
            reasons.push(format!(
                "the comment would pass GitHub's limit of {} characters",
                thousands(GITHUB_COMMENT_LIMIT)
            ));
        }
        let mut hints = Vec::new();
        if self.listed < self.total {
            hints.push(SHOW_ALL);
        }
        if cut > 0 {
            hints.push("`--format json` has every change");
        }
        let reasons = if reasons.is_empty() {
            String::new()
        } else {
            format!(": {}", reasons.join("; "))
        };
        Some(format!(
            "- … {} of {} {noun} not shown{reasons} ({}){more}\n",
            thousands(not_shown),
            thousands(self.total),
            hints.join(", "),
        ))
    }
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
        if summary.whitelist_remove > 0 {
            let _ = writeln!(
                table,
                "> [!WARNING]\n> **{} phone{} will be removed from the whitelist.**\n",
                thousands(summary.whitelist_remove),
                if summary.whitelist_remove == 1 {
                    ""
                } else {
                    "s"
                }
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
    let line = move |notice: &Notice| match notice {
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
        Notice::PhoneUnverified { key, .. } => format!(
            "{}: the phone changes, which clears its verification, and `phone_verified` is not managed",
            user(key.as_str())
        ),
        Notice::WhitelistSpelling {
            phone,
            stored,
            managed,
        } => escape(&crate::plan::file::whitelist_spelling(
            &masker.phone(phone),
            &masker.phone(stored),
            *managed,
        )),
        Notice::DeletesSuppressed { reason } => {
            format!(
                "no deletions planned: {}",
                escape(&clip(reason, WARNING_CHARS))
            )
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
    };
    let item = |line: String| format!("- :warning: {line}\n");
    // One list per kind of notice, kinds in the order they first appear, each with one line
    // for the notices of its kind not shown.
    let listing = layout::notices(&plan.notices, options.listing.show);
    let mut kinds: Vec<(NoticeKind, Vec<&'a Notice>, usize)> = Vec::new();
    for notice in &plan.notices {
        let kind = NoticeKind::of(notice);
        match kinds.iter_mut().find(|(seen, ..)| *seen == kind) {
            Some((.., total)) => *total += 1,
            None => kinds.push((kind, Vec::new(), 1)),
        }
    }
    for notice in listing.listed {
        let kind = NoticeKind::of(notice);
        if let Some((_, listed, _)) = kinds.iter_mut().find(|(seen, ..)| *seen == kind) {
            listed.push(notice);
        }
    }
    let warnings: Vec<String> = options
        .warnings
        .iter()
        .map(|warning| escape(&clip(warning, WARNING_CHARS)))
        .collect();
    let count = plan.notices.len() + warnings.len();
    if count == 0 {
        return;
    }
    doc.text(format!("\n**Warnings ({})**\n\n", thousands(count)));
    for (kind, listed, total) in kinds {
        let shown = listed.len();
        doc.list(
            shown,
            listed.into_iter().map(move |notice| item(line(notice))),
            Priority::Notices,
            move |kept| {
                let not_shown = total - kept;
                (not_shown > 0).then(|| item(more_notices(kind, not_shown, shown - kept)))
            },
        );
    }
    let total = warnings.len();
    doc.list(
        total,
        warnings.into_iter().map(item),
        Priority::Warnings,
        move |kept| {
            LeftOut {
                total,
                listed: total,
                guard: None,
            }
            .line(kept, "warnings", "")
        },
    );
}

/// The line that stands for the notices of one kind not shown, `cut` of them for the
/// comment's length.
fn more_notices(kind: NoticeKind, more: usize, cut: usize) -> String {
    let count = thousands(more);
    let hint = if cut > 0 {
        format!(
            "not shown: the comment would pass GitHub's limit of {} characters; `--format json` has every change",
            thousands(GITHUB_COMMENT_LIMIT)
        )
    } else {
        SHOW_ALL.to_string()
    };
    match kind {
        NoticeKind::RenameNotFound => format!(
            "… and {count} more users renamed from a key no live user has: they will be created ({hint})"
        ),
        NoticeKind::EmailUnverified => format!(
            "… and {count} more users whose email changes, which clears its verification, while `email_verified` is not managed ({hint})"
        ),
        NoticeKind::PhotoCopy => format!(
            "… and {count} more users whose pool photo is on Authing's CDN, most likely its copy of the declared one; not sent again ({hint})"
        ),
        NoticeKind::PhoneNotWhitelisted => format!(
            "… and {count} more new users who register with a phone the whitelist will not list while it is on: Authing will refuse them ({hint})"
        ),
        NoticeKind::Other(_) => {
            format!("… and {count} more like the one above ({hint})")
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
        let left_out = LeftOut {
            total: deletes.len(),
            listed,
            guard: (listed < deletes.len()).then(|| {
                format!(
                    "{} deletions exceed the deletion limit of {}, so apply refuses this plan",
                    thousands(deletes.len()),
                    limit(self.listing.deletions_allowed),
                )
            }),
        };
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
            move |kept| left_out.line(kept, "deletions", ""),
        );
        Self::close(doc);
    }

    fn creations<'a>(&'a self, doc: &mut Doc<'a>, creates: &'a [&'a Create]) {
        if creates.is_empty() {
            return;
        }
        Self::open(doc, "Creations", creates.len());
        let listed = self.listing.listed(creates.len());
        let left_out = LeftOut {
            total: creates.len(),
            listed,
            guard: None,
        };
        let grouped = listed < creates.len();
        let more = if grouped {
            format!("; all {} by declared field:", thousands(creates.len()))
        } else {
            String::new()
        };
        doc.list(
            listed,
            creates[..listed]
                .iter()
                .map(move |create| self.creation(create)),
            Priority::Changes,
            move |kept| left_out.line(kept, "creations", &more),
        );
        if grouped {
            let mut text = String::new();
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
        let left_out = LeftOut {
            total: updates.len(),
            listed,
            guard: None,
        };
        let grouped = listed < updates.len();
        let more = if grouped {
            format!("; all {} by changed field:", thousands(updates.len()))
        } else {
            String::new()
        };
        doc.list(
            listed,
            updates[..listed]
                .iter()
                .map(move |update| self.update(update)),
            Priority::Changes,
            move |kept| left_out.line(kept, "updates", &more),
        );
        if grouped {
            let mut text = String::new();
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
        let left_out = LeftOut {
            total: changes.len(),
            listed,
            guard: None,
        };
        let grouped = listed < changes.len();
        let more = if grouped {
            format!("; all {} by direction:", thousands(changes.len()))
        } else {
            String::new()
        };
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
            move |kept| left_out.line(kept, "MFA changes", &more),
        );
        if grouped {
            let mut text = String::new();
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
        let left_out = LeftOut {
            total: adds.len(),
            listed,
            guard: None,
        };
        doc.list(
            listed,
            self.phones("add", &adds[..listed]),
            Priority::Changes,
            move |kept| {
                let sample = adds
                    .get(kept)
                    .map(|entry| format!(", e.g. {}", self.phone(&entry.phone)))
                    .unwrap_or_default();
                left_out.line(kept, "additions", &sample)
            },
        );
        let listed = self.listing.removals(removes.len());
        let left_out = LeftOut {
            total: removes.len(),
            listed,
            guard: (listed < removes.len()).then(|| {
                format!(
                    "{} whitelist removals exceed the deletion limit of {}, so apply refuses this plan",
                    thousands(removes.len()),
                    limit(self.listing.removals_allowed),
                )
            }),
        };
        doc.list(
            listed,
            self.phones("remove", &removes[..listed]),
            Priority::Deletions,
            move |kept| left_out.line(kept, "removals", ""),
        );
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

/// A deletion limit as the plan states it.
fn limit(allowed: u64) -> String {
    usize::try_from(allowed).map_or_else(|_| allowed.to_string(), thousands)
}

fn origin(origin: &crate::model::Origin) -> String {
    shown(&origin.to_string())
}

/// A value as inline code: hidden characters escaped (line breaks and tabs as `\n`, `\r`,
/// `\t`, as the human plan shows them), then cut to [`VALUE_CHARS`] between escapes.
fn shown(text: &str) -> String {
    code(&visible_clipped(text, VALUE_CHARS))
}

/// Inline code that survives backticks in the value: the fence is one backtick longer than the
/// longest run inside, as CommonMark allows.
fn code(text: &str) -> String {
    let text = visible(text);
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
    let text = visible(text);
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
        assert_eq!(super::code("two\r\nlines\t"), "`two\\r\\nlines\\t`");
        assert_eq!(
            super::code("a\u{1b}[2Jb\u{202e}"),
            "`a\\u{1b}[2Jb\\u{202e}`"
        );
    }
}
