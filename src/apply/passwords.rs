//! Passwords for the users a plan creates: the declared ones (already read from the manifests or
//! the environment, or, for a saved plan, read again from where the plan names them), else a
//! strong random one that is never shown or stored.

use std::collections::HashMap;
use std::path::PathBuf;

use rand::RngExt;

use crate::manifest::{self, ManifestErrors};
use crate::model::{DesiredState, MIN_PASSWORD_CHARS, UserKey};
use crate::plan::file::ManifestRef;
use crate::plan::{Change, PasswordPlan, Plan};
use crate::secret::Secret;

use super::Refusal;

/// Why the passwords a saved plan names cannot be had.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PasswordError {
    #[error(
        "invalid password: the plan takes the password of {key} from the environment variable {name}, which is not set or empty"
    )]
    #[diagnostic(
        code(apply::password_unset),
        help("set the variable the manifest named when the plan was made")
    )]
    Unset { key: UserKey, name: String },

    #[error(
        "invalid password: the plan takes the password of {key} from the environment variable {name}, which holds fewer than {MIN_PASSWORD_CHARS} characters"
    )]
    #[diagnostic(
        code(apply::password_too_short),
        help("Authing refuses passwords shorter than 6 characters (error 2029)")
    )]
    TooShort { key: UserKey, name: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(#[from] ManifestErrors),

    /// The manifests changed, or no longer declare a password: nothing is written (exit 3).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Stale(#[from] Refusal),
}

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

    /// The passwords a saved plan names: environment variables read now, and manifest passwords
    /// read again from the manifests the plan was made from (which must not have changed).
    pub fn for_saved_plan(
        plan: &Plan,
        manifests: &[ManifestRef],
    ) -> Result<PasswordBook, PasswordError> {
        let mut declared = HashMap::new();
        let mut from_manifests = Vec::new();
        for change in &plan.changes {
            let Change::Create(create) = change else {
                continue;
            };
            match &create.password {
                PasswordPlan::Env(name) => match std::env::var(name) {
                    Ok(value) if value.trim().chars().count() >= MIN_PASSWORD_CHARS => {
                        declared.insert(create.key.clone(), Secret::from(value.trim()));
                    }
                    Ok(value) if !value.trim().is_empty() => {
                        return Err(PasswordError::TooShort {
                            key: create.key.clone(),
                            name: name.clone(),
                        });
                    }
                    _ => {
                        return Err(PasswordError::Unset {
                            key: create.key.clone(),
                            name: name.clone(),
                        });
                    }
                },
                PasswordPlan::Manifest => from_manifests.push(&create.key),
                PasswordPlan::Generated => {}
            }
        }
        if !from_manifests.is_empty() {
            let paths: Vec<PathBuf> = manifests
                .iter()
                .map(|manifest| manifest.path.clone())
                .collect();
            let loaded = manifest::load(&paths)?;
            let changed: Vec<String> = manifests
                .iter()
                .filter(|manifest| {
                    !loaded.state.sources.iter().any(|source| {
                        *source.path == *manifest.path && source.sha256 == manifest.sha256
                    })
                })
                .map(|manifest| format!("the manifest {} was changed", manifest.path.display()))
                .collect();
            if !changed.is_empty() {
                return Err(Refusal::Stale { drifted: changed }.into());
            }
            let book = PasswordBook::from_desired(&loaded.state);
            for key in from_manifests {
                let Some(secret) = book.declared(key) else {
                    return Err(Refusal::Stale {
                        drifted: vec![format!(
                            "the manifests no longer declare the password of {key}"
                        )],
                    }
                    .into());
                };
                declared.insert(key.clone(), secret.clone());
            }
        }
        Ok(PasswordBook::new(declared))
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
