//! Command line: `qiao serve` runs the server, `qiao admin` works on its
//! database; the other subcommands are a client that talks to a server over
//! HTTP and WebSocket like any other. Each area of commands lives in its own
//! module (`account`, `chat`, `pay`); this one parses and dispatches.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Parser, Subcommand};

use crate::client::{Client, PendingKeys, Profile};
use crate::texts::Texts;

#[derive(Parser)]
#[command(
    name = "qiao",
    version,
    about = "Qiao (桥): messaging with a wallet, on both sides of the border"
)]
pub struct Cli {
    /// Server to talk to (client commands).
    #[arg(long, global = true, env = "QIAO_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Where the client keeps its sign-in (client commands).
    #[arg(long, global = true, env = "QIAO_PROFILE")]
    pub profile: Option<PathBuf>,
    /// Language of what the client prints and of the server's messages: zh-CN or en-US.
    #[arg(long, global = true, env = "QIAO_LANG", default_value = "en-US")]
    pub lang: String,
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
    /// Operator commands that work on the database directly.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    #[command(flatten)]
    Account(crate::account::AccountCommand),
    #[command(flatten)]
    Chat(crate::chat::ChatCommand),
    #[command(flatten)]
    Pay(crate::pay::PayCommand),
    /// A merchant's owner or cashier: orders, payment codes, refunds, the report.
    Merchant {
        #[command(subcommand)]
        command: crate::merchant::MerchantCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Recompute every balance from the ledger journal and check every rule
    /// (totals, sums, floors, settlements, escrow, the numeric limit). Exits
    /// 1 on any discrepancy. Read-only: safe beside a running server.
    Reconcile {
        /// Data directory of a SQLite deployment.
        #[arg(long, conflicts_with = "database", required_unless_present = "database")]
        data_dir: Option<PathBuf>,
        /// PostgreSQL URL of a PostgreSQL deployment.
        #[arg(long)]
        database: Option<String>,
    },
    /// Copy the database (SQLite: a consistent snapshot while the server
    /// runs; PostgreSQL: pg_dump) and then the uploaded blobs into a new
    /// directory. docs/operations.md says how to restore it.
    Backup {
        /// Data directory: its SQLite database (unless --database) and its blobs.
        #[arg(long, required_unless_present = "database")]
        data_dir: Option<PathBuf>,
        /// PostgreSQL URL of a PostgreSQL deployment (needs pg_dump on PATH).
        #[arg(long)]
        database: Option<String>,
        /// Where the backup goes: a new or empty directory.
        #[arg(long)]
        to: PathBuf,
    },
}

impl Cli {
    pub fn profile_path(&self) -> PathBuf {
        self.profile.clone().unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."));
            home.join(".qiao").join("profile.json")
        })
    }

    pub fn texts(&self) -> Texts {
        Texts::for_lang(&self.lang)
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
        // Colour only for a person at a terminal: a file or journald gets plain text.
        let colour = std::io::IsTerminal::is_terminal(&std::io::stdout()) && std::env::var_os("NO_COLOR").is_none();
        tracing_subscriber::fmt()
            .with_ansi(colour)
            .with_env_filter(filter)
            .init();
    }
    let store_name = if config.database.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let scheme = if config.tls_cert_file.is_some() {
        "https"
    } else {
        "http"
    };
    let app = qiao_server::Application::build(config).await?;
    let addr = app.local_addr()?;
    tracing::info!(%addr, store = store_name, "qiao is serving; open {scheme}://{addr}/");
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

/// The signed-in client, or (for registering and signing in) an anonymous one.
fn client(cli: &Cli, anonymous: bool) -> anyhow::Result<(Client, Option<Profile>)> {
    let texts = cli.texts();
    let profile = if anonymous {
        None
    } else {
        Some(Profile::load(&cli.profile_path(), texts)?)
    };
    let client = Client {
        http: reqwest::Client::new(),
        server: profile
            .as_ref()
            .map_or_else(|| cli.server.clone(), |p| p.server.clone()),
        token: profile.as_ref().map(|p| p.token.clone()),
        lang: cli.lang.clone(),
        texts,
    };
    Ok((client, profile))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Serve {
            listen,
            data_dir,
            database,
            config,
        } => serve(*listen, data_dir.clone(), database.clone(), config.clone()).await,
        Command::Admin {
            command: AdminCommand::Reconcile { data_dir, database },
        } => reconcile(data_dir.clone(), database.clone()).await,
        Command::Admin {
            command: AdminCommand::Backup { data_dir, database, to },
        } => crate::backup::backup(data_dir.clone(), database.clone(), to.clone()).await,
        Command::Account(command) => {
            let (client, profile) = client(&cli, command.is_anonymous())?;
            crate::account::run(&cli, &client, profile, command).await
        }
        Command::Chat(command) => {
            let (client, profile) = client(&cli, false)?;
            let mut profile = profile.ok_or_else(|| anyhow::anyhow!(cli.texts().not_signed_in()))?;
            crate::chat::run(&client, &mut profile, command).await?;
            profile.save(&cli.profile_path())
        }
        Command::Pay(command) => {
            let (client, profile) = client(&cli, false)?;
            let profile = profile.ok_or_else(|| anyhow::anyhow!(cli.texts().not_signed_in()))?;
            let mut pending = PendingKeys::beside(&cli.profile_path());
            crate::pay::run(&client, &profile, &mut pending, command).await
        }
        Command::Merchant { command } => {
            let (client, _) = client(&cli, false)?;
            crate::merchant::run(&client, command).await
        }
    }
}
