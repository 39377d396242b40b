//! The single writer: one thread owns the write connection and commits many
//! operations per transaction (group commit), the way TigerBeetle batches.
//!
//! Each operation runs inside a savepoint, so a rejected one is rolled back
//! alone and the rest of the batch commits. Callers are answered, and events
//! published to the sink in stream order, only after the commit is durable
//! and, on PostgreSQL, visible to readers (the publisher thread waits for
//! that, so the writer can begin its next batch meanwhile).
//!
//! A lost PostgreSQL connection is re-made by the writer itself: a batch
//! that finds the connection dead before it starts reconnects at once and
//! runs; one that loses it midway is answered `Unavailable` (its outcome is
//! unknown, so callers retry with their idempotency keys). While the
//! database stays unreachable, batches are answered `Unavailable` at once
//! and a new connection is tried with backoff.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use qiao_domain::conversation::{Kind, Role};
use qiao_domain::event::EventKind;
use qiao_domain::ids::{ConversationId, MessageId, StreamPos, UserId};
use tokio::sync::oneshot;

use qiao_domain::ledger::{Owner, Shard};

use crate::engine::{params, Conn, Dialect, LockKey, WriteLocks};
use crate::readers::Opener;
use crate::{CommittedEvent, EventSink, StoreError, StoreResult};

/// Most operations committed together.
const MAX_BATCH: usize = 2048;
/// Events one PostgreSQL transaction may append: their number fills the low
/// 16 bits of the stream position (migration 8).
const MAX_EVENTS_PER_TRANSACTION: i64 = 1 << 16;
/// Events after which a batch takes no further operations (the rest wait
/// for the next batch), leaving room below the maximum for any one
/// operation (a 500-member group appends about 1,000).
const BATCH_EVENTS: usize = 1 << 15;
/// Longest wait after a commit for older transactions elsewhere to end, so
/// that readers woken for the batch's events can see them.
const VISIBILITY_WAIT: Duration = Duration::from_secs(5);
/// Operations waiting for the writer before callers are pushed back.
const QUEUE_DEPTH: usize = 65_536;
/// First and longest wait between attempts to reconnect.
const RECONNECT_FIRST: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(2);

/// What the writer remembers of a conversation between operations. Valid only
/// while this thread holds the database's write lock, i.e. within one batch:
/// dropped at the start of every batch, and whenever an operation rolls back
/// or a commit fails.
#[derive(Debug, Clone)]
pub struct ConvState {
    pub kind: Kind,
    pub last_seq: i64,
    pub members: Arc<HashMap<UserId, Role>>,
    pub recipients: Arc<[UserId]>,
    /// Whether the two people of a direct conversation may message each other.
    pub direct_open: Option<Result<(), qiao_domain::Error>>,
}

#[derive(Default)]
pub struct Cache {
    pub conversations: HashMap<ConversationId, ConvState>,
}

/// The writer's view of one operation: the connection inside the batch
/// transaction, the cache, and the events this operation appends.
pub struct Tx<'a> {
    pub conn: &'a mut dyn Conn,
    pub cache: &'a mut Cache,
    events: &'a mut Vec<CommittedEvent>,
    /// Events appended by this transaction so far, rolled back or not: the
    /// low bits of the next PostgreSQL stream position.
    appended: &'a mut i64,
    /// The locks this operation's batch took for it; `None` when the batch
    /// may touch anything (it holds the writer lock exclusively, or SQLite).
    held: Option<&'a [LockKey]>,
    /// The chat escrow account this writer puts new payments in.
    shard: Shard,
}

/// Where an event goes: the members of a conversation, or one user.
pub enum Audience {
    Conversation(ConversationId),
    User(UserId, Option<ConversationId>),
}

