//! The PostgreSQL backend, for running several Qiao nodes on one database.
//! Uses the synchronous `postgres` client on dedicated threads, like SQLite.

use std::collections::HashMap;

use ::postgres::types::{ToSql, Type};
use ::postgres::{Client, NoTls, Statement};

use crate::engine::{Cell, Conn, Dialect, Row, Value};
use crate::{StoreError, StoreResult};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres_0001_chat.sql")),
    (2, include_str!("../migrations/postgres_0002_ledger.sql")),
    (3, include_str!("../migrations/postgres_0003_cards.sql")),
    (4, include_str!("../migrations/postgres_0004_payments.sql")),
    (5, include_str!("../migrations/postgres_0005_money_core.sql")),
    (6, include_str!("../migrations/postgres_0006_identity.sql")),
    (7, include_str!("../migrations/postgres_0007_merchants.sql")),
];

pub struct PgConn {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl PgConn {
    pub fn connect(url: &str) -> StoreResult<Self> {
        let client = Client::connect(url, NoTls)?;
        Ok(Self {
            client,
            statements: HashMap::new(),
        })
    }

    /// Applies missing migrations under an advisory lock, so nodes starting
    /// together do not race.
    pub fn migrate(&mut self) -> StoreResult<()> {
        self.client.batch_execute(
            "SELECT pg_advisory_lock(7182);
             CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at_ms BIGINT NOT NULL);",
        )?;
        let result = self.apply_migrations();
        self.client.batch_execute("SELECT pg_advisory_unlock(7182)")?;
        result
    }

    fn apply_migrations(&mut self) -> StoreResult<()> {
        for (version, sql) in MIGRATIONS {
            let done = self
                .client
                .query_opt("SELECT version FROM schema_migrations WHERE version = $1", &[version])?
                .is_some();
            if !done {
                let mut tx = self.client.transaction()?;
                tx.batch_execute(sql)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, applied_at_ms) VALUES ($1, 0)",
                    &[version],
                )?;
                tx.commit()?;
            }
        }
        Ok(())
    }

    fn prepare(&mut self, sql: &str) -> StoreResult<Statement> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.client.prepare(sql)?;
        self.statements.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }
}

fn bind(value: &Value) -> Box<dyn ToSql + Sync> {
    match value {
        Value::Int(v) => Box::new(*v),
        Value::Text(v) => Box::new(v.clone()),
    }
}

fn read_row(row: &::postgres::Row) -> StoreResult<Row> {
    let mut cells = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let cell = match *column.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Cell::Int),
            Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map(|v| Cell::Int(v.into())),
            Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map(|v| Cell::Int(v.into())),
            Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(|v| Cell::Int(v.into())),
            Type::TEXT | Type::VARCHAR => row.try_get::<_, Option<String>>(i)?.map(Cell::Text),
            ref other => return Err(StoreError::Backend(format!("unexpected column type {other}"))),
        };
        cells.push(cell.unwrap_or(Cell::Null));
    }
    Ok(Row(cells))
}

impl Conn for PgConn {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> StoreResult<Vec<Row>> {
        let stmt = self.prepare(sql)?;
        let bound: Vec<_> = params.iter().map(bind).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b.as_ref()).collect();
        self.client.query(&stmt, &refs)?.iter().map(read_row).collect()
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> StoreResult<u64> {
        let stmt = self.prepare(sql)?;
        let bound: Vec<_> = params.iter().map(bind).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b.as_ref()).collect();
        Ok(self.client.execute(&stmt, &refs)?)
    }

    fn batch(&mut self, sql: &str) -> StoreResult<()> {
        Ok(self.client.batch_execute(sql)?)
    }
}
