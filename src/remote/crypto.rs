//! Password encryption as Authing's SDKs do it: RSA PKCS#1 v1.5 with the pool's public key, the
//! ciphertext sent as standard base64. Only encryption happens here; the client never holds a
//! private key, so the decryption side channel of RUSTSEC-2023-0071 does not concern it.

use base64::Engine;
use rsa::pkcs1v15::EncryptingKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::RandomizedEncryptor;

use crate::secret::Secret;

/// Authing's published 1024-bit key, identical in every official SDK and on the API page.
pub const AUTHING_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC4xKeUgQ+Aoz7TLfAfs9+paePb
5KIofVthEopwrXFkp8OCeocaTHt9ICjTT2QeJh6cZaDaArfZ873GPUn00eOIZ7Ae
+TiA2BKHbCvloW3w5Lnqm70iSsUi5Fmu9/2+68GZRH9L7Mlh8cFksCicW2Y2W2uM
GKl64GDcIq3au+aqJQIDAQAB
-----END PUBLIC KEY-----
";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("not an RSA public key in PEM form (expected `-----BEGIN PUBLIC KEY-----`): {0}")]
    InvalidKey(String),
    #[error("failed to encrypt a password: {0}")]
    Encrypt(String),
}

/// Encrypts passwords for the wire.
#[derive(Debug, Clone)]
pub struct PasswordEncryptor {
    key: EncryptingKey,
}

impl PasswordEncryptor {
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let key = rsa::PublicKey::from_public_key_pem(pem.trim())
            .map_err(|err| CryptoError::InvalidKey(err.to_string()))?;
        Ok(Self {
            key: EncryptingKey::new(key),
        })
    }

    /// The base64 ciphertext of a password. PKCS#1 v1.5 padding is random, so each call gives a
    /// different ciphertext.
    pub fn encrypt(&self, password: &Secret) -> Result<String, CryptoError> {
        let ciphertext = self
            .key
            .encrypt_with_rng(&mut rand::rng(), password.expose().as_bytes())
            .map_err(|err| CryptoError::Encrypt(err.to_string()))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(ciphertext))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authing_key_gives_a_172_character_ciphertext_that_changes_each_time() {
        let encryptor = PasswordEncryptor::from_pem(AUTHING_PUBLIC_KEY).unwrap();
        let password = Secret::new("correct horse battery");
        let first = encryptor.encrypt(&password).unwrap();
        let second = encryptor.encrypt(&password).unwrap();
        assert_eq!(first.len(), 172, "128 bytes of ciphertext in base64");
        assert_ne!(first, second, "PKCS#1 v1.5 padding is randomised");
        assert!(!first.contains("correct horse"));
    }

    #[test]
    fn a_bad_key_is_refused_with_a_clear_error() {
        let err = PasswordEncryptor::from_pem("not a key").unwrap_err();
        assert!(err.to_string().contains("BEGIN PUBLIC KEY"), "{err}");
    }
}
