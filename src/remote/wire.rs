//! GraphQL request and response types as they travel: the `{query, variables, operationName}`
//! body, the `{data, errors}` envelope whose error `message` is an object `{code, message}` for
//! Authing errors and a string for GraphQL validation errors, and the user, MFA and whitelist
//! shapes this client selects. A user's fields come from the field table (`model::Field`): its
//! selection and its decoding are derived from it.

use std::fmt;
use std::marker::PhantomData;
use std::sync::LazyLock;

use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::model::{Field, LiveUser, Profile, ProfileBuilder, UserId};

use super::error::ErrorKind;

/// The JSON body of one request.
#[derive(Debug, Serialize)]
pub struct Request<'a> {
    pub query: &'a str,
    #[serde(rename = "operationName", skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<&'a str>,
    pub variables: &'a Value,
}

/// The response envelope, with `data` holding the one root field this client asked for.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    #[serde(default = "none", bound(deserialize = "T: DeserializeOwned"))]
    pub data: Option<RootField<T>>,
    #[serde(default)]
    pub errors: Vec<WireError>,
}

fn none<T>() -> Option<T> {
    None
}

/// The value of the single root field in `data` (`null` when the field failed).
#[derive(Debug)]
pub struct RootField<T>(pub Option<T>);

impl<'de, T: DeserializeOwned> Deserialize<'de> for RootField<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RootVisitor<T>(PhantomData<T>);

        impl<'de, T: DeserializeOwned> Visitor<'de> for RootVisitor<T> {
            type Value = RootField<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with one root field")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let Some((_, value)) = map.next_entry::<IgnoredAny, Option<T>>()? else {
                    return Ok(RootField(None));
                };
                if map.next_key::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("more than one root field in `data`"));
                }
                Ok(RootField(value))
            }
        }

        deserializer.deserialize_map(RootVisitor(PhantomData))
    }
}

/// One entry of `errors`.
#[derive(Debug, Deserialize)]
pub struct WireError {
    pub message: Value,
}

impl WireError {
    /// The Authing error object, if `message` is one.
    pub fn authing(&self) -> Option<(i64, String)> {
        let object = self.message.as_object()?;
        let code = object.get("code")?.as_i64()?;
        let message = object
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Some((code, message.to_string()))
    }

    pub fn text(&self) -> String {
        match &self.message {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        }
    }
}

/// What a list of errors means: the first Authing error object if any (what the SDKs throw),
/// else the GraphQL messages.
pub fn classify_errors(errors: &[WireError]) -> ErrorKind {
    if let Some((code, message)) = errors.iter().find_map(WireError::authing) {
        return ErrorKind::Authing { code, message };
    }
    ErrorKind::GraphQl {
        messages: errors.iter().map(WireError::text).collect(),
    }
}

/// A user as `users`, `userPatch`, `register` and `updateUser` return it: `_id` and the fields
/// of the field table, each under its v1 wire name ([`user_selection`] asks for exactly those).
/// Other keys are ignored; a field of the wrong type is an error, as it would be for serde.
#[derive(Debug, Clone)]
pub struct WireUser {
    pub id: String,
    pub profile: Profile,
}

/// The selection that fills a [`WireUser`]: `_id` and every field of the table.
pub fn user_selection() -> &'static str {
    static SELECTION: LazyLock<String> = LazyLock::new(|| {
        std::iter::once("_id")
            .chain(Field::ALL.into_iter().map(Field::wire_name))
            .collect::<Vec<_>>()
            .join(" ")
    });
    &SELECTION
}

impl WireUser {
    pub fn into_live(self) -> LiveUser {
        LiveUser {
            id: UserId::new(self.id),
            profile: self.profile,
            mfa: None,
        }
    }
}

impl<'de> Deserialize<'de> for WireUser {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UserVisitor;

        impl<'de> Visitor<'de> for UserVisitor {
            type Value = WireUser;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a user object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireUser, A::Error> {
                let mut id: Option<String> = None;
                let mut profile = ProfileBuilder::default();
                while let Some(key) = map.next_key::<WireKey>()? {
                    match key {
                        WireKey::Id => id = map.next_value()?,
                        WireKey::Field(field) if field.is_bool() => {
                            if let Some(value) = map.next_value::<Option<bool>>()? {
                                profile.flag(field, value);
                            }
                        }
                        WireKey::Field(field) => map.next_value_seed(TextInto {
                            profile: &mut profile,
                            field,
                        })?,
                        WireKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let id = id.ok_or_else(|| de::Error::missing_field("_id"))?;
                Ok(WireUser {
                    id,
                    profile: profile.build(),
                })
            }
        }

        deserializer.deserialize_map(UserVisitor)
    }
}

/// A key of a user object, read without allocating.
enum WireKey {
    Id,
    Field(Field),
    Other,
}

impl<'de> Deserialize<'de> for WireKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = WireKey;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<WireKey, E> {
                Ok(match key {
                    "_id" => WireKey::Id,
                    other => Field::from_wire_name(other).map_or(WireKey::Other, WireKey::Field),
                })
            }
        }

        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// A text value (or `null`) written straight into a profile, without an allocation of its own.
