//! Registration, sign-in, sessions, profile, Qiao ID, QR code, user lookup.

use axum::extract::{Path, Query, State};

use crate::client_ip::ClientIp;
use axum::http::StatusCode;
use axum::Json;
use qiao_api as api;
use qiao_domain::identity::{DisplayName, Email, Identifier, Language, Password, Phone, QiaoId, Region};
use qiao_domain::ids::{SessionId, UserId};
use qiao_domain::message::BlobHash;
use qiao_domain::verification::IdentifierKind;
use qiao_domain::Error;
use qiao_store::{wire, NewUser, ProfileUpdate, UserLookup};
use serde::Deserialize;

use crate::auth::{new_token, token_hash, AuthUser};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;

const DEFAULT_DEVICE: &str = "unnamed device";
const MAX_DEVICE_CHARS: usize = 64;

fn device_name(raw: Option<&str>) -> Result<String, Error> {
    match raw {
        None => Ok(DEFAULT_DEVICE.to_owned()),
        Some(name) => qiao_domain::identity::parse_short_text(name, MAX_DEVICE_CHARS, Error::InvalidRequest),
    }
}

async fn start_session(app: &AppState, user: qiao_store::UserRecord, device: &str) -> ApiResult<api::AuthResponse> {
    let token = new_token();
    let session = app
        .store
        .create_session(user.id, &token_hash(&token), device, app.clock.now_ms())
        .await?;
    Ok(api::AuthResponse {
        token,
        session_id: session.id.0,
        user: wire::profile(&user),
    })
}

#[utoipa::path(post, path = "/api/auth/register", tag = "accounts", request_body = api::RegisterRequest,
    responses((status = 201, body = api::AuthResponse), (status = 400, body = api::ErrorBody), (status = 409, body = api::ErrorBody)))]
pub async fn register(
    State(app): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(req): ApiJson<api::RegisterRequest>,
) -> ApiResult<(StatusCode, Json<api::AuthResponse>)> {
    app.limits.public(client)?;
    let region = Region::parse(&req.region)?;
    let phone = req
        .phone
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|p| Phone::parse_new(p, region))
        .transpose()?;
    let email = req
        .email
        .as_deref()
        .filter(|e| !e.is_empty())
        .map(Email::parse)
        .transpose()?;
    if phone.is_none() && email.is_none() {
        return Err(Error::IdentifierRequired.into());
    }
    let password = Password::parse(&req.password)?;
    let display_name = DisplayName::parse(&req.display_name)?;
    let language = Language::parse(&req.language)?;
    let device = device_name(req.device_name.as_deref())?;
    let password_hash = app.passwords.hash(password.expose().to_owned()).await?;
    let user = app
        .store
        .create_user(NewUser {
            phone_hash: phone.as_ref().map(Phone::discovery_hash),
            phone: phone.map(|p| p.as_str().to_owned()),
            email: email.map(|e| e.as_str().to_owned()),
            password_hash,
            display_name: display_name.as_str().to_owned(),
            region,
            language,
            now_ms: app.clock.now_ms(),
        })
        .await?;
    // A code goes to each claimed phone and email at once; if sending fails,
    // the account still exists and the client asks again later.
    let claims = app.store.claims(user.id).await?;
    for claim in &claims {
        if let Err(e) = app.identity.send_code(user.id, claim.kind).await {
            tracing::warn!(user = user.id.0, error = %e, "no code sent at sign-up");
        }
    }
    let unverified = wire::profile_with_claims(&user, &claims).unverified;
    let mut auth = start_session(&app, user, &device).await?;
    auth.user.unverified = unverified;
    Ok((StatusCode::CREATED, Json(auth)))
}

/// The lookup of a normalized identifier.
fn lookup_of(identifier: &Identifier) -> UserLookup {
    match identifier {
        Identifier::Phone(p) => UserLookup::Phone(p.as_str().to_owned()),
        Identifier::Email(e) => UserLookup::Email(e.as_str().to_owned()),
        Identifier::QiaoId(q) => UserLookup::QiaoId(q.as_str().to_owned()),
    }
}

