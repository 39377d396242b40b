//! A pool of read connections used from blocking tasks. SQLite in WAL mode
//! and PostgreSQL both let readers run beside the writer.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::engine::Conn;
use crate::{StoreError, StoreResult};

type Opener = dyn Fn() -> StoreResult<Box<dyn Conn>> + Send + Sync;

/// Most idle read connections kept open.
const MAX_IDLE: usize = 8;

#[derive(Clone)]
pub struct Readers {
    idle: Arc<Mutex<Vec<Box<dyn Conn>>>>,
    open: Arc<Opener>,
}

impl Readers {
    pub fn new(open: Arc<Opener>) -> Self {
        Self { idle: Arc::new(Mutex::new(Vec::new())), open }
    }

    pub async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> StoreResult<T> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = this.idle.lock().pop();
            let mut conn = match pooled {
                Some(conn) => conn,
                None => (this.open)()?,
            };
            let result = f(conn.as_mut());
            // A connection that failed may be broken; only healthy ones go back.
            if !matches!(result, Err(StoreError::Backend(_))) {
                let mut idle = this.idle.lock();
                if idle.len() < MAX_IDLE {
                    idle.push(conn);
                }
            }
            result
        })
        .await
        .map_err(|e| StoreError::Backend(format!("reader task: {e}")))?
    }
}
