//! Start-up wiring, in one place: configuration in, a running server out.
//! `build` binds the listener and returns the port, so tests can bind port 0.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use qiao_service::bank::SandboxBank;
use qiao_service::identity::{Identity, LookupBudgets};
use qiao_service::money::Money;
use qiao_service::notify::{EmailSender, SandboxOutbox, SmtpEmail};
use qiao_store::{Location, Store};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::auth::{Passwords, RateLimits};
use crate::config::Config;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::sessions::Sessions;
use crate::state::{AppState, Clock, SystemClock};

pub struct Application {
    listener: TcpListener,
    router: Router,
    pub state: AppState,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::new().context("metrics registry")?);
        let (hub, sessions, nats) = match &config.nats_url {
            None => {
                let hub = Hub::new(Arc::clone(&metrics));
                let sessions = Arc::new(Sessions::new(Arc::clone(&hub), None));
                (hub, sessions, None)
            }
            Some(url) => {
                let (woken, users) = tokio::sync::mpsc::unbounded_channel();
                let (ended, ended_sessions) = tokio::sync::mpsc::unbounded_channel();
                let hub = Hub::clustered(Arc::clone(&metrics), woken);
                let sessions = Arc::new(Sessions::new(Arc::clone(&hub), Some(ended)));
                let node = format!("{:016x}", rand::random::<u64>());
                let outgoing = crate::cluster::Outgoing { users, ended_sessions };
                let link = crate::cluster::start(
                    url,
                    &config.nats_subject,
                    node,
                    Arc::clone(&hub),
                    Arc::clone(&sessions),
                    outgoing,
                )
                .await?;
                (hub, sessions, Some(link))
            }
        };
        let location = match &config.database {
            Some(url) => Location::Postgres(url.clone()),
            None => Location::Sqlite(config.sqlite_path()),
        };
        let blobs = crate::blobs::Blobs::from_config(&config)?;
        let sink = Arc::clone(&hub);
        let store = tokio::task::spawn_blocking(move || qiao_store::open(&location, sink))
            .await
            .context("opening the store")?
            .context("opening the store")?;
        let store: Arc<dyn Store> = Arc::new(store);
        let passwords = Passwords::new(config.argon2_memory_kib, config.argon2_iterations)?;
        let policy = config
            .money_policy()
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        let money = Arc::new(Money::new(
            Arc::clone(&store),
            Arc::new(SandboxBank::default()),
            Arc::clone(&clock),
            passwords.clone(),
            policy,
        ));
        let outbox = Arc::new(SandboxOutbox::new(Some(config.outbox_path())));
        let email: Arc<dyn EmailSender> = match &config.smtp_url {
            Some(url) => {
                Arc::new(SmtpEmail::new(url, &config.smtp_from).map_err(|e| anyhow::anyhow!("configuration: {e}"))?)
            }
            None => outbox.clone(),
        };
        let identity = Arc::new(Identity::new(
            Arc::clone(&store),
            Arc::clone(&clock),
            outbox.clone(),
            email,
            LookupBudgets {
                per_account_per_day: config.lookups_per_account_per_day,
                per_address_per_day: config.lookups_per_address_per_day,
            },
        ));
        let webhooks = Arc::new(qiao_service::webhooks::Deliverer::new(
            Arc::clone(&store),
            Arc::clone(&clock),
            config.notify_allow_private,
        ));
        let fx_rates = config.fx_rates().map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        let proxies = crate::client_ip::TrustedProxies::parse(&config.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        anyhow::ensure!(
            config.tls_cert_file.is_some() == config.tls_key_file.is_some(),
            "configuration: tls_cert_file and tls_key_file go together"
        );
        let metrics_allow = crate::client_ip::Networks::parse("metrics_allow", &config.metrics_allow)
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        let state = AppState {
            blobs,
            metrics_allow: Arc::new(metrics_allow),
            proxies: Arc::new(proxies),
            nats,
            webhooks,
            store,
            money,
            identity,
            outbox,
            hub,
            sessions,
            passwords,
            limits: Arc::new(RateLimits::new(&config)),
            clock,
            metrics,
            config: Arc::new(config),
        };
        state
            .money
            .seed_rates(&fx_rates)
            .await
            .context("seeding the configured FX rates")?;
        // Recovery before the first request: bank movements a crash left
        // half-way (reserved, never posted or voided) are finished now.
        match state.money.settle_abandoned().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(settled = n, "bank movements left by a crash were settled"),
            Err(e) => tracing::warn!(error = %e, "settling abandoned bank movements failed; the sweep retries"),
        }
        let listener = TcpListener::bind(state.config.listen)
            .await
            .with_context(|| format!("binding {}", state.config.listen))?;
        let router = router(state.clone());
        Ok(Self {
            listener,
            router,
            state,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully.
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` resolves, then: stops accepting, tells WebSocket
    /// clients to reconnect (close 1012), lets requests in flight finish
    /// within `shutdown_grace_seconds`, and waits for the writer to commit
    /// everything submitted.
    pub async fn run_until(self, stop: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let state = self.state.clone();
        let stopping = Arc::new(tokio::sync::Notify::new());
        let told = Arc::clone(&stopping);
        let hub = Arc::clone(&state.hub);
        let serving = self.serve(async move {
            stop.await;
            tracing::info!("shutting down: no new connections; finishing requests in flight");
            told.notify_one();
            hub.close_all();
        });
        let mut serving = std::pin::pin!(serving);
        tokio::select! {
            ended = &mut serving => return ended,
            () = stopping.notified() => {}
        }
        let grace = Duration::from_secs(state.config.shutdown_grace_seconds);
        let finished = tokio::time::timeout(grace, async {
            let served = serving.await;
            state.hub.emptied().await;
            served
        })
        .await;
        match finished {
            Ok(served) => served?,
            Err(_) => tracing::warn!(
                grace_seconds = grace.as_secs(),
                "grace period over; closing what is left"
            ),
        }
        if let Err(e) = state.store.flush().await {
            tracing::warn!(error = %e, "the writer could not be flushed");
        }
        tracing::info!("shut down");
        Ok(())
    }

    async fn serve(self, stop: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        crate::expiry::spawn(self.state.clone());
        crate::expiry::spawn_notifications(self.state.clone());
        let service = self
            .router
            .into_make_service_with_connect_info::<crate::client_ip::Peer>();
        let config = &self.state.config;
        if let (Some(cert), Some(key)) = (&config.tls_cert_file, &config.tls_key_file) {
            let reload = Duration::from_secs(config.tls_reload_seconds);
            let listener = crate::tls::TlsListener::new(self.listener, cert.clone(), key.clone(), reload)
                .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
            return axum::serve(listener, service).with_graceful_shutdown(stop).await;
        }
        axum::serve(crate::tls::PlainListener(self.listener), service)
            .with_graceful_shutdown(stop)
            .await
    }
}

/// Resolves on SIGTERM (what systemd and container runtimes send) or Ctrl-C.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// The whole HTTP surface: API, WebSocket, operations, web client.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = crate::http::api_routes();
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let openapi = Arc::clone(&openapi);
                async move { axum::Json(openapi.as_ref().clone()) }
            }),
        )
        .merge(crate::http::ops_routes())
        .merge(crate::web::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::http::deadline))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::http::track))
        .layer(axum::middleware::from_fn(crate::http::uri_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::error::localize))
        .layer(axum::middleware::from_fn(crate::http::security_headers))
        .layer(DefaultBodyLimit::max(state.config.max_upload_bytes + 1))
        // Spans name the path only: the WebSocket's token travels in the query string.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
            tracing::info_span!("http", method = %request.method(), path = %request.uri().path())
        }))
        .with_state(state)
}
