//! The plan as Markdown for a pull-request comment: the summary table first, a loud line when
//! users will be deleted, then one folded `<details>` section per kind of change, deletions
//! first, each list cut with "and N more".

use std::fmt::Write;

use crate::model::{Field, FieldValue, MatchOn};
use crate::plan::{Change, MfaTarget, Notice, Plan};

use super::escape::visible;
use super::human::{PlanCost, summary_line};
use super::mask::Masker;

/// Items shown per section before "and N more".
pub const DEFAULT_LIMIT: usize = 50;

#[derive(Debug, Clone)]
pub struct MarkdownOptions {
    pub masker: Masker,
    pub limit: usize,
    pub cost: Option<PlanCost>,
    pub warnings: Vec<String>,
}

impl Default for MarkdownOptions {
    fn default() -> Self {
        Self {
            masker: Masker::off(),
            limit: DEFAULT_LIMIT,
            cost: None,
            warnings: Vec::new(),
        }
    }
}

pub fn render(plan: &Plan, options: &MarkdownOptions) -> String {
    let mut out = String::from("### authing-sync plan\n\n");
    let summary = plan.summary();
    if plan.is_empty() {
        out.push_str("**No changes.** The pool matches the manifests.\n");
    } else {
        out.push_str("| change | count |\n|---|---:|\n");
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
            let _ = writeln!(out, "| {name} | {count} |");
        }
        if let Some(enabled) = summary.whitelist_switch {
            let _ = writeln!(
                out,
                "| whitelist switch | {} |",
                if enabled { "on" } else { "off" }
            );
        }
        out.push('\n');
        if summary.delete > 0 {
            let _ = writeln!(
                out,
                "> [!WARNING]\n> **{} user{} will be deleted.**\n",
                summary.delete,
                if summary.delete == 1 { "" } else { "s" }
            );
        }
        let sections = Sections {
            plan,
            masker: options.masker,
            match_on: plan.match_on,
        };
        for (title, items) in sections.all() {
            write_section(&mut out, title, &items, options.limit);
        }
        let _ = writeln!(out, "**{}**", summary_line(&summary));
    }
    let notices: Vec<String> = plan
        .notices
        .iter()
        .map(|notice| match notice {
            Notice::RenameNotFound {
                key, renamed_from, ..
            } => format!(
                "{} is renamed from {}, which no live user has: it will be created",
                code(&options.masker.user(key.as_str(), plan.match_on)),
                code(&options.masker.user(renamed_from.as_str(), plan.match_on))
            ),
            Notice::EmailUnverified { key, .. } => format!(
                "{}: the email changes, which clears its verification, and `email_verified` is not managed",
                code(&options.masker.user(key.as_str(), plan.match_on))
            ),
            Notice::DeletesSuppressed { reason } => {
                format!("no deletions planned: {}", escape(reason))
            }
            Notice::Unkeyed { users, match_on } => format!(
                "{users} live users have no {match_on}: no manifest can declare them, and prune leaves them alone"
            ),
            Notice::PhoneNotWhitelisted { key, phone, .. } => format!(
                "{} registers with the phone {}, which the whitelist will not list while it is on: Authing will refuse it",
                code(&options.masker.user(key.as_str(), plan.match_on)),
                code(&options.masker.phone(phone))
            ),
            Notice::PhotoCopy { key, .. } => format!(
                "{}: the pool's photo is on Authing's CDN, most likely its copy of the declared one; not sent again",
                code(&options.masker.user(key.as_str(), plan.match_on))
            ),
        })
        .chain(options.warnings.iter().map(|warning| escape(warning)))
        .collect();
    if !notices.is_empty() {
        out.push_str("\n**Warnings**\n\n");
        for notice in notices {
            let _ = writeln!(out, "- :warning: {notice}");
        }
    }
    if let Some(cost) = &options.cost {
        let _ = writeln!(
            out,
            "\n<sub>Read {} users with {} API calls in {:.1}s.</sub>",
            cost.users,
            cost.requests,
            cost.elapsed.as_secs_f64()
        );
        if let Some(mfa) = &cost.mfa {
            let _ = writeln!(out, "\n<sub>{}</sub>", super::mfa::line(mfa));
        }
    }
    out
}

fn write_section(out: &mut String, title: &str, items: &[String], limit: usize) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<details><summary>{title} ({})</summary>\n",
        items.len()
    );
    for item in items.iter().take(limit) {
        let _ = writeln!(out, "- {item}");
    }
    if items.len() > limit {
        let _ = writeln!(out, "- … and {} more", items.len() - limit);
    }
    out.push_str("\n</details>\n\n");
}

struct Sections<'a> {
    plan: &'a Plan,
    masker: Masker,
    match_on: MatchOn,
}

impl Sections<'_> {
    fn all(&self) -> Vec<(&'static str, Vec<String>)> {
        let mut deletes = Vec::new();
        let mut creates = Vec::new();
        let mut updates = Vec::new();
        let mut mfa = Vec::new();
        let mut whitelist = Vec::new();
        for change in &self.plan.changes {
            match change {
                Change::Delete(delete) => deletes.push(format!(
                    "{} (id {})",
                    self.user(&delete.label),
                    code(delete.id.as_str())
                )),
                Change::Create(create) => {
                    let fields: Vec<String> = create
                        .profile
                        .fields()
                        .filter(|(field, _)| Some(*field) != Some(self.match_on.field()))
                        .map(|(field, value)| {
                            format!("{field}: {}", self.value(field, &value.to_owned()))
                        })
                        .collect();
                    let details = if fields.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", fields.join(", "))
                    };
                    creates.push(format!(
                        "{}{details} · {}",
                        self.user(create.key.as_str()),
                        origin(&create.origin)
                    ));
                }
                Change::Update(update) => {
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
                            let before = change.before.as_ref().map_or_else(
                                || "_none_".into(),
                                |value| self.value(change.field, value),
                            );
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
                    updates.push(format!(
                        "{}{renamed} — {} · {}",
                        self.user(update.key.as_str()),
                        fields.join(", "),
                        origin(&update.origin)
                    ));
                }
                Change::Mfa(change) => {
                    let new = if matches!(change.target, MfaTarget::New) {
                        " (new user)"
                    } else {
                        ""
                    };
                    mfa.push(format!(
                        "{}{new}: MFA {} · {}",
                        self.user(change.key.as_str()),
                        if change.enable { "on" } else { "off" },
                        origin(&change.origin)
                    ));
                }
                Change::WhitelistSwitch(switch) => whitelist.push(format!(
                    "switch: {} → {}",
                    if switch.from { "on" } else { "off" },
                    if switch.to { "on" } else { "off" }
                )),
                Change::WhitelistAdd(entry) => {
                    whitelist.push(format!("add {}", code(&self.masker.phone(&entry.phone))))
                }
                Change::WhitelistRemove(entry) => {
                    whitelist.push(format!("remove {}", code(&self.masker.phone(&entry.phone))))
                }
            }
        }
        vec![
            ("Deletions", deletes),
            ("Creations", creates),
            ("Updates", updates),
            ("MFA", mfa),
            ("Whitelist", whitelist),
        ]
    }

    fn user(&self, name: &str) -> String {
        code(&self.masker.user(name, self.match_on))
    }

    fn value(&self, field: Field, value: &FieldValue) -> String {
        code(&self.masker.value(field, value))
    }
}

fn origin(origin: &crate::model::Origin) -> String {
    code(&origin.to_string())
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
