//! v3 users over the same store as v1: the `UserDto` view of a stored user, the reads
//! (`list-users` POST and GET, `get-user`, `get-user-batch`, `is-user-exists`,
//! `get-user-mfa-info`) and the writes (`create-user`, `create-users-batch`, `update-user`,
//! `update-user-batch`, `delete-users-batch`). A batch is validated whole, then written whole
//! or not at all.
//!
//! Mapping to the store (and so to v1): `status` is `blocked` (`Activated` ⇄ false, every other
//! status ⇄ true, the status itself kept when it is not `Suspended`); the phone is kept as v1
//! sees it (national for `+86` or no code, `+<code><number>` otherwise) beside the country code
//! v3 gave; v3 `city` is v1 `locality`; `province` and `externalId` are v3 only.

use std::collections::{HashMap, HashSet};

use rand::RngExt;
use serde_json::{Map, Value, json};

use super::super::accounts::new_object_id;
use super::super::context::Shared;
use super::super::crypto::PasswordHash;
use super::super::dates::iso_date;
use super::super::errors::is_valid_email;
use super::super::event::Event;
use super::super::store::{MfaRecord, ProfileField, Store, UserRecord, fold};
use super::envelope::{Failure, V3Result};
use super::params::{Body, Fields, Query};
use crate::secret::Secret;

/// Batches and pages hold at most this many users.
pub const MAX_BATCH: usize = 50;
const DEFAULT_LIMIT: usize = 10;
/// What v3 shows for a user created without a photo (Authing gives every new user one).
pub const DEFAULT_PHOTO: &str = "https://files.authing.co/authing-console/default-user-avatar.png";
const STATUSES: [&str; 5] = [
    "Activated",
    "Suspended",
    "Deactivated",
    "Resigned",
    "Archived",
];
const GENDERS: [&str; 3] = ["M", "F", "U"];

/// E.164 country calling codes of one and two digits; every other code has three. The codes
/// are prefix-free, so this splits any `+<code><number>`.
const SHORT_COUNTRY_CODES: [&str; 46] = [
    "1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45",
    "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];

/// `+<code>` and the national number of an international phone.
fn split_international(phone: &str) -> Option<(String, String)> {
    let digits = phone.strip_prefix('+')?;
    let code_len = SHORT_COUNTRY_CODES
        .iter()
        .find(|code| digits.starts_with(*code))
        .map_or(3, |code| code.len());
    if digits.len() <= code_len || !digits.is_char_boundary(code_len) {
        return None;
    }
    Some((
        format!("+{}", &digits[..code_len]),
        digits[code_len..].to_string(),
    ))
}

/// The v3 `phone` (national) and `phoneCountryCode` of a stored user.
pub fn phone_parts(user: &UserRecord) -> (Option<String>, Option<String>) {
    let Some(phone) = user.phone.as_deref() else {
        return (None, None);
    };
    if let Some(code) = user.phone_country_code()
        && let Some(national) = phone.strip_prefix(code).filter(|_| phone.starts_with('+'))
    {
        return (Some(national.to_string()), Some(code.to_string()));
    }
    if phone.starts_with('+')
        && let Some((code, national)) = split_international(phone)
    {
        return (Some(national), Some(code));
    }
    (
        Some(phone.to_string()),
        user.phone_country_code().map(str::to_string),
    )
}

/// The phone as the store (and v1) keeps it.
fn stored_phone(national: &str, code: Option<&str>) -> String {
    match code {
        None | Some("+86") => national.to_string(),
        Some(code) => format!("{code}{national}"),
    }
}

/// What `with*` options ask to add to each user.
#[derive(Debug, Default, Clone, Copy)]
pub struct Extras {
    custom_data: bool,
    identities: bool,
    department_ids: bool,
    post: bool,
}

impl Extras {
    fn from_options(options: Option<&Map<String, Value>>) -> V3Result<Extras> {
        let Some(options) = options else {
            return Ok(Extras::default());
        };
        Ok(Extras {
            custom_data: options.boolean("withCustomData")?.unwrap_or(false),
            identities: options.boolean("withIdentities")?.unwrap_or(false),
            department_ids: options.boolean("withDepartmentIds")?.unwrap_or(false),
            post: options.boolean("withPost")?.unwrap_or(false),
        })
    }

    fn from_query(query: &Query) -> V3Result<Extras> {
        Ok(Extras {
            custom_data: query.flag("withCustomData")?.unwrap_or(false),
            identities: query.flag("withIdentities")?.unwrap_or(false),
            department_ids: query.flag("withDepartmentIds")?.unwrap_or(false),
            post: query.flag("withPost")?.unwrap_or(false),
        })
    }
}

fn text(value: Option<&str>) -> Value {
    value.map_or(Value::Null, |text| Value::String(text.to_string()))
}

/// The v3 gender of a stored one (v1 takes any string; v3 only `M`, `F`, `U`).
fn gender(user: &UserRecord) -> &str {
    match user.profile().gender.as_deref() {
        Some(gender) if GENDERS.contains(&gender) => gender,
        _ => "U",
    }
}

/// A stored user as v3's `UserDto`.
pub fn user_dto(id: &str, user: &UserRecord, extras: Extras) -> Value {
    let profile = user.profile();
    let (phone, phone_country_code) = phone_parts(user);
    let mut dto = Map::with_capacity(48);
    dto.insert("userId".into(), json!(id));
    dto.insert("createdAt".into(), json!(iso_date(user.signed_up)));
    dto.insert(
        "updatedAt".into(),
        json!(iso_date(user.updated_at.unwrap_or(user.signed_up))),
    );
    dto.insert("status".into(), json!(user.status()));
    dto.insert("workStatus".into(), json!("Active"));
    dto.insert("externalId".into(), text(user.external_id()));
    dto.insert("email".into(), text(user.email.as_deref()));
    dto.insert("phone".into(), text(phone.as_deref()));
    dto.insert(
        "phoneCountryCode".into(),
        text(phone_country_code.as_deref()),
    );
    dto.insert("username".into(), text(user.username.as_deref()));
    dto.insert("nickname".into(), text(user.nickname.as_deref()));
    dto.insert("photo".into(), text(user.photo.as_deref()));
    dto.insert("company".into(), text(user.company.as_deref()));
    dto.insert("emailVerified".into(), json!(user.email_verified));
    dto.insert("phoneVerified".into(), json!(user.phone_verified));
    dto.insert("loginsCount".into(), json!(user.logins_count));
    dto.insert(
        "lastLogin".into(),
        user.last_login
            .map_or(Value::Null, |at| json!(iso_date(at))),
    );
    dto.insert("lastIp".into(), text(user.last_ip.as_deref()));
    dto.insert("signedUp".into(), json!(iso_date(user.signed_up)));
    for field in ProfileField::ALL {
        match (field, field.v3_name()) {
            (ProfileField::Gender, _) => {
                dto.insert("gender".into(), json!(gender(user)));
            }
            (_, Some(name)) => {
                dto.insert(name.into(), text(profile.get(*field)));
            }
            (_, None) => {}
        }
    }
    dto.insert(
        "userSourceType".into(),
        json!(if user.admin_created() {
            "adminCreated"
        } else {
            "register"
        }),
    );
    if extras.custom_data {
        dto.insert("customData".into(), json!({}));
    }
    if extras.identities {
        dto.insert("identities".into(), json!([]));
    }
    if extras.department_ids {
        dto.insert("departmentIds".into(), json!([]));
    }
    if extras.post {
        dto.insert("postIdList".into(), json!([]));
    }
    Value::Object(dto)
}

/// The id of the user `value` names under `userIdType`. External identities and custom fields
/// never match: the emulator's users have none.
fn find<'s>(store: &'s Store, id_type: &str, value: &str) -> V3Result<Option<&'s String>> {
    let found = match id_type {
        "user_id" => store.user_full(value).map(|(_, id, _)| id),
        "external_id" => store.id_by_external_id(value),
        "phone" => store.id_by_phone(value),
        "email" => store.id_by_email(value),
        "username" => store.id_by_username(value),
        "identity" | "sync_relation" | "custom_field" => None,
        _ => return Err(Failure::bad_param("userIdType")),
    };
    Ok(found)
}

