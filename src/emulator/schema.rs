//! The GraphQL types, named exactly as in Authing's v1 SDL (2020 state), plus the 2019
//! spellings (`qrCodePhone`, `enableQrCode`) as aliases. Output types are plain data built from
//! store records; the roots live in `query` and `mutation`.

use async_graphql::{InputObject, SimpleObject};

use super::dates::js_date;
use super::store::{MfaRecord, UserRecord};

/// The scalar fields `ExtendUser` and `User` share (flattened into both).
#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "UserFields")]
pub struct UserFields {
    #[graphql(name = "_id")]
    pub id: Option<String>,
    pub email: Option<String>,
    pub unionid: Option<String>,
    pub openid: Option<String>,
    pub email_verified: Option<bool>,
    pub phone: Option<String>,
    pub phone_verified: Option<bool>,
    pub username: Option<String>,
    pub nickname: Option<String>,
    pub company: Option<String>,
    pub photo: Option<String>,
    pub browser: Option<String>,
    pub device: Option<String>,
    /// Never served: the emulator keeps only salted hashes.
    pub password: Option<String>,
    pub register_in_client: Option<String>,
    pub register_method: Option<String>,
    pub oauth: Option<String>,
    pub token: Option<String>,
    pub token_expired_at: Option<String>,
    pub logins_count: Option<i64>,
    pub last_login: Option<String>,
    #[graphql(name = "lastIP")]
    pub last_ip: Option<String>,
    pub signed_up: Option<String>,
    pub blocked: Option<bool>,
    pub is_deleted: Option<bool>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub middle_name: Option<String>,
    pub profile: Option<String>,
    pub preferred_username: Option<String>,
    pub website: Option<String>,
    pub gender: Option<String>,
    pub birthdate: Option<String>,
    pub zoneinfo: Option<String>,
    pub locale: Option<String>,
    pub address: Option<String>,
    pub formatted: Option<String>,
    pub street_address: Option<String>,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub updated_at: Option<String>,
    pub third_party_identity: Option<ThirdPartyIdentity>,
    pub metadata: Option<String>,
}

impl UserFields {
    pub fn from_record(id: &str, user: &UserRecord, pool: &str) -> Self {
        let profile = user.profile();
        UserFields {
            id: Some(id.to_string()),
            email: user.email.clone(),
            unionid: profile.unionid.clone(),
            openid: profile.openid.clone(),
            email_verified: Some(user.email_verified),
            phone: user.phone.clone(),
            phone_verified: Some(user.phone_verified),
            username: user.username.clone(),
            nickname: user.nickname.clone(),
            company: user.company.clone(),
            photo: user.photo.clone(),
            browser: profile.browser.clone(),
            device: profile.device.clone(),
            password: None,
            register_in_client: Some(pool.to_string()),
            register_method: user.register_method.clone(),
            oauth: profile.oauth.clone(),
            token: None,
            token_expired_at: user.token_expired_at.map(js_date),
            logins_count: Some(user.logins_count),
            last_login: user.last_login.map(js_date),
            last_ip: user.last_ip.clone(),
            signed_up: Some(js_date(user.signed_up)),
            blocked: Some(user.blocked),
            is_deleted: Some(user.is_deleted),
            name: profile.name.clone(),
            given_name: profile.given_name.clone(),
            family_name: profile.family_name.clone(),
            middle_name: profile.middle_name.clone(),
            profile: profile.profile.clone(),
            preferred_username: profile.preferred_username.clone(),
            website: profile.website.clone(),
            gender: profile.gender.clone(),
            birthdate: profile.birthdate.clone(),
            zoneinfo: profile.zoneinfo.clone(),
            locale: profile.locale.clone(),
            address: profile.address.clone(),
            formatted: profile.formatted.clone(),
            street_address: profile.street_address.clone(),
            locality: profile.locality.clone(),
            region: profile.region.clone(),
            postal_code: profile.postal_code.clone(),
            country: profile.country.clone(),
            updated_at: user.updated_at.map(js_date),
            third_party_identity: None,
            metadata: None,
        }
    }
}

