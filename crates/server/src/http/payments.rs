//! Transfers (转账) and red packets (红包) inside conversations: send, look,
//! accept or decline a transfer, open a red packet. The money service does
//! the rest.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use qiao_api as api;
use qiao_domain::ids::{ConversationId, IdempotencyKey, PaymentId, UserId};
use qiao_domain::payment::Split;
use qiao_service::money::chat::{PacketShape, SendCommon};

use crate::auth::AuthUser;
use crate::error::{ApiJson, ApiResult};
use crate::state::AppState;

/// What both kinds of send carry, from the request's fields.
fn common(
    key: &str,
    amount_minor: i64,
    currency: Option<String>,
    note: Option<String>,
    pin: Option<String>,
    source: Option<String>,
) -> ApiResult<SendCommon> {
    Ok(SendCommon {
        key: IdempotencyKey::parse(key)?,
        amount_minor,
        currency,
        note,
        pin,
        source,
        quote: None,
    })
}

fn created((payment, fresh): (api::ChatPayment, bool)) -> (StatusCode, Json<api::ChatPayment>) {
    let status = if fresh { StatusCode::CREATED } else { StatusCode::OK };
    (status, Json(payment))
}

#[utoipa::path(post, path = "/api/conversations/{id}/transfers", tag = "wallet", params(("id" = i64, Path)),
    request_body = api::SendTransferRequest,
    responses((status = 201, body = api::ChatPayment), (status = 400, body = api::ErrorBody), (status = 403, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody), (status = 423, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn send_transfer(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<api::SendTransferRequest>,
) -> ApiResult<(StatusCode, Json<api::ChatPayment>)> {
    let to = req.to_user_id.map(UserId);
    let mut common = common(
        &req.idempotency_key,
        req.amount_minor,
        req.currency,
        req.note,
        req.pin,
        req.source,
    )?;
    common.quote = req.quote_id.map(qiao_domain::ids::QuoteId);
    let sent = app
        .money
        .send_transfer(auth.user, ConversationId(id), to, common)
        .await?;
    Ok(created(sent))
}

#[utoipa::path(post, path = "/api/conversations/{id}/red-packets", tag = "wallet", params(("id" = i64, Path)),
    request_body = api::SendRedPacketRequest,
    responses((status = 201, body = api::ChatPayment), (status = 400, body = api::ErrorBody), (status = 403, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody), (status = 423, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn send_red_packet(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<api::SendRedPacketRequest>,
) -> ApiResult<(StatusCode, Json<api::ChatPayment>)> {
    let shape = PacketShape {
        split: Split::parse(&req.split)?,
        count: req.count,
    };
    let common = common(
        &req.idempotency_key,
        req.amount_minor,
        req.currency,
        req.note,
        req.pin,
        req.source,
    )?;
    let sent = app
        .money
        .send_red_packet(auth.user, ConversationId(id), shape, common)
        .await?;
    Ok(created(sent))
}

#[utoipa::path(get, path = "/api/payments/{id}", tag = "wallet", params(("id" = i64, Path)),
    responses((status = 200, body = api::ChatPayment), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn get(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<api::ChatPayment>> {
    Ok(Json(app.money.payment(auth.user, PaymentId(id)).await?))
}

#[utoipa::path(post, path = "/api/payments/{id}/accept", tag = "wallet", params(("id" = i64, Path)),
    responses((status = 200, body = api::ChatPayment), (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody), (status = 410, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn accept(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<api::ChatPayment>> {
    Ok(Json(app.money.answer_transfer(auth.user, PaymentId(id), true).await?))
}

#[utoipa::path(post, path = "/api/payments/{id}/decline", tag = "wallet", params(("id" = i64, Path)),
    responses((status = 200, body = api::ChatPayment), (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody), (status = 410, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn decline(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<api::ChatPayment>> {
    Ok(Json(app.money.answer_transfer(auth.user, PaymentId(id), false).await?))
}

#[utoipa::path(post, path = "/api/payments/{id}/open", tag = "wallet", params(("id" = i64, Path)),
    responses((status = 200, body = api::OpenedRedPacket), (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody), (status = 410, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn open(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<api::OpenedRedPacket>> {
    Ok(Json(app.money.open_red_packet(auth.user, PaymentId(id)).await?))
}
