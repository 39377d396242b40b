//! Merchant orders: created, paid (within one currency, or across two at a
//! quote the payer confirmed), refunded in parts, closed or expired. Paying
//! and refunding move the money, change the order, tell the payer and queue
//! the merchant's notification in one writer operation: all of it or none.

use std::sync::Arc;

use qiao_domain::event::EventKind;
use qiao_domain::fx;
use qiao_domain::ids::{MerchantId, OrderId, QuoteId, RefundId, ShopId, UserId};
use qiao_domain::journal::{LedgerKey, Leg, Memo};
use qiao_domain::ledger::{AccountKind, Owner};
use qiao_domain::merchant::{after_refund, OrderKind, OrderStatus};
use qiao_domain::money::{Amount, Currency};
use qiao_domain::Error as Rejection;

use super::{corrupt, fx as quotes, ledger, merchants, notifications};
use crate::engine::{params, Conn, LockKey, Row};
use crate::merchant_records::{
    CodeCharge, DayReport, MerchantRecord, NewOrder, NewRefund, OrderRecord, OrderRef, PayOrder, PayerSide,
    RefundRecord, StaticPayment,
};
use crate::records::{CapCheck, LedgerAccountId, NewTransfer};
use crate::wire;
use crate::writer::{Audience, Tx};
use crate::{StoreError, StoreResult};

const COLUMNS: &str = "id, merchant_id, shop_id, kind, out_trade_no, token, amount_minor, currency, description, \
     notify_url, status, expires_at_ms, created_at_ms, paid_at_ms, payer_id, payer_key, payer_currency, \
     payer_debit_minor, payer_converted_minor, payer_fee_minor, rate_scaled, quote_id, refunded_minor, \
     payer_refunded_minor";

fn from_row(row: &Row) -> StoreResult<OrderRecord> {
    let payer = match row.opt_text(16)? {
        Some(currency) => Some(PayerSide {
            currency: Currency::parse(&currency).map_err(|_| corrupt("currency"))?,
            debit_minor: row.int(17)?,
            converted_minor: row.int(18)?,
            fee_minor: row.int(19)?,
            rate_scaled: row.opt_int(20)?,
        }),
        None => None,
    };
    Ok(OrderRecord {
        id: OrderId(row.int(0)?),
        merchant_id: MerchantId(row.int(1)?),
        shop_id: row.opt_int(2)?.map(ShopId),
        kind: OrderKind::parse(&row.text(3)?).ok_or_else(|| corrupt("order kind"))?,
        out_trade_no: row.text(4)?,
        token: row.text(5)?,
        amount_minor: row.int(6)?,
        currency: Currency::parse(&row.text(7)?).map_err(|_| corrupt("currency"))?,
        description: row.text(8)?,
        notify_url: row.opt_text(9)?,
        status: OrderStatus::parse(&row.text(10)?).ok_or_else(|| corrupt("order status"))?,
        expires_at_ms: row.int(11)?,
        created_at_ms: row.int(12)?,
        paid_at_ms: row.opt_int(13)?,
        payer_id: row.opt_int(14)?.map(UserId),
        payer_key: row.opt_text(15)?,
        payer,
        quote_id: row.opt_int(21)?.map(QuoteId),
        refunded_minor: row.int(22)?,
        payer_refunded_minor: row.int(23)?,
    })
}

pub fn by_id(conn: &mut dyn Conn, id: OrderId) -> StoreResult<OrderRecord> {
    let sql = format!("SELECT {COLUMNS} FROM merchant_orders WHERE id = $1");
    let row = conn
        .query_opt(&sql, params![id.0])?
        .ok_or(StoreError::Rejected(Rejection::OrderNotFound))?;
    from_row(&row)
}

pub fn by_token(conn: &mut dyn Conn, token: &str) -> StoreResult<OrderRecord> {
    let sql = format!("SELECT {COLUMNS} FROM merchant_orders WHERE token = $1");
    let row = conn
        .query_opt(&sql, params![token])?
        .ok_or(StoreError::Rejected(Rejection::OrderNotFound))?;
    from_row(&row)
}

/// One of the merchant's orders; another merchant's is `OrderNotFound`.
pub fn get(conn: &mut dyn Conn, merchant: MerchantId, which: &OrderRef) -> StoreResult<OrderRecord> {
    let row = match which {
        OrderRef::Id(id) => conn.query_opt(
            &format!("SELECT {COLUMNS} FROM merchant_orders WHERE id = $1 AND merchant_id = $2"),
            params![id.0, merchant.0],
        )?,
        OrderRef::OutTradeNo(number) => conn.query_opt(
            &format!("SELECT {COLUMNS} FROM merchant_orders WHERE merchant_id = $1 AND out_trade_no = $2"),
            params![merchant.0, number.as_str()],
        )?,
    };
    from_row(&row.ok_or(StoreError::Rejected(Rejection::OrderNotFound))?)
}

