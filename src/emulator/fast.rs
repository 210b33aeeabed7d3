//! A fast path for the documents clients page the pool with: `users` and `userPatch` with a plain
//! field selection. Resolving 200 users field by field through async-graphql costs far more
//! than the data, so a document that async-graphql has validated and answered once is
//! remembered as a [`Plan`]: its root field, its arguments (literals, or variables and their
//! types) and, per selected `ExtendUser` field, either a writer that serialises it straight from
//! the store or, for the fields that are the same for every user (`registerInClient`,
//! `password`, `token`, `group`, `clientType`, `userLocation`, `userLoginHistory`, ...), the
//! JSON async-graphql produced for them. Later requests with the same document and operation
//! name are answered from the plan with the same bytes, when everything is as the plan expects
//! (an owner token, this pool, variables of the declared types, at most 80 ids); anything else
//! takes the normal path, which then produces the error. A differential unit test compares
//! both paths for every `ExtendUser` field.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationDefinition, OperationType,
    Selection, SelectionSet, Type,
};
use async_graphql::{Name, Value as GqlValue, Variables};

use super::context::{Caller, Shared};
use super::dates::js_date;
use super::query::{MAX_PATCH_IDS, page_window};
use super::store::{Store, UserRecord};

/// Documents remembered at most (clients use a handful; this bounds a hostile one).
const MAX_PLANS: usize = 256;

/// A document and the operation name it was sent with.
pub type DocumentKey = (String, Option<String>);

/// The plans, by document and operation name (`None`: looked at, not eligible).
#[derive(Debug, Default)]
pub struct FastPaths {
    plans: Mutex<HashMap<DocumentKey, Option<Arc<Plan>>>>,
}

impl FastPaths {
    fn key(request: &async_graphql::Request) -> DocumentKey {
        (request.query.clone(), request.operation_name.clone())
    }

    /// The plan for this request's document, if one was made.
    pub fn plan(&self, request: &async_graphql::Request) -> Option<Arc<Plan>> {
        let plans = self
            .plans
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        plans
            .get(&(request.query.clone(), request.operation_name.clone()))
            .cloned()
            .flatten()
    }

    /// The document and operation name of a request not looked at yet (to [`learn`] from its
    /// answer), or `None`.
    ///
    /// [`learn`]: FastPaths::learn
    pub fn unknown(&self, request: &async_graphql::Request) -> Option<DocumentKey> {
        let plans = self
            .plans
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let key = Self::key(request);
        (!plans.contains_key(&key) && plans.len() < MAX_PLANS).then_some(key)
    }

    /// Learns from a request the normal path answered without errors: remembers a plan when
    /// its document is eligible (and that it is not, otherwise, when its answer could tell).
    pub fn learn(&self, key: DocumentKey, response: &async_graphql::Response) {
        if !response.errors.is_empty() {
            return;
        }
        let mut plans = self
            .plans
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if plans.len() >= MAX_PLANS || plans.contains_key(&key) {
            return;
        }
        match Plan::make(&key.0, key.1.as_deref(), &response.data) {
            Learned::Plan(plan) => {
                plans.insert(key, Some(Arc::new(plan)));
            }
            Learned::Never => {
                plans.insert(key, None);
            }
            // An empty page cannot show the constant fields: try again on a later answer.
            Learned::NotYet => {}
        }
    }
}

/// What one answer taught.
enum Learned {
    Plan(Plan),
    Never,
    NotYet,
}

/// The root fields the fast path serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Users,
    UserPatch,
}

impl Root {
    pub fn name(self) -> &'static str {
        match self {
            Root::Users => "users",
            Root::UserPatch => "userPatch",
        }
    }
}

/// The scalar kinds of the root's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    String,
    Boolean,
}

/// An argument: a literal, or a variable that must hold a value of its kind.
#[derive(Debug, Clone)]
enum Arg {
    Literal(GqlValue),
    Variable { name: Name, kind: Kind },
}

