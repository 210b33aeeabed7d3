//! The owner token and when to renew it: its expiry, read from the JWT's `exp` (and `iat`) claims
//! without verifying the signature (the client only needs to know when the server will stop
//! accepting it). JS SDK 3.x reads `exp` the same way and fetches a new token once it has passed;
//! this client renews a minute before, so no request goes out with a token about to lapse.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::Value;

use crate::secret::Secret;

use super::wire::lenient_i64;

/// The owner token, which renewal it is, and when to renew it.
#[derive(Debug)]
pub struct OwnerToken {
    pub token: Secret,
    /// 0 for the first token, one more for each renewal.
    pub generation: u64,
    /// When to fetch a new one: a minute before the JWT's `exp` (`None`: not a JWT, no `exp`, or
    /// the client waits for the server to refuse it).
    pub renew_at: Option<Instant>,
}

impl OwnerToken {
    pub fn new(token: Secret, generation: u64) -> Self {
        let renew_at = renewal_deadline(&token);
        Self {
            token,
            generation,
            renew_at,
        }
    }

    /// Whether it is time to fetch a new one.
    pub fn is_due(&self) -> bool {
        self.renew_at.is_some_and(|at| Instant::now() >= at)
    }
}

/// The current owner token, shared by every request; read when a request is sent, replaced by
/// a renewal. Never held across an `await`.
#[derive(Debug)]
pub struct OwnerSlot(RwLock<Arc<OwnerToken>>);

impl OwnerSlot {
    pub fn new(token: OwnerToken) -> Self {
        Self(RwLock::new(Arc::new(token)))
    }

    pub fn get(&self) -> Arc<OwnerToken> {
        match self.0.read() {
            Ok(current) => Arc::clone(&current),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub fn set(&self, token: Arc<OwnerToken>) {
        match self.0.write() {
            Ok(mut current) => *current = token,
            Err(poisoned) => *poisoned.into_inner() = token,
        }
    }

    /// Keeps the token of this generation but stops renewing it ahead of time (a renewal
    /// failed; the server's refusal will tell when it must be renewed).
    pub fn keep_without_deadline(&self, generation: u64) {
        let current = self.get();
        if current.generation == generation {
            self.set(Arc::new(OwnerToken {
                token: current.token.clone(),
                generation,
                renew_at: None,
            }));
        }
    }
}

/// How long before `exp` a token is renewed, at most.
pub const RENEW_MARGIN: Duration = Duration::from_secs(60);

/// The `iat` and `exp` claims of a JWT, in Unix seconds, read without verifying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    pub iat: Option<i64>,
    pub exp: i64,
}

impl Claims {
    /// The claims of `token`, if it is a JWT with an `exp` (a number or a numeric string).
    pub fn of(token: &Secret) -> Option<Claims> {
        let payload = token.expose().split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        let claims: Value = serde_json::from_slice(&bytes).ok()?;
        Some(Claims {
            iat: claims.get("iat").and_then(lenient_i64),
            exp: claims.get("exp").and_then(lenient_i64)?,
        })
    }

    /// How long from now the token should be used before it is renewed, given the local clock
    /// (`now`, Unix seconds). The lifetime left is the smaller of `exp - now` and `exp - iat`, so
    /// a local clock behind the server's cannot stretch it; the margin is a minute, or a quarter
    /// of that lifetime for tokens shorter than four minutes. `None` when the token already looks
    /// expired by the local clock (a clock ahead of the server's): the client then relies on the
    /// server refusing it, rather than renewing before every request.
    pub fn renew_after(&self, now: f64) -> Option<Duration> {
        let mut left = self.exp as f64 - now;
        if let Some(iat) = self.iat {
            left = left.min((self.exp - iat) as f64);
        }
        if !left.is_finite() || left <= 0.0 {
            return None;
        }
        let left = Duration::from_secs_f64(left.min(10.0 * 365.0 * 86_400.0));
        Some(left - RENEW_MARGIN.min(left / 4))
    }
}

/// When a token fetched now should be renewed, if it says when it expires.
pub fn renewal_deadline(token: &Secret) -> Option<Instant> {
    let claims = Claims::of(token)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs_f64())
        .unwrap_or_default();
    let after = claims.renew_after(now);
    if after.is_none() {
        tracing::warn!(
            exp = claims.exp,
            "the owner token looks expired by the local clock already; is the clock right?"
        );
    }
    after.map(|after| Instant::now() + after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> Secret {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        Secret::new(format!(
            "{}.{}.signature",
            engine.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
            engine.encode(payload)
        ))
    }

    #[test]
    fn claims_are_read_without_verifying() {
        assert_eq!(
            Claims::of(&jwt(r#"{"data":{"id":"x"},"iat":1000,"exp":87400}"#)),
            Some(Claims {
                iat: Some(1000),
                exp: 87400
            })
        );
        assert_eq!(
            Claims::of(&jwt(r#"{"exp":"2000"}"#)),
            Some(Claims {
                iat: None,
                exp: 2000
            })
        );
        assert_eq!(Claims::of(&jwt(r#"{"iat":1000}"#)), None);
        assert_eq!(Claims::of(&Secret::new("scripted-owner-token")), None);
        assert_eq!(Claims::of(&Secret::new("a.!!!.c")), None);
        assert_eq!(Claims::of(&Secret::new("a.e30.c")), None, "{{}} has no exp");
    }

    #[test]
    fn a_long_token_is_renewed_a_minute_before_it_expires() {
        let claims = Claims {
            iat: Some(1000),
            exp: 1000 + 86_400,
        };
        assert_eq!(
            claims.renew_after(1000.0),
            Some(Duration::from_secs(86_400 - 60))
        );
        // Half-way through its life.
        assert_eq!(
            claims.renew_after(1000.0 + 43_200.0),
            Some(Duration::from_secs(43_200 - 60))
        );
    }

    #[test]
    fn a_short_token_is_renewed_a_quarter_of_its_life_early() {
        let claims = Claims {
            iat: Some(1000),
            exp: 1002,
        };
        assert_eq!(
            claims.renew_after(1000.0),
            Some(Duration::from_millis(1500))
        );
        // `iat` is truncated to the second: 0.9 s of the two are gone already.
        let after = claims.renew_after(1000.9).unwrap();
        assert!(
            after.abs_diff(Duration::from_millis(825)) < Duration::from_millis(1),
            "{after:?}"
        );
    }

    #[test]
    fn a_local_clock_behind_the_server_cannot_stretch_the_lifetime() {
        let claims = Claims {
            iat: Some(1000),
            exp: 1120,
        };
        // The local clock says 900, a hundred seconds before the token was issued.
        assert_eq!(claims.renew_after(900.0), Some(Duration::from_secs(90)));
    }

    #[test]
    fn a_token_expired_by_the_local_clock_is_not_renewed_in_advance() {
        let claims = Claims {
            iat: Some(1000),
            exp: 2000,
        };
        assert_eq!(claims.renew_after(2000.0), None);
        assert_eq!(claims.renew_after(5000.0), None);
        let without_iat = Claims {
            iat: None,
            exp: 2000,
        };
        assert_eq!(
            without_iat.renew_after(1940.0),
            Some(Duration::from_secs(45))
        );
    }
}
