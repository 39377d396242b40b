//! Sessions as the server keeps them in memory: a cache of live sessions by
//! token hash, so most requests never read the database to authenticate, and
//! the one place a session ends (logout, revocation, idle expiry). Ending a
//! session drops it from the cache and closes its WebSockets on this node at
//! once, and tells every other node over NATS to do the same.
//!
//! A cached entry is trusted for [`REVALIDATE_MS`]; after that the next
//! request reads the database again. So if a revocation notice from another
//! node were lost (NATS down), a revoked token would still be refused within
//! that time, and a WebSocket at its next heartbeat.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use qiao_domain::identity::Language;
use qiao_domain::ids::{SessionId, UserId};
use qiao_domain::Error;
use qiao_store::SessionRecord;
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::hub::Hub;
use crate::state::AppState;

/// How long a cached session is trusted without reading the database.
pub const REVALIDATE_MS: i64 = 30_000;
/// How long a session may go unseen before `last_seen` is written again.
const TOUCH_EVERY_MS: i64 = 60_000;

#[derive(Debug, Clone)]
struct Cached {
    session: SessionRecord,
    checked_at_ms: i64,
}

/// The live sessions this node has seen recently.
pub struct Sessions {
    by_token: RwLock<HashMap<String, Cached>>,
    /// Users' languages, for error messages to requests that name none:
    /// with when they were read, trusted like sessions for [`REVALIDATE_MS`].
    languages: RwLock<HashMap<UserId, (Language, i64)>>,
    hub: Arc<Hub>,
    /// In a cluster, where to tell the other nodes which sessions ended.
    cluster: Option<mpsc::UnboundedSender<Vec<SessionId>>>,
}

/// The signed-in caller of a request.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub user: UserId,
    pub session: SessionId,
}

impl Sessions {
    pub fn new(hub: Arc<Hub>, cluster: Option<mpsc::UnboundedSender<Vec<SessionId>>>) -> Self {
        Self {
            by_token: RwLock::new(HashMap::new()),
            languages: RwLock::new(HashMap::new()),
            hub,
            cluster,
        }
    }

    fn cached(&self, token_hash: &str, now_ms: i64) -> Option<SessionRecord> {
        let cache = self.by_token.read();
        let entry = cache.get(token_hash)?;
        (now_ms - entry.checked_at_ms < REVALIDATE_MS).then(|| entry.session.clone())
    }

    /// Forgets these sessions and closes their WebSockets on this node.
    pub fn forget(&self, ended: &[SessionId]) {
        if ended.is_empty() {
            return;
        }
        self.by_token.write().retain(|_, c| !ended.contains(&c.session.id));
        for session in ended {
            self.hub.close_session(*session);
        }
    }

    /// Remembers a language the user just chose (on this node at once; other
    /// nodes read it again within [`REVALIDATE_MS`]).
    pub fn language_chosen(&self, user: UserId, language: Language, now_ms: i64) {
        self.languages.write().insert(user, (language, now_ms));
    }

    /// Forgets these sessions here and on every other node.
    pub fn ended(&self, ended: Vec<SessionId>) {
        self.forget(&ended);
        if let Some(cluster) = &self.cluster {
            let _ = cluster.send(ended);
        }
    }
}

/// The language `user` reads Qiao in; English if it cannot be read now.
pub async fn language_of(app: &AppState, user: UserId) -> Language {
    let now = app.clock.now_ms();
    if let Some((language, at)) = app.sessions.languages.read().get(&user).copied() {
        if now - at < REVALIDATE_MS {
            return language;
        }
    }
    match app.store.user(user).await {
        Ok(record) => {
            app.sessions.language_chosen(user, record.language, now);
            record.language
        }
        Err(_) => Language::default(),
    }
}

/// Resolves a token hash to its live session: from the cache while fresh,
/// else from the database. A session idle for longer than the configured
/// time is ended here and refused.
pub async fn session_of(app: &AppState, token_hash: &str) -> Result<SessionRecord, ApiError> {
    let now = app.clock.now_ms();
    let session = match app.sessions.cached(token_hash, now) {
        Some(session) => session,
        None => {
            let found = app.store.session_by_token(token_hash).await?;
            let Some(session) = found else {
                app.sessions.by_token.write().remove(token_hash);
                return Err(ApiError::from(Error::Unauthorized));
            };
            app.sessions.by_token.write().insert(
                token_hash.to_owned(),
                Cached {
                    session: session.clone(),
                    checked_at_ms: now,
                },
            );
            session
        }
    };
    if now - session.last_seen_at_ms > app.config.session_idle_ms() {
        tracing::info!(
            user = session.user_id.0,
            session = session.id.0,
            "session ended after idling"
        );
        end(app, session.user_id, session.id).await.ok();
        return Err(ApiError::from(Error::Unauthorized));
    }
    if now - session.last_seen_at_ms > TOUCH_EVERY_MS {
        app.store.touch_session(session.id, now).await?;
        if let Some(entry) = app.sessions.by_token.write().get_mut(token_hash) {
            entry.session.last_seen_at_ms = now;
        }
    }
    Ok(session)
}

/// Resolves a bearer token to its live session.
pub async fn authenticate(app: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    let session = session_of(app, &crate::auth::token_hash(token)).await?;
    Ok(AuthUser {
        user: session.user_id,
        session: session.id,
    })
}

/// Ends one of `user`'s sessions: the database, this node's cache and
/// WebSockets, and every other node's. `NotFound` for someone else's.
pub async fn end(app: &AppState, user: UserId, session: SessionId) -> Result<(), ApiError> {
    let result = app.store.revoke_session(user, session, app.clock.now_ms()).await;
    // Even if it was gone already (another node ended it), nobody may use it here.
    app.sessions.ended(vec![session]);
    result.map_err(ApiError::from)
}

/// Ends every session idle for longer than the configured time; returns how many.
pub async fn expire_idle(app: &AppState) -> Result<usize, ApiError> {
    let before = app.clock.now_ms().saturating_sub(app.config.session_idle_ms());
    let ended = app.store.expire_sessions(before, app.clock.now_ms()).await?;
    let ids: Vec<SessionId> = ended.iter().map(|s| s.id).collect();
    let n = ids.len();
    app.sessions.ended(ids);
    Ok(n)
}
