//! Groups: three friends, governance, membership changes seen by everyone.

use qiao_api as api;
use reqwest::Method;
use serde_json::json;

use crate::both_stores;
use crate::helpers::*;

both_stores! {
    async fn a_group_of_three(app: TestApp) {
        let lin = app.register("Lin").await;
        let emily = app.register("Emily").await;
        let wang = app.register("Wang").await;
        app.befriend(&lin, &emily).await;
        app.befriend(&lin, &wang).await;
        let group = app.create_group(&lin, "Class of 2027", &[&emily, &wang]).await;

        let mut emily_ws = app.ws(&emily, None).await;
        let mut wang_ws = app.ws(&wang, None).await;
        app.send_text(&lin, group, "Welcome!").await;
        app.send_text(&emily, group, "Hi all").await;
        for ws in [&mut emily_ws, &mut wang_ws] {
            let a = ws.next_of("message.new").await;
            let b = ws.next_of("message.new").await;
            assert_eq!((a.data["text"].as_str(), b.data["text"].as_str()), (Some("Welcome!"), Some("Hi all")));
            assert!(a.pos < b.pos);
        }
        let detail: api::ConversationDetail = app.get(&wang, &format!("/api/conversations/{group}")).await.typed();
        assert_eq!(detail.conversation.member_count, 3);
        assert_eq!(detail.conversation.owner_id, Some(lin.id));
        let roles: Vec<_> = detail.members.iter().map(|m| (m.user.id, m.role.clone())).collect();
        assert!(roles.contains(&(lin.id, "owner".into())));
        assert_eq!(app.history(&wang, group).await.len(), 2);
    }
}

both_stores! {
    async fn governance(app: TestApp) {
        let owner = app.register("Owner").await;
        let admin = app.register("Admin").await;
        let member = app.register("Member").await;
        let late = app.register("Late").await;
        for user in [&admin, &member, &late] {
            app.befriend(&owner, user).await;
        }
        let group = app.create_group(&owner, "Association", &[&admin, &member]).await;
        let role_path = |u: &TestUser| format!("/api/conversations/{group}/members/{}/role", u.id);

        app.call(Method::PUT, &member, &role_path(&admin), Some(json!({"role": "admin"}))).await.assert_error(403, "forbidden");
        app.call(Method::PUT, &owner, &role_path(&admin), Some(json!({"role": "admin"}))).await.ok();
        app.call(Method::PUT, &owner, &role_path(&admin), Some(json!({"role": "owner"}))).await.assert_error(400, "invalid_request");

        // Renaming and announcements: owner and admins only.
        app.call(Method::PATCH, &member, &format!("/api/conversations/{group}"), Some(json!({"name": "Mine now"}))).await.assert_error(403, "forbidden");
        let renamed: api::ConversationDetail = app.call(Method::PATCH, &admin, &format!("/api/conversations/{group}"),
            Some(json!({"name": "CSSA Boston", "announcement": "Welcome party Friday 7pm"}))).await.typed();
        assert_eq!(renamed.conversation.name, "CSSA Boston");
        assert_eq!(renamed.conversation.announcement.as_deref(), Some("Welcome party Friday 7pm"));

        // Removing: admins remove members, not other admins; members remove no one.
        app.call(Method::DELETE, &member, &format!("/api/conversations/{group}/members/{}", admin.id), None).await.assert_error(403, "forbidden");
        app.call(Method::DELETE, &admin, &format!("/api/conversations/{group}/members/{}", owner.id), None).await.assert_error(403, "forbidden");
        app.call(Method::DELETE, &admin, &format!("/api/conversations/{group}/members/{}", member.id), None).await.ok();
        app.get(&member, &format!("/api/conversations/{group}/messages")).await.assert_error(403, "not_member");
        app.post(&member, &format!("/api/conversations/{group}/messages"),
            json!({"client_msg_id": "gone", "type": "text", "text": "let me back"})).await.assert_error(403, "not_member");

        // A later member does not see earlier history.
        app.send_text(&owner, group, "before Late joined").await;
        app.post(&owner, &format!("/api/conversations/{group}/members"), json!({"user_ids": [late.id]})).await.ok();
        app.post(&owner, &format!("/api/conversations/{group}/members"), json!({"user_ids": [late.id]})).await.assert_error(409, "already_member");
        app.send_text(&owner, group, "after Late joined").await;
        let seen: Vec<_> = app.history(&late, group).await.into_iter().map(|m| m.text.unwrap()).collect();
        assert_eq!(seen, ["after Late joined"]);

        // The owner hands over before leaving.
        app.post(&owner, &format!("/api/conversations/{group}/leave"), json!({})).await.assert_error(409, "owner_must_transfer");
        app.post(&admin, &format!("/api/conversations/{group}/owner"), json!({"user_id": late.id})).await.assert_error(403, "forbidden");
        let handed: api::ConversationDetail = app.post(&owner, &format!("/api/conversations/{group}/owner"), json!({"user_id": admin.id})).await.typed();
        assert_eq!(handed.conversation.owner_id, Some(admin.id));
        app.post(&owner, &format!("/api/conversations/{group}/leave"), json!({})).await.ok();
        let after: api::ConversationDetail = app.get(&admin, &format!("/api/conversations/{group}")).await.typed();
        assert_eq!(after.members.len(), 2);
    }
}

both_stores! {
    async fn only_friends_can_be_added(app: TestApp) {
        let lin = app.register("Lin").await;
        let friend = app.register("Friend").await;
        let stranger = app.register("Stranger").await;
        app.befriend(&lin, &friend).await;
        app.post(&lin, "/api/groups", json!({"name": "g", "member_ids": [friend.id, stranger.id]})).await.assert_error(403, "not_friends");
        let chats: Vec<api::Conversation> = app.get(&friend, "/api/conversations").await.typed();
        assert_eq!(chats.len(), 1, "only the direct chat: the failed group left nothing behind");
        let group = app.create_group(&lin, "g", &[&friend]).await;
        app.post(&friend, &format!("/api/conversations/{group}/members"), json!({"user_ids": [stranger.id]})).await.assert_error(403, "not_friends");
        app.post(&lin, "/api/groups", json!({"name": "  ", "member_ids": [friend.id]})).await.assert_error(400, "invalid_request");
        app.post(&lin, "/api/groups", json!({"name": "字".repeat(65), "member_ids": [friend.id]})).await.assert_error(400, "too_long");
    }
}
