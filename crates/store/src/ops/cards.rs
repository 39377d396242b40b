//! Cards bound to users (tokens from a bank connector, never numbers).

use qiao_domain::card::Funding;
use qiao_domain::ids::{CardId, UserId};
use qiao_domain::Error as Rejection;

use super::corrupt;
use crate::engine::{params, Conn, Row};
use crate::records::CardRecord;
use crate::writer::Tx;
use crate::{StoreError, StoreResult};

const COLUMNS: &str = "id, user_id, connector, token, last4, brand, funding, created_at_ms, fingerprint";

fn from_row(row: &Row) -> StoreResult<CardRecord> {
    Ok(CardRecord {
        id: CardId(row.int(0)?),
        user_id: UserId(row.int(1)?),
        connector: row.text(2)?,
        token: row.text(3)?,
        last4: row.text(4)?,
        brand: row.text(5)?,
        funding: Funding::parse(&row.text(6)?).map_err(|_| corrupt("card funding"))?,
        created_at_ms: row.int(7)?,
        fingerprint: row.opt_text(8)?,
    })
}

pub fn add_card(tx: &mut Tx<'_>, card: CardRecord) -> StoreResult<CardRecord> {
    let sql = format!(
        "INSERT INTO cards (user_id, connector, token, last4, brand, funding, created_at_ms, fingerprint)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    );
    let row = tx.conn.query_one(
        &sql,
        params![
            card.user_id.0,
            card.connector.as_str(),
            card.token.as_str(),
            card.last4.as_str(),
            card.brand.as_str(),
            card.funding.as_str(),
            card.created_at_ms,
            card.fingerprint.clone()
        ],
    )?;
    from_row(&row)
}

pub fn cards(conn: &mut dyn Conn, user: UserId) -> StoreResult<Vec<CardRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM cards WHERE user_id = $1 ORDER BY id");
    conn.query(&sql, params![user.0])?.iter().map(from_row).collect()
}

/// One of `user`'s cards; someone else's card is `NotFound`, like no card.
pub fn card(conn: &mut dyn Conn, user: UserId, id: CardId) -> StoreResult<CardRecord> {
    let sql = format!("SELECT {COLUMNS} FROM cards WHERE id = $1 AND user_id = $2");
    let row = conn
        .query_opt(&sql, params![id.0, user.0])?
        .ok_or(StoreError::Rejected(Rejection::NotFound))?;
    from_row(&row)
}
