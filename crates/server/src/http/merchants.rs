//! The merchant console (a signed-in owner or cashier, with a user token):
//! setting up a merchant, its shops, cashiers, API keys and notifications,
//! and the cashier's screen (orders, charging a payment code, refunds, the
//! day's report). Each handler parses, authenticates and calls one use case.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use qiao_api as api;
use qiao_domain::ids::{ApiKeyId, CardId, MerchantId, NotificationId, OrderId, UserId};
use qiao_service::money::merchant::{Caller, MerchantForm};
use qiao_store::OrderRef;
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::error::{ApiJson, ApiResult};
use crate::state::AppState;

#[utoipa::path(post, path = "/api/merchants", tag = "merchants", request_body = api::CreateMerchantRequest,
    responses((status = 201, body = api::MerchantCreated), (status = 400, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::CreateMerchantRequest>,
) -> ApiResult<(StatusCode, Json<api::MerchantCreated>)> {
    let form = MerchantForm {
        legal_name: req.legal_name,
        display_name: req.display_name,
        country: req.country,
        city: req.city,
        mcc: req.mcc,
        currency: req.currency,
        settlement_card: CardId(req.settlement_card_id),
        notify_url: req.notify_url,
    };
    Ok((
        StatusCode::CREATED,
        Json(app.money.create_merchant(auth.user, form).await?),
    ))
}

#[utoipa::path(get, path = "/api/merchants", tag = "merchants", responses((status = 200, body = Vec<api::Merchant>)),
    security(("bearer" = [])))]
pub async fn list(State(app): State<AppState>, auth: AuthUser) -> ApiResult<Json<Vec<api::Merchant>>> {
    Ok(Json(app.money.merchants_of(auth.user).await?))
}

#[utoipa::path(get, path = "/api/merchants/{id}", tag = "merchants", params(("id" = i64, Path)),
    responses((status = 200, body = api::Merchant), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(app): State<AppState>, auth: AuthUser, Path(id): Path<i64>) -> ApiResult<Json<api::Merchant>> {
    Ok(Json(app.money.merchant_for(MerchantId(id), auth.user).await?))
}

