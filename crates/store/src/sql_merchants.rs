//! [`MerchantStore`] for [`SqlStore`]: writes through the writer thread,
//! reads from the reader pool, each a call into `ops`.

use async_trait::async_trait;
use qiao_domain::ids::{ApiKeyId, ConversionId, MerchantId, NotificationId, OrderId, QuoteId, ShopId, UserId};
use qiao_domain::merchant::Role;
use qiao_domain::money::Currency;

use crate::engine::LockKey;
use crate::merchant_records::*;
use crate::ops::{fx, merchants, notifications, orders};
use crate::records::{CapCheck, LedgerAccountId};
use crate::writer::Tx;
use crate::{MerchantStore, SqlStore, StoreResult};

#[async_trait]
impl MerchantStore for SqlStore {
    async fn create_merchant(&self, new: NewMerchant, now_ms: i64) -> StoreResult<MerchantRecord> {
        self.writer.run(move |tx| merchants::create(tx, new, now_ms)).await
    }

    async fn merchant(&self, id: MerchantId) -> StoreResult<MerchantRecord> {
        self.readers.run(move |c| merchants::merchant(c, id)).await
    }

    async fn merchants_page(&self, after: Option<MerchantId>, limit: usize) -> StoreResult<Vec<MerchantRecord>> {
        self.readers.run(move |c| merchants::page(c, after, limit)).await
    }

    async fn update_merchant(&self, id: MerchantId, update: MerchantUpdate) -> StoreResult<MerchantRecord> {
        self.writer.run(move |tx| merchants::update(tx, id, update)).await
    }

    async fn set_merchant_verified(&self, id: MerchantId, verified: bool) -> StoreResult<MerchantRecord> {
        self.writer
            .run(move |tx| merchants::set_verified(tx, id, verified))
            .await
    }

    async fn merchants_of(&self, user: UserId) -> StoreResult<Vec<(MerchantRecord, Role)>> {
        self.readers.run(move |c| merchants::merchants_of(c, user)).await
    }

    async fn staff_role(&self, merchant: MerchantId, user: UserId) -> StoreResult<Option<Role>> {
        self.readers.run(move |c| merchants::role(c, merchant, user)).await
    }

    async fn add_shop(&self, merchant: MerchantId, name: &str, now_ms: i64) -> StoreResult<ShopRecord> {
        let name = name.to_owned();
        self.writer
            .run(move |tx| merchants::add_shop(tx, merchant, &name, now_ms))
            .await
    }

    async fn shops(&self, merchant: MerchantId) -> StoreResult<Vec<ShopRecord>> {
        self.readers.run(move |c| merchants::shops(c, merchant)).await
    }

    async fn set_staff(
        &self,
        merchant: MerchantId,
        user: UserId,
        shop: Option<ShopId>,
        now_ms: i64,
    ) -> StoreResult<StaffRecord> {
        self.writer
            .run(move |tx| merchants::set_staff(tx, merchant, user, shop, now_ms))
            .await
    }

    async fn remove_staff(&self, merchant: MerchantId, user: UserId) -> StoreResult<()> {
        self.writer
            .run(move |tx| merchants::remove_staff(tx, merchant, user))
            .await
    }

    async fn staff(&self, merchant: MerchantId) -> StoreResult<Vec<StaffRecord>> {
        self.readers.run(move |c| merchants::staff(c, merchant)).await
    }

    async fn create_api_key(
        &self,
        merchant: MerchantId,
        key_hash: &str,
        prefix: &str,
        label: &str,
        now_ms: i64,
    ) -> StoreResult<ApiKeyRecord> {
        let (key_hash, prefix, label) = (key_hash.to_owned(), prefix.to_owned(), label.to_owned());
        self.writer
            .run(move |tx| merchants::create_key(tx, merchant, &key_hash, &prefix, &label, now_ms))
            .await
    }

    async fn api_keys(&self, merchant: MerchantId) -> StoreResult<Vec<ApiKeyRecord>> {
        self.readers.run(move |c| merchants::keys(c, merchant)).await
    }

    async fn revoke_api_key(&self, merchant: MerchantId, id: ApiKeyId, now_ms: i64) -> StoreResult<ApiKeyRecord> {
        self.writer
            .run(move |tx| merchants::revoke_key(tx, merchant, id, now_ms))
            .await
    }

