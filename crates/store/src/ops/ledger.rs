//! The ledger journal: accounts with running totals, append-only transfers,
//! pending transfers posted or voided exactly once, and reconciliation.
//!
//! The rules (balance floors, overflow) are `qiao_domain::ledger`'s; this
//! module loads the two accounts, asks the rules, and writes the transfer and
//! both new totals in the caller's transaction, or nothing.

use qiao_domain::ids::TransferId;
use qiao_domain::journal::{LedgerKey, Memo};
use qiao_domain::ledger::{self, Account, AccountKind, Owner, Phase, Totals};
use qiao_domain::money::{Amount, Currency};
use qiao_domain::Error as Rejection;

use super::corrupt;
use crate::engine::{params, placeholders, Conn, LockKey, Row};
use crate::records::{LedgerAccount, LedgerAccountId, NewTransfer, ReconcileReport, TransferPhase, TransferRecord};
use crate::writer::Tx;
use crate::{StoreError, StoreResult};

const ACCOUNT_COLUMNS: &str =
    "id, kind, owner, currency, credit_limit_minor, posted_balance, debits_pending, credits_pending, created_at_ms";

fn account_from_row(row: &Row) -> StoreResult<LedgerAccount> {
    let kind = AccountKind::from_name(&row.text(1)?, row.int(4)?).ok_or_else(|| corrupt("account kind"))?;
    Ok(LedgerAccount {
        id: LedgerAccountId(row.int(0)?),
        owner: row.text(2)?,
        account: Account {
            kind,
            currency: Currency::parse(&row.text(3)?).map_err(|_| corrupt("currency"))?,
            totals: Totals {
                posted: row.int(5)?,
                debits_pending: row.int(6)?,
                credits_pending: row.int(7)?,
            },
        },
        created_at_ms: row.int(8)?,
    })
}

pub fn account(conn: &mut dyn Conn, id: LedgerAccountId) -> StoreResult<LedgerAccount> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = $1");
    let row = conn
        .query_opt(&sql, params![id.0])?
        .ok_or(StoreError::Rejected(Rejection::NotFound))?;
    account_from_row(&row)
}

/// Both sides of a transfer in one read (the same account twice if they are one).
fn account_pair(
    conn: &mut dyn Conn,
    debit: LedgerAccountId,
    credit: LedgerAccountId,
) -> StoreResult<(LedgerAccount, LedgerAccount)> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id IN ($1, $2)");
    let found = conn
        .query(&sql, params![debit.0, credit.0])?
        .iter()
        .map(account_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    let side = |id| {
        found
            .iter()
            .find(|a| a.id == id)
            .cloned()
            .ok_or(StoreError::Rejected(Rejection::NotFound))
    };
    Ok((side(debit)?, side(credit)?))
}

/// The stored owners of accounts `ids` (those that exist).
pub fn owners_of(conn: &mut dyn Conn, ids: &[LedgerAccountId]) -> StoreResult<Vec<(LedgerAccountId, String)>> {
    let sql = format!(
        "SELECT id, owner FROM ledger_accounts WHERE id IN ({})",
        placeholders(0, ids.len())
    );
    let values: Vec<crate::engine::Value> = ids.iter().map(|id| id.0.into()).collect();
    conn.query(&sql, &values)?
        .iter()
        .map(|r| Ok((LedgerAccountId(r.int(0)?), r.text(1)?)))
        .collect()
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
    // Most calls find the account: read first, so the hot paths don't write.
    if let Some(found) = find_account(tx.conn, kind.name(), owner, currency)? {
        return Ok(found);
    }
    tx.require_account(owner)?;
    tx.conn.execute(
        "INSERT INTO ledger_accounts (kind, owner, currency, credit_limit_minor, created_at_ms) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (kind, owner, currency) DO NOTHING",
        params![kind.name(), owner, currency.code(), limit, now_ms],
    )?;
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE kind = $1 AND owner = $2 AND currency = $3");
    account_from_row(&tx.conn.query_one(&sql, params![kind.name(), owner, currency.code()])?)
}

/// Every account of one owner (a user's wallets and credit line), in id order.
pub fn accounts_of(conn: &mut dyn Conn, owner: &str) -> StoreResult<Vec<LedgerAccount>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE owner = $1 ORDER BY id");
    conn.query(&sql, params![owner])?.iter().map(account_from_row).collect()
}

