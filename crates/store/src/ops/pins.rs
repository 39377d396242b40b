//! Payment PINs: the hash, wrong tries, locks and the no-PIN limit. The
//! server verifies the hash; the count of wrong tries moves here, in the
//! writer, so concurrent wrong guesses are all counted (each operation holds
//! its user's lock, or the whole writer).

use qiao_domain::ids::UserId;
use qiao_domain::pin::PinState;
use qiao_domain::Error as Rejection;

use crate::engine::{params, Conn, LockKey, Row};
use crate::records::PinRecord;
use crate::writer::Tx;
use crate::{StoreError, StoreResult};

const COLUMNS: &str = "user_id, pin_hash, wrong_tries, locked_until_ms, no_pin_limit_minor";

fn from_row(row: &Row) -> StoreResult<PinRecord> {
    Ok(PinRecord {
        user_id: UserId(row.int(0)?),
        pin_hash: row.text(1)?,
        state: PinState {
            wrong_tries: u32::try_from(row.int(2)?).unwrap_or(u32::MAX),
            locked_until_ms: row.opt_int(3)?,
        },
        no_pin_limit_minor: row.int(4)?,
    })
}

pub fn pin(conn: &mut dyn Conn, user: UserId) -> StoreResult<Option<PinRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM payment_pins WHERE user_id = $1");
    conn.query_opt(&sql, params![user.0])?.map(|r| from_row(&r)).transpose()
}

/// Sets or replaces the PIN; a new PIN clears wrong tries. A running lock
/// stops it, unless `clear_lock`: a reset in which the owner proved who they
/// are with the password and a bound card, which lifts the lock too.
pub fn set_pin(tx: &mut Tx<'_>, user: UserId, pin_hash: &str, clear_lock: bool, now_ms: i64) -> StoreResult<PinRecord> {
    tx.require(LockKey::User(user))?;
    if let Some(current) = pin(tx.conn, user)? {
        if !clear_lock {
            current.state.may_try(now_ms)?;
        }
    }
    tx.conn.execute(
        "INSERT INTO payment_pins (user_id, pin_hash, wrong_tries, updated_at_ms) VALUES ($1, $2, 0, $3)
         ON CONFLICT (user_id) DO UPDATE SET pin_hash = excluded.pin_hash, wrong_tries = 0,
             locked_until_ms = CASE WHEN CAST($4 AS BIGINT) = 1 THEN NULL ELSE payment_pins.locked_until_ms END,
             updated_at_ms = excluded.updated_at_ms",
        params![user.0, pin_hash, now_ms, i64::from(clear_lock)],
    )?;
    pin(tx.conn, user)?.ok_or_else(|| StoreError::Backend("PIN vanished".into()))
}

/// Records one try. Refused with `PinLocked` if the PIN was locked when the
/// try reached the writer, so a burst of guesses can't outrun the lock.
pub fn record_try(tx: &mut Tx<'_>, user: UserId, right: bool, now_ms: i64, lock_ms: i64) -> StoreResult<PinRecord> {
    tx.require(LockKey::User(user))?;
    let current = pin(tx.conn, user)?.ok_or(StoreError::Rejected(Rejection::PinNotSet))?;
    current.state.may_try(now_ms)?;
    let next = current.state.after_try(right, now_ms, lock_ms);
    tx.conn.execute(
        "UPDATE payment_pins SET wrong_tries = $2, locked_until_ms = $3, updated_at_ms = $4 WHERE user_id = $1",
        params![user.0, i64::from(next.wrong_tries), next.locked_until_ms, now_ms],
    )?;
    Ok(PinRecord { state: next, ..current })
}

pub fn set_no_pin_limit(tx: &mut Tx<'_>, user: UserId, limit_minor: i64) -> StoreResult<PinRecord> {
    tx.require(LockKey::User(user))?;
    if limit_minor < 0 {
        return Err(Rejection::InvalidAmount.into());
    }
    let updated = tx.conn.execute(
        "UPDATE payment_pins SET no_pin_limit_minor = $2 WHERE user_id = $1",
        params![user.0, limit_minor],
    )?;
    if updated == 0 {
        return Err(Rejection::PinNotSet.into());
    }
    pin(tx.conn, user)?.ok_or_else(|| StoreError::Backend("PIN vanished".into()))
}
