//! The plan as versioned JSON (`format_version: 1`): what `plan --format json` prints and what
//! `plan --out` saves for `apply --plan`. The shape is a contract with scripts, so it is kept
//! apart from the in-memory [`Plan`] and converted both ways. It never holds a secret: a
//! password shows as `(sensitive)` and is named only by where it comes from. A saved file is
//! sealed: it records the prune policy it was made under and a SHA-256 `digest` of its content,
//! which `apply --plan` checks ([`PlanFile::tampering`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::{
    Field, FieldValue, MatchOn, Origin, ProfileBuilder, SourceFile, UserId, UserKey,
};
use crate::secret::REDACTED;

use super::{
    Action, Change, Create, Delete, FieldChange, Fingerprint, MfaChange, MfaReads, MfaTarget,
    Notice, PasswordPlan, Plan, Summary, Update, WhitelistPhone, WhitelistSwitch,
};

pub const FORMAT_VERSION: u32 = 1;

/// The pool a plan was made against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRef {
    /// The endpoint without query, fragment or user info (`secret::endpoint_without_secrets`),
    /// or `local`.
    pub endpoint: String,
    pub client_id: String,
    /// The API the plan was made through (`v1`, `v3`); absent in files written before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
}

/// A manifest file the plan was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRef {
    pub path: PathBuf,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginEntry {
    pub file: PathBuf,
    pub line: u32,
}

/// A value going from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FromTo {
    pub from: Value,
    pub to: Value,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEntry {
    pub action: Action,
    /// The user's key (a delete shows the user's email, username or id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A rename: the key the user holds before the update (the key's field is among `fields`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// How a deleted user is shown (email, else username, else id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub fields: IndexMap<String, FromTo>,
    /// `env:NAME`, `manifest` or `generated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<OriginEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
}

/// Something shown, not acted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeEntry {
    pub kind: String,
    pub message: String,
}

/// The prune policy a plan was made under: the only deletions `apply --plan` carries out are of
/// users it allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneEntry {
    /// `prune.scope`: only users whose email matches may be deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `prune.protect`: users whose email, username or id matches are never deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protect: Vec<String>,
    /// Where prune was declared (none for `--prune` alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<OriginEntry>,
}

/// The whole file. `C` holds its changes: the entries themselves when the file is read or built
/// whole, or [`StreamedChanges`] when it is written from a plan one change at a time. One
/// definition, so both write the same fields in the same order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFile<C = Vec<ChangeEntry>> {
    pub format_version: u32,
    pub created_at: String,
    pub tool_version: String,
    pub pool: PoolRef,
    pub match_on: MatchOn,
    pub live_users: usize,
    /// How many phones the whitelist held (when it was read).
    #[serde(default)]
    pub live_phones: usize,
    pub summary: Summary,
    /// How the MFA switches the plan compared were known: read now, or from the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_states: Option<MfaReads>,
    pub changes: C,
    #[serde(default)]
    pub notices: Vec<NoticeEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whitelist_fingerprint: Option<Fingerprint>,
    #[serde(default)]
    pub manifests: Vec<ManifestRef>,
    /// The manifests' `prune.max_deletes`, which `apply --plan` enforces unless overridden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_deletes: Option<String>,
    /// The prune policy the plan was made under (`None`: no prune, so no deletions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<PruneEntry>,
    /// A SHA-256 over everything above, written by `plan --out`: `apply --plan` refuses a file
    /// whose digest is missing or does not match (an edited plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PlanFileError {
    #[error("failed to read the plan file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to write the plan file {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: not a plan file: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: plan format version {found} is not supported (this build reads version {FORMAT_VERSION})", path.display())]
    #[diagnostic(help("make the plan again with this version of authing-sync"))]
    Version { path: PathBuf, found: u32 },
    #[error("{}: change {index}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        index: usize,
        message: String,
    },
}

impl PlanFile {
    /// The file form of a plan.
    pub fn new(plan: &Plan, pool: PoolRef, sources: &[SourceFile]) -> Self {
        PlanFile {
            changes: plan.changes.iter().map(entry).collect(),
            ..PlanFile::header(plan, pool, sources)
        }
    }

