//! Wallet endpoints: balances, cards, top-ups and withdrawals. Each handler
//! parses, authenticates, calls one use case of the money service and maps
//! the answer.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use qiao_api as api;
use qiao_domain::ids::{CardId, IdempotencyKey};
use qiao_service::money::funding::CardMove;
use qiao_service::money::pin::Proof;

use crate::auth::AuthUser;
use crate::error::{ApiJson, ApiResult};
use crate::state::AppState;

#[utoipa::path(get, path = "/api/wallet", tag = "wallet", responses((status = 200, body = api::Wallet)),
    security(("bearer" = [])))]
pub async fn wallet(State(app): State<AppState>, auth: AuthUser) -> ApiResult<Json<api::Wallet>> {
    Ok(Json(app.money.wallet(auth.user).await?))
}

#[utoipa::path(post, path = "/api/wallet/cards", tag = "wallet", request_body = api::BindCardRequest,
    responses((status = 201, body = api::Card), (status = 400, body = api::ErrorBody), (status = 402, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody), (status = 423, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn bind_card(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::BindCardRequest>,
) -> ApiResult<(StatusCode, Json<api::Card>)> {
    let proof = Proof::from_fields(req.pin.as_deref(), req.password.as_deref())?;
    let card = app.money.bind_card(auth.user, &req.number, &req.funding, proof).await?;
    Ok((StatusCode::CREATED, Json(card)))
}

#[utoipa::path(get, path = "/api/wallet/cards", tag = "wallet", responses((status = 200, body = Vec<api::Card>)),
    security(("bearer" = [])))]
pub async fn cards(State(app): State<AppState>, auth: AuthUser) -> ApiResult<Json<Vec<api::Card>>> {
    Ok(Json(app.money.cards(auth.user).await?))
}

#[utoipa::path(get, path = "/api/wallet/cards/{id}", tag = "wallet", params(("id" = i64, Path)),
    responses((status = 200, body = api::Card), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn card(State(app): State<AppState>, auth: AuthUser, Path(id): Path<i64>) -> ApiResult<Json<api::Card>> {
    Ok(Json(app.money.card(auth.user, CardId(id)).await?))
}

#[utoipa::path(post, path = "/api/wallet/top-ups", tag = "wallet", request_body = api::TopUpRequest,
    responses((status = 201, body = api::TopUp), (status = 400, body = api::ErrorBody), (status = 402, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody), (status = 504, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn top_up(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::TopUpRequest>,
) -> ApiResult<(StatusCode, Json<api::TopUp>)> {
    let request = CardMove {
        card: CardId(req.card_id),
        amount_minor: req.amount_minor,
        key: IdempotencyKey::parse(&req.idempotency_key)?,
        currency: None,
    };
    Ok((StatusCode::CREATED, Json(app.money.top_up(auth.user, request).await?)))
}

#[utoipa::path(post, path = "/api/wallet/withdrawals", tag = "wallet", request_body = api::WithdrawRequest,
    responses((status = 201, body = api::Withdrawal), (status = 400, body = api::ErrorBody), (status = 402, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody), (status = 409, body = api::ErrorBody), (status = 423, body = api::ErrorBody),
        (status = 504, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn withdraw(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::WithdrawRequest>,
) -> ApiResult<(StatusCode, Json<api::Withdrawal>)> {
    let request = CardMove {
        card: CardId(req.card_id),
        amount_minor: req.amount_minor,
        key: IdempotencyKey::parse(&req.idempotency_key)?,
        currency: req
            .currency
            .as_deref()
            .map(qiao_domain::money::Currency::parse)
            .transpose()?,
    };
    let withdrawal = app.money.withdraw(auth.user, request, req.pin.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(withdrawal)))
}
