//! Credentials: opaque bearer tokens stored as SHA-256 hashes, the
//! `AuthUser` extractor (sessions themselves live in `sessions.rs`), and the
//! rate limits of sign-in and public endpoints.

use std::net::IpAddr;
use std::num::NonZeroU32;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use qiao_domain::Error;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use qiao_service::secrets::Passwords;

pub use crate::sessions::{authenticate, AuthUser};

use crate::error::ApiError;
use crate::state::AppState;

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
        let token = bearer(&parts.headers).ok_or(ApiError::from(Error::Unauthorized))?;
        let caller = authenticate(app, token).await?;
        if let Some(slot) = parts.extensions.get::<crate::error::Caller>() {
            slot.set(caller.user);
        }
        Ok(caller)
    }
}

/// Per-minute limits keyed by account and by client address, and what one
/// user may write: messages per second (with a burst) and upload volume per hour.
pub struct RateLimits {
    login_by_account: DefaultKeyedRateLimiter<String>,
    login_by_address: DefaultKeyedRateLimiter<IpAddr>,
    public_by_address: DefaultKeyedRateLimiter<IpAddr>,
    messages_by_user: DefaultKeyedRateLimiter<i64>,
    /// Counted in KiB.
    upload_kib_by_user: DefaultKeyedRateLimiter<i64>,
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
            messages_by_user: RateLimiter::keyed(
                Quota::per_second(NonZeroU32::new(config.messages_per_user_per_second).unwrap_or(NonZeroU32::MIN))
                    .allow_burst(NonZeroU32::new(config.message_burst_per_user).unwrap_or(NonZeroU32::MIN)),
            ),
            upload_kib_by_user: RateLimiter::keyed(Quota::per_hour(
                NonZeroU32::new(config.upload_mib_per_user_per_hour.saturating_mul(1024)).unwrap_or(NonZeroU32::MIN),
            )),
        }
    }

    /// One message (or WebSocket send) by `user`.
    pub fn message(&self, user: qiao_domain::ids::UserId) -> Result<(), ApiError> {
        self.messages_by_user.check_key(&user.0).map_err(|_| {
            tracing::warn!(user = user.0, "sending rate-limited");
            ApiError::from(Error::SendingTooFast)
        })
    }

    /// An upload of `bytes` by `user`, against the hour's volume.
    pub fn upload(&self, user: qiao_domain::ids::UserId, bytes: usize) -> Result<(), ApiError> {
        let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX).max(1);
        let kib = NonZeroU32::new(kib).unwrap_or(NonZeroU32::MIN);
        match self.upload_kib_by_user.check_key_n(&user.0, kib) {
            Ok(Ok(())) => Ok(()),
            _ => {
                tracing::warn!(user = user.0, bytes, "upload volume rate-limited");
                Err(ApiError::from(Error::UploadQuotaExceeded))
            }
        }
    }

    /// A sign-in try against `account`, the identifier as normalized for
    /// lookup (so `+1 555-000 0001` and `+15550000001` share one budget).
    pub fn login(&self, account: &str, address: IpAddr) -> Result<(), ApiError> {
        let by_address = self.login_by_address.check_key(&address).is_ok();
        let by_account = self.login_by_account.check_key(&account.to_owned()).is_ok();
        if by_address && by_account {
            Ok(())
        } else {
            tracing::warn!(%address, by_account = !by_account, by_address = !by_address, "sign-in rate-limited");
            Err(ApiError::from(Error::RateLimited))
        }
    }

    pub fn public(&self, address: IpAddr) -> Result<(), ApiError> {
        self.public_by_address.check_key(&address).map_err(|_| {
            tracing::warn!(%address, "public endpoint rate-limited");
            ApiError::from(Error::RateLimited)
        })
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
