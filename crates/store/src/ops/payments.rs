//! Transfers and red packets inside chats. Sending moves the money from the
//! sender's wallet (or credit line) into escrow and posts the chat message,
//! in one transaction; accepting, opening and refunding move it out of escrow.
//! All of it runs in the single writer, so hundreds of members opening one
//! packet at once are served one after another: each share goes to exactly
//! one person, and nobody gets two.

use std::sync::Arc;

use qiao_domain::conversation::Kind;
use qiao_domain::event::EventKind;
use qiao_domain::ids::{ConversationId, MessageId, PaymentId, UserId};
use qiao_domain::journal::{LedgerKey, Leg, Memo};
use qiao_domain::ledger::{user_owner, AccountKind, Owner};
use qiao_domain::message::{Content, Draft};
use qiao_domain::money::{Amount, Currency};
use qiao_domain::payment::{self, Facts, PaymentKind, PaymentStatus, Split, PAYMENT_TTL_MS};
use qiao_domain::red_packet::SplitMix;
use qiao_domain::Error as Rejection;

use super::conversations::{membership_row, state};
use super::{corrupt, ledger, messages};
use crate::engine::{params, placeholders, Conn, LockKey, Row, Value};
use crate::records::{LedgerAccountId, NewPayment, NewTransfer, OpenedShare, PaySource, PaymentRecord};
use crate::wire;
use crate::writer::{Audience, NewEvent, Tx};
use crate::{StoreError, StoreResult};

const COLUMNS: &str = "id, kind, sender_id, client_key, conversation_id, message_id, recipient_id, split, currency, \
     total_minor, shares, opened_count, opened_minor, note, source_account_id, status, created_at_ms, expires_at_ms, \
     settled_at_ms";

fn from_row(row: &Row) -> StoreResult<PaymentRecord> {
    let split = match row.opt_text(7)? {
        Some(s) => Some(Split::parse(&s).map_err(|_| corrupt("split"))?),
        None => None,
    };
    Ok(PaymentRecord {
        id: PaymentId(row.int(0)?),
        kind: PaymentKind::parse(&row.text(1)?).ok_or_else(|| corrupt("payment kind"))?,
        sender_id: UserId(row.int(2)?),
        client_key: row.text(3)?,
        conversation_id: ConversationId(row.int(4)?),
        message_id: row.opt_int(5)?.map(MessageId),
        recipient_id: row.opt_int(6)?.map(UserId),
        split,
        currency: Currency::parse(&row.text(8)?).map_err(|_| corrupt("currency"))?,
        total_minor: row.int(9)?,
        shares: u32::try_from(row.int(10)?).map_err(|_| corrupt("shares"))?,
        opened_count: u32::try_from(row.int(11)?).map_err(|_| corrupt("opened"))?,
        opened_minor: row.int(12)?,
        note: row.text(13)?,
        source_account: LedgerAccountId(row.int(14)?),
        status: PaymentStatus::parse(&row.text(15)?).ok_or_else(|| corrupt("payment status"))?,
        created_at_ms: row.int(16)?,
        expires_at_ms: row.int(17)?,
        settled_at_ms: row.opt_int(18)?,
        opened: Vec::new(),
    })
}

/// The payment row alone (no shares): what the hot paths need.
fn row_of(conn: &mut dyn Conn, id: PaymentId) -> StoreResult<PaymentRecord> {
    let sql = format!("SELECT {COLUMNS} FROM chat_payments WHERE id = $1");
    let row = conn
        .query_opt(&sql, params![id.0])?
        .ok_or(StoreError::Rejected(Rejection::PaymentNotFound))?;
    from_row(&row)
}

/// The payment with its opened shares.
fn load(conn: &mut dyn Conn, id: PaymentId) -> StoreResult<PaymentRecord> {
    let mut record = row_of(conn, id)?;
    if record.kind == PaymentKind::RedPacket {
        record.opened = conn
            .query(
                "SELECT opened_by, amount_minor, opened_at_ms FROM red_packet_shares
                 WHERE payment_id = $1 AND opened_by IS NOT NULL ORDER BY idx",
                params![id.0],
            )?
            .iter()
            .map(|r| {
                Ok(OpenedShare {
                    user_id: UserId(r.int(0)?),
                    amount_minor: r.int(1)?,
                    opened_at_ms: r.int(2)?,
                })
            })
            .collect::<StoreResult<_>>()?;
    }
    Ok(record)
}

