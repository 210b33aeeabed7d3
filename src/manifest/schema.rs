//! The raw serde types of a YAML manifest: they mirror the file exactly, refuse unknown keys, and
//! hold values as written (before interpolation and validation). `yaml_read.rs` turns them into
//! the model's types. Also the [`Attribute`]s of a user entry, which YAML keys and CSV columns
//! share: the fields of the field table (`model::Field`), then `mfa`, `password`, `id` and
//! `renamed_from`. A user entry is read by a hand-written visitor over that list, so a field
//! added to the table is a YAML key and a CSV column without an edit here.
//!
//! Scalars get small types of their own rather than `String`/`bool`, so that what YAML allows
//! stays possible and what it would silently change is caught:
//!
//! - [`RawText`] takes a string, or a number whose spelling as written is then used
//!   (`phone: 0086138...` must not become `86138...`).
//! - [`RawFlag`] takes a boolean, `0`/`1`, or a string (`yes`, `${MFA}`) parsed after
//!   interpolation.
//! - [`RawPassword`] holds the value in a [`Secret`] from the moment it is read, and its errors
//!   never echo it.
//!
//! A `null` (or an empty value) is the same as an omitted key: not managed. A `null` item of a
//! list (`phones`, `protect`) is skipped.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, de::DeserializeOwned};

use crate::model::Field;
use crate::secret::Secret;

/// A whole YAML manifest.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a manifest: a mapping with `version: 1` and `users`, `whitelist`, `prune`"
)]
pub(crate) struct RawManifest {
    pub version: Option<RawVersion>,
    pub match_on: Option<RawText>,
    pub users: Option<Vec<RawUser>>,
    pub whitelist: Option<RawWhitelist>,
    pub prune: Option<RawPrune>,
}

/// What a user entry may say: a YAML key, or a CSV column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Attribute {
    /// `id`: the Authing user id that pins the user.
    Id,
    /// A profile field of the table.
    Field(Field),
    /// `renamed_from`: an earlier value of the `match_on` key.
    RenamedFrom,
    Mfa,
    Password,
}

impl Attribute {
    /// Every attribute, in the order manifests are written: `id`, the table's fields,
    /// `renamed_from`, `mfa`, `password`.
    pub const ALL: [Attribute; Field::COUNT + 4] = {
        let mut all = [Attribute::Id; Field::COUNT + 4];
        let mut at = 0;
        while at < Field::COUNT {
            all[at + 1] = Attribute::Field(Field::ALL[at]);
            at += 1;
        }
        all[Field::COUNT + 1] = Attribute::RenamedFrom;
        all[Field::COUNT + 2] = Attribute::Mfa;
        all[Field::COUNT + 3] = Attribute::Password;
        all
    };

    /// The names of [`Attribute::ALL`], in that order.
    pub const NAMES: [&'static str; Field::COUNT + 4] = {
        let mut names = [""; Field::COUNT + 4];
        let mut at = 0;
        while at < names.len() {
            names[at] = Attribute::ALL[at].name();
            at += 1;
        }
        names
    };

    pub const fn name(self) -> &'static str {
        match self {
            Attribute::Id => "id",
            Attribute::Field(field) => field.name(),
            Attribute::RenamedFrom => "renamed_from",
            Attribute::Mfa => "mfa",
            Attribute::Password => "password",
        }
    }

    /// Position in [`Attribute::ALL`].
    pub const fn index(self) -> usize {
        match self {
            Attribute::Id => 0,
            Attribute::Field(field) => 1 + field as usize,
            Attribute::RenamedFrom => Field::COUNT + 1,
            Attribute::Mfa => Field::COUNT + 2,
            Attribute::Password => Field::COUNT + 3,
        }
    }

    /// The attribute with this exact name.
    pub fn from_name(name: &str) -> Option<Attribute> {
        Attribute::ALL
            .into_iter()
            .find(|attribute| attribute.name() == name)
    }
}

/// A field's value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawValue {
    Text(RawText),
    Flag(RawFlag),
}

/// One entry of `users`: the attributes it has, each once (a `null` is as if it were left out).
#[derive(Debug, Default)]
pub(crate) struct RawUser {
    /// The profile fields, in the order written.
    pub fields: Vec<(Field, RawValue)>,
    pub id: Option<RawText>,
    pub renamed_from: Option<RawText>,
    pub mfa: Option<RawFlag>,
    pub password: Option<RawPassword>,
}

const _: () = assert!(
    Attribute::ALL.len() <= 64,
    "a user's attributes are one u64 of bits"
);

impl<'de> Deserialize<'de> for RawUser {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UserVisitor;