impl Tx<'_> {
    /// Checks that the operation may write what `key` guards: always in an
    /// exclusive batch; in a shared one only if it took that lock. Otherwise
    /// [`StoreError::NeedsExclusive`], which rolls the operation back and
    /// (through [`Writer::run_locked`]) runs it again in an exclusive batch.
    /// Every write of money and of a conversation's rows asks first, so an
    /// operation that declared too few locks is slower, never wrong.
    pub fn require(&self, key: LockKey) -> StoreResult<()> {
        match self.held {
            Some(held) if !held.contains(&key) => Err(StoreError::NeedsExclusive(format!("{key:?}"))),
            _ => Ok(()),
        }
    }

    /// [`Tx::require`] for a ledger account, by its stored owner
    /// ([`LockKey::of_owner`]).
    pub fn require_account(&self, owner: &str) -> StoreResult<()> {
        if self.held.is_none() {
            return Ok(());
        }
        match Owner::parse(owner) {
            Some(owner) => self.require(LockKey::of_owner(&owner)),
            None => Err(StoreError::NeedsExclusive(format!("account {owner}"))),
        }
    }

    /// This writer's shard of sharded system accounts (chat escrow for a
    /// payment made now, a connector's clearing).
    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// Appends an event to the stream and queues it for live delivery.
    pub fn emit(
        &mut self,
        kind: EventKind,
        audience: Audience,
        message_id: Option<MessageId>,
        data: String,
        recipients: Arc<[UserId]>,
        now_ms: i64,
    ) -> StoreResult<StreamPos> {
        let (conversation_id, user_id) = audience.ids();
        let n = self.next_event_number()?;
        let sql = format!(
            "INSERT INTO events (pos, kind, conversation_id, user_id, message_id, at_ms, data)
             VALUES ({}, $1, $2, $3, $4, $5, $6) RETURNING pos",
            position_sql(self.conn.dialect(), 7)
        );
        let row = self.conn.query_one(
            &sql,
            params![
                kind.as_str(),
                conversation_id.map(|c| c.0),
                user_id.map(|u| u.0),
                message_id.map(|m| m.0),
                now_ms,
                data.as_str(),
                n
            ],
        )?;
        let pos = StreamPos(row.int(0)?);
        self.events.push(CommittedEvent {
            pos,
            kind,
            conversation_id,
            at_ms: now_ms,
            data: data.into(),
            recipients,
        });
        Ok(pos)
    }

    /// Appends several events in one statement (one round trip however many),
    /// queued for live delivery in stream order like [`Tx::emit`].
    pub fn emit_many(&mut self, new: Vec<NewEvent>) -> StoreResult<()> {
        let dialect = self.conn.dialect();
        for chunk in new.chunks(100) {
            let tuples: Vec<String> = (0..chunk.len())
                .map(|i| {
                    format!(
                        "({}, {})",
                        position_sql(dialect, i * 7 + 7),
                        crate::engine::placeholders(i * 7, 6)
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO events (pos, kind, conversation_id, user_id, message_id, at_ms, data) VALUES {} RETURNING pos, user_id",
                tuples.join(", ")
            );
            let mut values: Vec<crate::engine::Value> = Vec::with_capacity(chunk.len() * 7);
            for e in chunk {
                let (conversation_id, user_id) = e.audience.ids();
                let n = self.next_event_number()?;
                values.extend([
                    e.kind.as_str().into(),
                    conversation_id.map(|c| c.0).into(),
                    user_id.map(|u| u.0).into(),
                    e.message_id.map(|m| m.0).into(),
                    e.now_ms.into(),
                    e.data.as_str().into(),
                    n.into(),
                ]);
            }
            let mut rows: Vec<(i64, Option<i64>)> = self
                .conn
                .query(&sql, &values)?
                .iter()
                .map(|r| Ok((r.int(0)?, r.opt_int(1)?)))
                .collect::<StoreResult<_>>()?;
            // Positions follow the VALUES order; checked, not assumed.
            rows.sort_unstable();
            let in_order = rows.len() == chunk.len()
                && rows
                    .iter()
                    .zip(chunk)
                    .all(|((_, user), e)| *user == e.audience.ids().1.map(|u| u.0));
            if !in_order {
                return Err(StoreError::Backend("event positions out of insert order".into()));
            }
            for ((pos, _), e) in rows.into_iter().zip(chunk) {
                self.events.push(CommittedEvent {
                    pos: StreamPos(pos),
                    kind: e.kind,
                    conversation_id: e.audience.ids().0,
                    at_ms: e.now_ms,
                    data: e.data.as_str().into(),
                    recipients: Arc::clone(&e.recipients),
                });
            }
        }
        Ok(())
    }

    /// Where a member who joins a conversation now starts to see the stream
    /// (`members.joined_pos`): every event of the conversation committed
    /// before is at or below it, and every later one (this transaction's
    /// next events, and those of transactions that take the conversation's
    /// lock after this one commits) above it. On PostgreSQL that is just
    /// below this transaction's next position: a batch takes its id after
    /// its locks, so whoever held the conversation's lock before had a
    /// smaller one, and whoever holds it next a larger one. (The newest
    /// position committed is not: a batch on another node may have taken a
    /// larger id and committed after this one took its own.) SQLite commits
    /// one transaction at a time, numbering rows in order.
    pub fn join_point(&mut self) -> StoreResult<i64> {
        match self.conn.dialect() {
            Dialect::Sqlite => crate::ops::head(self.conn),
            Dialect::Postgres => self
                .conn
                .query_one("SELECT qiao_event_pos($1) - 1", params![*self.appended])?
                .int(0),
        }
    }

    /// The number within this transaction of the next event it appends.
    fn next_event_number(&mut self) -> StoreResult<i64> {
        let n = *self.appended;
        if n >= MAX_EVENTS_PER_TRANSACTION {
            return Err(StoreError::Backend("too many events in one transaction".into()));
        }
        *self.appended += 1;
        Ok(n)
    }
}

/// The SQL of an event's position: on PostgreSQL its transaction's and its
/// number `$param` in it (migration 8); SQLite numbers rows itself, in
/// commit order since it has one writer.
fn position_sql(dialect: Dialect, param: usize) -> String {
    match dialect {
        // Keeps `$param` bound (PostgreSQL infers its type), unused.
        Dialect::Sqlite => format!("NULLIF(${param}, ${param})"),
        Dialect::Postgres => format!("qiao_event_pos(${param})"),
    }
}

/// An event for [`Tx::emit_many`].
pub struct NewEvent {
    pub kind: EventKind,
    pub audience: Audience,
    pub message_id: Option<MessageId>,
    pub data: String,
    pub recipients: Arc<[UserId]>,
    pub now_ms: i64,
}

impl Audience {
    /// The event row's `(conversation_id, user_id)`.
    fn ids(&self) -> (Option<ConversationId>, Option<UserId>) {
        match self {
            Audience::Conversation(c) => (Some(*c), None),
            Audience::User(u, c) => (*c, Some(*u)),
        }
    }
}

type Completion = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// How an operation ended, as the batch needs to know it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ended {
    Done,
    /// A rule said no (or anything went wrong inside a savepoint).
    Refused,
    /// A database error in an operation without a savepoint: its writes may
    /// be half done, so the whole batch must roll back.
    Broken,
}

