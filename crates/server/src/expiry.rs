//! The sweeps, on an interval for as long as the server runs: refunds of
//! transfers nobody accepted and red packets nobody finished within 24
//! hours, bank movements a crash left pending (both the money service's),
//! and sessions idle for too long. Tests call them directly after moving
//! their clock.

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
            match crate::sessions::expire_idle(&app).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(ended = n, "idle sessions ended"),
                Err(e) => tracing::warn!(error = ?e, "session sweep failed; retrying next tick"),
            }
        }
    });
}