/// A per-user field, written from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    Email,
    EmailVerified,
    Phone,
    PhoneVerified,
    Username,
    Nickname,
    Company,
    Photo,
    RegisterMethod,
    TokenExpiredAt,
    LoginsCount,
    LastLogin,
    LastIp,
    SignedUp,
    Blocked,
    IsDeleted,
    UpdatedAt,
    Profile(super::store::ProfileField),
}

impl Field {
    /// The per-user field called `name` in `ExtendUser`; `None` for the fields that are the
    /// same for every user.
    fn named(name: &str) -> Option<Field> {
        use super::store::ProfileField as P;
        Some(match name {
            "_id" => Field::Id,
            "email" => Field::Email,
            "emailVerified" => Field::EmailVerified,
            "phone" => Field::Phone,
            "phoneVerified" => Field::PhoneVerified,
            "username" => Field::Username,
            "nickname" => Field::Nickname,
            "company" => Field::Company,
            "photo" => Field::Photo,
            "registerMethod" => Field::RegisterMethod,
            "tokenExpiredAt" => Field::TokenExpiredAt,
            "loginsCount" => Field::LoginsCount,
            "lastLogin" => Field::LastLogin,
            "lastIP" => Field::LastIp,
            "signedUp" => Field::SignedUp,
            "blocked" => Field::Blocked,
            "isDeleted" => Field::IsDeleted,
            "updatedAt" => Field::UpdatedAt,
            "unionid" => Field::Profile(P::Unionid),
            "openid" => Field::Profile(P::Openid),
            "oauth" => Field::Profile(P::Oauth),
            "browser" => Field::Profile(P::Browser),
            "device" => Field::Profile(P::Device),
            "name" => Field::Profile(P::Name),
            "givenName" => Field::Profile(P::GivenName),
            "familyName" => Field::Profile(P::FamilyName),
            "middleName" => Field::Profile(P::MiddleName),
            "profile" => Field::Profile(P::Profile),
            "preferredUsername" => Field::Profile(P::PreferredUsername),
            "website" => Field::Profile(P::Website),
            "gender" => Field::Profile(P::Gender),
            "birthdate" => Field::Profile(P::Birthdate),
            "zoneinfo" => Field::Profile(P::Zoneinfo),
            "locale" => Field::Profile(P::Locale),
            "address" => Field::Profile(P::Address),
            "formatted" => Field::Profile(P::Formatted),
            "streetAddress" => Field::Profile(P::StreetAddress),
            "locality" => Field::Profile(P::Locality),
            "region" => Field::Profile(P::Region),
            "postalCode" => Field::Profile(P::PostalCode),
            "country" => Field::Profile(P::Country),
            _ => return None,
        })
    }

    /// Writes the field's JSON value, as async-graphql serialises what `schema` resolves.
    fn write(self, out: &mut Vec<u8>, id: &str, user: &UserRecord) {
        let text = |out: &mut Vec<u8>, value: Option<&str>| match value {
            Some(value) => string(out, value),
            None => out.extend_from_slice(b"null"),
        };
        let flag = |out: &mut Vec<u8>, value: bool| {
            out.extend_from_slice(if value { b"true" } else { b"false" });
        };
        let date = |out: &mut Vec<u8>, value: Option<i64>| match value {
            Some(seconds) => string(out, &js_date(seconds)),
            None => out.extend_from_slice(b"null"),
        };
        match self {
            Field::Id => string(out, id),
            Field::Email => text(out, user.email.as_deref()),
            Field::EmailVerified => flag(out, user.email_verified),
            Field::Phone => text(out, user.phone.as_deref()),
            Field::PhoneVerified => flag(out, user.phone_verified),
            Field::Username => text(out, user.username.as_deref()),
            Field::Nickname => text(out, user.nickname.as_deref()),
            Field::Company => text(out, user.company.as_deref()),
            Field::Photo => text(out, user.photo.as_deref()),
            Field::RegisterMethod => text(out, user.register_method.as_deref()),
            Field::TokenExpiredAt => date(out, user.token_expired_at),
            Field::LoginsCount => {
                let _ = write!(out, "{}", user.logins_count);
            }
            Field::LastLogin => date(out, user.last_login),
            Field::LastIp => text(out, user.last_ip.as_deref()),
            Field::SignedUp => date(out, Some(user.signed_up)),
            Field::Blocked => flag(out, user.blocked),
            Field::IsDeleted => flag(out, user.is_deleted),
            Field::UpdatedAt => date(out, user.updated_at),
            Field::Profile(field) => text(out, user.profile().get(field)),
        }
    }
}

