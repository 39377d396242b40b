//! Several nodes on one PostgreSQL database: each node tells the others over
//! NATS which users have new events (they wake their devices, which read the
//! events from the database, never from NATS) and which sessions ended (they
//! forget them and close their WebSockets).
//!
//! NATS going away degrades delivery, never correctness: a node starts
//! without it and connects when it can; while it is out, every device on the
//! node is woken each second to read the database (news from other nodes
//! arrives within a second instead of at once); when it is back, every device
//! is woken once to catch up. Sessions ended on another node during the
//! outage are caught by the WebSocket heartbeat's session check.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::StreamExt;
use qiao_domain::ids::{SessionId, UserId};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::hub::Hub;
use crate::sessions::Sessions;

#[derive(Serialize, Deserialize)]
struct Notice {
    node: String,
    /// Users with new events.
    #[serde(default)]
    users: Vec<i64>,
    /// Sessions that ended (signed out, revoked, idle).
    #[serde(default)]
    ended_sessions: Vec<i64>,
}

/// What this node tells the others.
pub struct Outgoing {
    pub users: mpsc::UnboundedReceiver<Vec<UserId>>,
    pub ended_sessions: mpsc::UnboundedReceiver<Vec<SessionId>>,
}

/// Whether this node is connected to NATS now (for `/readyz` and metrics).
#[derive(Debug, Default)]
pub struct Link {
    connected: AtomicBool,
}

impl Link {
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }
}

/// How often devices are woken to read the database while NATS is out.
const POLL_WHILE_DISCONNECTED: Duration = Duration::from_secs(1);

/// Starts the relays (connecting to NATS in the background, with retries):
/// what this node reports goes out; what other nodes report wakes this
/// node's devices or ends its sessions.
pub async fn start(
    url: &str,
    subject: &str,
    node: String,
    hub: Arc<Hub>,
    sessions: Arc<Sessions>,
    mut outgoing: Outgoing,
) -> anyhow::Result<Arc<Link>> {
    let link = Arc::new(Link::default());
    let (watching, watched_hub) = (Arc::clone(&link), Arc::clone(&hub));
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .event_callback(move |event| {
            let (link, hub) = (Arc::clone(&watching), Arc::clone(&watched_hub));
            async move {
                match event {
                    async_nats::Event::Connected => {
                        tracing::info!("connected to NATS; every device catches up");
                        link.connected.store(true, Ordering::Relaxed);
                        hub.wake_all();
                    }
                    async_nats::Event::Disconnected => {
                        tracing::warn!("lost NATS; devices read the database every second until it is back");
                        link.connected.store(false, Ordering::Relaxed);
                    }
                    other => tracing::info!(event = %other, "NATS"),
                }
            }
        })
        .connect(url)
        .await
        .with_context(|| format!("connecting to NATS at {url}"))?;
    let (polled, polling_hub) = (Arc::clone(&link), Arc::clone(&hub));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL_WHILE_DISCONNECTED);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            if !polled.connected() {
                polling_hub.wake_all();
            }
        }
    });
    let mut incoming = client
        .subscribe(subject.to_owned())
        .await
        .context("subscribing to NATS")?;

    let publisher = client.clone();
    let (subject_out, me) = (subject.to_owned(), node.clone());
    tokio::spawn(async move {
        loop {
            let notice = tokio::select! {
                Some(users) = outgoing.users.recv() => Notice {
                    node: me.clone(),
                    users: users.iter().map(|u| u.0).collect(),
                    ended_sessions: Vec::new(),
                },
                Some(ended) = outgoing.ended_sessions.recv() => Notice {
                    node: me.clone(),
                    users: Vec::new(),
                    ended_sessions: ended.iter().map(|s| s.0).collect(),
                },
                else => break,
            };
            let Ok(body) = serde_json::to_vec(&notice) else {
                continue;
            };
            if let Err(e) = publisher.publish(subject_out.clone(), body.into()).await {
                tracing::error!(error = %e, "publishing to NATS");
            }
        }
    });

    tokio::spawn(async move {
        while let Some(message) = incoming.next().await {
            let Ok(notice) = serde_json::from_slice::<Notice>(&message.payload) else {
                continue;
            };
            if notice.node == node {
                continue;
            }
            if !notice.users.is_empty() {
                let users: Vec<UserId> = notice.users.into_iter().map(UserId).collect();
                hub.wake(&users);
            }
            if !notice.ended_sessions.is_empty() {
                let ended: Vec<SessionId> = notice.ended_sessions.into_iter().map(SessionId).collect();
                sessions.forget(&ended);
            }
        }
    });
    Ok(link)
}
