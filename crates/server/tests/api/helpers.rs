//! `TestApp`: spawns the server, and typed helpers to drive it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use qiao_api as api;
use qiao_server::state::ManualClock;
use qiao_server::{Application, Config};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The PostgreSQL server tests use; each test gets its own database on it.
pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares a test body once and runs it on both stores.
#[macro_export]
macro_rules! both_stores {
    ($(#[$meta:meta])* async fn $name:ident($app:ident: TestApp) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($app: $crate::helpers::TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                body($crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                body($crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await).await
            }
        }
    };
}

/// [`both_stores!`] with a configuration change made before the server starts.
#[macro_export]
macro_rules! both_stores_with {
    ($adjust:expr, $(#[$meta:meta])* async fn $name:ident($app:ident: TestApp) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($app: $crate::helpers::TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                body($crate::helpers::TestApp::spawn_with($crate::helpers::Backend::Sqlite, $adjust).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                body($crate::helpers::TestApp::spawn_with($crate::helpers::Backend::Postgres, $adjust).await).await
            }
        }
    };
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub config: Config,
    /// The running server's state, for what a test drives directly (the expiry sweep).
    pub state: qiao_server::state::AppState,
    _dir: Arc<tempfile::TempDir>,
    /// The PostgreSQL database this app created and drops at the end.
    owned_database: Option<String>,
    counter: AtomicU64,
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub token: String,
    pub phone: String,
    pub password: String,
}

/// A response as the tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// Asserts an error response with this status and code; returns the message.
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        let message = self.body["message"].as_str().unwrap_or_default().to_owned();
        assert!(!message.is_empty(), "error without a message: {}", self.body);
        message
    }

    pub fn ok(self) -> Value {
        assert!(
            self.status.is_success(),
            "expected success, got {}: {}",
            self.status,
            self.body
        );
        self.body
    }

    pub fn typed<T: serde::de::DeserializeOwned>(self) -> T {
        serde_json::from_value(self.ok()).unwrap()
    }
}

