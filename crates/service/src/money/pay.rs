//! Paying merchants: a customer scans a merchant's code (per-order or
//! static) and pays it, or shows their own payment code to a point of sale
//! that charges it; merchants create, close and refund orders. Across
//! currencies the payer confirms a quote first. Every money check (the
//! order's state, the quote, the payment code, the daily cap, the floor of
//! the wallet, what is left to refund) runs in the store's writer operation.

use qiao_api as api;
use qiao_domain::caps::CapKind;
use qiao_domain::emvco::{self, AlternateLanguage, Initiation, Payload, QiaoAccount};
use qiao_domain::ids::{IdempotencyKey, MerchantId, OrderId, QuoteId, SessionId, ShopId, UserId};
use qiao_domain::merchant::{self, Action, NotifyUrl, OrderKind, OrderNumber, OrderStatus};
use qiao_domain::money::{Amount, Currency};
use qiao_domain::payment_code::{self, PaymentCode};
use qiao_domain::Error as Rule;
use qiao_store::{
    wire, CodeCharge, CodeOwner, CodeSettle, MerchantRecord, NewOrder, NewRefund, OrderRecord, OrderRef, PayOrder,
    QuoteRecord, StaticPayment,
};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::fx::Side;
use super::merchant::Caller;
use super::Money;
use crate::Result;

/// A person's QR code (the add-friend code) starts with this.
pub const USER_QR_PREFIX: &str = "qiao://user/";

fn token() -> String {
    let mut raw = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut raw);
    hex::encode(raw)
}

/// A notification URL as given, checked.
fn notify_url(raw: Option<&str>) -> Result<Option<String>> {
    Ok(raw.map(NotifyUrl::parse).transpose()?.map(|u| u.as_str().to_owned()))
}

fn code_hash(code: &PaymentCode) -> String {
    hex::encode(Sha256::digest(code.expose().as_bytes()))
}

/// What a scanned merchant code resolves to.
struct Scanned {
    merchant: MerchantRecord,
    /// A per-order code's order.
    order: Option<OrderRecord>,
    /// The amount to pay in the merchant's currency, if known.
    amount_minor: Option<i64>,
}

/// A payment code just shown on a device.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    pub code: String,
    pub expires_at_ms: i64,
    pub refresh_at_ms: i64,
}

impl Money {
    // ----- QR payloads -----

    /// The EMVCo payload of a merchant's code: static (no order), or per-order.
    pub fn merchant_payload(&self, m: &MerchantRecord, order: Option<&OrderRecord>) -> Result<String> {
        let name = emvco::fold(&m.display_name, emvco::MAX_NAME_CHARS)
            .or_else(|| emvco::fold(&m.legal_name, emvco::MAX_NAME_CHARS))
            .unwrap_or_else(|| format!("QIAO {}", merchant::public_number(m.id)));
        let city = emvco::fold(&m.city, emvco::MAX_CITY_CHARS).unwrap_or_else(|| m.country.clone());
        // The names as typed (e.g. in Chinese) ride in field 64 when the root
        // fields had to drop characters.
        let alternate = (name != m.display_name || city != m.city).then(|| AlternateLanguage {
            language: "ZH".to_owned(),
            name: m.display_name.chars().take(25).collect(),
            city: Some(m.city.chars().take(15).collect()),
        });
        let account = QiaoAccount {
            merchant: merchant::public_number(m.id),
            order: order.map(|o| o.token.clone()),
        };
        let payload = Payload {
            initiation: Some(if order.is_some() {
                Initiation::Dynamic
            } else {
                Initiation::Static
            }),
            accounts: vec![(emvco::QIAO_TEMPLATE_ID, account.encode()?)],
            mcc: m.mcc.clone(),
            currency_numeric: m.currency.numeric().to_owned(),
            amount: order.map(|o| emvco::amount_text(o.amount_minor, o.currency)),
            country: m.country.clone(),
            name,
            city,
            postal_code: None,
            additional: emvco::Additional {
                bill: order.map(|o| o.out_trade_no.clone()),
                ..emvco::Additional::default()
            },
            alternate,
            other: Vec::new(),
        };
        Ok(payload.encode()?)
    }

