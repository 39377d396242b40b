//! The WebSocket: live events for one device, replay of what it missed, and
//! sending without an HTTP round trip.
//!
//! Protocol: connect to `/api/ws?token=T&since=P`. The server subscribes the
//! device to the hub *first*, then replays every event after `P` from the
//! store, sends `{"type":"synced","pos":…}`, then streams live events,
//! skipping any it already replayed. So a reconnect with the last cursor
//! loses nothing and duplicates nothing. Without `since`, `synced` carries the
//! current end of the stream: the cursor to keep. A `since` past the end is
//! refused as `invalid_cursor`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use qiao_api::{ClientFrame, ServerFrame};
use qiao_domain::identity::Language;
use qiao_domain::ids::{ConversationId, SessionId, StreamPos, UserId};
use qiao_domain::limits::MAX_SYNC_PAGE;
use qiao_domain::Error;
use qiao_store::wire;
use serde::Deserialize;
use tokio::sync::{mpsc, Semaphore};

use crate::auth::{bearer, token_hash};
use crate::error::{ApiError, ApiResult};
use crate::hub::{event_frame, Frame};
use crate::state::AppState;

/// Close code telling a client it fell behind and must reconnect with its cursor.
pub const CLOSE_TOO_SLOW: u16 = 4008;
/// Close code for a client that stopped answering pings.
pub const CLOSE_IDLE: u16 = 4000;
/// Close code for a connection whose session ended (signed out, revoked,
/// idle): the client must sign in again; reconnecting with the token fails.
pub const CLOSE_SESSION_ENDED: u16 = 4001;
/// Close code for a server shutting down (RFC 6455 "service restart"):
/// reconnect, to this node once it is back or to another.
pub const CLOSE_RESTARTING: u16 = 1012;
/// Sends one connection may have in flight at once.
const MAX_IN_FLIGHT_SENDS: usize = 256;
/// Largest frame a client may send.
const MAX_CLIENT_FRAME_BYTES: usize = 64 * 1024;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// Bearer token (browsers cannot set headers on a WebSocket).
    pub token: Option<String>,
    /// Replay events after this stream position before going live.
    pub since: Option<i64>,
    /// `zh-CN` or `en-US`, for error frames.
    pub lang: Option<String>,
}

#[utoipa::path(get, path = "/api/ws", tag = "sync", params(WsQuery),
    responses((status = 101, description = "switching to the WebSocket protocol"), (status = 401, body = qiao_api::ErrorBody)))]
pub async fn connect(
    State(app): State<AppState>,
    query: Result<Query<WsQuery>, QueryRejection>,
    headers: axum::http::HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let Query(query) = query.map_err(|_| ApiError::from(Error::InvalidRequest))?;
    let token = query
        .token
        .as_deref()
        .or_else(|| bearer(&headers))
        .ok_or(ApiError::from(Error::Unauthorized))?;
    let token_hash = token_hash(token);
    let session = crate::sessions::session_of(&app, &token_hash).await?;
    if let Some(since) = query.since {
        if since < 0 || since > app.store.head().await?.0 {
            return Err(Error::InvalidCursor.into());
        }
    }
    let upgrade = upgrade.map_err(|_| ApiError::from(Error::InvalidRequest))?;
    let language = query
        .lang
        .as_deref()
        .and_then(|l| Language::parse(l).ok())
        .unwrap_or_default();
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024)
        .max_message_size(MAX_CLIENT_FRAME_BYTES)
        .on_upgrade(move |socket| {
            let device = Device {
                user: session.user_id,
                session: session.id,
                token_hash,
            };
            run(app, device, query.since, language, socket)
        }))
}

fn text(frame: &ServerFrame) -> Message {
    Message::Text(Utf8Bytes::from(serde_json::to_string(frame).unwrap_or_default()))
}