/// The merchant's orders, newest first, before `before` when given.
pub fn list(
    conn: &mut dyn Conn,
    merchant: MerchantId,
    before: Option<OrderId>,
    limit: usize,
) -> StoreResult<Vec<OrderRecord>> {
    let sql =
        format!("SELECT {COLUMNS} FROM merchant_orders WHERE merchant_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3");
    conn.query(
        &sql,
        params![merchant.0, before.map_or(i64::MAX, |b| b.0), limit as i64],
    )?
    .iter()
    .map(from_row)
    .collect()
}

fn insert(
    tx: &mut Tx<'_>,
    new: &NewOrder,
    kind: OrderKind,
    payer: Option<UserId>,
    code_hash: Option<&str>,
    now_ms: i64,
) -> StoreResult<OrderRecord> {
    tx.require(LockKey::Merchant(new.merchant))?;
    if let Some(payer) = payer {
        tx.require(LockKey::User(payer))?;
    }
    let sql = format!(
        "INSERT INTO merchant_orders (merchant_id, shop_id, kind, out_trade_no, token, amount_minor, currency, description,
             notify_url, status, expires_at_ms, created_at_ms, payer_id, code_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING {COLUMNS}"
    );
    let row = tx.conn.query_one(
        &sql,
        params![
            new.merchant.0,
            new.shop.map(|s| s.0),
            kind.as_str(),
            new.out_trade_no.as_str(),
            new.token.as_str(),
            new.amount_minor,
            new.currency.code(),
            new.description.as_str(),
            new.notify_url.clone(),
            OrderStatus::Created.as_str(),
            new.expires_at_ms,
            now_ms,
            payer.map(|p| p.0),
            code_hash
        ],
    )?;
    from_row(&row)
}

/// Creates an order; the same merchant order number again returns the first
/// order if everything else is the same too, `OrderNumberTaken` if not.
pub fn create(tx: &mut Tx<'_>, new: NewOrder, now_ms: i64) -> StoreResult<(OrderRecord, bool)> {
    merchants::merchant(tx.conn, new.merchant)?;
    merchants::check_shop(tx.conn, new.merchant, new.shop)?;
    Amount::new(new.amount_minor, new.currency)?;
    match get(tx.conn, new.merchant, &OrderRef::OutTradeNo(new.out_trade_no.clone())) {
        Ok(first) => {
            let same = first.kind == OrderKind::Order
                && first.amount_minor == new.amount_minor
                && first.currency == new.currency
                && first.description == new.description
                && first.shop_id == new.shop
                && first.notify_url == new.notify_url;
            return if same {
                Ok((first, false))
            } else {
                Err(Rejection::OrderNumberTaken.into())
            };
        }
        Err(StoreError::Rejected(Rejection::OrderNotFound)) => {}
        Err(e) => return Err(e),
    }
    Ok((insert(tx, &new, OrderKind::Order, None, None, now_ms)?, true))
}

/// Closes an unpaid order (closing a closed or expired one again is fine).
pub fn close(tx: &mut Tx<'_>, merchant: MerchantId, which: &OrderRef, now_ms: i64) -> StoreResult<OrderRecord> {
    let order = get(tx.conn, merchant, which)?;
    order.status.may_close(order.expires_at_ms, now_ms)?;
    let status = match order.status.at(order.expires_at_ms, now_ms) {
        OrderStatus::Expired => OrderStatus::Expired,
        _ => OrderStatus::Closed,
    };
    set_status(tx, &order, status, now_ms)
}

fn set_status(tx: &mut Tx<'_>, order: &OrderRecord, status: OrderStatus, now_ms: i64) -> StoreResult<OrderRecord> {
    if order.status == status {
        return Ok(order.clone());
    }
    tx.require(LockKey::Merchant(order.merchant_id))?;
    tx.conn.execute(
        "UPDATE merchant_orders SET status = $2 WHERE id = $1",
        params![order.id.0, status.as_str()],
    )?;
    let updated = OrderRecord {
        status,
        ..order.clone()
    };
    if let Some(payer) = updated.payer_id {
        tell_payer(tx, &updated, payer, None, now_ms)?;
    }
    Ok(updated)
}

