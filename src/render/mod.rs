//! Rendering: three renderers of one plan (human, JSON, Markdown) and the progress reporters
//! that implement the traits in `report` (bars on a terminal, lines on a pipe, JSON events).
//! `layout` decides how much of a large plan the human and Markdown renderers list.
//! `similar` and indicatif live only here. Values are masked by `mask` (the field table says
//! what is personal) and escaped by `escape` (control, bidi and invisible characters) in every
//! format, the grouped summaries of `layout` included; `escape` is also what the printer,
//! manifest diagnostics and remote errors escape with.

pub mod escape;
pub mod events;
pub mod human;
pub mod json;
pub mod layout;
pub mod lines;
pub mod markdown;
pub mod mask;
pub mod mfa;
pub mod progress;
pub mod style;
pub mod summary;

pub use human::{HumanOptions, PlanCost};
pub use layout::{Listing, Show};
pub use markdown::MarkdownOptions;
pub use mask::Masker;
pub use style::Style;

#[cfg(test)]
mod tests;
