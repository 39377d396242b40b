//! Plain records the store returns. They mirror rows; rules live in the domain.

use qiao_domain::conversation::{Kind, Role};
use qiao_domain::event::EventKind;
use qiao_domain::identity::{Language, Region};
use qiao_domain::ids::{ConversationId, FriendRequestId, MessageId, SessionId, StreamPos, UserId};

#[derive(Debug, Clone)]
pub struct NewUser {
    /// Claimed, not yet proven: it counts once its code comes back.
    pub phone: Option<String>,
    /// Claimed, not yet proven.
    pub email: Option<String>,
    /// Unused until the phone is proven (kept for the record's shape).
    pub phone_hash: Option<String>,
    pub password_hash: String,
    pub display_name: String,
    pub region: Region,
    pub language: Language,
    pub now_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: UserId,
    pub qiao_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub password_hash: String,
    pub display_name: String,
    pub avatar: Option<String>,
    pub region: Region,
    pub language: Language,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone)]
pub enum UserLookup {
    Phone(String),
    Email(String),
    QiaoId(String),
}

#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    /// `Some(None)` clears the avatar.
    pub avatar: Option<Option<String>>,
    pub language: Option<Language>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub user_id: UserId,
    pub device_name: String,
    pub created_at_ms: i64,
    pub last_seen_at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    Pending,
    Accepted,
    Declined,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Accepted => "accepted",
            RequestStatus::Declined => "declined",
        }
    }

    pub fn parse(raw: &str) -> Self {
        match raw {
            "accepted" => RequestStatus::Accepted,
            "declined" => RequestStatus::Declined,
            _ => RequestStatus::Pending,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FriendRequestRecord {
    pub id: FriendRequestId,
    pub from: UserRecord,
    pub to: UserRecord,
    pub greeting: String,
    pub status: RequestStatus,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContactRecord {
    pub user: UserRecord,
    pub remark: Option<String>,
    pub conversation_id: ConversationId,
    pub since_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConversationView {
    pub id: ConversationId,
    pub kind: Kind,
    pub name: String,
    pub announcement: Option<String>,
    pub owner_id: Option<UserId>,
    /// For a direct conversation, the other member.
    pub peer: Option<UserRecord>,
    /// The viewer's remark for the peer, if any.
    pub peer_remark: Option<String>,
    pub last_seq: i64,
    pub unread: i64,
    pub last_message: Option<MessageRecord>,
    pub member_count: i64,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    pub user: UserRecord,
    pub role: Role,
    pub joined_at_ms: i64,
    pub last_read_seq: i64,
    pub last_delivered_seq: i64,
}

#[derive(Debug, Clone, Default)]
pub struct GroupUpdate {
    pub name: Option<String>,
    pub announcement: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub seq: i64,
    pub sender_id: UserId,
    pub client_msg_id: String,
    /// `text`, `image`, `file`, `transfer` or `red_packet`.
    pub kind: String,
    pub text: Option<String>,
    pub blob: Option<String>,
    pub file_name: Option<String>,
    pub mime: Option<String>,
    pub size: Option<i64>,
    pub reply_to: Option<MessageId>,
    pub mentions: Vec<UserId>,
    pub sent_at_ms: i64,
    pub recalled: bool,
    /// The transfer or red packet this message carries.
    pub payment_id: Option<qiao_domain::ids::PaymentId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptKind {
    Delivered,
    Read,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UploadRecord {
    pub hash: String,
    pub mime: String,
    pub size: i64,
    /// `image` or `file`.
    pub kind: String,
    pub uploader_id: UserId,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub pos: StreamPos,
    pub kind: EventKind,
    pub conversation_id: Option<ConversationId>,
    pub at_ms: i64,
    pub data: String,
}

/// A ledger account's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LedgerAccountId(pub i64);

/// A ledger account: who it belongs to, its rules and its running totals.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerAccount {
    pub id: LedgerAccountId,
    /// e.g. `user:42`, `connector:sandbox`, `escrow:chat` ([`qiao_domain::ledger::Owner`]).
    pub owner: String,
    pub account: qiao_domain::ledger::Account,
    pub created_at_ms: i64,
}

/// A daily cap the writer checks with the transfer: whose total, and which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapCheck {
    pub user: qiao_domain::ids::UserId,
    pub cap: qiao_domain::caps::DailyCap,
}

/// A transfer to make.
#[derive(Debug, Clone)]
pub struct NewTransfer {
    pub key: qiao_domain::journal::LedgerKey,
    pub debit: LedgerAccountId,
    pub credit: LedgerAccountId,
    pub amount: qiao_domain::money::Amount,
    /// Reserve now, post or void later.
    pub pending: bool,
    pub memo: qiao_domain::journal::Memo,
    /// A limit on the credit side beyond its floor (a repayment's).
    pub ceiling: qiao_domain::ledger::Ceiling,
    /// A daily cap counted in the same transaction.
    pub cap: Option<CapCheck>,
}

impl NewTransfer {
    /// A posted transfer with no ceiling and no cap.
    pub fn posted(
        key: qiao_domain::journal::LedgerKey,
        debit: LedgerAccountId,
        credit: LedgerAccountId,
        amount: qiao_domain::money::Amount,
        memo: qiao_domain::journal::Memo,
    ) -> Self {
        Self {
            key,
            debit,
            credit,
            amount,
            pending: false,
            memo,
            ceiling: qiao_domain::ledger::Ceiling::None,
            cap: None,
        }
    }
}

/// What a journal row does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferPhase {
    Posted,
    Pending,
    /// Posts the pending transfer named by `pending_id`.
    PostPending,
    /// Voids the pending transfer named by `pending_id`.
    VoidPending,
}

impl TransferPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferPhase::Posted => "posted",
            TransferPhase::Pending => "pending",
            TransferPhase::PostPending => "post_pending",
            TransferPhase::VoidPending => "void_pending",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "posted" => TransferPhase::Posted,
            "pending" => TransferPhase::Pending,
            "post_pending" => TransferPhase::PostPending,
            "void_pending" => TransferPhase::VoidPending,
            _ => return None,
        })
    }
}

