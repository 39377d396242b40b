//! Money across the bank boundary: top-ups, withdrawals, repayment by card.
//!
//! A movement never stops half-way. Qiao first reserves it as a pending
//! transfer (where its floor, ceiling and daily cap are checked), then asks
//! the bank with the same key, then posts the transfer (the bank moved the
//! money) or voids it (the bank said no or did not answer; the sandbox never
//! moves money on a timeout). The key runs through all three steps, so a
//! retry after a crash at any point finishes the same movement. And if no
//! retry ever comes, [`Money::settle_abandoned`] finishes it: it asks the
//! bank with the same key and posts or voids, by itself.

use qiao_api as api;
use qiao_domain::caps::CapKind;
use qiao_domain::ids::{CardId, IdempotencyKey, UserId};
use qiao_domain::journal::{LedgerKey, Memo};
use qiao_domain::ledger::Ceiling;
use qiao_domain::money::Amount;
use qiao_domain::Error as Rule;
use qiao_store::{CapCheck, CardRecord, LedgerAccountId, NewTransfer, TransferPhase, TransferRecord};

use super::Money;
use crate::bank::BankError;
use crate::Result;

/// Which way money crosses to the bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The bank pays Qiao (top-up, repayment by card).
    Charge,
    /// Qiao pays the bank (withdrawal).
    Payout,
}

/// One movement across the bank boundary.
pub(super) struct BankMovement<'a> {
    pub card: &'a CardRecord,
    pub key: LedgerKey,
    pub amount: Amount,
    pub debit: LedgerAccountId,
    pub credit: LedgerAccountId,
    pub direction: Direction,
    pub memo: Memo,
    pub ceiling: Ceiling,
    pub cap: Option<CapCheck>,
}

/// A top-up or withdrawal as the client asks for it.
#[derive(Debug, Clone)]
pub struct CardMove {
    pub card: CardId,
    pub amount_minor: i64,
    pub key: IdempotencyKey,
    /// A withdrawal from a foreign balance; `None` is the wallet's own
    /// currency (always, for a top-up).
    pub currency: Option<qiao_domain::money::Currency>,
}

impl Money {
    /// Loads the wallet from one of the user's debit cards.
    pub async fn top_up(&self, user: UserId, request: CardMove) -> Result<api::TopUp> {
        let (amount, balance_minor) = self.card_move(user, request.clone(), None, Direction::Charge).await?;
        Ok(api::TopUp {
            idempotency_key: request.key.as_str().to_owned(),
            amount_minor: amount.minor(),
            currency: amount.currency().code().to_owned(),
            status: "posted".to_owned(),
            balance_minor,
        })
    }

    /// Sends stored value back to one of the user's debit cards (PIN required).
    pub async fn withdraw(&self, user: UserId, request: CardMove, pin: Option<&str>) -> Result<api::Withdrawal> {
        let (amount, balance_minor) = self.card_move(user, request.clone(), pin, Direction::Payout).await?;
        Ok(api::Withdrawal {
            idempotency_key: request.key.as_str().to_owned(),
            amount_minor: amount.minor(),
            currency: amount.currency().code().to_owned(),
            status: "posted".to_owned(),
            balance_minor,
        })
    }

    /// Stored value to or from a debit card; returns the amount and the
    /// wallet's balance after.
    async fn card_move(
        &self,
        user: UserId,
        request: CardMove,
        pin: Option<&str>,
        direction: Direction,
    ) -> Result<(Amount, i64)> {
        let card = self.debit_card(user, request.card).await?;
        let own = self.region(user).await?.currency();
        let currency = match (direction, request.currency) {
            (Direction::Payout, Some(currency)) => currency,
            (Direction::Charge, Some(currency)) if currency != own => return Err(Rule::CurrencyMismatch.into()),
            _ => own,
        };
        let amount = Amount::new(request.amount_minor, currency)?;
        let (kind, key, memo) = match direction {
            Direction::Charge => (
                CapKind::TopUp,
                LedgerKey::TopUp {
                    user,
                    client: request.key,
                },
                Memo::TopUp { card: card.id },
            ),
            Direction::Payout => (
                CapKind::Withdrawal,
                LedgerKey::Withdrawal {
                    user,
                    client: request.key,
                },
                Memo::Withdrawal { card: card.id },
            ),
        };
        let cap = self.policy.cap_for(kind, amount)?;
        if direction == Direction::Payout {
            self.authorize(user, pin, amount).await?;
        }
        let wallet = self.wallet_account(user, amount.currency()).await?;
        let clearing = self.clearing_account(&card.connector, amount.currency()).await?;
        let (debit, credit) = match direction {
            Direction::Charge => (clearing.id, wallet.id),
            Direction::Payout => (wallet.id, clearing.id),
        };
        self.through_bank(BankMovement {
            card: &card,
            key,
            amount,
            debit,
            credit,
            direction,
            memo,
            ceiling: Ceiling::None,
            cap: Some(CapCheck { user, cap }),
        })
        .await?;
        let balance = self.store.ledger_account_by_id(wallet.id).await?.account.totals;
        Ok((amount, balance.posted_balance()))
    }

