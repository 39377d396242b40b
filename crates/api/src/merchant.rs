//! Wire types of merchants, orders, refunds, QR codes, payment codes,
//! notifications and FX.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ---------- merchants (set up by their owner, with a user token) ----------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateMerchantRequest {
    #[schema(min_length = 1, max_length = 64, example = "Lucky Noodles LLC")]
    pub legal_name: String,
    #[schema(min_length = 1, max_length = 64, example = "Lucky Noodles")]
    pub display_name: String,
    /// ISO 3166-1 alpha-2, e.g. `US`.
    #[schema(pattern = "^[A-Z]{2}$", example = "US")]
    pub country: String,
    #[schema(min_length = 1, max_length = 64, example = "San Francisco")]
    pub city: String,
    /// Merchant category code (ISO 18245), four digits, e.g. `5812` (restaurants).
    #[schema(pattern = "^[0-9]{4}$", example = "5812")]
    pub mcc: String,
    /// Settlement currency (ISO 4217), e.g. `USD`.
    #[schema(pattern = "^[A-Z]{3}$", example = "USD")]
    pub currency: String,
    /// One of the owner's debit cards: where payouts go.
    #[schema(minimum = 1)]
    pub settlement_card_id: i64,
    #[serde(default)]
    #[schema(
        max_length = 2048,
        pattern = "^https?://",
        example = "https://shop.example.com/qiao/notify"
    )]
    pub notify_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UpdateMerchantRequest {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64, example = "Lucky Noodles")]
    pub display_name: Option<String>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64, example = "Oakland")]
    pub city: Option<String>,
    #[serde(default)]
    #[schema(
        max_length = 2048,
        pattern = "^https?://",
        example = "https://shop.example.com/qiao/notify"
    )]
    pub notify_url: Option<String>,
    /// Removes the notification URL.
    #[serde(default)]
    pub clear_notify_url: bool,
    #[serde(default)]
    #[schema(minimum = 1)]
    pub settlement_card_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Merchant {
    pub id: i64,
    /// The ten-digit public number its QR codes carry.
    pub number: String,
    pub legal_name: String,
    pub display_name: String,
    pub country: String,
    pub city: String,
    pub mcc: String,
    pub currency: String,
    pub settlement_card_id: i64,
    pub notify_url: Option<String>,
    pub verified: bool,
    /// The caller's role here: `owner` or `cashier`.
    pub role: String,
    pub created_at_ms: i64,
}

