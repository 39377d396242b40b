//! Double-entry rules, TigerBeetle style: every transfer debits one account
//! and credits another by the same positive amount of one currency, so the
//! sum of all balances of a currency is zero, always. Transfers are pending
//! (reserved) then posted or voided, exactly once; the journal is never edited.
//!
//! This module is the arithmetic and the rules; stores keep the journal.

use crate::money::{Amount, Currency};

/// What a ledger account is for; decides its balance rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// A user's stored value in one currency. Never below zero.
    Wallet,
    /// A user's pay-later line. Never below minus its limit.
    CreditLine { limit_minor: i64 },
    /// Money held for a pending transfer or red packet. Never below zero.
    Escrow,
    /// The outside world behind a bank connector: goes negative as money comes in.
    BankClearing,
    /// Fees earned. Never below zero.
    FeeIncome,
    /// What Qiao owes a merchant. Never below zero.
    MerchantSettlement,
    /// The other side of currency conversions. Unconstrained.
    FxPosition,
}

impl AccountKind {
    /// The stored name of the kind (the limit of a credit line is stored apart).
    pub fn name(self) -> &'static str {
        match self {
            AccountKind::Wallet => "wallet",
            AccountKind::CreditLine { .. } => "credit_line",
            AccountKind::Escrow => "escrow",
            AccountKind::BankClearing => "bank_clearing",
            AccountKind::FeeIncome => "fee_income",
            AccountKind::MerchantSettlement => "merchant_settlement",
            AccountKind::FxPosition => "fx_position",
        }
    }

    pub fn from_name(name: &str, limit_minor: i64) -> Option<Self> {
        Some(match name {
            "wallet" => AccountKind::Wallet,
            "credit_line" => AccountKind::CreditLine { limit_minor },
            "escrow" => AccountKind::Escrow,
            "bank_clearing" => AccountKind::BankClearing,
            "fee_income" => AccountKind::FeeIncome,
            "merchant_settlement" => AccountKind::MerchantSettlement,
            "fx_position" => AccountKind::FxPosition,
            _ => return None,
        })
    }

    /// The lowest net balance (credits minus debits, pending debits counted) allowed.
    pub fn floor_minor(self) -> Option<i64> {
        match self {
            AccountKind::Wallet | AccountKind::FeeIncome | AccountKind::MerchantSettlement => Some(0),
            AccountKind::CreditLine { limit_minor } => Some(-limit_minor),
            // Chat escrow is sharded per writer: money enters one shard and
            // may leave from another, so only their sum has a floor, and
            // reconciliation checks it against the live payments.
            AccountKind::BankClearing | AccountKind::FxPosition | AccountKind::Escrow => None,
        }
    }
}

/// Whose a ledger account is. Stored as text (`user:42`, `connector:sandbox`,
/// `escrow:chat`); built only here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A user's wallets and pay-later line.
    User(crate::ids::UserId),
    /// The outside world behind a bank connector, by the connector's name,
    /// in one of [`SHARDS`] clearing accounts per currency: each writer
    /// uses its own, as with chat escrow. Shard 0 is the single account of
    /// older databases (`connector:sandbox`); the others add `:n`.
    Connector { name: String, shard: Shard },
    /// Money held for chat transfers and red packets, in one of
    /// [`SHARDS`] accounts per currency: each writer uses its own, so
    /// that writers on several nodes do not queue on one row. Shard 0 is
    /// the single account of older databases (`escrow:chat`).
    ChatEscrow(Shard),
    /// What Qiao owes one merchant.
    Merchant(crate::ids::MerchantId),
    /// Qiao's own book: the FX position of each currency, and fee income.
    House,
}