/// A payment, if `user` is a member of its conversation; otherwise `PaymentNotFound`.
pub fn payment(conn: &mut dyn Conn, user: UserId, id: PaymentId) -> StoreResult<PaymentRecord> {
    let record = load(conn, id)?;
    match membership_row(conn, user, record.conversation_id) {
        Ok(_) => Ok(record),
        Err(StoreError::Rejected(_)) => Err(Rejection::PaymentNotFound.into()),
        Err(e) => Err(e),
    }
}

/// A payment's conversation and sender (neither ever changes): what its
/// operations name as locks before they run.
pub fn parties_of(conn: &mut dyn Conn, id: PaymentId) -> StoreResult<(ConversationId, UserId)> {
    let row = conn
        .query_opt(
            "SELECT conversation_id, sender_id FROM chat_payments WHERE id = $1",
            params![id.0],
        )?
        .ok_or(StoreError::Rejected(Rejection::PaymentNotFound))?;
    Ok((ConversationId(row.int(0)?), UserId(row.int(1)?)))
}

fn facts(p: &PaymentRecord, direct: bool) -> Facts {
    Facts {
        kind: p.kind,
        status: p.status,
        sender: p.sender_id,
        recipient: p.recipient_id,
        direct,
        expires_at_ms: p.expires_at_ms,
    }
}

/// This writer's chat escrow account in `currency`, opened on first use.
/// Money goes into escrow on one node and may leave it on another, so a
/// shard alone may go below zero; together they hold what live payments
/// need (reconciliation checks the sum).
fn escrow(tx: &mut Tx<'_>, currency: Currency, now_ms: i64) -> StoreResult<LedgerAccountId> {
    let shard = tx.shard();
    Ok(ledger::ensure_account(
        tx,
        AccountKind::Escrow,
        &Owner::ChatEscrow(shard).to_string(),
        currency,
        now_ms,
    )?
    .id)
}

fn wallet(tx: &mut Tx<'_>, user: UserId, currency: Currency, now_ms: i64) -> StoreResult<LedgerAccountId> {
    Ok(ledger::ensure_account(tx, AccountKind::Wallet, &user_owner(user), currency, now_ms)?.id)
}

/// The wallet accounts of many users in one read per chunk, opening the missing ones.
fn wallets(
    tx: &mut Tx<'_>,
    users: &[UserId],
    currency: Currency,
    now_ms: i64,
) -> StoreResult<std::collections::HashMap<UserId, LedgerAccountId>> {
    let mut found = std::collections::HashMap::with_capacity(users.len());
    let owners: Vec<String> = users.iter().map(|u| user_owner(*u)).collect();
    super::ledger::in_chunks(&owners, |chunk| {
        let sql = super::ledger::statement("wallets", chunk.len(), || {
            format!(
                "SELECT id, owner FROM ledger_accounts WHERE kind = 'wallet' AND currency = $1 AND owner IN ({})",
                placeholders(1, chunk.len())
            )
        });
        let mut values = vec![Value::from(currency.code())];
        values.extend(chunk.iter().map(|o| Value::from(o.as_str())));
        for row in tx.conn.query(&sql, &values)? {
            let Some(Owner::User(user)) = Owner::parse(&row.text(1)?) else {
                return Err(corrupt("wallet owner"));
            };
            found.insert(user, LedgerAccountId(row.int(0)?));
        }
        Ok(())
    })?;
    for user in users {
        if !found.contains_key(user) {
            let id = wallet(tx, *user, currency, now_ms)?;
            found.insert(*user, id);
        }
    }
    Ok(found)
}

/// Moves money in the same transaction as the caller's other writes.
fn move_money(
    tx: &mut Tx<'_>,
    key: LedgerKey,
    debit: LedgerAccountId,
    credit: LedgerAccountId,
    amount: Amount,
    memo: Memo,
    now_ms: i64,
) -> StoreResult<()> {
    ledger::transfer(tx, NewTransfer::posted(key, debit, credit, amount, memo), now_ms).map(|_| ())
}

fn publish(
    tx: &mut Tx<'_>,
    record: &PaymentRecord,
    audience: Audience,
    recipients: Arc<[UserId]>,
    now_ms: i64,
) -> StoreResult<()> {
    let data = wire::to_json(&wire::payment(record));
    tx.emit(EventKind::PaymentUpdated, audience, None, data, recipients, now_ms)
        .map(|_| ())
}

