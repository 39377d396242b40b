//! Crash safety: `kill -9` the real server in the middle of a storm of
//! payments, start it again on the same data directory, and check that
//! `qiao admin reconcile` passes and that every payment the server
//! acknowledged is there exactly once (a retry of its key returns it; no key
//! moved money twice).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

const PIN: &str = "135790";
const AMOUNT: i64 = 100;
const TOP_UP: i64 = 1_000_000;

/// Starts `qiao serve` on a free port; returns the child and its base URL once it listens.
fn start(data_dir: &Path, env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qiao"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .envs(env.iter().copied())
        .env("QIAO_ARGON2_MEMORY_KIB", "1024")
        .env("QIAO_ARGON2_ITERATIONS", "1")
        .env("QIAO_PIN_PER_USER_PER_MINUTE", "100000")
        .env("QIAO_PUBLIC_PER_ADDRESS_PER_MINUTE", "100000")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines.next().expect("server exited before listening").unwrap();
        if let Some(rest) = line.split("open http://").nth(1) {
            break format!("http://{}", rest.split('/').next().unwrap());
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

struct Api {
    http: reqwest::Client,
    url: String,
}

impl Api {
    async fn call(&self, token: Option<&str>, path: &str, body: Value) -> reqwest::Result<(u16, Value)> {
        let mut request = self.http.post(format!("{}{path}", self.url)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    async fn ok(&self, token: Option<&str>, path: &str, body: Value) -> Value {
        let (status, body) = self.call(token, path, body).await.unwrap();
        assert!((200..300).contains(&status), "{path}: {status} {body}");
        body
    }

    /// Binds a sandbox card (confirmed with the password); its id.
    async fn bind(&self, token: &str, number: &str) -> i64 {
        self.ok(
            Some(token),
            "/api/wallet/cards",
            json!({"number": number, "funding": "debit", "password": "password-1"}),
        )
        .await["id"]
            .as_i64()
            .unwrap()
    }

    async fn set_pin(&self, token: &str) {
        self.http
            .put(format!("{}/api/wallet/pin", self.url))
            .bearer_auth(token)
            .json(&json!({"password": "password-1", "pin": PIN}))
            .send()
            .await
            .unwrap();
    }

    async fn get(&self, token: &str, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
        response.json().await.unwrap()
    }
}

/// Proves `phone` with the code the sandbox outbox in `data_dir` has for it.
async fn verify_phone(api: &Api, token: &str, data_dir: &Path, phone: &str) {
    let outbox = std::fs::read_to_string(data_dir.join("outbox.jsonl")).unwrap();
    let body = outbox
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .rfind(|m| m["to"] == phone)
        .unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = body
        .split(|c: char| !c.is_ascii_digit())
        .find(|p| p.len() == 6)
        .unwrap();
    api.ok(
        Some(token),
        "/api/me/verification/confirm",
        json!({"kind": "phone", "code": code}),
    )
    .await;
}

async fn register(api: &Api, phone: &str) -> (i64, String) {
    let auth = api
        .ok(
            None,
            "/api/auth/register",
            json!({"phone": phone, "password": "password-1", "display_name": phone, "region": "US", "language": "en-US"}),
        )
        .await;
    (
        auth["user"]["id"].as_i64().unwrap(),
        auth["token"].as_str().unwrap().to_owned(),
    )
}

fn reconcile(data_dir: &Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_qiao"))
        .args(["admin", "reconcile", "--data-dir"])
        .arg(data_dir)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_payment_storm_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut server, url) = start(&data, &[]);
    let api = Api {
        http: reqwest::Client::new(),
        url,
    };
    let (_, amy) = register(&api, "+15550000001").await;
    verify_phone(&api, &amy, &data, "+15550000001").await;
    let (ben_id, ben) = register(&api, "+15550000002").await;
    let request = api
        .ok(
            Some(&amy),
            "/api/friend-requests",
            json!({"to_user_id": ben_id, "greeting": "hi"}),
        )
        .await;
    let contact = api
        .ok(
            Some(&ben),
            &format!("/api/friend-requests/{}/accept", request["id"]),
            json!({}),
        )
        .await;
    let conversation = contact["conversation_id"].as_i64().unwrap();
    let card = api.bind(&amy, "4242424242424242").await;
    api.ok(
        Some(&amy),
        "/api/wallet/top-ups",
        json!({"card_id": card, "amount_minor": TOP_UP, "idempotency_key": "seed"}),
    )
    .await;
    api.set_pin(&amy).await;

    // The storm: 8 workers send transfers (Ben accepts every other one) until
    // 150 are acknowledged; then the server is killed with SIGKILL mid-flight.
    let acknowledged: Arc<Mutex<BTreeMap<String, i64>>> = Arc::default();
    let attempted: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let api = Arc::new(api);
    let path = format!("/api/conversations/{conversation}/transfers");
    let (acks, mut acked) = tokio::sync::mpsc::unbounded_channel::<()>();
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (api, amy, ben, path) = (Arc::clone(&api), amy.clone(), ben.clone(), path.clone());
            let (acknowledged, attempted, acks) = (Arc::clone(&acknowledged), Arc::clone(&attempted), acks.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let key = format!("w{w}-{i}");
                    attempted.lock().unwrap().insert(key.clone());
                    let body = json!({"idempotency_key": key, "amount_minor": AMOUNT, "pin": PIN});
                    match api.call(Some(&amy), &path, body).await {
                        Ok((201, p)) => {
                            let id = p["id"].as_i64().unwrap();
                            acknowledged.lock().unwrap().insert(key, id);
                            let _ = acks.send(());
                            if i % 2 == 0
                                && api
                                    .call(Some(&ben), &format!("/api/payments/{id}/accept"), json!({}))
                                    .await
                                    .is_err()
                            {
                                return;
                            }
                        }
                        Ok((status, body)) => panic!("{status}: {body}"),
                        Err(_) => return, // the server is gone
                    }
                }
            })
        })
        .collect();
    for _ in 0..150 {
        acked.recv().await.unwrap();
    }
    server.kill().unwrap(); // SIGKILL: no shutdown, no flush
    server.wait().unwrap();
    for worker in workers {
        worker.await.unwrap();
    }

    let (sound, report) = reconcile(&data);
    assert!(sound, "after the crash: {report}");

    let (mut server, url) = start(&data, &[]);
    let api = Api {
        http: reqwest::Client::new(),
        url,
    };
    let login = api
        .ok(
            None,
            "/api/auth/login",
            json!({"identifier": "+15550000001", "password": "password-1", "device_name": "after"}),
        )
        .await;
    let amy = login["token"].as_str().unwrap().to_owned();
    // Every key retried: an acknowledged one returns its first payment, an
    // unacknowledged one happens now or returns what happened before the crash.
    let acknowledged = acknowledged.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    let mut ids = BTreeSet::new();
    for key in &attempted {
        let p = api
            .ok(
                Some(&amy),
                &path,
                json!({"idempotency_key": key, "amount_minor": AMOUNT, "pin": PIN}),
            )
            .await;
        let id = p["id"].as_i64().unwrap();
        if let Some(first) = acknowledged.get(key) {
            assert_eq!(*first, id, "{key} acknowledged as {first}, now {id}");
        }
        assert!(ids.insert(id), "two keys share payment {id}");
    }
    // Money moved exactly once per key.
    let wallet = api.get(&amy, "/api/wallet").await;
    let balance = wallet["balances"][0]["balance_minor"].as_i64().unwrap();
    assert_eq!(
        balance,
        TOP_UP - AMOUNT * attempted.len() as i64,
        "{} keys",
        attempted.len()
    );
    let statement = api.get(&amy, "/api/wallet/statement?limit=200").await;
    let mut seen = BTreeSet::new();
    let mut before = None;
    let mut page = statement;
    loop {
        for e in page["entries"].as_array().unwrap() {
            if e["purpose"] == "transfer" && e["direction"] == "out" {
                let reference: i64 = e["reference"].as_str().unwrap().parse().unwrap();
                assert!(seen.insert(reference), "payment {reference} debited twice");
            }
        }
        match page["next_before"].as_i64() {
            Some(next) if Some(next) != before => {
                before = Some(next);
                page = api
                    .get(&amy, &format!("/api/wallet/statement?limit=200&before={next}"))
                    .await;
            }
            _ => break,
        }
    }
    assert_eq!(seen, ids);

    server.kill().unwrap();
    server.wait().unwrap();
    let (sound, report) = reconcile(&data);
    assert!(sound, "at the end: {report}");
}

