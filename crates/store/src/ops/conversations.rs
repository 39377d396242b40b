//! Direct and group conversations, membership and group governance.

use std::collections::HashMap;
use std::sync::Arc;

use qiao_api::MembershipData;
use qiao_domain::conversation::{self as rules, Kind, Role};
use qiao_domain::event::EventKind;
use qiao_domain::ids::{ConversationId, UserId};
use qiao_domain::Error as Rejection;

use super::contacts::{are_friends, blocked_between};
use super::{corrupt, message_from_row, require_user, MESSAGE_COLUMNS};
use crate::engine::{params, Conn, LockKey};
use crate::records::{ConversationView, GroupUpdate, MemberRecord};
use crate::wire;
use crate::writer::{Audience, ConvState, Tx};
use crate::{StoreError, StoreResult};

/// The unique key of the direct conversation between two users.
pub fn direct_key(a: UserId, b: UserId) -> String {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    format!("{lo}:{hi}")
}

pub fn invalidate_direct(tx: &mut Tx<'_>, id: ConversationId) {
    tx.cache.conversations.remove(&id);
}

/// Loads (or returns the cached) state of a conversation for the writer.
pub fn state(tx: &mut Tx<'_>, id: ConversationId) -> StoreResult<ConvState> {
    if let Some(state) = tx.cache.conversations.get(&id) {
        return Ok(state.clone());
    }
    let row = tx
        .conn
        .query_opt("SELECT kind FROM conversations WHERE id = $1", params![id.0])?
        .ok_or(StoreError::Rejected(Rejection::ConversationNotFound))?;
    let kind = Kind::parse(&row.text(0)?).ok_or_else(|| corrupt("conversation kind"))?;
    let last_seq = tx
        .conn
        .query_one(
            "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation_id = $1",
            params![id.0],
        )?
        .int(0)?;
    let mut members = HashMap::new();
    for row in tx.conn.query(
        "SELECT user_id, role FROM members WHERE conversation_id = $1 AND left_pos IS NULL ORDER BY user_id",
        params![id.0],
    )? {
        let role = Role::parse(&row.text(1)?).ok_or_else(|| corrupt("role"))?;
        members.insert(UserId(row.int(0)?), role);
    }
    let mut recipients: Vec<UserId> = members.keys().copied().collect();
    recipients.sort();
    let state = ConvState {
        kind,
        last_seq,
        members: Arc::new(members),
        recipients: recipients.into(),
        direct_open: None,
    };
    tx.cache.conversations.insert(id, state.clone());
    Ok(state)
}

/// The caller's role, or `NotMember`.
fn role_of(state: &ConvState, user: UserId) -> StoreResult<Role> {
    state
        .members
        .get(&user)
        .copied()
        .ok_or(StoreError::Rejected(Rejection::NotMember))
}

/// A group's state and the caller's role in it: `NotMember` for outsiders,
/// `Forbidden` when the conversation is a direct one.
fn group_member(tx: &mut Tx<'_>, id: ConversationId, user: UserId) -> StoreResult<(ConvState, Role)> {
    let state = state(tx, id)?;
    let role = role_of(&state, user)?;
    if state.kind != Kind::Group {
        return Err(Rejection::Forbidden.into());
    }
    Ok((state, role))
}

/// Whether the two people of a direct conversation may message each other now.
pub fn direct_open(tx: &mut Tx<'_>, id: ConversationId, state: &ConvState) -> StoreResult<Result<(), Rejection>> {
    if let Some(known) = state.direct_open {
        return Ok(known);
    }
    let people: Vec<UserId> = state.members.keys().copied().collect();
    let verdict = match people.as_slice() {
        [a, b] => {
            if blocked_between(tx.conn, *a, *b)? {
                Err(Rejection::Blocked)
            } else if !are_friends(tx.conn, *a, *b)? || !are_friends(tx.conn, *b, *a)? {
                Err(Rejection::NotFriends)
            } else {
                Ok(())
            }
        }
        _ => Err(Rejection::NotFriends),
    };
    if let Some(cached) = tx.cache.conversations.get_mut(&id) {
        cached.direct_open = Some(verdict);
    }
    Ok(verdict)
}

