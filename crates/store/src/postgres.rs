//! The PostgreSQL backend, for running several Qiao nodes on one database.
//! Uses the synchronous `postgres` client on dedicated threads, like SQLite.

use std::collections::HashMap;
use std::time::Duration;

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
    (8, include_str!("../migrations/postgres_0008_parallel_writes.sql")),
];

/// Whether a PostgreSQL error means the connection is gone (closed, an I/O
/// failure, or the server ending or refusing sessions), not that a statement
/// was wrong.
pub fn is_connection_loss(e: &::postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        // Class 08: connection exception; 57P01-57P03: the server is shutting
        // down or terminated this session (`pg_terminate_backend`), or cannot
        // accept connections yet.
        let code = code.code();
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03");
    }
    // No SQLSTATE: a transport failure (I/O, TLS, timeout, connect refused).
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Splits libpq's `sslrootcert` parameter (which the `postgres` client does
/// not know) off a URL: the URL without it, and its value.
fn take_root_cert(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut root = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("sslrootcert=") {
            Some(value) => {
                root = Some(value.to_owned());
                false
            }
            None => true,
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, root)
}

pub struct PgConn {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl PgConn {
    /// Connects with `url` (a libpq URL or key=value string), naming the
    /// session `role` in `pg_stat_activity`. Unless the URL says otherwise,
    /// a connection attempt gives up after 5 s and a link that stops
    /// answering is declared dead after 10 s (TCP keepalives and
    /// `TCP_USER_TIMEOUT`), so no caller waits forever on a frozen network.
    ///
    /// TLS follows `sslmode` as libpq does: `disable` never, `prefer` (the
    /// default) when the server offers it, `require` always. Like libpq, the
    /// server's certificate is checked only when `sslrootcert=FILE` names the
    /// CA to check it against (then also its host name); without it the link
    /// is encrypted but the server is not authenticated.
    pub fn connect(url: &str, role: &str) -> StoreResult<Self> {
        let (url, root_cert) = take_root_cert(url);
        let mut config: ::postgres::Config = url
            .parse()
            .map_err(|e: ::postgres::Error| StoreError::Backend(format!("database URL: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name(role);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(Duration::from_secs(10));
        }
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(5))
            .keepalives_interval(Duration::from_secs(1))
            .keepalives_retries(5);
        let client = match config.get_ssl_mode() {
            ::postgres::config::SslMode::Disable => config.connect(NoTls)?,
            _ => config.connect(crate::pg_tls::connector(root_cert.as_deref())?)?,
        };
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
        let newest: i64 = self
            .client
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?
            .get(0);
        crate::refuse_newer_schema(newest, MIGRATIONS.len())?;
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

    fn is_broken(&self) -> bool {
        self.client.is_closed()
    }
}
