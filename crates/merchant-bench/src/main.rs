//! Merchant payments per second, end to end over HTTP, on SQLite and
//! PostgreSQL in one run: `--users` customers with money and a no-PIN limit,
//! `--merchants` merchants each with an API key and a notification URL on a
//! local receiver. Each payment is what happens at a till: the customer's
//! app shows a new payment code (`POST /api/wallet/payment-code`), the point
//! of sale charges it (`POST /api/merchant/v1/payment-codes/charge`), the
//! money moves, and the merchant's server is notified (signed, from the
//! outbox, by the server's own deliverer). `--clients` tills work at once.
//!
//! Reported: payments per second, the latency of the charge and of the whole
//! payment (code + charge) at p50/p90/p99/max, and how many notifications
//! reached the receiver. The ledger must reconcile at the end.
//!
//! The server runs in process on 127.0.0.1 with production settings (except
//! that notifications may go to 127.0.0.1); customers, merchants and money
//! are set up through the store, so the timed part is only the paying.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use qiao_domain::card::Funding;
use qiao_domain::identity::{Language, Region};
use qiao_domain::ids::CardId;
use qiao_domain::journal::{LedgerKey, Memo};
use qiao_domain::ledger::{AccountKind, Owner};
use qiao_domain::money::{Amount, Currency};
use qiao_store::{CardRecord, NewMerchant, NewTransfer, NewUser, Store};
use rand::Rng;

#[derive(Parser)]
#[command(about = "Merchant payments per second over HTTP: payment codes shown and charged")]
struct Args {
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    #[arg(long, default_value_t = 100)]
    merchants: usize,
    /// Tills charging at once.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds of measured paying (after a two-second warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// PostgreSQL server (a fresh database is created and dropped).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres_admin: String,
    #[arg(long)]
    sqlite_only: bool,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The merchants' server: counts notifications, answers 200.
async fn receiver() -> anyhow::Result<(String, Arc<AtomicUsize>)> {
    let got = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&got);
    let router = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |_body: String| {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/notify", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok((url, got))
}

struct World {
    store: Arc<dyn Store>,
    base: String,
    /// Customers' bearer tokens.
    customers: Vec<String>,
    /// Merchants' API keys.
    keys: Vec<String>,
    notified: Arc<AtomicUsize>,
}

async fn setup(database: Option<String>, args: &Args, dir: &std::path::Path) -> anyhow::Result<World> {
    let (notify_url, notified) = receiver().await?;
    let mut config = qiao_server::Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.to_path_buf(),
        database,
        notify_allow_private: true,
        notify_poll_seconds: 1,
        ..qiao_server::Config::default()
    };
    // Nobody's day may run out during the run.
    for caps in config.spending_caps.values_mut() {
        caps.per_day_minor = i64::MAX / 4;
    }
    let app = qiao_server::Application::build(config).await?;
    let base = format!("http://{}", app.local_addr()?);
    let store = Arc::clone(&app.state.store);
    tokio::spawn(app.run());

    let now = now_ms();
    let bank = store
        .ledger_account(
            AccountKind::BankClearing,
            &Owner::Connector {
                name: "bench".into(),
                shard: qiao_domain::ledger::Shard::LEGACY,
            },
            Currency::Cny,
            now,
        )
        .await?;
    // Customers are set up 64 at a time (the writer batches them).
    let mut customers = Vec::with_capacity(args.users);
    for chunk in (0..args.users).collect::<Vec<_>>().chunks(64) {
        let made = futures_util::future::join_all(chunk.iter().map(|n| customer(&store, *n, bank.id, now))).await;
        for token in made {
            customers.push(token?);
        }
    }
    let mut keys = Vec::with_capacity(args.merchants);
    for n in 0..args.merchants {
        let owner = store
            .create_user(NewUser {
                phone: Some(format!("+1555{n:07}")),
                email: None,
                phone_hash: None,
                password_hash: "unused".into(),
                display_name: format!("merchant owner {n}"),
                region: Region::Us,
                language: Language::EnUs,
                now_ms: now,
            })
            .await?;
        let card = store
            .add_card(CardRecord {
                id: CardId(0),
                user_id: owner.id,
                connector: "sandbox".into(),
                token: format!("bench-{n}"),
                last4: "4242".into(),
                brand: "visa".into(),
                funding: Funding::Debit,
                created_at_ms: now,
                fingerprint: None,
            })
            .await?;
        let merchant = store
            .create_merchant(
                NewMerchant {
                    owner: owner.id,
                    legal_name: format!("Shop {n} Ltd"),
                    display_name: format!("Shop {n}"),
                    country: "CN".into(),
                    city: "Shanghai".into(),
                    mcc: "5411".into(),
                    currency: Currency::Cny,
                    settlement_card: card.id,
                    notify_url: Some(notify_url.clone()),
                    signing_secret: format!("whsec_bench_{n}"),
                },
                now,
            )
            .await?;
        let key = format!("{}bench{n:08}", qiao_service::money::merchant::API_KEY_PREFIX);
        store
            .create_api_key(
                merchant.id,
                &qiao_service::money::merchant::hash_api_key(&key),
                "qk_live_",
                "bench",
                now,
            )
            .await?;
        keys.push(key);
    }
    Ok(World {
        store,
        base,
        customers,
        keys,
        notified,
    })
}

