//! ANSI styling that switches off entirely when colour is off, so the text reads the same
//! without it.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    color: bool,
}

impl Style {
    pub fn new(color: bool) -> Self {
        Self { color }
    }

    pub fn plain() -> Self {
        Self { color: false }
    }

    fn paint<'a>(&self, code: &str, text: &'a str) -> Cow<'a, str> {
        if self.color {
            Cow::Owned(format!("\x1b[{code}m{text}\x1b[0m"))
        } else {
            Cow::Borrowed(text)
        }
    }

    pub fn add<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.paint("32", text)
    }

    pub fn change<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.paint("33", text)
    }

    pub fn remove<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.paint("31", text)
    }

    pub fn bold<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.paint("1", text)
    }

    pub fn dim<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.paint("2", text)
    }

    /// Emphasis inside an added or removed value (the part that changed).
    pub fn emphasis<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.paint("1;4", text)
    }
}
