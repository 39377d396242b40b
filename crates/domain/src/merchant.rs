//! Merchants and their orders: the fields a merchant is made of, who of its
//! staff may do what, an order's states, and the arithmetic of refunds.

use crate::ids::MerchantId;
use crate::Error;

/// Merchant numbers start here, so every one is ten digits.
const NUMBER_BASE: i64 = 1_000_000_000;
/// How long a per-order code is payable if the merchant does not say.
pub const DEFAULT_ORDER_TTL_MS: i64 = 15 * 60 * 1000;
/// The shortest and longest life a merchant may give an order.
pub const MIN_ORDER_TTL_MS: i64 = 60 * 1000;
pub const MAX_ORDER_TTL_MS: i64 = 24 * 60 * 60 * 1000;
/// The longest order description.
pub const MAX_DESCRIPTION_CHARS: usize = 128;
/// The longest name of a merchant, store or API key.
pub const MAX_NAME_CHARS: usize = 64;
/// The longest notification URL.
pub const MAX_URL_CHARS: usize = 2048;

/// The public number of a merchant (what its QR codes carry): ten digits.
pub fn public_number(id: MerchantId) -> String {
    (NUMBER_BASE + id.0).to_string()
}

/// The merchant a public number names, if it is one.
pub fn parse_public_number(text: &str) -> Option<MerchantId> {
    let n: i64 = text.parse().ok()?;
    (text.len() == 10 && !text.starts_with('0') && n > NUMBER_BASE).then(|| MerchantId(n - NUMBER_BASE))
}

/// A merchant category code (ISO 18245): four digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mcc(String);

impl Mcc {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.len() == 4 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::InvalidMcc)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 3166-1 alpha-2 country code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country(String);

impl Country {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::InvalidCountry)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name a person typed (a merchant's, a store's, a key's, a city):
/// trimmed, 1 to 64 characters, no control characters.
pub fn name(raw: &str) -> Result<String, Error> {
    let trimmed = raw.trim();
    let count = trimmed.chars().count();
    if count == 0 || count > MAX_NAME_CHARS || trimmed.chars().any(char::is_control) {
        return Err(Error::InvalidDisplayName);
    }
    Ok(trimmed.to_owned())
}

/// An order's description: 1 to 128 characters, no control characters.
pub fn description(raw: &str) -> Result<String, Error> {
    let trimmed = raw.trim();
    let count = trimmed.chars().count();
    if count == 0 || count > MAX_DESCRIPTION_CHARS || trimmed.chars().any(char::is_control) {
        return Err(Error::InvalidText);
    }
    Ok(trimmed.to_owned())
}

/// A merchant's own order or refund number: 1 to 64 of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderNumber(String);

impl OrderNumber {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::InvalidOrderNumber)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a merchant's server hears of payments and refunds: an http(s) URL
/// with a host, without spaces or a fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyUrl(String);

impl NotifyUrl {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let rest = raw
            .strip_prefix("https://")
            .or_else(|| raw.strip_prefix("http://"))
            .ok_or(Error::InvalidUrl)?;
        let host = rest.split(['/', '?']).next().unwrap_or_default();
        let ok = raw.len() <= MAX_URL_CHARS
            && !host.is_empty()
            && !host.starts_with(':')
            && !raw.contains('#')
            && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::InvalidUrl)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a member of a merchant's staff is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Created the merchant: everything.
    Owner,
    /// Takes payments and refunds, sees orders; changes no settings.
    Cashier,
}

/// What someone does at a merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    TakePayment,
    Refund,
    ViewOrders,
    /// Settings, stores, staff, API keys, notification URL, settlement card.
    ChangeSettings,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Cashier => "cashier",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "owner" => Some(Role::Owner),
            "cashier" => Some(Role::Cashier),
            _ => None,
        }
    }

    /// `StaffNotAllowed` unless this role may do `action`.
    pub fn may(self, action: Action) -> Result<(), Error> {
        match (self, action) {
            (Role::Owner, _) | (Role::Cashier, Action::TakePayment | Action::Refund | Action::ViewOrders) => Ok(()),
            (Role::Cashier, Action::ChangeSettings) => Err(Error::StaffNotAllowed),
        }
    }
}

/// How an order came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// Created by the merchant's API, paid by scanning its per-order code.
    Order,
    /// Made when a customer pays a static code with an amount they typed.
    Static,
    /// Made when the point of sale charges a customer's payment code.
    Code,
}

