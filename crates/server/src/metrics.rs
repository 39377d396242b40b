//! Prometheus metrics, served at `/metrics`.

use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

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
        Ok(Self {
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

    pub fn render(&self) -> String {
        let encoder = prometheus::TextEncoder::new();
        encoder.encode_to_string(&self.registry.gather()).unwrap_or_default()
    }
}
