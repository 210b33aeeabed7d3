//! Owner and user tokens: HS256 JWTs signed with a per-pool random key (kept in the state file
//! so tokens survive a restart). The payload is Authing's, `{"data":{"email","id","clientId"},
//! "iat","exp"}`, plus a `tokenKind` claim that tells owner, logged-in user and freshly
//! registered user tokens apart.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// User tokens live 15 days, as Authing's refreshToken documentation says.
pub const USER_TOKEN_TTL: i64 = 15 * 24 * 3600;

/// Which kind of caller a token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// The pool owner (from getClientWhenSdkInit / getAccessTokenByAppSecret).
    Owner,
    /// A logged-in user (from login or refreshToken).
    User,
    /// The token register returns: decodable, but not a login.
    Registered,
}

/// `data` of the payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub id: String,
    #[serde(rename = "clientId")]
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
}

/// The whole payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub data: TokenData,
    pub iat: i64,
    pub exp: i64,
    #[serde(rename = "tokenKind")]
    pub kind: TokenKind,
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token has expired")]
    Expired,
    #[error("token is not valid")]
    Invalid,
}

/// Signs and checks tokens.
pub struct TokenSigner {
    key: Secret,
    encoding: EncodingKey,
    decoding: DecodingKey,
    owner_ttl: i64,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("key", &self.key)
            .field("owner_ttl", &self.owner_ttl)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// A fresh random signing key, base64 (no padding).
    pub fn random_key() -> Secret {
        let bytes: [u8; 32] = rand::rng().random();
        Secret::new(STANDARD_NO_PAD.encode(bytes))
    }

    pub fn new(key: Secret, owner_ttl: i64) -> Self {
        let encoding = EncodingKey::from_secret(key.expose().as_bytes());
        let decoding = DecodingKey::from_secret(key.expose().as_bytes());
        Self {
            key,
            encoding,
            decoding,
            owner_ttl,
        }
    }

    /// A signed token; `ttl` seconds from `now`.
    pub fn issue(&self, kind: TokenKind, data: TokenData, now: i64, ttl: i64) -> Secret {
        let claims = Claims {
            data,
            iat: now,
            exp: now.saturating_add(ttl),
            kind,
        };
        // HS256 over a serialisable struct cannot fail; an empty token would simply be refused.
        Secret::from(
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
                .unwrap_or_default(),
        )
    }

    /// An owner token for the pool.
    pub fn owner_token(&self, client_id: &str, now: i64) -> Secret {
        let data = TokenData {
            email: None,
            id: client_id.to_string(),
            client_id: client_id.to_string(),
            unionid: None,
        };
        self.issue(TokenKind::Owner, data, now, self.owner_ttl)
    }

    /// Checks the signature and the expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> TokenData {
        TokenData {
            email: Some("a@example.com".into()),
            id: "u1".into(),
            client_id: "c1".into(),
            unionid: None,
        }
    }

    #[test]
    fn issues_and_verifies() {
        let signer = TokenSigner::new(TokenSigner::random_key(), 60);
        let now = crate::emulator::dates::now();
        let token = signer.issue(TokenKind::User, data(), now, USER_TOKEN_TTL);
        let claims = signer.verify(token.expose()).expect("valid");
        assert_eq!(claims.kind, TokenKind::User);
        assert_eq!(claims.exp - claims.iat, USER_TOKEN_TTL);
        assert_eq!(claims.data, data());
    }

    #[test]
    fn refuses_expired_and_foreign_tokens() {
        let signer = TokenSigner::new(TokenSigner::random_key(), 60);
        let now = crate::emulator::dates::now();
        let old = signer.issue(TokenKind::Owner, data(), now - 100, 10);
        assert_eq!(signer.verify(old.expose()), Err(TokenError::Expired));
        let other = TokenSigner::new(TokenSigner::random_key(), 60);
        let foreign = other.issue(TokenKind::Owner, data(), now, 60);
        assert_eq!(signer.verify(foreign.expose()), Err(TokenError::Invalid));
        assert_eq!(signer.verify("garbage"), Err(TokenError::Invalid));
    }
}
