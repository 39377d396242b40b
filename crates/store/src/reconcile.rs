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

/// What reconcile needs of one merchant order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderFacts {
    pub id: i64,
    pub merchant: i64,
    pub paid: bool,
    pub amount: i64,
    pub currency: qiao_domain::money::Currency,
    pub payer_currency: qiao_domain::money::Currency,
    pub debit: i64,
    pub fee: i64,
    pub refunded: i64,
    pub payer_refunded: i64,
}

/// What reconcile needs of one refund.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundFacts {
    pub id: i64,
    pub order_id: i64,
    pub amount: i64,
    pub payer_amount: i64,
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

    /// Checks that chat escrow (its shards together) holds exactly the
    /// unsettled remainder of the live transfers and red packets (`held`,
    /// per currency).
    pub fn check_escrow(&mut self, accounts: &[LedgerAccount], held: &[(qiao_domain::money::Currency, i64)]) {
        let escrows: Vec<&LedgerAccount> = accounts
            .iter()
            .filter(|a| {
                matches!(
                    qiao_domain::ledger::Owner::parse(&a.owner),
                    Some(qiao_domain::ledger::Owner::ChatEscrow(_))
                )
            })
            .collect();
        let mut currencies: Vec<_> = held.iter().map(|(c, _)| *c).collect();
        currencies.extend(escrows.iter().map(|a| a.account.currency));
        currencies.sort_by_key(|c| c.code());
        currencies.dedup();
        for currency in currencies {
            let expected = held.iter().find(|(c, _)| *c == currency).map_or(0, |(_, v)| *v);
            let actual: i128 = escrows
                .iter()
                .filter(|a| a.account.currency == currency)
                .map(|a| i128::from(a.account.totals.posted_balance()))
                .sum();
            if i128::from(expected) != actual {
                self.problems.push(format!(
                    "chat escrow holds {actual} {} but live payments need {expected}",
                    currency.code()
                ));
            }
        }
    }

    /// Checks merchant orders against the journal: every leg of a payment or
    /// refund is there with the amount the order says, no money moved for an
    /// order that is not paid, refunds add up to the order's refunded totals
    /// and never pass what was paid, and each merchant's account holds what
    /// its orders net of refunds say (payouts aside).
    pub fn check_orders(
        &mut self,
        accounts: &[LedgerAccount],
        transfers: &[TransferRecord],
        orders: &[OrderFacts],
        refunds: &[RefundFacts],
    ) {
        use qiao_domain::journal::{LedgerKey, Leg};
        let by_order: HashMap<i64, &OrderFacts> = orders.iter().map(|o| (o.id, o)).collect();
        let by_refund: HashMap<i64, &RefundFacts> = refunds.iter().map(|r| (r.id, r)).collect();
        let mut seen: HashSet<(bool, i64, &'static str)> = HashSet::new();
        let mut merchant_net: HashMap<LedgerAccountId, i128> = HashMap::new();
        let merchant_accounts: HashMap<LedgerAccountId, &LedgerAccount> = accounts
            .iter()
            .filter(|a| a.account.kind == qiao_domain::ledger::AccountKind::MerchantSettlement)
            .map(|a| (a.id, a))
            .collect();
        for t in transfers {
            let (refund, id, leg) = match LedgerKey::parse(&t.key) {
                Some(LedgerKey::Order { order, leg }) => (false, order.0, leg),
                Some(LedgerKey::OrderRefund { refund, leg }) => (true, refund.0, leg),
                _ => continue,
            };
            for (side, sign) in [(t.credit, 1i128), (t.debit, -1i128)] {
                if merchant_accounts.contains_key(&side) {
                    *merchant_net.entry(side).or_default() += sign * i128::from(t.amount_minor);
                }
            }
            seen.insert((refund, id, leg.as_str()));
            let order = if refund {
                by_refund.get(&id).and_then(|r| by_order.get(&r.order_id))
            } else {
                by_order.get(&id)
            };
            let Some(order) = order else {
                self.problems.push(format!(
                    "journal row {} moves money for a missing order or refund",
                    t.key
                ));
                continue;
            };
            if !order.paid {
                self.problems.push(format!(
                    "journal row {} moves money for order {} which is not paid",
                    t.key, order.id
                ));
            }
            let cross = order.payer_currency != order.currency;
            let expected = match (refund, leg, cross) {
                (false, Leg::Pay, _) => Some((order.debit, order.payer_currency)),
                (false, Leg::Fee, true) => Some((order.fee, order.payer_currency)),
                (false, Leg::Fx, true) => Some((order.amount, order.currency)),
                (true, Leg::Pay, false) | (true, Leg::Fx, true) => {
                    by_refund.get(&id).map(|r| (r.amount, order.currency))
                }
                (true, Leg::Pay, true) => by_refund.get(&id).map(|r| (r.payer_amount, order.payer_currency)),
                (true, Leg::Fee, true) => None,
                _ => {
                    self.problems.push(format!(
                        "journal row {} is a leg order {} does not have",
                        t.key, order.id
                    ));
                    continue;
                }
            };
            if let Some((minor, currency)) = expected {
                if t.amount_minor != minor || t.currency != currency {
                    self.problems.push(format!(
                        "journal row {} moves {} {} but order {} says {minor} {}",
                        t.key,
                        t.amount_minor,
                        t.currency.code(),
                        order.id,
                        currency.code()
                    ));
                }
            }
        }
        let mut refunded: HashMap<i64, (i128, i128)> = HashMap::new();
        for r in refunds {
            let sums = refunded.entry(r.order_id).or_default();
            sums.0 += i128::from(r.amount);
            sums.1 += i128::from(r.payer_amount);
            let cross = by_order
                .get(&r.order_id)
                .is_some_and(|o| o.payer_currency != o.currency);
            let leg = if cross { "fx" } else { "pay" };
            if !seen.contains(&(true, r.id, leg)) {
                self.problems.push(format!(
                    "refund {} of order {} has no money in the journal",
                    r.id, r.order_id
                ));
            }
        }
        let mut expected_net: HashMap<(i64, qiao_domain::money::Currency), i128> = HashMap::new();
        for o in orders.iter().filter(|o| o.paid) {
            if !seen.contains(&(false, o.id, "pay"))
                || (o.payer_currency != o.currency && !seen.contains(&(false, o.id, "fx")))
            {
                self.problems
                    .push(format!("paid order {} has no payment in the journal", o.id));
            }
            if o.fee > 0 && !seen.contains(&(false, o.id, "fee")) {
                self.problems
                    .push(format!("paid order {} has no fee in the journal", o.id));
            }
            let (back, payer_back) = refunded.get(&o.id).copied().unwrap_or_default();
            if back != i128::from(o.refunded) || payer_back != i128::from(o.payer_refunded) {
                self.problems.push(format!(
                    "order {} says {} refunded ({} to the payer) but its refunds add up to {back} ({payer_back})",
                    o.id, o.refunded, o.payer_refunded
                ));
            }
            if o.refunded > o.amount || o.payer_refunded > o.debit {
                self.problems
                    .push(format!("order {} refunded more than was paid", o.id));
            }
            *expected_net.entry((o.merchant, o.currency)).or_default() += i128::from(o.amount) - i128::from(o.refunded);
        }
        for o in orders.iter().filter(|o| !o.paid) {
            if refunded.contains_key(&o.id) {
                self.problems
                    .push(format!("order {} has refunds but is not paid", o.id));
            }
        }
        for (id, account) in merchant_accounts {
            let Some(qiao_domain::ledger::Owner::Merchant(merchant)) =
                qiao_domain::ledger::Owner::parse(&account.owner)
            else {
                self.problems
                    .push(format!("merchant account {} has owner {}", id.0, account.owner));
                continue;
            };
            let want = expected_net
                .get(&(merchant.0, account.account.currency))
                .copied()
                .unwrap_or_default();
            let got = merchant_net.get(&id).copied().unwrap_or_default();
            if want != got {
                self.problems.push(format!(
                    "merchant {merchant} received {got} {} for its orders, but its orders net of refunds say {want}",
                    account.account.currency.code()
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
