//! The money service layer: one [`Money`] value owns every money use case.
//!
//! ```text
//!  HTTP handler / CLI ──▶ Money ─┬─ cards     bind by region policy, with step-up
//!                                ├─ pin       the gate, step-up, reset with proof
//!                                ├─ funding   top-up, withdrawal: reserve → bank → post/void;
//!                                │            the sweep that finishes abandoned ones
//!                                ├─ chat      transfers and red packets (escrow), expiry
//!                                ├─ credit    the pay-later line, its month, repayment
//!                                ├─ statement entries, one entry, CSV
//!                                └─ wallet    balances, the line, the PIN, today's limits
//!                                     │ domain rules (pure)      │ Store trait (writer: checks + writes)
//!                                     ▼                          ▼
//!                                qiao-domain                qiao-store ── BankConnector (sandbox)
//! ```
//!
//! Each public method is one use case: it parses nothing the handler already
//! parsed, decides nothing the domain decides, and passes every check that
//! guards money (floors, the repayment ceiling, daily caps, the PIN's try
//! count) down into the store operation that moves it.

pub mod cards;
pub mod chat;
pub mod credit;
pub mod funding;
pub mod fx;
pub mod merchant;
pub mod pay;
pub mod payout;
pub mod pin;
pub mod statement;
pub mod wallet;

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use qiao_domain::caps::{CapKind, Caps, DailyCap};
use qiao_domain::card::Funding;
use qiao_domain::identity::Region;
use qiao_domain::ids::UserId;
use qiao_domain::ledger::{AccountKind, Owner};
use qiao_domain::money::{Amount, Currency};
use qiao_store::{LedgerAccount, Store};

use crate::bank::BankConnector;
use crate::clock::Clock;
use crate::secrets::Passwords;
use crate::Result;

/// The operator's money settings, as the service needs them.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Which kinds of card each region (`CN`, `US`) may bind.
    pub region_funding: BTreeMap<String, Vec<Funding>>,
    /// The limit a pay-later line opens with, per currency.
    pub pay_later_limit_minor: BTreeMap<Currency, i64>,
    /// Per-operation and per-day caps, per currency; a currency not named
    /// gets [`default_caps`].
    pub caps: BTreeMap<Currency, Caps>,
    /// How long five wrong PINs lock payments.
    pub pin_lock_ms: i64,
    /// PIN and step-up password tries per user per minute (on top of the lock).
    pub secret_tries_per_minute: u32,
    /// A bank movement still pending this long after its reservation lost
    /// its request (a crash); the sweep finishes it.
    pub settle_after_ms: i64,
    /// The longest a bank call may take; no answer by then is a timeout.
    pub bank_timeout: std::time::Duration,
    /// Spread, fee and quote lifetime of conversions.
    pub fx: fx::FxPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            region_funding: [
                ("CN".to_owned(), vec![Funding::Debit]),
                ("US".to_owned(), vec![Funding::Debit, Funding::Credit]),
            ]
            .into_iter()
            .collect(),
            pay_later_limit_minor: [(Currency::Usd, 100_000), (Currency::Cny, 500_000)]
                .into_iter()
                .collect(),
            caps: BTreeMap::new(),
            pin_lock_ms: 180 * 60_000,
            secret_tries_per_minute: 60,
            settle_after_ms: 5 * 60_000,
            bank_timeout: std::time::Duration::from_secs(30),
            fx: fx::FxPolicy::default(),
        }
    }
}

/// Built-in caps, in the spirit of what wallets allow from a stored balance:
/// about 50,000 CNY a payment and 200,000 a day, and the like elsewhere.
pub fn default_caps(currency: Currency) -> Caps {
    let (per_operation_minor, per_day_minor) = match currency {
        Currency::Cny => (5_000_000, 20_000_000),
        Currency::Usd | Currency::Eur => (1_000_000, 2_500_000),
        Currency::Hkd => (8_000_000, 20_000_000),
        Currency::Jpy => (1_000_000, 3_000_000),
    };
    Caps {
        per_operation_minor,
        per_day_minor,
    }
}