/// Runs the operation in the batch's transaction, or (given the error that
/// kept it from running) only answers its caller with that error.
type JobFn = Box<dyn FnOnce(Result<&mut Tx<'_>, &StoreError>) -> (Ended, Completion) + Send>;

struct Job {
    /// Whether the operation runs inside its own savepoint.
    savepoint: bool,
    /// What the operation may touch, and so which batches it may join.
    scope: Scope,
    run: JobFn,
}

/// What an operation may touch (see the `run_*` methods of [`Writer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// Anything: on PostgreSQL its batch holds the writer lock exclusively.
    Exclusive,
    /// What these locks guard, taken with the writer lock shared
    /// ([`Writer::run_in_conversation`], [`Writer::run_locked`]); none for
    /// statements that are safe under concurrency by themselves
    /// ([`Writer::run_self_contained`]).
    Shared(Vec<LockKey>),
}

impl Scope {
    fn shared(&self) -> bool {
        *self != Scope::Exclusive
    }
}

/// Handle to the writer thread.
#[derive(Clone)]
pub struct Writer {
    jobs: crossbeam_channel::Sender<Job>,
    stats: Arc<Counters>,
    shard: Shard,
}

/// What the writer has done, counted as it goes (read by `/metrics`).
#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    exclusive_batches: AtomicU64,
    operations: AtomicU64,
    failed_batches: AtomicU64,
    busy_micros: AtomicU64,
    last_batch: AtomicU64,
    escalated: AtomicU64,
    reconnects: AtomicU64,
    disconnected: AtomicBool,
}

/// A reading of the writer's counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriterStats {
    /// Batches committed, and the operations in them.
    pub batches: u64,
    /// Committed batches that held the writer lock exclusively (every batch
    /// on SQLite; on PostgreSQL those not of message sends and the like).
    pub exclusive_batches: u64,
    pub operations: u64,
    /// Batches that failed whole (commit failed, connection lost).
    pub failed_batches: u64,
    /// Time spent running and committing batches, in total.
    pub busy_seconds: f64,
    /// Operations in the latest batch.
    pub last_batch: u64,
    /// Operations that declared too few locks for what they turned out to
    /// touch and ran again in an exclusive batch ([`Writer::run_locked`]).
    pub escalated: u64,
    /// Operations waiting for the writer now.
    pub queued: u64,
    /// New connections made after one was lost.
    pub reconnects: u64,
    /// Whether the writer has no live connection now.
    pub disconnected: bool,
}

