//! The account operations with real rules: `register`, `login` and `updateUser`. Passwords
//! arrive RSA-encrypted, are decrypted with the emulator's key, and are kept only as salted
//! hashes; every check that depends on the pool runs under the store's write lock.

use std::net::IpAddr;

use rand::RngExt;

use super::context::{Caller, Shared};
use super::crypto::PasswordHash;
use super::dates::parse_date;
use super::errors::{ApiError, ApiResult, is_valid_email};
use super::event::Event;
use super::schema::{ExtendUser, User, UserRegisterInput, UserUpdateInput};
use super::store::{ProfileField, Store, UserRecord, fold};
use super::tokens::{TokenData, TokenKind, USER_TOKEN_TTL};
use crate::secret::Secret;

/// Authing's minimum password length (code 2029).
const MIN_PASSWORD_CHARS: usize = 6;

/// A fresh 24-hex-digit id: the creation time, then 64 random bits.
pub fn new_object_id(store: &Store, now: i64) -> String {
    loop {
        let random: u64 = rand::rng().random();
        let id = format!("{:08x}{random:016x}", now as u32);
        if store.user(&id).is_none() {
            return id;
        }
    }
}

/// Decrypts a password field (2016) and enforces the minimum length (2029).
fn new_password(shared: &Shared, encrypted: &str, keep: bool) -> Result<Secret, ApiError> {
    let password = if keep {
        Secret::new(encrypted)
    } else {
        shared
            .keys
            .decrypt_password(encrypted)
            .map_err(|_| ApiError::DecryptFailed)?
    };
    if password.expose().chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::PasswordTooShort);
    }
    Ok(password)
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty())
}

/// A user token (login) for a stored user.
fn user_token(shared: &Shared, id: &str, user: &UserRecord, kind: TokenKind, now: i64) -> Secret {
    let data = TokenData {
        email: user.email.clone(),
        id: id.to_string(),
        client_id: shared.client_id.clone(),
        unionid: user.profile().unionid.clone(),
    };
    shared.tokens.issue(kind, data, now, USER_TOKEN_TTL)
}

/// How a user is being registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `register`, from this client address (no token needed; subject to `--register-limit`).
    Register(Option<IpAddr>),
    /// `createUser` (owner token, checked by the caller; no register limit, no token returned).
    CreateUser,
}

/// `register` and `createUser`: the same input, the same rules (the whitelist included), and a
/// new user with a fresh id.
pub fn register(
    shared: &Shared,
    input: UserRegisterInput,
    keep_password: bool,
    channel: Channel,
    now: i64,
) -> ApiResult<ExtendUser> {
    shared.check_pool(Some(&input.register_in_client))?;
    if let Channel::Register(ip) = channel {
        shared.admit_register(ip)?;
    }
    let email = non_empty(input.email.clone());
    let username = non_empty(input.username.clone());
    let phone = non_empty(input.phone.clone());
    let unionid = non_empty(input.unionid.clone());
    if email.is_none() && username.is_none() && phone.is_none() && unionid.is_none() {
        return Err(ApiError::NeedEmailOrPhone.into());
    }
    if let Some(email) = &email
        && !is_valid_email(email)
    {
        return Err(ApiError::BadEmailFormat.into());
    }
    let password = match input.password.as_deref().filter(|text| !text.is_empty()) {
        Some(encrypted) => Some(new_password(shared, encrypted, keep_password)?),
        None if unionid.is_some() => None,
        None => return Err(ApiError::PasswordRequired.into()),
    };
    let hash = password.as_ref().map(PasswordHash::new);
    shared.mutate(|store| {
        let taken = email
            .as_deref()
            .and_then(|e| store.id_by_email(e))
            .is_some()
            || username
                .as_deref()
                .and_then(|u| store.id_by_username(u))
                .is_some()
            || phone
                .as_deref()
                .and_then(|p| store.id_by_phone(p))
                .is_some();
        if taken {
            return Err(ApiError::UserExists);
        }
        if let Some(phone) = &phone
            && store.whitelist_state().enabled
            && store.whitelist_entry(phone).is_none()
        {
            return Err(ApiError::RegisterDisabled);
        }
        let id = new_object_id(store, now);
        let mut user = UserRecord {
            email: email.clone(),
            username: username.clone(),
            nickname: non_empty(input.nickname.clone()),
            company: non_empty(input.company.clone()),
            photo: non_empty(input.photo.clone()),
            phone: phone.clone(),
            password: hash,
            signed_up: input
                .signed_up
                .as_deref()
                .and_then(parse_date)
                .unwrap_or(now),
            last_login: input.last_login.as_deref().and_then(parse_date),
            last_ip: non_empty(input.last_ip.clone()),
            register_method: Some(
                non_empty(input.register_method.clone())
                    .unwrap_or_else(|| "default:username-password".to_string()),
            ),
            ..UserRecord::default()
        };
        if channel == Channel::CreateUser {
            user.set_admin_created(true);
        }
        fill_register_profile(&mut user, &input, unionid.clone());
        let mut out = ExtendUser::from_record(&id, &user, &shared.client_id);
        if let Channel::Register(_) = channel {
            out.fields.token = Some(
                user_token(shared, &id, &user, TokenKind::Registered, now)
                    .expose()
                    .to_string(),
            );
        }
        let event = Event::PutUser {
            id,
            user: Box::new(user),
        };
        Ok((out, vec![event]))
    })
}

