//! Uploads in an S3-compatible object store (a local moto server, installed
//! by `.ci/run`): two nodes with no shared disk, one stores, the other
//! serves.

use std::process::{Child, Command, Stdio};

use crate::helpers::{Backend, TestApp};

/// A local S3-compatible server on a free port, stopped on drop.
struct S3Server {
    child: Child,
    endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn s3_server() -> S3Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 -m moto.server (pip install 'moto[server]')");
    let server = S3Server {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    // The server starts on its own time; nothing to await but its port.
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return server;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the S3 server did not start within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_without_a_shared_disk_serve_each_others_uploads_from_the_object_store() {
    let s3 = s3_server().await;
    let bucket = format!("qiao-{}", uuid::Uuid::new_v4().simple());
    let created = reqwest::Client::new()
        .put(format!("{}/{bucket}", s3.endpoint))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "creating the bucket: {}",
        created.status()
    );

    let endpoint = s3.endpoint.clone();
    let first = TestApp::spawn_with(Backend::Postgres, |c| {
        c.blob_store = Some(format!("s3://{bucket}/uploads"));
        for (key, value) in [
            ("endpoint", endpoint.as_str()),
            ("region", "us-east-1"),
            ("access_key_id", "test"),
            ("secret_access_key", "test"),
            ("allow_http", "true"),
        ] {
            c.blob_store_options.insert(key.into(), value.into());
        }
    })
    .await;
    let second = first.another_node().await;
    assert_ne!(first.config.data_dir, second.config.data_dir);

    let ada = first.register("Ada").await;
    let bo = first.register("Bo").await;
    let conversation = first.befriend(&ada, &bo).await;
    let uploaded: qiao_api::Upload = first
        .upload(&ada, "text/plain", b"stored once, served anywhere")
        .await
        .typed();
    let hash = uploaded.hash;
    let sent = first
        .post(
            &ada,
            &format!("/api/conversations/{conversation}/messages"),
            serde_json::json!({"client_msg_id": "file-1", "type": "file", "blob": hash, "file_name": "note.txt"}),
        )
        .await;
    assert_eq!(sent.status.as_u16(), 201, "{}", sent.body);

    // Nothing on either node's disk: the bytes are in the bucket.
    assert!(!first.config.data_dir.join("blobs").join(&hash[..2]).exists());
    let served = second
        .http
        .get(second.url(&format!("/api/uploads/{hash}")))
        .bearer_auth(&bo.token)
        .send()
        .await
        .unwrap();
    assert_eq!(served.status().as_u16(), 200);
    assert_eq!(served.text().await.unwrap(), "stored once, served anywhere");
    let listed = reqwest::Client::new()
        .get(format!("{}/{bucket}?list-type=2", s3.endpoint))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.contains(&format!("uploads/{}/{hash}", &hash[..2])), "{listed}");
}