/// Sends a transfer or red packet: money into escrow, a chat message that
/// carries it. Idempotent by the sender's key; returns the payment and
/// whether this call created it.
pub fn send(tx: &mut Tx<'_>, new: NewPayment, now_ms: i64) -> StoreResult<(PaymentRecord, bool)> {
    let currency = new.amount.currency();
    let st = state(tx, new.conversation)?;
    let direct = st.kind == Kind::Direct;
    let shares = match new.kind {
        PaymentKind::Transfer => vec![new.amount.minor()],
        PaymentKind::RedPacket => payment::shares(
            new.split.ok_or(Rejection::InvalidRequest)?,
            new.amount.minor(),
            new.count,
            st.members.len(),
            direct,
            &mut SplitMix(new.seed),
        )?,
    };
    let total = shares
        .iter()
        .try_fold(0i64, |sum, s| sum.checked_add(*s))
        .ok_or(Rejection::AmountOverflow)?;
    let existing = tx.conn.query_opt(
        &format!("SELECT {COLUMNS} FROM chat_payments WHERE sender_id = $1 AND client_key = $2"),
        params![new.sender.0, new.client_key.as_str()],
    )?;
    if let Some(row) = existing {
        let first = from_row(&row)?;
        let same = first.kind == new.kind
            && first.conversation_id == new.conversation
            && first.split == new.split
            && first.currency == currency
            && first.total_minor == total
            && first.shares == shares.len() as u32
            && first.note == new.note
            && (new.recipient.is_none() || first.recipient_id == new.recipient);
        return if same {
            Ok((load(tx.conn, first.id)?, false))
        } else {
            Err(Rejection::IdempotencyConflict.into())
        };
    }
    if !st.members.contains_key(&new.sender) {
        return Err(Rejection::NotMember.into());
    }
    tx.require(LockKey::Conversation(new.conversation))?;
    let recipient = match new.kind {
        PaymentKind::Transfer => {
            let members: Vec<UserId> = st.members.keys().copied().collect();
            Some(payment::transfer_recipient(
                direct,
                new.sender,
                new.recipient,
                &members,
            )?)
        }
        PaymentKind::RedPacket if new.recipient.is_some() => return Err(Rejection::InvalidRequest.into()),
        PaymentKind::RedPacket => None,
    };
    let source = match new.source {
        PaySource::Balance => wallet(tx, new.sender, currency, now_ms)?,
        PaySource::PayLater => {
            ledger::find_account(tx.conn, "credit_line", &user_owner(new.sender), currency)?
                .ok_or(StoreError::Rejected(Rejection::NoCreditLine))?
                .id
        }
    };
    let amount = Amount::new(total, currency)?;
    let day_total = match new.cap {
        Some(cap) => Some((cap, super::caps::check(tx, new.sender, cap, amount, now_ms)?)),
        None => None,
    };
    let escrow = escrow(tx, currency, now_ms)?;
    let (status, split) = match new.kind {
        PaymentKind::Transfer => (PaymentStatus::Pending, None),
        PaymentKind::RedPacket => (PaymentStatus::Open, new.split.map(Split::as_str)),
    };
    let id = PaymentId(
        tx.conn
            .query_one(
                "INSERT INTO chat_payments (kind, sender_id, client_key, conversation_id, recipient_id, split, currency,
                     total_minor, shares, note, source_account_id, status, created_at_ms, expires_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
                params![
                    new.kind.as_str(),
                    new.sender.0,
                    new.client_key.as_str(),
                    new.conversation.0,
                    recipient.map(|u| u.0),
                    split,
                    currency.code(),
                    total,
                    shares.len() as i64,
                    new.note.as_str(),
                    source.0,
                    status.as_str(),
                    now_ms,
                    now_ms + PAYMENT_TTL_MS
                ],
            )?
            .int(0)?,
    );
    let receivers: Vec<UserId> = match recipient {
        Some(r) => vec![r],
        None => st.members.keys().copied().filter(|m| *m != new.sender).collect(),
    };
    snapshot_rates(tx, id, new.sender, amount, &receivers, new.pricing, new.quote, now_ms)?;
    let memo = match new.kind {
        PaymentKind::Transfer => Memo::Transfer { payment: id },
        PaymentKind::RedPacket => Memo::RedPacket { payment: id },
    };
    let key = LedgerKey::ChatSend {
        user: new.sender,
        client: new.client_key.clone(),
    };
    move_money(tx, key, source, escrow, amount, memo, now_ms)?;
    if let Some((cap, total)) = day_total {
        super::caps::record(tx, new.sender, currency, cap.kind, now_ms, total)?;
    }
    if new.kind == PaymentKind::RedPacket {
        insert_shares(tx.conn, id, &shares)?;
    }
    let content = Content::Payment {
        kind: new.kind,
        payment_id: id,
        note: new.note.clone(),
    };
    let draft = Draft::new(content, None, Vec::new())?;
    let sent = messages::send(tx, new.sender, new.conversation, new.client_key, draft, now_ms)?;
    tx.conn.execute(
        "UPDATE chat_payments SET message_id = $2 WHERE id = $1",
        params![id.0, sent.message.id.0],
    )?;
    Ok((load(tx.conn, id)?, true))
}

