//! The narrow interface the store's operations are written against, so that
//! each operation exists once and runs on SQLite and PostgreSQL alike.
//!
//! SQL is written in the common dialect of both engines with `$1, $2 …`
//! placeholders; the SQLite backend rewrites them to `?1, ?2 …`.

use qiao_domain::ids::{ConversationId, MerchantId, UserId};
use qiao_domain::ledger::{Owner, Shard};

use crate::{StoreError, StoreResult};

/// A parameter. Nulls are typed because PostgreSQL checks parameter types.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_owned()))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v)
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Value::Text(v.map(str::to_owned))
    }
}

/// A cell read back from either engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

/// One result row.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Cell>);

impl Row {
    fn cell(&self, i: usize) -> StoreResult<&Cell> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Backend(format!("no column {i}")))
    }

    pub fn int(&self, i: usize) -> StoreResult<i64> {
        self.opt_int(i)?
            .ok_or_else(|| StoreError::Backend(format!("column {i} is null")))
    }

    pub fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            Cell::Int(v) => Ok(Some(*v)),
            Cell::Text(t) => Err(StoreError::Backend(format!("column {i} is text {t:?}, not integer"))),
        }
    }

    pub fn text(&self, i: usize) -> StoreResult<String> {
        self.opt_text(i)?
            .ok_or_else(|| StoreError::Backend(format!("column {i} is null")))
    }

    pub fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            Cell::Text(v) => Ok(Some(v.clone())),
            Cell::Int(v) => Err(StoreError::Backend(format!("column {i} is integer {v}, not text"))),
        }
    }
}

/// Which engine a connection talks to, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A connection of either engine. Not `Sync`: one thread uses it at a time.
pub trait Conn: Send {
    fn dialect(&self) -> Dialect;
    fn query(&mut self, sql: &str, params: &[Value]) -> StoreResult<Vec<Row>>;
    fn execute(&mut self, sql: &str, params: &[Value]) -> StoreResult<u64>;
    /// Runs statements without parameters (transaction control, DDL).
    fn batch(&mut self, sql: &str) -> StoreResult<()>;

    /// Whether the connection is known to be dead (PostgreSQL's client saw
    /// it close). An embedded SQLite file never is.
    fn is_broken(&self) -> bool {
        false
    }

    /// Starts the writer's transaction with the locks its batch needs (see
    /// [`WriteLocks`]). SQLite has one writing process, so its own write
    /// lock is all there is.
    fn begin_write(&mut self, locks: &WriteLocks) -> StoreResult<()> {
        match self.dialect() {
            Dialect::Sqlite => self.batch("BEGIN IMMEDIATE"),
            Dialect::Postgres => self.batch(&locks.begin_sql()),
        }
    }

    fn query_opt(&mut self, sql: &str, params: &[Value]) -> StoreResult<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    fn query_one(&mut self, sql: &str, params: &[Value]) -> StoreResult<Row> {
        self.query_opt(sql, params)?
            .ok_or_else(|| StoreError::Backend(format!("no row: {sql}")))
    }
}

/// The cluster-wide writer lock (PostgreSQL advisory lock key). Held
/// exclusively by batches that may touch anything, shared by batches of
/// operations that name what they write ([`LockKey`]).
const WRITER_LOCK: i64 = 7183;

/// What an operation of a shared batch may write, as a PostgreSQL advisory
/// lock (two-key form: a class, and the id's low 31 bits; two ids that share
/// them share a lock, and serialize, which is safe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockKey {
    /// A conversation's messages, receipts and chat payments.
    Conversation(ConversationId),
    /// A user's ledger accounts (wallets, pay-later line), daily totals, FX
    /// quotes and PIN.
    User(UserId),
    /// One chat escrow account per currency.
    Escrow(Shard),
    /// A merchant's settlement accounts, orders and refunds.
    Merchant(MerchantId),
    /// One clearing account per connector and currency.
    Clearing(Shard),
    /// The house's FX positions and fee income (not sharded: fee income
    /// has a floor, and conversions are rare next to payments).
    House,
    /// The delivery state of merchant notifications (leases, attempts,
    /// resends); a new notification is an INSERT that needs no lock.
    Outbox,
}

