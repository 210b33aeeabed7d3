//! The reporter traits the engine calls while it works (fetch progress, operations started and
//! finished). The engine never prints; `render` implements these for terminals, pipes and JSON
//! logs, and tests record them.
