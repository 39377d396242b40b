//! The embedded SQLite backend: one file in the data directory, WAL mode,
//! every commit fsynced (`synchronous = FULL`), so an acknowledged write
//! survives a crash.

use std::path::Path;

use rusqlite::types::ValueRef;

use crate::engine::{Cell, Conn, Dialect, Row, Value};
use crate::{StoreError, StoreResult};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite_0001_chat.sql")),
    (2, include_str!("../migrations/sqlite_0002_ledger.sql")),
    (3, include_str!("../migrations/sqlite_0003_cards.sql")),
    (4, include_str!("../migrations/sqlite_0004_payments.sql")),
    (5, include_str!("../migrations/sqlite_0005_money_core.sql")),
    (6, include_str!("../migrations/sqlite_0006_identity.sql")),
    (7, include_str!("../migrations/sqlite_0007_merchants.sql")),
];

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

/// Checkpoints the WAL from its own connection every half second, so the
/// writer never pays for it inside a commit (its auto-checkpoint is off).
/// Stops when dropped.
pub struct Checkpointer {
    _stop: crossbeam_channel::Sender<()>,
}

const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

impl Checkpointer {
    pub fn start(db: &Path) -> StoreResult<Self> {
        let conn = SqliteConn::open(db)?;
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        std::thread::Builder::new()
            .name("qiao-checkpoint".into())
            .spawn(move || {
                while let Err(crossbeam_channel::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                    if let Err(e) = conn.conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                }
            })
            .map_err(|e| StoreError::Backend(format!("spawn checkpointer: {e}")))?;
        Ok(Self { _stop: stop })
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

    /// Writes a consistent copy of the database at `source` to `target` (a
    /// new file), while a server may be writing it: `VACUUM INTO` reads one
    /// snapshot, so the copy holds exactly the commits before it began.
    pub fn backup(source: &Path, target: &Path) -> StoreResult<()> {
        if !source.exists() {
            return Err(StoreError::Backend(format!("no database at {}", source.display())));
        }
        if target.exists() {
            return Err(StoreError::Backend(format!(
                "{} exists; not overwritten",
                target.display()
            )));
        }
        let conn = Self::open(source)?;
        let target = target
            .to_str()
            .ok_or_else(|| StoreError::Backend("the backup path is not UTF-8".into()))?;
        conn.conn.execute("VACUUM INTO ?1", [target])?;
        Ok(())
    }

    /// The writer's connection: a large page cache, and no checkpoints inside
    /// its commits (the [`Checkpointer`] does them).
    pub fn open_writer(path: &Path) -> StoreResult<Self> {
        let conn = Self::open(path)?;
        conn.conn
            .execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -65536;")?;
        Ok(conn)
    }

    /// Applies the migrations this binary knows and the file lacks.
    pub fn migrate(&mut self) -> StoreResult<()> {
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)",
        )?;
        let newest: i64 = self
            .conn
            .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| {
                r.get(0)
            })?;
        crate::refuse_newer_schema(newest, MIGRATIONS.len())?;
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

/// Parameter names as the shared SQL writes them. SQLite reads `$1` as a
/// *named* parameter, so each value is bound by looking its name up.
const PARAMETER_NAMES: [&str; 16] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15", "$16",
];

fn bind_all(stmt: &mut rusqlite::CachedStatement<'_>, params: &[Value]) -> StoreResult<()> {
    for (i, value) in params.iter().enumerate() {
        // Shared SQL numbers its parameters in order of appearance, so `$n` is
        // usually the n-th: check that in O(1) before searching by name, which
        // SQLite does linearly (costly for multi-row statements).
        let positional = stmt
            .parameter_name(i + 1)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            == Some(i + 1);
        let index = if positional {
            Some(i + 1)
        } else if let Some(name) = PARAMETER_NAMES.get(i) {
            stmt.parameter_index(name)?
        } else {
            stmt.parameter_index(&format!("${}", i + 1))?
        };
        let index = index.ok_or_else(|| StoreError::Backend(format!("statement has no parameter ${}", i + 1)))?;
        stmt.raw_bind_parameter(index, bind(value))?;
    }
    if stmt.parameter_count() != params.len() {
        return Err(StoreError::Backend(format!(
            "statement takes {} parameters, {} given",
            stmt.parameter_count(),
            params.len()
        )));
    }
    Ok(())
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
        let mut stmt = self.conn.prepare_cached(sql)?;
        let width = stmt.column_count();
        bind_all(&mut stmt, params)?;
        let mut rows = stmt.raw_query();
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
        let mut stmt = self.conn.prepare_cached(sql)?;
        bind_all(&mut stmt, params)?;
        Ok(stmt.raw_execute()? as u64)
    }

    fn batch(&mut self, sql: &str) -> StoreResult<()> {
        Ok(self.conn.execute_batch(sql)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_bind_by_name_in_any_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut conn = SqliteConn::open(&dir.path().join("t.db")).expect("opens");
        let rows = conn
            .query("SELECT $2, $1, $1 || '$1'", &[Value::from("one"), Value::from("two")])
            .expect("runs");
        assert_eq!(
            rows[0].0,
            vec![
                Cell::Text("two".into()),
                Cell::Text("one".into()),
                Cell::Text("one$1".into())
            ]
        );
        assert!(conn.query("SELECT $1", &[]).is_err(), "a missing parameter is an error");
        assert!(
            conn.query("SELECT $1", &[Value::from(1), Value::from(2)]).is_err(),
            "so is an extra one"
        );
    }
}
