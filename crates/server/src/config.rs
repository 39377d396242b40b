//! The one configuration struct. Sources, later ones winning: built-in
//! defaults, a TOML file (`--config`, default `qiao.toml` if present), then
//! `QIAO_*` environment variables (`QIAO_LISTEN`, `QIAO_DATA_DIR`, …), then
//! command-line flags. `qiao.example.toml` documents every field.

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the SQLite database and uploaded blobs; created on first start.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of SQLite in `data_dir`.
    pub database: Option<String>,
    /// Largest upload, in bytes.
    pub max_upload_bytes: usize,
    /// Argon2id memory cost in KiB (OWASP minimum: 19456).
    pub argon2_memory_kib: u32,
    /// Argon2id passes.
    pub argon2_iterations: u32,
    /// Login attempts allowed per account per minute.
    pub login_per_account_per_minute: u32,
    /// Login attempts allowed per client address per minute.
    pub login_per_address_per_minute: u32,
    /// Registrations and other public calls allowed per client address per minute.
    pub public_per_address_per_minute: u32,
    /// Messages one user may send per second, sustained...
    pub messages_per_user_per_second: u32,
    /// ...and at once, in a burst.
    pub message_burst_per_user: u32,
    /// Upload volume one user may send per hour, in MiB.
    pub upload_mib_per_user_per_hour: u32,
    /// Frames queued for one WebSocket before the client is dropped as too slow.
    pub ws_queue_depth: usize,
    /// Seconds between server pings on a WebSocket; a client silent for two is dropped.
    pub ws_heartbeat_seconds: u64,
    /// Log as JSON lines (for collectors) instead of text.
    pub log_json: bool,
    /// `nats://host:port` to run several nodes on one PostgreSQL database:
    /// nodes tell each other over NATS which users have new events.
    pub nats_url: Option<String>,
    /// NATS subject the nodes of one deployment share.
    pub nats_subject: String,
    /// Which cards each region may bind: `debit` (stored value: top up and
    /// withdraw) and/or `credit` (pay later). Operator policy.
    pub region_funding: std::collections::BTreeMap<String, Vec<String>>,
    /// How long a payment PIN stays locked after five wrong tries, in minutes.
    pub pin_lock_minutes: u64,
    /// Wrong-PIN tries allowed per user per minute (on top of the lock).
    pub pin_per_user_per_minute: u32,
    /// The pay-later limit a credit line opens with, per currency, in minor units.
    pub pay_later_limit_minor: std::collections::BTreeMap<String, i64>,
    /// `smtp://host:port` (or `smtps://user:pass@host`, `…?tls=required`):
    /// where email codes go. Without it they go to the sandbox outbox.
    pub smtp_url: Option<String>,
    /// The sender of Qiao's email.
    pub smtp_from: String,
    /// The sandbox outbox: text messages (and email without SMTP) are logged
    /// and appended here, one JSON object per line; `data_dir/outbox.jsonl`
    /// when absent.
    pub outbox_file: Option<PathBuf>,
    /// People one account may look up per UTC day (a search is one, a
    /// discovery request one per number).
    pub lookups_per_account_per_day: i64,
    /// People one client address may look up per UTC day.
    pub lookups_per_address_per_day: i64,
    /// Days a session may go unused before it ends (the device must sign in again).
    pub session_idle_days: u64,
    /// Seconds between the money sweeps: refunds of expired transfers and
    /// red packets, and bank movements left pending by a crash.
    pub expiry_sweep_seconds: u64,
    /// A top-up, withdrawal or card repayment still pending this many
    /// seconds after it was reserved lost its request (a crash); the sweep
    /// asks the bank again with the same key and posts or voids it.
    pub settle_abandoned_after_seconds: u64,
    /// The longest Qiao waits for the bank connector; no answer by then is a
    /// timeout (the movement is voided; nothing moved).
    pub bank_timeout_seconds: u64,
    /// Per currency: the most one top-up, withdrawal or payment may move and
    /// the most each may move per user per UTC day, in minor units.
    pub spending_caps: std::collections::BTreeMap<String, SpendingCaps>,
    /// The operator's FX mid rates, `"BASE/QUOTE" = "rate"` (units of QUOTE
    /// for one BASE, up to 8 decimals). They seed pairs the admin API has not
    /// set; the other direction is the inverse. No rate is fetched from outside.
    pub fx_rates: std::collections::BTreeMap<String, String>,
    /// Taken off the mid rate for a payer, in basis points.
    pub fx_spread_bps: u32,
    /// Charged on a converted amount, in basis points.
    pub fx_fee_bps: u32,
    /// How long a quote can be confirmed, in seconds.
    pub fx_quote_seconds: u64,
    /// SHA-256 (hex) of the operator's admin token, for `/api/admin/…` (rates,
    /// verifying merchants). The admin API is off without it.
    pub admin_token_sha256: Option<String>,
    /// Whether notifications may go to loopback and private addresses. Off in
    /// production (a merchant's URL must not reach inside the operator's
    /// network); on for local development and tests.
    pub notify_allow_private: bool,
    /// Seconds between looks at the outbox of merchant notifications.
    pub notify_poll_seconds: u64,
    /// Reverse proxies (addresses or CIDR networks) whose `X-Forwarded-For`
    /// names the client, for rate limits and logs. Empty: the peer address
    /// is the client, and forwarded headers are ignored.
    pub trusted_proxies: Vec<String>,
    /// On SIGTERM or Ctrl-C: seconds to let requests in flight finish and
    /// WebSocket clients be told to reconnect before the process exits.
    pub shutdown_grace_seconds: u64,
    /// Who may read `/metrics` (addresses or CIDR networks, judged like rate
    /// limits, through trusted proxies). Loopback only by default.
    pub metrics_allow: Vec<String>,
    /// PEM certificate chain and private key: with both, the server speaks
    /// HTTPS itself (rustls) instead of plain HTTP behind a proxy.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// Seconds between looks at the certificate files for a new one.
    pub tls_reload_seconds: u64,
    /// Longest a request may take before it answers 503 `unavailable`
    /// (uploads exempt).
    pub request_timeout_seconds: u64,
    /// `s3://bucket/prefix` keeps uploads in an S3-compatible object store
    /// (endpoint, region and keys from `AWS_*` variables) instead of
    /// `data_dir/blobs`, so several nodes need no shared filesystem.
    pub blob_store: Option<String>,
    /// Settings of that store, over the `AWS_*` variables: `endpoint`,
    /// `region`, `access_key_id`, `secret_access_key`, `allow_http`, …
    pub blob_store_options: std::collections::BTreeMap<String, String>,
}

