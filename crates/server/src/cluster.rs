//! Several nodes on one PostgreSQL database: each node tells the others over
//! NATS which users have new events, and wakes its own devices for users the
//! others name. Events themselves are read from the database, never from NATS.

use std::sync::Arc;

use anyhow::Context;
use futures_util::StreamExt;
use qiao_domain::ids::UserId;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::hub::Hub;

#[derive(Serialize, Deserialize)]
struct Notice {
    node: String,
    users: Vec<i64>,
}

/// Connects to NATS and starts the two relays: what this node's hub reports
/// goes out; what other nodes report wakes this node's devices.
pub async fn start(
    url: &str,
    subject: &str,
    node: String,
    hub: Arc<Hub>,
    mut outgoing: mpsc::UnboundedReceiver<Vec<UserId>>,
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
        while let Some(users) = outgoing.recv().await {
            let notice = Notice {
                node: me.clone(),
                users: users.iter().map(|u| u.0).collect(),
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
            let users: Vec<UserId> = notice.users.into_iter().map(UserId).collect();
            hub.wake(&users);
        }
    });
    Ok(())
}
