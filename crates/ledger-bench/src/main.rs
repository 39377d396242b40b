//! Durable ledger transfers per second, side by side in one run:
//!
//! - **qiao**: `Store::transfer` through Qiao's writer, which commits many
//!   transfers per transaction (group commit), with thousands in flight;
//! - **naive**: one database transaction per transfer — lock both accounts,
//!   check the balance, update both, insert the transfer, commit — from
//!   several connections (PostgreSQL) or one (SQLite, which has one writer).
//!
//! Both run on the same engine settings: SQLite in WAL mode with
//! `synchronous = FULL`, PostgreSQL with its defaults (`fsync` on,
//! `synchronous_commit` on). A transfer counts when its commit returned.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use qiao_domain::ids::{CardId, ClientMsgId, PaymentId, UserId};
use qiao_domain::journal::{LedgerKey, Memo};
use qiao_domain::ledger::{AccountKind, Owner};
use qiao_domain::money::{Amount, Currency};
use qiao_store::{Location, NewTransfer, NoSink, Store};
use rand::Rng;

#[derive(Parser)]
#[command(about = "Durable ledger transfers/s: Qiao's batching writer vs one transaction per transfer")]
struct Args {
    /// Accounts transfers move money between.
    #[arg(long, default_value_t = 10_000)]
    accounts: usize,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Transfers in flight against Qiao's writer.
    #[arg(long, default_value_t = 4096)]
    in_flight: usize,
    /// Connections the naive PostgreSQL baseline uses.
    #[arg(long, default_value_t = 16)]
    naive_connections: usize,
    /// PostgreSQL server (a fresh database is created and dropped).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres_admin: String,
    /// Skip PostgreSQL.
    #[arg(long)]
    sqlite_only: bool,
}

const FUNDING_MINOR: i64 = 1_000_000_000;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    println!(
        "{} accounts, {} s per run, {} in flight for qiao",
        args.accounts, args.seconds, args.in_flight
    );
    println!(
        "{:<12} {:<8} {:>14} {:>10}",
        "engine", "method", "transfers/s", "transfers"
    );

    let dir = tempfile::tempdir()?;
    let qiao_sqlite = runtime.block_on(qiao_run(Location::Sqlite(dir.path().join("qiao.db")), &args))?;
    report("sqlite", "qiao", qiao_sqlite);
    let naive_sqlite = naive_sqlite(&dir.path().join("naive.db"), &args)?;
    report("sqlite", "naive", naive_sqlite);
    println!(
        "sqlite: qiao is {:.1}x the naive baseline",
        qiao_sqlite.0 / naive_sqlite.0
    );

    if !args.sqlite_only {
        let (qiao_db, qiao_url) = create_pg_database(&args.postgres_admin)?;
        let qiao_pg = runtime.block_on(qiao_run(Location::Postgres(qiao_url), &args));
        let (naive_db, naive_url) = create_pg_database(&args.postgres_admin)?;
        let naive_pg = naive_postgres(&naive_url, &args);
        drop_pg_database(&args.postgres_admin, &qiao_db);
        drop_pg_database(&args.postgres_admin, &naive_db);
        let (qiao_pg, naive_pg) = (qiao_pg?, naive_pg?);
        report("postgresql", "qiao", qiao_pg);
        report("postgresql", "naive", naive_pg);
        println!("postgresql: qiao is {:.1}x the naive baseline", qiao_pg.0 / naive_pg.0);
    }
    Ok(())
}

fn report(engine: &str, method: &str, (rate, count): (f64, u64)) {
    println!("{engine:<12} {method:<8} {rate:>14.0} {count:>10}");
}

/// Qiao's store: fund the accounts, then keep `in_flight` transfers going.
async fn qiao_run(location: Location, args: &Args) -> anyhow::Result<(f64, u64)> {
    let store: Arc<dyn Store> =
        Arc::new(tokio::task::spawn_blocking(move || qiao_store::open(&location, Arc::new(NoSink))).await??);
    let now = 1_700_000_000_000;
    let bank = store
        .ledger_account(
            AccountKind::BankClearing,
            &Owner::Connector {
                name: "bench".into(),
                shard: qiao_domain::ledger::Shard::LEGACY,
            },
            Currency::Usd,
            now,
        )
        .await?;
    let mut accounts = Vec::with_capacity(args.accounts);
    let mut opening = Vec::new();
    for i in 0..args.accounts {
        let store = Arc::clone(&store);
        opening.push(tokio::spawn(async move {
            let account = store
                .ledger_account(AccountKind::Wallet, &Owner::User(UserId(i as i64)), Currency::Usd, now)
                .await?;
            let key = LedgerKey::TopUp {
                user: UserId(i as i64),
                client: ClientMsgId::parse("fund").map_err(anyhow::Error::msg)?,
            };
            let amount = Amount::new(FUNDING_MINOR, Currency::Usd).map_err(anyhow::Error::msg)?;
            let funding = NewTransfer::posted(key, bank.id, account.id, amount, Memo::TopUp { card: CardId(0) });
            store.transfer(funding, now).await?;
            anyhow::Ok(account.id)
        }));
    }
    for task in opening {
        accounts.push(task.await??);
    }
    let accounts = Arc::new(accounts);
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..args.in_flight {
        let (store, accounts, done, stop) = (
            Arc::clone(&store),
            Arc::clone(&accounts),
            Arc::clone(&done),
            Arc::clone(&stop),
        );
        workers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (from, to) = pick(&accounts);
                // Shaped like chat sends: a worker is a sender, its count the client's key.
                let key = LedgerKey::ChatSend {
                    user: UserId(worker as i64),
                    client: ClientMsgId::parse(&format!("t{n}")).map_err(anyhow::Error::msg)?,
                };
                let amount = Amount::new(1, Currency::Usd).map_err(anyhow::Error::msg)?;
                let transfer = NewTransfer::posted(key, from, to, amount, Memo::Transfer { payment: PaymentId(0) });
                store.transfer(transfer, now).await?;
                done.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    let count = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await??;
    }
    let report = store.reconcile().await?;
    anyhow::ensure!(report.is_sound(), "the ledger does not reconcile:\n{}", report.render());
    Ok((count as f64 / elapsed, count))
}

