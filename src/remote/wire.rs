//! GraphQL request and response types as they travel: the `{query, variables, operationName}`
//! body, the `{data, errors}` envelope whose error `message` is an object `{code, message}` for
//! Authing errors and a string for GraphQL validation errors (or an object wrapping one: a
//! refusal is recognised by its text), the in-band status some answers carry, and the user, MFA
//! and whitelist shapes this client selects. A user's fields come from the field table
//! (`model::Field`): its selection and its decoding are derived from it. Decoding is tolerant
//! where the schema or the SDKs allow it: `null` lists, counts, ids and codes as numeric strings
//! or numbers, a single object for a list.

use std::fmt;
use std::marker::PhantomData;
use std::sync::LazyLock;

use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::model::{Field, LiveUser, Profile, ProfileBuilder, UserId};

use super::error::{ErrorKind, IN_BAND_OK};

/// Parses a response body. A body that is valid UTF-8 (every well-formed one) is checked once,
/// whole, and then parsed as text, which spares serde_json a UTF-8 check of each of the
/// millions of strings in a large pool's pages; anything else goes through the byte parser, so
/// its error says what and where.
pub fn from_json<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

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
    #[serde(default)]
    pub extensions: Option<Value>,
}

/// `extensions.code` values that mark a refused document (Apollo server).
const VALIDATION_EXTENSION_CODES: [&str; 2] = ["GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"];

/// How graphql-js, Apollo and async-graphql word a document they refuse, lowercased.
const VALIDATION_PHRASES: [&str; 9] = [
    "cannot query field",
    "unknown argument",
    "unknown field",
    "unknown type",
    "is not defined by type",
    "was not provided",
    "syntax error",
    "must have a selection of subfields",
    "must not have a selection since type",
];

impl WireError {
    /// The Authing error object, if `message` is one: `{code, message}`, the code a number or a
    /// numeric string.
    pub fn authing(&self) -> Option<(i64, String)> {
        let object = self.message.as_object()?;
        let code = lenient_i64(object.get("code")?)?;
        let message = object
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Some((code, message.to_string()))
    }

    /// The human text: the string, or the `message` of an error object.
    pub fn text(&self) -> String {
        match &self.message {
            Value::String(text) => text.clone(),
            Value::Object(object) => match object.get("message") {
                Some(Value::String(text)) => text.clone(),
                _ => self.message.to_string(),
            },
            other => other.to_string(),
        }
    }

    /// Whether this error refuses the document itself: a plain string message (what GraphQL
    /// servers give for validation errors), an Apollo validation `extensions.code`, or an Authing
    /// error object whose text is a GraphQL validation message (Authing wraps every error as
    /// `{code, message}`, validation refusals included).
    pub fn is_validation(&self) -> bool {
        if self.message.is_string() {
            return true;
        }
        let extension_code = self
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .and_then(Value::as_str);
        if extension_code.is_some_and(|code| VALIDATION_EXTENSION_CODES.contains(&code)) {
            return true;
        }
        is_validation_text(&self.text())
    }
}

/// Whether a message reads like a GraphQL validation refusal.
pub fn is_validation_text(text: &str) -> bool {
    let text = text.to_lowercase();
    VALIDATION_PHRASES
        .iter()
        .any(|phrase| text.contains(phrase))
}

/// Whether a validation message refuses `field` as a field the server does not have:
/// `Cannot query field "createUser" on type "Mutation".` (graphql-js) or
/// `Unknown field "createUser" on type "Mutation".` (async-graphql), quoted any way.
pub fn refuses_unknown_field(text: &str, field: &str) -> bool {
    let lower = text.to_lowercase();
    let field = field.to_lowercase();
    ["cannot query field", "unknown field"]
        .iter()
        .any(|phrase| {
            lower.match_indices(phrase).any(|(at, _)| {
                let rest = lower[at + phrase.len()..].trim_start_matches([' ', ':']);
                let name: String = rest
                    .trim_start_matches(['"', '\'', '`', '\u{201c}'])
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                name == field
            })
        })
}

