//! Every store operation, written once against [`Conn`] and run by both
//! engines. Reads take a connection; writes take the writer's [`Tx`].

pub mod accounts;
pub mod caps;
pub mod cards;
pub mod contacts;
pub mod conversations;
pub mod fx;
pub mod identity;
pub mod ledger;
pub mod merchants;
pub mod messages;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod pins;
pub mod sync;

use qiao_domain::identity::{Language, Region};
use qiao_domain::ids::{ConversationId, MessageId, UserId};

use crate::engine::{params, Conn, Row};
use crate::records::{MessageRecord, UserRecord};
use crate::{StoreError, StoreResult};

pub const USER_COLUMNS: &str =
    "id, qiao_id, phone, email, password_hash, display_name, avatar, region, language, created_at_ms";

pub fn user_from_row(row: &Row) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        id: UserId(row.int(0)?),
        qiao_id: row.opt_text(1)?,
        phone: row.opt_text(2)?,
        email: row.opt_text(3)?,
        password_hash: row.text(4)?,
        display_name: row.text(5)?,
        avatar: row.opt_text(6)?,
        region: Region::parse(&row.text(7)?).map_err(|_| corrupt("region"))?,
        language: Language::parse(&row.text(8)?).map_err(|_| corrupt("language"))?,
        created_at_ms: row.int(9)?,
    })
}

pub fn user_by_id(conn: &mut dyn Conn, id: UserId) -> StoreResult<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    conn.query_opt(&sql, params![id.0])?
        .map(|r| user_from_row(&r))
        .transpose()
}

pub fn require_user(conn: &mut dyn Conn, id: UserId) -> StoreResult<UserRecord> {
    user_by_id(conn, id)?.ok_or(StoreError::Rejected(qiao_domain::Error::UserNotFound))
}

pub const MESSAGE_COLUMNS: &str = "id, conversation_id, seq, sender_id, client_msg_id, kind, text, blob, \
     file_name, mime, size, reply_to, mentions, sent_at_ms, recalled, payment_id";

pub fn message_from_row(row: &Row) -> StoreResult<MessageRecord> {
    let mentions = row
        .text(12)?
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map(UserId).map_err(|_| corrupt("mentions")))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(MessageRecord {
        id: MessageId(row.int(0)?),
        conversation_id: ConversationId(row.int(1)?),
        seq: row.int(2)?,
        sender_id: UserId(row.int(3)?),
        client_msg_id: row.text(4)?,
        kind: row.text(5)?,
        text: row.opt_text(6)?,
        blob: row.opt_text(7)?,
        file_name: row.opt_text(8)?,
        mime: row.opt_text(9)?,
        size: row.opt_int(10)?,
        reply_to: row.opt_int(11)?.map(MessageId),
        mentions,
        sent_at_ms: row.int(13)?,
        recalled: row.int(14)? != 0,
        payment_id: row.opt_int(15)?.map(qiao_domain::ids::PaymentId),
    })
}

/// What a sweep looks for: rows of `table` matching `due` (with `$1` the
/// sweep's time). The sweep's operation selects by it, and a reader asks it
/// first (`SqlStore::any_due`), so the two never disagree.
pub struct Sweep {
    pub table: &'static str,
    pub due: &'static str,
}

impl Sweep {
    /// Whether anything is due at `at_ms`.
    pub fn any(&self, conn: &mut dyn Conn, at_ms: i64) -> StoreResult<bool> {
        let sql = format!("SELECT 1 FROM {} WHERE {} LIMIT 1", self.table, self.due);
        Ok(conn.query_opt(&sql, &[at_ms.into()])?.is_some())
    }
}

pub fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("corrupt {what} in database"))
}

/// The newest stream position the writer's transaction sees, where a new
/// member's view of the stream starts. Only batches that hold the writer lock
/// exclusively change membership, so no other batch is in flight below it.
pub fn head(conn: &mut dyn Conn) -> StoreResult<i64> {
    conn.query_one("SELECT COALESCE(MAX(pos), 0) FROM events", &[])?.int(0)
}

/// The newest stream position a reader may hand out as a cursor: below it,
/// no event can still appear (see [`crate::engine::visible_below`]).
pub fn visible_head(conn: &mut dyn Conn) -> StoreResult<i64> {
    let sql = format!(
        "SELECT COALESCE(MAX(pos), 0) FROM events WHERE pos < {}",
        crate::engine::visible_below(conn.dialect())
    );
    conn.query_one(&sql, &[])?.int(0)
}
