//! Refunds transfers nobody accepted and red packets nobody finished within
//! 24 hours. A background task sweeps on an interval; tests call [`sweep`]
//! after moving their clock.

use std::time::Duration;

use crate::state::AppState;

/// Payments refunded per store call; the sweep repeats until none are due.
const BATCH: usize = 200;

/// Refunds everything due by the clock's now; returns how many.
pub async fn sweep(app: &AppState) -> Result<usize, qiao_store::StoreError> {
    let mut total = 0;
    loop {
        let refunded = app.store.expire_payments(app.clock.now_ms(), BATCH).await?;
        total += refunded.len();
        if refunded.len() < BATCH {
            return Ok(total);
        }
    }
}

/// Sweeps every `expiry_sweep_seconds` for as long as the server runs.
pub fn spawn(app: AppState) {
    let every = Duration::from_secs(app.config.expiry_sweep_seconds.max(1));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            match sweep(&app).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(refunded = n, "expired payments refunded"),
                Err(e) => tracing::warn!(error = %e, "expiry sweep failed; retrying next tick"),
            }
        }
    });
}