    async fn api_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let key_hash = key_hash.to_owned();
        self.readers.run(move |c| merchants::key_by_hash(c, &key_hash)).await
    }

    async fn create_order(&self, new: NewOrder, now_ms: i64) -> StoreResult<(OrderRecord, bool)> {
        let keys = vec![LockKey::Merchant(new.merchant)];
        self.writer
            .run_locked(keys, move |tx| orders::create(tx, new.clone(), now_ms))
            .await
    }

    async fn order(&self, merchant: MerchantId, which: OrderRef) -> StoreResult<OrderRecord> {
        self.readers.run(move |c| orders::get(c, merchant, &which)).await
    }

    async fn order_by_token(&self, token: &str) -> StoreResult<OrderRecord> {
        let token = token.to_owned();
        self.readers.run(move |c| orders::by_token(c, &token)).await
    }

    async fn order_by_id(&self, id: OrderId) -> StoreResult<OrderRecord> {
        self.readers.run(move |c| orders::by_id(c, id)).await
    }

    async fn orders(
        &self,
        merchant: MerchantId,
        before: Option<OrderId>,
        limit: usize,
    ) -> StoreResult<Vec<OrderRecord>> {
        self.readers
            .run(move |c| orders::list(c, merchant, before, limit))
            .await
    }

    async fn close_order(&self, merchant: MerchantId, which: OrderRef, now_ms: i64) -> StoreResult<OrderRecord> {
        self.writer
            .run_locked(vec![LockKey::Merchant(merchant)], move |tx| {
                orders::close(tx, merchant, &which, now_ms)
            })
            .await
    }

    async fn pay_order(&self, order: OrderId, pay: PayOrder, now_ms: i64) -> StoreResult<OrderRecord> {
        // The order's merchant and currency never change: read first, so
        // that the payment can name its locks.
        let Some(found) = self.read_first(move |c| orders::by_id(c, order)).await else {
            return self.writer.run(move |tx| orders::pay(tx, order, pay, now_ms)).await;
        };
        let keys = payment_locks(found.merchant_id, &pay, pay.currency != found.currency);
        self.writer
            .run_locked(keys, move |tx| orders::pay(tx, order, pay.clone(), now_ms))
            .await
    }

    async fn pay_static(&self, payment: StaticPayment, now_ms: i64) -> StoreResult<OrderRecord> {
        let keys = payment_locks(payment.merchant, &payment.pay, payment.pay.quote.is_some());
        self.writer
            .run_locked(keys, move |tx| orders::pay_static(tx, payment.clone(), now_ms))
            .await
    }

    async fn charge_code(&self, charge: CodeCharge, now_ms: i64) -> StoreResult<OrderRecord> {
        // The code's owner is read first; a charge across currencies
        // reaches the house's accounts too and runs again exclusively.
        let hash = charge.code_hash.clone();
        let Some(payer) = self.read_first(move |c| orders::code_owner(c, &hash)).await.flatten() else {
            return self.writer.run(move |tx| orders::charge_code(tx, charge, now_ms)).await;
        };
        let keys = vec![LockKey::Merchant(charge.merchant), LockKey::User(payer)];
        self.writer
            .run_locked(keys, move |tx| orders::charge_code(tx, charge.clone(), now_ms))
            .await
    }

    async fn await_confirmation(
        &self,
        order: OrderId,
        quote: Option<QuoteId>,
        now_ms: i64,
    ) -> StoreResult<OrderRecord> {
        let op = move |tx: &mut Tx<'_>| orders::await_confirmation(tx, order, quote, now_ms);
        match self.read_first(move |c| orders::by_id(c, order)).await {
            Some(found) => {
                self.writer
                    .run_locked(vec![LockKey::Merchant(found.merchant_id)], op)
                    .await
            }
            None => self.writer.run(op).await,
        }
    }

    async fn refund(&self, new: NewRefund, now_ms: i64) -> StoreResult<(RefundRecord, OrderRecord)> {
        let (merchant, which) = (new.merchant, new.order.clone());
        let found = self.read_first(move |c| orders::get(c, merchant, &which)).await;
        let Some((payer, side)) = found.as_ref().and_then(|o| o.payer_id.zip(o.payer.as_ref())) else {
            return self.writer.run(move |tx| orders::refund(tx, new, now_ms)).await;
        };
        let mut keys = vec![LockKey::Merchant(merchant), LockKey::User(payer)];
        if found.as_ref().is_some_and(|o| o.currency != side.currency) {
            keys.push(LockKey::House);
        }
        self.writer
            .run_locked(keys, move |tx| orders::refund(tx, new.clone(), now_ms))
            .await
    }

    async fn refunds(&self, order: OrderId) -> StoreResult<Vec<RefundRecord>> {
        self.readers.run(move |c| orders::refunds(c, order)).await
    }

    async fn expire_orders(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<OrderRecord>> {
        if !self.any_due(&orders::EXPIRED, now_ms).await? {
            return Ok(Vec::new());
        }
        self.writer.run(move |tx| orders::expire(tx, now_ms, limit)).await
    }

    async fn merchant_report(&self, merchant: MerchantId, from_ms: i64, until_ms: i64) -> StoreResult<DayReport> {
        self.readers
            .run(move |c| orders::report(c, merchant, from_ms, until_ms))
            .await
    }

    async fn settleable(&self, account: LedgerAccountId, before_ms: i64) -> StoreResult<i64> {
        self.readers
            .run(move |c| orders::settleable(c, account, before_ms))
            .await
    }

    async fn set_rate(
        &self,
        base: Currency,
        quote: Currency,
        rate_scaled: i64,
        only_if_absent: bool,
        now_ms: i64,
    ) -> StoreResult<RateRecord> {
        self.writer
            .run(move |tx| fx::set_rate(tx, base, quote, rate_scaled, only_if_absent, now_ms))
            .await
    }

    async fn rates(&self) -> StoreResult<Vec<RateRecord>> {
        self.readers.run(fx::rates).await
    }

    async fn create_quote(&self, new: NewQuote, now_ms: i64) -> StoreResult<QuoteRecord> {
        self.writer
            .run_locked(vec![LockKey::User(new.user)], move |tx| {
                fx::create_quote(tx, new.clone(), now_ms)
            })
            .await
    }

    async fn quote(&self, user: UserId, id: QuoteId) -> StoreResult<QuoteRecord> {
        self.readers.run(move |c| fx::quote(c, user, id)).await
    }

    async fn convert(
        &self,
        user: UserId,
        client_key: &str,
        quote: QuoteId,
        cap: Option<CapCheck>,
        now_ms: i64,
    ) -> StoreResult<(ConversionId, QuoteRecord)> {
        let client_key = client_key.to_owned();
        self.writer
            .run_locked(vec![LockKey::User(user), LockKey::House], move |tx| {
                fx::convert(tx, user, &client_key, quote, cap, now_ms)
            })
            .await
    }

    async fn issue_payment_code(
        &self,
        owner: CodeOwner,
        code_hash: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        let code_hash = code_hash.to_owned();
        self.writer
            .run_locked(vec![LockKey::User(owner.user)], move |tx| {
                orders::issue_code(tx, owner, &code_hash, now_ms, expires_at_ms)
            })
            .await
    }

    async fn lease_notifications(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<NotificationRecord>> {
        if !self.any_due(&notifications::DUE, now_ms).await? {
            return Ok(Vec::new());
        }
        self.writer
            .run_locked(vec![LockKey::Outbox], move |tx| {
                notifications::lease_due(tx, now_ms, lease_ms, limit)
            })
            .await
    }

    async fn record_attempt(
        &self,
        id: NotificationId,
        attempt: Attempt,
        now_ms: i64,
    ) -> StoreResult<NotificationRecord> {
        self.writer
            .run_locked(vec![LockKey::Outbox], move |tx| {
                notifications::record(tx, id, attempt.clone(), now_ms)
            })
            .await
    }

    async fn record_attempts(&self, attempts: Vec<(NotificationId, Attempt)>, now_ms: i64) -> StoreResult<()> {
        self.writer
            .run_locked(vec![LockKey::Outbox], move |tx| {
                for (id, attempt) in &attempts {
                    notifications::record(tx, *id, attempt.clone(), now_ms)?;
                }
                Ok(())
            })
            .await
    }

    async fn notifications(&self, merchant: MerchantId, limit: usize) -> StoreResult<Vec<NotificationRecord>> {
        self.readers.run(move |c| notifications::list(c, merchant, limit)).await
    }

    async fn resend_notification(
        &self,
        merchant: MerchantId,
        id: NotificationId,
        now_ms: i64,
    ) -> StoreResult<NotificationRecord> {
        self.writer
            .run_locked(vec![LockKey::Outbox], move |tx| {
                notifications::resend(tx, merchant, id, now_ms)
            })
            .await
    }
}

/// What paying a merchant writes: the merchant's account and orders, the
/// payer's wallet, totals and quote, and across currencies the house's.
fn payment_locks(merchant: MerchantId, pay: &PayOrder, converts: bool) -> Vec<LockKey> {
    let mut keys = vec![LockKey::Merchant(merchant), LockKey::User(pay.payer)];
    if converts {
        keys.push(LockKey::House);
    }
    keys
}
