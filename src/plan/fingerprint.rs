//! Fingerprints of live objects: a short digest of everything a plan compared, so that applying a
//! saved plan can tell whether the object changed since the plan was made.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{Field, FieldRef, LiveUser, LiveWhitelist};

/// A hex digest (the first 16 bytes of a SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The profile of a live user: its id and every profile field.
    pub fn of_user(user: &LiveUser) -> Fingerprint {
        let mut hasher = Sha256::new();
        hasher.update(user.id.as_str().as_bytes());
        for field in Field::ALL {
            hasher.update([0xff]);
            hasher.update(field.wire_name().as_bytes());
            match user.profile.get(field) {
                None => hasher.update([0]),
                Some(FieldRef::Bool(value)) => hasher.update([1, u8::from(value)]),
                Some(FieldRef::Text(text)) => {
                    hasher.update([2]);
                    hasher.update(text.as_bytes());
                }
            }
        }
        Fingerprint::finish(hasher)
    }

    /// The whitelist: its switch and its phones in stored spelling, in sorted order.
    pub fn of_whitelist(whitelist: &LiveWhitelist) -> Fingerprint {
        let mut phones: Vec<&str> = whitelist
            .phones
            .iter()
            .map(|phone| phone.raw.as_str())
            .collect();
        phones.sort_unstable();
        let mut hasher = Sha256::new();
        hasher.update([u8::from(whitelist.enabled)]);
        for phone in phones {
            hasher.update([0xff]);
            hasher.update(phone.as_bytes());
        }
        Fingerprint::finish(hasher)
    }

    fn finish(hasher: Sha256) -> Fingerprint {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = hasher.finalize();
        let mut text = String::with_capacity(32);
        for byte in &digest[..16] {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        Fingerprint(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LivePhone, Profile, UserId};

    fn user(nickname: Option<&str>) -> LiveUser {
        LiveUser {
            id: UserId::new("5f0000000000000000000001"),
            profile: match nickname {
                Some(nickname) => Profile::default().with(Field::Nickname, nickname),
                None => Profile::default(),
            },
            mfa: None,
        }
    }

    #[test]
    fn any_field_change_changes_the_fingerprint() {
        let base = Fingerprint::of_user(&user(Some("Al")));
        assert_eq!(base, Fingerprint::of_user(&user(Some("Al"))));
        assert_ne!(base, Fingerprint::of_user(&user(Some("Alice"))));
        assert_ne!(base, Fingerprint::of_user(&user(None)));
        assert_ne!(
            Fingerprint::of_user(&user(None)),
            Fingerprint::of_user(&user(Some("")))
        );
        assert_eq!(base.as_str().len(), 32);
    }

    #[test]
    fn whitelist_order_does_not_matter_but_content_does() {
        let list = |enabled, phones: &[&str]| LiveWhitelist {
            enabled,
            phones: phones.iter().map(|phone| LivePhone::new(*phone)).collect(),
        };
        let base = Fingerprint::of_whitelist(&list(true, &["1", "2"]));
        assert_eq!(base, Fingerprint::of_whitelist(&list(true, &["2", "1"])));
        assert_ne!(base, Fingerprint::of_whitelist(&list(false, &["1", "2"])));
        assert_ne!(base, Fingerprint::of_whitelist(&list(true, &["1"])));
    }
}
