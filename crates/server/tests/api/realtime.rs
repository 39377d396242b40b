//! Real time and sync: several devices, offline catch-up, cursors, slow clients, heartbeats.

use std::collections::HashSet;

use qiao_api as api;
use serde_json::json;

use crate::both_stores;
use crate::helpers::*;

both_stores! {
    async fn every_device_gets_every_event(app: TestApp) {
        let lin = app.register("Lin").await;
        let lin_laptop = app.login(&lin).await;
        let emily = app.register("Emily").await;
        let mut phone = app.ws(&lin, None).await;
        let mut laptop = app.ws(&lin_laptop, None).await;

        // A friend request, its acceptance, a message, a receipt, a recall: each reaches both devices.
        let request: api::FriendRequest = app.post(&emily, "/api/friend-requests", json!({"to_user_id": lin.id, "greeting": "hi"})).await.typed();
        for ws in [&mut phone, &mut laptop] {
            let event = ws.next_of("friend.request").await;
            assert_eq!(event.data["id"], request.id);
        }
        let contact: api::Contact = app.post(&lin, &format!("/api/friend-requests/{}/accept", request.id), json!({})).await.typed();
        let conversation = contact.conversation_id;
        let message = app.send_text(&emily, conversation, "hello both devices").await;
        app.post(&lin_laptop, &format!("/api/conversations/{conversation}/receipts"), json!({"kind": "read", "up_to_seq": 1})).await.ok();
        app.post(&emily, &format!("/api/messages/{}/recall", message.id), json!({})).await.ok();
        for ws in [&mut phone, &mut laptop] {
            assert_eq!(ws.next_of("friend.accepted").await.data["user_id"], emily.id);
            let new = ws.next_of("message.new").await;
            assert_eq!((new.data["text"].as_str(), new.conversation_id), (Some("hello both devices"), Some(conversation)));
            assert_eq!(ws.next_of("receipt.read").await.data["user_id"], lin.id);
            assert_eq!(ws.next_of("message.recalled").await.data["message_id"], message.id);
        }
    }
}

both_stores! {
    async fn offline_then_sync_loses_and_duplicates_nothing(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let conversation = app.befriend(&lin, &emily).await;
        let (_, cursor) = app.sync_all(&emily, 0).await;

        // Emily is offline while Lin writes 120 messages (more than one sync page).
        for i in 0..120 {
            app.send_text(&lin, conversation, &format!("msg {i}")).await;
        }
        let (missed, next) = app.sync_all(&emily, cursor).await;
        let texts: Vec<_> = missed.iter().filter(|e| e.kind == "message.new").map(|e| e.data["text"].as_str().unwrap().to_owned()).collect();
        assert_eq!(texts, (0..120).map(|i| format!("msg {i}")).collect::<Vec<_>>());
        assert!(missed.windows(2).all(|w| w[0].pos < w[1].pos));
        let (again, same) = app.sync_all(&emily, next).await;
        assert!(again.is_empty());
        assert_eq!(same, next);

        // Reconnecting a socket with a cursor replays exactly what came after it.
        // Without a cursor, a socket starts at the end of the stream.
        let fresh = app.ws(&emily, None).await;
        assert!(fresh.replayed.is_empty());
        assert_eq!(fresh.synced_at, next);
        drop(fresh);
        let midpoint = missed[59].pos;
        let mut ws = app.ws(&emily, Some(midpoint)).await;
        let replayed: Vec<_> = ws.replayed.iter().map(|e| e.data["text"].as_str().unwrap().to_owned()).collect();
        assert_eq!(replayed, (60..120).map(|i| format!("msg {i}")).collect::<Vec<_>>());
        assert_eq!(ws.synced_at, next);
        app.send_text(&lin, conversation, "live now").await;
        let live = ws.next_of("message.new").await;
        assert_eq!(live.data["text"], "live now");
        assert!(live.pos > next);
    }
}

both_stores! {
    async fn reconnect_during_a_burst_loses_nothing(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let conversation = app.befriend(&lin, &emily).await;
        let mut ws = app.ws(&emily, Some(0)).await;
        let mut cursor = ws.synced_at;
        let mut seen = HashSet::new();
        let sender = {
            let (addr, token) = (app.addr, lin.token.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                for i in 0..60 {
                    let url = format!("http://{addr}/api/conversations/{conversation}/messages");
                    let body = json!({"client_msg_id": format!("burst-{i}"), "type": "text", "text": format!("b{i}")});
                    assert!(http.post(url).bearer_auth(&token).json(&body).send().await.unwrap().status().is_success());
                }
            })
        };
        // Read a few, drop the socket mid-burst, reconnect from the cursor, repeat.
        while seen.len() < 60 {
            for _ in 0..7 {
                if seen.len() == 60 {
                    break;
                }
                let event = ws.next_of("message.new").await;
                assert!(seen.insert(event.data["seq"].as_i64().unwrap()), "duplicate {event:?}");
                cursor = event.pos;
            }
            drop(ws);
            ws = app.ws(&emily, Some(cursor)).await;
            for event in ws.replayed.iter().filter(|e| e.kind == "message.new") {
                assert!(seen.insert(event.data["seq"].as_i64().unwrap()), "duplicate on replay {event:?}");
                cursor = event.pos;
            }
        }
        sender.await.unwrap();
        assert_eq!(seen, (1..=60).collect::<HashSet<i64>>());
    }
}