        impl<'de> Visitor<'de> for UserVisitor {
            type Value = RawUser;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a user: a mapping of fields such as `email` and `nickname`")
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<RawUser, A::Error> {
                let mut user = RawUser::default();
                let mut seen = 0u64;
                while let Some(attribute) = map.next_key::<Attribute>()? {
                    let bit = 1u64 << attribute.index();
                    if seen & bit != 0 {
                        return Err(de::Error::duplicate_field(attribute.name()));
                    }
                    seen |= bit;
                    match attribute {
                        Attribute::Field(field) if field.is_bool() => {
                            if let Some(flag) = map.next_value::<Option<RawFlag>>()? {
                                user.fields.push((field, RawValue::Flag(flag)));
                            }
                        }
                        Attribute::Field(field) => {
                            if let Some(text) = map.next_value::<Option<RawText>>()? {
                                user.fields.push((field, RawValue::Text(text)));
                            }
                        }
                        Attribute::Id => user.id = map.next_value()?,
                        Attribute::RenamedFrom => user.renamed_from = map.next_value()?,
                        Attribute::Mfa => user.mfa = map.next_value()?,
                        Attribute::Password => user.password = map.next_value()?,
                    }
                }
                Ok(user)
            }
        }

        deserializer.deserialize_struct("RawUser", &Attribute::NAMES, UserVisitor)
    }
}

impl<'de> Deserialize<'de> for Attribute {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;

        impl Visitor<'_> for NameVisitor {
            type Value = Attribute;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a user field name")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Attribute, E> {
                Attribute::from_name(name).ok_or_else(|| E::unknown_field(name, &Attribute::NAMES))
            }
        }

        deserializer.deserialize_identifier(NameVisitor)
    }
}

/// `whitelist:`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `enabled` and `phones`"
)]
pub(crate) struct RawWhitelist {
    pub enabled: Option<RawFlag>,
    pub phones: Option<Vec<Option<RawText>>>,
}

/// `prune:`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `enabled`, `max_deletes`, `protect` and `scope`"
)]
pub(crate) struct RawPrune {
    pub enabled: Option<RawFlag>,
    pub max_deletes: Option<RawText>,
    pub protect: Option<Vec<Option<RawText>>>,
    pub scope: Option<RawText>,
}

/// `version:` as written: a number or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawVersion(pub String);

/// A text value. `number` is set when YAML read it as a number, whose spelling in the source
/// (leading zeros, `1.50`) is the value; `value` is then only a fallback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawText {
    pub value: String,
    pub number: bool,
}

/// A boolean as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawFlag {
    Bool(bool),
    /// A string, parsed (`true`/`false`, `yes`/`no`, `1`/`0`) after interpolation.
    Text(String),
}

/// A password as written; `number` as for [`RawText`].
#[derive(Debug, Clone)]
pub(crate) struct RawPassword {
    pub value: Secret,
    pub number: bool,
}

/// The expected kind of value, as type errors say it.
pub(crate) const EXPECTED_TEXT: &str = "a string";
pub(crate) const EXPECTED_FLAG: &str = "a boolean (true/false, yes/no, 1/0)";

