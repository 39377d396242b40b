//! The load phases. A message is sent by its sender's own WebSocket
//! (`{"type":"send",…}`, answered by `ack`) or, with `--send-via http`, by
//! `POST /api/conversations/{id}/messages` on keep-alive connections spread
//! over 127.0.0.2–9. Either way it counts as stored once answered.
//!
//! - direct, closed loop: `window` sends in flight, each from a random one
//!   of the two people of a random pair, for a fixed time (maximum rate);
//! - direct, paced: open loop at a fixed offered rate (latency below saturation);
//! - group fan-out: each group's owner keeps `window` sends in flight to the group.
//!
//! A phase ends when its time is up and every delivery its acked messages
//! should produce has arrived (or a drain timeout passed).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use qiao_api::{ClientFrame, SendMessageRequest};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::api::send_text;
use crate::server::{cpu_ticks, Server};
use crate::setup::Population;
use crate::track::Tracker;
use crate::wire::{now_ns, payload};

/// How messages are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// A `send` frame on the sender's WebSocket, answered by `ack`.
    Ws,
    /// `POST /api/conversations/{id}/messages`.
    Http,
}

/// Longest wait for a send's answer.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// What every sender needs.
pub struct Ctx {
    pub via: Via,
    pub base: String,
    pub population: Arc<Population>,
    pub tracker: Arc<Tracker>,
    /// One keep-alive client per source address.
    pub http: Vec<reqwest::Client>,
    pub run: u32,
    pub payload_len: usize,
    /// Unique client message ids across the run.
    pub next_msg: AtomicU64,
    /// The first few send errors, for the report.
    pub error_samples: std::sync::Mutex<Vec<String>>,
}

/// Who sends next.
#[derive(Clone, Copy)]
pub enum Pick {
    /// A random pair, and a random one of the two.
    Direct,
    /// The owner of group `g`.
    Group(usize),
}

