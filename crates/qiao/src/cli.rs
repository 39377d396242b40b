//! Command line: `qiao serve` runs the server; the other subcommands are a
//! client that talks to a server over HTTP and WebSocket like any other.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use qiao_api as api;
use qiao_domain::money::{Currency, Money};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

#[derive(Parser)]
#[command(
    name = "qiao",
    version,
    about = "Qiao (桥): messaging with a wallet, on both sides of the border"
)]
struct Cli {
    /// Server to talk to (client commands).
    #[arg(long, global = true, env = "QIAO_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Where the client keeps its sign-in (client commands).
    #[arg(long, global = true, env = "QIAO_PROFILE")]
    profile: Option<PathBuf>,
    /// Language for server messages: zh-CN or en-US.
    #[arg(long, global = true, env = "QIAO_LANG", default_value = "en-US")]
    lang: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Data directory for SQLite and uploads (default ./data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// PostgreSQL URL; SQLite in the data directory when absent.
        #[arg(long)]
        database: Option<String>,
        /// Configuration file (default ./qiao.toml if it exists).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Create an account and sign in.
    Register {
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        password: String,
        #[arg(long)]
        name: String,
        /// CN or US.
        #[arg(long, default_value = "CN")]
        region: String,
    },
    /// Sign in with a phone, email or Qiao ID.
    Login {
        identifier: String,
        #[arg(long)]
        password: String,
    },
    /// Sign out this device.
    Logout,
    /// Show who is signed in.
    Whoami,
    /// Pick your Qiao ID (once).
    SetId { qiao_id: String },
    /// Prove your phone (or email) with the code sent to it; without a code, send a new one.
    Verify {
        /// `phone` or `email`.
        kind: String,
        code: Option<String>,
    },
    /// List signed-in devices.
    Sessions,
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
    /// Recall one of your messages (within 2 minutes).
    Recall { message_id: i64 },
    /// Show wallet balances and bound cards.
    Wallet,
    /// Bind a card (sandbox test cards: see the README).
    BindCard {
        number: String,
        /// `debit` or `credit`, as your region allows.
        #[arg(long, default_value = "debit")]
        funding: String,
        /// Confirm with the payment PIN...
        #[arg(long, env = "QIAO_PIN")]
        pin: Option<String>,
        /// ...or with the account password.
        #[arg(long, env = "QIAO_PASSWORD")]
        password: Option<String>,
    },
    /// Top up the wallet from a bound debit card, e.g. `qiao top-up 1 100.00`.
    TopUp { card_id: i64, amount: String },
    #[command(flatten)]
    Pay(crate::pay::PayCommand),
    /// Operator commands that work on the database directly.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print events live; with a conversation, only its messages (and mark them read).
    Watch {
        conversation_id: Option<i64>,
        /// Stop after this many messages (for scripts).
        #[arg(long)]
        count: Option<usize>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Recompute every balance from the ledger journal and check that each
    /// currency sums to zero and no balance breaks its rule. Exits 1 on any
    /// discrepancy. Read-only: safe beside a running server.
    Reconcile {
        /// Data directory of a SQLite deployment.
        #[arg(long, conflicts_with = "database", required_unless_present = "database")]
        data_dir: Option<PathBuf>,
        /// PostgreSQL URL of a PostgreSQL deployment.
        #[arg(long)]
        database: Option<String>,
    },
}

/// What the client remembers between commands.
#[derive(Serialize, Deserialize)]
struct Profile {
    server: String,
    token: String,
    user_id: i64,
    cursor: i64,
}

fn profile_path(cli: &Cli) -> PathBuf {
    cli.profile.clone().unwrap_or_else(|| {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        home.join(".qiao").join("profile.json")
    })
}

fn load_profile(cli: &Cli) -> anyhow::Result<Profile> {
    let path = profile_path(cli);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("not signed in ({} missing); run `qiao login`", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// Keeps a fresh sign-in for the next commands, starting its cursor at 0.
fn remember_sign_in(cli: &Cli, auth: &api::AuthResponse) -> anyhow::Result<()> {
    let profile = Profile {
        server: cli.server.clone(),
        token: auth.token.clone(),
        user_id: auth.user.id,
        cursor: 0,
    };
    save_profile(cli, &profile)
}

fn save_profile(cli: &Cli, profile: &Profile) -> anyhow::Result<()> {
    let path = profile_path(cli);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, serde_json::to_string_pretty(profile)?)?;
    Ok(())
}

pub struct Client {
    http: reqwest::Client,
    server: String,
    token: Option<String>,
    lang: String,
}

impl Client {
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<T> {
        let mut request = self
            .http
            .request(method, format!("{}{}", self.server, path))
            .header("Accept-Language", &self.lang);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.server))?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if !status.is_success() {
            let error: api::ErrorBody = serde_json::from_slice(&bytes).unwrap_or(api::ErrorBody {
                code: status.as_str().to_owned(),
                message: String::from_utf8_lossy(&bytes).into_owned(),
            });
            bail!("{} ({})", error.message, error.code);
        }
        let bytes = if bytes.is_empty() { "null".into() } else { bytes };
        Ok(serde_json::from_slice(&bytes)?)
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: serde_json::Value) -> anyhow::Result<T> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// A GET whose answer is text (the CSV export).
    pub async fn text(&self, path: &str) -> anyhow::Result<String> {
        let mut request = self
            .http
            .get(format!("{}{}", self.server, path))
            .header("Accept-Language", &self.lang);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.server))?;
        if !response.status().is_success() {
            bail!("{}: {}", response.status(), response.text().await.unwrap_or_default());
        }
        Ok(response.text().await?)
    }
}

pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run(cli))
}

async fn serve(
    listen: Option<std::net::SocketAddr>,
    data_dir: Option<PathBuf>,
    database: Option<String>,
    config: Option<PathBuf>,
) -> anyhow::Result<()> {
    let mut config = qiao_server::Config::load(config.as_deref()).map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    if let Some(listen) = listen {
        config.listen = listen;
    }
    if let Some(dir) = data_dir {
        config.data_dir = dir;
    }
    if database.is_some() {
        config.database = database;
    }
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into());
    if config.log_json {
        tracing_subscriber::fmt().json().with_env_filter(filter).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let store_name = if config.database.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let app = qiao_server::Application::build(config).await?;
    let addr = app.local_addr()?;
    tracing::info!(%addr, store = store_name, "qiao is serving; open http://{addr}/");
    app.run().await?;
    Ok(())
}

async fn reconcile(data_dir: Option<PathBuf>, database: Option<String>) -> anyhow::Result<()> {
    let location = match (database, data_dir) {
        (Some(url), _) => qiao_store::Location::Postgres(url),
        (None, Some(dir)) => qiao_store::Location::Sqlite(
            qiao_server::Config {
                data_dir: dir,
                ..Default::default()
            }
            .sqlite_path(),
        ),
        (None, None) => bail!("give --data-dir or --database"),
    };
    let report = tokio::task::spawn_blocking(move || qiao_store::reconcile_at(&location)).await??;
    print!("{}", report.render());
    if !report.is_sound() {
        std::process::exit(1);
    }
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Serve {
        listen,
        data_dir,
        database,
        config,
    } = cli.command
    {
        return serve(listen, data_dir, database, config).await;
    }
    if let Command::Admin {
        command: AdminCommand::Reconcile { data_dir, database },
    } = cli.command
    {
        return reconcile(data_dir, database).await;
    }
    let http = reqwest::Client::new();
    let signed_in = load_profile(&cli).ok();
    let client = Client {
        http,
        server: signed_in
            .as_ref()
            .map_or_else(|| cli.server.clone(), |p| p.server.clone()),
        token: signed_in.as_ref().map(|p| p.token.clone()),
        lang: cli.lang.clone(),
    };
    let needs_login = !matches!(cli.command, Command::Register { .. } | Command::Login { .. });
    if needs_login && signed_in.is_none() {
        bail!("not signed in; run `qiao login` or `qiao register`");
    }
    let client = if needs_login {
        client
    } else {
        Client {
            server: cli.server.clone(),
            token: None,
            ..client
        }
    };
    match &cli.command {
        Command::Serve { .. } | Command::Admin { .. } => {}
        Command::Wallet => {
            let wallet: api::Wallet = client.get("/api/wallet").await?;
            for b in wallet.balances {
                let currency =
                    Currency::parse(&b.currency).map_err(|_| anyhow::anyhow!("unknown currency {}", b.currency))?;
                println!(
                    "{} {}",
                    b.currency,
                    Money {
                        minor: b.balance_minor,
                        currency
                    }
                    .to_decimal()
                );
            }
            let cards: Vec<api::Card> = client.get("/api/wallet/cards").await?;
            for c in cards {
                println!("card {}\t{} **** {}\t{}", c.id, c.brand, c.last4, c.funding);
            }
        }
        Command::BindCard {
            number,
            funding,
            pin,
            password,
        } => {
            let card: api::Card = client
                .post(
                    "/api/wallet/cards",
                    serde_json::json!({"number": number, "funding": funding, "pin": pin, "password": password}),
                )
                .await?;
            println!(
                "bound card {} ({} **** {}, {})",
                card.id, card.brand, card.last4, card.funding
            );
        }
        Command::TopUp { card_id, amount } => {
            let wallet: api::Wallet = client.get("/api/wallet").await?;
            let code = wallet.balances.first().map(|b| b.currency.clone()).unwrap_or_default();
            let currency = Currency::parse(&code).map_err(|_| anyhow::anyhow!("unknown wallet currency {code}"))?;
            let money = Money::parse_decimal(amount, currency)
                .map_err(|_| anyhow::anyhow!("{amount} is not an amount of {code}"))?;
            let done: api::TopUp = client
                .post(
                    "/api/wallet/top-ups",
                    serde_json::json!({"card_id": card_id, "amount_minor": money.minor,
                        "idempotency_key": uuid::Uuid::new_v4().simple().to_string()}),
                )
                .await?;
            let balance = Money {
                minor: done.balance_minor,
                currency,
            };
            println!(
                "topped up {} {code}; balance {} {code}",
                money.to_decimal(),
                balance.to_decimal()
            );
        }
        Command::Register {
            phone,
            email,
            password,
            name,
            region,
        } => {
            let auth: api::AuthResponse = client
                .post(
                    "/api/auth/register",
                    serde_json::json!({"phone": phone, "email": email, "password": password, "display_name": name,
                        "region": region, "language": cli.lang, "device_name": "qiao cli"}),
                )
                .await?;
            remember_sign_in(&cli, &auth)?;
            println!(
                "registered and signed in as {} (user id {})",
                auth.user.display_name, auth.user.id
            );
        }
        Command::Login { identifier, password } => {
            let auth: api::AuthResponse = client
                .post(
                    "/api/auth/login",
                    serde_json::json!({"identifier": identifier, "password": password, "device_name": "qiao cli"}),
                )
                .await?;
            remember_sign_in(&cli, &auth)?;
            println!("signed in as {} (user id {})", auth.user.display_name, auth.user.id);
        }
        Command::Logout => {
            let _: serde_json::Value = client.post("/api/auth/logout", serde_json::json!({})).await?;
            let _ = std::fs::remove_file(profile_path(&cli));
            println!("signed out");
        }
        Command::Whoami => {
            let me: api::Profile = client.get("/api/me").await?;
            println!(
                "{} (user id {}, Qiao ID {}, region {})",
                me.display_name,
                me.id,
                me.qiao_id.as_deref().unwrap_or("-"),
                me.region
            );
        }
        Command::Verify { kind, code } => match code {
            None => {
                let (): () = client
                    .post("/api/me/verification", serde_json::json!({"kind": kind}))
                    .await?;
                println!("a new code was sent to your {kind}");
            }
            Some(code) => {
                let me: api::Profile = client
                    .post(
                        "/api/me/verification/confirm",
                        serde_json::json!({"kind": kind, "code": code}),
                    )
                    .await?;
                let proven = if kind == "phone" { me.phone } else { me.email };
                println!("verified: {}", proven.unwrap_or_default());
            }
        },
        Command::SetId { qiao_id } => {
            let me: api::Profile = client
                .call(
                    reqwest::Method::PUT,
                    "/api/me/qiao-id",
                    Some(serde_json::json!({"qiao_id": qiao_id})),
                )
                .await?;
            println!("your Qiao ID is {}", me.qiao_id.unwrap_or_default());
        }
        Command::Sessions => {
            let sessions: Vec<api::SessionInfo> = client.get("/api/sessions").await?;
            for s in sessions {
                println!(
                    "{}\t{}{}",
                    s.id,
                    s.device_name,
                    if s.current { "\t(this device)" } else { "" }
                );
            }
        }
        Command::Search { query } => {
            for user in search(&client, query).await? {
                println!(
                    "{}\t{}\t{}",
                    user.id,
                    user.display_name,
                    user.qiao_id.unwrap_or_default()
                );
            }
        }
        Command::Add { query, greeting } => {
            let user = search(&client, query)
                .await?
                .into_iter()
                .next()
                .context("no such user")?;
            let request: api::FriendRequest = client
                .post(
                    "/api/friend-requests",
                    serde_json::json!({"to_user_id": user.id, "greeting": greeting}),
                )
                .await?;
            println!("friend request {} sent to {}", request.id, user.display_name);
        }
        Command::Requests => {
            let requests: api::FriendRequests = client.get("/api/friend-requests").await?;
            for r in requests.incoming {
                println!(
                    "{}\tfrom {} (user {})\t{}\t{}",
                    r.id, r.from.display_name, r.from.id, r.status, r.greeting
                );
            }
            for r in requests.outgoing {
                println!("{}\tto {} (user {})\t{}", r.id, r.to.display_name, r.to.id, r.status);
            }
        }
        Command::Accept { request_id } => {
            let contact: api::Contact = client
                .post(
                    &format!("/api/friend-requests/{request_id}/accept"),
                    serde_json::json!({}),
                )
                .await?;
            println!(
                "now friends with {}; conversation {}",
                contact.user.display_name, contact.conversation_id
            );
        }
        Command::Decline { request_id } => {
            let _: serde_json::Value = client
                .post(
                    &format!("/api/friend-requests/{request_id}/decline"),
                    serde_json::json!({}),
                )
                .await?;
            println!("declined");
        }
        Command::Contacts => {
            let contacts: Vec<api::Contact> = client.get("/api/contacts").await?;
            for c in contacts {
                println!(
                    "{}\t{}\tconversation {}",
                    c.user.id,
                    c.remark.unwrap_or(c.user.display_name),
                    c.conversation_id
                );
            }
        }
        Command::Chats => {
            let chats: Vec<api::Conversation> = client.get("/api/conversations").await?;
            for c in chats {
                let last = c.last_message.and_then(|m| m.text).unwrap_or_default();
                println!("{}\t{}\t{} unread\t{}", c.id, c.name, c.unread, last);
            }
        }
        Command::Group { name, members } => {
            let group: api::ConversationDetail = client
                .post("/api/groups", serde_json::json!({"name": name, "member_ids": members}))
                .await?;
            println!(
                "group {} created with {} members",
                group.conversation.id,
                group.members.len()
            );
        }
        Command::Send { conversation_id, text } => {
            let message: api::Message = client
                .post(
                    &format!("/api/conversations/{conversation_id}/messages"),
                    serde_json::json!({"client_msg_id": uuid::Uuid::new_v4().simple().to_string(), "type": "text", "text": text}),
                )
                .await?;
            println!("sent #{}", message.seq);
        }
        Command::History { conversation_id, limit } => {
            let mut messages: Vec<api::Message> = client
                .get(&format!("/api/conversations/{conversation_id}/messages?limit={limit}"))
                .await?;
            messages.reverse();
            for m in messages {
                println!("{}", render(&m));
            }
        }
        Command::Recall { message_id } => {
            let _: api::Message = client
                .post(&format!("/api/messages/{message_id}/recall"), serde_json::json!({}))
                .await?;
            println!("recalled");
        }
        Command::Pay(command) => crate::pay::run(&client, command).await?,
        Command::Watch { conversation_id, count } => {
            let mut profile = load_profile(&cli)?;
            watch(&client, &mut profile, *conversation_id, *count).await?;
            save_profile(&cli, &profile)?;
        }
    }
    Ok(())
}

