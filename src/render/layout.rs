//! How much of a large plan the human and Markdown renderers list, and what they say about the
//! rest. Up to [`GROUP_ABOVE`] changes of one kind are listed in full; above it, the first
//! [`LISTED_WHEN_GROUPED`] are, and the kind is summarised per changed field with a count and a
//! sample, so that a reviewer sees in seconds what a 50,000-change plan does. `--show all` or
//! `--show N` chooses otherwise. Deletions (and whitelist removals) are what a reviewer must see:
//! they are always listed in full up to the deletion guard's limit, whatever `--show` says.
//!
//! This module only counts and picks; it formats nothing.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::model::{Field, FieldRef};
use crate::plan::{
    Change, Create, Delete, FieldChange, MfaChange, MfaTarget, Notice, Plan, Update,
    WhitelistPhone, WhitelistSwitch,
};

/// A kind with more changes than this is grouped (unless `--show` says otherwise).
pub const GROUP_ABOVE: usize = 100;
/// How many changes of a grouped kind are listed in full before the summary.
pub const LISTED_WHEN_GROUPED: usize = 5;

/// `--show`: how many changes of each kind to list in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Show {
    /// Every change of a kind that has at most [`GROUP_ABOVE`]; else the first
    /// [`LISTED_WHEN_GROUPED`] and a summary.
    #[default]
    Auto,
    /// Every change.
    All,
    /// The first N of each kind, then a summary.
    First(usize),
}

impl Show {
    /// How many of `count` changes of one kind to list in full.
    pub fn listed(self, count: usize) -> usize {
        match self {
            Show::Auto if count <= GROUP_ABOVE => count,
            Show::Auto => LISTED_WHEN_GROUPED,
            Show::All => count,
            Show::First(first) => first.min(count),
        }
    }
}

impl FromStr for Show {
    type Err = String;

    fn from_str(text: &str) -> Result<Show, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("all") {
            return Ok(Show::All);
        }
        text.parse::<usize>()
            .map(Show::First)
            .map_err(|_| format!("expected `all` or a number of changes, not {text:?}"))
    }
}

impl fmt::Display for Show {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Show::Auto => write!(
                f,
                "all up to {GROUP_ABOVE} of a kind, else {LISTED_WHEN_GROUPED}"
            ),
            Show::All => f.write_str("all"),
            Show::First(first) => write!(f, "{first}"),
        }
    }
}

/// What to list of each kind: `--show`, and the deletion guard's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listing {
    pub show: Show,
    /// How many user deletions the guard allows for this plan: listed in full up to this many.
    pub deletions_allowed: u64,
    /// How many whitelist removals the guard allows for this plan.
    pub removals_allowed: u64,
}

impl Default for Listing {
    fn default() -> Self {
        Listing {
            show: Show::Auto,
            deletions_allowed: crate::apply::DEFAULT_MAX_DELETES,
            removals_allowed: crate::apply::DEFAULT_MAX_DELETES,
        }
    }
}

impl Listing {
    /// How many of `count` changes of a kind that is not a deletion to list.
    pub fn listed(&self, count: usize) -> usize {
        self.show.listed(count)
    }

    /// How many of `count` user deletions to list: all of them up to the guard's limit.
    pub fn deletions(&self, count: usize) -> usize {
        guarded(self.show, count, self.deletions_allowed)
    }

    /// How many of `count` whitelist removals to list: all of them up to the guard's limit.
    pub fn removals(&self, count: usize) -> usize {
        guarded(self.show, count, self.removals_allowed)
    }
}

fn guarded(show: Show, count: usize, allowed: u64) -> usize {
    let allowed = usize::try_from(allowed).unwrap_or(usize::MAX);
    show.listed(count).max(allowed.min(count))
}

/// A plan's changes by kind, each in plan order. MFA changes, on and off, are one kind: they
/// are shown in one list, as the plan orders them.
#[derive(Debug, Default)]
pub struct Kinds<'a> {
    pub deletes: Vec<&'a Delete>,
    pub creates: Vec<&'a Create>,
    pub updates: Vec<&'a Update>,
    pub mfa: Vec<&'a MfaChange>,
    pub switch: Option<&'a WhitelistSwitch>,
    pub whitelist_add: Vec<&'a WhitelistPhone>,
    pub whitelist_remove: Vec<&'a WhitelistPhone>,
}

