//! Records to wire types: the one place a stored row becomes public JSON.
//! The store uses it for event payloads, the server for responses.

use qiao_api as api;

use crate::records::*;

pub fn user_summary(user: &UserRecord) -> api::UserSummary {
    api::UserSummary {
        id: user.id.0,
        qiao_id: user.qiao_id.clone(),
        display_name: user.display_name.clone(),
        avatar: user.avatar.clone(),
        region: user.region.code().to_owned(),
    }
}

pub fn profile(user: &UserRecord) -> api::Profile {
    api::Profile {
        id: user.id.0,
        qiao_id: user.qiao_id.clone(),
        phone: user.phone.clone(),
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        avatar: user.avatar.clone(),
        region: user.region.code().to_owned(),
        language: user.language.code().to_owned(),
        created_at_ms: user.created_at_ms,
        unverified: Vec::new(),
    }
}

/// The profile with the claims still waiting for their codes.
pub fn profile_with_claims(user: &UserRecord, claims: &[ClaimRecord]) -> api::Profile {
    api::Profile {
        unverified: claims
            .iter()
            .map(|c| api::Unverified {
                kind: c.kind.as_str().to_owned(),
                value: c.value.clone(),
            })
            .collect(),
        ..profile(user)
    }
}

pub fn message(m: &MessageRecord) -> api::Message {
    api::Message {
        id: m.id.0,
        conversation_id: m.conversation_id.0,
        seq: m.seq,
        sender_id: m.sender_id.0,
        client_msg_id: m.client_msg_id.clone(),
        kind: m.kind.clone(),
        text: m.text.clone(),
        blob: m.blob.clone(),
        file_name: m.file_name.clone(),
        mime: m.mime.clone(),
        size: m.size,
        reply_to: m.reply_to.map(|id| id.0),
        mentions: m.mentions.iter().map(|u| u.0).collect(),
        sent_at_ms: m.sent_at_ms,
        recalled: m.recalled,
        payment_id: m.payment_id.map(|p| p.0),
    }
}

pub fn friend_request(r: &FriendRequestRecord) -> api::FriendRequest {
    api::FriendRequest {
        id: r.id.0,
        from: user_summary(&r.from),
        to: user_summary(&r.to),
        greeting: r.greeting.clone(),
        status: r.status.as_str().to_owned(),
        created_at_ms: r.created_at_ms,
    }
}

pub fn contact(c: &ContactRecord) -> api::Contact {
    api::Contact {
        user: user_summary(&c.user),
        remark: c.remark.clone(),
        conversation_id: c.conversation_id.0,
        since_ms: c.since_ms,
    }
}

pub fn conversation(c: &ConversationView) -> api::Conversation {
    let name = match &c.peer {
        Some(peer) => c.peer_remark.clone().unwrap_or_else(|| peer.display_name.clone()),
        None => c.name.clone(),
    };
    api::Conversation {
        id: c.id.0,
        kind: c.kind.as_str().to_owned(),
        name,
        announcement: c.announcement.clone(),
        owner_id: c.owner_id.map(|u| u.0),
        peer: c.peer.as_ref().map(user_summary),
        last_seq: c.last_seq,
        unread: c.unread,
        last_message: c.last_message.as_ref().map(message),
        member_count: c.member_count,
        created_at_ms: c.created_at_ms,
    }
}

pub fn member(m: &MemberRecord) -> api::Member {
    api::Member {
        user: user_summary(&m.user),
        role: m.role.as_str().to_owned(),
        joined_at_ms: m.joined_at_ms,
        last_read_seq: m.last_read_seq,
        last_delivered_seq: m.last_delivered_seq,
    }
}

pub fn event(e: &EventRecord) -> api::Event {
    api::Event {
        pos: e.pos.0,
        kind: e.kind.as_str().to_owned(),
        conversation_id: e.conversation_id.map(|c| c.0),
        at_ms: e.at_ms,
        data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
    }
}

/// Serializes a wire value for an event payload. Wire types always serialize.
/// A session as its account's devices see it; `current` is the viewer's own.
pub fn session(r: &SessionRecord, current: bool) -> api::SessionInfo {
    api::SessionInfo {
        id: r.id.0,
        device_name: r.device_name.clone(),
        created_at_ms: r.created_at_ms,
        last_seen_at_ms: r.last_seen_at_ms,
        current,
    }
}

pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

pub fn payment(p: &PaymentRecord) -> api::ChatPayment {
    let finished_lucky = p.status == qiao_domain::payment::PaymentStatus::Finished
        && p.split == Some(qiao_domain::payment::Split::Lucky);
    let amounts: Vec<i64> = p.opened.iter().map(|o| o.amount_minor).collect();
    let best_luck_user_id = finished_lucky
        .then(|| qiao_domain::red_packet::best_luck(&amounts))
        .flatten()
        .map(|i| p.opened[i].user_id.0);
    api::ChatPayment {
        id: p.id.0,
        kind: p.kind.as_str().to_owned(),
        conversation_id: p.conversation_id.0,
        message_id: p.message_id.map(|m| m.0),
        sender_id: p.sender_id.0,
        recipient_id: p.recipient_id.map(|u| u.0),
        split: p.split.map(|s| s.as_str().to_owned()),
        currency: p.currency.code().to_owned(),
        total_minor: p.total_minor,
        shares: p.shares,
        opened_count: p.opened_count,
        opened_minor: p.opened_minor,
        note: p.note.clone(),
        status: p.status.as_str().to_owned(),
        created_at_ms: p.created_at_ms,
        expires_at_ms: p.expires_at_ms,
        settled_at_ms: p.settled_at_ms,
        opened: p
            .opened
            .iter()
            .map(|o| api::OpenedShare {
                user_id: o.user_id.0,
                amount_minor: o.amount_minor,
                opened_at_ms: o.opened_at_ms,
            })
            .collect(),
        best_luck_user_id,
    }
}

