//! The plan as versioned JSON for scripts: the saved-plan shape of `plan::file`, with every
//! personal field masked when `--mask-pii` asks (a masked plan is for reading, not for
//! `apply --plan`). [`write`] streams it, change by change, to a writer: a plan of a million
//! changes is never built as one document.

use std::io;

use serde_json::Value;

use crate::model::{Field, MatchOn};
use crate::plan::file::ChangeEntry;
use crate::plan::{Plan, PlanFile};

use super::mask::Masker;

/// The whole file as one text.
pub fn render(file: &PlanFile, masker: Masker) -> String {
    if masker == Masker::off() {
        return file.to_json();
    }
    let mut masked = file.clone();
    for change in &mut masked.changes {
        mask_entry(change, masker, masked.match_on);
    }
    mask_notices(&mut masked);
    masked.to_json()
}

/// Writes `header` (a [`PlanFile::header`]) completed with `plan`'s changes to `out`, masked
/// when `masker` asks; the bytes are those of [`render`] of the whole file.
pub fn write(
    header: &PlanFile,
    plan: &Plan,
    masker: Masker,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    if masker == Masker::off() {
        return header.write_streamed(plan, &|_| {}, out);
    }
    let mut masked = header.clone();
    for change in &mut masked.changes {
        mask_entry(change, masker, masked.match_on);
    }
    mask_notices(&mut masked);
    let match_on = masked.match_on;
    masked.write_streamed(plan, &|entry| mask_entry(entry, masker, match_on), out)
}

fn mask_entry(change: &mut ChangeEntry, masker: Masker, match_on: MatchOn) {
    for key in [&mut change.key, &mut change.renamed_from, &mut change.label]
        .into_iter()
        .flatten()
    {
        *key = masker.user(key, match_on).into_owned();
    }
    if let Some(phone) = &mut change.phone {
        *phone = masker.phone(phone).into_owned();
    }
    for (name, values) in &mut change.fields {
        let mask = |value: &mut Value| {
            if let (Value::String(text), Some(field)) = (&mut *value, Field::from_name(name)) {
                *text = masker.field_text(field, text).into_owned();
            }
        };
        mask(&mut values.from);
        mask(&mut values.to);
    }
}

