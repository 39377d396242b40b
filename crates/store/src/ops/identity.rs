//! Claims of phone numbers and email addresses, and their one-time codes;
//! and daily budgets shared by every node. The rules are the domain's
//! (`verification`); the counting happens here, in the writer, so that
//! concurrent guesses and concurrent sends are all counted.

use qiao_domain::ids::UserId;
use qiao_domain::verification::{ClaimState, IdentifierKind};
use qiao_domain::Error as Rejection;

use super::{corrupt, require_user};
use crate::engine::{params, Conn, Row};
use crate::records::{ClaimRecord, UserRecord};
use crate::writer::Tx;
use crate::{StoreError, StoreResult};

const COLUMNS: &str = "user_id, kind, value, code_hash, last_sent_at_ms, expires_at_ms, tries, sends_today, sent_day";

fn from_row(row: &Row) -> StoreResult<ClaimRecord> {
    Ok(ClaimRecord {
        user_id: UserId(row.int(0)?),
        kind: IdentifierKind::parse(&row.text(1)?).map_err(|_| corrupt("claim kind"))?,
        value: row.text(2)?,
        code_hash: row.opt_text(3)?,
        state: ClaimState {
            last_sent_at_ms: row.int(4)?,
            expires_at_ms: row.int(5)?,
            tries: u32::try_from(row.int(6)?).map_err(|_| corrupt("claim tries"))?,
            sends_today: u32::try_from(row.int(7)?).map_err(|_| corrupt("claim sends"))?,
            sent_day: row.int(8)?,
        },
    })
}

/// The user's unproven claims.
pub fn claims(conn: &mut dyn Conn, user: UserId) -> StoreResult<Vec<ClaimRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM identity_claims WHERE user_id = $1 ORDER BY kind");
    conn.query(&sql, params![user.0])?.iter().map(from_row).collect()
}

fn claim_of(conn: &mut dyn Conn, user: UserId, kind: IdentifierKind) -> StoreResult<ClaimRecord> {
    let sql = format!("SELECT {COLUMNS} FROM identity_claims WHERE user_id = $1 AND kind = $2");
    let row = conn
        .query_opt(&sql, params![user.0, kind.as_str()])?
        .ok_or(StoreError::Rejected(Rejection::NothingToVerify))?;
    from_row(&row)
}

/// Records a claim (replacing an earlier one of the same kind).
pub fn claim(tx: &mut Tx<'_>, user: UserId, kind: IdentifierKind, value: &str) -> StoreResult<()> {
    tx.conn.execute(
        "INSERT INTO identity_claims (user_id, kind, value) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, kind) DO UPDATE SET value = excluded.value, code_hash = NULL, expires_at_ms = 0, tries = 0",
        params![user.0, kind.as_str(), value],
    )?;
    Ok(())
}

/// Records that a new code (its hash) is being sent, if the rules allow one now.
pub fn record_code(
    tx: &mut Tx<'_>,
    user: UserId,
    kind: IdentifierKind,
    code_hash: &str,
    now_ms: i64,
) -> StoreResult<ClaimRecord> {
    let claim = claim_of(tx.conn, user, kind)?;
    let state = claim.state.send(now_ms)?;
    tx.conn.execute(
        "UPDATE identity_claims SET code_hash = $3, last_sent_at_ms = $4, expires_at_ms = $5, tries = 0,
             sends_today = $6, sent_day = $7
         WHERE user_id = $1 AND kind = $2",
        params![
            user.0,
            kind.as_str(),
            code_hash,
            state.last_sent_at_ms,
            state.expires_at_ms,
            i64::from(state.sends_today),
            state.sent_day
        ],
    )?;
    Ok(ClaimRecord {
        code_hash: Some(code_hash.to_owned()),
        state,
        ..claim
    })
}

/// How a code check ended. A wrong code is an answer, not an error, so the
/// try it cost is kept (an error would roll it back).
#[derive(Debug, Clone, PartialEq)]
pub enum Confirmed {
    /// The identifier now counts; the user as it is now.
    Proven(UserRecord),
    Wrong,
}

/// Checks a code's hash against the claim's. Right: the identifier becomes
/// the account's (unless another account proved it first: `PhoneTaken` /
/// `EmailTaken`) and the claim goes. Wrong: one try is counted.
pub fn confirm(
    tx: &mut Tx<'_>,
    user: UserId,
    kind: IdentifierKind,
    code_hash: &str,
    phone_hash: Option<&str>,
    now_ms: i64,
) -> StoreResult<Confirmed> {
    let claim = claim_of(tx.conn, user, kind)?;
    claim.state.may_confirm(now_ms)?;
    if claim.code_hash.as_deref() != Some(code_hash) {
        tx.conn.execute(
            "UPDATE identity_claims SET tries = tries + 1 WHERE user_id = $1 AND kind = $2",
            params![user.0, kind.as_str()],
        )?;
        return Ok(Confirmed::Wrong);
    }
    let (column, taken) = match kind {
        IdentifierKind::Phone => ("phone", Rejection::PhoneTaken),
        IdentifierKind::Email => ("email", Rejection::EmailTaken),
    };
    let owner = tx.conn.query_opt(
        &format!("SELECT id FROM users WHERE {column} = $1 AND id <> $2"),
        params![claim.value.as_str(), user.0],
    )?;
    if owner.is_some() {
        return Err(taken.into());
    }
    match kind {
        IdentifierKind::Phone => tx.conn.execute(
            "UPDATE users SET phone = $2, phone_hash = $3 WHERE id = $1",
            params![user.0, claim.value.as_str(), phone_hash],
        )?,
        IdentifierKind::Email => tx.conn.execute(
            "UPDATE users SET email = $2 WHERE id = $1",
            params![user.0, claim.value.as_str()],
        )?,
    };
    tx.conn.execute(
        "DELETE FROM identity_claims WHERE user_id = $1 AND kind = $2",
        params![user.0, kind.as_str()],
    )?;
    Ok(Confirmed::Proven(require_user(tx.conn, user)?))
}

/// Takes `amount` from a daily budget; `LookupBudgetSpent` (writing nothing)
/// if that would pass `limit`. Returns what is left.
pub fn spend(tx: &mut Tx<'_>, budget: &str, day: i64, amount: i64, limit: i64) -> StoreResult<i64> {
    let used = tx
        .conn
        .query_opt(
            "SELECT used FROM usage_budgets WHERE budget = $1 AND day = $2",
            params![budget, day],
        )?
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(0);
    let total = used.checked_add(amount).filter(|t| *t <= limit);
    let Some(total) = total else {
        return Err(Rejection::LookupBudgetSpent.into());
    };
    tx.conn.execute(
        "INSERT INTO usage_budgets (budget, day, used) VALUES ($1, $2, $3)
         ON CONFLICT (budget, day) DO UPDATE SET used = excluded.used",
        params![budget, day, total],
    )?;
    Ok(limit - total)
}
