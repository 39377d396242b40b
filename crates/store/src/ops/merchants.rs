//! Merchants, their shops, staff and API keys.

use qiao_domain::ids::{ApiKeyId, CardId, MerchantId, ShopId, UserId};
use qiao_domain::merchant::Role;
use qiao_domain::money::Currency;
use qiao_domain::Error as Rejection;

use super::corrupt;
use crate::engine::{params, Conn, Row};
use crate::merchant_records::{ApiKeyRecord, MerchantRecord, MerchantUpdate, NewMerchant, ShopRecord, StaffRecord};
use crate::writer::Tx;
use crate::{StoreError, StoreResult};

const COLUMNS: &str = "id, owner_id, legal_name, display_name, country, city, mcc, currency, settlement_card_id, \
     notify_url, signing_secret, verified, created_at_ms";

fn from_row(row: &Row) -> StoreResult<MerchantRecord> {
    Ok(MerchantRecord {
        id: MerchantId(row.int(0)?),
        owner_id: UserId(row.int(1)?),
        legal_name: row.text(2)?,
        display_name: row.text(3)?,
        country: row.text(4)?,
        city: row.text(5)?,
        mcc: row.text(6)?,
        currency: Currency::parse(&row.text(7)?).map_err(|_| corrupt("currency"))?,
        settlement_card_id: CardId(row.int(8)?),
        notify_url: row.opt_text(9)?,
        signing_secret: row.text(10)?,
        verified: row.int(11)? != 0,
        created_at_ms: row.int(12)?,
    })
}

pub fn merchant(conn: &mut dyn Conn, id: MerchantId) -> StoreResult<MerchantRecord> {
    let sql = format!("SELECT {COLUMNS} FROM merchants WHERE id = $1");
    let row = conn
        .query_opt(&sql, params![id.0])?
        .ok_or(StoreError::Rejected(Rejection::MerchantNotFound))?;
    from_row(&row)
}

/// The card must be one of the owner's (checked here, in the writer, so a
/// card bound to someone else can never receive a merchant's payouts).
fn check_card(tx: &mut Tx<'_>, owner: UserId, card: CardId) -> StoreResult<()> {
    tx.conn
        .query_opt(
            "SELECT 1 FROM cards WHERE id = $1 AND user_id = $2",
            params![card.0, owner.0],
        )?
        .map(|_| ())
        .ok_or(StoreError::Rejected(Rejection::NotFound))
}

pub fn create(tx: &mut Tx<'_>, new: NewMerchant, now_ms: i64) -> StoreResult<MerchantRecord> {
    check_card(tx, new.owner, new.settlement_card)?;
    let sql = format!(
        "INSERT INTO merchants (owner_id, legal_name, display_name, country, city, mcc, currency, settlement_card_id,
             notify_url, signing_secret, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {COLUMNS}"
    );
    let row = tx.conn.query_one(
        &sql,
        params![
            new.owner.0,
            new.legal_name,
            new.display_name,
            new.country,
            new.city,
            new.mcc,
            new.currency.code(),
            new.settlement_card.0,
            new.notify_url,
            new.signing_secret,
            now_ms
        ],
    )?;
    let record = from_row(&row)?;
    tx.conn.execute(
        "INSERT INTO merchant_staff (merchant_id, user_id, role, added_at_ms) VALUES ($1, $2, $3, $4)",
        params![record.id.0, new.owner.0, Role::Owner.as_str(), now_ms],
    )?;
    Ok(record)
}

