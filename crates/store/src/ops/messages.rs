//! Sending, history, recall, receipts and uploads.

use qiao_api::{RecallData, ReceiptData};
use qiao_domain::conversation::Kind;
use qiao_domain::event::EventKind;
use qiao_domain::ids::{ClientMsgId, ConversationId, MessageId, UserId};
use qiao_domain::message::{self, Content, Draft};
use qiao_domain::Error as Rejection;

use super::conversations::{direct_open, membership_row, state};
use super::{message_from_row, MESSAGE_COLUMNS};
use crate::engine::{params, Conn, LockKey, Row};
use crate::records::{MessageRecord, ReceiptKind, UploadRecord};
use crate::wire;
use crate::writer::{Audience, Tx};
use crate::{Sent, StoreError, StoreResult};

fn message_by_client_id(conn: &mut dyn Conn, sender: UserId, client_id: &str) -> StoreResult<Option<MessageRecord>> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_id = $1 AND client_msg_id = $2");
    conn.query_opt(&sql, params![sender.0, client_id])?
        .map(|r| message_from_row(&r))
        .transpose()
}

pub fn message_by_id(conn: &mut dyn Conn, id: MessageId) -> StoreResult<Option<MessageRecord>> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
    conn.query_opt(&sql, params![id.0])?
        .map(|r| message_from_row(&r))
        .transpose()
}

/// Whether a stored message is what this draft would have produced.
fn same_message(stored: &MessageRecord, conversation: ConversationId, draft: &Draft) -> bool {
    let (text, blob, name) = match &draft.content {
        Content::Text { text } => (Some(text.as_str()), None, None),
        Content::Payment { note, .. } => (Some(note.as_str()), None, None),
        Content::Image { blob } => (None, Some(blob.as_str()), None),
        Content::File { blob, name } => (None, Some(blob.as_str()), Some(name.as_str())),
    };
    stored.conversation_id == conversation
        && stored.kind == draft.content.kind()
        && (stored.recalled || (stored.text.as_deref() == text && stored.blob.as_deref() == blob))
        && (stored.recalled || stored.file_name.as_deref() == name)
        && stored.reply_to == draft.reply_to
        && stored.mentions == draft.mentions
}

fn mentions_text(mentions: &[UserId]) -> String {
    mentions.iter().map(|u| u.0.to_string()).collect::<Vec<_>>().join(",")
}