/// The caps of one currency.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SpendingCaps {
    pub per_operation_minor: i64,
    pub per_day_minor: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database: None,
            max_upload_bytes: 20 * 1024 * 1024,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            login_per_account_per_minute: 10,
            login_per_address_per_minute: 60,
            public_per_address_per_minute: 120,
            messages_per_user_per_second: 10,
            message_burst_per_user: 50,
            upload_mib_per_user_per_hour: 200,
            ws_queue_depth: 1024,
            ws_heartbeat_seconds: 30,
            log_json: false,
            nats_url: None,
            nats_subject: "qiao.events".to_owned(),
            region_funding: [("CN", vec!["debit"]), ("US", vec!["debit", "credit"])]
                .into_iter()
                .map(|(region, kinds)| (region.to_owned(), kinds.into_iter().map(str::to_owned).collect()))
                .collect(),
            pin_lock_minutes: 180,
            pin_per_user_per_minute: 60,
            pay_later_limit_minor: [("USD".to_owned(), 100_000), ("CNY".to_owned(), 500_000)]
                .into_iter()
                .collect(),
            smtp_url: None,
            smtp_from: "Qiao <no-reply@qiao.invalid>".to_owned(),
            outbox_file: None,
            lookups_per_account_per_day: 300,
            lookups_per_address_per_day: 1_000,
            session_idle_days: 30,
            expiry_sweep_seconds: 60,
            settle_abandoned_after_seconds: 300,
            bank_timeout_seconds: 30,
            spending_caps: qiao_domain::money::Currency::ALL
                .iter()
                .map(|c| {
                    let caps = qiao_service::money::default_caps(*c);
                    (
                        c.code().to_owned(),
                        SpendingCaps {
                            per_operation_minor: caps.per_operation_minor,
                            per_day_minor: caps.per_day_minor,
                        },
                    )
                })
                .collect(),
            fx_rates: [("USD/CNY".to_owned(), "7.1".to_owned())].into_iter().collect(),
            fx_spread_bps: 50,
            fx_fee_bps: 100,
            fx_quote_seconds: 120,
            admin_token_sha256: None,
            notify_allow_private: false,
            notify_poll_seconds: 2,
            trusted_proxies: Vec::new(),
            shutdown_grace_seconds: 20,
            metrics_allow: vec!["127.0.0.0/8".to_owned(), "::1".to_owned()],
            tls_cert_file: None,
            tls_key_file: None,
            tls_reload_seconds: 30,
            request_timeout_seconds: 30,
            blob_store: None,
            blob_store_options: std::collections::BTreeMap::new(),
        }
    }
}

