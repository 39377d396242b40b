//! Reading the event stream: what a user's device missed since a cursor.

use qiao_domain::event::EventKind;
use qiao_domain::ids::{ConversationId, StreamPos, UserId};

use super::corrupt;
use crate::engine::{params, visible_below, Conn};
use crate::records::EventRecord;
use crate::StoreResult;

/// Events for `user` after `since`: those of conversations while they were a
/// member (between joining and leaving) and those addressed to them alone,
/// in stream order and only below the first position still in flight.
pub fn events_since(
    conn: &mut dyn Conn,
    user: UserId,
    since: StreamPos,
    limit: usize,
) -> StoreResult<Vec<EventRecord>> {
    // One statement, so the bound and the rows come from one snapshot.
    let below = visible_below(conn.dialect());
    let sql = format!(
        "SELECT pos, kind, conversation_id, at_ms, data FROM (
             SELECT e.pos, e.kind, e.conversation_id, e.at_ms, e.data
               FROM members m JOIN events e ON e.conversation_id = m.conversation_id AND e.user_id IS NULL
              WHERE m.user_id = $1 AND e.pos > $2 AND e.pos > m.joined_pos
                AND (m.left_pos IS NULL OR e.pos <= m.left_pos) AND e.pos < {below}
             UNION ALL
             SELECT pos, kind, conversation_id, at_ms, data FROM events WHERE user_id = $1 AND pos > $2 AND pos < {below}
         ) visible ORDER BY pos LIMIT $3"
    );
    let rows = conn.query(&sql, params![user.0, since.0, limit as i64])?;
    rows.iter()
        .map(|r| {
            Ok(EventRecord {
                pos: StreamPos(r.int(0)?),
                kind: EventKind::parse(&r.text(1)?).ok_or_else(|| corrupt("event kind"))?,
                conversation_id: r.opt_int(2)?.map(ConversationId),
                at_ms: r.int(3)?,
                data: r.text(4)?,
            })
        })
        .collect()
}
