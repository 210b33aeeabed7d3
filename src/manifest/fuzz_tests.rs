//! Fuzzing of the manifest readers with generated inputs: arbitrary bytes, YAML and CSV built from
//! the real keys and columns with hostile values, and interpolation over a `$`-heavy alphabet.
//! Whatever the input, loading ends in a state or in diagnostics that render, never a panic.
//!
//! Cases per property: 256, or `AUTHING_SYNC_FUZZ_CASES` for a longer run (BENCHMARKS.md has the
//! figures of one).

use std::collections::HashMap;
use std::path::PathBuf;

use miette::{GraphicalReportHandler, GraphicalTheme};
use proptest::prelude::*;
use proptest::sample::select;

use super::interpolate::{escape, interpolate};
use super::{ManifestErrors, load_with};

/// Loads `bytes` as a manifest with the given extension and renders every diagnostic.
fn load_bytes(extension: &str, bytes: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path: PathBuf = dir.path().join(format!("fuzz.{extension}"));
    std::fs::write(&path, bytes).expect("write input");
    let env: HashMap<String, String> = HashMap::from([("SET".to_string(), "value".to_string())]);
    match load_with(&[path], &env) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                render(warning);
            }
        }
        Err(ManifestErrors { diagnostics }) => {
            assert!(!diagnostics.is_empty(), "an error with no diagnostic");
            for diagnostic in &diagnostics {
                render(diagnostic);
            }
        }
    }
}

fn render(diagnostic: &dyn miette::Diagnostic) {
    let mut text = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .render_report(&mut text, diagnostic)
        .expect("a diagnostic renders");
}

/// Scalars that stress YAML and CSV: quotes, separators, comments, anchors, tags, references,
/// unicode, numbers that look like other things.
fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "",
            "~",
            "null",
            "true",
            "no",
            "Yes",
            "1",
            "0",
            "0x1F",
            "1e3",
            "-",
            "?",
            ":",
            "#",
            "&a",
            "*a",
            "!!str",
            "'",
            "\"",
            "${SET}",
            "${UNSET}",
            "${SET:-x}",
            "${",
            "$${x}",
            "a@b.cn",
            "@",
            "+86 138-0000-0000",
            "13800000000",
            "[1, 2]",
            "{a: b}",
            "|",
            ">",
            "é漢字",
            "\u{feff}",
            "\t",
            "a\nb",
            "a,b",
            "*@corp.example",
            "10%",
            "150%",
            "-1",
        ])
        .prop_map(str::to_string),
        "[ -~]{0,16}",
        ".{0,8}",
    ]
}

fn yaml_key() -> impl Strategy<Value = String> {
    select(vec![
        "version",
        "match_on",
        "users",
        "whitelist",
        "prune",
        "email",
        "username",
        "nickname",
        "nicknme",
        "company",
        "photo",
        "phone",
        "email_verified",
        "phone_verified",
        "blocked",
        "given_name",
        "locality",
        "birthdate",
        "id",
        "renamed_from",
        "mfa",
        "password",
        "enabled",
        "phones",
        "max_deletes",
        "protect",
        "scope",
        "unknown",
        "<<",
    ])
    .prop_map(str::to_string)
}

/// A YAML node, a few levels deep, mixing block and flow styles.
fn yaml_node() -> impl Strategy<Value = String> {
    let leaf = scalar().prop_map(|value| format!("{value:?}"));
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            proptest::collection::vec((yaml_key(), inner), 0..6).prop_map(|entries| {
                let body: Vec<String> = entries
                    .iter()
                    .map(|(key, value)| format!("{key}: {value}"))
                    .collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    })
}

/// A block-style document from the real top-level keys.
fn yaml_document() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just("version: 1\n".to_string()),
            scalar().prop_map(|v| format!("version: {v}\n")),
            Just(String::new())
        ],
        proptest::collection::vec((yaml_key(), yaml_node()), 0..4),
        proptest::collection::vec(
            proptest::collection::vec((yaml_key(), scalar(), 0usize..3), 0..6),
            0..6,
        ),
    )
        .prop_map(|(version, top, users)| {
            let mut text = version;
            for (key, value) in top {
                text.push_str(&format!("{key}: {value}\n"));
            }
            text.push_str("users:\n");
            for user in users {
                let mut first = true;
                for (key, value, indent) in user {
                    let lead = if first {
                        "  - ".to_string()
                    } else {
                        format!("{}    ", " ".repeat(indent % 2))
                    };
                    first = false;
                    let quoted = if value.contains(['\n', '"', '\'', ':', '#']) {
                        format!("{value:?}")
                    } else {
                        value
                    };
                    text.push_str(&format!("{lead}{key}: {quoted}\n"));
                }
            }
            text
        })
}

fn csv_column() -> impl Strategy<Value = String> {
    select(vec![
        "email",
        "EMAIL",
        " username ",
        "nickname",
        "company",
        "photo",
        "phone",
        "email_verified",
        "Phone_Verified",
        "blocked",
        "family_name",
        "postal_code",
        "id",
        "renamed_from",
        "mfa",
        "password",
        "whitelist_phone",
        "nicknme",
        "",
        "email",
    ])
    .prop_map(str::to_string)
}

fn csv_cell() -> impl Strategy<Value = String> {
    scalar().prop_map(|value| {
        if value.contains([',', '"', '\n']) {
            format!("\"{}\"", value.replace('"', "\"\""))
        } else {
            value
        }
    })
}

fn csv_document() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        proptest::collection::vec(csv_column(), 0..7),
        proptest::collection::vec(proptest::collection::vec(csv_cell(), 0..8), 0..8),
        prop_oneof![Just("\n"), Just("\r\n")],
    )
        .prop_map(|(bom, header, rows, newline)| {
            let mut text = if bom {
                "\u{feff}".to_string()
            } else {
                String::new()
            };
            text.push_str(&header.join(","));
            for row in rows {
                text.push_str(newline);
                text.push_str(&row.join(","));
            }
            text
        })
}

proptest! {
    #![proptest_config(crate::fuzz::config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), csv: bool) {
        load_bytes(if csv { "csv" } else { "yaml" }, &bytes);
    }

    #[test]
    fn generated_yaml_never_panics(document in yaml_document()) {
        load_bytes("yaml", document.as_bytes());
    }

    #[test]
    fn generated_flow_yaml_never_panics(node in yaml_node()) {
        load_bytes("yml", format!("version: 1\nusers: {node}\n").as_bytes());
    }

    #[test]
    fn generated_csv_never_panics(document in csv_document()) {
        load_bytes("csv", document.as_bytes());
    }

    #[test]
    fn interpolation_never_panics_and_escaping_round_trips(text in "[$@{}:\\-A-Z_a-z0-9 é]{0,24}") {
        let env: HashMap<String, String> = HashMap::from([("A".to_string(), "x".to_string()), ("B_1".to_string(), String::new())]);
        let _ = interpolate(&text, &env);
        let escaped = escape(&text);
        prop_assert_eq!(interpolate(&escaped, &env).map(|value| value.into_owned()), Ok(text.clone()));
    }
}
