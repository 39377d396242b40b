//! `qiao merchant …`: a merchant's owner or cashier at the terminal —
//! setting up a merchant and its keys, making orders (with the code to
//! show), charging a customer's payment code, refunds, the day's report and
//! the orders as CSV. It uses the console API with the signed-in user's
//! token; points of sale use the merchant API with a key instead.

use anyhow::Context;
use clap::Subcommand;
use qiao_api as api;
use serde_json::json;

use crate::client::Client;

#[derive(Subcommand)]
pub enum MerchantCommand {
    /// Create a merchant you own; payouts go to one of your debit cards.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        legal_name: String,
        /// ISO country code, e.g. US.
        #[arg(long)]
        country: String,
        #[arg(long)]
        city: String,
        /// Merchant category code, e.g. 5812 (restaurants).
        #[arg(long)]
        mcc: String,
        /// Settlement currency, e.g. USD.
        #[arg(long)]
        currency: String,
        /// Your debit card that receives payouts.
        #[arg(long)]
        card: i64,
        #[arg(long)]
        notify_url: Option<String>,
    },
    /// The merchants you work at.
    List,
    /// Make an API key for a point of sale (shown once).
    CreateKey {
        merchant: i64,
        #[arg(long, default_value = "point of sale")]
        label: String,
    },
    /// List a merchant's API keys.
    Keys { merchant: i64 },
    /// Revoke an API key.
    RevokeKey { merchant: i64, key: i64 },
    /// Make someone a cashier (takes payments and refunds, changes no settings).
    AddCashier { merchant: i64, user_id: i64 },
    /// Make an order and print the code to show the customer (`--png` saves a picture).
    Order {
        merchant: i64,
        amount: String,
        /// Your order number (unique at this merchant).
        #[arg(long)]
        number: String,
        #[arg(long)]
        description: String,
        #[arg(long)]
        png: Option<std::path::PathBuf>,
    },
    /// Charge a customer's 18-digit payment code.
    Charge {
        merchant: i64,
        code: String,
        amount: String,
        #[arg(long)]
        number: String,
        #[arg(long)]
        description: String,
    },
    /// The merchant's recent orders.
    Orders { merchant: i64 },
    /// Refund part or all of an order.
    Refund {
        merchant: i64,
        order_id: i64,
        amount: String,
        /// Your refund number: the same number again is the same refund.
        #[arg(long)]
        number: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// A UTC day: payments, refunds, net, the payout (`--day 2026-12-01`; today by default).
    Report {
        merchant: i64,
        #[arg(long)]
        day: Option<String>,
    },
    /// The merchant's orders as CSV.
    Csv { merchant: i64, file: std::path::PathBuf },
    /// The merchant's static code (customers type the amount); `--png` saves a picture.
    Qr {
        merchant: i64,
        #[arg(long)]
        png: Option<std::path::PathBuf>,
    },
}

fn show(minor: i64, code: &str) -> String {
    match qiao_domain::money::Currency::parse(code) {
        Ok(currency) => format!("{} {code}", qiao_domain::money::Money { minor, currency }.to_decimal()),
        Err(_) => format!("{minor} {code}"),
    }
}

async fn minor_of(client: &Client, merchant: i64, amount: &str) -> anyhow::Result<i64> {
    let m: api::Merchant = client.get(&format!("/api/merchants/{merchant}")).await?;
    let currency = qiao_domain::money::Currency::parse(&m.currency).map_err(|_| anyhow::anyhow!("currency"))?;
    Ok(qiao_domain::money::Money::parse_decimal(amount, currency)
        .map_err(|_| anyhow::anyhow!(client.texts.not_an_amount(amount, &m.currency)))?
        .minor)
}

fn order_line(client: &Client, o: &api::Order) -> String {
    let payer = o
        .payer
        .as_ref()
        .map_or(String::new(), |p| show(p.amount_minor, &p.currency));
    client.texts.order_line(
        o.id,
        &o.out_trade_no,
        &o.status,
        &show(o.amount_minor, &o.currency),
        &payer,
    )
}

fn save_png(qr: &api::QrImage, path: &std::path::Path) -> anyhow::Result<()> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(&qr.png_base64)?;
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

