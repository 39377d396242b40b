#![allow(clippy::unwrap_used)]
use std::sync::Arc;
use qiao_store::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_in_async() {
    let mut admin = tokio::task::spawn_blocking(|| {
        let mut c = ::postgres::Client::connect("postgres://postgres@127.0.0.1:5432/test", ::postgres::NoTls).unwrap();
        c.batch_execute("DROP DATABASE IF EXISTS qiao_exp").unwrap(); c.batch_execute("CREATE DATABASE qiao_exp").unwrap();
        c
    }).await.unwrap();
    let store = tokio::task::spawn_blocking(|| open(&Location::Postgres("postgres://postgres@127.0.0.1:5432/qiao_exp".into()), Arc::new(NoSink))).await.unwrap().unwrap();
    store.ping().await.unwrap();
    drop(store);
    eprintln!("dropped fine");
    tokio::task::spawn_blocking(move || admin.batch_execute("DROP DATABASE qiao_exp WITH (FORCE)").unwrap()).await.unwrap();
}
