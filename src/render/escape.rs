//! Text from a pool or a manifest shown safely in every format: control characters (ESC, which
//! starts terminal escape sequences, DEL, C1 controls) and the bidirectional-text controls (which
//! make text read differently than it is, U+202E and friends) never reach a terminal, a log or a
//! pull request as themselves. Human and Markdown output show them as `\u{202e}`; JSON (the plan
//! file too, `plan::file`) writes them as `\u202e` escapes, which read back as the same value.

use std::borrow::Cow;

pub use crate::model::is_hidden;

/// The text with every hidden character written as `\u{…}`.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_controls_are_escaped_and_the_rest_is_kept() {
        assert_eq!(visible("Zoë 李雷"), "Zoë 李雷");
        assert_eq!(
            visible("a\u{1b}[31mb\u{202e}c\u{7f}"),
            "a\\u{1b}[31mb\\u{202e}c\\u{7f}"
        );
    }
}
