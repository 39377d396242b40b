//! What the store keeps of merchants, orders, refunds, quotes, payment
//! codes and notifications, as plain records.

use qiao_domain::caps::DailyCap;
use qiao_domain::ids::{
    ApiKeyId, CardId, MerchantId, NotificationId, OrderId, QuoteId, RefundId, SessionId, ShopId, UserId,
};
use qiao_domain::merchant::{OrderKind, OrderStatus, Role};
use qiao_domain::money::Currency;

#[derive(Debug, Clone, PartialEq)]
pub struct MerchantRecord {
    pub id: MerchantId,
    pub owner_id: UserId,
    pub legal_name: String,
    pub display_name: String,
    pub country: String,
    pub city: String,
    pub mcc: String,
    /// The currency orders are priced in and the merchant is settled in.
    pub currency: Currency,
    pub settlement_card_id: CardId,
    pub notify_url: Option<String>,
    /// Signs notifications (HMAC-SHA256); kept as is, since signing needs it.
    pub signing_secret: String,
    pub verified: bool,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct NewMerchant {
    pub owner: UserId,
    pub legal_name: String,
    pub display_name: String,
    pub country: String,
    pub city: String,
    pub mcc: String,
    pub currency: Currency,
    pub settlement_card: CardId,
    pub notify_url: Option<String>,
    pub signing_secret: String,
}

/// Changes to a merchant's settings; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MerchantUpdate {
    pub display_name: Option<String>,
    pub city: Option<String>,
    /// `Some(None)` removes the URL.
    pub notify_url: Option<Option<String>>,
    pub settlement_card: Option<CardId>,
    pub signing_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ShopRecord {
    pub id: ShopId,
    pub merchant_id: MerchantId,
    pub name: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StaffRecord {
    pub merchant_id: MerchantId,
    pub user_id: UserId,
    pub role: Role,
    pub shop_id: Option<ShopId>,
    pub added_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub merchant_id: MerchantId,
    /// The first characters of the key, to tell keys apart.
    pub prefix: String,
    pub label: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

/// An order as stored: the merchant's side, and the payer's once paid.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    pub id: OrderId,
    pub merchant_id: MerchantId,
    pub shop_id: Option<ShopId>,
    pub kind: OrderKind,
    pub out_trade_no: String,
    /// The public token a per-order QR code carries.
    pub token: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub description: String,
    pub notify_url: Option<String>,
    /// As written; [`OrderStatus::at`] gives the status at an instant.
    pub status: OrderStatus,
    pub expires_at_ms: i64,
    pub created_at_ms: i64,
    pub paid_at_ms: Option<i64>,
    pub payer_id: Option<UserId>,
    pub payer_key: Option<String>,
    pub payer: Option<PayerSide>,
    pub quote_id: Option<QuoteId>,
    pub refunded_minor: i64,
    pub payer_refunded_minor: i64,
}

/// What the payer paid, in their currency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PayerSide {
    pub currency: Currency,
    /// Everything debited, fee included.
    pub debit_minor: i64,
    pub converted_minor: i64,
    pub fee_minor: i64,
    /// Units of the order's currency per unit of the payer's, times 10^8
    /// (the payer's rate); `None` within one currency.
    pub rate_scaled: Option<i64>,
}

/// An order a merchant's API creates.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub merchant: MerchantId,
    pub shop: Option<ShopId>,
    pub out_trade_no: String,
    pub token: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub description: String,
    pub notify_url: Option<String>,
    pub expires_at_ms: i64,
}

/// Which order of a merchant: by Qiao's id or by the merchant's number.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderRef {
    Id(OrderId),
    OutTradeNo(String),
}

/// A payer paying an order (or a static code), priced by the service.
#[derive(Debug, Clone)]
pub struct PayOrder {
    pub payer: UserId,
    /// The payer's idempotency key: the same key finds the same payment.
    pub payer_key: String,
    /// The payer's wallet currency.
    pub currency: Currency,
    /// Required across currencies: the quote the payer saw and confirmed.
    pub quote: Option<QuoteId>,
    /// The payer's daily cap on payments, counted in the same transaction.
    pub cap: Option<DailyCap>,
}

/// A payment of a static code, for an amount the payer typed.
#[derive(Debug, Clone)]
pub struct StaticPayment {
    pub merchant: MerchantId,
    pub shop: Option<ShopId>,
    pub amount_minor: i64,
    pub token: String,
    pub description: String,
    pub pay: PayOrder,
}

/// A point of sale charging a customer's payment code.
#[derive(Debug, Clone)]
pub struct CodeCharge {
    pub merchant: MerchantId,
    pub shop: Option<ShopId>,
    pub out_trade_no: String,
    pub token: String,
    pub code_hash: String,
    pub amount_minor: i64,
    pub description: String,
    pub notify_url: Option<String>,
    /// How long the payer has to confirm, if it comes to that.
    pub expires_at_ms: i64,
    /// Settle it in the same operation (see [`CodeSettle`]); `None` only
    /// makes the order.
    pub settle: Option<CodeSettle>,
}

/// How a charged payment code is settled in the operation that takes it:
/// across currencies a quote is made for the payer; within their no-PIN
/// limit (and with their PIN not locked) the order is paid at once,
/// otherwise it waits for them to confirm.
#[derive(Debug, Clone)]
pub struct CodeSettle {
    pub pricing: qiao_domain::fx::Pricing,
    pub quote_ttl_ms: i64,
    /// The payment caps of each currency (the payer's is used).
    pub caps: Vec<(Currency, qiao_domain::caps::Caps)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefundRecord {
    pub id: RefundId,
    pub order_id: OrderId,
    pub merchant_id: MerchantId,
    pub out_refund_no: String,
    /// In the order's currency.
    pub amount_minor: i64,
    /// What went back to the payer, in their currency.
    pub payer_amount_minor: i64,
    pub reason: String,
    pub created_by: Option<UserId>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct NewRefund {
    pub merchant: MerchantId,
    pub order: OrderRef,
    pub out_refund_no: String,
    pub amount_minor: i64,
    pub reason: String,
    /// The staff member who asked, if a person did (not an API key).
    pub by: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuoteRecord {
    pub id: QuoteId,
    pub user_id: UserId,
    pub from: Currency,
    pub to: Currency,
    pub debit_minor: i64,
    pub converted_minor: i64,
    pub fee_minor: i64,
    pub credit_minor: i64,
    /// The payer's rate and the operator's, times 10^8.
    pub rate_scaled: i64,
    pub mid_scaled: i64,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub used_at_ms: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewQuote {
    pub user: UserId,
    pub conversion: qiao_domain::fx::Conversion,
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RateRecord {
    pub base: Currency,
    pub quote: Currency,
    pub rate_scaled: i64,
    pub updated_at_ms: i64,
}

/// A payment code that was charged: whose, shown on which device.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodeOwner {
    pub user: UserId,
    pub session: SessionId,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRecord {
    pub id: NotificationId,
    pub merchant_id: MerchantId,
    pub event_id: String,
    pub kind: String,
    pub url: String,
    pub body: String,
    pub attempts: u32,
    /// When the next attempt is due; `None` once delivered or given up.
    pub next_at_ms: Option<i64>,
    pub delivered_at_ms: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
}

/// How one attempt to deliver a notification went.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Delivered { status: i64 },
    Failed { status: Option<i64>, error: String },
}

/// A merchant's day, for its settlement report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DayReport {
    pub paid_count: i64,
    pub paid_minor: i64,
    pub refund_count: i64,
    pub refunded_minor: i64,
}
