//! What the wallet shows of its past (the statement, one entry, CSV) and the
//! pay-later line (the line, its month, repayment). The money service does
//! the work.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use qiao_api as api;
use qiao_domain::ids::{CardId, IdempotencyKey, TransferId};
use qiao_domain::Error;
use qiao_service::money::credit::{Repay, RepaySource};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::error::{ApiJson, ApiResult};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Entries older than this id (from `next_before`).
    pub before: Option<i64>,
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/wallet/statement", tag = "wallet", params(PageQuery),
    responses((status = 200, body = api::Statement), (status = 400, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn statement(
    State(app): State<AppState>,
    auth: AuthUser,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<api::Statement>> {
    let page = app
        .money
        .statement(auth.user, q.before.map(TransferId), q.limit)
        .await?;
    Ok(Json(page))
}

#[utoipa::path(get, path = "/api/wallet/statement/{id}", tag = "wallet", params(("id" = i64, Path)),
    responses((status = 200, body = api::EntryDetail), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn entry(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<api::EntryDetail>> {
    Ok(Json(app.money.statement_entry(auth.user, TransferId(id)).await?))
}

#[utoipa::path(get, path = "/api/wallet/statement.csv", tag = "wallet",
    responses((status = 200, content_type = "text/csv", body = String)), security(("bearer" = [])))]
pub async fn statement_csv(State(app): State<AppState>, auth: AuthUser) -> ApiResult<impl IntoResponse> {
    let csv = app.money.statement_csv(auth.user).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"qiao-statement.csv\"",
            ),
        ],
        csv,
    ))
}

#[utoipa::path(get, path = "/api/wallet/credit", tag = "wallet",
    responses((status = 200, body = api::CreditLine), (status = 403, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn credit(State(app): State<AppState>, auth: AuthUser) -> ApiResult<Json<api::CreditLine>> {
    Ok(Json(app.money.credit_line(auth.user).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonthQuery {
    /// `YYYY-MM` (UTC); the current month when absent.
    pub month: Option<String>,
}

#[utoipa::path(get, path = "/api/wallet/credit/statement", tag = "wallet", params(MonthQuery),
    responses((status = 200, body = api::CreditStatement), (status = 400, body = api::ErrorBody), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn credit_statement(
    State(app): State<AppState>,
    auth: AuthUser,
    Query(q): Query<MonthQuery>,
) -> ApiResult<Json<api::CreditStatement>> {
    Ok(Json(app.money.credit_statement(auth.user, q.month.as_deref()).await?))
}

#[utoipa::path(post, path = "/api/wallet/credit/repayments", tag = "wallet", request_body = api::RepayRequest,
    responses((status = 201, body = api::Repayment), (status = 400, body = api::ErrorBody), (status = 403, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody), (status = 423, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn repay(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::RepayRequest>,
) -> ApiResult<(StatusCode, Json<api::Repayment>)> {
    let source = match (req.source.as_str(), req.card_id) {
        ("balance", None) => RepaySource::Balance,
        ("card", Some(card)) => RepaySource::Card(CardId(card)),
        _ => return Err(Error::InvalidRequest.into()),
    };
    let request = Repay {
        key: IdempotencyKey::parse(&req.idempotency_key)?,
        amount_minor: req.amount_minor,
        source,
        pin: req.pin,
    };
    Ok((StatusCode::CREATED, Json(app.money.repay(auth.user, request).await?)))
}
