//! Reconciliation: the journal recomputed and checked against the accounts.
//!
//! Each check looks at something the others don't, so that breaking any one
//! property of the ledger is reported even if another check were switched
//! off: the stored totals are summed on their own (not only the totals
//! rebuilt from the journal), floors are checked on both, and sums are
//! computed in `i128` so that no amount can hide in an overflow.

use std::collections::{BTreeMap, HashMap, HashSet};

use qiao_domain::ids::TransferId;
use qiao_domain::ledger::Totals;

use crate::records::{LedgerAccount, LedgerAccountId, TransferPhase, TransferRecord};

/// What reconciliation found. `problems` empty means the ledger is sound.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconcileReport {
    pub accounts: usize,
    pub transfers: usize,
    /// Per currency: the sum of the stored posted balances and of the stored
    /// pending nets (both must be 0).
    pub sums: BTreeMap<&'static str, (i128, i128)>,
    /// Pending transfers not yet posted or voided (money reserved, in flight).
    pub open_pending: usize,
    pub problems: Vec<String>,
}

/// An account's totals rebuilt from the journal, wide enough never to overflow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Wide {
    posted: i128,
    debits_pending: i128,
    credits_pending: i128,
}

impl Wide {
    fn of(t: &Totals) -> Self {
        Self {
            posted: t.posted.into(),
            debits_pending: t.debits_pending.into(),
            credits_pending: t.credits_pending.into(),
        }
    }

    fn available(&self) -> i128 {
        self.posted - self.debits_pending
    }
}