/// A new merchant, with its signing secret (shown now and on rotation only).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MerchantCreated {
    pub merchant: Merchant,
    pub signing_secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SigningSecret {
    pub signing_secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateShopRequest {
    #[schema(min_length = 1, max_length = 64, example = "Mission St.")]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Shop {
    pub id: i64,
    pub name: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AddStaffRequest {
    #[schema(minimum = 1)]
    pub user_id: i64,
    /// `cashier` (the only role that can be given).
    #[schema(pattern = "^cashier$", example = "cashier")]
    pub role: String,
    #[serde(default)]
    #[schema(minimum = 1)]
    pub shop_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffMember {
    pub user_id: i64,
    pub display_name: String,
    pub role: String,
    pub shop_id: Option<i64>,
    pub added_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateApiKeyRequest {
    #[schema(min_length = 1, max_length = 64, example = "till 1")]
    pub label: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    pub id: i64,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    pub label: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

/// A new API key: `secret` is shown this once; Qiao keeps only its hash.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyCreated {
    pub key: ApiKey,
    pub secret: String,
}

// ---------- orders and refunds (the merchant API, with an API key) ----------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateOrderRequest {
    /// The merchant's own order number, unique per merchant.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "ORDER-20261201-0001")]
    pub out_trade_no: String,
    #[schema(minimum = 1, example = 2000)]
    pub amount_minor: i64,
    /// Defaults to the merchant's currency.
    #[serde(default)]
    #[schema(pattern = "^[A-Z]{3}$", example = "USD")]
    pub currency: Option<String>,
    #[schema(min_length = 1, max_length = 128, example = "Beef noodles x2")]
    pub description: String,
    /// How long the order can be paid; 60 to 86,400 seconds, 900 by default.
    #[serde(default)]
    #[schema(minimum = 60, maximum = 86400, example = 900)]
    pub expires_in_seconds: Option<i64>,
    /// Overrides the merchant's notification URL for this order.
    #[serde(default)]
    #[schema(
        max_length = 2048,
        pattern = "^https?://",
        example = "https://shop.example.com/qiao/notify"
    )]
    pub notify_url: Option<String>,
    #[serde(default)]
    #[schema(minimum = 1)]
    pub shop_id: Option<i64>,
}

/// What the payer paid, in their own currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PayerAmounts {
    pub currency: String,
    /// Everything debited, fee included.
    pub amount_minor: i64,
    pub fee_minor: i64,
    /// Units of the order's currency per unit of the payer's; absent within one currency.
    pub rate: Option<String>,
    /// What has gone back to the payer in refunds.
    pub refunded_minor: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Order {
    pub id: i64,
    pub merchant_id: i64,
    pub out_trade_no: String,
    /// `order` (per-order code), `static` (a static code) or `code` (a payment code).
    pub kind: String,
    /// `created`, `awaiting_confirmation`, `paid`, `partially_refunded`,
    /// `refunded`, `closed` or `expired`.
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub description: String,
    pub shop_id: Option<i64>,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub paid_at_ms: Option<i64>,
    pub refunded_minor: i64,
    pub payer: Option<PayerAmounts>,
}

/// A QR code: its text and two pictures of it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QrImage {
    pub payload: String,
    pub svg: String,
    pub png_base64: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderCreated {
    pub order: Order,
    pub qr: QrImage,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefundRequest {
    /// The merchant's own refund number: the same number again is the same refund.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "REFUND-0001")]
    pub out_refund_no: String,
    #[schema(minimum = 1, example = 500)]
    pub amount_minor: i64,
    #[serde(default)]
    #[schema(max_length = 128, example = "one bowl was cold")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Refund {
    pub id: i64,
    pub order_id: i64,
    pub out_trade_no: String,
    pub out_refund_no: String,
    pub amount_minor: i64,
    pub currency: String,
    /// What went back to the payer, in their currency.
    pub payer_amount_minor: i64,
    pub payer_currency: String,
    pub reason: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefundCreated {
    pub refund: Refund,
    pub order: Order,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChargeCodeRequest {
    /// The 18 digits of the customer's payment code.
    #[schema(pattern = "^18[0-9]{16}$", example = "181234567890123456")]
    pub code: String,
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "ORDER-20261201-0002")]
    pub out_trade_no: String,
    #[schema(minimum = 1, example = 2000)]
    pub amount_minor: i64,
    #[schema(min_length = 1, max_length = 128, example = "Beef noodles x2")]
    pub description: String,
    #[serde(default)]
    #[schema(
        max_length = 2048,
        pattern = "^https?://",
        example = "https://shop.example.com/qiao/notify"
    )]
    pub notify_url: Option<String>,
    #[serde(default)]
    #[schema(minimum = 1)]
    pub shop_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Payout {
    pub amount_minor: i64,
    pub currency: String,
    /// `posted` or the reason it was voided.
    pub status: String,
}

/// One UTC day of a merchant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DayReport {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub currency: String,
    pub paid_count: i64,
    pub paid_minor: i64,
    pub refund_count: i64,
    pub refunded_minor: i64,
    pub net_minor: i64,
    /// The payout of this day, once made (the day after).
    pub payout: Option<Payout>,
    /// What the merchant holds now, not yet paid out.
    pub balance_minor: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    pub id: i64,
    pub event_id: String,
    /// `payment.succeeded` or `refund.succeeded`.
    pub kind: String,
    pub url: String,
    pub attempts: u32,
    pub next_at_ms: Option<i64>,
    pub delivered_at_ms: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
}

/// The body Qiao POSTs to a merchant's notification URL.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MerchantEvent {
    /// Unique per event: deduplicate on it, since a delivery may repeat.
    pub id: String,
    /// `payment.succeeded` or `refund.succeeded`.
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at_ms: i64,
    pub order: Order,
    pub refund: Option<Refund>,
}

// ---------- paying (the customer, with a user token) ----------

/// A merchant as a payer sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct MerchantCard {
    pub number: String,
    pub name: String,
    pub city: String,
    pub country: String,
    pub verified: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScanRequest {
    /// The text of the scanned code.
    pub payload: String,
    /// A static code: the amount the payer typed, in the merchant's currency.
    #[serde(default)]
    #[schema(minimum = 1, example = 2000)]
    pub amount_minor: Option<i64>,
}

