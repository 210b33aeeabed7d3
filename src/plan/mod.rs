//! The typed plan: a closed set of changes with before/after values and provenance, its
//! summary, and the saved-plan file format.

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("plan file error")]
pub struct PlanFileError;