mod slow_clients {
    use super::*;
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;

    /// Messages large enough that the slow reader's TCP buffers fill up.
    const BURST: usize = 500;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_that_falls_behind_is_dropped_and_others_are_not_stalled() {
        let app = TestApp::spawn_with(Backend::Sqlite, |c| c.ws_queue_depth = 4).await;
        let lin = app.register("Lin").await;
        let slow = app.register("Slow").await;
        let fast = app.register("Fast").await;
        app.befriend(&lin, &slow).await;
        app.befriend(&lin, &fast).await;
        let group = app.create_group(&lin, "burst", &[&slow, &fast]).await;

        // The slow device reads nothing and has a tiny receive buffer.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(app.addr).await.unwrap();
        let url = format!("ws://{}/api/ws?token={}", app.addr, slow.token);
        let (mut slow_ws, _) = tokio_tungstenite::client_async(url.as_str(), stream).await.unwrap();
        let mut fast_ws = app.ws(&fast, None).await;

        let big = "字".repeat(4000);
        for i in 0..BURST {
            app.send_text(&lin, group, &format!("{i} {big}")).await;
            let got = fast_ws.next_of("message.new").await;
            assert!(got.data["text"].as_str().unwrap().starts_with(&format!("{i} ")));
        }
        // The slow client finds, after what was buffered, its socket closed with the "reconnect" code.
        let mut closed_with = None;
        let mut received = 0;
        while let Some(frame) = slow_ws.next().await {
            match frame {
                Ok(Message::Close(Some(close))) => {
                    closed_with = Some(u16::from(close.code));
                    break;
                }
                Ok(Message::Text(_)) => received += 1,
                _ => {}
            }
        }
        assert_eq!(closed_with, Some(4008), "after {received} frames");
        assert!(received < BURST + 1, "it was dropped before getting everything");
        let metrics = app
            .http
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("qiao_ws_dropped_slow_total 1"), "{metrics}");
        // It catches up by sync and gets everything.
        let (events, _) = app.sync_all(&slow, 0).await;
        assert_eq!(events.iter().filter(|e| e.kind == "message.new").count(), BURST);
    }
}

both_stores! {
    async fn heartbeat_and_bad_frames(app: TestApp) {
        let lin = app.register("Lin").await;
        let mut ws = app.ws(&lin, None).await;
        ws.send_json(json!({"type": "ping"})).await;
        assert!(matches!(ws.next_frame().await, api::ServerFrame::Pong));
        ws.send_json(json!({"type": "dance"})).await;
        match ws.next_frame().await {
            api::ServerFrame::Error { code, .. } => assert_eq!(code, "invalid_request"),
            other => panic!("expected an error frame, got {other:?}"),
        }
    }
}

both_stores! {
    async fn sending_over_the_socket(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let conversation = app.befriend(&lin, &emily).await;
        let mut lin_ws = app.ws(&lin, None).await;
        let mut emily_ws = app.ws(&emily, None).await;
        let frame = json!({"type": "send", "conversation_id": conversation,
            "message": {"client_msg_id": "ws-1", "type": "text", "text": "over the socket"}});
        lin_ws.send_json(frame.clone()).await;
        let acked = loop {
            if let api::ServerFrame::Ack { client_msg_id, message } = lin_ws.next_frame().await {
                assert_eq!(client_msg_id, "ws-1");
                break message;
            }
        };
        assert_eq!(emily_ws.next_of("message.new").await.data["id"], acked.id);
        // A retry over the socket is acknowledged with the same message.
        lin_ws.send_json(frame).await;
        let retried = loop {
            if let api::ServerFrame::Ack { message, .. } = lin_ws.next_frame().await {
                break message;
            }
        };
        assert_eq!(retried, acked);
        let stranger_conversation = conversation + 1000;
        lin_ws.send_json(json!({"type": "send", "conversation_id": stranger_conversation,
            "message": {"client_msg_id": "ws-2", "type": "text", "text": "x"}})).await;
        loop {
            if let api::ServerFrame::Error { code, client_msg_id, .. } = lin_ws.next_frame().await {
                assert_eq!((code.as_str(), client_msg_id.as_deref()), ("conversation_not_found", Some("ws-2")));
                break;
            }
        }
        assert_eq!(app.history(&emily, conversation).await.len(), 1);
    }
}
