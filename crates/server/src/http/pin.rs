//! The payment PIN: set or change it, reset it with proof of identity, and
//! the small-amount no-PIN limit. The rules are the money service's.

use axum::extract::State;
use axum::Json;
use qiao_api as api;
use qiao_service::money::pin::Proof;

use crate::auth::AuthUser;
use crate::error::{ApiJson, ApiResult};
use crate::state::AppState;

#[utoipa::path(put, path = "/api/wallet/pin", tag = "wallet", request_body = api::SetPinRequest,
    responses((status = 200, body = api::PinStatus), (status = 400, body = api::ErrorBody), (status = 403, body = api::ErrorBody),
        (status = 423, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_pin(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::SetPinRequest>,
) -> ApiResult<Json<api::PinStatus>> {
    let proof = Proof::optional(req.current_pin.as_deref(), req.password.as_deref())?;
    Ok(Json(app.money.set_pin(auth.user, &req.pin, proof).await?))
}

#[utoipa::path(post, path = "/api/wallet/pin/reset", tag = "wallet", request_body = api::ResetPinRequest,
    responses((status = 200, body = api::PinStatus), (status = 400, body = api::ErrorBody), (status = 403, body = api::ErrorBody),
        (status = 429, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn reset_pin(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::ResetPinRequest>,
) -> ApiResult<Json<api::PinStatus>> {
    let status = app
        .money
        .reset_pin(auth.user, &req.password, &req.card_number, &req.pin)
        .await?;
    Ok(Json(status))
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
    let proof = Proof::optional(req.pin.as_deref(), req.password.as_deref())?;
    Ok(Json(
        app.money.set_no_pin_limit(auth.user, req.limit_minor, proof).await?,
    ))
}