/// What a list of errors means: a refused document if any error is a validation refusal; else
/// the first Authing error object (what the SDKs throw); else the plain messages.
pub fn classify_errors(errors: &[WireError]) -> ErrorKind {
    if errors.iter().any(WireError::is_validation) {
        return ErrorKind::GraphQl {
            messages: errors.iter().map(WireError::text).collect(),
        };
    }
    if let Some((code, message)) = errors.iter().find_map(WireError::authing) {
        return ErrorKind::Authing { code, message };
    }
    ErrorKind::GraphQl {
        messages: errors.iter().map(WireError::text).collect(),
    }
}

/// An integer sent as a JSON number or as a numeric string (SDK code shows both).
pub fn lenient_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|float| float.fract() == 0.0 && float.abs() < 9.0e15)
                .map(|float| float as i64)
        }),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Serde helper: an optional integer that may come as a number, a numeric string or `null`.
pub fn lenient_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => lenient_i64(&value)
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected an integer, found {value}"))),
    }
}

/// An optional id that may come as a string or a number.
struct LenientId(Option<String>);

impl<'de> Deserialize<'de> for LenientId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        lenient_id(deserializer).map(LenientId)
    }
}

/// Serde helper: an optional id that may come as a string or a number.
fn lenient_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(other) => Err(de::Error::custom(format!("expected an id, found {other}"))),
    }
}

/// A list as the schema declares it, read tolerantly: `null` is empty, `null` items are dropped,
/// and a single object stands for a list of one (the 2019 docs show `removeUsers` and
/// `queryInvitation` answering an object).
#[derive(Debug)]
pub struct Many<T>(pub Vec<T>);

