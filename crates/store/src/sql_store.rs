//! [`SqlStore`]: the [`Store`] implementation for both engines — a batching
//! writer thread plus a pool of readers around the shared operations.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use qiao_domain::caps::CapKind;
use qiao_domain::conversation::Role;
use qiao_domain::ids::{
    CardId, ClientMsgId, ConversationId, FriendRequestId, MessageId, PaymentId, SessionId, StreamPos, TransferId,
    UserId,
};
use qiao_domain::journal::{LedgerKey, Memo};
use qiao_domain::ledger::{AccountKind, Owner};
use qiao_domain::message::Draft;
use qiao_domain::money::Currency;
use qiao_domain::verification::IdentifierKind;

use crate::engine::{Conn, Dialect, LockKey};
use crate::ops::{
    accounts, caps, cards, contacts, conversations as convs, identity, ledger, messages, payments, pins, sync,
};
use crate::postgres::PgConn;
use crate::readers::Readers;
use crate::records::*;
use crate::sqlite::SqliteConn;
use crate::writer::Writer;
use crate::{EventSink, Friendship, Sent, Store, StoreError, StoreResult};

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum Location {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

/// Opens another connection to the same database, for the readers.
type Opener = dyn Fn() -> StoreResult<Box<dyn Conn>> + Send + Sync;

/// A request waiting to be coalesced into the next batch, with the locks it
/// needs (`None`: an exclusive batch) and its reply.
type Queued<Req, Resp> = (
    Req,
    Option<Vec<LockKey>>,
    tokio::sync::oneshot::Sender<StoreResult<Resp>>,
);

/// A writer operation over a whole batch, answering each request on its own.
type BatchOp<Req, Resp> = fn(&mut crate::writer::Tx<'_>, Vec<Req>) -> StoreResult<Vec<StoreResult<Resp>>>;

/// Most requests coalesced into one writer operation.
const MAX_COALESCED: usize = 4096;

/// Requests gathered into writer operations of many each (see [`coalesce`]).
struct Coalescer<Req, Resp> {
    queue: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<Queued<Req, Resp>>>,
}

impl<Req: Clone + Send + Sync + 'static, Resp: Send + 'static> Coalescer<Req, Resp> {
    fn new() -> Self {
        Self {
            queue: std::sync::OnceLock::new(),
        }
    }

    /// Queues `request` (starting the batching task on first use) and waits
    /// for its answer. With `locks`, it may run in a shared batch
    /// ([`Writer::run_locked`]) when every request coalesced with it has
    /// locks too.
    async fn submit(
        &self,
        writer: &Writer,
        request: Req,
        locks: Option<Vec<LockKey>>,
        checked_first: bool,
        batch: BatchOp<Req, Resp>,
    ) -> StoreResult<Resp> {
        let queue = self.queue.get_or_init(|| {
            let (queue, queued) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(coalesce(writer.clone(), queued, checked_first, batch));
            queue
        });
        let (reply, answer) = tokio::sync::oneshot::channel();
        queue
            .send((request, locks, reply))
            .map_err(|_| StoreError::Backend("batching task stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("batching task dropped the request".into()))?
    }
}

pub struct SqlStore {
    pub(crate) writer: Writer,
    dialect: Dialect,
    /// Concurrent `transfer` calls on PostgreSQL, coalesced into set-based batches.
    transfers: Coalescer<(NewTransfer, i64), TransferRecord>,
    /// Concurrent red-packet opens, coalesced into set-based batches.
    opens: Coalescer<payments::OpenRequest, (PaymentRecord, i64)>,
    /// Ledger accounts' owners (they never change), for the locks a
    /// transfer names (PostgreSQL only).
    owners: std::sync::Mutex<std::collections::HashMap<LedgerAccountId, Owner>>,
    pub(crate) readers: Readers,
    /// For SQLite: this process is the file's only writer while the store is open.
    _lock: Option<crate::sqlite::WriterLock>,
    /// For SQLite: keeps the WAL short without stalling the writer.
    _checkpointer: Option<crate::sqlite::Checkpointer>,
}

/// Opens (creating and migrating as needed) the store and starts its writer.
/// Blocking: call from a blocking context or before the runtime is busy.
pub fn open(location: &Location, sink: Arc<dyn EventSink>) -> StoreResult<SqlStore> {
    let mut lock = None;
    let mut checkpointer = None;
    let (writer_conn, opener, reopen_writer): (Box<dyn Conn>, Arc<Opener>, Option<Arc<Opener>>) = match location {
        Location::Sqlite(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(format!("{}: {e}", dir.display())))?;
            }
            lock = Some(crate::sqlite::WriterLock::acquire(path)?);
            let mut conn = SqliteConn::open_writer(path)?;
            conn.migrate()?;
            checkpointer = Some(crate::sqlite::Checkpointer::start(path)?);
            let path = path.clone();
            (
                Box::new(conn),
                Arc::new(move || Ok(Box::new(SqliteConn::open(&path)?) as Box<dyn Conn>)),
                None,
            )
        }
        Location::Postgres(url) => {
            let mut conn = PgConn::connect(url, "qiao-writer")?;
            conn.migrate()?;
            let readers_url = url.clone();
            let writer_url = url.clone();
            (
                Box::new(conn),
                Arc::new(move || Ok(Box::new(PgConn::connect(&readers_url, "qiao-reader")?) as Box<dyn Conn>)),
                Some(
                    Arc::new(move || Ok(Box::new(PgConn::connect(&writer_url, "qiao-writer")?) as Box<dyn Conn>))
                        as Arc<Opener>,
                ),
            )
        }
    };
    Ok(SqlStore {
        dialect: writer_conn.dialect(),
        transfers: Coalescer::new(),
        opens: Coalescer::new(),
        owners: std::sync::Mutex::default(),
        _lock: lock,
        _checkpointer: checkpointer,
        writer: Writer::start(writer_conn, reopen_writer, sink)?,
        readers: Readers::new(opener),
    })
}

/// Most ledger owners remembered; past it the memory starts over.
const OWNERS_REMEMBERED: usize = 100_000;

impl SqlStore {
    /// A payment's conversation and sender (neither ever changes), read
    /// first ([`SqlStore::read_first`]).
    async fn payment_parties(&self, id: PaymentId) -> Option<(ConversationId, UserId)> {
        self.read_first(move |c| payments::parties_of(c, id)).await
    }

    /// A read made before a write so that the write can name its locks (of
    /// facts that never change: an order's merchant, a code's owner). `None`
    /// on SQLite, whose one writer needs no locks, and when the read fails
    /// or finds nothing: the write then runs in an exclusive batch and
    /// gives the refusal.
    pub(crate) async fn read_first<T, F>(&self, read: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> StoreResult<T> + Clone + Send + 'static,
    {
        if self.dialect == Dialect::Sqlite {
            return None;
        }
        self.readers.run(read).await.ok()
    }

    /// The locks that guard ledger accounts `ids`: their owners', read
    /// first (and remembered: an account's owner never changes) so that a
    /// transfer can name its locks; each write checks them again. `None` on
    /// SQLite ([`SqlStore::read_first`]), and when an account is not found
    /// (the operation then runs in an exclusive batch and gives the refusal).
    pub(crate) async fn account_locks(&self, ids: &[LedgerAccountId]) -> Option<Vec<LockKey>> {
        let remembered = |owners: &std::collections::HashMap<LedgerAccountId, Owner>| {
            ids.iter()
                .map(|id| owners.get(id).map(LockKey::of_owner))
                .collect::<Option<Vec<_>>>()
        };
        if let Some(keys) = self.owners.lock().ok().and_then(|o| remembered(&o)) {
            return Some(keys);
        }
        let wanted = ids.to_vec();
        let found = self.read_first(move |c| ledger::owners_of(c, &wanted)).await?;
        let mut owners = self.owners.lock().ok()?;
        if owners.len() + found.len() > OWNERS_REMEMBERED {
            owners.clear();
        }
        for (id, owner) in found {
            owners.insert(id, Owner::parse(&owner)?);
        }
        remembered(&owners)
    }

    /// Whether a sweep has anything to do, asked of a reader first: a sweep
    /// that finds nothing then takes no writer batch, which on PostgreSQL
    /// would hold the writer lock exclusively and pause every node's message
    /// batches. A hint only: what it misses, the next sweep finds.
    pub(crate) async fn any_due(&self, sweep: &'static crate::ops::Sweep, at_ms: i64) -> StoreResult<bool> {
        self.readers.run(move |c| sweep.any(c, at_ms)).await
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn create_user(&self, new: NewUser) -> StoreResult<UserRecord> {
        self.writer.run(move |tx| accounts::create_user(tx, new)).await
    }

    async fn user(&self, id: UserId) -> StoreResult<UserRecord> {
        self.readers.run(move |c| crate::ops::require_user(c, id)).await
    }

    async fn users(&self, ids: &[UserId]) -> StoreResult<Vec<UserRecord>> {
        let ids = ids.to_vec();
        self.readers.run(move |c| accounts::users(c, &ids)).await
    }

    async fn find_user(&self, lookup: UserLookup) -> StoreResult<Option<UserRecord>> {
        self.readers.run(move |c| accounts::find_user(c, &lookup)).await
    }

    async fn update_profile(&self, id: UserId, update: ProfileUpdate) -> StoreResult<UserRecord> {
        self.writer
            .run(move |tx| accounts::update_profile(tx, id, update))
            .await
    }

    async fn set_qiao_id(&self, id: UserId, qiao_id: &str) -> StoreResult<UserRecord> {
        let qiao_id = qiao_id.to_owned();
        self.writer.run(move |tx| accounts::set_qiao_id(tx, id, &qiao_id)).await
    }

    async fn discover(&self, hashes: &[String]) -> StoreResult<Vec<(String, UserRecord)>> {
        let hashes = hashes.to_vec();
        self.readers.run(move |c| accounts::discover(c, &hashes)).await
    }

    async fn claims(&self, user: UserId) -> StoreResult<Vec<ClaimRecord>> {
        self.readers.run(move |c| identity::claims(c, user)).await
    }

    async fn record_code(
        &self,
        user: UserId,
        kind: IdentifierKind,
        code_hash: &str,
        now_ms: i64,
    ) -> StoreResult<ClaimRecord> {
        let code_hash = code_hash.to_owned();
        self.writer
            .run(move |tx| identity::record_code(tx, user, kind, &code_hash, now_ms))
            .await
    }

    async fn confirm_claim(
        &self,
        user: UserId,
        kind: IdentifierKind,
        code_hash: &str,
        phone_hash: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<crate::Confirmed> {
        let (code_hash, phone_hash) = (code_hash.to_owned(), phone_hash.map(str::to_owned));
        self.writer
            .run(move |tx| identity::confirm(tx, user, kind, &code_hash, phone_hash.as_deref(), now_ms))
            .await
    }

    async fn spend_budget(&self, budget: &str, day: i64, amount: i64, limit: i64) -> StoreResult<i64> {
        let budget = budget.to_owned();
        self.writer
            .run(move |tx| identity::spend(tx, &budget, day, amount, limit))
            .await
    }

    async fn create_session(
        &self,
        user: UserId,
        token_hash: &str,
        device: &str,
        now_ms: i64,
    ) -> StoreResult<SessionRecord> {
        let (token_hash, device) = (token_hash.to_owned(), device.to_owned());
        self.writer
            .run_self_contained(move |tx| accounts::create_session(tx, user, &token_hash, &device, now_ms))
            .await
    }

    async fn session_by_token(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let token_hash = token_hash.to_owned();
        self.readers
            .run(move |c| accounts::session_by_token(c, &token_hash))
            .await
    }

    async fn touch_session(&self, id: SessionId, now_ms: i64) -> StoreResult<()> {
        self.writer
            .run_self_contained(move |tx| accounts::touch_session(tx, id, now_ms))
            .await
    }

    async fn sessions(&self, user: UserId) -> StoreResult<Vec<SessionRecord>> {
        self.readers.run(move |c| accounts::sessions(c, user)).await
    }

    async fn revoke_session(&self, user: UserId, id: SessionId, now_ms: i64) -> StoreResult<()> {
        self.writer
            .run_self_contained(move |tx| accounts::revoke_session(tx, user, id, now_ms))
            .await
    }

    async fn expire_sessions(&self, before_ms: i64, now_ms: i64) -> StoreResult<Vec<SessionRecord>> {
        if !self.any_due(&accounts::IDLE_SESSIONS, before_ms).await? {
            return Ok(Vec::new());
        }
        self.writer
            .run(move |tx| accounts::expire_sessions(tx, before_ms, now_ms))
            .await
    }

    async fn request_friend(
        &self,
        from: UserId,
        to: UserId,
        greeting: &str,
        now_ms: i64,
    ) -> StoreResult<FriendRequestRecord> {
        let greeting = greeting.to_owned();
        self.writer
            .run(move |tx| contacts::request_friend(tx, from, to, &greeting, now_ms))
            .await
    }

    async fn friend_requests(&self, user: UserId) -> StoreResult<Vec<FriendRequestRecord>> {
        self.readers.run(move |c| contacts::friend_requests(c, user)).await
    }

    async fn accept_friend(&self, user: UserId, request: FriendRequestId, now_ms: i64) -> StoreResult<Friendship> {
        self.writer
            .run(move |tx| contacts::accept_friend(tx, user, request, now_ms))
            .await
    }

    async fn decline_friend(&self, user: UserId, request: FriendRequestId, now_ms: i64) -> StoreResult<()> {
        self.writer
            .run(move |tx| contacts::decline_friend(tx, user, request, now_ms))
            .await
    }

    async fn contacts(&self, user: UserId) -> StoreResult<Vec<ContactRecord>> {
        self.readers.run(move |c| contacts::contacts(c, user)).await
    }

    async fn set_remark(&self, user: UserId, friend: UserId, remark: Option<&str>) -> StoreResult<ContactRecord> {
        let remark = remark.map(str::to_owned);
        self.writer
            .run(move |tx| contacts::set_remark(tx, user, friend, remark.as_deref()))
            .await
    }

    async fn delete_contact(&self, user: UserId, friend: UserId, now_ms: i64) -> StoreResult<()> {
        self.writer
            .run(move |tx| contacts::delete_contact(tx, user, friend, now_ms))
            .await
    }

    async fn block(&self, user: UserId, target: UserId, now_ms: i64) -> StoreResult<()> {
        self.writer
            .run(move |tx| contacts::block(tx, user, target, now_ms))
            .await
    }

    async fn unblock(&self, user: UserId, target: UserId) -> StoreResult<()> {
        self.writer.run(move |tx| contacts::unblock(tx, user, target)).await
    }

    async fn blocked(&self, user: UserId) -> StoreResult<Vec<UserId>> {
        self.readers.run(move |c| contacts::blocked(c, user)).await
    }

    async fn open_direct(&self, user: UserId, peer: UserId, now_ms: i64) -> StoreResult<ConversationId> {
        self.writer
            .run(move |tx| convs::open_direct(tx, user, peer, now_ms))
            .await
    }

    async fn create_group(
        &self,
        owner: UserId,
        name: &str,
        members: &[UserId],
        now_ms: i64,
    ) -> StoreResult<ConversationId> {
        let (name, members) = (name.to_owned(), members.to_vec());
        self.writer
            .run(move |tx| convs::create_group(tx, owner, &name, &members, now_ms))
            .await
    }

    async fn conversations(&self, user: UserId) -> StoreResult<Vec<ConversationView>> {
        self.readers.run(move |c| convs::conversations(c, user)).await
    }

    async fn conversation(
        &self,
        user: UserId,
        id: ConversationId,
    ) -> StoreResult<(ConversationView, Vec<MemberRecord>)> {
        self.readers.run(move |c| convs::conversation(c, user, id)).await
    }

    async fn update_group(
        &self,
        actor: UserId,
        id: ConversationId,
        update: GroupUpdate,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.writer
            .run_locked(vec![LockKey::Conversation(id)], move |tx| {
                convs::update_group(tx, actor, id, update.clone(), now_ms)
            })
            .await
    }

    async fn invite(&self, actor: UserId, id: ConversationId, users: &[UserId], now_ms: i64) -> StoreResult<()> {
        let users = users.to_vec();
        self.writer
            .run_locked(vec![LockKey::Conversation(id)], move |tx| {
                convs::invite(tx, actor, id, &users, now_ms)
            })
            .await
    }

    async fn remove_member(&self, actor: UserId, id: ConversationId, target: UserId, now_ms: i64) -> StoreResult<()> {
        self.writer
            .run_locked(vec![LockKey::Conversation(id)], move |tx| {
                convs::remove_member(tx, actor, id, target, now_ms)
            })
            .await
    }

    async fn leave(&self, user: UserId, id: ConversationId, now_ms: i64) -> StoreResult<()> {
        self.writer
            .run_locked(vec![LockKey::Conversation(id)], move |tx| {
                convs::leave(tx, user, id, now_ms)
            })
            .await
    }

    async fn transfer_owner(&self, actor: UserId, id: ConversationId, to: UserId, now_ms: i64) -> StoreResult<()> {
        self.writer
            .run_locked(vec![LockKey::Conversation(id)], move |tx| {
                convs::transfer_owner(tx, actor, id, to, now_ms)
            })
            .await
    }

    async fn set_role(
        &self,
        actor: UserId,
        id: ConversationId,
        target: UserId,
        role: Role,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.writer
            .run_locked(vec![LockKey::Conversation(id)], move |tx| {
                convs::set_role(tx, actor, id, target, role, now_ms)
            })
            .await
    }

    async fn send(
        &self,
        sender: UserId,
        id: ConversationId,
        client_id: ClientMsgId,
        draft: Draft,
        now_ms: i64,
    ) -> StoreResult<Sent> {
        self.writer
            .run_in_conversation(id, move |tx| messages::send(tx, sender, id, client_id, draft, now_ms))
            .await
    }

    async fn history(
        &self,
        user: UserId,
        id: ConversationId,
        before: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<MessageRecord>> {
        self.readers
            .run(move |c| messages::history(c, user, id, before, limit))
            .await
    }

    async fn recall(&self, user: UserId, message: MessageId, now_ms: i64) -> StoreResult<MessageRecord> {
        self.writer
            .run(move |tx| messages::recall(tx, user, message, now_ms))
            .await
    }

    async fn receipt(
        &self,
        user: UserId,
        id: ConversationId,
        kind: ReceiptKind,
        up_to_seq: i64,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.writer
            .run_in_conversation(id, move |tx| messages::receipt(tx, user, id, kind, up_to_seq, now_ms))
            .await
    }

    async fn put_upload(&self, upload: UploadRecord) -> StoreResult<()> {
        self.writer.run(move |tx| messages::put_upload(tx, upload)).await
    }

    async fn upload(&self, hash: &str) -> StoreResult<Option<UploadRecord>> {
        let hash = hash.to_owned();
        self.readers.run(move |c| messages::upload(c, &hash)).await
    }

    async fn may_read_upload(&self, user: UserId, hash: &str) -> StoreResult<bool> {
        let hash = hash.to_owned();
        self.readers
            .run(move |c| messages::may_read_upload(c, user, &hash))
            .await
    }

    async fn add_card(&self, card: CardRecord) -> StoreResult<CardRecord> {
        self.writer.run(move |tx| cards::add_card(tx, card)).await
    }

    async fn cards(&self, user: UserId) -> StoreResult<Vec<CardRecord>> {
        self.readers.run(move |c| cards::cards(c, user)).await
    }

    async fn card(&self, user: UserId, id: CardId) -> StoreResult<CardRecord> {
        self.readers.run(move |c| cards::card(c, user, id)).await
    }

    async fn transfer_by_key(&self, key: &LedgerKey) -> StoreResult<Option<TransferRecord>> {
        let key = key.to_string();
        self.readers.run(move |c| ledger::transfer_by_key(c, &key)).await
    }

    async fn settlement_of(&self, pending_key: &LedgerKey) -> StoreResult<Option<TransferRecord>> {
        let key = pending_key.to_string();
        self.readers.run(move |c| ledger::settlement_of(c, &key)).await
    }

    async fn settlement_of_row(&self, pending: TransferId) -> StoreResult<Option<TransferRecord>> {
        self.readers.run(move |c| ledger::settlement_of_id(c, pending)).await
    }

    async fn unsettled_transfers(&self, before_ms: i64, limit: usize) -> StoreResult<Vec<TransferRecord>> {
        self.readers.run(move |c| ledger::unsettled(c, before_ms, limit)).await
    }

    async fn ledger_account(
        &self,
        kind: AccountKind,
        owner: &Owner,
        currency: Currency,
        now_ms: i64,
    ) -> StoreResult<LedgerAccount> {
        // Most calls find the account, which a reader can do.
        if let Some(found) = self.find_ledger_account(kind, owner, currency).await? {
            return Ok(found);
        }
        let keys = vec![LockKey::of_owner(owner)];
        let owner = owner.to_string();
        self.writer
            .run_locked_checked_first(keys, move |tx| {
                ledger::ensure_account(tx, kind, &owner, currency, now_ms)
            })
            .await
    }

    async fn ledger_account_by_id(&self, id: LedgerAccountId) -> StoreResult<LedgerAccount> {
        self.readers.run(move |c| ledger::account(c, id)).await
    }

    async fn transfer(&self, new: NewTransfer, now_ms: i64) -> StoreResult<TransferRecord> {
        // Same rules either way; what differs is the cost model. SQLite runs in
        // process, where a few statements per transfer are cheap and the writer
        // already commits many per transaction. PostgreSQL pays a round trip per
        // statement, so there transfers are coalesced into set-based batches,
        // under the locks of the accounts they move money between.
        let Some(mut keys) = self.account_locks(&[new.debit, new.credit]).await else {
            return self
                .writer
                .run_checked_first(move |tx| ledger::transfer(tx, new, now_ms))
                .await;
        };
        if let Some(check) = new.cap {
            keys.push(LockKey::User(check.user));
            return self
                .writer
                .run_locked_checked_first(keys, move |tx| ledger::transfer(tx, new.clone(), now_ms))
                .await;
        }
        self.transfers
            .submit(&self.writer, (new, now_ms), Some(keys), true, ledger::transfer_batch)
            .await
    }

    async fn transfers(&self, batch: Vec<NewTransfer>, now_ms: i64) -> StoreResult<Vec<StoreResult<TransferRecord>>> {
        let batch: Vec<(NewTransfer, i64)> = batch.into_iter().map(|t| (t, now_ms)).collect();
        self.writer
            .run_checked_first(move |tx| ledger::transfer_batch(tx, batch))
            .await
    }

    async fn settle(
        &self,
        pending_key: &LedgerKey,
        post: bool,
        memo: &Memo,
        now_ms: i64,
    ) -> StoreResult<TransferRecord> {
        let (key, memo) = (pending_key.clone(), memo.clone());
        let op = move |tx: &mut crate::writer::Tx<'_>| ledger::settle(tx, &key, post, &memo, now_ms);
        let key_text = pending_key.to_string();
        let pending = self.read_first(move |c| ledger::transfer_by_key(c, &key_text)).await;
        let Some(pending) = pending.flatten() else {
            return self.writer.run(op).await;
        };
        let Some(mut keys) = self.account_locks(&[pending.debit, pending.credit]).await else {
            return self.writer.run(op).await;
        };
        if let Some((user, _)) = pending_key.daily_cap() {
            keys.push(LockKey::User(user));
        }
        self.writer.run_locked_checked_first(keys, op).await
    }

    async fn reconcile(&self) -> StoreResult<ReconcileReport> {
        self.readers.run(ledger::reconcile).await
    }

    async fn find_ledger_account(
        &self,
        kind: AccountKind,
        owner: &Owner,
        currency: Currency,
    ) -> StoreResult<Option<LedgerAccount>> {
        let owner = owner.to_string();
        self.readers
            .run(move |c| ledger::find_account(c, kind.name(), &owner, currency))
            .await
    }

    async fn ledger_accounts_of(&self, owner: &Owner) -> StoreResult<Vec<LedgerAccount>> {
        let owner = owner.to_string();
        self.readers.run(move |c| ledger::accounts_of(c, &owner)).await
    }

    async fn transfer_by_id(&self, id: TransferId) -> StoreResult<Option<TransferRecord>> {
        self.readers.run(move |c| ledger::transfer_by_id(c, id)).await
    }

    async fn statement(&self, query: StatementQuery) -> StoreResult<Vec<StatementEntry>> {
        self.readers.run(move |c| ledger::entries(c, &query)).await
    }

    async fn daily_used(&self, user: UserId, currency: Currency, kind: CapKind, now_ms: i64) -> StoreResult<i64> {
        self.readers
            .run(move |c| caps::used(c, user, currency, kind, now_ms))
            .await
    }

    async fn pin(&self, user: UserId) -> StoreResult<Option<PinRecord>> {
        self.readers.run(move |c| pins::pin(c, user)).await
    }

    async fn set_pin(&self, user: UserId, pin_hash: &str, clear_lock: bool, now_ms: i64) -> StoreResult<PinRecord> {
        // A PIN is its user's row alone: the user's lock guards it.
        let hash = pin_hash.to_owned();
        self.writer
            .run_locked(vec![LockKey::User(user)], move |tx| {
                pins::set_pin(tx, user, &hash, clear_lock, now_ms)
            })
            .await
    }

    async fn record_pin_try(&self, user: UserId, right: bool, now_ms: i64, lock_ms: i64) -> StoreResult<PinRecord> {
        self.writer
            .run_locked(vec![LockKey::User(user)], move |tx| {
                pins::record_try(tx, user, right, now_ms, lock_ms)
            })
            .await
    }

    async fn set_no_pin_limit(&self, user: UserId, limit_minor: i64) -> StoreResult<PinRecord> {
        self.writer
            .run_locked(vec![LockKey::User(user)], move |tx| {
                pins::set_no_pin_limit(tx, user, limit_minor)
            })
            .await
    }

    async fn send_payment(&self, new: NewPayment, now_ms: i64) -> StoreResult<(PaymentRecord, bool)> {
        // What a payment writes: its conversation's rows, the sender's
        // accounts and totals, this node's escrow shard. Conversions and
        // anything else unexpected run again in an exclusive batch.
        let keys = vec![
            LockKey::Conversation(new.conversation),
            LockKey::User(new.sender),
            LockKey::Escrow(self.writer.shard()),
        ];
        self.writer
            .run_locked(keys, move |tx| payments::send(tx, new.clone(), now_ms))
            .await
    }

    async fn payment(&self, user: UserId, id: PaymentId) -> StoreResult<PaymentRecord> {
        self.readers.run(move |c| payments::payment(c, user, id)).await
    }

    async fn answer_transfer(
        &self,
        user: UserId,
        id: PaymentId,
        accept: bool,
        now_ms: i64,
    ) -> StoreResult<PaymentRecord> {
        let op = move |tx: &mut crate::writer::Tx<'_>| payments::answer(tx, user, id, accept, now_ms);
        let Some((conversation, sender)) = self.payment_parties(id).await else {
            return self.writer.run(op).await;
        };
        let keys = vec![
            LockKey::Conversation(conversation),
            LockKey::User(user),
            LockKey::User(sender),
            LockKey::Escrow(self.writer.shard()),
        ];
        self.writer.run_locked(keys, op).await
    }

    async fn open_red_packet(&self, user: UserId, id: PaymentId, now_ms: i64) -> StoreResult<(PaymentRecord, i64)> {
        // A crowd opening one packet becomes a few set-based writer
        // operations, in shared batches: the packet's conversation, the
        // opener's wallet, this node's escrow shard.
        let locks = self.payment_parties(id).await.map(|(conversation, _)| {
            vec![
                LockKey::Conversation(conversation),
                LockKey::User(user),
                LockKey::Escrow(self.writer.shard()),
            ]
        });
        self.opens
            .submit(&self.writer, (user, id, now_ms), locks, false, payments::open_batch)
            .await
    }

    async fn open_red_packets(
        &self,
        opens: Vec<(UserId, PaymentId)>,
        now_ms: i64,
    ) -> StoreResult<Vec<StoreResult<(PaymentRecord, i64)>>> {
        let requests: Vec<payments::OpenRequest> = opens.into_iter().map(|(u, p)| (u, p, now_ms)).collect();
        self.writer.run(move |tx| payments::open_batch(tx, requests)).await
    }

    async fn expire_payments(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<PaymentRecord>> {
        if !self.any_due(&payments::EXPIRED, now_ms).await? {
            return Ok(Vec::new());
        }
        self.writer.run(move |tx| payments::expire(tx, now_ms, limit)).await
    }

    async fn events_since(&self, user: UserId, since: StreamPos, limit: usize) -> StoreResult<Vec<EventRecord>> {
        self.readers
            .run(move |c| sync::events_since(c, user, since, limit))
            .await
    }

    async fn head(&self) -> StoreResult<StreamPos> {
        self.readers.run(|c| crate::ops::visible_head(c).map(StreamPos)).await
    }

    fn shard(&self) -> qiao_domain::ledger::Shard {
        self.writer.shard()
    }

    fn writer_stats(&self) -> crate::WriterStats {
        self.writer.stats()
    }

    async fn flush(&self) -> StoreResult<()> {
        // The writer takes operations in order: this one is answered after
        // every earlier one.
        self.writer.run(|_| Ok(())).await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.readers.run(|c| c.query_one("SELECT 1", &[]).map(|_| ())).await
    }
}

/// Reconciles a database without opening it for writing (no writer thread,
/// no writer lock), so it can check a data directory a server is using.
pub fn reconcile_at(location: &Location) -> StoreResult<crate::ReconcileReport> {
    let mut conn: Box<dyn Conn> = match location {
        Location::Sqlite(path) => {
            if !path.exists() {
                return Err(StoreError::Backend(format!("no database at {}", path.display())));
            }
            Box::new(SqliteConn::open(path)?)
        }
        Location::Postgres(url) => Box::new(PgConn::connect(url, "qiao-reconcile")?),
    };
    ledger::reconcile(conn.as_mut())
}

/// Gathers whatever requests are waiting into one writer operation. One
/// batch runs at a time; the next one fills up meanwhile, so under load
/// batches are large and statements per request few.
async fn coalesce<Req: Clone + Send + Sync + 'static, Resp: Send + 'static>(
    writer: Writer,
    mut queued: tokio::sync::mpsc::UnboundedReceiver<Queued<Req, Resp>>,
    checked_first: bool,
    batch_op: BatchOp<Req, Resp>,
) {
    while let Some(first) = queued.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_COALESCED {
            match queued.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut requests = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        let mut locks: Option<Vec<LockKey>> = Some(Vec::new());
        for (request, keys, reply) in batch {
            requests.push(request);
            replies.push(reply);
            match (&mut locks, keys) {
                (Some(all), Some(keys)) => all.extend(keys),
                _ => locks = None,
            }
        }
        let answered = match locks {
            Some(keys) => {
                let op = move |tx: &mut crate::writer::Tx<'_>| batch_op(tx, requests.clone());
                if checked_first {
                    writer.run_locked_checked_first(keys, op).await
                } else {
                    writer.run_locked(keys, op).await
                }
            }
            _ => {
                let op = move |tx: &mut crate::writer::Tx<'_>| batch_op(tx, requests);
                if checked_first {
                    writer.run_checked_first(op).await
                } else {
                    writer.run(op).await
                }
            }
        };
        match answered {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                let message = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Backend(message.clone())));
                }
            }
        }
    }
}