/// The `merchant_order.updated` event to the payer's devices.
fn tell_payer(
    tx: &mut Tx<'_>,
    order: &OrderRecord,
    payer: UserId,
    quote: Option<&crate::merchant_records::QuoteRecord>,
    now_ms: i64,
) -> StoreResult<()> {
    let merchant = merchants::merchant(tx.conn, order.merchant_id)?;
    let data = wire::to_json(&wire::receipt(order, &merchant, quote));
    let recipients: Arc<[UserId]> = Arc::from(vec![payer]);
    tx.emit(
        EventKind::OrderUpdated,
        Audience::User(payer, None),
        None,
        data,
        recipients,
        now_ms,
    )
    .map(|_| ())
}

/// Queues the merchant's notification of a payment or refund, if it has a URL.
fn notify(
    tx: &mut Tx<'_>,
    merchant: &MerchantRecord,
    order: &OrderRecord,
    refund: Option<&RefundRecord>,
    now_ms: i64,
) -> StoreResult<()> {
    let Some(url) = order.notify_url.clone().or_else(|| merchant.notify_url.clone()) else {
        return Ok(());
    };
    let (kind, event_id) = match refund {
        None => ("payment.succeeded", format!("evt_payment_{}", order.id)),
        Some(r) => ("refund.succeeded", format!("evt_refund_{}", r.id)),
    };
    let event = qiao_api::MerchantEvent {
        id: event_id.clone(),
        kind: kind.to_owned(),
        created_at_ms: now_ms,
        order: wire::order(order),
        refund: refund.map(|r| wire::refund(r, order)),
    };
    notifications::enqueue(tx, merchant.id, &event_id, kind, &url, &wire::to_json(&event), now_ms)
}

fn account(
    tx: &mut Tx<'_>,
    kind: AccountKind,
    owner: &Owner,
    currency: Currency,
    now_ms: i64,
) -> StoreResult<LedgerAccountId> {
    Ok(ledger::ensure_account(tx, kind, &owner.to_string(), currency, now_ms)?.id)
}

fn posted(
    tx: &mut Tx<'_>,
    key: LedgerKey,
    (debit, credit): (LedgerAccountId, LedgerAccountId),
    amount: Amount,
    memo: Memo,
    cap: Option<CapCheck>,
    now_ms: i64,
) -> StoreResult<()> {
    let mut transfer = NewTransfer::posted(key, debit, credit, amount, memo);
    transfer.cap = cap;
    ledger::transfer(tx, transfer, now_ms).map(|_| ())
}

