//! The operator's FX rates and the quotes shown to payers. A quote is
//! marked used in the same writer operation as the payment that uses it,
//! so it pays for one thing only.

use qiao_domain::ids::{QuoteId, UserId};
use qiao_domain::money::Currency;
use qiao_domain::Error as Rejection;

use super::corrupt;
use crate::engine::{params, Conn, LockKey, Row};
use crate::merchant_records::{NewQuote, QuoteRecord, RateRecord};
use crate::writer::Tx;
use crate::{StoreError, StoreResult};

fn rate_from_row(row: &Row) -> StoreResult<RateRecord> {
    Ok(RateRecord {
        base: Currency::parse(&row.text(0)?).map_err(|_| corrupt("currency"))?,
        quote: Currency::parse(&row.text(1)?).map_err(|_| corrupt("currency"))?,
        rate_scaled: row.int(2)?,
        updated_at_ms: row.int(3)?,
    })
}

/// Sets a rate; with `only_if_absent`, keeps one already there (how the
/// configuration seeds rates without undoing the admin API's).
pub fn set_rate(
    tx: &mut Tx<'_>,
    base: Currency,
    quote: Currency,
    rate_scaled: i64,
    only_if_absent: bool,
    now_ms: i64,
) -> StoreResult<RateRecord> {
    if base == quote || rate_scaled <= 0 {
        return Err(Rejection::InvalidRate.into());
    }
    let on_conflict = if only_if_absent {
        "DO NOTHING"
    } else {
        "DO UPDATE SET rate_scaled = excluded.rate_scaled, updated_at_ms = excluded.updated_at_ms"
    };
    tx.conn.execute(
        &format!(
            "INSERT INTO fx_rates (base_currency, quote_currency, rate_scaled, updated_at_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (base_currency, quote_currency) {on_conflict}"
        ),
        params![base.code(), quote.code(), rate_scaled, now_ms],
    )?;
    let row = tx.conn.query_one(
        "SELECT base_currency, quote_currency, rate_scaled, updated_at_ms FROM fx_rates
         WHERE base_currency = $1 AND quote_currency = $2",
        params![base.code(), quote.code()],
    )?;
    rate_from_row(&row)
}

pub fn rates(conn: &mut dyn Conn) -> StoreResult<Vec<RateRecord>> {
    conn.query(
        "SELECT base_currency, quote_currency, rate_scaled, updated_at_ms FROM fx_rates ORDER BY base_currency, quote_currency",
        &[],
    )?
    .iter()
    .map(rate_from_row)
    .collect()
}

const QUOTE_COLUMNS: &str = "id, user_id, from_currency, to_currency, debit_minor, converted_minor, fee_minor, \
     credit_minor, rate_scaled, mid_scaled, created_at_ms, expires_at_ms, used_at_ms";

fn quote_from_row(row: &Row) -> StoreResult<QuoteRecord> {
    Ok(QuoteRecord {
        id: QuoteId(row.int(0)?),
        user_id: UserId(row.int(1)?),
        from: Currency::parse(&row.text(2)?).map_err(|_| corrupt("currency"))?,
        to: Currency::parse(&row.text(3)?).map_err(|_| corrupt("currency"))?,
        debit_minor: row.int(4)?,
        converted_minor: row.int(5)?,
        fee_minor: row.int(6)?,
        credit_minor: row.int(7)?,
        rate_scaled: row.int(8)?,
        mid_scaled: row.int(9)?,
        created_at_ms: row.int(10)?,
        expires_at_ms: row.int(11)?,
        used_at_ms: row.opt_int(12)?,
    })
}

pub fn create_quote(tx: &mut Tx<'_>, new: NewQuote, now_ms: i64) -> StoreResult<QuoteRecord> {
    tx.require(LockKey::User(new.user))?;
    let c = new.conversion;
    let sql = format!(
        "INSERT INTO fx_quotes (user_id, from_currency, to_currency, debit_minor, converted_minor, fee_minor, credit_minor,
             rate_scaled, mid_scaled, created_at_ms, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {QUOTE_COLUMNS}"
    );
    let row = tx.conn.query_one(
        &sql,
        params![
            new.user.0,
            c.debit.currency().code(),
            c.credit.currency().code(),
            c.debit.minor(),
            c.converted_minor,
            c.fee_minor,
            c.credit.minor(),
            c.rate.scaled(),
            c.mid.scaled(),
            now_ms,
            new.expires_at_ms
        ],
    )?;
    quote_from_row(&row)
}

/// One of `user`'s quotes; someone else's is `QuoteNotFound`.
pub fn quote(conn: &mut dyn Conn, user: UserId, id: QuoteId) -> StoreResult<QuoteRecord> {
    let sql = format!("SELECT {QUOTE_COLUMNS} FROM fx_quotes WHERE id = $1 AND user_id = $2");
    let row = conn
        .query_opt(&sql, params![id.0, user.0])?
        .ok_or(StoreError::Rejected(Rejection::QuoteNotFound))?;
    quote_from_row(&row)
}