impl Writer {
    /// Starts the writer thread on `conn`. With `reopen`, a connection found
    /// dead is replaced by a new one from it; without (SQLite, in process),
    /// the one connection serves for the store's life.
    pub fn start(conn: Box<dyn Conn>, reopen: Option<Arc<Opener>>, sink: Arc<dyn EventSink>) -> StoreResult<Self> {
        // On PostgreSQL a committed batch may not be visible yet (migration
        // 8); a thread of its own waits for that, so the writer goes on.
        let publish = match (&reopen, conn.dialect()) {
            (Some(open), Dialect::Postgres) => {
                let (to_publisher, committed) = crossbeam_channel::unbounded::<Committed>();
                let (open, sink) = (Arc::clone(open), Arc::clone(&sink));
                std::thread::Builder::new()
                    .name("qiao-publisher".into())
                    .spawn(move || run_publisher(&*open, committed, sink.as_ref()))
                    .map_err(|e| StoreError::Backend(format!("spawn publisher: {e}")))?;
                Publish::WhenVisible(to_publisher)
            }
            _ => Publish::AtOnce(sink),
        };
        let (jobs, rx) = crossbeam_channel::bounded::<Job>(QUEUE_DEPTH);
        let stats = Arc::new(Counters::default());
        let split = conn.dialect() == Dialect::Postgres;
        let shard = Shard::pick(process_seed());
        let link = Link {
            conn: Some(conn),
            reopen,
            next_try: Instant::now(),
            backoff: RECONNECT_FIRST,
            stats: Arc::clone(&stats),
        };
        std::thread::Builder::new()
            .name("qiao-writer".into())
            .spawn(move || run(link, rx, publish, split, shard))
            .map_err(|e| StoreError::Backend(format!("spawn writer: {e}")))?;
        Ok(Self { jobs, stats, shard })
    }

    /// The writer's counters now.
    pub fn stats(&self) -> WriterStats {
        let c = &self.stats;
        WriterStats {
            batches: c.batches.load(Ordering::Relaxed),
            exclusive_batches: c.exclusive_batches.load(Ordering::Relaxed),
            operations: c.operations.load(Ordering::Relaxed),
            failed_batches: c.failed_batches.load(Ordering::Relaxed),
            busy_seconds: c.busy_micros.load(Ordering::Relaxed) as f64 / 1e6,
            last_batch: c.last_batch.load(Ordering::Relaxed),
            escalated: c.escalated.load(Ordering::Relaxed),
            queued: self.jobs.len() as u64,
            reconnects: c.reconnects.load(Ordering::Relaxed),
            disconnected: c.disconnected.load(Ordering::Relaxed),
        }
    }

    /// Runs `op` in the next batch and returns its result once committed.
    pub async fn run<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> StoreResult<T> + Send + 'static,
    {
        self.submit(true, Scope::Exclusive, op).await
    }

    /// Like [`Writer::run`], for an operation made only of statements that
    /// are correct under concurrency by themselves, deciding nothing on what
    /// it read: an INSERT guarded by unique keys, an UPDATE or DELETE of one
    /// row with its condition in the statement (a session's `last_seen`, a
    /// sign-in's new session). On PostgreSQL it joins the batches that hold
    /// the writer lock shared, without locking any conversation.
    pub async fn run_self_contained<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> StoreResult<T> + Send + 'static,
    {
        self.submit(true, Scope::Shared(Vec::new()), op).await
    }

