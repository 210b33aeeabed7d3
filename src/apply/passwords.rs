//! Passwords for the users a plan creates: the declared ones (already read from the manifests or
//! the environment), else a strong random one that is never shown or stored.

use std::collections::HashMap;

use rand::RngExt;

use crate::model::{DesiredState, UserKey};
use crate::secret::Secret;

/// The characters of a generated password: letters, digits and symbols that survive any shell.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%+-.=@_~";
const GENERATED_LENGTH: usize = 24;

/// The declared passwords, by user key.
#[derive(Debug, Default, Clone)]
pub struct PasswordBook {
    declared: HashMap<UserKey, Secret>,
}

impl PasswordBook {
    pub fn new(declared: HashMap<UserKey, Secret>) -> Self {
        Self { declared }
    }

    /// The passwords a desired state declares.
    pub fn from_desired(desired: &DesiredState) -> Self {
        let declared = desired
            .users
            .iter()
            .filter_map(|user| Some((user.key.clone(), user.password.as_ref()?.secret.clone())))
            .collect();
        Self { declared }
    }

    /// The declared password of a user, if there is one.
    pub fn declared(&self, key: &UserKey) -> Option<&Secret> {
        self.declared.get(key)
    }

    /// A new random password (about 146 bits).
    pub fn generate() -> Secret {
        let mut rng = rand::rng();
        let password: String = (0..GENERATED_LENGTH)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        Secret::from(password)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_and_different() {
        let first = PasswordBook::generate();
        let second = PasswordBook::generate();
        assert_eq!(first.len(), GENERATED_LENGTH);
        assert_ne!(first, second);
        assert!(first.expose().bytes().all(|byte| ALPHABET.contains(&byte)));
    }
}
