//! Qiao's server: HTTP and WebSocket over the store.
//!
//! Architecture invariant: only this crate knows HTTP. Handlers parse wire
//! types into domain types, check who is asking, call the store (which applies
//! the domain rules atomically) and map the outcome; they never write SQL.

pub mod app;
pub mod auth;
pub mod bank;
pub mod cluster;
pub mod config;
pub mod error;
pub mod expiry;
pub mod http;
pub mod hub;
pub mod i18n;
pub mod metrics;
pub mod state;
pub mod web;
pub mod ws;

pub use app::Application;
pub use config::Config;