impl Owner {
    pub fn parse(raw: &str) -> Option<Self> {
        if raw == CHAT_ESCROW_OWNER {
            return Some(Owner::ChatEscrow(Shard::LEGACY));
        }
        if let Some(n) = raw.strip_prefix("escrow:chat:") {
            return canonical_number(n)
                .and_then(Shard::new)
                .filter(|s| *s != Shard::LEGACY)
                .map(Owner::ChatEscrow);
        }
        if raw == "house" {
            return Some(Owner::House);
        }
        if let Some(id) = raw.strip_prefix("merchant:") {
            return canonical_number(id).map(|id| Owner::Merchant(crate::ids::MerchantId(id)));
        }
        if let Some(id) = raw.strip_prefix("user:") {
            return id.parse().ok().map(|id| Owner::User(crate::ids::UserId(id)));
        }
        let rest = raw.strip_prefix("connector:")?;
        let (name, shard) = match rest.split_once(':') {
            None => (rest, Shard::LEGACY),
            Some((name, n)) => (
                name,
                canonical_number(n)
                    .and_then(Shard::new)
                    .filter(|s| *s != Shard::LEGACY)?,
            ),
        };
        (!name.is_empty()).then(|| Owner::Connector {
            name: name.to_owned(),
            shard,
        })
    }

    /// For a sharded system account (a connector's clearing, chat escrow),
    /// the account whatever the shard, as its legacy shard; `None` for the
    /// others, which have one account each.
    pub fn unsharded(&self) -> Option<Owner> {
        match self {
            Owner::Connector { name, .. } => Some(Owner::Connector {
                name: name.clone(),
                shard: Shard::LEGACY,
            }),
            Owner::ChatEscrow(_) => Some(Owner::ChatEscrow(Shard::LEGACY)),
            Owner::User(_) | Owner::Merchant(_) | Owner::House => None,
        }
    }
}

/// A positive number in its one spelling (digits, no leading zero), so that
/// each owner has one stored name.
fn canonical_number<T: std::str::FromStr>(digits: &str) -> Option<T> {
    let canonical = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    canonical.then(|| digits.parse().ok()).flatten()
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owner::User(user) => write!(f, "user:{user}"),
            Owner::Connector {
                name,
                shard: Shard::LEGACY,
            } => write!(f, "connector:{name}"),
            Owner::Connector { name, shard } => write!(f, "connector:{name}:{}", shard.get()),
            Owner::ChatEscrow(Shard::LEGACY) => f.write_str(CHAT_ESCROW_OWNER),
            Owner::ChatEscrow(shard) => write!(f, "{CHAT_ESCROW_OWNER}:{}", shard.get()),
            Owner::Merchant(merchant) => write!(f, "merchant:{merchant}"),
            Owner::House => f.write_str("house"),
        }
    }
}

/// The owner name of a user's wallet and credit-line accounts.
pub fn user_owner(user: crate::ids::UserId) -> String {
    Owner::User(user).to_string()
}

/// The owner of the escrow account that holds chat transfers and red
/// packets in old databases (shard 0); the other shards add `:n`.
pub const CHAT_ESCROW_OWNER: &str = "escrow:chat";

/// How many accounts a sharded system account (chat escrow, a connector's
/// clearing) has per currency, the legacy one included.
pub const SHARDS: u16 = 64;

/// One of the accounts of a sharded system account: `0..SHARDS`. A
/// writer fills its own, so writers on several nodes do not queue on one
/// row; only the sum of the shards means anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard(u16);

impl Shard {
    /// The one account databases had before there were shards.
    pub const LEGACY: Shard = Shard(0);

    pub fn new(n: u16) -> Option<Self> {
        (n < SHARDS).then_some(Shard(n))
    }

    /// A shard other than the legacy one, picked by `seed` (a writer picks
    /// one when it starts, so each node fills its own).
    pub fn pick(seed: u64) -> Self {
        Shard(1 + (seed % u64::from(SHARDS - 1)) as u16)
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

/// An account's running totals: its posted balance (credits minus debits)
/// and what is reserved on each side. They are nets, not sums of history, so
/// money that goes round and round (a top-up withdrawn again, a transfer
/// through escrow) leaves them where they were: a shared account's numbers
/// grow with the money it holds, never with the traffic through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Credits minus debits of posted transfers.
    pub posted: i64,
    /// Pending debits: reserved, not yet posted or voided.
    pub debits_pending: i64,
    /// Pending credits.
    pub credits_pending: i64,
}

/// How far an account's totals may go before reconcile reports it as within
/// reach of the numeric limit: one 1024th of what `i64` holds (about 9×10^15
/// minor units, 90 trillion in a two-decimal currency). No real balance comes
/// near it, so one that does is an attack or a bug, reported while 99.9% of
/// the range is still left to act in.
pub const NUMERIC_ALARM_MINOR: i64 = i64::MAX / 1024;

impl Totals {
    /// Credits minus debits of posted transfers.
    pub fn posted_balance(&self) -> i64 {
        self.posted
    }