fn add_member(tx: &mut Tx<'_>, id: ConversationId, user: UserId, role: Role, now_ms: i64) -> StoreResult<()> {
    tx.require(LockKey::Conversation(id))?;
    let pos = tx.join_point()?;
    let seq = tx
        .conn
        .query_one(
            "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation_id = $1",
            params![id.0],
        )?
        .int(0)?;
    tx.conn.execute(
        "INSERT INTO members (conversation_id, user_id, role, joined_at_ms, joined_pos, joined_seq, left_pos, last_read_seq, last_delivered_seq)
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $6, $6)
         ON CONFLICT (conversation_id, user_id) DO UPDATE SET role = excluded.role, joined_at_ms = excluded.joined_at_ms,
            joined_pos = excluded.joined_pos, joined_seq = excluded.joined_seq, left_pos = NULL,
            last_read_seq = excluded.last_read_seq, last_delivered_seq = excluded.last_delivered_seq",
        params![id.0, user.0, role.as_str(), now_ms, pos, seq],
    )?;
    tx.cache.conversations.remove(&id);
    Ok(())
}

/// The direct conversation of two users, created (with both as members) on first use.
pub fn direct_conversation(tx: &mut Tx<'_>, a: UserId, b: UserId, now_ms: i64) -> StoreResult<ConversationId> {
    let key = direct_key(a, b);
    if let Some(row) = tx.conn.query_opt(
        "SELECT id FROM conversations WHERE direct_key = $1",
        params![key.as_str()],
    )? {
        return Ok(ConversationId(row.int(0)?));
    }
    let id = ConversationId(
        tx.conn
            .query_one(
                "INSERT INTO conversations (kind, direct_key, name, created_at_ms) VALUES ('direct', $1, '', $2) RETURNING id",
                params![key, now_ms],
            )?
            .int(0)?,
    );
    add_member(tx, id, a, Role::Member, now_ms)?;
    add_member(tx, id, b, Role::Member, now_ms)?;
    let data = membership(id, a, vec![a.0, b.0]);
    tell_members(tx, id, EventKind::ConversationCreated, data, now_ms)?;
    Ok(id)
}

/// Appends an event for the conversation's current members.
fn tell_members(
    tx: &mut Tx<'_>,
    id: ConversationId,
    kind: EventKind,
    data: String,
    now_ms: i64,
) -> StoreResult<qiao_domain::ids::StreamPos> {
    let recipients = state(tx, id)?.recipients;
    tx.emit(kind, Audience::Conversation(id), None, data, recipients, now_ms)
}

fn membership(id: ConversationId, actor: UserId, user_ids: Vec<i64>) -> String {
    wire::to_json(&MembershipData {
        conversation_id: id.0,
        actor_id: actor.0,
        user_ids,
        role: None,
        name: None,
        announcement: None,
    })
}

pub fn open_direct(tx: &mut Tx<'_>, user: UserId, peer: UserId, now_ms: i64) -> StoreResult<ConversationId> {
    if user == peer {
        return Err(Rejection::CannotAddSelf.into());
    }
    require_user(tx.conn, peer)?;
    if !are_friends(tx.conn, user, peer)? {
        return Err(Rejection::NotFriends.into());
    }
    direct_conversation(tx, user, peer, now_ms)
}

fn require_friends_of(tx: &mut Tx<'_>, actor: UserId, users: &[UserId]) -> StoreResult<()> {
    for user in users {
        require_user(tx.conn, *user)?;
        if !are_friends(tx.conn, actor, *user)? {
            return Err(Rejection::NotFriends.into());
        }
    }
    Ok(())
}

