//! The wallet at a glance: balances per currency, the pay-later line, the
//! PIN's state and today's limits. Reading never opens an account.

use qiao_api as api;
use qiao_domain::caps::CapKind;
use qiao_domain::ids::UserId;
use qiao_domain::ledger::{AccountKind, Owner};
use qiao_domain::Error as Rule;

use super::credit::credit_view;
use super::pin::status;
use super::Money;
use crate::Result;

impl Money {
    pub async fn wallet(&self, user: UserId) -> Result<api::Wallet> {
        let currency = self.region(user).await?.currency();
        let accounts = self.store.ledger_accounts_of(&Owner::User(user)).await?;
        let mut balances = Vec::new();
        let mut credit_line = None;
        for account in &accounts {
            match account.account.kind {
                AccountKind::Wallet => {
                    let totals = account.account.totals;
                    balances.push(api::Balance {
                        currency: account.account.currency.code().to_owned(),
                        balance_minor: totals.posted_balance(),
                        available_minor: totals.available().ok_or(Rule::AmountOverflow)?,
                    });
                }
                AccountKind::CreditLine { .. } if account.account.currency == currency => {
                    credit_line = Some(credit_view(account)?);
                }
                _ => {}
            }
        }
        // The region's currency always shows, first; others once money arrived in them.
        if let Some(i) = balances.iter().position(|b| b.currency == currency.code()) {
            balances.swap(0, i);
        } else {
            balances.insert(
                0,
                api::Balance {
                    currency: currency.code().to_owned(),
                    balance_minor: 0,
                    available_minor: 0,
                },
            );
        }
        let now = self.now_ms();
        let caps = self.policy.caps(currency);
        let mut limits = Vec::with_capacity(CapKind::ALL.len());
        for kind in CapKind::ALL {
            limits.push(api::SpendingLimit {
                currency: currency.code().to_owned(),
                kind: kind.as_str().to_owned(),
                per_operation_minor: caps.per_operation_minor,
                per_day_minor: caps.per_day_minor,
                used_today_minor: self.store.daily_used(user, currency, kind, now).await?,
            });
        }
        let pin = self.store.pin(user).await?;
        Ok(api::Wallet {
            balances,
            credit_line,
            pin: status(pin.as_ref(), now),
            limits,
        })
    }
}
