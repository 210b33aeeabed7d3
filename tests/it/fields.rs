//! The field table end to end. For every field of `model::Field::ALL`, a value goes from a YAML
//! manifest and the same manifest as CSV (which must plan alike) through plan and apply into the
//! emulator (read back with raw GraphQL under the field's v1 wire name), out through `export`
//! (YAML and CSV, which must validate and plan back to "No changes."); then every value changes
//! and is updated in place. A field that one place forgets (a reader, a writer, the wire
//! selection, the register or update document, the emulator) fails here, named.

use std::collections::BTreeMap;

use authing_sync::model::{Field, Normalizer};
use serde_json::{Value, json};

use crate::support::{Emulator, Sync, pool, temp_dir, write_file};

/// The user that carries a field's value.
fn email_of(field: Field) -> String {
    format!("fields-{}@example.com", field.name().replace('_', "-"))
}

/// The value a field gets in a round: text with a space and non-ASCII, a phone, a flag. The
/// email of the `email` row changes only its case (its key stays).
fn value(field: Field, round: u32) -> Value {
    match field.normalizer() {
        None => Value::from(round == 1),
        Some(Normalizer::Email) if round == 1 => Value::from("Fields-Email@Example.COM"),
        Some(Normalizer::Email) => Value::from(email_of(field)),
        Some(Normalizer::Phone) => Value::from(format!("1{}80000{round:04}", 3 + round)),
        Some(Normalizer::Trim) => Value::from(format!("{} ü {round}", field.name())),
        Some(Normalizer::Date) => Value::from(format!("199{round}-02-2{round}")),
    }
}

/// The pool's users by folded email, with every field of the table selected.
async fn pool_users(emulator: &Emulator) -> BTreeMap<String, Value> {
    let selection: Vec<&str> = std::iter::once("_id")
        .chain(Field::ALL.iter().map(|field| field.wire_name()))
        .collect();
    pool::raw_users(emulator, &selection.join(" "))
        .await
        .into_iter()
        .map(|user| {
            let email = user["email"].as_str().unwrap_or_default().to_lowercase();
            (email, user)
        })
        .collect()
}

/// A YAML manifest and the same users as CSV: one user a field.
fn manifests(round: u32) -> (String, String) {
    let mut yaml = String::from("version: 1\nusers:\n");
    let mut header = vec!["email".to_string()];
    header.extend(
        Field::ALL
            .iter()
            .filter(|field| **field != Field::Email)
            .map(|field| field.name().to_string()),
    );
    let mut csv = header.join(",") + "\n";
    for field in Field::ALL {
        let value = value(field, round);
        let text = match &value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        if field == Field::Email {
            yaml.push_str(&format!("  - email: \"{text}\"\n"));
        } else {
            yaml.push_str(&format!(
                "  - email: {}\n    {}: \"{text}\"\n",
                email_of(field),
                field.name()
            ));
        }
        let cells: Vec<String> = header
            .iter()
            .map(|column| match column.as_str() {
                "email" if field == Field::Email => text.clone(),
                "email" => email_of(field),
                name if name == field.name() => text.clone(),
                _ => String::new(),
            })
            .collect();
        csv.push_str(&cells.join(","));
        csv.push('\n');
    }
    (yaml, csv)
}

/// The changes of a JSON plan without their origins and fingerprints.
fn changes(plan: &str) -> Value {
    let mut plan: Value = serde_json::from_str(plan).expect("a JSON plan");
    let mut changes = plan["changes"].take();
    for change in changes.as_array_mut().expect("changes") {
        if let Some(change) = change.as_object_mut() {
            change.remove("origin");
            change.remove("fingerprint");
        }
    }
    changes
}

fn plan_json(emulator: &Emulator, dir: &std::path::Path, manifest: &str) -> String {
    Sync::on(emulator, dir)
        .args(["plan", "-f", manifest, "--format", "json"])
        .run()
        .expect(0)
        .stdout
}

fn expect_no_changes(emulator: &Emulator, dir: &std::path::Path, manifest: &str) {
    let run = Sync::on(emulator, dir)
        .args(["plan", "-f", manifest, "--detailed-exitcode"])
        .run();
    assert!(
        run.code == 0 && run.stdout.starts_with("No changes."),
        "{manifest} does not plan back to no changes (exit {}):\n{}\n{}",
        run.code,
        run.stdout,
        run.stderr
    );
}

