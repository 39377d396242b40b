//! The payment PIN: set it (with the account password), set the small-amount
//! no-PIN limit, and the one check every money-out request goes through.

use axum::extract::State;
use axum::Json;
use qiao_api as api;
use qiao_domain::ids::UserId;
use qiao_domain::pin::{self, Pin};
use qiao_domain::Error;
use qiao_store::PinRecord;

use crate::auth::AuthUser;
use crate::error::{ApiJson, ApiResult};
use crate::state::AppState;

pub fn status(record: Option<&PinRecord>, now_ms: i64) -> api::PinStatus {
    api::PinStatus {
        set: record.is_some(),
        locked_until_ms: record
            .and_then(|r| r.state.locked_until_ms)
            .filter(|until| *until > now_ms),
        no_pin_limit_minor: record.map_or(0, |r| r.no_pin_limit_minor),
    }
}

fn lock_ms(app: &AppState) -> i64 {
    i64::try_from(app.config.pin_lock_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX)
}

/// Checks `pin` against the user's PIN and counts the try. The fifth wrong
/// try in a row answers `PinLocked`, as does every try while locked.
pub async fn verify(app: &AppState, user: UserId, pin: &Pin) -> ApiResult<()> {
    let record = app.store.pin(user).await?.ok_or(Error::PinNotSet)?;
    verify_against(app, user, &record, pin).await
}

/// [`verify`] with the PIN record already read.
async fn verify_against(app: &AppState, user: UserId, record: &PinRecord, pin: &Pin) -> ApiResult<()> {
    app.limits.pin(user)?;
    let now = app.clock.now_ms();
    record.state.may_try(now)?;
    let right = app
        .passwords
        .verify(pin.as_str().to_owned(), record.pin_hash.clone())
        .await;
    let after = app.store.record_pin_try(user, right, now, lock_ms(app)).await?;
    if right {
        Ok(())
    } else if after.state.may_try(now).is_err() {
        Err(Error::PinLocked.into())
    } else {
        Err(Error::WrongPin.into())
    }
}

/// What every request that moves money out of a wallet must pass: a PIN is
/// set, not locked, and given and right unless the amount is within the
/// user's no-PIN limit.
pub async fn authorize(app: &AppState, user: UserId, given: Option<&str>, amount_minor: i64) -> ApiResult<()> {
    let record = app.store.pin(user).await?.ok_or(Error::PinNotSet)?;
    record.state.may_try(app.clock.now_ms())?;
    if !pin::needs_pin(amount_minor, record.no_pin_limit_minor) {
        return Ok(());
    }
    let pin = Pin::parse(given.ok_or(Error::PinRequired)?)?;
    verify_against(app, user, &record, &pin).await
}

#[utoipa::path(put, path = "/api/wallet/pin", tag = "wallet", request_body = api::SetPinRequest,
    responses((status = 200, body = api::PinStatus), (status = 400, body = api::ErrorBody), (status = 401, body = api::ErrorBody),
        (status = 423, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_pin(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::SetPinRequest>,
) -> ApiResult<Json<api::PinStatus>> {
    let pin = Pin::parse(&req.pin)?;
    app.limits.pin(auth.user)?;
    let user = app.store.user(auth.user).await?;
    if !app.passwords.verify(req.password, user.password_hash).await {
        return Err(Error::BadCredentials.into());
    }
    let hash = app.passwords.hash(pin.as_str().to_owned()).await?;
    let now = app.clock.now_ms();
    let record = app.store.set_pin(auth.user, &hash, now).await?;
    Ok(Json(status(Some(&record), now)))
}

#[utoipa::path(put, path = "/api/wallet/pin/no-pin-limit", tag = "wallet", request_body = api::NoPinLimitRequest,
    responses((status = 200, body = api::PinStatus), (status = 400, body = api::ErrorBody), (status = 403, body = api::ErrorBody),
        (status = 423, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_no_pin_limit(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::NoPinLimitRequest>,
) -> ApiResult<Json<api::PinStatus>> {
    let limit = pin::no_pin_limit(req.limit_minor)?;
    let pin = Pin::parse(&req.pin)?;
    verify(&app, auth.user, &pin).await?;
    let record = app.store.set_no_pin_limit(auth.user, limit).await?;
    Ok(Json(status(Some(&record), app.clock.now_ms())))
}