impl Policy {
    pub fn caps(&self, currency: Currency) -> Caps {
        self.caps
            .get(&currency)
            .copied()
            .unwrap_or_else(|| default_caps(currency))
    }

    pub fn funding_allowed(&self, region: Region, funding: Funding) -> bool {
        self.region_funding
            .get(region.code())
            .is_some_and(|kinds| kinds.contains(&funding))
    }

    /// The cap of one kind of movement, after the per-operation check.
    fn cap_for(&self, kind: CapKind, amount: Amount) -> Result<DailyCap> {
        let caps = self.caps(amount.currency());
        caps.check_operation(amount)?;
        Ok(DailyCap { kind, caps })
    }
}

/// The money service. Cheap to share (`Arc` it once).
pub struct Money {
    store: Arc<dyn Store>,
    bank: Arc<dyn BankConnector>,
    clock: Arc<dyn Clock>,
    secrets: Passwords,
    policy: Policy,
    /// PIN and step-up password tries, per user.
    secret_tries: DefaultKeyedRateLimiter<i64>,
    /// Live API keys by hash, each trusted for a while (`merchant::KEY_CACHE_MS`).
    api_keys: parking_lot::Mutex<std::collections::HashMap<String, (qiao_store::ApiKeyRecord, i64)>>,
}

impl Money {
    pub fn new(
        store: Arc<dyn Store>,
        bank: Arc<dyn BankConnector>,
        clock: Arc<dyn Clock>,
        secrets: Passwords,
        policy: Policy,
    ) -> Self {
        let per_minute = NonZeroU32::new(policy.secret_tries_per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            store,
            bank,
            clock,
            secrets,
            secret_tries: RateLimiter::keyed(Quota::per_minute(per_minute)),
            api_keys: parking_lot::Mutex::new(std::collections::HashMap::new()),
            policy,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    async fn region(&self, user: UserId) -> Result<Region> {
        Ok(self.store.user(user).await?.region)
    }

    /// The user's wallet in `currency`, opened on first use.
    async fn wallet_account(&self, user: UserId, currency: Currency) -> Result<LedgerAccount> {
        Ok(self
            .store
            .ledger_account(AccountKind::Wallet, &Owner::User(user), currency, self.now_ms())
            .await?)
    }

    /// The user's pay-later line in `currency`, if a credit card opened one.
    async fn credit_line_account(&self, user: UserId, currency: Currency) -> Result<Option<LedgerAccount>> {
        Ok(self
            .store
            .find_ledger_account(AccountKind::CreditLine { limit_minor: 0 }, &Owner::User(user), currency)
            .await?)
    }

    /// A connector's clearing account in `currency`: this node's shard of it.
    async fn clearing_account(&self, connector: &str, currency: Currency) -> Result<LedgerAccount> {
        Ok(self
            .store
            .ledger_account(
                AccountKind::BankClearing,
                &Owner::Connector {
                    name: connector.to_owned(),
                    shard: self.store.shard(),
                },
                currency,
                self.now_ms(),
            )
            .await?)
    }

    /// Counts a PIN or step-up password try; `RateLimited` past the per-minute budget.
    fn count_secret_try(&self, user: UserId) -> Result<()> {
        self.secret_tries.check_key(&user.0).map_err(|_| {
            tracing::warn!(user = user.0, "PIN and password tries rate-limited");
            qiao_domain::Error::RateLimited.into()
        })
    }
}

/// The currency a request names, which must be the wallet's; absent means the wallet's.
fn request_currency(given: Option<&str>, wallet: Currency) -> Result<Currency> {
    match given {
        None => Ok(wallet),
        Some(code) if Currency::parse(code)? == wallet => Ok(wallet),
        Some(_) => Err(qiao_domain::Error::CurrencyMismatch.into()),
    }
}