/// A JSON string, escaped exactly as serde_json (and so async-graphql) escapes it.
fn string(out: &mut Vec<u8>, value: &str) {
    let _ = serde_json::to_writer(&mut *out, value);
}

/// One selected field of a listed user: its response key, and how to write its value.
#[derive(Debug, Clone)]
enum Item {
    User { key: String, field: Field },
    Same { key: String, json: Box<[u8]> },
}

/// `totalCount` or `list`, under its response key.
#[derive(Debug, Clone)]
enum Part {
    TotalCount(String),
    List(String),
}

/// A remembered `users` or `userPatch` document.
#[derive(Debug)]
pub struct Plan {
    root: Root,
    response_key: String,
    args: Vec<(String, Arg)>,
    /// Variables declared non-null: absent or `null` is the normal path's 400.
    required: Vec<Name>,
    parts: Vec<Part>,
    items: Vec<Item>,
}

/// The operation a request runs.
fn operation<'d>(
    document: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<&'d OperationDefinition> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|operation| &operation.node)
        }
        _ => None,
    }
}

/// The plain fields of a selection set: `(response key, name, selection set)`, or `None` when
/// it has fragments, directives, `__typename` or a response key twice.
fn plain_fields(set: &SelectionSet) -> Option<Vec<(String, String, &SelectionSet)>> {
    let mut fields: Vec<(String, String, &SelectionSet)> = Vec::new();
    for selection in &set.items {
        let Selection::Field(field) = &selection.node else {
            return None;
        };
        let field = &field.node;
        let name = field.name.node.to_string();
        if !field.directives.is_empty() || name.starts_with("__") {
            return None;
        }
        let key = field
            .alias
            .as_ref()
            .map_or_else(|| name.clone(), |alias| alias.node.to_string());
        if fields.iter().any(|(taken, _, _)| *taken == key) {
            return None;
        }
        fields.push((key, name, &field.selection_set.node));
    }
    Some(fields)
}

fn kind_of(ty: &Type) -> Option<Kind> {
    match &ty.base {
        BaseType::Named(name) => match name.as_str() {
            "Int" => Some(Kind::Int),
            "String" => Some(Kind::String),
            "Boolean" => Some(Kind::Boolean),
            _ => None,
        },
        BaseType::List(_) => None,
    }
}

/// `ConstValue` under `key` of an object.
fn get<'v>(value: &'v GqlValue, key: &str) -> Option<&'v GqlValue> {
    match value {
        GqlValue::Object(fields) => fields.get(key),
        _ => None,
    }
}

