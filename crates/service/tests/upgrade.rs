//! Existing databases keep working: a database as the previous version wrote
//! it (schema 1–4, totals as sums of history, keys and memos in the old
//! shapes, a withdrawal left pending by a crash) is opened by this version,
//! which migrates it. The ledger still reconciles with the same balances; a
//! phone proven before counts as proven; a retry of an old top-up finds it
//! instead of charging twice; and the abandoned withdrawal is finished by
//! the sweep, under its old key.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use qiao_domain::ids::{CardId, IdempotencyKey, StreamPos, UserId};
use qiao_domain::ledger::Totals;
use qiao_service::bank::SandboxBank;
use qiao_service::clock::ManualClock;
use qiao_service::money::funding::CardMove;
use qiao_service::money::{Money, Policy};
use qiao_service::secrets::Passwords;
use qiao_store::{LedgerAccountId, Location, NoSink, Store, UserLookup};

/// What version 4 left behind (SQL common to both engines).
const OLD_ROWS: &str = "
INSERT INTO users (id, phone, phone_hash, password_hash, display_name, region, language, created_at_ms)
    VALUES (1, '+15550000001', 'h1', 'x', 'Amy', 'US', 'en-US', 1700000000000);
INSERT INTO users (id, phone, phone_hash, password_hash, display_name, region, language, created_at_ms)
    VALUES (2, '+15550000002', 'h2', 'x', 'Ben', 'US', 'en-US', 1700000000000);
INSERT INTO cards (id, user_id, connector, token, last4, brand, funding, created_at_ms)
    VALUES (1, 1, 'sandbox', 'sbx_ok_4242_00000000000000aa', '4242', 'visa', 'debit', 1700000000000);
INSERT INTO ledger_accounts (id, kind, owner, currency, credit_limit_minor, debits_posted, credits_posted,
        debits_pending, credits_pending, created_at_ms)
    VALUES (1, 'bank_clearing', 'connector:sandbox', 'USD', 0, 10000, 0, 0, 500, 1700000000000);
INSERT INTO ledger_accounts (id, kind, owner, currency, credit_limit_minor, debits_posted, credits_posted,
        debits_pending, credits_pending, created_at_ms)
    VALUES (2, 'wallet', 'user:1', 'USD', 0, 2000, 10000, 500, 0, 1700000000000);
INSERT INTO ledger_accounts (id, kind, owner, currency, credit_limit_minor, debits_posted, credits_posted,
        debits_pending, credits_pending, created_at_ms)
    VALUES (3, 'wallet', 'user:2', 'USD', 0, 0, 2000, 0, 0, 1700000000000);
INSERT INTO ledger_accounts (id, kind, owner, currency, credit_limit_minor, debits_posted, credits_posted,
        debits_pending, credits_pending, created_at_ms)
    VALUES (4, 'escrow', 'escrow:chat', 'USD', 0, 2000, 2000, 0, 0, 1700000000000);
INSERT INTO ledger_transfers (id, idempotency_key, debit_account_id, credit_account_id, amount_minor, currency, phase,
        pending_id, memo, created_at_ms)
    VALUES (1, 'top-up:1:k1', 1, 2, 10000, 'USD', 'pending', NULL, 'top_up:card-1', 1700000000001);
INSERT INTO ledger_transfers (id, idempotency_key, debit_account_id, credit_account_id, amount_minor, currency, phase,
        pending_id, memo, created_at_ms)
    VALUES (2, 'top-up:1:k1:post', 1, 2, 10000, 'USD', 'post_pending', 1, 'sbx_charge_top-up:1:k1', 1700000000002);
INSERT INTO ledger_transfers (id, idempotency_key, debit_account_id, credit_account_id, amount_minor, currency, phase,
        pending_id, memo, created_at_ms)
    VALUES (3, 'chat:1:t1', 2, 4, 2000, 'USD', 'posted', NULL, 'transfer:1', 1700000000003);
INSERT INTO ledger_transfers (id, idempotency_key, debit_account_id, credit_account_id, amount_minor, currency, phase,
        pending_id, memo, created_at_ms)
    VALUES (4, 'chat:1:accept', 4, 3, 2000, 'USD', 'posted', NULL, 'transfer:1', 1700000000004);
INSERT INTO ledger_transfers (id, idempotency_key, debit_account_id, credit_account_id, amount_minor, currency, phase,
        pending_id, memo, created_at_ms)
    VALUES (5, 'withdrawal:1:k2', 2, 1, 500, 'USD', 'pending', NULL, 'withdrawal:card-1', 1700000000005);
INSERT INTO events (pos, kind, conversation_id, user_id, message_id, at_ms, data)
    VALUES (5000000000000, 'session.new', NULL, 1, NULL, 1700000000006, '{}');
";

/// The old stream's newest position: far above what PostgreSQL's new
/// positions (made from transaction ids) would start at without an offset.
const OLD_HEAD: i64 = 5_000_000_000_000;

const SQLITE_V4: [&str; 4] = [
    include_str!("../../store/migrations/sqlite_0001_chat.sql"),
    include_str!("../../store/migrations/sqlite_0002_ledger.sql"),
    include_str!("../../store/migrations/sqlite_0003_cards.sql"),
    include_str!("../../store/migrations/sqlite_0004_payments.sql"),
];

