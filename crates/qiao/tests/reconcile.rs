//! `qiao admin reconcile` against a real data directory: passes on a sound
//! ledger, fails loudly on a tampered one; the journal refuses edits.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::Arc;

use qiao_domain::ids::{CardId, IdempotencyKey, UserId};
use qiao_domain::journal::{LedgerKey, Memo};
use qiao_domain::ledger::{AccountKind, Owner};
use qiao_domain::money::{Amount, Currency};
use qiao_store::{Location, NewTransfer, NoSink, Store};

fn reconcile(data_dir: &std::path::Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_qiao"))
        .args(["admin", "reconcile", "--data-dir"])
        .arg(data_dir)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_passes_on_a_sound_ledger_and_fails_on_a_tampered_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("qiao.db");
    let location = Location::Sqlite(db.clone());
    let store = tokio::task::spawn_blocking(move || qiao_store::open(&location, Arc::new(NoSink)))
        .await
        .unwrap()
        .unwrap();
    let now = 1_700_000_000_000;
    let bank = store
        .ledger_account(
            AccountKind::BankClearing,
            &Owner::Connector {
                name: "sandbox".into(),
                shard: qiao_domain::ledger::Shard::LEGACY,
            },
            Currency::Cny,
            now,
        )
        .await
        .unwrap();
    let wallet = store
        .ledger_account(AccountKind::Wallet, &Owner::User(UserId(1)), Currency::Cny, now)
        .await
        .unwrap();
    let amount = Amount::new(5_000, Currency::Cny).unwrap();
    let key = LedgerKey::TopUp {
        user: UserId(1),
        client: IdempotencyKey::parse("k1").unwrap(),
    };
    let top_up = NewTransfer::posted(key, bank.id, wallet.id, amount, Memo::TopUp { card: CardId(1) });
    store.transfer(top_up, now).await.unwrap();

    // Read-only: it checks the directory while the store (a server) has it open.
    let (ok, report) = reconcile(dir.path());
    assert!(ok, "{report}");
    assert!(
        report.contains("transfers: 1") && report.contains("CNY: posted sum 0, pending sum 0"),
        "{report}"
    );
    drop(store);

    let raw = rusqlite::Connection::open(&db).unwrap();
    let edit = raw.execute("UPDATE ledger_transfers SET amount_minor = 1", []);
    assert!(edit.unwrap_err().to_string().contains("append-only"));
    assert!(raw.execute("DELETE FROM ledger_transfers", []).is_err());

    // Money created out of thin air on an account's totals is caught.
    raw.execute(
        "UPDATE ledger_accounts SET posted_balance = posted_balance + 1 WHERE owner = 'user:1'",
        [],
    )
    .unwrap();
    let (ok, report) = reconcile(dir.path());
    assert!(!ok, "a tampered ledger must fail: {report}");
    assert!(report.contains("DISCREPANCY"), "{report}");

    let (ok, _) = reconcile(&dir.path().join("missing"));
    assert!(!ok, "no database there");
}