pub fn update(tx: &mut Tx<'_>, id: MerchantId, update: MerchantUpdate) -> StoreResult<MerchantRecord> {
    let current = merchant(tx.conn, id)?;
    if let Some(card) = update.settlement_card {
        check_card(tx, current.owner_id, card)?;
    }
    let notify_url = match update.notify_url {
        Some(url) => url,
        None => current.notify_url,
    };
    let sql = format!(
        "UPDATE merchants SET display_name = $2, city = $3, notify_url = $4, settlement_card_id = $5, signing_secret = $6
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row = tx.conn.query_one(
        &sql,
        params![
            id.0,
            update.display_name.unwrap_or(current.display_name),
            update.city.unwrap_or(current.city),
            notify_url,
            update.settlement_card.unwrap_or(current.settlement_card_id).0,
            update.signing_secret.unwrap_or(current.signing_secret)
        ],
    )?;
    from_row(&row)
}

pub fn set_verified(tx: &mut Tx<'_>, id: MerchantId, verified: bool) -> StoreResult<MerchantRecord> {
    let sql = format!("UPDATE merchants SET verified = $2 WHERE id = $1 RETURNING {COLUMNS}");
    let row = tx
        .conn
        .query_opt(&sql, params![id.0, i64::from(verified)])?
        .ok_or(StoreError::Rejected(Rejection::MerchantNotFound))?;
    from_row(&row)
}

/// The merchants `user` works at, with the role at each, oldest first.
pub fn merchants_of(conn: &mut dyn Conn, user: UserId) -> StoreResult<Vec<(MerchantRecord, Role)>> {
    let columns: Vec<String> = COLUMNS.split(", ").map(|c| format!("m.{c}")).collect();
    let sql = format!(
        "SELECT {}, s.role FROM merchants m JOIN merchant_staff s ON s.merchant_id = m.id WHERE s.user_id = $1 ORDER BY m.id",
        columns.join(", ")
    );
    conn.query(&sql, params![user.0])?
        .iter()
        .map(|row| {
            Ok((
                from_row(row)?,
                Role::parse(&row.text(13)?).ok_or_else(|| corrupt("role"))?,
            ))
        })
        .collect()
}

pub fn role(conn: &mut dyn Conn, merchant: MerchantId, user: UserId) -> StoreResult<Option<Role>> {
    conn.query_opt(
        "SELECT role FROM merchant_staff WHERE merchant_id = $1 AND user_id = $2",
        params![merchant.0, user.0],
    )?
    .map(|row| Role::parse(&row.text(0)?).ok_or_else(|| corrupt("role")))
    .transpose()
}

fn shop_from_row(row: &Row) -> StoreResult<ShopRecord> {
    Ok(ShopRecord {
        id: ShopId(row.int(0)?),
        merchant_id: MerchantId(row.int(1)?),
        name: row.text(2)?,
        created_at_ms: row.int(3)?,
    })
}

pub fn add_shop(tx: &mut Tx<'_>, merchant_id: MerchantId, name: &str, now_ms: i64) -> StoreResult<ShopRecord> {
    merchant(tx.conn, merchant_id)?;
    let row = tx.conn.query_one(
        "INSERT INTO merchant_shops (merchant_id, name, created_at_ms) VALUES ($1, $2, $3)
         RETURNING id, merchant_id, name, created_at_ms",
        params![merchant_id.0, name, now_ms],
    )?;
    shop_from_row(&row)
}

pub fn shops(conn: &mut dyn Conn, merchant: MerchantId) -> StoreResult<Vec<ShopRecord>> {
    conn.query(
        "SELECT id, merchant_id, name, created_at_ms FROM merchant_shops WHERE merchant_id = $1 ORDER BY id",
        params![merchant.0],
    )?
    .iter()
    .map(shop_from_row)
    .collect()
}

/// `NotFound` unless the shop is this merchant's.
pub fn check_shop(conn: &mut dyn Conn, merchant: MerchantId, shop: Option<ShopId>) -> StoreResult<()> {
    let Some(shop) = shop else { return Ok(()) };
    conn.query_opt(
        "SELECT 1 FROM merchant_shops WHERE id = $1 AND merchant_id = $2",
        params![shop.0, merchant.0],
    )?
    .map(|_| ())
    .ok_or(StoreError::Rejected(Rejection::NotFound))
}

fn staff_from_row(row: &Row) -> StoreResult<StaffRecord> {
    Ok(StaffRecord {
        merchant_id: MerchantId(row.int(0)?),
        user_id: UserId(row.int(1)?),
        role: Role::parse(&row.text(2)?).ok_or_else(|| corrupt("role"))?,
        shop_id: row.opt_int(3)?.map(ShopId),
        added_at_ms: row.int(4)?,
    })
}

/// Adds a cashier or moves one to another shop. The owner's role is not
/// changed here, and nobody is made an owner.
pub fn set_staff(
    tx: &mut Tx<'_>,
    merchant_id: MerchantId,
    user: UserId,
    shop: Option<ShopId>,
    now_ms: i64,
) -> StoreResult<StaffRecord> {
    let m = merchant(tx.conn, merchant_id)?;
    if m.owner_id == user {
        return Err(Rejection::InvalidRequest.into());
    }
    super::require_user(tx.conn, user)?;
    check_shop(tx.conn, merchant_id, shop)?;
    let row = tx.conn.query_one(
        "INSERT INTO merchant_staff (merchant_id, user_id, role, shop_id, added_at_ms) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (merchant_id, user_id) DO UPDATE SET shop_id = excluded.shop_id
         RETURNING merchant_id, user_id, role, shop_id, added_at_ms",
        params![merchant_id.0, user.0, Role::Cashier.as_str(), shop.map(|s| s.0), now_ms],
    )?;
    staff_from_row(&row)
}

pub fn remove_staff(tx: &mut Tx<'_>, merchant_id: MerchantId, user: UserId) -> StoreResult<()> {
    let removed = tx.conn.execute(
        "DELETE FROM merchant_staff WHERE merchant_id = $1 AND user_id = $2 AND role <> 'owner'",
        params![merchant_id.0, user.0],
    )?;
    if removed == 0 {
        return Err(Rejection::NotFound.into());
    }
    Ok(())
}

pub fn staff(conn: &mut dyn Conn, merchant: MerchantId) -> StoreResult<Vec<StaffRecord>> {
    conn.query(
        "SELECT merchant_id, user_id, role, shop_id, added_at_ms FROM merchant_staff WHERE merchant_id = $1
         ORDER BY added_at_ms, user_id",
        params![merchant.0],
    )?
    .iter()
    .map(staff_from_row)
    .collect()
}

const KEY_COLUMNS: &str = "id, merchant_id, prefix, label, created_at_ms, revoked_at_ms";

fn key_from_row(row: &Row) -> StoreResult<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: ApiKeyId(row.int(0)?),
        merchant_id: MerchantId(row.int(1)?),
        prefix: row.text(2)?,
        label: row.text(3)?,
        created_at_ms: row.int(4)?,
        revoked_at_ms: row.opt_int(5)?,
    })
}

