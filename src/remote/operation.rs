//! The closed set of operations this client sends (v1 GraphQL root fields and v3 REST paths),
//! with the token each one needs, and the per-operation call counters that plans and benchmarks
//! report.

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
    /// v3 `POST get-management-token`.
    V3Token,
    /// v3 `POST list-users` (pages, and re-reads filtered by id).
    V3ListUsers,
    /// v3 `POST create-users-batch`.
    V3CreateUsersBatch,
    /// v3 `POST create-user` (one user, after a batch was refused, to tell who failed).
    V3CreateUser,
    /// v3 `POST update-user`.
    V3UpdateUser,
    /// v3 `POST delete-users-batch`.
    V3DeleteUsersBatch,
    /// v3 `GET get-user-mfa-info`.
    V3GetUserMfaInfo,
    /// v3 `GET list-whitelist`.
    V3ListWhitelist,
    /// v3 `POST add-whitelist`.
    V3AddWhitelist,
    /// v3 `POST delete-whitelist`.
    V3DeleteWhitelist,
}

/// The token a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    None,
    Owner,
    User,
}

impl Operation {
    pub const ALL: [Operation; 26] = [
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
        Operation::V3Token,
        Operation::V3ListUsers,
        Operation::V3CreateUsersBatch,
        Operation::V3CreateUser,
        Operation::V3UpdateUser,
        Operation::V3DeleteUsersBatch,
        Operation::V3GetUserMfaInfo,
        Operation::V3ListWhitelist,
        Operation::V3AddWhitelist,
        Operation::V3DeleteWhitelist,
    ];

    /// The root field name on the wire (v3: the path's last segment).
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
            Operation::V3Token => "get-management-token",
            Operation::V3ListUsers => "list-users",
            Operation::V3CreateUsersBatch => "create-users-batch",
            Operation::V3CreateUser => "create-user",
            Operation::V3UpdateUser => "update-user",
            Operation::V3DeleteUsersBatch => "delete-users-batch",
            Operation::V3GetUserMfaInfo => "get-user-mfa-info",
            Operation::V3ListWhitelist => "list-whitelist",
            Operation::V3AddWhitelist => "add-whitelist",
            Operation::V3DeleteWhitelist => "delete-whitelist",
        }
    }

    /// Whether this is a call of the v3 management REST API.
    pub fn is_v3(self) -> bool {
        matches!(
            self,
            Operation::V3Token
                | Operation::V3ListUsers
                | Operation::V3CreateUsersBatch
                | Operation::V3CreateUser
                | Operation::V3UpdateUser
                | Operation::V3DeleteUsersBatch
                | Operation::V3GetUserMfaInfo
                | Operation::V3ListWhitelist
                | Operation::V3AddWhitelist
                | Operation::V3DeleteWhitelist
        )
    }

    /// Which token the API page asks for.
    pub fn token(self) -> TokenKind {
        match self {
            Operation::Auth
            | Operation::Register
            | Operation::SendResetPasswordEmail
            | Operation::V3Token => TokenKind::None,
            Operation::ChangeMfa => TokenKind::User,
            _ => TokenKind::Owner,
        }
    }

    pub fn uses_owner_token(self) -> bool {
        self.token() == TokenKind::Owner
    }

    /// Whether the operation creates users (a conflict then means "the user exists").
    pub fn creates_users(self) -> bool {
        matches!(
            self,
            Operation::CreateUser
                | Operation::Register
                | Operation::V3CreateUsersBatch
                | Operation::V3CreateUser
        )
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
