//! Delivering notifications to merchants' servers from the durable outbox
//! (`merchant_notifications`): each is POSTed as JSON, signed with
//! HMAC-SHA256 over `{timestamp}\n{nonce}\n{body}` with the merchant's
//! signing secret; a 2xx answer delivers it, anything else (or no answer in
//! ten seconds) is retried on the schedule of `domain::webhook`. A
//! notification may arrive more than once (a crash after the merchant
//! answered, before Qiao recorded it): merchants deduplicate by event id.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use qiao_domain::webhook::{self, HEADER_EVENT_ID, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use qiao_store::{Attempt, NotificationRecord, Store};
use rand::RngCore;
use sha2::Sha256;

use crate::clock::Clock;
use crate::Result;

/// How long a leased notification is withheld from other deliverers.
const LEASE_MS: i64 = 60_000;
/// Notifications sent at once by one deliverer.
const BATCH: usize = 256;

/// `v1=` + hex HMAC-SHA256 of the signing input with `secret`.
pub fn signature(secret: &str, timestamp: i64, nonce: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(webhook::signing_input(timestamp, nonce, body).as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a signature in constant time (for tests and the documented receivers).
pub fn verify(secret: &str, timestamp: i64, nonce: &str, body: &str, given: &str) -> bool {
    let Some(hex_part) = given.strip_prefix("v1=") else {
        return false;
    };
    let Ok(bytes) = hex::decode(hex_part) else { return false };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(webhook::signing_input(timestamp, nonce, body).as_bytes());
    mac.verify_slice(&bytes).is_ok()
}

/// Sends due notifications. One per node; the lease keeps nodes apart.
pub struct Deliverer {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
    /// Whether URLs may name loopback and private addresses (development).
    allow_private: bool,
}

impl Deliverer {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, allow_private: bool) -> Self {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(webhook::ATTEMPT_TIMEOUT_MS as u64))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            store,
            clock,
            client,
            allow_private,
        }
    }

    /// Sends every notification due now (in batches); returns how many were delivered.
    pub async fn deliver_due(&self) -> Result<usize> {
        let mut delivered = 0;
        loop {
            let due = self
                .store
                .lease_notifications(self.clock.now_ms(), LEASE_MS, BATCH)
                .await?;
            if due.is_empty() {
                return Ok(delivered);
            }
            let attempts = futures_util::future::join_all(due.iter().map(|n| self.attempt(n))).await;
            let mut answers = Vec::with_capacity(due.len());
            for (n, attempt) in due.iter().zip(attempts) {
                if let Attempt::Failed { error, .. } = &attempt {
                    tracing::info!(event = %n.event_id, attempts = n.attempts + 1, %error, "notification not delivered");
                }
                delivered += usize::from(matches!(attempt, Attempt::Delivered { .. }));
                answers.push((n.id, attempt));
            }
            self.store.record_attempts(answers, self.clock.now_ms()).await?;
            if due.len() < BATCH {
                return Ok(delivered);
            }
        }
    }

    async fn attempt(&self, n: &NotificationRecord) -> Attempt {
        if !self.allow_private {
            if let Err(error) = public_only(&n.url).await {
                return Attempt::Failed { status: None, error };
            }
        }
        let secret = match self.store.merchant(n.merchant_id).await {
            Ok(m) => m.signing_secret,
            Err(e) => {
                return Attempt::Failed {
                    status: None,
                    error: format!("merchant: {e}"),
                }
            }
        };
        let timestamp = self.clock.now_ms() / 1000;
        let mut raw = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut raw);
        let nonce = hex::encode(raw);
        let sent = self
            .client
            .post(&n.url)
            .header("content-type", "application/json")
            .header(HEADER_EVENT_ID, &n.event_id)
            .header(HEADER_TIMESTAMP, timestamp.to_string())
            .header(HEADER_NONCE, &nonce)
            .header(HEADER_SIGNATURE, signature(&secret, timestamp, &nonce, &n.body))
            .body(n.body.clone())
            .send()
            .await;
        match sent {
            Ok(answer) if answer.status().is_success() => Attempt::Delivered {
                status: i64::from(answer.status().as_u16()),
            },
            Ok(answer) => Attempt::Failed {
                status: Some(i64::from(answer.status().as_u16())),
                error: format!("answered {}", answer.status()),
            },
            Err(e) => Attempt::Failed {
                status: None,
                error: if e.is_timeout() {
                    "no answer in time".to_owned()
                } else {
                    "could not connect".to_owned()
                },
            },
        }
    }
}

/// Refuses a URL whose host is, or resolves to, a loopback, private,
/// link-local or otherwise internal address: a merchant's URL must not make
/// Qiao reach inside the operator's network.
async fn public_only(url: &str) -> std::result::Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "not a URL".to_owned())?;
    let host = parsed.host_str().ok_or("no host")?.to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|_| "the host does not resolve".to_owned())?;
    for address in addresses {
        if is_internal(address.ip()) {
            return Err(format!("{} is not a public address", address.ip()));
        }
    }
    Ok(())
}

fn is_internal(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1])
        }
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_internal(std::net::IpAddr::V4(v4)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            assert!(
                is_internal(
                    internal
                        .parse()
                        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
                ),
                "{internal}"
            );
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(
                !is_internal(
                    public
                        .parse()
                        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
                ),
                "{public}"
            );
        }
    }

    #[tokio::test]
    async fn urls_that_reach_inside_are_refused() {
        assert!(public_only("http://127.0.0.1:8080/n").await.is_err());
        assert!(public_only("http://localhost/n").await.is_err());
        assert!(public_only("http://[::1]/n").await.is_err());
        assert!(public_only("http://93.184.216.34/n").await.is_ok());
    }

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let sig = signature("whsec_x", 1_700_000_000, "n1", "{\"a\":1}");
        assert!(sig.starts_with("v1="));
        assert!(verify("whsec_x", 1_700_000_000, "n1", "{\"a\":1}", &sig));
        assert!(
            !verify("whsec_y", 1_700_000_000, "n1", "{\"a\":1}", &sig),
            "another secret"
        );
        assert!(
            !verify("whsec_x", 1_700_000_001, "n1", "{\"a\":1}", &sig),
            "another time"
        );
        assert!(
            !verify("whsec_x", 1_700_000_000, "n2", "{\"a\":1}", &sig),
            "another nonce"
        );
        assert!(
            !verify("whsec_x", 1_700_000_000, "n1", "{\"a\":2}", &sig),
            "another body"
        );
        assert!(!verify("whsec_x", 1_700_000_000, "n1", "{\"a\":1}", "v1=zz"));
    }
}
