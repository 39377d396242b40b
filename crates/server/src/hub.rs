//! The real-time hub: which devices are connected, and fan-out of committed
//! events to them. It is the store's [`EventSink`], so events arrive after
//! commit and in stream order.
//!
//! Two modes:
//! - **Push** (one node): each event is serialized once and queued to every
//!   recipient device.
//! - **Pull** (several nodes, with NATS): a node cannot know the global order
//!   of events committed elsewhere, so devices are only *woken*; each then
//!   reads the store past its cursor, which always returns a gap-free prefix.
//!
//! Each connection has a bounded queue. A connection whose queue is full of
//! events is dropped (its sender is removed, closing the queue); the client
//! reconnects with its last cursor and loses nothing. One slow client never
//! stalls others.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use parking_lot::RwLock;
use qiao_domain::ids::{SessionId, UserId};
use qiao_store::{CommittedEvent, EventSink};
use tokio::sync::mpsc;

use crate::metrics::Metrics;

/// What a device's queue carries.
#[derive(Debug, Clone)]
pub enum Frame {
    /// One event, serialized once, shared by every device that receives it.
    Event { pos: i64, text: Utf8Bytes },
    /// New events exist for this user; read them from the store.
    Wake,
    /// The device's session ended (signed out, revoked, idle): close now.
    Ended,
    /// The server is shutting down: close, telling the client to reconnect.
    Restarting,
}

struct Subscriber {
    id: u64,
    session: SessionId,
    queue: mpsc::Sender<Frame>,
}

pub struct Hub {
    subscribers: RwLock<HashMap<UserId, Vec<Subscriber>>>,
    next_id: AtomicU64,
    metrics: Arc<Metrics>,
    /// In pull mode, where to tell the other nodes whom to wake.
    cluster: Option<mpsc::UnboundedSender<Vec<UserId>>>,
    /// Told when the last connection leaves (for shutdown).
    emptied: tokio::sync::Notify,
}

/// A device's place in the hub. Dropping it unsubscribes.
pub struct Subscription {
    pub frames: mpsc::Receiver<Frame>,
    id: u64,
    user: UserId,
    hub: Arc<Hub>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.remove(self.user, self.id);
    }
}

/// The event frame as it goes on the wire; `data` is already JSON.
pub fn event_frame(pos: i64, kind: &str, conversation_id: Option<i64>, at_ms: i64, data: &str) -> String {
    let conversation = conversation_id.map_or_else(|| "null".to_owned(), |c| c.to_string());
    format!(
        r#"{{"type":"event","pos":{pos},"kind":"{kind}","conversation_id":{conversation},"at_ms":{at_ms},"data":{data}}}"#
    )
}

