//! Qiao's storage layer: the [`Store`] trait and its two implementations.
//!
//! Architecture invariants:
//! - Only this crate writes SQL. Services call the trait; handlers never see it.
//! - Every write that other users must hear about appends to the global event
//!   stream in the same transaction, and is handed to the [`EventSink`] after
//!   commit, in stream order. Nothing reaches a device before it is durable.
//! - Rules come from `qiao-domain`; a store fetches state, asks the domain, and
//!   applies the change atomically. A rejected operation changes nothing.

mod engine;
mod merchant_records;
mod ops;
mod pg_tls;
pub mod postgres;
mod readers;
mod reconcile;
mod records;
mod sql_merchants;
mod sql_store;
pub mod sqlite;
pub mod wire;
mod writer;

use std::sync::Arc;

use async_trait::async_trait;
use qiao_domain::caps::CapKind;
use qiao_domain::conversation::Role;
use qiao_domain::event::EventKind;
use qiao_domain::ids::{
    ApiKeyId, CardId, ClientMsgId, ConversationId, ConversionId, FriendRequestId, MerchantId, MessageId,
    NotificationId, OrderId, PaymentId, QuoteId, SessionId, ShopId, StreamPos, TransferId, UserId,
};
use qiao_domain::journal::{LedgerKey, Memo};
use qiao_domain::ledger::{AccountKind, Owner};
use qiao_domain::merchant::Role as MerchantRole;
use qiao_domain::message::Draft;
use qiao_domain::money::Currency;
use qiao_domain::verification::IdentifierKind;
use qiao_domain::Error as Rejection;

pub use merchant_records::*;
pub use ops::identity::Confirmed;
pub use records::*;
pub use sql_store::{open, reconcile_at, Location, SqlStore};
pub use writer::WriterStats;

/// Why a store operation failed: a rule said no, or the database broke.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("rejected: {0}")]
    Rejected(#[from] Rejection),
    #[error("database: {0}")]
    Backend(String),
    /// The connection to the database is lost or cannot be made. Retryable:
    /// the store re-makes its connections by itself.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// An operation of a shared writer batch reached for something its
    /// locks do not guard; [`writer::Writer::run_locked`] runs it again in
    /// an exclusive batch, so callers never see this.
    #[error("needs an exclusive batch: {0}")]
    NeedsExclusive(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> Self {
        // The client's own message is often only the step that failed
        // ("error performing TLS handshake"); the causes say why.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message = format!("{message}: {cause}");
            source = cause.source();
        }
        if crate::postgres::is_connection_loss(&e) {
            StoreError::Unavailable(message)
        } else {
            StoreError::Backend(message)
        }
    }
}