pub fn create_group(
    tx: &mut Tx<'_>,
    owner: UserId,
    name: &str,
    members: &[UserId],
    now_ms: i64,
) -> StoreResult<ConversationId> {
    let mut others: Vec<UserId> = members.iter().copied().filter(|u| *u != owner).collect();
    others.sort();
    others.dedup();
    rules::may_invite(Role::Owner, 1, others.len())?;
    require_friends_of(tx, owner, &others)?;
    let id = ConversationId(
        tx.conn
            .query_one(
                "INSERT INTO conversations (kind, name, owner_id, created_at_ms) VALUES ('group', $1, $2, $3) RETURNING id",
                params![name, owner.0, now_ms],
            )?
            .int(0)?,
    );
    add_member(tx, id, owner, Role::Owner, now_ms)?;
    for user in &others {
        add_member(tx, id, *user, Role::Member, now_ms)?;
    }
    let st = state(tx, id)?;
    let mut data: MembershipData = MembershipData {
        conversation_id: id.0,
        actor_id: owner.0,
        user_ids: st.recipients.iter().map(|u| u.0).collect(),
        role: None,
        name: Some(name.to_owned()),
        announcement: None,
    };
    data.user_ids.sort();
    tell_members(tx, id, EventKind::ConversationCreated, wire::to_json(&data), now_ms)?;
    Ok(id)
}

pub fn update_group(
    tx: &mut Tx<'_>,
    actor: UserId,
    id: ConversationId,
    update: GroupUpdate,
    now_ms: i64,
) -> StoreResult<()> {
    let (_, role) = group_member(tx, id, actor)?;
    rules::may_edit_info(role)?;
    tx.require(LockKey::Conversation(id))?;
    if let Some(name) = &update.name {
        tx.conn
            .execute("UPDATE conversations SET name = $1 WHERE id = $2", params![name, id.0])?;
    }
    if let Some(announcement) = &update.announcement {
        let value = Some(announcement.as_str()).filter(|a| !a.is_empty());
        tx.conn.execute(
            "UPDATE conversations SET announcement = $1 WHERE id = $2",
            params![value, id.0],
        )?;
    }
    let data = wire::to_json(&MembershipData {
        conversation_id: id.0,
        actor_id: actor.0,
        user_ids: Vec::new(),
        role: None,
        name: update.name,
        announcement: update.announcement,
    });
    tell_members(tx, id, EventKind::ConversationUpdated, data, now_ms)?;
    Ok(())
}

pub fn invite(tx: &mut Tx<'_>, actor: UserId, id: ConversationId, users: &[UserId], now_ms: i64) -> StoreResult<()> {
    let (st, role) = group_member(tx, id, actor)?;
    let mut users = users.to_vec();
    users.sort();
    users.dedup();
    if users.iter().any(|u| st.members.contains_key(u)) {
        return Err(Rejection::AlreadyMember.into());
    }
    rules::may_invite(role, st.members.len(), users.len())?;
    require_friends_of(tx, actor, &users)?;
    for user in &users {
        add_member(tx, id, *user, Role::Member, now_ms)?;
    }
    let data = membership(id, actor, users.iter().map(|u| u.0).collect());
    tell_members(tx, id, EventKind::MemberJoined, data, now_ms)?;
    Ok(())
}

/// Emits the departure while the leaver is still a member (so they see it),
/// then closes their membership at that event.
fn depart(
    tx: &mut Tx<'_>,
    id: ConversationId,
    actor: UserId,
    user: UserId,
    kind: EventKind,
    now_ms: i64,
) -> StoreResult<()> {
    tx.require(LockKey::Conversation(id))?;
    let pos = tell_members(tx, id, kind, membership(id, actor, vec![user.0]), now_ms)?;
    tx.conn.execute(
        "UPDATE members SET left_pos = $1 WHERE conversation_id = $2 AND user_id = $3",
        params![pos.0, id.0, user.0],
    )?;
    tx.cache.conversations.remove(&id);
    Ok(())
}

