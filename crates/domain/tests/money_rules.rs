//! The money rules at their edges, and the names they are stored under.
//! Written against the mutants `cargo mutants` found alive in the domain's
//! money modules (docs/testing.md): each test here fails on one of them.
#![allow(clippy::unwrap_used)]

use qiao_domain::caps::CapKind;
use qiao_domain::card::{Brand, CardNumber, Funding};
use qiao_domain::ids::{IdempotencyKey, PaymentId, TransferId, UserId};
use qiao_domain::journal::{LedgerKey, Purpose};
use qiao_domain::ledger::{self, Account, AccountKind, LedgerError, Phase, Totals, NUMERIC_ALARM_MINOR};
use qiao_domain::money::{Amount, Currency, Money, MoneyError};
use qiao_domain::payment::{self, Facts, PaymentKind, PaymentStatus, Split, MAX_NOTE_CHARS, PAYMENT_TTL_MS};
use qiao_domain::pin::{Pin, PinState};
use qiao_domain::red_packet::{SplitMix, MAX_SHARES};
use qiao_domain::Error;

/// These names are written in databases: changing one breaks every
/// database written before.
#[test]
fn stored_names_never_change() {
    let kinds = [
        (AccountKind::Wallet, "wallet"),
        (AccountKind::CreditLine { limit_minor: 7 }, "credit_line"),
        (AccountKind::Escrow, "escrow"),
        (AccountKind::BankClearing, "bank_clearing"),
        (AccountKind::FeeIncome, "fee_income"),
        (AccountKind::MerchantSettlement, "merchant_settlement"),
        (AccountKind::FxPosition, "fx_position"),
    ];
    for (kind, name) in kinds {
        assert_eq!(kind.name(), name);
        assert_eq!(AccountKind::from_name(name, 7), Some(kind));
    }
    assert_eq!(AccountKind::from_name("vault", 0), None);
    for (currency, code) in [
        (Currency::Cny, "CNY"),
        (Currency::Usd, "USD"),
        (Currency::Hkd, "HKD"),
        (Currency::Eur, "EUR"),
        (Currency::Jpy, "JPY"),
    ] {
        assert_eq!(currency.code(), code);
        assert_eq!(Currency::parse(code), Ok(currency));
    }
    assert_eq!(Currency::parse("usd"), Err(Error::UnknownCurrency));
    for (funding, name) in [(Funding::Debit, "debit"), (Funding::Credit, "credit")] {
        assert_eq!(funding.as_str(), name);
        assert_eq!(Funding::parse(name), Ok(funding));
    }
    for (brand, name) in [
        (Brand::Visa, "visa"),
        (Brand::Mastercard, "mastercard"),
        (Brand::UnionPay, "unionpay"),
        (Brand::Amex, "amex"),
        (Brand::Other, "other"),
    ] {
        assert_eq!(brand.as_str(), name);
    }
    for (kind, name) in [
        (PaymentKind::Transfer, "transfer"),
        (PaymentKind::RedPacket, "red_packet"),
    ] {
        assert_eq!(kind.as_str(), name);
        assert_eq!(PaymentKind::parse(name), Some(kind));
    }
    assert_eq!(PaymentKind::parse("gift"), None);
    for (split, name) in [(Split::Identical, "identical"), (Split::Lucky, "lucky")] {
        assert_eq!(split.as_str(), name);
        assert_eq!(Split::parse(name), Ok(split));
    }
    let statuses = [
        (PaymentStatus::Pending, "pending", true),
        (PaymentStatus::Accepted, "accepted", false),
        (PaymentStatus::Declined, "declined", false),
        (PaymentStatus::Open, "open", true),
        (PaymentStatus::Finished, "finished", false),
        (PaymentStatus::Refunded, "refunded", false),
    ];
    for (status, name, live) in statuses {
        assert_eq!(status.as_str(), name);
        assert_eq!(PaymentStatus::parse(name), Some(status));
        assert_eq!(status.is_live(), live, "{name}");
    }
    assert_eq!(PaymentStatus::parse("lost"), None);
    let purposes = [
        (Purpose::TopUp, "top_up"),
        (Purpose::Withdrawal, "withdrawal"),
        (Purpose::Repayment, "repayment"),
        (Purpose::Transfer, "transfer"),
        (Purpose::RedPacket, "red_packet"),
        (Purpose::Refund, "refund"),
        (Purpose::Settlement, "settlement"),
    ];
    for (purpose, name) in purposes {
        assert_eq!(purpose.as_str(), name);
    }
}

#[test]
fn constants_are_what_they_say() {
    assert_eq!(PAYMENT_TTL_MS, 86_400_000, "24 hours");
    assert_eq!(NUMERIC_ALARM_MINOR, 9_007_199_254_740_991, "i64::MAX / 1024");
}

#[test]
fn secrets_are_kept_exactly() {
    let card = CardNumber::parse("4242 4242-4242 4242").unwrap();
    assert_eq!(card.expose(), "4242424242424242");
    assert_eq!(Pin::parse("012345").unwrap().as_str(), "012345");
}

#[test]
fn only_bank_movements_count_in_daily_caps() {
    let client = IdempotencyKey::parse("k").unwrap();
    let user = UserId(9);
    assert_eq!(
        LedgerKey::TopUp {
            user,
            client: client.clone()
        }
        .daily_cap(),
        Some((user, CapKind::TopUp))
    );
    assert_eq!(
        LedgerKey::Withdrawal {
            user,
            client: client.clone()
        }
        .daily_cap(),
        Some((user, CapKind::Withdrawal))
    );
    for key in [
        LedgerKey::Repayment {
            user,
            client: client.clone(),
        },
        LedgerKey::ChatSend { user, client },
        LedgerKey::Settle {
            pending: TransferId(1),
            post: false,
        },
        LedgerKey::Accept { payment: PaymentId(1) },
    ] {
        assert_eq!(key.daily_cap(), None, "{key}");
    }
}