/// Bank movements cut mid-way by `kill -9`: top-ups and withdrawals (some to
/// a card whose bank never answers) in a storm; the server dies with some
/// reserved and never settled. Started again, it finishes every one of them
/// itself before taking requests (asking the bank again with the same key),
/// so nothing is left pending; and every key, retried, moved money once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_bank_movements_leaves_nothing_pending() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut server, url) = start(&data, &[]);
    let api = Api {
        http: reqwest::Client::new(),
        url,
    };
    let (_, amy) = register(&api, "+15550000003").await;
    verify_phone(&api, &amy, &data, "+15550000003").await;
    let good = api.bind(&amy, "4242424242424242").await;
    let slow = api.bind(&amy, "4000000000000119").await;
    api.ok(
        Some(&amy),
        "/api/wallet/top-ups",
        json!({"card_id": good, "amount_minor": TOP_UP, "idempotency_key": "seed"}),
    )
    .await;
    api.set_pin(&amy).await;

    // One top-up that the bank answers slowly: certainly in flight at the crash.
    let slow_bank = api.bind(&amy, "4000000000000077").await;
    let in_flight = json!({"card_id": slow_bank, "amount_minor": 2_000, "idempotency_key": "in-flight"});
    let never_answered = {
        let (http, url, amy, body) = (api.http.clone(), api.url.clone(), amy.clone(), in_flight.clone());
        tokio::spawn(async move {
            http.post(format!("{url}/api/wallet/top-ups"))
                .bearer_auth(amy)
                .json(&body)
                .send()
                .await
        })
    };
    // Its reservation is committed (visible to the read-only check) before the storm starts.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !reconcile(&data).1.contains("pending, not yet posted or voided: 1") {
        assert!(
            std::time::Instant::now() < deadline,
            "the slow top-up was never reserved"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // (key, path, body) of every movement tried.
    type Tried = (String, &'static str, Value);
    let attempted: Arc<Mutex<Vec<Tried>>> = Arc::default();
    let api = Arc::new(api);
    let (acks, mut acked) = tokio::sync::mpsc::unbounded_channel::<()>();
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (api, amy, attempted, acks) = (Arc::clone(&api), amy.clone(), Arc::clone(&attempted), acks.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let key = format!("m{w}-{i}");
                    let card = if i % 7 == 3 { slow } else { good };
                    let (path, body) = if (w + i) % 2 == 0 {
                        (
                            "/api/wallet/top-ups",
                            json!({"card_id": card, "amount_minor": 1_000, "idempotency_key": key}),
                        )
                    } else {
                        (
                            "/api/wallet/withdrawals",
                            json!({"card_id": card, "amount_minor": 500, "idempotency_key": key, "pin": PIN}),
                        )
                    };
                    attempted.lock().unwrap().push((key.clone(), path, body.clone()));
                    match api.call(Some(&amy), path, body).await {
                        Ok((201, _)) => {
                            let _ = acks.send(());
                        }
                        Ok((504, _)) => {}
                        Ok((status, body)) => panic!("{status}: {body}"),
                        Err(_) => return, // the server is gone
                    }
                }
            })
        })
        .collect();
    // The slow top-up's bank answers five seconds after it was asked; the
    // storm's first 60 movements take a fraction of that.
    for _ in 0..60 {
        acked.recv().await.unwrap();
    }
    server.kill().unwrap(); // SIGKILL mid-flight
    server.wait().unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
    assert!(
        never_answered.await.unwrap().is_err(),
        "the server died before answering"
    );
    let (sound, report) = reconcile(&data);
    assert!(sound, "after the crash: {report}");
    assert!(
        !report.contains("pending, not yet posted or voided: 0"),
        "the crash left the slow top-up half-moved: {report}"
    );

    // Started again (settling anything older than now), it finishes what the crash left.
    let (mut server, url) = start(&data, &[("QIAO_SETTLE_ABANDONED_AFTER_SECONDS", "0")]);
    let (sound, report) = reconcile(&data);
    assert!(sound, "after the restart: {report}");
    assert!(
        report.contains("pending, not yet posted or voided: 0"),
        "nothing left half-moved: {report}"
    );
    let api = Api {
        http: reqwest::Client::new(),
        url,
    };
    let amy = api
        .ok(
            None,
            "/api/auth/login",
            json!({"identifier": "+15550000003", "password": "password-1", "device_name": "after"}),
        )
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Every key retried answers what happened to it, once. The slow top-up
    // was finished by the restart itself: the bank said yes.
    let (status, _) = api.call(Some(&amy), "/api/wallet/top-ups", in_flight).await.unwrap();
    assert_eq!(status, 201);
    let attempted = attempted.lock().unwrap().clone();
    let mut expected = TOP_UP + 2_000;
    for (key, path, body) in &attempted {
        let (status, answer) = api.call(Some(&amy), path, body.clone()).await.unwrap();
        match (status, *path) {
            (201, "/api/wallet/top-ups") => expected += 1_000,
            (201, _) => expected -= 500,
            (504, _) => assert_eq!(answer["code"], "bank_timeout", "{key}"),
            _ => panic!("{key}: {status} {answer}"),
        }
    }
    let wallet = api.get(&amy, "/api/wallet").await;
    assert_eq!(wallet["balances"][0]["balance_minor"].as_i64().unwrap(), expected);
    server.kill().unwrap();
    server.wait().unwrap();
    let (sound, report) = reconcile(&data);
    assert!(
        sound && report.contains("pending, not yet posted or voided: 0"),
        "at the end: {report}"
    );
}

