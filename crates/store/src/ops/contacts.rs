//! Friend requests, friendships, remarks and blocks.

use std::sync::Arc;

use qiao_api::{FriendData, FriendRequest};
use qiao_domain::event::EventKind;
use qiao_domain::ids::{ConversationId, FriendRequestId, UserId};
use qiao_domain::Error as Rejection;

use super::conversations::{direct_conversation, invalidate_direct};
use super::require_user;
use crate::engine::{params, Conn, Row};
use crate::records::{ContactRecord, FriendRequestRecord, RequestStatus};
use crate::wire;
use crate::writer::{Audience, Tx};
use crate::{Friendship, StoreError, StoreResult};

pub fn are_friends(conn: &mut dyn Conn, a: UserId, b: UserId) -> StoreResult<bool> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM friendships WHERE user_id = $1 AND friend_id = $2",
            params![a.0, b.0],
        )?
        .is_some())
}

/// Whether either of the two has blocked the other.
pub fn blocked_between(conn: &mut dyn Conn, a: UserId, b: UserId) -> StoreResult<bool> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1)",
            params![a.0, b.0],
        )?
        .is_some())
}

const REQUEST_COLUMNS: &str = "id, from_id, to_id, greeting, status, created_at_ms";

fn request_from_row(conn: &mut dyn Conn, row: &Row) -> StoreResult<FriendRequestRecord> {
    Ok(FriendRequestRecord {
        id: FriendRequestId(row.int(0)?),
        from: require_user(conn, UserId(row.int(1)?))?,
        to: require_user(conn, UserId(row.int(2)?))?,
        greeting: row.text(3)?,
        status: RequestStatus::parse(&row.text(4)?),
        created_at_ms: row.int(5)?,
    })
}

fn request_by_id(conn: &mut dyn Conn, id: FriendRequestId) -> StoreResult<Option<FriendRequestRecord>> {
    let sql = format!("SELECT {REQUEST_COLUMNS} FROM friend_requests WHERE id = $1");
    match conn.query_opt(&sql, params![id.0])? {
        Some(row) => Ok(Some(request_from_row(conn, &row)?)),
        None => Ok(None),
    }
}

/// Appends an event for one user's devices only.
fn tell(
    tx: &mut Tx<'_>,
    kind: EventKind,
    user: UserId,
    conversation: Option<ConversationId>,
    data: String,
    now_ms: i64,
) -> StoreResult<()> {
    let recipients: Arc<[UserId]> = Arc::from(vec![user]);
    tx.emit(kind, Audience::User(user, conversation), None, data, recipients, now_ms)?;
    Ok(())
}

pub fn request_friend(
    tx: &mut Tx<'_>,
    from: UserId,
    to: UserId,
    greeting: &str,
    now_ms: i64,
) -> StoreResult<FriendRequestRecord> {
    if from == to {
        return Err(Rejection::CannotAddSelf.into());
    }
    require_user(tx.conn, to)?;
    if blocked_between(tx.conn, from, to)? {
        return Err(Rejection::Blocked.into());
    }
    if are_friends(tx.conn, from, to)? {
        return Err(Rejection::AlreadyFriends.into());
    }
    let pending = tx.conn.query_opt(
        "SELECT id FROM friend_requests WHERE from_id = $1 AND to_id = $2 AND status = 'pending'",
        params![from.0, to.0],
    )?;
    let id = match pending {
        // Asking again refreshes the greeting, as WeChat does, instead of piling up requests.
        Some(row) => {
            let id = row.int(0)?;
            tx.conn.execute(
                "UPDATE friend_requests SET greeting = $1, created_at_ms = $2 WHERE id = $3",
                params![greeting, now_ms, id],
            )?;
            id
        }
        None => tx
            .conn
            .query_one(
                "INSERT INTO friend_requests (from_id, to_id, greeting, status, created_at_ms)
                 VALUES ($1, $2, $3, 'pending', $4) RETURNING id",
                params![from.0, to.0, greeting, now_ms],
            )?
            .int(0)?,
    };
    let request = request_by_id(tx.conn, FriendRequestId(id))?.ok_or_else(|| super::corrupt("friend request"))?;
    let data = wire::to_json::<FriendRequest>(&wire::friend_request(&request));
    for user in [to, from] {
        tell(tx, EventKind::FriendRequest, user, None, data.clone(), now_ms)?;
    }
    Ok(request)
}

pub fn friend_requests(conn: &mut dyn Conn, user: UserId) -> StoreResult<Vec<FriendRequestRecord>> {
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM friend_requests WHERE to_id = $1 OR from_id = $1 ORDER BY created_at_ms DESC, id DESC LIMIT 200"
    );
    let rows = conn.query(&sql, params![user.0])?;
    rows.iter().map(|row| request_from_row(conn, row)).collect()
}

/// The pending request addressed to `user`, or why it can't be answered.
fn pending_for(conn: &mut dyn Conn, user: UserId, id: FriendRequestId) -> StoreResult<FriendRequestRecord> {
    let request = request_by_id(conn, id)?
        .filter(|r| r.to.id == user)
        .ok_or(StoreError::Rejected(Rejection::FriendRequestNotFound))?;
    if request.status != RequestStatus::Pending {
        return Err(Rejection::FriendRequestHandled.into());
    }
    Ok(request)
}