impl<'a> Kinds<'a> {
    pub fn of(plan: &'a Plan) -> Kinds<'a> {
        let mut kinds = Kinds::default();
        for change in &plan.changes {
            match change {
                Change::Delete(delete) => kinds.deletes.push(delete),
                Change::Create(create) => kinds.creates.push(create),
                Change::Update(update) => kinds.updates.push(update),
                Change::Mfa(mfa) => kinds.mfa.push(mfa),
                Change::WhitelistSwitch(switch) => kinds.switch = Some(switch),
                Change::WhitelistAdd(entry) => kinds.whitelist_add.push(entry),
                Change::WhitelistRemove(entry) => kinds.whitelist_remove.push(entry),
            }
        }
        // Deletions and whitelist phones come in the pool's order, which no one chose: list
        // them as a person sorts, `user9` before `user10`. The rest keep the manifests' order.
        kinds
            .deletes
            .sort_by(|a, b| natural_cmp(&a.label, &b.label));
        kinds
            .whitelist_add
            .sort_by(|a, b| natural_cmp(&a.phone, &b.phone));
        kinds
            .whitelist_remove
            .sort_by(|a, b| natural_cmp(&a.phone, &b.phone));
        kinds
    }
}

/// How many changes of a kind touch one field, and one of them to show.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldTally<S> {
    pub field: Field,
    pub count: usize,
    pub sample: S,
}

/// The fields of a grouped kind, most common first (ties in the order they first appear).
fn tally<T, S>(
    items: &[T],
    listed: usize,
    fields: impl Fn(&T) -> Vec<(Field, S)>,
) -> Vec<FieldTally<S>> {
    // (tally, whether the sample comes from a change that is not listed in full)
    let mut tallies: Vec<(FieldTally<S>, bool)> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let unlisted = index >= listed;
        for (field, sample) in fields(item) {
            match tallies.iter_mut().find(|(tally, _)| tally.field == field) {
                Some((tally, from_unlisted)) => {
                    tally.count += 1;
                    // A sample the reader has not already seen above is worth more.
                    if unlisted && !*from_unlisted {
                        tally.sample = sample;
                        *from_unlisted = true;
                    }
                }
                None => tallies.push((
                    FieldTally {
                        field,
                        count: 1,
                        sample,
                    },
                    unlisted,
                )),
            }
        }
    }
    let mut tallies: Vec<FieldTally<S>> = tallies.into_iter().map(|(tally, _)| tally).collect();
    tallies.sort_by_key(|tally| std::cmp::Reverse(tally.count));
    tallies
}

/// Updates per changed field, each with one update that changes it.
pub fn update_fields<'a>(
    updates: &[&'a Update],
    listed: usize,
) -> Vec<FieldTally<(&'a Update, &'a FieldChange)>> {
    tally(updates, listed, |update| {
        update
            .fields
            .iter()
            .map(|change| (change.field, (*update, change)))
            .collect()
    })
}

/// Creations per declared field, each with one creation that declares it.
pub fn create_fields<'a>(
    creates: &[&'a Create],
    listed: usize,
) -> Vec<FieldTally<(&'a Create, FieldRef<'a>)>> {
    tally(creates, listed, |create| {
        create
            .profile
            .fields()
            .map(|(field, value)| (field, (*create, value)))
            .collect()
    })
}

/// MFA changes counted by direction, with the first unlisted user of each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MfaTally<'a> {
    pub count: usize,
    /// Of which for users this plan creates.
    pub new_users: usize,
    pub sample: Option<&'a MfaChange>,
}

