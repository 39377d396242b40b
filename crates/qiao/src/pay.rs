//! Client commands that move or show money beyond top-ups: the PIN,
//! withdrawals, transfers and red packets in chats, the statement (and its
//! CSV), the pay-later line and repayment. Amounts are decimals in the
//! wallet's currency (`12.50`); the server gets exact minor units.

use anyhow::Context;
use clap::Subcommand;
use qiao_api as api;
use qiao_domain::money::{Currency, Money};
use serde_json::json;

use crate::cli::Client;

#[derive(Subcommand)]
pub enum PayCommand {
    /// Set or change the six-digit payment PIN (needs the account password).
    SetPin {
        pin: String,
        #[arg(long, env = "QIAO_PASSWORD")]
        password: String,
    },
    /// Withdraw to a bound debit card, e.g. `qiao withdraw 1 50.00 --pin 135790`.
    Withdraw {
        card_id: i64,
        amount: String,
        #[arg(long, env = "QIAO_PIN")]
        pin: Option<String>,
    },
    /// Send a transfer (转账) into a direct chat.
    Transfer {
        conversation_id: i64,
        amount: String,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long, env = "QIAO_PIN")]
        pin: Option<String>,
        /// Pay from the pay-later credit line instead of the balance.
        #[arg(long)]
        pay_later: bool,
    },
    /// Send a red packet (红包): lucky (random shares of AMOUNT) or --identical (AMOUNT each).
    RedPacket {
        conversation_id: i64,
        amount: String,
        #[arg(long, default_value_t = 1)]
        count: u32,
        #[arg(long)]
        identical: bool,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long, env = "QIAO_PIN")]
        pin: Option<String>,
    },
    /// Show a transfer or red packet (who opened how much).
    Payment { payment_id: i64 },
    /// Accept a transfer sent to you.
    AcceptTransfer { payment_id: i64 },
    /// Decline a transfer sent to you (the money goes back).
    DeclineTransfer { payment_id: i64 },
    /// Open a red packet.
    Open { payment_id: i64 },
    /// The wallet statement, newest first; `--csv FILE` exports all of it.
    Statement {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        before: Option<i64>,
        #[arg(long)]
        csv: Option<std::path::PathBuf>,
    },
    /// One statement entry in detail: its lines, and the card or chat payment it belongs to.
    Entry { entry_id: i64 },
    /// The pay-later line and a month's statement (`--month 2026-11`).
    Credit {
        #[arg(long)]
        month: Option<String>,
    },
    /// Repay the pay-later line from the balance, or from a debit card with `--card`.
    Repay {
        amount: String,
        #[arg(long)]
        card: Option<i64>,
        #[arg(long, env = "QIAO_PIN")]
        pin: Option<String>,
    },
}

fn new_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn show(minor: i64, code: &str) -> String {
    match Currency::parse(code) {
        Ok(currency) => format!("{} {code}", Money { minor, currency }.to_decimal()),
        Err(_) => format!("{minor} {code}"),
    }
}

/// The wallet's currency and `amount` in its minor units.
async fn minor_units(client: &Client, amount: &str) -> anyhow::Result<i64> {
    let wallet: api::Wallet = client.get("/api/wallet").await?;
    let code = wallet.balances.first().map(|b| b.currency.clone()).unwrap_or_default();
    let currency = Currency::parse(&code).map_err(|_| anyhow::anyhow!("unknown wallet currency {code}"))?;
    Ok(Money::parse_decimal(amount, currency)
        .map_err(|_| anyhow::anyhow!("{amount} is not an amount of {code}"))?
        .minor)
}

fn print_payment(p: &api::ChatPayment) {
    println!(
        "{} {} in conversation {}: {} ({}), {}/{} opened",
        p.kind,
        p.id,
        p.conversation_id,
        show(p.total_minor, &p.currency),
        p.status,
        p.opened_count,
        p.shares
    );
    for o in &p.opened {
        let best = if p.best_luck_user_id == Some(o.user_id) {
            "  best luck"
        } else {
            ""
        };
        println!("  user {}\t{}{best}", o.user_id, show(o.amount_minor, &p.currency));
    }
}