/// A user as `users`, `user`, `userPatch`, `register` and `login` return it.
#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "ExtendUser")]
pub struct ExtendUser {
    #[graphql(flatten)]
    pub fields: UserFields,
    pub group: Option<Group>,
    pub client_type: Option<UserClientType>,
    pub user_location: Option<Vec<Option<UserLocation>>>,
    pub user_login_history: Option<PagedUserLoginHistory>,
    pub system_application_type: Option<SystemApplicationType>,
    pub custom_data: Option<String>,
}

impl ExtendUser {
    pub fn from_record(id: &str, user: &UserRecord, pool: &str) -> Self {
        ExtendUser {
            fields: UserFields::from_record(id, user, pool),
            group: None,
            client_type: Some(UserClientType::pool_type()),
            user_location: Some(Vec::new()),
            user_login_history: Some(PagedUserLoginHistory {
                list: Some(Vec::new()),
                total_count: 0,
            }),
            system_application_type: None,
            custom_data: None,
        }
    }
}

/// A user as `updateUser` and `removeUsers` return it.
#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "User")]
pub struct User {
    #[graphql(flatten)]
    pub fields: UserFields,
    pub old_password: Option<String>,
}

impl User {
    pub fn from_record(id: &str, user: &UserRecord, pool: &str) -> Self {
        User {
            fields: UserFields::from_record(id, user, pool),
            old_password: None,
        }
    }
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "PagedUsers")]
pub struct PagedUsers {
    pub list: Option<Vec<Option<ExtendUser>>>,
    pub total_count: Option<i64>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "PatchExtendUser")]
pub struct PatchExtendUser {
    pub list: Option<Vec<Option<ExtendUser>>>,
    pub total_count: i64,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "Group")]
pub struct Group {
    #[graphql(name = "_id")]
    pub id: Option<String>,
    pub name: Option<String>,
    pub descriptions: Option<String>,
    pub client: Option<String>,
    pub permissions: Option<String>,
    pub created_at: Option<String>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "UserClientType")]
pub struct UserClientType {
    #[graphql(name = "_id")]
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
    pub example: Option<String>,
}

impl UserClientType {
    /// The one client type the emulated pool has.
    pub fn pool_type() -> Self {
        UserClientType {
            id: Some("5b8f6e1e3d8d3a0001c1e001".to_string()),
            name: Some("用户池".to_string()),
            description: Some("authing-sync emulator user pool".to_string()),
            image: Some(String::new()),
            example: Some(String::new()),
        }
    }
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "UserLocation")]
pub struct UserLocation {
    #[graphql(name = "_id")]
    pub id: Option<String>,
    pub user: Option<User>,
    pub user_pool: Option<UserClient>,
    pub when: Option<String>,
    #[graphql(name = "where")]
    pub location: Option<String>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "PagedUserLoginHistory")]
pub struct PagedUserLoginHistory {
    pub list: Option<Vec<Option<UserLoginHistory>>>,
    pub total_count: i64,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "UserLoginHistory")]
pub struct UserLoginHistory {
    #[graphql(name = "_id")]
    pub id: Option<String>,
    pub user: Option<User>,
    pub when: Option<String>,
    pub client: Option<UserClient>,
    pub success: Option<bool>,
    pub ip: Option<String>,
    pub result: Option<String>,
    pub device: Option<String>,
    pub browser: Option<String>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "SystemApplicationType")]
pub struct SystemApplicationType {
    #[graphql(name = "_id")]
    pub id: Option<String>,
    pub name: Option<String>,
    pub descriptions: Option<String>,
    pub price: Option<i64>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "ThirdPartyIdentity")]
pub struct ThirdPartyIdentity {
    pub provider: Option<String>,
    pub refresh_token: Option<String>,
    pub access_token: Option<String>,
    pub expires_in: Option<i64>,
    pub updated_at: Option<String>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "FrequentRegisterCheckConfig")]
pub struct FrequentRegisterCheckConfig {
    pub time_interval: Option<i64>,
    pub limit: Option<i64>,
    pub enable: Option<bool>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "LoginFailCheckConfig")]
pub struct LoginFailCheckConfig {
    pub time_interval: Option<i64>,
    pub limit: Option<i64>,
    pub enable: Option<bool>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "ChangePhoneStrategy")]
