//! What every handler can reach: the store, the money service, the hub,
//! configuration, the clock.

use std::sync::Arc;

use qiao_service::money::Money;
use qiao_store::Store;

pub use qiao_service::clock::{Clock, ManualClock, SystemClock};

use crate::auth::{Passwords, RateLimits};
use crate::config::Config;
use crate::hub::Hub;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Every money use case; handlers only call it.
    pub money: Arc<Money>,
    /// Proving phones and emails; the daily lookup budgets.
    pub identity: Arc<qiao_service::identity::Identity>,
    /// The sandbox outbox (what text messages, and email without SMTP, "sent").
    pub outbox: Arc<qiao_service::notify::SandboxOutbox>,
    pub hub: Arc<Hub>,
    /// Live sessions: the token cache and where sessions end.
    pub sessions: Arc<crate::sessions::Sessions>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub passwords: Passwords,
    pub limits: Arc<RateLimits>,
    pub metrics: Arc<Metrics>,
    /// Sends merchants' notifications from the outbox.
    pub webhooks: Arc<qiao_service::webhooks::Deliverer>,
    /// The NATS link, when clustered.
    pub nats: Option<Arc<crate::cluster::Link>>,
    /// Whose forwarded client address is believed.
    pub proxies: Arc<crate::client_ip::TrustedProxies>,
    /// Where uploaded bytes live.
    pub blobs: crate::blobs::Blobs,
    /// Who may read `/metrics`.
    pub metrics_allow: Arc<crate::client_ip::Networks>,
}
