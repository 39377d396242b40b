//! `qiao-write-bench`: durable messages (or, with `--payments`, in-chat
//! transfers; with `--top-ups`, wallet top-ups from a sandbox card, each a
//! reserve, the bank's answer and a posting) per second through one or
//! several Qiao nodes that share one
//! PostgreSQL database. Registers pairs of friends (through the first node),
//! then keeps `--window` sends in flight for `--seconds`, each through its
//! sender's node (senders are spread evenly over the nodes), and counts the
//! sends answered 2xx: each is committed to the database before it is
//! answered. For transfers and top-ups, each sender first proves their phone (the code
//! is read from the first node's sandbox outbox), binds a sandbox card, tops
//! up and allows small payments without a PIN.
//!
//! Used by `scripts/bench-write-path.sh`, which puts the nodes in a network
//! namespace with added latency to PostgreSQL; talks only to 127.0.0.x.

#[path = "api.rs"]
#[allow(dead_code)] // shared with qiao-bench, which uses all of it
mod api;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use hdrhistogram::Histogram;

#[derive(Parser, Debug)]
#[command(
    name = "qiao-write-bench",
    about = "Durable messages per second through several Qiao nodes"
)]
struct Cli {
    /// A node's base URL, on 127.0.0.x (repeat for each node).
    #[arg(long = "url", required = true)]
    urls: Vec<String>,
    /// Pairs of friends, one direct conversation each.
    #[arg(long, default_value_t = 256)]
    pairs: usize,
    /// Sends in flight.
    #[arg(long, default_value_t = 512)]
    window: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Setup calls in flight.
    #[arg(long, default_value_t = 32)]
    setup_concurrency: usize,
    /// Send transfers of one minor unit instead of text messages.
    #[arg(long, requires = "outbox", conflicts_with = "top_ups")]
    payments: bool,
    /// Top wallets up by one minor unit from a card instead.
    #[arg(long, requires = "outbox")]
    top_ups: bool,
    /// The first node's sandbox SMS outbox (`<data dir>/outbox.jsonl`), for
    /// the senders' verification codes (with `--payments` or `--top-ups`).
    #[arg(long)]
    outbox: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    for url in &cli.urls {
        let host = url.trim_start_matches("http://");
        if !host.starts_with("127.") {
            bail!("{url}: only loopback nodes (127.0.0.x)");
        }
    }
    if cli.pairs == 0 || cli.window == 0 {
        bail!("--pairs and --window must be positive");
    }
    let run = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        % 1_000_000) as u32;
    let timeout = Duration::from_secs(60);
    let clients: Vec<reqwest::Client> = (0..8)
        .map(|i| api::http_client(i, timeout))
        .collect::<anyhow::Result<_>>()?;
    let setup = api::Api {
        http: clients[0].clone(),
        base: cli.urls[0].clone(),
    };

    let started = Instant::now();
    let conversations = make_pairs(&setup, run, cli.pairs, cli.setup_concurrency).await?;
    let mut cards = Vec::new();
    if let Some(outbox) = cli.outbox.as_deref().filter(|_| cli.payments || cli.top_ups) {
        let senders: Vec<api::User> = conversations.iter().map(|(_, u)| u.clone()).collect();
        let semaphore = Arc::new(tokio::sync::Semaphore::new(cli.setup_concurrency.max(1)));
        let mut tasks = Vec::new();
        for sender in senders {
            let (setup, semaphore, outbox) = (setup.clone(), semaphore.clone(), outbox.to_owned());
            tasks.push(tokio::spawn(async move {
                let _permit = semaphore.acquire().await?;
                ready_to_pay(&setup, run, &sender, &outbox).await
            }));
        }
        for task in tasks {
            cards.push(task.await??);
        }
    }
    let cards = Arc::new(cards);
    eprintln!(
        "setup: {} conversations in {:.1} s",
        conversations.len(),
        started.elapsed().as_secs_f64()
    );

    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?));
    let conversations = Arc::new(conversations);
    let urls = Arc::new(cli.urls.clone());
    let begun = Instant::now();
    let mut workers = Vec::new();
    let (payments, top_ups) = (cli.payments, cli.top_ups);
    for w in 0..cli.window {
        let (sent, failed, stop, latencies) = (sent.clone(), failed.clone(), stop.clone(), latencies.clone());
        let cards = cards.clone();
        let (conversations, urls, http) = (conversations.clone(), urls.clone(), clients[w % clients.len()].clone());
        workers.push(tokio::spawn(async move {
            let mut own = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).context("histogram")?;
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let pick = (w + n * stride(conversations.len())) % conversations.len();
                let (conversation, ref sender) = conversations[pick];
                // Each sender's device stays on one node, as behind a load
                // balancer with sticky sessions.
                let base = &urls[pick % urls.len()];
                let t = Instant::now();
                let key = format!("w{run}-{w}-{n}");
                let result = if payments {
                    send_transfer(&http, base, &sender.token, conversation, key).await
                } else if top_ups {
                    top_up(&http, base, &sender.token, cards[pick], key).await
                } else {
                    api::send_text(&http, base, &sender.token, conversation, key, "durable?".into())
                        .await
                        .map(|_| ())
                };
                match result {
                    Ok(_) => {
                        sent.fetch_add(1, Ordering::Relaxed);
                        own.record(t.elapsed().as_micros() as u64).ok();
                    }
                    Err(e) => {
                        if failed.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!("send failed: {e:#}");
                        }
                    }
                }
                n += 1;
            }
            latencies
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .add(&own)
                .context("merge")?;
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(cli.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let sent_at_stop = sent.load(Ordering::Relaxed);
    let elapsed = begun.elapsed().as_secs_f64();
    for worker in workers {
        worker.await??;
    }
    let failed = failed.load(Ordering::Relaxed);
    let h = latencies.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "nodes {} | durable {}/s {:.0} | sent {} in {:.1} s | failed {} | latency ms p50 {:.1} p99 {:.1} max {:.1}",
        cli.urls.len(),
        match (cli.payments, cli.top_ups) {
            (true, _) => "transfers",
            (_, true) => "top-ups",
            _ => "messages",
        },
        sent_at_stop as f64 / elapsed,
        sent_at_stop,
        elapsed,
        failed,
        ms(0.5),
        ms(0.99),
        h.max() as f64 / 1000.0
    );
    if failed > 0 {
        bail!("{failed} sends failed");
    }
    Ok(())
}

