//! Rendering: the human, JSON and Markdown renderers of a plan, and the progress reporters
//! (indicatif bars, plain lines, JSON events) that implement the traits in `report`.