const POSTGRES_V4: [&str; 4] = [
    include_str!("../../store/migrations/postgres_0001_chat.sql"),
    include_str!("../../store/migrations/postgres_0002_ledger.sql"),
    include_str!("../../store/migrations/postgres_0003_cards.sql"),
    include_str!("../../store/migrations/postgres_0004_payments.sql"),
];

const MIGRATIONS_TABLE: &str =
    "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at_ms BIGINT NOT NULL);
     INSERT INTO schema_migrations VALUES (1, 0), (2, 0), (3, 0), (4, 0);";

async fn check_upgrade(location: Location) {
    let at = location.clone();
    let store: Arc<dyn Store> = Arc::new(
        tokio::task::spawn_blocking(move || qiao_store::open(&at, Arc::new(NoSink)))
            .await
            .unwrap()
            .unwrap(),
    );
    let report = store.reconcile().await.unwrap();
    assert!(report.is_sound(), "{}", report.render());
    assert_eq!(report.open_pending, 1, "the crash's withdrawal is still pending");
    let wallet = store.ledger_account_by_id(LedgerAccountId(2)).await.unwrap();
    assert_eq!(
        wallet.account.totals,
        Totals {
            posted: 8_000,
            debits_pending: 500,
            credits_pending: 0
        },
        "sums of history became nets, balances unchanged"
    );
    let bank = store.ledger_account_by_id(LedgerAccountId(1)).await.unwrap();
    assert_eq!(bank.account.totals.posted, -10_000);
    // A phone proven before the upgrade counts as proven.
    let amy = store
        .find_user(UserLookup::Phone("+15550000001".into()))
        .await
        .unwrap()
        .expect("still signs in by phone");
    assert_eq!(amy.id, UserId(1));

    let clock = Arc::new(ManualClock::new());
    let money = Money::new(
        Arc::clone(&store),
        Arc::new(SandboxBank::default()),
        clock,
        Passwords::new(1024, 1).unwrap(),
        Policy {
            settle_after_ms: 0,
            ..Policy::default()
        },
    );
    // The statement reads the old memos.
    let statement = money.statement(UserId(1), None, None).await.unwrap();
    let purposes: Vec<(&str, &str)> = statement
        .entries
        .iter()
        .map(|e| (e.purpose.as_str(), e.reference.as_str()))
        .collect();
    assert!(purposes.contains(&("top_up", "card-1")), "{purposes:?}");
    assert!(purposes.contains(&("transfer", "1")), "{purposes:?}");
    // A retry of the old top-up's key is the same top-up, not a second charge.
    let retry = CardMove {
        card: CardId(1),
        amount_minor: 10_000,
        key: IdempotencyKey::parse("k1").unwrap(),
        currency: None,
    };
    let again = money.top_up(UserId(1), retry).await.unwrap();
    assert_eq!(again.balance_minor, 8_000, "nothing moved again");
    // The abandoned withdrawal is finished under its old key.
    assert_eq!(money.settle_abandoned().await.unwrap(), 1);
    let report = store.reconcile().await.unwrap();
    assert!(report.is_sound(), "{}", report.render());
    assert_eq!(report.open_pending, 0);
    let wallet = store.ledger_account_by_id(LedgerAccountId(2)).await.unwrap();
    assert_eq!(wallet.account.totals.posted, 7_500);

    // The stream goes on above the old positions: a device whose cursor is
    // the old head gets what happens after the upgrade.
    assert!(store.head().await.unwrap().0 >= OLD_HEAD);
    let session = store
        .create_session(UserId(1), "new-token", "phone", 1_800_000_000_000)
        .await
        .unwrap();
    let news = store.events_since(UserId(1), StreamPos(OLD_HEAD), 100).await.unwrap();
    assert!(
        news.iter()
            .any(|e| e.data.contains(&format!("\"id\":{}", session.id.0))),
        "{news:?}"
    );
    assert!(news.iter().all(|e| e.pos.0 > OLD_HEAD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_of_the_previous_version_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qiao.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in SQLITE_V4 {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(MIGRATIONS_TABLE).unwrap();
        conn.execute_batch(OLD_ROWS).unwrap();
    }
    check_upgrade(Location::Sqlite(path)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_of_the_previous_version_keeps_working() {
    let name = format!("qiao_upgrade_{:016x}", rand::random::<u64>());
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
    let setup = {
        let (name, url) = (name.clone(), url.clone());
        move || {
            let mut admin =
                postgres::Client::connect("postgres://postgres@127.0.0.1:5432/test", postgres::NoTls).unwrap();
            admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            for sql in POSTGRES_V4 {
                client.batch_execute(sql).unwrap();
            }
            client.batch_execute(MIGRATIONS_TABLE).unwrap();
            client.batch_execute(OLD_ROWS).unwrap();
            // The rows above name their ids; a real database's sequences moved on with them.
            for table in ["users", "cards", "ledger_accounts", "ledger_transfers"] {
                client
                    .batch_execute(&format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), 100)"))
                    .unwrap();
            }
        }
    };
    tokio::task::spawn_blocking(setup).await.unwrap();
    check_upgrade(Location::Postgres(url)).await;
    tokio::task::spawn_blocking(move || {
        let mut admin = postgres::Client::connect("postgres://postgres@127.0.0.1:5432/test", postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
    })
    .await
    .unwrap();
}
