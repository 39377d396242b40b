//! TLS everywhere it can be: the server terminating HTTPS itself with a
//! certificate the test makes (and a renewed one picked up without a
//! restart), the command-line client speaking https, and PostgreSQL
//! reached over TLS as `sslmode` asks.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use qiao_server::{Application, Config};

/// A self-signed certificate for `localhost`: (certificate PEM, key PEM).
fn certificate() -> (String, String) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    (made.cert.pem(), made.key_pair.serialize_pem())
}

/// An HTTPS client that trusts only `cert_pem`.
fn client_trusting(cert_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn https_server(dir: &Path, cert: &Path, key: &Path) -> String {
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.join("data"),
        argon2_memory_kib: 1024,
        argon2_iterations: 1,
        tls_cert_file: Some(cert.to_path_buf()),
        tls_key_file: Some(key.to_path_buf()),
        tls_reload_seconds: 1,
        ..Config::default()
    };
    let app = Application::build(config).await.unwrap();
    let url = format!("https://localhost:{}", app.local_addr().unwrap().port());
    tokio::spawn(app.run());
    url
}

fn write(path: &PathBuf, text: &str) {
    // Written beside and renamed in, as certbot does: never half a file.
    let partial = path.with_extension("new");
    std::fs::write(&partial, text).unwrap();
    std::fs::rename(&partial, path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_speaks_https_and_picks_up_a_renewed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let (first_cert, first_key) = certificate();
    write(&cert_path, &first_cert);
    write(&key_path, &first_key);
    let url = https_server(dir.path(), &cert_path, &key_path).await;

    let health = client_trusting(&first_cert)
        .get(format!("{url}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let plain = reqwest::get(url.replace("https://", "http://") + "/healthz").await;
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "plain HTTP is not served"
    );

    let (second_cert, second_key) = certificate();
    write(&key_path, &second_key);
    write(&cert_path, &second_cert);
    // The server looks at the files every second; nothing outside it can be awaited.
    let renewed = client_trusting(&second_cert);
    let mut served = false;
    for _ in 0..100 {
        if renewed.get(format!("{url}/healthz")).send().await.is_ok() {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "the renewed certificate was not served within 10 s");
    let old = client_trusting(&first_cert).get(format!("{url}/healthz")).send().await;
    assert!(old.is_err(), "the old certificate is no longer served");

    // The command-line client over https, trusting the certificate as a
    // system store would (SSL_CERT_FILE).
    let profile = dir.path().join("profile.json");
    let args = [
        "--server",
        &url,
        "--profile",
        profile.to_str().unwrap(),
        "register",
        "--phone",
        "+15550000077",
        "--password",
        "secret123",
        "--name",
        "Tess",
        "--region",
        "US",
    ]
    .map(str::to_owned);
    let cert_file = cert_path.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_qiao"))
            .args(&args)
            .env("SSL_CERT_FILE", cert_file)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_that_do_not_make_an_identity_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = certificate();
    let (_, other_key) = certificate();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    write(&cert_path, &cert);
    write(&key_path, &other_key);
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        tls_cert_file: Some(cert_path),
        tls_key_file: Some(key_path),
        ..Config::default()
    };
    let app = Application::build(config).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), app.run())
        .await
        .expect("a bad identity ends the start at once");
    let message = format!("{:?}", ended.expect_err("a certificate with another's key was served"));
    assert!(message.contains("do not make a TLS identity"), "{message}");
}

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Creates a database; runs `f` on it; drops it.
async fn with_database(f: impl AsyncFnOnce(String)) {
    let name = format!("qiao_tls_{}", uuid::Uuid::new_v4().simple());
    let admin = |sql: String| {
        std::thread::spawn(move || {
            let mut client = postgres::Client::connect(PG_ADMIN_URL, postgres::NoTls).unwrap();
            client.batch_execute(&sql).unwrap();
        })
        .join()
        .unwrap()
    };
    admin(format!("CREATE DATABASE {name}"));
    f(name.clone()).await;
    admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_is_reached_over_tls_when_sslmode_asks() {
    with_database(async |name| {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("data"),
            database: Some(format!("postgres://postgres@127.0.0.1:5432/{name}?sslmode=require")),
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            ..Config::default()
        };
        let app = Application::build(config).await.unwrap();
        let ready = app.state.store.ping().await;
        assert!(ready.is_ok(), "{ready:?}");
        let sessions = name.clone();
        let (total, encrypted) = std::thread::spawn(move || {
            let mut admin = postgres::Client::connect(PG_ADMIN_URL, postgres::NoTls).unwrap();
            let row = admin
                .query_one(
                    "SELECT COUNT(*), COUNT(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a
                     JOIN pg_stat_ssl s USING (pid) WHERE a.datname = $1",
                    &[&sessions],
                )
                .unwrap();
            (row.get::<_, i64>(0), row.get::<_, i64>(1))
        })
        .join()
        .unwrap();
        assert!(total >= 2, "the writer and a reader are connected ({total})");
        assert_eq!(encrypted, total, "every session of the node is encrypted");
        drop(app);

        // Given a CA that did not sign the server's certificate, the node
        // refuses the server rather than trusting it.
        let (stranger, _) = certificate();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, stranger).unwrap();
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("data2"),
            database: Some(format!(
                "postgres://postgres@127.0.0.1:5432/{name}?sslmode=require&sslrootcert={}",
                ca.display()
            )),
            ..Config::default()
        };
        let refused = match Application::build(config).await {
            Ok(_) => panic!("a server whose certificate the CA did not sign was trusted"),
            Err(e) => format!("{e:#}"),
        };
        assert!(refused.contains("certificate"), "{refused}");
    })
    .await;
}
