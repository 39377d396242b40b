//! Money sent inside a chat: transfers (转账) and red packets (红包). Their
//! kinds, states and the rules for who may do what when. The store keeps the
//! rows and moves the money; this module says yes or no.

use crate::ids::UserId;
use crate::red_packet::{self, Random, MAX_SHARES};
use crate::Error;

/// A transfer or red packet not accepted or fully opened within this time is refunded.
pub const PAYMENT_TTL_MS: i64 = 24 * 60 * 60 * 1000;
/// Longest note on a transfer or greeting on a red packet.
pub const MAX_NOTE_CHARS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentKind {
    Transfer,
    RedPacket,
}

impl PaymentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentKind::Transfer => "transfer",
            PaymentKind::RedPacket => "red_packet",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "transfer" => Some(PaymentKind::Transfer),
            "red_packet" => Some(PaymentKind::RedPacket),
            _ => None,
        }
    }
}

/// How a red packet's total is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    Identical,
    Lucky,
}

impl Split {
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Identical => "identical",
            Split::Lucky => "lucky",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Error> {
        match raw {
            "identical" => Ok(Split::Identical),
            "lucky" => Ok(Split::Lucky),
            _ => Err(Error::InvalidRequest),
        }
    }
}

/// Where a chat payment stands. Transfers: `Pending` then `Accepted`,
/// `Declined` or `Refunded` (expired). Red packets: `Open` then `Finished`
/// (every share opened) or `Refunded` (expired; the rest went back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    Pending,
    Accepted,
    Declined,
    Open,
    Finished,
    Refunded,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Accepted => "accepted",
            PaymentStatus::Declined => "declined",
            PaymentStatus::Open => "open",
            PaymentStatus::Finished => "finished",
            PaymentStatus::Refunded => "refunded",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "pending" => PaymentStatus::Pending,
            "accepted" => PaymentStatus::Accepted,
            "declined" => PaymentStatus::Declined,
            "open" => PaymentStatus::Open,
            "finished" => PaymentStatus::Finished,
            "refunded" => PaymentStatus::Refunded,
            _ => return None,
        })
    }

    /// Whether money is still held in escrow for it.
    pub fn is_live(self) -> bool {
        matches!(self, PaymentStatus::Pending | PaymentStatus::Open)
    }
}

/// The note, trimmed; empty is allowed (clients show a default greeting).
pub fn note(raw: &str) -> Result<String, Error> {
    let note = raw.trim();
    if note.chars().any(char::is_control) {
        return Err(Error::InvalidRequest);
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(Error::TooLong);
    }
    Ok(note.to_owned())
}

/// The shares of a red packet. For `Identical`, `amount_minor` is each
/// share; for `Lucky`, the total. In a direct chat there is exactly one share.
pub fn shares(
    split: Split,
    amount_minor: i64,
    count: u32,
    members: usize,
    direct: bool,
    random: &mut impl Random,
) -> Result<Vec<i64>, Error> {
    if amount_minor <= 0 {
        return Err(Error::InvalidAmount);
    }
    if direct && count != 1 {
        return Err(Error::DirectPacketOneShare);
    }
    if count == 0 || count > MAX_SHARES || (!direct && count as usize > members) {
        return Err(Error::InvalidRequest);
    }
    match split {
        Split::Identical => red_packet::identical_split(amount_minor, count)
            .map(|(_, shares)| shares)
            .map_err(|_| Error::AmountOverflow),
        Split::Lucky if amount_minor < i64::from(count) => Err(Error::InvalidAmount),
        Split::Lucky => red_packet::lucky_split(amount_minor, count, random),
    }
}

/// What a red packet takes from the sender's wallet: the total of a lucky
/// packet, or each share times the count of an identical one. Checks the
/// count against the packet limit (the group's size is the store's check).
pub fn red_packet_total(split: Split, amount_minor: i64, count: u32) -> Result<i64, Error> {
    if count == 0 || count > MAX_SHARES {
        return Err(Error::InvalidRequest);
    }
    match split {
        Split::Lucky => Ok(amount_minor),
        Split::Identical => amount_minor.checked_mul(i64::from(count)).ok_or(Error::AmountOverflow),
    }
}

/// Who receives a transfer: in a direct chat the other person (naming them
/// is allowed), in a group the member the sender names (WeChat's "transfer
/// to a group member"). Never the sender.
pub fn transfer_recipient(
    direct: bool,
    sender: UserId,
    named: Option<UserId>,
    members: &[UserId],
) -> Result<UserId, Error> {
    let recipient = match (direct, named) {
        (true, _) => members.iter().copied().find(|m| *m != sender).ok_or(Error::NotMember)?,
        (false, None) => return Err(Error::RecipientRequired),
        (false, Some(named)) => named,
    };
    if named.is_some_and(|n| n != recipient) || !members.contains(&recipient) {
        return Err(Error::NotMember);
    }
    if recipient == sender {
        return Err(Error::CannotAddSelf);
    }
    Ok(recipient)
}

/// Facts about a payment that decide who may do what to it.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    pub kind: PaymentKind,
    pub status: PaymentStatus,
    pub sender: UserId,
    pub recipient: Option<UserId>,
    pub direct: bool,
    pub expires_at_ms: i64,
}

/// Whether `user` may accept or decline this transfer now.
pub fn may_answer(facts: &Facts, user: UserId, now_ms: i64) -> Result<(), Error> {
    if facts.kind != PaymentKind::Transfer {
        return Err(Error::InvalidRequest);
    }
    if facts.recipient != Some(user) {
        return Err(Error::Forbidden);
    }
    match facts.status {
        PaymentStatus::Pending if now_ms >= facts.expires_at_ms => Err(Error::PaymentExpired),
        PaymentStatus::Pending => Ok(()),
        PaymentStatus::Refunded => Err(Error::PaymentExpired),
        _ => Err(Error::PaymentHandled),
    }
}