fn account(kind: AccountKind, currency: Currency, totals: Totals) -> Account {
    Account { kind, currency, totals }
}

#[test]
fn either_side_in_another_currency_is_refused() {
    let usd = |minor| Amount::new(minor, Currency::Usd).unwrap();
    let bank = account(AccountKind::BankClearing, Currency::Usd, Totals::default());
    let cny_wallet = account(AccountKind::Wallet, Currency::Cny, Totals::default());
    assert_eq!(
        ledger::apply(&bank, &cny_wallet, false, usd(1), Phase::Posted),
        Err(LedgerError::CurrencyMismatch),
        "credit side only"
    );
    assert_eq!(
        ledger::apply(&cny_wallet, &bank, false, usd(1), Phase::Posted),
        Err(LedgerError::CurrencyMismatch),
        "debit side only"
    );
}

#[test]
fn settling_more_than_either_side_reserved_is_refused() {
    let cny = Amount::new(10, Currency::Cny).unwrap();
    let reserved = Totals {
        debits_pending: 10,
        ..Totals::default()
    };
    let debit = account(AccountKind::Wallet, Currency::Cny, Totals { posted: 10, ..reserved });
    let credit_without = account(AccountKind::Wallet, Currency::Cny, Totals::default());
    assert_eq!(
        ledger::settle(&debit, &credit_without, cny, true),
        Err(LedgerError::Overflow)
    );
    let credit = account(
        AccountKind::Wallet,
        Currency::Cny,
        Totals {
            credits_pending: 10,
            ..Totals::default()
        },
    );
    let debit_without = account(AccountKind::Wallet, Currency::Cny, Totals::default());
    assert_eq!(
        ledger::settle(&debit_without, &credit, cny, true),
        Err(LedgerError::Overflow)
    );
    assert!(ledger::settle(&debit, &credit, cny, false).is_ok());
}

#[test]
fn money_arithmetic_and_text_at_their_edges() {
    let usd = Money::zero(Currency::Usd);
    let cny = Money::zero(Currency::Cny);
    assert_eq!(usd.checked_sub(cny), Err(MoneyError::CurrencyMismatch));
    assert_eq!(
        Money {
            minor: 5,
            currency: Currency::Usd
        }
        .checked_sub(Money {
            minor: 7,
            currency: Currency::Usd
        }),
        Ok(Money {
            minor: -2,
            currency: Currency::Usd
        })
    );
    assert_eq!(usd.to_decimal(), "0.00");
    assert_eq!(
        Money {
            minor: -1,
            currency: Currency::Usd
        }
        .to_decimal(),
        "-0.01"
    );
    assert_eq!(
        Money {
            minor: 0,
            currency: Currency::Jpy
        }
        .to_decimal(),
        "0"
    );
}

#[test]
fn payment_limits_at_their_edges() {
    let mut random = SplitMix(3);
    assert_eq!(
        payment::note(&"字".repeat(MAX_NOTE_CHARS)).map(|n| n.chars().count()),
        Ok(MAX_NOTE_CHARS)
    );
    // Counts: at most the packet limit and the group's size; never zero.
    let max = MAX_SHARES as usize;
    assert!(payment::shares(Split::Identical, 1, MAX_SHARES, max, false, &mut random).is_ok());
    assert_eq!(
        payment::shares(Split::Identical, 1, MAX_SHARES + 1, max + 1, false, &mut random),
        Err(Error::InvalidRequest)
    );
    assert!(
        payment::shares(Split::Identical, 1, 3, 3, false, &mut random).is_ok(),
        "as many as members"
    );
    assert_eq!(
        payment::shares(Split::Identical, 1, 4, 3, false, &mut random),
        Err(Error::InvalidRequest)
    );
    assert_eq!(
        payment::shares(Split::Identical, 1, 0, 3, false, &mut random),
        Err(Error::InvalidRequest)
    );
    // A lucky packet needs at least one minor unit per share; exactly that is fine.
    assert_eq!(
        payment::shares(Split::Lucky, 3, 3, 3, false, &mut random),
        Ok(vec![1, 1, 1])
    );
    assert_eq!(payment::red_packet_total(Split::Lucky, 10, MAX_SHARES), Ok(10));
    assert_eq!(payment::red_packet_total(Split::Identical, 2, MAX_SHARES), Ok(1_000));
    assert_eq!(
        payment::red_packet_total(Split::Lucky, 10, MAX_SHARES + 1),
        Err(Error::InvalidRequest)
    );
    let refunded = Facts {
        kind: PaymentKind::RedPacket,
        status: PaymentStatus::Refunded,
        sender: UserId(1),
        recipient: None,
        direct: false,
        expires_at_ms: 100,
    };
    assert_eq!(
        payment::may_open(&refunded, UserId(2), false, 0),
        Err(Error::PaymentExpired)
    );
}

#[test]
fn a_lock_ends_at_its_instant() {
    let locked = PinState {
        wrong_tries: 0,
        locked_until_ms: Some(61_000),
    };
    // At the instant the lock ends a wrong try is the first of a new count.
    assert_eq!(locked.after_try(false, 61_000, 60_000).wrong_tries, 1);
    // Before it ends, tries are not counted from scratch.
    let during = PinState {
        wrong_tries: 3,
        locked_until_ms: Some(61_000),
    };
    assert_eq!(during.after_try(false, 60_999, 60_000).wrong_tries, 4);
}