fn fill_register_profile(
    user: &mut UserRecord,
    input: &UserRegisterInput,
    unionid: Option<String>,
) {
    if let Some(unionid) = unionid {
        user.profile_mut().unionid = Some(unionid);
    }
    let fields = [
        (ProfileField::Openid, &input.openid),
        (ProfileField::Oauth, &input.oauth),
        (ProfileField::Browser, &input.browser),
        (ProfileField::Device, &input.device),
        (ProfileField::Name, &input.name),
        (ProfileField::GivenName, &input.given_name),
        (ProfileField::FamilyName, &input.family_name),
        (ProfileField::MiddleName, &input.middle_name),
        (ProfileField::Profile, &input.profile),
        (ProfileField::PreferredUsername, &input.preferred_username),
        (ProfileField::Website, &input.website),
        (ProfileField::Gender, &input.gender),
        (ProfileField::Birthdate, &input.birthdate),
        (ProfileField::Zoneinfo, &input.zoneinfo),
        (ProfileField::Locale, &input.locale),
        (ProfileField::Address, &input.address),
        (ProfileField::Formatted, &input.formatted),
        (ProfileField::StreetAddress, &input.street_address),
        (ProfileField::Locality, &input.locality),
        (ProfileField::Region, &input.region),
        (ProfileField::PostalCode, &input.postal_code),
        (ProfileField::Country, &input.country),
    ];
    for (field, value) in fields {
        if let Some(value) = non_empty(value.clone()) {
            *user.profile_mut().field_mut(field) = Some(value);
        }
    }
}

/// How `login` names its user.
#[derive(Debug, Default)]
pub struct LoginArgs {
    pub register_in_client: String,
    pub email: Option<String>,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub password: Option<String>,
    pub last_ip: Option<String>,
    pub browser: Option<String>,
    pub device: Option<String>,
}

fn find_login_user(store: &Store, args: &LoginArgs) -> Option<String> {
    let by = |value: &Option<String>, find: &dyn Fn(&str) -> Option<String>| {
        non_empty(value.clone()).and_then(|value| find(&value))
    };
    by(&args.email, &|email| store.id_by_email(email).cloned())
        .or_else(|| by(&args.username, &|name| store.id_by_username(name).cloned()))
        .or_else(|| by(&args.phone, &|phone| store.id_by_phone(phone).cloned()))
}

