//! The payment PIN and step-up: the gate every money-out request passes, the
//! proof risky changes need (binding a card, raising the no-PIN limit,
//! changing the PIN: the PIN or the password), and the reset that lifts a
//! lock when the owner proves who they are (password plus a bound card's
//! number), as WeChat lets its users do.

use qiao_api as api;
use qiao_domain::card::CardNumber;
use qiao_domain::ids::UserId;
use qiao_domain::money::Amount;
use qiao_domain::pin::{self, Pin};
use qiao_domain::Error as Rule;
use qiao_store::PinRecord;

use super::Money;
use crate::Result;

/// What a risky change is confirmed with.
#[derive(Debug, Clone)]
pub enum Proof {
    Pin(Pin),
    Password(String),
}

impl Proof {
    /// From a request's optional fields: the PIN wins when both are given;
    /// neither is `StepUpRequired`.
    pub fn from_fields(pin: Option<&str>, password: Option<&str>) -> Result<Self> {
        match (pin.filter(|p| !p.is_empty()), password.filter(|p| !p.is_empty())) {
            (Some(pin), _) => Ok(Proof::Pin(Pin::parse(pin)?)),
            (None, Some(password)) => Ok(Proof::Password(password.to_owned())),
            (None, None) => Err(Rule::StepUpRequired.into()),
        }
    }

