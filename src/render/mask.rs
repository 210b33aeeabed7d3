//! `--mask-pii`: every field the field table marks as personal is masked, for plans posted where
//! more people can read them than should know the pool: emails as `a***@example.com`, phones as
//! `138****0000`, other personal text (names, usernames, addresses, birthdates, photo URLs...)
//! as its first character and `***`. User keys and labels are masked the same way.

use std::borrow::Cow;

use crate::model::{Field, FieldValue, MatchOn, Normalizer};

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

    /// Personal text that is neither an email nor a phone: its first character and `***`.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.enabled || text.is_empty() {
            return Cow::Borrowed(text);
        }
        let first: String = text.chars().take(1).collect();
        Cow::Owned(format!("{first}***"))
    }

    /// A user key or label: an email, or (under `match_on: username`) a username.
    pub fn user<'a>(&self, name: &'a str, match_on: MatchOn) -> Cow<'a, str> {
        if match_on == MatchOn::Email || name.contains('@') {
            self.email(name)
        } else {
            self.text(name)
        }
    }

    /// A field's text as shown: masked by its normaliser when the field is personal.
    pub fn field_text<'a>(&self, field: Field, text: &'a str) -> Cow<'a, str> {
        if !field.personal() {
            return Cow::Borrowed(text);
        }
        match field.normalizer() {
            Some(Normalizer::Email) => self.email(text),
            Some(Normalizer::Phone) => self.phone(text),
            _ => self.text(text),
        }
    }

    /// A field value as shown: personal text masked, other values as they are.
    pub fn value(&self, field: Field, value: &FieldValue) -> String {
        match value {
            FieldValue::Text(text) => self.field_text(field, text).into_owned(),
            FieldValue::Bool(flag) => flag.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_personal_field_of_the_table_is_masked() {
        let masker = Masker::new(true);
        for field in Field::ALL {
            let value = match field.normalizer() {
                None => FieldValue::Bool(true),
                Some(Normalizer::Email) => FieldValue::Text("secret.person@example.com".into()),
                Some(Normalizer::Phone) => FieldValue::Text("13812345678".into()),
                Some(Normalizer::Trim) => FieldValue::Text("Secret Person Value".into()),
                Some(Normalizer::Date) => FieldValue::Text("1234-05-06".into()),
            };
            let shown = masker.value(field, &value);
            if field.is_bool() {
                assert_eq!(shown, "true", "{field}: flags are not personal");
                continue;
            }
            let hidden = !shown.contains("ecret") && !shown.contains("1234");
            assert_eq!(hidden, field.personal(), "{field}: {shown}");
            assert_eq!(Masker::off().value(field, &value), value.to_string());
        }
    }

    #[test]
    fn masks_as_the_contract_shows() {
        let masker = Masker::new(true);
        assert_eq!(masker.email("alice@example.com"), "a***@example.com");
        assert_eq!(masker.phone("13800000000"), "138****0000");
        assert_eq!(masker.phone("+14155550100"), "+141****0100");
        assert_eq!(masker.user("bob", MatchOn::Username), "b***");
        assert_eq!(masker.user("bob@b.cn", MatchOn::Username), "b***@b.cn");
        assert_eq!(Masker::off().user("bob", MatchOn::Username), "bob");
        assert_eq!(
            Masker::off().email("alice@example.com"),
            "alice@example.com"
        );
    }
}
