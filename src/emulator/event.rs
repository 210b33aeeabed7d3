//! The store's mutation vocabulary. Every change to the pool is one of these events: resolvers
//! compute them, the journal records them before they are applied, and a restart replays them.

use serde::{Deserialize, Serialize};

use super::store::{MailRecord, MfaRecord, UserRecord, WhitelistEntry, WhitelistState};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Event {
    /// Append the synthetic users 1..=count (`--generate`), deterministically.
    Generate { count: u64 },
    /// Append the synthetic whitelist phones 1..=count (`--generate-phones`), deterministically.
    GeneratePhones { count: u64 },
    /// Insert a user, or replace the user with this id in place.
    PutUser { id: String, user: Box<UserRecord> },
    /// Remove these users and their MFA records.
    RemoveUsers { ids: Vec<String> },
    /// Insert or replace a user's MFA record.
    PutMfa { mfa: MfaRecord },
    /// Insert or replace a whitelist entry (keyed by phone).
    PutWhitelistEntry { entry: WhitelistEntry },
    /// Remove a phone from the whitelist.
    RemoveWhitelistEntry { phone: String },
    /// Switch the whitelist on or off.
    SetWhitelistState { state: WhitelistState },
    /// Record an email that would have been sent.
    Mail { mail: MailRecord },
}