#[utoipa::path(patch, path = "/api/merchants/{id}", tag = "merchants", params(("id" = i64, Path)),
    request_body = api::UpdateMerchantRequest,
    responses((status = 200, body = api::Merchant), (status = 403, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn update(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<api::UpdateMerchantRequest>,
) -> ApiResult<Json<api::Merchant>> {
    Ok(Json(app.money.update_merchant(MerchantId(id), auth.user, req).await?))
}

#[utoipa::path(post, path = "/api/merchants/{id}/signing-secret", tag = "merchants", params(("id" = i64, Path)),
    responses((status = 200, body = api::SigningSecret), (status = 403, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn rotate_secret(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<api::SigningSecret>> {
    Ok(Json(app.money.rotate_signing_secret(MerchantId(id), auth.user).await?))
}

#[utoipa::path(post, path = "/api/merchants/{id}/shops", tag = "merchants", params(("id" = i64, Path)),
    request_body = api::CreateShopRequest, responses((status = 201, body = api::Shop)), security(("bearer" = [])))]
pub async fn add_shop(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<api::CreateShopRequest>,
) -> ApiResult<(StatusCode, Json<api::Shop>)> {
    Ok((
        StatusCode::CREATED,
        Json(app.money.add_shop(MerchantId(id), auth.user, &req.name).await?),
    ))
}

#[utoipa::path(get, path = "/api/merchants/{id}/shops", tag = "merchants", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<api::Shop>)), security(("bearer" = [])))]
pub async fn shops(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<api::Shop>>> {
    Ok(Json(app.money.shops(MerchantId(id), auth.user).await?))
}

#[utoipa::path(post, path = "/api/merchants/{id}/staff", tag = "merchants", params(("id" = i64, Path)),
    request_body = api::AddStaffRequest, responses((status = 201, body = api::StaffMember)), security(("bearer" = [])))]
pub async fn add_staff(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<api::AddStaffRequest>,
) -> ApiResult<(StatusCode, Json<api::StaffMember>)> {
    Ok((
        StatusCode::CREATED,
        Json(app.money.add_staff(MerchantId(id), auth.user, req).await?),
    ))
}

#[utoipa::path(get, path = "/api/merchants/{id}/staff", tag = "merchants", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<api::StaffMember>)), security(("bearer" = [])))]
pub async fn staff(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<api::StaffMember>>> {
    Ok(Json(app.money.staff(MerchantId(id), auth.user).await?))
}

#[utoipa::path(delete, path = "/api/merchants/{id}/staff/{user_id}", tag = "merchants",
    params(("id" = i64, Path), ("user_id" = i64, Path)), responses((status = 204)), security(("bearer" = [])))]
pub async fn remove_staff(
    State(app): State<AppState>,
    auth: AuthUser,
    Path((id, user_id)): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    app.money
        .remove_staff(MerchantId(id), auth.user, UserId(user_id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/merchants/{id}/api-keys", tag = "merchants", params(("id" = i64, Path)),
    request_body = api::CreateApiKeyRequest, responses((status = 201, body = api::ApiKeyCreated)), security(("bearer" = [])))]
pub async fn create_key(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<api::CreateApiKeyRequest>,
) -> ApiResult<(StatusCode, Json<api::ApiKeyCreated>)> {
    Ok((
        StatusCode::CREATED,
        Json(app.money.create_api_key(MerchantId(id), auth.user, &req.label).await?),
    ))
}

#[utoipa::path(get, path = "/api/merchants/{id}/api-keys", tag = "merchants", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<api::ApiKey>)), security(("bearer" = [])))]
pub async fn keys(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<api::ApiKey>>> {
    Ok(Json(app.money.api_keys(MerchantId(id), auth.user).await?))
}

#[utoipa::path(delete, path = "/api/merchants/{id}/api-keys/{key_id}", tag = "merchants",
    params(("id" = i64, Path), ("key_id" = i64, Path)), responses((status = 200, body = api::ApiKey)), security(("bearer" = [])))]
pub async fn revoke_key(
    State(app): State<AppState>,
    auth: AuthUser,
    Path((id, key_id)): Path<(i64, i64)>,
) -> ApiResult<Json<api::ApiKey>> {
    Ok(Json(
        app.money
            .revoke_api_key(MerchantId(id), auth.user, ApiKeyId(key_id))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/merchants/{id}/notifications", tag = "merchants", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<api::Notification>)), security(("bearer" = [])))]
pub async fn notifications(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<api::Notification>>> {
    Ok(Json(app.money.notifications(MerchantId(id), auth.user).await?))
}

#[utoipa::path(post, path = "/api/merchants/{id}/notifications/{notification_id}/resend", tag = "merchants",
    params(("id" = i64, Path), ("notification_id" = i64, Path)), responses((status = 200, body = api::Notification)),
    security(("bearer" = [])))]
pub async fn resend(
    State(app): State<AppState>,
    auth: AuthUser,
    Path((id, notification)): Path<(i64, i64)>,
) -> ApiResult<Json<api::Notification>> {
    Ok(Json(
        app.money
            .resend_notification(MerchantId(id), auth.user, NotificationId(notification))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/merchants/{id}/qr", tag = "merchants", params(("id" = i64, Path)),
    responses((status = 200, body = api::QrImage)), security(("bearer" = [])))]
pub async fn static_qr(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<api::QrImage>> {
    let payload = app
        .money
        .static_payload(MerchantId(id), Caller::Staff(auth.user))
        .await?;
    Ok(Json(crate::qr::render(&payload)?))
}

#[utoipa::path(get, path = "/api/merchants/{id}/qr.png", tag = "merchants", params(("id" = i64, Path)),
    responses((status = 200, content_type = "image/png")), security(("bearer" = [])))]
pub async fn static_qr_png(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let payload = app
        .money
        .static_payload(MerchantId(id), Caller::Staff(auth.user))
        .await?;
    let png = crate::qr::png(&payload)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"qiao-merchant-{id}.png\""),
            ),
        ],
        png,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    pub before: Option<i64>,
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/merchants/{id}/orders", tag = "merchants", params(("id" = i64, Path), Page),
    responses((status = 200, body = Vec<api::Order>)), security(("bearer" = [])))]
pub async fn orders(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Vec<api::Order>>> {
    let orders = app
        .money
        .merchant_orders(
            MerchantId(id),
            Caller::Staff(auth.user),
            page.before.map(OrderId),
            page.limit.unwrap_or(50),
        )
        .await?;
    Ok(Json(orders))
}

#[utoipa::path(post, path = "/api/merchants/{id}/orders", tag = "merchants", params(("id" = i64, Path)),
    request_body = api::CreateOrderRequest, responses((status = 201, body = api::OrderCreated)), security(("bearer" = [])))]