fn insert_shares(conn: &mut dyn Conn, id: PaymentId, shares: &[i64]) -> StoreResult<()> {
    for (chunk_index, chunk) in shares.chunks(100).enumerate() {
        let tuples: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", placeholders(i * 3, 3)))
            .collect();
        let sql = format!(
            "INSERT INTO red_packet_shares (payment_id, idx, amount_minor) VALUES {}",
            tuples.join(", ")
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3);
        for (i, amount) in chunk.iter().enumerate() {
            values.extend([
                Value::from(id.0),
                Value::from((chunk_index * 100 + i) as i64),
                Value::from(*amount),
            ]);
        }
        conn.execute(&sql, &values)?;
    }
    Ok(())
}

/// The recipient accepts (credited) or declines (refunded) a transfer.
pub fn answer(tx: &mut Tx<'_>, user: UserId, id: PaymentId, accept: bool, now_ms: i64) -> StoreResult<PaymentRecord> {
    let p = row_of(tx.conn, id)?;
    let st = state(tx, p.conversation_id)?;
    if !st.members.contains_key(&user) {
        return Err(Rejection::PaymentNotFound.into());
    }
    payment::may_answer(&facts(&p, st.kind == Kind::Direct), user, now_ms)?;
    tx.require(LockKey::Conversation(p.conversation_id))?;
    let amount = Amount::new(p.total_minor, p.currency)?;
    let escrow = escrow(tx, p.currency, now_ms)?;
    let converted = if accept { conversion_for(tx, &p, user)? } else { None };
    let (to, status, key, memo) = if accept {
        let to = match &converted {
            Some(_) => house(tx, AccountKind::FxPosition, p.currency, now_ms)?,
            None => wallet(tx, user, p.currency, now_ms)?,
        };
        (
            to,
            PaymentStatus::Accepted,
            LedgerKey::Accept { payment: id },
            Memo::Transfer { payment: id },
        )
    } else {
        (
            p.source_account,
            PaymentStatus::Declined,
            LedgerKey::Decline { payment: id },
            Memo::Refund { payment: id },
        )
    };
    move_money(tx, key, escrow, to, amount, memo.clone(), now_ms)?;
    if let Some(c) = converted {
        let legs = |leg| LedgerKey::AcceptLeg { payment: id, leg };
        arrive_converted(tx, user, p.currency, &c, (legs(Leg::Fee), legs(Leg::Fx)), memo, now_ms)?;
    }
    tx.conn.execute(
        "UPDATE chat_payments SET status = $2, settled_at_ms = $3 WHERE id = $1",
        params![id.0, status.as_str(), now_ms],
    )?;
    let record = load(tx.conn, id)?;
    publish(
        tx,
        &record,
        Audience::Conversation(p.conversation_id),
        st.recipients.clone(),
        now_ms,
    )?;
    Ok(record)
}

/// One open request: who, which packet, when.
pub type OpenRequest = (UserId, PaymentId, i64);

