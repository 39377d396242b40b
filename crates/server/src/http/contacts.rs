//! Friend requests, contacts, remarks, blocks and contact discovery.

use axum::extract::{Path, State};

use crate::client_ip::ClientIp;
use axum::http::StatusCode;
use axum::Json;
use qiao_api as api;
use qiao_domain::identity::parse_text;
use qiao_domain::ids::{FriendRequestId, UserId};
use qiao_domain::limits::{MAX_DISCOVERY_HASHES, MAX_GREETING_CHARS, MAX_REMARK_CHARS};
use qiao_domain::Error;
use qiao_store::wire;

use crate::auth::AuthUser;
use crate::error::{ApiJson, ApiResult};
use crate::state::AppState;

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[utoipa::path(post, path = "/api/contacts/discover", tag = "contacts", request_body = api::DiscoverRequest,
    responses((status = 200, body = Vec<api::DiscoveredUser>), (status = 400, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn discover(
    State(app): State<AppState>,
    auth: AuthUser,
    ClientIp(client): ClientIp,
    ApiJson(req): ApiJson<api::DiscoverRequest>,
) -> ApiResult<Json<Vec<api::DiscoveredUser>>> {
    app.limits.public(client)?;
    if req.phone_hashes.len() > MAX_DISCOVERY_HASHES {
        return Err(Error::TooLong.into());
    }
    if !req.phone_hashes.iter().all(|h| is_sha256_hex(h)) {
        return Err(Error::InvalidRequest.into());
    }
    // Each number asked about is one lookup of today's budgets.
    app.identity
        .spend_lookups(auth.user, client, req.phone_hashes.len())
        .await?;
    let found = app.store.discover(&req.phone_hashes).await?;
    Ok(Json(
        found
            .iter()
            .filter(|(_, user)| user.id != auth.user)
            .map(|(hash, user)| api::DiscoveredUser {
                phone_hash: hash.clone(),
                user: wire::user_summary(user),
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/friend-requests", tag = "contacts", request_body = api::FriendRequestCreate,
    responses((status = 201, body = api::FriendRequest), (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn request_friend(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::FriendRequestCreate>,
) -> ApiResult<(StatusCode, Json<api::FriendRequest>)> {
    let greeting = match req.greeting.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(text) => parse_text(text, MAX_GREETING_CHARS)?,
    };
    let request = app
        .store
        .request_friend(auth.user, UserId(req.to_user_id), &greeting, app.clock.now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(wire::friend_request(&request))))
}

#[utoipa::path(get, path = "/api/friend-requests", tag = "contacts", responses((status = 200, body = api::FriendRequests)), security(("bearer" = [])))]
pub async fn friend_requests(State(app): State<AppState>, auth: AuthUser) -> ApiResult<Json<api::FriendRequests>> {
    let all = app.store.friend_requests(auth.user).await?;
    let (incoming, outgoing): (Vec<_>, Vec<_>) = all.iter().partition(|r| r.to.id == auth.user);
    Ok(Json(api::FriendRequests {
        incoming: incoming.into_iter().map(wire::friend_request).collect(),
        outgoing: outgoing.into_iter().map(wire::friend_request).collect(),
    }))
}

#[utoipa::path(post, path = "/api/friend-requests/{id}/accept", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 200, body = api::Contact), (status = 404, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn accept(State(app): State<AppState>, auth: AuthUser, Path(id): Path<i64>) -> ApiResult<Json<api::Contact>> {
    let friendship = app
        .store
        .accept_friend(auth.user, FriendRequestId(id), app.clock.now_ms())
        .await?;
    let contacts = app.store.contacts(auth.user).await?;
    let contact = contacts
        .iter()
        .find(|c| c.user.id == friendship.request.from.id)
        .ok_or(crate::error::ApiError::from(Error::Internal))?;
    Ok(Json(wire::contact(contact)))
}

#[utoipa::path(post, path = "/api/friend-requests/{id}/decline", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn decline(State(app): State<AppState>, auth: AuthUser, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    app.store
        .decline_friend(auth.user, FriendRequestId(id), app.clock.now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/contacts", tag = "contacts", responses((status = 200, body = Vec<api::Contact>)), security(("bearer" = [])))]
pub async fn contacts(State(app): State<AppState>, auth: AuthUser) -> ApiResult<Json<Vec<api::Contact>>> {
    Ok(Json(
        app.store.contacts(auth.user).await?.iter().map(wire::contact).collect(),
    ))
}

#[utoipa::path(patch, path = "/api/contacts/{user_id}", tag = "contacts", params(("user_id" = i64, Path)),
    request_body = api::UpdateContactRequest, responses((status = 200, body = api::Contact), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_contact(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(user_id): Path<i64>,
    ApiJson(req): ApiJson<api::UpdateContactRequest>,
) -> ApiResult<Json<api::Contact>> {
    let remark = match req.remark.trim() {
        "" => None,
        text => Some(parse_text(text, MAX_REMARK_CHARS)?),
    };
    let contact = app
        .store
        .set_remark(auth.user, UserId(user_id), remark.as_deref())
        .await?;
    Ok(Json(wire::contact(&contact)))
}

#[utoipa::path(delete, path = "/api/contacts/{user_id}", tag = "contacts", params(("user_id" = i64, Path)),
    responses((status = 204), (status = 403, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn delete_contact(
    State(app): State<AppState>,
    auth: AuthUser,
    Path(user_id): Path<i64>,
) -> ApiResult<StatusCode> {
    app.store
        .delete_contact(auth.user, UserId(user_id), app.clock.now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/blocks", tag = "contacts", responses((status = 200, body = Vec<api::UserSummary>)), security(("bearer" = [])))]
pub async fn blocks(State(app): State<AppState>, auth: AuthUser) -> ApiResult<Json<Vec<api::UserSummary>>> {
    let ids = app.store.blocked(auth.user).await?;
    Ok(Json(
        app.store.users(&ids).await?.iter().map(wire::user_summary).collect(),
    ))
}

#[utoipa::path(put, path = "/api/blocks/{user_id}", tag = "contacts", params(("user_id" = i64, Path)),
    responses((status = 204), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn block(State(app): State<AppState>, auth: AuthUser, Path(user_id): Path<i64>) -> ApiResult<StatusCode> {
    app.store.block(auth.user, UserId(user_id), app.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/blocks/{user_id}", tag = "contacts", params(("user_id" = i64, Path)),
    responses((status = 204)), security(("bearer" = [])))]
pub async fn unblock(State(app): State<AppState>, auth: AuthUser, Path(user_id): Path<i64>) -> ApiResult<StatusCode> {
    app.store.unblock(auth.user, UserId(user_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