fn error_frame(error: Error, language: Language, client_msg_id: Option<String>) -> Message {
    text(&ServerFrame::Error {
        client_msg_id,
        code: error.code().to_owned(),
        message: crate::i18n::error_message(error, language).to_owned(),
    })
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

/// Who is on the other end of a connection.
struct Device {
    user: UserId,
    session: SessionId,
    /// To check at each heartbeat that the session is still live.
    token_hash: String,
}

async fn run(app: AppState, device: Device, since: Option<i64>, language: Language, socket: WebSocket) {
    let user = device.user;
    let mut subscription = app.hub.subscribe(user, device.session, app.config.ws_queue_depth);
    let (mut sink, stream) = socket.split();

    // Without a cursor the device starts at the end of the stream: it is told
    // where that is, and gets what comes after.
    let mut cursor = match since {
        Some(since) => since,
        None => match app.store.head().await {
            Ok(head) => head.0,
            Err(e) => {
                tracing::error!(error = %e, "reading the stream head failed");
                let _ = sink.send(close(1011, "store unavailable; reconnect")).await;
                return;
            }
        },
    };
    if since.is_some() && !catch_up(&app, user, &mut cursor, &mut sink).await {
        return;
    }
    if sink.send(text(&ServerFrame::Synced { pos: cursor })).await.is_err() {
        return;
    }

    let last_heard = Arc::new(AtomicI64::new(app.clock.now_ms()));
    let (replies, mut outgoing) = mpsc::channel::<Message>(64);
    let reader = tokio::spawn(read_loop(
        app.clone(),
        user,
        language,
        stream,
        replies,
        Arc::clone(&last_heard),
    ));
    let period = Duration::from_secs(app.config.ws_heartbeat_seconds.max(1));
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);

    loop {
        tokio::select! {
            frame = subscription.frames.recv() => match frame {
                Some(Frame::Event { pos, text }) if pos > cursor => {
                    if sink.feed(Message::Text(text)).await.is_err() { break; }
                    cursor = pos;
                }
                Some(Frame::Event { .. }) => continue,
                Some(Frame::Wake) => {
                    if !catch_up(&app, user, &mut cursor, &mut sink).await { break; }
                    continue;
                }
                Some(Frame::Ended) => {
                    let _ = sink.send(close(CLOSE_SESSION_ENDED, "session ended; sign in again")).await;
                    break;
                }
                Some(Frame::Restarting) => {
                    let _ = sink.send(close(CLOSE_RESTARTING, "server restarting; reconnect")).await;
                    break;
                }
                None => {
                    let _ = sink.send(close(CLOSE_TOO_SLOW, "too slow; reconnect with your cursor")).await;
                    break;
                }
            },
            reply = outgoing.recv() => match reply {
                Some(reply) => if sink.feed(reply).await.is_err() { break; },
                None => break,
            },
            _ = heartbeat.tick() => {
                let silent_ms = app.clock.now_ms() - last_heard.load(Ordering::Relaxed);
                if silent_ms > 2 * period.as_millis() as i64 {
                    let _ = sink.send(close(CLOSE_IDLE, "no heartbeat")).await;
                    break;
                }
                // Keeps the session seen while connected, and catches an end
                // this node was not told of (another node's notice lost).
                if crate::sessions::session_of(&app, &device.token_hash).await.is_err() {
                    let _ = sink.send(close(CLOSE_SESSION_ENDED, "session ended; sign in again")).await;
                    break;
                }
                if sink.send(Message::Ping(Default::default())).await.is_err() { break; }
                continue;
            }
        }
        match write_ready(&mut sink, &mut subscription.frames, &mut outgoing, &mut cursor).await {
            None => break,
            Some(true) if !catch_up(&app, user, &mut cursor, &mut sink).await => break,
            Some(_) => {}
        }
    }
    reader.abort();
}

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;

/// Most frames written in one flush.
const MAX_FRAMES_PER_FLUSH: usize = 64;

