//! `--mask-pii`: emails shown as `a***@example.com` and phones as `138****0000`, for plans posted
//! where more people can read them than should know the pool.

use std::borrow::Cow;

use crate::model::{Field, FieldValue, MatchOn};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Masker {
    enabled: bool,
}

impl Masker {
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    pub fn off() -> Self {
        Self { enabled: false }
    }

    pub fn email<'a>(&self, email: &'a str) -> Cow<'a, str> {
        if !self.enabled {
            return Cow::Borrowed(email);
        }
        match email.rsplit_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                Cow::Owned(format!("{first}***@{domain}"))
            }
            None => Cow::Owned("***".into()),
        }
    }

    pub fn phone<'a>(&self, phone: &'a str) -> Cow<'a, str> {
        if !self.enabled {
            return Cow::Borrowed(phone);
        }
        let chars: Vec<char> = phone.chars().collect();
        if chars.len() < 8 {
            let head: String = chars.iter().take(2).collect();
            return Cow::Owned(format!("{head}***"));
        }
        let tail: String = chars[chars.len() - 4..].iter().collect();
        let head_len = if chars[0] == '+' { 4 } else { 3 };
        let head: String = chars.iter().take(head_len).collect();
        Cow::Owned(format!("{head}****{tail}"))
    }

    /// A user key or label: masked when it is an email.
    pub fn user<'a>(&self, name: &'a str, match_on: MatchOn) -> Cow<'a, str> {
        if match_on == MatchOn::Email || name.contains('@') {
            self.email(name)
        } else {
            Cow::Borrowed(name)
        }
    }

    /// A field value as shown: emails and phones masked, other values as they are.
    pub fn value(&self, field: Field, value: &FieldValue) -> String {
        match (field, value) {
            (Field::Email, FieldValue::Text(text)) => self.email(text).into_owned(),
            (Field::Phone, FieldValue::Text(text)) => self.phone(text).into_owned(),
            (_, value) => value.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_as_the_contract_shows() {
        let masker = Masker::new(true);
        assert_eq!(masker.email("alice@example.com"), "a***@example.com");
        assert_eq!(masker.phone("13800000000"), "138****0000");
        assert_eq!(masker.phone("+14155550100"), "+141****0100");
        assert_eq!(masker.user("bob", MatchOn::Username), "bob");
        assert_eq!(
            Masker::off().email("alice@example.com"),
            "alice@example.com"
        );
    }
}
