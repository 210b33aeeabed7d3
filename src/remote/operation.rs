//! The closed set of GraphQL operations this client sends, with the token each one needs, and
//! the per-operation call counters that plans and benchmarks report.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// One GraphQL operation, named after its root field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// `getClientWhenSdkInit` (or its older form `getAccessTokenByAppSecret`).
    Auth,
    Users,
    UserPatch,
    /// `createUser`, the management copy of `register`, sent with the owner token.
    CreateUser,
    Register,
    UpdateUser,
    RemoveUsers,
    RefreshToken,
    QueryMfa,
    ChangeMfa,
    QueryInvitation,
    QueryInvitationState,
    SetInvitationState,
    AddToInvitation,
    RemoveFromInvitation,
    SendResetPasswordEmail,
}

/// The token a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    None,
    Owner,
    User,
}

impl Operation {
    pub const ALL: [Operation; 16] = [
        Operation::Auth,
        Operation::Users,
        Operation::UserPatch,
        Operation::CreateUser,
        Operation::Register,
        Operation::UpdateUser,
        Operation::RemoveUsers,
        Operation::RefreshToken,
        Operation::QueryMfa,
        Operation::ChangeMfa,
        Operation::QueryInvitation,
        Operation::QueryInvitationState,
        Operation::SetInvitationState,
        Operation::AddToInvitation,
        Operation::RemoveFromInvitation,
        Operation::SendResetPasswordEmail,
    ];

    /// The root field name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Auth => "getClientWhenSdkInit",
            Operation::Users => "users",
            Operation::UserPatch => "userPatch",
            Operation::CreateUser => "createUser",
            Operation::Register => "register",
            Operation::UpdateUser => "updateUser",
            Operation::RemoveUsers => "removeUsers",
            Operation::RefreshToken => "refreshToken",
            Operation::QueryMfa => "queryMFA",
            Operation::ChangeMfa => "changeMFA",
            Operation::QueryInvitation => "queryInvitation",
            Operation::QueryInvitationState => "queryInvitationState",
            Operation::SetInvitationState => "setInvitationState",
            Operation::AddToInvitation => "addToInvitation",
            Operation::RemoveFromInvitation => "removeFromInvitation",
            Operation::SendResetPasswordEmail => "sendResetPasswordEmail",
        }
    }

    /// Which token the API page asks for.
    pub fn token(self) -> TokenKind {
        match self {
            Operation::Auth | Operation::Register | Operation::SendResetPasswordEmail => {
                TokenKind::None
            }
            Operation::ChangeMfa => TokenKind::User,
            _ => TokenKind::Owner,
        }
    }

    pub fn uses_owner_token(self) -> bool {
        self.token() == TokenKind::Owner
    }

    /// Whether the operation is a mutation (its answer is checked for an in-band failure).
    pub fn is_mutation(self) -> bool {
        matches!(
            self,
            Operation::CreateUser
                | Operation::Register
                | Operation::UpdateUser
                | Operation::RemoveUsers
                | Operation::RefreshToken
                | Operation::ChangeMfa
                | Operation::SetInvitationState
                | Operation::AddToInvitation
                | Operation::RemoveFromInvitation
                | Operation::SendResetPasswordEmail
        )
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Counts of requests sent (every attempt, retries included) and of retries, per operation.
#[derive(Debug, Default)]
pub struct CallCounter {
    requests: [AtomicU64; Operation::ALL.len()],
    retries: AtomicU64,
}

impl CallCounter {
    pub fn request(&self, operation: Operation) {
        self.requests[operation.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> CallStats {
        let by_operation = Operation::ALL
            .into_iter()
            .map(|operation| {
                (
                    operation,
                    self.requests[operation.index()].load(Ordering::Relaxed),
                )
            })
            .filter(|(_, count)| *count > 0)
            .collect();
        CallStats {
            by_operation,
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}

/// What a run cost in requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallStats {
    /// Requests per operation, in [`Operation::ALL`] order, zero counts left out.
    pub by_operation: Vec<(Operation, u64)>,
    pub retries: u64,
}

impl CallStats {
    pub fn total(&self) -> u64 {
        self.by_operation.iter().map(|(_, count)| count).sum()
    }
}
