//! Transfers (转账) and red packets (红包) inside conversations: send (PIN
//! checked, money into escrow, a chat message carrying it), look, accept or
//! decline a transfer, open a red packet.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use qiao_api as api;
use qiao_domain::ids::{ClientMsgId, ConversationId};
use qiao_domain::money::Amount;
use qiao_domain::payment::{self, PaymentKind, Split};
use qiao_domain::Error;
use qiao_store::{wire, NewPayment, PaySource};

use crate::auth::AuthUser;
use crate::error::{ApiJson, ApiResult};
use crate::http::wallet::request_currency;
use crate::state::AppState;

/// What both kinds of send share, checked before the PIN so bad input costs no try.
struct Common {
    key: ClientMsgId,
    amount: Amount,
    note: String,
    source: PaySource,
}

async fn common(
    app: &AppState,
    auth: &AuthUser,
    key: &str,
    amount_minor: i64,
    currency: Option<&str>,
    note: Option<&str>,
    source: Option<&str>,
) -> ApiResult<Common> {
    let key = ClientMsgId::parse(key)?;
    let user = app.store.user(auth.user).await?;
    let currency = request_currency(currency, user.region.currency())?;
    let amount = Amount::new(amount_minor, currency)?;
    let note = payment::note(note.unwrap_or_default())?;
    let source = match source {
        None => PaySource::Balance,
        Some(raw) => PaySource::parse(raw).ok_or(Error::InvalidRequest)?,
    };
    Ok(Common {
        key,
        amount,
        note,
        source,
    })
}

/// What is being sent, beyond the common fields.
struct What {
    kind: PaymentKind,
    split: Option<Split>,
    count: u32,
    /// What leaves the wallet, for the PIN's no-PIN limit.
    total_minor: i64,
}

/// The PIN, then the store: money into escrow and the chat message, once per key.
async fn send(
    app: &AppState,
    auth: &AuthUser,
    conversation: i64,
    c: Common,
    what: What,
    pin: Option<&str>,
) -> ApiResult<(StatusCode, Json<api::ChatPayment>)> {
    crate::http::pin::authorize(app, auth.user, pin, what.total_minor).await?;
    let new = NewPayment {
        sender: auth.user,
        client_key: c.key,
        conversation: ConversationId(conversation),
        kind: what.kind,
        split: what.split,
        amount: c.amount,
        count: what.count,
        note: c.note,
        source: c.source,
        // Only lucky splits use it; the server picks the randomness, the store stays deterministic.
        seed: rand::random(),
    };
    let (record, fresh) = app.store.send_payment(new, app.clock.now_ms()).await?;
    let status = if fresh { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(wire::payment(&record))))
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
    let c = common(
        &app,
        &auth,
        &req.idempotency_key,
        req.amount_minor,
        req.currency.as_deref(),
        req.note.as_deref(),
        req.source.as_deref(),
    )
    .await?;
    let what = What {
        kind: PaymentKind::Transfer,
        split: None,
        count: 1,
        total_minor: c.amount.minor(),
    };
    send(&app, &auth, id, c, what, req.pin.as_deref()).await
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
    let c = common(
        &app,
        &auth,
        &req.idempotency_key,
        req.amount_minor,
        req.currency.as_deref(),
        req.note.as_deref(),
        req.source.as_deref(),
    )
    .await?;
    let split = Split::parse(&req.split)?;
    let total = payment::red_packet_total(split, c.amount.minor(), req.count)?;
    let what = What {
        kind: PaymentKind::RedPacket,
        split: Some(split),
        count: req.count,
        total_minor: total,
    };
    send(&app, &auth, id, c, what, req.pin.as_deref()).await
}

#[utoipa::path(get, path = "/api/payments/{id}", tag = "wallet", params(("id" = i64, Path)),
    responses((status = 200, body = api::ChatPayment), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn get(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<api::ChatPayment>> {
    Ok(Json(wire::payment(&app.store.payment(auth.user, id).await?)))
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
    answer(&app, &auth, id, true).await
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
    answer(&app, &auth, id, false).await
}

/// The recipient's answer to a transfer: credited, or sent back.
async fn answer(app: &AppState, auth: &AuthUser, id: i64, accept: bool) -> ApiResult<Json<api::ChatPayment>> {
    let record = app
        .store
        .answer_transfer(auth.user, id, accept, app.clock.now_ms())
        .await?;
    Ok(Json(wire::payment(&record)))
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
    let (record, share) = app.store.open_red_packet(auth.user, id, app.clock.now_ms()).await?;
    Ok(Json(api::OpenedRedPacket {
        amount_minor: share,
        currency: record.currency.code().to_owned(),
        payment: wire::payment(&record),
    }))
}
