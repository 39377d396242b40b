//! Links broken for real: PostgreSQL ending the node's sessions
//! (`pg_terminate_backend`), and outages cut in a TCP forwarder between the
//! nodes and PostgreSQL or NATS. While the database is out of reach a node
//! answers `unavailable` (503, `/readyz` too); while NATS is, it still
//! delivers (from the database, within a second) and `/readyz` says
//! `degraded`; and the node recovers by itself.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{Backend, TestApp, PG_ADMIN_URL};

/// A TCP forwarder to a local server (PostgreSQL on 5432, NATS on 4222)
/// that the test can break: cutting closes every forwarded connection and
/// refuses new ones; freezing stops moving bytes but keeps the connections
/// open, as a link that silently drops packets does.
struct Forwarder {
    addr: SocketAddr,
    state: watch::Sender<Link>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Up,
    Cut,
    Frozen,
}

impl Forwarder {
    async fn start(target_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (state, watching) = watch::channel(Link::Up);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if *watching.borrow() != Link::Up {
                    drop(client);
                    continue;
                }
                let mut watching = watching.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(("127.0.0.1", target_port)).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
                        _ = watching.wait_for(|link| *link != Link::Up) => {}
                    }
                    // Frozen: hold both ends, silent, until the link changes again.
                    if *watching.borrow() == Link::Frozen {
                        let _ = watching.wait_for(|link| *link != Link::Frozen).await;
                    }
                    drop((client, server));
                });
            }
        });
        Self { addr, state }
    }

    fn cut(&self) {
        self.state.send_replace(Link::Cut);
    }

    fn freeze(&self) {
        self.state.send_replace(Link::Frozen);
    }

    fn restore(&self) {
        self.state.send_replace(Link::Up);
    }
}

/// Points the node's database URL at the forwarder on `port`.
fn through(config: &mut qiao_server::Config, port: u16) {
    config.database = config
        .database
        .take()
        .map(|url| url.replace("127.0.0.1:5432", &format!("127.0.0.1:{port}")));
}

/// Ends every session of the app's database, as an operator's
/// `pg_terminate_backend` or a PostgreSQL failover would. Returns how many.
async fn terminate_sessions(app: &TestApp) -> i64 {
    let url = app.config.database.clone().unwrap();
    let name = url.rsplit('/').next().unwrap().to_owned();
    tokio::task::spawn_blocking(move || {
        let mut admin = postgres::Client::connect(PG_ADMIN_URL, postgres::NoTls).unwrap();
        let row = admin
            .query_one(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&name],
            )
            .unwrap();
        row.get::<_, i64>(0)
    })
    .await
    .unwrap()
}

async fn readyz(app: &TestApp) -> u16 {
    readiness(app).await.0
}