// ---------- merchants ----------

use crate::merchant_records::*;

pub fn merchant(m: &MerchantRecord, role: qiao_domain::merchant::Role) -> api::Merchant {
    api::Merchant {
        id: m.id.0,
        number: qiao_domain::merchant::public_number(m.id),
        legal_name: m.legal_name.clone(),
        display_name: m.display_name.clone(),
        country: m.country.clone(),
        city: m.city.clone(),
        mcc: m.mcc.clone(),
        currency: m.currency.code().to_owned(),
        settlement_card_id: m.settlement_card_id.0,
        notify_url: m.notify_url.clone(),
        verified: m.verified,
        role: role.as_str().to_owned(),
        created_at_ms: m.created_at_ms,
    }
}

pub fn merchant_card(m: &MerchantRecord) -> api::MerchantCard {
    api::MerchantCard {
        number: qiao_domain::merchant::public_number(m.id),
        name: m.display_name.clone(),
        city: m.city.clone(),
        country: m.country.clone(),
        verified: m.verified,
    }
}

fn rate_text(scaled: i64, from: qiao_domain::money::Currency, to: qiao_domain::money::Currency) -> Option<String> {
    qiao_domain::fx::Rate::from_scaled(from, to, scaled)
        .ok()
        .map(|r| r.text())
}

pub fn order(o: &OrderRecord) -> api::Order {
    api::Order {
        id: o.id.0,
        merchant_id: o.merchant_id.0,
        out_trade_no: o.out_trade_no.clone(),
        kind: o.kind.as_str().to_owned(),
        status: o.status.as_str().to_owned(),
        amount_minor: o.amount_minor,
        currency: o.currency.code().to_owned(),
        description: o.description.clone(),
        shop_id: o.shop_id.map(|s| s.0),
        created_at_ms: o.created_at_ms,
        expires_at_ms: o.expires_at_ms,
        paid_at_ms: o.paid_at_ms,
        refunded_minor: o.refunded_minor,
        payer: o.payer.map(|p| api::PayerAmounts {
            currency: p.currency.code().to_owned(),
            amount_minor: p.debit_minor,
            fee_minor: p.fee_minor,
            rate: p.rate_scaled.and_then(|r| rate_text(r, p.currency, o.currency)),
            refunded_minor: o.payer_refunded_minor,
        }),
    }
}

pub fn refund(r: &RefundRecord, o: &OrderRecord) -> api::Refund {
    api::Refund {
        id: r.id.0,
        order_id: r.order_id.0,
        out_trade_no: o.out_trade_no.clone(),
        out_refund_no: r.out_refund_no.clone(),
        amount_minor: r.amount_minor,
        currency: o.currency.code().to_owned(),
        payer_amount_minor: r.payer_amount_minor,
        payer_currency: o.payer.map_or(o.currency, |p| p.currency).code().to_owned(),
        reason: r.reason.clone(),
        created_at_ms: r.created_at_ms,
    }
}

pub fn quote(q: &QuoteRecord) -> api::Quote {
    api::Quote {
        id: q.id.0,
        from_currency: q.from.code().to_owned(),
        to_currency: q.to.code().to_owned(),
        debit_minor: q.debit_minor,
        fee_minor: q.fee_minor,
        credit_minor: q.credit_minor,
        rate: rate_text(q.rate_scaled, q.from, q.to).unwrap_or_default(),
        mid_rate: rate_text(q.mid_scaled, q.from, q.to).unwrap_or_default(),
        expires_at_ms: q.expires_at_ms,
    }
}

pub fn receipt(o: &OrderRecord, m: &MerchantRecord, quote: Option<&QuoteRecord>) -> api::Receipt {
    let wire = order(o);
    api::Receipt {
        order_id: o.id.0,
        merchant: merchant_card(m),
        status: wire.status,
        amount_minor: o.amount_minor,
        currency: wire.currency,
        description: o.description.clone(),
        payer: wire.payer,
        paid_at_ms: o.paid_at_ms,
        expires_at_ms: o.expires_at_ms,
        quote: quote.map(self::quote),
    }
}

pub fn notification(n: &NotificationRecord) -> api::Notification {
    api::Notification {
        id: n.id.0,
        event_id: n.event_id.clone(),
        kind: n.kind.clone(),
        url: n.url.clone(),
        attempts: n.attempts,
        next_at_ms: n.next_at_ms,
        delivered_at_ms: n.delivered_at_ms,
        last_status: n.last_status,
        last_error: n.last_error.clone(),
        created_at_ms: n.created_at_ms,
    }
}

pub fn api_key(k: &ApiKeyRecord) -> api::ApiKey {
    api::ApiKey {
        id: k.id.0,
        prefix: k.prefix.clone(),
        label: k.label.clone(),
        created_at_ms: k.created_at_ms,
        revoked_at_ms: k.revoked_at_ms,
    }
}

pub fn shop(s: &ShopRecord) -> api::Shop {
    api::Shop {
        id: s.id.0,
        name: s.name.clone(),
        created_at_ms: s.created_at_ms,
    }
}
