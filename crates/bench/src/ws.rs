//! The WebSocket clients: one connection per user, bound to a source address
//! in 127.0.0.2–9 (to spread the ephemeral ports), connected, waited on until
//! the server says `synced`, then run by a task of its own that writes the
//! send frames the load phases queue for it and hands every frame it reads
//! to the [`Tracker`], until the benchmark tells it to close.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::{stream, SinkExt, StreamExt};
use tokio::net::TcpSocket;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::api::{source_address, User};
use crate::net::ClientStream;
use crate::track::Tracker;
use crate::wire::InFrame;

type Ws = WebSocketStream<ClientStream>;

/// Small buffers: thousands of idle connections should cost the load
/// generator little (tungstenite's default read buffer is 128 KiB).
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
}

/// Connects client `i` and waits for the server's `synced` frame.
async fn connect_one(i: usize, server: SocketAddr, user: &User, quickack: bool) -> anyhow::Result<Ws> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source_address(i).into(), 0))?;
    let stream = socket.connect(server).await.context("TCP connect")?;
    stream.set_nodelay(true)?;
    let stream = ClientStream::new(stream, quickack)?;
    let url = format!("ws://{server}/api/ws?token={}", user.token);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config()))
        .await
        .context("WebSocket handshake")?;
    let first = tokio::time::timeout(Duration::from_secs(60), ws.next())
        .await
        .context("no `synced` frame within 60 s")?;
    match first {
        Some(Ok(Message::Text(text))) => {
            let frame: InFrame<'_> = serde_json::from_str(text.as_str()).context("first frame")?;
            if frame.frame != "synced" {
                bail!("first frame was {:?}, not synced", frame.frame);
            }
            Ok(ws)
        }
        other => bail!("expected `synced`, got {other:?}"),
    }
}

/// The connected clients and the means to close them.
pub struct Clients {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    pub connect_seconds: f64,
}

/// Connects every user (`concurrency` handshakes in flight) and starts their readers.
pub async fn connect_all(
    server: SocketAddr,
    users: &[User],
    tracker: &Arc<Tracker>,
    concurrency: usize,
    quickack: bool,
) -> anyhow::Result<Clients> {
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let total = users.len();
    let reporter = {
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            tick.tick().await;
            loop {
                tick.tick().await;
                eprintln!("  connect: {}/{total}", done.load(Ordering::Relaxed));
            }
        })
    };
    let connected: Vec<anyhow::Result<JoinHandle<()>>> = stream::iter(users.iter().enumerate())
        .map(|(i, user)| {
            let (tracker, stopped, done) = (Arc::clone(tracker), stopped.clone(), Arc::clone(&done));
            async move {
                let ws = connect_one(i, server, user, quickack)
                    .await
                    .with_context(|| format!("connecting client {i}"))?;
                let (outbox, outgoing) = mpsc::unbounded_channel();
                if tracker.clients[i].outbox.set(outbox).is_err() {
                    bail!("client {i} connected twice");
                }
                tracker.clients[i].online.store(true, Ordering::Relaxed);
                done.fetch_add(1, Ordering::Relaxed);
                Ok(tokio::spawn(client_loop(i, ws, outgoing, tracker, stopped)))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    reporter.abort();
    let mut tasks = Vec::with_capacity(total);
    let mut first_error = None;
    for result in connected {
        match result {
            Ok(task) => tasks.push(task),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let clients = Clients {
        stop,
        tasks,
        connect_seconds: started.elapsed().as_secs_f64(),
    };
    if let Some(e) = first_error {
        clients.close().await;
        return Err(e);
    }
    eprintln!("  connect: {total} clients in {:.1} s", clients.connect_seconds);
    Ok(clients)
}

/// Writes what the senders queue for this client, reads what the server sends.
async fn client_loop(
    i: usize,
    mut ws: Ws,
    mut outgoing: mpsc::UnboundedReceiver<String>,
    tracker: Arc<Tracker>,
    mut stop: watch::Receiver<bool>,
) {
    let mut failure: Option<String> = None;
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => tracker.on_frame(i, text.as_str()),
                Some(Ok(Message::Close(frame))) => {
                    failure = Some(format!("the server closed the connection: {frame:?}"));
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    failure = Some(format!("connection error: {e}"));
                    break;
                }
                None => {
                    failure = Some("connection ended".into());
                    break;
                }
            },
            Some(text) = outgoing.recv() => {
                // Queue everything waiting, then write it out at once.
                let mut batch = vec![text];
                while let Ok(more) = outgoing.try_recv() {
                    batch.push(more);
                }
                let mut written = Ok(());
                for text in batch {
                    written = ws.feed(Message::text(text)).await;
                    if written.is_err() {
                        break;
                    }
                }
                if let Err(e) = written.and(ws.flush().await) {
                    failure = Some(format!("write error: {e}"));
                    break;
                }
            },
            _ = stop.changed() => {
                let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                break;
            }
        }
    }
    let slot = &tracker.clients[i];
    if let Some(failure) = failure {
        if !*stop.borrow() {
            eprintln!("client {i}: {failure}");
            slot.lost.store(true, Ordering::Relaxed);
        }
    }
    slot.online.store(false, Ordering::Relaxed);
    // Sends still waiting for an answer will not get one.
    if let Ok(mut pending) = slot.pending.lock() {
        for (_, waiter) in pending.drain() {
            let _ = waiter.send(Err("connection closed".into()));
        }
    }
}

impl Clients {
    /// Closes every connection and waits (briefly) for the readers to end.
    pub async fn close(self) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.tasks);
        let _ = tokio::time::timeout(Duration::from_secs(10), all).await;
    }
}
