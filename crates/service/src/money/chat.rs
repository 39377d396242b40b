//! Transfers (转账) and red packets (红包) inside conversations: sending
//! (caps, then the PIN, then money into escrow and the chat message, in one
//! store operation), accepting or declining a transfer, opening a red
//! packet, and the sweep that refunds what nobody took within 24 hours.

use qiao_api as api;
use qiao_domain::caps::CapKind;
use qiao_domain::ids::{ConversationId, IdempotencyKey, PaymentId, UserId};
use qiao_domain::money::Amount;
use qiao_domain::payment::{self, PaymentKind, Split};
use qiao_domain::Error as Rule;
use qiao_store::{wire, NewPayment, PaySource};

use super::{request_currency, Money};
use crate::Result;

/// What both kinds of send carry, as the client gave it.
#[derive(Debug, Clone)]
pub struct SendCommon {
    pub key: IdempotencyKey,
    pub amount_minor: i64,
    pub currency: Option<String>,
    pub note: Option<String>,
    pub pin: Option<String>,
    /// `balance` (default) or `pay_later`.
    pub source: Option<String>,
    /// A transfer to another currency: the quote the sender confirmed.
    pub quote: Option<qiao_domain::ids::QuoteId>,
}

/// A red packet's shape.
#[derive(Debug, Clone, Copy)]
pub struct PacketShape {
    pub split: Split,
    pub count: u32,
}

/// Payments refunded per store call; the sweep repeats until none are due.
const EXPIRY_BATCH: usize = 200;

impl Money {
    /// Sends a transfer: to the other person of a direct chat, or to the
    /// member `to` of a group.
    pub async fn send_transfer(
        &self,
        user: UserId,
        conversation: ConversationId,
        to: Option<UserId>,
        common: SendCommon,
    ) -> Result<(api::ChatPayment, bool)> {
        self.send(user, conversation, to, common, None).await
    }

    /// Sends a red packet: lucky (random shares of the amount) or identical
    /// (the amount each).
    pub async fn send_red_packet(
        &self,
        user: UserId,
        conversation: ConversationId,
        shape: PacketShape,
        common: SendCommon,
    ) -> Result<(api::ChatPayment, bool)> {
        self.send(user, conversation, None, common, Some(shape)).await
    }

    /// Checks bad input and caps before the PIN, so they cost no PIN try;
    /// then the store moves the money, checks the day's cap and posts the
    /// message in one operation. The flag says whether this call created it.
    async fn send(
        &self,
        user: UserId,
        conversation: ConversationId,
        recipient: Option<UserId>,
        c: SendCommon,
        shape: Option<PacketShape>,
    ) -> Result<(api::ChatPayment, bool)> {
        let region = self.region(user).await?;
        let currency = request_currency(c.currency.as_deref(), region.currency())?;
        let amount = Amount::new(c.amount_minor, currency)?;
        let note = payment::note(c.note.as_deref().unwrap_or_default())?;
        let source = match c.source.as_deref() {
            None => PaySource::Balance,
            Some(raw) => PaySource::parse(raw).ok_or(Rule::InvalidRequest)?,
        };
        let (kind, split, count, total) = match shape {
            None => (PaymentKind::Transfer, None, 1, amount),
            Some(shape) => {
                let total = payment::red_packet_total(shape.split, amount.minor(), shape.count)?;
                (
                    PaymentKind::RedPacket,
                    Some(shape.split),
                    shape.count,
                    Amount::new(total, currency)?,
                )
            }
        };
        let cap = self.policy.cap_for(CapKind::Payment, total)?;
        self.authorize(user, c.pin.as_deref(), total).await?;
        let new = NewPayment {
            sender: user,
            client_key: c.key,
            conversation,
            recipient,
            kind,
            split,
            amount,
            count,
            note,
            source,
            // Only lucky splits use it; the service picks the randomness, the store stays deterministic.
            seed: rand::random(),
            cap: Some(cap),
            pricing: Some(self.pricing()?),
            quote: c.quote,
        };
        let (record, fresh) = self.store.send_payment(new, self.now_ms()).await?;
        Ok((wire::payment(&record), fresh))
    }

    /// A payment in one of the user's conversations.
    pub async fn payment(&self, user: UserId, id: PaymentId) -> Result<api::ChatPayment> {
        Ok(wire::payment(&self.store.payment(user, id).await?))
    }

    /// The recipient's answer to a transfer: credited, or sent back.
    pub async fn answer_transfer(&self, user: UserId, id: PaymentId, accept: bool) -> Result<api::ChatPayment> {
        let record = self.store.answer_transfer(user, id, accept, self.now_ms()).await?;
        Ok(wire::payment(&record))
    }

    /// Opens the next share of a red packet for the user.
    pub async fn open_red_packet(&self, user: UserId, id: PaymentId) -> Result<api::OpenedRedPacket> {
        let (record, share) = self.store.open_red_packet(user, id, self.now_ms()).await?;
        // Shares open in index order, so the opener's place among the opened
        // is their share's index; a share converted for them has an FX leg.
        let mut arrived = (share, record.currency);
        let converted = self.region(user).await?.currency() != record.currency;
        let opened = match converted {
            true => self.store.payment(user, id).await?.opened,
            false => Vec::new(),
        };
        if let Some(index) = opened.iter().position(|o| o.user_id == user) {
            let key = qiao_domain::journal::LedgerKey::ShareLeg {
                payment: id,
                index: u32::try_from(index).unwrap_or(u32::MAX),
                leg: qiao_domain::journal::Leg::Fx,
            };
            if let Some(leg) = self.store.transfer_by_key(&key).await? {
                arrived = (leg.amount_minor, leg.currency);
            }
        }
        Ok(api::OpenedRedPacket {
            amount_minor: arrived.0,
            currency: arrived.1.code().to_owned(),
            payment: wire::payment(&record),
        })
    }

    /// Refunds everything due by now; returns how many.
    pub async fn expire_due(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            let refunded = self.store.expire_payments(self.now_ms(), EXPIRY_BATCH).await?;
            total += refunded.len();
            if refunded.len() < EXPIRY_BATCH {
                return Ok(total);
            }
        }
    }
}
