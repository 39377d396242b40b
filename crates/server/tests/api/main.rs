//! Integration tests: the real server on a random port, a fresh database per
//! test, driven over HTTP and WebSocket as clients drive it. Every test runs
//! against SQLite and against PostgreSQL.
#![allow(clippy::unwrap_used)]

mod helpers;

mod accounts;
mod bad_input;
mod blobs;
mod chat;
mod cluster;
mod contacts;
mod faults;
mod fx;
mod groups;
mod identity;
mod merchants;
mod money_holes;
mod operations;
mod payments;
mod proxies;
mod realtime;
mod receiver;
mod sessions;
mod wallet;