impl Config {
    /// Defaults, then the file (if it exists), then `QIAO_*` variables.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let path = file.map(PathBuf::from).unwrap_or_else(|| PathBuf::from("qiao.toml"));
        if path.exists() || file.is_some() {
            figment = figment.merge(Toml::file_exact(path));
        }
        // Only this struct's fields: other QIAO_* variables (the CLI's QIAO_SERVER,
        // QIAO_PROFILE, …) belong to other programs and must not stop the server.
        let known = Self::field_names();
        let env = Env::prefixed("QIAO_").filter(move |key| known.iter().any(|k| key.as_str().eq_ignore_ascii_case(k)));
        figment.merge(env).extract().map_err(Box::new)
    }

    fn field_names() -> Vec<String> {
        match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(fields)) => fields.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// The money service's policy from these settings; a setting that names
    /// an unknown currency or card kind, or a cap that is not positive, is an error.
    pub fn money_policy(&self) -> Result<qiao_service::money::Policy, String> {
        use qiao_domain::card::Funding;
        use qiao_domain::money::Currency;
        let currency = |code: &str| Currency::parse(code).map_err(|_| format!("unknown currency {code}"));
        let mut region_funding = std::collections::BTreeMap::new();
        for (region, kinds) in &self.region_funding {
            let kinds = kinds
                .iter()
                .map(|k| Funding::parse(k).map_err(|_| format!("region_funding.{region}: unknown card kind {k}")))
                .collect::<Result<Vec<_>, _>>()?;
            region_funding.insert(region.clone(), kinds);
        }
        let mut pay_later_limit_minor = std::collections::BTreeMap::new();
        for (code, limit) in &self.pay_later_limit_minor {
            if *limit < 0 {
                return Err(format!("pay_later_limit_minor.{code} is negative"));
            }
            pay_later_limit_minor.insert(currency(code)?, *limit);
        }
        let mut caps = std::collections::BTreeMap::new();
        for (code, c) in &self.spending_caps {
            if c.per_operation_minor <= 0 || c.per_day_minor < c.per_operation_minor {
                return Err(format!(
                    "spending_caps.{code}: per_operation_minor must be positive and at most per_day_minor"
                ));
            }
            caps.insert(
                currency(code)?,
                qiao_domain::caps::Caps {
                    per_operation_minor: c.per_operation_minor,
                    per_day_minor: c.per_day_minor,
                },
            );
        }
        let seconds_ms = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
        Ok(qiao_service::money::Policy {
            region_funding,
            pay_later_limit_minor,
            caps,
            pin_lock_ms: seconds_ms(self.pin_lock_minutes.saturating_mul(60)),
            secret_tries_per_minute: self.pin_per_user_per_minute,
            settle_after_ms: seconds_ms(self.settle_abandoned_after_seconds),
            bank_timeout: std::time::Duration::from_secs(self.bank_timeout_seconds.max(1)),
            fx: qiao_service::money::fx::FxPolicy {
                spread_bps: self.fx_spread_bps,
                fee_bps: self.fx_fee_bps,
                quote_ttl_ms: seconds_ms(self.fx_quote_seconds.max(1)),
            },
        })
    }

    /// The configured FX rates, each checked.
    pub fn fx_rates(
        &self,
    ) -> Result<
        Vec<(
            qiao_domain::money::Currency,
            qiao_domain::money::Currency,
            qiao_domain::fx::Rate,
        )>,
        String,
    > {
        use qiao_domain::money::Currency;
        self.fx_rates
            .iter()
            .map(|(pair, rate)| {
                let (base, quote) = pair
                    .split_once('/')
                    .ok_or_else(|| format!("fx_rates.{pair}: the pair is BASE/QUOTE"))?;
                let base = Currency::parse(base).map_err(|_| format!("fx_rates.{pair}: unknown currency {base}"))?;
                let quote = Currency::parse(quote).map_err(|_| format!("fx_rates.{pair}: unknown currency {quote}"))?;
                let rate = qiao_domain::fx::Rate::parse(base, quote, rate)
                    .map_err(|_| format!("fx_rates.{pair}: {rate} is not a rate"))?;
                Ok((base, quote, rate))
            })
            .collect()
    }

    /// How long a session may idle, in milliseconds.
    pub fn session_idle_ms(&self) -> i64 {
        i64::try_from(self.session_idle_days.saturating_mul(24 * 60 * 60 * 1000)).unwrap_or(i64::MAX)
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("qiao.db")
    }

    pub fn outbox_path(&self) -> PathBuf {
        self.outbox_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("outbox.jsonl"))
    }

    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The only test in this crate that touches process environment variables.
    #[test]
    fn qiao_variables_configure_and_others_are_ignored() {
        std::env::set_var("QIAO_WS_QUEUE_DEPTH", "77");
        std::env::set_var("QIAO_LISTEN", "127.0.0.1:18997");
        std::env::set_var("QIAO_SERVER", "http://not-a-server-setting");
        let loaded = Config::load(Some(std::path::Path::new("/nonexistent/qiao.toml")));
        std::env::remove_var("QIAO_WS_QUEUE_DEPTH");
        std::env::remove_var("QIAO_LISTEN");
        std::env::remove_var("QIAO_SERVER");
        assert!(loaded.is_err(), "a named config file that does not exist is an error");
        let config = Config::load(None).expect("loads");
        assert_eq!(
            config.ws_queue_depth,
            Config::default().ws_queue_depth,
            "variables were removed"
        );
        std::env::set_var("QIAO_WS_QUEUE_DEPTH", "77");
        std::env::set_var("QIAO_LISTEN", "127.0.0.1:18997");
        std::env::set_var("QIAO_SERVER", "http://not-a-server-setting");
        let config = Config::load(None);
        std::env::remove_var("QIAO_WS_QUEUE_DEPTH");
        std::env::remove_var("QIAO_LISTEN");
        std::env::remove_var("QIAO_SERVER");
        let config = config.expect("unknown QIAO_ variables are not this struct's business");
        assert_eq!(config.ws_queue_depth, 77);
        assert_eq!(config.listen.to_string(), "127.0.0.1:18997");
    }

    #[test]
    fn env_names_cover_every_field() {
        let names = Config::field_names();
        assert!(names.contains(&"listen".to_owned()) && names.contains(&"nats_url".to_owned()));
        assert_eq!(names.len(), 47, "{names:?}");
    }

    #[test]
    fn example_config_parses_and_matches_defaults() {
        let example = include_str!("../../../qiao.example.toml");
        let parsed: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(example))
            .extract()
            .expect("example config parses");
        let defaults = Config::default();
        assert_eq!(parsed.listen, defaults.listen);
        assert_eq!(parsed.max_upload_bytes, defaults.max_upload_bytes);
        assert_eq!(parsed.argon2_memory_kib, defaults.argon2_memory_kib);
        assert_eq!(parsed.ws_queue_depth, defaults.ws_queue_depth);
        assert_eq!(parsed.spending_caps, defaults.spending_caps);
        assert_eq!(
            parsed.settle_abandoned_after_seconds,
            defaults.settle_abandoned_after_seconds
        );
        assert!(parsed.money_policy().is_ok());
        assert_eq!(parsed.fx_rates, defaults.fx_rates);
        assert_eq!(parsed.fx_spread_bps, defaults.fx_spread_bps);
        assert!(parsed.fx_rates().is_ok());
    }

    #[test]
    fn money_settings_are_checked() {
        let mut config = Config::default();
        config.spending_caps.insert(
            "XYZ".into(),
            SpendingCaps {
                per_operation_minor: 1,
                per_day_minor: 1,
            },
        );
        assert!(config.money_policy().is_err());
        let mut config = Config::default();
        config.spending_caps.insert(
            "USD".into(),
            SpendingCaps {
                per_operation_minor: 10,
                per_day_minor: 5,
            },
        );
        assert!(config.money_policy().is_err());
        let mut config = Config::default();
        config.region_funding.insert("US".into(), vec!["gold".into()]);
        assert!(config.money_policy().is_err());
        let mut config = Config::default();
        config.fx_rates.insert("USD-CNY".into(), "7".into());
        assert!(config.fx_rates().is_err());
        let mut config = Config::default();
        config.fx_rates.insert("USD/CNY".into(), "-7".into());
        assert!(config.fx_rates().is_err());
    }
}
