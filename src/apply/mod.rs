//! The executor: carries a plan out in a safe order, rate-limited and bounded, behind the
//! deletion guards.

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("refused")]
pub struct Refusal;
