//! Red packets under a crowd, in one program on SQLite and PostgreSQL:
//!
//! - **crowd**: one lucky packet of 500 shares in a 500-member group, opened
//!   by 500 HTTP clients at the same instant: the time until every open has
//!   been answered (each share settled, durably, exactly once);
//! - **hot packet**: opens per second on a single packet that everyone is
//!   opening, over HTTP (500 clients) and straight at the store (500 tasks,
//!   no HTTP), repeated over several packets.
//!
//! The server runs in process on 127.0.0.1 with production settings; users,
//! the group and the money are set up through the store, so the timed part
//! is only the opening.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use futures_util::future::join_all;
use qiao_domain::identity::{Language, Region};
use qiao_domain::ids::{CardId, ClientMsgId, ConversationId, PaymentId, UserId};
use qiao_domain::journal::{LedgerKey, Memo};
use qiao_domain::ledger::{AccountKind, Owner};
use qiao_domain::money::{Amount, Currency};
use qiao_domain::payment::{PaymentKind, Split};
use qiao_store::{NewPayment, NewTransfer, NewUser, PaySource, Store};

#[derive(Parser)]
#[command(about = "Red packets: 500 shares opened by 500 clients at once; opens/s on a hot packet")]
struct Args {
    /// Group members (the sender included), all of whom open; at most 500.
    #[arg(long, default_value_t = 500)]
    members: usize,
    /// Packets opened per measurement (after one warm-up packet).
    #[arg(long, default_value_t = 5)]
    packets: usize,
    /// PostgreSQL server (a fresh database is created and dropped).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres_admin: String,
    #[arg(long)]
    sqlite_only: bool,
}

struct Crowd {
    store: Arc<dyn Store>,
    sender: UserId,
    group: ConversationId,
    /// Every member with a bearer token, the sender first.
    members: Vec<(UserId, String)>,
    base: String,
    http: reqwest::Client,
    packets_sent: usize,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

async fn setup(database: Option<String>, members: usize) -> anyhow::Result<(Crowd, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let config = qiao_server::Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        database,
        ..qiao_server::Config::default()
    };
    let app = qiao_server::Application::build(config).await?;
    let base = format!("http://{}", app.local_addr()?);
    let store = Arc::clone(&app.state.store);
    tokio::spawn(app.run());

    let now = now_ms();
    let mut users = Vec::with_capacity(members);
    for n in 0..members {
        let user = store
            .create_user(NewUser {
                phone: Some(format!("+1555{n:07}")),
                email: None,
                phone_hash: None,
                password_hash: "unused".into(),
                display_name: format!("member {n}"),
                region: Region::Us,
                language: Language::EnUs,
                now_ms: now,
            })
            .await?;
        let token = qiao_server::auth::new_token();
        store
            .create_session(user.id, &qiao_server::auth::token_hash(&token), "bench", now)
            .await?;
        users.push((user.id, token));
    }
    let sender = users[0].0;
    for (member, _) in &users[1..] {
        let request = store.request_friend(sender, *member, "hi", now).await?;
        store.accept_friend(*member, request.id, now).await?;
    }
    let others: Vec<UserId> = users[1..].iter().map(|(id, _)| *id).collect();
    let group = store.create_group(sender, "crowd", &others, now).await?;
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
    let wallet = store
        .ledger_account(AccountKind::Wallet, &Owner::User(sender), Currency::Usd, now)
        .await?;
    store
        .transfer(
            NewTransfer::posted(
                LedgerKey::TopUp {
                    user: sender,
                    client: ClientMsgId::parse("bench-funding")?,
                },
                bank.id,
                wallet.id,
                Amount::new(1_000_000_000, Currency::Usd)?,
                Memo::TopUp { card: CardId(0) },
            ),
            now,
        )
        .await?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(members).build()?;
    Ok((
        Crowd {
            store,
            sender,
            group,
            members: users,
            base,
            http,
            packets_sent: 0,
        },
        dir,
    ))
}

