//! Qiao's server: HTTP and WebSocket over the store.
//!
//! Architecture invariant: only this crate knows HTTP. Handlers parse wire
//! types into domain types, check who is asking, call one use case (the
//! money service for anything about money, the store for chat) and map the
//! outcome; they never write SQL and never decide a rule.

pub mod app;
pub mod auth;
pub mod blobs;
pub mod client_ip;
pub mod cluster;
pub mod config;
pub mod error;
pub mod expiry;
pub mod http;
pub mod hub;
pub mod i18n;
pub mod metrics;
pub mod qr;
pub mod sessions;
pub mod state;
pub mod tls;
pub mod web;
pub mod ws;

pub use app::Application;
pub use config::Config;
