//! Reconciliation: the journal recomputed and checked against the accounts.

use std::collections::{BTreeMap, HashMap};

use qiao_domain::ledger::Totals;

use crate::records::{LedgerAccount, LedgerAccountId, TransferPhase, TransferRecord};

/// What reconciliation found. `problems` empty means the ledger is sound.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconcileReport {
    pub accounts: usize,
    pub transfers: usize,
    /// Per currency: the sum of posted balances and of pending nets (both must be 0).
    pub sums: BTreeMap<&'static str, (i64, i64)>,
    /// Pending transfers not yet posted or voided (money reserved, in flight).
    pub open_pending: usize,
    pub problems: Vec<String>,
}

impl ReconcileReport {
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }

    /// Pure check of accounts against the journal.
    pub fn check(accounts: &[LedgerAccount], transfers: &[TransferRecord]) -> Self {
        let mut problems = Vec::new();
        let mut recomputed: HashMap<LedgerAccountId, Totals> = HashMap::new();
        let by_id: HashMap<LedgerAccountId, &LedgerAccount> = accounts.iter().map(|a| (a.id, a)).collect();
        let pending: HashMap<i64, &TransferRecord> = transfers
            .iter()
            .filter(|t| t.phase == TransferPhase::Pending)
            .map(|t| (t.id, t))
            .collect();
        let mut overflow = false;
        let mut add = |slot: &mut i64, amount: i64| match slot.checked_add(amount) {
            Some(v) => *slot = v,
            None => overflow = true,
        };
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
            match t.phase {
                TransferPhase::Posted => {
                    add(
                        &mut recomputed.entry(t.debit).or_default().debits_posted,
                        t.amount_minor,
                    );
                    add(
                        &mut recomputed.entry(t.credit).or_default().credits_posted,
                        t.amount_minor,
                    );
                }
                TransferPhase::Pending => {
                    add(
                        &mut recomputed.entry(t.debit).or_default().debits_pending,
                        t.amount_minor,
                    );
                    add(
                        &mut recomputed.entry(t.credit).or_default().credits_pending,
                        t.amount_minor,
                    );
                }
                TransferPhase::PostPending | TransferPhase::VoidPending => {
                    let Some(original) = t.pending_id.and_then(|id| pending.get(&id)) else {
                        problems.push(format!("settlement {} names no pending transfer", t.key));
                        continue;
                    };
                    if (original.debit, original.credit, original.amount_minor) != (t.debit, t.credit, t.amount_minor) {
                        problems.push(format!("settlement {} does not match its pending transfer", t.key));
                    }
                    add(
                        &mut recomputed.entry(t.debit).or_default().debits_pending,
                        -t.amount_minor,
                    );
                    add(
                        &mut recomputed.entry(t.credit).or_default().credits_pending,
                        -t.amount_minor,
                    );
                    if t.phase == TransferPhase::PostPending {
                        add(
                            &mut recomputed.entry(t.debit).or_default().debits_posted,
                            t.amount_minor,
                        );
                        add(
                            &mut recomputed.entry(t.credit).or_default().credits_posted,
                            t.amount_minor,
                        );
                    }
                }
            }
        }
        if overflow {
            problems.push("a recomputed total overflows".to_owned());
        }
        let mut sums: BTreeMap<&'static str, (i64, i64)> = BTreeMap::new();
        for a in accounts {
            let journal = recomputed.get(&a.id).copied().unwrap_or_default();
            if journal != a.account.totals {
                problems.push(format!(
                    "account {} ({}): totals {:?} but the journal says {:?}",
                    a.id.0, a.owner, a.account.totals, journal
                ));
            }
            let entry = sums.entry(a.account.currency.code()).or_default();
            let posted = journal.credits_posted as i128 - journal.debits_posted as i128;
            let pending_net = journal.credits_pending as i128 - journal.debits_pending as i128;
            entry.0 = entry
                .0
                .saturating_add(posted.clamp(i64::MIN as i128, i64::MAX as i128) as i64);
            entry.1 = entry
                .1
                .saturating_add(pending_net.clamp(i64::MIN as i128, i64::MAX as i128) as i64);
            if let (Some(floor), Some(available)) = (a.account.kind.floor_minor(), journal.available()) {
                if available < floor {
                    problems.push(format!(
                        "account {} ({}) is below its floor: {available} < {floor}",
                        a.id.0, a.owner
                    ));
                }
            }
        }
        for (currency, (posted, pending_net)) in &sums {
            if *posted != 0 || *pending_net != 0 {
                problems.push(format!(
                    "{currency} does not sum to zero: posted {posted}, pending {pending_net}"
                ));
            }
        }
        let settled: std::collections::HashSet<i64> = transfers.iter().filter_map(|t| t.pending_id).collect();
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
            let actual = escrow(currency)
                .and_then(|a| a.account.totals.posted_balance())
                .unwrap_or(0);
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
