//! The GraphQL face of the phone whitelist, in the two spellings Authing's documents use: the
//! 2020 schema (`phone`, `enablePhone`; the 2019 names accepted too, as aliases) and, for
//! `--whitelist-spelling 2019`, an older server that knows only `qrCodePhone` and
//! `enableQrCode`, so a 2020-spelling document fails validation there.

use async_graphql::{Context, Object, SimpleObject};

use super::context::owner_env;
use super::dates::{self, js_date};
use super::errors::ApiResult;
use super::store::{WhitelistEntry, WhitelistState};
use super::whitelist;

/// A whitelist entry; `qrCodePhone` is the 2019 name of `phone`.
#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "Invitation")]
pub struct Invitation {
    pub client: String,
    pub phone: Option<String>,
    pub qr_code_phone: Option<String>,
    pub is_deleted: Option<bool>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl Invitation {
    pub fn from_entry(client: &str, entry: &WhitelistEntry, is_deleted: bool) -> Self {
        Invitation {
            client: client.to_string(),
            phone: Some(entry.phone.clone()),
            qr_code_phone: Some(entry.phone.clone()),
            is_deleted: Some(is_deleted),
            created_at: Some(js_date(entry.created_at)),
            updated_at: Some(js_date(entry.updated_at)),
        }
    }
}

/// The whitelist switch; `enableQrCode` is the 2019 name of `enablePhone`.
#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "InvitationState")]
pub struct InvitationState {
    pub client: String,
    pub enable_phone: Option<bool>,
    pub enable_qr_code: Option<bool>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// The switch's dates are `null` until it is first set.
fn state_date(seconds: i64) -> Option<String> {
    (seconds > 0).then(|| js_date(seconds))
}

impl InvitationState {
    pub fn from_state(client: &str, state: &WhitelistState) -> Self {
        InvitationState {
            client: client.to_string(),
            enable_phone: Some(state.enabled),
            enable_qr_code: Some(state.enabled),
            created_at: state_date(state.created_at),
            updated_at: state_date(state.updated_at),
        }
    }
}

/// The whitelist queries of the 2020 schema.
#[derive(Default)]
pub struct InvitationQuery;

#[Object]
impl InvitationQuery {
    /// The whitelist. Owner token.
    async fn query_invitation(
        &self,
        ctx: &Context<'_>,
        client: String,
    ) -> ApiResult<Option<Vec<Option<Invitation>>>> {
        let shared = owner_env(ctx, Some(&client))?;
        let list = whitelist::list(shared)
            .iter()
            .map(|entry| Some(Invitation::from_entry(&shared.client_id, entry, false)))
            .collect();
        Ok(Some(list))
    }

    /// The whitelist switch (off until set). Owner token.
    async fn query_invitation_state(
        &self,
        ctx: &Context<'_>,
        client: String,
    ) -> ApiResult<Option<InvitationState>> {
        let shared = owner_env(ctx, Some(&client))?;
        let state = whitelist::state(shared);
        Ok(Some(InvitationState::from_state(&shared.client_id, &state)))
    }
}

/// The whitelist mutations of the 2020 schema.
#[derive(Default)]
pub struct InvitationMutation;

#[Object]
impl InvitationMutation {
    /// Puts a phone on the whitelist (`phone`, or the 2019 `qrCodePhone`). Owner token.
    async fn add_to_invitation(
        &self,
        ctx: &Context<'_>,
        client: String,
        phone: Option<String>,
        qr_code_phone: Option<String>,
    ) -> ApiResult<Option<Invitation>> {
        let shared = owner_env(ctx, Some(&client))?;
        let phone = whitelist::phone_argument(phone, qr_code_phone)?;
        let entry = whitelist::add(shared, phone, dates::now())?;
        Ok(Some(Invitation::from_entry(
            &shared.client_id,
            &entry,
            false,
        )))
    }

    /// Takes a phone off the whitelist; `null` if it was not there. Owner token.
    async fn remove_from_invitation(
        &self,
        ctx: &Context<'_>,
        client: String,
        phone: Option<String>,
        qr_code_phone: Option<String>,
    ) -> ApiResult<Option<Invitation>> {
        let shared = owner_env(ctx, Some(&client))?;
        let phone = whitelist::phone_argument(phone, qr_code_phone)?;
        let removed = whitelist::remove(shared, phone)?;
        Ok(removed.map(|entry| Invitation::from_entry(&shared.client_id, &entry, true)))
    }