/// `userIdType` from a query (default `user_id`).
fn id_type_of(query: &Query) -> String {
    query.text("userIdType").unwrap_or_else(|| "user_id".into())
}

// --- reads -------------------------------------------------------------------------------------

/// `GET /api/v3/get-user`.
pub fn get_user(shared: &Shared, query: &Query) -> V3Result<Value> {
    let user_id = query
        .text("userId")
        .ok_or_else(|| Failure::bad_param("userId"))?;
    let id_type = id_type_of(query);
    let extras = Extras::from_query(query)?;
    shared.read(|store| {
        let id = find(store, &id_type, &user_id)?.ok_or_else(Failure::user_not_found)?;
        let user = store.user(id).ok_or_else(Failure::user_not_found)?;
        Ok(user_dto(id, user, extras))
    })
}

/// `GET /api/v3/get-user-batch`: the users found, in the order asked, each once; unknown ids
/// are left out.
pub fn get_user_batch(shared: &Shared, query: &Query) -> V3Result<Value> {
    let ids = query.list("userIds");
    if ids.is_empty() {
        return Err(Failure::bad_param("userIds"));
    }
    if ids.len() > MAX_BATCH {
        return Err(Failure::new(
            400,
            format!("userIds 数组长度不能超过 {MAX_BATCH}"),
        ));
    }
    let id_type = id_type_of(query);
    let extras = Extras::from_query(query)?;
    shared.read(|store| {
        let mut seen = HashSet::new();
        let mut list = Vec::with_capacity(ids.len());
        for value in &ids {
            if let Some(id) = find(store, &id_type, value)?
                && seen.insert(id.to_string())
                && let Some(user) = store.user(id)
            {
                list.push(user_dto(id, user, extras));
            }
        }
        Ok(Value::Array(list))
    })
}

/// `POST /api/v3/is-user-exists`: whether any of the given keys names a user.
pub fn is_user_exists(shared: &Shared, body: &Body) -> V3Result<Value> {
    let keys = [
        ("username", body.string("username")?),
        ("email", body.string("email")?),
        ("phone", body.string("phone")?),
        ("external_id", body.string("externalId")?),
    ];
    let given: Vec<(&str, String)> = keys
        .into_iter()
        .filter_map(|(kind, value)| {
            value
                .map(|value| value.trim().to_string())
                .filter(|value| !value.is_empty())
                .map(|value| (kind, value))
        })
        .collect();
    if given.is_empty() {
        return Err(Failure::new(
            400,
            "参数 username, email, phone, externalId 格式错误",
        ));
    }
    let exists = shared.read(|store| {
        given
            .iter()
            .any(|(kind, value)| matches!(find(store, kind, value), Ok(Some(_))))
    });
    Ok(json!({"exists": exists}))
}

/// `GET /api/v3/get-user-mfa-info`: from the MFA records v1's `queryMFA` reads. TOTP is
/// `enabled` when the record is on; the other factors are always `disabled`.
pub fn get_user_mfa_info(shared: &Shared, query: &Query) -> V3Result<Value> {
    let user_id = query
        .text("userId")
        .ok_or_else(|| Failure::bad_param("userId"))?;
    let id_type = id_type_of(query);
    shared.read(|store| {
        let id = find(store, &id_type, &user_id)?.ok_or_else(Failure::user_not_found)?;
        let totp = store.mfa_of(id).is_some_and(|record| record.enable);
        Ok(json!({
            "totpStatus": if totp { "enabled" } else { "disabled" },
            "faceMfaStatus": "disabled",
            "smsMfaStatus": "disabled",
            "emailMfaStatus": "disabled",
        }))
    })
}

/// `GET /api/v3/get-otp-secret-by-user`: the TOTP secret of v1's MFA record (its `shareKey`),
/// whether the record is on or off; 404 for a user who never had one.
pub fn get_otp_secret_by_user(shared: &Shared, query: &Query) -> V3Result<Value> {
    let user_id = query
        .text("userId")
        .ok_or_else(|| Failure::bad_param("userId"))?;
    let id_type = id_type_of(query);
    shared.read(|store| {
        let id = find(store, &id_type, &user_id)?.ok_or_else(Failure::user_not_found)?;
        let record = store
            .mfa_of(id)
            .ok_or_else(|| Failure::new(404, "用户未绑定 OTP"))?;
        Ok(json!({"secret": record.share_key}))
    })
}