    /// What may still be spent: posted balance less pending debits.
    pub fn available(&self) -> Option<i64> {
        self.posted.checked_sub(self.debits_pending)
    }

    /// Whether any total has gone past [`NUMERIC_ALARM_MINOR`] either way.
    pub fn near_numeric_limit(&self) -> bool {
        [self.posted, self.debits_pending, self.credits_pending]
            .iter()
            .any(|v| v.unsigned_abs() > NUMERIC_ALARM_MINOR.unsigned_abs())
    }
}

/// One account as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub kind: AccountKind,
    pub currency: Currency,
    pub totals: Totals,
}

/// Why the ledger refuses a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("insufficient funds")]
    InsufficientFunds,
    #[error("credit limit exceeded")]
    CreditLimitExceeded,
    #[error("currency mismatch")]
    CurrencyMismatch,
    #[error("same account on both sides")]
    SameAccount,
    #[error("overflow")]
    Overflow,
    #[error("repays more than is owed")]
    RepaysMoreThanOwed,
}

impl From<LedgerError> for crate::Error {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::InsufficientFunds => crate::Error::InsufficientFunds,
            LedgerError::CreditLimitExceeded => crate::Error::CreditLimitExceeded,
            LedgerError::CurrencyMismatch => crate::Error::CurrencyMismatch,
            LedgerError::SameAccount => crate::Error::InvalidRequest,
            LedgerError::Overflow => crate::Error::AmountOverflow,
            LedgerError::RepaysMoreThanOwed => crate::Error::RepaymentExceedsOwed,
        }
    }
}

/// Whether the transfer is reserved or final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Posted,
}

fn add(a: i64, b: i64) -> Result<i64, LedgerError> {
    a.checked_add(b).ok_or(LedgerError::Overflow)
}

fn sub(a: i64, b: i64) -> Result<i64, LedgerError> {
    a.checked_sub(b).ok_or(LedgerError::Overflow)
}

/// What a transfer must respect beyond the floors of its accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ceiling {
    /// Nothing more.
    #[default]
    None,
    /// A repayment: the credit side (a pay-later line) may rise to zero,
    /// pending repayments counted, never above: nobody repays more than owed.
    OwedOnly,
}

/// The new totals of (debit, credit) after a transfer, or why it is refused.
/// Pure: the caller persists both or neither.
pub fn apply(
    debit: &Account,
    credit: &Account,
    same_account: bool,
    amount: Amount,
    phase: Phase,
) -> Result<(Totals, Totals), LedgerError> {
    apply_within(debit, credit, same_account, amount, phase, Ceiling::None)
}

/// [`apply`] with a ceiling on the credit side.
pub fn apply_within(
    debit: &Account,
    credit: &Account,
    same_account: bool,
    amount: Amount,
    phase: Phase,
    ceiling: Ceiling,
) -> Result<(Totals, Totals), LedgerError> {
    if same_account {
        return Err(LedgerError::SameAccount);
    }
    if debit.currency != amount.currency() || credit.currency != amount.currency() {
        return Err(LedgerError::CurrencyMismatch);
    }
    let (mut d, mut c) = (debit.totals, credit.totals);
    let minor = amount.minor();
    // A reservation must be postable: posting it later can't overflow either side.
    sub(sub(d.posted, d.debits_pending)?, minor)?;
    add(add(c.posted, c.credits_pending)?, minor)?;
    match phase {
        Phase::Pending => {
            d.debits_pending = add(d.debits_pending, minor)?;
            c.credits_pending = add(c.credits_pending, minor)?;
        }
        Phase::Posted => {
            d.posted = sub(d.posted, minor)?;
            c.posted = add(c.posted, minor)?;
        }
    }
    check_floor(debit.kind, &d)?;
    if ceiling == Ceiling::OwedOnly && add(c.posted, c.credits_pending)? > 0 {
        return Err(LedgerError::RepaysMoreThanOwed);
    }
    Ok((d, c))
}