impl Plan {
    fn make(query: &str, operation_name: Option<&str>, data: &GqlValue) -> Learned {
        let Ok(document) = async_graphql::parser::parse_query(query) else {
            return Learned::Never;
        };
        let Some(operation) = operation(&document, operation_name) else {
            return Learned::Never;
        };
        if operation.ty != OperationType::Query || !operation.directives.is_empty() {
            return Learned::Never;
        }
        let mut variables: HashMap<Name, Kind> = HashMap::new();
        let mut required = Vec::new();
        for definition in &operation.variable_definitions {
            let definition = &definition.node;
            if definition.default_value.is_some() || !definition.directives.is_empty() {
                return Learned::Never;
            }
            let ty = &definition.var_type.node;
            let Some(kind) = kind_of(ty) else {
                return Learned::Never;
            };
            if !ty.nullable {
                required.push(definition.name.node.clone());
            }
            variables.insert(definition.name.node.clone(), kind);
        }
        let Some(roots) = plain_fields(&operation.selection_set.node) else {
            return Learned::Never;
        };
        let [(response_key, root_name, set)] = roots.as_slice() else {
            return Learned::Never;
        };
        let root = match root_name.as_str() {
            "users" => Root::Users,
            "userPatch" => Root::UserPatch,
            _ => return Learned::Never,
        };
        let Some(Selection::Field(root_field)) = operation
            .selection_set
            .node
            .items
            .first()
            .map(|selection| &selection.node)
        else {
            return Learned::Never;
        };
        let mut args = Vec::new();
        for (name, value) in &root_field.node.arguments {
            // A variable, or a literal with none inside.
            let mut used = Vec::new();
            let Ok(constant) = value.node.clone().into_const_with(|variable| {
                used.push(variable);
                Ok::<_, ()>(GqlValue::Null)
            }) else {
                return Learned::Never;
            };
            let arg = match (used.as_slice(), &constant) {
                ([], _) => Arg::Literal(constant),
                ([variable], GqlValue::Null) => match variables.get(variable) {
                    Some(kind) => Arg::Variable {
                        name: variable.clone(),
                        kind: *kind,
                    },
                    None => return Learned::Never,
                },
                _ => return Learned::Never,
            };
            args.push((name.node.to_string(), arg));
        }
        let Some(parts_selected) = plain_fields(set) else {
            return Learned::Never;
        };
        let answered = get(data, response_key);
        let mut parts = Vec::new();
        let mut items = Vec::new();
        for (key, name, list_set) in parts_selected {
            let again = parts.iter().any(|part| {
                matches!(
                    (part, name.as_str()),
                    (Part::TotalCount(_), "totalCount") | (Part::List(_), "list")
                )
            });
            if again {
                return Learned::Never;
            }
            match name.as_str() {
                "totalCount" => parts.push(Part::TotalCount(key)),
                "list" => {
                    let Some(fields) = plain_fields(list_set) else {
                        return Learned::Never;
                    };
                    let first = match answered.and_then(|value| get(value, &key)) {
                        Some(GqlValue::List(list)) => list.first(),
                        _ => return Learned::Never,
                    };
                    let Some(first) = first else {
                        return Learned::NotYet;
                    };
                    for (field_key, field_name, _) in fields {
                        match Field::named(&field_name) {
                            Some(field) => items.push(Item::User {
                                key: field_key,
                                field,
                            }),
                            None => {
                                let Some(value) = get(first, &field_key) else {
                                    return Learned::Never;
                                };
                                let Ok(json) = serde_json::to_vec(value) else {
                                    return Learned::Never;
                                };
                                items.push(Item::Same {
                                    key: field_key,
                                    json: json.into_boxed_slice(),
                                });
                            }
                        }
                    }
                    parts.push(Part::List(key));
                }
                _ => return Learned::Never,
            }
        }
        Learned::Plan(Plan {
            root,
            response_key: response_key.clone(),
            args,
            required,
            parts,
            items,
        })
    }

