//! Rate limits behind a reverse proxy: a configured trusted proxy's
//! `X-Forwarded-For` gives each client its own budget; anybody else's
//! forwarded header is ignored, so it cannot buy a fresh budget.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp};

/// Registers a new account from 127.0.0.1, claiming to forward `client`.
async fn register_as(app: &TestApp, client: &str) -> StatusCode {
    let n = app.unique();
    app.http
        .post(app.url("/api/auth/register"))
        .header("x-forwarded-for", client)
        .json(&json!({
            "phone": format!("+1555{n:07}"), "password": format!("password-{n}"),
            "display_name": "P", "region": "US", "language": "en-US"
        }))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_client_has_its_own_budget() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.public_per_address_per_minute = 2;
        c.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    assert_eq!(register_as(&app, "203.0.113.1").await, StatusCode::CREATED);
    assert_eq!(register_as(&app, "203.0.113.1").await, StatusCode::CREATED);
    assert_eq!(register_as(&app, "203.0.113.1").await, StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy is not held back by the first.
    assert_eq!(register_as(&app, "203.0.113.2").await, StatusCode::CREATED);
    // A forged entry to the left of the real client changes nothing.
    assert_eq!(
        register_as(&app, "198.51.100.77, 203.0.113.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_peer_cannot_choose_its_address() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.public_per_address_per_minute = 2;
    })
    .await;
    assert_eq!(register_as(&app, "203.0.113.1").await, StatusCode::CREATED);
    assert_eq!(register_as(&app, "203.0.113.2").await, StatusCode::CREATED);
    assert_eq!(register_as(&app, "203.0.113.3").await, StatusCode::TOO_MANY_REQUESTS);
}