async fn readiness(app: &TestApp) -> (u16, serde_json::Value) {
    let response = app.http.get(app.url("/readyz")).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Polls `/readyz` until it answers 200: the node reconnects on its own
/// schedule (backoff), which nothing outside it can await.
async fn ready_again(app: &TestApp) {
    for _ in 0..200 {
        if readyz(app).await == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the node did not become ready again within 10 s");
}

/// Polls `/readyz` until NATS is reported connected (NATS' client retries
/// on its own schedule).
async fn nats_back(app: &TestApp) {
    for _ in 0..200 {
        let (status, health) = readiness(app).await;
        if status == 200 && health["status"] == "ready" && health["nats"] == "ok" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("NATS was not back within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_carries_on_when_postgres_ends_its_sessions() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let ada = app.register("Ada").await;
    let bo = app.register("Bo").await;
    let conversation = app.befriend(&ada, &bo).await;
    app.send_text(&ada, conversation, "before").await;

    let ended = terminate_sessions(&app).await;
    assert!(ended >= 2, "the writer's and a reader's sessions were ended ({ended})");

    // The writer finds its session gone before its next batch starts and
    // reconnects; the readers read again on new connections. Nobody sees it.
    let sent = app
        .call(
            Method::POST,
            &ada,
            &format!("/api/conversations/{conversation}/messages"),
            Some(json!({"client_msg_id": "after-1", "type": "text", "text": "after"})),
        )
        .await;
    assert_eq!(sent.status.as_u16(), 201, "{}", sent.body);
    let texts: Vec<_> = app
        .history(&bo, conversation)
        .await
        .into_iter()
        .filter_map(|m| m.text)
        .collect();
    assert_eq!(texts, ["after", "before"], "newest first");
    assert_eq!(readyz(&app).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_answers_unavailable_and_the_node_recovers_by_itself() {
    let link = Forwarder::start(5432).await;
    let port = link.addr.port();
    let app = TestApp::spawn_with(Backend::Postgres, |c| {
        through(c, port);
    })
    .await;
    let ada = app.register("Ada").await;
    let bo = app.register("Bo").await;
    let conversation = app.befriend(&ada, &bo).await;
    app.send_text(&ada, conversation, "before").await;
    assert_eq!(readyz(&app).await, 200);

    link.cut();
    let path = format!("/api/conversations/{conversation}/messages");
    let send_during = || {
        app.call(
            Method::POST,
            &ada,
            &path,
            Some(json!({"client_msg_id": "during-1", "type": "text", "text": "during"})),
        )
    };
    let during = send_during().await;
    during.assert_error(503, "unavailable");
    let read = app.call(Method::GET, &ada, "/api/me", None).await;
    read.assert_error(503, "unavailable");
    assert_eq!(readyz(&app).await, 503, "/readyz reports the database out of reach");

    link.restore();
    ready_again(&app).await;
    // The same request again, with the same client key: carried out once.
    let retried = send_during().await;
    assert_eq!(retried.status.as_u16(), 201, "{}", retried.body);
    app.send_text(&ada, conversation, "after").await;
    let texts: Vec<_> = app
        .history(&bo, conversation)
        .await
        .into_iter()
        .filter_map(|m| m.text)
        .collect();
    assert_eq!(
        texts,
        ["after", "during", "before"],
        "newest first, the retried message once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_start_without_nats_deliver_meanwhile_and_catch_up_when_it_is_back() {
    let nats = Forwarder::start(4222).await;
    nats.cut();
    // Both nodes start while NATS is out of reach.
    let (first, second) = TestApp::cluster_of_two_via(&format!("nats://127.0.0.1:{}", nats.addr.port())).await;
    // Reported, but still ready: the node serves, a second late for news
    // from other nodes.
    let (status, health) = readiness(&first).await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["nats"], "disconnected");
    assert_eq!(health["database"], "ok");

    let ada = first.register("Ada").await;
    let bo = second.register("Bo").await;
    let conversation = first.befriend(&ada, &bo).await;
    let mut bo_ws = second.ws(&bo, None).await;
    // Written on the first node, delivered live on the second from the
    // database while NATS is out.
    first.send_text(&ada, conversation, "while out").await;
    assert_eq!(bo_ws.next_of("message.new").await.data["text"], "while out");

    nats.restore();
    nats_back(&first).await;
    nats_back(&second).await;
    first.send_text(&ada, conversation, "back").await;
    assert_eq!(bo_ws.next_of("message.new").await.data["text"], "back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_database_link_answers_unavailable_within_the_request_timeout() {
    let link = Forwarder::start(5432).await;
    let port = link.addr.port();
    let app = TestApp::spawn_with(Backend::Postgres, |c| {
        c.request_timeout_seconds = 2;
        through(c, port);
    })
    .await;
    let ada = app.register("Ada").await;
    let bo = app.register("Bo").await;
    let conversation = app.befriend(&ada, &bo).await;

    link.freeze();
    let started = std::time::Instant::now();
    let frozen = app
        .call(
            Method::POST,
            &ada,
            &format!("/api/conversations/{conversation}/messages"),
            Some(json!({"client_msg_id": "frozen-1", "type": "text", "text": "frozen"})),
        )
        .await;
    frozen.assert_error(503, "unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "answered in {:?}",
        started.elapsed()
    );

    // Thawed (the frozen connections are dropped), the node recovers by itself.
    link.restore();
    ready_again(&app).await;
    app.send_text(&ada, conversation, "thawed").await;
}