impl Crowd {
    async fn send_packet(&mut self) -> anyhow::Result<PaymentId> {
        self.packets_sent += 1;
        let shares = self.members.len() as u32;
        let (packet, _) = self
            .store
            .send_payment(
                NewPayment {
                    sender: self.sender,
                    client_key: ClientMsgId::parse(&format!("packet-{}", self.packets_sent))?,
                    conversation: self.group,
                    recipient: None,
                    kind: PaymentKind::RedPacket,
                    split: Some(Split::Lucky),
                    amount: Amount::new(i64::from(shares) * 100, Currency::Usd)?,
                    count: shares,
                    note: "恭喜发财".into(),
                    source: PaySource::Balance,
                    seed: self.packets_sent as u64,
                    cap: None,
                    pricing: None,
                    quote: None,
                },
                now_ms(),
            )
            .await?;
        Ok(packet.id)
    }

    /// Everyone opens `packet` over HTTP at once; the time until all are answered.
    async fn open_over_http(&self, packet: PaymentId) -> anyhow::Result<Duration> {
        let url = format!("{}/api/payments/{packet}/open", self.base);
        let started = Instant::now();
        let opens = self.members.iter().map(|(_, token)| {
            let request = self.http.post(&url).bearer_auth(token).send();
            async move { request.await.map(|r| r.status().as_u16()) }
        });
        let answers = join_all(opens).await;
        let elapsed = started.elapsed();
        let opened = answers.iter().filter(|a| matches!(a, Ok(200))).count();
        anyhow::ensure!(
            opened == self.members.len(),
            "only {opened} opens succeeded: {answers:?}"
        );
        Ok(elapsed)
    }

    /// Everyone opens `packet` through the store at once (no HTTP).
    async fn open_at_store(&self, packet: PaymentId) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let opens = self.members.iter().map(|(user, _)| {
            let store = Arc::clone(&self.store);
            let user = *user;
            tokio::spawn(async move { store.open_red_packet(user, packet, now_ms()).await })
        });
        let answers = join_all(opens).await;
        let elapsed = started.elapsed();
        let opened = answers.iter().filter(|a| matches!(a, Ok(Ok(_)))).count();
        anyhow::ensure!(opened == self.members.len(), "only {opened} opens succeeded");
        Ok(elapsed)
    }
}

fn summarize(engine: &str, path: &str, shares: usize, times: &mut [Duration]) {
    times.sort();
    let total: Duration = times.iter().sum();
    let opens = (shares * times.len()) as f64;
    println!(
        "{engine:<11} {path:<6} {shares:>6} {:>10.1} {:>10.1} {:>12.0}",
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times[times.len() - 1].as_secs_f64() * 1000.0,
        opens / total.as_secs_f64()
    );
}

async fn measure(engine: &str, database: Option<String>, args: &Args) -> anyhow::Result<()> {
    let (mut crowd, _dir) = setup(database, args.members).await?;
    let warm = crowd.send_packet().await?;
    crowd.open_over_http(warm).await?;
    let mut http = Vec::new();
    for _ in 0..args.packets {
        let packet = crowd.send_packet().await?;
        http.push(crowd.open_over_http(packet).await?);
    }
    summarize(engine, "http", args.members, &mut http);
    let mut store = Vec::new();
    for _ in 0..args.packets {
        let packet = crowd.send_packet().await?;
        store.push(crowd.open_at_store(packet).await?);
    }
    summarize(engine, "store", args.members, &mut store);
    let report = crowd.store.reconcile().await?;
    anyhow::ensure!(report.is_sound(), "{}", report.render());
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!((2..=500).contains(&args.members), "--members must be 2..=500");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    println!(
        "{} members open each of {} packets of {} shares at once",
        args.members, args.packets, args.members
    );
    println!(
        "{:<11} {:<6} {:>6} {:>10} {:>10} {:>12}",
        "engine", "path", "shares", "p50 ms", "max ms", "opens/s"
    );
    runtime.block_on(measure("sqlite", None, &args))?;
    if !args.sqlite_only {
        let name = format!("qiao_rp_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = args.postgres_admin.clone();
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).context("connecting to PostgreSQL")?;
        client.batch_execute(&format!("CREATE DATABASE {name}"))?;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
        let result = runtime.block_on(measure("postgresql", Some(format!("{base}/{name}")), &args));
        let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        result?;
    }
    println!("every share of every packet went to exactly one member; the ledger reconciles");
    Ok(())
}