/// Graceful shutdown: SIGTERM while an upload is half sent and a WebSocket
/// is open. The upload is answered, the WebSocket is closed with 1012
/// ("reconnect"), nothing new is accepted, and the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_requests_in_flight_and_tells_websockets_to_reconnect() {
    use futures_util::StreamExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::Message;

    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = start(dir.path(), &[("QIAO_SHUTDOWN_GRACE_SECONDS", "10")]);
    let api = Api {
        http: reqwest::Client::new(),
        url: url.clone(),
    };
    let (_, token) = register(&api, "+15550001111").await;

    let ws_url = format!("{}/api/ws?token={token}", url.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let first = ws.next().await.unwrap().unwrap();
    assert!(first.to_text().unwrap().contains("synced"), "{first:?}");

    // Half an upload on the wire when the signal comes.
    let body = vec![b'q'; 64 * 1024];
    let address = url.trim_start_matches("http://").to_owned();
    let mut upload = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/uploads HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    upload.write_all(head.as_bytes()).await.unwrap();
    upload.write_all(&body[..body.len() / 2]).await.unwrap();
    upload.flush().await.unwrap();

    let pid = child.id().to_string();
    let signalled = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(signalled.success());

    // The WebSocket is told to reconnect.
    let closing = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => break frame,
                Some(Ok(_)) => continue,
                other => panic!("no close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("a close frame within the grace period")
    .expect("a close code");
    assert_eq!(u16::from(closing.code), 1012);
    assert!(closing.reason.contains("reconnect"), "{}", closing.reason);

    // The rest of the upload still gets its answer.
    upload.write_all(&body[body.len() / 2..]).await.unwrap();
    let mut answer = String::new();
    upload.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");

    let exited = tokio::time::timeout(
        std::time::Duration::from_secs(15),
        tokio::task::spawn_blocking(move || child.wait()),
    )
    .await
    .expect("the process exits within the grace period")
    .unwrap()
    .unwrap();
    assert!(exited.success(), "exit status {exited:?}");
    assert!(
        tokio::net::TcpStream::connect(&address).await.is_err(),
        "nothing listens after the shutdown"
    );
}

/// Copies a directory tree (a restore, as an operator would do it by hand).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// `qiao admin backup` while the server runs, restored into a new data
/// directory: accounts, money and uploads are all there, and the ledger
/// reconciles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = start(dir.path(), &[]);
    let api = Api {
        http: reqwest::Client::new(),
        url: url.clone(),
    };
    let phone = "+15550002222";
    let (_, amy) = register(&api, phone).await;
    verify_phone(&api, &amy, dir.path(), phone).await;
    let card = api.bind(&amy, "4242424242424242").await;
    api.ok(
        Some(&amy),
        "/api/wallet/top-ups",
        json!({"card_id": card, "amount_minor": 12_345, "idempotency_key": "backed-up"}),
    )
    .await;
    let uploaded: Value = api
        .http
        .post(format!("{url}/api/uploads"))
        .bearer_auth(&amy)
        .header("content-type", "text/plain")
        .body("kept in the backup")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hash = uploaded["hash"].as_str().unwrap().to_owned();

    let backups = tempfile::tempdir().unwrap();
    let to = backups.path().join("today");
    let output = Command::new(env!("CARGO_BIN_EXE_qiao"))
        .args(["admin", "backup", "--data-dir"])
        .arg(dir.path())
        .arg("--to")
        .arg(&to)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("blobs: 1 files"), "{printed}");
    child.kill().unwrap();
    child.wait().unwrap();

    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(to.join("qiao.db"), restored.path().join("qiao.db")).unwrap();
    copy_dir(&to.join("blobs"), &restored.path().join("blobs"));
    let (sound, report) = reconcile(restored.path());
    assert!(sound, "{report}");

    let (mut child, url) = start(restored.path(), &[]);
    let api = Api {
        http: reqwest::Client::new(),
        url: url.clone(),
    };
    let login = api
        .ok(
            None,
            "/api/auth/login",
            json!({"identifier": phone, "password": "password-1"}),
        )
        .await;
    let token = login["token"].as_str().unwrap().to_owned();
    let wallet = api.get(&token, "/api/wallet").await;
    assert_eq!(wallet["balances"][0]["balance_minor"].as_i64(), Some(12_345));
    let blob = api
        .http
        .get(format!("{url}/api/uploads/{hash}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(blob.status().as_u16(), 200);
    assert_eq!(blob.text().await.unwrap(), "kept in the backup");
    child.kill().unwrap();
    child.wait().unwrap();

    // A second backup never overwrites the first.
    let again = Command::new(env!("CARGO_BIN_EXE_qiao"))
        .args(["admin", "backup", "--data-dir"])
        .arg(restored.path())
        .arg("--to")
        .arg(&to)
        .output()
        .unwrap();
    assert!(!again.status.success());
}
