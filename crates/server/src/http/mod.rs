//! The HTTP API: routes, the OpenAPI document generated from the handlers,
//! and operational endpoints (health, readiness, metrics).

pub mod accounts;
pub mod contacts;
pub mod conversations;
pub mod merchant_api;
pub mod merchants;
pub mod messages;
mod openapi;
pub mod pay;
pub mod payments;
pub mod pin;
pub mod statement;
pub mod sync;
pub mod uploads;
pub mod wallet;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Qiao API", description = "Messaging with a wallet, on both sides of the border."),
    modifiers(&BearerAuth),
    tags((name = "accounts"), (name = "contacts"), (name = "conversations"), (name = "messages"), (name = "sync"), (name = "wallet"),
        (name = "pay"), (name = "merchants"), (name = "merchant API"), (name = "admin"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// Every API route, with the OpenAPI document built from the same list.
pub fn api_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::register))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::sessions))
        .routes(routes!(accounts::revoke_session))
        .routes(routes!(accounts::me, accounts::update_me))
        .routes(routes!(accounts::send_code))
        .routes(routes!(accounts::confirm_code))
        .routes(routes!(accounts::set_qiao_id))
        .routes(routes!(accounts::my_qr))
        .routes(routes!(accounts::search))
        .routes(routes!(accounts::user))
        .routes(routes!(contacts::discover))
        .routes(routes!(contacts::request_friend, contacts::friend_requests))
        .routes(routes!(contacts::accept))
        .routes(routes!(contacts::decline))
        .routes(routes!(contacts::contacts))
        .routes(routes!(contacts::update_contact, contacts::delete_contact))
        .routes(routes!(contacts::blocks))
        .routes(routes!(contacts::block, contacts::unblock))
        .routes(routes!(conversations::list))
        .routes(routes!(conversations::open_direct))
        .routes(routes!(conversations::create_group))
        .routes(routes!(conversations::get, conversations::update))
        .routes(routes!(conversations::invite))
        .routes(routes!(conversations::remove))
        .routes(routes!(conversations::leave))
        .routes(routes!(conversations::transfer_owner))
        .routes(routes!(conversations::set_role))
        .routes(routes!(messages::send, messages::history))
        .routes(routes!(messages::recall))
        .routes(routes!(messages::receipt))
        .routes(routes!(uploads::upload))
        .routes(routes!(uploads::download))
        .routes(routes!(wallet::wallet))
        .routes(routes!(wallet::bind_card, wallet::cards))
        .routes(routes!(wallet::card))
        .routes(routes!(wallet::top_up))
        .routes(routes!(wallet::withdraw))
        .routes(routes!(pin::set_pin))
        .routes(routes!(pin::reset_pin))
        .routes(routes!(pin::set_no_pin_limit))
        .routes(routes!(payments::send_transfer))
        .routes(routes!(payments::send_red_packet))
        .routes(routes!(payments::get))
        .routes(routes!(payments::accept))
        .routes(routes!(payments::decline))
        .routes(routes!(payments::open))
        .routes(routes!(statement::statement))
        .routes(routes!(statement::statement_csv))
        .routes(routes!(statement::entry))
        .routes(routes!(statement::credit))
        .routes(routes!(statement::credit_statement))
        .routes(routes!(statement::repay))
        .routes(routes!(pay::scan))
        .routes(routes!(pay::pay))
        .routes(routes!(pay::payment))
        .routes(routes!(pay::confirm))
        .routes(routes!(pay::payment_code))
        .routes(routes!(pay::decode))
        .routes(routes!(pay::quote))
        .routes(routes!(pay::rates))
        .routes(routes!(pay::convert))
        .routes(routes!(pay::set_rate))
        .routes(routes!(pay::verify_merchant))
        .routes(routes!(merchants::create, merchants::list))
        .routes(routes!(merchants::get, merchants::update))
        .routes(routes!(merchants::rotate_secret))
        .routes(routes!(merchants::add_shop, merchants::shops))
        .routes(routes!(merchants::add_staff, merchants::staff))
        .routes(routes!(merchants::remove_staff))
        .routes(routes!(merchants::create_key, merchants::keys))
        .routes(routes!(merchants::revoke_key))
        .routes(routes!(merchants::notifications))
        .routes(routes!(merchants::resend))
        .routes(routes!(merchants::static_qr))
        .routes(routes!(merchants::static_qr_png))
        .routes(routes!(merchants::orders, merchants::create_order))
        .routes(routes!(merchants::order))
        .routes(routes!(merchants::close_order))
        .routes(routes!(merchants::refund, merchants::refunds))
        .routes(routes!(merchants::charge))
        .routes(routes!(merchants::report))
        .routes(routes!(merchants::orders_csv))
        .routes(routes!(merchant_api::create_order, merchant_api::orders))
        .routes(routes!(merchant_api::order))
        .routes(routes!(merchant_api::order_by_id))
        .routes(routes!(merchant_api::order_qr))
        .routes(routes!(merchant_api::close_order))
        .routes(routes!(merchant_api::refund, merchant_api::refunds))
        .routes(routes!(merchant_api::charge))
        .routes(routes!(merchant_api::report))
        .routes(routes!(merchant_api::orders_csv))
        .routes(routes!(merchant_api::static_qr))
        .routes(routes!(sync::sync))
        .routes(routes!(crate::ws::connect))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .split_for_parts();
    openapi::complete(&mut doc);
    (router, doc)
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = qiao_api::Health)))]
pub async fn healthz() -> Json<qiao_api::Health> {
    Json(qiao_api::Health {
        status: "ok".into(),
        ..Default::default()
    })
}

