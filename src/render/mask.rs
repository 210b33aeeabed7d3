//! `--mask-pii`: emails shown as `a***@example.com`, phones as `138****0000`, usernames and
//! nicknames as their first character and `***`, photo URLs as their site and `/***`, for plans
//! posted where more people can read them than should know the pool.

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

    /// A name (a username, a nickname): its first character and `***`.
    pub fn name<'a>(&self, name: &'a str) -> Cow<'a, str> {
        if !self.enabled {
            return Cow::Borrowed(name);
        }
        let first: String = name.chars().take(1).collect();
        Cow::Owned(format!("{first}***"))
    }

    /// A URL: its scheme and site, and `/***` for the rest.
    pub fn url<'a>(&self, url: &'a str) -> Cow<'a, str> {
        if !self.enabled {
            return Cow::Borrowed(url);
        }
        match url.split_once("://") {
            Some((scheme, rest)) => {
                let site = rest.split(['/', '?', '#']).next().unwrap_or_default();
                let site = site.rsplit('@').next().unwrap_or_default();
                Cow::Owned(format!("{scheme}://{site}/***"))
            }
            None => Cow::Owned("***".into()),
        }
    }

    /// A user key or label: an email, or a username (or an id) masked as a name.
    pub fn user<'a>(&self, name: &'a str, match_on: MatchOn) -> Cow<'a, str> {
        if match_on == MatchOn::Email || name.contains('@') {
            self.email(name)
        } else {
            self.name(name)
        }
    }

    /// A text value of a field as shown: personal fields masked, others as they are.
    pub fn text<'a>(&self, field: Field, text: &'a str) -> Cow<'a, str> {
        match field {
            Field::Email => self.email(text),
            Field::Phone => self.phone(text),
            Field::Username | Field::Nickname => self.name(text),
            Field::Photo => self.url(text),
            Field::Company | Field::EmailVerified | Field::Blocked => Cow::Borrowed(text),
        }
    }

    /// A field value as shown: personal fields masked, other values as they are.
    pub fn value(&self, field: Field, value: &FieldValue) -> String {
        match value {
            FieldValue::Text(text) => self.text(field, text).into_owned(),
            value => value.to_string(),
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
        assert_eq!(masker.user("bob", MatchOn::Username), "b***");
        assert_eq!(masker.user("liwei", MatchOn::Email), "***");
        assert_eq!(masker.text(Field::Nickname, "Wang Tony"), "W***");
        assert_eq!(masker.text(Field::Username, "wang.tony"), "w***");
        assert_eq!(
            masker.text(Field::Photo, "https://cdn.example.com/people/tony.png"),
            "https://cdn.example.com/***"
        );
        assert_eq!(masker.text(Field::Company, "Example Ltd"), "Example Ltd");
        assert_eq!(masker.user("", MatchOn::Username), "***");
        assert_eq!(
            Masker::off().email("alice@example.com"),
            "alice@example.com"
        );
    }
}