    /// Reads a scanned payload as one of Qiao's merchant codes and checks it
    /// against the merchant's records: the currency, country and category it
    /// claims, and for a per-order code the order's amount, must be the ones
    /// Qiao holds (a code altered and re-checksummed is `QrTampered`).
    async fn resolve(&self, text: &str, typed_amount: Option<i64>) -> Result<Scanned> {
        let (payload, account) = emvco::read_qiao(text)?;
        let id = merchant::parse_public_number(&account.merchant).ok_or(Rule::QrTampered)?;
        let m = match self.store.merchant(id).await {
            Err(qiao_store::StoreError::Rejected(Rule::MerchantNotFound)) => return Err(Rule::QrTampered.into()),
            other => other?,
        };
        if payload.currency()? != m.currency || payload.country != m.country || payload.mcc != m.mcc {
            return Err(Rule::QrTampered.into());
        }
        let written = payload.amount_minor(m.currency)?;
        match account.order {
            Some(token) => {
                let order = match self.store.order_by_token(&token).await {
                    Err(qiao_store::StoreError::Rejected(Rule::OrderNotFound)) => return Err(Rule::QrTampered.into()),
                    other => other?,
                };
                if order.merchant_id != m.id || order.kind != OrderKind::Order || written != Some(order.amount_minor) {
                    return Err(Rule::QrTampered.into());
                }
                let amount_minor = Some(order.amount_minor);
                Ok(Scanned {
                    merchant: m,
                    order: Some(order),
                    amount_minor,
                })
            }
            None => {
                // A static code may fix its amount; otherwise the payer types it.
                let amount_minor = match (written, typed_amount) {
                    (Some(fixed), Some(typed)) if fixed != typed => return Err(Rule::QrTampered.into()),
                    (Some(fixed), _) => Some(fixed),
                    (None, typed) => typed,
                };
                if let Some(minor) = amount_minor {
                    Amount::new(minor, m.currency)?;
                }
                Ok(Scanned {
                    merchant: m,
                    order: None,
                    amount_minor,
                })
            }
        }
    }

    /// What a scanned code is: a person (add them), or a merchant with what
    /// to pay and, across currencies, the quote to confirm.
    pub async fn scan(&self, user: UserId, request: api::ScanRequest) -> Result<api::ScanResult> {
        if let Some(id) = request.payload.trim().strip_prefix(USER_QR_PREFIX) {
            let id: i64 = id.parse().map_err(|_| Rule::QrMalformed)?;
            let person = self.store.user(UserId(id)).await?;
            return Ok(api::ScanResult {
                kind: "user".to_owned(),
                merchant: None,
                order: None,
                amount_minor: None,
                currency: None,
                quote: None,
                user_id: Some(person.id.0),
            });
        }
        let scanned = self.resolve(&request.payload, request.amount_minor).await?;
        if let Some(order) = &scanned.order {
            order.status.may_pay(order.expires_at_ms, self.now_ms())?;
        }
        let payer_currency = self.region(user).await?.currency();
        let quote = match scanned.amount_minor {
            Some(minor) if payer_currency != scanned.merchant.currency => Some(wire::quote(
                &self
                    .make_quote(user, payer_currency, scanned.merchant.currency, Side::Receive, minor)
                    .await?,
            )),
            _ => None,
        };
        Ok(api::ScanResult {
            kind: "merchant".to_owned(),
            merchant: Some(wire::merchant_card(&scanned.merchant)),
            order: scanned.order.as_ref().map(|o| api::ScannedOrder {
                out_trade_no: o.out_trade_no.clone(),
                description: o.description.clone(),
                expires_at_ms: o.expires_at_ms,
                status: o.status.at(o.expires_at_ms, self.now_ms()).as_str().to_owned(),
            }),
            amount_minor: scanned.amount_minor,
            currency: Some(scanned.merchant.currency.code().to_owned()),
            quote,
            user_id: None,
        })
    }