/// Whether `user` may open this red packet now (`opened`: already did).
pub fn may_open(facts: &Facts, user: UserId, opened: bool, now_ms: i64) -> Result<(), Error> {
    if facts.kind != PaymentKind::RedPacket {
        return Err(Error::InvalidRequest);
    }
    // In a direct chat the packet is for the other person; in a group the sender may grab too.
    if facts.direct && facts.sender == user {
        return Err(Error::Forbidden);
    }
    if opened {
        return Err(Error::RedPacketAlreadyOpened);
    }
    match facts.status {
        PaymentStatus::Open if now_ms >= facts.expires_at_ms => Err(Error::PaymentExpired),
        PaymentStatus::Open => Ok(()),
        PaymentStatus::Refunded => Err(Error::PaymentExpired),
        _ => Err(Error::RedPacketEmpty),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(u64);
    impl Random for Counter {
        fn next_u64(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0
        }
    }

    fn transfer(status: PaymentStatus) -> Facts {
        Facts {
            kind: PaymentKind::Transfer,
            status,
            sender: UserId(1),
            recipient: Some(UserId(2)),
            direct: true,
            expires_at_ms: 100,
        }
    }

    #[test]
    fn only_the_recipient_answers_a_pending_unexpired_transfer() {
        let t = transfer(PaymentStatus::Pending);
        assert_eq!(may_answer(&t, UserId(2), 99), Ok(()));
        assert_eq!(may_answer(&t, UserId(1), 99), Err(Error::Forbidden));
        assert_eq!(may_answer(&t, UserId(2), 100), Err(Error::PaymentExpired));
        assert_eq!(
            may_answer(&transfer(PaymentStatus::Accepted), UserId(2), 0),
            Err(Error::PaymentHandled)
        );
        assert_eq!(
            may_answer(&transfer(PaymentStatus::Refunded), UserId(2), 0),
            Err(Error::PaymentExpired)
        );
    }

    #[test]
    fn red_packets_open_once_until_empty_or_expired() {
        let packet = Facts {
            kind: PaymentKind::RedPacket,
            status: PaymentStatus::Open,
            sender: UserId(1),
            recipient: None,
            direct: false,
            expires_at_ms: 100,
        };
        assert_eq!(may_open(&packet, UserId(1), false, 0), Ok(()));
        assert_eq!(
            may_open(&packet, UserId(2), true, 0),
            Err(Error::RedPacketAlreadyOpened)
        );
        assert_eq!(may_open(&packet, UserId(2), false, 100), Err(Error::PaymentExpired));
        let direct = Facts { direct: true, ..packet };
        assert_eq!(may_open(&direct, UserId(1), false, 0), Err(Error::Forbidden));
        let empty = Facts {
            status: PaymentStatus::Finished,
            ..packet
        };
        assert_eq!(may_open(&empty, UserId(3), false, 0), Err(Error::RedPacketEmpty));
    }

    #[test]
    fn transfers_go_to_the_peer_or_a_named_group_member() {
        let (a, b, c, d) = (UserId(1), UserId(2), UserId(3), UserId(4));
        assert_eq!(transfer_recipient(true, a, None, &[a, b]), Ok(b));
        assert_eq!(transfer_recipient(true, a, Some(b), &[a, b]), Ok(b));
        assert_eq!(transfer_recipient(true, a, Some(c), &[a, b]), Err(Error::NotMember));
        assert_eq!(
            transfer_recipient(false, a, None, &[a, b, c]),
            Err(Error::RecipientRequired)
        );
        assert_eq!(transfer_recipient(false, a, Some(c), &[a, b, c]), Ok(c));
        assert_eq!(transfer_recipient(false, a, Some(d), &[a, b, c]), Err(Error::NotMember));
        assert_eq!(
            transfer_recipient(false, a, Some(a), &[a, b, c]),
            Err(Error::CannotAddSelf)
        );
    }

    #[test]
    fn share_rules() {
        let r = &mut Counter(7);
        assert_eq!(shares(Split::Identical, 100, 3, 5, false, r), Ok(vec![100; 3]));
        assert_eq!(shares(Split::Lucky, 2, 3, 5, false, r), Err(Error::InvalidAmount));
        assert_eq!(shares(Split::Lucky, 10, 6, 5, false, r), Err(Error::InvalidRequest));
        assert_eq!(
            shares(Split::Lucky, 10, 2, 2, true, r),
            Err(Error::DirectPacketOneShare)
        );
        assert_eq!(shares(Split::Lucky, 0, 1, 2, true, r), Err(Error::InvalidAmount));
        assert_eq!(red_packet_total(Split::Identical, 300, 3), Ok(900));
        assert_eq!(red_packet_total(Split::Lucky, 300, 3), Ok(300));
        assert_eq!(red_packet_total(Split::Lucky, 300, 0), Err(Error::InvalidRequest));
        assert_eq!(
            red_packet_total(Split::Lucky, 300, MAX_SHARES + 1),
            Err(Error::InvalidRequest)
        );
        assert_eq!(
            red_packet_total(Split::Identical, i64::MAX, 2),
            Err(Error::AmountOverflow)
        );
        assert_eq!(
            shares(Split::Identical, i64::MAX, 2, 5, false, r),
            Err(Error::AmountOverflow)
        );
        let lucky = shares(Split::Lucky, 1_000, 10, 10, false, r).expect("valid");
        assert_eq!(lucky.iter().sum::<i64>(), 1_000);
        assert!(note(&"字".repeat(MAX_NOTE_CHARS + 1)).is_err());
        assert_eq!(note("  恭喜发财 "), Ok("恭喜发财".to_owned()));
    }
}
