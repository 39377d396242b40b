//! Every class of bad input gets the right error and changes nothing.

use qiao_api as api;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_stores;
use crate::helpers::*;

/// What a user can observe; compared before and after each bad request.
async fn snapshot(app: &TestApp, users: &[&TestUser]) -> Value {
    let mut all = Vec::new();
    for user in users {
        let me = app.get(user, "/api/me").await.ok();
        let chats = app.get(user, "/api/conversations").await.ok();
        let contacts = app.get(user, "/api/contacts").await.ok();
        let requests = app.get(user, "/api/friend-requests").await.ok();
        let events: api::SyncResponse = app.get(user, "/api/sync?since=0&limit=500").await.typed();
        all.push(json!({"me": me, "chats": chats, "contacts": contacts, "requests": requests, "events": events.events.len()}));
    }
    Value::Array(all)
}

both_stores! {
    async fn bad_messages_change_nothing(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let outsider = app.register("Outsider").await;
        let conversation = app.befriend(&lin, &emily).await;
        app.send_text(&lin, conversation, "the only message").await;
        let before = snapshot(&app, &[&lin, &emily, &outsider]).await;
        let path = format!("/api/conversations/{conversation}/messages");

        let cases: Vec<(&TestUser, Value, u16, &str)> = vec![
            (&lin, json!({"type": "text", "text": "no id"}), 400, "invalid_request"),
            (&lin, json!({"client_msg_id": "a1", "text": "no type"}), 400, "invalid_request"),
            (&lin, json!({"client_msg_id": "a2", "type": "text"}), 400, "invalid_request"),
            (&lin, json!({"client_msg_id": "a3", "type": "text", "text": 42}), 400, "invalid_request"),
            (&lin, json!({"client_msg_id": 7, "type": "text", "text": "x"}), 400, "invalid_request"),
            (&lin, json!({"client_msg_id": "has space", "type": "text", "text": "x"}), 400, "invalid_request"),
            (&lin, json!({"client_msg_id": "a4", "type": "video", "text": "x"}), 400, "invalid_request"),
            (&lin, json!({"client_msg_id": "a5", "type": "text", "text": "   "}), 400, "invalid_request"),
            (&lin, json!({"client_msg_id": "a6", "type": "text", "text": "字".repeat(4097)}), 400, "too_long"),
            (&lin, json!({"client_msg_id": "a7", "type": "image", "blob": "0".repeat(64)}), 404, "upload_not_found"),
            (&lin, json!({"client_msg_id": "a8", "type": "image", "blob": "../../etc/passwd"}), 404, "upload_not_found"),
            (&outsider, json!({"client_msg_id": "a9", "type": "text", "text": "let me in"}), 403, "not_member"),
        ];
        for (user, body, status, code) in cases {
            app.post(user, &path, body.clone()).await.assert_error(status, code);
        }
        app.post(&lin, "/api/conversations/999999/messages", json!({"client_msg_id": "b1", "type": "text", "text": "x"})).await
            .assert_error(404, "conversation_not_found");
        assert_eq!(snapshot(&app, &[&lin, &emily, &outsider]).await, before);
    }
}

both_stores! {
    async fn bad_registrations_change_nothing(app: TestApp) {
        let lin = app.register("Lin").await;
        let base = json!({"phone": "+8613912345678", "password": "long enough", "display_name": "X", "region": "CN", "language": "zh-CN"});
        let with = |key: &str, value: Value| {
            let mut body = base.clone();
            body[key] = value;
            body
        };
        let cases = vec![
            (with("phone", json!("12345")), "invalid_phone"),
            (with("phone", json!(lin.phone)), "phone_taken"),
            (with("password", json!("short")), "invalid_password"),
            (with("display_name", json!("")), "invalid_display_name"),
            (with("region", json!("XX")), "invalid_region"),
            (with("language", json!("fr-FR")), "invalid_language"),
            (with("phone", Value::Null), "identifier_required"),
            (with("email", json!("not-an-email")), "invalid_email"),
            (with("password", json!(12345678)), "invalid_request"),
            (json!({"phone": "+8613912345678"}), "invalid_request"),
        ];
        for (body, code) in cases {
            let reply = app.request(Method::POST, "/api/auth/register", None, Some(body.clone()), "en-US").await;
            assert!(reply.status.is_client_error(), "{body}: {}", reply.body);
            assert_eq!(reply.body["code"], code, "{body}");
        }
        // None of them created an account.
        let found: Vec<api::UserSummary> = app.get(&lin, "/api/users/search?q=%2B8613912345678").await.typed();
        assert!(found.is_empty());
    }
}

