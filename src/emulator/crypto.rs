//! The emulator's RSA key pair (1024-bit, e = 65537, like Authing's published key), password
//! decryption (PKCS#1 v1.5 + base64, as every official SDK sends passwords), and the salted
//! SHA-256 hashes the store keeps instead of passwords.
//!
//! Decryption checks the PKCS#1 v1.5 padding explicitly, so a ciphertext made with another key is
//! refused (Authing's code 2016) instead of yielding the synthetic plaintext that implicit
//! rejection would. That is a padding oracle, acceptable for a local test server only.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use rand::RngExt;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, PrivateKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

const KEY_BITS: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("failed to generate the RSA key pair")]
    Generate(#[source] rsa::Error),
    #[error("failed to encode the RSA key pair")]
    Encode,
    #[error("failed to read the RSA private key from the state file")]
    Decode,
}

/// Why a password could not be decrypted (all of them are Authing's code 2016).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("password is not base64")]
    Base64,
    #[error("ciphertext has the wrong length")]
    Length,
    #[error("ciphertext does not decrypt with this key")]
    Padding,
    #[error("decrypted password is not utf-8")]
    Utf8,
}

/// The emulator's key pair.
pub struct RsaKeys {
    private: PrivateKey,
    public_pem: String,
}

impl std::fmt::Debug for RsaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaKeys")
            .field("public_pem", &self.public_pem)
            .finish_non_exhaustive()
    }
}

impl RsaKeys {
    /// A fresh 1024-bit key pair with e = 65537.
    pub fn generate() -> Result<Self, KeyError> {
        let private = PrivateKey::new(&mut rand::rng(), KEY_BITS).map_err(KeyError::Generate)?;
        Self::from_private(private)
    }

    /// The key pair saved by [`RsaKeys::private_pem`].
    pub fn from_private_pem(pem: &Secret) -> Result<Self, KeyError> {
        let private = PrivateKey::from_pkcs8_pem(pem.expose()).map_err(|_| KeyError::Decode)?;
        Self::from_private(private)
    }

    fn from_private(private: PrivateKey) -> Result<Self, KeyError> {
        let public_pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| KeyError::Encode)?;
        Ok(Self {
            private,
            public_pem,
        })
    }

    /// The private key as PKCS#8 PEM, for the state file.
    pub fn private_pem(&self) -> Result<Secret, KeyError> {
        let pem = self
            .private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| KeyError::Encode)?;
        Ok(Secret::new(pem.as_str()))
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), what clients encrypt with.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// Decrypts a password the way Authing does: base64, then RSA PKCS#1 v1.5.
    pub fn decrypt_password(&self, encoded: &str) -> Result<Secret, DecryptError> {
        let ciphertext = STANDARD
            .decode(encoded.trim())
            .map_err(|_| DecryptError::Base64)?;
        let size = self.private.size();
        if ciphertext.len() != size {
            return Err(DecryptError::Length);
        }
        let c = BoxedUint::from_be_slice(&ciphertext, self.private.n_bits_precision())
            .map_err(|_| DecryptError::Length)?;
        let m = rsa::hazmat::rsa_decrypt_and_check(&self.private, Some(&mut rand::rng()), &c)
            .map_err(|_| DecryptError::Padding)?;
        let bytes = m.to_be_bytes();
        let encoded_message = left_pad(&bytes, size);
        let plaintext = unpad_pkcs1v15(&encoded_message).ok_or(DecryptError::Padding)?;
        let text = String::from_utf8(plaintext.to_vec()).map_err(|_| DecryptError::Utf8)?;
        Ok(Secret::from(text))
    }
}

fn left_pad(bytes: &[u8], size: usize) -> Vec<u8> {
    if bytes.len() >= size {
        return bytes[bytes.len() - size..].to_vec();
    }
    let mut padded = vec![0u8; size - bytes.len()];
    padded.extend_from_slice(bytes);
    padded
}

/// EME-PKCS1-v1_5 decoding: `00 02 PS(≥ 8 non-zero bytes) 00 M`.
fn unpad_pkcs1v15(em: &[u8]) -> Option<&[u8]> {
    if em.len() < 11 || em[0] != 0 || em[1] != 2 {
        return None;
    }
    let separator = em[2..].iter().position(|&byte| byte == 0)? + 2;
    if separator < 10 {
        return None;
    }
    Some(&em[separator + 1..])
}

/// A salted SHA-256 of a password; the store never keeps the password itself.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordHash {
    salt: String,
    hash: String,
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::secret::REDACTED)
    }
}

impl PasswordHash {
    pub fn new(password: &Secret) -> Self {
        let salt_bytes: [u8; 16] = rand::rng().random();
        let salt = STANDARD_NO_PAD.encode(salt_bytes);
        let hash = digest(&salt, password);
        Self { salt, hash }
    }

    pub fn verify(&self, password: &Secret) -> bool {
        digest(&self.salt, password) == self.hash
    }
}

fn digest(salt: &str, password: &Secret) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update([0u8]);
    hasher.update(password.expose().as_bytes());
    STANDARD_NO_PAD.encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1v15::EncryptingKey;
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::RandomizedEncryptor;

    use super::*;

    fn encrypt(public_pem: &str, password: &str) -> String {
        let public = rsa::PublicKey::from_public_key_pem(public_pem).expect("public key");
        let ciphertext = EncryptingKey::new(public)
            .encrypt_with_rng(&mut rand::rng(), password.as_bytes())
            .expect("encrypt");
        STANDARD.encode(ciphertext)
    }

    #[test]
    fn decrypts_what_its_public_key_encrypts_and_refuses_other_keys() {
        let keys = RsaKeys::generate().expect("keys");
        assert!(keys.public_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
        let ciphertext = encrypt(keys.public_pem(), "s3cret-pass");
        assert_eq!(ciphertext.len(), 172);
        let plain = keys.decrypt_password(&ciphertext).expect("decrypt");
        assert_eq!(plain.expose(), "s3cret-pass");

        let other = RsaKeys::generate().expect("other keys");
        let foreign = encrypt(other.public_pem(), "s3cret-pass");
        assert!(keys.decrypt_password(&foreign).is_err());
        assert_eq!(
            keys.decrypt_password("not base64!"),
            Err(DecryptError::Base64)
        );
        assert_eq!(keys.decrypt_password("c2hvcnQ="), Err(DecryptError::Length));
    }

    #[test]
    fn private_key_round_trips_through_pem() {
        let keys = RsaKeys::generate().expect("keys");
        let pem = keys.private_pem().expect("pem");
        let again = RsaKeys::from_private_pem(&pem).expect("again");
        assert_eq!(again.public_pem(), keys.public_pem());
    }

    #[test]
    fn password_hashes_verify_only_the_password() {
        let hash = PasswordHash::new(&Secret::new("hunter22"));
        assert!(hash.verify(&Secret::new("hunter22")));
        assert!(!hash.verify(&Secret::new("hunter23")));
        assert_eq!(format!("{hash:?}"), "(sensitive)");
    }
}