/// The account of this kind, owner and currency, if it was ever opened.
pub fn find_account(
    conn: &mut dyn Conn,
    kind: &str,
    owner: &str,
    currency: Currency,
) -> StoreResult<Option<LedgerAccount>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE kind = $1 AND owner = $2 AND currency = $3");
    conn.query_opt(&sql, params![kind, owner, currency.code()])?
        .map(|r| account_from_row(&r))
        .transpose()
}

const TRANSFER_COLUMNS: &str =
    "id, idempotency_key, debit_account_id, credit_account_id, amount_minor, currency, phase, pending_id, memo, created_at_ms";

fn transfer_from_row(row: &Row) -> StoreResult<TransferRecord> {
    Ok(TransferRecord {
        id: TransferId(row.int(0)?),
        key: row.text(1)?,
        debit: LedgerAccountId(row.int(2)?),
        credit: LedgerAccountId(row.int(3)?),
        amount_minor: row.int(4)?,
        currency: Currency::parse(&row.text(5)?).map_err(|_| corrupt("currency"))?,
        phase: TransferPhase::parse(&row.text(6)?).ok_or_else(|| corrupt("phase"))?,
        pending_id: row.opt_int(7)?.map(TransferId),
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

/// The row that posted or voided a pending transfer, if any.
pub fn settlement_of_id(conn: &mut dyn Conn, pending: TransferId) -> StoreResult<Option<TransferRecord>> {
    let sql = format!("SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE pending_id = $1");
    conn.query_opt(&sql, params![pending.0])?
        .map(|r| transfer_from_row(&r))
        .transpose()
}

/// The row that posted or voided the pending transfer `pending_key`, if any.
pub fn settlement_of(conn: &mut dyn Conn, pending_key: &str) -> StoreResult<Option<TransferRecord>> {
    let sql = format!(
        "SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE pending_id = (SELECT id FROM ledger_transfers WHERE idempotency_key = $1)"
    );
    conn.query_opt(&sql, params![pending_key])?
        .map(|r| transfer_from_row(&r))
        .transpose()
}

/// Pending transfers created before `before_ms` that nobody posted or voided
/// yet, oldest first: what a crash between reserving and settling leaves.
pub fn unsettled(conn: &mut dyn Conn, before_ms: i64, limit: usize) -> StoreResult<Vec<TransferRecord>> {
    let sql = format!(
        "SELECT {TRANSFER_COLUMNS} FROM ledger_transfers p WHERE phase = 'pending' AND created_at_ms < $1
           AND NOT EXISTS (SELECT 1 FROM ledger_transfers s WHERE s.pending_id = p.id)
         ORDER BY created_at_ms, id LIMIT $2"
    );
    conn.query(&sql, params![before_ms, limit as i64])?
        .iter()
        .map(transfer_from_row)
        .collect()
}

/// Writes an account's new totals, if the operation may (`Tx::require_account`).
fn write_totals(tx: &mut Tx<'_>, account: &LedgerAccount, totals: &Totals) -> StoreResult<()> {
    tx.require_account(&account.owner)?;
    tx.conn.execute(
        "UPDATE ledger_accounts SET posted_balance = $1, debits_pending = $2, credits_pending = $3 WHERE id = $4",
        params![
            totals.posted,
            totals.debits_pending,
            totals.credits_pending,
            account.id.0
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
    pending_id: Option<TransferId>,
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
            e.pending_id.map(|p| p.0),
            e.memo,
            now_ms
        ],
    )?;
    transfer_from_row(&row)
}

/// Whether a stored row is the one `new` would write (a retry), given its
/// phase. A sharded system account (a connector's clearing, chat escrow)
/// may be another shard of the same account: a retry made on another node,
/// or after a restart, uses that writer's shard.
fn same_request(
    conn: &mut dyn Conn,
    first: &TransferRecord,
    new: &NewTransfer,
    phase: TransferPhase,
    memo: &str,
) -> StoreResult<bool> {
    let same_rest = first.amount_minor == new.amount.minor()
        && first.currency == new.amount.currency()
        && first.phase == phase
        && first.memo == memo;
    if !same_rest {
        return Ok(false);
    }
    Ok(same_account(conn, first.debit, new.debit)? && same_account(conn, first.credit, new.credit)?)
}

/// The same account, or two shards of one sharded account.
fn same_account(conn: &mut dyn Conn, stored: LedgerAccountId, given: LedgerAccountId) -> StoreResult<bool> {
    if stored == given {
        return Ok(true);
    }
    let (a, b) = account_pair(conn, stored, given)?;
    let unsharded = |x: &LedgerAccount| Owner::parse(&x.owner).and_then(|o| o.unsharded());
    Ok(a.account.kind == b.account.kind
        && a.account.currency == b.account.currency
        && unsharded(&a).is_some_and(|o| Some(o) == unsharded(&b)))
}

/// Every lock a transfer or settlement writes under (both accounts, and the
/// user whose daily total it counts), checked before its first write so
/// that it may run without a savepoint (`Writer::run_locked_checked_first`).
fn require_before_writing(
    tx: &Tx<'_>,
    (debit, credit): (&LedgerAccount, &LedgerAccount),
    counted: Option<qiao_domain::ids::UserId>,
) -> StoreResult<()> {
    tx.require_account(&debit.owner)?;
    tx.require_account(&credit.owner)?;
    counted.map_or(Ok(()), |user| tx.require(LockKey::User(user)))
}

fn phase_of(new: &NewTransfer) -> (TransferPhase, Phase) {
    if new.pending {
        (TransferPhase::Pending, Phase::Pending)
    } else {
        (TransferPhase::Posted, Phase::Posted)
    }
}

/// Moves `amount` from `debit` to `credit`, posted or pending. Idempotent by
/// key: a retry returns the first transfer; the same key with other
/// parameters is `IdempotencyConflict`. Every check (floors, the ceiling, the
/// daily cap) runs before the first write, so a refusal writes nothing.
pub fn transfer(tx: &mut Tx<'_>, new: NewTransfer, now_ms: i64) -> StoreResult<TransferRecord> {
    let (phase, ledger_phase) = phase_of(&new);
    let (key, memo) = (new.key.to_string(), new.memo.to_string());
    if let Some(first) = transfer_by_key(tx.conn, &key)? {
        return if same_request(tx.conn, &first, &new, phase, &memo)? {
            Ok(first)
        } else {
            Err(Rejection::IdempotencyConflict.into())
        };
    }
    let (debit, credit) = account_pair(tx.conn, new.debit, new.credit)?;
    let (d, c) = ledger::apply_within(
        &debit.account,
        &credit.account,
        debit.id == credit.id,
        new.amount,
        ledger_phase,
        new.ceiling,
    )
    .map_err(Rejection::from)?;
    let day_total = match new.cap {
        Some(check) => Some((
            check,
            super::caps::check(tx, check.user, check.cap, new.amount, now_ms)?,
        )),
        None => None,
    };
    require_before_writing(tx, (&debit, &credit), new.cap.map(|check| check.user))?;
    write_totals(tx, &debit, &d)?;
    write_totals(tx, &credit, &c)?;
    if let Some((check, total)) = day_total {
        super::caps::record(tx, check.user, new.amount.currency(), check.cap.kind, now_ms, total)?;
    }
    let entry = Entry {
        key: &key,
        debit: new.debit,
        credit: new.credit,
        amount: new.amount,
        phase,
        pending_id: None,
        memo: &memo,
    };
    append(tx, entry, now_ms)
}

/// Posts (`post = true`) or voids the pending transfer `pending_key`, exactly
/// once. A retry with the same outcome returns the first settlement; the
/// other outcome is `AlreadySettled`. A void gives back what the reservation
/// counted of its daily cap.
pub fn settle(
    tx: &mut Tx<'_>,
    pending_key: &LedgerKey,
    post: bool,
    memo: &Memo,
    now_ms: i64,
) -> StoreResult<TransferRecord> {
    let phase = if post {
        TransferPhase::PostPending
    } else {
        TransferPhase::VoidPending
    };
    let pending =
        transfer_by_key(tx.conn, &pending_key.to_string())?.ok_or(StoreError::Rejected(Rejection::NotFound))?;
    if pending.phase != TransferPhase::Pending {
        return Err(Rejection::InvalidRequest.into());
    }
    if let Some(first) = settlement_of_id(tx.conn, pending.id)? {
        return if first.phase == phase {
            Ok(first)
        } else {
            Err(Rejection::AlreadySettled.into())
        };
    }
    let amount = Amount::new(pending.amount_minor, pending.currency).map_err(|_| corrupt("amount"))?;
    let (debit, credit) = account_pair(tx.conn, pending.debit, pending.credit)?;
    let (d, c) = ledger::settle(&debit.account, &credit.account, amount, post).map_err(Rejection::from)?;
    let released = if post { None } else { pending_key.daily_cap() };
    require_before_writing(tx, (&debit, &credit), released.map(|(user, _)| user))?;
    write_totals(tx, &debit, &d)?;
    write_totals(tx, &credit, &c)?;
    if let Some((user, kind)) = released {
        super::caps::release(tx, user, amount, kind, pending.created_at_ms)?;
    }
    let key = LedgerKey::Settle {
        pending: pending.id,
        post,
    }
    .to_string();
    let memo = memo.to_string();
    let entry = Entry {
        key: &key,
        debit: pending.debit,
        credit: pending.credit,
        amount,
        phase,
        pending_id: Some(pending.id),
        memo: &memo,
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
    let held = super::payments::held_in_escrow(conn)?;
    let (orders, refunds) = super::orders::facts(conn)?;
    let mut report = ReconcileReport::check(&accounts, &transfers);
    report.check_escrow(&accounts, &held);
    report.check_orders(&accounts, &transfers, &orders, &refunds);
    Ok(report)
}

/// Splits `n` rows into statement sizes drawn from a few fixed ones, so that
/// multi-row statements repeat their text and stay in the statement caches.
fn fixed_chunks(mut n: usize) -> Vec<usize> {
    const SIZES: [usize; 4] = [256, 32, 4, 1];
    let mut chunks = Vec::new();
    for size in SIZES {
        while n >= size {
            chunks.push(size);
            n -= size;
        }
    }
    chunks
}

/// Runs `each` over `items` in fixed-size chunks.
pub(crate) fn in_chunks<T>(items: &[T], mut each: impl FnMut(&[T]) -> StoreResult<()>) -> StoreResult<()> {
    let mut start = 0;
    for size in fixed_chunks(items.len()) {
        each(&items[start..start + size])?;
        start += size;
    }
    Ok(())
}

/// The text of a multi-row statement of one shape and size, built once per
/// writer thread: sizes come from [`fixed_chunks`], so there are few.
pub(crate) fn statement(shape: &'static str, rows: usize, build: impl FnOnce() -> String) -> std::rc::Rc<str> {
    thread_local! {
        static TEXTS: std::cell::RefCell<std::collections::HashMap<(&'static str, usize), std::rc::Rc<str>>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    TEXTS.with(|texts| {
        texts
            .borrow_mut()
            .entry((shape, rows))
            .or_insert_with(|| build().into())
            .clone()
    })
}

/// `(CAST($k AS BIGINT), …)` rows for a `VALUES` list whose every column is an integer.
pub(crate) fn integer_rows(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (1..=columns)
                .map(|c| format!("CAST(${} AS BIGINT)", r * columns + c))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Moves money, posted or pending, for a whole batch of transfers, in order.
/// Idempotent by key: a retry returns the first transfer; the same key with
/// other parameters is `IdempotencyConflict`. A few statements serve the
/// whole batch: one read of the keys, one of every account touched, the rules
/// applied in memory, one set-based update of the totals, multi-row inserts.
/// Each transfer gets its own answer; a rejected one changes nothing. A batch
/// that counts daily caps runs transfer by transfer instead (caps are read
/// and written per user; they are on the bank paths, never the hot one).
pub fn transfer_batch(
    tx: &mut Tx<'_>,
    batch: Vec<(NewTransfer, i64)>,
) -> StoreResult<Vec<StoreResult<TransferRecord>>> {
    use crate::engine::{placeholders, Value};
    use std::collections::HashMap;

    if batch.iter().any(|(t, _)| t.cap.is_some()) {
        let mut answers = Vec::with_capacity(batch.len());
        for (new, now_ms) in batch {
            match transfer(tx, new, now_ms) {
                // Writes may be half done: the whole batch must roll back.
                Err(e @ (StoreError::Backend(_) | StoreError::NeedsExclusive(_))) => return Err(e),
                answer => answers.push(answer),
            }
        }
        return Ok(answers);
    }
    let texts: Vec<(String, String)> = batch
        .iter()
        .map(|(t, _)| (t.key.to_string(), t.memo.to_string()))
        .collect();
    let mut existing: HashMap<String, TransferRecord> = HashMap::new();
    let keys: Vec<&str> = texts.iter().map(|(k, _)| k.as_str()).collect();
    in_chunks(&keys, |chunk| {
        let sql = statement("keys", chunk.len(), || {
            format!(
                "SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE idempotency_key IN ({})",
                placeholders(0, chunk.len())
            )
        });
        let values: Vec<Value> = chunk.iter().map(|k| Value::from(*k)).collect();
        for row in tx.conn.query(&sql, &values)? {
            let record = transfer_from_row(&row)?;
            existing.insert(record.key.clone(), record);
        }
        Ok(())
    })?;
    let mut ids: Vec<i64> = batch.iter().flat_map(|(t, _)| [t.debit.0, t.credit.0]).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut accounts: HashMap<LedgerAccountId, LedgerAccount> = HashMap::new();
    in_chunks(&ids, |chunk| {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id IN ({})",
            placeholders(0, chunk.len())
        );
        let values: Vec<Value> = chunk.iter().map(|id| Value::from(*id)).collect();
        for row in tx.conn.query(&sql, &values)? {
            let account = account_from_row(&row)?;
            accounts.insert(account.id, account);
        }
        Ok(())
    })?;

    enum Outcome {
        Done(StoreResult<TransferRecord>),
        /// Accepted: the `usize`-th appended row.
        Appended(usize),
    }
    /// A row to append: the request, its phase, its key and memo texts, its time.
    struct Accepted {
        new: NewTransfer,
        phase: TransferPhase,
        key: String,
        memo: String,
        now_ms: i64,
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut rows: Vec<Accepted> = Vec::new();
    let mut accepted: HashMap<String, usize> = HashMap::new();
    let mut touched: Vec<LedgerAccountId> = Vec::new();
    for ((new, now_ms), (key, memo)) in batch.into_iter().zip(texts) {
        let (phase, ledger_phase) = phase_of(&new);
        if let Some(first) = existing.get(&key) {
            outcomes.push(Outcome::Done(if same_request(tx.conn, first, &new, phase, &memo)? {
                Ok(first.clone())
            } else {
                Err(Rejection::IdempotencyConflict.into())
            }));
            continue;
        }
        if let Some(&index) = accepted.get(&key) {
            // An earlier request of this very batch took the key.
            let first = &rows[index];
            let same = (
                first.new.debit,
                first.new.credit,
                first.new.amount,
                first.phase,
                &first.memo,
            ) == (new.debit, new.credit, new.amount, phase, &memo);
            outcomes.push(if same {
                Outcome::Appended(index)
            } else {
                Outcome::Done(Err(Rejection::IdempotencyConflict.into()))
            });
            continue;
        }
        let (Some(debit), Some(credit)) = (accounts.get(&new.debit), accounts.get(&new.credit)) else {
            outcomes.push(Outcome::Done(Err(Rejection::NotFound.into())));
            continue;
        };
        match ledger::apply_within(
            &debit.account,
            &credit.account,
            debit.id == credit.id,
            new.amount,
            ledger_phase,
            new.ceiling,
        ) {
            Err(e) => outcomes.push(Outcome::Done(Err(Rejection::from(e).into()))),
            Ok((d, c)) => {
                let (debit_id, credit_id) = (debit.id, credit.id);
                if let Some(a) = accounts.get_mut(&debit_id) {
                    a.account.totals = d;
                }
                if let Some(a) = accounts.get_mut(&credit_id) {
                    a.account.totals = c;
                }
                touched.extend([debit_id, credit_id]);
                accepted.insert(key.clone(), rows.len());
                outcomes.push(Outcome::Appended(rows.len()));
                rows.push(Accepted {
                    new,
                    phase,
                    key,
                    memo,
                    now_ms,
                });
            }
        }
    }

    touched.sort_unstable();
    touched.dedup();
    for id in &touched {
        if let Some(account) = accounts.get(id) {
            tx.require_account(&account.owner)?;
        }
    }
    let totals: Vec<(LedgerAccountId, Totals)> = touched
        .iter()
        .filter_map(|id| accounts.get(id).map(|a| (*id, a.account.totals)))
        .collect();
    in_chunks(&totals, |chunk| {
        let sql = statement("totals", chunk.len(), || {
            format!(
                "UPDATE ledger_accounts SET posted_balance = v.column2, debits_pending = v.column3,
                     credits_pending = v.column4
                 FROM (VALUES {}) AS v WHERE ledger_accounts.id = v.column1",
                integer_rows(chunk.len(), 4)
            )
        });
        let mut values = Vec::with_capacity(chunk.len() * 4);
        for (id, t) in chunk {
            values.extend([id.0, t.posted, t.debits_pending, t.credits_pending].map(Value::from));
        }
        tx.conn.execute(&sql, &values)?;
        Ok(())
    })?;
    let mut appended: Vec<TransferRecord> = Vec::with_capacity(rows.len());
    in_chunks(&rows, |chunk| {
        let tuples: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", placeholders(i * 8, 8)))
            .collect();
        let sql = format!(
            "INSERT INTO ledger_transfers (idempotency_key, debit_account_id, credit_account_id, amount_minor, currency,
                                           phase, memo, created_at_ms)
             VALUES {} RETURNING {TRANSFER_COLUMNS}",
            tuples.join(", ")
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 8);
        for row in chunk {
            values.extend([
                Value::from(row.key.as_str()),
                row.new.debit.0.into(),
                row.new.credit.0.into(),
                row.new.amount.minor().into(),
                row.new.amount.currency().code().into(),
                row.phase.as_str().into(),
                row.memo.as_str().into(),
                row.now_ms.into(),
            ]);
        }
        let mut inserted: Vec<TransferRecord> = tx
            .conn
            .query(&sql, &values)?
            .iter()
            .map(transfer_from_row)
            .collect::<StoreResult<_>>()?;
        // RETURNING order is not promised: back into input order.
        let order: HashMap<&str, usize> = chunk.iter().enumerate().map(|(i, r)| (r.key.as_str(), i)).collect();
        inserted.sort_by_key(|r| order.get(r.key.as_str()).copied().unwrap_or(usize::MAX));
        appended.extend(inserted);
        Ok(())
    })?;
    if appended.len() != rows.len() {
        return Err(StoreError::Backend(
            "the journal did not take every accepted transfer".into(),
        ));
    }
    Ok(outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Outcome::Done(result) => result,
            Outcome::Appended(index) => Ok(appended[index].clone()),
        })
        .collect())
}

pub fn transfer_by_id(conn: &mut dyn Conn, id: TransferId) -> StoreResult<Option<TransferRecord>> {
    let sql = format!("SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE id = $1");
    conn.query_opt(&sql, params![id.0])?
        .map(|r| transfer_from_row(&r))
        .transpose()
}

/// Money-moving entries (posted or pending) of some accounts, newest first,
/// each pending one with its settlement if it has one.
pub fn entries(
    conn: &mut dyn Conn,
    q: &crate::records::StatementQuery,
) -> StoreResult<Vec<crate::records::StatementEntry>> {
    use crate::engine::{placeholders, Value};
    if q.accounts.is_empty() {
        return Ok(Vec::new());
    }
    let n = q.accounts.len();
    let sql = format!(
        "SELECT {TRANSFER_COLUMNS} FROM ledger_transfers
         WHERE (debit_account_id IN ({list}) OR credit_account_id IN ({list}))
           AND phase IN ('posted', 'pending') AND id < ${a} AND created_at_ms >= ${b} AND created_at_ms < ${c}
         ORDER BY id DESC LIMIT ${d}",
        list = placeholders(0, n),
        a = n + 1,
        b = n + 2,
        c = n + 3,
        d = n + 4
    );
    let mut values: Vec<Value> = q.accounts.iter().map(|a| Value::from(a.0)).collect();
    values.extend([
        Value::from(q.before_id.map_or(i64::MAX, |id| id.0)),
        Value::from(q.from_ms),
        Value::from(q.until_ms),
        Value::from(q.limit as i64),
    ]);
    let transfers: Vec<TransferRecord> = conn
        .query(&sql, &values)?
        .iter()
        .map(transfer_from_row)
        .collect::<StoreResult<_>>()?;
    let pending: Vec<i64> = transfers
        .iter()
        .filter(|t| t.phase == TransferPhase::Pending)
        .map(|t| t.id.0)
        .collect();
    let mut settlements = std::collections::HashMap::new();
    if !pending.is_empty() {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE pending_id IN ({})",
            placeholders(0, pending.len())
        );
        let values: Vec<Value> = pending.iter().map(|id| Value::from(*id)).collect();
        for row in conn.query(&sql, &values)? {
            let settlement = transfer_from_row(&row)?;
            if let Some(of) = settlement.pending_id {
                settlements.insert(of, settlement);
            }
        }
    }
    Ok(transfers
        .into_iter()
        .map(|transfer| crate::records::StatementEntry {
            settlement: settlements.remove(&transfer.id),
            transfer,
        })
        .collect())
}