    /// Like [`Proof::from_fields`], for changes that need no proof at all sometimes.
    pub fn optional(pin: Option<&str>, password: Option<&str>) -> Result<Option<Self>> {
        match Self::from_fields(pin, password) {
            Ok(proof) => Ok(Some(proof)),
            Err(crate::Error::Rejected(Rule::StepUpRequired)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

pub fn status(record: Option<&PinRecord>, now_ms: i64) -> api::PinStatus {
    api::PinStatus {
        set: record.is_some(),
        locked_until_ms: record
            .and_then(|r| r.state.locked_until_ms)
            .filter(|until| *until > now_ms),
        no_pin_limit_minor: record.map_or(0, |r| r.no_pin_limit_minor),
    }
}

impl Money {
    /// Checks `pin` against the user's PIN and counts the try. The fifth wrong
    /// try in a row answers `PinLocked`, as does every try while locked.
    async fn verify_pin(&self, user: UserId, record: &PinRecord, pin: &Pin) -> Result<()> {
        self.count_secret_try(user)?;
        let now = self.now_ms();
        record.state.may_try(now)?;
        let right = self
            .secrets
            .verify(pin.as_str().to_owned(), record.pin_hash.clone())
            .await;
        // Counted in the writer, so concurrent guesses are all counted.
        let after = self
            .store
            .record_pin_try(user, right, now, self.policy.pin_lock_ms)
            .await?;
        if right {
            Ok(())
        } else if after.state.may_try(now).is_err() {
            tracing::warn!(
                user = user.0,
                until_ms = after.state.locked_until_ms,
                "payment PIN locked after wrong tries"
            );
            Err(Rule::PinLocked.into())
        } else {
            tracing::info!(
                user = user.0,
                wrong_tries = after.state.wrong_tries,
                "wrong payment PIN"
            );
            Err(Rule::WrongPin.into())
        }
    }

    /// Checks the account password for a step-up; tries are rate-limited.
    async fn verify_password(&self, user: UserId, password: &str, wrong: Rule) -> Result<()> {
        self.count_secret_try(user)?;
        let record = self.store.user(user).await?;
        if self.secrets.verify(password.to_owned(), record.password_hash).await {
            Ok(())
        } else {
            tracing::warn!(user = user.0, "wrong password in a step-up");
            Err(wrong.into())
        }
    }

    /// Proves the caller is the account's owner for a risky change.
    pub(super) async fn step_up(&self, user: UserId, proof: &Proof) -> Result<()> {
        match proof {
            Proof::Pin(pin) => {
                let record = self.store.pin(user).await?.ok_or(Rule::PinNotSet)?;
                self.verify_pin(user, &record, pin).await
            }
            Proof::Password(password) => self.verify_password(user, password, Rule::WrongPassword).await,
        }
    }

    /// What every request that moves money out of a wallet must pass: a PIN
    /// is set, not locked, and given and right unless the amount is within
    /// the user's no-PIN limit.
    pub(super) async fn authorize(&self, user: UserId, given: Option<&str>, amount: Amount) -> Result<()> {
        let record = self.store.pin(user).await?.ok_or(Rule::PinNotSet)?;
        record.state.may_try(self.now_ms())?;
        if !pin::needs_pin(amount.minor(), record.no_pin_limit_minor) {
            return Ok(());
        }
        let pin = Pin::parse(given.ok_or(Rule::PinRequired)?)?;
        self.verify_pin(user, &record, &pin).await
    }

    /// The PIN's state as the wallet shows it.
    pub async fn pin_status(&self, user: UserId) -> Result<api::PinStatus> {
        let record = self.store.pin(user).await?;
        Ok(status(record.as_ref(), self.now_ms()))
    }

    /// Sets the first PIN (with the password) or changes it (with the current
    /// PIN or the password). A running lock stops a change: see [`Money::reset_pin`].
    pub async fn set_pin(&self, user: UserId, new_pin: &str, proof: Option<Proof>) -> Result<api::PinStatus> {
        let new_pin = Pin::parse(new_pin)?;
        let current = self.store.pin(user).await?;
        if let Some(current) = &current {
            current.state.may_try(self.now_ms())?;
        }
        match (&current, proof) {
            (_, None) => return Err(Rule::StepUpRequired.into()),
            // The first PIN can't be proven with a PIN.
            (None, Some(Proof::Pin(_))) => return Err(Rule::PinNotSet.into()),
            (_, Some(proof)) => self.step_up(user, &proof).await?,
        }
        let hash = self.secrets.hash(new_pin.as_str().to_owned()).await?;
        let now = self.now_ms();
        let record = self.store.set_pin(user, &hash, false, now).await?;
        Ok(status(Some(&record), now))
    }

    /// Resets the PIN, lifting a lock, when the owner proves who they are
    /// with the account password and the number of a card they bound. Either
    /// part wrong is the same answer, so neither can be guessed alone.
    pub async fn reset_pin(
        &self,
        user: UserId,
        password: &str,
        card_number: &str,
        new_pin: &str,
    ) -> Result<api::PinStatus> {
        let new_pin = Pin::parse(new_pin)?;
        let number = CardNumber::parse(card_number).map_err(|_| Rule::ResetProofRejected)?;
        self.verify_password(user, password, Rule::ResetProofRejected).await?;
        let fingerprint = self.bank.fingerprint(&number).await.map_err(Rule::from)?;
        let cards = self.store.cards(user).await?;
        let bound = cards.iter().any(|card| match &card.fingerprint {
            Some(known) => *known == fingerprint,
            // Cards bound before fingerprints: the last four and the brand must match.
            None => card.last4 == number.last4() && card.brand == number.brand().as_str(),
        });
        if !bound {
            tracing::warn!(user = user.0, "PIN reset with a card that is not bound");
            return Err(Rule::ResetProofRejected.into());
        }
        let hash = self.secrets.hash(new_pin.as_str().to_owned()).await?;
        let now = self.now_ms();
        let record = self.store.set_pin(user, &hash, true, now).await?;
        tracing::info!(user = user.0, "payment PIN reset with identity proof");
        Ok(status(Some(&record), now))
    }

    /// Sets the small-amount no-PIN limit. Raising it needs the PIN or the
    /// password; lowering it never does.
    pub async fn set_no_pin_limit(
        &self,
        user: UserId,
        limit_minor: i64,
        proof: Option<Proof>,
    ) -> Result<api::PinStatus> {
        let limit = pin::no_pin_limit(limit_minor)?;
        let current = self.store.pin(user).await?.ok_or(Rule::PinNotSet)?;
        if limit > current.no_pin_limit_minor {
            self.step_up(user, &proof.ok_or(Rule::StepUpRequired)?).await?;
        }
        let record = self.store.set_no_pin_limit(user, limit).await?;
        Ok(status(Some(&record), self.now_ms()))
    }
}