pub async fn run(client: &Client, command: &MerchantCommand) -> anyhow::Result<()> {
    let t = client.texts;
    match command {
        MerchantCommand::Create {
            name,
            legal_name,
            country,
            city,
            mcc,
            currency,
            card,
            notify_url,
        } => {
            let created: api::MerchantCreated = client
                .post(
                    "/api/merchants",
                    json!({"display_name": name, "legal_name": legal_name, "country": country, "city": city,
                           "mcc": mcc, "currency": currency, "settlement_card_id": card, "notify_url": notify_url}),
                )
                .await?;
            let m = &created.merchant;
            println!("{}", t.merchant_created(m.id, &m.number, &m.display_name));
            println!("{}", t.signing_secret(&created.signing_secret));
        }
        MerchantCommand::List => {
            let mine: Vec<api::Merchant> = client.get("/api/merchants").await?;
            for m in mine {
                println!(
                    "{}",
                    t.merchant_line(m.id, &m.number, &m.display_name, &m.currency, &m.role)
                );
            }
        }
        MerchantCommand::CreateKey { merchant, label } => {
            let key: api::ApiKeyCreated = client
                .post(&format!("/api/merchants/{merchant}/api-keys"), json!({"label": label}))
                .await?;
            println!("{}", t.api_key_created(&key.secret));
        }
        MerchantCommand::Keys { merchant } => {
            let keys: Vec<api::ApiKey> = client.get(&format!("/api/merchants/{merchant}/api-keys")).await?;
            for k in keys {
                let state = if k.revoked_at_ms.is_some() {
                    t.revoked()
                } else {
                    t.active()
                };
                println!("{}", t.api_key(k.id, &k.prefix, &k.label, &state));
            }
        }
        MerchantCommand::RevokeKey { merchant, key } => {
            let k: api::ApiKey = client
                .call(
                    reqwest::Method::DELETE,
                    &format!("/api/merchants/{merchant}/api-keys/{key}"),
                    None,
                )
                .await?;
            println!("{}", t.api_key(k.id, &k.prefix, &k.label, &t.revoked()));
        }
        MerchantCommand::AddCashier { merchant, user_id } => {
            let staff: api::StaffMember = client
                .post(
                    &format!("/api/merchants/{merchant}/staff"),
                    json!({"user_id": user_id, "role": "cashier"}),
                )
                .await?;
            println!("{}", t.cashier_added(&staff.display_name));
        }
        MerchantCommand::Order {
            merchant,
            amount,
            number,
            description,
            png,
        } => {
            let minor = minor_of(client, *merchant, amount).await?;
            let created: api::OrderCreated = client
                .post(
                    &format!("/api/merchants/{merchant}/orders"),
                    json!({"out_trade_no": number, "amount_minor": minor, "description": description}),
                )
                .await?;
            println!("{}", order_line(client, &created.order));
            println!("{}", t.order_code(&created.qr.payload));
            if let Some(path) = png {
                save_png(&created.qr, path)?;
                println!("{}", t.wrote(&path.display().to_string()));
            }
        }
        MerchantCommand::Charge {
            merchant,
            code,
            amount,
            number,
            description,
        } => {
            let minor = minor_of(client, *merchant, amount).await?;
            let order: api::Order = client
                .post(
                    &format!("/api/merchants/{merchant}/charges"),
                    json!({"code": code, "amount_minor": minor, "out_trade_no": number, "description": description}),
                )
                .await?;
            println!("{}", order_line(client, &order));
        }
        MerchantCommand::Orders { merchant } => {
            let orders: Vec<api::Order> = client.get(&format!("/api/merchants/{merchant}/orders")).await?;
            for o in orders {
                println!("{}", order_line(client, &o));
            }
        }
        MerchantCommand::Refund {
            merchant,
            order_id,
            amount,
            number,
            reason,
        } => {
            let minor = minor_of(client, *merchant, amount).await?;
            let done: api::RefundCreated = client
                .post(
                    &format!("/api/merchants/{merchant}/orders/{order_id}/refunds"),
                    json!({"out_refund_no": number, "amount_minor": minor, "reason": reason}),
                )
                .await?;
            let r = &done.refund;
            println!(
                "{}",
                t.refunded(
                    &show(r.amount_minor, &r.currency),
                    &show(r.payer_amount_minor, &r.payer_currency),
                    &done.order.status
                )
            );
        }
        MerchantCommand::Report { merchant, day } => {
            let path = match day {
                Some(day) => format!("/api/merchants/{merchant}/report?day={day}"),
                None => format!("/api/merchants/{merchant}/report"),
            };
            let r: api::DayReport = client.get(&path).await?;
            let money = |minor| show(minor, &r.currency);
            println!(
                "{}",
                t.report(
                    &r.day,
                    &money(r.paid_minor),
                    r.paid_count,
                    &money(r.refunded_minor),
                    &money(r.net_minor)
                )
            );
            if let Some(p) = &r.payout {
                println!("{}", t.payout(&show(p.amount_minor, &p.currency), &p.status));
            }
            println!("{}", t.held(&money(r.balance_minor)));
        }
        MerchantCommand::Csv { merchant, file } => {
            let csv = client.text(&format!("/api/merchants/{merchant}/orders.csv")).await?;
            std::fs::write(file, csv).with_context(|| format!("writing {}", file.display()))?;
            println!("{}", t.wrote(&file.display().to_string()));
        }
        MerchantCommand::Qr { merchant, png } => {
            let qr: api::QrImage = client.get(&format!("/api/merchants/{merchant}/qr")).await?;
            println!("{}", t.order_code(&qr.payload));
            if let Some(path) = png {
                save_png(&qr, path)?;
                println!("{}", t.wrote(&path.display().to_string()));
            }
        }
    }
    Ok(())
}