/// One row of the append-only journal.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferRecord {
    pub id: qiao_domain::ids::TransferId,
    /// The idempotency key as stored: rows written before typed keys may not
    /// parse as a [`qiao_domain::journal::LedgerKey`].
    pub key: String,
    pub debit: LedgerAccountId,
    pub credit: LedgerAccountId,
    pub amount_minor: i64,
    pub currency: qiao_domain::money::Currency,
    pub phase: TransferPhase,
    pub pending_id: Option<qiao_domain::ids::TransferId>,
    pub memo: String,
    pub created_at_ms: i64,
}

impl TransferRecord {
    pub fn memo(&self) -> qiao_domain::journal::Memo {
        qiao_domain::journal::Memo::parse(&self.memo)
    }
}

pub use crate::reconcile::ReconcileReport;

/// A card bound to a user: the connector's token and what may be shown.
#[derive(Debug, Clone, PartialEq)]
pub struct CardRecord {
    pub id: qiao_domain::ids::CardId,
    pub user_id: qiao_domain::ids::UserId,
    pub connector: String,
    pub token: String,
    pub last4: String,
    pub brand: String,
    pub funding: qiao_domain::card::Funding,
    pub created_at_ms: i64,
    /// The connector's fingerprint of the number; `None` for cards bound before fingerprints.
    pub fingerprint: Option<String>,
}

/// A user's payment PIN: its hash, the wrong-try state and the no-PIN limit.
#[derive(Debug, Clone, PartialEq)]
pub struct PinRecord {
    pub user_id: qiao_domain::ids::UserId,
    pub pin_hash: String,
    pub state: qiao_domain::pin::PinState,
    pub no_pin_limit_minor: i64,
}

