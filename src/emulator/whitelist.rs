//! The phone-registration whitelist ("invitation"): entries, the switch, and the owner-only
//! changes to them, in terms of the store (both API faces use them). Phones are stored as given,
//! trimmed.

use super::context::Shared;
use super::errors::{ApiError, ApiResult};
use super::event::Event;
use super::store::{WhitelistEntry, WhitelistState};

/// The phone from either spelling: 2020 `phone` or 2019 `qrCodePhone` (2028 when neither).
pub fn phone_argument(
    phone: Option<String>,
    qr_code_phone: Option<String>,
) -> Result<String, ApiError> {
    phone
        .or(qr_code_phone)
        .map(|phone| phone.trim().to_string())
        .filter(|phone| !phone.is_empty())
        .ok_or(ApiError::NeedEmailOrPhone)
}

pub fn list(shared: &Shared) -> Vec<WhitelistEntry> {
    shared.read(|store| store.whitelist().cloned().collect())
}

pub fn state(shared: &Shared) -> WhitelistState {
    shared.read(|store| store.whitelist_state().clone())
}

/// Idempotent: a phone already on the list returns its existing entry and changes nothing.
pub fn add(shared: &Shared, phone: String, now: i64) -> ApiResult<WhitelistEntry> {
    shared.mutate(|store| {
        if let Some(entry) = store.whitelist_entry(&phone) {
            return Ok((entry.clone(), Vec::new()));
        }
        let entry = WhitelistEntry {
            phone,
            created_at: now,
            updated_at: now,
        };
        Ok((entry.clone(), vec![Event::PutWhitelistEntry { entry }]))
    })
}

/// Adds several phones in one change (v3 `add-whitelist`); those already listed keep their
/// entries. Returns the entries of all of them, in the order given.
pub fn add_all(shared: &Shared, phones: Vec<String>, now: i64) -> ApiResult<Vec<WhitelistEntry>> {
    shared.mutate(|store| {
        let mut entries: Vec<WhitelistEntry> = Vec::with_capacity(phones.len());
        let mut events = Vec::new();
        for phone in phones {
            if entries.iter().any(|entry| entry.phone == phone) {
                continue;
            }
            match store.whitelist_entry(&phone) {
                Some(entry) => entries.push(entry.clone()),
                None => {
                    let entry = WhitelistEntry {
                        phone,
                        created_at: now,
                        updated_at: now,
                    };
                    events.push(Event::PutWhitelistEntry {
                        entry: entry.clone(),
                    });
                    entries.push(entry);
                }
            }
        }
        Ok((entries, events))
    })
}

/// The removed entry; `None` when the phone was not on the list.
pub fn remove(shared: &Shared, phone: String) -> ApiResult<Option<WhitelistEntry>> {
    Ok(remove_all(shared, vec![phone])?.into_iter().next())
}

/// Removes several phones in one change; phones not on the list are skipped.
pub fn remove_all(shared: &Shared, phones: Vec<String>) -> ApiResult<Vec<WhitelistEntry>> {
    shared.mutate(|store| {
        let mut removed: Vec<WhitelistEntry> = Vec::new();
        let mut events = Vec::new();
        for phone in phones {
            if removed.iter().any(|entry| entry.phone == phone) {
                continue;
            }
            if let Some(entry) = store.whitelist_entry(&phone) {
                removed.push(entry.clone());
                events.push(Event::RemoveWhitelistEntry { phone });
            }
        }
        Ok((removed, events))
    })
}

/// `enabled: None` (neither `enablePhone` nor `enableQrCode` given) changes nothing.
pub fn set_state(shared: &Shared, enabled: Option<bool>, now: i64) -> ApiResult<WhitelistState> {
    shared.mutate(|store| {
        let current = store.whitelist_state();
        let Some(enabled) = enabled else {
            return Ok((current.clone(), Vec::new()));
        };
        let state = WhitelistState {
            enabled,
            created_at: if current.created_at > 0 {
                current.created_at
            } else {
                now
            },
            updated_at: now,
        };
        Ok((state.clone(), vec![Event::SetWhitelistState { state }]))
    })
}
