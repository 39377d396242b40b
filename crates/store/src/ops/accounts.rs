//! Users, profiles and sessions.

use std::sync::Arc;

use qiao_domain::event::EventKind;
use qiao_domain::ids::{SessionId, UserId};
use qiao_domain::verification::IdentifierKind;
use qiao_domain::Error as Rejection;

use super::{require_user, user_from_row, USER_COLUMNS};
use crate::engine::{params, placeholders, Conn, Row, Value};
use crate::records::{NewUser, ProfileUpdate, SessionRecord, UserLookup, UserRecord};
use crate::wire;
use crate::writer::{Audience, Tx};
use crate::{StoreError, StoreResult};

pub fn create_user(tx: &mut Tx<'_>, new: NewUser) -> StoreResult<UserRecord> {
    if let Some(phone) = &new.phone {
        if tx
            .conn
            .query_opt("SELECT id FROM users WHERE phone = $1", params![phone])?
            .is_some()
        {
            return Err(Rejection::PhoneTaken.into());
        }
    }
    if let Some(email) = &new.email {
        if tx
            .conn
            .query_opt("SELECT id FROM users WHERE email = $1", params![email])?
            .is_some()
        {
            return Err(Rejection::EmailTaken.into());
        }
    }
    // The phone and email are claims until proven with a code; they don't
    // count for sign-in, search or discovery before.
    let row = tx.conn.query_one(
        "INSERT INTO users (password_hash, display_name, region, language, created_at_ms)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        params![
            new.password_hash.as_str(),
            new.display_name.as_str(),
            new.region.code(),
            new.language.code(),
            new.now_ms
        ],
    )?;
    let id = UserId(row.int(0)?);
    if let Some(phone) = &new.phone {
        super::identity::claim(tx, id, IdentifierKind::Phone, phone)?;
    }
    if let Some(email) = &new.email {
        super::identity::claim(tx, id, IdentifierKind::Email, email)?;
    }
    require_user(tx.conn, id)
}

pub fn users(conn: &mut dyn Conn, ids: &[UserId]) -> StoreResult<Vec<UserRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id IN ({}) ORDER BY id",
        placeholders(0, ids.len())
    );
    let values: Vec<Value> = ids.iter().map(|id| Value::from(id.0)).collect();
    conn.query(&sql, &values)?.iter().map(user_from_row).collect()
}

pub fn find_user(conn: &mut dyn Conn, lookup: &UserLookup) -> StoreResult<Option<UserRecord>> {
    let (column, value) = match lookup {
        UserLookup::Phone(v) => ("phone", v),
        UserLookup::Email(v) => ("email", v),
        UserLookup::QiaoId(v) => ("qiao_id", v),
    };
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {column} = $1");
    conn.query_opt(&sql, params![value])?
        .map(|r| user_from_row(&r))
        .transpose()
}

pub fn update_profile(tx: &mut Tx<'_>, id: UserId, update: ProfileUpdate) -> StoreResult<UserRecord> {
    require_user(tx.conn, id)?;
    if let Some(name) = update.display_name {
        tx.conn
            .execute("UPDATE users SET display_name = $1 WHERE id = $2", params![name, id.0])?;
    }
    if let Some(avatar) = update.avatar {
        tx.conn
            .execute("UPDATE users SET avatar = $1 WHERE id = $2", params![avatar, id.0])?;
    }
    if let Some(language) = update.language {
        tx.conn.execute(
            "UPDATE users SET language = $1 WHERE id = $2",
            params![language.code(), id.0],
        )?;
    }
    require_user(tx.conn, id)
}

pub fn set_qiao_id(tx: &mut Tx<'_>, id: UserId, qiao_id: &str) -> StoreResult<UserRecord> {
    let user = require_user(tx.conn, id)?;
    if user.qiao_id.is_some() {
        return Err(Rejection::QiaoIdAlreadySet.into());
    }
    if tx
        .conn
        .query_opt("SELECT id FROM users WHERE qiao_id = $1", params![qiao_id])?
        .is_some()
    {
        return Err(Rejection::QiaoIdTaken.into());
    }
    tx.conn
        .execute("UPDATE users SET qiao_id = $1 WHERE id = $2", params![qiao_id, id.0])?;
    require_user(tx.conn, id)
}