/// `POST /api/v3/import-otp {list: [{userId, otp: {secret, recoveryCode?}}]}`: enrols each
/// user in TOTP with that secret (v1's MFA record, switched on). Validated whole, then written
/// whole: an unknown user refuses the batch.
pub fn import_otp(shared: &Shared, body: &Body, now: i64) -> V3Result<Value> {
    let items = batch_items(body, "list")?;
    let mut wanted = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let user_id = item
            .string("userId")
            .map_err(at(Some("list"), index))?
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| at(Some("list"), index)(Failure::bad_param("userId")))?;
        let secret = item
            .object("otp")
            .map_err(at(Some("list"), index))?
            .map(|otp| otp.string("secret"))
            .transpose()
            .map_err(at(Some("list"), index))?
            .flatten()
            .map(|secret| secret.trim().to_string())
            .filter(|secret| !secret.is_empty())
            .ok_or_else(|| at(Some("list"), index)(Failure::bad_param("otp")))?;
        wanted.push((user_id, secret));
    }
    shared.mutate_or(
        |store| {
            let mut events = Vec::with_capacity(wanted.len());
            for (index, (user_id, secret)) in wanted.into_iter().enumerate() {
                if store.user(&user_id).is_none() {
                    return Err(at(Some("list"), index)(Failure::user_not_found()));
                }
                let id = store
                    .mfa_of(&user_id)
                    .map_or_else(|| new_object_id(store, now), |record| record.id.clone());
                events.push(Event::PutMfa {
                    mfa: MfaRecord {
                        id,
                        user_id,
                        user_pool_id: shared.client_id.clone(),
                        enable: true,
                        share_key: secret,
                    },
                });
            }
            Ok((Value::Null, events))
        },
        busy,
    )
}

/// A value of a filterable, sortable user field.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Cell {
    Null,
    Number(f64),
    Text(String),
}

/// The fields `advancedFilter`, `keywords` and `sort` can name.
const LIST_FIELDS: [&str; 17] = [
    "id",
    "userId",
    "phone",
    "email",
    "username",
    "externalId",
    "name",
    "nickname",
    "status",
    "gender",
    "loginsCount",
    "lastLogin",
    "createdAt",
    "updatedAt",
    "phoneCountryCode",
    "company",
    "lastIp",
];

fn cell(id: &str, user: &UserRecord, field: &str) -> Cell {
    let texted = |value: Option<&str>| value.map_or(Cell::Null, |v| Cell::Text(v.to_string()));
    match field {
        "id" | "userId" => Cell::Text(id.to_string()),
        "phone" => texted(phone_parts(user).0.as_deref()),
        "phoneCountryCode" => texted(phone_parts(user).1.as_deref()),
        "email" => texted(user.email.as_deref()),
        "username" => texted(user.username.as_deref()),
        "externalId" => texted(user.external_id()),
        "name" => texted(user.profile().name.as_deref()),
        "nickname" => texted(user.nickname.as_deref()),
        "company" => texted(user.company.as_deref()),
        "lastIp" => texted(user.last_ip.as_deref()),
        "status" => Cell::Text(user.status().to_string()),
        "gender" => Cell::Text(gender(user).to_string()),
        "loginsCount" => Cell::Number(user.logins_count as f64),
        "lastLogin" => user
            .last_login
            .map_or(Cell::Null, |at| Cell::Number(at as f64 * 1000.0)),
        "createdAt" => Cell::Number(user.signed_up as f64 * 1000.0),
        "updatedAt" => Cell::Number(user.updated_at.unwrap_or(user.signed_up) as f64 * 1000.0),
        _ => Cell::Null,
    }
}

/// A filter value as a cell of `field`'s kind: numbers and dates (ISO strings or epoch
/// milliseconds) for the numeric fields, text otherwise.
fn value_cell(field: &str, value: &Value) -> V3Result<Cell> {
    let numeric = matches!(
        field,
        "loginsCount" | "lastLogin" | "createdAt" | "updatedAt"
    );
    let bad = || Failure::bad_param("advancedFilter");
    match value {
        Value::Null => Ok(Cell::Null),
        Value::Number(number) if numeric => number.as_f64().map(Cell::Number).ok_or_else(bad),
        Value::String(text) if numeric && field != "loginsCount" => text
            .parse::<jiff::Timestamp>()
            .map(|at| Cell::Number(at.as_millisecond() as f64))
            .or_else(|_| text.parse::<f64>().map(Cell::Number))
            .map_err(|_| bad()),
        Value::String(text) if numeric => text.parse().map(Cell::Number).map_err(|_| bad()),
        Value::String(text) => Ok(Cell::Text(text.clone())),
        Value::Number(number) => Ok(Cell::Text(number.to_string())),
        Value::Bool(flag) => Ok(Cell::Text(flag.to_string())),
        _ => Err(bad()),
    }
}

fn eq_cells(field: &str, a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        // Emails and usernames compare case-insensitively, as their uniqueness does.
        (Cell::Text(a), Cell::Text(b)) if matches!(field, "email" | "username") => {
            fold(a) == fold(b)
        }
        _ => a == b,
    }
}

fn contains(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Text(a), Cell::Text(b)) => a.to_lowercase().contains(&b.to_lowercase()),
        _ => false,
    }
}

/// One `advancedFilter` item.
#[derive(Debug)]
struct Condition {
    field: String,
    operator: String,
    values: Vec<Cell>,
}

impl Condition {
    fn parse(item: &Value) -> V3Result<Condition> {
        let bad = || Failure::bad_param("advancedFilter");
        let Value::Object(item) = item else {
            return Err(bad());
        };
        let field = item.string("field")?.ok_or_else(bad)?;
        let operator = item.string("operator")?.ok_or_else(bad)?;
        if !LIST_FIELDS.contains(&field.as_str()) {
            return Err(Failure::unsupported(format!(
                "advancedFilter on `{field}` is not supported by the emulator"
            )));
        }
        let value = item.get("value").unwrap_or(&Value::Null);
        let values = match operator.as_str() {
            "IS_NULL" | "NOT_NULL" => Vec::new(),
            "IN" | "BETWEEN" => {
                let Value::Array(items) = value else {
                    return Err(bad());
                };
                let cells = items
                    .iter()
                    .map(|item| value_cell(&field, item))
                    .collect::<V3Result<Vec<_>>>()?;
                if operator == "BETWEEN" && cells.len() != 2 {
                    return Err(bad());
                }
                cells
            }
            "EQUAL" | "NOT_EQUAL" | "CONTAINS" | "NOT_CONTAINS" | "GREATER" | "LESSER" => {
                vec![value_cell(&field, value)?]
            }
            _ => return Err(bad()),
        };
        if field == "status" {
            for value in &values {
                if !matches!(value, Cell::Text(status) if STATUSES.contains(&status.as_str())) {
                    return Err(Failure::bad_param("status"));
                }
            }
        }
        Ok(Condition {
            field,
            operator,
            values,
        })
    }

