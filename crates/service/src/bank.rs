//! Banks and card networks are outside Qiao: it reaches them through a
//! [`BankConnector`]. The built-in [`SandboxBank`] (the default) behaves like
//! a payment provider's test mode: documented test card numbers succeed,
//! decline, fail for insufficient funds or time out. Real connectors plug in
//! behind the same trait.
//!
//! Sandbox test cards (any expiry, any holder):
//!
//! | number | behaviour |
//! |---|---|
//! | 4242 4242 4242 4242 (Visa) | succeeds |
//! | 5555 5555 5555 4444 (Mastercard) | succeeds |
//! | 6212 3456 7890 1265 (UnionPay) | succeeds |
//! | 4000 0000 0000 0002 | declined |
//! | 4000 0000 0000 9995 | insufficient funds |
//! | 4000 0000 0000 0119 | the bank times out |
//! | 4000 0000 0000 0077 | succeeds, slowly ([`SLOW_ANSWER`] later) |
//!
//! Any other valid number is declined: the sandbox knows only its test cards.

use std::collections::HashMap;

use parking_lot::Mutex;
use qiao_domain::card::{CardNumber, Funding};
use qiao_domain::money::Amount;
use qiao_domain::Error;

/// What Qiao keeps of a bound card: never the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardToken {
    /// The connector's reference for charging and paying out later.
    pub token: String,
    pub last4: String,
    pub brand: &'static str,
    pub funding: Funding,
    /// The same for the same number, different for different ones, and no
    /// way back to the number (like a payment provider's card fingerprint):
    /// how a PIN reset checks "a card you bound" without Qiao keeping numbers.
    pub fingerprint: String,
}

/// The bank's acknowledgement of a charge or payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankReceipt {
    pub reference: String,
    pub amount_minor: i64,
    pub currency: &'static str,
}

/// Why the bank said no, or did not say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    #[error("declined")]
    Declined,
    #[error("insufficient funds")]
    InsufficientFunds,
    /// No answer in time: the outcome is unknown to Qiao, which must void its
    /// pending transfer (or retry with the same key) — never post it.
    #[error("timed out")]
    Timeout,
}

impl From<BankError> for Error {
    fn from(e: BankError) -> Self {
        match e {
            BankError::Declined => Error::CardDeclined,
            BankError::InsufficientFunds => Error::InsufficientFunds,
            BankError::Timeout => Error::BankTimeout,
        }
    }
}

/// A bank or card network, as Qiao needs it.
#[async_trait::async_trait]
pub trait BankConnector: Send + Sync + 'static {
    /// The connector's name, part of its ledger clearing account.
    fn name(&self) -> &'static str;
    /// Exchanges a card number for a token to charge or pay out to later.
    async fn tokenize(&self, card: &CardNumber, funding: Funding) -> Result<CardToken, BankError>;
    /// The card's fingerprint (see [`CardToken::fingerprint`]), without binding it.
    async fn fingerprint(&self, card: &CardNumber) -> Result<String, BankError>;
    /// Pulls `amount` from the card into Qiao. Idempotent by `key`.
    async fn charge(&self, token: &str, amount: Amount, key: &str) -> Result<BankReceipt, BankError>;
    /// Pushes `amount` from Qiao to the card. Idempotent by `key`.
    async fn payout(&self, token: &str, amount: Amount, key: &str) -> Result<BankReceipt, BankError>;
}

/// How long the sandbox's slow card takes to answer: long enough for a test
/// to crash the server while the bank still has the request.
pub const SLOW_ANSWER: std::time::Duration = std::time::Duration::from_secs(5);

/// How a sandbox card behaves, written into its token so that it survives restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Succeeds,
    Declines,
    InsufficientFunds,
    TimesOut,
    Slow,
}

impl Behaviour {
    fn of(card: &CardNumber) -> Self {
        match card.expose() {
            "4242424242424242" | "5555555555554444" | "6212345678901265" => Behaviour::Succeeds,
            "4000000000009995" => Behaviour::InsufficientFunds,
            "4000000000000119" => Behaviour::TimesOut,
            "4000000000000077" => Behaviour::Slow,
            _ => Behaviour::Declines,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Behaviour::Succeeds => "ok",
            Behaviour::Declines => "decline",
            Behaviour::InsufficientFunds => "nsf",
            Behaviour::TimesOut => "timeout",
            Behaviour::Slow => "slow",
        }
    }

    fn from_token(token: &str) -> Option<Self> {
        let code = token.strip_prefix("sbx_")?.split('_').next()?;
        [
            Behaviour::Succeeds,
            Behaviour::Declines,
            Behaviour::InsufficientFunds,
            Behaviour::TimesOut,
            Behaviour::Slow,
        ]
        .into_iter()
        .find(|b| b.code() == code)
    }

    fn outcome(self) -> Result<(), BankError> {
        match self {
            Behaviour::Succeeds | Behaviour::Slow => Ok(()),
            Behaviour::Declines => Err(BankError::Declined),
            Behaviour::InsufficientFunds => Err(BankError::InsufficientFunds),
            Behaviour::TimesOut => Err(BankError::Timeout),
        }
    }
}

/// The slow card's bank takes its time.
async fn slow_down(token: &str) {
    if Behaviour::from_token(token) == Some(Behaviour::Slow) {
        tokio::time::sleep(SLOW_ANSWER).await;
    }
}

fn sandbox_fingerprint(card: &CardNumber) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(
        format!("qiao-sandbox-card:{}", card.expose()).as_bytes(),
    ))
}

/// The built-in test bank.
#[derive(Default)]
pub struct SandboxBank {
    /// Answers already given, by idempotency key (kept in memory: it is a sandbox).
    answered: Mutex<HashMap<String, Result<BankReceipt, BankError>>>,
}

