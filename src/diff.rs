//! The pure diff engine: (desired state, live state, policy) → [`Plan`](crate::plan::Plan).
//! No I/O, no formatting.

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("diff error")]
pub struct DiffError;
