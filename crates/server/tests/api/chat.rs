//! Direct chat: sending, idempotency, history, recall, receipts, unread, uploads.

use qiao_api as api;
use serde_json::json;

use crate::both_stores;

both_stores! {
    async fn two_friends_chat(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let conversation = app.befriend(&lin, &emily).await;
        let first = app.send_text(&lin, conversation, "Dinner tonight?").await;
        let second = app.send_text(&emily, conversation, "Sure! 7pm").await;
        let third = app.send_text(&lin, conversation, "👍").await;
        assert_eq!((first.seq, second.seq, third.seq), (1, 2, 3));
        assert!(first.sent_at_ms <= second.sent_at_ms);

        let history = app.history(&emily, conversation).await;
        let texts: Vec<_> = history.iter().map(|m| m.text.clone().unwrap()).collect();
        assert_eq!(texts, ["👍", "Sure! 7pm", "Dinner tonight?"], "newest first");
        let page: Vec<api::Message> = app.get(&emily, &format!("/api/conversations/{conversation}/messages?before=3&limit=1")).await.typed();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].seq, 2);

        let chats: Vec<api::Conversation> = app.get(&emily, "/api/conversations").await.typed();
        assert_eq!(chats.len(), 1);
        assert_eq!((chats[0].kind.as_str(), chats[0].name.as_str(), chats[0].unread), ("direct", "Lin", 2));
        assert_eq!(chats[0].last_message.as_ref().unwrap().seq, 3);
    }
}

both_stores! {
    async fn a_retried_send_returns_the_first_message(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let conversation = app.befriend(&lin, &emily).await;
        let path = format!("/api/conversations/{conversation}/messages");
        let body = json!({"client_msg_id": "retry-me", "type": "text", "text": "once"});
        let first = app.post(&lin, &path, body.clone()).await;
        assert_eq!(first.status.as_u16(), 201);
        let again = app.post(&lin, &path, body).await;
        assert_eq!(again.status.as_u16(), 200);
        assert_eq!(first.body, again.body);
        // Same id, other content: a conflict, and nothing is stored.
        app.post(&lin, &path, json!({"client_msg_id": "retry-me", "type": "text", "text": "twice"})).await
            .assert_error(409, "idempotency_conflict");
        assert_eq!(app.history(&emily, conversation).await.len(), 1);
        let next = app.send_text(&lin, conversation, "next").await;
        assert_eq!(next.seq, 2, "no gap after the rejected retry");
    }
}

both_stores! {
    async fn recall_within_two_minutes(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let conversation = app.befriend(&lin, &emily).await;
        let oops = app.send_text(&lin, conversation, "wrong chat!").await;
        app.post(&emily, &format!("/api/messages/{}/recall", oops.id), json!({})).await.assert_error(403, "forbidden");
        let recalled: api::Message = app.post(&lin, &format!("/api/messages/{}/recall", oops.id), json!({})).await.typed();
        assert!(recalled.recalled && recalled.text.is_none());
        app.post(&lin, &format!("/api/messages/{}/recall", oops.id), json!({})).await.assert_error(409, "already_recalled");
        let seen = app.history(&emily, conversation).await;
        assert!(seen[0].recalled && seen[0].text.is_none(), "the content is gone for the recipient too");
        let (events, _) = app.sync_all(&emily, 0).await;
        assert!(!serde_json::to_string(&events).unwrap().contains("wrong chat!"), "and from sync replay");

        let late = app.send_text(&lin, conversation, "too late to take back").await;
        app.clock.advance_ms(2 * 60 * 1000 + 1);
        app.post(&lin, &format!("/api/messages/{}/recall", late.id), json!({})).await.assert_error(409, "recall_window_passed");
        assert_eq!(app.history(&emily, conversation).await[0].text.as_deref(), Some("too late to take back"));
    }
}

both_stores! {
    async fn receipts_and_unread_counts(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let conversation = app.befriend(&lin, &emily).await;
        for text in ["one", "two", "three"] {
            app.send_text(&lin, conversation, text).await;
        }
        let unread = |chats: Vec<api::Conversation>| chats[0].unread;
        assert_eq!(unread(app.get(&emily, "/api/conversations").await.typed()), 3);
        assert_eq!(unread(app.get(&lin, "/api/conversations").await.typed()), 0, "your own messages are not unread");

        let receipts = format!("/api/conversations/{conversation}/receipts");
        app.post(&emily, &receipts, json!({"kind": "delivered", "up_to_seq": 3})).await.ok();
        app.post(&emily, &receipts, json!({"kind": "read", "up_to_seq": 2})).await.ok();
        assert_eq!(unread(app.get(&emily, "/api/conversations").await.typed()), 1);
        // Marks only move forward.
        app.post(&emily, &receipts, json!({"kind": "read", "up_to_seq": 1})).await.ok();
        let detail: api::ConversationDetail = app.get(&lin, &format!("/api/conversations/{conversation}")).await.typed();
        let her = detail.members.iter().find(|m| m.user.id == emily.id).unwrap();
        assert_eq!((her.last_delivered_seq, her.last_read_seq), (3, 2));
        app.post(&emily, &receipts, json!({"kind": "read", "up_to_seq": 4})).await.assert_error(400, "invalid_request");
        app.post(&emily, &receipts, json!({"kind": "seen", "up_to_seq": 1})).await.assert_error(400, "invalid_request");

        let (events, _) = app.sync_all(&lin, 0).await;
        let reads: Vec<_> = events.iter().filter(|e| e.kind == "receipt.read").collect();
        assert_eq!(reads.len(), 1, "one read receipt event: the backwards one changed nothing");
        assert_eq!(reads[0].data["up_to_seq"], 2);
    }
}