    /// The file form of a plan without its changes: what [`write_streamed`](Self::write_streamed)
    /// completes with the plan's changes, one at a time, so that a plan of a million changes is
    /// never held twice (as changes and as entries) nor as one text.
    pub fn header(plan: &Plan, pool: PoolRef, sources: &[SourceFile]) -> Self {
        PlanFile {
            format_version: FORMAT_VERSION,
            created_at: jiff::Timestamp::now().to_string(),
            tool_version: crate::VERSION.to_string(),
            pool,
            match_on: plan.match_on,
            live_users: plan.live_users,
            live_phones: plan.live_phones,
            summary: plan.summary(),
            mfa_states: None,
            changes: Vec::new(),
            notices: plan.notices.iter().map(notice_entry).collect(),
            whitelist_fingerprint: plan.whitelist_fingerprint.clone(),
            manifests: sources
                .iter()
                .map(|source| ManifestRef {
                    path: source.path.to_path_buf(),
                    sha256: source.sha256.clone(),
                })
                .collect(),
            max_deletes: None,
            prune: None,
            digest: None,
        }
    }

    /// The digest of the file's content: a SHA-256 of its JSON without the `digest` itself.
    pub fn content_digest(&self) -> String {
        let mut unsealed = self.clone();
        unsealed.digest = None;
        // A file that cannot be serialized has no digest it could match.
        unsealed.unsealed_digest().unwrap_or_default()
    }

    /// Why the file is not as `plan` wrote it, if it is not: no digest, or one that does not
    /// match its content (a hand edit).
    pub fn tampering(&self) -> Option<String> {
        match &self.digest {
            None => Some("it has no `digest` (plan files are written by `plan --out`)".into()),
            Some(digest) if *digest != self.content_digest() => Some(
                "its content does not match its `digest`: the file was edited after `plan --out` wrote it".into(),
            ),
            Some(_) => None,
        }
    }

    /// The file's text. Characters that are never shown as themselves (DEL, C1 and bidi
    /// controls, which serde_json leaves raw) are written as `\uXXXX` escapes: the text is
    /// safe to show and reads back the same.
    pub fn to_json(&self) -> String {
        let mut sealed = self.clone();
        sealed.digest = Some(self.content_digest());
        let mut text = serde_json::to_string_pretty(&sealed)
            .unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"));
        text.push('\n');
        crate::render::escape::json(text)
    }

    /// Writes the file atomically (a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> Result<(), PlanFileError> {
        crate::atomic::write(path, self.to_json().as_bytes()).map_err(|source| {
            PlanFileError::Write {
                path: path.to_path_buf(),
                source,
            }
        })
    }

    /// Writes the text of this file with `plan`'s changes after its own (a [`header`](Self::header)
    /// has none), each made into its entry, passed through `edit` and written before the next is
    /// made. The bytes are those of [`to_json`](Self::to_json) of the whole file.
    pub fn write_streamed(
        &self,
        plan: &Plan,
        edit: &dyn Fn(&mut ChangeEntry),
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let mut streamed = self.with_changes(StreamedChanges {
            written: &self.changes,
            changes: &plan.changes,
            edit,
        });
        streamed.write_sealed(out)
    }

    /// Saves this file with `plan`'s changes (see [`write_streamed`](Self::write_streamed)),
    /// atomically.
    pub fn save_streamed(&self, plan: &Plan, path: &Path) -> Result<(), PlanFileError> {
        let written =
            crate::atomic::write_with(path, |out| self.write_streamed(plan, &|_| {}, out));
        written.map_err(|source| PlanFileError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    pub fn load(path: &Path) -> Result<PlanFile, PlanFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlanFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let version: VersionProbe =
            serde_json::from_str(&text).map_err(|err| syntax(path, &err))?;
        if version.format_version != FORMAT_VERSION {
            return Err(PlanFileError::Version {
                path: path.to_path_buf(),
                found: version.format_version,
            });
        }
        serde_json::from_str(&text).map_err(|err| syntax(path, &err))
    }

    /// The in-memory plan this file describes.
    pub fn to_plan(&self, path: &Path) -> Result<Plan, PlanFileError> {
        let changes = self
            .changes
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                change(entry).map_err(|message| PlanFileError::Invalid {
                    path: path.to_path_buf(),
                    index,
                    message,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Plan {
            changes,
            // Notices are for reading; apply does not need them back.
            notices: Vec::new(),
            match_on: self.match_on,
            live_users: self.live_users,
            live_phones: self.live_phones,
            whitelist_fingerprint: self.whitelist_fingerprint.clone(),
        })
    }
}

/// Text written into a SHA-256.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<C> PlanFile<C> {
    /// This file's header (every field but the changes, copied) with `changes` as its changes.
    fn with_changes<D>(&self, changes: D) -> PlanFile<D> {
        PlanFile {
            format_version: self.format_version,
            created_at: self.created_at.clone(),
            tool_version: self.tool_version.clone(),
            pool: self.pool.clone(),
            match_on: self.match_on,
            live_users: self.live_users,
            live_phones: self.live_phones,
            summary: self.summary,
            mfa_states: self.mfa_states.clone(),
            changes,
            notices: self.notices.clone(),
            whitelist_fingerprint: self.whitelist_fingerprint.clone(),
            manifests: self.manifests.clone(),
            max_deletes: self.max_deletes.clone(),
            prune: self.prune.clone(),
            digest: self.digest.clone(),
        }
    }
}