pub fn send(
    tx: &mut Tx<'_>,
    sender: UserId,
    id: ConversationId,
    client_id: ClientMsgId,
    draft: Draft,
    now_ms: i64,
) -> StoreResult<Sent> {
    tx.require(LockKey::Conversation(id))?;
    let st = state(tx, id)?;
    if !st.members.contains_key(&sender) {
        // A retry after leaving still gets its first answer.
        return match message_by_client_id(tx.conn, sender, client_id.as_str())? {
            Some(m) if same_message(&m, id, &draft) => Ok(Sent {
                message: m,
                created: false,
            }),
            _ => Err(Rejection::NotMember.into()),
        };
    }
    if st.kind == Kind::Direct {
        direct_open(tx, id, &st)??;
    }
    if let Some(reply_to) = draft.reply_to {
        let quoted = message_by_id(tx.conn, reply_to)?;
        if quoted.is_none_or(|q| q.conversation_id != id) {
            return Err(Rejection::MessageNotFound.into());
        }
    }
    if draft.mentions.iter().any(|u| !st.members.contains_key(u)) {
        return Err(Rejection::NotMember.into());
    }
    let (mut mime, mut size) = (None, None);
    if let Some(blob) = draft.content.blob() {
        let upload = upload(tx.conn, blob.as_str())?.ok_or(StoreError::Rejected(Rejection::UploadNotFound))?;
        if !may_read_upload(tx.conn, sender, blob.as_str())? {
            return Err(Rejection::UploadNotFound.into());
        }
        if matches!(draft.content, Content::Image { .. }) && upload.kind != "image" {
            return Err(Rejection::UnsupportedMediaType.into());
        }
        mime = Some(upload.mime);
        size = Some(upload.size);
    }
    let (text, blob, file_name) = match &draft.content {
        Content::Text { text } => (Some(text.clone()), None, None),
        Content::Payment { note, .. } => (Some(note.clone()), None, None),
        Content::Image { blob } => (None, Some(blob.as_str().to_owned()), None),
        Content::File { blob, name } => (None, Some(blob.as_str().to_owned()), Some(name.clone())),
    };
    let payment_id = match &draft.content {
        Content::Payment { payment_id, .. } => Some(payment_id.0),
        _ => None,
    };
    let seq = st.last_seq + 1;
    let inserted = tx.conn.query_opt(
        "INSERT INTO messages (conversation_id, seq, sender_id, client_msg_id, kind, text, blob, file_name, mime, size,
                               reply_to, mentions, sent_at_ms, recalled, payment_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, $14)
         ON CONFLICT (sender_id, client_msg_id) DO NOTHING RETURNING id",
        params![
            id.0,
            seq,
            sender.0,
            client_id.as_str(),
            draft.content.kind(),
            text.clone(),
            blob.clone(),
            file_name.clone(),
            mime.clone(),
            size,
            draft.reply_to.map(|m| m.0),
            mentions_text(&draft.mentions),
            now_ms,
            payment_id
        ],
    )?;
    let Some(row) = inserted else {
        let first = message_by_client_id(tx.conn, sender, client_id.as_str())?
            .ok_or_else(|| StoreError::Backend("message id conflict without a message".into()))?;
        return if same_message(&first, id, &draft) {
            Ok(Sent {
                message: first,
                created: false,
            })
        } else {
            Err(Rejection::IdempotencyConflict.into())
        };
    };
    let message = MessageRecord {
        id: MessageId(row.int(0)?),
        conversation_id: id,
        seq,
        sender_id: sender,
        client_msg_id: client_id.as_str().to_owned(),
        kind: draft.content.kind().to_owned(),
        text,
        blob: blob.clone(),
        file_name,
        mime,
        size,
        reply_to: draft.reply_to,
        mentions: draft.mentions,
        sent_at_ms: now_ms,
        recalled: false,
        payment_id: payment_id.map(qiao_domain::ids::PaymentId),
    };
    if let Some(blob) = &blob {
        tx.conn.execute(
            "INSERT INTO blob_refs (hash, conversation_id) VALUES ($1, $2) ON CONFLICT (hash, conversation_id) DO NOTHING",
            params![blob, id.0],
        )?;
    }
    if let Some(cached) = tx.cache.conversations.get_mut(&id) {
        cached.last_seq = seq;
    }
    let data = wire::to_json(&wire::message(&message));
    tx.emit(
        EventKind::MessageNew,
        Audience::Conversation(id),
        Some(message.id),
        data,
        st.recipients,
        now_ms,
    )?;
    Ok(Sent { message, created: true })
}

pub fn history(
    conn: &mut dyn Conn,
    user: UserId,
    id: ConversationId,
    before: Option<i64>,
    limit: usize,
) -> StoreResult<Vec<MessageRecord>> {
    let (joined_seq, _) = membership_row(conn, user, id)?;
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND seq > $2 AND seq < $3
         ORDER BY seq DESC LIMIT $4"
    );
    let before = before.unwrap_or(i64::MAX);
    conn.query(&sql, params![id.0, joined_seq, before, limit as i64])?
        .iter()
        .map(message_from_row)
        .collect()
}

pub fn recall(tx: &mut Tx<'_>, user: UserId, id: MessageId, now_ms: i64) -> StoreResult<MessageRecord> {
    let found = message_by_id(tx.conn, id)?.ok_or(StoreError::Rejected(Rejection::MessageNotFound))?;
    let st = state(tx, found.conversation_id)?;
    if !st.members.contains_key(&user) {
        return Err(Rejection::MessageNotFound.into());
    }
    message::may_recall(found.sender_id, user, found.sent_at_ms, now_ms, found.recalled)?;
    if found.payment_id.is_some() {
        // Money has moved with it; a transfer is answered or refunded, never recalled.
        return Err(Rejection::Forbidden.into());
    }
    tx.conn.execute(
        "UPDATE messages SET recalled = 1, text = NULL, blob = NULL, file_name = NULL, mime = NULL, size = NULL
         WHERE id = $1",
        params![id.0],
    )?;
    let recalled = message_by_id(tx.conn, id)?.ok_or(StoreError::Rejected(Rejection::MessageNotFound))?;
    // The recalled content must not be replayed by a later sync either.
    tx.conn.execute(
        "UPDATE events SET data = $1 WHERE message_id = $2 AND kind = $3",
        params![
            wire::to_json(&wire::message(&recalled)),
            id.0,
            EventKind::MessageNew.as_str()
        ],
    )?;
    let data = wire::to_json(&RecallData {
        message_id: id.0,
        conversation_id: recalled.conversation_id.0,
        seq: recalled.seq,
    });
    tx.emit(
        EventKind::MessageRecalled,
        Audience::Conversation(recalled.conversation_id),
        Some(id),
        data,
        st.recipients,
        now_ms,
    )?;
    Ok(recalled)
}

