//! Sending one-time codes to people: email through SMTP (a real client,
//! lettre), text messages through an SMS connector. Phone networks are
//! outside Qiao like banks: real SMS gateways plug in behind [`SmsSender`];
//! the built-in [`SandboxOutbox`] only logs what it would send and appends
//! it to an outbox file (one JSON object per line), where tests and
//! developers read their codes. It stands in for email too when no SMTP
//! server is configured.

use std::path::PathBuf;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
#[error("sending failed: {0}")]
pub struct SendError(pub String);

/// A text message gateway.
#[async_trait::async_trait]
pub trait SmsSender: Send + Sync + 'static {
    async fn send_sms(&self, to: &str, text: &str) -> Result<(), SendError>;
}

/// An email service.
#[async_trait::async_trait]
pub trait EmailSender: Send + Sync + 'static {
    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), SendError>;
}

/// Email through an SMTP server (`smtp://host:port`, `smtps://user:pass@host`,
/// or `smtp://…?tls=required` for STARTTLS).
pub struct SmtpEmail {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpEmail {
    pub fn new(url: &str, from: &str) -> Result<Self, SendError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| SendError(format!("SMTP URL: {e}")))?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        let from = from
            .parse()
            .map_err(|e| SendError(format!("from address {from}: {e}")))?;
        Ok(Self { transport, from })
    }
}

#[async_trait::async_trait]
impl EmailSender for SmtpEmail {
    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), SendError> {
        let to: Mailbox = to.parse().map_err(|e| SendError(format!("to address: {e}")))?;
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| SendError(format!("building the message: {e}")))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| SendError(format!("SMTP: {e}")))
    }
}

/// One message the sandbox "sent".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// `sms` or `email`.
    pub channel: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// The sandbox: logs each message, appends it to the outbox file (if any)
/// and keeps it in memory (for in-process tests).
#[derive(Default)]
pub struct SandboxOutbox {
    file: Option<PathBuf>,
    sent: Mutex<Vec<OutboxMessage>>,
}

impl SandboxOutbox {
    pub fn new(file: Option<PathBuf>) -> Self {
        Self {
            file,
            sent: Mutex::new(Vec::new()),
        }
    }

    /// Everything sent to `to`, oldest first.
    pub fn sent_to(&self, to: &str) -> Vec<OutboxMessage> {
        self.sent.lock().iter().filter(|m| m.to == to).cloned().collect()
    }

    fn deliver(&self, message: OutboxMessage) -> Result<(), SendError> {
        tracing::info!(channel = %message.channel, to = %message.to, body = %message.body, "sandbox outbox");
        if let Some(path) = &self.file {
            use std::io::Write;
            let line = serde_json::to_string(&message).map_err(|e| SendError(e.to_string()))?;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| SendError(format!("{}: {e}", path.display())))?;
            // One write per line: `writeln!` may split it in two, and lines
            // of concurrent senders would then run into each other.
            file.write_all(format!("{line}\n").as_bytes())
                .map_err(|e| SendError(format!("{}: {e}", path.display())))?;
        }
        self.sent.lock().push(message);
        Ok(())
    }
}

#[async_trait::async_trait]
impl SmsSender for SandboxOutbox {
    async fn send_sms(&self, to: &str, text: &str) -> Result<(), SendError> {
        self.deliver(OutboxMessage {
            channel: "sms".into(),
            to: to.into(),
            subject: String::new(),
            body: text.into(),
        })
    }
}

#[async_trait::async_trait]
impl EmailSender for SandboxOutbox {
    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), SendError> {
        self.deliver(OutboxMessage {
            channel: "email".into(),
            to: to.into(),
            subject: subject.into(),
            body: body.into(),
        })
    }
}
