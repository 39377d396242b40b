//! The merchant API for points of sale and merchants' servers,
//! authenticated by an API key (`Authorization: Bearer qk_live_…`), never
//! by a user's token. A key can take payments and refunds (a cashier's
//! rights); settings are the owner's, in the console.

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use qiao_api as api;
use qiao_domain::ids::{MerchantId, OrderId};
use qiao_domain::Error;
use qiao_service::money::merchant::Caller;
use qiao_store::OrderRef;

use super::merchants::{csv_response, DayQuery, Page};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;

/// The merchant a request's API key belongs to.
pub struct MerchantKey {
    pub merchant: MerchantId,
}

impl FromRequestParts<AppState> for MerchantKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let key = crate::auth::bearer(&parts.headers).ok_or(ApiError::from(Error::InvalidApiKey))?;
        let record = app.money.authenticate_key(key).await?;
        Ok(Self {
            merchant: record.merchant_id,
        })
    }
}

#[utoipa::path(post, path = "/api/merchant/v1/orders", tag = "merchant API", request_body = api::CreateOrderRequest,
    responses((status = 201, body = api::OrderCreated), (status = 401, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_order(
    State(app): State<AppState>,
    key: MerchantKey,
    ApiJson(req): ApiJson<api::CreateOrderRequest>,
) -> ApiResult<(StatusCode, Json<api::OrderCreated>)> {
    let (order, payload) = app.money.create_order(key.merchant, Caller::Key, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(api::OrderCreated {
            order,
            qr: crate::qr::render(&payload)?,
        }),
    ))
}

#[utoipa::path(get, path = "/api/merchant/v1/orders", tag = "merchant API", params(Page),
    responses((status = 200, body = Vec<api::Order>)), security(("bearer" = [])))]
pub async fn orders(
    State(app): State<AppState>,
    key: MerchantKey,
    Query(page): Query<Page>,
) -> ApiResult<Json<Vec<api::Order>>> {
    let orders = app
        .money
        .merchant_orders(
            key.merchant,
            Caller::Key,
            page.before.map(OrderId),
            page.limit.unwrap_or(50),
        )
        .await?;
    Ok(Json(orders))
}

#[utoipa::path(get, path = "/api/merchant/v1/orders/{out_trade_no}", tag = "merchant API",
    params(("out_trade_no" = String, Path)), responses((status = 200, body = api::Order), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn order(
    State(app): State<AppState>,
    key: MerchantKey,
    Path(number): Path<String>,
) -> ApiResult<Json<api::Order>> {
    Ok(Json(
        app.money
            .merchant_order(key.merchant, Caller::Key, OrderRef::OutTradeNo(number))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/merchant/v1/orders/by-id/{id}", tag = "merchant API",
    params(("id" = i64, Path)), responses((status = 200, body = api::Order), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn order_by_id(
    State(app): State<AppState>,
    key: MerchantKey,
    Path(id): Path<i64>,
) -> ApiResult<Json<api::Order>> {
    Ok(Json(
        app.money
            .merchant_order(key.merchant, Caller::Key, OrderRef::Id(OrderId(id)))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/merchant/v1/orders/{out_trade_no}/qr", tag = "merchant API",
    params(("out_trade_no" = String, Path)), responses((status = 200, body = api::QrImage)), security(("bearer" = [])))]
pub async fn order_qr(
    State(app): State<AppState>,
    key: MerchantKey,
    Path(number): Path<String>,
) -> ApiResult<Json<api::QrImage>> {
    let payload = app
        .money
        .order_payload(key.merchant, Caller::Key, OrderRef::OutTradeNo(number))
        .await?;
    Ok(Json(crate::qr::render(&payload)?))
}

#[utoipa::path(post, path = "/api/merchant/v1/orders/{out_trade_no}/close", tag = "merchant API",
    params(("out_trade_no" = String, Path)), responses((status = 200, body = api::Order), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn close_order(
    State(app): State<AppState>,
    key: MerchantKey,
    Path(number): Path<String>,
) -> ApiResult<Json<api::Order>> {
    Ok(Json(
        app.money
            .close_order(key.merchant, Caller::Key, OrderRef::OutTradeNo(number))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/merchant/v1/orders/{out_trade_no}/refunds", tag = "merchant API",
    params(("out_trade_no" = String, Path)), request_body = api::RefundRequest,
    responses((status = 201, body = api::RefundCreated), (status = 409, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn refund(
    State(app): State<AppState>,
    key: MerchantKey,
    Path(number): Path<String>,
    ApiJson(req): ApiJson<api::RefundRequest>,
) -> ApiResult<(StatusCode, Json<api::RefundCreated>)> {
    let refund = app
        .money
        .refund_order(key.merchant, Caller::Key, OrderRef::OutTradeNo(number), req)
        .await?;
    Ok((StatusCode::CREATED, Json(refund)))
}

#[utoipa::path(get, path = "/api/merchant/v1/orders/{out_trade_no}/refunds", tag = "merchant API",
    params(("out_trade_no" = String, Path)), responses((status = 200, body = Vec<api::Refund>)), security(("bearer" = [])))]
pub async fn refunds(
    State(app): State<AppState>,
    key: MerchantKey,
    Path(number): Path<String>,
) -> ApiResult<Json<Vec<api::Refund>>> {
    Ok(Json(
        app.money
            .order_refunds(key.merchant, Caller::Key, OrderRef::OutTradeNo(number))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/merchant/v1/payment-codes/charge", tag = "merchant API",
    request_body = api::ChargeCodeRequest,
    responses((status = 201, body = api::Order), (status = 404, body = api::ErrorBody), (status = 409, body = api::ErrorBody),
        (status = 410, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn charge(
    State(app): State<AppState>,
    key: MerchantKey,
    ApiJson(req): ApiJson<api::ChargeCodeRequest>,
) -> ApiResult<(StatusCode, Json<api::Order>)> {
    Ok((
        StatusCode::CREATED,
        Json(app.money.charge_code(key.merchant, Caller::Key, req).await?),
    ))
}

#[utoipa::path(get, path = "/api/merchant/v1/report", tag = "merchant API", params(DayQuery),
    responses((status = 200, body = api::DayReport)), security(("bearer" = [])))]
pub async fn report(
    State(app): State<AppState>,
    key: MerchantKey,
    Query(q): Query<DayQuery>,
) -> ApiResult<Json<api::DayReport>> {
    Ok(Json(
        app.money
            .day_report(key.merchant, Caller::Key, q.day.as_deref())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/merchant/v1/orders.csv", tag = "merchant API",
    responses((status = 200, content_type = "text/csv")), security(("bearer" = [])))]
pub async fn orders_csv(State(app): State<AppState>, key: MerchantKey) -> ApiResult<impl IntoResponse> {
    let csv = app.money.orders_csv(key.merchant, Caller::Key).await?;
    Ok(csv_response(csv, key.merchant.0))
}

#[utoipa::path(get, path = "/api/merchant/v1/qr", tag = "merchant API",
    responses((status = 200, body = api::QrImage)), security(("bearer" = [])))]
pub async fn static_qr(State(app): State<AppState>, key: MerchantKey) -> ApiResult<Json<api::QrImage>> {
    let payload = app.money.static_payload(key.merchant, Caller::Key).await?;
    Ok(Json(crate::qr::render(&payload)?))
}