impl ReconcileReport {
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }

    /// Pure check of accounts against the journal.
    pub fn check(accounts: &[LedgerAccount], transfers: &[TransferRecord]) -> Self {
        let mut problems = Vec::new();
        let mut journal: HashMap<LedgerAccountId, Wide> = HashMap::new();
        let by_id: HashMap<LedgerAccountId, &LedgerAccount> = accounts.iter().map(|a| (a.id, a)).collect();
        let pending: HashMap<TransferId, &TransferRecord> = transfers
            .iter()
            .filter(|t| t.phase == TransferPhase::Pending)
            .map(|t| (t.id, t))
            .collect();
        let mut settled: HashSet<TransferId> = HashSet::new();
        for t in transfers {
            for side in [t.debit, t.credit] {
                match by_id.get(&side) {
                    Some(account) if account.account.currency != t.currency => problems.push(format!(
                        "transfer {} is in {} but account {} holds {}",
                        t.key,
                        t.currency.code(),
                        side.0,
                        account.account.currency.code()
                    )),
                    Some(_) => {}
                    None => problems.push(format!("transfer {} names missing account {}", t.key, side.0)),
                }
            }
            if t.amount_minor <= 0 {
                problems.push(format!("transfer {} moves a non-positive amount", t.key));
            }
            if t.debit == t.credit {
                problems.push(format!("transfer {} debits and credits the same account", t.key));
            }
            let amount = i128::from(t.amount_minor);
            match t.phase {
                TransferPhase::Posted | TransferPhase::Pending if t.pending_id.is_some() => {
                    problems.push(format!("transfer {} moves money but names a pending transfer", t.key));
                }
                TransferPhase::Posted => {
                    journal.entry(t.debit).or_default().posted -= amount;
                    journal.entry(t.credit).or_default().posted += amount;
                }
                TransferPhase::Pending => {
                    journal.entry(t.debit).or_default().debits_pending += amount;
                    journal.entry(t.credit).or_default().credits_pending += amount;
                }
                TransferPhase::PostPending | TransferPhase::VoidPending => {
                    let Some(original) = t.pending_id.and_then(|id| pending.get(&id)) else {
                        problems.push(format!("settlement {} names no pending transfer", t.key));
                        continue;
                    };
                    if !settled.insert(original.id) {
                        problems.push(format!("pending transfer {} is settled twice", original.key));
                        continue;
                    }
                    if (
                        original.debit,
                        original.credit,
                        original.amount_minor,
                        original.currency,
                    ) != (t.debit, t.credit, t.amount_minor, t.currency)
                    {
                        problems.push(format!("settlement {} does not match its pending transfer", t.key));
                        continue;
                    }
                    journal.entry(t.debit).or_default().debits_pending -= amount;
                    journal.entry(t.credit).or_default().credits_pending -= amount;
                    if t.phase == TransferPhase::PostPending {
                        journal.entry(t.debit).or_default().posted -= amount;
                        journal.entry(t.credit).or_default().posted += amount;
                    }
                }
            }
        }
        let mut sums: BTreeMap<&'static str, (i128, i128)> = BTreeMap::new();
        for a in accounts {
            let stored = Wide::of(&a.account.totals);
            let rebuilt = journal.get(&a.id).copied().unwrap_or_default();
            if rebuilt != stored {
                problems.push(format!(
                    "account {} ({}): stored totals {:?} but the journal says {:?}",
                    a.id.0, a.owner, a.account.totals, rebuilt
                ));
            }
            let entry = sums.entry(a.account.currency.code()).or_default();
            entry.0 += stored.posted;
            entry.1 += stored.credits_pending - stored.debits_pending;
            if let Some(floor) = a.account.kind.floor_minor() {
                let floor = i128::from(floor);
                for (whose, totals) in [("stored", stored), ("journal", rebuilt)] {
                    if totals.available() < floor {
                        problems.push(format!(
                            "account {} ({}) is below its floor by its {whose} totals: {} < {floor}",
                            a.id.0,
                            a.owner,
                            totals.available()
                        ));
                    }
                }
            }
            if stored.debits_pending < 0 || stored.credits_pending < 0 {
                problems.push(format!("account {} ({}) has negative pending totals", a.id.0, a.owner));
            }
            if a.account.totals.near_numeric_limit() {
                problems.push(format!(
                    "account {} ({}) is within reach of the numeric limit: {:?}",
                    a.id.0, a.owner, a.account.totals
                ));
            }
        }
        for (currency, (posted, pending_net)) in &sums {
            if *posted != 0 || *pending_net != 0 {
                problems.push(format!(
                    "{currency} does not sum to zero: stored posted balances sum to {posted}, pending to {pending_net}"
                ));
            }
        }
        let open_pending = pending.keys().filter(|id| !settled.contains(id)).count();
        Self {
            accounts: accounts.len(),
            transfers: transfers.len(),
            sums,
            open_pending,
            problems,
        }
    }

    /// Checks that chat escrow holds exactly the unsettled remainder of the
    /// live transfers and red packets (`held`, per currency).
    pub fn check_escrow(&mut self, accounts: &[LedgerAccount], held: &[(qiao_domain::money::Currency, i64)]) {
        let escrow = |currency| {
            accounts
                .iter()
                .find(|a| a.owner == qiao_domain::ledger::CHAT_ESCROW_OWNER && a.account.currency == currency)
        };
        let mut currencies: Vec<_> = held.iter().map(|(c, _)| *c).collect();
        currencies.extend(
            accounts
                .iter()
                .filter(|a| a.owner == qiao_domain::ledger::CHAT_ESCROW_OWNER)
                .map(|a| a.account.currency),
        );
        currencies.sort_by_key(|c| c.code());
        currencies.dedup();
        for currency in currencies {
            let expected = held.iter().find(|(c, _)| *c == currency).map_or(0, |(_, v)| *v);
            let actual = escrow(currency).map_or(0, |a| a.account.totals.posted_balance());
            if expected != actual {
                self.problems.push(format!(
                    "chat escrow holds {actual} {} but live payments need {expected}",
                    currency.code()
                ));
            }
        }
    }

    /// A human report, one line per fact.
    pub fn render(&self) -> String {
        let mut out = format!(
            "accounts: {}\ntransfers: {}\npending, not yet posted or voided: {}\n",
            self.accounts, self.transfers, self.open_pending
        );
        for (currency, (posted, pending)) in &self.sums {
            out.push_str(&format!("{currency}: posted sum {posted}, pending sum {pending}\n"));
        }
        if self.problems.is_empty() {
            out.push_str(
                "OK: every total matches the journal, every currency sums to zero, no balance breaks its rule\n",
            );
        } else {
            for problem in &self.problems {
                out.push_str(&format!("DISCREPANCY: {problem}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qiao_domain::ledger::{Account, AccountKind};
    use qiao_domain::money::Currency;

    fn account(id: i64, kind: AccountKind, totals: Totals) -> LedgerAccount {
        LedgerAccount {
            id: LedgerAccountId(id),
            owner: format!("test:{id}"),
            account: Account {
                kind,
                currency: Currency::Cny,
                totals,
            },
            created_at_ms: 0,
        }
    }

    fn row(id: i64, phase: TransferPhase, pending: Option<i64>) -> TransferRecord {
        TransferRecord {
            id: TransferId(id),
            key: format!("k{id}"),
            debit: LedgerAccountId(1),
            credit: LedgerAccountId(2),
            amount_minor: 10,
            currency: Currency::Cny,
            phase,
            pending_id: pending.map(TransferId),
            memo: String::new(),
            created_at_ms: 0,
        }
    }

    /// The database's unique index keeps a pending transfer from being settled
    /// twice; reconcile would still see it if the index were gone.
    #[test]
    fn a_pending_transfer_settled_twice_is_reported() {
        let bank = account(
            1,
            AccountKind::BankClearing,
            Totals {
                posted: -10,
                ..Totals::default()
            },
        );
        let wallet = account(
            2,
            AccountKind::Wallet,
            Totals {
                posted: 10,
                ..Totals::default()
            },
        );
        let once = [
            row(1, TransferPhase::Pending, None),
            row(2, TransferPhase::PostPending, Some(1)),
        ];
        let report = ReconcileReport::check(&[bank.clone(), wallet.clone()], &once);
        assert!(report.is_sound(), "{}", report.render());
        let twice = [
            row(1, TransferPhase::Pending, None),
            row(2, TransferPhase::PostPending, Some(1)),
            row(3, TransferPhase::PostPending, Some(1)),
        ];
        let report = ReconcileReport::check(&[bank, wallet], &twice);
        assert!(
            report.problems.iter().any(|p| p.contains("settled twice")),
            "{}",
            report.render()
        );
    }
}
