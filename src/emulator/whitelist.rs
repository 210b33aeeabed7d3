//! The phone-registration whitelist ("invitation"): entries, the switch, and the owner-only
//! operations on them. Phones are stored as given, trimmed.

use super::context::Shared;
use super::errors::{ApiError, ApiResult};
use super::event::Event;
use super::schema::{Invitation, InvitationState};
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

pub fn list(shared: &Shared) -> Vec<Option<Invitation>> {
    shared.read(|store| {
        store
            .whitelist()
            .map(|entry| Some(Invitation::from_entry(&shared.client_id, entry, false)))
            .collect()
    })
}

pub fn state(shared: &Shared) -> InvitationState {
    shared.read(|store| InvitationState::from_state(&shared.client_id, store.whitelist_state()))
}

/// Idempotent: a phone already on the list returns its existing entry and changes nothing.
pub fn add(shared: &Shared, phone: String, now: i64) -> ApiResult<Invitation> {
    shared.mutate(|store| {
        if let Some(entry) = store.whitelist_entry(&phone) {
            return Ok((
                Invitation::from_entry(&shared.client_id, entry, false),
                Vec::new(),
            ));
        }
        let entry = WhitelistEntry {
            phone,
            created_at: now,
            updated_at: now,
        };
        let out = Invitation::from_entry(&shared.client_id, &entry, false);
        Ok((out, vec![Event::PutWhitelistEntry { entry }]))
    })
}

/// A phone that is not on the list gives `null`.
pub fn remove(shared: &Shared, phone: String) -> ApiResult<Option<Invitation>> {
    shared.mutate(|store| match store.whitelist_entry(&phone) {
        None => Ok((None, Vec::new())),
        Some(entry) => {
            let out = Invitation::from_entry(&shared.client_id, entry, true);
            Ok((Some(out), vec![Event::RemoveWhitelistEntry { phone }]))
        }
    })
}

/// `enabled: None` (neither `enablePhone` nor `enableQrCode` given) changes nothing.
pub fn set_state(shared: &Shared, enabled: Option<bool>, now: i64) -> ApiResult<InvitationState> {
    shared.mutate(|store| {
        let current = store.whitelist_state();
        let Some(enabled) = enabled else {
            return Ok((
                InvitationState::from_state(&shared.client_id, current),
                Vec::new(),
            ));
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
        let out = InvitationState::from_state(&shared.client_id, &state);
        Ok((out, vec![Event::SetWhitelistState { state }]))
    })
}