impl<C: Serialize> PlanFile<C> {
    /// The SHA-256 of the file's compact JSON as it stands (its `digest` left out when `None`),
    /// hashed as it is serialized: the text is never held.
    fn unsealed_digest(&self) -> serde_json::Result<String> {
        let mut hasher = HashWriter(Sha256::new());
        serde_json::to_writer(&mut hasher, self)?;
        Ok(hasher
            .0
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect())
    }

    /// Writes the file sealed as [`PlanFile::to_json`] seals it, in two passes over the changes:
    /// the first hashes the compact text without the digest (what
    /// [`content_digest`](PlanFile::content_digest) hashes), the second writes the pretty text
    /// with it. Neither holds the text whole.
    fn write_sealed(&mut self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.digest = None;
        self.digest = Some(self.unsealed_digest()?);
        let mut serializer =
            serde_json::Serializer::with_formatter(&mut *out, HiddenEscaped::default());
        self.serialize(&mut serializer)?;
        out.write_all(b"\n")
    }
}

/// The changes of a file written from a plan: the file's own entries, then the plan's changes,
/// each made into its entry, passed through `edit` and serialized before the next is made.
/// Serialized as the sequence `Vec<ChangeEntry>` would be.
pub struct StreamedChanges<'a> {
    written: &'a [ChangeEntry],
    changes: &'a [Change],
    edit: &'a dyn Fn(&mut ChangeEntry),
}

impl Serialize for StreamedChanges<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut out = serializer.serialize_seq(Some(self.written.len() + self.changes.len()))?;
        for written in self.written {
            out.serialize_element(written)?;
        }
        for change in self.changes {
            let mut made = entry(change);
            (self.edit)(&mut made);
            out.serialize_element(&made)?;
        }
        out.end()
    }
}

