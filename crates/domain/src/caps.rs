//! Spending caps: how much one operation, and one user in one UTC day, may
//! move in a currency. They keep a single account from draining or swelling
//! the shared clearing and escrow accounts, and bound what a stolen session
//! can do. The operator sets them per currency; the writer checks the daily
//! total in the same transaction that moves the money, so concurrent
//! requests can't each see room that only one of them has.

use crate::money::Amount;
use crate::Error;

/// What a cap counts. Each kind has its own daily total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CapKind {
    /// Money in from a bank card.
    TopUp,
    /// Money out to a bank card.
    Withdrawal,
    /// Money sent to other people: chat transfers and red packets.
    Payment,
}

impl CapKind {
    pub const ALL: [CapKind; 3] = [CapKind::TopUp, CapKind::Withdrawal, CapKind::Payment];

    pub fn as_str(self) -> &'static str {
        match self {
            CapKind::TopUp => "top_up",
            CapKind::Withdrawal => "withdrawal",
            CapKind::Payment => "payment",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// The caps of one currency, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub per_operation_minor: i64,
    pub per_day_minor: i64,
}

impl Caps {
    /// `AmountAboveLimit` for an amount no single operation may move.
    pub fn check_operation(&self, amount: Amount) -> Result<(), Error> {
        if amount.minor() > self.per_operation_minor {
            Err(Error::AmountAboveLimit)
        } else {
            Ok(())
        }
    }

    /// The day's new total after `amount`, or `DailyLimitReached`.
    pub fn check_day(&self, used_minor: i64, amount: Amount) -> Result<i64, Error> {
        match used_minor.checked_add(amount.minor()) {
            Some(total) if total <= self.per_day_minor => Ok(total),
            _ => Err(Error::DailyLimitReached),
        }
    }
}

/// A daily cap to check in the writer: which total, and its ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyCap {
    pub kind: CapKind,
    pub caps: Caps,
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The UTC day (days since the Unix epoch) an instant falls on.
pub fn utc_day(at_ms: i64) -> i64 {
    at_ms.div_euclid(DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn cny(minor: i64) -> Amount {
        Amount::new(minor, Currency::Cny).expect("positive")
    }

    const CAPS: Caps = Caps {
        per_operation_minor: 1_000,
        per_day_minor: 2_500,
    };

    #[test]
    fn one_operation_stops_at_its_cap() {
        assert_eq!(CAPS.check_operation(cny(1_000)), Ok(()));
        assert_eq!(CAPS.check_operation(cny(1_001)), Err(Error::AmountAboveLimit));
        assert_eq!(CAPS.check_operation(cny(i64::MAX)), Err(Error::AmountAboveLimit));
    }

    #[test]
    fn a_day_stops_at_its_cap_even_at_the_numeric_limit() {
        assert_eq!(CAPS.check_day(0, cny(1_000)), Ok(1_000));
        assert_eq!(CAPS.check_day(1_500, cny(1_000)), Ok(2_500));
        assert_eq!(CAPS.check_day(1_501, cny(1_000)), Err(Error::DailyLimitReached));
        assert_eq!(CAPS.check_day(i64::MAX, cny(1)), Err(Error::DailyLimitReached));
    }

    #[test]
    fn days_are_utc() {
        assert_eq!(utc_day(0), 0);
        assert_eq!(utc_day(DAY_MS - 1), 0);
        assert_eq!(utc_day(DAY_MS), 1);
        assert_eq!(utc_day(-1), -1);
        for kind in CapKind::ALL {
            assert_eq!(CapKind::parse(kind.as_str()), Some(kind));
        }
    }
}
