//! A pool of read connections used from blocking tasks. SQLite in WAL mode
//! and PostgreSQL both let readers run beside the writer.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::engine::Conn;
use crate::{StoreError, StoreResult};

pub(crate) type Opener = dyn Fn() -> StoreResult<Box<dyn Conn>> + Send + Sync;

/// Most read connections open at once (and kept idle between reads): a
/// bound on what one node asks of the database however many requests wait.
const MAX_OPEN: usize = 16;

#[derive(Clone)]
pub struct Readers {
    idle: Arc<Idle>,
    open: Arc<Opener>,
    permits: Arc<tokio::sync::Semaphore>,
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
            permits: Arc::new(tokio::sync::Semaphore::new(MAX_OPEN)),
        }
    }

    /// Runs the read `f` on a pooled connection (waiting for one if
    /// [`MAX_OPEN`] are busy). A read that finds its pooled connection lost
    /// (the database restarted, or ended the session) is run once more on a
    /// new connection, and the other idle ones are dropped as likely lost too.
    pub async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> StoreResult<T> + Clone + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Backend(format!("reader pool: {e}")))?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let pooled = this.idle.0.lock().pop();
            let Some(conn) = pooled else {
                return this.read_on((this.open)()?, f);
            };
            match this.read_on(conn, f.clone()) {
                Err(StoreError::Unavailable(e)) => {
                    tracing::info!(error = %e, "a pooled read connection was lost; reading on a new one");
                    let stale = std::mem::take(&mut *this.idle.0.lock());
                    drop(stale);
                    this.read_on((this.open)()?, f)
                }
                other => other,
            }
        })
        .await
        .map_err(|e| StoreError::Backend(format!("reader task: {e}")))?
    }

    /// Runs `f` on `conn`, then pools `conn` again unless it may be broken.
    fn read_on<T>(&self, mut conn: Box<dyn Conn>, f: impl FnOnce(&mut dyn Conn) -> StoreResult<T>) -> StoreResult<T> {
        let result = f(conn.as_mut());
        if !matches!(&result, Err(e) if e.may_break_connection()) && !conn.is_broken() {
            let mut idle = self.idle.0.lock();
            if idle.len() < MAX_OPEN {
                idle.push(conn);
            }
        }
        result
    }
}
