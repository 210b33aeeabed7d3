//! Authing's error codes and their Chinese messages, and how a resolver raises one: an
//! `async_graphql::Error` that carries the code in an extension, which `http` rewrites into the
//! `{code, message}` object Authing puts in `errors[i].message`.

use async_graphql::ErrorExtensions;

/// The extension key that carries an Authing code from a resolver to the HTTP layer.
pub const CODE_EXTENSION: &str = "authingCode";

/// The Authing error codes the emulator answers with (table from Authing's error-code page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiError {
    SystemBusy,
    NoPermission,
    BadEmailFormat,
    UserNotFound,
    UserLocked,
    WrongPassword,
    ClientNotFound,
    NeedEmailOrPhone,
    ClientIdRequired,
    DecryptFailed,
    NotLoggedIn,
    RegisterDisabled,
    UserExists,
    PasswordTooShort,
    TooManyIds,
    PasswordRequired,
    RegisterTooFrequent,
    EmailTaken,
    OldPasswordRequired,
    NotYourUser,
    WrongOldPassword,
    BadUpdateEmail,
    TokenExpired,
    TokenInvalid,
}

impl ApiError {
    pub fn code(self) -> i32 {
        match self {
            ApiError::SystemBusy => 1000,
            ApiError::NoPermission => 1001,
            ApiError::BadEmailFormat => 2003,
            ApiError::UserNotFound => 2004,
            ApiError::UserLocked => 2005,
            ApiError::WrongPassword => 2006,
            ApiError::ClientNotFound => 2011,
            ApiError::NeedEmailOrPhone => 2028,
            ApiError::ClientIdRequired => 2101,
            ApiError::DecryptFailed => 2016,
            ApiError::NotLoggedIn => 2020,
            ApiError::RegisterDisabled => 2031,
            ApiError::UserExists => 2026,
            ApiError::PasswordTooShort => 2029,
            ApiError::TooManyIds => 2030,
            ApiError::PasswordRequired => 2032,
            ApiError::RegisterTooFrequent => 2100,
            ApiError::EmailTaken => 2200,
            ApiError::OldPasswordRequired => 2201,
            ApiError::NotYourUser => 2202,
            ApiError::WrongOldPassword => 2203,
            ApiError::BadUpdateEmail => 2204,
            ApiError::TokenExpired => 2206,
            ApiError::TokenInvalid => 2207,
        }
    }

    /// The message Authing's error-code table gives for the code.
    pub fn message(self) -> &'static str {
        match self {
            ApiError::SystemBusy => "系统繁忙，请稍后再试",
            ApiError::NoPermission => "无权限执行此项操作",
            ApiError::BadEmailFormat => "邮箱格式不正确",
            ApiError::UserNotFound => "用户不存在",
            ApiError::UserLocked => "用户已被锁定",
            ApiError::WrongPassword => "密码不正确",
            ApiError::ClientNotFound => "应用不存在",
            ApiError::NeedEmailOrPhone => "请提供正确的手机号或邮箱",
            ApiError::ClientIdRequired => "请提供应用ID",
            ApiError::DecryptFailed => "解密客户端密码出错",
            ApiError::NotLoggedIn => "尚未登录，无权限访问此请求",
            ApiError::RegisterDisabled => "应用已禁止注册用户",
            ApiError::UserExists => "用户已存在，请不要重复注册",
            ApiError::PasswordTooShort => "密码长度不能少于 6 位",
            ApiError::TooManyIds => "一次性查询的用户不能超过 80 人",
            ApiError::PasswordRequired => "注册时需要密码",
            ApiError::RegisterTooFrequent => "注册过于频繁，请稍候再试",
            ApiError::EmailTaken => "该邮箱已存在",
            ApiError::OldPasswordRequired => "请输入原始密码",
            ApiError::NotYourUser => "修改的信息不属于当前用户",
            ApiError::WrongOldPassword => "原始密码错误",
            ApiError::BadUpdateEmail => "邮箱格式不正确",
            ApiError::TokenExpired => "登录信息已过期, 需重新登录",
            ApiError::TokenInvalid => "登录信息有误, 需重新登录",
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        async_graphql::Error::new(error.message())
            .extend_with(|_, extensions| extensions.set(CODE_EXTENSION, error.code()))
    }
}

/// What every resolver returns.
pub type ApiResult<T> = Result<T, async_graphql::Error>;

/// A plain email check, as loose as a server's: one `@`, something before it, a dot after it,
/// no whitespace.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(is_valid_email("a@example.com"));
        assert!(!is_valid_email("a@example"));
        assert!(!is_valid_email("@example.com"));
        assert!(!is_valid_email("a b@example.com"));
        assert!(!is_valid_email("a@@example.com"));
    }
}