/// A price across currencies, shown before the payer confirms.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Quote {
    pub id: i64,
    pub from_currency: String,
    pub to_currency: String,
    /// Everything the payer is debited, fee included.
    pub debit_minor: i64,
    pub fee_minor: i64,
    /// What arrives.
    pub credit_minor: i64,
    /// The payer's rate (units of `to` per unit of `from`) and the operator's.
    pub rate: String,
    pub mid_rate: String,
    pub expires_at_ms: i64,
}

/// What a scanned code is, before paying it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScanResult {
    /// `merchant` for a payment code; `user` for a person's code (add them).
    pub kind: String,
    pub merchant: Option<MerchantCard>,
    /// A per-order code: the order. A static code: none.
    pub order: Option<ScannedOrder>,
    /// The amount to pay in the merchant's currency (the order's, or the one typed).
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    /// Across currencies, once the amount is known.
    pub quote: Option<Quote>,
    /// A person's code: who.
    pub user_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScannedOrder {
    pub out_trade_no: String,
    pub description: String,
    pub expires_at_ms: i64,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayRequest {
    pub payload: String,
    /// A static code: the amount, in the merchant's currency.
    #[serde(default)]
    #[schema(minimum = 1, example = 2000)]
    pub amount_minor: Option<i64>,
    /// Across currencies: the quote shown.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub quote_id: Option<i64>,
    #[serde(default)]
    #[schema(pattern = "^[0-9]{6}$", example = "135790")]
    pub pin: Option<String>,
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "7f3c2a9e-0001")]
    pub idempotency_key: String,
}

/// A payment as its payer sees it (also the `merchant_order.updated` event).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Receipt {
    pub order_id: i64,
    pub merchant: MerchantCard,
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub description: String,
    pub payer: Option<PayerAmounts>,
    pub paid_at_ms: Option<i64>,
    pub expires_at_ms: i64,
    /// A payment code charge waiting for the payer: the quote to confirm, if
    /// across currencies.
    pub quote: Option<Quote>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConfirmRequest {
    #[serde(default)]
    #[schema(pattern = "^[0-9]{6}$", example = "135790")]
    pub pin: Option<String>,
    #[serde(default)]
    #[schema(minimum = 1)]
    pub quote_id: Option<i64>,
}

/// The customer's payment code, to show to a cashier.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentCode {
    /// 18 digits.
    pub code: String,
    pub expires_at_ms: i64,
    /// When the wallet should show a new one.
    pub refresh_at_ms: i64,
    pub qr_svg: String,
    /// Code 128.
    pub barcode_svg: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DecodedImage {
    /// The text of the QR code found in the picture.
    pub payload: String,
}

// ---------- FX ----------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QuoteRequest {
    #[schema(pattern = "^[A-Z]{3}$", example = "CNY")]
    pub from_currency: String,
    #[schema(pattern = "^[A-Z]{3}$", example = "USD")]
    pub to_currency: String,
    /// `send` (this much leaves) or `receive` (this much arrives).
    #[schema(pattern = "^(send|receive)$", example = "send")]
    pub side: String,
    #[schema(minimum = 1, example = 10000)]
    pub amount_minor: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConvertRequest {
    #[schema(minimum = 1)]
    pub quote_id: i64,
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "7f3c2a9e-0001")]
    pub idempotency_key: String,
    #[serde(default)]
    #[schema(pattern = "^[0-9]{6}$", example = "135790")]
    pub pin: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Conversion {
    pub id: i64,
    pub quote: Quote,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SetRateRequest {
    #[schema(pattern = "^[A-Z]{3}$", example = "USD")]
    pub base_currency: String,
    #[schema(pattern = "^[A-Z]{3}$", example = "CNY")]
    pub quote_currency: String,
    /// Units of the quote currency for one of the base, up to 8 decimals.
    #[schema(pattern = "^[0-9]+(\\.[0-9]{1,8})?$", example = "7.1")]
    pub rate: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Rate {
    pub base_currency: String,
    pub quote_currency: String,
    pub rate: String,
    pub updated_at_ms: i64,
}