impl Hub {
    /// A hub for a single node.
    pub fn new(metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self {
            subscribers: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            metrics,
            cluster: None,
            emptied: tokio::sync::Notify::new(),
        })
    }

    /// A hub for one node of several: it wakes devices and reports whom to wake to `cluster`.
    pub fn clustered(metrics: Arc<Metrics>, cluster: mpsc::UnboundedSender<Vec<UserId>>) -> Arc<Self> {
        Arc::new(Self {
            subscribers: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            metrics,
            cluster: Some(cluster),
            emptied: tokio::sync::Notify::new(),
        })
    }

    pub fn subscribe(self: &Arc<Self>, user: UserId, session: SessionId, depth: usize) -> Subscription {
        let (queue, frames) = mpsc::channel(depth.max(1));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.subscribers
            .write()
            .entry(user)
            .or_default()
            .push(Subscriber { id, session, queue });
        self.metrics.ws_connections.inc();
        Subscription {
            frames,
            id,
            user,
            hub: Arc::clone(self),
        }
    }

    fn remove(&self, user: UserId, id: u64) {
        let mut subscribers = self.subscribers.write();
        if let Some(list) = subscribers.get_mut(&user) {
            let before = list.len();
            list.retain(|s| s.id != id);
            if list.len() < before {
                self.metrics.ws_connections.dec();
            }
            if list.is_empty() {
                subscribers.remove(&user);
            }
        }
        if subscribers.is_empty() {
            self.emptied.notify_waiters();
        }
    }

    /// Shutdown: tells every connection on this node to close with
    /// "reconnect". A connection whose queue is full is dropped at once
    /// (its client then sees "too slow; reconnect", which means the same).
    pub fn close_all(&self) {
        let mut full = Vec::new();
        for (user, list) in self.subscribers.read().iter() {
            for s in list {
                if s.queue.try_send(Frame::Restarting).is_err() {
                    full.push((*user, s.id));
                }
            }
        }
        for (user, id) in full {
            self.remove(user, id);
        }
    }

    /// Waits until no connection is left on this node.
    pub async fn emptied(&self) {
        loop {
            let notified = self.emptied.notified();
            if self.subscribers.read().is_empty() {
                return;
            }
            notified.await;
        }
    }

    /// Closes every connection of this session on this node: each is told
    /// (if its queue has room) and dropped, so nothing more reaches it.
    pub fn close_session(&self, session: SessionId) {
        let mut closed = Vec::new();
        {
            let subscribers = self.subscribers.read();
            for (user, list) in subscribers.iter() {
                for s in list.iter().filter(|s| s.session == session) {
                    let _ = s.queue.try_send(Frame::Ended);
                    closed.push((*user, s.id));
                }
            }
        }
        for (user, id) in closed {
            tracing::info!(
                user = user.0,
                session = session.0,
                connection = id,
                "closing the connection of an ended session"
            );
            self.remove(user, id);
        }
    }

    /// How many devices of this user are connected to this node.
    pub fn devices(&self, user: UserId) -> usize {
        self.subscribers.read().get(&user).map_or(0, Vec::len)
    }

    /// Wakes every local device of these users. A full queue already holds a
    /// wake or events, so the device will read the store anyway.
    /// Wakes every device on this node (NATS came back, or is out).
    pub fn wake_all(&self) {
        for list in self.subscribers.read().values() {
            for subscriber in list {
                let _ = subscriber.queue.try_send(Frame::Wake);
            }
        }
    }

    pub fn wake(&self, users: &[UserId]) {
        let subscribers = self.subscribers.read();
        for user in users {
            for subscriber in subscribers.get(user).map(Vec::as_slice).unwrap_or_default() {
                let _ = subscriber.queue.try_send(Frame::Wake);
            }
        }
    }

    fn push(&self, events: &[CommittedEvent]) {
        let mut lagging = Vec::new();
        let mut delivered = 0u64;
        {
            let subscribers = self.subscribers.read();
            for event in events {
                let text = event_frame(
                    event.pos.0,
                    event.kind.as_str(),
                    event.conversation_id.map(|c| c.0),
                    event.at_ms,
                    &event.data,
                );
                let frame = Frame::Event {
                    pos: event.pos.0,
                    text: Utf8Bytes::from(text),
                };
                for user in event.recipients.iter() {
                    for subscriber in subscribers.get(user).map(Vec::as_slice).unwrap_or_default() {
                        match subscriber.queue.try_send(frame.clone()) {
                            Ok(()) => delivered += 1,
                            Err(mpsc::error::TrySendError::Full(_)) => lagging.push((*user, subscriber.id)),
                            Err(mpsc::error::TrySendError::Closed(_)) => {}
                        }
                    }
                }
            }
        }
        self.metrics.frames_delivered.inc_by(delivered);
        for (user, id) in lagging {
            tracing::info!(user = user.0, connection = id, "dropping a client that fell behind");
            self.metrics.ws_dropped_slow.inc();
            self.remove(user, id);
        }
    }
}

impl EventSink for Hub {
    fn publish(&self, events: &[CommittedEvent]) {
        self.metrics.events_published.inc_by(events.len() as u64);
        match &self.cluster {
            None => self.push(events),
            Some(cluster) => {
                let mut users: Vec<UserId> = events.iter().flat_map(|e| e.recipients.iter().copied()).collect();
                users.sort();
                users.dedup();
                self.wake(&users);
                let _ = cluster.send(users);
            }
        }
    }
}
