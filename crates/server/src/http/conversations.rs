//! Conversations: list, open direct, groups and their governance.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use qiao_api as api;
use qiao_domain::conversation::announcement;
use qiao_domain::conversation::Role;
use qiao_domain::identity::parse_text;
use qiao_domain::ids::{ConversationId, UserId};
use qiao_domain::limits::{MAX_GROUP_NAME_CHARS, MAX_INVITE_BATCH};
use qiao_domain::Error;
use qiao_store::{wire, GroupUpdate};

use crate::auth::AuthUser;
use crate::error::{ApiJson, ApiResult};
use crate::state::AppState;

async fn detail(app: &AppState, user: UserId, id: ConversationId) -> ApiResult<Json<api::ConversationDetail>> {
    let (view, members) = app.store.conversation(user, id).await?;
    Ok(Json(api::ConversationDetail {
        conversation: wire::conversation(&view),
        members: members.iter().map(wire::member).collect(),
    }))
}

fn user_ids(ids: &[i64]) -> Result<Vec<UserId>, Error> {
    if ids.len() > MAX_INVITE_BATCH {
        return Err(Error::TooLong);
    }
    Ok(ids.iter().copied().map(UserId).collect())
}

#[utoipa::path(get, path = "/api/conversations", tag = "conversations",
    responses((status = 200, body = Vec<api::Conversation>)), security(("bearer" = [])))]
pub async fn list(State(app): State<AppState>, auth: AuthUser) -> ApiResult<Json<Vec<api::Conversation>>> {
    Ok(Json(
        app.store
            .conversations(auth.user)
            .await?
            .iter()
            .map(wire::conversation)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/conversations/direct", tag = "conversations", request_body = api::OpenDirectRequest,
    responses((status = 200, body = api::ConversationDetail), (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn open_direct(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::OpenDirectRequest>,
) -> ApiResult<Json<api::ConversationDetail>> {
    let id = app
        .store
        .open_direct(auth.user, UserId(req.user_id), app.clock.now_ms())
        .await?;
    detail(&app, auth.user, id).await
}

#[utoipa::path(post, path = "/api/groups", tag = "conversations", request_body = api::CreateGroupRequest,
    responses((status = 201, body = api::ConversationDetail), (status = 400, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_group(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::CreateGroupRequest>,
) -> ApiResult<(StatusCode, Json<api::ConversationDetail>)> {
    let name = parse_text(&req.name, MAX_GROUP_NAME_CHARS)?;
    let members: Vec<UserId> = req.member_ids.iter().copied().map(UserId).collect();
    let id = app
        .store
        .create_group(auth.user, &name, &members, app.clock.now_ms())
        .await?;
    Ok((StatusCode::CREATED, detail(&app, auth.user, id).await?))
}

#[utoipa::path(get, path = "/api/conversations/{id}", tag = "conversations", params(("id" = i64, Path)),
    responses((status = 200, body = api::ConversationDetail), (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<api::ConversationDetail>> {
    detail(&app, auth.user, ConversationId(id)).await
}

#[utoipa::path(patch, path = "/api/conversations/{id}", tag = "conversations", params(("id" = i64, Path)),
    request_body = api::UpdateGroupRequest, responses((status = 200, body = api::ConversationDetail), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<api::UpdateGroupRequest>,
) -> ApiResult<Json<api::ConversationDetail>> {
    let name = req
        .name
        .as_deref()
        .map(|n| parse_text(n, MAX_GROUP_NAME_CHARS))
        .transpose()?;
    let announcement = req.announcement.as_deref().map(announcement).transpose()?;
    if name.is_none() && announcement.is_none() {
        return Err(Error::InvalidRequest.into());
    }
    let id = ConversationId(id);
    app.store
        .update_group(auth.user, id, GroupUpdate { name, announcement }, app.clock.now_ms())
        .await?;
    detail(&app, auth.user, id).await
}

#[utoipa::path(post, path = "/api/conversations/{id}/members", tag = "conversations", params(("id" = i64, Path)),
    request_body = api::InviteRequest, responses((status = 200, body = api::ConversationDetail), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn invite(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<api::InviteRequest>,
) -> ApiResult<Json<api::ConversationDetail>> {
    let users = user_ids(&req.user_ids)?;
    if users.is_empty() {
        return Err(Error::InvalidRequest.into());
    }
    let id = ConversationId(id);
    app.store.invite(auth.user, id, &users, app.clock.now_ms()).await?;
    detail(&app, auth.user, id).await
}

#[utoipa::path(delete, path = "/api/conversations/{id}/members/{user_id}", tag = "conversations",
    params(("id" = i64, Path), ("user_id" = i64, Path)), responses((status = 204), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove(
    State(app): State<AppState>,
    auth: AuthUser,
    Path((id, user_id)): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    app.store
        .remove_member(auth.user, ConversationId(id), UserId(user_id), app.clock.now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/conversations/{id}/leave", tag = "conversations", params(("id" = i64, Path)),
    responses((status = 204), (status = 409, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn leave(State(app): State<AppState>, auth: AuthUser, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    app.store
        .leave(auth.user, ConversationId(id), app.clock.now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/conversations/{id}/owner", tag = "conversations", params(("id" = i64, Path)),
    request_body = api::TransferOwnerRequest, responses((status = 200, body = api::ConversationDetail), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn transfer_owner(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<api::TransferOwnerRequest>,
) -> ApiResult<Json<api::ConversationDetail>> {
    let id = ConversationId(id);
    app.store
        .transfer_owner(auth.user, id, UserId(req.user_id), app.clock.now_ms())
        .await?;
    detail(&app, auth.user, id).await
}

#[utoipa::path(put, path = "/api/conversations/{id}/members/{user_id}/role", tag = "conversations",
    params(("id" = i64, Path), ("user_id" = i64, Path)), request_body = api::SetRoleRequest,
    responses((status = 200, body = api::ConversationDetail), (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn set_role(
    State(app): State<AppState>,
    auth: AuthUser,
    Path((id, user_id)): Path<(i64, i64)>,
    ApiJson(req): ApiJson<api::SetRoleRequest>,
) -> ApiResult<Json<api::ConversationDetail>> {
    let role = match Role::parse(&req.role) {
        Some(role @ (Role::Admin | Role::Member)) => role,
        _ => return Err(Error::InvalidRequest.into()),
    };
    let id = ConversationId(id);
    app.store
        .set_role(auth.user, id, UserId(user_id), role, app.clock.now_ms())
        .await?;
    detail(&app, auth.user, id).await
}