impl<'de> Deserialize<'de> for RawText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl Visitor<'_> for TextVisitor {
            type Value = RawText;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED_TEXT)
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<RawText, E> {
                Ok(RawText {
                    value: value.to_string(),
                    number: false,
                })
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<RawText, E> {
                Ok(RawText {
                    value,
                    number: false,
                })
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawText, E> {
                Ok(number(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawText, E> {
                Ok(number(value))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<RawText, E> {
                Ok(number(value))
            }
        }

        fn number(value: impl ToString) -> RawText {
            RawText {
                value: value.to_string(),
                number: true,
            }
        }

        deserializer.deserialize_any(TextVisitor)
    }
}

impl<'de> Deserialize<'de> for RawFlag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlagVisitor;

        impl Visitor<'_> for FlagVisitor {
            type Value = RawFlag;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED_FLAG)
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<RawFlag, E> {
                Ok(RawFlag::Bool(value))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawFlag, E> {
                match value {
                    0 => Ok(RawFlag::Bool(false)),
                    1 => Ok(RawFlag::Bool(true)),
                    _ => Err(E::invalid_value(de::Unexpected::Unsigned(value), &self)),
                }
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawFlag, E> {
                match value {
                    0 => Ok(RawFlag::Bool(false)),
                    1 => Ok(RawFlag::Bool(true)),
                    _ => Err(E::invalid_value(de::Unexpected::Signed(value), &self)),
                }
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<RawFlag, E> {
                Ok(RawFlag::Text(value.to_string()))
            }
        }

        deserializer.deserialize_any(FlagVisitor)
    }
}

impl<'de> Deserialize<'de> for RawPassword {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PasswordVisitor;

        // Every error here is written without the value.
        impl Visitor<'_> for PasswordVisitor {
            type Value = RawPassword;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED_TEXT)
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<RawPassword, E> {
                Ok(RawPassword {
                    value: Secret::from(value),
                    number: false,
                })
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<RawPassword, E> {
                Ok(RawPassword {
                    value: Secret::from(value),
                    number: false,
                })
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawPassword, E> {
                Ok(number(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawPassword, E> {
                Ok(number(value))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<RawPassword, E> {
                Ok(number(value))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawPassword, E> {
                Err(E::custom("invalid type: boolean, expected a string"))
            }
        }

        fn number(value: impl ToString) -> RawPassword {
            RawPassword {
                value: Secret::from(value.to_string()),
                number: true,
            }
        }

        deserializer.deserialize_any(PasswordVisitor)
    }
}

impl<'de> Deserialize<'de> for RawVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct VersionVisitor;

        impl Visitor<'_> for VersionVisitor {
            type Value = RawVersion;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a version number such as `1`")
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawVersion, E> {
                Ok(RawVersion(value.to_string()))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawVersion, E> {
                Ok(RawVersion(value.to_string()))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<RawVersion, E> {
                Ok(RawVersion(value.to_string()))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<RawVersion, E> {
                Ok(RawVersion(value.trim().to_string()))
            }
        }

        deserializer.deserialize_any(VersionVisitor)
    }
}

/// The field names of a derived struct, taken from the type itself: its `Deserialize` impl is
/// run against a deserializer that only records what `deserialize_struct` is told.
pub(crate) fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    match T::deserialize(FieldNames) {
        Err(FieldNamesError(Some(fields))) => fields,
        _ => &[],
    }
}

struct FieldNames;

#[derive(Debug)]
struct FieldNamesError(Option<&'static [&'static str]>);

impl fmt::Display for FieldNamesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("only field names are recorded")
    }
}

impl std::error::Error for FieldNamesError {}

impl de::Error for FieldNamesError {
    fn custom<T: fmt::Display>(_: T) -> Self {
        FieldNamesError(None)
    }
}

impl<'de> Deserializer<'de> for FieldNames {
    type Error = FieldNamesError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(FieldNamesError(None))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        Err(FieldNamesError(Some(fields)))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_come_from_the_types() {
        assert_eq!(
            field_names::<RawManifest>(),
            ["version", "match_on", "users", "whitelist", "prune"]
        );
        assert_eq!(field_names::<RawWhitelist>(), ["enabled", "phones"]);
        assert_eq!(field_names::<RawUser>(), Attribute::NAMES);
        assert_eq!(Attribute::NAMES.len(), Field::COUNT + 4);
    }

    #[test]
    fn every_attribute_is_read_and_unknown_keys_are_refused() {
        let mut text = String::new();
        for field in Field::ALL {
            let value = if field.is_bool() { "yes" } else { "x" };
            text.push_str(&format!("{}: {value}\n", field.name()));
        }
        text.push_str("id: 5f01\nrenamed_from: old@b.cn\nmfa: true\npassword: ${PW}\n");
        let user: RawUser = serde_norway::from_str(&text).unwrap();
        let fields: Vec<Field> = user.fields.iter().map(|(field, _)| *field).collect();
        assert_eq!(fields, Field::ALL);
        assert!(user.fields.iter().all(|(field, value)| matches!(
            (field.is_bool(), value),
            (true, RawValue::Flag(_)) | (false, RawValue::Text(_))
        )));
        assert_eq!(user.id.map(|id| id.value), Some("5f01".to_string()));
        assert_eq!(
            user.renamed_from.map(|old| old.value),
            Some("old@b.cn".to_string())
        );
        assert_eq!(user.mfa, Some(RawFlag::Bool(true)));

        let err = serde_norway::from_str::<RawUser>("given_nme: Al\n").unwrap_err();
        assert!(
            err.to_string().contains("unknown field `given_nme`"),
            "{err}"
        );
        let err = serde_norway::from_str::<RawUser>("email: a@b.cn\nemail: c@d.cn\n").unwrap_err();
        assert!(err.to_string().contains("duplicate field `email`"), "{err}");
        let err = serde_norway::from_str::<RawUser>("blocked: [1]\n").unwrap_err();
        assert!(err.to_string().contains("a boolean"), "{err}");
        // `null` is as if the key were not there.
        let user: RawUser = serde_norway::from_str("nickname: ~\nmfa: ~\n").unwrap();
        assert!(user.fields.is_empty() && user.mfa.is_none());
    }

    #[test]
    fn scalars_keep_what_matters() {
        let user: RawUser = serde_norway::from_str(
            "email: a@b.cn\nphone: 13800000000\nmfa: yes\nblocked: 1\npassword: 123\n",
        )
        .unwrap();
        assert_eq!(
            user.fields[1],
            (
                Field::Phone,
                RawValue::Text(RawText {
                    value: "13800000000".into(),
                    number: true
                })
            )
        );
        assert_eq!(user.mfa, Some(RawFlag::Text("yes".into())));
        assert_eq!(
            user.fields[2],
            (Field::Blocked, RawValue::Flag(RawFlag::Bool(true)))
        );
        assert_eq!(user.password.map(|p| p.number), Some(true));
        let err = serde_norway::from_str::<RawUser>("password: true\n").unwrap_err();
        assert!(!err.to_string().contains("true"), "{err}");
    }
}