pub fn accept_friend(tx: &mut Tx<'_>, user: UserId, id: FriendRequestId, now_ms: i64) -> StoreResult<Friendship> {
    let mut request = pending_for(tx.conn, user, id)?;
    let (a, b) = (request.from.id, request.to.id);
    tx.conn.execute(
        "UPDATE friend_requests SET status = 'accepted' WHERE id = $1",
        params![id.0],
    )?;
    // A request the other way is answered by this acceptance too.
    tx.conn.execute(
        "UPDATE friend_requests SET status = 'accepted' WHERE from_id = $1 AND to_id = $2 AND status = 'pending'",
        params![b.0, a.0],
    )?;
    let conversation = direct_conversation(tx, a, b, now_ms)?;
    for (me, friend) in [(a, b), (b, a)] {
        tx.conn.execute(
            "INSERT INTO friendships (user_id, friend_id, remark, since_ms, conversation_id) VALUES ($1, $2, NULL, $3, $4)
             ON CONFLICT (user_id, friend_id) DO NOTHING",
            params![me.0, friend.0, now_ms, conversation.0],
        )?;
    }
    invalidate_direct(tx, conversation);
    for (me, friend) in [(a, b), (b, a)] {
        let data = wire::to_json(&FriendData {
            request_id: Some(id.0),
            user_id: friend.0,
            conversation_id: Some(conversation.0),
        });
        tell(tx, EventKind::FriendAccepted, me, Some(conversation), data, now_ms)?;
    }
    request.status = RequestStatus::Accepted;
    Ok(Friendship {
        request,
        conversation_id: conversation,
    })
}

pub fn decline_friend(tx: &mut Tx<'_>, user: UserId, id: FriendRequestId, now_ms: i64) -> StoreResult<()> {
    let request = pending_for(tx.conn, user, id)?;
    tx.conn.execute(
        "UPDATE friend_requests SET status = 'declined' WHERE id = $1",
        params![id.0],
    )?;
    // Only the decliner's own devices hear of it: WeChat does not tell the asker.
    let data = wire::to_json(&FriendData {
        request_id: Some(id.0),
        user_id: request.from.id.0,
        conversation_id: None,
    });
    tell(tx, EventKind::FriendDeclined, user, None, data, now_ms)?;
    Ok(())
}

fn contact_from_row(conn: &mut dyn Conn, row: &Row) -> StoreResult<ContactRecord> {
    Ok(ContactRecord {
        user: require_user(conn, UserId(row.int(0)?))?,
        remark: row.opt_text(1)?,
        conversation_id: ConversationId(row.int(2)?),
        since_ms: row.int(3)?,
    })
}

const CONTACT_COLUMNS: &str = "friend_id, remark, conversation_id, since_ms";

pub fn contacts(conn: &mut dyn Conn, user: UserId) -> StoreResult<Vec<ContactRecord>> {
    let sql = format!("SELECT {CONTACT_COLUMNS} FROM friendships WHERE user_id = $1 ORDER BY since_ms, friend_id");
    let rows = conn.query(&sql, params![user.0])?;
    rows.iter().map(|row| contact_from_row(conn, row)).collect()
}

pub fn contact(conn: &mut dyn Conn, user: UserId, friend: UserId) -> StoreResult<ContactRecord> {
    let sql = format!("SELECT {CONTACT_COLUMNS} FROM friendships WHERE user_id = $1 AND friend_id = $2");
    let row = conn
        .query_opt(&sql, params![user.0, friend.0])?
        .ok_or(StoreError::Rejected(Rejection::NotFriends))?;
    contact_from_row(conn, &row)
}

pub fn set_remark(tx: &mut Tx<'_>, user: UserId, friend: UserId, remark: Option<&str>) -> StoreResult<ContactRecord> {
    contact(tx.conn, user, friend)?;
    tx.conn.execute(
        "UPDATE friendships SET remark = $1 WHERE user_id = $2 AND friend_id = $3",
        params![remark, user.0, friend.0],
    )?;
    contact(tx.conn, user, friend)
}

pub fn delete_contact(tx: &mut Tx<'_>, user: UserId, friend: UserId, now_ms: i64) -> StoreResult<()> {
    let existing = contact(tx.conn, user, friend)?;
    tx.conn.execute(
        "DELETE FROM friendships WHERE (user_id = $1 AND friend_id = $2) OR (user_id = $2 AND friend_id = $1)",
        params![user.0, friend.0],
    )?;
    invalidate_direct(tx, existing.conversation_id);
    let data = wire::to_json(&FriendData {
        request_id: None,
        user_id: friend.0,
        conversation_id: None,
    });
    tell(tx, EventKind::FriendRemoved, user, None, data, now_ms)?;
    Ok(())
}

pub fn block(tx: &mut Tx<'_>, user: UserId, target: UserId, now_ms: i64) -> StoreResult<()> {
    if user == target {
        return Err(Rejection::CannotAddSelf.into());
    }
    require_user(tx.conn, target)?;
    tx.conn.execute(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at_ms) VALUES ($1, $2, $3)
         ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
        params![user.0, target.0, now_ms],
    )?;
    invalidate_pair(tx, user, target)
}

pub fn unblock(tx: &mut Tx<'_>, user: UserId, target: UserId) -> StoreResult<()> {
    tx.conn.execute(
        "DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2",
        params![user.0, target.0],
    )?;
    invalidate_pair(tx, user, target)
}

fn invalidate_pair(tx: &mut Tx<'_>, a: UserId, b: UserId) -> StoreResult<()> {
    let key = super::conversations::direct_key(a, b);
    if let Some(row) = tx.conn.query_opt(
        "SELECT id FROM conversations WHERE direct_key = $1",
        params![key.as_str()],
    )? {
        invalidate_direct(tx, ConversationId(row.int(0)?));
    }
    Ok(())
}

pub fn blocked(conn: &mut dyn Conn, user: UserId) -> StoreResult<Vec<UserId>> {
    conn.query(
        "SELECT blocked_id FROM blocks WHERE blocker_id = $1 ORDER BY created_at_ms",
        params![user.0],
    )?
    .iter()
    .map(|r| Ok(UserId(r.int(0)?)))
    .collect()
}
