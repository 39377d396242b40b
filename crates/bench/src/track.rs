//! Bookkeeping shared by senders and receivers: what was acked per
//! conversation, what each client received per conversation (to prove every
//! message reached every online member exactly once and in order), and the
//! per-phase counters and latency histograms.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use hdrhistogram::Histogram;
use tokio::sync::{mpsc, oneshot};

use crate::setup::Population;
use crate::wire::{now_ns, parse_payload, InFrame};

/// Latency histograms are sharded to keep lock contention negligible.
const SHARDS: usize = 16;
/// Largest latency recorded, in microseconds (larger values are clamped).
const MAX_LATENCY_US: u64 = 120_000_000;

/// A sharded latency histogram in microseconds.
pub struct Latency {
    shards: Vec<Mutex<Histogram<u64>>>,
}

impl Latency {
    pub fn new() -> anyhow::Result<Self> {
        let mut shards = Vec::with_capacity(SHARDS);
        for _ in 0..SHARDS {
            shards.push(Mutex::new(Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)?));
        }
        Ok(Self { shards })
    }

    pub fn record(&self, shard: usize, nanos: u64) {
        let micros = (nanos / 1_000).clamp(1, MAX_LATENCY_US);
        if let Ok(mut h) = self.shards[shard % SHARDS].lock() {
            let _ = h.record(micros);
        }
    }

    /// All shards merged.
    pub fn merged(&self) -> anyhow::Result<Histogram<u64>> {
        let mut all = Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)?;
        for shard in &self.shards {
            if let Ok(h) = shard.lock() {
                all.add(&*h)?;
            }
        }
        Ok(all)
    }
}

/// Counters of one benchmark phase.
pub struct PhaseStats {
    /// Sends answered with the stored message.
    pub acked: AtomicU64,
    /// Sends that failed (HTTP error, timeout, wrong answer).
    pub errors: AtomicU64,
    /// `message.new` frames received by members other than the sender.
    pub deliveries: AtomicU64,
    /// `message.new` frames received by the sender's own connection.
    pub echoes: AtomicU64,
    /// Deliveries (to others) the acked messages should produce.
    pub expected_deliveries: AtomicU64,
    /// Send → receive at other members.
    pub latency: Latency,
    /// Send → HTTP answer (stored durably) at the sender.
    pub ack_latency: Latency,
    /// When the last frame of this phase arrived (ns on the bench clock).
    pub last_delivery_ns: AtomicU64,
}

impl PhaseStats {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            acked: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            deliveries: AtomicU64::new(0),
            echoes: AtomicU64::new(0),
            expected_deliveries: AtomicU64::new(0),
            latency: Latency::new()?,
            ack_latency: Latency::new()?,
            last_delivery_ns: AtomicU64::new(0),
        })
    }
}

/// What one client has received in one of its conversations.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    pub conv: usize,
    pub last_seq: i64,
    pub count: u64,
}

/// How a WebSocket send ended: acked, or the server's error code.
pub type SendOutcome = Result<(), String>;

/// One client's receive state, and its way to send over its own socket.
pub struct ClientSlot {
    pub user_id: i64,
    pub received: Mutex<Vec<Received>>,
    /// Frames for the connection's task to write (set once connected).
    pub outbox: OnceLock<mpsc::UnboundedSender<String>>,
    /// WebSocket sends waiting for their `ack` or `error`, by client message id.
    pub pending: Mutex<HashMap<String, oneshot::Sender<SendOutcome>>>,
    /// Connected and past `synced`.
    pub online: AtomicBool,
    /// The connection ended before the benchmark closed it.
    pub lost: AtomicBool,
}

/// Shared by every sender and receiver.
pub struct Tracker {
    pub clients: Vec<ClientSlot>,
    /// Acked messages per conversation (index into `Population::convs`).
    pub acked: Vec<AtomicU64>,
    conv_index: HashMap<i64, usize>,
    pub phases: Vec<PhaseStats>,
    /// Also parse every frame as a `qiao_api::ServerFrame`.
    strict: bool,
    /// Frames that did not parse, or `message.new` frames the benchmark cannot place.
    pub bad_frames: AtomicU64,
    /// Frames out of order or repeated within a conversation.
    pub out_of_order: AtomicU64,
    /// Frames of other kinds (not `message.new`).
    pub other_frames: AtomicU64,
}

impl Tracker {
    pub fn new(population: &Population, phases: usize, strict: bool) -> anyhow::Result<Self> {
        let mut clients: Vec<ClientSlot> = population
            .users
            .iter()
            .map(|u| ClientSlot {
                user_id: u.id,
                received: Mutex::new(Vec::new()),
                outbox: OnceLock::new(),
                pending: Mutex::new(HashMap::new()),
                online: AtomicBool::new(false),
                lost: AtomicBool::new(false),
            })
            .collect();
        for (index, conv) in population.convs.iter().enumerate() {
            for &member in &conv.members {
                if let Ok(received) = clients[member].received.get_mut() {
                    received.push(Received {
                        conv: index,
                        last_seq: 0,
                        count: 0,
                    });
                }
            }
        }
        let mut stats = Vec::with_capacity(phases);
        for _ in 0..phases {
            stats.push(PhaseStats::new()?);
        }
        Ok(Self {
            clients,
            acked: population.convs.iter().map(|_| AtomicU64::new(0)).collect(),
            conv_index: population.convs.iter().enumerate().map(|(i, c)| (c.id, i)).collect(),
            phases: stats,
            strict,
            bad_frames: AtomicU64::new(0),
            out_of_order: AtomicU64::new(0),
            other_frames: AtomicU64::new(0),
        })
    }

