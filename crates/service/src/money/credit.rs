//! The pay-later line: what it shows, its monthly statement (computed from
//! the journal), and repayment from the balance or a debit card. "Not more
//! than owed" is the ledger's ceiling on the repayment transfer, checked in
//! the writer with the pending repayments counted: ten concurrent full
//! repayments repay it once.

use qiao_api as api;
use qiao_domain::ids::{CardId, IdempotencyKey, UserId};
use qiao_domain::journal::{LedgerKey, Memo};
use qiao_domain::ledger::{AccountKind, Ceiling};
use qiao_domain::money::Amount;
use qiao_domain::Error as Rule;
use qiao_store::{LedgerAccount, NewTransfer, StatementQuery};

use super::funding::{BankMovement, Direction};
use super::statement::{lines, Named, MAX_EXPORT};
use super::Money;
use crate::Result;

/// Where a repayment comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepaySource {
    Balance,
    Card(CardId),
}

/// A repayment as the client asks for it.
#[derive(Debug, Clone)]
pub struct Repay {
    pub key: IdempotencyKey,
    pub amount_minor: i64,
    pub source: RepaySource,
    pub pin: Option<String>,
}

/// How a line looks to its owner.
pub fn credit_view(line: &LedgerAccount) -> Result<api::CreditLine> {
    let totals = line.account.totals;
    let limit_minor = match line.account.kind {
        AccountKind::CreditLine { limit_minor } => limit_minor,
        _ => 0,
    };
    let available = totals.available().ok_or(Rule::AmountOverflow)?;
    Ok(api::CreditLine {
        currency: line.account.currency.code().to_owned(),
        limit_minor,
        owed_minor: totals.posted_balance().saturating_neg().max(0),
        available_minor: limit_minor.saturating_add(available).max(0),
    })
}

/// The first instant (ms) of a month and of the next one, and the due date.
fn month_bounds(year: i32, month: u8) -> Option<(i64, i64, String)> {
    let month = time::Month::try_from(month).ok()?;
    let start = time::Date::from_calendar_date(year, month, 1).ok()?;
    let (next_year, next_month) = if month == time::Month::December {
        (year.checked_add(1)?, time::Month::January)
    } else {
        (year, month.next())
    };
    let next = time::Date::from_calendar_date(next_year, next_month, 1).ok()?;
    let ms = |d: time::Date| d.midnight().assume_utc().unix_timestamp() * 1000;
    let due = format!("{:04}-{:02}-25", next_year, u8::from(next_month));
    Some((ms(start), ms(next), due))
}

/// `YYYY-MM` (UTC), or the month of `now_ms`: the label, its bounds and due date.
fn parse_month(raw: Option<&str>, now_ms: i64) -> Result<(String, i64, i64, String)> {
    let (year, month) = match raw {
        Some(raw) => {
            let (y, m) = raw.split_once('-').ok_or(Rule::InvalidRequest)?;
            if y.len() != 4 || m.len() != 2 {
                return Err(Rule::InvalidRequest.into());
            }
            let year: i32 = y.parse().map_err(|_| Rule::InvalidRequest)?;
            let month: u8 = m.parse().map_err(|_| Rule::InvalidRequest)?;
            (year, month)
        }
        None => {
            let now = time::OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
                .map_err(|e| crate::Error::Internal(format!("clock: {e}")))?;
            (now.year(), u8::from(now.month()))
        }
    };
    let (from, until, due) = month_bounds(year, month).ok_or(Rule::InvalidRequest)?;
    Ok((format!("{year:04}-{month:02}"), from, until, due))
}

impl Money {
    async fn require_line(&self, user: UserId) -> Result<LedgerAccount> {
        let currency = self.region(user).await?.currency();
        self.credit_line_account(user, currency)
            .await?
            .ok_or_else(|| Rule::NoCreditLine.into())
    }

    /// The user's pay-later line: limit, owed, available.
    pub async fn credit_line(&self, user: UserId) -> Result<api::CreditLine> {
        credit_view(&self.require_line(user).await?)
    }

    /// One calendar month (UTC) of the line: opening, spent, repaid, closing, due date.
    pub async fn credit_statement(&self, user: UserId, month: Option<&str>) -> Result<api::CreditStatement> {
        let line = self.require_line(user).await?;
        let (month, from, until, due_date) = parse_month(month, self.now_ms())?;
        let named: Named = [(line.id, "credit_line")].into_iter().collect();
        let entries = self
            .store
            .statement(StatementQuery {
                accounts: vec![line.id],
                before_id: None,
                from_ms: 0,
                until_ms: until,
                limit: MAX_EXPORT,
            })
            .await?;
        let (mut opening, mut spent, mut repaid) = (0i64, 0i64, 0i64);
        let mut shown = Vec::new();
        for line in entries.iter().flat_map(|e| lines(e, &named)) {
            if line.status == "voided" {
                continue;
            }
            let signed = if line.direction == "out" {
                line.amount_minor
            } else {
                -line.amount_minor
            };
            if line.at_ms < from {
                opening = opening.saturating_add(signed);
            } else {
                if signed > 0 {
                    spent = spent.saturating_add(signed);
                } else {
                    repaid = repaid.saturating_add(signed.saturating_neg());
                }
                shown.push(line);
            }
        }
        Ok(api::CreditStatement {
            month,
            currency: line.account.currency.code().to_owned(),
            opening_owed_minor: opening,
            spent_minor: spent,
            repaid_minor: repaid,
            closing_owed_minor: opening.saturating_add(spent).saturating_sub(repaid),
            due_date,
            entries: shown,
        })
    }

    /// Repays the line from the balance (with the PIN) or a debit card
    /// (through the bank). Never more than owed, checked in the writer.
    pub async fn repay(&self, user: UserId, request: Repay) -> Result<api::Repayment> {
        let line = self.require_line(user).await?;
        let amount = Amount::new(request.amount_minor, line.account.currency)?;
        let key = LedgerKey::Repayment {
            user,
            client: request.key.clone(),
        };
        match request.source {
            RepaySource::Balance => {
                self.authorize(user, request.pin.as_deref(), amount).await?;
                let wallet = self.wallet_account(user, amount.currency()).await?;
                let new = NewTransfer {
                    ceiling: Ceiling::OwedOnly,
                    ..NewTransfer::posted(key, wallet.id, line.id, amount, Memo::RepaymentFromBalance)
                };
                self.store.transfer(new, self.now_ms()).await?;
            }
            RepaySource::Card(card) => {
                let card = self.debit_card(user, card).await?;
                let clearing = self.clearing_account(&card.connector, amount.currency()).await?;
                self.through_bank(BankMovement {
                    card: &card,
                    key,
                    amount,
                    debit: clearing.id,
                    credit: line.id,
                    direction: Direction::Charge,
                    memo: Memo::RepaymentFromCard { card: card.id },
                    ceiling: Ceiling::OwedOnly,
                    cap: None,
                })
                .await?;
            }
        }
        let after = credit_view(&self.store.ledger_account_by_id(line.id).await?)?;
        Ok(api::Repayment {
            idempotency_key: request.key.as_str().to_owned(),
            amount_minor: amount.minor(),
            currency: amount.currency().code().to_owned(),
            owed_minor: after.owed_minor,
        })
    }
}
