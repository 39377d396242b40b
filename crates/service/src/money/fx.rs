//! Money across currencies: the operator's rates, quotes shown before a
//! payer confirms (rate less spread, plus fee; valid for a while; used
//! once), and conversions between a user's own wallets.

use qiao_api as api;
use qiao_domain::caps::CapKind;
use qiao_domain::fx::{self, Pricing, Rate};
use qiao_domain::ids::{IdempotencyKey, QuoteId, UserId};
use qiao_domain::money::{Amount, Currency};
use qiao_domain::Error as Rule;
use qiao_store::{wire, CapCheck, NewQuote, QuoteRecord};

use super::Money;
use crate::Result;

/// The operator's FX settings.
#[derive(Debug, Clone)]
pub struct FxPolicy {
    /// Taken off the mid rate, in basis points.
    pub spread_bps: u32,
    /// Charged on the converted amount, in basis points.
    pub fee_bps: u32,
    /// How long a quote can be confirmed.
    pub quote_ttl_ms: i64,
}

impl Default for FxPolicy {
    fn default() -> Self {
        Self {
            spread_bps: 50,
            fee_bps: 100,
            quote_ttl_ms: 120_000,
        }
    }
}

/// Which side of a conversion is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// This much leaves (a person sends).
    Send,
    /// This much arrives (a merchant's price).
    Receive,
}

impl Money {
    pub(super) fn pricing(&self) -> Result<Pricing> {
        Ok(Pricing::new(self.policy.fx.spread_bps, self.policy.fx.fee_bps)?)
    }

    /// The operator's rate from `from` to `to`: as set, or the inverse of the
    /// rate set the other way; `RateUnavailable` if neither is.
    pub async fn mid_rate(&self, from: Currency, to: Currency) -> Result<Rate> {
        let rates: Vec<(Currency, Currency, i64)> = self
            .store
            .rates()
            .await?
            .into_iter()
            .map(|r| (r.base, r.quote, r.rate_scaled))
            .collect();
        Ok(fx::mid_from(&rates, from, to)?)
    }

    /// Prices a conversion and keeps the quote for `user`, valid for the policy's time.
    pub(super) async fn make_quote(
        &self,
        user: UserId,
        from: Currency,
        to: Currency,
        side: Side,
        minor: i64,
    ) -> Result<QuoteRecord> {
        if from == to {
            return Err(Rule::CurrencyMismatch.into());
        }
        let mid = self.mid_rate(from, to).await?;
        let pricing = self.pricing()?;
        let conversion = match side {
            Side::Send => fx::to_send(mid, Amount::new(minor, from)?, pricing)?,
            Side::Receive => fx::to_receive(mid, Amount::new(minor, to)?, pricing)?,
        };
        let now = self.now_ms();
        Ok(self
            .store
            .create_quote(
                NewQuote {
                    user,
                    conversion,
                    expires_at_ms: now + self.policy.fx.quote_ttl_ms,
                },
                now,
            )
            .await?)
    }

    /// A quote the user asked for (to convert, or to see a price).
    pub async fn quote(&self, user: UserId, request: api::QuoteRequest) -> Result<api::Quote> {
        let from = Currency::parse(&request.from_currency)?;
        let to = Currency::parse(&request.to_currency)?;
        let side = match request.side.as_str() {
            "send" => Side::Send,
            "receive" => Side::Receive,
            _ => return Err(Rule::InvalidRequest.into()),
        };
        Ok(wire::quote(
            &self.make_quote(user, from, to, side, request.amount_minor).await?,
        ))
    }

    /// Converts between two of the user's wallets at a quote they took (PIN
    /// and the daily payment cap as for any money leaving the wallet).
    pub async fn convert(&self, user: UserId, request: api::ConvertRequest) -> Result<api::Conversion> {
        let key = IdempotencyKey::parse(&request.idempotency_key)?;
        let quote = self.store.quote(user, QuoteId(request.quote_id)).await?;
        let debit = Amount::new(quote.debit_minor, quote.from)?;
        let cap = self.policy.cap_for(CapKind::Payment, debit)?;
        self.authorize(user, request.pin.as_deref(), debit).await?;
        let (id, quote) = self
            .store
            .convert(
                user,
                key.as_str(),
                quote.id,
                Some(CapCheck { user, cap }),
                self.now_ms(),
            )
            .await?;
        Ok(api::Conversion {
            id: id.0,
            quote: wire::quote(&quote),
            created_at_ms: quote.used_at_ms.unwrap_or(quote.created_at_ms),
        })
    }

    /// Sets an operator rate (the admin API).
    pub async fn set_rate(&self, base: &str, quote: &str, rate: &str) -> Result<api::Rate> {
        let (base, quote) = (Currency::parse(base)?, Currency::parse(quote)?);
        let rate = Rate::parse(base, quote, rate)?;
        let record = self
            .store
            .set_rate(base, quote, rate.scaled(), false, self.now_ms())
            .await?;
        Ok(rate_wire(&record))
    }

    /// Rates from the configuration, for pairs the admin API has not set.
    pub async fn seed_rates(&self, rates: &[(Currency, Currency, Rate)]) -> Result<()> {
        for (base, quote, rate) in rates {
            self.store
                .set_rate(*base, *quote, rate.scaled(), true, self.now_ms())
                .await?;
        }
        Ok(())
    }

    pub async fn rates(&self) -> Result<Vec<api::Rate>> {
        Ok(self.store.rates().await?.iter().map(rate_wire).collect())
    }
}

fn rate_wire(r: &qiao_store::RateRecord) -> api::Rate {
    api::Rate {
        base_currency: r.base.code().to_owned(),
        quote_currency: r.quote.code().to_owned(),
        rate: Rate::from_scaled(r.base, r.quote, r.rate_scaled)
            .map(Rate::text)
            .unwrap_or_default(),
        updated_at_ms: r.updated_at_ms,
    }
}
