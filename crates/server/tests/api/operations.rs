//! Health, readiness, metrics, the OpenAPI document, the web client.

use std::collections::BTreeSet;

use crate::both_stores;
use crate::helpers::*;

both_stores! {
    async fn health_ready_metrics(app: TestApp) {
        let health = app.http.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status().as_u16(), 200);
        let ready: qiao_api::Health = app.http.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
        assert_eq!(ready.status, "ready");
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let conversation = app.befriend(&lin, &emily).await;
        app.send_text(&lin, conversation, "counted").await;
        let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("qiao_messages_sent_total 1"), "{metrics}");
        assert!(metrics.contains(r#"route="/api/conversations/{id}/messages""#), "{metrics}");
        // The writer, the database, the cluster and money, as an operator watches them.
        let value = |name: &str| -> f64 {
            metrics
                .lines()
                .find_map(|l| l.strip_prefix(&format!("qiao_{name} ")))
                .unwrap_or_else(|| panic!("no {name} in {metrics}"))
                .parse()
                .unwrap()
        };
        assert!(value("writer_batches_total") >= 1.0);
        assert!(value("writer_operations_total") >= value("writer_batches_total"));
        assert!(value("writer_exclusive_batches_total") >= 1.0);
        assert!(value("writer_exclusive_batches_total") <= value("writer_batches_total"));
        assert_eq!(value("writer_escalated_total"), 0.0);
        assert_eq!(value("writer_queue_depth"), 0.0);
        assert_eq!(value("writer_connected"), 1.0);
        assert_eq!(value("database_up"), 1.0);
        assert_eq!(value("nats_connected"), -1.0, "no NATS configured");
        assert_eq!(value("pending_bank_movements"), 0.0);
        // Every series the sample Grafana dashboard draws is served.
        let dashboard = include_str!("../../../../docs/grafana/qiao.json");
        let used: BTreeSet<&str> = dashboard
            .split(|c: char| !(c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()))
            .filter(|w| w.starts_with("qiao_") && *w != "qiao_")
            .map(|w| w.trim_end_matches("_bucket"))
            .collect();
        assert!(used.len() >= 10, "{used:?}");
        for family in used {
            assert!(metrics.contains(&format!("# TYPE {family} ")), "{family} is not served");
        }
    }
}

/// `/metrics` answers only the addresses in `metrics_allow` (loopback by
/// default); a client outside, even through a trusted proxy, is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_for_the_allowed_addresses_only() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.trusted_proxies = vec!["127.0.0.1".into()];
        c.metrics_allow = vec!["10.0.0.0/8".into(), "127.0.0.1".into()];
    })
    .await;
    let from = |client: &'static str| {
        let request = app.http.get(app.url("/metrics")).header("x-forwarded-for", client);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(from("10.1.2.3").await, 200);
    assert_eq!(from("203.0.113.5").await, 403);
    let direct = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(direct.status().as_u16(), 200, "the proxy's own address is allowed");

    let closed = TestApp::spawn_with(Backend::Sqlite, |c| c.metrics_allow = vec!["10.0.0.0/8".into()]).await;
    let refused = closed.http.get(closed.url("/metrics")).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
}