    /// The root field's name, for the stats and the request log.
    pub fn root_name(&self) -> &'static str {
        self.root.name()
    }

    /// The value of argument `name`: `Some(None)` when absent or null, `None` when a variable
    /// does not hold its declared kind (the normal path decides then).
    fn arg(&self, name: &str, variables: &Variables) -> Option<Option<GqlValue>> {
        let Some((_, arg)) = self.args.iter().find(|(arg, _)| arg == name) else {
            return Some(None);
        };
        let value = match arg {
            Arg::Literal(value) => value.clone(),
            Arg::Variable { name, kind } => {
                let value = variables.get(name).cloned().unwrap_or(GqlValue::Null);
                let fits = match (&value, kind) {
                    (GqlValue::Null, _) => true,
                    (GqlValue::Number(number), Kind::Int) => number.as_i64().is_some(),
                    (GqlValue::String(_), Kind::String) => true,
                    (GqlValue::Boolean(_), Kind::Boolean) => true,
                    _ => false,
                };
                if !fits {
                    return None;
                }
                value
            }
        };
        Some(match value {
            GqlValue::Null => None,
            value => Some(value),
        })
    }

    fn int_arg(&self, name: &str, variables: &Variables) -> Option<Option<i64>> {
        match self.arg(name, variables)? {
            None => Some(None),
            Some(GqlValue::Number(number)) => number.as_i64().map(Some),
            Some(_) => None,
        }
    }

    fn string_arg(&self, name: &str, variables: &Variables) -> Option<Option<String>> {
        match self.arg(name, variables)? {
            None => Some(None),
            Some(GqlValue::String(text)) => Some(Some(text)),
            Some(_) => None,
        }
    }

    /// The answer's body, or `None` when the normal path must answer (it then also produces
    /// whatever error there is).
    pub fn answer(
        &self,
        shared: &Shared,
        caller: &Caller,
        variables: &Variables,
    ) -> Option<Vec<u8>> {
        if !caller.is_owner()
            || self
                .required
                .iter()
                .any(|name| matches!(variables.get(name), None | Some(GqlValue::Null)))
        {
            return None;
        }
        match self.root {
            Root::Users => {
                let client = self.string_arg("registerInClient", variables)?;
                if shared.check_pool(client.as_deref()).is_err() {
                    return None;
                }
                // `populate` must hold a Boolean if given; its value changes nothing.
                self.arg("populate", variables)?;
                let page = self.int_arg("page", variables)?;
                let count = self.int_arg("count", variables)?;
                let (start, count) = page_window(page, count);
                Some(shared.read(|store| self.write(store.user_count(), store.page(start, count))))
            }
            Root::UserPatch => {
                let ids = self.string_arg("ids", variables)?.unwrap_or_default();
                let mut wanted: Vec<&str> = Vec::new();
                for id in ids.split(',').map(str::trim).filter(|id| !id.is_empty()) {
                    if !wanted.contains(&id) {
                        wanted.push(id);
                    }
                }
                let asked = ids
                    .split(',')
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .count();
                if asked > MAX_PATCH_IDS {
                    return None;
                }
                Some(shared.read(|store: &Store| {
                    let found: Vec<(&String, &UserRecord)> = wanted
                        .iter()
                        .filter_map(|id| store.user_full(id).map(|(_, key, user)| (key, user)))
                        .collect();
                    self.write(found.len(), found.into_iter())
                }))
            }
        }
    }

    /// `{"data":{"<key>":{"totalCount":N,"list":[...]}}}`, parts in selection order.
    fn write<'s>(
        &self,
        total: usize,
        users: impl Iterator<Item = (&'s String, &'s UserRecord)>,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 * 1024);
        out.extend_from_slice(b"{\"data\":{");
        string(&mut out, &self.response_key);
        out.extend_from_slice(b":{");
        let mut users = Some(users);
        for (index, part) in self.parts.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            match part {
                Part::TotalCount(key) => {
                    string(&mut out, key);
                    let _ = write!(out, ":{total}");
                }
                Part::List(key) => {
                    string(&mut out, key);
                    out.extend_from_slice(b":[");
                    for (position, (id, user)) in users.take().into_iter().flatten().enumerate() {
                        if position > 0 {
                            out.push(b',');
                        }
                        self.write_user(&mut out, id, user);
                    }
                    out.push(b']');
                }
            }
        }
        out.extend_from_slice(b"}}}");
        out
    }

    fn write_user(&self, out: &mut Vec<u8>, id: &str, user: &UserRecord) {
        out.push(b'{');
        for (index, item) in self.items.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            match item {
                Item::User { key, field } => {
                    string(out, key);
                    out.push(b':');
                    field.write(out, id, user);
                }
                Item::Same { key, json } => {
                    string(out, key);
                    out.push(b':');
                    out.extend_from_slice(json);
                }
            }
        }
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    //! The fast path against the normal path: for every field of `ExtendUser` (found in the
    //! schema itself, so a new field is covered without a change here), over users with every
    //! field set to awkward values and users with none, the bytes must be the same.

    use std::collections::BTreeMap;
    use std::sync::{Arc, RwLock};

    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    use serde_json::json;

    use super::*;
    use crate::emulator::context::{ClientIp, Pool};
    use crate::emulator::crypto::RsaKeys;
    use crate::emulator::dialect::{ApiSchema, Dialect};
    use crate::emulator::event::Event;
    use crate::emulator::http::to_wire;
    use crate::emulator::stats::Stats;
    use crate::emulator::store::ProfileField;
    use crate::emulator::tokens::TokenSigner;
    use crate::secret::Secret;

    const POOL: &str = "5c9f7e1a2b3c4d5e6f708192";

    fn awkward_user(i: i64) -> UserRecord {
        let text = |name: &str| Some(format!("{name} \"{i}\" \\ \u{1} é 😀 </script>"));
        let mut user = UserRecord {
            email: Some(format!("awk{i}@example.com")),
            username: text("user"),
            nickname: text("nick"),
            company: text("company"),
            photo: text("photo"),
            phone: Some(format!("+1415555{i:04}")),
            email_verified: true,
            phone_verified: i % 2 == 0,
            blocked: true,
            is_deleted: i % 3 == 0,
            signed_up: 1_600_000_000 + i,
            last_login: Some(1_700_000_000 + i),
            logins_count: 40 + i,
            last_ip: Some("10.0.0.1".into()),
            register_method: text("method"),
            token_expired_at: Some(1_800_000_000),
            updated_at: Some(1_750_000_000 + i),
            ..UserRecord::default()
        };
        for field in ProfileField::ALL {
            *user.profile_mut().field_mut(*field) = text(&format!("{field:?}"));
        }
        user
    }

    fn shared() -> Arc<Shared> {
        let mut store = Store::default();
        store.apply(&Event::Generate { count: 5 });
        for i in 0..4 {
            store.apply(&Event::PutUser {
                id: format!("65f00000000000000000000{i}"),
                user: Box::new(awkward_user(i)),
            });
        }
        Arc::new(Shared {
            client_id: POOL.to_string(),
            secret: Secret::new("s"),
            pool: RwLock::new(Pool {
                store,
                persistence: None,
            }),
            keys: RsaKeys::generate().expect("keys"),
            tokens: TokenSigner::new(TokenSigner::random_key(), 60),
            stats: Stats::default(),
            register_limit: None,
        })
    }

    /// type → field → (type name, is a list).
    type Types = BTreeMap<String, Vec<(String, String)>>;

    fn types(sdl: &str) -> Types {
        let document = async_graphql::parser::parse_schema(sdl).expect("our SDL");
        let mut types = Types::new();
        for definition in document.definitions {
            let TypeSystemDefinition::Type(definition) = definition else {
                continue;
            };
            if let TypeKind::Object(object) = &definition.node.kind {
                let fields = object
                    .fields
                    .iter()
                    .map(|field| {
                        let mut ty = &field.node.ty.node;
                        while let BaseType::List(inner) = &ty.base {
                            ty = inner;
                        }
                        let BaseType::Named(name) = &ty.base else {
                            unreachable!()
                        };
                        (field.node.name.node.to_string(), name.to_string())
                    })
                    .collect();
                types.insert(definition.node.name.node.to_string(), fields);
            }
        }
        types
    }

    /// Every field of `type_name`, objects with their own fields down to `depth`.
    fn select_all(types: &Types, type_name: &str, depth: usize) -> String {
        let Some(fields) = types.get(type_name) else {
            return String::new();
        };
        let mut parts = Vec::new();
        for (name, ty) in fields {
            if types.contains_key(ty) {
                if depth > 0 {
                    let inner = select_all(types, ty, depth - 1);
                    if !inner.is_empty() {
                        parts.push(format!("{name} {{ {inner} }}"));
                    }
                }
            } else {
                parts.push(name.clone());
            }
        }
        parts.join(" ")
    }

    /// The normal path's bytes, and its response (to learn from).
    fn slow(
        schema: &ApiSchema,
        request: async_graphql::Request,
    ) -> (Vec<u8>, async_graphql::Response) {
        let request = request.data(Caller::Owner).data(ClientIp(None));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let response = runtime.block_on(schema.execute(request));
        let mut copy = async_graphql::Response::new(response.data.clone());
        copy.errors = response.errors.clone();
        let (_, bytes) = to_wire(response, false);
        (bytes, copy)
    }

    fn request(query: &str, variables: serde_json::Value) -> async_graphql::Request {
        async_graphql::Request::new(query).variables(Variables::from_json(variables))
    }

    /// Runs `query` both ways (the normal path first, which teaches the plan) and compares.
    fn same_both_ways(
        shared: &Arc<Shared>,
        schema: &ApiSchema,
        query: &str,
        variables: serde_json::Value,
    ) {
        let fast = FastPaths::default();
        let first = request(query, variables.clone());
        let key = fast.unknown(&first).expect("a new document");
        let (expected, response) = slow(schema, first);
        assert!(
            response.errors.is_empty(),
            "{}",
            String::from_utf8_lossy(&expected)
        );
        fast.learn(key, &response);
        let again = request(query, variables);
        let plan = fast.plan(&again).expect("a plan");
        let answer = plan
            .answer(shared, &Caller::Owner, &again.variables)
            .expect("answered fast");
        assert_eq!(
            String::from_utf8_lossy(&answer),
            String::from_utf8_lossy(&expected),
            "{query}"
        );
    }

    #[test]
    fn every_extend_user_field_is_written_as_async_graphql_writes_it() {
        let shared = shared();
        let schema = ApiSchema::build(Dialect::default(), shared.clone());
        let types = types(&schema.sdl());
        let everything = select_all(&types, "ExtendUser", 2);
        assert!(everything.contains("userLoginHistory { "), "{everything}");
        let users = format!(
            "query users($registerInClient: String, $page: Int, $count: Int, $populate: Boolean) {{ users(registerInClient: $registerInClient, page: $page, count: $count, populate: $populate) {{ totalCount list {{ {everything} }} }} }}"
        );
        same_both_ways(
            &shared,
            &schema,
            &users,
            json!({"registerInClient": POOL, "page": 1, "count": 200}),
        );
        same_both_ways(
            &shared,
            &schema,
            &users,
            json!({"page": 2, "count": 3, "populate": true}),
        );
        // The awkward users alone (every field set), then generated ones (most fields unset):
        // a field that differs between users must not be taken for one that is the same.
        same_both_ways(&shared, &schema, &users, json!({"page": 2, "count": 5}));
        let patch = format!(
            "query userPatch($ids: String) {{ userPatch(ids: $ids) {{ list {{ {everything} }} totalCount }} }}"
        );
        same_both_ways(
            &shared,
            &schema,
            &patch,
            json!({"ids": "65f000000000000000000003, 5c2a3d000000000000000001,nope,65f000000000000000000003"}),
        );
        // Aliases, literals, the parts in the other order.
        same_both_ways(
            &shared,
            &schema,
            "{ page: users(page: 1, count: 9, registerInClient: \"5c9f7e1a2b3c4d5e6f708192\") { people: list { mail: email _id where: registerInClient } n: totalCount } }",
            json!({}),
        );
    }

    #[test]
    fn the_plan_declines_what_the_normal_path_must_answer() {
        let shared = shared();
        let schema = ApiSchema::build(Dialect::default(), shared.clone());
        let query = "query users($page: Int, $count: Int!, $pool: String) { users(page: $page, count: $count, registerInClient: $pool) { totalCount list { _id } } }";
        let fast = FastPaths::default();
        let first = request(query, json!({"count": 2}));
        let key = fast.unknown(&first).expect("new");
        let (_, response) = slow(&schema, first);
        fast.learn(key, &response);
        let plan = fast.plan(&request(query, json!({}))).expect("plan");
        let answer = |caller: Caller, variables: serde_json::Value| {
            plan.answer(&shared, &caller, &Variables::from_json(variables))
        };
        assert!(answer(Caller::Owner, json!({"count": 2})).is_some());
        assert!(answer(Caller::Anonymous, json!({"count": 2})).is_none());
        assert!(
            answer(Caller::Owner, json!({})).is_none(),
            "a required variable"
        );
        assert!(
            answer(Caller::Owner, json!({"count": "2"})).is_none(),
            "a String for an Int"
        );
        assert!(answer(Caller::Owner, json!({"count": 2.5})).is_none());
        assert!(answer(Caller::Owner, json!({"count": 2, "pool": "another"})).is_none());
        assert!(answer(Caller::Owner, json!({"count": 2, "pool": POOL})).is_some());

        let ids: Vec<String> = (0..81).map(|i| format!("id{i}")).collect();
        let patch = "query p($ids: String) { userPatch(ids: $ids) { totalCount } }";
        let fast = FastPaths::default();
        let first = request(patch, json!({"ids": "a"}));
        let key = fast.unknown(&first).expect("new");
        let (_, response) = slow(&schema, first);
        fast.learn(key, &response);
        let plan = fast.plan(&request(patch, json!({}))).expect("plan");
        let too_many = Variables::from_json(json!({"ids": ids.join(",")}));
        assert!(plan.answer(&shared, &Caller::Owner, &too_many).is_none());
    }

    #[test]
    fn only_plain_paging_documents_get_a_plan() {
        let shared = shared();
        let schema = ApiSchema::build(Dialect::default(), shared.clone());
        for query in [
            "{ users(count: 2) { list { ...f } } } fragment f on ExtendUser { _id }",
            "{ users(count: 2) { list { ... on ExtendUser { _id } } } }",
            "{ users(count: 2) { __typename list { _id } } }",
            "{ users(count: 2) { list { _id email @include(if: true) } } }",
            "{ users(count: 2) { list { _id } } checkLoginStatus { code } }",
            "query($c: Int = 2) { users(count: $c) { list { _id } } }",
            "{ users(count: 2) { list { _id } } u: users(count: 1) { totalCount } }",
            "{ a: users(count: 2) { list { _id } l: list { email } } }",
        ] {
            let fast = FastPaths::default();
            let first = request(query, json!({}));
            let key = fast.unknown(&first).expect("new");
            let (bytes, response) = slow(&schema, first);
            assert!(
                response.errors.is_empty(),
                "{query}: {}",
                String::from_utf8_lossy(&bytes)
            );
            fast.learn(key, &response);
            assert!(fast.plan(&request(query, json!({}))).is_none(), "{query}");
            assert!(
                fast.unknown(&request(query, json!({}))).is_none(),
                "remembered as not eligible"
            );
        }
        // An empty first page teaches nothing yet; a later answer does.
        let query =
            "query($p: Int) { users(page: $p, count: 5) { list { _id registerInClient } } }";
        let fast = FastPaths::default();
        let first = request(query, json!({"p": 99}));
        let key = fast.unknown(&first).expect("new");
        let (_, response) = slow(&schema, first);
        fast.learn(key, &response);
        assert!(fast.plan(&request(query, json!({}))).is_none());
        let second = request(query, json!({"p": 1}));
        let key = fast.unknown(&second).expect("still not known");
        let (_, response) = slow(&schema, second);
        fast.learn(key, &response);
        assert!(fast.plan(&request(query, json!({}))).is_some());
    }
}
