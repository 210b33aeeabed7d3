//! The Authing clients: v1 (GraphQL) and v3 (management REST) behind one interface.
//!
//! - [`api`]: [`Remote`], the one interface the engine uses, and [`Api`], which API and what it
//!   can do.
//! - [`transport`]: one HTTP path for both APIs with the shared rate limit, the in-flight bound,
//!   classified retries, a response size cap and no redirects.
//! - [`v3`]: the v3 client (management token, envelope, batches of 50).
//! - [`client`]: the v1 client, one typed method per operation (users created with `createUser`, or `register`
//!   where the server lacks it); documents in `queries/`. [`token`]: the owner token and when to
//!   renew it (a minute before its JWT `exp`).
//! - [`fetch`]: the live state, read with the fewest calls the API allows.
//! - [`wire`]: request and response shapes; [`crypto`]: password encryption;
//!   [`operation`]: the operations and their call counters; [`error`]: classed errors.

pub mod api;
pub mod client;
pub mod crypto;
pub mod error;
pub mod fetch;
pub mod operation;
pub mod token;
pub mod transport;
pub mod v3;
pub mod wire;

pub use api::{Api, Remote};
pub use client::{AuthingClient, ClientConfig, NewUser, PAGE_SIZE, PATCH_BATCH};
pub use crypto::{AUTHING_PUBLIC_KEY, PasswordEncryptor};
pub use error::{ErrorClass, ErrorKind, RemoteError};
pub use fetch::{FetchScope, MfaScope, fetch, mfa_states, users_by_id};
pub use operation::{CallStats, Operation};
pub use transport::TransportConfig;
pub use v3::V3Client;