pub struct ChangePhoneStrategy {
    pub verify_old_phone: Option<bool>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "ChangeEmailStrategy")]
pub struct ChangeEmailStrategy {
    pub verify_old_email: Option<bool>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "QrcodeLoginStrategy")]
pub struct QrcodeLoginStrategy {
    pub qrcode_expires_after: Option<i64>,
    pub return_full_user_info: Option<bool>,
    pub allow_exchange_user_info_from_browser: Option<bool>,
    pub ticket_expires_after: Option<i64>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "App2WxappLoginStrategy")]
pub struct App2WxappLoginStrategy {
    pub ticket_exprires_after: Option<i64>,
    pub ticket_exchange_user_info_need_secret: Option<bool>,
}

/// The user pool ("client") itself.
#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "UserClient")]
pub struct UserClient {
    #[graphql(name = "_id")]
    pub id: Option<String>,
    pub user: Option<Box<User>>,
    pub client_type: Option<UserClientType>,
    pub user_pool_types: Option<Vec<UserClientType>>,
    pub users_count: Option<i64>,
    pub logo: Option<String>,
    pub email_verified_default: Option<bool>,
    pub send_welcome_email: Option<bool>,
    pub register_disabled: Option<bool>,
    #[graphql(name = "showWXMPQRCode")]
    pub show_wxmp_qr_code: Option<bool>,
    pub use_mini_login: Option<bool>,
    pub use_self_wxapp: Option<bool>,
    pub allowed_origins: Option<String>,
    pub name: Option<String>,
    /// Never served.
    pub secret: Option<String>,
    pub token: Option<String>,
    pub descriptions: Option<String>,
    pub jwt_expired: Option<i64>,
    pub created_at: Option<String>,
    pub is_deleted: Option<bool>,
    pub frequent_register_check: Option<FrequentRegisterCheckConfig>,
    pub login_fail_check: Option<LoginFailCheckConfig>,
    pub enable_email: Option<bool>,
    pub change_phone_strategy: Option<ChangePhoneStrategy>,
    pub change_email_strategy: Option<ChangeEmailStrategy>,
    pub qrcode_login_strategy: Option<QrcodeLoginStrategy>,
    pub app2_wxapp_login_strategy: Option<App2WxappLoginStrategy>,
}

/// 2019-01-01 00:00:00 +08:00, when the emulated pool was "created".
const POOL_CREATED: i64 = 1_546_272_000;

impl UserClient {
    pub fn pool(client_id: &str, users_count: usize) -> Self {
        UserClient {
            id: Some(client_id.to_string()),
            user: None,
            client_type: Some(UserClientType::pool_type()),
            user_pool_types: Some(vec![UserClientType::pool_type()]),
            users_count: Some(users_count as i64),
            logo: Some(String::new()),
            email_verified_default: Some(false),
            send_welcome_email: Some(false),
            register_disabled: Some(false),
            show_wxmp_qr_code: Some(false),
            use_mini_login: Some(false),
            use_self_wxapp: Some(false),
            allowed_origins: Some(String::new()),
            name: Some("authing-sync emulator".to_string()),
            secret: None,
            token: None,
            descriptions: Some("Authing-compatible emulator pool".to_string()),
            jwt_expired: Some(super::tokens::USER_TOKEN_TTL),
            created_at: Some(js_date(POOL_CREATED)),
            is_deleted: Some(false),
            // Seconds, as Authing's management API documents `timeInterval` ("检测周期，单位为秒").
            frequent_register_check: Some(FrequentRegisterCheckConfig {
                time_interval: Some(300),
                limit: Some(3),
                enable: Some(false),
            }),
            login_fail_check: Some(LoginFailCheckConfig {
                time_interval: Some(300),
                limit: Some(3),
                enable: Some(false),
            }),
            enable_email: Some(true),
            change_phone_strategy: Some(ChangePhoneStrategy {
                verify_old_phone: Some(false),
            }),
            change_email_strategy: Some(ChangeEmailStrategy {
                verify_old_email: Some(false),
            }),
            qrcode_login_strategy: None,
            app2_wxapp_login_strategy: None,
        }
    }
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "ClientInfoAndAccessToken")]
pub struct ClientInfoAndAccessToken {
    pub client_info: Option<UserClient>,
    pub access_token: Option<String>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "CommonMessage")]