pub fn receipt(
    tx: &mut Tx<'_>,
    user: UserId,
    id: ConversationId,
    kind: ReceiptKind,
    up_to_seq: i64,
    now_ms: i64,
) -> StoreResult<()> {
    tx.require(LockKey::Conversation(id))?;
    let st = state(tx, id)?;
    if !st.members.contains_key(&user) {
        return Err(Rejection::NotMember.into());
    }
    if up_to_seq < 0 || up_to_seq > st.last_seq {
        return Err(Rejection::InvalidRequest.into());
    }
    let row = tx.conn.query_one(
        "SELECT last_delivered_seq, last_read_seq FROM members WHERE conversation_id = $1 AND user_id = $2",
        params![id.0, user.0],
    )?;
    let (delivered, read) = (row.int(0)?, row.int(1)?);
    let (column, current, event) = match kind {
        ReceiptKind::Delivered => ("last_delivered_seq", delivered, EventKind::ReceiptDelivered),
        ReceiptKind::Read => ("last_read_seq", read, EventKind::ReceiptRead),
    };
    if up_to_seq <= current {
        return Ok(());
    }
    let sql = format!("UPDATE members SET {column} = $1 WHERE conversation_id = $2 AND user_id = $3");
    tx.conn.execute(&sql, params![up_to_seq, id.0, user.0])?;
    if kind == ReceiptKind::Read && up_to_seq > delivered {
        tx.conn.execute(
            "UPDATE members SET last_delivered_seq = $1 WHERE conversation_id = $2 AND user_id = $3",
            params![up_to_seq, id.0, user.0],
        )?;
    }
    let data = wire::to_json(&ReceiptData {
        conversation_id: id.0,
        user_id: user.0,
        up_to_seq,
    });
    tx.emit(event, Audience::Conversation(id), None, data, st.recipients, now_ms)?;
    Ok(())
}

fn upload_from_row(row: &Row) -> StoreResult<UploadRecord> {
    Ok(UploadRecord {
        hash: row.text(0)?,
        mime: row.text(1)?,
        size: row.int(2)?,
        kind: row.text(3)?,
        uploader_id: UserId(row.int(4)?),
        created_at_ms: row.int(5)?,
    })
}

pub fn put_upload(tx: &mut Tx<'_>, upload: UploadRecord) -> StoreResult<()> {
    // Content-addressed: the same bytes uploaded twice are one blob; the
    // second uploader gains read access through a reference of their own.
    tx.conn.execute(
        "INSERT INTO uploads (hash, mime, size, kind, uploader_id, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (hash) DO NOTHING",
        params![
            upload.hash.as_str(),
            upload.mime.as_str(),
            upload.size,
            upload.kind.as_str(),
            upload.uploader_id.0,
            upload.created_at_ms
        ],
    )?;
    tx.conn.execute(
        "INSERT INTO upload_grants (hash, user_id) VALUES ($1, $2) ON CONFLICT (hash, user_id) DO NOTHING",
        params![upload.hash.as_str(), upload.uploader_id.0],
    )?;
    Ok(())
}

pub fn upload(conn: &mut dyn Conn, hash: &str) -> StoreResult<Option<UploadRecord>> {
    conn.query_opt(
        "SELECT hash, mime, size, kind, uploader_id, created_at_ms FROM uploads WHERE hash = $1",
        params![hash],
    )?
    .map(|r| upload_from_row(&r))
    .transpose()
}

/// Readable by whoever uploaded those bytes, anyone when it is an avatar, and current members of a conversation it was sent in.
pub fn may_read_upload(conn: &mut dyn Conn, user: UserId, hash: &str) -> StoreResult<bool> {
    let row = conn.query_opt(
        "SELECT 1 FROM upload_grants WHERE hash = $1 AND user_id = $2
         UNION ALL SELECT 1 FROM users WHERE avatar = $1
         UNION ALL SELECT 1 FROM blob_refs b JOIN members m ON m.conversation_id = b.conversation_id
             WHERE b.hash = $1 AND m.user_id = $2 AND m.left_pos IS NULL
         LIMIT 1",
        params![hash, user.0],
    )?;
    Ok(row.is_some())
}