/// Pays an order: checks it may be paid by this payer now, takes the quote
/// across currencies, moves the money leg by leg, records the payer's side,
/// tells the payer and queues the merchant's notification. The same payer
/// and key again returns the paid order.
pub fn pay(tx: &mut Tx<'_>, id: OrderId, pay: PayOrder, now_ms: i64) -> StoreResult<OrderRecord> {
    if let Some(first) = by_payer_key(tx.conn, pay.payer, &pay.payer_key)? {
        return if first.id == id {
            Ok(first)
        } else {
            Err(Rejection::IdempotencyConflict.into())
        };
    }
    let order = by_id(tx.conn, id)?;
    if order.kind == OrderKind::Code && order.payer_id != Some(pay.payer) {
        // A payment code's order is its owner's to confirm, nobody else's.
        return Err(Rejection::OrderNotFound.into());
    }
    order.status.may_pay(order.expires_at_ms, now_ms)?;
    let merchant = merchants::merchant(tx.conn, order.merchant_id)?;
    let price = Amount::new(order.amount_minor, order.currency)?;
    let (side, quote) = if pay.currency == order.currency {
        let side = PayerSide {
            currency: pay.currency,
            debit_minor: price.minor(),
            converted_minor: price.minor(),
            fee_minor: 0,
            rate_scaled: None,
        };
        (side, None)
    } else {
        let quote_id = pay.quote.ok_or(StoreError::Rejected(Rejection::QuoteNotFound))?;
        let q = quotes::take_quote(
            tx,
            pay.payer,
            quote_id,
            pay.currency,
            order.currency,
            Some(price.minor()),
            now_ms,
        )?;
        let side = PayerSide {
            currency: pay.currency,
            debit_minor: q.debit_minor,
            converted_minor: q.converted_minor,
            fee_minor: q.fee_minor,
            rate_scaled: Some(q.rate_scaled),
        };
        (side, Some(q))
    };
    let memo = Memo::MerchantPayment { order: order.id };
    let wallet = account(tx, AccountKind::Wallet, &Owner::User(pay.payer), side.currency, now_ms)?;
    let merchant_account = account(
        tx,
        AccountKind::MerchantSettlement,
        &Owner::Merchant(merchant.id),
        order.currency,
        now_ms,
    )?;
    let cap = pay.cap.map(|cap| CapCheck { user: pay.payer, cap });
    let debit = Amount::new(side.debit_minor, side.currency)?;
    let key = |leg| LedgerKey::Order { order: order.id, leg };
    if quote.is_none() {
        posted(
            tx,
            key(Leg::Pay),
            (wallet, merchant_account),
            debit,
            memo.clone(),
            cap,
            now_ms,
        )?;
    } else {
        let fx_payer = account(tx, AccountKind::FxPosition, &Owner::House, side.currency, now_ms)?;
        let fx_merchant = account(tx, AccountKind::FxPosition, &Owner::House, order.currency, now_ms)?;
        posted(tx, key(Leg::Pay), (wallet, fx_payer), debit, memo.clone(), cap, now_ms)?;
        if side.fee_minor > 0 {
            let fees = account(tx, AccountKind::FeeIncome, &Owner::House, side.currency, now_ms)?;
            let fee = Amount::new(side.fee_minor, side.currency)?;
            posted(tx, key(Leg::Fee), (fx_payer, fees), fee, memo.clone(), None, now_ms)?;
        }
        posted(
            tx,
            key(Leg::Fx),
            (fx_merchant, merchant_account),
            price,
            memo,
            None,
            now_ms,
        )?;
    }
    tx.require(LockKey::Merchant(order.merchant_id))?;
    tx.conn.execute(
        "UPDATE merchant_orders SET status = $2, paid_at_ms = $3, payer_id = $4, payer_key = $5, payer_currency = $6,
             payer_debit_minor = $7, payer_converted_minor = $8, payer_fee_minor = $9, rate_scaled = $10, quote_id = $11
         WHERE id = $1",
        params![
            order.id.0,
            OrderStatus::Paid.as_str(),
            now_ms,
            pay.payer.0,
            pay.payer_key.as_str(),
            side.currency.code(),
            side.debit_minor,
            side.converted_minor,
            side.fee_minor,
            side.rate_scaled,
            quote.as_ref().map(|q| q.id.0)
        ],
    )?;
    let paid = by_id(tx.conn, order.id)?;
    tell_payer(tx, &paid, pay.payer, None, now_ms)?;
    notify(tx, &merchant, &paid, None, now_ms)?;
    Ok(paid)
}

fn by_payer_key(conn: &mut dyn Conn, payer: UserId, key: &str) -> StoreResult<Option<OrderRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM merchant_orders WHERE payer_id = $1 AND payer_key = $2");
    conn.query_opt(&sql, params![payer.0, key])?
        .map(|r| from_row(&r))
        .transpose()
}

/// Pays a static code: makes the order (kind `static`) and pays it at once.
/// The payer's key again returns that order, if it was for the same merchant
/// and amount.
pub fn pay_static(tx: &mut Tx<'_>, payment: StaticPayment, now_ms: i64) -> StoreResult<OrderRecord> {
    if let Some(first) = by_payer_key(tx.conn, payment.pay.payer, &payment.pay.payer_key)? {
        let same = first.kind == OrderKind::Static
            && first.merchant_id == payment.merchant
            && first.amount_minor == payment.amount_minor;
        return if same {
            Ok(first)
        } else {
            Err(Rejection::IdempotencyConflict.into())
        };
    }
    let merchant = merchants::merchant(tx.conn, payment.merchant)?;
    merchants::check_shop(tx.conn, payment.merchant, payment.shop)?;
    Amount::new(payment.amount_minor, merchant.currency)?;
    let new = NewOrder {
        merchant: payment.merchant,
        shop: payment.shop,
        out_trade_no: format!("static-{}", payment.token),
        token: payment.token,
        amount_minor: payment.amount_minor,
        currency: merchant.currency,
        description: payment.description,
        notify_url: None,
        expires_at_ms: now_ms + 1,
    };
    let order = insert(tx, &new, OrderKind::Static, None, None, now_ms)?;
    pay(tx, order.id, payment.pay, now_ms)
}

