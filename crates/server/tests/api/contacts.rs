//! Finding people, friend requests, remarks, deletion, blocking, discovery.

use qiao_api as api;
use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::both_stores;

both_stores! {
    async fn find_request_accept(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        app.call(Method::PUT, &emily, "/api/me/qiao-id", Some(json!({"qiao_id": "emily_us"}))).await.ok();

        for q in ["emily_us", emily.phone.as_str()] {
            let found: Vec<api::UserSummary> = app.get(&lin, &format!("/api/users/search?q={}", q.replace('+', "%2B"))).await.typed();
            assert_eq!(found.len(), 1, "{q}");
            assert_eq!(found[0].id, emily.id);
        }
        let none: Vec<api::UserSummary> = app.get(&lin, "/api/users/search?q=nobody_at_all").await.typed();
        assert!(none.is_empty());

        let request: api::FriendRequest = app.post(&lin, "/api/friend-requests", json!({"to_user_id": emily.id, "greeting": "我是林"})).await.typed();
        assert_eq!(request.status, "pending");
        let inbox: api::FriendRequests = app.get(&emily, "/api/friend-requests").await.typed();
        assert_eq!(inbox.incoming.len(), 1);
        assert_eq!(inbox.incoming[0].greeting, "我是林");

        let contact: api::Contact = app.post(&emily, &format!("/api/friend-requests/{}/accept", request.id), json!({})).await.typed();
        assert_eq!(contact.user.id, lin.id);
        let lins: Vec<api::Contact> = app.get(&lin, "/api/contacts").await.typed();
        assert_eq!(lins.len(), 1);
        assert_eq!((lins[0].user.id, lins[0].conversation_id), (emily.id, contact.conversation_id));

        // Answered once only.
        app.post(&emily, &format!("/api/friend-requests/{}/accept", request.id), json!({})).await.assert_error(409, "friend_request_handled");
        app.post(&lin, "/api/friend-requests", json!({"to_user_id": emily.id})).await.assert_error(409, "already_friends");
    }
}

both_stores! {
    async fn decline_and_wrong_addressee(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let mallory = app.register("Mallory").await;
        let request: api::FriendRequest = app.post(&lin, "/api/friend-requests", json!({"to_user_id": emily.id})).await.typed();
        // Only the addressee can answer.
        app.post(&mallory, &format!("/api/friend-requests/{}/accept", request.id), json!({})).await.assert_error(404, "friend_request_not_found");
        app.post(&lin, &format!("/api/friend-requests/{}/accept", request.id), json!({})).await.assert_error(404, "friend_request_not_found");
        app.post(&emily, &format!("/api/friend-requests/{}/decline", request.id), json!({})).await.ok();
        let contacts: Vec<api::Contact> = app.get(&emily, "/api/contacts").await.typed();
        assert!(contacts.is_empty());
        let requests: api::FriendRequests = app.get(&lin, "/api/friend-requests").await.typed();
        assert_eq!(requests.outgoing[0].status, "declined");
    }
}

both_stores! {
    async fn remark_and_delete(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let conversation = app.befriend(&lin, &emily).await;
        let contact: api::Contact = app.call(Method::PATCH, &lin, &format!("/api/contacts/{}", emily.id),
            Some(json!({"remark": "Emily (roommate)"}))).await.typed();
        assert_eq!(contact.remark.as_deref(), Some("Emily (roommate)"));
        let chats: Vec<api::Conversation> = app.get(&lin, "/api/conversations").await.typed();
        assert_eq!(chats[0].name, "Emily (roommate)");

        app.call(Method::DELETE, &lin, &format!("/api/contacts/{}", emily.id), None).await.ok();
        let contacts: Vec<api::Contact> = app.get(&emily, "/api/contacts").await.typed();
        assert!(contacts.is_empty());
        app.post(&emily, &format!("/api/conversations/{conversation}/messages"),
            json!({"client_msg_id": "after-delete", "type": "text", "text": "hello?"})).await.assert_error(403, "not_friends");
        assert!(app.history(&lin, conversation).await.is_empty());
    }
}

both_stores! {
    async fn blocked_users_can_neither_message_nor_request(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let stranger = app.register("Stranger").await;
        let conversation = app.befriend(&lin, &emily).await;
        app.send_text(&emily, conversation, "before the block").await;

        app.call(Method::PUT, &lin, &format!("/api/blocks/{}", emily.id), None).await.ok();
        app.call(Method::PUT, &lin, &format!("/api/blocks/{}", stranger.id), None).await.ok();
        let blocked: Vec<api::UserSummary> = app.get(&lin, "/api/blocks").await.typed();
        assert_eq!(blocked.len(), 2);

        app.post(&emily, &format!("/api/conversations/{conversation}/messages"),
            json!({"client_msg_id": "blocked-1", "type": "text", "text": "are you there?"})).await.assert_error(403, "blocked");
        app.post(&stranger, "/api/friend-requests", json!({"to_user_id": lin.id})).await.assert_error(403, "blocked");
        assert_eq!(app.history(&lin, conversation).await.len(), 1);
        let requests: api::FriendRequests = app.get(&lin, "/api/friend-requests").await.typed();
        assert!(requests.incoming.is_empty());

        app.call(Method::DELETE, &lin, &format!("/api/blocks/{}", emily.id), None).await.ok();
        app.send_text(&emily, conversation, "after the unblock").await;
        assert_eq!(app.history(&lin, conversation).await.len(), 2);
    }
}

both_stores! {
    async fn contact_discovery_by_phone_hash(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let hash = |phone: &str| hex_lower(&Sha256::digest(phone.as_bytes()));
        let reply: Vec<api::DiscoveredUser> = app.post(&lin, "/api/contacts/discover",
            json!({"phone_hashes": [hash(&emily.phone), hash("+15550000000"), hash(&lin.phone)]})).await.typed();
        assert_eq!(reply.len(), 1, "only Emily: unknown numbers and yourself are not returned");
        assert_eq!(reply[0].user.id, emily.id);
        assert_eq!(reply[0].phone_hash, hash(&emily.phone));
        app.post(&lin, "/api/contacts/discover", json!({"phone_hashes": ["not-a-hash"]})).await.assert_error(400, "invalid_request");
        let too_many: Vec<String> = (0..1001).map(|i| hash(&format!("+1555{i:07}"))).collect();
        app.post(&lin, "/api/contacts/discover", json!({"phone_hashes": too_many})).await.assert_error(400, "too_long");
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
