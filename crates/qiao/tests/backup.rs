//! `qiao admin backup --database URL` on PostgreSQL: pg_dump while a node
//! serves, restored with pg_restore into a new database, which reconciles
//! and holds what the node wrote.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use qiao_server::{Application, Config};

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Runs each statement on its own (CREATE/DROP DATABASE refuse a transaction).
fn admin(statements: Vec<String>) {
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(PG_ADMIN_URL, postgres::NoTls).unwrap();
        for sql in statements {
            client.batch_execute(&sql).unwrap();
        }
    })
    .join()
    .unwrap();
}

fn count_users(url: String) -> i64 {
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client.query_one("SELECT COUNT(*) FROM users", &[]).unwrap().get(0)
    })
    .join()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_backup_restores_into_a_new_database() {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (source, target) = (format!("qiao_backup_{suffix}"), format!("qiao_restore_{suffix}"));
    admin(vec![
        format!("CREATE DATABASE {source}"),
        format!("CREATE DATABASE {target}"),
    ]);
    let source_url = format!("postgres://postgres@127.0.0.1:5432/{source}");
    let target_url = format!("postgres://postgres@127.0.0.1:5432/{target}");

    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        database: Some(source_url.clone()),
        argon2_memory_kib: 1024,
        argon2_iterations: 1,
        ..Config::default()
    };
    let app = Application::build(config).await.unwrap();
    let url = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run());
    for n in 0..3 {
        let registered = reqwest::Client::new()
            .post(format!("{url}/api/auth/register"))
            .json(&serde_json::json!({
                "phone": format!("+1555000{n:04}"), "password": "password-1",
                "display_name": "Backed up", "region": "US", "language": "en-US"
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(registered.status().as_u16(), 201);
    }

    let to = dir.path().join("backup");
    let (source_for_dump, to_for_dump) = (source_url.clone(), to.clone());
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_qiao"))
            .args(["admin", "backup", "--database", &source_for_dump, "--to"])
            .arg(&to_for_dump)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(to.join("qiao.pgdump").exists());

    let restored = Command::new("pg_restore")
        .args(["--no-owner", "-d", &target_url])
        .arg(to.join("qiao.pgdump"))
        .output()
        .unwrap();
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert_eq!(count_users(target_url.clone()), 3);
    let reconciled = Command::new(env!("CARGO_BIN_EXE_qiao"))
        .args(["admin", "reconcile", "--database", &target_url])
        .output()
        .unwrap();
    assert!(
        reconciled.status.success(),
        "{}",
        String::from_utf8_lossy(&reconciled.stdout)
    );

    admin(vec![
        format!("DROP DATABASE IF EXISTS {target} WITH (FORCE)"),
        format!("DROP DATABASE IF EXISTS {source} WITH (FORCE)"),
    ]);
}
