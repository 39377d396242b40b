//! Account commands: register, sign in and out, who am I, proving a phone
//! or email, the Qiao ID, signed-in devices. Passwords not given as flags
//! are asked for on the terminal, without echo.

use clap::Subcommand;
use qiao_api as api;
use serde_json::json;

use crate::cli::Cli;
use crate::client::{local_time, secret, Client, Profile};

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Create an account and sign in (a code goes to the phone or email to prove it).
    Register {
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Asked for when not given.
        #[arg(long, env = "QIAO_PASSWORD")]
        password: Option<String>,
        #[arg(long)]
        name: String,
        /// CN or US.
        #[arg(long, default_value = "CN")]
        region: String,
    },
    /// Sign in with a phone, email or Qiao ID.
    Login {
        identifier: String,
        /// Asked for when not given.
        #[arg(long, env = "QIAO_PASSWORD")]
        password: Option<String>,
    },
    /// Sign out this device.
    Logout,
    /// Show who is signed in.
    Whoami,
    /// Prove your phone (or email) with the code sent to it; without a code, send a new one.
    Verify {
        /// `phone` or `email`.
        kind: String,
        code: Option<String>,
    },
    /// Pick your Qiao ID (once).
    SetId { qiao_id: String },
    /// List signed-in devices.
    Sessions,
    /// Sign a device out (its WebSocket closes at once).
    RevokeSession { session_id: i64 },
}

impl AccountCommand {
    /// Whether the command runs without a sign-in.
    pub fn is_anonymous(&self) -> bool {
        matches!(self, AccountCommand::Register { .. } | AccountCommand::Login { .. })
    }
}

/// Keeps a fresh sign-in for the next commands, starting its cursor at 0.
fn remember(cli: &Cli, auth: &api::AuthResponse) -> anyhow::Result<()> {
    let currency = qiao_domain::identity::Region::parse(&auth.user.region)
        .ok()
        .map(|r| r.currency().code().to_owned());
    Profile {
        server: cli.server.clone(),
        token: auth.token.clone(),
        user_id: auth.user.id,
        cursor: 0,
        currency,
    }
    .save(&cli.profile_path())
}

pub async fn run(cli: &Cli, client: &Client, profile: Option<Profile>, command: &AccountCommand) -> anyhow::Result<()> {
    let t = client.texts;
    match command {
        AccountCommand::Register {
            phone,
            email,
            password,
            name,
            region,
        } => {
            let password = secret(password.as_deref(), &t.ask_password(), "--password", t)?;
            let auth: api::AuthResponse = client
                .post(
                    "/api/auth/register",
                    json!({"phone": phone, "email": email, "password": password, "display_name": name,
                        "region": region, "language": cli.lang, "device_name": "qiao cli"}),
                )
                .await?;
            remember(cli, &auth)?;
            println!("{}", t.registered(&auth.user.display_name, auth.user.id));
            for claim in &auth.user.unverified {
                println!("{}", t.verify_first(&claim.value));
            }
        }
        AccountCommand::Login { identifier, password } => {
            let password = secret(password.as_deref(), &t.ask_password(), "--password", t)?;
            let auth: api::AuthResponse = client
                .post(
                    "/api/auth/login",
                    json!({"identifier": identifier, "password": password, "device_name": "qiao cli"}),
                )
                .await?;
            remember(cli, &auth)?;
            println!("{}", t.signed_in(&auth.user.display_name, auth.user.id));
        }
        AccountCommand::Logout => {
            let _: serde_json::Value = client.post("/api/auth/logout", json!({})).await?;
            let _ = std::fs::remove_file(cli.profile_path());
            println!("{}", t.signed_out());
        }
        AccountCommand::Whoami => {
            let me: api::Profile = client.get("/api/me").await?;
            let qiao_id = me.qiao_id.as_deref().unwrap_or("-");
            println!("{}", t.whoami(&me.display_name, me.id, qiao_id, &me.region));
            for claim in &me.unverified {
                println!("{}", t.unverified(&claim.kind, &claim.value));
            }
        }
        AccountCommand::Verify { kind, code } => match code {
            None => {
                let (): () = client.post("/api/me/verification", json!({"kind": kind})).await?;
                println!("{}", t.code_sent(kind));
            }
            Some(code) => {
                let me: api::Profile = client
                    .post("/api/me/verification/confirm", json!({"kind": kind, "code": code}))
                    .await?;
                let proven = if kind == "phone" { me.phone } else { me.email };
                println!("{}", t.verified(&proven.unwrap_or_default()));
            }
        },
        AccountCommand::SetId { qiao_id } => {
            let me: api::Profile = client
                .call(
                    reqwest::Method::PUT,
                    "/api/me/qiao-id",
                    Some(json!({"qiao_id": qiao_id})),
                )
                .await?;
            println!("{}", t.qiao_id_is(&me.qiao_id.unwrap_or_default()));
        }
        AccountCommand::Sessions => {
            let sessions: Vec<api::SessionInfo> = client.get("/api/sessions").await?;
            for s in sessions {
                let this = if s.current { t.this_device() } else { String::new() };
                let seen = t.last_seen(&local_time(s.last_seen_at_ms));
                println!("{}\t{}\t{seen}\t{this}", s.id, s.device_name);
            }
        }
        AccountCommand::RevokeSession { session_id } => {
            let (): () = client
                .call(reqwest::Method::DELETE, &format!("/api/sessions/{session_id}"), None)
                .await?;
            println!("{}", t.signed_out());
        }
    }
    drop(profile);
    Ok(())
}
