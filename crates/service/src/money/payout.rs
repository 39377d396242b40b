//! Paying merchants out: once a UTC day has ended, what each merchant holds
//! for it (payments less refunds, what earlier payouts left) goes to its
//! settlement card through the bank, by the same reserve → bank → post/void
//! path as a withdrawal, keyed by merchant and day so it happens once. And
//! the day's settlement report.

use qiao_api as api;
use qiao_domain::caps::utc_day;
use qiao_domain::ids::{MerchantId, UserId};
use qiao_domain::journal::{LedgerKey, Memo};
use qiao_domain::ledger::{AccountKind, Ceiling, Owner};
use qiao_domain::merchant::Action;
use qiao_domain::money::Amount;
use qiao_domain::Error as Rule;
use qiao_store::{MerchantRecord, TransferPhase};

use super::funding::{BankMovement, Direction};
use super::merchant::Caller;
use super::Money;
use crate::Result;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// `YYYY-MM-DD` of a UTC day number.
fn day_text(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day * 86_400)
        .map(|t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
        .unwrap_or_default()
}

/// The UTC day number of `YYYY-MM-DD`.
fn parse_day(text: &str) -> Result<i64> {
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(Rule::InvalidRequest.into());
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(year, 4) || !digits(month, 2) || !digits(day, 2) {
        return Err(Rule::InvalidRequest.into());
    }
    let number = |s: &str| s.parse::<i32>().map_err(|_| Rule::InvalidRequest);
    let month = time::Month::try_from(u8::try_from(number(month)?).map_err(|_| Rule::InvalidRequest)?)
        .map_err(|_| Rule::InvalidRequest)?;
    let day = u8::try_from(number(day)?).map_err(|_| Rule::InvalidRequest)?;
    let date = time::Date::from_calendar_date(number(year)?, month, day).map_err(|_| Rule::InvalidRequest)?;
    Ok(date.midnight().assume_utc().unix_timestamp().div_euclid(86_400))
}

impl Money {
    /// Pays out every merchant's balance for the days that have ended (the
    /// last of them names the payout). Returns how many payouts were made.
    pub async fn pay_out_merchants(&self) -> Result<usize> {
        let today = utc_day(self.now_ms());
        let mut after = None;
        let mut paid = 0;
        loop {
            let page = self.store.merchants_page(after, 200).await?;
            let Some(last) = page.last() else { return Ok(paid) };
            after = Some(last.id);
            for merchant in &page {
                match self.pay_out(merchant, today - 1).await {
                    Ok(true) => paid += 1,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(merchant = merchant.id.0, error = %e, "payout not made"),
                }
            }
        }
    }

    /// One merchant's payout for `day` (what it held when the day ended);
    /// `false` if there was nothing to pay or it was already made.
    async fn pay_out(&self, merchant: &MerchantRecord, day: i64) -> Result<bool> {
        let key = LedgerKey::Payout {
            merchant: merchant.id,
            day,
        };
        if self.store.transfer_by_key(&key).await?.is_some() {
            return Ok(false);
        }
        let account = self
            .store
            .ledger_account(
                AccountKind::MerchantSettlement,
                &Owner::Merchant(merchant.id),
                merchant.currency,
                self.now_ms(),
            )
            .await?;
        let minor = self.store.settleable(account.id, (day + 1) * DAY_MS).await?;
        if minor <= 0 {
            return Ok(false);
        }
        let card = self.store.card(merchant.owner_id, merchant.settlement_card_id).await?;
        let clearing = self.clearing_account(&card.connector, merchant.currency).await?;
        self.through_bank(BankMovement {
            card: &card,
            key,
            amount: Amount::new(minor, merchant.currency)?,
            debit: account.id,
            credit: clearing.id,
            direction: Direction::Payout,
            memo: Memo::Payout { merchant: merchant.id },
            ceiling: Ceiling::None,
            cap: None,
        })
        .await?;
        Ok(true)
    }

    /// One UTC day of a merchant (`YYYY-MM-DD`, today by default): payments,
    /// refunds, net, the payout made for it, and the balance held now.
    pub async fn day_report(&self, merchant: MerchantId, caller: Caller, day: Option<&str>) -> Result<api::DayReport> {
        self.check_caller(merchant, caller, Action::ViewOrders).await?;
        let m = self.store.merchant(merchant).await?;
        let day = match day {
            Some(text) => parse_day(text)?,
            None => utc_day(self.now_ms()),
        };
        let facts = self
            .store
            .merchant_report(merchant, day * DAY_MS, (day + 1) * DAY_MS)
            .await?;
        let key = LedgerKey::Payout { merchant, day };
        let payout = match self.store.transfer_by_key(&key).await? {
            None => None,
            Some(reserved) => {
                let status = match self.store.settlement_of(&key).await? {
                    None => "pending".to_owned(),
                    Some(s) if s.phase == TransferPhase::PostPending => "posted".to_owned(),
                    Some(s) => match s.memo() {
                        Memo::BankVoided { reason } => reason.code().to_owned(),
                        _ => "voided".to_owned(),
                    },
                };
                Some(api::Payout {
                    amount_minor: reserved.amount_minor,
                    currency: reserved.currency.code().to_owned(),
                    status,
                })
            }
        };
        let balance = self
            .store
            .find_ledger_account(AccountKind::MerchantSettlement, &Owner::Merchant(merchant), m.currency)
            .await?
            .map_or(0, |a| a.account.totals.posted - a.account.totals.debits_pending);
        Ok(api::DayReport {
            day: day_text(day),
            currency: m.currency.code().to_owned(),
            paid_count: facts.paid_count,
            paid_minor: facts.paid_minor,
            refund_count: facts.refund_count,
            refunded_minor: facts.refunded_minor,
            net_minor: facts.paid_minor - facts.refunded_minor,
            payout,
            balance_minor: balance,
        })
    }

    /// The day's orders as CSV, for the merchant's books.
    pub async fn orders_csv(&self, merchant: MerchantId, caller: Caller) -> Result<String> {
        let orders = self.merchant_orders(merchant, caller, None, 200).await?;
        let mut out = String::from(
            "order_id,out_trade_no,kind,status,amount,currency,refunded,payer_currency,payer_amount,fee,rate,created_at_ms,paid_at_ms\n",
        );
        for o in orders {
            let payer = o.payer.as_ref();
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                o.id,
                csv_field(&o.out_trade_no),
                o.kind,
                o.status,
                o.amount_minor,
                o.currency,
                o.refunded_minor,
                payer.map_or(String::new(), |p| p.currency.clone()),
                payer.map_or(String::new(), |p| p.amount_minor.to_string()),
                payer.map_or(String::new(), |p| p.fee_minor.to_string()),
                payer.and_then(|p| p.rate.clone()).unwrap_or_default(),
                o.created_at_ms,
                o.paid_at_ms.map_or(String::new(), |t| t.to_string()),
            ));
        }
        Ok(out)
    }

    /// The user a merchant's payout goes to (for tests and the console).
    pub async fn merchant_owner(&self, merchant: MerchantId) -> Result<UserId> {
        Ok(self.store.merchant(merchant).await?.owner_id)
    }
}

/// A CSV cell; order numbers are `[A-Za-z0-9_-]`, so quoting is never needed,
/// but a formula-looking cell is defused anyway.
fn csv_field(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}