fn create_pg_database() -> String {
    let name = format!("qiao_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = postgres::Client::connect(PG_ADMIN_URL, postgres::NoTls)
        .expect("PostgreSQL must be running on 127.0.0.1:5432 for the test suite");
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    format!("postgres://postgres@127.0.0.1:5432/{name}")
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(tokio::task::spawn_blocking(create_pg_database).await.unwrap()),
        };
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            database,
            // Cheap hashing keeps tests fast; production defaults are OWASP's.
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            login_per_address_per_minute: 10_000,
            public_per_address_per_minute: 10_000,
            // Tests send bursts no person would; the limits have tests of their own.
            messages_per_user_per_second: 100_000,
            message_burst_per_user: 100_000,
            max_upload_bytes: 64 * 1024,
            ..Config::default()
        };
        adjust(&mut config);
        let owned = config.database.clone();
        let mut app = Self::start(config, Arc::new(dir)).await;
        app.owned_database = owned;
        app
    }

    async fn start(config: Config, dir: Arc<tempfile::TempDir>) -> Self {
        let clock = Arc::new(ManualClock::new());
        let app = Application::build_with_clock(config.clone(), clock.clone())
            .await
            .unwrap();
        let addr = app.local_addr().unwrap();
        let state = app.state.clone();
        tokio::spawn(app.run());
        Self {
            addr,
            state,
            http: reqwest::Client::new(),
            clock,
            config,
            _dir: dir,
            counter: AtomicU64::new(1),
            owned_database: None,
        }
    }

    /// Two nodes on one PostgreSQL database, talking over NATS at 127.0.0.1:4222.
    pub async fn cluster_of_two() -> (TestApp, TestApp) {
        Self::cluster_of_two_via("nats://127.0.0.1:4222").await
    }

    /// Two nodes on one PostgreSQL database, talking over NATS at `nats_url`.
    pub async fn cluster_of_two_via(nats_url: &str) -> (TestApp, TestApp) {
        let subject = format!("qiao.test.{}", uuid::Uuid::new_v4().simple());
        let first = Self::spawn_with(Backend::Postgres, |c| {
            c.nats_url = Some(nats_url.into());
            c.nats_subject = subject;
        })
        .await;
        let second = Self::start(first.config.clone(), Arc::clone(&first._dir)).await;
        // Users registered on either node get distinct phone numbers.
        second.counter.store(1_000_000, Ordering::Relaxed);
        (first, second)
    }

    /// Another node on this one's database and NATS, with a data directory
    /// of its own (nothing shared on disk).
    pub async fn another_node(&self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = self.config.clone();
        config.data_dir = dir.path().to_path_buf();
        Self::start(config, Arc::new(dir)).await
    }

    /// A new server on this one's database, with a clock of its own: what a
    /// restart looks like to the data (PostgreSQL only: a SQLite file has
    /// one writing process, and this one's is still running).
    pub async fn restarted(&self) -> TestApp {
        assert!(
            self.config.database.is_some(),
            "a restart on the same database needs PostgreSQL"
        );
        Self::start(self.config.clone(), Arc::clone(&self._dir)).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn unique(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// Any request; `token` adds the bearer header, `lang` the Accept-Language.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        lang: &str,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("Accept-Language", lang);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply { status, body }
    }

    /// Uploads `bytes` as `mime`.
    pub async fn upload(&self, user: &TestUser, mime: &str, bytes: &[u8]) -> Reply {
        let response = self
            .http
            .post(self.url("/api/uploads"))
            .bearer_auth(&user.token)
            .header("Content-Type", mime)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        Reply { status, body }
    }

    pub async fn get(&self, user: &TestUser, path: &str) -> Reply {
        self.request(Method::GET, path, Some(&user.token), None, "en-US").await
    }

    pub async fn post(&self, user: &TestUser, path: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(&user.token), Some(body), "en-US")
            .await
    }

    pub async fn call(&self, method: Method, user: &TestUser, path: &str, body: Option<Value>) -> Reply {
        self.request(method, path, Some(&user.token), body, "en-US").await
    }

    /// A US user (phone +1555…, en-US).
    pub async fn register(&self, name: &str) -> TestUser {
        self.register_in("US", name).await
    }

    /// The last one-time code the sandbox outbox sent to `to`.
    pub fn last_code(&self, to: &str) -> String {
        let sent = self.state.outbox.sent_to(to);
        let body = &sent.last().unwrap_or_else(|| panic!("nothing was sent to {to}")).body;
        let digits: String = body
            .split(|c: char| !c.is_ascii_digit())
            .find(|part| part.len() == 6)
            .unwrap_or_else(|| panic!("no code in {body:?}"))
            .to_owned();
        digits
    }

    /// Proves the user's phone with the code the sandbox sent.
    pub async fn verify_phone(&self, user: &TestUser) {
        let code = self.last_code(&user.phone);
        let profile: api::Profile = self
            .post(
                user,
                "/api/me/verification/confirm",
                json!({"kind": "phone", "code": code}),
            )
            .await
            .typed();
        assert_eq!(profile.phone.as_deref(), Some(user.phone.as_str()));
    }

    /// A user of a region (CN users get a +86 number and zh-CN, US users +1
    /// and en-US), phone proven.
    pub async fn register_in(&self, region: &str, name: &str) -> TestUser {
        let user = self.register_unverified(region, name).await;
        self.verify_phone(&user).await;
        user
    }

    /// A user whose phone still waits for its code.
    pub async fn register_unverified(&self, region: &str, name: &str) -> TestUser {
        let n = self.unique();
        let (phone, language) = match region {
            "CN" => (format!("+8613{:09}", n), "zh-CN"),
            _ => (format!("+1555{:07}", n), "en-US"),
        };
        let password = format!("password-{name}-{n}");
        let reply = self
            .request(
                Method::POST,
                "/api/auth/register",
                None,
                Some(json!({"phone": phone, "password": password, "display_name": name, "region": region, "language": language})),
                "en-US",
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let auth: api::AuthResponse = reply.typed();
        TestUser {
            id: auth.user.id,
            token: auth.token,
            phone,
            password,
        }
    }

    /// Signs the same account in again: a second device.
    pub async fn login(&self, user: &TestUser) -> TestUser {
        let reply = self
            .request(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"identifier": user.phone, "password": user.password, "device_name": "second"})),
                "en-US",
            )
            .await;
        let auth: api::AuthResponse = reply.typed();
        TestUser {
            token: auth.token,
            ..user.clone()
        }
    }

    /// Makes two users friends; returns their direct conversation.
    pub async fn befriend(&self, a: &TestUser, b: &TestUser) -> i64 {
        let request: api::FriendRequest = self
            .post(a, "/api/friend-requests", json!({"to_user_id": b.id, "greeting": "hi"}))
            .await
            .typed();
        let contact: api::Contact = self
            .post(b, &format!("/api/friend-requests/{}/accept", request.id), json!({}))
            .await
            .typed();
        contact.conversation_id
    }

    pub async fn send_text(&self, user: &TestUser, conversation: i64, text: &str) -> api::Message {
        let id = format!("m{}", self.unique());
        self.post(
            user,
            &format!("/api/conversations/{conversation}/messages"),
            json!({"client_msg_id": id, "type": "text", "text": text}),
        )
        .await
        .typed()
    }

    pub async fn history(&self, user: &TestUser, conversation: i64) -> Vec<api::Message> {
        self.get(user, &format!("/api/conversations/{conversation}/messages"))
            .await
            .typed()
    }

    pub async fn sync_all(&self, user: &TestUser, since: i64) -> (Vec<api::Event>, i64) {
        let mut events = Vec::new();
        let mut cursor = since;
        loop {
            let page: api::SyncResponse = self
                .get(user, &format!("/api/sync?since={cursor}&limit=50"))
                .await
                .typed();
            cursor = page.next;
            events.extend(page.events);
            if !page.has_more {
                return (events, cursor);
            }
        }
    }

    pub async fn create_group(&self, owner: &TestUser, name: &str, members: &[&TestUser]) -> i64 {
        let ids: Vec<i64> = members.iter().map(|m| m.id).collect();
        let detail: api::ConversationDetail = self
            .post(owner, "/api/groups", json!({"name": name, "member_ids": ids}))
            .await
            .typed();
        detail.conversation.id
    }

    /// The HTTP status a WebSocket upgrade with this token gets, if refused.
    pub async fn ws_refused(&self, user: &TestUser) -> Option<u16> {
        let url = format!("ws://{}/api/ws?token={}", self.addr, user.token);
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok(_) => None,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Some(response.status().as_u16()),
            Err(other) => panic!("{other}"),
        }
    }

    pub async fn ws(&self, user: &TestUser, since: Option<i64>) -> WsClient {
        let mut url = format!("ws://{}/api/ws?token={}", self.addr, user.token);
        if let Some(since) = since {
            url.push_str(&format!("&since={since}"));
        }
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
        let mut client = WsClient {
            socket,
            replayed: Vec::new(),
            synced_at: 0,
        };
        loop {
            match client.next_frame().await {
                api::ServerFrame::Synced { pos } => {
                    client.synced_at = pos;
                    return client;
                }
                api::ServerFrame::Event(e) => client.replayed.push(e),
                other => panic!("unexpected frame before synced: {other:?}"),
            }
        }
    }
}