impl LockKey {
    fn advisory(self) -> (i32, i32) {
        let low = |id: i64| (id & 0x7fff_ffff) as i32;
        match self {
            LockKey::Conversation(c) => (7184, low(c.0)),
            LockKey::User(u) => (7185, low(u.0)),
            LockKey::Escrow(shard) => (7186, i32::from(shard.get())),
            LockKey::Merchant(m) => (7187, low(m.0)),
            LockKey::Clearing(shard) => (7188, i32::from(shard.get())),
            LockKey::House => (7189, 0),
            LockKey::Outbox => (7190, 0),
        }
    }

    /// The lock that guards a ledger account of `owner`.
    pub fn of_owner(owner: &Owner) -> LockKey {
        match owner {
            Owner::User(user) => LockKey::User(*user),
            Owner::ChatEscrow(shard) => LockKey::Escrow(*shard),
            Owner::Merchant(merchant) => LockKey::Merchant(*merchant),
            Owner::Connector { shard, .. } => LockKey::Clearing(*shard),
            Owner::House => LockKey::House,
        }
    }
}

/// The PostgreSQL locks a writer batch takes before its first statement.
/// Taken in one order by every node (the writer lock, then the others in
/// ascending order), so batches never wait on each other in a cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteLocks {
    /// The writer lock alone: no other batch on any node runs meanwhile.
    Exclusive,
    /// The writer lock shared, and these exclusively: batches that name
    /// other conversations, users and escrow shards commit in parallel on
    /// other nodes.
    Shared(Vec<LockKey>),
}

impl WriteLocks {
    fn begin_sql(&self) -> String {
        match self {
            WriteLocks::Exclusive => format!("BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})"),
            WriteLocks::Shared(keys) => {
                let mut keys: Vec<(i32, i32)> = keys.iter().map(|k| k.advisory()).collect();
                keys.sort_unstable();
                keys.dedup();
                let mut sql = format!("BEGIN; SELECT pg_advisory_xact_lock_shared({WRITER_LOCK});");
                for (class, key) in keys {
                    sql.push_str(&format!(" SELECT pg_advisory_xact_lock({class}, {key});"));
                }
                sql
            }
        }
    }
}

/// SQL for the first stream position a reader may not see yet: on
/// PostgreSQL, that of the oldest transaction still running (see migration
/// 8); SQLite commits one transaction at a time, so it can see everything.
pub fn visible_below(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "9223372036854775807",
        Dialect::Postgres => "qiao_visible_below()",
    }
}

/// `$1, $2, …` for `n` parameters starting after `offset`, for `IN (…)` lists.
pub fn placeholders(offset: usize, n: usize) -> String {
    (offset + 1..=offset + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Builds a parameter list: `params![a, b, c]`.
macro_rules! params {
    ($($v:expr),* $(,)?) => { &[$($crate::engine::Value::from($v)),*] };
}
pub(crate) use params;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every node takes its locks in ascending order, once each, after the
    /// shared writer lock: two batches can then never wait on each other in
    /// a cycle.
    #[test]
    fn shared_locks_are_taken_in_one_order() {
        let shard = Shard::new(5).expect("a shard below SHARDS");
        let sql = WriteLocks::Shared(vec![
            LockKey::Escrow(shard),
            LockKey::User(UserId(4)),
            LockKey::Conversation(ConversationId(9)),
            LockKey::Conversation(ConversationId(3)),
            LockKey::Conversation(ConversationId(9)),
            LockKey::Conversation(ConversationId((1 << 31) + 3)),
            LockKey::User(UserId(2)),
        ])
        .begin_sql();
        assert_eq!(
            sql,
            "BEGIN; SELECT pg_advisory_xact_lock_shared(7183); \
             SELECT pg_advisory_xact_lock(7184, 3); SELECT pg_advisory_xact_lock(7184, 9); \
             SELECT pg_advisory_xact_lock(7185, 2); SELECT pg_advisory_xact_lock(7185, 4); \
             SELECT pg_advisory_xact_lock(7186, 5);"
        );
        assert_eq!(
            WriteLocks::Exclusive.begin_sql(),
            "BEGIN; SELECT pg_advisory_xact_lock(7183)"
        );
    }
}