/// The generated document passes a kept validator (openapi-spec-validator,
/// installed by `.ci/run`), and says what generated clients need: query
/// parameters in the query, a server, and the error answers of each
/// operation with their schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_valid_and_complete() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let text = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    let checked = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        checked.status.success(),
        "openapi-spec-validator (pip install openapi-spec-validator): {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["servers"][0]["url"], "/");
    let location = |path: &str, name: &str| -> String {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} has no {name}"))["in"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(location("/api/sync", "since"), "query");
    assert_eq!(location("/api/users/search", "q"), "query");
    assert_eq!(location("/api/conversations/{id}/messages", "id"), "path");
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let responses = operation["responses"].as_object().unwrap();
            for (status, response) in responses {
                assert!(
                    response["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} has no description"
                );
            }
            if operation
                .get("security")
                .is_some_and(|s| !s.as_array().unwrap().is_empty())
            {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} needs a token but declares no 401"
                );
            }
            if operation.get("requestBody").is_some() {
                assert!(
                    responses.contains_key("400"),
                    "{method} {path} reads a body but declares no 400"
                );
            }
            assert!(responses.contains_key("503"), "{method} {path}");
        }
    }
    assert!(operations > 100, "{operations}");

    // Field constraints say what the domain enforces, from the same numbers.
    let register = &doc["components"]["schemas"]["RegisterRequest"]["properties"];
    assert_eq!(
        register["password"]["minLength"].as_u64(),
        Some(qiao_domain::identity::Password::MIN_CHARS as u64)
    );
    assert_eq!(
        register["password"]["maxLength"].as_u64(),
        Some(qiao_domain::identity::Password::MAX_CHARS as u64)
    );
    assert_eq!(
        register["display_name"]["maxLength"].as_u64(),
        Some(qiao_domain::identity::DisplayName::MAX_CHARS as u64)
    );
    let top_up = &doc["components"]["schemas"]["TopUpRequest"]["properties"];
    assert_eq!(top_up["amount_minor"]["minimum"].as_i64(), Some(1));
    assert_eq!(top_up["idempotency_key"]["pattern"], "^[A-Za-z0-9_-]{1,64}$");
    assert!(register["region"]["example"].is_string(), "examples are given");

    use qiao_domain::merchant::{
        MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_ORDER_TTL_MS, MAX_URL_CHARS, MIN_ORDER_TTL_MS,
    };
    let merchant = &doc["components"]["schemas"]["CreateMerchantRequest"]["properties"];
    assert_eq!(
        merchant["display_name"]["maxLength"].as_u64(),
        Some(MAX_NAME_CHARS as u64)
    );
    assert_eq!(merchant["notify_url"]["maxLength"].as_u64(), Some(MAX_URL_CHARS as u64));
    assert_eq!(merchant["mcc"]["pattern"], "^[0-9]{4}$");
    let order = &doc["components"]["schemas"]["CreateOrderRequest"]["properties"];
    assert_eq!(
        order["description"]["maxLength"].as_u64(),
        Some(MAX_DESCRIPTION_CHARS as u64)
    );
    assert_eq!(
        order["expires_in_seconds"]["minimum"].as_i64(),
        Some(MIN_ORDER_TTL_MS / 1000)
    );
    assert_eq!(
        order["expires_in_seconds"]["maximum"].as_i64(),
        Some(MAX_ORDER_TTL_MS / 1000)
    );
    assert_eq!(order["amount_minor"]["minimum"].as_i64(), Some(1));
    let refund = &doc["components"]["schemas"]["RefundRequest"]["properties"];
    assert_eq!(
        refund["reason"]["maxLength"].as_u64(),
        Some(MAX_DESCRIPTION_CHARS as u64)
    );
    let charge = &doc["components"]["schemas"]["ChargeCodeRequest"]["properties"];
    use qiao_domain::payment_code::{LENGTH, PREFIX};
    assert_eq!(
        charge["code"]["pattern"],
        format!("^{PREFIX}[0-9]{{{}}}$", LENGTH - PREFIX.len())
    );
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc: serde_json::Value = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    // Every documented operation is served (not the 404 fallback, not 405).
    for operation in &documented {
        let (method, path) = operation.split_once(' ').unwrap();
        let concrete = path
            .replace("{id}", "1")
            .replace("{user_id}", "1")
            .replace("{hash}", &"0".repeat(64));
        let response = app
            .http
            .request(method.parse().unwrap(), app.url(&concrete))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert!(
            !(status == 404 && body.contains("\"not_found\"")),
            "{operation} is documented but not routed"
        );
    }
    for expected in [
        "POST /api/auth/register",
        "POST /api/auth/login",
        "GET /api/sync",
        "GET /api/ws",
        "POST /api/conversations/{id}/messages",
        "GET /api/conversations/{id}/messages",
        "POST /api/uploads",
        "POST /api/friend-requests",
        "POST /api/contacts/discover",
        "PUT /api/blocks/{user_id}",
    ] {
        assert!(documented.contains(expected), "{expected} missing from {documented:?}");
    }
    assert!(documented.len() >= 40, "{}", documented.len());
}

#[tokio::test]
async fn the_web_client_is_served() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let index = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(index.status().as_u16(), 200);
    assert!(index.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let etag = index.headers()["etag"].to_str().unwrap().to_owned();
    assert!(index.text().await.unwrap().to_lowercase().contains("<!doctype html>"));

    // Revalidation costs no body; gzip for browsers that take it.
    let again = app.http.get(app.url("/app/main.js")).send().await.unwrap();
    let script_tag = again.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(script_tag, etag);
    let unchanged = app
        .http
        .get(app.url("/app/main.js"))
        .header("if-none-match", &script_tag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status().as_u16(), 304);
    assert!(unchanged.bytes().await.unwrap().is_empty());
    let zipped = app
        .http
        .get(app.url("/app/main.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
}