/// Charges a customer's payment code: takes the code (unknown, used and
/// expired codes are refused; it works once), and makes an order bound to
/// its owner, to be paid at once or confirmed by them. The same merchant
/// order number and code again returns that order.
pub fn charge_code(tx: &mut Tx<'_>, charge: CodeCharge, now_ms: i64) -> StoreResult<OrderRecord> {
    let merchant = merchants::merchant(tx.conn, charge.merchant)?;
    merchants::check_shop(tx.conn, charge.merchant, charge.shop)?;
    Amount::new(charge.amount_minor, merchant.currency)?;
    match get(
        tx.conn,
        charge.merchant,
        &OrderRef::OutTradeNo(charge.out_trade_no.clone()),
    ) {
        Ok(first) => {
            let code = tx
                .conn
                .query_one(
                    "SELECT code_hash FROM merchant_orders WHERE id = $1",
                    params![first.id.0],
                )?
                .opt_text(0)?;
            let same = first.kind == OrderKind::Code
                && code.as_deref() == Some(charge.code_hash.as_str())
                && first.amount_minor == charge.amount_minor;
            return if same {
                Ok(first)
            } else {
                Err(Rejection::OrderNumberTaken.into())
            };
        }
        Err(StoreError::Rejected(Rejection::OrderNotFound)) => {}
        Err(e) => return Err(e),
    }
    let code = tx
        .conn
        .query_opt(
            "SELECT user_id, expires_at_ms, used_at_ms FROM payment_codes WHERE code_hash = $1",
            params![charge.code_hash.as_str()],
        )?
        .ok_or(StoreError::Rejected(Rejection::PaymentCodeInvalid))?;
    if code.opt_int(2)?.is_some() {
        return Err(Rejection::PaymentCodeUsed.into());
    }
    if now_ms >= code.int(1)? {
        return Err(Rejection::PaymentCodeExpired.into());
    }
    let payer = UserId(code.int(0)?);
    tx.require(LockKey::User(payer))?;
    tx.require(LockKey::Merchant(charge.merchant))?;
    tx.conn.execute(
        "UPDATE payment_codes SET used_at_ms = $2 WHERE code_hash = $1",
        params![charge.code_hash.as_str(), now_ms],
    )?;
    let new = NewOrder {
        merchant: charge.merchant,
        shop: charge.shop,
        out_trade_no: charge.out_trade_no,
        token: charge.token,
        amount_minor: charge.amount_minor,
        currency: merchant.currency,
        description: charge.description,
        notify_url: charge.notify_url,
        expires_at_ms: charge.expires_at_ms,
    };
    let order = insert(tx, &new, OrderKind::Code, Some(payer), Some(&charge.code_hash), now_ms)?;
    match charge.settle {
        Some(settle) => settle_code(tx, order, &merchant, payer, settle, now_ms),
        None => Ok(order),
    }
}

/// Who a payment code belongs to, if it exists.
pub fn code_owner(conn: &mut dyn Conn, code_hash: &str) -> StoreResult<Option<UserId>> {
    conn.query_opt(
        "SELECT user_id FROM payment_codes WHERE code_hash = $1",
        params![code_hash],
    )?
    .map(|r| r.int(0).map(UserId))
    .transpose()
}

/// Pays a code's order at once when the payer's no-PIN limit covers it,
/// or leaves it waiting for them (with a quote across currencies).
fn settle_code(
    tx: &mut Tx<'_>,
    order: OrderRecord,
    merchant: &MerchantRecord,
    payer: UserId,
    settle: crate::merchant_records::CodeSettle,
    now_ms: i64,
) -> StoreResult<OrderRecord> {
    let region = tx
        .conn
        .query_one("SELECT region FROM users WHERE id = $1", params![payer.0])?
        .text(0)?;
    let currency = qiao_domain::identity::Region::parse(&region)
        .map_err(|_| corrupt("region"))?
        .currency();
    let price = Amount::new(order.amount_minor, merchant.currency)?;
    let quote = if currency == merchant.currency {
        None
    } else {
        let rates: Vec<(Currency, Currency, i64)> = quotes::rates(tx.conn)?
            .into_iter()
            .map(|r| (r.base, r.quote, r.rate_scaled))
            .collect();
        let mid = fx::mid_from(&rates, currency, merchant.currency)?;
        let conversion = fx::to_receive(mid, price, settle.pricing)?;
        let new = crate::merchant_records::NewQuote {
            user: payer,
            conversion,
            expires_at_ms: now_ms + settle.quote_ttl_ms,
        };
        Some(quotes::create_quote(tx, new, now_ms)?)
    };
    let debit = Amount::new(quote.as_ref().map_or(price.minor(), |q| q.debit_minor), currency)?;
    let caps = settle
        .caps
        .iter()
        .find(|(c, _)| *c == currency)
        .map(|(_, caps)| *caps)
        .ok_or_else(|| corrupt("caps for the payer's currency"))?;
    caps.check_operation(debit)?;
    let within_limit = super::pins::pin(tx.conn, payer)?.is_some_and(|p| {
        p.state.may_try(now_ms).is_ok() && !qiao_domain::pin::needs_pin(debit.minor(), p.no_pin_limit_minor)
    });
    let quote_id = quote.as_ref().map(|q| q.id);
    if !within_limit {
        return await_confirmation(tx, order.id, quote_id, now_ms);
    }
    let pay_now = PayOrder {
        payer,
        payer_key: format!("code-{}", order.id),
        currency,
        quote: quote_id,
        cap: Some(qiao_domain::caps::DailyCap {
            kind: qiao_domain::caps::CapKind::Payment,
            caps,
        }),
    };
    pay(tx, order.id, pay_now, now_ms)
}