    fn matches(&self, id: &str, user: &UserRecord) -> bool {
        let have = cell(id, user, &self.field);
        let first = self.values.first().unwrap_or(&Cell::Null);
        match self.operator.as_str() {
            "EQUAL" => eq_cells(&self.field, &have, first),
            "NOT_EQUAL" => !eq_cells(&self.field, &have, first),
            "CONTAINS" => contains(&have, first),
            "NOT_CONTAINS" => !contains(&have, first),
            "IS_NULL" => have == Cell::Null,
            "NOT_NULL" => have != Cell::Null,
            "IN" => self
                .values
                .iter()
                .any(|value| eq_cells(&self.field, &have, value)),
            "GREATER" => have != Cell::Null && have >= *first,
            "LESSER" => have != Cell::Null && have <= *first,
            "BETWEEN" => have != Cell::Null && have >= self.values[0] && have <= self.values[1],
            _ => false,
        }
    }

    /// The ids this condition alone allows, when it names users by id (the fast path).
    fn ids(&self) -> Option<Vec<&str>> {
        if !matches!(self.field.as_str(), "id" | "userId") {
            return None;
        }
        let texts = || {
            self.values
                .iter()
                .filter_map(|value| match value {
                    Cell::Text(text) => Some(text.as_str()),
                    _ => None,
                })
                .collect()
        };
        match self.operator.as_str() {
            "EQUAL" | "IN" => Some(texts()),
            _ => None,
        }
    }
}

/// A `list-users` request, whichever form it came in.
#[derive(Debug)]
struct Listing {
    conditions: Vec<Condition>,
    keywords: Option<(String, Vec<String>)>,
    sort: Vec<(String, bool)>,
    page: usize,
    limit: usize,
    extras: Extras,
}

fn page_and_limit(page: Option<i64>, limit: Option<i64>) -> V3Result<(usize, usize)> {
    let page = match page {
        None => 1,
        Some(page) if page >= 1 => page,
        Some(_) => return Err(Failure::bad_param("page")),
    };
    let limit = match limit {
        None => DEFAULT_LIMIT as i64,
        Some(limit) if limit < 1 => return Err(Failure::bad_param("limit")),
        Some(limit) if limit > MAX_BATCH as i64 => {
            return Err(Failure::new(400, "limit must less than 50"));
        }
        Some(limit) => limit,
    };
    Ok((
        usize::try_from(page).unwrap_or(usize::MAX),
        usize::try_from(limit).unwrap_or(DEFAULT_LIMIT),
    ))
}

impl Listing {
    fn from_body(body: &Body) -> V3Result<Listing> {
        if body
            .object("searchQuery")?
            .is_some_and(|query| !query.is_empty())
        {
            return Err(Failure::unsupported(
                "searchQuery (Elasticsearch) is not supported by the emulator",
            ));
        }
        let conditions = body
            .array("advancedFilter")?
            .map(|items| items.iter().map(Condition::parse).collect())
            .transpose()?
            .unwrap_or_default();
        let options = body.object("options")?;
        let (page, limit) = match options
            .map(|options| options.object("pagination"))
            .transpose()?
            .flatten()
        {
            Some(pagination) => pagination_of(pagination)?,
            None => page_and_limit(None, None)?,
        };
        let mut sort = Vec::new();
        if let Some(items) = options
            .map(|options| options.array("sort"))
            .transpose()?
            .flatten()
        {
            for item in items {
                let Value::Object(item) = item else {
                    return Err(Failure::bad_param("sort"));
                };
                let field = item
                    .string("field")?
                    .ok_or_else(|| Failure::bad_param("sort"))?;
                if !LIST_FIELDS.contains(&field.as_str()) {
                    return Err(Failure::unsupported(format!(
                        "sort on `{field}` is not supported by the emulator"
                    )));
                }
                let ascending = match item.string("order")?.as_deref() {
                    None | Some("asc") => true,
                    Some("desc") => false,
                    Some(_) => return Err(Failure::bad_param("sort")),
                };
                sort.push((field, ascending));
            }
        }
        let keywords = match body
            .string("keywords")?
            .filter(|text| !text.trim().is_empty())
        {
            Some(text) => {
                let fields = options
                    .map(|options| options.strings("fuzzySearchOn"))
                    .transpose()?
                    .flatten()
                    .unwrap_or_else(|| {
                        ["phone", "email", "name", "username", "nickname"]
                            .map(String::from)
                            .to_vec()
                    });
                Some((text.trim().to_string(), fields))
            }
            None => None,
        };
        Ok(Listing {
            conditions,
            keywords,
            sort,
            page,
            limit,
            extras: Extras::from_options(options)?,
        })
    }

    /// The deprecated `GET /api/v3/list-users`.
    fn from_query(query: &Query) -> V3Result<Listing> {
        let (page, limit) = page_and_limit(query.int("page")?, query.int("limit")?)?;
        let mut conditions = Vec::new();
        if let Some(status) = query.text("status") {
            conditions.push(Condition::parse(
                &json!({"field": "status", "operator": "EQUAL", "value": status}),
            )?);
        }
        // UNIX seconds here, milliseconds in the cells.
        let bound = |key: &str| -> V3Result<Option<Cell>> {
            Ok(query
                .int(key)?
                .map(|seconds| Cell::Number(seconds as f64 * 1000.0)))
        };
        let start = bound("updatedAtStart")?;
        let end = bound("updatedAtEnd")?;
        if start.is_some() || end.is_some() {
            conditions.push(Condition {
                field: "updatedAt".into(),
                operator: "BETWEEN".into(),
                values: vec![
                    start.unwrap_or(Cell::Number(f64::MIN)),
                    end.unwrap_or(Cell::Number(f64::MAX)),
                ],
            });
        }
        Ok(Listing {
            conditions,
            keywords: None,
            sort: Vec::new(),
            page,
            limit,
            extras: Extras::from_query(query)?,
        })
    }