/// A customer with ¥1,000,000, a PIN and a no-PIN limit of ¥1,000, signed in.
async fn customer(
    store: &Arc<dyn Store>,
    n: usize,
    bank: qiao_store::LedgerAccountId,
    now: i64,
) -> anyhow::Result<String> {
    let user = store
        .create_user(NewUser {
            phone: Some(format!("+86139{n:08}")),
            email: None,
            phone_hash: None,
            password_hash: "unused".into(),
            display_name: format!("customer {n}"),
            region: Region::Cn,
            language: Language::ZhCn,
            now_ms: now,
        })
        .await?;
    let token = qiao_server::auth::new_token();
    store
        .create_session(user.id, &qiao_server::auth::token_hash(&token), "bench", now)
        .await?;
    store.set_pin(user.id, "unused-hash", false, now).await?;
    store.set_no_pin_limit(user.id, 100_000).await?;
    let wallet = store
        .ledger_account(AccountKind::Wallet, &Owner::User(user.id), Currency::Cny, now)
        .await?;
    let key = LedgerKey::parse(&format!("top-up:{}:bench", user.id)).context("key")?;
    let money = Amount::new(100_000_000, Currency::Cny)?;
    store
        .transfer(
            NewTransfer::posted(key, bank, wallet.id, money, Memo::TopUp { card: CardId(0) }),
            now,
        )
        .await?;
    Ok(token)
}

/// One payment at a till: the customer shows a code, the till charges it.
/// Each till serves its own customers (`till` of `tills`): a person stands
/// at one till at a time, and a new code on their phone retires the last.
async fn pay(
    http: &reqwest::Client,
    world: &World,
    n: u64,
    till: usize,
    tills: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let (customer, merchant, amount) = {
        let mut rng = rand::thread_rng();
        let mine = world.customers.len() / tills;
        (
            till * mine + rng.gen_range(0..mine.max(1)),
            rng.gen_range(0..world.keys.len()),
            rng.gen_range(100..5_000),
        )
    };
    let started = Instant::now();
    let code: serde_json::Value = http
        .post(format!("{}/api/wallet/payment-code", world.base))
        .bearer_auth(&world.customers[customer])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let charging = Instant::now();
    let charged: serde_json::Value = http
        .post(format!("{}/api/merchant/v1/payment-codes/charge", world.base))
        .bearer_auth(&world.keys[merchant])
        .json(&serde_json::json!({
            "code": code["code"], "amount_minor": amount, "out_trade_no": format!("b{n}"), "description": "bench"
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    anyhow::ensure!(charged["status"] == "paid", "not paid: {charged}");
    Ok((charging.elapsed(), started.elapsed()))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

async fn measure(engine: &str, database: Option<String>, args: &Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let world = Arc::new(setup(database, args, dir.path()).await?);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let run = |secs: u64| {
        let tills = args.clients;
        let tasks: Vec<_> = (0..args.clients)
            .map(|till| {
                let (world, http, counter) = (Arc::clone(&world), http.clone(), Arc::clone(&counter));
                tokio::spawn(async move {
                    let deadline = Instant::now() + Duration::from_secs(secs);
                    let mut times = Vec::new();
                    while Instant::now() < deadline {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        times.push(pay(&http, &world, n, till, tills).await?);
                    }
                    anyhow::Ok(times)
                })
            })
            .collect();
        async move {
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await??);
            }
            anyhow::Ok(all)
        }
    };
    run(2).await?;
    let before = world.notified.load(Ordering::Relaxed);
    let started = Instant::now();
    let times = run(args.seconds).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let mut charge: Vec<Duration> = times.iter().map(|t| t.0).collect();
    let mut whole: Vec<Duration> = times.iter().map(|t| t.1).collect();
    charge.sort();
    whole.sort();
    // Every notification of the run reaches the receiver within a few polls.
    let expected = before + times.len();
    let waited = Instant::now();
    while world.notified.load(Ordering::Relaxed) < expected && waited.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let delivered = world.notified.load(Ordering::Relaxed) - before;
    println!(
        "{:<11} {:>8} {:>10.0} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>10.1} {:>10.1} {:>10}",
        engine,
        times.len(),
        times.len() as f64 / elapsed,
        percentile(&charge, 0.5),
        percentile(&charge, 0.9),
        percentile(&charge, 0.99),
        percentile(&charge, 1.0),
        percentile(&whole, 0.5),
        percentile(&whole, 0.99),
        delivered,
    );
    let report = world.store.reconcile().await?;
    anyhow::ensure!(report.is_sound(), "{}", report.render());
    anyhow::ensure!(
        delivered >= times.len(),
        "{delivered} of {} notifications delivered",
        times.len()
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    println!(
        "{} customers, {} merchants, {} tills at once, {} s measured; each payment = show a payment code + charge it",
        args.users, args.merchants, args.clients, args.seconds
    );
    println!(
        "{:<11} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10} {:>10}",
        "engine",
        "payments",
        "payments/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "whole p50",
        "whole p99",
        "notified"
    );
    runtime.block_on(measure("sqlite", None, &args))?;
    if !args.sqlite_only {
        let name = format!("qiao_merchant_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = args.postgres_admin.clone();
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).context("connecting to PostgreSQL")?;
        client.batch_execute(&format!("CREATE DATABASE {name}"))?;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
        let result = runtime.block_on(measure("postgresql", Some(format!("{base}/{name}")), &args));
        let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        result?;
    }
    println!("every payment was charged once and notified; the ledger reconciles");
    Ok(())
}
