//! The customer's payment code (付款码): 18 digits the wallet shows as a
//! barcode and a QR code, for the cashier to scan. It starts with Qiao's
//! prefix, ends with a Luhn check digit (a mistyped code is refused before
//! any lookup), works once, and only for a short while.

use crate::Error;

/// Every Qiao payment code starts with these digits.
pub const PREFIX: &str = "18";
pub const LENGTH: usize = 18;
/// How long a shown code can be charged. The wallet shows a new one every
/// minute; the extra half minute covers a cashier scanning just before that.
pub const TTL_MS: i64 = 90 * 1000;
/// How often the wallet shows a new code.
pub const ROTATE_MS: i64 = 60 * 1000;

/// A well-formed payment code (it may still be unknown, used or expired).
#[derive(Clone, PartialEq, Eq)]
pub struct PaymentCode(String);

impl std::fmt::Debug for PaymentCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A live code is a bearer credential: logs get its prefix only.
        write!(f, "PaymentCode({}…)", &self.0[..4])
    }
}

impl PaymentCode {
    /// A new code from 15 random digits (each byte taken mod 10).
    pub fn from_random(random: [u8; 15]) -> Self {
        let mut digits = String::with_capacity(LENGTH);
        digits.push_str(PREFIX);
        digits.extend(random.iter().map(|b| char::from(b'0' + b % 10)));
        let check = check_digit(&digits);
        digits.push(check);
        Self(digits)
    }

    /// Accepts spaces between digit groups, as a cashier may type them.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let digits: String = raw.chars().filter(|c| *c != ' ').collect();
        let ok = digits.len() == LENGTH
            && digits.starts_with(PREFIX)
            && digits.bytes().all(|b| b.is_ascii_digit())
            && crate::card::luhn_valid(&digits);
        if ok {
            Ok(Self(digits))
        } else {
            Err(Error::PaymentCodeInvalid)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The digit that makes `digits` + it Luhn-valid.
fn check_digit(digits: &str) -> char {
    (b'0'..=b'9')
        .map(char::from)
        .find(|c| crate::card::luhn_valid(&format!("{digits}{c}")))
        .unwrap_or('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eighteen_digits_with_a_check_digit() {
        let code = PaymentCode::from_random([7; 15]);
        assert_eq!(code.expose().len(), LENGTH);
        assert!(code.expose().starts_with(PREFIX));
        assert_eq!(PaymentCode::parse(code.expose()), Ok(code.clone()));
        let spaced = format!("{} {}", &code.expose()[..6], &code.expose()[6..]);
        assert_eq!(PaymentCode::parse(&spaced), Ok(code.clone()));
        // Any one digit changed is refused by the check digit.
        for at in 0..LENGTH {
            let mut bytes = code.expose().as_bytes().to_vec();
            bytes[at] = b'0' + (bytes[at] - b'0' + 1) % 10;
            let changed = String::from_utf8(bytes).unwrap_or_default();
            assert_eq!(
                PaymentCode::parse(&changed),
                Err(Error::PaymentCodeInvalid),
                "{changed}"
            );
        }
        assert_eq!(PaymentCode::parse("28"), Err(Error::PaymentCodeInvalid));
        assert!(!format!("{code:?}").contains(&code.expose()[4..]));
    }
}