both_stores! {
    async fn quoted_replies_and_mentions(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let conversation = app.befriend(&lin, &emily).await;
        let question = app.send_text(&lin, conversation, "Which restaurant?").await;
        let answer: api::Message = app.post(&emily, &format!("/api/conversations/{conversation}/messages"),
            json!({"client_msg_id": "reply-1", "type": "text", "text": "The noodle place", "reply_to": question.id, "mentions": [lin.id]}))
            .await.typed();
        assert_eq!(answer.reply_to, Some(question.id));
        assert_eq!(answer.mentions, vec![lin.id]);
        let other = app.register("Other").await;
        let elsewhere = app.befriend(&lin, &other).await;
        app.post(&lin, &format!("/api/conversations/{elsewhere}/messages"),
            json!({"client_msg_id": "reply-2", "type": "text", "text": "x", "reply_to": question.id})).await
            .assert_error(404, "message_not_found");
        app.post(&lin, &format!("/api/conversations/{conversation}/messages"),
            json!({"client_msg_id": "mention-1", "type": "text", "text": "x", "mentions": [other.id]})).await
            .assert_error(403, "not_member");
    }
}

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89";

both_stores! {
    async fn images_are_readable_only_by_members(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let stranger = app.register("Stranger").await;
        let conversation = app.befriend(&lin, &emily).await;
        let uploaded: api::Upload = app.upload(&lin, "image/png", PNG).await.typed();
        assert_eq!((uploaded.kind.as_str(), uploaded.size), ("image", PNG.len() as i64));

        let blob_url = format!("/api/uploads/{}", uploaded.hash);
        app.get(&emily, &blob_url).await.assert_error(404, "upload_not_found");
        let sent: api::Message = app.post(&lin, &format!("/api/conversations/{conversation}/messages"),
            json!({"client_msg_id": "img-1", "type": "image", "blob": uploaded.hash})).await.typed();
        assert_eq!((sent.kind.as_str(), sent.mime.as_deref()), ("image", Some("image/png")));

        let bytes = app.http.get(app.url(&blob_url)).bearer_auth(&emily.token).send().await.unwrap();
        assert_eq!(bytes.status().as_u16(), 200);
        assert_eq!(bytes.headers()["content-type"], "image/png");
        assert_eq!(bytes.bytes().await.unwrap().as_ref(), PNG);
        app.get(&stranger, &blob_url).await.assert_error(404, "upload_not_found");
        // A stranger cannot send someone else's blob either.
        let theirs = app.register("Friend of stranger").await;
        let elsewhere = app.befriend(&stranger, &theirs).await;
        app.post(&stranger, &format!("/api/conversations/{elsewhere}/messages"),
            json!({"client_msg_id": "steal-1", "type": "image", "blob": uploaded.hash})).await
            .assert_error(404, "upload_not_found");
    }
}

both_stores! {
    async fn files_are_checked_for_type_and_size(app: TestApp) {
        let lin = app.register("Lin").await;
        app.upload(&lin, "image/png", b"GIF89a not a png").await.assert_error(415, "unsupported_media_type");
        app.upload(&lin, "application/x-msdownload", b"MZ\x90\x00").await.assert_error(415, "unsupported_media_type");
        let big = vec![b'a'; app.config.max_upload_bytes + 1];
        app.upload(&lin, "text/plain", &big).await.assert_error(413, "upload_too_large");
        let pdf: api::Upload = app.upload(&lin, "application/pdf", b"%PDF-1.7 tiny").await.typed();
        assert_eq!(pdf.kind, "file");
        let emily = app.register("Emily").await;
        let conversation = app.befriend(&lin, &emily).await;
        // A document cannot pose as an image.
        app.post(&lin, &format!("/api/conversations/{conversation}/messages"),
            json!({"client_msg_id": "pdf-img", "type": "image", "blob": pdf.hash})).await
            .assert_error(415, "unsupported_media_type");
        let sent: api::Message = app.post(&lin, &format!("/api/conversations/{conversation}/messages"),
            json!({"client_msg_id": "pdf-file", "type": "file", "blob": pdf.hash, "file_name": "menu.pdf"})).await.typed();
        assert_eq!(sent.file_name.as_deref(), Some("menu.pdf"));
        assert_eq!(app.history(&emily, conversation).await.len(), 1);
    }
}
