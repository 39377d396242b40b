//! Uploads: checked for size and type, stored by content hash, readable only
//! by the uploader and members of conversations the blob was sent in.

use std::path::PathBuf;

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

/// `blobs/ab/abcdef…`: two-level fan-out keeps directories small.
pub fn blob_path(app: &AppState, hash: &BlobHash) -> PathBuf {
    app.config.blob_dir().join(&hash.as_str()[..2]).join(hash.as_str())
}

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
    let path = blob_path(&app, &hash);
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        write_atomically(&path, &body).await.map_err(|e| {
            tracing::error!(error = %e, "writing blob");
            ApiError::from(Error::Internal)
        })?;
    }
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

/// Writes to a temporary name then renames, so readers never see half a file.
async fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let temporary = path.with_extension(format!("tmp{}", rand::random::<u32>()));
    tokio::fs::write(&temporary, bytes).await?;
    tokio::fs::rename(&temporary, path).await
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
    let bytes = tokio::fs::read(blob_path(&app, &hash))
        .await
        .map_err(|_| ApiError::from(Error::UploadNotFound))?;
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
