//! Sessions end everywhere at once: a revoked or signed-out device loses its
//! HTTP access and its WebSocket immediately (on every node), an idle
//! session expires, and a new sign-in shows on the account's other devices.

use futures_util::SinkExt;
use qiao_api as api;
use reqwest::Method;
use serde_json::json;

use crate::both_stores;
use crate::helpers::*;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

both_stores! {
    /// Hole 2 of the outside review: the revoked device's WebSocket lived on,
    /// received every event and stored its `send` frames as messages.
    async fn a_revoked_session_loses_its_websocket_at_once(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let chat = app.befriend(&lin, &emily).await;
        let stolen = app.login(&lin).await;
        let mut thief = app.ws(&stolen, None).await;

        let sessions: Vec<api::SessionInfo> = app.get(&lin, "/api/sessions").await.typed();
        let other = sessions.iter().find(|s| !s.current).unwrap();
        app.call(Method::DELETE, &lin, &format!("/api/sessions/{}", other.id), None).await.ok();

        assert_eq!(thief.closed_with().await, Some(qiao_server::ws::CLOSE_SESSION_ENDED));
        app.get(&stolen, "/api/me").await.assert_error(401, "unauthorized");
        assert_eq!(app.ws_refused(&stolen).await, Some(401), "the token can't open a new socket");
        // Whatever the closed socket still tries to send is never stored.
        thief.socket.send(tokio_tungstenite::tungstenite::Message::Text(
            json!({"type": "send", "conversation_id": chat, "message": {"client_msg_id": "late", "type": "text", "text": "still here"}})
                .to_string()
                .into(),
        )).await.ok();
        app.send_text(&emily, chat, "after").await;
        let history = app.history(&lin, chat).await;
        assert!(history.iter().all(|m| m.text.as_deref() != Some("still here")), "{history:?}");
    }
}

both_stores! {
    async fn signing_out_closes_that_devices_websocket_only(app: TestApp) {
        let lin = app.register("Lin").await;
        let laptop = app.login(&lin).await;
        let mut phone_ws = app.ws(&lin, None).await;
        let mut laptop_ws = app.ws(&laptop, None).await;
        app.post(&laptop, "/api/auth/logout", json!({})).await.ok();
        assert_eq!(laptop_ws.closed_with().await, Some(qiao_server::ws::CLOSE_SESSION_ENDED));
        // The phone hears that the laptop signed out, and stays connected.
        let ended = phone_ws.next_of("session.ended").await;
        assert_eq!(ended.data["device_name"], "second");
        app.get(&lin, "/api/me").await.ok();
    }
}

both_stores! {
    async fn a_new_sign_in_shows_on_the_other_devices(app: TestApp) {
        let lin = app.register("Lin").await;
        let mut phone_ws = app.ws(&lin, None).await;
        let laptop = app.login(&lin).await;
        let event = phone_ws.next_of("session.new").await;
        assert_eq!(event.data["device_name"], "second");
        let sessions: Vec<api::SessionInfo> = app.get(&laptop, "/api/sessions").await.typed();
        let laptop_session = sessions.iter().find(|s| s.current).unwrap();
        assert_eq!(event.data["id"], laptop_session.id);
        // Someone else's sign-in is not told to Lin.
        let emily = app.register("Emily").await;
        app.login(&emily).await;
        app.send_text(&lin, app.befriend(&lin, &emily).await, "marker").await;
        loop {
            let next = phone_ws.next_event().await;
            assert_ne!(next.kind, "session.new", "Lin heard of Emily's sign-in: {next:?}");
            if next.kind == "message.new" {
                break;
            }
        }
    }
}

both_stores! {
    async fn sessions_expire_after_the_configured_idle_time(app: TestApp) {
        let lin = app.register("Lin").await;
        let idle = app.login(&lin).await;
        let mut idle_ws = app.ws(&idle, None).await;
        app.clock.advance_ms(DAY_MS / 2);
        app.get(&lin, "/api/me").await.ok();
        app.clock.advance_ms(app.config.session_idle_ms() - DAY_MS / 2 + 1);
        // Lin used the app half-way through, the other device never did.
        app.get(&idle, "/api/me").await.assert_error(401, "unauthorized");
        assert_eq!(idle_ws.closed_with().await, Some(qiao_server::ws::CLOSE_SESSION_ENDED));
        app.get(&lin, "/api/me").await.ok();
        let sessions: Vec<api::SessionInfo> = app.get(&lin, "/api/sessions").await.typed();
        assert_eq!(sessions.len(), 1);

        // The sweep ends idle sessions nobody uses, without waiting for a request.
        let third = app.login(&lin).await;
        app.clock.advance_ms(app.config.session_idle_ms() + 1);
        app.get(&lin, "/api/me").await.assert_error(401, "unauthorized");
        assert_eq!(qiao_server::sessions::expire_idle(&app.state).await.unwrap(), 1, "the third device's");
        app.get(&third, "/api/me").await.assert_error(401, "unauthorized");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_on_one_node_ends_the_session_on_every_node() {
    let (east, west) = TestApp::cluster_of_two().await;
    let lin = east.register("Lin").await;
    let stolen = west.login(&lin).await;
    // The stolen token is cached on the west node (it authenticated there).
    west.get(&stolen, "/api/me").await.ok();
    let mut thief = west.ws(&stolen, None).await;
    let sessions: Vec<api::SessionInfo> = east.get(&lin, "/api/sessions").await.typed();
    let other = sessions.iter().find(|s| !s.current).unwrap();
    east.call(Method::DELETE, &lin, &format!("/api/sessions/{}", other.id), None)
        .await
        .ok();
    assert_eq!(thief.closed_with().await, Some(qiao_server::ws::CLOSE_SESSION_ENDED));
    west.get(&stolen, "/api/me").await.assert_error(401, "unauthorized");
    east.get(&stolen, "/api/me").await.assert_error(401, "unauthorized");
}
