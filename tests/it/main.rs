//! The integration tests: one binary, one module per command.

mod validate;
