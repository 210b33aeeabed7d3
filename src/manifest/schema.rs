//! The raw serde types of a YAML manifest: they mirror the file exactly, refuse unknown keys, and
//! hold values as written (before interpolation and validation). `validate.rs` turns them into
//! the model's types.
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

/// One entry of `users`.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a user: a mapping of fields such as `email` and `nickname`"
)]
pub(crate) struct RawUser {
    pub email: Option<RawText>,
    pub username: Option<RawText>,
    pub nickname: Option<RawText>,
    pub company: Option<RawText>,
    pub photo: Option<RawText>,
    pub phone: Option<RawText>,
    pub email_verified: Option<RawFlag>,
    pub blocked: Option<RawFlag>,
    pub mfa: Option<RawFlag>,
    pub password: Option<RawPassword>,
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
        assert_eq!(field_names::<RawUser>().len(), 10);
    }

    #[test]
    fn scalars_keep_what_matters() {
        let user: RawUser = serde_norway::from_str(
            "email: a@b.cn\nphone: 13800000000\nmfa: yes\nblocked: 1\npassword: 123\n",
        )
        .unwrap();
        assert_eq!(user.phone.as_ref().map(|p| p.number), Some(true));
        assert_eq!(user.mfa, Some(RawFlag::Text("yes".into())));
        assert_eq!(user.blocked, Some(RawFlag::Bool(true)));
        assert_eq!(user.password.map(|p| p.number), Some(true));
        let err = serde_norway::from_str::<RawUser>("password: true\n").unwrap_err();
        assert!(!err.to_string().contains("true"), "{err}");
    }
}