pub fn discover(conn: &mut dyn Conn, hashes: &[String]) -> StoreResult<Vec<(String, UserRecord)>> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {USER_COLUMNS}, phone_hash FROM users WHERE phone_hash IN ({}) ORDER BY id",
        placeholders(0, hashes.len())
    );
    let values: Vec<Value> = hashes.iter().map(Value::from).collect();
    conn.query(&sql, &values)?
        .iter()
        .map(|r| Ok((r.text(10)?, user_from_row(r)?)))
        .collect()
}

fn session_from_row(row: &Row) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        id: SessionId(row.int(0)?),
        user_id: UserId(row.int(1)?),
        device_name: row.text(2)?,
        created_at_ms: row.int(3)?,
        last_seen_at_ms: row.int(4)?,
    })
}

const SESSION_COLUMNS: &str = "id, user_id, device_name, created_at_ms, last_seen_at_ms";

fn session_event(tx: &mut Tx<'_>, kind: EventKind, session: &SessionRecord, now_ms: i64) -> StoreResult<()> {
    let data = wire::to_json(&wire::session(session, false));
    tx.emit(
        kind,
        Audience::User(session.user_id, None),
        None,
        data,
        Arc::from(vec![session.user_id]),
        now_ms,
    )
    .map(|_| ())
}

/// Starts a session; the account's other devices hear of it (`session.new`).
pub fn create_session(
    tx: &mut Tx<'_>,
    user: UserId,
    token_hash: &str,
    device: &str,
    now_ms: i64,
) -> StoreResult<SessionRecord> {
    let sql = format!(
        "INSERT INTO sessions (user_id, token_hash, device_name, created_at_ms, last_seen_at_ms)
         VALUES ($1, $2, $3, $4, $4) RETURNING {SESSION_COLUMNS}"
    );
    let session = session_from_row(&tx.conn.query_one(&sql, params![user.0, token_hash, device, now_ms])?)?;
    session_event(tx, EventKind::SessionNew, &session, now_ms)?;
    Ok(session)
}

pub fn session_by_token(conn: &mut dyn Conn, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1");
    conn.query_opt(&sql, params![token_hash])?
        .map(|r| session_from_row(&r))
        .transpose()
}

pub fn touch_session(tx: &mut Tx<'_>, id: SessionId, now_ms: i64) -> StoreResult<()> {
    tx.conn.execute(
        "UPDATE sessions SET last_seen_at_ms = $1 WHERE id = $2 AND last_seen_at_ms < $1",
        params![now_ms, id.0],
    )?;
    Ok(())
}

pub fn sessions(conn: &mut dyn Conn, user: UserId) -> StoreResult<Vec<SessionRecord>> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 ORDER BY id");
    conn.query(&sql, params![user.0])?
        .iter()
        .map(session_from_row)
        .collect()
}

/// Ends one of `user`'s sessions (`session.ended` to the account's devices).
pub fn revoke_session(tx: &mut Tx<'_>, user: UserId, id: SessionId, now_ms: i64) -> StoreResult<()> {
    let sql = format!("DELETE FROM sessions WHERE id = $1 AND user_id = $2 RETURNING {SESSION_COLUMNS}");
    let Some(row) = tx.conn.query_opt(&sql, params![id.0, user.0])? else {
        return Err(StoreError::Rejected(Rejection::NotFound));
    };
    let session = session_from_row(&row)?;
    session_event(tx, EventKind::SessionEnded, &session, now_ms)
}

/// Sessions last seen before `$1`.
pub const IDLE_SESSIONS: super::Sweep = super::Sweep {
    table: "sessions",
    due: "last_seen_at_ms < $1",
};

/// Ends every session last seen before `before_ms`; returns them.
pub fn expire_sessions(tx: &mut Tx<'_>, before_ms: i64, now_ms: i64) -> StoreResult<Vec<SessionRecord>> {
    let sql = format!(
        "DELETE FROM {} WHERE {} RETURNING {SESSION_COLUMNS}",
        IDLE_SESSIONS.table, IDLE_SESSIONS.due
    );
    let ended: Vec<SessionRecord> = tx
        .conn
        .query(&sql, params![before_ms])?
        .iter()
        .map(session_from_row)
        .collect::<StoreResult<_>>()?;
    for session in &ended {
        session_event(tx, EventKind::SessionEnded, session, now_ms)?;
    }
    Ok(ended)
}