    fn keeps(&self, id: &str, user: &UserRecord) -> bool {
        self.conditions
            .iter()
            .all(|condition| condition.matches(id, user))
            && self.keywords.as_ref().is_none_or(|(text, fields)| {
                let needle = Cell::Text(text.clone());
                fields
                    .iter()
                    .any(|field| contains(&cell(id, user, field), &needle))
            })
    }

    /// `{totalCount, list}`.
    fn run(&self, store: &Store) -> Value {
        let start = (self.page - 1).saturating_mul(self.limit);
        // Creation order is the store's order; `createdAt` sorts by it.
        let creation_order = match self.sort.as_slice() {
            [] => Some(true),
            [(field, ascending)] if field == "createdAt" => Some(*ascending),
            _ => None,
        };
        let plain = self.conditions.is_empty() && self.keywords.is_none();
        if plain && let Some(ascending) = creation_order {
            let total = store.user_count();
            let list: Vec<Value> = if ascending {
                store
                    .page(start, self.limit)
                    .map(|(id, user)| user_dto(id, user, self.extras))
                    .collect()
            } else {
                store
                    .users()
                    .rev()
                    .skip(start)
                    .take(self.limit)
                    .map(|(id, user)| user_dto(id, user, self.extras))
                    .collect()
            };
            return json!({"totalCount": total, "list": list});
        }
        let mut matching: Vec<(&String, &UserRecord)> =
            match self.conditions.iter().find_map(Condition::ids) {
                Some(ids) => {
                    let mut found: Vec<(usize, &String, &UserRecord)> = Vec::new();
                    let mut seen = HashSet::new();
                    for id in ids {
                        if seen.insert(id)
                            && let Some((index, key, user)) = store.user_full(id)
                        {
                            found.push((index, key, user));
                        }
                    }
                    found.sort_by_key(|(index, _, _)| *index);
                    found
                        .into_iter()
                        .map(|(_, id, user)| (id, user))
                        .filter(|(id, user)| self.keeps(id, user))
                        .collect()
                }
                None => store
                    .users()
                    .filter(|(id, user)| self.keeps(id, user))
                    .collect(),
            };
        match creation_order {
            Some(true) => {}
            Some(false) => matching.reverse(),
            None => matching.sort_by(|(a_id, a), (b_id, b)| {
                for (field, ascending) in &self.sort {
                    let order = cell(a_id, a, field)
                        .partial_cmp(&cell(b_id, b, field))
                        .unwrap_or(std::cmp::Ordering::Equal);
                    let order = if *ascending { order } else { order.reverse() };
                    if order.is_ne() {
                        return order;
                    }
                }
                std::cmp::Ordering::Equal
            }),
        }
        let total = matching.len();
        let list: Vec<Value> = matching
            .into_iter()
            .skip(start)
            .take(self.limit)
            .map(|(id, user)| user_dto(id, user, self.extras))
            .collect();
        json!({"totalCount": total, "list": list})
    }
}

fn pagination_of(pagination: &Map<String, Value>) -> V3Result<(usize, usize)> {
    page_and_limit(pagination.integer("page")?, pagination.integer("limit")?)
}

/// `POST /api/v3/list-users`.
pub fn list_users(shared: &Shared, body: &Body) -> V3Result<Value> {
    let listing = Listing::from_body(body)?;
    Ok(shared.read(|store| listing.run(store)))
}

/// `GET /api/v3/list-users` (the deprecated form).
pub fn list_users_legacy(shared: &Shared, query: &Query) -> V3Result<Value> {
    let listing = Listing::from_query(query)?;
    Ok(shared.read(|store| listing.run(store)))
}

// --- writes ------------------------------------------------------------------------------------

/// How passwords in a write are given (`options.passwordEncryptType` and friends).
struct PasswordOptions {
    encrypt: String,
    generate: bool,
}

impl PasswordOptions {
    fn parse(options: Option<&Map<String, Value>>) -> V3Result<PasswordOptions> {
        let Some(options) = options else {
            return Ok(PasswordOptions {
                encrypt: "none".into(),
                generate: false,
            });
        };
        let encrypt = options
            .string("passwordEncryptType")?
            .unwrap_or_else(|| "none".into());
        if !matches!(encrypt.as_str(), "none" | "rsa" | "sm2") {
            return Err(Failure::bad_param("passwordEncryptType"));
        }
        Ok(PasswordOptions {
            encrypt,
            generate: options.boolean("autoGeneratePassword")?.unwrap_or(false),
        })
    }

    /// The hash to store for `password` (none given and none generated: `None`).
    fn hash(&self, shared: &Shared, password: Option<String>) -> V3Result<Option<PasswordHash>> {
        if self.generate {
            let bytes: [u8; 12] = rand::rng().random();
            let generated: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
            return Ok(Some(PasswordHash::new(&Secret::from(generated))));
        }
        let Some(password) = password else {
            return Ok(None);
        };
        if password.is_empty() {
            return Err(Failure::bad_param("password"));
        }
        let plain = match self.encrypt.as_str() {
            "rsa" => shared
                .keys
                .decrypt_password(&password)
                .map_err(|_| Failure::bad_param("password"))?,
            "sm2" => {
                return Err(Failure::unsupported(
                    "passwordEncryptType sm2 is not supported by the emulator; use none or rsa",
                ));
            }
            _ => Secret::from(password),
        };
        Ok(Some(PasswordHash::new(&plain)))
    }
}

/// The fields a create or update writes; `None` leaves a field alone (and `null` is `None`).
#[derive(Debug, Default)]
struct Patch {
    email: Option<String>,
    username: Option<String>,
    nickname: Option<String>,
    photo: Option<String>,
    company: Option<String>,
    /// National digits; empty clears the phone.
    phone: Option<String>,
    phone_country_code: Option<String>,
    external_id: Option<String>,
    status: Option<String>,
    email_verified: Option<bool>,
    phone_verified: Option<bool>,
    password: Option<PasswordHash>,
    profile: Vec<(ProfileField, String)>,
    otp_secret: Option<String>,
}

/// Fields the emulator's pool cannot hold anything for: refused when not empty.
const EMPTY_ONLY: [(&str, &str); 3] = [
    ("departmentIds", "the emulator's pool has no departments"),
    ("tenantIds", "the emulator's pool has no tenants"),
    ("identities", "the emulator's pool has no identity sources"),
];