/// Every field holds its value in the pool, under its wire name.
async fn assert_pool_holds(emulator: &Emulator, round: u32) {
    let users = pool_users(emulator).await;
    for field in Field::ALL {
        let user = users
            .get(&email_of(field))
            .unwrap_or_else(|| panic!("{field}: no user {} in the pool", email_of(field)));
        assert_eq!(
            user[field.wire_name()],
            value(field, round),
            "{field}: the pool holds {user}"
        );
    }
}

#[tokio::test]
async fn every_field_of_the_table_goes_through_yaml_csv_plan_apply_export_and_back() {
    let emulator = Emulator::start();
    let dir = temp_dir();

    // Round 1: created from the CSV, after checking that YAML and CSV plan alike.
    let (yaml, csv) = manifests(1);
    let yaml_file = write_file(dir.path(), "users.yaml", &yaml);
    let csv_file = write_file(dir.path(), "users.csv", &csv);
    let from_yaml = changes(&plan_json(&emulator, dir.path(), &yaml_file));
    let from_csv = changes(&plan_json(&emulator, dir.path(), &csv_file));
    assert_eq!(from_yaml, from_csv, "YAML and CSV plan alike");
    for field in Field::ALL {
        let create = from_yaml
            .as_array()
            .unwrap()
            .iter()
            .find(|change| change["key"] == json!(email_of(field)))
            .unwrap_or_else(|| panic!("{field}: no create in {from_yaml}"));
        assert_eq!(
            create["fields"][field.name()]["to"],
            value(field, 1),
            "{field}: {create}"
        );
    }
    Sync::on(&emulator, dir.path()).apply(["-f", &csv_file]);
    assert_pool_holds(&emulator, 1).await;
    expect_no_changes(&emulator, dir.path(), &yaml_file);
    expect_no_changes(&emulator, dir.path(), &csv_file);

    // Export, both formats: every field comes back and plans to no changes.
    for (format, name) in [("yaml", "export.yaml"), ("csv", "export.csv")] {
        Sync::on(&emulator, dir.path())
            .args(["export", "--format", format, "--out", name])
            .run()
            .expect(0);
        let exported = std::fs::read_to_string(dir.path().join(name)).expect("export file");
        for field in Field::ALL {
            assert!(
                exported.contains(field.name()),
                "{field} is not in the {format} export:\n{exported}"
            );
        }
        expect_no_changes(&emulator, dir.path(), name);
    }

    // Round 2: every value changes in place (the phone too), the same users keep their ids.
    let ids: BTreeMap<String, Value> = pool_users(&emulator)
        .await
        .into_iter()
        .map(|(email, user)| (email, user["_id"].clone()))
        .collect();
    let (yaml, _) = manifests(2);
    let yaml_file = write_file(dir.path(), "users.yaml", &yaml);
    let planned: Value =
        serde_json::from_str(&plan_json(&emulator, dir.path(), &yaml_file)).expect("JSON plan");
    assert_eq!(planned["summary"]["create"], 0, "{planned}");
    assert_eq!(
        planned["summary"]["update"],
        Field::COUNT,
        "one update per field: {planned}"
    );
    assert!(
        planned["notices"].as_array().is_none_or(Vec::is_empty),
        "no notice, the phone included: {}",
        planned["notices"]
    );
    for field in Field::ALL {
        let update = planned["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|change| change["key"] == json!(email_of(field)))
            .unwrap_or_else(|| panic!("{field}: no update in {planned}"));
        assert_eq!(
            update["fields"][field.name()],
            json!({"from": value(field, 1), "to": value(field, 2)}),
            "{field}: {update}"
        );
    }
    Sync::on(&emulator, dir.path()).apply(["-f", &yaml_file]);
    assert_pool_holds(&emulator, 2).await;
    let after: BTreeMap<String, Value> = pool_users(&emulator)
        .await
        .into_iter()
        .map(|(email, user)| (email, user["_id"].clone()))
        .collect();
    assert_eq!(after, ids, "updated in place: same users, same ids");
    expect_no_changes(&emulator, dir.path(), &yaml_file);
}