/// After a frame was fed: feeds whatever else is already queued — events and
/// replies alike, so a sender's echo and its ack share a write — then flushes
/// once. Under load a device gets many frames per system call. `None` when
/// the connection is gone; `Some(true)` when a wake was taken off the queue and
/// the caller must catch up from the store.
async fn write_ready(
    sink: &mut Sink,
    frames: &mut mpsc::Receiver<Frame>,
    replies: &mut mpsc::Receiver<Message>,
    cursor: &mut i64,
) -> Option<bool> {
    let mut woken = false;
    for _ in 1..MAX_FRAMES_PER_FLUSH {
        let next = match frames.try_recv() {
            Ok(Frame::Event { pos, text }) if pos > *cursor => {
                *cursor = pos;
                Message::Text(text)
            }
            Ok(Frame::Wake) => {
                woken = true;
                continue;
            }
            Ok(Frame::Ended) => {
                let _ = sink
                    .send(close(CLOSE_SESSION_ENDED, "session ended; sign in again"))
                    .await;
                return None;
            }
            Ok(Frame::Restarting) => {
                let _ = sink.send(close(CLOSE_RESTARTING, "server restarting; reconnect")).await;
                return None;
            }
            // Already sent.
            Ok(Frame::Event { .. }) => continue,
            Err(_) => match replies.try_recv() {
                Ok(reply) => reply,
                Err(_) => break,
            },
        };
        if sink.feed(next).await.is_err() {
            return None;
        }
    }
    sink.flush().await.ok().map(|()| woken)
}

/// Sends every stored event after `cursor`, advancing it. False when the
/// connection is gone or the store failed (the socket is then closed).
async fn catch_up(app: &AppState, user: UserId, cursor: &mut i64, sink: &mut Sink) -> bool {
    loop {
        let page = match app.store.events_since(user, StreamPos(*cursor), MAX_SYNC_PAGE).await {
            Ok(page) => page,
            Err(e) => {
                tracing::error!(error = %e, "reading events for a device failed");
                let _ = sink.send(close(1011, "store unavailable; reconnect")).await;
                return false;
            }
        };
        for event in &page {
            let frame = event_frame(
                event.pos.0,
                event.kind.as_str(),
                event.conversation_id.map(|c| c.0),
                event.at_ms,
                &event.data,
            );
            if sink.send(Message::Text(Utf8Bytes::from(frame))).await.is_err() {
                return false;
            }
            *cursor = event.pos.0;
        }
        if page.len() < MAX_SYNC_PAGE {
            return true;
        }
    }
}

async fn read_loop(
    app: AppState,
    user: UserId,
    language: Language,
    mut stream: futures_util::stream::SplitStream<WebSocket>,
    replies: mpsc::Sender<Message>,
    last_heard: Arc<AtomicI64>,
) {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT_SENDS));
    while let Some(Ok(message)) = stream.next().await {
        last_heard.store(app.clock.now_ms(), Ordering::Relaxed);
        let frame = match message {
            Message::Text(body) => serde_json::from_str::<ClientFrame>(body.as_str()),
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Binary(_) => {
                let _ = replies.send(error_frame(Error::InvalidRequest, language, None)).await;
                continue;
            }
        };
        match frame {
            Err(_) => {
                let _ = replies.send(error_frame(Error::InvalidRequest, language, None)).await;
            }
            Ok(ClientFrame::Ping) => {
                let _ = replies.send(text(&ServerFrame::Pong)).await;
            }
            Ok(ClientFrame::Send {
                conversation_id,
                message,
            }) => {
                let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
                    break;
                };
                let (app, replies) = (app.clone(), replies.clone());
                tokio::spawn(async move {
                    let outcome =
                        crate::http::messages::send_message(&app, user, ConversationId(conversation_id), &message)
                            .await;
                    let reply = match outcome {
                        Ok(sent) => text(&ServerFrame::Ack {
                            client_msg_id: message.client_msg_id,
                            message: wire::message(&sent.message),
                        }),
                        Err(ApiError(code, _)) => error_frame(code, language, Some(message.client_msg_id)),
                    };
                    let _ = replies.send(reply).await;
                    drop(permit);
                });
            }
        }
    }
}