struct TextInto<'a> {
    profile: &'a mut ProfileBuilder,
    field: Field,
}

impl<'de> de::DeserializeSeed<'de> for TextInto<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for TextInto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a string or null for `{}`", self.field.wire_name())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.profile.text(self.field, value);
        Ok(())
    }
}

/// `PagedUsers`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PagedUsers {
    #[serde(default)]
    pub list: Vec<Option<WireUser>>,
    pub total_count: Option<i64>,
}

/// `removeUsers` items.
#[derive(Debug, Deserialize)]
pub struct RemovedUser {
    #[serde(rename = "_id")]
    pub id: Option<String>,
}

/// `MFA`, without `shareKey` (a TOTP secret this client never asks for).
#[derive(Debug, Deserialize)]
pub struct Mfa {
    pub enable: Option<bool>,
}

/// `RefreshToken`.
#[derive(Debug, Deserialize)]
pub struct RefreshedToken {
    pub token: Option<crate::secret::Secret>,
}

/// `ClientInfoAndAccessToken`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInit {
    pub access_token: Option<crate::secret::Secret>,
}

/// `Invitation`, in either spelling.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    pub phone: Option<String>,
    pub qr_code_phone: Option<String>,
    pub is_deleted: Option<bool>,
}

impl Invitation {
    pub fn phone(self) -> Option<String> {
        if self.is_deleted == Some(true) {
            return None;
        }
        self.phone.or(self.qr_code_phone)
    }
}

/// `InvitationState`, in either spelling.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationState {
    pub enable_phone: Option<bool>,
    pub enable_qr_code: Option<bool>,
}

impl InvitationState {
    pub fn enabled(&self) -> bool {
        self.enable_phone.or(self.enable_qr_code).unwrap_or(false)
    }
}

/// `CommonMessage`, the in-band status some operations answer with.
#[derive(Debug, Deserialize)]
pub struct CommonMessage {
    pub message: Option<String>,
    pub code: Option<i64>,
    pub status: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_yields_its_one_root_field() {
        let body = r#"{"data":{"users":{"totalCount":2,"list":[{"_id":"a","email":"a@x.cn","unknown":1},null]}}}"#;
        let envelope: Envelope<PagedUsers> = serde_json::from_str(body).unwrap();
        let page = envelope.data.unwrap().0.unwrap();
        assert_eq!(page.total_count, Some(2));
        assert_eq!(page.list.len(), 2);
        assert_eq!(
            page.list[0].as_ref().unwrap().profile.text(Field::Email),
            Some("a@x.cn")
        );
    }

    #[test]
    fn users_decode_every_field_of_the_table() {
        let mut object = serde_json::Map::new();
        object.insert("_id".into(), Value::from("5f01"));
        for field in Field::ALL {
            let value = if field.is_bool() {
                Value::from(true)
            } else {
                Value::from(format!("{field} value"))
            };
            object.insert(field.wire_name().into(), value);
        }
        object.insert("loginsCount".into(), Value::from(3));
        object.insert("userLocation".into(), serde_json::json!([{"when": "x"}]));
        let user: WireUser = serde_json::from_value(Value::Object(object)).unwrap();
        assert_eq!(user.id, "5f01");
        for field in Field::ALL {
            if field.is_bool() {
                assert_eq!(user.profile.flag(field), Some(true), "{field}");
            } else {
                let expected = format!("{field} value");
                assert_eq!(user.profile.text(field), Some(expected.as_str()), "{field}");
            }
        }
        // Nulls are no value; `_id` is required.
        let user: WireUser =
            serde_json::from_str(r#"{"_id":"a","email":null,"blocked":null}"#).unwrap();
        assert!(user.profile.is_empty());
        assert!(serde_json::from_str::<WireUser>(r#"{"email":"a@b.cn"}"#).is_err());
        assert!(serde_json::from_str::<WireUser>(r#"{"_id":"a","blocked":"yes"}"#).is_err());
        // The selection asks for exactly the decoded fields.
        let selection: Vec<&str> = user_selection().split(' ').collect();
        assert_eq!(selection.len(), Field::COUNT + 1);
        assert!(
            Field::ALL
                .iter()
                .all(|field| selection.contains(&field.wire_name()))
        );
    }

    #[test]
    fn authing_error_objects_and_graphql_strings_are_told_apart() {
        let body = r#"{"errors":[{"message":{"code":2004,"message":"用户不存在"},"path":["updateUser"]}],"data":{"updateUser":null}}"#;
        let envelope: Envelope<WireUser> = serde_json::from_str(body).unwrap();
        assert!(envelope.data.unwrap().0.is_none());
        assert_eq!(
            classify_errors(&envelope.errors),
            ErrorKind::Authing {
                code: 2004,
                message: "用户不存在".into()
            }
        );

        let body = r#"{"errors":[{"message":"Unknown argument \"phone\""}]}"#;
        let envelope: Envelope<Invitation> = serde_json::from_str(body).unwrap();
        assert!(envelope.data.is_none());
        assert_eq!(
            classify_errors(&envelope.errors),
            ErrorKind::GraphQl {
                messages: vec!["Unknown argument \"phone\"".into()]
            }
        );
    }
}