    /// What the payer will be debited (in their currency) and the cap and PIN
    /// checks that go with it. Across currencies the quote fixes the debit.
    async fn payer_checks(
        &self,
        user: UserId,
        payer_currency: Currency,
        merchant_currency: Currency,
        amount_minor: i64,
        quote: Option<QuoteId>,
        given_pin: Option<&str>,
    ) -> Result<(PayOrder, Option<QuoteRecord>)> {
        let quote = match (payer_currency == merchant_currency, quote) {
            (true, _) => None,
            (false, None) => return Err(Rule::QuoteNotFound.into()),
            (false, Some(id)) => Some(self.store.quote(user, id).await?),
        };
        let debit = match &quote {
            None => Amount::new(amount_minor, payer_currency)?,
            Some(q) => Amount::new(q.debit_minor, payer_currency)?,
        };
        let cap = self.policy.cap_for(CapKind::Payment, debit)?;
        self.authorize(user, given_pin, debit).await?;
        let pay = PayOrder {
            payer: user,
            payer_key: String::new(),
            currency: payer_currency,
            quote: quote.as_ref().map(|q| q.id),
            cap: Some(cap),
        };
        Ok((pay, quote))
    }

    /// Pays a scanned merchant code: a per-order code's order, or a static
    /// code for the amount typed. Idempotent by the payer's key.
    pub async fn pay_merchant(&self, user: UserId, request: api::PayRequest) -> Result<api::Receipt> {
        let key = IdempotencyKey::parse(&request.idempotency_key)?;
        let scanned = self.resolve(&request.payload, request.amount_minor).await?;
        let amount_minor = scanned.amount_minor.ok_or(Rule::InvalidAmount)?;
        let payer_currency = self.region(user).await?.currency();
        let (mut pay, _) = self
            .payer_checks(
                user,
                payer_currency,
                scanned.merchant.currency,
                amount_minor,
                request.quote_id.map(QuoteId),
                request.pin.as_deref(),
            )
            .await?;
        pay.payer_key = format!("pay-{}", key.as_str());
        let now = self.now_ms();
        let order = match &scanned.order {
            Some(order) => self.store.pay_order(order.id, pay, now).await?,
            None => {
                let payment = StaticPayment {
                    merchant: scanned.merchant.id,
                    shop: None,
                    amount_minor,
                    token: token(),
                    description: scanned.merchant.display_name.clone(),
                    pay,
                };
                self.store.pay_static(payment, now).await?
            }
        };
        Ok(wire::receipt(&order, &scanned.merchant, None))
    }

    /// A payment as its payer sees it (the receipt, or what waits for them).
    pub async fn merchant_payment(&self, user: UserId, id: OrderId) -> Result<api::Receipt> {
        let order = self.store.order_by_id(id).await?;
        if order.payer_id != Some(user) {
            return Err(Rule::OrderNotFound.into());
        }
        let merchant = self.store.merchant(order.merchant_id).await?;
        let quote = match order.quote_id {
            Some(q) if order.status == OrderStatus::AwaitingConfirmation => Some(self.store.quote(user, q).await?),
            _ => None,
        };
        let mut receipt = wire::receipt(&order, &merchant, quote.as_ref());
        receipt.status = order.status.at(order.expires_at_ms, self.now_ms()).as_str().to_owned();
        Ok(receipt)
    }

    /// The payer confirms a payment-code charge that was above their no-PIN
    /// limit (with the PIN, and across currencies the quote shown).
    pub async fn confirm_merchant_payment(
        &self,
        user: UserId,
        id: OrderId,
        request: api::ConfirmRequest,
    ) -> Result<api::Receipt> {
        let order = self.store.order_by_id(id).await?;
        if order.payer_id != Some(user) {
            return Err(Rule::OrderNotFound.into());
        }
        if order.status != OrderStatus::AwaitingConfirmation {
            order.status.may_pay(order.expires_at_ms, self.now_ms())?;
            return Err(Rule::OrderNotAwaitingConfirmation.into());
        }
        let merchant = self.store.merchant(order.merchant_id).await?;
        let payer_currency = self.region(user).await?.currency();
        let quote = request.quote_id.map(QuoteId).or(order.quote_id);
        let (mut pay, _) = self
            .payer_checks(
                user,
                payer_currency,
                order.currency,
                order.amount_minor,
                quote,
                request.pin.as_deref(),
            )
            .await?;
        pay.payer_key = format!("code-{}", order.id);
        let paid = self.store.pay_order(order.id, pay, self.now_ms()).await?;
        Ok(wire::receipt(&paid, &merchant, None))
    }