async fn search(client: &Client, query: &str) -> anyhow::Result<Vec<api::UserSummary>> {
    let mut url = url::Url::parse("http://x/api/users/search")?;
    url.query_pairs_mut().append_pair("q", query);
    client
        .get(&format!("/api/users/search?{}", url.query().unwrap_or_default()))
        .await
}

fn render(m: &api::Message) -> String {
    let body = if m.recalled {
        "(recalled)".to_owned()
    } else {
        match m.kind.as_str() {
            "text" => m.text.clone().unwrap_or_default(),
            "image" => format!("[image {}]", m.blob.clone().unwrap_or_default()),
            "transfer" | "red_packet" => format!(
                "[{} {}] {}",
                m.kind.replace('_', " "),
                m.payment_id.unwrap_or_default(),
                m.text.clone().unwrap_or_default()
            ),
            _ => format!("[file {}]", m.file_name.clone().unwrap_or_default()),
        }
    };
    format!("#{} user {}: {}", m.seq, m.sender_id, body)
}

/// Streams events over the WebSocket from the saved cursor; prints messages.
async fn watch(client: &Client, profile: &mut Profile, only: Option<i64>, count: Option<usize>) -> anyhow::Result<()> {
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
                eprintln!("-- live --");
            }
            api::ServerFrame::Event(event) => {
                profile.cursor = event.pos;
                if only.is_some_and(|c| event.conversation_id != Some(c)) {
                    continue;
                }
                match event.kind.as_str() {
                    "message.new" => {
                        let message: api::Message = serde_json::from_value(event.data)?;
                        println!("{}", render(&message));
                        printed += 1;
                        if live && message.sender_id != profile.user_id {
                            let _: serde_json::Value = client
                                .post(
                                    &format!("/api/conversations/{}/receipts", message.conversation_id),
                                    serde_json::json!({"kind": "read", "up_to_seq": message.seq}),
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
            api::ServerFrame::Error { message, code, .. } => eprintln!("error: {message} ({code})"),
            _ => {}
        }
    }
    let _ = socket.close(None).await;
    Ok(())
}
