//! Several nodes: one PostgreSQL database, real-time delivery across nodes over NATS.

use std::collections::HashSet;

use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_on_different_nodes_chat_in_real_time() {
    let (east, west) = TestApp::cluster_of_two().await;
    let lin = east.register("Lin").await;
    let emily = west.register("Emily").await;

    // A friend request made on one node reaches a device on the other.
    let mut lin_ws = east.ws(&lin, Some(0)).await;
    let mut emily_ws = west.ws(&emily, Some(0)).await;
    let request: qiao_api::FriendRequest = west
        .post(&emily, "/api/friend-requests", json!({"to_user_id": lin.id}))
        .await
        .typed();
    assert_eq!(lin_ws.next_of("friend.request").await.data["id"], request.id);
    let contact: qiao_api::Contact = east
        .post(&lin, &format!("/api/friend-requests/{}/accept", request.id), json!({}))
        .await
        .typed();
    assert_eq!(emily_ws.next_of("friend.accepted").await.data["user_id"], lin.id);
    let conversation = contact.conversation_id;

    // Both write at once through their own nodes; each device sees every
    // message exactly once, in stream order.
    let (e, w) = (&east, &west);
    let (lin_ref, emily_ref) = (&lin, &emily);
    let lin_sends = async move {
        for i in 0..40 {
            e.send_text(lin_ref, conversation, &format!("lin {i}")).await;
        }
    };
    let emily_sends = async move {
        for i in 0..40 {
            w.send_text(emily_ref, conversation, &format!("emily {i}")).await;
        }
    };
    tokio::join!(lin_sends, emily_sends);
    for ws in [&mut lin_ws, &mut emily_ws] {
        let mut seqs = HashSet::new();
        let mut last_pos = 0;
        while seqs.len() < 80 {
            let event = ws.next_of("message.new").await;
            assert!(event.pos > last_pos, "out of order");
            last_pos = event.pos;
            assert!(seqs.insert(event.data["seq"].as_i64().unwrap()), "duplicate");
        }
        assert_eq!(seqs, (1..=80).collect::<HashSet<i64>>());
    }
    assert_eq!(east.history(&emily, conversation).await.len(), 80);
}
