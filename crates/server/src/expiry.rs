//! The sweeps, on an interval for as long as the server runs: refunds of
//! transfers nobody accepted and red packets nobody finished within 24
//! hours, bank movements a crash left pending, merchant orders past their
//! expiry, merchants' payouts for days that ended (all the money service's),
//! sessions idle for too long; and, more often, merchants' notifications.
//! Tests call them directly after moving their clock.

use std::time::Duration;

use crate::state::AppState;

/// Sweeps every `expiry_sweep_seconds`.
pub fn spawn(app: AppState) {
    let every = Duration::from_secs(app.config.expiry_sweep_seconds.max(1));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            match app.money.expire_due().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(refunded = n, "expired payments refunded"),
                Err(e) => tracing::warn!(error = %e, "expiry sweep failed; retrying next tick"),
            }
            match app.money.settle_abandoned().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(settled = n, "abandoned bank movements settled"),
                Err(e) => tracing::warn!(error = %e, "bank sweep failed; retrying next tick"),
            }
            match app.money.expire_orders().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "unpaid merchant orders expired"),
                Err(e) => tracing::warn!(error = %e, "order sweep failed; retrying next tick"),
            }
            match app.money.pay_out_merchants().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(payouts = n, "merchants paid out"),
                Err(e) => tracing::warn!(error = %e, "payout sweep failed; retrying next tick"),
            }
            match crate::sessions::expire_idle(&app).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(ended = n, "idle sessions ended"),
                Err(e) => tracing::warn!(error = ?e, "session sweep failed; retrying next tick"),
            }
        }
    });
}

/// Delivers merchants' notifications every `notify_poll_seconds`.
pub fn spawn_notifications(app: AppState) {
    let every = Duration::from_secs(app.config.notify_poll_seconds.max(1));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            if let Err(e) = app.webhooks.deliver_due().await {
                tracing::warn!(error = %e, "notification delivery failed; retrying next tick");
            }
        }
    });
}
