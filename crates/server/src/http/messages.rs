//! Sending (HTTP; the WebSocket path shares [`parse_send`]), history, recall, receipts.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use qiao_api as api;
use qiao_domain::ids::{ClientMsgId, ConversationId, MessageId, UserId};
use qiao_domain::limits::{DEFAULT_PAGE, MAX_SYNC_PAGE};
use qiao_domain::message::{BlobHash, Content, Draft};
use qiao_domain::Error;
use qiao_store::{wire, ReceiptKind, Sent};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;

/// Turns a send request into the idempotency key and a valid draft.
pub fn parse_send(req: &api::SendMessageRequest) -> Result<(ClientMsgId, Draft), Error> {
    let client_id = ClientMsgId::parse(&req.client_msg_id)?;
    let blob = || {
        req.blob
            .as_deref()
            .ok_or(Error::InvalidRequest)
            .and_then(BlobHash::parse)
    };
    let content = match req.kind.as_str() {
        "text" => Content::text(req.text.as_deref().ok_or(Error::InvalidRequest)?)?,
        "image" => Content::Image { blob: blob()? },
        "file" => Content::file(blob()?, req.file_name.as_deref().ok_or(Error::InvalidRequest)?)?,
        _ => return Err(Error::InvalidRequest),
    };
    let draft = Draft::new(
        content,
        req.reply_to.map(MessageId),
        req.mentions.iter().copied().map(UserId).collect(),
    )?;
    Ok((client_id, draft))
}

/// Sends for HTTP and WebSocket alike.
pub async fn send_message(
    app: &AppState,
    sender: UserId,
    id: ConversationId,
    req: &api::SendMessageRequest,
) -> ApiResult<Sent> {
    let (client_id, draft) = parse_send(req)?;
    app.limits.message(sender)?;
    let sent = app.store.send(sender, id, client_id, draft, app.clock.now_ms()).await?;
    if sent.created {
        app.metrics.messages_sent.inc();
    }
    Ok(sent)
}

#[utoipa::path(post, path = "/api/conversations/{id}/messages", tag = "messages", params(("id" = i64, Path)),
    request_body = api::SendMessageRequest,
    responses((status = 201, description = "sent", body = api::Message), (status = 200, description = "a retry: the first message", body = api::Message),
        (status = 403, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn send(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<api::SendMessageRequest>,
) -> ApiResult<(StatusCode, Json<api::Message>)> {
    let sent = send_message(&app, auth.user, ConversationId(id), &req).await?;
    let status = if sent.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(wire::message(&sent.message))))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Only messages with a smaller sequence number (for paging back).
    pub before: Option<i64>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<usize>,
}

pub fn page_limit(limit: Option<usize>) -> Result<usize, Error> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_SYNC_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(Error::InvalidRequest),
    }
}

#[utoipa::path(get, path = "/api/conversations/{id}/messages", tag = "messages", params(("id" = i64, Path), HistoryQuery),
    responses((status = 200, description = "newest first", body = Vec<api::Message>), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn history(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<api::Message>>> {
    let Query(query) = query.map_err(|_| ApiError::from(Error::InvalidRequest))?;
    let limit = page_limit(query.limit)?;
    let messages = app
        .store
        .history(auth.user, ConversationId(id), query.before, limit)
        .await?;
    Ok(Json(messages.iter().map(wire::message).collect()))
}

#[utoipa::path(post, path = "/api/messages/{id}/recall", tag = "messages", params(("id" = i64, Path)),
    responses((status = 200, body = api::Message), (status = 403, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn recall(State(app): State<AppState>, auth: AuthUser, Path(id): Path<i64>) -> ApiResult<Json<api::Message>> {
    let message = app.store.recall(auth.user, MessageId(id), app.clock.now_ms()).await?;
    Ok(Json(wire::message(&message)))
}

#[utoipa::path(post, path = "/api/conversations/{id}/receipts", tag = "messages", params(("id" = i64, Path)),
    request_body = api::ReceiptRequest, responses((status = 204), (status = 400, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn receipt(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<api::ReceiptRequest>,
) -> ApiResult<StatusCode> {
    let kind = match req.kind.as_str() {
        "delivered" => ReceiptKind::Delivered,
        "read" => ReceiptKind::Read,
        _ => return Err(Error::InvalidRequest.into()),
    };
    app.store
        .receipt(auth.user, ConversationId(id), kind, req.up_to_seq, app.clock.now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