pub async fn create_order(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<api::CreateOrderRequest>,
) -> ApiResult<(StatusCode, Json<api::OrderCreated>)> {
    let (order, payload) = app
        .money
        .create_order(MerchantId(id), Caller::Staff(auth.user), req)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(api::OrderCreated {
            order,
            qr: crate::qr::render(&payload)?,
        }),
    ))
}

#[utoipa::path(get, path = "/api/merchants/{id}/orders/{order_id}", tag = "merchants",
    params(("id" = i64, Path), ("order_id" = i64, Path)), responses((status = 200, body = api::Order)), security(("bearer" = [])))]
pub async fn order(
    State(app): State<AppState>,
    auth: AuthUser,
    Path((id, order)): Path<(i64, i64)>,
) -> ApiResult<Json<api::Order>> {
    Ok(Json(
        app.money
            .merchant_order(MerchantId(id), Caller::Staff(auth.user), OrderRef::Id(OrderId(order)))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/merchants/{id}/orders/{order_id}/close", tag = "merchants",
    params(("id" = i64, Path), ("order_id" = i64, Path)), responses((status = 200, body = api::Order)), security(("bearer" = [])))]
pub async fn close_order(
    State(app): State<AppState>,
    auth: AuthUser,
    Path((id, order)): Path<(i64, i64)>,
) -> ApiResult<Json<api::Order>> {
    Ok(Json(
        app.money
            .close_order(MerchantId(id), Caller::Staff(auth.user), OrderRef::Id(OrderId(order)))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/merchants/{id}/orders/{order_id}/refunds", tag = "merchants",
    params(("id" = i64, Path), ("order_id" = i64, Path)), request_body = api::RefundRequest,
    responses((status = 201, body = api::RefundCreated), (status = 409, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn refund(
    State(app): State<AppState>,
    auth: AuthUser,
    Path((id, order)): Path<(i64, i64)>,
    ApiJson(req): ApiJson<api::RefundRequest>,
) -> ApiResult<(StatusCode, Json<api::RefundCreated>)> {
    let refund = app
        .money
        .refund_order(
            MerchantId(id),
            Caller::Staff(auth.user),
            OrderRef::Id(OrderId(order)),
            req,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(refund)))
}

#[utoipa::path(get, path = "/api/merchants/{id}/orders/{order_id}/refunds", tag = "merchants",
    params(("id" = i64, Path), ("order_id" = i64, Path)), responses((status = 200, body = Vec<api::Refund>)), security(("bearer" = [])))]
pub async fn refunds(
    State(app): State<AppState>,
    auth: AuthUser,
    Path((id, order)): Path<(i64, i64)>,
) -> ApiResult<Json<Vec<api::Refund>>> {
    Ok(Json(
        app.money
            .order_refunds(MerchantId(id), Caller::Staff(auth.user), OrderRef::Id(OrderId(order)))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/merchants/{id}/charges", tag = "merchants", params(("id" = i64, Path)),
    request_body = api::ChargeCodeRequest, responses((status = 201, body = api::Order)), security(("bearer" = [])))]
pub async fn charge(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<api::ChargeCodeRequest>,
) -> ApiResult<(StatusCode, Json<api::Order>)> {
    let order = app
        .money
        .charge_code(MerchantId(id), Caller::Staff(auth.user), req)
        .await?;
    Ok((StatusCode::CREATED, Json(order)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// `YYYY-MM-DD` (UTC); today when absent.
    pub day: Option<String>,
}

#[utoipa::path(get, path = "/api/merchants/{id}/report", tag = "merchants", params(("id" = i64, Path), DayQuery),
    responses((status = 200, body = api::DayReport)), security(("bearer" = [])))]
pub async fn report(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<DayQuery>,
) -> ApiResult<Json<api::DayReport>> {
    Ok(Json(
        app.money
            .day_report(MerchantId(id), Caller::Staff(auth.user), q.day.as_deref())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/merchants/{id}/orders.csv", tag = "merchants", params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/csv")), security(("bearer" = [])))]
pub async fn orders_csv(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let csv = app.money.orders_csv(MerchantId(id), Caller::Staff(auth.user)).await?;
    Ok(csv_response(csv, id))
}

pub fn csv_response(csv: String, merchant: i64) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"qiao-orders-{merchant}.csv\""),
            ),
        ],
        csv,
    )
}