impl OrderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKind::Order => "order",
            OrderKind::Static => "static",
            OrderKind::Code => "code",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "order" => Some(OrderKind::Order),
            "static" => Some(OrderKind::Static),
            "code" => Some(OrderKind::Code),
            _ => None,
        }
    }
}

/// Where an order is: created → paid → partially or fully refunded; created
/// → closed or expired. A payment-code charge above the payer's no-PIN limit
/// waits for the payer first (awaiting confirmation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Created,
    AwaitingConfirmation,
    Paid,
    PartiallyRefunded,
    Refunded,
    Closed,
    Expired,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::Created,
        OrderStatus::AwaitingConfirmation,
        OrderStatus::Paid,
        OrderStatus::PartiallyRefunded,
        OrderStatus::Refunded,
        OrderStatus::Closed,
        OrderStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Created => "created",
            OrderStatus::AwaitingConfirmation => "awaiting_confirmation",
            OrderStatus::Paid => "paid",
            OrderStatus::PartiallyRefunded => "partially_refunded",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Closed => "closed",
            OrderStatus::Expired => "expired",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether money has been taken for the order.
    pub fn is_paid(self) -> bool {
        matches!(
            self,
            OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded
        )
    }

    /// The status an order is in at `now_ms`: an unpaid one past its expiry
    /// has expired even before a sweep writes it down.
    pub fn at(self, expires_at_ms: i64, now_ms: i64) -> Self {
        match self {
            OrderStatus::Created | OrderStatus::AwaitingConfirmation if now_ms >= expires_at_ms => OrderStatus::Expired,
            other => other,
        }
    }

    /// Whether the order may be paid now; the reason if not.
    pub fn may_pay(self, expires_at_ms: i64, now_ms: i64) -> Result<(), Error> {
        match self.at(expires_at_ms, now_ms) {
            OrderStatus::Created | OrderStatus::AwaitingConfirmation => Ok(()),
            OrderStatus::Expired => Err(Error::OrderExpired),
            OrderStatus::Closed => Err(Error::OrderClosed),
            OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded => Err(Error::OrderAlreadyPaid),
        }
    }

    /// Whether the merchant may close the order now (closing twice is fine).
    pub fn may_close(self, expires_at_ms: i64, now_ms: i64) -> Result<(), Error> {
        match self.at(expires_at_ms, now_ms) {
            OrderStatus::Created | OrderStatus::AwaitingConfirmation | OrderStatus::Closed | OrderStatus::Expired => {
                Ok(())
            }
            OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded => Err(Error::OrderAlreadyPaid),
        }
    }
}

/// The order's refunded total and status after a refund of `refund`, or
/// why it is refused: an unpaid order, or more than is left.
pub fn after_refund(
    status: OrderStatus,
    amount_minor: i64,
    refunded_minor: i64,
    refund_minor: i64,
) -> Result<(i64, OrderStatus), Error> {
    if !status.is_paid() {
        return Err(Error::OrderNotPaid);
    }
    if refund_minor <= 0 {
        return Err(Error::InvalidAmount);
    }
    let total = refunded_minor
        .checked_add(refund_minor)
        .ok_or(Error::RefundExceedsPaid)?;
    if total > amount_minor {
        return Err(Error::RefundExceedsPaid);
    }
    let status = if total == amount_minor {
        OrderStatus::Refunded
    } else {
        OrderStatus::PartiallyRefunded
    };
    Ok((total, status))
}

