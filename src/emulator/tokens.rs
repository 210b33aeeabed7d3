//! Owner and user tokens: HS256 JWTs signed with a per-pool random key (kept in the state file
//! so tokens survive a restart). The payload is Authing's, `{"data":{"email","id","clientId"},
//! "iat","exp"}`, plus a `tokenKind` claim that tells owner, logged-in user and freshly
//! registered user tokens apart.
//!
//! v3 management tokens are HS256 JWTs with the same key and the payload
//! `{"scoped_userpool_id","iat","exp","tokenKind":"management"}`. The Python SDK decodes that
//! payload with *standard* base64, which would garble `-` and `_`, so the payload segment is
//! built to contain neither: a string character that would land on one is written as a JSON
//! `\uXXXX` escape instead (the same JSON once parsed).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
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

/// The `tokenKind` of a v3 management token.
const MANAGEMENT_KIND: &str = "management";

/// The payload of a v3 management token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagementClaims {
    pub scoped_userpool_id: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(rename = "tokenKind")]
    pub kind: String,
}

impl TokenSigner {
    /// A v3 management token for the pool, `ttl` seconds from `now`, whose payload segment has
    /// no `-` or `_`.
    pub fn management_token(&self, pool: &str, now: i64, ttl: i64) -> Secret {
        let claims = ManagementClaims {
            scoped_userpool_id: pool.to_string(),
            iat: now,
            exp: now.saturating_add(ttl),
            kind: MANAGEMENT_KIND.to_string(),
        };
        let json = serde_json::to_string(&claims).unwrap_or_default();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(standard_base64_safe_json(&json));
        let message = format!("{header}.{payload}");
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, Algorithm::HS256)
                .unwrap_or_default();
        Secret::from(format!("{message}.{signature}"))
    }

    /// Checks a management token's signature, expiry and kind.
    pub fn verify_management(&self, token: &str) -> Result<ManagementClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        let claims = jsonwebtoken::decode::<ManagementClaims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        if claims.kind == MANAGEMENT_KIND {
            Ok(claims)
        } else {
            Err(TokenError::Invalid)
        }
    }
}

/// Rewrites compact JSON so that its base64 (standard or URL-safe) has no character 62 or 63
/// (`+`/`/`, `-`/`_`). Over ASCII input a sextet is 62 or 63 only when the middle byte of a
/// 3-byte group ends in `0xF` (`/ ? O _ o`) or its last byte is `> ? ~`; such a character
/// inside a string, and any non-ASCII one, is written as `\uXXXX` (whose bytes are all safe).
/// Characters outside strings (`{}[]:,"`, digits, `true`, `false`, `null`) are always safe.
fn standard_base64_safe_json(json: &str) -> Vec<u8> {
    fn unsafe_at(byte: u8, position: usize) -> bool {
        match position % 3 {
            1 => byte & 0x0F == 0x0F,
            2 => matches!(byte, b'>' | b'?' | b'~' | 0x7F),
            _ => false,
        }
    }
    let mut out: Vec<u8> = Vec::with_capacity(json.len() + 16);
    let mut in_string = false;
    let mut chars = json.chars();
    while let Some(c) = chars.next() {
        if !in_string {
            if c == '"' {
                in_string = true;
            }
            out.push(c as u8);
            continue;
        }
        match c {
            '"' => {
                in_string = false;
                out.push(b'"');
            }
            '\\' => {
                // An escape serde_json wrote (`\"`, `\\`, `\n`, `\u00XX`): its bytes are safe.
                out.push(b'\\');
                if let Some(next) = chars.next() {
                    let mut buffer = [0u8; 4];
                    out.extend_from_slice(next.encode_utf8(&mut buffer).as_bytes());
                }
            }
            c if c.is_ascii() && !unsafe_at(c as u8, out.len()) => out.push(c as u8),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.extend_from_slice(format!("\\u{unit:04x}").as_bytes());
                }
            }
        }
    }
    out
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

    #[test]
    fn management_tokens_have_no_url_only_base64_characters_in_their_payload() {
        let signer = TokenSigner::new(TokenSigner::random_key(), 60);
        let now = crate::emulator::dates::now();
        for pool in [
            "5c9f7e1a2b3c4d5e6f708192",
            "pool_with_underscores/o?~>",
            "池子-ü",
        ] {
            for offset in 0..40 {
                let token = signer.management_token(pool, now + offset, 7200);
                let payload = token.expose().split('.').nth(1).expect("payload");
                assert!(!payload.contains(['-', '_']), "{payload}");
                let padded = format!("{payload}{}", "=".repeat((4 - payload.len() % 4) % 4));
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(padded)
                    .expect("standard base64");
                let claims: ManagementClaims = serde_json::from_slice(&bytes).expect("json");
                assert_eq!(claims.scoped_userpool_id, pool);
                let verified = signer.verify_management(token.expose()).expect("valid");
                assert_eq!(verified.exp - verified.iat, 7200);
            }
        }
    }

    #[test]
    fn management_and_v1_tokens_are_not_interchangeable() {
        let signer = TokenSigner::new(TokenSigner::random_key(), 60);
        let now = crate::emulator::dates::now();
        let owner = signer.owner_token("pool", now);
        assert_eq!(
            signer.verify_management(owner.expose()),
            Err(TokenError::Invalid)
        );
        let management = signer.management_token("pool", now, 60);
        assert_eq!(signer.verify(management.expose()), Err(TokenError::Invalid));
        let expired = signer.management_token("pool", now - 100, 10);
        assert_eq!(
            signer.verify_management(expired.expose()),
            Err(TokenError::Expired)
        );
    }
}