/// Readiness: 503 while the database is out of reach (the node can do
/// nothing useful). NATS lost is reported (`"status":"degraded"`,
/// `"nats":"disconnected"`) but answers 200: the node still serves, with
/// news from other nodes a second late, and taking every node out of the
/// load balancer at once would turn a NATS outage into a full one.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = qiao_api::Health), (status = 503, body = qiao_api::Health)))]
pub async fn readyz(State(app): State<AppState>) -> Response {
    let database_up = match app.store.ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "not ready: database");
            false
        }
    };
    let nats_up = app.nats.as_ref().map(|link| link.connected());
    let status = match (database_up, nats_up) {
        (false, _) => "unavailable",
        (true, Some(false)) => "degraded",
        (true, _) => "ready",
    };
    let health = qiao_api::Health {
        status: status.into(),
        database: Some(if database_up { "ok" } else { "unavailable" }.into()),
        nats: nats_up.map(|up| if up { "ok" } else { "disconnected" }.into()),
    };
    if database_up {
        Json(health).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(health)).into_response()
    }
}

/// Prometheus metrics, for the addresses in `metrics_allow` only.
pub async fn metrics(
    State(app): State<AppState>,
    crate::client_ip::ClientIp(client): crate::client_ip::ClientIp,
) -> Response {
    if !app.metrics_allow.contains(client) {
        return crate::error::ApiError(qiao_domain::Error::Forbidden, None).into_response();
    }
    let database_up = app.store.ping().await.is_ok();
    let pending = if database_up {
        app.store
            .unsettled_transfers(i64::MAX, 1000)
            .await
            .map_or(0, |t| t.len())
    } else {
        0
    };
    app.metrics.observe(&crate::metrics::Observed {
        writer: app.store.writer_stats(),
        nats_connected: app.nats.as_ref().map(|n| n.connected()),
        pending_bank_movements: pending,
        database_up,
    });
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}

/// Counts and times each request by its route template (not its raw path).
pub async fn track(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    app.metrics
        .http_seconds
        .with_label_values(&[&method, &route])
        .observe(started.elapsed().as_secs_f64());
    app.metrics
        .http_requests
        .with_label_values(&[&method, &route, response.status().as_str()])
        .inc();
    response
}

/// Longest request target (path and query) served; longer ones answer
/// `uri_too_long` in Qiao's error format. (Past 64 KiB the HTTP layer itself
/// refuses the request line, before any of Qiao's code runs.)
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Refuses over-long request targets in Qiao's own error format.
pub async fn uri_limit(request: Request, next: Next) -> Response {
    let length = request.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if length > MAX_URI_BYTES {
        return crate::error::ApiError::from(qiao_domain::Error::UriTooLong).into_response();
    }
    next.run(request).await
}

/// Bounds how long a request may take (`request_timeout_seconds`), so a
/// database link that froze answers 503 `unavailable` instead of hanging.
/// Uploads are exempt: their time is the client's link, not ours. A write
/// already handed to the writer may still commit after the answer; retrying
/// with the same idempotency key is safe and gives its one outcome.
pub async fn deadline(State(app): State<AppState>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/api/uploads" {
        return next.run(request).await;
    }
    let limit = std::time::Duration::from_secs(app.config.request_timeout_seconds.max(1));
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(seconds = limit.as_secs(), "request timed out");
            crate::error::ApiError::from(qiao_domain::Error::Unavailable).into_response()
        }
    }
}

/// Headers every response carries: the page may only load Qiao's own
/// scripts, styles and connections, and may not be framed by another site.
pub async fn security_headers(request: Request, next: Next) -> Response {
    use axum::http::header::{
        HeaderValue, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
    };
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

pub fn ops_routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}
