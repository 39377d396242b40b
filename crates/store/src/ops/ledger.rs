//! The ledger journal: accounts with running totals, append-only transfers,
//! pending transfers posted or voided exactly once, and reconciliation.
//!
//! The rules (balance floors, overflow) are `qiao_domain::ledger`'s; this
//! module loads the two accounts, asks the rules, and writes the transfer and
//! both new totals in the caller's transaction, or nothing.

use qiao_domain::ledger::{self, Account, AccountKind, Phase, Totals};
use qiao_domain::money::{Amount, Currency};
use qiao_domain::Error as Rejection;

use super::corrupt;
use crate::engine::{params, Conn, Row};
use crate::records::{LedgerAccount, LedgerAccountId, NewTransfer, ReconcileReport, TransferPhase, TransferRecord};
use crate::writer::Tx;
use crate::{StoreError, StoreResult};

const ACCOUNT_COLUMNS: &str = "id, kind, owner, currency, credit_limit_minor, debits_posted, credits_posted, \
     debits_pending, credits_pending, created_at_ms";

fn account_from_row(row: &Row) -> StoreResult<LedgerAccount> {
    let kind = AccountKind::from_name(&row.text(1)?, row.int(4)?).ok_or_else(|| corrupt("account kind"))?;
    Ok(LedgerAccount {
        id: LedgerAccountId(row.int(0)?),
        owner: row.text(2)?,
        account: Account {
            kind,
            currency: Currency::parse(&row.text(3)?).map_err(|_| corrupt("currency"))?,
            totals: Totals {
                debits_posted: row.int(5)?,
                credits_posted: row.int(6)?,
                debits_pending: row.int(7)?,
                credits_pending: row.int(8)?,
            },
        },
        created_at_ms: row.int(9)?,
    })
}

pub fn account(conn: &mut dyn Conn, id: LedgerAccountId) -> StoreResult<LedgerAccount> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = $1");
    let row = conn
        .query_opt(&sql, params![id.0])?
        .ok_or(StoreError::Rejected(Rejection::NotFound))?;
    account_from_row(&row)
}

/// The account of this kind, owner and currency, opened on first use.
pub fn ensure_account(
    tx: &mut Tx<'_>,
    kind: AccountKind,
    owner: &str,
    currency: Currency,
    now_ms: i64,
) -> StoreResult<LedgerAccount> {
    let limit = match kind {
        AccountKind::CreditLine { limit_minor } if limit_minor >= 0 => limit_minor,
        AccountKind::CreditLine { .. } => return Err(Rejection::InvalidRequest.into()),
        _ => 0,
    };
    tx.conn.execute(
        "INSERT INTO ledger_accounts (kind, owner, currency, credit_limit_minor, created_at_ms) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (kind, owner, currency) DO NOTHING",
        params![kind.name(), owner, currency.code(), limit, now_ms],
    )?;
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE kind = $1 AND owner = $2 AND currency = $3");
    account_from_row(&tx.conn.query_one(&sql, params![kind.name(), owner, currency.code()])?)
}

const TRANSFER_COLUMNS: &str =
    "id, idempotency_key, debit_account_id, credit_account_id, amount_minor, currency, phase, pending_id, memo, created_at_ms";

fn transfer_from_row(row: &Row) -> StoreResult<TransferRecord> {
    Ok(TransferRecord {
        id: row.int(0)?,
        key: row.text(1)?,
        debit: LedgerAccountId(row.int(2)?),
        credit: LedgerAccountId(row.int(3)?),
        amount_minor: row.int(4)?,
        currency: Currency::parse(&row.text(5)?).map_err(|_| corrupt("currency"))?,
        phase: TransferPhase::parse(&row.text(6)?).ok_or_else(|| corrupt("phase"))?,
        pending_id: row.opt_int(7)?,
        memo: row.text(8)?,
        created_at_ms: row.int(9)?,
    })
}

pub fn transfer_by_key(conn: &mut dyn Conn, key: &str) -> StoreResult<Option<TransferRecord>> {
    let sql = format!("SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE idempotency_key = $1");
    conn.query_opt(&sql, params![key])?
        .map(|r| transfer_from_row(&r))
        .transpose()
}

fn write_totals(tx: &mut Tx<'_>, id: LedgerAccountId, totals: &Totals) -> StoreResult<()> {
    tx.conn.execute(
        "UPDATE ledger_accounts SET debits_posted = $1, credits_posted = $2, debits_pending = $3, credits_pending = $4
         WHERE id = $5",
        params![
            totals.debits_posted,
            totals.credits_posted,
            totals.debits_pending,
            totals.credits_pending,
            id.0
        ],
    )?;
    Ok(())
}

/// A journal row about to be appended.
struct Entry<'a> {
    key: &'a str,
    debit: LedgerAccountId,
    credit: LedgerAccountId,
    amount: Amount,
    phase: TransferPhase,
    pending_id: Option<i64>,
    memo: &'a str,
}

