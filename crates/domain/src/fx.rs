//! Currency conversion: the operator's rates, the payer's rate (the rate
//! less a spread), the fee, and the rounding of each.
//!
//! Rates are exact decimals with eight places, kept as integers. Every
//! rounding goes the house's way by less than one minor unit: what the payer
//! is debited rounds up, what arrives on the other side rounds down, so the
//! FX position never pays out more than it took in at the quoted rate.
//! Refunds give back the same share of what was paid, fee included, at the
//! payment's own rate (see [`refund_share`]).

use crate::money::{Amount, Currency};
use crate::Error;

/// Rates carry eight decimal places.
pub const RATE_SCALE: i64 = 100_000_000;
/// The most a spread or fee may be, in basis points (10%).
pub const MAX_BPS: u32 = 1_000;

/// How many units of `to` one unit of `from` buys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub from: Currency,
    pub to: Currency,
    /// The rate times [`RATE_SCALE`]; always positive.
    scaled: i64,
}

impl Rate {
    /// A rate from its decimal text ("7.1234"): positive, at most eight
    /// decimals, between two different currencies.
    pub fn parse(from: Currency, to: Currency, text: &str) -> Result<Self, Error> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if from == to
            || whole.is_empty()
            || whole.len() > 9
            || fraction.len() > 8
            || !digits(whole)
            || !digits(fraction)
        {
            return Err(Error::InvalidRate);
        }
        let padded = format!("{whole}{fraction:0<8}");
        let scaled: i64 = padded.parse().map_err(|_| Error::InvalidRate)?;
        Self::from_scaled(from, to, scaled)
    }

    pub fn from_scaled(from: Currency, to: Currency, scaled: i64) -> Result<Self, Error> {
        if from == to || scaled <= 0 {
            return Err(Error::InvalidRate);
        }
        Ok(Self { from, to, scaled })
    }

    pub fn scaled(self) -> i64 {
        self.scaled
    }

    /// The rate the other way round, rounded down to eight places.
    pub fn inverse(self) -> Result<Self, Error> {
        let scaled = (RATE_SCALE as i128 * RATE_SCALE as i128) / self.scaled as i128;
        Self::from_scaled(
            self.to,
            self.from,
            i64::try_from(scaled).map_err(|_| Error::InvalidRate)?,
        )
    }

    /// The rate less a spread of `bps` basis points, rounded down.
    pub fn less_spread(self, bps: u32) -> Result<Self, Error> {
        let scaled = self.scaled as i128 * (10_000 - bps.min(MAX_BPS) as i128) / 10_000;
        Self::from_scaled(
            self.from,
            self.to,
            i64::try_from(scaled).map_err(|_| Error::InvalidRate)?,
        )
    }

    /// "7.12340000" without trailing zeros: "7.1234".
    pub fn text(self) -> String {
        let whole = self.scaled / RATE_SCALE;
        let fraction = format!("{:08}", self.scaled % RATE_SCALE);
        let fraction = fraction.trim_end_matches('0');
        if fraction.is_empty() {
            whole.to_string()
        } else {
            format!("{whole}.{fraction}")
        }
    }

    /// `minor` of `from` in minor units of `to`, rounded down or up.
    fn convert(self, minor: i64, up: bool) -> Result<i64, Error> {
        let numerator = minor as i128 * self.scaled as i128 * 10i128.pow(self.to.exponent());
        let denominator = RATE_SCALE as i128 * 10i128.pow(self.from.exponent());
        let value = if up {
            (numerator + denominator - 1) / denominator
        } else {
            numerator / denominator
        };
        i64::try_from(value).map_err(|_| Error::AmountOverflow)
    }

    /// How much of `from` buys at least `minor` of `to`, rounded up.
    fn needed_for(self, minor: i64) -> Result<i64, Error> {
        let numerator = minor as i128 * RATE_SCALE as i128 * 10i128.pow(self.from.exponent());
        let denominator = self.scaled as i128 * 10i128.pow(self.to.exponent());
        i64::try_from((numerator + denominator - 1) / denominator).map_err(|_| Error::AmountOverflow)
    }
}

/// The mid rate from `from` to `to` among the operator's rates (each
/// `(base, quote, scaled)`): as set, or the inverse of the rate set the
/// other way round; `RateUnavailable` if neither is.
pub fn mid_from(rates: &[(Currency, Currency, i64)], from: Currency, to: Currency) -> Result<Rate, Error> {
    if let Some((_, _, scaled)) = rates.iter().find(|(b, q, _)| *b == from && *q == to) {
        return Rate::from_scaled(from, to, *scaled);
    }
    if let Some((_, _, scaled)) = rates.iter().find(|(b, q, _)| *b == to && *q == from) {
        return Rate::from_scaled(to, from, *scaled)?.inverse();
    }
    Err(Error::RateUnavailable)
}

/// The operator's pricing of conversions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pricing {
    /// Taken off the mid rate, in basis points.
    pub spread_bps: u32,
    /// Charged on the converted amount, in basis points of it.
    pub fee_bps: u32,
}