both_stores! {
    async fn bad_tokens_and_malformed_requests(app: TestApp) {
        let lin = app.register("Lin").await;
        app.request(Method::GET, "/api/me", None, None, "en-US").await.assert_error(401, "unauthorized");
        app.request(Method::GET, "/api/me", Some("not-a-token"), None, "en-US").await.assert_error(401, "unauthorized");
        let zh = app.request(Method::GET, "/api/me", Some("not-a-token"), None, "zh-CN,zh;q=0.9").await;
        assert_eq!(zh.assert_error(401, "unauthorized"), "请重新登录。");

        // Malformed JSON and a wrong content type are answered in Qiao's format and language.
        for (content_type, body) in [("application/json", "{not json"), ("text/plain", "{}"), ("application/json", "[1,2]")] {
            let response = app.http.post(app.url("/api/friend-requests")).bearer_auth(&lin.token)
                .header("Content-Type", content_type).header("Accept-Language", "zh-CN").body(body).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 400);
            let error: api::ErrorBody = response.json().await.unwrap();
            assert_eq!(error.code, "invalid_request");
            assert_eq!(error.message, "请求格式错误，或有字段缺失、无效。");
        }
        let huge = format!(r#"{{"to_user_id": 1, "greeting": "{}"}}"#, "x".repeat(300 * 1024));
        let response = app.http.post(app.url("/api/friend-requests")).bearer_auth(&lin.token)
            .header("Content-Type", "application/json").body(huge).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 413);
        assert_eq!(response.json::<api::ErrorBody>().await.unwrap().code, "payload_too_large");

        app.get(&lin, "/api/conversations/not-a-number").await.assert_error(400, "invalid_request");
        app.get(&lin, "/api/no/such/route").await.assert_error(404, "not_found");
        app.get(&lin, "/api/sync?since=-1").await.assert_error(400, "invalid_cursor");
        app.get(&lin, "/api/sync?since=abc").await.assert_error(400, "invalid_cursor");
        app.get(&lin, "/api/sync?since=9000000000000000000").await.assert_error(400, "invalid_cursor");
        let future = tokio_tungstenite::connect_async(format!("ws://{}/api/ws?token={}&since=9000000000000000000", app.addr, lin.token)).await;
        assert!(future.is_err(), "a WebSocket with a cursor past the end is refused");
        app.get(&lin, "/api/sync?limit=100000").await.assert_error(400, "invalid_request");
        let ws = tokio_tungstenite::connect_async(format!("ws://{}/api/ws?token=bogus", app.addr)).await;
        assert!(ws.is_err(), "a WebSocket with a bad token is refused");
    }
}