/// A code charge above the payer's no-PIN limit: it waits for them, and
/// their devices hear of it (with the quote to confirm, across currencies).
pub fn await_confirmation(
    tx: &mut Tx<'_>,
    id: OrderId,
    quote: Option<QuoteId>,
    now_ms: i64,
) -> StoreResult<OrderRecord> {
    let order = by_id(tx.conn, id)?;
    let payer = order
        .payer_id
        .ok_or(StoreError::Rejected(Rejection::OrderNotAwaitingConfirmation))?;
    match order.status.at(order.expires_at_ms, now_ms) {
        OrderStatus::Created | OrderStatus::AwaitingConfirmation => {}
        _ => return Ok(order),
    }
    tx.require(LockKey::Merchant(order.merchant_id))?;
    tx.conn.execute(
        "UPDATE merchant_orders SET status = $2, quote_id = $3 WHERE id = $1",
        params![id.0, OrderStatus::AwaitingConfirmation.as_str(), quote.map(|q| q.0)],
    )?;
    let waiting = by_id(tx.conn, id)?;
    let quote = quote.map(|q| quotes::quote(tx.conn, payer, q)).transpose()?;
    tell_payer(tx, &waiting, payer, quote.as_ref(), now_ms)?;
    Ok(waiting)
}

const REFUND_COLUMNS: &str =
    "id, order_id, merchant_id, out_refund_no, amount_minor, payer_amount_minor, reason, created_by, created_at_ms";

fn refund_from_row(row: &Row) -> StoreResult<RefundRecord> {
    Ok(RefundRecord {
        id: RefundId(row.int(0)?),
        order_id: OrderId(row.int(1)?),
        merchant_id: MerchantId(row.int(2)?),
        out_refund_no: row.text(3)?,
        amount_minor: row.int(4)?,
        payer_amount_minor: row.int(5)?,
        reason: row.text(6)?,
        created_by: row.opt_int(7)?.map(UserId),
        created_at_ms: row.int(8)?,
    })
}

pub fn refunds(conn: &mut dyn Conn, order: OrderId) -> StoreResult<Vec<RefundRecord>> {
    let sql = format!("SELECT {REFUND_COLUMNS} FROM merchant_refunds WHERE order_id = $1 ORDER BY id");
    conn.query(&sql, params![order.0])?
        .iter()
        .map(refund_from_row)
        .collect()
}