/// Takes `user`'s quote for a conversion `from` → `to` that must deliver
/// `credit_minor` (when given): unused, unexpired, the right currencies and
/// amount. Marks it used; the caller's writes share the transaction.
pub fn take_quote(
    tx: &mut Tx<'_>,
    user: UserId,
    id: QuoteId,
    from: Currency,
    to: Currency,
    credit_minor: Option<i64>,
    now_ms: i64,
) -> StoreResult<QuoteRecord> {
    tx.require(LockKey::User(user))?;
    let q = quote(tx.conn, user, id)?;
    if q.used_at_ms.is_some() {
        return Err(Rejection::QuoteUsed.into());
    }
    if now_ms >= q.expires_at_ms {
        return Err(Rejection::QuoteExpired.into());
    }
    if q.from != from || q.to != to || credit_minor.is_some_and(|c| c != q.credit_minor) {
        return Err(Rejection::QuoteNotFound.into());
    }
    tx.conn.execute(
        "UPDATE fx_quotes SET used_at_ms = $2 WHERE id = $1",
        params![id.0, now_ms],
    )?;
    Ok(QuoteRecord {
        used_at_ms: Some(now_ms),
        ..q
    })
}

/// Converts between two of `user`'s wallets at a quote they took: money out
/// of one wallet into the FX position, the fee to fee income, and the other
/// currency out of the FX position into the other wallet. Idempotent by the
/// user's key (the same key with another quote is a conflict).
pub fn convert(
    tx: &mut Tx<'_>,
    user: UserId,
    client_key: &str,
    quote_id: QuoteId,
    cap: Option<crate::records::CapCheck>,
    now_ms: i64,
) -> StoreResult<(qiao_domain::ids::ConversionId, QuoteRecord)> {
    use qiao_domain::ids::ConversionId;
    use qiao_domain::journal::{LedgerKey, Leg, Memo};
    use qiao_domain::ledger::{AccountKind, Owner};
    use qiao_domain::money::Amount;

    if let Some(row) = tx.conn.query_opt(
        "SELECT id, quote_id FROM conversions WHERE user_id = $1 AND client_key = $2",
        params![user.0, client_key],
    )? {
        let (id, first_quote) = (ConversionId(row.int(0)?), QuoteId(row.int(1)?));
        return if first_quote == quote_id {
            Ok((id, quote(tx.conn, user, quote_id)?))
        } else {
            Err(Rejection::IdempotencyConflict.into())
        };
    }
    let q = quote(tx.conn, user, quote_id)?;
    // Taking the quote checked the user's lock, which the conversion's row needs too.
    let q = take_quote(tx, user, quote_id, q.from, q.to, None, now_ms)?;
    let id = ConversionId(
        tx.conn
            .query_one(
                "INSERT INTO conversions (user_id, client_key, quote_id, created_at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
                params![user.0, client_key, quote_id.0, now_ms],
            )?
            .int(0)?,
    );
    let mut open = |kind, owner: &Owner, currency| -> StoreResult<crate::records::LedgerAccountId> {
        Ok(super::ledger::ensure_account(tx, kind, &owner.to_string(), currency, now_ms)?.id)
    };
    let from_wallet = open(AccountKind::Wallet, &Owner::User(user), q.from)?;
    let to_wallet = open(AccountKind::Wallet, &Owner::User(user), q.to)?;
    let fx_from = open(AccountKind::FxPosition, &Owner::House, q.from)?;
    let fx_to = open(AccountKind::FxPosition, &Owner::House, q.to)?;
    let fees = open(AccountKind::FeeIncome, &Owner::House, q.from)?;
    let memo = Memo::Conversion { conversion: id };
    let key = |leg| LedgerKey::Conversion { conversion: id, leg };
    let mut first = crate::records::NewTransfer::posted(
        key(Leg::Pay),
        from_wallet,
        fx_from,
        Amount::new(q.debit_minor, q.from)?,
        memo.clone(),
    );
    first.cap = cap;
    super::ledger::transfer(tx, first, now_ms)?;
    if q.fee_minor > 0 {
        let fee = crate::records::NewTransfer::posted(
            key(Leg::Fee),
            fx_from,
            fees,
            Amount::new(q.fee_minor, q.from)?,
            memo.clone(),
        );
        super::ledger::transfer(tx, fee, now_ms)?;
    }
    let arrive =
        crate::records::NewTransfer::posted(key(Leg::Fx), fx_to, to_wallet, Amount::new(q.credit_minor, q.to)?, memo);
    super::ledger::transfer(tx, arrive, now_ms)?;
    Ok((id, q))
}