/// `login`: no token needed. 2004 unknown user, 2005 blocked, 2006 wrong password, 2016 a
/// password that does not decrypt.
pub fn login(shared: &Shared, args: LoginArgs, now: i64) -> ApiResult<ExtendUser> {
    shared.check_pool(Some(&args.register_in_client))?;
    let password = match args.password.as_deref().filter(|text| !text.is_empty()) {
        Some(encrypted) => shared
            .keys
            .decrypt_password(encrypted)
            .map_err(|_| ApiError::DecryptFailed)?,
        None => return Err(ApiError::WrongPassword.into()),
    };
    shared.mutate(|store| {
        let id = find_login_user(store, &args).ok_or(ApiError::UserNotFound)?;
        let mut user = store.user(&id).cloned().ok_or(ApiError::UserNotFound)?;
        if user.blocked {
            return Err(ApiError::UserLocked);
        }
        if !user
            .password
            .as_ref()
            .is_some_and(|hash| hash.verify(&password))
        {
            return Err(ApiError::WrongPassword);
        }
        user.logins_count += 1;
        user.last_login = Some(now);
        user.token_expired_at = Some(now + USER_TOKEN_TTL);
        if let Some(ip) = non_empty(args.last_ip.clone()) {
            user.last_ip = Some(ip);
        }
        if let Some(browser) = non_empty(args.browser.clone()) {
            user.profile_mut().browser = Some(browser);
        }
        if let Some(device) = non_empty(args.device.clone()) {
            user.profile_mut().device = Some(device);
        }
        let mut out = ExtendUser::from_record(&id, &user, &shared.client_id);
        out.fields.token = Some(
            user_token(shared, &id, &user, TokenKind::User, now)
                .expose()
                .to_string(),
        );
        Ok((
            out,
            vec![Event::PutUser {
                id,
                user: Box::new(user),
            }],
        ))
    })
}

/// A fresh logged-in token for `user` (refreshToken). Returns the token, iat and exp.
pub fn refresh_token(shared: &Shared, user_id: &str, now: i64) -> ApiResult<(Secret, i64, i64)> {
    shared.mutate(|store| {
        let mut user = store.user(user_id).cloned().ok_or(ApiError::UserNotFound)?;
        let token = user_token(shared, user_id, &user, TokenKind::User, now);
        user.token_expired_at = Some(now + USER_TOKEN_TTL);
        Ok((
            (token, now, now + USER_TOKEN_TTL),
            vec![Event::PutUser {
                id: user_id.to_string(),
                user: Box::new(user),
            }],
        ))
    })
}

/// `updateUser`: owner token, or the user's own login token. Only fields present and non-null
/// change; an empty string clears an optional field.
pub fn update_user(
    shared: &Shared,
    caller: &Caller,
    options: UserUpdateInput,
    now: i64,
) -> ApiResult<User> {
    shared.check_pool(options.register_in_client.as_deref())?;
    let id = non_empty(options.id.clone()).ok_or(ApiError::UserNotFound)?;
    caller.require_owner_or_self(&id, ApiError::NotYourUser)?;
    if let Some(email) = &options.email
        && !is_valid_email(email.trim())
    {
        return Err(ApiError::BadUpdateEmail.into());
    }
    let new_password = match options.password.as_deref() {
        Some(encrypted) => Some(new_password(shared, encrypted, false)?),
        None => None,
    };
    let old_password = match options
        .old_password
        .as_deref()
        .filter(|text| !text.is_empty())
    {
        Some(encrypted) => Some(
            shared
                .keys
                .decrypt_password(encrypted)
                .map_err(|_| ApiError::DecryptFailed)?,
        ),
        None => None,
    };
    let new_hash = new_password.as_ref().map(PasswordHash::new);
    shared.mutate(|store| {
        let mut user = store.user(&id).cloned().ok_or(ApiError::UserNotFound)?;
        check_unique(store, &id, &options)?;
        if let Some(hash) = new_hash {
            match &old_password {
                Some(old) if !user.password.as_ref().is_some_and(|h| h.verify(old)) => {
                    return Err(ApiError::WrongOldPassword);
                }
                None if !caller.is_owner() => return Err(ApiError::OldPasswordRequired),
                _ => {}
            }
            user.password = Some(hash);
        }
        apply_update(&mut user, options);
        user.updated_at = Some(now);
        let out = User::from_record(&id, &user, &shared.client_id);
        Ok((
            out,
            vec![Event::PutUser {
                id,
                user: Box::new(user),
            }],
        ))
    })
}