/// An order's expiry from the life the merchant asked for (seconds), or the default.
pub fn expiry(now_ms: i64, ttl_seconds: Option<i64>) -> Result<i64, Error> {
    let ttl_ms = match ttl_seconds {
        None => DEFAULT_ORDER_TTL_MS,
        Some(s) => s.checked_mul(1000).ok_or(Error::InvalidRequest)?,
    };
    if !(MIN_ORDER_TTL_MS..=MAX_ORDER_TTL_MS).contains(&ttl_ms) {
        return Err(Error::InvalidRequest);
    }
    Ok(now_ms + ttl_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_numbers_round_trip() {
        assert_eq!(public_number(MerchantId(7)), "1000000007");
        assert_eq!(parse_public_number("1000000007"), Some(MerchantId(7)));
        assert_eq!(parse_public_number("1000000000"), None);
        assert_eq!(parse_public_number("0100000007"), None);
        assert_eq!(parse_public_number("100000007"), None);
        assert_eq!(parse_public_number("abc"), None);
    }

    #[test]
    fn fields_are_checked() {
        assert!(Mcc::parse("5812").is_ok());
        for bad in ["581", "58123", "58a2", ""] {
            assert_eq!(Mcc::parse(bad), Err(Error::InvalidMcc));
        }
        assert!(Country::parse("US").is_ok());
        for bad in ["us", "USA", "U", "1S"] {
            assert_eq!(Country::parse(bad), Err(Error::InvalidCountry));
        }
        assert!(OrderNumber::parse("A-1001_x").is_ok());
        for bad in ["", "a b", "a:b", &"x".repeat(65)] {
            assert_eq!(OrderNumber::parse(bad), Err(Error::InvalidOrderNumber));
        }
        assert!(NotifyUrl::parse("https://shop.example/qiao/notify?x=1").is_ok());
        assert!(NotifyUrl::parse("http://127.0.0.1:8080/n").is_ok());
        for bad in [
            "ftp://x",
            "https://",
            "https:///x",
            "https://a b",
            "https://x/#frag",
            "javascript:alert(1)",
        ] {
            assert_eq!(NotifyUrl::parse(bad), Err(Error::InvalidUrl), "{bad}");
        }
        assert_eq!(name("  Lucky Noodle "), Ok("Lucky Noodle".to_owned()));
        assert_eq!(name(" "), Err(Error::InvalidDisplayName));
        assert_eq!(name("a\u{7}b"), Err(Error::InvalidDisplayName));
        assert_eq!(description(&"x".repeat(129)), Err(Error::InvalidText));
    }

    #[test]
    fn cashiers_take_payments_but_change_nothing() {
        for action in [
            Action::TakePayment,
            Action::Refund,
            Action::ViewOrders,
            Action::ChangeSettings,
        ] {
            assert_eq!(Role::Owner.may(action), Ok(()));
        }
        assert_eq!(Role::Cashier.may(Action::TakePayment), Ok(()));
        assert_eq!(Role::Cashier.may(Action::Refund), Ok(()));
        assert_eq!(Role::Cashier.may(Action::ChangeSettings), Err(Error::StaffNotAllowed));
    }

    #[test]
    fn order_states() {
        use OrderStatus::*;
        assert_eq!(Created.may_pay(100, 99), Ok(()));
        assert_eq!(Created.may_pay(100, 100), Err(Error::OrderExpired));
        assert_eq!(Closed.may_pay(100, 0), Err(Error::OrderClosed));
        assert_eq!(Paid.may_pay(100, 0), Err(Error::OrderAlreadyPaid));
        assert_eq!(
            Paid.may_pay(100, 200),
            Err(Error::OrderAlreadyPaid),
            "a paid order does not expire"
        );
        assert_eq!(AwaitingConfirmation.may_pay(100, 99), Ok(()));
        assert_eq!(Created.at(100, 100), Expired);
        assert_eq!(Paid.at(100, 100), Paid);
        assert_eq!(Created.may_close(100, 0), Ok(()));
        assert_eq!(Paid.may_close(100, 0), Err(Error::OrderAlreadyPaid));
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        for k in [OrderKind::Order, OrderKind::Static, OrderKind::Code] {
            assert_eq!(OrderKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Role::parse("cashier"), Some(Role::Cashier));
        assert_eq!(Role::parse(Role::Owner.as_str()), Some(Role::Owner));
    }

    #[test]
    fn refunds_never_exceed_what_was_paid() {
        use OrderStatus::*;
        assert_eq!(after_refund(Paid, 1000, 0, 400), Ok((400, PartiallyRefunded)));
        assert_eq!(after_refund(PartiallyRefunded, 1000, 400, 600), Ok((1000, Refunded)));
        assert_eq!(
            after_refund(PartiallyRefunded, 1000, 400, 601),
            Err(Error::RefundExceedsPaid)
        );
        assert_eq!(after_refund(Refunded, 1000, 1000, 1), Err(Error::RefundExceedsPaid));
        assert_eq!(after_refund(Created, 1000, 0, 1), Err(Error::OrderNotPaid));
        assert_eq!(after_refund(Paid, 1000, 0, 0), Err(Error::InvalidAmount));
        assert_eq!(
            after_refund(Paid, i64::MAX, i64::MAX - 1, 2),
            Err(Error::RefundExceedsPaid)
        );
    }

    #[test]
    fn order_lifetimes() {
        assert_eq!(expiry(0, None), Ok(DEFAULT_ORDER_TTL_MS));
        assert_eq!(expiry(0, Some(60)), Ok(60_000));
        assert_eq!(expiry(0, Some(59)), Err(Error::InvalidRequest));
        assert_eq!(expiry(0, Some(86_401)), Err(Error::InvalidRequest));
        assert_eq!(expiry(0, Some(i64::MAX)), Err(Error::InvalidRequest));
    }
}
