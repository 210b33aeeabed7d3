//! Rendering: three renderers of one plan (human, JSON, Markdown) and the progress reporters
//! that implement the traits in `report` (bars on a terminal, lines on a pipe, JSON events).
//! `layout` decides how much of a large plan the human and Markdown renderers list.
//! `similar` and indicatif live only here.

pub mod events;
pub mod human;
pub mod json;
pub mod layout;
pub mod lines;
pub mod markdown;
pub mod mask;
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
