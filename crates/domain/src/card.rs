//! Payment cards as Qiao sees them: a card number is checked (length, digits,
//! Luhn) and then only its last four digits and brand are ever kept; the
//! number itself goes to the bank connector, which returns a token.

use crate::Error;

/// A card number as typed, valid by construction. Never stored, never logged.
pub struct CardNumber(String);

/// What kind of card a user binds; decides what it may be used for by region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Funding {
    /// A debit card or bank account: top up and withdraw (stored value).
    Debit,
    /// A credit card: pay later on a credit line.
    Credit,
}

impl Funding {
    pub fn as_str(self) -> &'static str {
        match self {
            Funding::Debit => "debit",
            Funding::Credit => "credit",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Error> {
        match raw {
            "debit" => Ok(Funding::Debit),
            "credit" => Ok(Funding::Credit),
            _ => Err(Error::InvalidRequest),
        }
    }
}

/// The card network, from the number's leading digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Brand {
    Visa,
    Mastercard,
    UnionPay,
    Amex,
    Other,
}

impl Brand {
    pub fn as_str(self) -> &'static str {
        match self {
            Brand::Visa => "visa",
            Brand::Mastercard => "mastercard",
            Brand::UnionPay => "unionpay",
            Brand::Amex => "amex",
            Brand::Other => "other",
        }
    }
}

/// The Luhn (mod 10) check every card number carries.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else { return false };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

impl CardNumber {
    /// Accepts spaces and dashes between digit groups; 12 to 19 digits; Luhn-valid.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let digits: String = raw.chars().filter(|c| *c != ' ' && *c != '-').collect();
        let ok = (12..=19).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && luhn_valid(&digits);
        if ok {
            Ok(Self(digits))
        } else {
            Err(Error::InvalidCard)
        }
    }

    /// The digits, for the bank connector only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    pub fn brand(&self) -> Brand {
        let two: u32 = self.0[..2].parse().unwrap_or(0);
        let four: u32 = self.0[..4].parse().unwrap_or(0);
        match (self.0.as_bytes()[0], two, four) {
            (b'4', _, _) => Brand::Visa,
            (_, 51..=55, _) | (_, _, 2221..=2720) => Brand::Mastercard,
            (_, 34 | 37, _) => Brand::Amex,
            (_, 62, _) => Brand::UnionPay,
            _ => Brand::Other,
        }
    }
}

impl std::fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardNumber(**** {})", self.last4())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_numbers() {
        let visa = CardNumber::parse("4242 4242 4242 4242").expect("valid");
        assert_eq!((visa.last4(), visa.brand()), ("4242", Brand::Visa));
        assert_eq!(
            CardNumber::parse("5555-5555-5555-4444").expect("valid").brand(),
            Brand::Mastercard
        );
        assert_eq!(
            CardNumber::parse("6212345678901265").expect("valid").brand(),
            Brand::UnionPay
        );
        assert_eq!(
            CardNumber::parse("378282246310005").expect("valid").brand(),
            Brand::Amex
        );
        assert!(
            format!("{visa:?}").ends_with("**** 4242)"),
            "never the whole number in logs"
        );
        for bad in [
            "4242424242424241",
            "1234",
            "4242x42424242424",
            "",
            "00000000000000000000",
        ] {
            assert!(CardNumber::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        /// Changing any one digit of a valid number breaks its Luhn check.
        #[test]
        fn one_wrong_digit_is_caught(position in 0usize..16, delta in 1u32..10) {
            let valid = "4242424242424242";
            let mut digits: Vec<u32> = valid.chars().filter_map(|c| c.to_digit(10)).collect();
            digits[position] = (digits[position] + delta) % 10;
            let changed: String = digits.iter().map(|d| char::from_digit(*d, 10).unwrap_or('0')).collect();
            prop_assert!(!luhn_valid(&changed));
        }
    }
}
