//! The kinds of event a user's devices receive, live or by sync.

/// One kind of event in the global stream. The wire name is `as_str()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    MessageNew,
    MessageRecalled,
    ReceiptDelivered,
    ReceiptRead,
    FriendRequest,
    FriendAccepted,
    FriendDeclined,
    FriendRemoved,
    ConversationCreated,
    ConversationUpdated,
    MemberJoined,
    MemberLeft,
    MemberRemoved,
    MemberRoleChanged,
    PaymentUpdated,
    /// A new device signed in to the account.
    SessionNew,
    /// A device's session ended (signed out, revoked, idle).
    SessionEnded,
    /// A payment to a merchant changed, for its payer: paid, refunded,
    /// waiting for their confirmation, expired.
    OrderUpdated,
}

impl EventKind {
    pub const ALL: &'static [EventKind] = &[
        EventKind::MessageNew,
        EventKind::MessageRecalled,
        EventKind::ReceiptDelivered,
        EventKind::ReceiptRead,
        EventKind::FriendRequest,
        EventKind::FriendAccepted,
        EventKind::FriendDeclined,
        EventKind::FriendRemoved,
        EventKind::ConversationCreated,
        EventKind::ConversationUpdated,
        EventKind::MemberJoined,
        EventKind::MemberLeft,
        EventKind::MemberRemoved,
        EventKind::MemberRoleChanged,
        EventKind::PaymentUpdated,
        EventKind::SessionNew,
        EventKind::SessionEnded,
        EventKind::OrderUpdated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::MessageNew => "message.new",
            EventKind::MessageRecalled => "message.recalled",
            EventKind::ReceiptDelivered => "receipt.delivered",
            EventKind::ReceiptRead => "receipt.read",
            EventKind::FriendRequest => "friend.request",
            EventKind::FriendAccepted => "friend.accepted",
            EventKind::FriendDeclined => "friend.declined",
            EventKind::FriendRemoved => "friend.removed",
            EventKind::ConversationCreated => "conversation.created",
            EventKind::ConversationUpdated => "conversation.updated",
            EventKind::MemberJoined => "member.joined",
            EventKind::MemberLeft => "member.left",
            EventKind::MemberRemoved => "member.removed",
            EventKind::MemberRoleChanged => "member.role_changed",
            EventKind::PaymentUpdated => "payment.updated",
            EventKind::SessionNew => "session.new",
            EventKind::SessionEnded => "session.ended",
            EventKind::OrderUpdated => "merchant_order.updated",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
        }
    }
}
