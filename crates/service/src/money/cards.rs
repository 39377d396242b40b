//! Binding cards: as the region allows (CN: debit; US: debit and credit, by
//! default), confirmed with the PIN or the password, tokenized by the bank
//! connector. A credit card opens the pay-later line.

use qiao_api as api;
use qiao_domain::card::{CardNumber, Funding};
use qiao_domain::ids::{CardId, UserId};
use qiao_domain::ledger::{AccountKind, Owner};
use qiao_domain::Error as Rule;
use qiao_store::CardRecord;

use super::pin::Proof;
use super::Money;
use crate::Result;

pub fn card_view(card: &CardRecord) -> api::Card {
    api::Card {
        id: card.id.0,
        last4: card.last4.clone(),
        brand: card.brand.clone(),
        funding: card.funding.as_str().to_owned(),
        created_at_ms: card.created_at_ms,
    }
}

impl Money {
    /// Binds a card. Bad input and the region's policy are checked before
    /// the proof, so they cost no PIN try; the proof before the bank.
    pub async fn bind_card(&self, user: UserId, number: &str, funding: &str, proof: Proof) -> Result<api::Card> {
        let number = CardNumber::parse(number)?;
        let funding = Funding::parse(funding)?;
        let region = self.region(user).await?;
        if !self.policy.funding_allowed(region, funding) {
            return Err(Rule::FundingNotAllowed.into());
        }
        self.step_up(user, &proof).await?;
        let token = self.bank.tokenize(&number, funding).await.map_err(Rule::from)?;
        let now = self.now_ms();
        let card = self
            .store
            .add_card(CardRecord {
                id: CardId(0),
                user_id: user,
                connector: self.bank.name().to_owned(),
                token: token.token,
                last4: token.last4,
                brand: token.brand.to_owned(),
                funding,
                created_at_ms: now,
                fingerprint: Some(token.fingerprint),
            })
            .await?;
        if funding == Funding::Credit {
            // A credit card opens the pay-later line (once; later cards keep it).
            let currency = region.currency();
            let limit_minor = self.policy.pay_later_limit_minor.get(&currency).copied().unwrap_or(0);
            self.store
                .ledger_account(
                    AccountKind::CreditLine { limit_minor },
                    &Owner::User(user),
                    currency,
                    now,
                )
                .await?;
        }
        tracing::info!(
            user = user.0,
            card = card.id.0,
            funding = funding.as_str(),
            "card bound"
        );
        Ok(card_view(&card))
    }

    pub async fn cards(&self, user: UserId) -> Result<Vec<api::Card>> {
        Ok(self.store.cards(user).await?.iter().map(card_view).collect())
    }

    /// One of the user's cards; someone else's is `NotFound`, like none.
    pub async fn card(&self, user: UserId, id: CardId) -> Result<api::Card> {
        Ok(card_view(&self.store.card(user, id).await?))
    }

    /// One of the user's debit cards, for moving stored value.
    pub(super) async fn debit_card(&self, user: UserId, id: CardId) -> Result<CardRecord> {
        let card = self.store.card(user, id).await?;
        if card.funding != Funding::Debit {
            // Credit cards are for paying later, not for loading or unloading stored value.
            return Err(Rule::CreditCardNotForStoredValue.into());
        }
        Ok(card)
    }
}