/// (turned on, turned off).
pub fn mfa_directions<'a>(
    changes: &[&'a MfaChange],
    listed: usize,
) -> (MfaTally<'a>, MfaTally<'a>) {
    let mut on = MfaTally::default();
    let mut off = MfaTally::default();
    // Whether each direction's sample is one not listed above.
    let mut unlisted_sample = [false, false];
    for (index, change) in changes.iter().enumerate() {
        let (tally, unlisted) = if change.enable {
            (&mut on, &mut unlisted_sample[0])
        } else {
            (&mut off, &mut unlisted_sample[1])
        };
        tally.count += 1;
        if matches!(change.target, MfaTarget::New) {
            tally.new_users += 1;
        }
        if tally.sample.is_none() || (index >= listed && !*unlisted) {
            tally.sample = Some(change);
            *unlisted = index >= listed;
        }
    }
    (on, off)
}

/// The manifests a kind came from, most changes first: `(file, count)`.
pub fn sources<'a, T>(
    items: &[T],
    origin: impl Fn(&T) -> Option<&'a Path>,
) -> Vec<(&'a Path, usize)> {
    let mut counts: Vec<(&'a Path, usize)> = Vec::new();
    for item in items {
        let Some(file) = origin(item) else {
            continue;
        };
        match counts.iter_mut().find(|(seen, _)| *seen == file) {
            Some((_, count)) => *count += 1,
            None => counts.push((file, 1)),
        }
    }
    counts.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    counts
}

/// What notices are grouped by: notices of one kind read alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    PhoneNotWhitelisted,
    RenameNotFound,
    EmailUnverified,
    PhotoCopy,
    /// Any other kind (one per variant).
    Other(std::mem::Discriminant<Notice>),
}

impl NoticeKind {
    pub fn of(notice: &Notice) -> NoticeKind {
        match notice {
            Notice::PhoneNotWhitelisted { .. } => NoticeKind::PhoneNotWhitelisted,
            Notice::RenameNotFound { .. } => NoticeKind::RenameNotFound,
            Notice::EmailUnverified { .. } => NoticeKind::EmailUnverified,
            Notice::PhotoCopy { .. } => NoticeKind::PhotoCopy,
            other => NoticeKind::Other(std::mem::discriminant(other)),
        }
    }
}

/// The notices to list, in plan order, and per kind how many more there are.
#[derive(Debug, Default)]
pub struct NoticeListing<'a> {
    pub listed: Vec<&'a Notice>,
    /// Kinds with notices not listed, in the order the kinds first appear: (kind, how many).
    pub more: Vec<(NoticeKind, usize)>,
}

/// Picks the notices to list: per kind, as many as `show` lists of that many.
pub fn notices(notices: &[Notice], show: Show) -> NoticeListing<'_> {
    let mut counts: Vec<(NoticeKind, usize)> = Vec::new();
    for notice in notices {
        let kind = NoticeKind::of(notice);
        match counts.iter_mut().find(|(seen, _)| *seen == kind) {
            Some((_, count)) => *count += 1,
            None => counts.push((kind, 1)),
        }
    }
    let mut seen: Vec<(NoticeKind, usize)> = Vec::new();
    let mut listing = NoticeListing::default();
    for notice in notices {
        let kind = NoticeKind::of(notice);
        let total = counts
            .iter()
            .find(|(seen, _)| *seen == kind)
            .map_or(0, |(_, count)| *count);
        let index = match seen.iter_mut().find(|(seen, _)| *seen == kind) {
            Some((_, count)) => {
                *count += 1;
                *count - 1
            }
            None => {
                seen.push((kind, 1));
                0
            }
        };
        if index < show.listed(total) {
            listing.listed.push(notice);
        }
    }
    listing.more = counts
        .into_iter()
        .filter_map(|(kind, count)| {
            let more = count - show.listed(count);
            (more > 0).then_some((kind, more))
        })
        .collect();
    listing
}

