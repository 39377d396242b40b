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
    idle: Arc<Idle>,
    open: Arc<Opener>,
}

/// The idle connections. Closing a PostgreSQL client blocks on its own
/// runtime, which panics (and, while unwinding, aborts) on a thread that
/// drives async tasks; so when the pool is dropped inside a runtime, the
/// connections are closed on a thread of their own.
struct Idle(Mutex<Vec<Box<dyn Conn>>>);

impl Drop for Idle {
    fn drop(&mut self) {
        let conns = std::mem::take(self.0.get_mut());
        if !conns.is_empty() && tokio::runtime::Handle::try_current().is_ok() {
            // If the thread can't be spawned, the closure is dropped here: leak rather than panic.
            let conns = std::mem::ManuallyDrop::new(conns);
            let closer = std::thread::Builder::new()
                .name("qiao-readers-close".into())
                .spawn(move || drop(std::mem::ManuallyDrop::into_inner(conns)));
            if let Err(e) = closer {
                tracing::warn!(error = %e, "could not spawn a thread to close read connections; leaking them");
            }
        }
    }
}

impl Readers {
    pub fn new(open: Arc<Opener>) -> Self {
        Self {
            idle: Arc::new(Idle(Mutex::new(Vec::new()))),
            open,
        }
    }

    pub async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> StoreResult<T> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = this.idle.0.lock().pop();
            let mut conn = match pooled {
                Some(conn) => conn,
                None => (this.open)()?,
            };
            let result = f(conn.as_mut());
            // A connection that failed may be broken; only healthy ones go back.
            if !matches!(result, Err(StoreError::Backend(_))) {
                let mut idle = this.idle.0.lock();
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
