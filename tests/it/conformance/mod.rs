//! The conformance suite: the documents Authing's SDKs send (verbatim where the wire facts quote
//! them), checked for results, error codes and token rules over real HTTP. Wire-level cases run
//! against [`target::Target`] (an emulator by default, a real pool if configured); cases about
//! the emulator itself (faults, state, stats) skip on a real pool.

mod accounts;
mod create_user;
mod dialects;
mod documents;
mod endpoints;
mod faults;
mod mfa;
mod owner;
mod persistence;
mod profile;
mod protocol;
mod session;
mod target;
mod users;
mod v3;
mod whitelist;

/// `Tue Oct 17 2017 21:02:01 GMT+0800 (CST)`: JavaScript's `Date.toString()` in CST.
pub fn is_js_date(value: &serde_json::Value) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    let parts: Vec<&str> = text.split(' ').collect();
    parts.len() == 7
        && parts[0].len() == 3
        && parts[1].len() == 3
        && parts[2].len() == 2
        && parts[3].len() == 4
        && parts[4].len() == 8
        && parts[5] == "GMT+0800"
        && parts[6] == "(CST)"
}