/// Compares text as a person sorts it: runs of ASCII digits by their number (`user9` before
/// `user10`), the rest character by character; text that compares equal so (`user01`,
/// `user1`) falls back to plain order, so the order is total and stable.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) if p.is_ascii_digit() && q.is_ascii_digit() => {
                let run = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
                let (m, n) = (run(x), run(y));
                let trim = |digits: &[u8]| {
                    let zeros = digits.iter().take_while(|c| **c == b'0').count();
                    digits[zeros..].to_vec()
                };
                let (p, q) = (trim(&x[..m]), trim(&y[..n]));
                let order = p.len().cmp(&q.len()).then_with(|| p.cmp(&q));
                if order != Ordering::Equal {
                    return order;
                }
                x = &x[m..];
                y = &y[n..];
            }
            (Some(p), Some(q)) => {
                if p != q {
                    return p.cmp(q);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

/// `51000` as `51,000`.
pub fn thousands(number: usize) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// At most `max` characters of `text`, with `…` where it was cut.
pub fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(text),
        Some(_) => {
            let keep: String = text.chars().take(max.saturating_sub(1)).collect();
            std::borrow::Cow::Owned(format!("{keep}…"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_lists_all_small_kinds_and_a_few_of_large_ones() {
        assert_eq!(Show::Auto.listed(0), 0);
        assert_eq!(Show::Auto.listed(GROUP_ABOVE), GROUP_ABOVE);
        assert_eq!(Show::Auto.listed(GROUP_ABOVE + 1), LISTED_WHEN_GROUPED);
        assert_eq!(Show::All.listed(50_000), 50_000);
        assert_eq!(Show::First(20).listed(50_000), 20);
        assert_eq!(Show::First(20).listed(3), 3);
    }

    #[test]
    fn show_parses_all_or_a_number() {
        assert_eq!("all".parse(), Ok(Show::All));
        assert_eq!("ALL".parse(), Ok(Show::All));
        assert_eq!("25".parse(), Ok(Show::First(25)));
        assert_eq!("0".parse(), Ok(Show::First(0)));
        let err = "some".parse::<Show>().unwrap_err();
        assert!(err.contains("`all` or a number"), "{err}");
        assert!("-1".parse::<Show>().is_err());
    }

    #[test]
    fn deletions_are_listed_up_to_the_guard_whatever_show_says() {
        let listing = Listing {
            show: Show::First(0),
            deletions_allowed: 500,
            removals_allowed: 10,
        };
        assert_eq!(listing.deletions(400), 400);
        assert_eq!(listing.deletions(41_000), 500);
        assert_eq!(listing.removals(8), 8);
        assert_eq!(listing.removals(30), 10);
        assert_eq!(listing.listed(30), 0);
        let all = Listing {
            show: Show::All,
            ..listing
        };
        assert_eq!(all.deletions(41_000), 41_000);
        let auto = Listing {
            show: Show::Auto,
            deletions_allowed: 10,
            removals_allowed: 10,
        };
        // Below the grouping threshold everything is listed even above the guard.
        assert_eq!(auto.deletions(60), 60);
        assert_eq!(auto.deletions(41_000), 10);
        let huge = Listing {
            deletions_allowed: u64::MAX,
            ..auto
        };
        assert_eq!(huge.deletions(41_000), 41_000);
    }

    #[test]
    fn natural_order_compares_digit_runs_as_numbers() {
        let mut names = vec![
            "user10990",
            "user1098",
            "user10989",
            "user2",
            "user02",
            "user",
            "admin7",
            "user2b",
            "李雷10",
            "李雷9",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            [
                "admin7",
                "user",
                "user02",
                "user2",
                "user2b",
                "user1098",
                "user10989",
                "user10990",
                "李雷9",
                "李雷10"
            ]
        );
    }

    #[test]
    fn numbers_have_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(51_000), "51,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn clip_cuts_on_characters_and_says_so() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("exactly10!", 10), "exactly10!");
        assert_eq!(clip("eleven chars", 10), "eleven ch…");
        assert_eq!(clip("汉字汉字汉字", 4), "汉字汉…");
    }

    #[test]
    fn tallies_count_every_change_and_prefer_unlisted_samples() {
        let items = ["a", "b", "c", "d"];
        let tallies = tally(&items, 2, |item| {
            let mut fields = vec![(Field::Nickname, *item)];
            if *item == "a" {
                fields.push((Field::Company, *item));
            }
            fields
        });
        assert_eq!(
            tallies,
            vec![
                FieldTally {
                    field: Field::Nickname,
                    count: 4,
                    sample: "c"
                },
                FieldTally {
                    field: Field::Company,
                    count: 1,
                    sample: "a"
                },
            ]
        );
    }
}