pub async fn run(client: &Client, command: &PayCommand) -> anyhow::Result<()> {
    match command {
        PayCommand::SetPin { pin, password } => {
            let _: api::PinStatus = client
                .call(
                    reqwest::Method::PUT,
                    "/api/wallet/pin",
                    Some(json!({"password": password, "pin": pin})),
                )
                .await?;
            println!("payment PIN set");
        }
        PayCommand::Withdraw { card_id, amount, pin } => {
            let minor = minor_units(client, amount).await?;
            let done: api::Withdrawal = client
                .post(
                    "/api/wallet/withdrawals",
                    json!({"card_id": card_id, "amount_minor": minor, "idempotency_key": new_key(), "pin": pin}),
                )
                .await?;
            println!(
                "withdrew {}; balance {}",
                show(done.amount_minor, &done.currency),
                show(done.balance_minor, &done.currency)
            );
        }
        PayCommand::Transfer {
            conversation_id,
            amount,
            note,
            pin,
            pay_later,
        } => {
            let minor = minor_units(client, amount).await?;
            let source = if *pay_later { "pay_later" } else { "balance" };
            let p: api::ChatPayment = client
                .post(
                    &format!("/api/conversations/{conversation_id}/transfers"),
                    json!({"idempotency_key": new_key(), "amount_minor": minor, "note": note, "pin": pin, "source": source}),
                )
                .await?;
            print_payment(&p);
        }
        PayCommand::RedPacket {
            conversation_id,
            amount,
            count,
            identical,
            note,
            pin,
        } => {
            let minor = minor_units(client, amount).await?;
            let split = if *identical { "identical" } else { "lucky" };
            let p: api::ChatPayment = client
                .post(
                    &format!("/api/conversations/{conversation_id}/red-packets"),
                    json!({"idempotency_key": new_key(), "split": split, "amount_minor": minor, "count": count,
                        "note": note, "pin": pin}),
                )
                .await?;
            print_payment(&p);
        }
        PayCommand::Payment { payment_id } => {
            let p: api::ChatPayment = client.get(&format!("/api/payments/{payment_id}")).await?;
            print_payment(&p);
        }
        PayCommand::AcceptTransfer { payment_id } | PayCommand::DeclineTransfer { payment_id } => {
            let verb = if matches!(command, PayCommand::AcceptTransfer { .. }) {
                "accept"
            } else {
                "decline"
            };
            let p: api::ChatPayment = client
                .post(&format!("/api/payments/{payment_id}/{verb}"), json!({}))
                .await?;
            print_payment(&p);
        }
        PayCommand::Open { payment_id } => {
            let opened: api::OpenedRedPacket = client
                .post(&format!("/api/payments/{payment_id}/open"), json!({}))
                .await?;
            println!("you got {}", show(opened.amount_minor, &opened.currency));
        }
        PayCommand::Statement { limit, before, csv } => {
            if let Some(path) = csv {
                let text = client.text("/api/wallet/statement.csv").await?;
                std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {}", path.display());
                return Ok(());
            }
            let mut path = format!("/api/wallet/statement?limit={limit}");
            if let Some(before) = before {
                path.push_str(&format!("&before={before}"));
            }
            let page: api::Statement = client.get(&path).await?;
            for e in &page.entries {
                let sign = if e.direction == "out" { "-" } else { "+" };
                println!(
                    "{}\t{}\t{} {}\t{sign}{}\t{}\t{}",
                    e.id,
                    e.at_ms,
                    e.purpose,
                    e.reference,
                    show(e.amount_minor, &e.currency),
                    e.status,
                    e.account
                );
            }
            if let Some(next) = page.next_before {
                println!("older: --before {next}");
            }
        }
        PayCommand::Entry { entry_id } => {
            let detail: serde_json::Value = client.get(&format!("/api/wallet/statement/{entry_id}")).await?;
            let lines: Vec<api::StatementEntry> = serde_json::from_value(detail["lines"].clone())?;
            for e in &lines {
                let sign = if e.direction == "out" { "-" } else { "+" };
                println!(
                    "entry {}: {} {} {sign}{} {} ({}) at {}",
                    e.id,
                    e.purpose,
                    e.reference,
                    show(e.amount_minor, &e.currency),
                    e.account,
                    e.status,
                    e.at_ms
                );
            }
            if let Ok(card) = serde_json::from_value::<api::Card>(detail["card"].clone()) {
                println!(
                    "card {}: {} **** {} ({})",
                    card.id, card.brand, card.last4, card.funding
                );
            }
            if let Ok(payment) = serde_json::from_value::<api::ChatPayment>(detail["payment"].clone()) {
                print_payment(&payment);
            }
        }
        PayCommand::Credit { month } => {
            let line: api::CreditLine = client.get("/api/wallet/credit").await?;
            println!(
                "limit {}, owed {}, available {}",
                show(line.limit_minor, &line.currency),
                show(line.owed_minor, &line.currency),
                show(line.available_minor, &line.currency)
            );
            let path = match month {
                Some(m) => format!("/api/wallet/credit/statement?month={m}"),
                None => "/api/wallet/credit/statement".to_owned(),
            };
            let s: api::CreditStatement = client.get(&path).await?;
            println!(
                "{}: opening {}, spent {}, repaid {}, closing {} due {}",
                s.month,
                show(s.opening_owed_minor, &s.currency),
                show(s.spent_minor, &s.currency),
                show(s.repaid_minor, &s.currency),
                show(s.closing_owed_minor, &s.currency),
                s.due_date
            );
        }
        PayCommand::Repay { amount, card, pin } => {
            let line: api::CreditLine = client.get("/api/wallet/credit").await?;
            let currency = Currency::parse(&line.currency).map_err(|_| anyhow::anyhow!("unknown currency"))?;
            let minor = Money::parse_decimal(amount, currency)
                .map_err(|_| anyhow::anyhow!("{amount} is not an amount of {}", line.currency))?
                .minor;
            let source = if card.is_some() { "card" } else { "balance" };
            let done: api::Repayment = client
                .post(
                    "/api/wallet/credit/repayments",
                    json!({"idempotency_key": new_key(), "amount_minor": minor, "source": source, "card_id": card, "pin": pin}),
                )
                .await?;
            println!(
                "repaid {}; still owed {}",
                show(done.amount_minor, &done.currency),
                show(done.owed_minor, &done.currency)
            );
        }
    }
    Ok(())
}
