//! Chat commands: finding people, friend requests, contacts, conversations,
//! groups, sending, history, recalling and watching live. Messages show
//! their id (what `recall` takes), the sender's name and the local time.

use anyhow::Context;
use clap::Subcommand;
use futures_util::StreamExt;
use qiao_api as api;
use serde_json::json;

use crate::client::{local_time, Client, Names, Profile};

#[derive(Subcommand)]
pub enum ChatCommand {
    /// Find a user by Qiao ID, phone or email.
    Search { query: String },
    /// Send a friend request to a user found by Qiao ID, phone or email.
    Add {
        query: String,
        #[arg(long, default_value = "")]
        greeting: String,
    },
    /// Show friend requests.
    Requests,
    /// Accept a friend request.
    Accept { request_id: i64 },
    /// Decline a friend request.
    Decline { request_id: i64 },
    /// List friends.
    Contacts,
    /// List conversations with unread counts.
    Chats,
    /// Create a group with friends (user ids).
    Group {
        name: String,
        #[arg(required = true)]
        members: Vec<i64>,
    },
    /// Send a text message to a conversation.
    Send { conversation_id: i64, text: String },
    /// Show the latest messages of a conversation.
    History {
        conversation_id: i64,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Recall one of your messages (within 2 minutes), by its message id.
    Recall { message_id: i64 },
    /// Print events live; with a conversation, only its messages (and mark them read).
    Watch {
        conversation_id: Option<i64>,
        /// Stop after this many messages (for scripts).
        #[arg(long)]
        count: Option<usize>,
    },
}

async fn search(client: &Client, query: &str) -> anyhow::Result<Vec<api::UserSummary>> {
    let mut url = url::Url::parse("http://x/api/users/search")?;
    url.query_pairs_mut().append_pair("q", query);
    client
        .get(&format!("/api/users/search?{}", url.query().unwrap_or_default()))
        .await
}

/// One message as a line: `#seq [message id] time name: body`.
pub async fn render(client: &Client, names: &mut Names, m: &api::Message) -> String {
    let t = client.texts;
    let body = if m.recalled {
        t.recalled_message()
    } else {
        match m.kind.as_str() {
            "text" => m.text.clone().unwrap_or_default(),
            "image" => t.image(&m.blob.clone().unwrap_or_default()),
            "transfer" => format!(
                "{} {}",
                t.transfer_message(m.payment_id.unwrap_or_default()),
                m.text.clone().unwrap_or_default()
            ),
            "red_packet" => format!(
                "{} {}",
                t.red_packet_message(m.payment_id.unwrap_or_default()),
                m.text.clone().unwrap_or_default()
            ),
            _ => t.file(&m.file_name.clone().unwrap_or_default()),
        }
    };
    let who = names.of(client, m.sender_id).await;
    t.message(m.seq, m.id, &local_time(m.sent_at_ms), &who, &body)
}

pub async fn run(client: &Client, profile: &mut Profile, command: &ChatCommand) -> anyhow::Result<()> {
    let t = client.texts;
    let mut names = Names::new(profile.user_id);
    match command {
        ChatCommand::Search { query } => {
            for user in search(client, query).await? {
                println!(
                    "{}\t{}\t{}",
                    user.id,
                    user.display_name,
                    user.qiao_id.unwrap_or_default()
                );
            }
        }
        ChatCommand::Add { query, greeting } => {
            let user = search(client, query)
                .await?
                .into_iter()
                .next()
                .with_context(|| t.no_such_user())?;
            let request: api::FriendRequest = client
                .post(
                    "/api/friend-requests",
                    json!({"to_user_id": user.id, "greeting": greeting}),
                )
                .await?;
            println!("{}", t.request_sent(request.id, &user.display_name));
        }
        ChatCommand::Requests => {
            let requests: api::FriendRequests = client.get("/api/friend-requests").await?;
            for r in requests.incoming {
                println!("{}", t.request_from(r.id, &r.from.display_name, &r.status, &r.greeting));
            }
            for r in requests.outgoing {
                println!("{}", t.request_to(r.id, &r.to.display_name, &r.status));
            }
        }
        ChatCommand::Accept { request_id } => {
            let contact: api::Contact = client
                .post(&format!("/api/friend-requests/{request_id}/accept"), json!({}))
                .await?;
            println!("{}", t.now_friends(&contact.user.display_name, contact.conversation_id));
        }
        ChatCommand::Decline { request_id } => {
            let _: serde_json::Value = client
                .post(&format!("/api/friend-requests/{request_id}/decline"), json!({}))
                .await?;
            println!("{}", t.declined());
        }
        ChatCommand::Contacts => {
            let contacts: Vec<api::Contact> = client.get("/api/contacts").await?;
            for c in contacts {
                let name = c.remark.unwrap_or(c.user.display_name);
                println!("{}", t.contact(c.user.id, &name, c.conversation_id));
            }
        }
        ChatCommand::Chats => {
            let chats: Vec<api::Conversation> = client.get("/api/conversations").await?;
            for c in chats {
                let last = c.last_message.and_then(|m| m.text).unwrap_or_default();
                println!("{}", t.chat(c.id, &c.name, c.unread, &last));
            }
        }
        ChatCommand::Group { name, members } => {
            let group: api::ConversationDetail = client
                .post("/api/groups", json!({"name": name, "member_ids": members}))
                .await?;
            println!("{}", t.group_created(group.conversation.id, group.members.len()));
        }
        ChatCommand::Send { conversation_id, text } => {
            let message: api::Message = client
                .post(
                    &format!("/api/conversations/{conversation_id}/messages"),
                    json!({"client_msg_id": uuid::Uuid::new_v4().simple().to_string(), "type": "text", "text": text}),
                )
                .await?;
            println!("{}", t.sent(message.seq, message.id));
        }
        ChatCommand::History { conversation_id, limit } => {
            let detail: api::ConversationDetail = client.get(&format!("/api/conversations/{conversation_id}")).await?;
            for member in &detail.members {
                names.learn(member.user.id, &member.user.display_name);
            }
            let mut messages: Vec<api::Message> = client
                .get(&format!("/api/conversations/{conversation_id}/messages?limit={limit}"))
                .await?;
            messages.reverse();
            for m in messages {
                println!("{}", render(client, &mut names, &m).await);
            }
        }
        ChatCommand::Recall { message_id } => {
            let _: api::Message = client
                .post(&format!("/api/messages/{message_id}/recall"), json!({}))
                .await?;
            println!("{}", t.recalled());
        }
        ChatCommand::Watch { conversation_id, count } => {
            watch(client, &mut names, profile, *conversation_id, *count).await?;
        }
    }
    Ok(())
}

/// Streams events over the WebSocket from the saved cursor; prints messages.
async fn watch(
    client: &Client,
    names: &mut Names,
    profile: &mut Profile,
    only: Option<i64>,
    count: Option<usize>,
) -> anyhow::Result<()> {
    let ws_base = client.server.replacen("http", "ws", 1);
    let url = format!(
        "{ws_base}/api/ws?token={}&since={}&lang={}",
        profile.token, profile.cursor, client.lang
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .context("connecting the WebSocket")?;
    let mut printed = 0;
    let mut live = false;
    while let Some(frame) = socket.next().await {
        let frame = frame?;
        let tokio_tungstenite::tungstenite::Message::Text(text) = frame else {
            continue;
        };
        let Ok(frame) = serde_json::from_str::<api::ServerFrame>(text.as_str()) else {
            continue;
        };
        match frame {
            api::ServerFrame::Synced { .. } => {
                live = true;
                eprintln!("{}", client.texts.live());
            }
            api::ServerFrame::Event(event) => {
                profile.cursor = event.pos;
                if only.is_some_and(|c| event.conversation_id != Some(c)) {
                    continue;
                }
                match event.kind.as_str() {
                    "message.new" => {
                        let message: api::Message = serde_json::from_value(event.data)?;
                        println!("{}", render(client, names, &message).await);
                        printed += 1;
                        if live && message.sender_id != profile.user_id {
                            let _: serde_json::Value = client
                                .post(
                                    &format!("/api/conversations/{}/receipts", message.conversation_id),
                                    json!({"kind": "read", "up_to_seq": message.seq}),
                                )
                                .await?;
                        }
                    }
                    other => println!("[{other}] {}", event.data),
                }
                if count.is_some_and(|n| printed >= n) {
                    break;
                }
            }
            api::ServerFrame::Error { message, code, .. } => eprintln!("{message} ({code})"),
            _ => {}
        }
    }
    let _ = socket.close(None).await;
    Ok(())
}