/// Step between a worker's successive conversations, so that workers spread
/// over all of them rather than queueing on one.
fn stride(conversations: usize) -> usize {
    if conversations > 1 {
        conversations / 2 + 1
    } else {
        1
    }
}

/// Registers `pairs` pairs of friends; returns each pair's conversation with
/// one of its two users as the sender.
async fn make_pairs(
    setup: &api::Api,
    run: u32,
    pairs: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<(i64, api::User)>> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::new();
    for p in 0..pairs {
        let (setup, semaphore) = (setup.clone(), semaphore.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire().await?;
            let a = setup.register(run, 2 * p).await?;
            let b = setup.register(run, 2 * p + 1).await?;
            let conversation = setup.befriend(&a, &b).await?;
            let sender = if p % 2 == 0 { a } else { b };
            anyhow::Ok((conversation, sender))
        }));
    }
    let mut out = Vec::with_capacity(pairs);
    for task in tasks {
        out.push(task.await??);
    }
    Ok(out)
}

/// What each sender's wallet needs before it can pay: a proven phone, a
/// bound sandbox card, money, and small payments allowed without a PIN.
/// Returns the card's id.
async fn ready_to_pay(setup: &api::Api, run: u32, sender: &api::User, outbox: &std::path::Path) -> anyhow::Result<i64> {
    use serde_json::{json, Value};
    let code = code_for(outbox, &sender.phone).await?;
    let token = Some(sender.token.as_str());
    let _: Value = setup
        .call(
            "/api/me/verification/confirm",
            token,
            &json!({"kind": "phone", "code": code}),
        )
        .await?;
    let password = format!("bench-password-{run}");
    let card: Value = setup
        .call(
            "/api/wallet/cards",
            token,
            &json!({"number": "4242424242424242", "funding": "debit", "password": password}),
        )
        .await?;
    let _: Value = setup
        .call(
            "/api/wallet/top-ups",
            token,
            &json!({"card_id": card["id"], "amount_minor": 100_000, "idempotency_key": format!("fund-{}", sender.id)}),
        )
        .await?;
    let pin = "135790";
    let _: Value = setup
        .send(
            reqwest::Method::PUT,
            "/api/wallet/pin",
            token,
            &json!({"password": password, "pin": pin}),
        )
        .await?;
    let _: Value = setup
        .send(
            reqwest::Method::PUT,
            "/api/wallet/pin/no-pin-limit",
            token,
            &json!({"pin": pin, "limit_minor": 1_000}),
        )
        .await?;
    card["id"].as_i64().context("card without an id")
}

/// The newest verification code the sandbox outbox holds for `phone`,
/// waiting (bounded) for the server to write it.
async fn code_for(outbox: &std::path::Path, phone: &str) -> anyhow::Result<String> {
    for _ in 0..100 {
        let text = tokio::fs::read_to_string(outbox).await.unwrap_or_default();
        let code = text
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|m| m["to"] == phone)
            .filter_map(|m| {
                m["body"].as_str().and_then(|body| {
                    body.split(|c: char| !c.is_ascii_digit())
                        .find(|p| p.len() == 6)
                        .map(str::to_owned)
                })
            })
            .next_back();
        if let Some(code) = code {
            return Ok(code);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("no verification code for {phone} in {}", outbox.display())
}

/// Sends a transfer of one minor unit into a direct conversation.
async fn send_transfer(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    conversation: i64,
    key: String,
) -> anyhow::Result<()> {
    let response = http
        .post(format!("{base}/api/conversations/{conversation}/transfers"))
        .bearer_auth(token)
        .json(&serde_json::json!({"idempotency_key": key, "amount_minor": 1}))
        .send()
        .await?;
    api::successful(response, "transfer").await.map(|_| ())
}

/// Tops the wallet up by one minor unit from the sender's card.
async fn top_up(http: &reqwest::Client, base: &str, token: &str, card: i64, key: String) -> anyhow::Result<()> {
    let response = http
        .post(format!("{base}/api/wallet/top-ups"))
        .bearer_auth(token)
        .json(&serde_json::json!({"card_id": card, "amount_minor": 1, "idempotency_key": key}))
        .send()
        .await?;
    api::successful(response, "top-up").await.map(|_| ())
}