both_stores! {
    async fn bad_contact_requests_change_nothing(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let before = snapshot(&app, &[&lin, &emily]).await;
        app.post(&lin, "/api/friend-requests", json!({"to_user_id": lin.id})).await.assert_error(400, "cannot_add_self");
        app.post(&lin, "/api/friend-requests", json!({"to_user_id": 987654})).await.assert_error(404, "user_not_found");
        app.post(&lin, "/api/friend-requests", json!({"to_user_id": emily.id, "greeting": "x".repeat(201)})).await.assert_error(400, "too_long");
        app.post(&lin, "/api/friend-requests", json!({"to_user_id": "two"})).await.assert_error(400, "invalid_request");
        app.post(&lin, "/api/friend-requests/12345/accept", json!({})).await.assert_error(404, "friend_request_not_found");
        app.call(Method::PATCH, &lin, &format!("/api/contacts/{}", emily.id), Some(json!({"remark": "x"}))).await.assert_error(403, "not_friends");
        app.call(Method::DELETE, &lin, &format!("/api/contacts/{}", emily.id), None).await.assert_error(403, "not_friends");
        app.post(&lin, "/api/conversations/direct", json!({"user_id": emily.id})).await.assert_error(403, "not_friends");
        app.post(&lin, "/api/groups", json!({"name": "g", "member_ids": [emily.id]})).await.assert_error(403, "not_friends");
        app.call(Method::PUT, &lin, &format!("/api/blocks/{}", lin.id), None).await.assert_error(400, "cannot_add_self");
        assert_eq!(snapshot(&app, &[&lin, &emily]).await, before);
    }
}

both_stores! {
    async fn nobody_reads_a_conversation_they_are_not_in(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let eve = app.register("Eve").await;
        let conversation = app.befriend(&lin, &emily).await;
        app.send_text(&lin, conversation, "private").await;
        app.get(&eve, &format!("/api/conversations/{conversation}")).await.assert_error(403, "not_member");
        app.get(&eve, &format!("/api/conversations/{conversation}/messages")).await.assert_error(403, "not_member");
        app.post(&eve, &format!("/api/conversations/{conversation}/receipts"), json!({"kind": "read", "up_to_seq": 1})).await.assert_error(403, "not_member");
        let message = app.history(&lin, conversation).await.remove(0);
        app.post(&eve, &format!("/api/messages/{}/recall", message.id), json!({})).await.assert_error(404, "message_not_found");
        let (events, _) = app.sync_all(&eve, 0).await;
        assert!(events.iter().all(|e| e.conversation_id != Some(conversation)));
        let mut ws = app.ws(&eve, Some(0)).await;
        assert!(ws.replayed.iter().all(|e| e.conversation_id != Some(conversation)));
        app.send_text(&lin, conversation, "still private").await;
        ws.send_json(json!({"type": "ping"})).await;
        assert!(matches!(ws.next_frame().await, api::ServerFrame::Pong), "nothing from the conversation came first");
    }
}

both_stores! {
    /// Hole 8 of the outside review, item by item.
    async fn the_smaller_holes_are_closed(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let chat = app.befriend(&lin, &emily).await;
        let group = app.create_group(&lin, "G", &[&emily]).await;
        let before = snapshot(&app, &[&lin, &emily]).await;
        // A NUL (or another control character) in a message or announcement:
        // PostgreSQL answered 500 and logged an ERROR; now it is bad input on both.
        for text in ["nul\u{0}inside", "escape\u{1b}[31m"] {
            app.post(&lin, &format!("/api/conversations/{chat}/messages"), json!({"client_msg_id": "n1", "type": "text", "text": text}))
                .await.assert_error(400, "invalid_text");
            app.call(Method::PATCH, &lin, &format!("/api/conversations/{group}"), Some(json!({"announcement": text})))
                .await.assert_error(400, "invalid_text");
        }
        // A JSON array is not a body with named fields.
        app.post(&lin, "/api/friend-requests", json!([emily.id, "positional"])).await.assert_error(400, "invalid_request");
        assert_eq!(snapshot(&app, &[&lin, &emily]).await, before);
        // Lines and tabs are text.
        app.post(&lin, &format!("/api/conversations/{chat}/messages"), json!({"client_msg_id": "n2", "type": "text", "text": "two\nlines\tand a tab"}))
            .await.ok();

        // An over-long address is answered in Qiao's format and language.
        let long = format!("/api/users/search?q={}", "x".repeat(9 * 1024));
        let reply = app.request(Method::GET, &long, Some(&lin.token), None, "zh-CN").await;
        assert_eq!(reply.assert_error(414, "uri_too_long"), "请求地址过长。");

        // Every answer says the page may not be framed and loads only its own code.
        for path in ["/", "/api/me", "/api/no/such/route"] {
            let response = app.http.get(app.url(path)).bearer_auth(&lin.token).send().await.unwrap();
            let headers = response.headers();
            let csp = headers.get("content-security-policy").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"), "{path}: {csp}");
            assert_eq!(headers.get("x-frame-options").unwrap(), "DENY");
            assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
        }
    }
}