/// How a phase went, measured at the senders and the receivers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PhaseReport {
    pub name: String,
    /// Sending time (the phase's configured duration, as it ran).
    pub send_seconds: f64,
    /// From the first send to the last delivery (or the drain timeout).
    pub total_seconds: f64,
    pub acked: u64,
    pub errors: u64,
    pub deliveries: u64,
    pub expected_deliveries: u64,
    pub echoes: u64,
    /// Acked messages per second of sending time.
    pub acked_per_second: f64,
    /// Messages stored and delivered to their online recipients, per second
    /// from the first send to the last delivery.
    pub delivered_messages_per_second: f64,
    /// Frames delivered to recipients other than the sender, per second from
    /// the first send to the last delivery.
    pub deliveries_per_second: f64,
    pub drained: bool,
    /// Send → receive at other members, in microseconds.
    pub latency_us: Percentiles,
    /// Send → HTTP answer, in microseconds.
    pub ack_latency_us: Percentiles,
    /// CPU cores the server and the load generator used, on average.
    pub server_cores: Option<f64>,
    pub bench_cores: Option<f64>,
    /// The server's threads by name, busiest first (cores used on average).
    pub server_threads: Vec<(String, f64)>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Percentiles {
    fn of(h: &hdrhistogram::Histogram<u64>) -> Self {
        Self {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// A cheap per-worker random number generator (xorshift64*), good enough to
/// spread picks; the benchmark needs no other randomness.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Sends one message; records the ack and what it should deliver.
async fn send_one(ctx: &Ctx, phase: usize, worker: usize, conv: usize, sender: usize) {
    let population = &ctx.population;
    let stats = &ctx.tracker.phases[phase];
    let n = ctx.next_msg.fetch_add(1, Ordering::Relaxed);
    let client_msg_id = format!("b{}-{n}", ctx.run);
    let sent = now_ns();
    let text = payload(phase, sent, ctx.payload_len);
    let http = &ctx.http[worker % ctx.http.len()];
    let user = &population.users[sender];
    let id = population.convs[conv].id;
    let outcome = match ctx.via {
        Via::Http => send_text(http, &ctx.base, &user.token, id, client_msg_id, text)
            .await
            .map(drop),
        Via::Ws => send_ws(ctx, sender, id, client_msg_id, text).await,
    };
    match outcome {
        Ok(_) => {
            ctx.tracker.acked[conv].fetch_add(1, Ordering::Relaxed);
            stats.acked.fetch_add(1, Ordering::Relaxed);
            let online = ctx.tracker.online_members(&population.convs[conv].members);
            let others = if ctx.tracker.clients[sender].online.load(Ordering::Relaxed) {
                online - 1
            } else {
                online
            };
            stats.expected_deliveries.fetch_add(others, Ordering::Relaxed);
            stats.ack_latency.record(worker, now_ns().saturating_sub(sent));
        }
        Err(e) => {
            stats.errors.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut samples) = ctx.error_samples.lock() {
                if samples.len() < 5 {
                    samples.push(format!("{e:#}"));
                }
            }
        }
    }
}

/// Sends over the sender's WebSocket and waits for the `ack`.
async fn send_ws(
    ctx: &Ctx,
    sender: usize,
    conversation_id: i64,
    client_msg_id: String,
    text: String,
) -> anyhow::Result<()> {
    let slot = &ctx.tracker.clients[sender];
    let outbox = slot
        .outbox
        .get()
        .ok_or_else(|| anyhow!("client {sender} is not connected"))?;
    let frame = ClientFrame::Send {
        conversation_id,
        message: SendMessageRequest {
            client_msg_id: client_msg_id.clone(),
            kind: "text".into(),
            text: Some(text),
            blob: None,
            file_name: None,
            reply_to: None,
            mentions: vec![],
        },
    };
    let (done, answer) = oneshot::channel();
    slot.pending
        .lock()
        .map_err(|_| anyhow!("poisoned"))?
        .insert(client_msg_id.clone(), done);
    if outbox.send(serde_json::to_string(&frame)?).is_err() {
        bail!("client {sender}: connection closed");
    }
    match tokio::time::timeout(SEND_TIMEOUT, answer).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(code))) => bail!("client {sender}: send answered with error {code}"),
        Ok(Err(_)) => bail!("client {sender}: connection closed before the ack"),
        Err(_) => {
            if let Ok(mut pending) = slot.pending.lock() {
                pending.remove(&client_msg_id);
            }
            bail!("client {sender}: no ack within {} s", SEND_TIMEOUT.as_secs())
        }
    }
}

/// Most paced sends one worker leaves waiting for their answer.
const MAX_PACED_IN_FLIGHT: usize = 4096;

/// One sending loop until `deadline`. Closed loop without a period (the next
/// send waits for the previous answer); open loop with one: a send every
/// `period`, whether or not earlier ones were answered (so a slow server
/// does not lower the offered rate).
async fn worker(ctx: Arc<Ctx>, phase: usize, worker: usize, pick: Pick, deadline: Instant, period: Option<Duration>) {
    let mut rng = Rng::new((worker as u64 + 1) ^ ((phase as u64) << 32));
    let mut ticker = period.map(|p| {
        let mut t = tokio::time::interval(p);
        t.set_missed_tick_behavior(MissedTickBehavior::Burst);
        t
    });
    let mut in_flight = JoinSet::new();
    while Instant::now() < deadline {
        if let Some(t) = ticker.as_mut() {
            t.tick().await;
            if Instant::now() >= deadline {
                break;
            }
        }
        let (conv, sender) = match pick {
            Pick::Direct => {
                let pair = rng.below(ctx.population.pairs);
                let members = &ctx.population.convs[pair].members;
                (pair, members[rng.below(members.len())])
            }
            Pick::Group(g) => {
                let conv = ctx.population.group_conv(g);
                (conv, ctx.population.convs[conv].members[0])
            }
        };
        if ticker.is_some() {
            while in_flight.len() >= MAX_PACED_IN_FLIGHT {
                in_flight.join_next().await;
            }
            let ctx = Arc::clone(&ctx);
            in_flight.spawn(async move { send_one(&ctx, phase, worker, conv, sender).await });
        } else {
            send_one(&ctx, phase, worker, conv, sender).await;
        }
    }
    while in_flight.join_next().await.is_some() {}
}