/// Opens many shares at once, in request order, each answered on its own:
/// the rules run in memory against the packet as the earlier opens of the
/// batch left it, then a few set-based statements write every share, the
/// packet, the money (`ledger::transfer_batch`) and the events. A crowd
/// opening one packet costs a handful of statements, not a handful per open.
pub fn open_batch(tx: &mut Tx<'_>, requests: Vec<OpenRequest>) -> StoreResult<Vec<StoreResult<(PaymentRecord, i64)>>> {
    let mut answers: Vec<Option<StoreResult<(PaymentRecord, i64)>>> = (0..requests.len()).map(|_| None).collect();
    let mut ids: Vec<PaymentId> = requests.iter().map(|(_, id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let mine: Vec<usize> = (0..requests.len()).filter(|i| requests[*i].1 == id).collect();
        match open_one_packet(tx, id, &requests, &mine) {
            Ok(results) => {
                for (i, result) in mine.into_iter().zip(results) {
                    answers[i] = Some(result);
                }
            }
            Err(StoreError::Rejected(e)) => {
                for i in mine {
                    answers[i] = Some(Err(e.into()));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(StoreError::Backend("an open without an answer".into()))))
        .collect())
}

/// The opens of one packet (`mine` indexes `requests`).
fn open_one_packet(
    tx: &mut Tx<'_>,
    id: PaymentId,
    requests: &[OpenRequest],
    mine: &[usize],
) -> StoreResult<Vec<StoreResult<(PaymentRecord, i64)>>> {
    let mut p = row_of(tx.conn, id)?;
    let st = state(tx, p.conversation_id)?;
    let direct = st.kind == Kind::Direct;
    let mut opened: std::collections::HashSet<UserId> = tx
        .conn
        .query(
            "SELECT opened_by FROM red_packet_shares WHERE payment_id = $1 AND opened_by IS NOT NULL",
            params![id.0],
        )?
        .iter()
        .map(|r| r.int(0).map(UserId))
        .collect::<StoreResult<_>>()?;
    let unopened: Vec<(i64, i64)> = tx
        .conn
        .query(
            "SELECT idx, amount_minor FROM red_packet_shares WHERE payment_id = $1 AND opened_by IS NULL ORDER BY idx",
            params![id.0],
        )?
        .iter()
        .map(|r| Ok((r.int(0)?, r.int(1)?)))
        .collect::<StoreResult<_>>()?;
    let mut next = unopened.into_iter();
    // (request index, user, share index, amount, packet after this open)
    let mut granted: Vec<(usize, UserId, i64, i64, i64, PaymentRecord)> = Vec::new();
    let mut results: Vec<StoreResult<(PaymentRecord, i64)>> = Vec::with_capacity(mine.len());
    for &i in mine {
        let (user, _, now_ms) = requests[i];
        if !st.members.contains_key(&user) {
            results.push(Err(Rejection::PaymentNotFound.into()));
            continue;
        }
        if let Err(e) = payment::may_open(&facts(&p, direct), user, opened.contains(&user), now_ms) {
            results.push(Err(e.into()));
            continue;
        }
        let Some((index, share)) = next.next() else {
            return Err(corrupt("an open packet without unopened shares"));
        };
        opened.insert(user);
        p.opened_count += 1;
        p.opened_minor = p.opened_minor.checked_add(share).ok_or(Rejection::AmountOverflow)?;
        if p.opened_count == p.shares {
            p.status = PaymentStatus::Finished;
            p.settled_at_ms = Some(now_ms);
        }
        granted.push((i, user, index, share, now_ms, p.clone()));
        // Filled in below, once the writes are done.
        results.push(Ok((
            PaymentRecord {
                opened: Vec::new(),
                ..p.clone()
            },
            share,
        )));
    }
    if granted.is_empty() {
        return Ok(results);
    }
    tx.require(LockKey::Conversation(p.conversation_id))?;
    super::ledger::in_chunks(&granted, |chunk| {
        let sql = super::ledger::statement("shares", chunk.len(), || {
            format!(
                "UPDATE red_packet_shares SET opened_by = v.column2, opened_at_ms = v.column3
                 FROM (VALUES {}) AS v WHERE red_packet_shares.payment_id = v.column4 AND red_packet_shares.idx = v.column1
                   AND red_packet_shares.opened_by IS NULL",
                super::ledger::integer_rows(chunk.len(), 4)
            )
        });
        let mut values = Vec::with_capacity(chunk.len() * 4);
        for (_, user, index, _, now_ms, _) in chunk {
            values.extend([*index, user.0, *now_ms, id.0].map(Value::from));
        }
        let updated = tx.conn.execute(&sql, &values)?;
        if updated != chunk.len() as u64 {
            return Err(StoreError::Backend("a share was opened twice".into()));
        }
        Ok(())
    })?;
    tx.conn.execute(
        "UPDATE chat_payments SET opened_count = $2, opened_minor = $3, status = $4, settled_at_ms = $5 WHERE id = $1",
        params![
            id.0,
            i64::from(p.opened_count),
            p.opened_minor,
            p.status.as_str(),
            p.settled_at_ms
        ],
    )?;
    let escrow = escrow(tx, p.currency, granted[0].4)?;
    let converting = converting_openers(tx, &p, &granted.iter().map(|g| (g.1, g.3)).collect::<Vec<_>>())?;
    let openers: Vec<UserId> = granted
        .iter()
        .map(|g| g.1)
        .filter(|u| !converting.contains_key(u))
        .collect();
    let wallets = wallets(tx, &openers, p.currency, granted[0].4)?;
    let mut transfers = Vec::with_capacity(granted.len());
    for (_, user, index, share, now_ms, _) in &granted {
        if let Some(c) = converting.get(user) {
            let index = u32::try_from(*index).map_err(|_| corrupt("share index"))?;
            let fx = house(tx, AccountKind::FxPosition, p.currency, *now_ms)?;
            let memo = Memo::RedPacket { payment: id };
            let amount = Amount::new(*share, p.currency)?;
            move_money(
                tx,
                LedgerKey::Share { payment: id, index },
                escrow,
                fx,
                amount,
                memo.clone(),
                *now_ms,
            )?;
            let legs = |leg| LedgerKey::ShareLeg {
                payment: id,
                index,
                leg,
            };
            arrive_converted(tx, *user, p.currency, c, (legs(Leg::Fee), legs(Leg::Fx)), memo, *now_ms)?;
            continue;
        }
        let to = *wallets
            .get(user)
            .ok_or_else(|| StoreError::Backend("an opener without a wallet".into()))?;
        let key = LedgerKey::Share {
            payment: id,
            index: u32::try_from(*index).map_err(|_| corrupt("share index"))?,
        };
        let amount = Amount::new(*share, p.currency)?;
        let new = NewTransfer::posted(key, escrow, to, amount, Memo::RedPacket { payment: id });
        transfers.push((new, *now_ms));
    }
    for moved in ledger::transfer_batch(tx, transfers)? {
        // Escrow holds every share of a live packet: a refusal here is a broken ledger.
        moved.map_err(|e| StoreError::Backend(format!("red packet share refused by the ledger: {e}")))?;
    }
    // The sender and each opener hear of each open; everyone hears when it is finished.
    let mut events = Vec::with_capacity(granted.len() * 2 + 1);
    for (_, user, _, _, now_ms, after) in &granted {
        let data = wire::to_json(&wire::payment(after));
        let mut audience = vec![after.sender_id];
        if *user != after.sender_id {
            audience.push(*user);
        }
        for who in audience {
            events.push(NewEvent {
                kind: EventKind::PaymentUpdated,
                audience: Audience::User(who, Some(p.conversation_id)),
                message_id: None,
                data: data.clone(),
                recipients: Arc::from(vec![who]),
                now_ms: *now_ms,
            });
        }
    }
    tx.emit_many(events)?;
    if p.status == PaymentStatus::Finished {
        let full = load(tx.conn, id)?;
        let now_ms = full.settled_at_ms.unwrap_or(granted[granted.len() - 1].4);
        publish(
            tx,
            &full,
            Audience::Conversation(full.conversation_id),
            st.recipients.clone(),
            now_ms,
        )?;
    }
    Ok(results)
}

/// Transfers and red packets whose 24 hours have run out.
pub const EXPIRED: super::Sweep = super::Sweep {
    table: "chat_payments",
    due: "status IN ('pending', 'open') AND expires_at_ms <= $1",
};

/// Refunds up to `limit` transfers and red packets whose 24 hours have run
/// out: what is left in escrow goes back where it came from.
pub fn expire(tx: &mut Tx<'_>, now_ms: i64, limit: usize) -> StoreResult<Vec<PaymentRecord>> {
    let sql = format!(
        "SELECT id FROM {} WHERE {} ORDER BY expires_at_ms LIMIT $2",
        EXPIRED.table, EXPIRED.due
    );
    let due: Vec<PaymentId> = tx
        .conn
        .query(&sql, params![now_ms, limit as i64])?
        .iter()
        .map(|r| r.int(0).map(PaymentId))
        .collect::<StoreResult<_>>()?;
    let mut refunded = Vec::with_capacity(due.len());
    for id in due {
        let p = row_of(tx.conn, id)?;
        let left = p
            .total_minor
            .checked_sub(p.opened_minor)
            .ok_or(Rejection::AmountOverflow)?;
        if left > 0 {
            let escrow = escrow(tx, p.currency, now_ms)?;
            let amount = Amount::new(left, p.currency)?;
            move_money(
                tx,
                LedgerKey::Refund { payment: id },
                escrow,
                p.source_account,
                amount,
                Memo::Refund { payment: id },
                now_ms,
            )?;
        }
        tx.conn.execute(
            "UPDATE chat_payments SET status = 'refunded', settled_at_ms = $2 WHERE id = $1",
            params![id.0, now_ms],
        )?;
        let record = load(tx.conn, id)?;
        let st = state(tx, p.conversation_id)?;
        publish(
            tx,
            &record,
            Audience::Conversation(p.conversation_id),
            st.recipients.clone(),
            now_ms,
        )?;
        refunded.push(record);
    }
    Ok(refunded)
}

/// What chat escrow (all shards together) should hold: the unsettled
/// remainder of every live payment, per currency.
pub fn held_in_escrow(conn: &mut dyn Conn) -> StoreResult<Vec<(Currency, i64)>> {
    conn.query(
        "SELECT currency, CAST(SUM(total_minor - opened_minor) AS BIGINT) FROM chat_payments
         WHERE status IN ('pending', 'open') GROUP BY currency ORDER BY currency",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok((
            Currency::parse(&r.text(0)?).map_err(|_| corrupt("currency"))?,
            r.int(1)?,
        ))
    })
    .collect()
}

