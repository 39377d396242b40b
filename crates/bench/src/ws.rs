//! The WebSocket clients: one connection per user, bound to a source address
//! in 127.0.0.2–9 (to spread the ephemeral ports), connected, waited on until
//! the server says `synced`, then read in a task of its own that hands every
//! frame to the [`Tracker`] until the benchmark tells it to close.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::{stream, SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::api::{source_address, User};
use crate::track::Tracker;
use crate::wire::InFrame;

type Ws = WebSocketStream<TcpStream>;

/// Small buffers: thousands of idle connections should cost the load
/// generator little (tungstenite's default read buffer is 128 KiB).
fn config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(8 * 1024).write_buffer_size(0)
}

/// Connects client `i` and waits for the server's `synced` frame.
async fn connect_one(i: usize, server: SocketAddr, user: &User) -> anyhow::Result<Ws> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source_address(i).into(), 0))?;
    let stream = socket.connect(server).await.context("TCP connect")?;
    stream.set_nodelay(true)?;
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
                let ws = connect_one(i, server, user).await.with_context(|| format!("connecting client {i}"))?;
                tracker.clients[i].online.store(true, Ordering::Relaxed);
                done.fetch_add(1, Ordering::Relaxed);
                Ok(tokio::spawn(read_loop(i, ws, tracker, stopped)))
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
    let clients = Clients { stop, tasks, connect_seconds: started.elapsed().as_secs_f64() };
    if let Some(e) = first_error {
        clients.close().await;
        return Err(e);
    }
    eprintln!("  connect: {total} clients in {:.1} s", clients.connect_seconds);
    Ok(clients)
}

async fn read_loop(i: usize, mut ws: Ws, tracker: Arc<Tracker>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => tracker.on_frame(i, text.as_str()),
                Some(Ok(Message::Close(frame))) => {
                    if !*stop.borrow() {
                        eprintln!("client {i}: the server closed the connection: {frame:?}");
                        tracker.clients[i].lost.store(true, Ordering::Relaxed);
                    }
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    if !*stop.borrow() {
                        eprintln!("client {i}: connection error: {e}");
                        tracker.clients[i].lost.store(true, Ordering::Relaxed);
                    }
                    break;
                }
                None => {
                    if !*stop.borrow() {
                        tracker.clients[i].lost.store(true, Ordering::Relaxed);
                    }
                    break;
                }
            },
            _ = stop.changed() => {
                let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                break;
            }
        }
    }
    tracker.clients[i].online.store(false, Ordering::Relaxed);
    let _ = ws.flush().await;
}

impl Clients {
    /// Closes every connection and waits (briefly) for the readers to end.
    pub async fn close(self) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.tasks);
        let _ = tokio::time::timeout(Duration::from_secs(10), all).await;
    }
}
