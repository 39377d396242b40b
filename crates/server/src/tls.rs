//! The listeners the server accepts on: plain TCP, or HTTPS without a
//! proxy, TLS terminated by rustls, with the certificate and
//! key read from PEM files (`tls_cert_file`, `tls_key_file`) and read again
//! when either file changes, so a renewed certificate (certbot, an operator's
//! copy) is served without a restart. Handshakes run apart from the accept
//! loop, each bounded in time, so a slow client cannot hold up others.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use parking_lot::RwLock;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Longest a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The certificate and key files, and when they were last read.
struct Files {
    cert: PathBuf,
    key: PathBuf,
}

impl Files {
    fn modified(&self) -> Option<(SystemTime, SystemTime)> {
        let at = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        Some((at(&self.cert)?, at(&self.key)?))
    }

    /// The rustls configuration of the files as they are now.
    fn load(&self) -> anyhow::Result<Arc<ServerConfig>> {
        let certs = CertificateDer::pem_file_iter(&self.cert)
            .with_context(|| format!("reading {}", self.cert.display()))?
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("reading {}", self.cert.display()))?;
        anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", self.cert.display());
        let key = PrivateKeyDer::from_pem_file(&self.key).with_context(|| format!("reading {}", self.key.display()))?;
        let mut config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("TLS versions")?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .context("the certificate and key do not make a TLS identity")?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A listener whose connections are TLS streams, for `axum::serve`.
pub struct TlsListener {
    addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// Serves TLS on `tcp` with the files' identity, looking for a new one
    /// every `reload_every`. Fails at once if the files cannot be used.
    pub fn new(tcp: TcpListener, cert: PathBuf, key: PathBuf, reload_every: Duration) -> anyhow::Result<Self> {
        let files = Files { cert, key };
        let current = Arc::new(RwLock::new(files.load()?));
        let addr = tcp.local_addr()?;
        let (handshaken, ready) = mpsc::channel(1024);

        let reloaded = Arc::clone(&current);
        let watching = handshaken.clone();
        tokio::spawn(async move {
            let mut seen = files.modified();
            let mut tick = tokio::time::interval(reload_every.max(Duration::from_millis(100)));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = watching.closed() => return,
                }
                let now = files.modified();
                if now.is_none() || now == seen {
                    continue;
                }
                match files.load() {
                    Ok(config) => {
                        *reloaded.write() = config;
                        seen = now;
                        tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
                    }
                    // Half-written files are tried again at the next tick.
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "TLS certificate not reloaded; keeping the old one")
                    }
                }
            }
        });

        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    accepted = tcp.accept() => accepted,
                    () = handshaken.closed() => return,
                };
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: pause, don't spin.
                        tracing::warn!(error = %e, "accepting a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::warn!(error = %e, "TCP_NODELAY");
                }
                let acceptor = TlsAcceptor::from(Arc::clone(&current.read()));
                let handshaken = handshaken.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = handshaken.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { addr, ready })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept loop only stops once this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// Plain TCP, with `TCP_NODELAY` so small frames go out at once instead of
/// waiting for the peer's delayed ACK.
pub struct PlainListener(pub TcpListener);

impl axum::serve::Listener for PlainListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, peer) = axum::serve::Listener::accept(&mut self.0).await;
        if let Err(e) = stream.set_nodelay(true) {
            tracing::warn!(error = %e, "TCP_NODELAY");
        }
        (stream, peer)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}