    /// Like [`Writer::run`], for an operation that writes only one
    /// conversation's rows (its messages, its members' receipt positions)
    /// and reads nothing else that a conversation-scoped operation writes:
    /// membership changes under the conversation's lock too, kind, blocks
    /// and uploads only in exclusive batches. On PostgreSQL such operations
    /// run in batches that lock only their conversations, so several nodes
    /// commit them at once.
    pub async fn run_in_conversation<T, F>(&self, conversation: ConversationId, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> StoreResult<T> + Send + 'static,
    {
        self.submit(true, Scope::Shared(vec![LockKey::Conversation(conversation)]), op)
            .await
    }

    /// Like [`Writer::run`], for an operation that writes what `keys` guard
    /// (a conversation's rows, a user's accounts and daily totals, a chat
    /// escrow shard): on PostgreSQL it joins batches that hold the writer
    /// lock shared and take these locks, so payments of different people
    /// commit in parallel on different nodes. Each guarded write checks its
    /// lock ([`Tx::require`]); one that finds it missing (a payment that
    /// converts currency, through the house accounts) rolls back and `op`
    /// runs again in an exclusive batch.
    pub async fn run_locked<T, F>(&self, keys: Vec<LockKey>, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut Tx<'_>) -> StoreResult<T> + Send + Sync + 'static,
    {
        self.locked(true, keys, op).await
    }

    /// [`Writer::run_locked`] without the savepoint (see
    /// [`Writer::run_checked_first`]), for an operation that checks every
    /// lock it needs, with its other checks, before its first write: a
    /// missing lock then refuses it with nothing written.
    pub async fn run_locked_checked_first<T, F>(&self, keys: Vec<LockKey>, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut Tx<'_>) -> StoreResult<T> + Send + Sync + 'static,
    {
        self.locked(false, keys, op).await
    }

    async fn locked<T, F>(&self, savepoint: bool, keys: Vec<LockKey>, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut Tx<'_>) -> StoreResult<T> + Send + Sync + 'static,
    {
        let op = Arc::new(op);
        let first = {
            let op = Arc::clone(&op);
            self.submit(savepoint, Scope::Shared(keys), move |tx| op(tx)).await
        };
        match first {
            Err(StoreError::NeedsExclusive(what)) => {
                tracing::debug!(%what, "an operation runs again in an exclusive batch");
                self.stats.escalated.fetch_add(1, Ordering::Relaxed);
                self.submit(savepoint, Scope::Exclusive, move |tx| op(tx)).await
            }
            other => other,
        }
    }

    /// This writer's shard of the sharded system accounts (chat escrow,
    /// clearing), for the locks operations declare.
    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// Like [`Writer::run`], without the savepoint, for operations that make
    /// every check before their first write (a refusal changes nothing by
    /// construction). A database error during their writes rolls back the
    /// whole batch and fails every operation in it. Saves two statements per
    /// operation on the hottest path, the ledger transfer.
    pub async fn run_checked_first<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> StoreResult<T> + Send + 'static,
    {
        self.submit(false, Scope::Exclusive, op).await
    }

    async fn submit<T, F>(&self, savepoint: bool, scope: Scope, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<StoreResult<T>>();
        let job = Job {
            savepoint,
            scope,
            run: Box::new(move |tx| {
                let result = match tx {
                    Ok(tx) => op(tx),
                    Err(e) => Err(e.clone()),
                };
                let ended = match &result {
                    Ok(_) => Ended::Done,
                    Err(StoreError::Backend(_) | StoreError::Unavailable(_)) if !savepoint => Ended::Broken,
                    Err(_) => Ended::Refused,
                };
                let done: Completion = Box::new(move |commit_error| {
                    let outcome = match commit_error {
                        Some(StoreError::Unavailable(e)) => Err(StoreError::Unavailable(e.clone())),
                        Some(e) => Err(StoreError::Backend(format!("commit failed: {e}"))),
                        None => result,
                    };
                    let _ = reply.send(outcome);
                });
                (ended, done)
            }),
        };
        // A full queue blocks this task's thread briefly rather than dropping work.
        let jobs = self.jobs.clone();
        match jobs.try_send(job) {
            Ok(()) => {}
            Err(crossbeam_channel::TrySendError::Full(job)) => {
                tokio::task::spawn_blocking(move || jobs.send(job))
                    .await
                    .map_err(|e| StoreError::Backend(e.to_string()))?
                    .map_err(|_| StoreError::Backend("writer stopped".into()))?;
            }
            Err(crossbeam_channel::TrySendError::Disconnected(_)) => {
                return Err(StoreError::Backend("writer stopped".into()))
            }
        }
        answer
            .await
            .map_err(|_| StoreError::Backend("writer dropped the operation".into()))?
    }
}

/// The writer's connection, and how to make a new one when it dies.
struct Link {
    conn: Option<Box<dyn Conn>>,
    reopen: Option<Arc<Opener>>,
    /// No reconnect attempt before this instant (backoff).
    next_try: Instant,
    backoff: Duration,
    stats: Arc<Counters>,
}

impl Link {
    /// A live connection, making a new one if the old one died and the
    /// backoff allows; otherwise why there is none.
    fn live(&mut self) -> Result<&mut (dyn Conn + 'static), StoreError> {
        if self.conn.as_ref().is_some_and(|c| c.is_broken()) {
            self.conn = None;
        }
        if self.conn.is_none() {
            let Some(reopen) = self.reopen.clone() else {
                return Err(StoreError::Backend("the writer's connection is gone".into()));
            };
            if Instant::now() < self.next_try {
                return Err(StoreError::Unavailable("reconnecting to the database".into()));
            }
            match reopen() {
                Ok(conn) => {
                    tracing::info!("writer reconnected to the database");
                    self.conn = Some(conn);
                    self.backoff = RECONNECT_FIRST;
                    self.stats.reconnects.fetch_add(1, Ordering::Relaxed);
                    self.stats.disconnected.store(false, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = self.backoff.as_millis() as u64, "writer could not reconnect");
                    self.next_try = Instant::now() + self.backoff;
                    self.backoff = (self.backoff * 2).min(RECONNECT_MAX);
                    return Err(StoreError::Unavailable(e.to_string()));
                }
            }
        }
        self.conn
            .as_deref_mut()
            .ok_or_else(|| StoreError::Backend("no connection".into()))
    }

    /// Forgets a connection that failed in a way that may have broken it.
    fn drop_if_broken(&mut self, error: &StoreError) {
        let broken = self.conn.as_ref().is_none_or(|c| c.is_broken());
        if self.reopen.is_some() && (broken || matches!(error, StoreError::Unavailable(_))) {
            self.conn = None;
            self.stats.disconnected.store(true, Ordering::Relaxed);
        }
    }
}

/// A number that differs between processes (and between writers of one):
/// `RandomState` is seeded randomly per process.
fn process_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new().build_hasher().finish()
}

fn run(mut link: Link, rx: crossbeam_channel::Receiver<Job>, publish: Publish, split: bool, shard: Shard) {
    let mut cache = Cache::default();
    // Operations taken from the queue that did not fit the last batch.
    let mut waiting: std::collections::VecDeque<Job> = std::collections::VecDeque::new();
    // Batches on PostgreSQL (`split`) are either all shared or all
    // exclusive, since the two kinds take the writer lock in different modes.
    loop {
        let Some(first) = waiting.pop_front().or_else(|| rx.recv().ok()) else {
            break;
        };
        let scoped = split && first.scope.shared();
        let mut batch = Vec::with_capacity(64);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            let Some(next) = waiting.pop_front().or_else(|| rx.try_recv().ok()) else {
                break;
            };
            if split && next.scope.shared() != scoped {
                waiting.push_front(next);
                break;
            }
            batch.push(next);
        }
        let locks = if scoped {
            let keys = batch.iter().flat_map(|j| match &j.scope {
                Scope::Shared(keys) => keys.as_slice(),
                Scope::Exclusive => &[],
            });
            WriteLocks::Shared(keys.copied().collect())
        } else {
            WriteLocks::Exclusive
        };
        // Nothing has run yet, so a connection found dead here is replaced
        // and the batch goes on: one retry, on a fresh connection.
        let mut started = begin(&mut link, &locks);
        if let Err(e) = &started {
            link.drop_if_broken(e);
            if link.conn.is_none() && link.reopen.is_some() {
                link.next_try = Instant::now();
                started = begin(&mut link, &locks);
            }
        }
        if let Err(e) = started {
            tracing::error!(error = %e, "writer could not begin a transaction");
            link.stats.failed_batches.fetch_add(1, Ordering::Relaxed);
            link.drop_if_broken(&e);
            cache.conversations.clear();
            fail_all(batch, &e);
            continue;
        }
        let Some(conn) = link.conn.as_deref_mut() else {
            continue;
        };
        let taken = batch.len();
        let started = Instant::now();
        let stats = Arc::clone(&link.stats);
        let shared = Shared { scoped, shard };
        let (outcome, rest) = commit_batch(conn, &mut cache, batch, &publish, shared);
        let size = (taken - rest.len()) as u64;
        stats.last_batch.store(size, Ordering::Relaxed);
        for job in rest.into_iter().rev() {
            waiting.push_front(job);
        }
        match outcome {
            Ok(()) => {
                stats.batches.fetch_add(1, Ordering::Relaxed);
                if !scoped {
                    stats.exclusive_batches.fetch_add(1, Ordering::Relaxed);
                }
                stats.operations.fetch_add(size, Ordering::Relaxed);
                stats
                    .busy_micros
                    .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
            }
            Err(e) => {
                stats.failed_batches.fetch_add(1, Ordering::Relaxed);
                link.drop_if_broken(&e);
            }
        }
    }
}

/// Begins the batch's transaction on a live connection.
fn begin(link: &mut Link, locks: &WriteLocks) -> StoreResult<()> {
    let conn = link.live()?;
    let begun = conn.begin_write(locks);
    if begun.is_err() {
        let _ = conn.batch("ROLLBACK");
    }
    begun
}

/// Runs and commits one batch whose transaction is open. Returns the error
/// that failed the whole batch, if one did, and the operations left for the
/// next batch because this one appended its share of events.
fn commit_batch(
    conn: &mut dyn Conn,
    cache: &mut Cache,
    batch: Vec<Job>,
    publish: &Publish,
    shared: Shared,
) -> (StoreResult<()>, Vec<Job>) {
    // On PostgreSQL other nodes write between our batches, so the cache is
    // trusted within a batch only. A SQLite file has exactly one writing
    // process (see `sqlite::WriterLock`), so there it stays valid.
    if conn.dialect() == crate::engine::Dialect::Postgres {
        cache.conversations.clear();
    }
    let mut events = Vec::new();
    let mut appended = 0;
    let mut completions = Vec::with_capacity(batch.len());
    let mut broken: Option<StoreError> = None;
    let mut jobs = batch.into_iter();
    for job in jobs.by_ref() {
        let held = match &job.scope {
            Scope::Shared(keys) if shared.scoped => Some(keys.as_slice()),
            _ => None,
        };
        if !job.savepoint {
            let (ended, done) = (job.run)(Ok(&mut Tx {
                conn: &mut *conn,
                cache: &mut *cache,
                events: &mut events,
                appended: &mut appended,
                held,
                shard: shared.shard,
            }));
            if ended == Ended::Broken && broken.is_none() {
                broken = Some(StoreError::Backend("a database error mid-operation".into()));
            }
            completions.push(done);
            continue;
        }
        if let Err(e) = conn.execute("SAVEPOINT op", &[]) {
            tracing::error!(error = %e, "savepoint failed");
            completions.push((job.run)(Err(&e)).1);
            continue;
        }
        let mark = events.len();
        let (ended, done) = (job.run)(Ok(&mut Tx {
            conn: &mut *conn,
            cache: &mut *cache,
            events: &mut events,
            appended: &mut appended,
            held,
            shard: shared.shard,
        }));
        let closed = if ended == Ended::Done {
            conn.execute("RELEASE op", &[]).map(|_| ())
        } else {
            events.truncate(mark);
            cache.conversations.clear();
            conn.batch("ROLLBACK TO op; RELEASE op")
        };
        if let Err(e) = closed {
            tracing::error!(error = %e, "closing savepoint failed");
        }
        completions.push(done);
        if appended as usize >= BATCH_EVENTS {
            break;
        }
    }
    let rest: Vec<Job> = jobs.collect();
    let failed = match broken {
        Some(e) => {
            tracing::error!(error = %e, "an operation broke mid-write; the whole batch is rolled back");
            Err(e)
        }
        None => conn.batch("COMMIT"),
    };
    let outcome = match failed {
        Ok(()) => {
            publish.committed(Committed { events, completions });
            Ok(())
        }
        Err(e) => {
            // A dead connection leaves the outcome unknown to the callers:
            // they are told to retry, which their idempotency keys make safe.
            let e = if conn.is_broken() {
                StoreError::Unavailable(format!("connection lost during the batch: {e}"))
            } else {
                e
            };
            tracing::error!(error = %e, "the whole batch is rolled back");
            let _ = conn.batch("ROLLBACK");
            cache.conversations.clear();
            for done in completions {
                done(Some(&e));
            }
            Err(e)
        }
    };
    (outcome, rest)
}

/// What a batch's operations may touch beyond their own locks.
#[derive(Clone, Copy)]
struct Shared {
    /// Whether the batch holds the writer lock shared (PostgreSQL), so each
    /// operation may write only what its own locks guard.
    scoped: bool,
    shard: Shard,
}

/// A committed batch: its events to publish and its callers to answer.
struct Committed {
    events: Vec<CommittedEvent>,
    completions: Vec<Completion>,
}

/// How the writer hands on what it committed.
enum Publish {
    /// SQLite: readers see a commit at once.
    AtOnce(Arc<dyn EventSink>),
    /// PostgreSQL: to the publisher thread, in commit order.
    WhenVisible(crossbeam_channel::Sender<Committed>),
}

impl Publish {
    fn committed(&self, batch: Committed) {
        match self {
            Publish::AtOnce(sink) => announce(sink.as_ref(), batch),
            Publish::WhenVisible(publisher) => {
                if let Err(crossbeam_channel::SendError(batch)) = publisher.send(batch) {
                    tracing::error!("the publisher thread is gone; publishing from the writer");
                    for done in batch.completions {
                        done(None);
                    }
                }
            }
        }
    }
}

/// Publishes a batch's events, then answers its callers.
fn announce(sink: &dyn EventSink, batch: Committed) {
    sink.publish(&batch.events);
    for done in batch.completions {
        done(None);
    }
}

/// The publisher thread (PostgreSQL): for each committed batch in turn,
/// waits until readers can see its events, i.e. until every transaction
/// that began before it has ended too (see migration 8), then publishes them
/// and answers its callers, so that a woken device finds them at once.
/// Usually the first check passes. A transaction left open elsewhere holds a
/// batch for at most [`VISIBILITY_WAIT`], after which it is published anyway
/// and readers get its events with the next ones.
fn run_publisher(open: &Opener, committed: crossbeam_channel::Receiver<Committed>, sink: &dyn EventSink) {
    let mut conn: Option<Box<dyn Conn>> = None;
    while let Ok(batch) = committed.recv() {
        if let Some(newest) = batch.events.last().map(|e| e.pos) {
            await_visibility(open, &mut conn, newest);
        }
        announce(sink, batch);
    }
}

fn await_visibility(open: &Opener, conn: &mut Option<Box<dyn Conn>>, newest: StreamPos) {
    let started = Instant::now();
    let mut pause = Duration::from_micros(200);
    loop {
        if conn.as_ref().is_none_or(|c| c.is_broken()) {
            *conn = open().ok();
        }
        let Some(c) = conn.as_deref_mut() else {
            tracing::warn!("publishing without checking visibility: no database connection");
            return;
        };
        match c.query_one("SELECT qiao_visible_below()", &[]).and_then(|r| r.int(0)) {
            Ok(below) if below > newest.0 => return,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not check that a batch is visible");
                *conn = None;
                return;
            }
        }
        if started.elapsed() >= VISIBILITY_WAIT {
            tracing::warn!(
                pos = newest.0,
                "a transaction left open on the database holds back delivery of committed events"
            );
            return;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Answers every job of a batch that could not start with `error`.
fn fail_all(batch: Vec<Job>, error: &StoreError) {
    tracing::warn!(%error, dropped = batch.len(), "batch not run");
    for job in batch {
        let (_, answer) = (job.run)(Err(error));
        answer(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::SqliteConn;

    /// An operation without a savepoint that fails mid-write takes the whole
    /// batch down with it: nothing it wrote survives.
    #[tokio::test]
    async fn a_broken_check_first_operation_rolls_back_its_batch() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("w.db");
        let mut conn = SqliteConn::open_writer(&path).expect("open");
        conn.batch("CREATE TABLE t (v INTEGER)").expect("create");
        let writer = Writer::start(Box::new(conn), None, Arc::new(crate::NoSink)).expect("writer");
        let broken = writer
            .run_checked_first(|tx| {
                tx.conn.execute("INSERT INTO t (v) VALUES (1)", &[])?;
                Err::<(), _>(StoreError::Backend("disk on fire".into()))
            })
            .await;
        assert!(matches!(broken, Err(StoreError::Backend(_))));
        let refused = writer
            .run_checked_first(|_| Err::<(), _>(qiao_domain::Error::InsufficientFunds.into()))
            .await;
        assert!(matches!(
            refused,
            Err(StoreError::Rejected(qiao_domain::Error::InsufficientFunds))
        ));
        let count = writer
            .run(|tx| tx.conn.query_one("SELECT COUNT(*) FROM t", &[])?.int(0))
            .await
            .expect("count");
        assert_eq!(count, 0, "the broken operation's write was rolled back");
    }
}
