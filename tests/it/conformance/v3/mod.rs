//! The v3 part of the conformance suite: the management REST API (`authing-v3-facts.md`) over
//! real HTTP, with both authentication schemes. Runs against a fresh emulator, or a real pool
//! when `AUTHING_CONFORMANCE_V3_ENDPOINT` is set (see [`target`]).

mod auth;
mod client;
mod emulator;
mod target;
mod users;
mod whitelist;