pub fn remove_member(
    tx: &mut Tx<'_>,
    actor: UserId,
    id: ConversationId,
    target: UserId,
    now_ms: i64,
) -> StoreResult<()> {
    if actor == target {
        return leave(tx, actor, id, now_ms);
    }
    let (st, role) = group_member(tx, id, actor)?;
    let target_role = role_of(&st, target)?;
    rules::may_remove(role, target_role)?;
    depart(tx, id, actor, target, EventKind::MemberRemoved, now_ms)
}

pub fn leave(tx: &mut Tx<'_>, user: UserId, id: ConversationId, now_ms: i64) -> StoreResult<()> {
    let (st, role) = group_member(tx, id, user)?;
    rules::may_leave(role, st.members.len())?;
    depart(tx, id, user, user, EventKind::MemberLeft, now_ms)
}

fn set_member_role(tx: &mut Tx<'_>, id: ConversationId, user: UserId, role: Role) -> StoreResult<()> {
    tx.require(LockKey::Conversation(id))?;
    tx.conn.execute(
        "UPDATE members SET role = $1 WHERE conversation_id = $2 AND user_id = $3",
        params![role.as_str(), id.0, user.0],
    )?;
    tx.cache.conversations.remove(&id);
    Ok(())
}

fn role_changed(
    tx: &mut Tx<'_>,
    id: ConversationId,
    actor: UserId,
    user: UserId,
    role: Role,
    now_ms: i64,
) -> StoreResult<()> {
    let data = wire::to_json(&MembershipData {
        conversation_id: id.0,
        actor_id: actor.0,
        user_ids: vec![user.0],
        role: Some(role.as_str().to_owned()),
        name: None,
        announcement: None,
    });
    tell_members(tx, id, EventKind::MemberRoleChanged, data, now_ms)?;
    Ok(())
}

pub fn transfer_owner(tx: &mut Tx<'_>, actor: UserId, id: ConversationId, to: UserId, now_ms: i64) -> StoreResult<()> {
    let (st, role) = group_member(tx, id, actor)?;
    rules::may_manage_roles(role)?;
    role_of(&st, to)?;
    if to == actor {
        return Err(Rejection::InvalidRequest.into());
    }
    set_member_role(tx, id, actor, Role::Member)?;
    set_member_role(tx, id, to, Role::Owner)?;
    tx.conn.execute(
        "UPDATE conversations SET owner_id = $1 WHERE id = $2",
        params![to.0, id.0],
    )?;
    role_changed(tx, id, actor, actor, Role::Member, now_ms)?;
    role_changed(tx, id, actor, to, Role::Owner, now_ms)
}

pub fn set_role(
    tx: &mut Tx<'_>,
    actor: UserId,
    id: ConversationId,
    target: UserId,
    role: Role,
    now_ms: i64,
) -> StoreResult<()> {
    let (st, actor_role) = group_member(tx, id, actor)?;
    rules::may_manage_roles(actor_role)?;
    if role == Role::Owner || role_of(&st, target)? == Role::Owner {
        return Err(Rejection::InvalidRequest.into());
    }
    set_member_role(tx, id, target, role)?;
    role_changed(tx, id, actor, target, role, now_ms)
}

// ----- reads -----

/// The member row of a current member, or `NotMember`.
pub fn membership_row(conn: &mut dyn Conn, user: UserId, id: ConversationId) -> StoreResult<(i64, i64)> {
    if conn
        .query_opt("SELECT 1 FROM conversations WHERE id = $1", params![id.0])?
        .is_none()
    {
        return Err(Rejection::ConversationNotFound.into());
    }
    let row = conn
        .query_opt(
            "SELECT joined_seq, last_read_seq FROM members WHERE conversation_id = $1 AND user_id = $2 AND left_pos IS NULL",
            params![id.0, user.0],
        )?
        .ok_or(StoreError::Rejected(Rejection::NotMember))?;
    Ok((row.int(0)?, row.int(1)?))
}