    /// Shows a new payment code on the device of `session`; its earlier one
    /// stops working.
    pub async fn issue_payment_code(&self, user: UserId, session: SessionId) -> Result<IssuedCode> {
        let mut random = [0u8; 15];
        rand::thread_rng().fill_bytes(&mut random);
        let code = PaymentCode::from_random(random);
        let now = self.now_ms();
        let expires_at_ms = now + payment_code::TTL_MS;
        self.store
            .issue_payment_code(CodeOwner { user, session }, &code_hash(&code), now, expires_at_ms)
            .await?;
        Ok(IssuedCode {
            code: code.expose().to_owned(),
            expires_at_ms,
            refresh_at_ms: now + payment_code::ROTATE_MS,
        })
    }

    // ----- the merchant's side -----

    /// Creates an order (the merchant API); returns it and its QR payload.
    pub async fn create_order(
        &self,
        merchant: MerchantId,
        caller: Caller,
        request: api::CreateOrderRequest,
    ) -> Result<(api::Order, String)> {
        self.check_caller(merchant, caller, Action::TakePayment).await?;
        let m = self.store.merchant(merchant).await?;
        let currency = match request.currency.as_deref() {
            None => m.currency,
            Some(code) if Currency::parse(code)? == m.currency => m.currency,
            Some(_) => return Err(Rule::CurrencyMismatch.into()),
        };
        let amount = Amount::new(request.amount_minor, currency)?;
        let now = self.now_ms();
        let new = NewOrder {
            merchant,
            shop: request.shop_id.map(ShopId),
            out_trade_no: OrderNumber::parse(&request.out_trade_no)?.as_str().to_owned(),
            token: token(),
            amount_minor: amount.minor(),
            currency,
            description: merchant::description(&request.description)?,
            notify_url: notify_url(request.notify_url.as_deref())?,
            expires_at_ms: merchant::expiry(now, request.expires_in_seconds)?,
        };
        let (order, _) = self.store.create_order(new, now).await?;
        let payload = self.merchant_payload(&m, Some(&order))?;
        Ok((self.order_wire(&order), payload))
    }

    /// An order as the merchant sees it, its status as of now.
    fn order_wire(&self, order: &OrderRecord) -> api::Order {
        let mut wire = wire::order(order);
        wire.status = order.status.at(order.expires_at_ms, self.now_ms()).as_str().to_owned();
        wire
    }

    pub async fn merchant_order(&self, merchant: MerchantId, caller: Caller, which: OrderRef) -> Result<api::Order> {
        self.check_caller(merchant, caller, Action::ViewOrders).await?;
        Ok(self.order_wire(&self.store.order(merchant, which).await?))
    }

    /// A per-order code's payload again (to show it once more).
    pub async fn order_payload(&self, merchant: MerchantId, caller: Caller, which: OrderRef) -> Result<String> {
        self.check_caller(merchant, caller, Action::ViewOrders).await?;
        let order = self.store.order(merchant, which).await?;
        if order.kind != OrderKind::Order {
            return Err(Rule::OrderNotFound.into());
        }
        let m = self.store.merchant(merchant).await?;
        self.merchant_payload(&m, Some(&order))
    }

    /// The merchant's static code.
    pub async fn static_payload(&self, merchant: MerchantId, caller: Caller) -> Result<String> {
        self.check_caller(merchant, caller, Action::ViewOrders).await?;
        let m = self.store.merchant(merchant).await?;
        self.merchant_payload(&m, None)
    }