impl Patch {
    fn parse(
        shared: &Shared,
        fields: &Map<String, Value>,
        passwords: &PasswordOptions,
        allow_otp: bool,
    ) -> V3Result<Patch> {
        let trimmed = |key: &str| -> V3Result<Option<String>> {
            Ok(fields.string(key)?.map(|value| value.trim().to_string()))
        };
        let mut patch = Patch {
            email: trimmed("email")?,
            username: trimmed("username")?,
            nickname: trimmed("nickname")?,
            photo: trimmed("photo")?,
            company: trimmed("company")?,
            phone: trimmed("phone")?,
            phone_country_code: trimmed("phoneCountryCode")?,
            external_id: trimmed("externalId")?,
            status: trimmed("status")?,
            email_verified: fields.boolean("emailVerified")?,
            phone_verified: fields.boolean("phoneVerified")?,
            password: passwords.hash(shared, fields.string("password")?)?,
            ..Patch::default()
        };
        if let Some(email) = &patch.email
            && !is_valid_email(email)
        {
            return Err(Failure::bad_param("email"));
        }
        if let Some(phone) = &patch.phone
            && !phone.bytes().all(|byte| byte.is_ascii_digit())
        {
            return Err(Failure::bad_param("phone"));
        }
        if let Some(code) = &patch.phone_country_code {
            let digits = code.strip_prefix('+').unwrap_or_default();
            if digits.is_empty()
                || digits.len() > 4
                || !digits.bytes().all(|byte| byte.is_ascii_digit())
            {
                return Err(Failure::bad_param("phoneCountryCode"));
            }
        }
        if let Some(status) = &patch.status
            && !STATUSES.contains(&status.as_str())
        {
            return Err(Failure::bad_param("status"));
        }
        for field in ProfileField::ALL {
            let Some(name) = field.v3_name() else {
                continue;
            };
            if let Some(value) = trimmed(name)? {
                if *field == ProfileField::Gender && !GENDERS.contains(&value.as_str()) {
                    return Err(Failure::bad_param("gender"));
                }
                patch.profile.push((*field, value));
            }
        }
        if let Some(custom) = fields.object("customData")? {
            let text = serde_json::to_string(custom).unwrap_or_default();
            if custom.values().any(|value| {
                value
                    .as_str()
                    .is_some_and(|text| text.chars().count() > 1024)
            }) || text.chars().count() > 1024 * 16
            {
                return Err(Failure::new(
                    400,
                    "customData must be less than 1024 characters",
                ));
            }
            if let Some(key) = custom.keys().next() {
                return Err(Failure::new(
                    400,
                    format!(
                        "自定义字段 {key} 不存在: the emulator's pool defines no custom fields"
                    ),
                ));
            }
        }
        for (key, why) in EMPTY_ONLY {
            if fields.array(key)?.is_some_and(|items| !items.is_empty()) {
                return Err(Failure::new(400, format!("{key}: {why}")));
            }
        }
        if allow_otp && let Some(otp) = fields.object("otp")? {
            let secret = otp
                .string("secret")?
                .map(|secret| secret.trim().to_string())
                .filter(|secret| !secret.is_empty())
                .ok_or_else(|| Failure::bad_param("otp"))?;
            patch.otp_secret = Some(secret);
        }
        Ok(patch)
    }

    /// Writes the patch into `user`. Changing the email or the phone resets its verified flag
    /// unless the patch sets it too.
    fn apply(self, user: &mut UserRecord) -> V3Result<()> {
        if let Some(email) = self.email {
            if user.email.as_deref().map(fold) != Some(fold(&email)) {
                user.email_verified = false;
            }
            user.email = Some(email);
        }
        set(&mut user.username, self.username);
        set(&mut user.nickname, self.nickname);
        set(&mut user.photo, self.photo);
        set(&mut user.company, self.company);
        if let Some(external_id) = self.external_id {
            user.set_external_id((!external_id.is_empty()).then_some(external_id));
        }
        match (self.phone, self.phone_country_code) {
            (Some(phone), _) if phone.is_empty() => {
                if user.phone.is_some() {
                    user.phone_verified = false;
                }
                user.phone = None;
                user.set_phone_country_code(None);
            }
            (Some(phone), code) => {
                let code = code.or_else(|| phone_parts(user).1);
                let stored = stored_phone(&phone, code.as_deref());
                if user.phone.as_deref() != Some(stored.as_str()) {
                    user.phone_verified = false;
                }
                user.phone = Some(stored);
                user.set_phone_country_code(code);
            }
            (None, Some(code)) => {
                let (Some(national), _) = phone_parts(user) else {
                    return Err(Failure::new(400, "phone cannot be empty"));
                };
                let stored = stored_phone(&national, Some(&code));
                if user.phone.as_deref() != Some(stored.as_str()) {
                    user.phone_verified = false;
                }
                user.phone = Some(stored);
                user.set_phone_country_code(Some(code));
            }
            (None, None) => {}
        }
        if let Some(status) = &self.status {
            user.set_status(status);
        }
        if let Some(verified) = self.email_verified {
            user.email_verified = verified;
        }
        if let Some(verified) = self.phone_verified {
            user.phone_verified = verified;
        }
        if let Some(hash) = self.password {
            user.password = Some(hash);
        }
        for (field, value) in self.profile {
            let slot = user.profile_mut().field_mut(field);
            *slot = (!value.is_empty()).then_some(value);
        }
        user.shrink_profile();
        Ok(())
    }
}

/// An empty string clears an optional field.
fn set(slot: &mut Option<String>, value: Option<String>) {
    if let Some(value) = value {
        *slot = (!value.is_empty()).then_some(value);
    }
}

/// The unique keys of a user: `(kind, key)` with emails and usernames folded.
fn unique_keys(user: &UserRecord) -> Vec<(&'static str, String)> {
    let mut keys = Vec::with_capacity(4);
    if let Some(email) = &user.email {
        keys.push(("email", fold(email)));
    }
    if let Some(username) = &user.username {
        keys.push(("username", fold(username)));
    }
    if let Some(phone) = &user.phone {
        keys.push(("phone", phone.trim().to_string()));
    }
    if let Some(external_id) = user.external_id() {
        keys.push(("externalId", external_id.to_string()));
    }
    keys
}

fn holder<'s>(store: &'s Store, kind: &str, key: &str) -> Option<&'s String> {
    match kind {
        "email" => store.id_by_email(key),
        "username" => store.id_by_username(key),
        "phone" => store.id_by_phone(key),
        _ => store.id_by_external_id(key),
    }
}