/// serde_json's pretty printer, with the hidden characters it leaves raw (DEL, C1, the format
/// characters) written as `\uXXXX`, as [`crate::render::escape::json`] does to a whole text.
#[derive(Default)]
struct HiddenEscaped(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for HiddenEscaped {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // serde_json escapes the C0 controls itself.
        let hidden = |c: char| c >= ' ' && crate::model::is_hidden(c);
        let mut rest = fragment;
        while let Some((at, c)) = rest.char_indices().find(|(_, c)| hidden(*c)) {
            writer.write_all(&rest.as_bytes()[..at])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    // The pretty layout is the inner formatter's.
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[derive(Deserialize)]
struct VersionProbe {
    format_version: u32,
}

fn syntax(path: &Path, err: &serde_json::Error) -> PlanFileError {
    let message = err.to_string();
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_string();
    PlanFileError::Syntax {
        path: path.to_path_buf(),
        line: err.line(),
        column: err.column(),
        message,
    }
}

fn value(value: Option<&FieldValue>) -> Value {
    match value {
        None => Value::Null,
        Some(FieldValue::Text(text)) => Value::from(text.as_str()),
        Some(FieldValue::Bool(flag)) => Value::from(*flag),
    }
}

pub(crate) fn origin_entry(origin: Option<&Origin>) -> Option<OriginEntry> {
    origin.map(|origin| OriginEntry {
        file: origin.file.to_path_buf(),
        line: origin.line,
    })
}

fn entry(change: &Change) -> ChangeEntry {
    let mut entry = ChangeEntry {
        action: change.action(),
        key: None,
        id: None,
        renamed_from: None,
        label: None,
        phone: None,
        fields: IndexMap::new(),
        password_source: None,
        origin: origin_entry(change.origin()),
        fingerprint: None,
    };
    match change {
        Change::Create(create) => {
            entry.key = Some(create.key.to_string());
            for (field, after) in create.profile.fields() {
                entry.fields.insert(
                    field.name().into(),
                    FromTo {
                        from: Value::Null,
                        to: value(Some(&after.to_owned())),
                    },
                );
            }
            entry.fields.insert(
                "password".into(),
                FromTo {
                    from: Value::Null,
                    to: Value::from(REDACTED),
                },
            );
            entry.password_source = Some(match &create.password {
                PasswordPlan::Env(name) => format!("env:{name}"),
                PasswordPlan::Manifest => "manifest".into(),
                PasswordPlan::Generated => "generated".into(),
            });
        }
        Change::Update(update) => {
            entry.key = Some(update.key.to_string());
            entry.id = Some(update.id.to_string());
            entry.renamed_from = update.renamed_from.as_ref().map(ToString::to_string);
            entry.fingerprint = Some(update.fingerprint.clone());
            for change in &update.fields {
                entry.fields.insert(
                    change.field.name().into(),
                    FromTo {
                        from: value(change.before.as_ref()),
                        to: value(Some(&change.after)),
                    },
                );
            }
        }
        Change::Delete(delete) => {
            entry.key = Some(delete.key.to_string());
            entry.label = Some(delete.label.clone());
            entry.id = Some(delete.id.to_string());
            entry.fingerprint = Some(delete.fingerprint.clone());
        }
        Change::Mfa(mfa) => {
            entry.key = Some(mfa.key.to_string());
            if let MfaTarget::Existing { id, fingerprint } = &mfa.target {
                entry.id = Some(id.to_string());
                entry.fingerprint = Some(fingerprint.clone());
            }
            entry.fields.insert(
                "mfa".into(),
                FromTo {
                    from: Value::from(!mfa.enable),
                    to: Value::from(mfa.enable),
                },
            );
        }
        Change::WhitelistAdd(phone) | Change::WhitelistRemove(phone) => {
            entry.phone = Some(phone.phone.clone())
        }
        Change::WhitelistSwitch(switch) => {
            entry.fields.insert(
                "enabled".into(),
                FromTo {
                    from: Value::from(switch.from),
                    to: Value::from(switch.to),
                },
            );
        }
    }
    entry
}

fn notice_entry(notice: &Notice) -> NoticeEntry {
    match notice {
        Notice::RenameNotFound {
            key,
            renamed_from,
            origin,
        } => NoticeEntry {
            kind: "rename_not_found".into(),
            message: format!(
                "{key} ({origin}) is renamed from {renamed_from}, which no live user has: {key} is created"
            ),
        },
        Notice::EmailUnverified { key, origin } => NoticeEntry {
            kind: "email_unverified".into(),
            message: format!(
                "{key} ({origin}): changing the email clears its verification, and `email_verified` is not managed"
            ),
        },
        Notice::PhoneUnverified { key, origin } => NoticeEntry {
            kind: "phone_unverified".into(),
            message: format!(
                "{key} ({origin}): changing the phone clears its verification, and `phone_verified` is not managed"
            ),
        },
        Notice::DeletesSuppressed { reason } => NoticeEntry {
            kind: "deletes_suppressed".into(),
            message: format!("no deletions planned: {reason}"),
        },
        Notice::Unkeyed { users, match_on } => NoticeEntry {
            kind: "unkeyed_users".into(),
            message: format!(
                "{users} live users have no {match_on}: no manifest can declare them, and prune leaves them alone"
            ),
        },
        Notice::PhotoCopy {
            key,
            declared,
            live,
            origin,
        } => NoticeEntry {
            kind: "photo_cdn_copy".into(),
            message: format!(
                "{key}: the pool's photo `{live}` is on Authing's CDN, {origin} declares `{declared}`; most likely Authing's copy of it, not sent again"
            ),
        },
        Notice::WhitelistSpelling {
            phone,
            stored,
            managed,
        } => NoticeEntry {
            kind: "whitelist_spelling".into(),
            message: whitelist_spelling(phone, stored, *managed),
        },
        Notice::PhoneNotWhitelisted { key, phone, origin } => NoticeEntry {
            kind: "phone_not_whitelisted".into(),
            message: format!(
                "{key} registers with the phone {phone} ({origin}), which the whitelist will not list while it is on; Authing will refuse the registration"
            ),
        },
    }
}

/// The words of [`Notice::WhitelistSpelling`], shared by the renderers.
pub fn whitelist_spelling(phone: &str, stored: &str, managed: bool) -> String {
    format!(
        "the whitelist holds {phone} as `{stored}`, and Authing compares the stored text, so a registration with {phone} is refused; {}",
        if managed {
            format!("the plan adds {phone} and removes `{stored}`")
        } else {
            format!("add {phone} to the whitelist (list it under `whitelist.phones`)")
        }
    )
}

fn change(entry: &ChangeEntry) -> Result<Change, String> {
    let key = || {
        entry
            .key
            .as_deref()
            .map(UserKey::from_username)
            .ok_or_else(|| "no `key`".to_string())
    };
    let id = || {
        entry
            .id
            .as_deref()
            .map(UserId::new)
            .ok_or_else(|| "no `id`".to_string())
    };
    let fingerprint = || {
        entry
            .fingerprint
            .clone()
            .ok_or_else(|| "no `fingerprint`".to_string())
    };
    let phone = || entry.phone.clone().ok_or_else(|| "no `phone`".to_string());
    let origin = entry
        .origin
        .as_ref()
        .map(|origin| Origin::new(Arc::from(origin.file.as_path()), origin.line));
    let required_origin = || origin.clone().ok_or_else(|| "no `origin`".to_string());
    let flag = |name: &str| -> Result<bool, String> {
        entry
            .fields
            .get(name)
            .and_then(|change| change.to.as_bool())
            .ok_or_else(|| format!("no boolean `fields.{name}.to`"))
    };
    Ok(match entry.action {
        Action::Create => {
            let mut profile = ProfileBuilder::default();
            for (name, change) in &entry.fields {
                if name == "password" {
                    continue;
                }
                let field =
                    Field::from_name(name).ok_or_else(|| format!("unknown field `{name}`"))?;
                profile.set(field, field_value(field, &change.to)?.as_ref());
            }
            let password = match entry.password_source.as_deref() {
                Some("manifest") => PasswordPlan::Manifest,
                Some("generated") | None => PasswordPlan::Generated,
                Some(other) => match other.strip_prefix("env:") {
                    Some(name) if !name.is_empty() => PasswordPlan::Env(name.to_string()),
                    _ => return Err(format!("unknown `password_source` `{other}`")),
                },
            };
            Change::Create(Create {
                key: key()?,
                profile: profile.build(),
                password,
                origin: required_origin()?,
            })
        }
        Action::Update => {
            let fields = entry
                .fields
                .iter()
                .map(|(name, change)| {
                    let field =
                        Field::from_name(name).ok_or_else(|| format!("unknown field `{name}`"))?;
                    let before = if change.from.is_null() {
                        None
                    } else {
                        Some(field_value(field, &change.from)?)
                    };
                    Ok(FieldChange {
                        field,
                        before,
                        after: field_value(field, &change.to)?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            Change::Update(Update {
                key: key()?,
                id: id()?,
                fields,
                renamed_from: entry.renamed_from.as_deref().map(UserKey::from_username),
                origin: required_origin()?,
                fingerprint: fingerprint()?,
            })
        }
        Action::Delete => Change::Delete(Delete {
            id: id()?,
            key: key()?,
            label: entry
                .label
                .clone()
                .or_else(|| entry.key.clone())
                .unwrap_or_default(),
            origin,
            fingerprint: fingerprint()?,
        }),
        Action::MfaEnable | Action::MfaDisable => {
            let target = match &entry.id {
                Some(id) => MfaTarget::Existing {
                    id: UserId::new(id.as_str()),
                    fingerprint: fingerprint()?,
                },
                None => MfaTarget::New,
            };
            let enable = entry.action == Action::MfaEnable;
            if flag("mfa")? != enable {
                return Err("`fields.mfa.to` contradicts the action".into());
            }
            Change::Mfa(MfaChange {
                key: key()?,
                target,
                enable,
                origin: required_origin()?,
            })
        }
        Action::WhitelistAdd => Change::WhitelistAdd(WhitelistPhone {
            phone: phone()?,
            origin,
        }),
        Action::WhitelistRemove => Change::WhitelistRemove(WhitelistPhone {
            phone: phone()?,
            origin,
        }),
        Action::WhitelistSwitch => {
            let to = flag("enabled")?;
            Change::WhitelistSwitch(WhitelistSwitch {
                from: !to,
                to,
                origin: required_origin()?,
            })
        }
    })
}

fn field_value(field: Field, value: &Value) -> Result<FieldValue, String> {
    match (field.is_bool(), value) {
        (true, Value::Bool(flag)) => Ok(FieldValue::Bool(*flag)),
        (false, Value::String(text)) => Ok(FieldValue::Text(text.clone())),
        _ => Err(format!("`{field}` has a value of the wrong type: {value}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::is_hidden;

    #[test]
    fn hidden_characters_are_escaped_and_read_back() {
        let value = "evil\u{202e}gnp.exe\u{85}\u{1b}\u{7f}";
        let text = crate::render::escape::json(
            serde_json::to_string_pretty(&serde_json::json!({"a": [value]})).unwrap(),
        );
        assert!(!text.chars().any(|c| is_hidden(c) && c != '\n'), "{text}");
        assert!(text.contains("\\u202e") && text.contains('\n'), "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["a"][0], value);
    }
}
