//! v3's registration whitelist (`list-whitelist`, `add-whitelist`, `delete-whitelist`) over the
//! same phone entries as v1's invitation operations. Only `type: PHONE` holds anything: the
//! `EMAIL` and `USERNAME` lists are always empty and cannot be changed. v3 has no on/off
//! switch; v1's `setInvitationState` stays the only way to turn the whitelist on.

use serde_json::{Value, json};

use super::super::context::Shared;
use super::super::dates::iso_date;
use super::super::store::WhitelistEntry;
use super::super::whitelist;
use super::envelope::{Failure, V3Result};
use super::params::{Body, Fields, Query};

fn entry(entry: &WhitelistEntry) -> Value {
    json!({"value": entry.phone, "createdAt": iso_date(entry.created_at)})
}

/// The list type: `PHONE` for the phone list; `EMAIL`, `USERNAME` exist but hold nothing here.
fn kind(value: Option<String>) -> V3Result<String> {
    match value.as_deref() {
        Some("PHONE" | "EMAIL" | "USERNAME") => Ok(value.unwrap_or_default()),
        _ => Err(Failure::bad_param("type")),
    }
}

fn phone_only(kind: &str) -> V3Result<()> {
    if kind == "PHONE" {
        Ok(())
    } else {
        Err(Failure::unsupported(format!(
            "the emulator keeps only the PHONE whitelist, not {kind}"
        )))
    }
}

/// `GET /api/v3/list-whitelist?type=PHONE`: an array of `{value, createdAt}`.
pub fn list(shared: &Shared, query: &Query) -> V3Result<Value> {
    let kind = kind(query.text("type"))?;
    if kind != "PHONE" {
        return Ok(json!([]));
    }
    Ok(Value::Array(
        whitelist::list(shared).iter().map(entry).collect(),
    ))
}

/// `POST /api/v3/add-whitelist {type, list}`: idempotent; returns the entries of every phone
/// given.
pub fn add(shared: &Shared, body: &Body, now: i64) -> V3Result<Value> {
    let kind = kind(body.string("type")?)?;
    phone_only(&kind)?;
    let phones = body.strings("list")?.unwrap_or_default();
    let entries = whitelist::add_all(shared, phones, now)
        .map_err(|_| Failure::new(500, "系统繁忙，请稍后再试").with_api_code(1000))?;
    Ok(Value::Array(entries.iter().map(entry).collect()))
}

/// `POST /api/v3/delete-whitelist {type, list}`: phones not on the list are skipped.
pub fn delete(shared: &Shared, body: &Body) -> V3Result<Value> {
    let kind = kind(body.string("type")?)?;
    phone_only(&kind)?;
    let phones = body.strings("list")?.unwrap_or_default();
    whitelist::remove_all(shared, phones)
        .map_err(|_| Failure::new(500, "系统繁忙，请稍后再试").with_api_code(1000))?;
    Ok(json!({"success": true}))
}