pub fn create_key(
    tx: &mut Tx<'_>,
    merchant_id: MerchantId,
    key_hash: &str,
    prefix: &str,
    label: &str,
    now_ms: i64,
) -> StoreResult<ApiKeyRecord> {
    merchant(tx.conn, merchant_id)?;
    let sql = format!(
        "INSERT INTO merchant_api_keys (merchant_id, key_hash, prefix, label, created_at_ms) VALUES ($1, $2, $3, $4, $5)
         RETURNING {KEY_COLUMNS}"
    );
    key_from_row(
        &tx.conn
            .query_one(&sql, params![merchant_id.0, key_hash, prefix, label, now_ms])?,
    )
}

pub fn keys(conn: &mut dyn Conn, merchant: MerchantId) -> StoreResult<Vec<ApiKeyRecord>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM merchant_api_keys WHERE merchant_id = $1 ORDER BY id");
    conn.query(&sql, params![merchant.0])?
        .iter()
        .map(key_from_row)
        .collect()
}

/// Revokes one of the merchant's keys (again is fine); another merchant's is `NotFound`.
pub fn revoke_key(tx: &mut Tx<'_>, merchant: MerchantId, id: ApiKeyId, now_ms: i64) -> StoreResult<ApiKeyRecord> {
    let sql = format!(
        "UPDATE merchant_api_keys SET revoked_at_ms = COALESCE(revoked_at_ms, $3) WHERE id = $1 AND merchant_id = $2
         RETURNING {KEY_COLUMNS}"
    );
    let row = tx
        .conn
        .query_opt(&sql, params![id.0, merchant.0, now_ms])?
        .ok_or(StoreError::Rejected(Rejection::NotFound))?;
    key_from_row(&row)
}

/// A live (not revoked) key by its hash.
pub fn key_by_hash(conn: &mut dyn Conn, key_hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM merchant_api_keys WHERE key_hash = $1 AND revoked_at_ms IS NULL");
    conn.query_opt(&sql, params![key_hash])?
        .map(|r| key_from_row(&r))
        .transpose()
}

/// Merchants in id order after `after`, at most `limit` (for the payout sweep).
pub fn page(conn: &mut dyn Conn, after: Option<MerchantId>, limit: usize) -> StoreResult<Vec<MerchantRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM merchants WHERE id > $1 ORDER BY id LIMIT $2");
    conn.query(&sql, params![after.map_or(0, |m| m.0), limit as i64])?
        .iter()
        .map(from_row)
        .collect()
}