impl Drop for TestApp {
    /// Drops this test's PostgreSQL database. On its own thread: the sync
    /// client must not run inside the test's async runtime.
    fn drop(&mut self) {
        let Some(url) = self.owned_database.take() else { return };
        let Some(name) = url.rsplit('/').next().map(str::to_owned) else {
            return;
        };
        let _ = std::thread::spawn(move || {
            if let Ok(mut admin) = postgres::Client::connect(PG_ADMIN_URL, postgres::NoTls) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        })
        .join();
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct WsClient {
    pub socket: Socket,
    /// Events replayed before `synced`.
    pub replayed: Vec<api::Event>,
    pub synced_at: i64,
}

/// How long a test waits for something that should arrive at once.
pub const ARRIVAL: Duration = Duration::from_secs(10);

impl WsClient {
    pub async fn next_frame(&mut self) -> api::ServerFrame {
        loop {
            let frame = tokio::time::timeout(ARRIVAL, self.socket.next())
                .await
                .expect("no frame within the deadline")
                .expect("socket closed")
                .unwrap();
            if let WsMessage::Text(text) = frame {
                return serde_json::from_str(text.as_str()).unwrap();
            }
        }
    }

    /// The next event, skipping acks and pongs.
    pub async fn next_event(&mut self) -> api::Event {
        loop {
            if let api::ServerFrame::Event(event) = self.next_frame().await {
                return event;
            }
        }
    }

    /// The next event of this kind, skipping others.
    pub async fn next_of(&mut self, kind: &str) -> api::Event {
        loop {
            let event = self.next_event().await;
            if event.kind == kind {
                return event;
            }
        }
    }

    /// Reads until the server closes the socket; the close code it sent.
    pub async fn closed_with(&mut self) -> Option<u16> {
        loop {
            let frame = tokio::time::timeout(ARRIVAL, self.socket.next())
                .await
                .expect("the socket was not closed within the deadline");
            match frame {
                Some(Ok(WsMessage::Close(close))) => return close.map(|c| u16::from(c.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    pub async fn send_json(&mut self, value: Value) {
        self.socket
            .send(WsMessage::Text(value.to_string().into()))
            .await
            .unwrap();
    }
}