pub struct CommonMessage {
    pub message: Option<String>,
    pub code: Option<i64>,
    pub status: Option<bool>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "JwtPayloadData")]
pub struct JwtPayloadData {
    pub email: Option<String>,
    pub id: Option<String>,
    pub client_id: Option<String>,
    pub unionid: Option<String>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "JwtDecodedData")]
pub struct JwtDecodedData {
    pub data: Option<JwtPayloadData>,
    pub status: Option<CommonMessage>,
    /// A String in the SDL, unlike `exp`.
    pub iat: Option<String>,
    pub exp: Option<i64>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "TokenMoreInfo")]
pub struct TokenMoreInfo {
    pub email: Option<String>,
    pub id: Option<String>,
    pub client_id: Option<String>,
    pub unionid: Option<String>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "TokenWholeInfo")]
pub struct TokenWholeInfo {
    pub data: Option<TokenMoreInfo>,
    pub iat: Option<i64>,
    pub exp: Option<i64>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "JWTDecodedDataCheckLogin")]
pub struct JwtDecodedDataCheckLogin {
    pub message: Option<String>,
    pub code: Option<i64>,
    pub status: Option<bool>,
    pub token: Option<TokenWholeInfo>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "RefreshToken")]
pub struct RefreshToken {
    pub token: Option<String>,
    pub iat: Option<i64>,
    pub exp: Option<i64>,
}

#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "MFA")]
pub struct Mfa {
    #[graphql(name = "_id")]
    pub id: Option<String>,
    pub user_id: Option<String>,
    pub user_pool_id: Option<String>,
    pub enable: Option<bool>,
    pub share_key: Option<String>,
}

impl From<&MfaRecord> for Mfa {
    fn from(record: &MfaRecord) -> Self {
        Mfa {
            id: Some(record.id.clone()),
            user_id: Some(record.user_id.clone()),
            user_pool_id: Some(record.user_pool_id.clone()),
            enable: Some(record.enable),
            share_key: Some(record.share_key.clone()),
        }
    }
}

/// `register(userInfo: UserRegisterInput!)`.
#[derive(InputObject, Debug, Clone, Default)]
#[graphql(name = "UserRegisterInput")]
pub struct UserRegisterInput {
    pub email: Option<String>,
    pub unionid: Option<String>,
    pub openid: Option<String>,
    pub phone: Option<String>,
    pub phone_code: Option<String>,
    pub password: Option<String>,
    pub force_login: Option<bool>,
    #[graphql(name = "lastIP")]
    pub last_ip: Option<String>,
    pub register_in_client: String,
    pub register_method: Option<String>,
    pub oauth: Option<String>,
    pub username: Option<String>,
    pub nickname: Option<String>,
    pub company: Option<String>,
    pub photo: Option<String>,
    pub device: Option<String>,
    pub browser: Option<String>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub middle_name: Option<String>,
    pub profile: Option<String>,
    pub preferred_username: Option<String>,
    pub website: Option<String>,
    pub gender: Option<String>,
    pub birthdate: Option<String>,
    pub zoneinfo: Option<String>,
    pub locale: Option<String>,
    pub address: Option<String>,
    pub formatted: Option<String>,
    pub street_address: Option<String>,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub updated_at: Option<String>,
    pub signed_up: Option<String>,
    pub last_login: Option<String>,
}