    pub async fn merchant_orders(
        &self,
        merchant: MerchantId,
        caller: Caller,
        before: Option<OrderId>,
        limit: usize,
    ) -> Result<Vec<api::Order>> {
        self.check_caller(merchant, caller, Action::ViewOrders).await?;
        let orders = self.store.orders(merchant, before, limit.clamp(1, 200)).await?;
        Ok(orders.iter().map(|o| self.order_wire(o)).collect())
    }

    pub async fn close_order(&self, merchant: MerchantId, caller: Caller, which: OrderRef) -> Result<api::Order> {
        self.check_caller(merchant, caller, Action::TakePayment).await?;
        Ok(self.order_wire(&self.store.close_order(merchant, which, self.now_ms()).await?))
    }

    /// Refunds part or all of a paid order, idempotent by the refund number.
    pub async fn refund_order(
        &self,
        merchant: MerchantId,
        caller: Caller,
        which: OrderRef,
        request: api::RefundRequest,
    ) -> Result<api::RefundCreated> {
        self.check_caller(merchant, caller, Action::Refund).await?;
        let reason = match request.reason.as_deref() {
            None | Some("") => String::new(),
            Some(text) => merchant::description(text)?,
        };
        let new = NewRefund {
            merchant,
            order: which,
            out_refund_no: OrderNumber::parse(&request.out_refund_no)?.as_str().to_owned(),
            amount_minor: request.amount_minor,
            reason,
            by: match caller {
                Caller::Staff(user) => Some(user),
                Caller::Key => None,
            },
        };
        let (refund, order) = self.store.refund(new, self.now_ms()).await?;
        Ok(api::RefundCreated {
            refund: wire::refund(&refund, &order),
            order: self.order_wire(&order),
        })
    }

    pub async fn order_refunds(
        &self,
        merchant: MerchantId,
        caller: Caller,
        which: OrderRef,
    ) -> Result<Vec<api::Refund>> {
        self.check_caller(merchant, caller, Action::ViewOrders).await?;
        let order = self.store.order(merchant, which).await?;
        Ok(self
            .store
            .refunds(order.id)
            .await?
            .iter()
            .map(|r| wire::refund(r, &order))
            .collect())
    }

    /// Charges a customer's payment code (the point of sale). Within the
    /// payer's no-PIN limit it is paid at once; above it, the payer confirms
    /// in the app and the order waits (`awaiting_confirmation`). The same
    /// order number and code again returns the order as it stands.
    pub async fn charge_code(
        &self,
        merchant: MerchantId,
        caller: Caller,
        request: api::ChargeCodeRequest,
    ) -> Result<api::Order> {
        self.check_caller(merchant, caller, Action::TakePayment).await?;
        let code = PaymentCode::parse(&request.code)?;
        let m = self.store.merchant(merchant).await?;
        let amount = Amount::new(request.amount_minor, m.currency)?;
        let now = self.now_ms();
        let charge = CodeCharge {
            merchant,
            shop: request.shop_id.map(ShopId),
            out_trade_no: OrderNumber::parse(&request.out_trade_no)?.as_str().to_owned(),
            token: token(),
            code_hash: code_hash(&code),
            amount_minor: amount.minor(),
            description: merchant::description(&request.description)?,
            notify_url: notify_url(request.notify_url.as_deref())?,
            expires_at_ms: now + merchant::MIN_ORDER_TTL_MS * 5,
            // Taking the code, pricing it for the payer, and paying it (within
            // their no-PIN limit) or leaving it for them: one store operation.
            settle: Some(CodeSettle {
                pricing: self.pricing()?,
                quote_ttl_ms: self.policy.fx.quote_ttl_ms,
                caps: Currency::ALL.iter().map(|c| (*c, self.policy.caps(*c))).collect(),
            }),
        };
        let order = self.store.charge_code(charge, now).await?;
        Ok(self.order_wire(&order))
    }

    /// Marks unpaid orders past their expiry as expired (a sweep).
    pub async fn expire_orders(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            let expired = self.store.expire_orders(self.now_ms(), 500).await?;
            total += expired.len();
            if expired.len() < 500 {
                return Ok(total);
            }
        }
    }
}
