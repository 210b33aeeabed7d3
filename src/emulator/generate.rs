//! `--generate N`: the deterministic synthetic users of interface.md. User i (1..=N) has email
//! `user{i}@example.com`, username `user{i}`, nickname `User {i}`, company `Example`, MFA off,
//! not blocked, email not verified, and an `_id` of 24 hex digits derived from i.
//! `--generate-phones N`: whitelist phone i (1..=N) is `199` followed by i in 8 digits.

use super::store::{UserRecord, WhitelistEntry};

/// The most phones `--generate-phones` makes: phone i has 8 digits for i.
pub const MAX_PHONES: u64 = 99_999_999;

/// 2019-01-01 00:00:00 +08:00: user i signed up i seconds after it.
const EPOCH: i64 = 1_546_272_000;

/// The `_id` of synthetic user i: `5c2a3d00` (the hex of [`EPOCH`], like a MongoDB ObjectId's
/// timestamp) followed by i in 16 hex digits.
pub fn user_id(i: u64) -> String {
    format!("{EPOCH:08x}{i:016x}")
}

/// Synthetic user i.
pub fn user(i: u64) -> (String, UserRecord) {
    let user = UserRecord {
        email: Some(format!("user{i}@example.com")),
        username: Some(format!("user{i}")),
        nickname: Some(format!("User {i}")),
        company: Some("Example".to_string()),
        signed_up: EPOCH + i as i64,
        ..UserRecord::default()
    };
    (user_id(i), user)
}

/// Synthetic whitelist phone i (at most [`MAX_PHONES`]): `199` and i in 8 digits, an 11-digit
/// mainland mobile number, added i seconds after [`EPOCH`].
pub fn phone(i: u64) -> WhitelistEntry {
    WhitelistEntry {
        phone: format!("199{i:08}"),
        created_at: EPOCH + i as i64,
        updated_at: EPOCH + i as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_eleven_digits_and_distinct() {
        assert_eq!(phone(1).phone, "19900000001");
        assert_eq!(phone(MAX_PHONES).phone, "19999999999");
        assert_eq!(phone(42).created_at, EPOCH + 42);
        assert_ne!(phone(10).phone, phone(100).phone);
    }

    #[test]
    fn deterministic_ids_and_fields() {
        assert_eq!(user_id(1), "5c2a3d000000000000000001");
        assert_eq!(user_id(1).len(), 24);
        let (id, user) = user(42);
        assert_eq!(id, user_id(42));
        assert_eq!(user.email.as_deref(), Some("user42@example.com"));
        assert_eq!(user.username.as_deref(), Some("user42"));
        assert_eq!(user.nickname.as_deref(), Some("User 42"));
        assert_eq!(user.company.as_deref(), Some("Example"));
        assert!(!user.blocked && !user.email_verified);
    }
}
