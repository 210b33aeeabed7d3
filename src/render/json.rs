//! The plan as versioned JSON for scripts: the saved-plan shape of `plan::file`, with every
//! personal field masked when `--mask-pii` asks (a masked plan is for reading, not for
//! `apply --plan`).

use serde_json::Value;

use crate::model::Field;
use crate::plan::PlanFile;

use super::mask::Masker;

pub fn render(file: &PlanFile, masker: Masker) -> String {
    if masker == Masker::off() {
        return file.to_json();
    }
    let mut masked = file.clone();
    for change in &mut masked.changes {
        for key in [&mut change.key, &mut change.renamed_from, &mut change.label]
            .into_iter()
            .flatten()
        {
            *key = masker.user(key, masked.match_on).into_owned();
        }
        if let Some(phone) = &mut change.phone {
            *phone = masker.phone(phone).into_owned();
        }
        for (name, values) in &mut change.fields {
            let mask = |value: &mut Value| {
                if let (Value::String(text), Some(field)) = (&mut *value, Field::from_name(name)) {
                    *text = masker.field_text(field, text).into_owned();
                }
            };
            mask(&mut values.from);
            mask(&mut values.to);
        }
    }
    for notice in &mut masked.notices {
        notice.message = "(details hidden by --mask-pii)".into();
    }
    masked.to_json()
}
