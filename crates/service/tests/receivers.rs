//! The receivers the merchant guide gives (docs/examples, Python and Node)
//! accept what Qiao signs and refuse anything altered, old or signed with
//! another secret: the documentation runs.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use qiao_service::webhooks::signature;

const SECRET: &str = "whsec_guide_test";

struct Receiver(Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a receiver and waits for its "listening" line.
fn start(program: &str, script: &str, port: u16) -> Receiver {
    let path = format!("{}/../../docs/examples/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(program)
        .arg(&path)
        .arg(port.to_string())
        .env("QIAO_SIGNING_SECRET", SECRET)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} {path}: {e}"));
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("listening"), "{first}");
    Receiver(child)
}

async fn post(port: u16, timestamp: i64, nonce: &str, body: &str, sig: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/"))
        .header("Qiao-Timestamp", timestamp.to_string())
        .header("Qiao-Nonce", nonce)
        .header("Qiao-Signature", sig)
        .header("Qiao-Event-Id", "evt_payment_1")
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn check(program: &str, script: &str) {
    let port = free_port();
    let _receiver = start(program, script, port);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let body = r#"{"id":"evt_payment_1","type":"payment.succeeded","created_at_ms":1,"order":{"out_trade_no":"T-1","status":"paid"},"refund":null}"#;
    let good = signature(SECRET, now, "n1", body);
    assert_eq!(
        post(port, now, "n1", body, &good).await,
        200,
        "{script}: a genuine notification"
    );
    assert_eq!(
        post(port, now, "n1", body, &good).await,
        200,
        "{script}: a repeat is fine"
    );
    let altered = body.replace("paid", "refunded");
    assert_eq!(
        post(port, now, "n1", &altered, &good).await,
        400,
        "{script}: an altered body"
    );
    assert_eq!(post(port, now, "n2", body, &good).await, 400, "{script}: another nonce");
    let other = signature("whsec_other", now, "n1", body);
    assert_eq!(
        post(port, now, "n1", body, &other).await,
        400,
        "{script}: another secret"
    );
    let old = now - 3600;
    let stale = signature(SECRET, old, "n1", body);
    assert_eq!(
        post(port, old, "n1", body, &stale).await,
        400,
        "{script}: an old timestamp"
    );
}

#[tokio::test]
async fn the_python_receiver_checks_signatures() {
    check("python3", "receiver.py").await;
}

#[tokio::test]
async fn the_node_receiver_checks_signatures() {
    check("node", "receiver.mjs").await;
}
