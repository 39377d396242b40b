//! The few HTTP calls the benchmark makes, with the `qiao_api` wire types:
//! register, friend request + accept, create group, send a message.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use anyhow::{bail, Context};
use qiao_api as api;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Source addresses clients are spread over: 127.0.0.2 … 127.0.0.9.
pub const SOURCE_ADDRESSES: u8 = 8;

/// The loopback source address for the `i`-th client or connection pool.
pub fn source_address(i: usize) -> Ipv4Addr {
    // i % 8 < 8, so the cast cannot truncate.
    Ipv4Addr::new(127, 0, 0, 2 + (i % usize::from(SOURCE_ADDRESSES)) as u8)
}

/// One keep-alive HTTP/1.1 client bound to a loopback source address.
pub fn http_client(i: usize, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(source_address(i)))
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(300))
        .timeout(timeout)
        .http1_only()
        .build()
        .context("HTTP client")
}

/// A user the benchmark registered.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub token: String,
    /// Read by `qiao-write-bench` (its senders prove their phones).
    #[allow(dead_code)]
    pub phone: String,
}

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    /// POSTs `body` to `path`; the answer, or an error with its status.
    pub async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &B,
    ) -> anyhow::Result<T> {
        self.send(reqwest::Method::POST, path, token, body).await
    }

    /// Like [`Api::call`] with another method.
    pub async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: &B,
    ) -> anyhow::Result<T> {
        let verb = method.to_string();
        let mut request = self.http.request(method, format!("{}{path}", self.base)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.with_context(|| format!("{verb} {path}"))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            bail!("{verb} {path}: {status}: {text}");
        }
        response
            .json()
            .await
            .with_context(|| format!("{verb} {path}: reading the answer"))
    }

    /// Registers user `i` of run `run` with a phone number unique to both.
    pub async fn register(&self, run: u32, i: usize) -> anyhow::Result<User> {
        let request = api::RegisterRequest {
            phone: Some(phone(run, i)),
            email: None,
            password: format!("bench-password-{run}"),
            display_name: format!("bench {i}"),
            region: "US".into(),
            language: "en-US".into(),
            device_name: Some("qiao-bench".into()),
        };
        let auth: api::AuthResponse = self.call("/api/auth/register", None, &request).await?;
        Ok(User {
            id: auth.user.id,
            token: auth.token,
            phone: phone(run, i),
        })
    }

    /// Makes `from` and `to` friends; returns their direct conversation.
    pub async fn befriend(&self, from: &User, to: &User) -> anyhow::Result<i64> {
        let create = api::FriendRequestCreate {
            to_user_id: to.id,
            greeting: Some("bench".into()),
        };
        let request: api::FriendRequest = self.call("/api/friend-requests", Some(&from.token), &create).await?;
        let contact: api::Contact = self
            .call(
                &format!("/api/friend-requests/{}/accept", request.id),
                Some(&to.token),
                &serde_json::json!({}),
            )
            .await?;
        Ok(contact.conversation_id)
    }

    /// Creates a group of `owner`'s friends; returns its conversation.
    pub async fn create_group(&self, owner: &User, name: String, member_ids: Vec<i64>) -> anyhow::Result<i64> {
        let request = api::CreateGroupRequest { name, member_ids };
        let detail: api::ConversationDetail = self.call("/api/groups", Some(&owner.token), &request).await?;
        Ok(detail.conversation.id)
    }
}

/// `+49` then a 6-digit run number then a 7-digit user number (E.164, 15
/// digits). Germany's plan has numbers of varying length, so these pass
/// registration; a North American number has room for only 10 digits.
pub fn phone(run: u32, i: usize) -> String {
    format!("+49{run:06}{i:07}")
}

/// The response if it is a 2xx; otherwise an error naming `what`, the
/// status and the body.
pub async fn successful(response: reqwest::Response, what: &str) -> anyhow::Result<reqwest::Response> {
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        bail!("{what}: {status}: {text}");
    }
    Ok(response)
}

/// Sends a text message over HTTP and returns the stored message.
pub async fn send_text(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    conversation_id: i64,
    client_msg_id: String,
    text: String,
) -> anyhow::Result<api::Message> {
    let request = api::SendMessageRequest {
        client_msg_id,
        kind: "text".into(),
        text: Some(text),
        blob: None,
        file_name: None,
        reply_to: None,
        mentions: vec![],
    };
    let response = http
        .post(format!("{base}/api/conversations/{conversation_id}/messages"))
        .bearer_auth(token)
        .json(&request)
        .send()
        .await?;
    let message: api::Message = successful(response, "send").await?.json().await?;
    if message.conversation_id != conversation_id || message.client_msg_id != request.client_msg_id {
        bail!("send: the answer is another message");
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_e164_and_unique() {
        let p = phone(123_456, 42);
        assert_eq!(p, "+491234560000042");
        assert!(p.len() - 1 <= 15);
        assert_ne!(phone(1, 1), phone(1, 2));
    }

    #[test]
    fn source_addresses_are_loopback() {
        assert_eq!(source_address(0), Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(source_address(7), Ipv4Addr::new(127, 0, 0, 9));
        assert_eq!(source_address(8), Ipv4Addr::new(127, 0, 0, 2));
    }
}
