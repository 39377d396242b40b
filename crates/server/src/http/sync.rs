//! Sync: every event a device missed since its cursor, in order, paged.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use qiao_api as api;
use qiao_domain::ids::StreamPos;
use qiao_domain::Error;
use qiao_store::wire;
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::http::messages::page_limit;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// The `next` of the previous sync (0 for everything).
    pub since: Option<i64>,
    /// Page size (default 100, at most 500).
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/sync", tag = "sync", params(SyncQuery),
    responses((status = 200, body = api::SyncResponse), (status = 400, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn sync(
    State(app): State<AppState>,
    auth: AuthUser,
    query: Result<Query<SyncQuery>, QueryRejection>,
) -> ApiResult<Json<api::SyncResponse>> {
    let Query(query) = query.map_err(|_| ApiError::from(Error::InvalidCursor))?;
    let since = query.since.unwrap_or(0);
    if since < 0 {
        return Err(Error::InvalidCursor.into());
    }
    // A cursor past the end is a stale position (say, from before a restore): refuse it
    // rather than let the device wait for events it will never be sent.
    if since > app.store.head().await?.0 {
        return Err(Error::InvalidCursor.into());
    }
    let limit = page_limit(query.limit)?;
    let events = app.store.events_since(auth.user, StreamPos(since), limit).await?;
    let next = events.last().map_or(since, |e| e.pos.0);
    Ok(Json(api::SyncResponse {
        has_more: events.len() == limit,
        next,
        events: events.iter().map(wire::event).collect(),
    }))
}