fn view(conn: &mut dyn Conn, user: UserId, id: ConversationId) -> StoreResult<ConversationView> {
    let (joined_seq, last_read) = membership_row(conn, user, id)?;
    let row = conn.query_one(
        "SELECT kind, name, announcement, owner_id, created_at_ms FROM conversations WHERE id = $1",
        params![id.0],
    )?;
    let kind = Kind::parse(&row.text(0)?).ok_or_else(|| corrupt("conversation kind"))?;
    let last_seq = conn
        .query_one(
            "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation_id = $1",
            params![id.0],
        )?
        .int(0)?;
    let unread = conn
        .query_one(
            "SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND seq > $2 AND sender_id <> $3 AND recalled = 0",
            params![id.0, last_read.max(joined_seq), user.0],
        )?
        .int(0)?;
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq DESC LIMIT 1"
    );
    let last_message = conn
        .query_opt(&sql, params![id.0, joined_seq])?
        .map(|r| message_from_row(&r))
        .transpose()?;
    let member_count = conn
        .query_one(
            "SELECT COUNT(*) FROM members WHERE conversation_id = $1 AND left_pos IS NULL",
            params![id.0],
        )?
        .int(0)?;
    let (peer, peer_remark) = if kind == Kind::Direct {
        let other = conn.query_opt(
            "SELECT user_id FROM members WHERE conversation_id = $1 AND user_id <> $2",
            params![id.0, user.0],
        )?;
        match other {
            Some(other) => {
                let peer = require_user(conn, UserId(other.int(0)?))?;
                let remark = conn
                    .query_opt(
                        "SELECT remark FROM friendships WHERE user_id = $1 AND friend_id = $2",
                        params![user.0, peer.id.0],
                    )?
                    .map(|r| r.opt_text(0))
                    .transpose()?
                    .flatten();
                (Some(peer), remark)
            }
            None => (None, None),
        }
    } else {
        (None, None)
    };
    Ok(ConversationView {
        id,
        kind,
        name: row.text(1)?,
        announcement: row.opt_text(2)?,
        owner_id: row.opt_int(3)?.map(UserId),
        peer,
        peer_remark,
        last_seq,
        unread,
        last_message,
        member_count,
        created_at_ms: row.int(4)?,
    })
}

pub fn conversations(conn: &mut dyn Conn, user: UserId) -> StoreResult<Vec<ConversationView>> {
    let ids = conn.query(
        "SELECT conversation_id FROM members WHERE user_id = $1 AND left_pos IS NULL",
        params![user.0],
    )?;
    let mut views = ids
        .iter()
        .map(|r| view(conn, user, ConversationId(r.int(0)?)))
        .collect::<StoreResult<Vec<_>>>()?;
    let activity = |v: &ConversationView| v.last_message.as_ref().map_or(v.created_at_ms, |m| m.sent_at_ms);
    views.sort_by(|a, b| activity(b).cmp(&activity(a)).then(b.id.cmp(&a.id)));
    Ok(views)
}

pub fn conversation(
    conn: &mut dyn Conn,
    user: UserId,
    id: ConversationId,
) -> StoreResult<(ConversationView, Vec<MemberRecord>)> {
    let view = view(conn, user, id)?;
    let rows = conn.query(
        "SELECT user_id, role, joined_at_ms, last_read_seq, last_delivered_seq FROM members
         WHERE conversation_id = $1 AND left_pos IS NULL ORDER BY joined_at_ms, user_id",
        params![id.0],
    )?;
    let members = rows
        .iter()
        .map(|r| {
            Ok(MemberRecord {
                user: require_user(conn, UserId(r.int(0)?))?,
                role: Role::parse(&r.text(1)?).ok_or_else(|| corrupt("role"))?,
                joined_at_ms: r.int(2)?,
                last_read_seq: r.int(3)?,
                last_delivered_seq: r.int(4)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok((view, members))
}
