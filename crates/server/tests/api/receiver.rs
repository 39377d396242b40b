//! A merchant's server, for tests: records the notifications Qiao sends
//! and answers with the status the test sets. It checks signatures the way
//! the merchant guide says to, with its own HMAC, not Qiao's code.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use sha2::Sha256;

#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_id: String,
    pub timestamp: i64,
    pub nonce: String,
    pub signature: String,
    pub body: serde_json::Value,
    pub raw: String,
}

impl Delivery {
    /// The signature a merchant computes: `v1=` + hex HMAC-SHA256 over
    /// `{timestamp}\n{nonce}\n{body}`, compared in constant time.
    pub fn signed_with(&self, secret: &str) -> bool {
        let Some(hex_part) = self.signature.strip_prefix("v1=") else {
            return false;
        };
        let Ok(given) = hex::decode(hex_part) else { return false };
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{}\n{}\n{}", self.timestamp, self.nonce, self.raw).as_bytes());
        mac.verify_slice(&given).is_ok()
    }
}

#[derive(Clone)]
struct Inner {
    got: Arc<Mutex<Vec<Delivery>>>,
    answer: Arc<Mutex<u16>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    inner: Inner,
}

impl Receiver {
    pub async fn start() -> Self {
        let inner = Inner {
            got: Arc::default(),
            answer: Arc::new(Mutex::new(200)),
        };
        let router = axum::Router::new()
            .route("/notify", axum::routing::post(record))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}/notify", self.addr)
    }

    /// What the receiver answers from now on.
    pub fn answer(&self, status: u16) {
        *self.inner.answer.lock() = status;
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.got.lock().clone()
    }
}

async fn record(State(inner): State<Inner>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    inner.got.lock().push(Delivery {
        event_id: header("qiao-event-id"),
        timestamp: header("qiao-timestamp").parse().unwrap_or(0),
        nonce: header("qiao-nonce"),
        signature: header("qiao-signature"),
        body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
        raw: body,
    });
    StatusCode::from_u16(*inner.answer.lock()).unwrap()
}