impl<T> Default for Many<T> {
    fn default() -> Self {
        Many(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Many<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ManyVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ManyVisitor<T> {
            type Value = Many<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list, a single object or null")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Many(Vec::new()))
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Many(Vec::new()))
            }

            fn visit_some<D: Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<Self::Value, D::Error> {
                deserializer.deserialize_any(self)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Option<T>>()? {
                    items.extend(item);
                }
                Ok(Many(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|one| Many(vec![one]))
            }
        }

        deserializer.deserialize_any(ManyVisitor(PhantomData))
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

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<WireUser, A::Error> {
                // One builder per thread, cleared for each user: a page of users costs no
                // allocation here beyond each user's own.
                thread_local! {
                    static SCRATCH: std::cell::RefCell<ProfileBuilder> =
                        std::cell::RefCell::default();
                }
                SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
                    Ok(mut profile) => {
                        profile.clear();
                        read_user(map, &mut profile)
                    }
                    Err(_) => read_user(map, &mut ProfileBuilder::default()),
                })
            }
        }

        fn read_user<'de, A: MapAccess<'de>>(
            mut map: A,
            profile: &mut ProfileBuilder,
        ) -> Result<WireUser, A::Error> {
            let mut id: Option<String> = None;
            while let Some(key) = map.next_key::<WireKey>()? {
                match key {
                    WireKey::Id => id = map.next_value::<LenientId>()?.0,
                    WireKey::Field(field) if field.is_bool() => {
                        if let Some(value) = map.next_value::<Option<bool>>()? {
                            profile.flag(field, value);
                        }
                    }
                    WireKey::Field(field) => map.next_value_seed(TextInto {
                        profile: &mut *profile,
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

/// `PagedUsers` and `PatchExtendUser`: `list` may be `null` (an empty page) and `totalCount` a
/// numeric string.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PagedUsers {
    #[serde(default)]
    pub list: Many<WireUser>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub total_count: Option<i64>,
}

/// `removeUsers` items.
#[derive(Debug, Deserialize)]
pub struct RemovedUser {
    #[serde(rename = "_id", default, deserialize_with = "lenient_id")]
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

/// `getClientWhenSdkInit` selecting the pool's registration limit.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientSettings {
    pub client_info: Option<ClientInfo>,
}

/// `UserClient`, the part read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    pub frequent_register_check: Option<FrequentRegisterCheck>,
}

/// `FrequentRegisterCheckConfig`: at most `limit` registrations per IP in `timeInterval` seconds.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrequentRegisterCheck {
    #[serde(default, deserialize_with = "lenient_int")]
    pub time_interval: Option<i64>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub limit: Option<i64>,
    pub enable: Option<bool>,
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

/// An answer's in-band status (`CommonMessage` `{message, code, status}`), read from any mutation
/// answer that carries one: success is `code` 200; another code, or `status: false`, is a failure
/// of that operation.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct InBand {
    pub code: Option<i64>,
    pub status: Option<bool>,
    pub message: String,
}

impl InBand {
    /// The in-band status of an answer, if it is an object that has one.
    pub fn of(answer: &Value) -> Option<InBand> {
        let object = answer.as_object()?;
        let code = object.get("code").filter(|code| !code.is_null());
        let status = object.get("status").filter(|status| !status.is_null());
        if code.is_none() && status.is_none() {
            return None;
        }
        Some(InBand {
            code: code.and_then(lenient_i64),
            status: status.and_then(|status| match status {
                Value::Bool(flag) => Some(*flag),
                Value::String(text) => text.trim().parse().ok(),
                _ => None,
            }),
            message: object
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        })
    }

    /// Whether it reports success: code 200 (or no code and `status: true`), never `status: false`.
    pub fn succeeded(&self) -> bool {
        self.status != Some(false)
            && match self.code {
                Some(code) => code == IN_BAND_OK,
                None => self.status == Some(true),
            }
    }

    /// The failure it reports.
    pub fn failure(self) -> ErrorKind {
        ErrorKind::InBand {
            code: self.code,
            message: self.message,
        }
    }
}

/// A mutation's answer, checked for an in-band failure and then read as `T`.
pub fn settle<T: DeserializeOwned>(answer: Option<Value>) -> Result<Option<T>, ErrorKind> {
    let Some(answer) = answer else {
        return Ok(None);
    };
    if let Some(status) = InBand::of(&answer)
        && !status.succeeded()
    {
        return Err(status.failure());
    }
    serde_json::from_value(answer)
        .map(Some)
        .map_err(|err| ErrorKind::Decode(err.to_string()))
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
        assert_eq!(page.list.0.len(), 1, "the null item is dropped");
        assert_eq!(page.list.0[0].profile.text(Field::Email), Some("a@x.cn"));
    }

    fn root<T: DeserializeOwned>(body: &str) -> Option<T> {
        let envelope: Envelope<T> = serde_json::from_str(body).unwrap();
        envelope.data.unwrap().0
    }

    #[test]
    fn null_lists_and_string_counts_are_read() {
        let page: PagedUsers =
            root(r#"{"data":{"users":{"totalCount":"0","list":null}}}"#).unwrap();
        assert_eq!(page.total_count, Some(0));
        assert!(page.list.0.is_empty());
        let patch: PagedUsers = root(r#"{"data":{"userPatch":{"totalCount":0}}}"#).unwrap();
        assert!(patch.list.0.is_empty());
        let page: PagedUsers =
            root(r#"{"data":{"users":{"totalCount":"201","list":[]}}}"#).unwrap();
        assert_eq!(page.total_count, Some(201));
        let page: PagedUsers = root(r#"{"data":{"users":{"totalCount":3.0,"list":[]}}}"#).unwrap();
        assert_eq!(page.total_count, Some(3));
        let refused: Result<Envelope<PagedUsers>, _> =
            serde_json::from_str(r#"{"data":{"users":{"totalCount":"many","list":[]}}}"#);
        let err = refused.unwrap_err().to_string();
        assert!(err.contains("expected an integer"), "{err}");
    }

    #[test]
    fn a_single_object_stands_for_a_list_of_one() {
        let removed: Many<RemovedUser> = root(r#"{"data":{"removeUsers":{"_id":"u1"}}}"#).unwrap();
        assert_eq!(removed.0.len(), 1);
        assert_eq!(removed.0[0].id.as_deref(), Some("u1"));
        let removed: Many<RemovedUser> =
            root(r#"{"data":{"removeUsers":[{"_id":"u1"},null,{"_id":7}]}}"#).unwrap();
        let ids: Vec<_> = removed.0.into_iter().filter_map(|user| user.id).collect();
        assert_eq!(ids, ["u1", "7"]);
        let entries: Many<Invitation> =
            root(r#"{"data":{"queryInvitation":{"client":"c","qrCodePhone":"138"}}}"#).unwrap();
        assert_eq!(entries.0.len(), 1);
        let removed: Option<Many<RemovedUser>> = root(r#"{"data":{"removeUsers":null}}"#);
        assert!(removed.is_none());
        let wrong: Result<Envelope<Many<RemovedUser>>, _> =
            serde_json::from_str(r#"{"data":{"removeUsers":"u1"}}"#);
        assert!(wrong.is_err());
    }

    #[test]
    fn string_error_codes_are_read() {
        let body = r#"{"errors":[{"message":{"code":"2004","message":"用户不存在"}}],"data":null}"#;
        let envelope: Envelope<WireUser> = serde_json::from_str(body).unwrap();
        assert_eq!(
            classify_errors(&envelope.errors),
            ErrorKind::Authing {
                code: 2004,
                message: "用户不存在".into()
            }
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
    fn validation_refusals_are_recognised_in_either_shape() {
        for body in [
            r#"{"errors":[{"message":"Unknown argument \"phone\" on field \"addToInvitation\" of type \"Mutation\"."}]}"#,
            r#"{"errors":[{"message":{"code":500,"message":"Unknown argument \"phone\" on field \"addToInvitation\"."}}]}"#,
            r#"{"errors":[{"message":{"code":"400","message":"Cannot query field \"phone\" on type \"Invitation\"."}}]}"#,
            r#"{"errors":[{"message":{"code":2000,"message":"bad"},"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}"#,
        ] {
            let envelope: Envelope<Invitation> = serde_json::from_str(body).unwrap();
            let kind = classify_errors(&envelope.errors);
            assert!(
                matches!(kind, ErrorKind::GraphQl { .. }),
                "{body}: {kind:?}"
            );
        }
        let body = r#"{"errors":[{"message":{"code":2031,"message":"应用已禁止注册用户"}}]}"#;
        let envelope: Envelope<Invitation> = serde_json::from_str(body).unwrap();
        assert!(matches!(
            classify_errors(&envelope.errors),
            ErrorKind::Authing { code: 2031, .. }
        ));
    }

    #[test]
    fn an_unknown_field_refusal_names_the_field() {
        assert!(refuses_unknown_field(
            r#"Cannot query field "createUser" on type "Mutation"."#,
            "createUser"
        ));
        assert!(refuses_unknown_field(
            r#"Unknown field "createUser" on type "Mutation"."#,
            "createUser"
        ));
        assert!(refuses_unknown_field(
            "unknown field: `createUser`",
            "createUser"
        ));
        assert!(!refuses_unknown_field(
            r#"Cannot query field "createUserX" on type "Mutation"."#,
            "createUser"
        ));
        assert!(!refuses_unknown_field(
            r#"Unknown argument "keepPassword" on field "createUser" of type "Mutation"."#,
            "createUser"
        ));
        assert!(!refuses_unknown_field(
            r#"Unknown field "phone" on type "Invitation"."#,
            "createUser"
        ));
    }

    #[test]
    fn in_band_answers_are_judged() {
        let status = |text: &str| InBand::of(&serde_json::from_str::<Value>(text).unwrap());
        assert!(
            status(r#"{"code":200,"message":"ok","status":true}"#)
                .unwrap()
                .succeeded()
        );
        assert!(
            status(r#"{"code":"200","message":"ok"}"#)
                .unwrap()
                .succeeded()
        );
        assert!(status(r#"{"status":true}"#).unwrap().succeeded());
        assert!(
            !status(r#"{"code":2004,"message":"用户不存在","status":false}"#)
                .unwrap()
                .succeeded()
        );
        assert!(
            !status(r#"{"code":200,"status":false}"#)
                .unwrap()
                .succeeded()
        );
        assert!(!status(r#"{"status":false}"#).unwrap().succeeded());
        assert!(!status(r#"{"code":"oops"}"#).unwrap().succeeded());
        assert_eq!(status(r#"{"_id":"u1","email":"a@x.cn"}"#), None);
        assert_eq!(status(r#"{"code":null,"status":null}"#), None);
        assert_eq!(status(r#"[{"code":500}]"#), None);

        let failed = settle::<WireUser>(Some(serde_json::json!({"code": 500, "message": "boom"})));
        assert_eq!(
            failed.unwrap_err(),
            ErrorKind::InBand {
                code: Some(500),
                message: "boom".into()
            }
        );
        let user = settle::<WireUser>(Some(serde_json::json!({"_id": "u1"}))).unwrap();
        assert_eq!(user.unwrap().id, "u1");
        assert!(settle::<WireUser>(None).unwrap().is_none());
        assert!(matches!(
            settle::<WireUser>(Some(serde_json::json!({"email": "a@x.cn"}))),
            Err(ErrorKind::Decode(_))
        ));
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