/// Settles a pending transfer: posted (`post = true`) or voided, exactly once —
/// the caller checks the transfer is still pending.
pub fn settle(debit: &Account, credit: &Account, amount: Amount, post: bool) -> Result<(Totals, Totals), LedgerError> {
    let (mut d, mut c) = (debit.totals, credit.totals);
    let minor = amount.minor();
    d.debits_pending = sub(d.debits_pending, minor)?;
    c.credits_pending = sub(c.credits_pending, minor)?;
    if d.debits_pending < 0 || c.credits_pending < 0 {
        return Err(LedgerError::Overflow);
    }
    if post {
        d.posted = sub(d.posted, minor)?;
        c.posted = add(c.posted, minor)?;
    }
    Ok((d, c))
}

fn check_floor(kind: AccountKind, totals: &Totals) -> Result<(), LedgerError> {
    let Some(floor) = kind.floor_minor() else { return Ok(()) };
    let available = totals.available().ok_or(LedgerError::Overflow)?;
    if available >= floor {
        Ok(())
    } else if matches!(kind, AccountKind::CreditLine { .. }) {
        Err(LedgerError::CreditLimitExceeded)
    } else {
        Err(LedgerError::InsufficientFunds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn account(kind: AccountKind) -> Account {
        Account {
            kind,
            currency: Currency::Cny,
            totals: Totals::default(),
        }
    }

    #[test]
    fn wallets_never_go_negative() {
        let bank = account(AccountKind::BankClearing);
        let mut wallet = account(AccountKind::Wallet);
        let hundred = Amount::new(100, Currency::Cny).expect("positive");
        let (b, w) = apply(&bank, &wallet, false, hundred, Phase::Posted).expect("top-up");
        assert_eq!((b.posted_balance(), w.posted_balance()), (-100, 100));
        wallet.totals = w;
        let other = account(AccountKind::Wallet);
        let too_much = Amount::new(101, Currency::Cny).expect("positive");
        assert_eq!(
            apply(&wallet, &other, false, too_much, Phase::Posted),
            Err(LedgerError::InsufficientFunds)
        );
        assert_eq!(
            apply(&wallet, &wallet, true, hundred, Phase::Posted),
            Err(LedgerError::SameAccount)
        );
    }

    #[test]
    fn a_reservation_must_be_postable() {
        let mut bank = account(AccountKind::BankClearing);
        bank.totals.posted = i64::MIN;
        let wallet = account(AccountKind::Wallet);
        let one = Amount::new(1, Currency::Cny).expect("positive");
        assert_eq!(
            apply(&bank, &wallet, false, one, Phase::Pending),
            Err(LedgerError::Overflow)
        );
        assert_eq!(
            apply(&bank, &wallet, false, one, Phase::Posted),
            Err(LedgerError::Overflow)
        );
    }

    #[test]
    fn credit_lines_stop_at_their_limit() {
        let line = account(AccountKind::CreditLine { limit_minor: 500 });
        let merchant = account(AccountKind::MerchantSettlement);
        assert!(apply(
            &line,
            &merchant,
            false,
            Amount::new(500, Currency::Cny).expect("positive"),
            Phase::Posted
        )
        .is_ok());
        assert_eq!(
            apply(
                &line,
                &merchant,
                false,
                Amount::new(501, Currency::Cny).expect("positive"),
                Phase::Posted
            ),
            Err(LedgerError::CreditLimitExceeded)
        );
    }

    /// Hole 3 of the outside review: totals that were sums of history grew
    /// with every cycle until a shared account overflowed. Nets don't.
    #[test]
    fn money_going_round_leaves_shared_totals_where_they_were() {
        let mut bank = account(AccountKind::BankClearing);
        let mut wallet = account(AccountKind::Wallet);
        let huge = Amount::new(i64::MAX / 2, Currency::Cny).expect("positive");
        for _ in 0..1_000 {
            let (b, w) = apply(&bank, &wallet, false, huge, Phase::Posted).expect("top-up");
            (bank.totals, wallet.totals) = (b, w);
            let (w, b) = apply(&wallet, &bank, false, huge, Phase::Pending).expect("reserve a withdrawal");
            (wallet.totals, bank.totals) = (w, b);
            let (w, b) = settle(&wallet, &bank, huge, true).expect("post it");
            (wallet.totals, bank.totals) = (w, b);
        }
        assert_eq!(bank.totals, Totals::default());
        assert_eq!(wallet.totals, Totals::default());
        assert!(!bank.totals.near_numeric_limit());
        let (b, _) = apply(&bank, &wallet, false, huge, Phase::Posted).expect("a thousand cycles later");
        assert!(b.near_numeric_limit(), "half the range is past the alarm");
        let edge = Totals {
            posted: -NUMERIC_ALARM_MINOR,
            ..Totals::default()
        };
        assert!(!edge.near_numeric_limit());
        assert!(Totals {
            posted: edge.posted - 1,
            ..edge
        }
        .near_numeric_limit());
        assert!(Totals {
            credits_pending: NUMERIC_ALARM_MINOR + 1,
            ..edge
        }
        .near_numeric_limit());
    }

    #[test]
    fn a_repayment_never_takes_a_line_above_zero() {
        let mut wallet = account(AccountKind::Wallet);
        wallet.totals.posted = 10_000;
        let mut line = account(AccountKind::CreditLine { limit_minor: 5_000 });
        line.totals.posted = -3_000;
        let cny = |minor| Amount::new(minor, Currency::Cny).expect("positive");
        assert_eq!(
            apply_within(&wallet, &line, false, cny(3_001), Phase::Posted, Ceiling::OwedOnly),
            Err(LedgerError::RepaysMoreThanOwed)
        );
        let (_, pending) =
            apply_within(&wallet, &line, false, cny(2_000), Phase::Pending, Ceiling::OwedOnly).expect("within");
        line.totals = pending;
        assert_eq!(
            apply_within(&wallet, &line, false, cny(1_001), Phase::Posted, Ceiling::OwedOnly),
            Err(LedgerError::RepaysMoreThanOwed),
            "a pending repayment counts"
        );
        let (_, after) =
            apply_within(&wallet, &line, false, cny(1_000), Phase::Posted, Ceiling::OwedOnly).expect("exactly owed");
        assert_eq!(after.posted + after.credits_pending, 0);
        // Without the ceiling (a refund) the line may hold a credit balance.
        assert!(apply(&wallet, &line, false, cny(1_001), Phase::Posted).is_ok());
        assert_eq!(
            crate::Error::from(LedgerError::RepaysMoreThanOwed),
            crate::Error::RepaymentExceedsOwed
        );
    }

    #[test]
    fn owners_have_one_text_each() {
        for owner in [
            Owner::User(crate::ids::UserId(42)),
            Owner::Connector {
                name: "sandbox".into(),
                shard: Shard::LEGACY,
            },
            Owner::Connector {
                name: "sandbox".into(),
                shard: Shard::pick(3),
            },
            Owner::ChatEscrow(Shard::LEGACY),
            Owner::ChatEscrow(Shard::pick(7)),
            Owner::ChatEscrow(Shard::pick(u64::MAX)),
            Owner::Merchant(crate::ids::MerchantId(9)),
            Owner::House,
        ] {
            assert_eq!(Owner::parse(&owner.to_string()), Some(owner));
        }
        assert_eq!(Owner::House.to_string(), "house");
        assert_eq!(Owner::Merchant(crate::ids::MerchantId(9)).to_string(), "merchant:9");
        assert_eq!(Owner::parse("merchant:09"), None);
        assert_eq!(Owner::parse("merchant:"), None);
        assert_eq!(user_owner(crate::ids::UserId(7)), "user:7");
        assert_eq!(Owner::ChatEscrow(Shard::LEGACY).to_string(), CHAT_ESCROW_OWNER);
        assert_eq!(Owner::ChatEscrow(Shard::pick(0)).to_string(), "escrow:chat:1");
        assert_eq!(Owner::parse("escrow:chat:0"), None, "shard 0 has one spelling");
        assert_eq!(Owner::parse("escrow:chat:01"), None);
        assert_eq!(Owner::parse("escrow:chat:64"), None);
        assert_eq!(Owner::parse("escrow:chat:"), None);
        assert!((0..1000).all(|seed| Shard::pick(seed) != Shard::LEGACY));
        assert_eq!(Owner::parse("connector:"), None);
        let shard = |n| Shard::new(n).expect("a shard");
        let clearing = |name: &str, n| Owner::Connector {
            name: name.into(),
            shard: shard(n),
        };
        assert_eq!(clearing("sandbox", 3).unsharded(), clearing("sandbox", 0).unsharded());
        assert_ne!(clearing("sandbox", 3).unsharded(), clearing("other", 3).unsharded());
        assert_eq!(
            Owner::ChatEscrow(shard(5)).unsharded(),
            Some(Owner::ChatEscrow(Shard::LEGACY))
        );
        assert_eq!(Owner::User(crate::ids::UserId(1)).unsharded(), None);
        assert_eq!(Owner::House.unsharded(), None);
        assert_eq!(Owner::parse("connector::5"), None);
        assert_eq!(Owner::parse("connector:sandbox:0"), None, "shard 0 has one spelling");
        assert_eq!(Owner::parse("connector:sandbox:64"), None);
        assert_eq!(Owner::parse("connector:sandbox:x"), None);
        assert_eq!(
            Owner::parse("connector:sandbox:5"),
            Some(Owner::Connector {
                name: "sandbox".into(),
                shard: Shard::new(5).expect("a shard")
            })
        );
        assert_eq!(Owner::parse("user:x"), None);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Transfer {
            from: usize,
            to: usize,
            minor: i64,
            pending: bool,
        },
        Settle {
            index: usize,
            post: bool,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..5usize, 0..5usize, 1..1_000i64, any::<bool>()).prop_map(|(from, to, minor, pending)| Op::Transfer {
                from,
                to,
                minor,
                pending
            }),
            (0..64usize, any::<bool>()).prop_map(|(index, post)| Op::Settle { index, post }),
        ]
    }

    proptest! {
        /// Any sequence of transfers and settlements, some refused, keeps every
        /// invariant: the currency sums to zero (posted and pending alike), no
        /// account breaks its floor, and a pending transfer settles once.
        #[test]
        fn random_operations_keep_every_invariant(ops in proptest::collection::vec(op(), 1..200)) {
            let kinds = [
                AccountKind::BankClearing,
                AccountKind::Wallet,
                AccountKind::Wallet,
                AccountKind::Escrow,
                AccountKind::CreditLine { limit_minor: 2_000 },
            ];
            let mut accounts: Vec<Account> = kinds.iter().map(|k| account(*k)).collect();
            let mut pending: Vec<Option<(usize, usize, Amount)>> = Vec::new();
            for op in ops {
                match op {
                    Op::Transfer { from, to, minor, pending: is_pending } => {
                        let amount = Amount::new(minor, Currency::Cny).expect("positive");
                        let phase = if is_pending { Phase::Pending } else { Phase::Posted };
                        let before = accounts.clone();
                        match apply(&accounts[from], &accounts[to], from == to, amount, phase) {
                            Ok((d, c)) => {
                                accounts[from].totals = d;
                                accounts[to].totals = c;
                                if is_pending { pending.push(Some((from, to, amount))); }
                            }
                            Err(_) => prop_assert_eq!(&accounts, &before),
                        }
                    }
                    Op::Settle { index, post } => {
                        if let Some(slot) = pending.get_mut(index) {
                            if let Some((from, to, amount)) = slot.take() {
                                let (d, c) = settle(&accounts[from], &accounts[to], amount, post).expect("settles");
                                accounts[from].totals = d;
                                accounts[to].totals = c;
                            }
                        }
                    }
                }
                let posted: i64 = accounts.iter().map(|a| a.totals.posted_balance()).sum();
                let pending_net: i64 = accounts.iter().map(|a| a.totals.credits_pending - a.totals.debits_pending).sum();
                prop_assert_eq!(posted, 0);
                prop_assert_eq!(pending_net, 0);
                for a in &accounts {
                    if let Some(floor) = a.kind.floor_minor() {
                        prop_assert!(a.totals.available().expect("no overflow") >= floor, "{:?}", a);
                    }
                }
            }
        }
    }
}
