//! The outbox of notifications to merchants' servers. A notification is
//! written in the same transaction as the payment or refund it reports, so
//! none is lost and none is sent for something that did not happen. Any
//! node's deliverer leases due rows here (a lease is a later `next_at_ms`,
//! so two nodes do not send the same row at once), posts them, and records
//! the answer; failures wait by [`qiao_domain::webhook::retry_after_ms`].

use qiao_domain::ids::{MerchantId, NotificationId};
use qiao_domain::webhook;
use qiao_domain::Error as Rejection;

use crate::engine::{params, Conn, LockKey, Row};
use crate::merchant_records::{Attempt, NotificationRecord};
use crate::writer::Tx;
use crate::{StoreError, StoreResult};

const COLUMNS: &str = "id, merchant_id, event_id, kind, url, body, attempts, next_at_ms, delivered_at_ms, \
     last_status, last_error, created_at_ms";

fn from_row(row: &Row) -> StoreResult<NotificationRecord> {
    Ok(NotificationRecord {
        id: NotificationId(row.int(0)?),
        merchant_id: MerchantId(row.int(1)?),
        event_id: row.text(2)?,
        kind: row.text(3)?,
        url: row.text(4)?,
        body: row.text(5)?,
        attempts: u32::try_from(row.int(6)?).map_err(|_| super::corrupt("attempts"))?,
        next_at_ms: row.opt_int(7)?,
        delivered_at_ms: row.opt_int(8)?,
        last_status: row.opt_int(9)?,
        last_error: row.opt_text(10)?,
        created_at_ms: row.int(11)?,
    })
}

/// Queues a notification, due now. The same event id twice is one row.
pub fn enqueue(
    tx: &mut Tx<'_>,
    merchant: MerchantId,
    event_id: &str,
    kind: &str,
    url: &str,
    body: &str,
    now_ms: i64,
) -> StoreResult<()> {
    tx.conn.execute(
        "INSERT INTO merchant_notifications (merchant_id, event_id, kind, url, body, next_at_ms, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (event_id) DO NOTHING",
        params![merchant.0, event_id, kind, url, body, now_ms],
    )?;
    Ok(())
}

/// Notifications due for an attempt (not delivered, given up or leased).
pub const DUE: super::Sweep = super::Sweep {
    table: "merchant_notifications",
    due: "next_at_ms IS NOT NULL AND next_at_ms <= $1",
};

/// Leases up to `limit` due notifications for `lease_ms`: they are not due
/// again (for anyone) until the lease runs out or an answer is recorded.
pub fn lease_due(tx: &mut Tx<'_>, now_ms: i64, lease_ms: i64, limit: usize) -> StoreResult<Vec<NotificationRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {} WHERE {} ORDER BY next_at_ms, id LIMIT $2",
        DUE.table, DUE.due
    );
    let due: Vec<NotificationRecord> = tx
        .conn
        .query(&sql, params![now_ms, limit as i64])?
        .iter()
        .map(from_row)
        .collect::<StoreResult<_>>()?;
    tx.require(LockKey::Outbox)?;
    for n in &due {
        tx.conn.execute(
            "UPDATE merchant_notifications SET next_at_ms = $2 WHERE id = $1",
            params![n.id.0, now_ms + lease_ms],
        )?;
    }
    Ok(due)
}

/// Records how an attempt went: delivered, or failed and due again after
/// the schedule's wait (or given up once the schedule is spent).
pub fn record(tx: &mut Tx<'_>, id: NotificationId, attempt: Attempt, now_ms: i64) -> StoreResult<NotificationRecord> {
    let current = get(tx.conn, id)?;
    if current.delivered_at_ms.is_some() {
        return Ok(current);
    }
    let attempts = i64::from(current.attempts) + 1;
    let (next, delivered, status, error) = match attempt {
        Attempt::Delivered { status } => (None, Some(now_ms), Some(status), None),
        Attempt::Failed { status, error } => {
            let failed = u32::try_from(attempts).unwrap_or(u32::MAX);
            let next = webhook::retry_after_ms(failed).map(|wait| now_ms + wait);
            (next, None, status, Some(error))
        }
    };
    tx.require(LockKey::Outbox)?;
    let sql = format!(
        "UPDATE merchant_notifications SET attempts = $2, next_at_ms = $3, delivered_at_ms = $4, last_status = $5,
             last_error = $6 WHERE id = $1 RETURNING {COLUMNS}"
    );
    from_row(
        &tx.conn
            .query_one(&sql, params![id.0, attempts, next, delivered, status, error])?,
    )
}

fn get(conn: &mut dyn Conn, id: NotificationId) -> StoreResult<NotificationRecord> {
    let sql = format!("SELECT {COLUMNS} FROM merchant_notifications WHERE id = $1");
    let row = conn
        .query_opt(&sql, params![id.0])?
        .ok_or(StoreError::Rejected(Rejection::NotFound))?;
    from_row(&row)
}

/// A merchant's notifications, newest first.
pub fn list(conn: &mut dyn Conn, merchant: MerchantId, limit: usize) -> StoreResult<Vec<NotificationRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM merchant_notifications WHERE merchant_id = $1 ORDER BY id DESC LIMIT $2");
    conn.query(&sql, params![merchant.0, limit as i64])?
        .iter()
        .map(from_row)
        .collect()
}

/// Makes one of the merchant's notifications due now again (a manual resend).
pub fn resend(
    tx: &mut Tx<'_>,
    merchant: MerchantId,
    id: NotificationId,
    now_ms: i64,
) -> StoreResult<NotificationRecord> {
    tx.require(LockKey::Outbox)?;
    let sql = format!(
        "UPDATE merchant_notifications SET next_at_ms = $3, delivered_at_ms = NULL WHERE id = $1 AND merchant_id = $2
         RETURNING {COLUMNS}"
    );
    let row = tx
        .conn
        .query_opt(&sql, params![id.0, merchant.0, now_ms])?
        .ok_or(StoreError::Rejected(Rejection::NotFound))?;
    from_row(&row)
}
