//! Several nodes on one PostgreSQL database: each node tells the others over
//! NATS which users have new events (they wake their devices, which read the
//! events from the database, never from NATS) and which sessions ended (they
//! forget them and close their WebSockets).

use std::sync::Arc;

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

/// Connects to NATS and starts the relays: what this node reports goes out;
/// what other nodes report wakes this node's devices or ends its sessions.
pub async fn start(
    url: &str,
    subject: &str,
    node: String,
    hub: Arc<Hub>,
    sessions: Arc<Sessions>,
    mut outgoing: Outgoing,
) -> anyhow::Result<()> {
    let client = async_nats::connect(url)
        .await
        .with_context(|| format!("connecting to NATS at {url}"))?;
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
    Ok(())
}
