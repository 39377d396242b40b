//! Typed identifiers. Database row ids are `i64`; the newtypes stop a user id
//! from being passed where a conversation id is expected.

use crate::Error;

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

row_id!(
    /// A registered user.
    UserId
);
row_id!(
    /// A direct or group conversation.
    ConversationId
);
row_id!(
    /// A message, unique across conversations.
    MessageId
);
row_id!(
    /// A signed-in device (one bearer token).
    SessionId
);
row_id!(
    /// A friend request.
    FriendRequestId
);
row_id!(
    /// A card bound to a user.
    CardId
);
row_id!(
    /// A transfer or red packet sent in a chat.
    PaymentId
);
row_id!(
    /// One row of the ledger journal.
    TransferId
);

row_id!(
    /// A merchant: a business that takes payments.
    MerchantId
);
row_id!(
    /// One of a merchant's stores (a branch, a till). Called a shop in code,
    /// so it is never mistaken for the storage layer.
    ShopId
);
row_id!(
    /// A merchant order: what one payment pays.
    OrderId
);
row_id!(
    /// One refund of an order.
    RefundId
);
row_id!(
    /// A merchant's API key (its row, never the key).
    ApiKeyId
);
row_id!(
    /// A currency quote shown to a payer.
    QuoteId
);
row_id!(
    /// A conversion between two of a user's wallets.
    ConversionId
);
row_id!(
    /// One notification to a merchant's server.
    NotificationId
);

/// Position in the global event stream. Sync cursors are stream positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct StreamPos(pub i64);

/// Sequence number of a message inside its conversation: 1, 2, 3 … no gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Seq(pub i64);

/// A client-chosen idempotency key of a money request: the same rules as a
/// message's client id (a chat payment's key is its message's id too).
pub type IdempotencyKey = ClientMsgId;

/// Client-chosen message id; the idempotency key of a send.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientMsgId(String);

impl ClientMsgId {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, Error> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::InvalidRequest)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_msg_id_rules() {
        assert!(ClientMsgId::parse("a-1_B").is_ok());
        assert!(ClientMsgId::parse("").is_err());
        assert!(ClientMsgId::parse("has space").is_err());
        assert!(ClientMsgId::parse(&"x".repeat(65)).is_err());
        assert!(ClientMsgId::parse(&"x".repeat(64)).is_ok());
    }
}