impl StoreError {
    /// Whether the connection that gave this error may be broken, so it must
    /// not be used again.
    pub fn may_break_connection(&self) -> bool {
        matches!(self, StoreError::Backend(_) | StoreError::Unavailable(_))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Refuses a database migrated by a newer Qiao (`newest` applied, this
/// binary knows `known`): running old code on it could misread or damage it.
fn refuse_newer_schema(newest: i64, known: usize) -> StoreResult<()> {
    if newest > known as i64 {
        return Err(StoreError::Backend(format!(
            "the database's schema is version {newest}, newer than this qiao knows ({known}); run the newer qiao, or restore a backup made before the upgrade"
        )));
    }
    Ok(())
}

/// An event that has been committed, with everyone who must receive it live.
#[derive(Debug, Clone)]
pub struct CommittedEvent {
    pub pos: StreamPos,
    pub kind: EventKind,
    pub conversation_id: Option<ConversationId>,
    pub at_ms: i64,
    /// The event's `data` as JSON, serialized once.
    pub data: Arc<str>,
    /// Users whose devices get this event now (members, or the targeted user).
    pub recipients: Arc<[UserId]>,
}

/// Receives committed events in stream order. Called on the committing thread:
/// it must not block (the real-time hub only enqueues).
pub trait EventSink: Send + Sync + 'static {
    fn publish(&self, events: &[CommittedEvent]);
}

/// A sink that drops everything, for tools that only read or check.
pub struct NoSink;

impl EventSink for NoSink {
    fn publish(&self, _events: &[CommittedEvent]) {}
}

/// What the accept of a friend request produced.
#[derive(Debug, Clone)]
pub struct Friendship {
    pub request: FriendRequestRecord,
    pub conversation_id: ConversationId,
}

/// Outcome of a send: the message and whether this call created it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub message: MessageRecord,
    pub created: bool,
}

/// Merchants, orders, refunds, FX and notifications: the part of the store
/// that paying a merchant needs. Every store implements it.
#[async_trait]
pub trait MerchantStore: Send + Sync + 'static {
    // ----- merchants -----
    /// A merchant and its owner's staff row; the settlement card must be the owner's.
    async fn create_merchant(&self, new: NewMerchant, now_ms: i64) -> StoreResult<MerchantRecord>;
    async fn merchant(&self, id: MerchantId) -> StoreResult<MerchantRecord>;
    /// Merchants in id order after `after` (the payout sweep pages through them).
    async fn merchants_page(&self, after: Option<MerchantId>, limit: usize) -> StoreResult<Vec<MerchantRecord>>;
    async fn update_merchant(&self, id: MerchantId, update: MerchantUpdate) -> StoreResult<MerchantRecord>;
    async fn set_merchant_verified(&self, id: MerchantId, verified: bool) -> StoreResult<MerchantRecord>;
    /// The merchants `user` works at, with the role at each.
    async fn merchants_of(&self, user: UserId) -> StoreResult<Vec<(MerchantRecord, MerchantRole)>>;
    async fn staff_role(&self, merchant: MerchantId, user: UserId) -> StoreResult<Option<MerchantRole>>;
    async fn add_shop(&self, merchant: MerchantId, name: &str, now_ms: i64) -> StoreResult<ShopRecord>;
    async fn shops(&self, merchant: MerchantId) -> StoreResult<Vec<ShopRecord>>;
    /// Adds a cashier (or moves one to another shop).
    async fn set_staff(
        &self,
        merchant: MerchantId,
        user: UserId,
        shop: Option<ShopId>,
        now_ms: i64,
    ) -> StoreResult<StaffRecord>;
    async fn remove_staff(&self, merchant: MerchantId, user: UserId) -> StoreResult<()>;
    async fn staff(&self, merchant: MerchantId) -> StoreResult<Vec<StaffRecord>>;
    async fn create_api_key(
        &self,
        merchant: MerchantId,
        key_hash: &str,
        prefix: &str,
        label: &str,
        now_ms: i64,
    ) -> StoreResult<ApiKeyRecord>;
    async fn api_keys(&self, merchant: MerchantId) -> StoreResult<Vec<ApiKeyRecord>>;
    async fn revoke_api_key(&self, merchant: MerchantId, id: ApiKeyId, now_ms: i64) -> StoreResult<ApiKeyRecord>;
    /// A live key by its hash.
    async fn api_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKeyRecord>>;

