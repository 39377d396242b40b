//! Daily spending totals, counted in the writer transaction that moves the
//! money: concurrent requests are serialized by the writer (or, in a shared
//! batch, by the user's lock), so each sees the totals the ones before it
//! left, and together they can't pass the cap.

use qiao_domain::caps::{utc_day, CapKind, DailyCap};
use qiao_domain::ids::UserId;
use qiao_domain::money::{Amount, Currency};

use crate::engine::{params, Conn, LockKey};
use crate::writer::Tx;
use crate::StoreResult;

/// What `user` has moved of `kind` in `currency` on the UTC day of `at_ms`.
pub fn used(conn: &mut dyn Conn, user: UserId, currency: Currency, kind: CapKind, at_ms: i64) -> StoreResult<i64> {
    Ok(conn
        .query_opt(
            "SELECT used_minor FROM daily_usage WHERE user_id = $1 AND currency = $2 AND kind = $3 AND day = $4",
            params![user.0, currency.code(), kind.as_str(), utc_day(at_ms)],
        )?
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(0))
}

/// The day's total after `amount`, or the refusal; writes nothing.
pub fn check(tx: &mut Tx<'_>, user: UserId, cap: DailyCap, amount: Amount, at_ms: i64) -> StoreResult<i64> {
    let so_far = used(tx.conn, user, amount.currency(), cap.kind, at_ms)?;
    Ok(cap.caps.check_day(so_far, amount)?)
}

/// Writes the day's new total (from [`check`]).
pub fn record(
    tx: &mut Tx<'_>,
    user: UserId,
    currency: Currency,
    kind: CapKind,
    at_ms: i64,
    total: i64,
) -> StoreResult<()> {
    tx.require(LockKey::User(user))?;
    tx.conn.execute(
        "INSERT INTO daily_usage (user_id, currency, kind, day, used_minor) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, currency, kind, day) DO UPDATE SET used_minor = excluded.used_minor",
        params![user.0, currency.code(), kind.as_str(), utc_day(at_ms), total],
    )?;
    Ok(())
}

/// Gives back what a voided reservation counted, on the day it was made.
pub fn release(tx: &mut Tx<'_>, user: UserId, amount: Amount, kind: CapKind, reserved_at_ms: i64) -> StoreResult<()> {
    tx.require(LockKey::User(user))?;
    tx.conn.execute(
        "UPDATE daily_usage SET used_minor = CASE WHEN used_minor > $5 THEN used_minor - $5 ELSE 0 END
         WHERE user_id = $1 AND currency = $2 AND kind = $3 AND day = $4",
        params![
            user.0,
            amount.currency().code(),
            kind.as_str(),
            utc_day(reserved_at_ms),
            amount.minor()
        ],
    )?;
    Ok(())
}