/// 409 unless the final records keep every email, username, phone and external id unique:
/// among themselves, and against every user the batch does not change. Checked on the final
/// state, so a batch may swap values between its users.
fn check_unique(
    store: &Store,
    changed: &[(String, UserRecord)],
    list: Option<&str>,
) -> V3Result<()> {
    let ids: HashSet<&str> = changed.iter().map(|(id, _)| id.as_str()).collect();
    let mut claimed: HashMap<(&str, String), usize> = HashMap::new();
    for (index, (_, user)) in changed.iter().enumerate() {
        for (kind, key) in unique_keys(user) {
            let taken = claimed.contains_key(&(kind, key.clone()))
                || holder(store, kind, &key).is_some_and(|owner| !ids.contains(owner.as_str()));
            if taken {
                return Err(at(list, index)(Failure::conflict(format!(
                    "用户已存在: {kind} {key} 已被占用"
                ))));
            }
            claimed.insert((kind, key), index);
        }
    }
    Ok(())
}

/// A failure about item `index` of the batch `list` (as it is when there is no batch).
fn at(list: Option<&str>, index: usize) -> impl Fn(Failure) -> Failure + '_ {
    move |failure| match list {
        Some(list) => failure.in_item(list, index),
        None => failure,
    }
}

/// Validates and builds new users; nothing is written unless all of them are good.
fn create(
    shared: &Shared,
    items: &[&Map<String, Value>],
    options: Option<&Map<String, Value>>,
    list: Option<&str>,
    now: i64,
) -> V3Result<Vec<Value>> {
    let passwords = PasswordOptions::parse(options)?;
    let mut patches = Vec::with_capacity(items.len());
    for (index, fields) in items.iter().enumerate() {
        let patch = Patch::parse(shared, fields, &passwords, true).map_err(at(list, index))?;
        let named = [&patch.email, &patch.username, &patch.phone]
            .iter()
            .any(|value| value.as_deref().is_some_and(|value| !value.is_empty()));
        if !named {
            return Err(at(list, index)(Failure::new(
                400,
                "Must contain one of the following fields: username, phone, email",
            )));
        }
        if patch.phone_country_code.is_some() && patch.phone.as_deref().is_none_or(str::is_empty) {
            return Err(at(list, index)(Failure::new(400, "phone cannot be empty")));
        }
        patches.push(patch);
    }
    shared.mutate_or(
        |store| {
            let mut users: Vec<(String, UserRecord)> = Vec::with_capacity(patches.len());
            let mut otps = Vec::new();
            for (index, mut patch) in patches.into_iter().enumerate() {
                let id = loop {
                    let id = new_object_id(store, now);
                    if users.iter().all(|(taken, _)| *taken != id) {
                        break id;
                    }
                };
                let mut user = UserRecord {
                    signed_up: now,
                    updated_at: Some(now),
                    photo: Some(DEFAULT_PHOTO.to_string()),
                    ..UserRecord::default()
                };
                user.set_admin_created(true);
                if let Some(secret) = patch.otp_secret.take() {
                    otps.push((id.clone(), secret));
                }
                patch.apply(&mut user).map_err(at(list, index))?;
                users.push((id, user));
            }
            check_unique(store, &users, list)?;
            let out = users
                .iter()
                .map(|(id, user)| user_dto(id, user, Extras::default()))
                .collect();
            let mut events: Vec<Event> = users
                .into_iter()
                .map(|(id, user)| Event::PutUser {
                    id,
                    user: Box::new(user),
                })
                .collect();
            for (user_id, secret) in otps {
                let mfa_id = new_object_id(store, now);
                events.push(Event::PutMfa {
                    mfa: MfaRecord {
                        id: mfa_id,
                        user_id,
                        user_pool_id: shared.client_id.clone(),
                        enable: true,
                        share_key: secret,
                    },
                });
            }
            Ok((out, events))
        },
        busy,
    )
}

fn busy() -> Failure {
    Failure::new(500, "系统繁忙，请稍后再试").with_api_code(1000)
}

/// `POST /api/v3/create-user`.
pub fn create_user(shared: &Shared, body: &Body, now: i64) -> V3Result<Value> {
    let options = body.object("options")?;
    let mut created = create(shared, &[&body.fields], options, None, now)?;
    Ok(created.pop().unwrap_or(Value::Null))
}

/// The items of a batch's `list`: 1 to 50 objects.
fn batch_items<'b>(body: &'b Body, key: &str) -> V3Result<Vec<&'b Map<String, Value>>> {
    let items = body.array(key)?.ok_or_else(|| Failure::bad_param(key))?;
    if items.is_empty() {
        return Err(Failure::bad_param(key));
    }
    if items.len() > MAX_BATCH {
        return Err(Failure::new(
            400,
            format!("{key} 数组长度不能超过 {MAX_BATCH}"),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::Object(fields) => Ok(fields),
            _ => Err(Failure::bad_param(key).in_item(key, index)),
        })
        .collect()
}

/// `POST /api/v3/create-users-batch`.
pub fn create_users_batch(shared: &Shared, body: &Body, now: i64) -> V3Result<Value> {
    let items = batch_items(body, "list")?;
    let options = body.object("options")?;
    create(shared, &items, options, Some("list"), now).map(Value::Array)
}

/// Validates and applies updates to existing users; nothing is written unless all are good.
fn update(
    shared: &Shared,
    items: &[&Map<String, Value>],
    options: Option<&Map<String, Value>>,
    list: Option<&str>,
    now: i64,
) -> V3Result<Vec<Value>> {
    let passwords = PasswordOptions::parse(options)?;
    let id_type = options
        .map(|options| options.string("userIdType"))
        .transpose()?
        .flatten()
        .unwrap_or_else(|| "user_id".into());
    let mut patches = Vec::with_capacity(items.len());
    for (index, fields) in items.iter().enumerate() {
        let user_id = fields
            .string("userId")
            .map_err(at(list, index))?
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| at(list, index)(Failure::bad_param("userId")))?;
        let patch = Patch::parse(shared, fields, &passwords, false).map_err(at(list, index))?;
        patches.push((user_id, patch));
    }
    shared.mutate_or(
        |store| {
            let mut users: Vec<(String, UserRecord)> = Vec::with_capacity(patches.len());
            for (index, (user_id, patch)) in patches.into_iter().enumerate() {
                let id = find(store, &id_type, &user_id)
                    .map_err(at(list, index))?
                    .ok_or_else(|| at(list, index)(Failure::user_not_found()))?
                    .clone();
                // A user named twice in one batch gets both patches, in order.
                let position = users.iter().position(|(taken, _)| *taken == id);
                let mut user = match position {
                    Some(position) => users[position].1.clone(),
                    None => store
                        .user(&id)
                        .cloned()
                        .ok_or_else(Failure::user_not_found)?,
                };
                patch.apply(&mut user).map_err(at(list, index))?;
                user.updated_at = Some(now);
                match position {
                    Some(position) => users[position].1 = user,
                    None => users.push((id, user)),
                }
            }
            check_unique(store, &users, list)?;
            let out = users
                .iter()
                .map(|(id, user)| user_dto(id, user, Extras::default()))
                .collect();
            let events = users
                .into_iter()
                .map(|(id, user)| Event::PutUser {
                    id,
                    user: Box::new(user),
                })
                .collect();
            Ok((out, events))
        },
        busy,
    )
}