/// Which account a chat payment is paid from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaySource {
    /// The wallet's stored value.
    Balance,
    /// The pay-later credit line.
    PayLater,
}

impl PaySource {
    pub fn as_str(self) -> &'static str {
        match self {
            PaySource::Balance => "balance",
            PaySource::PayLater => "pay_later",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "balance" => Some(PaySource::Balance),
            "pay_later" => Some(PaySource::PayLater),
            _ => None,
        }
    }
}

/// A transfer or red packet to send into a conversation.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub sender: qiao_domain::ids::UserId,
    /// The client's idempotency key; also the chat message's client id.
    pub client_key: qiao_domain::ids::ClientMsgId,
    pub conversation: qiao_domain::ids::ConversationId,
    /// A transfer's recipient as the sender named them (required in a group).
    pub recipient: Option<qiao_domain::ids::UserId>,
    pub kind: qiao_domain::payment::PaymentKind,
    /// Red packets only.
    pub split: Option<qiao_domain::payment::Split>,
    /// A transfer's amount; a red packet's total (lucky) or each share (identical).
    pub amount: qiao_domain::money::Amount,
    /// Shares of a red packet; 1 for a transfer.
    pub count: u32,
    pub note: String,
    pub source: PaySource,
    /// Seeds the lucky split, so the server picks the randomness and the store stays deterministic.
    pub seed: u64,
    /// The sender's daily cap on payments, counted in the same transaction.
    pub cap: Option<qiao_domain::caps::DailyCap>,
    /// How conversions are priced for recipients whose wallets hold another
    /// currency; their rates are taken now from the operator's table.
    pub pricing: Option<qiao_domain::fx::Pricing>,
    /// A transfer's quote the sender confirmed (it fixes what arrives).
    pub quote: Option<qiao_domain::ids::QuoteId>,
}

/// One opened share of a red packet.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedShare {
    pub user_id: qiao_domain::ids::UserId,
    pub amount_minor: i64,
    pub opened_at_ms: i64,
}

/// A transfer or red packet as stored, with who opened what.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentRecord {
    pub id: qiao_domain::ids::PaymentId,
    pub kind: qiao_domain::payment::PaymentKind,
    pub sender_id: qiao_domain::ids::UserId,
    pub client_key: String,
    pub conversation_id: qiao_domain::ids::ConversationId,
    pub message_id: Option<qiao_domain::ids::MessageId>,
    pub recipient_id: Option<qiao_domain::ids::UserId>,
    pub split: Option<qiao_domain::payment::Split>,
    pub currency: qiao_domain::money::Currency,
    pub total_minor: i64,
    pub shares: u32,
    pub opened_count: u32,
    pub opened_minor: i64,
    pub note: String,
    pub source_account: LedgerAccountId,
    pub status: qiao_domain::payment::PaymentStatus,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub settled_at_ms: Option<i64>,
    /// Red packets: the opened shares in the order they were opened.
    pub opened: Vec<OpenedShare>,
}

/// Which journal entries a statement shows.
#[derive(Debug, Clone)]
pub struct StatementQuery {
    pub accounts: Vec<LedgerAccountId>,
    /// Only entries with a smaller id (paging backwards); all when `None`.
    pub before_id: Option<qiao_domain::ids::TransferId>,
    /// Only entries created in `[from_ms, until_ms)`.
    pub from_ms: i64,
    pub until_ms: i64,
    pub limit: usize,
}

/// A money-moving journal entry and, for a pending one, how it settled.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementEntry {
    pub transfer: TransferRecord,
    pub settlement: Option<TransferRecord>,
}

/// A phone number or email address a user claimed and has not proven yet.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRecord {
    pub user_id: qiao_domain::ids::UserId,
    pub kind: qiao_domain::verification::IdentifierKind,
    pub value: String,
    /// SHA-256 of the last code sent, if one was.
    pub code_hash: Option<String>,
    pub state: qiao_domain::verification::ClaimState,
}