/// The account of Qiao's own book (FX position, fee income) in `currency`.
fn house(tx: &mut Tx<'_>, kind: AccountKind, currency: Currency, now_ms: i64) -> StoreResult<LedgerAccountId> {
    Ok(ledger::ensure_account(tx, kind, &Owner::House.to_string(), currency, now_ms)?.id)
}

/// The wallet currency of each of `users` (their region's).
fn currencies_of(conn: &mut dyn Conn, users: &[UserId]) -> StoreResult<std::collections::HashMap<UserId, Currency>> {
    let mut found = std::collections::HashMap::with_capacity(users.len());
    super::ledger::in_chunks(users, |chunk| {
        let sql = format!(
            "SELECT id, region FROM users WHERE id IN ({})",
            placeholders(0, chunk.len())
        );
        let values: Vec<Value> = chunk.iter().map(|u| Value::from(u.0)).collect();
        for row in conn.query(&sql, &values)? {
            let region = qiao_domain::identity::Region::parse(&row.text(1)?).map_err(|_| corrupt("region"))?;
            found.insert(UserId(row.int(0)?), region.currency());
        }
        Ok(())
    })?;
    Ok(found)
}

/// Takes the rates a payment will convert at, for each currency its
/// receivers hold other than its own: the confirmed quote's for its
/// currency, the operator's current ones for the rest. A currency without a
/// rate gets none: its receivers are credited in the payment's currency.
#[allow(clippy::too_many_arguments)]
fn snapshot_rates(
    tx: &mut Tx<'_>,
    id: PaymentId,
    sender: UserId,
    amount: Amount,
    receivers: &[UserId],
    pricing: Option<qiao_domain::fx::Pricing>,
    quote: Option<qiao_domain::ids::QuoteId>,
    now_ms: i64,
) -> StoreResult<()> {
    let Some(pricing) = pricing else {
        return if quote.is_some() {
            Err(Rejection::QuoteNotFound.into())
        } else {
            Ok(())
        };
    };
    let mut currencies: Vec<Currency> = currencies_of(tx.conn, receivers)?
        .into_values()
        .filter(|c| *c != amount.currency())
        .collect();
    currencies.sort();
    currencies.dedup();
    let taken = match quote {
        None => None,
        Some(q) => {
            let to = super::fx::quote(tx.conn, sender, q)?.to;
            let q = super::fx::take_quote(tx, sender, q, amount.currency(), to, None, now_ms)?;
            if q.debit_minor != amount.minor() || !currencies.contains(&q.to) {
                return Err(Rejection::QuoteNotFound.into());
            }
            Some(q)
        }
    };
    if currencies.is_empty() {
        return Ok(());
    }
    let rates: Vec<(Currency, Currency, i64)> = super::fx::rates(tx.conn)?
        .into_iter()
        .map(|r| (r.base, r.quote, r.rate_scaled))
        .collect();
    for currency in currencies {
        let (mid, quote_id) = match &taken {
            Some(q) if q.to == currency => (q.mid_scaled, Some(q.id.0)),
            _ => match qiao_domain::fx::mid_from(&rates, amount.currency(), currency) {
                Ok(rate) => (rate.scaled(), None),
                Err(Rejection::RateUnavailable) => continue,
                Err(e) => return Err(e.into()),
            },
        };
        tx.conn.execute(
            "INSERT INTO payment_fx (payment_id, to_currency, mid_scaled, spread_bps, fee_bps, quote_id) VALUES ($1, $2, $3, $4, $5, $6)",
            params![
                id.0,
                currency.code(),
                mid,
                i64::from(pricing.spread_bps),
                i64::from(pricing.fee_bps),
                quote_id
            ],
        )?;
    }
    Ok(())
}

