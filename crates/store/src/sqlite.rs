//! The embedded SQLite backend: one file in the data directory, WAL mode,
//! every commit fsynced (`synchronous = FULL`), so an acknowledged write
//! survives a crash.

use std::path::Path;

use rusqlite::types::ValueRef;

use crate::engine::{Cell, Conn, Dialect, Row, Value};
use crate::{StoreError, StoreResult};

const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../migrations/sqlite_0001_chat.sql"))];

/// Holds an exclusive OS lock beside the database file for as long as the
/// store is open, so only one process writes a SQLite database. The writer's
/// cache relies on that; a second `qiao serve` on the same data directory is
/// refused instead of corrupting it.
pub struct WriterLock {
    _file: std::fs::File,
}

impl WriterLock {
    pub fn acquire(db: &Path) -> StoreResult<Self> {
        let path = db.with_extension("writer-lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::Backend(format!("{}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Backend(format!(
                "{} is in use by another Qiao process",
                db.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Backend(format!("{}: {e}", path.display()))),
        }
    }
}

pub struct SqliteConn {
    conn: rusqlite::Connection,
}

impl SqliteConn {
    pub fn open(path: &Path) -> StoreResult<Self> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;",
        )?;
        conn.set_prepared_statement_cache_capacity(256);
        Ok(Self { conn })
    }

    /// Applies the migrations this binary knows and the file lacks.
    pub fn migrate(&mut self) -> StoreResult<()> {
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)",
        )?;
        for (version, sql) in MIGRATIONS {
            let done: i64 = self.conn.query_row(
                "SELECT COUNT(*) FROM schema_migrations WHERE version = ?1",
                [version],
                |r| r.get(0),
            )?;
            if done == 0 {
                let tx = self.conn.transaction()?;
                tx.execute_batch(sql)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?1, 0)",
                    [version],
                )?;
                tx.commit()?;
            }
        }
        Ok(())
    }
}

/// `$1` → `?1`: SQLite reads `$1` as a named parameter, `?1` as the first.
fn to_sqlite(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

fn bind(value: &Value) -> rusqlite::types::Value {
    match value {
        Value::Int(Some(v)) => rusqlite::types::Value::Integer(*v),
        Value::Text(Some(v)) => rusqlite::types::Value::Text(v.clone()),
        Value::Int(None) | Value::Text(None) => rusqlite::types::Value::Null,
    }
}

impl Conn for SqliteConn {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> StoreResult<Vec<Row>> {
        let mut stmt = self.conn.prepare_cached(&to_sqlite(sql))?;
        let width = stmt.column_count();
        let bound: Vec<_> = params.iter().map(bind).collect();
        let mut rows = stmt.query(rusqlite::params_from_iter(bound))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(width);
            for i in 0..width {
                cells.push(match row.get_ref(i)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Real(_) | ValueRef::Blob(_) => {
                        return Err(StoreError::Backend("unexpected column type".into()))
                    }
                });
            }
            out.push(Row(cells));
        }
        Ok(out)
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> StoreResult<u64> {
        let mut stmt = self.conn.prepare_cached(&to_sqlite(sql))?;
        let bound: Vec<_> = params.iter().map(bind).collect();
        Ok(stmt.execute(rusqlite::params_from_iter(bound))? as u64)
    }

    fn batch(&mut self, sql: &str) -> StoreResult<()> {
        Ok(self.conn.execute_batch(sql)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten() {
        assert_eq!(
            to_sqlite("SELECT $1, $12 WHERE a = '$'"),
            "SELECT ?1, ?12 WHERE a = '$'"
        );
    }
}