/// `updateUser(options: UserUpdateInput!)`: every field optional; absent and `null` both mean
/// "leave it alone".
#[derive(InputObject, Debug, Clone, Default)]
#[graphql(name = "UserUpdateInput")]
pub struct UserUpdateInput {
    #[graphql(name = "_id")]
    pub id: Option<String>,
    pub email: Option<String>,
    pub unionid: Option<String>,
    pub openid: Option<String>,
    pub email_verified: Option<bool>,
    pub phone: Option<String>,
    pub phone_verified: Option<bool>,
    pub username: Option<String>,
    pub nickname: Option<String>,
    pub company: Option<String>,
    pub photo: Option<String>,
    pub browser: Option<String>,
    pub device: Option<String>,
    pub password: Option<String>,
    pub register_in_client: Option<String>,
    pub register_method: Option<String>,
    pub oauth: Option<String>,
    pub token: Option<String>,
    pub token_expired_at: Option<String>,
    pub logins_count: Option<i64>,
    pub last_login: Option<String>,
    #[graphql(name = "lastIP")]
    pub last_ip: Option<String>,
    pub signed_up: Option<String>,
    pub blocked: Option<bool>,
    pub is_deleted: Option<bool>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub middle_name: Option<String>,
    pub profile: Option<String>,
    pub preferred_username: Option<String>,
    pub website: Option<String>,
    pub gender: Option<String>,
    pub birthdate: Option<String>,
    pub zoneinfo: Option<String>,
    pub locale: Option<String>,
    pub address: Option<String>,
    pub formatted: Option<String>,
    pub street_address: Option<String>,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub updated_at: Option<String>,
    pub old_password: Option<String>,
}

#[cfg(test)]
mod tests {
    //! The schema against Authing's 2020 SDL subset (`shared/spec/authing-v1-schema-2020.graphql`
    //! beside the repository): every type, field and argument there exists here with the same
    //! type.

    use std::collections::BTreeMap;

    use async_graphql::parser::types::{ServiceDocument, TypeKind, TypeSystemDefinition};

    use crate::emulator::dialect::{ApiSchema, Dialect};

    /// type → field → (type, argument → type).
    type Shape = BTreeMap<String, BTreeMap<String, (String, BTreeMap<String, String>)>>;

    fn shape(document: &ServiceDocument) -> Shape {
        let mut shape = Shape::new();
        for definition in &document.definitions {
            let TypeSystemDefinition::Type(definition) = definition else {
                continue;
            };
            let fields = shape
                .entry(definition.node.name.node.to_string())
                .or_default();
            match &definition.node.kind {
                TypeKind::Object(object) => {
                    for field in &object.fields {
                        let args = field
                            .node
                            .arguments
                            .iter()
                            .map(|arg| {
                                (arg.node.name.node.to_string(), arg.node.ty.node.to_string())
                            })
                            .collect();
                        fields.insert(
                            field.node.name.node.to_string(),
                            (field.node.ty.node.to_string(), args),
                        );
                    }
                }
                TypeKind::InputObject(input) => {
                    for field in &input.fields {
                        fields.insert(
                            field.node.name.node.to_string(),
                            (field.node.ty.node.to_string(), BTreeMap::new()),
                        );
                    }
                }
                _ => {}
            }
        }
        shape
    }

    #[test]
    fn covers_the_2020_sdl_subset() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/spec/authing-v1-schema-2020.graphql"
        );
        let Ok(spec) = std::fs::read_to_string(path) else {
            eprintln!("skipped: {path} is not there");
            return;
        };
        let spec = shape(&async_graphql::parser::parse_schema(spec).expect("spec SDL"));
        let ours = ApiSchema::build(Dialect::default(), ()).sdl();
        let ours = shape(&async_graphql::parser::parse_schema(ours).expect("our SDL"));
        let mut problems = Vec::new();
        for (type_name, fields) in &spec {
            let Some(our_fields) = ours.get(type_name) else {
                problems.push(format!("type {type_name} missing"));
                continue;
            };
            for (field, (ty, args)) in fields {
                match our_fields.get(field) {
                    None => problems.push(format!("{type_name}.{field} missing")),
                    Some((our_ty, our_args)) => {
                        if our_ty != ty {
                            problems.push(format!("{type_name}.{field}: {our_ty}, not {ty}"));
                        }
                        for (arg, arg_ty) in args {
                            match our_args.get(arg) {
                                None => {
                                    problems.push(format!("{type_name}.{field}({arg}) missing"))
                                }
                                Some(our) if our != arg_ty => problems.push(format!(
                                    "{type_name}.{field}({arg}): {our}, not {arg_ty}"
                                )),
                                Some(_) => {}
                            }
                        }
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