/// What arrives for one receiver in their own currency.
#[derive(Debug, Clone, Copy)]
struct Converted {
    to: Currency,
    fee_minor: i64,
    credit: Amount,
}

/// How `amount` of `p` converts for a receiver holding `to`, at the rates
/// taken when it was sent; `None` when it arrives as it is (same currency,
/// no rate taken, or too little to arrive as one minor unit).
fn convert_share(
    conn: &mut dyn Conn,
    p: &PaymentRecord,
    to: Currency,
    amount_minor: i64,
) -> StoreResult<Option<Converted>> {
    if to == p.currency {
        return Ok(None);
    }
    let Some(row) = conn.query_opt(
        "SELECT mid_scaled, spread_bps, fee_bps, quote_id FROM payment_fx WHERE payment_id = $1 AND to_currency = $2",
        params![p.id.0, to.code()],
    )?
    else {
        return Ok(None);
    };
    if let Some(quote) = row.opt_int(3)? {
        let q = super::fx::quote(conn, p.sender_id, qiao_domain::ids::QuoteId(quote))?;
        return Ok(Some(Converted {
            to,
            fee_minor: q.fee_minor,
            credit: Amount::new(q.credit_minor, to)?,
        }));
    }
    let bps = |i: usize| -> StoreResult<u32> { u32::try_from(row.int(i)?).map_err(|_| corrupt("basis points")) };
    let pricing = qiao_domain::fx::Pricing::new(bps(1)?, bps(2)?)?;
    let mid = qiao_domain::fx::Rate::from_scaled(p.currency, to, row.int(0)?)?;
    match qiao_domain::fx::to_send(mid, Amount::new(amount_minor, p.currency)?, pricing) {
        Ok(c) => Ok(Some(Converted {
            to,
            fee_minor: c.fee_minor,
            credit: c.credit,
        })),
        Err(Rejection::InvalidAmount) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The conversion for a transfer's recipient, if they hold another currency.
fn conversion_for(tx: &mut Tx<'_>, p: &PaymentRecord, user: UserId) -> StoreResult<Option<Converted>> {
    let Some(to) = currencies_of(tx.conn, &[user])?.get(&user).copied() else {
        return Err(Rejection::UserNotFound.into());
    };
    convert_share(tx.conn, p, to, p.total_minor)
}

/// Which openers of a packet receive their share converted, and how.
fn converting_openers(
    tx: &mut Tx<'_>,
    p: &PaymentRecord,
    openers: &[(UserId, i64)],
) -> StoreResult<std::collections::HashMap<UserId, Converted>> {
    let mut out = std::collections::HashMap::new();
    let has_rates = tx
        .conn
        .query_opt(
            "SELECT 1 FROM payment_fx WHERE payment_id = $1 LIMIT 1",
            params![p.id.0],
        )?
        .is_some();
    if !has_rates {
        return Ok(out);
    }
    let users: Vec<UserId> = openers.iter().map(|(u, _)| *u).collect();
    let currencies = currencies_of(tx.conn, &users)?;
    for (user, share) in openers {
        let Some(to) = currencies.get(user).copied() else {
            continue;
        };
        if let Some(c) = convert_share(tx.conn, p, to, *share)? {
            out.insert(*user, c);
        }
    }
    Ok(out)
}

/// The rest of a conversion once the money is in the FX position of the
/// payment's currency: the fee to fee income, and the other currency out
/// of the FX position into the receiver's wallet.
fn arrive_converted(
    tx: &mut Tx<'_>,
    user: UserId,
    from: Currency,
    c: &Converted,
    (fee_key, fx_key): (LedgerKey, LedgerKey),
    memo: Memo,
    now_ms: i64,
) -> StoreResult<()> {
    if c.fee_minor > 0 {
        let fx_from = house(tx, AccountKind::FxPosition, from, now_ms)?;
        let fees = house(tx, AccountKind::FeeIncome, from, now_ms)?;
        move_money(
            tx,
            fee_key,
            fx_from,
            fees,
            Amount::new(c.fee_minor, from)?,
            memo.clone(),
            now_ms,
        )?;
    }
    let fx_to = house(tx, AccountKind::FxPosition, c.to, now_ms)?;
    let to = wallet(tx, user, c.to, now_ms)?;
    move_money(tx, fx_key, fx_to, to, c.credit, memo, now_ms)
}
