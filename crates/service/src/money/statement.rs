//! What the wallet shows of its past: the statement (paged), one entry in
//! full, and the CSV export. Lines are read from the journal; what an entry
//! was for comes from its typed memo.

use std::collections::HashMap;

use qiao_api as api;
use qiao_domain::ids::{TransferId, UserId};
use qiao_domain::journal::{Purpose, Reference};
use qiao_domain::ledger::{AccountKind, Owner};
use qiao_domain::money::{Currency, Money as Signed};
use qiao_domain::Error as Rule;
use qiao_store::{wire, LedgerAccountId, StatementEntry, StatementQuery, TransferPhase};

use super::cards::card_view;
use super::Money;
use crate::Result;

/// Lines on one statement page, by default and at most.
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 200;
/// Most entries a CSV export or a monthly statement reads.
pub const MAX_EXPORT: usize = 10_000;

/// Which of the user's accounts a statement covers, each with its wire name.
pub(super) type Named = HashMap<LedgerAccountId, &'static str>;

/// One line per account of the user's that the entry touches.
pub(super) fn lines(entry: &StatementEntry, named: &Named) -> Vec<api::StatementEntry> {
    let t = &entry.transfer;
    let status = match (&t.phase, &entry.settlement) {
        (TransferPhase::Pending, None) => "pending",
        (TransferPhase::Pending, Some(s)) if s.phase == TransferPhase::VoidPending => "voided",
        _ => "posted",
    };
    let memo = t.memo();
    [(t.debit, "out"), (t.credit, "in")]
        .into_iter()
        .filter_map(|(side, direction)| {
            named.get(&side).map(|account| api::StatementEntry {
                id: t.id.0,
                at_ms: t.created_at_ms,
                purpose: memo.purpose().as_str().to_owned(),
                reference: memo.reference_text(),
                direction: direction.to_owned(),
                amount_minor: t.amount_minor,
                currency: t.currency.code().to_owned(),
                status: status.to_owned(),
                account: (*account).to_owned(),
            })
        })
        .collect()
}

/// `2026-11-24T08:00:00Z`.
fn utc(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).map_or_else(
        |_| ms.to_string(),
        |t| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        },
    )
}

fn decimal(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(currency) => Signed { minor, currency }.to_decimal(),
        Err(_) => minor.to_string(),
    }
}

impl Money {
    /// The user's wallets and pay-later line, in one read; reading opens none.
    pub(super) async fn named_accounts(&self, user: UserId) -> Result<Named> {
        Ok(self
            .store
            .ledger_accounts_of(&Owner::User(user))
            .await?
            .into_iter()
            .filter_map(|a| match a.account.kind {
                AccountKind::Wallet => Some((a.id, "wallet")),
                AccountKind::CreditLine { .. } => Some((a.id, "credit_line")),
                _ => None,
            })
            .collect())
    }

    /// A page of the statement, newest first; `before` pages backwards.
    pub async fn statement(
        &self,
        user: UserId,
        before: Option<TransferId>,
        limit: Option<usize>,
    ) -> Result<api::Statement> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(Rule::InvalidRequest.into());
        }
        let named = self.named_accounts(user).await?;
        let entries = self
            .store
            .statement(StatementQuery {
                accounts: named.keys().copied().collect(),
                before_id: before,
                from_ms: 0,
                until_ms: i64::MAX,
                limit,
            })
            .await?;
        let next_before = (entries.len() == limit)
            .then(|| entries.last().map(|e| e.transfer.id.0))
            .flatten();
        Ok(api::Statement {
            entries: entries.iter().flat_map(|e| lines(e, &named)).collect(),
            next_before,
        })
    }

    /// One entry of the user's in full; anyone else's is `NotFound`, like none.
    pub async fn statement_entry(&self, user: UserId, id: TransferId) -> Result<api::EntryDetail> {
        let named = self.named_accounts(user).await?;
        let transfer = self.store.transfer_by_id(id).await?.ok_or(Rule::NotFound)?;
        let settlement = match transfer.phase {
            TransferPhase::Pending => self.store.settlement_of_row(transfer.id).await?,
            TransferPhase::Posted => None,
            // Settlement rows are shown through the entry they settle.
            _ => return Err(Rule::NotFound.into()),
        };
        let memo = transfer.memo();
        let entry = StatementEntry { transfer, settlement };
        let lines = lines(&entry, &named);
        if lines.is_empty() {
            return Err(Rule::NotFound.into());
        }
        let payment = match memo.reference() {
            Reference::Payment(payment)
                if matches!(memo.purpose(), Purpose::Transfer | Purpose::RedPacket | Purpose::Refund) =>
            {
                self.store.payment(user, payment).await.ok().map(|p| wire::payment(&p))
            }
            _ => None,
        };
        let card = match memo.reference() {
            Reference::Card(card) => self.store.card(user, card).await.ok().map(|c| card_view(&c)),
            _ => None,
        };
        Ok(api::EntryDetail { lines, payment, card })
    }

    /// The whole statement (at most [`MAX_EXPORT`] entries) as CSV.
    pub async fn statement_csv(&self, user: UserId) -> Result<String> {
        let named = self.named_accounts(user).await?;
        let entries = self
            .store
            .statement(StatementQuery {
                accounts: named.keys().copied().collect(),
                before_id: None,
                from_ms: 0,
                until_ms: i64::MAX,
                limit: MAX_EXPORT,
            })
            .await?;
        let mut csv = String::from("id,time_utc,purpose,reference,direction,amount,currency,status,account\r\n");
        for line in entries.iter().flat_map(|e| lines(e, &named)) {
            let signed = if line.direction == "out" {
                -line.amount_minor
            } else {
                line.amount_minor
            };
            // Every field is generated by Qiao (no user text), so none needs quoting.
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},{},{}\r\n",
                line.id,
                utc(line.at_ms),
                line.purpose,
                line.reference,
                line.direction,
                decimal(signed, &line.currency),
                line.currency,
                line.status,
                line.account
            ));
        }
        Ok(csv)
    }
}
