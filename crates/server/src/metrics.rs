//! Prometheus metrics, served at `/metrics`.

use prometheus::{Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use qiao_store::WriterStats;

/// What is read at scrape time from the parts that keep their own counts.
pub struct Observed {
    pub writer: WriterStats,
    /// `None` on a node without NATS.
    pub nats_connected: Option<bool>,
    /// Bank movements reserved and not yet posted or voided (at most 1,000 counted).
    pub pending_bank_movements: usize,
    pub database_up: bool,
}

pub struct Metrics {
    pub registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_seconds: HistogramVec,
    pub ws_connections: IntGauge,
    pub ws_dropped_slow: IntCounter,
    pub events_published: IntCounter,
    pub frames_delivered: IntCounter,
    pub messages_sent: IntCounter,
    pub logins_failed: IntCounter,
    writer_batches: IntCounter,
    writer_exclusive_batches: IntCounter,
    writer_escalated: IntCounter,
    writer_operations: IntCounter,
    writer_failed_batches: IntCounter,
    writer_busy_seconds: Gauge,
    writer_last_batch: IntGauge,
    writer_queue_depth: IntGauge,
    writer_reconnects: IntCounter,
    writer_connected: IntGauge,
    database_up: IntGauge,
    nats_connected: IntGauge,
    pending_bank_movements: IntGauge,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("qiao".into()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )?;
        let http_seconds = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by route"),
            &["method", "route"],
        )?;
        let ws_connections = IntGauge::new("ws_connections", "Open WebSocket connections")?;
        let ws_dropped_slow = IntCounter::new("ws_dropped_slow_total", "WebSockets dropped for falling behind")?;
        let events_published = IntCounter::new("events_published_total", "Committed events handed to the hub")?;
        let frames_delivered = IntCounter::new("frames_delivered_total", "Event frames queued to connections")?;
        let messages_sent = IntCounter::new("messages_sent_total", "Messages stored")?;
        let logins_failed = IntCounter::new("logins_failed_total", "Failed or rate-limited logins")?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_seconds.clone()))?;
        registry.register(Box::new(ws_connections.clone()))?;
        registry.register(Box::new(ws_dropped_slow.clone()))?;
        registry.register(Box::new(events_published.clone()))?;
        registry.register(Box::new(frames_delivered.clone()))?;
        registry.register(Box::new(messages_sent.clone()))?;
        registry.register(Box::new(logins_failed.clone()))?;
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let writer_batches = counter("writer_batches_total", "Writer batches committed")?;
        let writer_operations = counter("writer_operations_total", "Write operations in committed batches")?;
        let writer_exclusive_batches = counter(
            "writer_exclusive_batches_total",
            "Committed writer batches that held the cluster-wide writer lock exclusively (all on SQLite)",
        )?;
        let writer_escalated = counter(
            "writer_escalated_total",
            "Operations of shared batches that reached past their locks (a payment that converts) and ran again exclusively",
        )?;
        let writer_failed_batches = counter(
            "writer_failed_batches_total",
            "Writer batches that failed whole (commit failed, connection lost)",
        )?;
        let writer_busy_seconds = Gauge::new(
            "writer_busy_seconds_total",
            "Seconds the writer spent running and committing batches",
        )?;
        registry.register(Box::new(writer_busy_seconds.clone()))?;
        let writer_last_batch = gauge("writer_last_batch_operations", "Operations in the latest writer batch")?;
        let writer_queue_depth = gauge("writer_queue_depth", "Operations waiting for the writer")?;
        let writer_reconnects = counter("writer_reconnects_total", "Database connections the writer re-made")?;
        let writer_connected = gauge("writer_connected", "1 while the writer has a live database connection")?;
        let database_up = gauge("database_up", "1 while the database answers reads")?;
        let nats_connected = gauge(
            "nats_connected",
            "1 connected to NATS, 0 disconnected, -1 no NATS configured",
        )?;
        let pending_bank_movements = gauge(
            "pending_bank_movements",
            "Bank top-ups and withdrawals reserved and not yet settled (counted up to 1000)",
        )?;
        Ok(Self {
            writer_batches,
            writer_operations,
            writer_exclusive_batches,
            writer_escalated,
            writer_failed_batches,
            writer_busy_seconds,
            writer_last_batch,
            writer_queue_depth,
            writer_reconnects,
            writer_connected,
            database_up,
            nats_connected,
            pending_bank_movements,
            registry,
            http_requests,
            http_seconds,
            ws_connections,
            ws_dropped_slow,
            events_published,
            frames_delivered,
            messages_sent,
            logins_failed,
        })
    }

    /// Brings the figures other parts keep up to date before a scrape.
    pub fn observe(&self, seen: &Observed) {
        let advance = |counter: &IntCounter, total: u64| counter.inc_by(total.saturating_sub(counter.get()));
        advance(&self.writer_batches, seen.writer.batches);
        advance(&self.writer_operations, seen.writer.operations);
        advance(&self.writer_exclusive_batches, seen.writer.exclusive_batches);
        advance(&self.writer_escalated, seen.writer.escalated);
        advance(&self.writer_failed_batches, seen.writer.failed_batches);
        advance(&self.writer_reconnects, seen.writer.reconnects);
        self.writer_busy_seconds.set(seen.writer.busy_seconds);
        self.writer_last_batch.set(seen.writer.last_batch as i64);
        self.writer_queue_depth.set(seen.writer.queued as i64);
        self.writer_connected.set(i64::from(!seen.writer.disconnected));
        self.database_up.set(i64::from(seen.database_up));
        self.nats_connected.set(seen.nats_connected.map_or(-1, i64::from));
        self.pending_bank_movements.set(seen.pending_bank_movements as i64);
    }

    pub fn render(&self) -> String {
        let encoder = prometheus::TextEncoder::new();
        encoder.encode_to_string(&self.registry.gather()).unwrap_or_default()
    }
}