    /// Runs a movement to the end: reserve, ask the bank, post or void.
    /// `Err` with the bank's answer if it was voided (on every retry too).
    pub(super) async fn through_bank(&self, m: BankMovement<'_>) -> Result<()> {
        let reserve = NewTransfer {
            key: m.key.clone(),
            debit: m.debit,
            credit: m.credit,
            amount: m.amount,
            pending: true,
            memo: m.memo,
            ceiling: m.ceiling,
            cap: m.cap,
        };
        self.store.transfer(reserve, self.now_ms()).await?;
        let settled = match self.store.settlement_of(&m.key).await? {
            Some(done) => done,
            None => self.ask_bank_and_settle(m.card, &m.key, m.amount, m.direction).await?,
        };
        voided_reason(&settled).map_or(Ok(()), |reason| Err(reason.into()))
    }

    /// Asks the bank with the movement's key, then posts or voids it.
    async fn ask_bank_and_settle(
        &self,
        card: &CardRecord,
        key: &LedgerKey,
        amount: Amount,
        direction: Direction,
    ) -> Result<TransferRecord> {
        let bank_key = key.to_string();
        let call = async {
            match direction {
                Direction::Charge => self.bank.charge(&card.token, amount, &bank_key).await,
                Direction::Payout => self.bank.payout(&card.token, amount, &bank_key).await,
            }
        };
        // A bank that does not answer in time has not moved the money for
        // Qiao: the reservation is voided, and a retry asks again.
        let answer = tokio::time::timeout(self.policy.bank_timeout, call)
            .await
            .unwrap_or(Err(BankError::Timeout));
        let (post, memo) = match answer {
            Ok(receipt) => (
                true,
                Memo::BankPosted {
                    reference: receipt.reference,
                },
            ),
            Err(e) => (
                false,
                Memo::BankVoided {
                    reason: void_reason(&e),
                },
            ),
        };
        Ok(self.store.settle(key, post, &memo, self.now_ms()).await?)
    }

    /// Finishes bank movements whose request died (a crash between reserving
    /// and settling) and that nobody retried: each older than the policy's
    /// `settle_after_ms` is asked of the bank again with its own key and
    /// posted or voided. Returns how many were settled.
    pub async fn settle_abandoned(&self) -> Result<usize> {
        const PAGE: usize = 200;
        let before = self.now_ms().saturating_sub(self.policy.settle_after_ms);
        let mut settled = 0;
        let mut skipped = std::collections::HashSet::new();
        loop {
            let page = self.store.unsettled_transfers(before, PAGE + skipped.len()).await?;
            let fresh: Vec<TransferRecord> = page.into_iter().filter(|t| !skipped.contains(&t.id)).collect();
            if fresh.is_empty() {
                return Ok(settled);
            }
            for pending in fresh {
                match self.finish(&pending).await {
                    Ok(()) => settled += 1,
                    Err(e) => {
                        tracing::warn!(key = %pending.key, error = %e, "an abandoned bank movement could not be settled yet");
                        skipped.insert(pending.id);
                    }
                }
            }
        }
    }

    /// Settles one abandoned movement, from what its journal row says.
    async fn finish(&self, pending: &TransferRecord) -> Result<()> {
        let key = LedgerKey::parse(&pending.key)
            .ok_or_else(|| crate::Error::Internal(format!("pending transfer {} has no known key", pending.key)))?;
        let (user, direction) = match &key {
            LedgerKey::TopUp { user, .. } | LedgerKey::Repayment { user, .. } => (*user, Direction::Charge),
            LedgerKey::Withdrawal { user, .. } => (*user, Direction::Payout),
            LedgerKey::Payout { merchant, .. } => (self.store.merchant(*merchant).await?.owner_id, Direction::Payout),
            _ => return Err(crate::Error::Internal(format!("{key} is not a bank movement"))),
        };
        let card = match pending.memo() {
            Memo::TopUp { card } | Memo::Withdrawal { card } | Memo::RepaymentFromCard { card } => card,
            // A merchant's payout goes to its settlement card (the bank
            // answers the same key the same way, whichever card is named).
            Memo::Payout { merchant } => self.store.merchant(merchant).await?.settlement_card_id,
            other => return Err(crate::Error::Internal(format!("{key} has memo {other}"))),
        };
        let card = self.store.card(user, card).await?;
        let amount = Amount::new(pending.amount_minor, pending.currency)?;
        let settled = self.ask_bank_and_settle(&card, &key, amount, direction).await?;
        tracing::info!(key = %key, posted = settled.phase == TransferPhase::PostPending, "abandoned bank movement settled");
        Ok(())
    }
}

/// The stable code a voided movement answers with, on every retry.
fn void_reason(error: &BankError) -> Rule {
    Rule::from(error.clone())
}

/// Why a settlement voided its movement; `None` if it posted it.
fn voided_reason(settlement: &TransferRecord) -> Option<Rule> {
    if settlement.phase != TransferPhase::VoidPending {
        return None;
    }
    Some(match settlement.memo() {
        Memo::BankVoided { reason } => reason,
        _ => Rule::CardDeclined,
    })
}