mod write_limits {
    use super::*;

    /// Hole 8: 300 messages in 0.4 s went through, and uploads had no limit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_user_can_not_flood() {
        let app = TestApp::spawn_with(Backend::Sqlite, |c| {
            c.messages_per_user_per_second = 1;
            c.message_burst_per_user = 20;
            c.upload_mib_per_user_per_hour = 1;
            c.max_upload_bytes = 1024 * 1024;
        })
        .await;
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let chat = app.befriend(&lin, &emily).await;
        let sends = (0..40).map(|i| {
            let (app, lin) = (&app, &lin);
            async move {
                app.post(
                    lin,
                    &format!("/api/conversations/{chat}/messages"),
                    json!({"client_msg_id": format!("f{i}"), "type": "text", "text": "spam"}),
                )
                .await
            }
        });
        let replies = futures_util::future::join_all(sends).await;
        let sent = replies.iter().filter(|r| r.status.as_u16() == 201).count();
        for r in replies.iter().filter(|r| r.status.as_u16() != 201) {
            r.assert_error(429, "sending_too_fast");
        }
        assert!((20..=21).contains(&sent), "the burst, and at most one more: {sent}");
        assert_eq!(app.history(&emily, chat).await.len(), sent);
        // Emily is not limited by Lin's flood.
        app.send_text(&emily, chat, "fine").await;

        // Uploads: about a MiB an hour here.
        let png = {
            let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
            bytes.resize(600 * 1024, 7);
            bytes
        };
        let upload = |body: Vec<u8>| {
            let (app, lin) = (&app, &lin);
            async move {
                app.http
                    .post(app.url("/api/uploads"))
                    .bearer_auth(&lin.token)
                    .header("Content-Type", "image/png")
                    .header("Accept-Language", "en-US")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(upload(png.clone()).await.status().as_u16(), 201);
        let mut second = png.clone();
        second[100] = 8;
        let refused = upload(second).await;
        assert_eq!(refused.status().as_u16(), 429);
        assert_eq!(
            refused.json::<api::ErrorBody>().await.unwrap().code,
            "upload_quota_exceeded"
        );
    }
}

both_stores! {
    /// Without an Accept-Language header, errors speak the signed-in caller's
    /// language (English to anyone not signed in); the header still wins, and
    /// a language just chosen applies at once.
    async fn errors_speak_the_callers_language_when_the_request_names_none(app: TestApp) {
        let mei = app.register_in("CN", "Mei").await;
        let bare = |path: &str, token: Option<&str>| {
            let mut request = app.http.get(app.url(path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            async move {
                let response = request.send().await.unwrap();
                assert!(response.status().is_client_error());
                response.json::<api::ErrorBody>().await.unwrap()
            }
        };
        let missing = "/api/conversations/999999/messages";
        let error = bare(missing, Some(&mei.token)).await;
        assert_eq!((error.code.as_str(), error.message.as_str()), ("conversation_not_found", "会话不存在。"));
        assert_eq!(bare("/api/me", None).await.message, "Please sign in again.");

        let asked = app.request(Method::GET, missing, Some(&mei.token), None, "en-US").await;
        assert_eq!(asked.assert_error(404, "conversation_not_found"), "No such conversation.");

        app.call(Method::PATCH, &mei, "/api/me", Some(json!({"language": "en-US"}))).await.ok();
        assert_eq!(bare(missing, Some(&mei.token)).await.message, "No such conversation.");
    }
}
