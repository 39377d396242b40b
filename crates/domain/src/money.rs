//! Money: integer minor units of an ISO 4217 currency. Never floats; every
//! arithmetic step is checked and an overflow is an error, not a wrap.

use crate::Error;

/// A currency Qiao can hold, with its minor-unit exponent (ISO 4217).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Currency {
    Cny,
    Usd,
    Hkd,
    Eur,
    Jpy,
}

impl Currency {
    pub const ALL: &'static [Currency] = &[
        Currency::Cny,
        Currency::Usd,
        Currency::Hkd,
        Currency::Eur,
        Currency::Jpy,
    ];

    pub fn parse(raw: &str) -> Result<Self, Error> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.code() == raw)
            .ok_or(Error::UnknownCurrency)
    }

    pub fn code(self) -> &'static str {
        match self {
            Currency::Cny => "CNY",
            Currency::Usd => "USD",
            Currency::Hkd => "HKD",
            Currency::Eur => "EUR",
            Currency::Jpy => "JPY",
        }
    }

    /// The numeric ISO 4217 code (what EMVCo QR codes carry).
    pub fn numeric(self) -> &'static str {
        match self {
            Currency::Cny => "156",
            Currency::Usd => "840",
            Currency::Hkd => "344",
            Currency::Eur => "978",
            Currency::Jpy => "392",
        }
    }

    pub fn from_numeric(raw: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.numeric() == raw)
    }

    /// Digits after the decimal point: 2 for CNY and USD, 0 for JPY.
    pub fn exponent(self) -> u32 {
        match self {
            Currency::Jpy => 0,
            _ => 2,
        }
    }
}

/// A signed amount of one currency (balances, ledger sums).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

/// A strictly positive amount: what a transfer moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Amount {
    minor: i64,
    currency: Currency,
}

impl Amount {
    /// Zero and negative amounts are refused: a transfer always moves something.
    pub fn new(minor: i64, currency: Currency) -> Result<Self, Error> {
        if minor > 0 {
            Ok(Self { minor, currency })
        } else {
            Err(Error::InvalidAmount)
        }
    }

    pub fn minor(self) -> i64 {
        self.minor
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    pub fn money(self) -> Money {
        Money {
            minor: self.minor,
            currency: self.currency,
        }
    }
}

/// Arithmetic that can fail: overflow or mixing currencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount overflow")]
    Overflow,
    #[error("currency mismatch")]
    CurrencyMismatch,
}

impl Money {
    pub fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch);
        }
        let minor = self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money {
            minor,
            currency: self.currency,
        })
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch);
        }
        let minor = self.minor.checked_sub(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money {
            minor,
            currency: self.currency,
        })
    }

    /// Parses a decimal string such as `"12.30"` in this currency's exponent.
    pub fn parse_decimal(raw: &str, currency: Currency) -> Result<Money, Error> {
        let raw = raw.trim();
        let (negative, digits) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let exponent = currency.exponent() as usize;
        let valid = !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.bytes().all(|b| b.is_ascii_digit())
            && fraction.len() <= exponent
            && !(digits.contains('.') && fraction.is_empty());
        if !valid {
            return Err(Error::InvalidRequest);
        }
        let scale = 10i64.checked_pow(exponent as u32).ok_or(Error::InvalidRequest)?;
        let whole: i64 = whole.parse().map_err(|_| Error::InvalidRequest)?;
        let padded = format!("{fraction:0<exponent$}");
        let fraction: i64 = if padded.is_empty() {
            0
        } else {
            padded.parse().map_err(|_| Error::InvalidRequest)?
        };
        let minor = whole
            .checked_mul(scale)
            .and_then(|w| w.checked_add(fraction))
            .ok_or(Error::InvalidRequest)?;
        Ok(Money {
            minor: if negative { -minor } else { minor },
            currency,
        })
    }

    /// The amount as a plain decimal string, e.g. `-12.30` (no symbol, no grouping).
    pub fn to_decimal(self) -> String {
        let exponent = self.currency.exponent();
        if exponent == 0 {
            return self.minor.to_string();
        }
        let scale = 10u64.pow(exponent);
        let magnitude = self.minor.unsigned_abs();
        let sign = if self.minor < 0 { "-" } else { "" };
        format!(
            "{sign}{}.{:0width$}",
            magnitude / scale,
            magnitude % scale,
            width = exponent as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_are_positive() {
        assert!(Amount::new(1, Currency::Cny).is_ok());
        assert_eq!(Amount::new(0, Currency::Cny), Err(Error::InvalidAmount));
        assert_eq!(Amount::new(-5, Currency::Usd), Err(Error::InvalidAmount));
    }

    #[test]
    fn arithmetic_is_checked() {
        let max = Money {
            minor: i64::MAX,
            currency: Currency::Usd,
        };
        assert_eq!(
            max.checked_add(Money {
                minor: 1,
                currency: Currency::Usd
            }),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::zero(Currency::Usd).checked_add(Money::zero(Currency::Cny)),
            Err(MoneyError::CurrencyMismatch)
        );
    }

    #[test]
    fn decimals() {
        assert_eq!(Money::parse_decimal("12.3", Currency::Cny).map(|m| m.minor), Ok(1230));
        assert_eq!(Money::parse_decimal("0.05", Currency::Usd).map(|m| m.minor), Ok(5));
        assert_eq!(Money::parse_decimal("500", Currency::Jpy).map(|m| m.minor), Ok(500));
        for bad in ["", "1.234", "1.", ".5", "1,5", "abc", "5.5"] {
            let currency = if bad == "5.5" { Currency::Jpy } else { Currency::Usd };
            assert!(Money::parse_decimal(bad, currency).is_err(), "{bad}");
        }
        assert!(Money::parse_decimal("99999999999999999999", Currency::Usd).is_err());
        assert_eq!(
            Money {
                minor: -1230,
                currency: Currency::Cny
            }
            .to_decimal(),
            "-12.30"
        );
        assert_eq!(
            Money {
                minor: 7,
                currency: Currency::Usd
            }
            .to_decimal(),
            "0.07"
        );
    }

    proptest! {
        #[test]
        fn decimal_round_trip(minor in -1_000_000_000_000i64..1_000_000_000_000, jpy in any::<bool>()) {
            let currency = if jpy { Currency::Jpy } else { Currency::Cny };
            let money = Money { minor, currency };
            prop_assert_eq!(Money::parse_decimal(&money.to_decimal(), currency), Ok(money));
        }
    }
}
