//! Wire types: every JSON body Qiao sends or accepts, and the WebSocket frames.
//!
//! Architecture invariant: this crate has no logic and no dependency on the
//! server or the store, so the CLI, the tests and the benchmark build it alone.
//! Field names are the public API; renaming one is a breaking change.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod merchant;
pub use merchant::*;

/// Every error body: a stable code and a message in the caller's language.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

// ---------- accounts ----------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegisterRequest {
    #[serde(default)]
    #[schema(example = "+8613800138000")]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[schema(min_length = 8, max_length = 128, example = "correct horse battery")]
    pub password: String,
    #[schema(min_length = 1, max_length = 64, example = "Lin")]
    pub display_name: String,
    /// `CN` or `US`.
    #[schema(pattern = "^(CN|US)$", example = "CN")]
    pub region: String,
    /// `zh-CN` or `en-US`.
    #[schema(pattern = "^(zh-CN|en-US)$", example = "zh-CN")]
    pub language: String,
    #[serde(default)]
    pub device_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Phone (E.164), email or Qiao ID.
    #[schema(example = "+8613800138000")]
    pub identifier: String,
    pub password: String,
    #[serde(default)]
    pub device_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuthResponse {
    /// Opaque bearer token. Shown once; the server keeps only its hash.
    pub token: String,
    pub session_id: i64,
    pub user: Profile,
}

/// The signed-in user's own view of their account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Profile {
    pub id: i64,
    pub qiao_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub display_name: String,
    pub avatar: Option<String>,
    pub region: String,
    pub language: String,
    pub created_at_ms: i64,
    /// Claimed phone numbers and email addresses not yet proven with a code:
    /// they don't count for sign-in, search or discovery until then.
    #[serde(default)]
    pub unverified: Vec<Unverified>,
}

/// A phone number or email address waiting for its code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Unverified {
    /// `phone` or `email`.
    pub kind: String,
    pub value: String,
}

/// Sends a new one-time code to the claimed phone or email.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SendCodeRequest {
    /// `phone` or `email`.
    pub kind: String,
}