#[utoipa::path(post, path = "/api/auth/login", tag = "accounts", request_body = api::LoginRequest,
    responses((status = 200, body = api::AuthResponse), (status = 401, body = api::ErrorBody), (status = 429, body = api::ErrorBody)))]
pub async fn login(
    State(app): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(req): ApiJson<api::LoginRequest>,
) -> ApiResult<Json<api::AuthResponse>> {
    let identifier = Identifier::parse(&req.identifier);
    // Counted per account in its one normalized form, so spelling a number
    // another way does not buy more tries.
    let account_key = identifier.as_ref().map_or_else(
        || format!("raw:{}", req.identifier.trim().to_lowercase()),
        Identifier::key,
    );
    if let Err(limited) = app.limits.login(&account_key, client) {
        app.metrics.logins_failed.inc();
        return Err(limited);
    }
    let device = device_name(req.device_name.as_deref())?;
    let user = match &identifier {
        Some(identifier) => app.store.find_user(lookup_of(identifier)).await?,
        None => None,
    };
    let Some(user) = user else {
        app.passwords.dummy_verify(req.password).await;
        app.metrics.logins_failed.inc();
        tracing::warn!(address = %client, "sign-in failed: no such account");
        return Err(Error::BadCredentials.into());
    };
    if !app.passwords.verify(req.password, user.password_hash.clone()).await {
        app.metrics.logins_failed.inc();
        tracing::warn!(user = user.id.0, address = %client, "sign-in failed: wrong password");
        return Err(Error::BadCredentials.into());
    }
    Ok(Json(start_session(&app, user, &device).await?))
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "accounts", responses((status = 204)), security(("bearer" = [])))]
pub async fn logout(State(app): State<AppState>, auth: AuthUser) -> ApiResult<StatusCode> {
    crate::sessions::end(&app, auth.user, auth.session).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/sessions", tag = "accounts", responses((status = 200, body = Vec<api::SessionInfo>)), security(("bearer" = [])))]
pub async fn sessions(State(app): State<AppState>, auth: AuthUser) -> ApiResult<Json<Vec<api::SessionInfo>>> {
    let sessions = app.store.sessions(auth.user).await?;
    Ok(Json(
        sessions
            .into_iter()
            .map(|s| api::SessionInfo {
                id: s.id.0,
                device_name: s.device_name,
                created_at_ms: s.created_at_ms,
                last_seen_at_ms: s.last_seen_at_ms,
                current: s.id == auth.session,
            })
            .collect(),
    ))
}

#[utoipa::path(delete, path = "/api/sessions/{id}", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_session(State(app): State<AppState>, auth: AuthUser, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    crate::sessions::end(&app, auth.user, SessionId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/me", tag = "accounts", responses((status = 200, body = api::Profile)), security(("bearer" = [])))]
pub async fn me(State(app): State<AppState>, auth: AuthUser) -> ApiResult<Json<api::Profile>> {
    let user = app.store.user(auth.user).await?;
    let claims = app.store.claims(auth.user).await?;
    Ok(Json(wire::profile_with_claims(&user, &claims)))
}

#[utoipa::path(post, path = "/api/me/verification", tag = "accounts", request_body = api::SendCodeRequest,
    responses((status = 204), (status = 400, body = api::ErrorBody), (status = 409, body = api::ErrorBody),
        (status = 429, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn send_code(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::SendCodeRequest>,
) -> ApiResult<StatusCode> {
    let kind = IdentifierKind::parse(&req.kind)?;
    app.identity.send_code(auth.user, kind).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/me/verification/confirm", tag = "accounts", request_body = api::ConfirmCodeRequest,
    responses((status = 200, body = api::Profile), (status = 400, body = api::ErrorBody), (status = 409, body = api::ErrorBody),
        (status = 410, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn confirm_code(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::ConfirmCodeRequest>,
) -> ApiResult<Json<api::Profile>> {
    let kind = IdentifierKind::parse(&req.kind)?;
    let user = app.identity.confirm(auth.user, kind, &req.code).await?;
    let claims = app.store.claims(auth.user).await?;
    Ok(Json(wire::profile_with_claims(&user, &claims)))
}

#[utoipa::path(patch, path = "/api/me", tag = "accounts", request_body = api::UpdateProfileRequest,
    responses((status = 200, body = api::Profile), (status = 400, body = api::ErrorBody), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn update_me(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::UpdateProfileRequest>,
) -> ApiResult<Json<api::Profile>> {
    let display_name = req.display_name.as_deref().map(DisplayName::parse).transpose()?;
    let language = req.language.as_deref().map(Language::parse).transpose()?;
    let avatar = match req.avatar.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(hash) => {
            let blob = BlobHash::parse(hash)?;
            let upload = app
                .store
                .upload(blob.as_str())
                .await?
                .ok_or(ApiError::from(Error::UploadNotFound))?;
            if upload.kind != "image" || !app.store.may_read_upload(auth.user, blob.as_str()).await? {
                return Err(Error::UploadNotFound.into());
            }
            Some(Some(blob.as_str().to_owned()))
        }
    };
    let update = ProfileUpdate {
        display_name: display_name.map(|d| d.as_str().to_owned()),
        avatar,
        language,
    };
    let updated = app.store.update_profile(auth.user, update).await?;
    app.sessions
        .language_chosen(auth.user, updated.language, app.clock.now_ms());
    Ok(Json(wire::profile(&updated)))
}

#[utoipa::path(put, path = "/api/me/qiao-id", tag = "accounts", request_body = api::SetQiaoIdRequest,
    responses((status = 200, body = api::Profile), (status = 409, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn set_qiao_id(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::SetQiaoIdRequest>,
) -> ApiResult<Json<api::Profile>> {
    let qiao_id = QiaoId::parse(&req.qiao_id)?;
    Ok(Json(wire::profile(
        &app.store.set_qiao_id(auth.user, qiao_id.as_str()).await?,
    )))
}

/// The payload of a personal QR code; scanning it opens the add-friend screen.
pub fn qr_payload(user: UserId) -> String {
    format!("qiao://user/{}", user.0)
}

#[utoipa::path(get, path = "/api/me/qr", tag = "accounts", responses((status = 200, body = api::QrCode)), security(("bearer" = [])))]
pub async fn my_qr(auth: AuthUser) -> ApiResult<Json<api::QrCode>> {
    let payload = qr_payload(auth.user);
    let code = qrcode::QrCode::new(payload.as_bytes()).map_err(|_| ApiError::from(Error::Internal))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok(Json(api::QrCode { payload, svg }))
}

#[utoipa::path(get, path = "/api/users/{id}", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 200, body = api::UserSummary), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn user(
    State(app): State<AppState>,
    _auth: AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<api::UserSummary>> {
    Ok(Json(wire::user_summary(&app.store.user(UserId(id)).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// A Qiao ID, an E.164 phone number or an email address (exact match).
    pub q: String,
}

#[utoipa::path(get, path = "/api/users/search", tag = "contacts", params(SearchQuery),
    responses((status = 200, body = Vec<api::UserSummary>)), security(("bearer" = [])))]
pub async fn search(
    State(app): State<AppState>,
    auth: AuthUser,
    ClientIp(client): ClientIp,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<api::UserSummary>>> {
    // Lookups by phone number are how numbers get enumerated: limited per
    // minute by address, and per day by account and by address.
    app.limits.public(client)?;
    let Query(query) = query.map_err(|_| ApiError::from(Error::InvalidRequest))?;
    app.identity.spend_lookups(auth.user, client, 1).await?;
    let found = match Identifier::parse(&query.q) {
        Some(identifier) => app.store.find_user(lookup_of(&identifier)).await?,
        None => None,
    };
    Ok(Json(found.iter().map(wire::user_summary).collect()))
}
