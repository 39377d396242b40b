//! Message content and the rules on it: lengths, mentions, recall.

use crate::ids::{MessageId, UserId};
use crate::limits::{MAX_FILE_NAME_CHARS, MAX_MENTIONS, MAX_TEXT_CHARS, RECALL_WINDOW_MS};
use crate::Error;

/// A reference to an uploaded blob by its content address (lower-case hex SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobHash(String);

impl BlobHash {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::UploadNotFound)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Text {
        text: String,
    },
    Image {
        blob: BlobHash,
    },
    File {
        blob: BlobHash,
        name: String,
    },
    /// A transfer or red packet; only the store creates these, with the money.
    Payment {
        kind: crate::payment::PaymentKind,
        payment_id: crate::ids::PaymentId,
        note: String,
    },
}

impl Content {
    pub fn text(raw: &str) -> Result<Self, Error> {
        if raw.trim().is_empty() {
            return Err(Error::InvalidRequest);
        }
        if raw.chars().count() > MAX_TEXT_CHARS {
            return Err(Error::TooLong);
        }
        if !crate::identity::is_sendable(raw) {
            return Err(Error::InvalidText);
        }
        Ok(Content::Text { text: raw.to_owned() })
    }

    pub fn file(blob: BlobHash, name: &str) -> Result<Self, Error> {
        let name = name.trim();
        if name.is_empty() || name.chars().any(char::is_control) || name.contains('/') {
            return Err(Error::InvalidRequest);
        }
        if name.chars().count() > MAX_FILE_NAME_CHARS {
            return Err(Error::TooLong);
        }
        Ok(Content::File {
            blob,
            name: name.to_owned(),
        })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Content::Text { .. } => "text",
            Content::Image { .. } => "image",
            Content::File { .. } => "file",
            Content::Payment { kind, .. } => kind.as_str(),
        }
    }

    pub fn blob(&self) -> Option<&BlobHash> {
        match self {
            Content::Text { .. } | Content::Payment { .. } => None,
            Content::Image { blob } | Content::File { blob, .. } => Some(blob),
        }
    }
}

/// A message ready to be stored: content plus its optional quote and mentions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub content: Content,
    pub reply_to: Option<MessageId>,
    pub mentions: Vec<UserId>,
}

impl Draft {
    pub fn new(content: Content, reply_to: Option<MessageId>, mut mentions: Vec<UserId>) -> Result<Self, Error> {
        mentions.sort();
        mentions.dedup();
        if mentions.len() > MAX_MENTIONS {
            return Err(Error::TooLong);
        }
        Ok(Self {
            content,
            reply_to,
            mentions,
        })
    }
}

/// Why a recall is refused, or `Ok` when the sender may recall now.
pub fn may_recall(
    sender: UserId,
    caller: UserId,
    sent_at_ms: i64,
    now_ms: i64,
    already_recalled: bool,
) -> Result<(), Error> {
    if sender != caller {
        return Err(Error::Forbidden);
    }
    if already_recalled {
        return Err(Error::AlreadyRecalled);
    }
    if now_ms - sent_at_ms > RECALL_WINDOW_MS {
        return Err(Error::RecallWindowPassed);
    }
    Ok(())
}

/// Image and file types an upload may have, by declared MIME type and by the
/// bytes themselves (a file lying about its type is refused).
pub fn sniff_upload(declared: &str, bytes: &[u8]) -> Result<UploadKind, Error> {
    let kind = match declared {
        "image/png" if bytes.starts_with(b"\x89PNG\r\n\x1a\n") => UploadKind::Image,
        "image/jpeg" if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) => UploadKind::Image,
        "image/gif" if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") => UploadKind::Image,
        "image/webp" if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" => UploadKind::Image,
        "application/pdf" if bytes.starts_with(b"%PDF-") => UploadKind::File,
        "text/plain" if std::str::from_utf8(bytes).is_ok() => UploadKind::File,
        "application/zip" if bytes.starts_with(b"PK\x03\x04") => UploadKind::File,
        "application/octet-stream" => UploadKind::File,
        _ => return Err(Error::UnsupportedMediaType),
    };
    Ok(kind)
}

/// Whether an upload may be sent as an image or only as a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    Image,
    File,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_limits() {
        assert!(Content::text(&"字".repeat(MAX_TEXT_CHARS)).is_ok());
        assert_eq!(Content::text(&"字".repeat(MAX_TEXT_CHARS + 1)), Err(Error::TooLong));
        assert_eq!(Content::text("  "), Err(Error::InvalidRequest));
    }

    #[test]
    fn recall_rules() {
        let (a, b) = (UserId(1), UserId(2));
        assert_eq!(may_recall(a, a, 0, RECALL_WINDOW_MS, false), Ok(()));
        assert_eq!(
            may_recall(a, a, 0, RECALL_WINDOW_MS + 1, false),
            Err(Error::RecallWindowPassed)
        );
        assert_eq!(may_recall(a, b, 0, 0, false), Err(Error::Forbidden));
        assert_eq!(may_recall(a, a, 0, 0, true), Err(Error::AlreadyRecalled));
    }

    #[test]
    fn sniffing_refuses_lies() {
        assert_eq!(
            sniff_upload("image/png", b"\x89PNG\r\n\x1a\nrest"),
            Ok(UploadKind::Image)
        );
        assert_eq!(sniff_upload("image/png", b"GIF89a"), Err(Error::UnsupportedMediaType));
        assert_eq!(
            sniff_upload("application/x-msdownload", b"MZ"),
            Err(Error::UnsupportedMediaType)
        );
    }

    #[test]
    fn mentions_are_deduplicated_and_bounded() {
        let content = Content::text("hi").expect("valid");
        let draft = Draft::new(content.clone(), None, vec![UserId(2), UserId(1), UserId(2)]).expect("valid");
        assert_eq!(draft.mentions, vec![UserId(1), UserId(2)]);
        let many = (0..=MAX_MENTIONS as i64).map(UserId).collect();
        assert_eq!(Draft::new(content, None, many), Err(Error::TooLong));
    }
}