/// Proves a claimed phone or email with the code sent to it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConfirmCodeRequest {
    /// `phone` or `email`.
    pub kind: String,
    /// The six digits received.
    pub code: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct UpdateProfileRequest {
    #[serde(default)]
    pub display_name: Option<String>,
    /// Content hash of an uploaded image, or empty string to clear.
    #[serde(default)]
    pub avatar: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SetQiaoIdRequest {
    pub qiao_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionInfo {
    pub id: i64,
    pub device_name: String,
    pub created_at_ms: i64,
    pub last_seen_at_ms: i64,
    /// True for the session making this request.
    pub current: bool,
}

/// What anyone may see of another user.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct UserSummary {
    pub id: i64,
    pub qiao_id: Option<String>,
    pub display_name: String,
    pub avatar: Option<String>,
    pub region: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QrCode {
    /// What the QR code encodes: `qiao://user/<id>`.
    pub payload: String,
    /// The code drawn as an SVG document.
    pub svg: String,
}

// ---------- contacts ----------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DiscoverRequest {
    /// Lower-case hex SHA-256 of E.164 phone numbers.
    pub phone_hashes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DiscoveredUser {
    pub phone_hash: String,
    pub user: UserSummary,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FriendRequestCreate {
    pub to_user_id: i64,
    #[serde(default)]
    pub greeting: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FriendRequest {
    pub id: i64,
    pub from: UserSummary,
    pub to: UserSummary,
    pub greeting: String,
    /// `pending`, `accepted` or `declined`.
    pub status: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FriendRequests {
    pub incoming: Vec<FriendRequest>,
    pub outgoing: Vec<FriendRequest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Contact {
    pub user: UserSummary,
    pub remark: Option<String>,
    /// The direct conversation with this friend.
    pub conversation_id: i64,
    pub since_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UpdateContactRequest {
    /// New remark; empty string clears it.
    pub remark: String,
}

// ---------- conversations ----------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateGroupRequest {
    pub name: String,
    /// Friends to add besides the creator.
    pub member_ids: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpenDirectRequest {
    pub user_id: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct UpdateGroupRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub announcement: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InviteRequest {
    pub user_ids: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransferOwnerRequest {
    pub user_id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SetRoleRequest {
    /// `admin` or `member`.
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Member {
    pub user: UserSummary,
    /// `owner`, `admin` or `member`.
    pub role: String,
    pub joined_at_ms: i64,
    pub last_read_seq: i64,
    pub last_delivered_seq: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Conversation {
    pub id: i64,
    /// `direct` or `group`.
    pub kind: String,
    /// Group name; for a direct conversation the peer's remark or display name.
    pub name: String,
    pub announcement: Option<String>,
    pub owner_id: Option<i64>,
    /// For a direct conversation, the other person.
    pub peer: Option<UserSummary>,
    pub last_seq: i64,
    pub unread: i64,
    pub last_message: Option<Message>,
    pub member_count: i64,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConversationDetail {
    pub conversation: Conversation,
    pub members: Vec<Member>,
}

// ---------- messages ----------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SendMessageRequest {
    /// Client-chosen id (1-64 of `A-Za-z0-9_-`): a retry with the same id returns the first message.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "7f3c2a9e-0001")]
    pub client_msg_id: String,
    /// `text`, `image` or `file`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
    /// Content hash of an upload, for `image` and `file`.
    #[serde(default)]
    pub blob: Option<String>,
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub reply_to: Option<i64>,
    #[serde(default)]
    pub mentions: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Message {
    pub id: i64,
    pub conversation_id: i64,
    pub seq: i64,
    pub sender_id: i64,
    pub client_msg_id: String,
    /// `text`, `image`, `file`, `transfer` or `red_packet`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text, or the note of a transfer or red packet.
    pub text: Option<String>,
    pub blob: Option<String>,
    pub file_name: Option<String>,
    pub mime: Option<String>,
    pub size: Option<i64>,
    pub reply_to: Option<i64>,
    pub mentions: Vec<i64>,
    pub sent_at_ms: i64,
    pub recalled: bool,
    /// The transfer or red packet a `transfer` or `red_packet` message carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReceiptRequest {
    /// `delivered` or `read`.
    pub kind: String,
    pub up_to_seq: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Upload {
    pub hash: String,
    pub mime: String,
    pub size: i64,
    /// `image` or `file`.
    pub kind: String,
}

// ---------- wallet ----------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BindCardRequest {
    /// The card number; sent to the bank connector, never stored.
    pub number: String,
    /// `debit` (top up and withdraw) or `credit` (pay later), as the region allows.
    pub funding: String,
    /// Binding a card is confirmed with the payment PIN or the account password.
    pub pin: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Card {
    pub id: i64,
    pub last4: String,
    pub brand: String,
    pub funding: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TopUpRequest {
    pub card_id: i64,
    /// In minor units of the wallet's currency (CNY fen, US cents).
    #[schema(minimum = 1, example = 2000)]
    pub amount_minor: i64,
    /// Client-chosen (1-64 of `A-Za-z0-9_-`): a retry returns the first result.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "7f3c2a9e-0001")]
    pub idempotency_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TopUp {
    pub idempotency_key: String,
    pub amount_minor: i64,
    pub currency: String,
    /// `posted`.
    pub status: String,
    pub balance_minor: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Balance {
    pub currency: String,
    /// Posted balance.
    pub balance_minor: i64,
    /// What may be spent now (less money reserved by pending payments).
    pub available_minor: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Wallet {
    pub balances: Vec<Balance>,
    /// The pay-later line, once a credit card is bound where the region allows it.
    pub credit_line: Option<CreditLine>,
    pub pin: PinStatus,
    /// The caps on the wallet's currency and what today (UTC) has used of them.
    #[serde(default)]
    pub limits: Vec<SpendingLimit>,
}

/// A cap on one kind of movement in one currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SpendingLimit {
    pub currency: String,
    /// `top_up`, `withdrawal` or `payment` (transfers and red packets).
    pub kind: String,
    /// Most one operation may move.
    pub per_operation_minor: i64,
    /// Most one UTC day may move.
    pub per_day_minor: i64,
    /// What today has moved so far.
    pub used_today_minor: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PinStatus {
    pub set: bool,
    /// Set while payments are locked after too many wrong PINs.
    pub locked_until_ms: Option<i64>,
    /// Payments up to this amount need no PIN; 0 (the default) means every payment does.
    pub no_pin_limit_minor: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SetPinRequest {
    /// The account password: the first PIN needs it; a change needs it or `current_pin`.
    pub password: Option<String>,
    /// The PIN being changed, instead of the password.
    pub current_pin: Option<String>,
    /// The new PIN: six digits.
    #[schema(pattern = "^[0-9]{6}$", example = "135790")]
    pub pin: String,
}

/// Resets a forgotten or locked PIN: proves who you are with the account
/// password and the number of a card bound to the account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResetPinRequest {
    pub password: String,
    pub card_number: String,
    /// The new PIN: six digits.
    #[schema(pattern = "^[0-9]{6}$", example = "135790")]
    pub pin: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NoPinLimitRequest {
    /// Raising the limit needs the PIN or the password; lowering it neither.
    pub pin: Option<String>,
    pub password: Option<String>,
    /// 0 turns small-amount payments without a PIN off.
    pub limit_minor: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WithdrawRequest {
    pub card_id: i64,
    #[schema(minimum = 1, example = 2000)]
    pub amount_minor: i64,
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "7f3c2a9e-0001")]
    pub idempotency_key: String,
    pub pin: Option<String>,
    /// Which of the wallet's balances: its own currency by default, or a
    /// foreign one the user holds (the bank converts on its side).
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Withdrawal {
    pub idempotency_key: String,
    pub amount_minor: i64,
    pub currency: String,
    /// `posted`.
    pub status: String,
    pub balance_minor: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SendTransferRequest {
    /// Client-chosen; also the chat message's `client_msg_id`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "7f3c2a9e-0001")]
    pub idempotency_key: String,
    /// Who receives it: required in a group (a member), optional in a direct chat.
    pub to_user_id: Option<i64>,
    #[schema(minimum = 1, example = 2000)]
    pub amount_minor: i64,
    /// Optional; must be the wallet's currency when given.
    pub currency: Option<String>,
    pub note: Option<String>,
    pub pin: Option<String>,
    /// `balance` (default) or `pay_later`.
    pub source: Option<String>,
    /// To a recipient whose wallet holds another currency: the quote the
    /// sender was shown (`POST /api/fx/quotes`, side `send`); it fixes what
    /// arrives. Without one, the rate of the moment of sending is used.
    #[serde(default)]
    pub quote_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SendRedPacketRequest {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "7f3c2a9e-0001")]
    pub idempotency_key: String,
    /// `lucky` (random shares of `amount_minor`) or `identical` (`amount_minor` each).
    pub split: String,
    #[schema(minimum = 1, example = 2000)]
    pub amount_minor: i64,
    /// How many shares; 1 in a direct chat, at most the group's size.
    pub count: u32,
    pub currency: Option<String>,
    pub note: Option<String>,
    pub pin: Option<String>,
    /// `balance` (default) or `pay_later`.
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OpenedShare {
    pub user_id: i64,
    pub amount_minor: i64,
    pub opened_at_ms: i64,
}

/// A transfer or red packet as members of its conversation see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ChatPayment {
    pub id: i64,
    /// `transfer` or `red_packet`.
    pub kind: String,
    pub conversation_id: i64,
    pub message_id: Option<i64>,
    pub sender_id: i64,
    /// Transfers: who may accept.
    pub recipient_id: Option<i64>,
    /// Red packets: `lucky` or `identical`.
    pub split: Option<String>,
    pub currency: String,
    pub total_minor: i64,
    pub shares: u32,
    pub opened_count: u32,
    pub opened_minor: i64,
    pub note: String,
    /// `pending`, `accepted`, `declined`, `open`, `finished` or `refunded`.
    pub status: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub settled_at_ms: Option<i64>,
    /// Red packets: who got how much, in the order opened.
    pub opened: Vec<OpenedShare>,
    /// A finished lucky packet's best luck (手气最佳).
    pub best_luck_user_id: Option<i64>,
}

/// The answer to an open. `payment` carries the counts after this open but
/// not the list of who got what (that would make a crowd of n openers cost
/// O(n²) bytes); `GET /api/payments/{id}` has the list, and the
/// `payment.updated` event sent when the packet finishes carries it too.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpenedRedPacket {
    /// What the caller got, in their wallet's currency (a share of a packet
    /// in another currency arrives converted at the rate taken when it was sent).
    pub amount_minor: i64,
    pub currency: String,
    pub payment: ChatPayment,
}

/// One line of the wallet statement.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct StatementEntry {
    /// The journal entry's id.
    pub id: i64,
    pub at_ms: i64,
    /// `top_up`, `withdrawal`, `transfer`, `red_packet`, `refund` or `repayment`.
    pub purpose: String,
    /// The card, chat payment or repayment source the entry refers to.
    pub reference: String,
    /// `in` or `out` of the account.
    pub direction: String,
    pub amount_minor: i64,
    pub currency: String,
    /// `posted`, `pending` or `voided`.
    pub status: String,
    /// `wallet` or `credit_line`.
    pub account: String,
}

/// One statement entry in full: its lines and what it refers to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EntryDetail {
    /// One line per account of yours the entry touches.
    pub lines: Vec<StatementEntry>,
    /// The transfer or red packet it belongs to.
    pub payment: Option<ChatPayment>,
    /// The card it went to or came from.
    pub card: Option<Card>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Statement {
    pub entries: Vec<StatementEntry>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CreditLine {
    pub currency: String,
    pub limit_minor: i64,
    /// What is owed now.
    pub owed_minor: i64,
    /// What may still be spent.
    pub available_minor: i64,
}

/// One calendar month (UTC) of the credit line.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreditStatement {
    /// `YYYY-MM`.
    pub month: String,
    pub currency: String,
    pub opening_owed_minor: i64,
    pub spent_minor: i64,
    pub repaid_minor: i64,
    pub closing_owed_minor: i64,
    /// `YYYY-MM-DD`: the 25th of the next month.
    pub due_date: String,
    pub entries: Vec<StatementEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RepayRequest {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "7f3c2a9e-0001")]
    pub idempotency_key: String,
    #[schema(minimum = 1, example = 2000)]
    pub amount_minor: i64,
    /// `balance` or `card` (a debit card, with `card_id`).
    pub source: String,
    pub card_id: Option<i64>,
    pub pin: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Repayment {
    pub idempotency_key: String,
    pub amount_minor: i64,
    pub currency: String,
    pub owed_minor: i64,
}

// ---------- events and sync ----------

/// One event of the global stream as a user's device receives it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Stream position: the cursor to resume after this event.
    pub pos: i64,
    /// e.g. `message.new`, `receipt.read`, `friend.request`.
    pub kind: String,
    pub conversation_id: Option<i64>,
    pub at_ms: i64,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SyncResponse {
    pub events: Vec<Event>,
    /// Pass as `since` for the next page or the next sync.
    pub next: i64,
    pub has_more: bool,
}

/// Payload of `message.recalled`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecallData {
    pub message_id: i64,
    pub conversation_id: i64,
    pub seq: i64,
}

/// Payload of `receipt.delivered` and `receipt.read`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReceiptData {
    pub conversation_id: i64,
    pub user_id: i64,
    pub up_to_seq: i64,
}

/// Payload of `friend.accepted`, `friend.declined`, `friend.removed`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FriendData {
    pub request_id: Option<i64>,
    pub user_id: i64,
    pub conversation_id: Option<i64>,
}

/// Payload of membership and conversation-info events.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MembershipData {
    pub conversation_id: i64,
    pub actor_id: i64,
    pub user_ids: Vec<i64>,
    pub role: Option<String>,
    pub name: Option<String>,
    pub announcement: Option<String>,
}

// ---------- WebSocket frames ----------

/// Frames a client sends over the WebSocket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Ping,
    /// Send a message without an HTTP round trip; answered by `ack` or `error`:
    /// `{"type":"send","conversation_id":1,"message":{"client_msg_id":"…","type":"text","text":"…"}}`.
    Send {
        conversation_id: i64,
        message: SendMessageRequest,
    },
}

/// Frames the server sends over the WebSocket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Event(Event),
    /// Replay of missed events is done; what follows is live.
    Synced {
        pos: i64,
    },
    Pong,
    Ack {
        client_msg_id: String,
        message: Message,
    },
    Error {
        client_msg_id: Option<String>,
        code: String,
        message: String,
    },
}

/// `/healthz` and `/readyz`. On `/readyz`, each part the node needs says
/// `ok` or what is wrong with it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` (alive); `ready`, `degraded` (serving, NATS lost) or
    /// `unavailable` (503: the database is out of reach).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Absent on a node without NATS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_frame_round_trips_with_the_message_type_inside() {
        let frame = ClientFrame::Send {
            conversation_id: 7,
            message: SendMessageRequest {
                client_msg_id: "m1".into(),
                kind: "text".into(),
                text: Some("hi".into()),
                blob: None,
                file_name: None,
                reply_to: None,
                mentions: vec![],
            },
        };
        let json = serde_json::to_string(&frame).expect("serializes");
        assert!(
            json.contains(r#""type":"send""#) && json.contains(r#""type":"text""#),
            "{json}"
        );
        match serde_json::from_str::<ClientFrame>(&json).expect("parses") {
            ClientFrame::Send {
                conversation_id,
                message,
            } => {
                assert_eq!(conversation_id, 7);
                assert_eq!(message.kind, "text");
                assert_eq!(message.text.as_deref(), Some("hi"));
            }
            ClientFrame::Ping => panic!("wrong variant"),
        }
    }
}