impl SandboxBank {
    fn move_money(&self, token: &str, amount: Amount, key: &str, verb: &str) -> Result<BankReceipt, BankError> {
        let mut answered = self.answered.lock();
        if let Some(first) = answered.get(key) {
            return first.clone();
        }
        let outcome = Behaviour::from_token(token)
            .ok_or(BankError::Declined)
            .and_then(Behaviour::outcome)
            .map(|()| BankReceipt {
                reference: format!("sbx_{verb}_{key}"),
                amount_minor: amount.minor(),
                currency: amount.currency().code(),
            });
        // A timeout is not an answer: a retry with the same key asks again.
        if outcome != Err(BankError::Timeout) {
            answered.insert(key.to_owned(), outcome.clone());
        }
        outcome
    }
}

#[async_trait::async_trait]
impl BankConnector for SandboxBank {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn tokenize(&self, card: &CardNumber, funding: Funding) -> Result<CardToken, BankError> {
        let behaviour = Behaviour::of(card);
        if behaviour == Behaviour::Declines {
            return Err(BankError::Declined);
        }
        Ok(CardToken {
            token: format!(
                "sbx_{}_{}_{:016x}",
                behaviour.code(),
                card.last4(),
                rand::random::<u64>()
            ),
            last4: card.last4().to_owned(),
            brand: card.brand().as_str(),
            funding,
            fingerprint: sandbox_fingerprint(card),
        })
    }

    async fn fingerprint(&self, card: &CardNumber) -> Result<String, BankError> {
        Ok(sandbox_fingerprint(card))
    }

    async fn charge(&self, token: &str, amount: Amount, key: &str) -> Result<BankReceipt, BankError> {
        slow_down(token).await;
        self.move_money(token, amount, key, "charge")
    }

    async fn payout(&self, token: &str, amount: Amount, key: &str) -> Result<BankReceipt, BankError> {
        slow_down(token).await;
        self.move_money(token, amount, key, "payout")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qiao_domain::money::Currency;

    fn card(number: &str) -> CardNumber {
        CardNumber::parse(number).expect("a valid test card")
    }

    fn cny(minor: i64) -> Amount {
        Amount::new(minor, Currency::Cny).expect("positive")
    }

    #[tokio::test]
    async fn test_cards_behave_as_documented() {
        let bank = SandboxBank::default();
        let good = bank
            .tokenize(&card("6212 3456 7890 1265"), Funding::Debit)
            .await
            .expect("binds");
        assert_eq!((good.last4.as_str(), good.brand), ("1265", "unionpay"));
        assert!(
            !good.token.contains("6212345678901265"),
            "the token does not carry the number"
        );
        assert_eq!(
            bank.fingerprint(&card("6212-3456-7890-1265")).await,
            Ok(good.fingerprint.clone()),
            "the fingerprint is stable"
        );
        assert_ne!(
            bank.fingerprint(&card("4242424242424242")).await,
            Ok(good.fingerprint.clone())
        );
        assert!(!good.fingerprint.contains("6212345678901265"));
        assert_eq!(
            bank.charge(&good.token, cny(500), "c1").await.map(|r| r.amount_minor),
            Ok(500)
        );
        assert!(bank.payout(&good.token, cny(200), "p1").await.is_ok());

        assert_eq!(
            bank.tokenize(&card("4000000000000002"), Funding::Debit).await,
            Err(BankError::Declined)
        );
        let poor = bank
            .tokenize(&card("4000000000009995"), Funding::Debit)
            .await
            .expect("binds");
        assert_eq!(
            bank.charge(&poor.token, cny(1), "c2").await,
            Err(BankError::InsufficientFunds)
        );
        let slow = bank
            .tokenize(&card("4000000000000119"), Funding::Credit)
            .await
            .expect("binds");
        assert_eq!(bank.charge(&slow.token, cny(1), "c3").await, Err(BankError::Timeout));
        assert_eq!(
            bank.tokenize(&card("4111111111111111"), Funding::Debit).await,
            Err(BankError::Declined)
        );
        assert_eq!(
            bank.charge("not-a-sandbox-token", cny(1), "c4").await,
            Err(BankError::Declined)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_slow_card_answers_after_its_delay() {
        let bank = SandboxBank::default();
        let slow = bank
            .tokenize(&card("4000 0000 0000 0077"), Funding::Debit)
            .await
            .expect("binds");
        let started = tokio::time::Instant::now();
        assert!(bank.charge(&slow.token, cny(100), "slow").await.is_ok());
        assert!(started.elapsed() >= SLOW_ANSWER);
    }

    #[tokio::test]
    async fn answers_are_idempotent_by_key_and_timeouts_may_be_retried() {
        let bank = SandboxBank::default();
        let good = bank
            .tokenize(&card("4242424242424242"), Funding::Debit)
            .await
            .expect("binds");
        let first = bank.charge(&good.token, cny(700), "same").await;
        assert_eq!(bank.charge(&good.token, cny(700), "same").await, first);
        let slow = bank
            .tokenize(&card("4000000000000119"), Funding::Debit)
            .await
            .expect("binds");
        assert_eq!(bank.charge(&slow.token, cny(1), "retry").await, Err(BankError::Timeout));
        assert!(
            !bank.answered.lock().contains_key("retry"),
            "a timeout is not remembered as an answer"
        );
    }

    #[test]
    fn bank_errors_have_stable_codes() {
        assert_eq!(Error::from(BankError::Declined).code(), "card_declined");
        assert_eq!(Error::from(BankError::InsufficientFunds).code(), "insufficient_funds");
        assert_eq!(Error::from(BankError::Timeout).code(), "bank_timeout");
    }
}