impl Pricing {
    pub fn new(spread_bps: u32, fee_bps: u32) -> Result<Self, Error> {
        if spread_bps > MAX_BPS || fee_bps > MAX_BPS {
            return Err(Error::InvalidRate);
        }
        Ok(Self { spread_bps, fee_bps })
    }
}

/// One conversion, fully priced: what leaves the payer, what the fee is, and
/// what arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conversion {
    /// The operator's rate.
    pub mid: Rate,
    /// The payer's rate: the mid rate less the spread.
    pub rate: Rate,
    /// Everything debited from the payer, fee included (`converted + fee`).
    pub debit: Amount,
    /// The part of the debit that is converted.
    pub converted_minor: i64,
    /// The fee, in the payer's currency (may be zero).
    pub fee_minor: i64,
    /// What arrives, in the other currency.
    pub credit: Amount,
}

/// `n / d` rounded up, for `n >= 0` and `d > 0`.
fn ceil_div(n: i128, d: i128) -> i128 {
    (n + d - 1) / d
}

fn fee_on(converted: i64, pricing: Pricing) -> Result<i64, Error> {
    let fee = ceil_div(converted as i128 * pricing.fee_bps as i128, 10_000);
    i64::try_from(fee).map_err(|_| Error::AmountOverflow)
}

/// The conversion that delivers exactly `credit` (a merchant's price): the
/// payer is debited what it takes at their rate, rounded up, plus the fee.
pub fn to_receive(mid: Rate, credit: Amount, pricing: Pricing) -> Result<Conversion, Error> {
    if credit.currency() != mid.to {
        return Err(Error::CurrencyMismatch);
    }
    let rate = mid.less_spread(pricing.spread_bps)?;
    let converted = rate.needed_for(credit.minor())?;
    let fee = fee_on(converted, pricing)?;
    let debit = Amount::new(converted.checked_add(fee).ok_or(Error::AmountOverflow)?, mid.from)?;
    Ok(Conversion {
        mid,
        rate,
        debit,
        converted_minor: converted,
        fee_minor: fee,
        credit,
    })
}

/// The conversion of exactly `debit` (what a person sends): the fee comes off
/// first, the rest is converted at their rate and rounded down. Too little
/// to deliver one minor unit is `InvalidAmount`.
pub fn to_send(mid: Rate, debit: Amount, pricing: Pricing) -> Result<Conversion, Error> {
    if debit.currency() != mid.from {
        return Err(Error::CurrencyMismatch);
    }
    let rate = mid.less_spread(pricing.spread_bps)?;
    // The largest converted amount whose fee still fits in the debit.
    let fee = ceil_div(
        debit.minor() as i128 * pricing.fee_bps as i128,
        10_000 + pricing.fee_bps as i128,
    );
    let fee = i64::try_from(fee).map_err(|_| Error::AmountOverflow)?;
    let converted = debit.minor() - fee;
    let credit = Amount::new(rate.convert(converted, false)?, mid.to)?;
    Ok(Conversion {
        mid,
        rate,
        debit,
        converted_minor: converted,
        fee_minor: fee,
        credit,
    })
}