/// Refunds part or all of a paid order: never more than is left, idempotent
/// by the merchant's refund number. The payer gets back the same share of
/// what they paid, fee included, in their own currency
/// ([`fx::refund_share`]); the merchant's balance must hold the refund.
pub fn refund(tx: &mut Tx<'_>, new: NewRefund, now_ms: i64) -> StoreResult<(RefundRecord, OrderRecord)> {
    let order = get(tx.conn, new.merchant, &new.order)?;
    let existing = tx.conn.query_opt(
        &format!("SELECT {REFUND_COLUMNS} FROM merchant_refunds WHERE merchant_id = $1 AND out_refund_no = $2"),
        params![new.merchant.0, new.out_refund_no.as_str()],
    )?;
    if let Some(row) = existing {
        let first = refund_from_row(&row)?;
        return if first.order_id == order.id && first.amount_minor == new.amount_minor {
            Ok((first, order))
        } else {
            Err(Rejection::IdempotencyConflict.into())
        };
    }
    let (refunded, status) = after_refund(order.status, order.amount_minor, order.refunded_minor, new.amount_minor)?;
    let (payer, side) = match (order.payer_id, order.payer) {
        (Some(payer), Some(side)) => (payer, side),
        _ => return Err(corrupt("paid order without its payer")),
    };
    let conv_back = fx::refund_share(
        side.converted_minor,
        order.amount_minor,
        order.refunded_minor,
        new.amount_minor,
    )?;
    let fee_back = fx::refund_share(
        side.fee_minor,
        order.amount_minor,
        order.refunded_minor,
        new.amount_minor,
    )?;
    let payer_amount = conv_back + fee_back;
    let merchant_account = account(
        tx,
        AccountKind::MerchantSettlement,
        &Owner::Merchant(order.merchant_id),
        order.currency,
        now_ms,
    )?;
    let held = ledger::account(tx.conn, merchant_account)?.account.totals;
    if held.posted - held.debits_pending < new.amount_minor {
        return Err(Rejection::MerchantBalanceInsufficient.into());
    }
    tx.require(LockKey::Merchant(order.merchant_id))?;
    let sql = format!(
        "INSERT INTO merchant_refunds (order_id, merchant_id, out_refund_no, amount_minor, payer_amount_minor, reason,
             created_by, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {REFUND_COLUMNS}"
    );
    let record = refund_from_row(&tx.conn.query_one(
        &sql,
        params![
            order.id.0,
            new.merchant.0,
            new.out_refund_no.as_str(),
            new.amount_minor,
            payer_amount,
            new.reason.as_str(),
            new.by.map(|u| u.0),
            now_ms
        ],
    )?)?;
    let memo = Memo::MerchantRefund { order: order.id };
    let key = |leg| LedgerKey::OrderRefund { refund: record.id, leg };
    let wallet = account(tx, AccountKind::Wallet, &Owner::User(payer), side.currency, now_ms)?;
    let back = Amount::new(new.amount_minor, order.currency)?;
    if side.currency == order.currency {
        posted(tx, key(Leg::Pay), (merchant_account, wallet), back, memo, None, now_ms)?;
    } else {
        let fx_payer = account(tx, AccountKind::FxPosition, &Owner::House, side.currency, now_ms)?;
        let fx_merchant = account(tx, AccountKind::FxPosition, &Owner::House, order.currency, now_ms)?;
        posted(
            tx,
            key(Leg::Fx),
            (merchant_account, fx_merchant),
            back,
            memo.clone(),
            None,
            now_ms,
        )?;
        if fee_back > 0 {
            let fees = account(tx, AccountKind::FeeIncome, &Owner::House, side.currency, now_ms)?;
            posted(
                tx,
                key(Leg::Fee),
                (fees, fx_payer),
                Amount::new(fee_back, side.currency)?,
                memo.clone(),
                None,
                now_ms,
            )?;
        }
        if payer_amount > 0 {
            posted(
                tx,
                key(Leg::Pay),
                (fx_payer, wallet),
                Amount::new(payer_amount, side.currency)?,
                memo,
                None,
                now_ms,
            )?;
        }
    }
    tx.conn.execute(
        "UPDATE merchant_orders SET status = $2, refunded_minor = $3, payer_refunded_minor = payer_refunded_minor + $4
         WHERE id = $1",
        params![order.id.0, status.as_str(), refunded, payer_amount],
    )?;
    let updated = by_id(tx.conn, order.id)?;
    let merchant = merchants::merchant(tx.conn, order.merchant_id)?;
    tell_payer(tx, &updated, payer, None, now_ms)?;
    notify(tx, &merchant, &updated, Some(&record), now_ms)?;
    Ok((record, updated))
}

/// Marks up to `limit` unpaid orders past their expiry as expired.
/// Unpaid orders past their expiry.
pub const EXPIRED: super::Sweep = super::Sweep {
    table: "merchant_orders",
    due: "status IN ('created', 'awaiting_confirmation') AND expires_at_ms <= $1",
};

pub fn expire(tx: &mut Tx<'_>, now_ms: i64, limit: usize) -> StoreResult<Vec<OrderRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {} WHERE {} ORDER BY expires_at_ms, id LIMIT $2",
        EXPIRED.table, EXPIRED.due
    );
    let due: Vec<OrderRecord> = tx
        .conn
        .query(&sql, params![now_ms, limit as i64])?
        .iter()
        .map(from_row)
        .collect::<StoreResult<_>>()?;
    due.iter()
        .map(|o| set_status(tx, o, OrderStatus::Expired, now_ms))
        .collect()
}

/// What the merchant took and refunded in `[from_ms, until_ms)`.
pub fn report(conn: &mut dyn Conn, merchant: MerchantId, from_ms: i64, until_ms: i64) -> StoreResult<DayReport> {
    let paid = conn.query_one(
        "SELECT COUNT(*), CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM merchant_orders
         WHERE merchant_id = $1 AND paid_at_ms >= $2 AND paid_at_ms < $3",
        params![merchant.0, from_ms, until_ms],
    )?;
    let refunded = conn.query_one(
        "SELECT COUNT(*), CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM merchant_refunds
         WHERE merchant_id = $1 AND created_at_ms >= $2 AND created_at_ms < $3",
        params![merchant.0, from_ms, until_ms],
    )?;
    Ok(DayReport {
        paid_count: paid.int(0)?,
        paid_minor: paid.int(1)?,
        refund_count: refunded.int(0)?,
        refunded_minor: refunded.int(1)?,
    })
}