/// `POST /api/v3/update-user`.
pub fn update_user(shared: &Shared, body: &Body, now: i64) -> V3Result<Value> {
    let options = body.object("options")?;
    let mut updated = update(shared, &[&body.fields], options, None, now)?;
    Ok(updated.pop().unwrap_or(Value::Null))
}

/// `POST /api/v3/update-user-batch` (by user id only, as the SDKs type it).
pub fn update_user_batch(shared: &Shared, body: &Body, now: i64) -> V3Result<Value> {
    let items = batch_items(body, "list")?;
    let options = body.object("options")?;
    if options.is_some_and(|options| options.contains_key("userIdType")) {
        return Err(Failure::bad_param("userIdType"));
    }
    update(shared, &items, options, Some("list"), now).map(Value::Array)
}

/// `POST /api/v3/delete-users-batch`: removes the users found (with their MFA records);
/// unknown ids are skipped.
pub fn delete_users_batch(shared: &Shared, body: &Body) -> V3Result<Value> {
    let ids = body
        .strings("userIds")?
        .filter(|ids| !ids.is_empty())
        .ok_or_else(|| Failure::bad_param("userIds"))?;
    if ids.len() > MAX_BATCH {
        return Err(Failure::new(
            400,
            format!("userIds 数组长度不能超过 {MAX_BATCH}"),
        ));
    }
    let id_type = body
        .object("options")?
        .map(|options| options.string("userIdType"))
        .transpose()?
        .flatten()
        .unwrap_or_else(|| "user_id".into());
    shared.mutate_or(
        |store| {
            let mut doomed: Vec<String> = Vec::with_capacity(ids.len());
            for value in &ids {
                if let Some(id) = find(store, &id_type, value)?
                    && !doomed.iter().any(|taken| taken == id)
                {
                    doomed.push(id.to_string());
                }
            }
            let events = if doomed.is_empty() {
                Vec::new()
            } else {
                vec![Event::RemoveUsers { ids: doomed }]
            };
            Ok((json!({"success": true}), events))
        },
        busy,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::store::STATUS_ACTIVATED;

    #[test]
    fn international_phones_split_at_their_country_code() {
        let cases = [
            ("+14155550100", "+1", "4155550100"),
            ("+8613800000000", "+86", "13800000000"),
            ("+442071234567", "+44", "2071234567"),
            ("+85291234567", "+852", "91234567"),
            ("+79161234567", "+7", "9161234567"),
        ];
        for (phone, code, national) in cases {
            assert_eq!(
                split_international(phone),
                Some((code.to_string(), national.to_string())),
                "{phone}"
            );
        }
        assert_eq!(split_international("13800000000"), None);
        assert_eq!(split_international("+86"), None);
    }

    #[test]
    fn phones_keep_the_code_v3_gave() {
        let mut user = UserRecord::default();
        let patch = Patch {
            phone: Some("4155550100".into()),
            phone_country_code: Some("+1".into()),
            ..Patch::default()
        };
        patch.apply(&mut user).expect("apply");
        assert_eq!(user.phone.as_deref(), Some("+14155550100"));
        assert_eq!(
            phone_parts(&user),
            (Some("4155550100".into()), Some("+1".into()))
        );
        let mainland = Patch {
            phone: Some("13800000000".into()),
            phone_country_code: Some("+86".into()),
            ..Patch::default()
        };
        mainland.apply(&mut user).expect("apply");
        assert_eq!(user.phone.as_deref(), Some("13800000000"));
        assert_eq!(
            phone_parts(&user),
            (Some("13800000000".into()), Some("+86".into()))
        );
        // A v1 phone without a code shows no code; an international one is split.
        let v1 = UserRecord {
            phone: Some("+442071234567".into()),
            ..UserRecord::default()
        };
        assert_eq!(
            phone_parts(&v1),
            (Some("2071234567".into()), Some("+44".into()))
        );
    }

    #[test]
    fn status_and_blocked_follow_each_other() {
        let mut user = UserRecord::default();
        assert_eq!(user.status(), "Activated");
        user.set_status("Suspended");
        assert!(user.blocked);
        assert_eq!(user.status(), "Suspended");
        user.set_status("Resigned");
        assert!(user.blocked);
        assert_eq!(user.status(), "Resigned");
        user.set_blocked(false);
        assert_eq!(user.status(), STATUS_ACTIVATED);
        user.set_blocked(true);
        assert_eq!(user.status(), "Suspended");
    }

    #[test]
    fn user_dto_names_v1_fields_the_v3_way() {
        let mut user = UserRecord {
            email: Some("ada@example.com".into()),
            signed_up: 1_508_245_321,
            blocked: true,
            ..UserRecord::default()
        };
        user.profile_mut().locality = Some("London".into());
        user.profile_mut().gender = Some("female".into());
        user.profile_mut().unionid = Some("u".into());
        let dto = user_dto("id1", &user, Extras::default());
        assert_eq!(dto["userId"], "id1");
        assert_eq!(dto["city"], "London");
        assert_eq!(dto["status"], "Suspended");
        assert_eq!(dto["gender"], "U");
        assert_eq!(dto["createdAt"], "2017-10-17T13:02:01.000Z");
        assert!(dto.get("unionid").is_none());
        assert!(dto.get("locality").is_none());
        assert!(dto["province"].is_null());
        assert!(dto.get("customData").is_none());
    }
}