fn pick<T: Copy>(items: &[T]) -> (T, T) {
    let mut rng = rand::thread_rng();
    let from = rng.gen_range(0..items.len());
    let mut to = rng.gen_range(0..items.len() - 1);
    if to >= from {
        to += 1;
    }
    (items[from], items[to])
}

const NAIVE_SCHEMA: &str = "
    CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL CHECK (balance >= 0));
    CREATE TABLE transfers (id BIGINT PRIMARY KEY, debit BIGINT NOT NULL, credit BIGINT NOT NULL, amount BIGINT NOT NULL);";

/// One SQLite transaction per transfer (SQLite has one writer at a time).
fn naive_sqlite(path: &std::path::Path, args: &Args) -> anyhow::Result<(f64, u64)> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    conn.execute_batch(NAIVE_SCHEMA)?;
    {
        let tx = conn.transaction()?;
        for i in 0..args.accounts as i64 {
            tx.execute("INSERT INTO accounts (id, balance) VALUES (?1, ?2)", (i, FUNDING_MINOR))?;
        }
        tx.commit()?;
    }
    let ids: Vec<i64> = (0..args.accounts as i64).collect();
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed().as_secs_f64() < args.seconds {
        let (from, to) = pick(&ids);
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let balance: i64 = tx.query_row("SELECT balance FROM accounts WHERE id = ?1", [from], |r| r.get(0))?;
        anyhow::ensure!(balance >= 1, "insufficient funds in the baseline");
        tx.execute("UPDATE accounts SET balance = balance - 1 WHERE id = ?1", [from])?;
        tx.execute("UPDATE accounts SET balance = balance + 1 WHERE id = ?1", [to])?;
        tx.execute(
            "INSERT INTO transfers (id, debit, credit, amount) VALUES (?1, ?2, ?3, 1)",
            (count as i64, from, to),
        )?;
        tx.commit()?;
        count += 1;
    }
    Ok((count as f64 / started.elapsed().as_secs_f64(), count))
}

/// One PostgreSQL transaction per transfer from several connections, locking
/// both accounts in id order (no deadlocks).
fn naive_postgres(url: &str, args: &Args) -> anyhow::Result<(f64, u64)> {
    let mut setup = postgres::Client::connect(url, postgres::NoTls)?;
    setup.batch_execute(NAIVE_SCHEMA)?;
    setup.execute(
        "INSERT INTO accounts (id, balance) SELECT g, $1::bigint FROM generate_series(0::bigint, $2::bigint) g",
        &[&FUNDING_MINOR, &(args.accounts as i64 - 1)],
    )?;
    let ids: Arc<Vec<i64>> = Arc::new((0..args.accounts as i64).collect());
    let next_id = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let seconds = args.seconds;
    let mut threads = Vec::new();
    for _ in 0..args.naive_connections {
        let (url, ids, next_id) = (url.to_owned(), Arc::clone(&ids), Arc::clone(&next_id));
        threads.push(std::thread::spawn(move || -> anyhow::Result<()> {
            let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
            while started.elapsed().as_secs_f64() < seconds {
                let (from, to) = pick(&ids);
                let mut tx = client.transaction()?;
                let rows = tx.query(
                    "SELECT id, balance FROM accounts WHERE id = $1 OR id = $2 ORDER BY id FOR UPDATE",
                    &[&from, &to],
                )?;
                let balance: i64 = rows
                    .iter()
                    .find(|r| r.get::<_, i64>(0) == from)
                    .context("account")?
                    .get(1);
                anyhow::ensure!(balance >= 1, "insufficient funds in the baseline");
                tx.execute("UPDATE accounts SET balance = balance - 1 WHERE id = $1", &[&from])?;
                tx.execute("UPDATE accounts SET balance = balance + 1 WHERE id = $1", &[&to])?;
                let id = next_id.fetch_add(1, Ordering::Relaxed) as i64;
                tx.execute(
                    "INSERT INTO transfers (id, debit, credit, amount) VALUES ($1, $2, $3, 1)",
                    &[&id, &from, &to],
                )?;
                tx.commit()?;
            }
            Ok(())
        }));
    }
    for thread in threads {
        thread
            .join()
            .map_err(|_| anyhow::anyhow!("baseline thread panicked"))??;
    }
    let count = next_id.load(Ordering::Relaxed);
    Ok((count as f64 / started.elapsed().as_secs_f64(), count))
}

fn create_pg_database(admin: &str) -> anyhow::Result<(String, String)> {
    let name = format!("qiao_ledger_bench_{}", uuid::Uuid::new_v4().simple());
    let mut client = postgres::Client::connect(admin, postgres::NoTls).context("connecting to PostgreSQL")?;
    client.batch_execute(&format!("CREATE DATABASE {name}"))?;
    let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
    Ok((name.clone(), format!("{base}/{name}")))
}

fn drop_pg_database(admin: &str, name: &str) {
    if let Ok(mut client) = postgres::Client::connect(admin, postgres::NoTls) {
        let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}
