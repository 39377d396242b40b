//! Paying merchants as a customer (scan, pay, confirm a payment-code charge,
//! show the payment code, read a code from a photo), currency quotes and
//! conversions, and the operator's admin API (rates, verifying merchants).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use qiao_api as api;
use qiao_domain::ids::{MerchantId, OrderId};
use qiao_domain::Error;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;

/// Photos larger than this are not read for a QR code.
const MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;

#[utoipa::path(post, path = "/api/pay/scan", tag = "pay", request_body = api::ScanRequest,
    responses((status = 200, body = api::ScanResult), (status = 400, body = api::ErrorBody), (status = 422, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn scan(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::ScanRequest>,
) -> ApiResult<Json<api::ScanResult>> {
    Ok(Json(app.money.scan(auth.user, req).await?))
}

#[utoipa::path(post, path = "/api/pay", tag = "pay", request_body = api::PayRequest,
    responses((status = 201, body = api::Receipt), (status = 400, body = api::ErrorBody), (status = 403, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody), (status = 410, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn pay(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::PayRequest>,
) -> ApiResult<(StatusCode, Json<api::Receipt>)> {
    Ok((StatusCode::CREATED, Json(app.money.pay_merchant(auth.user, req).await?)))
}

#[utoipa::path(get, path = "/api/merchant-payments/{id}", tag = "pay", params(("id" = i64, Path)),
    responses((status = 200, body = api::Receipt), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn payment(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<api::Receipt>> {
    Ok(Json(app.money.merchant_payment(auth.user, OrderId(id)).await?))
}

#[utoipa::path(post, path = "/api/merchant-payments/{id}/confirm", tag = "pay", params(("id" = i64, Path)),
    request_body = api::ConfirmRequest,
    responses((status = 200, body = api::Receipt), (status = 403, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn confirm(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<api::ConfirmRequest>,
) -> ApiResult<Json<api::Receipt>> {
    Ok(Json(
        app.money.confirm_merchant_payment(auth.user, OrderId(id), req).await?,
    ))
}

#[utoipa::path(post, path = "/api/wallet/payment-code", tag = "pay",
    responses((status = 201, body = api::PaymentCode)), security(("bearer" = [])))]
pub async fn payment_code(
    State(app): State<AppState>,
    auth: AuthUser,
) -> ApiResult<(StatusCode, Json<api::PaymentCode>)> {
    let issued = app.money.issue_payment_code(auth.user, auth.session).await?;
    Ok((
        StatusCode::CREATED,
        Json(api::PaymentCode {
            qr_svg: crate::qr::svg(&issued.code)?,
            barcode_svg: crate::qr::barcode_svg(&issued.code)?,
            code: issued.code,
            expires_at_ms: issued.expires_at_ms,
            refresh_at_ms: issued.refresh_at_ms,
        }),
    ))
}

#[utoipa::path(post, path = "/api/qr/decode", tag = "pay",
    request_body(content = Vec<u8>, description = "a PNG or JPEG photo", content_type = "image/png"),
    responses((status = 200, body = api::DecodedImage), (status = 400, body = api::ErrorBody), (status = 415, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn decode(
    _auth: AuthUser,
    _headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<api::DecodedImage>> {
    let body = body.map_err(|_| ApiError::from(Error::PayloadTooLarge))?;
    if body.len() > MAX_PHOTO_BYTES {
        return Err(Error::PayloadTooLarge.into());
    }
    // Decoding is CPU work: off the async threads.
    let payload = tokio::task::spawn_blocking(move || crate::qr::decode_photo(&body))
        .await
        .map_err(|_| ApiError::from(Error::Internal))??;
    Ok(Json(api::DecodedImage { payload }))
}

#[utoipa::path(post, path = "/api/fx/quotes", tag = "pay", request_body = api::QuoteRequest,
    responses((status = 201, body = api::Quote), (status = 422, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn quote(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::QuoteRequest>,
) -> ApiResult<(StatusCode, Json<api::Quote>)> {
    Ok((StatusCode::CREATED, Json(app.money.quote(auth.user, req).await?)))
}

#[utoipa::path(get, path = "/api/fx/rates", tag = "pay", responses((status = 200, body = Vec<api::Rate>)),
    security(("bearer" = [])))]
pub async fn rates(State(app): State<AppState>, _auth: AuthUser) -> ApiResult<Json<Vec<api::Rate>>> {
    Ok(Json(app.money.rates().await?))
}

#[utoipa::path(post, path = "/api/wallet/conversions", tag = "pay", request_body = api::ConvertRequest,
    responses((status = 201, body = api::Conversion), (status = 409, body = api::ErrorBody), (status = 410, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn convert(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::ConvertRequest>,
) -> ApiResult<(StatusCode, Json<api::Conversion>)> {
    Ok((StatusCode::CREATED, Json(app.money.convert(auth.user, req).await?)))
}

/// The operator, by the admin token whose SHA-256 the configuration holds
/// (compared in constant time); without one configured, nobody.
pub struct Admin;

impl axum::extract::FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        use subtle::ConstantTimeEq;
        let expected = app
            .config
            .admin_token_sha256
            .as_deref()
            .ok_or(ApiError::from(Error::Forbidden))?;
        let given = crate::auth::bearer(&parts.headers).ok_or(ApiError::from(Error::Unauthorized))?;
        let given = crate::auth::token_hash(given);
        if bool::from(given.as_bytes().ct_eq(expected.to_ascii_lowercase().as_bytes())) {
            Ok(Admin)
        } else {
            Err(Error::Unauthorized.into())
        }
    }
}

#[utoipa::path(put, path = "/api/admin/fx/rates", tag = "admin", request_body = api::SetRateRequest,
    responses((status = 200, body = api::Rate), (status = 400, body = api::ErrorBody), (status = 401, body = api::ErrorBody), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_rate(
    State(app): State<AppState>,
    _admin: Admin,
    ApiJson(req): ApiJson<api::SetRateRequest>,
) -> ApiResult<Json<api::Rate>> {
    Ok(Json(
        app.money
            .set_rate(&req.base_currency, &req.quote_currency, &req.rate)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/admin/merchants/{id}/verify", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = api::ErrorBody), (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn verify_merchant(State(app): State<AppState>, _admin: Admin, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    app.money.set_merchant_verified(MerchantId(id), true).await?;
    Ok(StatusCode::NO_CONTENT)
}