/// Email (2200), username and phone (2026) must not belong to another user.
fn check_unique(store: &Store, id: &str, options: &UserUpdateInput) -> Result<(), ApiError> {
    let other = |owner: Option<&String>| owner.is_some_and(|owner| owner != id);
    if let Some(email) = &options.email
        && other(store.id_by_email(email))
    {
        return Err(ApiError::EmailTaken);
    }
    if let Some(username) = non_empty(options.username.clone())
        && other(store.id_by_username(&username))
    {
        return Err(ApiError::UserExists);
    }
    if let Some(phone) = non_empty(options.phone.clone())
        && other(store.id_by_phone(&phone))
    {
        return Err(ApiError::UserExists);
    }
    Ok(())
}

fn set(field: &mut Option<String>, value: Option<String>) {
    if let Some(value) = value {
        *field = non_empty(Some(value));
    }
}

fn apply_update(user: &mut UserRecord, options: UserUpdateInput) {
    if let Some(email) = options.email {
        let email = email.trim().to_string();
        if user.email.as_deref().map(fold) != Some(fold(&email)) {
            user.email_verified = false;
        }
        user.email = Some(email);
    }
    set(&mut user.username, options.username);
    set(&mut user.nickname, options.nickname);
    set(&mut user.company, options.company);
    set(&mut user.photo, options.photo);
    if let Some(phone) = options.phone {
        let phone = non_empty(Some(phone));
        if user.phone.as_deref().map(str::trim) != phone.as_deref() {
            user.phone_verified = false;
            user.set_phone_country_code(None);
        }
        user.phone = phone;
    }
    set(&mut user.last_ip, options.last_ip);
    set(&mut user.register_method, options.register_method);
    if let Some(verified) = options.email_verified {
        user.email_verified = verified;
    }
    if let Some(verified) = options.phone_verified {
        user.phone_verified = verified;
    }
    if let Some(blocked) = options.blocked {
        user.set_blocked(blocked);
    }
    if let Some(deleted) = options.is_deleted {
        user.is_deleted = deleted;
    }
    if let Some(count) = options.logins_count {
        user.logins_count = count;
    }
    let date = |text: Option<String>| text.as_deref().and_then(parse_date);
    if let Some(at) = date(options.token_expired_at) {
        user.token_expired_at = Some(at);
    }
    if let Some(at) = date(options.last_login) {
        user.last_login = Some(at);
    }
    if let Some(at) = date(options.signed_up) {
        user.signed_up = at;
    }
    let profile = [
        (options.unionid, ProfileField::Unionid),
        (options.openid, ProfileField::Openid),
        (options.oauth, ProfileField::Oauth),
        (options.browser, ProfileField::Browser),
        (options.device, ProfileField::Device),
        (options.name, ProfileField::Name),
        (options.given_name, ProfileField::GivenName),
        (options.family_name, ProfileField::FamilyName),
        (options.middle_name, ProfileField::MiddleName),
        (options.profile, ProfileField::Profile),
        (options.preferred_username, ProfileField::PreferredUsername),
        (options.website, ProfileField::Website),
        (options.gender, ProfileField::Gender),
        (options.birthdate, ProfileField::Birthdate),
        (options.zoneinfo, ProfileField::Zoneinfo),
        (options.locale, ProfileField::Locale),
        (options.address, ProfileField::Address),
        (options.formatted, ProfileField::Formatted),
        (options.street_address, ProfileField::StreetAddress),
        (options.locality, ProfileField::Locality),
        (options.region, ProfileField::Region),
        (options.postal_code, ProfileField::PostalCode),
        (options.country, ProfileField::Country),
    ];
    for (value, field) in profile {
        if value.is_some() {
            set(user.profile_mut().field_mut(field), value);
        }
    }
    user.shrink_profile();
}
