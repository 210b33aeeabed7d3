//! The plan as versioned JSON for scripts: the saved-plan shape of `plan::file`, with personal
//! values masked when `--mask-pii` asks (a masked plan is for reading, not for `apply --plan`).
//! Unprintable characters in values are `\uXXXX` escapes (see [`crate::visible::json`]).

use serde_json::Value;

use crate::model::Field;
use crate::plan::PlanFile;
use crate::visible;

use super::mask::Masker;

pub fn render(file: &PlanFile, masker: Masker) -> String {
    if masker == Masker::off() {
        return visible::json(file.to_json());
    }
    let mut masked = file.clone();
    for change in &mut masked.changes {
        if let Some(key) = &mut change.key {
            *key = masker.user(key, masked.match_on).into_owned();
        }
        if let Some(label) = &mut change.label {
            *label = masker.user(label, masked.match_on).into_owned();
        }
        if let Some(phone) = &mut change.phone {
            *phone = masker.phone(phone).into_owned();
        }
        for (name, values) in &mut change.fields {
            let mask = |value: &mut Value| {
                if let Value::String(text) = value
                    && let Some(field) = Field::from_name(name)
                {
                    *text = masker.text(field, text).into_owned();
                }
            };
            mask(&mut values.from);
            mask(&mut values.to);
        }
    }
    for notice in &mut masked.notices {
        notice.message = "(details hidden by --mask-pii)".into();
    }
    visible::json(masked.to_json())
}
