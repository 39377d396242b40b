//! Uploads: checked for size and type, stored by content hash, readable only
//! by the uploader and members of conversations the blob was sent in.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use qiao_api as api;
use qiao_domain::message::{sniff_upload, BlobHash, UploadKind};
use qiao_domain::Error;
use qiao_store::UploadRecord;
use sha2::{Digest, Sha256};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[utoipa::path(post, path = "/api/uploads", tag = "messages",
    request_body(content = Vec<u8>, description = "the raw bytes; Content-Type must say what they are", content_type = "application/octet-stream"),
    responses((status = 201, body = api::Upload), (status = 413, body = api::ErrorBody), (status = 415, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn upload(
    State(app): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<(StatusCode, Json<api::Upload>)> {
    let body = body.map_err(|_| ApiError::from(Error::UploadTooLarge))?;
    if body.len() > app.config.max_upload_bytes {
        return Err(Error::UploadTooLarge.into());
    }
    if body.is_empty() {
        return Err(Error::InvalidRequest.into());
    }
    app.limits.upload(auth.user, body.len())?;
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default();
    let kind = sniff_upload(&mime, &body)?;
    let hash = BlobHash::parse(&hex::encode(Sha256::digest(&body)))?;
    app.blobs.put(&hash, body.clone()).await.map_err(|e| {
        tracing::error!(error = %e, "storing blob");
        ApiError::from(Error::Unavailable)
    })?;
    let kind = match kind {
        UploadKind::Image => "image",
        UploadKind::File => "file",
    };
    let record = UploadRecord {
        hash: hash.as_str().to_owned(),
        mime: mime.clone(),
        size: body.len() as i64,
        kind: kind.to_owned(),
        uploader_id: auth.user,
        created_at_ms: app.clock.now_ms(),
    };
    app.store.put_upload(record).await?;
    // The first upload of these bytes decides the stored type.
    let stored = app
        .store
        .upload(hash.as_str())
        .await?
        .ok_or(ApiError::from(Error::Internal))?;
    Ok((
        StatusCode::CREATED,
        Json(api::Upload {
            hash: stored.hash,
            mime: stored.mime,
            size: stored.size,
            kind: stored.kind,
        }),
    ))
}

#[utoipa::path(get, path = "/api/uploads/{hash}", tag = "messages", params(("hash" = String, Path)),
    responses((status = 200, description = "the bytes", content_type = "application/octet-stream"), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn download(State(app): State<AppState>, auth: AuthUser, Path(hash): Path<String>) -> ApiResult<Response> {
    let hash = BlobHash::parse(&hash)?;
    // Not ours to read looks the same as not there.
    if !app.store.may_read_upload(auth.user, hash.as_str()).await? {
        return Err(Error::UploadNotFound.into());
    }
    let upload = app
        .store
        .upload(hash.as_str())
        .await?
        .ok_or(ApiError::from(Error::UploadNotFound))?;
    let bytes = app
        .blobs
        .get(&hash)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "reading blob");
            ApiError::from(Error::Unavailable)
        })?
        .ok_or(ApiError::from(Error::UploadNotFound))?;
    Ok((
        [
            (header::CONTENT_TYPE, upload.mime),
            (header::CACHE_CONTROL, "private, max-age=31536000, immutable".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