fn append(tx: &mut Tx<'_>, e: Entry<'_>, now_ms: i64) -> StoreResult<TransferRecord> {
    let sql = format!(
        "INSERT INTO ledger_transfers (idempotency_key, debit_account_id, credit_account_id, amount_minor, currency, phase,
                                       pending_id, memo, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {TRANSFER_COLUMNS}"
    );
    let row = tx.conn.query_one(
        &sql,
        params![
            e.key,
            e.debit.0,
            e.credit.0,
            e.amount.minor(),
            e.amount.currency().code(),
            e.phase.as_str(),
            e.pending_id,
            e.memo,
            now_ms
        ],
    )?;
    transfer_from_row(&row)
}

/// Moves `amount` from `debit` to `credit`, posted or pending. Idempotent by
/// key: a retry returns the first transfer; the same key with other
/// parameters is `IdempotencyConflict`.
pub fn transfer(tx: &mut Tx<'_>, new: NewTransfer, now_ms: i64) -> StoreResult<TransferRecord> {
    let phase = if new.pending {
        TransferPhase::Pending
    } else {
        TransferPhase::Posted
    };
    if let Some(first) = transfer_by_key(tx.conn, &new.key)? {
        let same = first.debit == new.debit
            && first.credit == new.credit
            && first.amount_minor == new.amount.minor()
            && first.currency == new.amount.currency()
            && first.phase == phase
            && first.memo == new.memo;
        return if same {
            Ok(first)
        } else {
            Err(Rejection::IdempotencyConflict.into())
        };
    }
    let debit = account(tx.conn, new.debit)?;
    let credit = account(tx.conn, new.credit)?;
    let ledger_phase = if new.pending { Phase::Pending } else { Phase::Posted };
    let (d, c) = ledger::apply(
        &debit.account,
        &credit.account,
        debit.id == credit.id,
        new.amount,
        ledger_phase,
    )
    .map_err(Rejection::from)?;
    write_totals(tx, debit.id, &d)?;
    write_totals(tx, credit.id, &c)?;
    let entry = Entry {
        key: &new.key,
        debit: new.debit,
        credit: new.credit,
        amount: new.amount,
        phase,
        pending_id: None,
        memo: &new.memo,
    };
    append(tx, entry, now_ms)
}

/// Posts (`post = true`) or voids the pending transfer `pending_key`, exactly
/// once. Idempotent by `key` like [`transfer`].
pub fn settle(tx: &mut Tx<'_>, key: &str, pending_key: &str, post: bool, now_ms: i64) -> StoreResult<TransferRecord> {
    let phase = if post {
        TransferPhase::PostPending
    } else {
        TransferPhase::VoidPending
    };
    let pending = transfer_by_key(tx.conn, pending_key)?.ok_or(StoreError::Rejected(Rejection::NotFound))?;
    if let Some(first) = transfer_by_key(tx.conn, key)? {
        return if first.phase == phase && first.pending_id == Some(pending.id) {
            Ok(first)
        } else {
            Err(Rejection::IdempotencyConflict.into())
        };
    }
    if pending.phase != TransferPhase::Pending {
        return Err(Rejection::InvalidRequest.into());
    }
    let settled = tx
        .conn
        .query_opt(
            "SELECT id FROM ledger_transfers WHERE pending_id = $1",
            params![pending.id],
        )?
        .is_some();
    if settled {
        return Err(Rejection::AlreadySettled.into());
    }
    let amount = Amount::new(pending.amount_minor, pending.currency).map_err(|_| corrupt("amount"))?;
    let debit = account(tx.conn, pending.debit)?;
    let credit = account(tx.conn, pending.credit)?;
    let (d, c) = ledger::settle(&debit.account, &credit.account, amount, post).map_err(Rejection::from)?;
    write_totals(tx, debit.id, &d)?;
    write_totals(tx, credit.id, &c)?;
    let entry = Entry {
        key,
        debit: pending.debit,
        credit: pending.credit,
        amount,
        phase,
        pending_id: Some(pending.id),
        memo: "",
    };
    append(tx, entry, now_ms)
}

/// Recomputes every account's totals from the journal in one snapshot and
/// checks: totals match, each currency sums to zero, every account keeps its
/// floor, every transfer's currency is its accounts', settlements settle a
/// pending transfer.
pub fn reconcile(conn: &mut dyn Conn) -> StoreResult<ReconcileReport> {
    // One snapshot for both reads, so a concurrent transfer can't be half-seen.
    conn.batch(match conn.dialect() {
        crate::engine::Dialect::Sqlite => "BEGIN",
        crate::engine::Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    })?;
    let report = read_and_check(conn);
    conn.batch("COMMIT")?;
    report
}

fn read_and_check(conn: &mut dyn Conn) -> StoreResult<ReconcileReport> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts ORDER BY id");
    let accounts: Vec<LedgerAccount> = conn
        .query(&sql, &[])?
        .iter()
        .map(account_from_row)
        .collect::<StoreResult<_>>()?;
    let sql = format!("SELECT {TRANSFER_COLUMNS} FROM ledger_transfers ORDER BY id");
    let transfers: Vec<TransferRecord> = conn
        .query(&sql, &[])?
        .iter()
        .map(transfer_from_row)
        .collect::<StoreResult<_>>()?;
    Ok(ReconcileReport::check(&accounts, &transfers))
}