    /// Switches the whitelist (`enablePhone`, or the 2019 `enableQrCode`). Owner token.
    async fn set_invitation_state(
        &self,
        ctx: &Context<'_>,
        client: String,
        enable_phone: Option<bool>,
        enable_qr_code: Option<bool>,
    ) -> ApiResult<Option<InvitationState>> {
        let shared = owner_env(ctx, Some(&client))?;
        let state = whitelist::set_state(shared, enable_phone.or(enable_qr_code), dates::now())?;
        Ok(Some(InvitationState::from_state(&shared.client_id, &state)))
    }
}

/// A whitelist entry as the 2019 server had it: no `phone`.
#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "Invitation")]
pub struct Invitation2019 {
    pub client: String,
    pub qr_code_phone: Option<String>,
    pub is_deleted: Option<bool>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl Invitation2019 {
    fn from_entry(client: &str, entry: &WhitelistEntry, is_deleted: bool) -> Self {
        Invitation2019 {
            client: client.to_string(),
            qr_code_phone: Some(entry.phone.clone()),
            is_deleted: Some(is_deleted),
            created_at: Some(js_date(entry.created_at)),
            updated_at: Some(js_date(entry.updated_at)),
        }
    }
}

/// The whitelist switch as the 2019 server had it: no `enablePhone`.
#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(name = "InvitationState")]
pub struct InvitationState2019 {
    pub client: String,
    pub enable_qr_code: Option<bool>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl InvitationState2019 {
    fn from_state(client: &str, state: &WhitelistState) -> Self {
        InvitationState2019 {
            client: client.to_string(),
            enable_qr_code: Some(state.enabled),
            created_at: state_date(state.created_at),
            updated_at: state_date(state.updated_at),
        }
    }
}

/// The whitelist queries of the 2019 server.
#[derive(Default)]
pub struct InvitationQuery2019;

#[Object]
impl InvitationQuery2019 {
    /// The whitelist. Owner token.
    async fn query_invitation(
        &self,
        ctx: &Context<'_>,
        client: String,
    ) -> ApiResult<Option<Vec<Option<Invitation2019>>>> {
        let shared = owner_env(ctx, Some(&client))?;
        let list = whitelist::list(shared)
            .iter()
            .map(|entry| Some(Invitation2019::from_entry(&shared.client_id, entry, false)))
            .collect();
        Ok(Some(list))
    }

    /// The whitelist switch (off until set). Owner token.
    async fn query_invitation_state(
        &self,
        ctx: &Context<'_>,
        client: String,
    ) -> ApiResult<Option<InvitationState2019>> {
        let shared = owner_env(ctx, Some(&client))?;
        let state = whitelist::state(shared);
        Ok(Some(InvitationState2019::from_state(
            &shared.client_id,
            &state,
        )))
    }
}

/// The whitelist mutations of the 2019 server (`qrCodePhone`, `enableQrCode` only).
#[derive(Default)]
pub struct InvitationMutation2019;

#[Object]
impl InvitationMutation2019 {
    /// Puts a phone on the whitelist. Owner token.
    async fn add_to_invitation(
        &self,
        ctx: &Context<'_>,
        client: String,
        qr_code_phone: Option<String>,
    ) -> ApiResult<Option<Invitation2019>> {
        let shared = owner_env(ctx, Some(&client))?;
        let phone = whitelist::phone_argument(None, qr_code_phone)?;
        let entry = whitelist::add(shared, phone, dates::now())?;
        Ok(Some(Invitation2019::from_entry(
            &shared.client_id,
            &entry,
            false,
        )))
    }

    /// Takes a phone off the whitelist; `null` if it was not there. Owner token.
    async fn remove_from_invitation(
        &self,
        ctx: &Context<'_>,
        client: String,
        qr_code_phone: Option<String>,
    ) -> ApiResult<Option<Invitation2019>> {
        let shared = owner_env(ctx, Some(&client))?;
        let phone = whitelist::phone_argument(None, qr_code_phone)?;
        let removed = whitelist::remove(shared, phone)?;
        Ok(removed.map(|entry| Invitation2019::from_entry(&shared.client_id, &entry, true)))
    }

    /// Switches the whitelist. Owner token.
    async fn set_invitation_state(
        &self,
        ctx: &Context<'_>,
        client: String,
        enable_qr_code: Option<bool>,
    ) -> ApiResult<Option<InvitationState2019>> {
        let shared = owner_env(ctx, Some(&client))?;
        let state = whitelist::set_state(shared, enable_qr_code, dates::now())?;
        Ok(Some(InvitationState2019::from_state(
            &shared.client_id,
            &state,
        )))
    }
}