/// What a refund gives back of one part of a payment (the converted amount,
/// or the fee): the share `refund / total` of `paid`, counted cumulatively
/// so the shares of all refunds add up to exactly `paid` once the whole
/// order is refunded. `refunded_before + refund` must not exceed `total`.
pub fn refund_share(paid: i64, total: i64, refunded_before: i64, refund: i64) -> Result<i64, Error> {
    let after = refunded_before.checked_add(refund).ok_or(Error::AmountOverflow)?;
    if total <= 0 || paid < 0 || refunded_before < 0 || refund <= 0 || after > total {
        return Err(Error::RefundExceedsPaid);
    }
    let upto = |part: i64| (paid as i128 * part as i128 / total as i128) as i64;
    Ok(upto(after) - upto(refunded_before))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd_cny() -> Rate {
        Rate::parse(Currency::Usd, Currency::Cny, "7.1").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn rates_read_and_print_exactly() {
        let r = Rate::parse(Currency::Usd, Currency::Cny, "7.12345678").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.scaled(), 712_345_678);
        assert_eq!(r.text(), "7.12345678");
        assert_eq!(usd_cny().text(), "7.1");
        for bad in ["", "0", "0.0", "-1", "7.123456789", "7,1", "1e3", "abc", "1234567890"] {
            assert_eq!(
                Rate::parse(Currency::Usd, Currency::Cny, bad),
                Err(Error::InvalidRate),
                "{bad}"
            );
        }
        assert_eq!(Rate::parse(Currency::Usd, Currency::Usd, "1"), Err(Error::InvalidRate));
        assert_eq!(usd_cny().inverse().map(Rate::text), Ok("0.14084507".to_owned()));
    }

    /// The tourist's dinner: $23.72 at 7.1 CNY per USD, 50 bps spread, 100 bps fee.
    #[test]
    fn a_usd_price_paid_from_cny() {
        let pricing = Pricing::new(50, 100).unwrap_or_else(|e| panic!("{e}"));
        let cny_usd = usd_cny().inverse().unwrap_or_else(|e| panic!("{e}"));
        let price = Amount::new(2372, Currency::Usd).unwrap_or_else(|e| panic!("{e}"));
        let c = to_receive(cny_usd, price, pricing).unwrap_or_else(|e| panic!("{e}"));
        // 23.72 USD / (0.14084507 × 0.995 = 0.14014084) = 169.2583 CNY, rounded up.
        assert_eq!(c.converted_minor, 16_926);
        assert_eq!(c.fee_minor, 170, "1% of 169.26, rounded up");
        assert_eq!(c.debit.minor(), 17_096);
        assert_eq!(c.credit, price);
        assert!(c.rate.convert(c.converted_minor, false).unwrap_or_default() >= 2372);
    }

    #[test]
    fn a_cny_transfer_arriving_in_usd() {
        let pricing = Pricing::new(50, 0).unwrap_or_else(|e| panic!("{e}"));
        let cny_usd = usd_cny().inverse().unwrap_or_else(|e| panic!("{e}"));
        let sent = Amount::new(2000, Currency::Cny).unwrap_or_else(|e| panic!("{e}"));
        let c = to_send(cny_usd, sent, pricing).unwrap_or_else(|e| panic!("{e}"));
        // ¥20 × 0.14084507 × 0.995 = $2.8028, rounded down.
        assert_eq!(c.credit.minor(), 280);
        assert_eq!(c.fee_minor, 0);
        let one_fen = Amount::new(1, Currency::Cny).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            to_send(cny_usd, one_fen, pricing),
            Err(Error::InvalidAmount),
            "too little to arrive"
        );
    }

    #[test]
    fn mid_rates_are_set_or_inverted() {
        let rates = [(Currency::Usd, Currency::Cny, 710_000_000)];
        assert_eq!(
            mid_from(&rates, Currency::Usd, Currency::Cny).map(Rate::text),
            Ok("7.1".to_owned())
        );
        assert_eq!(
            mid_from(&rates, Currency::Cny, Currency::Usd).map(Rate::text),
            Ok("0.14084507".to_owned())
        );
        assert_eq!(
            mid_from(&rates, Currency::Cny, Currency::Jpy),
            Err(Error::RateUnavailable)
        );
    }

    #[test]
    fn refund_shares_add_up_to_what_was_paid() {
        assert_eq!(refund_share(17_096, 2372, 0, 1186), Ok(8548));
        assert_eq!(refund_share(17_096, 2372, 1186, 1186), Ok(8548));
        assert_eq!(refund_share(100, 3, 0, 1), Ok(33));
        assert_eq!(refund_share(100, 3, 1, 1), Ok(33));
        assert_eq!(refund_share(100, 3, 2, 1), Ok(34));
        assert_eq!(refund_share(100, 3, 2, 2), Err(Error::RefundExceedsPaid));
        assert_eq!(refund_share(100, 3, 0, 0), Err(Error::RefundExceedsPaid));
    }

    proptest! {
        #[test]
        fn conversions_never_favour_the_payer(
            rate in 1i64..2_000_000_000_000,
            minor in 1i64..100_000_000_000,
            spread in 0u32..=MAX_BPS,
            fee in 0u32..=MAX_BPS,
            from in proptest::sample::select(Currency::ALL.to_vec()),
            to in proptest::sample::select(Currency::ALL.to_vec()),
        ) {
            prop_assume!(from != to);
            let mid = Rate::from_scaled(from, to, rate).unwrap();
            let pricing = Pricing::new(spread, fee).unwrap();
            if let Ok(amount) = Amount::new(minor, to) {
                if let Ok(c) = to_receive(mid, amount, pricing) {
                    // What the converted part buys at the payer's rate covers the price.
                    prop_assert!(c.rate.convert(c.converted_minor, false).unwrap() >= minor);
                    prop_assert_eq!(c.debit.minor(), c.converted_minor + c.fee_minor);
                    prop_assert!(c.fee_minor as i128 * 10_000 >= c.converted_minor as i128 * fee as i128);
                }
            }
            if let Ok(amount) = Amount::new(minor, from) {
                if let Ok(c) = to_send(mid, amount, pricing) {
                    prop_assert!(c.credit.minor() as i128 * RATE_SCALE as i128 * 10i128.pow(from.exponent())
                        <= c.converted_minor as i128 * c.rate.scaled() as i128 * 10i128.pow(to.exponent()));
                    prop_assert_eq!(c.debit.minor(), c.converted_minor + c.fee_minor);
                    prop_assert!(c.fee_minor as i128 * 10_000 >= c.converted_minor as i128 * fee as i128);
                }
            }
        }

        #[test]
        fn refunds_in_any_steps_return_exactly_what_was_paid(
            paid in 0i64..1_000_000_000,
            steps in proptest::collection::vec(1i64..10_000, 1..8),
        ) {
            let total: i64 = steps.iter().sum();
            let mut before = 0;
            let mut returned = 0;
            for step in steps {
                returned += refund_share(paid, total, before, step).unwrap();
                before += step;
                prop_assert!(returned <= paid);
            }
            prop_assert_eq!(returned, paid);
        }
    }
}
