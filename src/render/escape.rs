//! Text from a pool or a manifest shown safely in every format: control characters (ESC, which
//! starts terminal escape sequences, a carriage return, DEL, C1 controls), the bidirectional-text
//! controls (which make text read differently than it is, U+202E and friends) and invisible
//! characters (zero-width spaces that make two usernames look alike) never reach a terminal, a
//! log or a pull request as themselves ([`crate::model::is_hidden`] says which). This is the one
//! escaping module: the renderers (human, Markdown, progress, summary) show them as `\u{202e}`,
//! the printer does the same for every warning, error and status line on stderr and escapes JSON
//! log events, manifest snippets show them as `?` byte for byte (`manifest::source`), remote
//! errors quote what the server said through [`visible`], and JSON (the plan file, `plan::file`,
//! and `--format json`) writes them as `\u202e` escapes, which read back as the same value. Data
//! (exports) is never altered: a YAML export writes them as YAML escapes and a CSV export refuses
//! them (`manifest::write`).

use std::borrow::Cow;
use std::fmt::Write;

pub use crate::model::is_hidden;

/// One line of text with every hidden character escaped, line breaks and tabs included
/// (`\n`, `\r`, `\t`, else `\u{1b}`).
pub fn visible(text: &str) -> Cow<'_, str> {
    escape_where(text, is_hidden)
}

/// Text that may span lines: like [`visible`], but line feeds and tabs are kept.
pub fn visible_lines(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| c != '\n' && c != '\t' && is_hidden(c))
}

/// Text on its way to a terminal or a log: like [`visible_lines`], and when `colour` is on the
/// colour sequences this tool writes itself (`ESC [ digits and ; m`) are kept.
pub fn visible_terminal(text: &str, colour: bool) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && c != '\t' && is_hidden(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if colour && c == '\x1b' {
            let sgr = rest[1..].strip_prefix('[').and_then(|tail| {
                let params = tail
                    .bytes()
                    .take_while(|b| b.is_ascii_digit() || *b == b';')
                    .count();
                (tail.as_bytes().get(params) == Some(&b'm')).then_some(params + 3)
            });
            if let Some(length) = sgr {
                out.push_str(&rest[..length]);
                rest = &rest[length..];
                continue;
            }
        }
        if c != '\n' && c != '\t' && is_hidden(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// Text for a source snippet, where every byte must stay where it is (labels point at byte
/// offsets): each byte of an hidden character but a line break or a tab becomes `?`.
pub fn same_width(text: &str) -> Cow<'_, str> {
    let hidden = |c: char| !matches!(c, '\n' | '\r' | '\t') && is_hidden(c);
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if hidden(c) {
                    "?".repeat(c.len_utf8())
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// Serialised JSON with the hidden characters serde_json leaves as they are (DEL, C1, the
/// format characters) escaped as `\uXXXX`: the same value to any reader, and nothing a terminal
/// acts on. JSON's structure is ASCII, so such characters can only be inside strings.
pub fn json(text: String) -> String {
    // serde_json escapes C0 controls inside strings; outside them they are JSON's whitespace.
    let escaped = |c: char| c >= ' ' && is_hidden(c);
    if !text.chars().any(escaped) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if escaped(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// [`visible`] cut to at most `max` characters, with `…` where it was cut: the cut falls
/// between escapes, never inside one (`\u{202e}` is shown whole or not at all).
pub fn visible_clipped(text: &str, max: usize) -> Cow<'_, str> {
    let shown = visible(text);
    if shown.chars().count() <= max {
        return shown;
    }
    let room = max.saturating_sub(1);
    let mut out = String::with_capacity(max * 4);
    let mut used = 0;
    let mut unit = String::new();
    for c in text.chars() {
        unit.clear();
        if is_hidden(c) {
            push_escape(&mut unit, c);
        } else {
            unit.push(c);
        }
        let width = unit.chars().count();
        if used + width > room {
            break;
        }
        used += width;
        out.push_str(&unit);
    }
    out.push('…');
    Cow::Owned(out)
}

fn escape_where(text: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if escape(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn push_escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        _ => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
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

    #[test]
    fn controls_and_bidi_characters_are_escaped() {
        assert_eq!(visible("plain Wang 王"), "plain Wang 王");
        assert_eq!(
            visible("a\u{1b}[31mb\u{202e}c\nd\u{9b}e\u{200b}f"),
            "a\\u{1b}[31mb\\u{202e}c\\nd\\u{9b}e\\u{200b}f"
        );
        assert_eq!(visible_lines("one\ntwo\r\u{2066}"), "one\ntwo\\r\\u{2066}");
        // What Rust's Debug escapes, this escapes too (the human plan quotes with Debug).
        for c in [
            '\u{7f}',
            '\u{85}',
            '\u{ad}',
            '\u{61c}',
            '\u{2028}',
            '\u{feff}',
            '\u{e0001}',
        ] {
            assert!(is_hidden(c), "{c:?}");
            assert_ne!(format!("{c:?}").chars().nth(1), Some(c), "{c:?}");
        }
    }

    #[test]
    fn clipped_text_is_cut_between_escapes() {
        assert_eq!(visible_clipped("short\r\n", 10), "short\\r\\n");
        let text = format!("{}\u{202e}\u{202e}tail", "x".repeat(5));
        // 5 + 8 characters fit in 14 with the `…`; the second escape would not.
        assert_eq!(visible_clipped(&text, 14), "xxxxx\\u{202e}…");
        assert_eq!(visible_clipped(&text, 21), "xxxxx\\u{202e}…");
        assert_eq!(visible_clipped(&text, 22), "xxxxx\\u{202e}\\u{202e}…");
        assert_eq!(visible_clipped("汉字汉字汉字", 4), "汉字汉…");
        for max in 1..40 {
            let clipped = visible_clipped(&text, max);
            assert!(clipped.chars().count() <= max.max(1), "{max}: {clipped}");
            let body = clipped.trim_end_matches('…');
            assert!(
                visible(&text).starts_with(body) && !body.ends_with('\\'),
                "{max}: {clipped}"
            );
            assert_eq!(
                body.matches("\\u{").count(),
                body.matches('}').count(),
                "{max}"
            );
        }
    }

    #[test]
    fn terminal_text_keeps_only_its_own_colour() {
        let text = "\u{1b}[33mwarning\u{1b}[0m: x\u{1b}]0;title\u{7}\u{1b}[2J\n";
        assert_eq!(
            visible_terminal(text, true),
            "\u{1b}[33mwarning\u{1b}[0m: x\\u{1b}]0;title\\u{7}\\u{1b}[2J\n"
        );
        assert_eq!(
            visible_terminal(text, false),
            "\\u{1b}[33mwarning\\u{1b}[0m: x\\u{1b}]0;title\\u{7}\\u{1b}[2J\n"
        );
    }

    #[test]
    fn snippets_keep_their_byte_offsets() {
        let text = "a\u{1b}b\u{202e}c\n\u{85}";
        let shown = same_width(text);
        assert_eq!(shown, "a?b???c\n??");
        assert_eq!(shown.len(), text.len());
    }

    #[test]
    fn json_escapes_keep_the_value() {
        let value = serde_json::json!({"nickname": "a\u{202e}b\u{1b}c\u{85}\u{7f}\u{e0001}"});
        let text = json(serde_json::to_string_pretty(&value).unwrap());
        assert!(text.is_ascii(), "{text}");
        assert!(
            text.starts_with("{\n  \"nickname\": \"a\\u202eb\\u001bc"),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
