//! What every handler can reach: the store, the hub, configuration, the clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use qiao_store::Store;

use crate::auth::{Passwords, RateLimits};
use crate::config::Config;
use crate::hub::Hub;
use crate::metrics::Metrics;

/// Time as the server sees it; injected so tests can move it.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// A clock that starts at the real time and moves only when told to.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new() -> Self {
        Self(AtomicI64::new(SystemClock.now_ms()))
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub hub: Arc<Hub>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub passwords: Passwords,
    pub limits: Arc<RateLimits>,
    pub metrics: Arc<Metrics>,
    /// How money enters and leaves Qiao: the sandbox bank unless configured otherwise.
    pub bank: Arc<dyn crate::bank::BankConnector>,
}
