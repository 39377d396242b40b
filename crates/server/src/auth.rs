//! Credentials: argon2id password hashing, opaque bearer tokens stored as
//! SHA-256 hashes, the `AuthUser` extractor, and login rate limits.

use std::net::IpAddr;
use std::num::NonZeroU32;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use qiao_domain::ids::{SessionId, UserId};
use qiao_domain::Error;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use qiao_service::secrets::Passwords;

use crate::error::ApiError;
use crate::state::AppState;

/// How long a session may go unseen before `last_seen` is written again.
const TOUCH_EVERY_MS: i64 = 60_000;

/// A new random bearer token (256 bits, URL-safe base64).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The signed-in caller of a request.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub user: UserId,
    pub session: SessionId,
}

/// Resolves a bearer token to its live session.
pub async fn authenticate(app: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    let session = app
        .store
        .session_by_token(&token_hash(token))
        .await?
        .ok_or(ApiError(Error::Unauthorized))?;
    let now = app.clock.now_ms();
    if now - session.last_seen_at_ms > TOUCH_EVERY_MS {
        app.store.touch_session(session.id, now).await?;
    }
    Ok(AuthUser {
        user: session.user_id,
        session: session.id,
    })
}

pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers).ok_or(ApiError(Error::Unauthorized))?;
        authenticate(app, token).await
    }
}

/// Per-minute limits keyed by account and by client address.
pub struct RateLimits {
    login_by_account: DefaultKeyedRateLimiter<String>,
    login_by_address: DefaultKeyedRateLimiter<IpAddr>,
    public_by_address: DefaultKeyedRateLimiter<IpAddr>,
}

fn per_minute<K: std::hash::Hash + Eq + Clone>(n: u32) -> DefaultKeyedRateLimiter<K> {
    let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_minute(n))
}

impl RateLimits {
    pub fn new(config: &crate::config::Config) -> Self {
        Self {
            login_by_account: per_minute(config.login_per_account_per_minute),
            login_by_address: per_minute(config.login_per_address_per_minute),
            public_by_address: per_minute(config.public_per_address_per_minute),
        }
    }

    pub fn login(&self, account: &str, address: IpAddr) -> Result<(), ApiError> {
        let by_address = self.login_by_address.check_key(&address).is_ok();
        let by_account = self.login_by_account.check_key(&account.to_lowercase()).is_ok();
        if by_address && by_account {
            Ok(())
        } else {
            Err(ApiError(Error::RateLimited))
        }
    }

    pub fn public(&self, address: IpAddr) -> Result<(), ApiError> {
        self.public_by_address
            .check_key(&address)
            .map_err(|_| ApiError(Error::RateLimited))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