    /// Handles one text frame received by `client`.
    pub fn on_frame(&self, client: usize, text: &str) {
        let now = now_ns();
        if self.strict && serde_json::from_str::<qiao_api::ServerFrame>(text).is_err() {
            self.bad_frames.fetch_add(1, Ordering::Relaxed);
        }
        let Ok(frame) = serde_json::from_str::<InFrame<'_>>(text) else {
            self.bad_frames.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if frame.frame == "ack" || frame.frame == "error" {
            self.on_answer(client, &frame);
            return;
        }
        if frame.frame != "event" || frame.kind.as_deref() != Some("message.new") {
            self.other_frames.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let placed = (|| {
            let conv = *self.conv_index.get(&frame.conversation_id?)?;
            let data = frame.data.as_ref()?;
            let (phase, sent_ns) = parse_payload(data.text.as_deref()?)?;
            Some((conv, data.seq?, data.sender_id?, self.phases.get(phase)?, sent_ns))
        })();
        let Some((conv, seq, sender, stats, sent_ns)) = placed else {
            self.bad_frames.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let slot = &self.clients[client];
        let mut in_order = false;
        if let Ok(mut received) = slot.received.lock() {
            if let Some(r) = received.iter_mut().find(|r| r.conv == conv) {
                in_order = seq > r.last_seq;
                r.last_seq = r.last_seq.max(seq);
                r.count += 1;
            }
        }
        if !in_order {
            self.out_of_order.fetch_add(1, Ordering::Relaxed);
        }
        if sender == slot.user_id {
            stats.echoes.fetch_add(1, Ordering::Relaxed);
        } else {
            stats.deliveries.fetch_add(1, Ordering::Relaxed);
            stats.latency.record(client, now.saturating_sub(sent_ns));
        }
        stats.last_delivery_ns.fetch_max(now, Ordering::Relaxed);
    }

    /// Completes the WebSocket send an `ack` or `error` answers.
    fn on_answer(&self, client: usize, frame: &InFrame<'_>) {
        let waiter = frame
            .client_msg_id
            .as_deref()
            .and_then(|id| self.clients[client].pending.lock().ok()?.remove(id));
        let Some(waiter) = waiter else {
            self.bad_frames.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let outcome = match frame.frame.as_ref() {
            "ack" => Ok(()),
            _ => Err(frame.code.as_deref().unwrap_or("error").to_owned()),
        };
        let _ = waiter.send(outcome);
    }

    /// Members of conversation `conv` (by index) that are online now.
    pub fn online_members(&self, members: &[usize]) -> u64 {
        members
            .iter()
            .filter(|&&m| self.clients[m].online.load(Ordering::Relaxed))
            .count() as u64
    }
}

/// The end-of-run check: every acked message reached every member that
/// stayed connected, exactly once.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Verdict {
    /// (client, conversation) deliveries expected.
    pub expected: u64,
    /// Deliveries missing.
    pub lost: u64,
    /// Deliveries beyond the acked count (duplicates, or messages stored without an ack).
    pub extra: u64,
    pub out_of_order: u64,
    pub bad_frames: u64,
    /// Clients whose connection ended before the benchmark closed it.
    pub connections_lost: u64,
    pub send_errors: u64,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.lost == 0
            && self.extra == 0
            && self.out_of_order == 0
            && self.bad_frames == 0
            && self.connections_lost == 0
            && self.send_errors == 0
    }
}

impl Tracker {
    pub fn verify(&self) -> Verdict {
        let mut verdict = Verdict {
            out_of_order: self.out_of_order.load(Ordering::Relaxed),
            bad_frames: self.bad_frames.load(Ordering::Relaxed),
            send_errors: self.phases.iter().map(|p| p.errors.load(Ordering::Relaxed)).sum(),
            ..Verdict::default()
        };
        for slot in &self.clients {
            if slot.lost.load(Ordering::Relaxed) || !slot.online.load(Ordering::Relaxed) {
                verdict.connections_lost += 1;
                continue;
            }
            let Ok(received) = slot.received.lock() else { continue };
            for r in received.iter() {
                let acked = self.acked[r.conv].load(Ordering::Relaxed);
                verdict.expected += acked;
                verdict.lost += acked.saturating_sub(r.count);
                verdict.extra += r.count.saturating_sub(acked);
            }
        }
        verdict
    }
}