/// What a merchant's account could pay out for the days before
/// `before_ms`: its available balance as it stood then (payments in,
/// refunds and earlier payouts out), but never more than it holds now.
pub fn settleable(conn: &mut dyn Conn, account_id: LedgerAccountId, before_ms: i64) -> StoreResult<i64> {
    let then = conn
        .query_one(
            "SELECT CAST(COALESCE(SUM(CASE
                 WHEN phase = 'posted' AND credit_account_id = $1 THEN amount_minor
                 WHEN phase = 'posted' AND debit_account_id = $1 THEN -amount_minor
                 WHEN phase = 'pending' AND debit_account_id = $1 THEN -amount_minor
                 WHEN phase = 'void_pending' AND debit_account_id = $1 THEN amount_minor
                 WHEN phase = 'post_pending' AND credit_account_id = $1 THEN amount_minor
                 ELSE 0 END), 0) AS BIGINT)
             FROM ledger_transfers WHERE (debit_account_id = $1 OR credit_account_id = $1) AND created_at_ms < $2",
            params![account_id.0, before_ms],
        )?
        .int(0)?;
    let now = ledger::account(conn, account_id)?.account.totals;
    Ok(then.min(now.posted - now.debits_pending).max(0))
}

/// Shows a new payment code on a device: the device's earlier codes stop
/// working (one live code per device), and codes long dead are dropped.
pub fn issue_code(
    tx: &mut Tx<'_>,
    owner: crate::merchant_records::CodeOwner,
    code_hash: &str,
    now_ms: i64,
    expires_at_ms: i64,
) -> StoreResult<()> {
    tx.require(LockKey::User(owner.user))?;
    tx.conn.execute(
        "UPDATE payment_codes SET expires_at_ms = $2 WHERE session_id = $1 AND used_at_ms IS NULL AND expires_at_ms > $2",
        params![owner.session.0, now_ms],
    )?;
    tx.conn.execute(
        "DELETE FROM payment_codes WHERE session_id = $1 AND expires_at_ms < $2",
        params![owner.session.0, now_ms - 24 * 60 * 60 * 1000],
    )?;
    tx.conn.execute(
        "INSERT INTO payment_codes (code_hash, user_id, session_id, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5)",
        params![code_hash, owner.user.0, owner.session.0, now_ms, expires_at_ms],
    )?;
    Ok(())
}

/// Every order and refund as reconcile checks them.
pub fn facts(
    conn: &mut dyn Conn,
) -> StoreResult<(Vec<crate::reconcile::OrderFacts>, Vec<crate::reconcile::RefundFacts>)> {
    let orders = conn
        .query(
            "SELECT id, merchant_id, status, amount_minor, currency, COALESCE(payer_currency, currency),
                 COALESCE(payer_debit_minor, 0), COALESCE(payer_fee_minor, 0), refunded_minor, payer_refunded_minor
             FROM merchant_orders ORDER BY id",
            &[],
        )?
        .iter()
        .map(|r| {
            let status = OrderStatus::parse(&r.text(2)?).ok_or_else(|| corrupt("order status"))?;
            Ok(crate::reconcile::OrderFacts {
                id: r.int(0)?,
                merchant: r.int(1)?,
                paid: status.is_paid(),
                amount: r.int(3)?,
                currency: Currency::parse(&r.text(4)?).map_err(|_| corrupt("currency"))?,
                payer_currency: Currency::parse(&r.text(5)?).map_err(|_| corrupt("currency"))?,
                debit: r.int(6)?,
                fee: r.int(7)?,
                refunded: r.int(8)?,
                payer_refunded: r.int(9)?,
            })
        })
        .collect::<StoreResult<_>>()?;
    let refunds = conn
        .query(
            "SELECT id, order_id, amount_minor, payer_amount_minor FROM merchant_refunds ORDER BY id",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(crate::reconcile::RefundFacts {
                id: r.int(0)?,
                order_id: r.int(1)?,
                amount: r.int(2)?,
                payer_amount: r.int(3)?,
            })
        })
        .collect::<StoreResult<_>>()?;
    Ok((orders, refunds))
}
