//! The stale-plan check of `apply --plan`: re-read just the objects the plan touches (`userPatch`
//! for users, `queryMFA` for MFA switches, the whitelist queries) and compare them with the
//! fingerprints the plan recorded. Anything that moved is listed and nothing is written.

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt, stream};

use crate::model::UserId;
use crate::plan::{Change, Fingerprint, MfaTarget, Plan};
use crate::remote::{self, Remote, RemoteError};

use super::Refusal;

/// What drifted, or `Ok` when every touched object is as the plan saw it.
pub async fn check_drift(
    plan: &Plan,
    client: &Remote,
    concurrency: usize,
) -> Result<Result<(), Refusal>, RemoteError> {
    let mut expected: Vec<(&UserId, &Fingerprint, &str)> = Vec::new();
    let mut mfa: Vec<(&UserId, bool, &str)> = Vec::new();
    for change in &plan.changes {
        match change {
            Change::Update(update) => {
                expected.push((&update.id, &update.fingerprint, update.key.as_str()))
            }
            Change::Delete(delete) => {
                expected.push((&delete.id, &delete.fingerprint, &delete.label))
            }
            Change::Mfa(change) => {
                if let MfaTarget::Existing { id, fingerprint } = &change.target {
                    expected.push((id, fingerprint, change.key.as_str()));
                    mfa.push((id, change.enable, change.key.as_str()));
                }
            }
            _ => {}
        }
    }
    let mut ids: Vec<UserId> = expected.iter().map(|(id, _, _)| (*id).clone()).collect();
    ids.sort();
    ids.dedup();
    let now: HashMap<UserId, Fingerprint> = remote::users_by_id(client, &ids, concurrency)
        .await?
        .into_iter()
        .map(|user| (user.id.clone(), Fingerprint::of_user(&user)))
        .collect();

    let mut drifted = Vec::new();
    let mut reported = std::collections::HashSet::new();
    for (id, fingerprint, label) in expected {
        if !reported.insert(id) {
            continue;
        }
        match now.get(id) {
            None => drifted.push(format!("{label} (id {id}) no longer exists")),
            Some(current) if current != fingerprint => {
                drifted.push(format!("{label} (id {id}) was changed"))
            }
            Some(_) => {}
        }
    }
    let switched: Vec<(bool, bool, &str)> = stream::iter(mfa)
        .map(|(id, enable, label)| async move {
            Ok::<_, RemoteError>((client.mfa_enabled(id, label).await?, enable, label))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    for (now, enable, label) in switched {
        if now == enable {
            drifted.push(format!(
                "{label}: MFA is already {}",
                if enable { "on" } else { "off" }
            ));
        }
    }
    if let Some(fingerprint) = &plan.whitelist_fingerprint {
        let whitelist = client.whitelist().await?;
        if &Fingerprint::of_whitelist(&whitelist) != fingerprint {
            drifted.push("the phone-registration whitelist was changed".to_string());
        }
    }
    Ok(if drifted.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Stale { drifted })
    })
}