fn mask_notices(file: &mut PlanFile) {
    for notice in &mut file.notices {
        notice.message = "(details hidden by --mask-pii)".into();
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::model::{FieldValue, LiveUser, LiveWhitelist, Origin, Profile, UserId, UserKey};
    use crate::plan::file::PoolRef;
    use crate::plan::{
        Change, Create, Delete, FieldChange, Fingerprint, MfaChange, MfaTarget, Notice,
        PasswordPlan, Update, WhitelistPhone, WhitelistSwitch,
    };

    fn origin(line: u32) -> Origin {
        Origin::new(Arc::from(Path::new("users.csv")), line)
    }

    fn fingerprint(id: &str) -> Fingerprint {
        Fingerprint::of_user(&LiveUser {
            id: UserId::new(id),
            profile: Profile::default(),
            mfa: None,
        })
    }

    /// Every kind of change and notice, hidden characters in values and keys, personal and
    /// other fields, booleans and a `null` before.
    fn plan() -> Plan {
        let hostile = "Mallory\u{1b}[2J\u{202e}gnp.exe\u{7f}\u{85}";
        let mut changes = vec![
            Change::Delete(Delete {
                id: UserId::new("u1"),
                key: UserKey::from_email("leaver@corp.example"),
                label: "leaver@corp.example".into(),
                origin: Some(origin(1)),
                fingerprint: fingerprint("u1"),
            }),
            Change::Create(Create {
                key: UserKey::from_username(hostile),
                profile: Profile::default()
                    .with(Field::Email, "New@corp.example")
                    .with(Field::Nickname, hostile)
                    .with(Field::Phone, "13800000001")
                    .with(Field::Blocked, false),
                password: PasswordPlan::Env("PASSWORD".into()),
                origin: origin(2),
            }),
            Change::Mfa(MfaChange {
                key: UserKey::from_email("new@corp.example"),
                target: MfaTarget::New,
                enable: true,
                origin: origin(2),
            }),
            Change::Mfa(MfaChange {
                key: UserKey::from_email("old@corp.example"),
                target: MfaTarget::Existing {
                    id: UserId::new("u3"),
                    fingerprint: fingerprint("u3"),
                },
                enable: false,
                origin: origin(4),
            }),
            Change::WhitelistSwitch(WhitelistSwitch {
                from: false,
                to: true,
                origin: origin(9),
            }),
            Change::WhitelistAdd(WhitelistPhone {
                phone: "13800000001".into(),
                origin: Some(origin(10)),
            }),
            Change::WhitelistRemove(WhitelistPhone {
                phone: "+86 139 0000 0000".into(),
                origin: None,
            }),
        ];
        for at in 0..50 {
            changes.push(Change::Update(Update {
                key: UserKey::from_email(&format!("user{at}@corp.example")),
                id: UserId::new(format!("id{at}")),
                fields: vec![
                    FieldChange {
                        field: Field::Nickname,
                        before: Some(FieldValue::Text(format!("User {at}"))),
                        after: FieldValue::Text(format!("Renamed {at}\u{2066}")),
                    },
                    FieldChange {
                        field: Field::Company,
                        before: None,
                        after: FieldValue::Text("Corp".into()),
                    },
                    FieldChange {
                        field: Field::EmailVerified,
                        before: Some(FieldValue::Bool(false)),
                        after: FieldValue::Bool(true),
                    },
                ],
                renamed_from: (at % 10 == 0)
                    .then(|| UserKey::from_email(&format!("old{at}@corp.example"))),
                origin: origin(20 + at),
                fingerprint: fingerprint(&format!("id{at}")),
            }));
        }
        Plan {
            changes,
            notices: vec![
                Notice::EmailUnverified {
                    key: UserKey::from_email("user1@corp.example"),
                    origin: origin(21),
                },
                Notice::Unkeyed {
                    users: 3,
                    match_on: MatchOn::Email,
                },
            ],
            match_on: MatchOn::Email,
            live_users: 1234,
            live_phones: 7,
            whitelist_fingerprint: Some(Fingerprint::of_whitelist(&LiveWhitelist::default())),
        }
    }

    fn pool() -> PoolRef {
        PoolRef {
            endpoint: "https://users.authing.cn/graphql".into(),
            client_id: "pool".into(),
            api: None,
        }
    }

    fn streamed(plan: &Plan, header: &PlanFile, masker: Masker) -> String {
        let mut out = Vec::new();
        write(header, plan, masker, &mut out).expect("written");
        String::from_utf8(out).expect("UTF-8")
    }

    /// The streamed text is, byte for byte, the text of the whole file built first (the way
    /// every plan was written before the writer streamed), masked or not, with or without the
    /// optional fields.
    #[test]
    fn the_streamed_plan_is_the_whole_file_byte_for_byte() {
        for plan in [plan(), Plan::default()] {
            for limit in [Some("10%".to_string()), None] {
                // Every optional field of the file set, or none: the streamed file copies its
                // header field by field, so one it loses shows here.
                let optional = limit.is_some();
                let mfa_states = optional.then(|| crate::plan::MfaReads {
                    read: 3,
                    from_cache: 2,
                    oldest_cached_at: Some("2026-11-27T00:00:00Z".into()),
                    oldest_cached_age_seconds: Some(60),
                    budget: Some(10),
                    refresh: true,
                });
                let prune = optional.then(|| crate::plan::file::PruneEntry {
                    scope: Some("*@example.com".into()),
                    protect: vec!["keep@example.com".into()],
                    origin: Some(crate::plan::file::OriginEntry {
                        file: "settings.yaml".into(),
                        line: 3,
                    }),
                });
                let mut header = PlanFile::header(&plan, pool(), &[]);
                header.max_deletes = limit.clone();
                header.mfa_states = mfa_states.clone();
                header.prune = prune.clone();
                let mut whole = PlanFile::new(&plan, pool(), &[]);
                whole.created_at = header.created_at.clone();
                whole.max_deletes = limit;
                whole.mfa_states = mfa_states;
                whole.prune = prune;
                for masker in [Masker::off(), Masker::new(true)] {
                    let expected = render(&whole, masker);
                    assert_eq!(streamed(&plan, &header, masker), expected);
                    assert_eq!(whole.changes.len(), plan.changes.len());
                }
                assert_eq!(streamed(&plan, &header, Masker::off()), whole.to_json());
            }
        }
        let text = streamed(
            &plan(),
            &PlanFile::header(&plan(), pool(), &[]),
            Masker::off(),
        );
        assert!(text.contains("\\u202e") && text.contains("\\u2066") && text.contains("\\u0085"));
        assert!(
            !text
                .chars()
                .any(|c| crate::model::is_hidden(c) && c != '\n')
        );
    }

    /// A reader that stops reading ends the writing with its error, not a panic.
    #[test]
    fn a_failing_writer_is_an_error() {
        struct Full;
        impl io::Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let plan = plan();
        let header = PlanFile::header(&plan, pool(), &[]);
        let err = write(&header, &plan, Masker::off(), &mut Full).expect_err("fails");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