    // ----- orders and refunds -----
    /// Idempotent by the merchant's order number (the flag: created now).
    async fn create_order(&self, new: NewOrder, now_ms: i64) -> StoreResult<(OrderRecord, bool)>;
    async fn order(&self, merchant: MerchantId, which: OrderRef) -> StoreResult<OrderRecord>;
    async fn order_by_token(&self, token: &str) -> StoreResult<OrderRecord>;
    async fn order_by_id(&self, id: OrderId) -> StoreResult<OrderRecord>;
    async fn orders(
        &self,
        merchant: MerchantId,
        before: Option<OrderId>,
        limit: usize,
    ) -> StoreResult<Vec<OrderRecord>>;
    async fn close_order(&self, merchant: MerchantId, which: OrderRef, now_ms: i64) -> StoreResult<OrderRecord>;
    async fn pay_order(&self, order: OrderId, pay: PayOrder, now_ms: i64) -> StoreResult<OrderRecord>;
    async fn pay_static(&self, payment: StaticPayment, now_ms: i64) -> StoreResult<OrderRecord>;
    /// Takes a payment code (once) and makes the order bound to its owner.
    async fn charge_code(&self, charge: CodeCharge, now_ms: i64) -> StoreResult<OrderRecord>;
    async fn await_confirmation(&self, order: OrderId, quote: Option<QuoteId>, now_ms: i64)
        -> StoreResult<OrderRecord>;
    async fn refund(&self, new: NewRefund, now_ms: i64) -> StoreResult<(RefundRecord, OrderRecord)>;
    async fn refunds(&self, order: OrderId) -> StoreResult<Vec<RefundRecord>>;
    /// Marks up to `limit` unpaid orders past their expiry as expired.
    async fn expire_orders(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<OrderRecord>>;
    async fn merchant_report(&self, merchant: MerchantId, from_ms: i64, until_ms: i64) -> StoreResult<DayReport>;
    /// What a merchant's account may pay out for the days before `before_ms`.
    async fn settleable(&self, account: LedgerAccountId, before_ms: i64) -> StoreResult<i64>;

    // ----- FX -----
    async fn set_rate(
        &self,
        base: Currency,
        quote: Currency,
        rate_scaled: i64,
        only_if_absent: bool,
        now_ms: i64,
    ) -> StoreResult<RateRecord>;
    async fn rates(&self) -> StoreResult<Vec<RateRecord>>;
    async fn create_quote(&self, new: NewQuote, now_ms: i64) -> StoreResult<QuoteRecord>;
    async fn quote(&self, user: UserId, id: QuoteId) -> StoreResult<QuoteRecord>;
    /// Converts between two of the user's wallets at a quote; idempotent by the key.
    async fn convert(
        &self,
        user: UserId,
        client_key: &str,
        quote: QuoteId,
        cap: Option<CapCheck>,
        now_ms: i64,
    ) -> StoreResult<(ConversionId, QuoteRecord)>;

    // ----- payment codes -----
    async fn issue_payment_code(
        &self,
        owner: CodeOwner,
        code_hash: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()>;

    // ----- notifications -----
    async fn lease_notifications(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<NotificationRecord>>;
    async fn record_attempt(
        &self,
        id: NotificationId,
        attempt: Attempt,
        now_ms: i64,
    ) -> StoreResult<NotificationRecord>;
    /// Several attempts recorded in one writer operation.
    async fn record_attempts(&self, attempts: Vec<(NotificationId, Attempt)>, now_ms: i64) -> StoreResult<()>;
    async fn notifications(&self, merchant: MerchantId, limit: usize) -> StoreResult<Vec<NotificationRecord>>;
    async fn resend_notification(
        &self,
        merchant: MerchantId,
        id: NotificationId,
        now_ms: i64,
    ) -> StoreResult<NotificationRecord>;
}

/// Everything Qiao keeps. Both implementations pass the same conformance suite
/// (`tests/conformance.rs`). Times are milliseconds since the Unix epoch,
/// passed in by the caller so tests control the clock.
#[async_trait]
pub trait Store: MerchantStore + Send + Sync + 'static {
    // ----- accounts -----
    async fn create_user(&self, new: NewUser) -> StoreResult<UserRecord>;
    async fn user(&self, id: UserId) -> StoreResult<UserRecord>;
    async fn users(&self, ids: &[UserId]) -> StoreResult<Vec<UserRecord>>;
    /// Finds a user by phone, email or Qiao ID (exact, normalized).
    async fn find_user(&self, lookup: UserLookup) -> StoreResult<Option<UserRecord>>;
    async fn update_profile(&self, id: UserId, update: ProfileUpdate) -> StoreResult<UserRecord>;
    async fn set_qiao_id(&self, id: UserId, qiao_id: &str) -> StoreResult<UserRecord>;
    /// Users whose phone's discovery hash is among `hashes`.
    async fn discover(&self, hashes: &[String]) -> StoreResult<Vec<(String, UserRecord)>>;

    // ----- proving phones and emails -----
    /// The user's claimed, not yet proven, phone and email.
    async fn claims(&self, user: UserId) -> StoreResult<Vec<ClaimRecord>>;
    /// Records that a code (its hash) is sent for a claim, if one may be sent now.
    async fn record_code(
        &self,
        user: UserId,
        kind: IdentifierKind,
        code_hash: &str,
        now_ms: i64,
    ) -> StoreResult<ClaimRecord>;
    /// Checks a code's hash; a wrong one is counted (`Confirmed::Wrong`).
    async fn confirm_claim(
        &self,
        user: UserId,
        kind: IdentifierKind,
        code_hash: &str,
        phone_hash: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<Confirmed>;
    /// Takes `amount` from the daily budget `budget` (day `day`), at most
    /// `limit` a day; returns what is left, or `LookupBudgetSpent`.
    async fn spend_budget(&self, budget: &str, day: i64, amount: i64, limit: i64) -> StoreResult<i64>;

    // ----- sessions -----
    async fn create_session(
        &self,
        user: UserId,
        token_hash: &str,
        device: &str,
        now_ms: i64,
    ) -> StoreResult<SessionRecord>;
    async fn session_by_token(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>>;
    async fn touch_session(&self, id: SessionId, now_ms: i64) -> StoreResult<()>;
    async fn sessions(&self, user: UserId) -> StoreResult<Vec<SessionRecord>>;
    /// Ends one of `user`'s sessions; `NotFound` for someone else's.
    async fn revoke_session(&self, user: UserId, id: SessionId, now_ms: i64) -> StoreResult<()>;
    /// Ends every session last seen before `before_ms`; returns them.
    async fn expire_sessions(&self, before_ms: i64, now_ms: i64) -> StoreResult<Vec<SessionRecord>>;

    // ----- contacts -----
    async fn request_friend(
        &self,
        from: UserId,
        to: UserId,
        greeting: &str,
        now_ms: i64,
    ) -> StoreResult<FriendRequestRecord>;
    async fn friend_requests(&self, user: UserId) -> StoreResult<Vec<FriendRequestRecord>>;
    async fn accept_friend(&self, user: UserId, request: FriendRequestId, now_ms: i64) -> StoreResult<Friendship>;
    async fn decline_friend(&self, user: UserId, request: FriendRequestId, now_ms: i64) -> StoreResult<()>;
    async fn contacts(&self, user: UserId) -> StoreResult<Vec<ContactRecord>>;
    async fn set_remark(&self, user: UserId, friend: UserId, remark: Option<&str>) -> StoreResult<ContactRecord>;
    async fn delete_contact(&self, user: UserId, friend: UserId, now_ms: i64) -> StoreResult<()>;
    async fn block(&self, user: UserId, target: UserId, now_ms: i64) -> StoreResult<()>;
    async fn unblock(&self, user: UserId, target: UserId) -> StoreResult<()>;
    async fn blocked(&self, user: UserId) -> StoreResult<Vec<UserId>>;

    // ----- conversations -----
    /// The direct conversation between two friends, created on first use.
    async fn open_direct(&self, user: UserId, peer: UserId, now_ms: i64) -> StoreResult<ConversationId>;
    async fn create_group(
        &self,
        owner: UserId,
        name: &str,
        members: &[UserId],
        now_ms: i64,
    ) -> StoreResult<ConversationId>;
    /// The user's conversations with unread counts and last messages, newest first.
    async fn conversations(&self, user: UserId) -> StoreResult<Vec<ConversationView>>;
    /// One conversation and its members, if `user` is a member.
    async fn conversation(
        &self,
        user: UserId,
        id: ConversationId,
    ) -> StoreResult<(ConversationView, Vec<MemberRecord>)>;
    async fn update_group(
        &self,
        actor: UserId,
        id: ConversationId,
        update: GroupUpdate,
        now_ms: i64,
    ) -> StoreResult<()>;
    async fn invite(&self, actor: UserId, id: ConversationId, users: &[UserId], now_ms: i64) -> StoreResult<()>;
    async fn remove_member(&self, actor: UserId, id: ConversationId, target: UserId, now_ms: i64) -> StoreResult<()>;
    async fn leave(&self, user: UserId, id: ConversationId, now_ms: i64) -> StoreResult<()>;
    async fn transfer_owner(&self, actor: UserId, id: ConversationId, to: UserId, now_ms: i64) -> StoreResult<()>;
    async fn set_role(
        &self,
        actor: UserId,
        id: ConversationId,
        target: UserId,
        role: Role,
        now_ms: i64,
    ) -> StoreResult<()>;

    // ----- messages -----
    async fn send(
        &self,
        sender: UserId,
        id: ConversationId,
        client_id: ClientMsgId,
        draft: Draft,
        now_ms: i64,
    ) -> StoreResult<Sent>;
    /// Messages with `seq < before` (all when `None`), newest first, at most `limit`.
    async fn history(
        &self,
        user: UserId,
        id: ConversationId,
        before: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<MessageRecord>>;
    async fn recall(&self, user: UserId, message: MessageId, now_ms: i64) -> StoreResult<MessageRecord>;
    /// Advances the member's delivered or read mark; emits an event only if it moved.
    async fn receipt(
        &self,
        user: UserId,
        id: ConversationId,
        kind: ReceiptKind,
        up_to_seq: i64,
        now_ms: i64,
    ) -> StoreResult<()>;

    // ----- uploads -----
    async fn put_upload(&self, upload: UploadRecord) -> StoreResult<()>;
    async fn upload(&self, hash: &str) -> StoreResult<Option<UploadRecord>>;
    /// Whether `user` may read the blob: uploader, avatar, or member of a conversation it was sent in.
    async fn may_read_upload(&self, user: UserId, hash: &str) -> StoreResult<bool>;

    // ----- cards -----
    async fn add_card(&self, card: CardRecord) -> StoreResult<CardRecord>;
    async fn cards(&self, user: UserId) -> StoreResult<Vec<CardRecord>>;
    /// One of `user`'s cards; another user's is `NotFound`.
    async fn card(&self, user: UserId, id: CardId) -> StoreResult<CardRecord>;

    // ----- ledger -----
    /// This node's shard of the sharded system accounts: the clearing
    /// account a bank movement made here uses.
    fn shard(&self) -> qiao_domain::ledger::Shard;
    /// The ledger account of this kind, owner and currency, opened on first use.
    async fn ledger_account(
        &self,
        kind: AccountKind,
        owner: &Owner,
        currency: Currency,
        now_ms: i64,
    ) -> StoreResult<LedgerAccount>;
    async fn ledger_account_by_id(&self, id: LedgerAccountId) -> StoreResult<LedgerAccount>;
    /// A posted or pending transfer, idempotent by its key; its ceiling and
    /// daily cap are checked in the same transaction.
    async fn transfer(&self, new: NewTransfer, now_ms: i64) -> StoreResult<TransferRecord>;
    /// Several transfers in one writer operation, in order, each answered on
    /// its own (a later one sees what the earlier ones did).
    async fn transfers(&self, batch: Vec<NewTransfer>, now_ms: i64) -> StoreResult<Vec<StoreResult<TransferRecord>>>;
    /// Posts or voids the pending transfer `pending_key` exactly once; the
    /// same outcome again returns the first settlement. `memo` records why
    /// (the bank's reference, or why it was voided).
    async fn settle(
        &self,
        pending_key: &LedgerKey,
        post: bool,
        memo: &Memo,
        now_ms: i64,
    ) -> StoreResult<TransferRecord>;
    /// A transfer by its idempotency key, if it exists.
    async fn transfer_by_key(&self, key: &LedgerKey) -> StoreResult<Option<TransferRecord>>;
    /// Whether the pending transfer `pending_key` has been posted or voided, and which.
    async fn settlement_of(&self, pending_key: &LedgerKey) -> StoreResult<Option<TransferRecord>>;
    /// The row that posted or voided the pending journal row `pending`, if any.
    async fn settlement_of_row(&self, pending: TransferId) -> StoreResult<Option<TransferRecord>>;
    /// Pending transfers older than `before_ms` that were never posted or voided.
    async fn unsettled_transfers(&self, before_ms: i64, limit: usize) -> StoreResult<Vec<TransferRecord>>;
    /// Recomputes the ledger from the journal and checks every invariant.
    async fn reconcile(&self) -> StoreResult<ReconcileReport>;
    /// The account of this kind, owner and currency, if it was ever opened (never opens one).
    async fn find_ledger_account(
        &self,
        kind: AccountKind,
        owner: &Owner,
        currency: Currency,
    ) -> StoreResult<Option<LedgerAccount>>;
    /// Every ledger account of one owner (e.g. a user's wallets and credit line), in one read.
    async fn ledger_accounts_of(&self, owner: &Owner) -> StoreResult<Vec<LedgerAccount>>;
    /// A journal entry by id.
    async fn transfer_by_id(&self, id: TransferId) -> StoreResult<Option<TransferRecord>>;
    /// Money-moving entries of some accounts, newest first, with settlements.
    async fn statement(&self, query: StatementQuery) -> StoreResult<Vec<StatementEntry>>;
    /// What `user` has moved of `kind` in `currency` on the UTC day of `now_ms`.
    async fn daily_used(&self, user: UserId, currency: Currency, kind: CapKind, now_ms: i64) -> StoreResult<i64>;

    // ----- payment PIN -----
    async fn pin(&self, user: UserId) -> StoreResult<Option<PinRecord>>;
    /// Sets or replaces the PIN hash. Refused with `PinLocked` while locked,
    /// unless `clear_lock` (the owner proved who they are another way).
    async fn set_pin(&self, user: UserId, pin_hash: &str, clear_lock: bool, now_ms: i64) -> StoreResult<PinRecord>;
    /// Counts a right or wrong try; `PinLocked` if locked when it arrives.
    async fn record_pin_try(&self, user: UserId, right: bool, now_ms: i64, lock_ms: i64) -> StoreResult<PinRecord>;
    async fn set_no_pin_limit(&self, user: UserId, limit_minor: i64) -> StoreResult<PinRecord>;

    // ----- transfers and red packets in chats -----
    /// Sends a transfer or red packet; idempotent by the sender's key. The
    /// flag says whether this call created it.
    async fn send_payment(&self, new: NewPayment, now_ms: i64) -> StoreResult<(PaymentRecord, bool)>;
    /// A payment in a conversation `user` belongs to.
    async fn payment(&self, user: UserId, id: PaymentId) -> StoreResult<PaymentRecord>;
    /// The transfer's recipient accepts or declines it.
    async fn answer_transfer(
        &self,
        user: UserId,
        id: PaymentId,
        accept: bool,
        now_ms: i64,
    ) -> StoreResult<PaymentRecord>;
    /// Opens the next share of a red packet; returns the packet and the share.
    async fn open_red_packet(&self, user: UserId, id: PaymentId, now_ms: i64) -> StoreResult<(PaymentRecord, i64)>;
    /// Several opens in one writer operation, in order, each answered on its own.
    async fn open_red_packets(
        &self,
        opens: Vec<(UserId, PaymentId)>,
        now_ms: i64,
    ) -> StoreResult<Vec<StoreResult<(PaymentRecord, i64)>>>;
    /// Refunds up to `limit` payments whose time ran out by `now_ms`.
    async fn expire_payments(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<PaymentRecord>>;

    // ----- sync -----
    /// Events visible to `user` after `since`, in stream order, at most `limit`.
    async fn events_since(&self, user: UserId, since: StreamPos, limit: usize) -> StoreResult<Vec<EventRecord>>;
    /// The newest stream position.
    async fn head(&self) -> StoreResult<StreamPos>;
    /// Cheap liveness probe of the database.
    /// The writer's counters (batches, queue, reconnections), for metrics.
    fn writer_stats(&self) -> WriterStats;

    /// Waits until every write submitted before this call is committed
    /// (or refused): for a clean shutdown.
    async fn flush(&self) -> StoreResult<()>;

    async fn ping(&self) -> StoreResult<()>;
}