fn cores(before: Option<u64>, after: Option<u64>, seconds: f64) -> Option<f64> {
    Some(after?.saturating_sub(before?) as f64 / crate::server::TICKS_PER_SECOND / seconds.max(1e-9))
}

/// Cores used per server thread name between two readings, busiest first.
fn thread_cores(before: &HashMap<String, u64>, after: &HashMap<String, u64>, seconds: f64) -> Vec<(String, f64)> {
    let mut threads: Vec<(String, f64)> = after
        .iter()
        .filter_map(|(name, &t)| {
            let used = cores(Some(before.get(name).copied().unwrap_or(0)), Some(t), seconds)?;
            (used >= 0.01).then(|| (name.clone(), used))
        })
        .collect();
    threads.sort_by(|a, b| b.1.total_cmp(&a.1));
    threads
}

/// Runs one phase: `senders` loops (each with its pick), then the drain.
#[allow(clippy::too_many_arguments)]
pub async fn run_phase(
    ctx: &Arc<Ctx>,
    phase: usize,
    name: &str,
    senders: Vec<Pick>,
    duration: Duration,
    period: Option<Duration>,
    drain_timeout: Duration,
    server: &Server,
) -> anyhow::Result<PhaseReport> {
    eprintln!(
        "phase {name}: {} senders for {:.0} s",
        senders.len(),
        duration.as_secs_f64()
    );
    let stats = &ctx.tracker.phases[phase];
    let (server_before, bench_before) = (server.cpu_ticks(), cpu_ticks("/proc/self/stat"));
    let threads_before = server.thread_ticks();
    let start_ns = now_ns();
    let started = Instant::now();
    let deadline = started + duration;
    let handles: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(w, pick)| tokio::spawn(worker(Arc::clone(ctx), phase, w, pick, deadline, period)))
        .collect();
    for handle in handles {
        handle.await?;
    }
    let send_seconds = started.elapsed().as_secs_f64();
    let drain_deadline = Instant::now() + drain_timeout;
    let mut drained = false;
    while Instant::now() < drain_deadline {
        if stats.deliveries.load(Ordering::Relaxed) >= stats.expected_deliveries.load(Ordering::Relaxed) {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let end_ns = if drained {
        stats.last_delivery_ns.load(Ordering::Relaxed).max(start_ns)
    } else {
        now_ns()
    };
    let total_seconds = ((end_ns - start_ns) as f64 / 1e9).max(send_seconds);
    let (server_after, bench_after) = (server.cpu_ticks(), cpu_ticks("/proc/self/stat"));
    let threads_after = server.thread_ticks();
    let acked = stats.acked.load(Ordering::Relaxed);
    let deliveries = stats.deliveries.load(Ordering::Relaxed);
    let expected = stats.expected_deliveries.load(Ordering::Relaxed);
    let cpu_seconds = started.elapsed().as_secs_f64();
    let report = PhaseReport {
        name: name.to_owned(),
        send_seconds,
        total_seconds,
        acked,
        errors: stats.errors.load(Ordering::Relaxed),
        deliveries,
        expected_deliveries: expected,
        echoes: stats.echoes.load(Ordering::Relaxed),
        acked_per_second: acked as f64 / send_seconds,
        delivered_messages_per_second: acked as f64 / total_seconds,
        deliveries_per_second: deliveries as f64 / total_seconds,
        drained,
        latency_us: Percentiles::of(&stats.latency.merged()?),
        ack_latency_us: Percentiles::of(&stats.ack_latency.merged()?),
        server_cores: cores(server_before, server_after, cpu_seconds),
        bench_cores: cores(bench_before, bench_after, cpu_seconds),
        server_threads: thread_cores(&threads_before, &threads_after, cpu_seconds),
    };
    eprintln!(
        "phase {name}: {acked} acked ({:.0}/s), {deliveries}/{expected} delivered, {:.0} msgs/s delivered, {:.0} deliveries/s, p99 {:.1} ms",
        report.acked_per_second,
        report.delivered_messages_per_second,
        report.deliveries_per_second,
        report.latency_us.p99 as f64 / 1000.0
    );
    Ok(report)
}
